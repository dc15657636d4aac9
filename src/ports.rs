//! Traits the services need. Adapters in `infra` implement them; only the
//! composition root (`state.rs`) names an adapter.
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::category::Category;
use crate::domain::product::Product;
use crate::domain::query::{CatalogQuery, SearchResult};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

/// The product catalog's persistence. Both the MongoDB and the embedded
/// (SQLite) adapter pass the same contract tests (`tests/contract`).
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Cheap round trip to the store (readiness probe).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Removes every product and category (`seed --reset`, tests).
    async fn reset(&self) -> Result<(), StoreError>;
    /// Inserts or replaces products by id. A slug or SKU already used by
    /// another product is a `Conflict`.
    async fn upsert_products(&self, products: &[Product]) -> Result<(), StoreError>;
    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>, StoreError>;
    async fn product_by_id(&self, id: &str) -> Result<Option<Product>, StoreError>;
    /// Active products matching the query: one page, the total, and facets
    /// (see `domain::query::assemble_facets`).
    async fn search(&self, query: &CatalogQuery) -> Result<SearchResult, StoreError>;
    /// Number of products of any status.
    async fn count_products(&self) -> Result<u64, StoreError>;
    async fn upsert_categories(&self, categories: &[Category]) -> Result<(), StoreError>;
    async fn categories(&self) -> Result<Vec<Category>, StoreError>;
    /// Active products per exact category path.
    async fn active_counts_by_category(&self) -> Result<Vec<(String, u64)>, StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("cache error: {0}")]
pub struct CacheError(pub String);

/// A byte cache with named version counters (bumping a version invalidates
/// every key built with it, without scanning keys).
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    async fn version(&self, name: &str) -> Result<u64, CacheError>;
    async fn bump_version(&self, name: &str) -> Result<u64, CacheError>;
    fn kind(&self) -> &'static str;
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image store unavailable: {0}")]
    Unavailable(String),
    #[error("invalid image key")]
    InvalidKey,
}

/// Where product images live: local disk or S3.
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Stores bytes under a key such as `products/p-123/1.svg`; returns its public URL.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<String, ImageError>;
    /// Reads an image back (served by the app when there is no CDN).
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, ImageError>;
    async fn clear(&self) -> Result<(), ImageError>;
    fn public_url(&self, key: &str) -> String;
}

/// Image keys are `[a-z0-9-_./]`, relative, without `..`.
pub fn is_valid_image_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 300
        && !key.starts_with('/')
        && !key.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}
