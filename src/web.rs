//! Browser form posts (sign in, register, sign out, account changes). They
//! work without JavaScript: success and failure both answer with a redirect
//! (303), failures carrying each field's message back to the form.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use crate::api::auth::{client_ip, rate_limit, Caller, PeerAddr, SESSION_USER_KEY};
use crate::domain::user::{Role, User};
use crate::server::ServerState;
use crate::services::accounts::AccountError;
use crate::state::AppState;

pub fn router() -> Router<ServerState> {
    Router::new()
        .route("/login", post(login))
        .route("/register", post(register))
        .route("/logout", post(logout))
        .route("/account/password", post(change_password))
        .route("/account/profile", post(update_profile))
}

/// Only local paths are followed after sign-in (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() < 500 => n.to_string(),
        _ => "/account".to_string(),
    }
}

fn back(path: &str, pairs: &[(&str, &str)]) -> Response {
    let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty())).finish();
    let to = if qs.is_empty() { path.to_string() } else { format!("{path}?{qs}") };
    Redirect::to(&to).into_response()
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "form post");
    (StatusCode::SERVICE_UNAVAILABLE, "Something went wrong on our side; please try again.").into_response()
}

/// Starts a signed-in session with a fresh id (no session fixation).
async fn sign_in(session: &Session, user: &User) -> Result<(), Response> {
    session.cycle_id().await.map_err(server_error)?;
    session.insert(SESSION_USER_KEY, &user.id).await.map_err(server_error)?;
    Ok(())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(State(app): State<AppState>, session: Session, headers: HeaderMap, PeerAddr(peer): PeerAddr, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let ip = client_ip(&app, &headers, peer);
    let keys = [format!("login:ip:{ip}"), format!("login:acct:{}", f.email.trim().to_lowercase())];
    if rate_limit(&app, &keys, app.config.login_rate_per_min).await.is_err() {
        return back("/login", &[("error", "Too many sign-in attempts. Wait a minute and try again."), ("email", &f.email), ("next", &next)]);
    }
    match app.accounts.authenticate(&f.email, &f.password).await {
        Ok(user) => match sign_in(&session, &user).await {
            Ok(()) => Redirect::to(&next).into_response(),
            Err(r) => r,
        },
        Err(AccountError::Store(e)) => server_error(e),
        Err(_) => back("/login", &[("error", "E-mail or password is incorrect."), ("email", &f.email), ("next", &next)]),
    }
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn register(State(app): State<AppState>, session: Session, Form(f): Form<RegisterForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let keep = |field: &'static str, msg: String| -> Response {
        let key = format!("err.{field}");
        back("/register", &[(key.as_str(), msg.as_str()), ("email", &f.email), ("name", &f.name), ("next", &next)])
    };
    match app.accounts.register(&f.email, &f.password, &f.name, Role::Customer).await {
        Ok(user) => match sign_in(&session, &user).await {
            Ok(()) => Redirect::to(&next).into_response(),
            Err(r) => r,
        },
        Err(AccountError::Invalid(fe)) => keep(if fe.field == "email" { "email" } else if fe.field == "name" { "name" } else { "password" }, fe.message),
        Err(AccountError::EmailTaken) => keep("email", "is already registered — sign in instead".into()),
        Err(e) => server_error(e),
    }
}

async fn logout(session: Session) -> Response {
    let _ = session.flush().await;
    Redirect::to("/").into_response()
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<PasswordForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.accounts.change_password(&p.user.id, &f.current_password, &f.new_password).await {
        Ok(()) => {
            // keep this browser signed in, under a new session id
            let _ = session.cycle_id().await;
            back("/account", &[("notice", "Your password was changed.")])
        }
        Err(AccountError::Invalid(fe)) => back("/account", &[(format!("err.{}", fe.field).as_str(), fe.message.as_str())]),
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
}

async fn update_profile(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<ProfileForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.accounts.update_name(&p.user.id, &f.name).await {
        Ok(_) => back("/account", &[("notice", "Your profile was saved.")]),
        Err(AccountError::Invalid(fe)) => back("/account", &[(format!("err.{}", fe.field).as_str(), fe.message.as_str())]),
        Err(e) => server_error(e),
    }
}
