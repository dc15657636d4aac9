//! Cart and orders for API clients (bearer tokens or the browser session).
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{CurrentUser, JsonBody};
use super::problem::Problem;
use crate::domain::order::{Address, CartLine, CartView, Order, ShippingMethod};
use crate::domain::payment::PaymentMethod;
use crate::services::orders::{user_cart, PlaceOrder};
pub use crate::edge::params::{admin_order_filter, AdminOrderParams};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddItem {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetQuantity {
    pub quantity: i64,
}

/// The caller's cart, priced from the catalog.
#[utoipa::path(get, path = "/api/v1/cart", tag = "orders", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = CartView), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn get_cart(State(app): State<AppState>, CurrentUser(p): CurrentUser) -> Result<Json<CartView>, Problem> {
    Ok(Json(app.carts.view(&user_cart(&p.user.id)).await?))
}

/// Adds a SKU (quantities add up). Quantity 1–99; more than available → 409.
#[utoipa::path(post, path = "/api/v1/cart/items", tag = "orders", request_body = AddItem, security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, body = CartView),
        (status = 404, description = "Unknown SKU", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "More than available (`available` says how many)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid quantity", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_item(State(app): State<AppState>, CurrentUser(p): CurrentUser, JsonBody(body): JsonBody<AddItem>) -> Result<Json<CartView>, Problem> {
    Ok(Json(app.carts.add(&user_cart(&p.user.id), body.sku.trim(), body.quantity).await?))
}

/// Sets a line's quantity.
#[utoipa::path(patch, path = "/api/v1/cart/items/{sku}", tag = "orders", request_body = SetQuantity, security(("bearer" = []), ("session" = [])),
    params(("sku" = String, Path)),
    responses((status = 200, body = CartView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_item(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(sku): Path<String>, JsonBody(body): JsonBody<SetQuantity>) -> Result<Json<CartView>, Problem> {
    Ok(Json(app.carts.set_quantity(&user_cart(&p.user.id), &sku, body.quantity).await?))
}

/// Removes a line.
#[utoipa::path(delete, path = "/api/v1/cart/items/{sku}", tag = "orders", security(("bearer" = []), ("session" = [])),
    params(("sku" = String, Path)),
    responses((status = 200, body = CartView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove_item(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(sku): Path<String>) -> Result<Json<CartView>, Problem> {
    Ok(Json(app.carts.remove(&user_cart(&p.user.id), &sku).await?))
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct PlaceOrderBody {
    pub shipping_address: Address,
    /// `standard` (default) or `express`.
    pub shipping_method: Option<String>,
    /// Partners only: the lines to order. Others order their cart.
    pub items: Option<Vec<CartLine>>,
    /// `cod` (cash on delivery, the default), `bank_transfer` or `card`: one the shop offers.
    pub payment_method: Option<String>,
    /// A coupon code (case-insensitive). Without it, the cart's code (if one was entered) applies.
    #[serde(default)]
    pub coupon: Option<String>,
    /// Who the order is invoiced to: a person (the default: the shipping
    /// recipient) or a company (`type: "company"`, `company_name`, `cui` with its
    /// check digit, optional `reg_com`); `address` defaults to the shipping address.
    #[serde(default)]
    pub billing: Option<crate::domain::billing::Billing>,
}

/// Places an order. Requires an `Idempotency-Key` header: the same key and body return the same order.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = PlaceOrderBody, security(("bearer" = []), ("session" = [])),
    params(("Idempotency-Key" = String, Header, description = "A unique key per order; retries reuse it")),
    responses(
        (status = 201, description = "Placed", body = Order),
        (status = 200, description = "A replay of an order already placed with this key", body = Order),
        (status = 404, description = "Unknown SKU", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough stock (`short` lists each SKU with what is available), or the coupon is used up (`coupon`); nothing was ordered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field (an unknown, expired or inapplicable `coupon` too), or the key reused for a different request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn place_order(State(app): State<AppState>, CurrentUser(p): CurrentUser, headers: HeaderMap, JsonBody(body): JsonBody<PlaceOrderBody>) -> Response {
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string) else {
        return Problem::invalid("Idempotency-Key", "this header is required: send a unique key per order").into_response();
    };
    let method = match body.shipping_method.as_deref() {
        None | Some("") => ShippingMethod::Standard,
        Some(m) => match ShippingMethod::parse(m) {
            Some(m) => m,
            None => return Problem::invalid_422("shipping_method", "must be standard or express").into_response(),
        },
    };
    let payment_method = match PaymentMethod::from_input(body.payment_method.as_deref()) {
        Ok(m) => m,
        Err(e) => return Problem::fields(vec![e]).into_response(),
    };
    let req = PlaceOrder { shipping_address: body.shipping_address, shipping_method: method, items: body.items, idempotency_key: key, payment_method, coupon: body.coupon, billing: body.billing };
    match app.orders.place(&p.user, req).await {
        Ok((order, true)) => (StatusCode::CREATED, Json(order)).into_response(),
        Ok((order, false)) => (StatusCode::OK, Json(order)).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    pub items: Vec<Order>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(PageParams), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = OrderPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_orders(State(app): State<AppState>, CurrentUser(p): CurrentUser, q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>) -> Result<Json<OrderPage>, Problem> {
    let Query(q) = q.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let (page, per_page) = super::problem::paging(q.page, q.per_page, 20)?;
    let (items, total) = app.orders.list(&p.user, page, per_page).await?;
    Ok(Json(OrderPage { items, page, per_page, total }))
}

/// One order: its owner or an admin; anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_order(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>) -> Result<Json<Order>, Problem> {
    let order = app.orders.get(&p.user, &id).await?;
    // a card payment is caught up with the provider; its owner gets the client secret while it is open
    let owner = order.user_id == p.user.id;
    Ok(Json(app.orders.card_checkout(order, owner).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookAnswer {
    pub received: bool,
    /// The same event was handled before: acknowledged, ignored.
    pub replay: bool,
}

/// Stripe's webhook: `payment_intent.succeeded` settles the order it pays (once,
/// whatever else settled it first), `payment_intent.payment_failed` records a
/// declined card. `Stripe-Signature` is checked over the raw body (5 minutes'
/// tolerance); an event already handled is acknowledged and ignored.
#[utoipa::path(post, path = "/api/v1/payments/stripe/webhook", tag = "orders", request_body(content = String, content_type = "application/json", description = "A Stripe event, as Stripe signed it"),
    params(("Stripe-Signature" = String, Header, description = "`t=<unix time>,v1=<HMAC-SHA256 of \"t.body\" with the webhook secret>`")),
    responses((status = 200, body = WebhookAnswer),
        (status = 400, description = "No signature, or one that does not verify", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Card payments are not configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not handled now; the provider retries", body = Problem, content_type = "application/problem+json")))]
pub async fn stripe_webhook(State(app): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Result<Json<WebhookAnswer>, Problem> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let outcome = app.orders.card_webhook(&body, signature).await?;
    Ok(Json(WebhookAnswer { received: true, replay: outcome == crate::services::payments::WebhookOutcome::Replay }))
}

/// Cancels the caller's order while it is placed or confirmed; the stock returns.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not cancellable any more", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_order(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>) -> Result<Json<Order>, Problem> {
    Ok(Json(app.orders.cancel_own(&p.user, &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    /// `confirmed`, `shipped`, `delivered` or `cancelled`.
    pub status: String,
}

/// Moves an order along placed → confirmed → shipped → delivered, or cancels it (admins).
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/status", tag = "admin", params(("id" = String, Path)), request_body = StatusBody,
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Invalid transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_status(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>, JsonBody(body): JsonBody<StatusBody>) -> Result<Json<Order>, Problem> {
    let to = crate::domain::order::OrderStatus::parse_visible(&body.status)
        .ok_or_else(|| Problem::invalid_422("status", "must be confirmed, shipped, delivered or cancelled"))?;
    Ok(Json(app.desk.set_order_status(&(&p.user).into(), &id, to).await?))
}

/// Records that an order waiting for its bank transfer was paid: it goes ahead (admins; once).
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/paid", tag = "admin", params(("id" = String, Path)),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order is not waiting for a payment (already paid, cancelled, expired, cash on delivery)", body = Problem, content_type = "application/problem+json")))]
pub async fn mark_paid(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>) -> Result<Json<Order>, Problem> {
    Ok(Json(app.desk.mark_paid(&(&p.user).into(), &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefundBody {
    /// How much to give back, in minor units (bani): at most what was paid and not yet refunded.
    pub amount_cents: i64,
    #[serde(default)]
    pub reason: String,
}

/// Refunds part or all of what an order's customer paid (admins); recorded in the audit log.
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/refunds", tag = "admin", params(("id" = String, Path)), request_body = RefundBody,
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The order with its payment's new refunded amount and status", body = Order),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nothing was paid, or more than is left to refund", body = Problem, content_type = "application/problem+json")))]
pub async fn refund(State(app): State<AppState>, super::auth::CurrentUser(p): super::auth::CurrentUser, Path(id): Path<String>, JsonBody(body): JsonBody<RefundBody>) -> Result<Json<Order>, Problem> {
    Ok(Json(app.desk.refund(&(&p.user).into(), &id, body.amount_cents, &body.reason).await?))
}

/// Every order, newest first, filtered by status, date range and customer e-mail (admins).
#[utoipa::path(get, path = "/api/v1/admin/orders", tag = "admin", params(AdminOrderParams), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = OrderPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn admin_list_orders(State(app): State<AppState>, q: Result<Query<AdminOrderParams>, axum::extract::rejection::QueryRejection>) -> Result<Json<OrderPage>, Problem> {
    let Query(q) = q.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let (page, per_page) = super::problem::paging(q.page, q.per_page, 50)?;
    let Some(filter) = admin_order_filter(&app, &q).await? else {
        return Ok(Json(OrderPage { items: vec![], page, per_page, total: 0 }));
    };
    let (items, total) = app.orders.search(&filter, page, per_page).await?;
    Ok(Json(OrderPage { items, page, per_page, total }))
}

