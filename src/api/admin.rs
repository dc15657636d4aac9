//! `/api/v1/admin/*`: admins only (enforced by the route table).
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use crate::domain::user::{Role, User};
pub use crate::edge::params::AuditParams;
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
    let (users, total) = match app.desk.search_users(p.q.as_deref(), page as u64, per_page as u64).await {
        Err(crate::services::accounts::AccountError::Invalid(e)) => return Err(Problem::invalid(&e.field, &e.in_locale(crate::i18n::request_locale()))),
        other => other?,
    };
    Ok(Json(UserPage { items: users.into_iter().map(AdminUser::from).collect(), page, per_page, total }))
}

// ------------------------------------------------------------------ products

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;

use super::auth::JsonBody;
use crate::domain::product::{Product, ProductInput};
use crate::domain::query::{CatalogQuery, SearchResult};
use crate::services::admin::Removal;

/// Products of every status: `q`, `category`, `page`, `per_page` as on the public listing, plus `status` (repeatable).
#[utoipa::path(get, path = "/api/v1/admin/products", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("status" = Option<String>, Query, description = "draft, active or archived (repeatable; default all)")),
    responses((status = 200, body = SearchResult), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_products(State(app): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<SearchResult>, Problem> {
    let (query, statuses) = CatalogQuery::admin_listing(&raw.unwrap_or_default())?;
    Ok(Json(app.admin.list(query, statuses).await?))
}

/// Creates a product; a new attribute key or category needs no schema change.
#[utoipa::path(post, path = "/api/v1/admin/products", tag = "admin", request_body = ProductInput, security(("bearer" = []), ("session" = [])),
    responses((status = 201, body = Product), (status = 409, description = "SKU or slug used by another product", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_product(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, JsonBody(input): JsonBody<ProductInput>) -> Result<(StatusCode, Json<Product>), Problem> {
    Ok((StatusCode::CREATED, Json(app.admin.create(&(&p.user).into(), input).await?)))
}

#[utoipa::path(get, path = "/api/v1/admin/products/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Product), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_product(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Product>, Problem> {
    Ok(Json(app.admin.get(&id).await?))
}

/// Replaces a product (images stay). Variant `stock` sets the inventory.
#[utoipa::path(put, path = "/api/v1/admin/products/{id}", tag = "admin", params(("id" = String, Path)), request_body = ProductInput,
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Product), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_product(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>, JsonBody(input): JsonBody<ProductInput>) -> Result<Json<Product>, Problem> {
    Ok(Json(app.admin.update(&(&p.user).into(), &id, input).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RemovalResult {
    /// `deleted`, or `archived` for a product that was ever ordered.
    #[schema(value_type = String)]
    pub result: Removal,
}

/// Deletes a product; one that was ever ordered is archived instead.
#[utoipa::path(delete, path = "/api/v1/admin/products/{id}", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = RemovalResult), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_product(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>) -> Result<Json<RemovalResult>, Problem> {
    Ok(Json(RemovalResult { result: app.admin.remove(&(&p.user).into(), &id).await? }))
}

// ------------------------------------------------------------------ users

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    /// `customer`, `partner` or `admin`.
    pub role: Option<String>,
    /// A disabled user cannot sign in; their tokens are revoked and sessions end.
    pub disabled: Option<bool>,
}

/// Changes a user's role or disables them.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = String, Path)), request_body = UserChange,
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AdminUser), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn change_user(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>, JsonBody(change): JsonBody<UserChange>) -> Result<Json<AdminUser>, Problem> {
    let role = match change.role.as_deref() {
        None => None,
        Some(r) => Some(Role::parse(r).ok_or_else(|| Problem::invalid_422("role", "must be customer, partner or admin"))?),
    };
    Ok(Json(app.desk.change_user(&(&p.user).into(), &id, role, change.disabled).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password: String,
    /// `partner` (default), `customer` or `admin`.
    pub role: Option<String>,
}

/// Creates an account, a partner's by default.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = NewUser, security(("bearer" = []), ("session" = [])),
    responses((status = 201, body = AdminUser), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_user(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, JsonBody(n): JsonBody<NewUser>) -> Result<(StatusCode, Json<AdminUser>), Problem> {
    let role = match n.role.as_deref() {
        None => Role::Partner,
        Some(r) => Role::parse(r).ok_or_else(|| Problem::invalid_422("role", "must be customer, partner or admin"))?,
    };
    let user = app.desk.create_user(&(&p.user).into(), &n.email, &n.password, &n.name, role).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Uploads a product image (multipart field `file`, optional `alt`). Only real
/// JPEG, PNG, WebP or AVIF files are accepted (checked by their bytes), up to 10 MiB.
#[utoipa::path(post, path = "/api/v1/admin/products/{id}/images", tag = "admin", params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "`file`: the image; `alt`: its description"),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The product with the new image", body = Product),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an image", body = Problem, content_type = "application/problem+json")))]
pub async fn upload_image(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>, form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>) -> Result<Json<Product>, Problem> {
    // a body that is not multipart at all (or has no boundary) is the sender's mistake, said as problem+json
    let mut form = form.map_err(|e| Problem::invalid_422("file", &format!("send the image as multipart/form-data ({})", e.body_text())))?;
    let max = app.config.max_image_bytes;
    let too_large = || {
        let mut p = Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("The file is larger than {} MiB.", max / (1024 * 1024)));
        p.errors.push(super::problem::FieldError::new("file", format!("is larger than {} MiB", max / (1024 * 1024))));
        p
    };
    let (mut file, mut alt) = (None, String::new());
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => return Err(Problem::invalid_422("file", &e.body_text())),
        };
        let mut field = field;
        match field.name().map(str::to_string).as_deref() {
            // read as it streams: past the limit the upload stops at once, nothing more is buffered
            Some("file") => {
                let mut buf = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) if buf.len() + chunk.len() > max => return Err(too_large()),
                        Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
                        Ok(None) => break,
                        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
                        Err(e) => return Err(Problem::invalid_422("file", &e.body_text())),
                    }
                }
                file = Some(buf);
            }
            Some("alt") => alt = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let bytes = file.ok_or_else(|| Problem::invalid_422("file", "send the image in a multipart field named file"))?;
    if bytes.len() > max {
        return Err(too_large());
    }
    Ok(Json(app.admin.add_image(&(&p.user).into(), &id, bytes, &alt, max).await?))
}

/// Reorders a product's images, changes their alt texts or drops some: send the
/// images to keep (by `url`), in the new order.
#[utoipa::path(put, path = "/api/v1/admin/products/{id}/images", tag = "admin", params(("id" = String, Path)), request_body = Vec<crate::domain::product::Image>,
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Product), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An image that is not the product's", body = Problem, content_type = "application/problem+json")))]
pub async fn set_images(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>, JsonBody(images): JsonBody<Vec<crate::domain::product::Image>>) -> Result<Json<Product>, Problem> {
    Ok(Json(app.admin.set_images(&(&p.user).into(), &id, images).await?))
}

// ------------------------------------------------------------------ audit, dashboard, CSV

use crate::domain::audit::AuditEntry;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

/// The audit log of admin actions, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditParams), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_audit(State(app): State<AppState>, q: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>) -> Result<Json<AuditPage>, Problem> {
    let Query(q) = q.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let (page, per_page) = super::problem::paging(q.page, q.per_page, 50)?;
    let (items, total) = app.audit.list(&q.filter()?, page, per_page).await?;
    Ok(Json(AuditPage { items, page, per_page, total }))
}

fn csv_response(name: &str, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}-{}.csv\"", Utc::now().format("%Y-%m-%d"))),
        ],
        body,
    )
        .into_response()
}

/// Every product as CSV, one row per variant (the import format).
#[utoipa::path(get, path = "/api/v1/admin/export/products.csv", tag = "admin", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "CSV", content_type = "text/csv")))]
pub async fn export_products(State(app): State<AppState>) -> Result<axum::response::Response, Problem> {
    Ok(csv_response("products", crate::services::csv_io::export_products(&app.admin).await?))
}

/// Orders as CSV, filtered like `GET /api/v1/admin/orders`.
#[utoipa::path(get, path = "/api/v1/admin/export/orders.csv", tag = "admin", params(super::orders::AdminOrderParams), security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "CSV", content_type = "text/csv")))]
pub async fn export_orders(State(app): State<AppState>, q: Result<Query<super::orders::AdminOrderParams>, axum::extract::rejection::QueryRejection>) -> Result<axum::response::Response, Problem> {
    let Query(q) = q.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let filter = super::orders::admin_order_filter(&app, &q).await?;
    Ok(csv_response("orders", app.desk.export_orders(filter.as_ref()).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true` (default) checks the file and writes nothing.
    pub dry_run: Option<bool>,
}

/// Imports products from CSV (the export's format; body `text/csv`). With
/// `dry_run=true` (the default) nothing is written; the report lists every
/// problem by line. A real run writes nothing either when any line has a problem.
#[utoipa::path(post, path = "/api/v1/admin/import/products", tag = "admin", params(ImportParams), request_body(content = String, content_type = "text/csv"),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "What was (or would be) done", body = crate::domain::import::ImportReport),
        (status = 413, body = Problem, content_type = "application/problem+json"), (status = 422, description = "Not UTF-8 text", body = Problem, content_type = "application/problem+json")))]
pub async fn import_products(
    State(app): State<AppState>,
    super::auth::CurrentUser(p): super::auth::CurrentUser,
    q: Result<Query<ImportParams>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Bytes,
) -> Result<Json<crate::domain::import::ImportReport>, Problem> {
    let Query(q) = q.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let text = std::str::from_utf8(&body).map_err(|_| Problem::invalid_422("file", "must be UTF-8 text (save the sheet as CSV UTF-8)"))?;
    Ok(Json(crate::services::csv_io::import_products(&app.admin, &(&p.user).into(), text, q.dry_run.unwrap_or(true)).await?))
}

/// The dashboard's figures: 30 days of sales, today, low stock, best sellers, orders waiting.
#[utoipa::path(get, path = "/api/v1/admin/dashboard", tag = "admin", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Dashboard figures (JSON)")))]
pub async fn dashboard(State(app): State<AppState>) -> Result<Json<crate::domain::dashboard::Dashboard>, Problem> {
    Ok(Json(app.desk.dashboard(Utc::now()).await?))
}
