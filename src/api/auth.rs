//! `/api/v1/auth/*` and `/api/v1/me`: accounts for API clients (register,
//! tokens, rotating refresh, sign-out). The caller layer they rely on is in
//! `edge::caller` (re-exported here).
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::problem::Problem;
pub use crate::edge::caller::*;
use crate::domain::user::{Role, UserView};
use crate::services::accounts::TokenPair;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterBody {
    pub email: String,
    pub password: String,
    pub name: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenBody {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// Creates a customer account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        (status = 201, description = "Account created", body = UserView),
        (status = 409, description = "E-mail already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many new accounts from this address (see Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, JsonBody(body): JsonBody<RegisterBody>) -> Result<(StatusCode, Json<UserView>), Response> {
    let ip = client_ip(&app, &headers, peer);
    rate_limit(&app, &[format!("register:{ip}")], app.config.register_rate_per_min).await?;
    let user = app.accounts.register_in(&body.email, &body.password, &body.name, Role::Customer, Some(crate::i18n::request_locale().code())).await.map_err(|e| Problem::from(e).into_response())?;
    Ok((StatusCode::CREATED, Json(user.view())))
}

/// Exchanges e-mail and password for an access token (JWT, ≤ 15 min) and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenBody,
    responses(
        (status = 200, description = "Tokens", body = TokenPair),
        (status = 401, description = "E-mail or password incorrect", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts (see Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn token(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, JsonBody(body): JsonBody<TokenBody>) -> Response {
    let ip = client_ip(&app, &headers, peer);
    let keys = [format!("login:ip:{ip}"), format!("login:acct:{}", body.email.trim().to_lowercase())];
    if let Err(res) = rate_limit(&app, &keys, app.config.login_rate_per_min).await {
        return res;
    }
    let result = async {
        let user = app.accounts.authenticate(&body.email, &body.password).await?;
        app.accounts.issue_tokens(&user).await
    }
    .await;
    match result {
        Ok(pair) => Json(pair).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Rotates a refresh token: the presented one is consumed. Presenting a consumed one revokes its whole family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "A new pair", body = TokenPair),
        (status = 401, description = "Invalid, expired or reused token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, JsonBody(body): JsonBody<RefreshBody>) -> Response {
    let ip = client_ip(&app, &headers, peer);
    if let Err(res) = rate_limit(&app, &[format!("refresh:ip:{ip}")], app.config.login_rate_per_min).await {
        return res;
    }
    // the account's limit is checked before the token is rotated: a 429 must
    // not throw a new pair away (the client's retry would then look like reuse)
    match app.accounts.refresh_owner(&body.refresh_token).await {
        Ok(Some(owner)) => {
            if let Err(res) = rate_limit(&app, &[format!("refresh:acct:{owner}")], app.config.login_rate_per_min).await {
                return res;
            }
        }
        Ok(None) => {}
        Err(e) => return Problem::from(e).into_response(),
    }
    match app.accounts.refresh(&body.refresh_token).await {
        Ok((_, pair)) => Json(pair).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

/// Signs out an API client: the refresh token's family is revoked.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Unknown token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(State(app): State<AppState>, JsonBody(body): JsonBody<RefreshBody>) -> Result<StatusCode, Problem> {
    app.accounts.logout(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(CurrentUser(p): CurrentUser) -> Json<UserView> {
    Json(p.user.view())
}
