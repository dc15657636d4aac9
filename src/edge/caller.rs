//! Who is calling and may they: the caller (bearer token or browser session),
//! the client address, rate limits, access checks, the same-origin check, JSON
//! bodies with field errors. Shared by the API, the form posts and the server
//! functions.
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use super::problem::Problem;
use crate::domain::user::{Access, Denied, Role};
use crate::services::accounts::{AccountError, Principal};
use crate::state::AppState;

pub const SESSION_USER_KEY: &str = "user_id";
/// When the browser signed in (epoch ms): sessions older than a password change end.
pub const SESSION_SINCE_KEY: &str = "since";

/// The caller, as resolved by [`authenticate`]: `None` for anonymous requests.
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

/// A bearer token was presented but is not valid.
#[derive(Clone, Debug)]
struct BadToken;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// The TCP peer address, when the server was started with connect info.
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// The client's address. Behind `trusted_proxies` proxies, each appends the
/// address it received from to `X-Forwarded-For`; what stands left of their
/// entries came from the client and is not believed. Every header line counts
/// (a client can send its own), in order.
pub fn client_ip(app: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    forwarded_client(app.config.trusted_proxies, headers)
        .or_else(|| peer.map(|p| p.ip()))
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn forwarded_client(trusted_proxies: usize, headers: &HeaderMap) -> Option<IpAddr> {
    if trusted_proxies == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    entries.iter().rev().nth(trusted_proxies - 1).and_then(|s| s.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_client_cannot_choose_its_address() {
        // one proxy appended the real address; "6.6.6.6" is what the client sent
        let h = xff(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(forwarded_client(1, &h), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(forwarded_client(0, &h), None);
        // two proxies: the second from the right
        let h = xff(&["6.6.6.6, 203.0.113.7, 10.0.0.2"]);
        assert_eq!(forwarded_client(2, &h), Some("203.0.113.7".parse().unwrap()));
        // several header lines count in order
        let h = xff(&["6.6.6.6", "203.0.113.9"]);
        assert_eq!(forwarded_client(1, &h), Some("203.0.113.9".parse().unwrap()));
        // fewer entries than proxies: not believed
        assert_eq!(forwarded_client(3, &xff(&["203.0.113.7"])), None);
        assert_eq!(forwarded_client(1, &xff(&["not-an-ip"])), None);
    }
}

pub fn too_many(retry_after: Duration, detail: &str) -> Response {
    let secs = retry_after.as_secs().max(1);
    let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS, format!("{detail}; try again in {secs} s")).into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Counts one hit on each key; the first over its limit answers 429.
/// A failing limiter lets the request through (logged): availability first.
pub async fn rate_limit(app: &AppState, keys: &[String], limit: u64) -> Result<(), Response> {
    if limit == 0 {
        return Ok(()); // turned off (load tests)
    }
    let keyed: Vec<(String, u64)> = keys.iter().map(|k| (k.clone(), limit)).collect();
    rate_limit_window(app, &keyed, Duration::from_secs(60)).await
}

/// Like `rate_limit`, with a window of one's own and a limit per key.
pub async fn rate_limit_window(app: &AppState, keys: &[(String, u64)], window: Duration) -> Result<(), Response> {
    for (key, limit) in keys {
        match app.limits.hit(key, *limit, window).await {
            Ok(d) if !d.allowed => return Err(too_many(d.retry_after, "Too many attempts")),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rate limiter unavailable"),
        }
    }
    Ok(())
}

/// Starts a password reset for `email` (both doors): limited to 3 per
/// address and 20 per client per 15 minutes; the work runs after the answer,
/// so known and unknown addresses answer alike, and as fast.
pub async fn ask_password_reset(app: &AppState, ip: &str, email: &str) -> Result<(), Response> {
    let keys = [(format!("reset:ip:{ip}"), 20), (format!("reset:acct:{}", email.trim().to_lowercase()), 3)];
    rate_limit_window(app, &keys, Duration::from_secs(15 * 60)).await?;
    let (accounts, email) = (app.accounts.clone(), email.to_string());
    tokio::spawn(async move {
        if let Err(e) = accounts.request_password_reset(&email).await {
            tracing::error!(error = %e, "a password reset could not be started");
        }
    });
    Ok(())
}

/// Requests that cost next to nothing (static files, probes) are not counted
/// against a client's anonymous allowance.
fn counted(path: &str) -> bool {
    !(path.starts_with("/pkg/") || path.starts_with("/media/") || path.starts_with("/favicon") || matches!(path, "/healthz" | "/readyz" | "/metrics"))
}

/// Global middleware: resolves the caller from a bearer token or the session
/// cookie and limits API clients per token subject, everyone else (anonymous
/// visitors and browser sessions) per client IP.
pub async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut principal = None;
    let token = bearer(req.headers()).map(str::to_string);
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = client_ip(&app, req.headers(), peer);
    let anonymous = [format!("anon:{ip}")];
    let anonymous_limit = || rate_limit(&app, &anonymous, app.config.anon_rate_per_min);
    if token.is_none() && counted(req.uri().path()) {
        if let Err(res) = anonymous_limit().await {
            return res;
        }
    }
    if let Some(token) = token {
        match app.accounts.authenticate_bearer(&token).await {
            Ok(p) => {
                let limit = if p.user.role == Role::Partner { app.config.partner_api_rate_per_min } else { app.config.api_rate_per_min };
                if let Err(res) = rate_limit(&app, &[format!("api:{}", p.user.id)], limit).await {
                    return res;
                }
                principal = Some(p);
            }
            Err(AccountError::Store(e)) => return Problem::from(e).into_response(),
            Err(_) => {
                // a token that is not valid buys no allowance of its own: the client's address is counted
                if counted(req.uri().path()) {
                    if let Err(res) = anonymous_limit().await {
                        return res;
                    }
                }
                req.extensions_mut().insert(BadToken);
            }
        }
    } else if let Some(session) = req.extensions().get::<Session>().cloned() {
        if let Ok(Some(user_id)) = session.get::<String>(SESSION_USER_KEY).await {
            let since = session.get::<i64>(SESSION_SINCE_KEY).await.ok().flatten().unwrap_or(0);
            match app.accounts.session_user(&user_id, since).await {
                Ok(Some(user)) => principal = Some(Principal { user, family: None }),
                Ok(None) => {
                    // disabled or deleted: the session ends
                    let _ = session.flush().await;
                }
                Err(AccountError::Store(e)) => return Problem::from(e).into_response(),
                Err(_) => {}
            }
        }
    }
    req.extensions_mut().insert(Caller(principal));
    next.run(req).await
}

/// 401 with `WWW-Authenticate`, as RFC 6750 asks.
pub fn unauthorized(invalid_token: bool) -> Response {
    let detail = if invalid_token { "The access token is invalid, expired or revoked." } else { "Sign in or send a bearer token." };
    let mut res = Problem::new(StatusCode::UNAUTHORIZED, detail).into_response();
    let challenge = if invalid_token { r#"Bearer realm="vitrina", error="invalid_token""# } else { r#"Bearer realm="vitrina""# };
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    res
}

/// Per-route middleware built from the route table's access level.
pub async fn require(access: Access, req: Request, next: Next) -> Response {
    let role = req.extensions().get::<Caller>().and_then(|c| c.0.as_ref()).map(|p| p.user.role);
    match access.check(role) {
        Ok(()) => next.run(req).await,
        Err(Denied::Unauthenticated) => unauthorized(req.extensions().get::<BadToken>().is_some()),
        Err(Denied::Forbidden) => Problem::new(StatusCode::FORBIDDEN, "Your account may not use this resource.").into_response(),
    }
}

/// Extractor for handlers behind a non-public route: the signed-in caller.
pub struct CurrentUser(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<Caller>() {
            Some(Caller(Some(p))) => Ok(CurrentUser(p.clone())),
            _ => Err(unauthorized(parts.extensions.get::<BadToken>().is_some())),
        }
    }
}

/// Refuses state-changing browser requests from a foreign origin (CSRF).
/// API clients that send no `Origin` are not browsers and pass.
pub async fn same_origin(State(app): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let public_host = app.config.public_url.as_deref().and_then(|u| u.split("://").nth(1)).map(|h| h.trim_end_matches('/'));
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let foreign = match origin {
        Some("null") => true,
        Some(o) => {
            let o_host = o.split("://").nth(1).unwrap_or("");
            o_host != host && Some(o_host) != public_host
        }
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site"),
    };
    if foreign {
        tracing::warn!(origin = ?origin, host, "cross-origin state-changing request refused");
        return Problem::new(StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    next.run(req).await
}

/// A JSON body whose errors are problem+json naming the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        Json::<T>::from_request(req, state).await.map(|Json(v)| JsonBody(v)).map_err(json_problem)
    }
}

/// An optional JSON body (`Option<JsonBody<T>>`): none when the request sends no body,
/// and the same problem+json as a required one when what it sends is wrong.
impl<T: DeserializeOwned, S: Send + Sync> axum::extract::OptionalFromRequest<S> for JsonBody<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Response> {
        let empty = req.headers().get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() == b"0");
        if empty || !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        <Json<T> as axum::extract::OptionalFromRequest<S>>::from_request(req, state)
            .await
            .map(|v| v.map(|Json(v)| JsonBody(v)))
            .map_err(json_problem)
    }
}

fn json_problem(rejection: axum::extract::rejection::JsonRejection) -> Response {
    let text = rejection.body_text();
    // serde names the field between backticks: "missing field `email`"
    let field = text.split('`').nth(1).filter(|f| !f.contains(' ')).unwrap_or("body").to_string();
    let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, text.clone());
    p.errors.push(super::problem::FieldError::new(&field, text));
    p.into_response()
}

// ------------------------------------------------------------------ handlers

