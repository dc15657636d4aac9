//! Promotions for admins (`/api/v1/admin/promotions`) and the coupon code of
//! a cart (`/api/v1/cart/coupon`).
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::{CurrentUser, JsonBody};
use super::problem::Problem;
use crate::domain::order::CartView;
use crate::domain::promotion::PromotionInput;
use crate::services::orders::user_cart;
use crate::domain::promotion::PromotionReport;
use crate::state::AppState;

/// Every promotion, newest first, with its redemptions (orders that used it,
/// not cancelled or expired) and the revenue of those orders.
#[utoipa::path(get, path = "/api/v1/admin/promotions", tag = "admin", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = [PromotionReport])))]
pub async fn list(State(app): State<AppState>) -> Result<Json<Vec<PromotionReport>>, Problem> {
    Ok(Json(app.promotions.reports().await?))
}

/// Creates a promotion: a coupon code (case-insensitive) or automatic (no
/// `code`); percent, fixed amount (minor units) or free shipping; for the
/// whole order, some products or some categories; with optional dates, a
/// minimum subtotal and usage limits.
#[utoipa::path(post, path = "/api/v1/admin/promotions", tag = "admin", request_body = PromotionInput, security(("bearer" = []), ("session" = [])),
    responses(
        (status = 201, body = PromotionReport),
        (status = 409, description = "Another promotion has this code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(State(app): State<AppState>, CurrentUser(p): CurrentUser, JsonBody(body): JsonBody<PromotionInput>) -> Response {
    match app.promotions.create(body, &(&p.user).into()).await {
        Ok(created) => match app.promotions.report(&created.id).await {
            Ok(r) => (StatusCode::CREATED, Json(r)).into_response(),
            Err(e) => Problem::from(e).into_response(),
        },
        Err(e) => Problem::from(e).into_response(),
    }
}

#[utoipa::path(get, path = "/api/v1/admin/promotions/{id}", tag = "admin", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PromotionReport), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<PromotionReport>, Problem> {
    Ok(Json(app.promotions.report(&id).await?))
}

/// Replaces a promotion's settings. Orders placed before keep the discount they got.
#[utoipa::path(put, path = "/api/v1/admin/promotions/{id}", tag = "admin", request_body = PromotionInput, security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = PromotionReport),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another promotion has this code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>, JsonBody(body): JsonBody<PromotionInput>) -> Result<Json<PromotionReport>, Problem> {
    app.promotions.update(&id, body, &(&p.user).into()).await?;
    Ok(Json(app.promotions.report(&id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CouponBody {
    /// The code, in any case.
    pub code: String,
}

/// Enters a coupon code in the caller's cart. At most one code per order; it
/// is combined with the best automatic promotion.
#[utoipa::path(post, path = "/api/v1/cart/coupon", tag = "orders", request_body = CouponBody, security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The cart with the code's discount", body = CartView),
        (status = 409, description = "The code is used up (`code`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown, paused, not yet valid, expired, below its minimum or for nothing in the cart (`code`); or the cart is empty", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn apply_coupon(State(app): State<AppState>, CurrentUser(p): CurrentUser, JsonBody(body): JsonBody<CouponBody>) -> Result<Json<CartView>, Problem> {
    Ok(Json(app.carts.apply_coupon(&user_cart(&p.user.id), &body.code).await?))
}

/// Takes the coupon code out of the caller's cart.
#[utoipa::path(delete, path = "/api/v1/cart/coupon", tag = "orders", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = CartView)))]
pub async fn remove_coupon(State(app): State<AppState>, CurrentUser(p): CurrentUser) -> Result<Json<CartView>, Problem> {
    Ok(Json(app.carts.remove_coupon(&user_cart(&p.user.id)).await?))
}
