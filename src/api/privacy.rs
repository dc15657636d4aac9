//! A customer's data (GDPR): `GET /api/v1/me/export`, `DELETE /api/v1/me`,
//! and the same for admins acting on a customer's request.
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::{CurrentUser, JsonBody};
use super::problem::Problem;
use crate::services::privacy::{Erasure, PersonalData};
use crate::state::AppState;

fn download(data: PersonalData) -> Response {
    let name = format!("attachment; filename=\"vitrina-data-{}.json\"", data.exported_at.format("%Y-%m-%d"));
    ([(header::CONTENT_DISPOSITION, name)], Json(data)).into_response()
}

/// Everything the shop holds about the caller, as JSON: profile, every order
/// with its addresses, the cart, and what it keeps of sessions and consents.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "auth", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = PersonalData), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn export_me(State(app): State<AppState>, CurrentUser(p): CurrentUser) -> Result<Response, Problem> {
    Ok(download(app.privacy.export(&p.user.id).await?))
}

/// The caller's password, confirming the erasure of their own account.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

/// Erases the caller's account, confirmed with their password: name,
/// e-mail, phone and addresses are removed or anonymised at once (guest
/// orders placed with the same e-mail too); orders stay (accounting law)
/// under an anonymous identity; every session and token ends; the e-mail is
/// free for a new account. Cannot be undone. Admin accounts are refused (409).
#[utoipa::path(delete, path = "/api/v1/me", tag = "auth", security(("bearer" = []), ("session" = [])), request_body = EraseBody,
    responses(
        (status = 200, body = Erasure),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password is missing or wrong (field `password`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn erase_me(State(app): State<AppState>, CurrentUser(p): CurrentUser, JsonBody(body): JsonBody<EraseBody>) -> Result<Json<Erasure>, Problem> {
    Ok(Json(app.privacy.erase_own(&p.user.id, &body.password).await?))
}

/// A customer's data, exported for them on request (admins).
#[utoipa::path(get, path = "/api/v1/admin/users/{id}/export", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PersonalData), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn export_user(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>) -> Result<Response, Problem> {
    let data = app.privacy.export(&id).await?;
    app.audit.record(&(&p.user).into(), "user.export", &id, "personal data exported on request", None::<&()>, None).await;
    Ok(download(data))
}

/// Erases a customer on their request (admins); recorded in the audit log.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/erase", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Erasure),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn erase_user(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>) -> Result<Json<Erasure>, Problem> {
    Ok(Json(app.privacy.erase(&id, &(&p.user).into()).await?))
}
