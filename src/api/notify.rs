//! Password reset (`/api/v1/auth/password-reset*`), partner webhooks and the
//! outbox (`/api/v1/admin/webhooks*`, `/api/v1/admin/outbox*`).
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{client_ip, JsonBody, PeerAddr};
use super::problem::Problem;
use crate::domain::outbox::{Endpoint, EntryKind, EntryStatus, OutboxEntry};
use crate::ports::OutboxFilter;
use crate::services::notify::EntryPage;
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetBody {
    pub email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetConfirmBody {
    /// The `token` query parameter of the mailed link.
    pub token: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub status: String,
    pub detail: String,
}

/// Asks for a password-reset link by mail. The answer is the same whether or
/// not the address has an account (only an account gets a mail); limited per
/// address and per client address.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetBody,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way", body = Accepted),
        (status = 422, description = "A body that is not `{\"email\": …}`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this address or from this client (see Retry-After)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn password_reset(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, JsonBody(body): JsonBody<ResetBody>) -> Response {
    let ip = client_ip(&app, &headers, peer);
    if let Err(res) = crate::edge::caller::ask_password_reset(&app, &ip, &body.email).await {
        return res;
    }
    let loc = crate::i18n::request_locale();
    (StatusCode::ACCEPTED, Json(Accepted { status: "accepted".into(), detail: loc.t("msg-reset-sent").into() })).into_response()
}

/// Sets a new password with the mailed token (once, within 30 minutes).
/// Every session and refresh token of the account is revoked.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmBody,
    responses(
        (status = 204, description = "Password changed; sign in with it"),
        (status = 422, description = "Token invalid, used or expired (`token`), or password refused (`password`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn password_reset_confirm(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, JsonBody(body): JsonBody<ResetConfirmBody>) -> Result<StatusCode, Response> {
    let ip = client_ip(&app, &headers, peer);
    crate::edge::caller::rate_limit(&app, &[format!("reset-confirm:ip:{ip}")], app.config.login_rate_per_min).await?;
    match app.accounts.confirm_password_reset(&body.token, &body.password).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(crate::services::accounts::AccountError::InvalidToken) => Err(Problem::fields(vec![crate::domain::user::FieldError::coded("field-reset-token", "token", &[])]).into_response()),
        Err(e) => Err(Problem::from(e).into_response()),
    }
}

// ------------------------------------------------------------------ webhooks

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EndpointBody {
    /// https (http only to loopback outside production).
    pub url: String,
    /// `order.created`, `order.status_changed`, `order.paid`, `order.refunded`, `product.updated`, `stock.low`, or `order.*`.
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    pub items: Vec<Endpoint>,
}

/// Webhook endpoints (secrets are never listed).
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "admin", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = EndpointList), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_webhooks(State(app): State<AppState>) -> Result<Json<EndpointList>, Problem> {
    Ok(Json(EndpointList { items: app.notify.endpoints().await? }))
}

/// Registers an endpoint. The answer carries its signing `secret`, shown this once.
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "admin", request_body = EndpointBody, security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, description = "Registered; keep the secret", body = Endpoint),
        (status = 422, description = "Invalid url or events", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_webhook(State(app): State<AppState>, JsonBody(body): JsonBody<EndpointBody>) -> Result<(StatusCode, Json<Endpoint>), Problem> {
    Ok((StatusCode::CREATED, Json(app.notify.create_endpoint(&body.url, &body.events, &body.description).await?)))
}

#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Endpoint), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_webhook(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Endpoint>, Problem> {
    Ok(Json(app.notify.endpoint(&id).await?))
}

/// Changes the URL or events, or turns the endpoint on (clearing its failures) or off.
#[utoipa::path(patch, path = "/api/v1/admin/webhooks/{id}", tag = "admin", params(("id" = String, Path)), request_body = EndpointPatch, security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Endpoint), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_webhook(State(app): State<AppState>, Path(id): Path<String>, JsonBody(body): JsonBody<EndpointPatch>) -> Result<Json<Endpoint>, Problem> {
    Ok(Json(app.notify.update_endpoint(&id, body.url.as_deref(), body.events.as_deref(), body.enabled).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(State(app): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    app.notify.delete_endpoint(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret (shown once); the previous one keeps signing beside it for 24 hours.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/rotate-secret", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Endpoint), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_webhook_secret(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Endpoint>, Problem> {
    Ok(Json(app.notify.rotate_secret(&id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxParams {
    /// pending, sent or dead.
    pub status: Option<String>,
    /// event, mail, webhook or task.
    pub kind: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

fn filter(p: &OutboxParams, target: Option<String>) -> Result<OutboxFilter, Problem> {
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(EntryStatus::parse(s).ok_or_else(|| Problem::invalid("status", "pending, sent or dead"))?),
        None => None,
    };
    let kind = match p.kind.as_deref().filter(|s| !s.is_empty()) {
        Some(k) => Some(EntryKind::parse(k).ok_or_else(|| Problem::invalid("kind", "event, mail, webhook or task"))?),
        None => None,
    };
    Ok(OutboxFilter { status, kind, target })
}

/// An endpoint's deliveries, newest first, each with its attempts (status, latency, answer).
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "admin", params(("id" = String, Path), OutboxParams), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = EntryPage), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn webhook_deliveries(State(app): State<AppState>, Path(id): Path<String>, params: Result<Query<OutboxParams>, axum::extract::rejection::QueryRejection>) -> Result<Json<EntryPage>, Problem> {
    let Query(p) = params.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    app.notify.endpoint(&id).await?;
    let (page, per_page) = super::problem::paging(p.page, p.per_page, 50)?;
    let f = OutboxFilter { kind: Some(EntryKind::Webhook), ..filter(&p, Some(id))? };
    Ok(Json(app.notify.entries(&f, page, per_page).await?))
}

/// The outbox: events, mails and webhook deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "admin", params(OutboxParams), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = EntryPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_outbox(State(app): State<AppState>, params: Result<Query<OutboxParams>, axum::extract::rejection::QueryRejection>) -> Result<Json<EntryPage>, Problem> {
    let Query(p) = params.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let (page, per_page) = super::problem::paging(p.page, p.per_page, 50)?;
    Ok(Json(app.notify.entries(&filter(&p, None)?, page, per_page).await?))
}

/// Sends an entry again now, under the same id: a dead message, or a replay of a delivered webhook.
#[utoipa::path(post, path = "/api/v1/admin/outbox/{id}/retry", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 202, body = OutboxEntry), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn retry_outbox(State(app): State<AppState>, Path(id): Path<String>) -> Result<(StatusCode, Json<OutboxEntry>), Problem> {
    Ok((StatusCode::ACCEPTED, Json(app.notify.retry(&id).await?)))
}
