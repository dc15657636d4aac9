//! `/api/v1`: the versioned JSON API for partners, with its OpenAPI spec.
pub mod catalog;
pub mod docs;
pub mod problem;

use axum::routing::get;
use axum::Router;

use crate::server::ServerState;

pub fn router() -> Router<ServerState> {
    Router::new()
        .route("/api/v1/products", get(catalog::list_products))
        .route("/api/v1/products/{slug}", get(catalog::get_product))
        .route("/api/v1/categories", get(catalog::list_categories))
        .route("/api/v1/openapi.json", get(docs::openapi_json))
        .route("/api/docs", get(docs::docs_page))
        .route("/api/v1", get(docs::docs_redirect))
}
