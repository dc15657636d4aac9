//! `/api/v1`: the versioned JSON API for partners, with its OpenAPI spec.
//!
//! Every route is declared once in [`routes`] with its access level; the
//! router and the access checks are built from that table, and the role
//! matrix test walks the same table, so no route can go unguarded.
pub mod admin;
pub mod auth;
pub mod catalog;
pub mod docs;
pub mod documents;
pub mod notify;
pub mod orders;
pub mod privacy;
pub mod promotions;
pub mod recommend;
pub use crate::edge::problem;

use std::collections::BTreeMap;

use axum::http::Method;
use axum::middleware::from_fn;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;

use crate::domain::user::Access;
use crate::edge::ServerState;

pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<ServerState>,
}

fn route(method: Method, path: &'static str, access: Access, handler: MethodRouter<ServerState>) -> ApiRoute {
    ApiRoute { method, path, access, handler }
}

/// The route table.
pub fn routes() -> Vec<ApiRoute> {
    use Access::{Authenticated, Public};
    vec![
        route(Method::GET, "/api/v1/products", Public, get(catalog::list_products)),
        route(Method::GET, "/api/v1/products/{slug}", Public, get(catalog::get_product)),
        route(Method::GET, "/api/v1/products/{slug}/recommendations", Public, get(recommend::for_product)),
        route(Method::GET, "/api/v1/recommendations/trending", Public, get(recommend::trending)),
        route(Method::GET, "/api/v1/categories", Public, get(catalog::list_categories)),
        route(Method::GET, "/api/v1/search/suggest", Public, get(catalog::suggest)),
        route(Method::GET, "/api/v1/openapi.json", Public, get(docs::openapi_json)),
        route(Method::GET, "/api/docs", Public, get(docs::docs_page)),
        route(Method::GET, "/api/v1", Public, get(docs::docs_redirect)),
        route(Method::POST, "/api/v1/auth/register", Public, post(auth::register)),
        route(Method::POST, "/api/v1/auth/token", Public, post(auth::token)),
        route(Method::POST, "/api/v1/auth/refresh", Public, post(auth::refresh)),
        route(Method::POST, "/api/v1/auth/logout", Public, post(auth::logout)),
        route(Method::POST, "/api/v1/auth/password-reset", Public, post(notify::password_reset)),
        route(Method::POST, "/api/v1/auth/password-reset/confirm", Public, post(notify::password_reset_confirm)),
        route(Method::GET, "/api/v1/me", Authenticated, get(auth::me)),
        route(Method::GET, "/api/v1/me/export", Authenticated, get(privacy::export_me)),
        route(Method::GET, "/api/v1/cart", Authenticated, get(orders::get_cart)),
        route(Method::POST, "/api/v1/cart/items", Authenticated, post(orders::add_item)),
        route(Method::PATCH, "/api/v1/cart/items/{sku}", Authenticated, patch(orders::set_item)),
        route(Method::DELETE, "/api/v1/cart/items/{sku}", Authenticated, delete(orders::remove_item)),
        route(Method::POST, "/api/v1/cart/coupon", Authenticated, post(promotions::apply_coupon)),
        route(Method::DELETE, "/api/v1/cart/coupon", Authenticated, delete(promotions::remove_coupon)),
        route(Method::POST, "/api/v1/orders", Authenticated, post(orders::place_order)),
        route(Method::GET, "/api/v1/orders", Authenticated, get(orders::list_orders)),
        route(Method::GET, "/api/v1/orders/{id}", Authenticated, get(orders::get_order)),
        route(Method::POST, "/api/v1/orders/{id}/cancel", Authenticated, post(orders::cancel_order)),
        route(Method::GET, "/api/v1/orders/{id}/documents", Authenticated, get(documents::order_documents)),
        route(Method::POST, "/api/v1/orders/{id}/returns", Authenticated, post(documents::request_return)),
        // the owner, an admin, or a guest with the order's link token: checked by the handler
        route(Method::GET, "/api/v1/documents/{file}", Public, get(documents::document_file)),
        route(Method::GET, "/api/v1/companies/{cui}", Public, get(documents::company)),
        route(Method::POST, "/api/v1/payments/stripe/webhook", Public, post(orders::stripe_webhook)),
        route(Method::GET, "/api/v1/admin/users", Access::ADMIN, get(admin::list_users)),
        route(Method::POST, "/api/v1/admin/users", Access::ADMIN, post(admin::create_user)),
        route(Method::PATCH, "/api/v1/admin/users/{id}", Access::ADMIN, patch(admin::change_user)),
        route(Method::GET, "/api/v1/admin/users/{id}/export", Access::ADMIN, get(privacy::export_user)),
        route(Method::POST, "/api/v1/admin/users/{id}/erase", Access::ADMIN, post(privacy::erase_user)),
        route(Method::GET, "/api/v1/admin/products", Access::ADMIN, get(admin::list_products)),
        route(Method::POST, "/api/v1/admin/products", Access::ADMIN, post(admin::create_product)),
        route(Method::GET, "/api/v1/admin/products/{id}", Access::ADMIN, get(admin::get_product)),
        route(Method::PUT, "/api/v1/admin/products/{id}", Access::ADMIN, put(admin::update_product)),
        route(Method::DELETE, "/api/v1/admin/products/{id}", Access::ADMIN, delete(admin::delete_product)),
        route(
            Method::POST,
            "/api/v1/admin/products/{id}/images",
            Access::ADMIN,
            post(admin::upload_image).layer(axum::extract::DefaultBodyLimit::max(10 * 1024 * 1024 + 64 * 1024)),
        ),
        route(Method::GET, "/api/v1/admin/orders", Access::ADMIN, get(orders::admin_list_orders)),
        route(Method::POST, "/api/v1/admin/orders/{id}/status", Access::ADMIN, post(orders::set_status)),
        route(Method::POST, "/api/v1/admin/orders/{id}/paid", Access::ADMIN, post(orders::mark_paid)),
        route(Method::POST, "/api/v1/admin/orders/{id}/refunds", Access::ADMIN, post(orders::refund)),
        route(Method::GET, "/api/v1/admin/orders/{id}/documents", Access::ADMIN, get(documents::admin_order_documents)),
        route(Method::POST, "/api/v1/admin/orders/{id}/returns/{return_id}/approve", Access::ADMIN, post(documents::approve_return)),
        route(Method::POST, "/api/v1/admin/orders/{id}/returns/{return_id}/reject", Access::ADMIN, post(documents::reject_return)),
        route(Method::POST, "/api/v1/admin/orders/{id}/returns/{return_id}/receive", Access::ADMIN, post(documents::receive_return)),
        route(Method::POST, "/api/v1/admin/orders/{id}/returns/{return_id}/refund", Access::ADMIN, post(documents::refund_return)),
        route(Method::GET, "/api/v1/admin/returns", Access::ADMIN, get(documents::open_returns)),
        route(Method::GET, "/api/v1/admin/documents", Access::ADMIN, get(documents::admin_documents)),
        route(Method::POST, "/api/v1/admin/documents/{id}/regenerate", Access::ADMIN, post(documents::regenerate)),
        route(Method::GET, "/api/v1/admin/seller", Access::ADMIN, get(documents::get_seller)),
        route(Method::PUT, "/api/v1/admin/seller", Access::ADMIN, put(documents::put_seller)),
        route(Method::GET, "/api/v1/admin/efactura", Access::ADMIN, get(documents::efactura_status)),
        route(Method::PUT, "/api/v1/admin/efactura/token", Access::ADMIN, put(documents::put_token)),
        route(Method::PUT, "/api/v1/admin/products/{id}/images", Access::ADMIN, put(admin::set_images)),
        route(Method::GET, "/api/v1/admin/products/{id}/recommendations", Access::ADMIN, get(recommend::get_settings)),
        route(Method::PUT, "/api/v1/admin/products/{id}/recommendations", Access::ADMIN, put(recommend::put_settings)),
        route(Method::GET, "/api/v1/admin/promotions", Access::ADMIN, get(promotions::list)),
        route(Method::POST, "/api/v1/admin/promotions", Access::ADMIN, post(promotions::create)),
        route(Method::GET, "/api/v1/admin/promotions/{id}", Access::ADMIN, get(promotions::get_one)),
        route(Method::PUT, "/api/v1/admin/promotions/{id}", Access::ADMIN, put(promotions::update)),
        route(Method::GET, "/api/v1/admin/audit", Access::ADMIN, get(admin::list_audit)),
        route(Method::GET, "/api/v1/admin/webhooks", Access::ADMIN, get(notify::list_webhooks)),
        route(Method::POST, "/api/v1/admin/webhooks", Access::ADMIN, post(notify::create_webhook)),
        route(Method::GET, "/api/v1/admin/webhooks/{id}", Access::ADMIN, get(notify::get_webhook)),
        route(Method::PATCH, "/api/v1/admin/webhooks/{id}", Access::ADMIN, patch(notify::update_webhook)),
        route(Method::DELETE, "/api/v1/admin/webhooks/{id}", Access::ADMIN, delete(notify::delete_webhook)),
        route(Method::POST, "/api/v1/admin/webhooks/{id}/rotate-secret", Access::ADMIN, post(notify::rotate_webhook_secret)),
        route(Method::GET, "/api/v1/admin/webhooks/{id}/deliveries", Access::ADMIN, get(notify::webhook_deliveries)),
        route(Method::GET, "/api/v1/admin/outbox", Access::ADMIN, get(notify::list_outbox)),
        route(Method::POST, "/api/v1/admin/outbox/{id}/retry", Access::ADMIN, post(notify::retry_outbox)),
        route(Method::GET, "/api/v1/admin/dashboard", Access::ADMIN, get(admin::dashboard)),
        route(Method::GET, "/api/v1/admin/export/products.csv", Access::ADMIN, get(admin::export_products)),
        route(Method::GET, "/api/v1/admin/export/orders.csv", Access::ADMIN, get(admin::export_orders)),
        route(
            Method::POST,
            "/api/v1/admin/import/products",
            Access::ADMIN,
            post(admin::import_products).layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)),
        ),
        // last: a caller going through the table erases their own account here
        route(Method::DELETE, "/api/v1/me", Authenticated, delete(privacy::erase_me)),
    ]
}

pub fn router() -> Router<ServerState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<ServerState>> = BTreeMap::new();
    for r in routes() {
        let access = r.access;
        let guarded = r.handler.route_layer(from_fn(move |req, next| auth::require(access, req, next)));
        let merged = match by_path.remove(r.path) {
            Some(existing) => existing.merge(guarded),
            None => guarded,
        };
        by_path.insert(r.path, merged);
    }
    by_path.into_iter().fold(Router::new(), |router, (path, mr)| router.route(path, mr))
}
