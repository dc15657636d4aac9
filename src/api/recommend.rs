//! Recommendations (`/api/v1/products/{slug}/recommendations`,
//! `/api/v1/recommendations/trending`) and their admin settings
//! (`/api/v1/admin/products/{id}/recommendations`).
use axum::extract::{Path, Query, State};
use axum::Extension;
use axum::Json;
use serde::Deserialize;

use super::auth::{CurrentUser, JsonBody};
use super::problem::Problem;
use crate::domain::recommend::{parse_intent, parse_limit, RecommendSettings, Recommendations};
use crate::edge::caller::Caller;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendParams {
    /// `complementary` ("frequently bought together", the default) or `related` ("similar products").
    intent: Option<String>,
    /// How many, 1–20 (default 8).
    limit: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendingParams {
    /// How many, 1–20 (default 8).
    limit: Option<String>,
}

/// The product ids in a signed-in caller's cart (recommendations leave them out).
async fn cart_products(app: &AppState, caller: Option<Extension<Caller>>) -> Vec<String> {
    match caller {
        Some(Extension(Caller(Some(p)))) => app.carts.product_ids(&crate::services::orders::user_cart(&p.user.id)).await,
        _ => Vec::new(),
    }
}

/// Products to suggest beside a product. `complementary`: bought together
/// with it in past orders (item-to-item collaborative filtering; admins'
/// pinned products first). `related`: same category, shared attributes, a
/// close price. When a strategy has too little data the next answers
/// (complementary → related → trending → popular) and `strategy` says which.
/// Never the product itself, an archived product, or (for a signed-in
/// caller) what is in their cart; sold-out products come last.
#[utoipa::path(get, path = "/api/v1/products/{slug}/recommendations", tag = "catalog",
    params(("slug" = String, Path, description = "Product slug"), RecommendParams),
    responses(
        (status = 200, description = "Recommended products", body = Recommendations),
        (status = 400, description = "Invalid `intent` or `limit`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn for_product(
    State(app): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<RecommendParams>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<Recommendations>, Problem> {
    let intent = parse_intent(params.intent.as_deref()).map_err(|e| Problem::invalid(&e.field, &e.in_locale(crate::i18n::request_locale())))?;
    let limit = parse_limit(params.limit.as_deref()).map_err(|e| Problem::invalid(&e.field, &e.in_locale(crate::i18n::request_locale())))?;
    let in_cart = cart_products(&app, caller).await;
    Ok(Json(app.recommend.for_product(&slug, intent, limit, &in_cart).await?))
}

/// What shoppers view and buy now: views count 1, sales 10 per unit, and
/// both lose half their weight every 72 hours. Best sellers while there is
/// no such activity yet (`strategy`: `popular`).
#[utoipa::path(get, path = "/api/v1/recommendations/trending", tag = "catalog",
    params(TrendingParams),
    responses(
        (status = 200, description = "Trending products", body = Recommendations),
        (status = 400, description = "Invalid `limit`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn trending(State(app): State<AppState>, Query(params): Query<TrendingParams>, caller: Option<Extension<Caller>>) -> Result<Json<Recommendations>, Problem> {
    let limit = parse_limit(params.limit.as_deref()).map_err(|e| Problem::invalid(&e.field, &e.in_locale(crate::i18n::request_locale())))?;
    let in_cart = cart_products(&app, caller).await;
    Ok(Json(app.recommend.trending(limit, &in_cart).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SettingsBody {
    /// Products shown first among this product's complements, by slug or id (at most 8).
    #[serde(default)]
    pub pinned: Vec<String>,
    /// Leave this product out of every recommendation list.
    #[serde(default)]
    pub excluded: bool,
}

/// A product's recommendation settings: pinned complements (ids) and whether it is excluded.
#[utoipa::path(get, path = "/api/v1/admin/products/{id}/recommendations", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, body = RecommendSettings),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_settings(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<RecommendSettings>, Problem> {
    Ok(Json(app.recommend.settings(&id).await?))
}

/// Pins complements by hand (shown first, in this order) and excludes a product from recommendations.
#[utoipa::path(put, path = "/api/v1/admin/products/{id}/recommendations", tag = "admin", request_body = SettingsBody, security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses(
        (status = 200, body = RecommendSettings),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown pinned product, the product itself, or more than 8 (`pinned`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_settings(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>, JsonBody(body): JsonBody<SettingsBody>) -> Result<Json<RecommendSettings>, Problem> {
    Ok(Json(app.recommend.save_settings(&(&p.user).into(), &id, &body.pinned, body.excluded).await?))
}
