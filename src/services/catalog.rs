use std::sync::Arc;
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::domain::category::{build_tree, CategoryNode};
use crate::domain::product::{Product, ProductView};
use crate::domain::query::{CatalogQuery, QueryError, SearchResult, Sort};
use crate::ports::{Cache, CatalogStore, InventoryStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("product not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Cache namespace whose version admin writes bump.
pub const CATALOG_VERSION: &str = "catalog";
/// Sorted set of product slugs by views (1 each) and sales (10 per unit).
pub const POPULAR: &str = "popular";

/// Catalog reads (cache-aside on versioned keys) and writes (which bump the
/// catalog version so every instance's cached listings go stale at once).
#[derive(Clone)]
pub struct CatalogService {
    store: Arc<dyn CatalogStore>,
    cache: Arc<dyn Cache>,
    listing_ttl: Duration,
    product_ttl: Duration,
    inventory: Option<Arc<dyn InventoryStore>>,
    /// Single flight: one load per key at a time; concurrent misses wait for it.
    loading: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl CatalogService {
    pub fn new(store: Arc<dyn CatalogStore>, cache: Arc<dyn Cache>, listing_ttl: Duration) -> Self {
        let product_ttl = (listing_ttl / 5).max(Duration::from_secs(1));
        Self { store, cache, listing_ttl, product_ttl, inventory: None, loading: Default::default() }
    }

    /// Product pages then show fresh availability from the inventory
    /// (listings keep the cached, eventually consistent snapshot).
    pub fn with_inventory(mut self, inventory: Arc<dyn InventoryStore>) -> Self {
        self.inventory = Some(inventory);
        self
    }

    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    async fn version(&self) -> u64 {
        match self.cache.version(CATALOG_VERSION).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cache version unavailable; bypassing cache");
                0
            }
        }
    }

    /// Cache-aside: a hit returns the cached value; a miss loads and stores.
    /// Cache failures are logged and bypassed: the store stays the truth.
    async fn cached<T, F, Fut>(&self, key: String, ttl: Duration, load: F) -> Result<T, CatalogError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, CatalogError>>,
    {
        if ttl.is_zero() {
            return load().await;
        }
        if let Some(v) = self.cache_get(&key).await {
            return Ok(v);
        }
        // a thousand concurrent misses on one key make one store query
        let gate = {
            let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
            loading.entry(key.clone()).or_default().clone()
        };
        let _turn = gate.lock().await;
        if let Some(v) = self.cache_get(&key).await {
            return Ok(v);
        }
        let result = self.load_and_store(&key, ttl, load).await;
        let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&gate) <= 2 {
            loading.remove(&key);
        }
        result
    }

    async fn cache_get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        match self.cache.get(key).await {
            Ok(Some(bytes)) => {
                crate::metrics::get().cache_hits.inc();
                serde_json::from_slice(&bytes).ok()
            }
            Ok(None) => {
                crate::metrics::get().cache_misses.inc();
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "cache read failed; bypassing cache");
                None
            }
        }
    }

    async fn load_and_store<T, F, Fut>(&self, key: &str, ttl: Duration, load: F) -> Result<T, CatalogError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, CatalogError>>,
    {
        let started = std::time::Instant::now();
        let value = load().await;
        crate::metrics::get().observe_store(if key.contains(":list:") { "search" } else if key.contains(":p:") { "product" } else { "categories" }, started.elapsed());
        let value = value?;
        if let Ok(bytes) = serde_json::to_vec(&value) {
            // up to 10 % jitter: keys written together do not all expire together
            let ttl = ttl + ttl.mul_f64(rand::random::<f64>() * 0.1);
            if let Err(e) = self.cache.set(key, &bytes, ttl).await {
                tracing::warn!(error = %e, "cache write failed");
            }
        }
        Ok(value)
    }

    pub async fn search(&self, query: &CatalogQuery) -> Result<SearchResult, CatalogError> {
        let key = format!("cat:v{}:list:{}", self.version().await, query.to_query_string());
        let store = self.store.clone();
        self.cached(key, self.listing_ttl, || async move { Ok(store.search(query).await?) }).await
    }

    /// The listing as JSON bytes (`SearchResult`), straight from the cache on a hit.
    pub async fn search_json(&self, query: &CatalogQuery) -> Result<Vec<u8>, CatalogError> {
        if !self.listing_ttl.is_zero() {
            let key = format!("cat:v{}:list:{}", self.version().await, query.to_query_string());
            match self.cache.get(&key).await {
                Ok(Some(bytes)) => {
                    crate::metrics::get().cache_hits.inc();
                    return Ok(bytes);
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "cache read failed; bypassing cache"),
            }
        }
        // a miss: the usual path (single flight, store, cache write) and encode once
        let result = self.search(query).await?;
        serde_json::to_vec(&result).map_err(|e| CatalogError::Store(StoreError::Other(e.to_string())))
    }

    pub async fn product(&self, slug: &str) -> Result<ProductView, CatalogError> {
        if slug.is_empty() || slug.len() > 200 {
            return Err(CatalogError::NotFound);
        }
        let view = self.cached_view(slug).await?;
        let mut view = view.ok_or(CatalogError::NotFound)?;
        self.track(POPULAR, slug, 1.0);
        if let Some(inventory) = &self.inventory {
            let skus: Vec<String> = view.variants.iter().map(|v| v.sku.clone()).collect();
            match inventory.stock_levels(&skus).await {
                Ok(levels) => {
                    for v in &mut view.variants {
                        if let Some(n) = levels.get(&v.sku) {
                            v.available = (*n).max(0);
                        }
                    }
                    view.in_stock = view.variants.iter().any(|v| v.available > 0);
                }
                Err(e) => tracing::warn!(error = %e, "fresh availability unavailable; showing the snapshot"),
            }
        }
        Ok(view)
    }

    pub async fn categories(&self) -> Result<Vec<CategoryNode>, CatalogError> {
        let key = format!("cat:v{}:categories", self.version().await);
        let store = self.store.clone();
        self.cached(key, self.listing_ttl, || async move {
            let cats = store.categories().await?;
            let counts = store.active_counts_by_category().await?;
            Ok(build_tree(&cats, &counts))
        })
        .await
    }

    /// Popular products for the home page.
    pub async fn popular(&self, n: u32) -> Result<SearchResult, CatalogError> {
        let mut q = CatalogQuery::new();
        q.sort = Sort::Popular;
        q.per_page = n;
        q.in_stock = true;
        self.search(&q).await
    }

    pub async fn newest(&self, n: u32) -> Result<SearchResult, CatalogError> {
        let mut q = CatalogQuery::new();
        q.sort = Sort::Newest;
        q.per_page = n;
        self.search(&q).await
    }

    /// Writes products and invalidates cached reads on every instance.
    pub async fn save_products(&self, products: &[Product]) -> Result<(), CatalogError> {
        self.store.upsert_products(products).await?;
        self.invalidate().await;
        Ok(())
    }

    /// Counts a view or a sale in the popularity sorted set, off the request path.
    pub fn track(&self, set: &'static str, slug: &str, by: f64) {
        let cache = self.cache.clone();
        let slug = slug.to_string();
        tokio::spawn(async move {
            if let Err(e) = cache.incr_score(set, &slug, by).await {
                tracing::debug!(error = %e, "popularity not counted");
            }
        });
    }

    /// Keeps the most popular product pages cached: loads any that expired.
    /// Returns how many are cached now.
    pub async fn warm_popular(&self, n: usize) -> usize {
        let top = match self.cache.top_scores(POPULAR, n).await {
            Ok(t) => t,
            Err(_) => return 0,
        };
        let mut warmed = 0;
        for (slug, _) in top {
            if self.cached_view(&slug).await.is_ok() {
                warmed += 1;
            }
        }
        warmed
    }

    /// The active product's view from the cache, or the store on a miss.
    async fn cached_view(&self, slug: &str) -> Result<Option<ProductView>, CatalogError> {
        let key = format!("cat:v{}:p:{slug}", self.version().await);
        let store = self.store.clone();
        let slug = slug.to_string();
        self.cached(key, self.product_ttl, || async move {
            Ok(store.product_by_slug(&slug).await?.filter(|p| p.status == crate::domain::product::ProductStatus::Active).map(|p| p.view()))
        })
        .await
    }

    /// A listing page rendered for anonymous visitors, cached under the
    /// catalog version like the data it shows (the same on every instance).
    pub async fn cached_page(&self, uri: &str) -> Option<Vec<u8>> {
        if self.listing_ttl.is_zero() {
            return None;
        }
        let key = format!("cat:v{}:html:{uri}", self.version().await);
        match self.cache.get(&key).await {
            Ok(Some(b)) => {
                crate::metrics::get().cache_hits.inc();
                Some(b)
            }
            _ => {
                crate::metrics::get().cache_misses.inc();
                None
            }
        }
    }

    /// Stores a rendered page: listings for the listing TTL, product pages
    /// (whose availability shoppers watch) for the shorter product TTL.
    pub async fn store_page(&self, uri: &str, html: &[u8], product_page: bool) {
        let key = format!("cat:v{}:html:{uri}", self.version().await);
        let ttl = if product_page { self.product_ttl } else { self.listing_ttl };
        if let Err(e) = self.cache.set(&key, html, ttl).await {
            tracing::debug!(error = %e, "page not cached");
        }
    }

    pub async fn invalidate(&self) {
        if let Err(e) = self.cache.bump_version(CATALOG_VERSION).await {
            tracing::warn!(error = %e, "could not bump the catalog version");
        }
    }
}
