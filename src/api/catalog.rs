use axum::extract::{Path, Query, RawQuery, State};
use axum::Json;

use super::problem::Problem;
use crate::domain::category::CategoryNode;
use crate::domain::product::ProductView;
use crate::domain::query::{CatalogQuery, SearchResult, Suggestions};
use crate::state::AppState;

/// Query parameters of the product listing (documentation only: the raw
/// query string is parsed by `CatalogQuery::from_query_string`, which also
/// takes the repeatable `attr.<key>=<value>` filters).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Text search: every word must match a word of the name, brand, category, description or attribute values — exactly, by Romanian or English stem, as a prefix (2+ letters), or with a typo (one edit from 5 letters, two from 9); diacritics are folded. Ranked by relevance (name above brand above category above the rest).
    q: Option<String>,
    /// Category path, e.g. `clothing/t-shirts`; includes its descendants.
    category: Option<String>,
    /// Lowest price in minor units (cents).
    min_price: Option<i64>,
    /// Highest price in minor units (cents).
    max_price: Option<i64>,
    /// Only products with at least one variant in stock.
    in_stock: Option<bool>,
    /// `relevance` (default), `price_asc`, `price_desc`, `newest`, `popular`.
    sort: Option<String>,
    /// Page number, from 1.
    page: Option<u32>,
    /// Page size, 1–100 (default 24).
    per_page: Option<u32>,
    /// Attribute filter, repeatable: `attr.color=Red&attr.color=Blue&attr.size=M` (OR within a key, AND across keys). Keys match `[a-z0-9_]{1,40}`.
    #[param(rename = "attr.{key}")]
    attr: Option<String>,
}

/// Lists active products with filters, sorting, pagination and facet counts.
#[utoipa::path(get, path = "/api/v1/products", params(ListParams), tag = "catalog",
    responses(
        (status = 200, description = "One page of products", body = SearchResult),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_products(State(app): State<AppState>, RawQuery(raw): RawQuery) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    let query = CatalogQuery::from_query_string(raw.as_deref().unwrap_or(""))?;
    // the cached JSON goes out as it is stored: no decode and re-encode per request
    let (body, hit) = app.catalog.search_json(&query).await?;
    let mut res = ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
    if hit {
        // the same bytes again: the compression layer keeps them compressed
        res.headers_mut().insert(crate::edge::site::X_CACHE, axum::http::HeaderValue::from_static("hit"));
    }
    Ok(res)
}

/// One active product with attributes, images and variants (with available quantity).
#[utoipa::path(get, path = "/api/v1/products/{slug}", tag = "catalog",
    params(("slug" = String, Path, description = "Product slug")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_product(State(app): State<AppState>, Path(slug): Path<String>) -> Result<Json<ProductView>, Problem> {
    Ok(Json(app.catalog.product(&slug).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What the shopper has typed so far (at most 200 characters).
    #[serde(default)]
    q: String,
}

/// Search-as-you-type: up to 6 products (ranked, typos and word forms
/// tolerated, diacritics folded) and up to 4 categories.
#[utoipa::path(get, path = "/api/v1/search/suggest", params(SuggestParams), tag = "catalog",
    responses(
        (status = 200, description = "Suggestions", body = Suggestions),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn suggest(State(app): State<AppState>, Query(params): Query<SuggestParams>) -> Result<Json<Suggestions>, Problem> {
    Ok(Json(app.catalog.suggest(&params.q).await?))
}

/// The category tree with active product counts (including descendants).
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog",
    responses((status = 200, description = "Category tree", body = [CategoryNode])))]
pub async fn list_categories(State(app): State<AppState>) -> Result<Json<Vec<CategoryNode>>, Problem> {
    Ok(Json(app.catalog.categories().await?))
}
