//! `/api/v1/admin/*`: admins only (enforced by the route table).
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use crate::domain::user::{Role, User};
use crate::state::AppState;

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdminUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for AdminUser {
    fn from(u: User) -> Self {
        Self { id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled, created_at: u.created_at }
    }
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserPage {
    pub items: Vec<AdminUser>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Part of an e-mail or name.
    pub q: Option<String>,
    /// From 1.
    pub page: Option<u64>,
    /// 1–100, default 50.
    pub per_page: Option<u64>,
}

/// Lists users, newest first.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UserListParams),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of users", body = UserPage),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(State(app): State<AppState>, params: Result<Query<UserListParams>, axum::extract::rejection::QueryRejection>) -> Result<Json<UserPage>, Problem> {
    let Query(p) = params.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let (page, per_page) = super::problem::paging(p.page, p.per_page, 50)?;
    let q = p.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if q.is_some_and(|s| s.len() > 200) {
        return Err(Problem::invalid("q", "must be at most 200 characters"));
    }
    let (users, total) = app.accounts.users().list_users(q, (page - 1) * per_page, per_page).await?;
    Ok(Json(UserPage { items: users.into_iter().map(AdminUser::from).collect(), page, per_page, total }))
}
