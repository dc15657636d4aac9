//! Browser form posts, one file per feature (`account`, `cart`, `orders`,
//! `admin`), each with its routes and who may post to them. They
//! work without JavaScript: success and failure both answer with a redirect
//! (303), failures carrying each field's message back to the form.
mod account;
mod admin;
mod cart;
mod orders;

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;
use axum::Router;

pub use admin::admin_actor;

use crate::domain::user::{Access, FieldError};
use crate::edge::session::server_error;
use crate::edge::ServerState;
use crate::i18n::link_message;
use crate::services::error::{Failure, Kind};

/// The form routes and who may post to each (the handlers check it: an
/// anonymous visitor is sent to sign in, another role gets 403).
pub fn routes() -> Vec<(&'static str, Access, MethodRouter<ServerState>)> {
    [account::routes(), cart::routes(), orders::routes(), admin::routes()].concat()
}

pub fn router() -> Router<ServerState> {
    routes().into_iter().fold(Router::new(), |router, (path, _, handler)| router.route(path, handler))
}

/// A back link from a form: a path on this site (see `text::local_path`), else `fallback`.
fn local_back(to: Option<&str>, fallback: &str) -> String {
    to.and_then(crate::domain::text::local_path).unwrap_or_else(|| fallback.to_string())
}

fn with_param(path: &str, key: &str, value: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(k, _)| k != key && k != "cart_error" && k != "added").collect();
    pairs.push((key.to_string(), value.to_string()));
    format!("{base}?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

/// Only local paths are followed after sign-in (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    local_back(next, "/account")
}

fn back(path: &str, pairs: &[(&str, &str)]) -> Response {
    let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty())).finish();
    let to = if qs.is_empty() { path.to_string() } else { format!("{path}?{qs}") };
    Redirect::to(&to).into_response()
}

/// A field's message as it travels in a link: its code and values (the
/// page words it), or the generic "try again" when it came as text.
fn field_code(e: &FieldError) -> String {
    if e.code.is_empty() {
        return "err-try-again".to_string();
    }
    link_message(&e.code, &e.args)
}

fn failure_code(f: &Failure) -> String {
    link_message(f.code, &f.args)
}

/// The one mapping of a service failure for a form post: a fault on our
/// side is the error page (the failure was logged where it was made);
/// anything else goes back to `to` with the message's code under `error` (a
/// refused field's own when there is one), worded by the page in its language.
fn refused(e: impl Into<Failure>, to: &str) -> Response {
    let f: Failure = e.into();
    if matches!(f.kind, Kind::Unavailable | Kind::Internal) {
        return server_error(f.code);
    }
    let message = f.fields.first().map(field_code).unwrap_or_else(|| failure_code(&f));
    back(to, &[("error", &message)])
}

/// Like [`refused`], for a form that shows each field's message next to it:
/// `err.<field>` per refused field (else `error`), the values in `keep` kept.
/// A failure whose field `from` the form calls `to` (its input's name).
fn renamed(e: impl Into<Failure>, from: &str, to: &str) -> Failure {
    let mut f: Failure = e.into();
    for field in f.fields.iter_mut().filter(|x| x.field == from) {
        field.field = to.to_string();
    }
    f
}

fn refused_fields(e: impl Into<Failure>, to: &str, keep: &[(&str, &str)]) -> Response {
    let f: Failure = e.into();
    if matches!(f.kind, Kind::Unavailable | Kind::Internal) {
        return server_error(f.code);
    }
    let mut pairs: Vec<(String, String)> = keep.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if f.fields.is_empty() {
        pairs.push(("error".into(), failure_code(&f)));
    }
    pairs.extend(f.fields.iter().map(|e| (format!("err.{}", e.field), field_code(e))));
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    back(to, &pairs)
}
