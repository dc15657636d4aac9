use std::sync::Arc;
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::domain::category::{build_tree, CategoryNode};
use crate::domain::product::{Product, ProductStatus, ProductView};
use crate::domain::seo::SitemapEntry;
use crate::domain::query::{words_start, CatalogQuery, CategorySuggestion, ProductSuggestion, QueryError, SearchResult, Sort, Suggestions, MAX_Q_LEN};
use crate::ports::{Cache, CatalogStore, ImageError, ImageStore, InventoryStore, SearchIndex, StoreError};

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
    /// Product images, served by the app when there is no CDN in front.
    images: Option<Arc<dyn ImageStore>>,
    /// Single flight: one load per key at a time; concurrent misses wait for it.
    loading: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// The in-process search index listings come from, once loaded.
    index: Option<Arc<dyn SearchIndex>>,
    sync: Arc<tokio::sync::Mutex<IndexSync>>,
    /// Automatic promotions: listings and product pages show their sale prices.
    promotions: Option<crate::services::promotions::Promotions>,
}

/// Where the index is in the store's stream of changes.
#[derive(Default)]
struct IndexSync {
    /// Changes at or after this time (epoch ms, minus the margin) are fetched next.
    cursor_ms: i64,
    last_full: Option<std::time::Instant>,
}

/// Page size of a full index build.
const INDEX_PAGE: u32 = 2_000;
/// Changes fetched per poll; more than this makes a full rebuild.
const INDEX_DELTA_LIMIT: u32 = 5_000;
/// How far back each poll looks again: writers' clocks and commit order may
/// disagree by this much (an unchanged product costs a fingerprint only).
const INDEX_MARGIN_MS: i64 = 2_000;
/// A full rebuild this often catches anything a delta can miss (deletions
/// made by another instance while the count stayed the same).
const INDEX_FULL_EVERY: Duration = Duration::from_secs(300);

/// What one synchronisation of the index did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexReport {
    pub full: bool,
    pub fetched: usize,
    pub changed: usize,
}

impl CatalogService {
    pub fn new(store: Arc<dyn CatalogStore>, cache: Arc<dyn Cache>, listing_ttl: Duration) -> Self {
        let product_ttl = (listing_ttl / 5).max(Duration::from_secs(1));
        Self { store, cache, listing_ttl, product_ttl, inventory: None, images: None, loading: Default::default(), index: None, sync: Default::default(), promotions: None }
    }

    /// Listings, search and facets then come from this index (loaded on
    /// first use, then kept current by `sync_index`).
    pub fn with_index(mut self, index: Arc<dyn SearchIndex>) -> Self {
        self.index = Some(index);
        self
    }

    /// Listings and product pages then carry the automatic promotions' sale prices.
    pub fn with_promotions(mut self, promotions: crate::services::promotions::Promotions) -> Self {
        self.promotions = Some(promotions);
        self
    }

    /// The catalog version and the live automatic promotions: what cached
    /// listings, product views and pages depend on.
    async fn stamp(&self) -> String {
        match &self.promotions {
            Some(p) => format!("{}{}", self.version().await, p.stamp().await),
            None => self.version().await.to_string(),
        }
    }

    /// Sets the automatic promotions' sale prices on cards that did not come through a listing.
    pub(crate) async fn mark_sale_prices(&self, items: &mut [crate::domain::product::ProductSummary]) {
        if let Some(p) = &self.promotions {
            p.mark_summaries(items).await;
        }
    }

    pub fn with_images(mut self, images: Arc<dyn ImageStore>) -> Self {
        self.images = Some(images);
        self
    }

    /// A product image or thumbnail by its key, with its content type. Only
    /// what the shop itself writes (`products/…`) is served, never any other
    /// key of a shared bucket.
    pub async fn image(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, ImageError> {
        match &self.images {
            Some(images) if key.starts_with("products/") => images.get(key).await,
            _ => Ok(None),
        }
    }

    /// Whether the store answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Rewrites one batch of the products an earlier release stored, at this
    /// release's schema (until then each read of one migrates it): returns
    /// where the next batch starts (`None`: done) and how many were rewritten.
    pub async fn restamp_products(&self, after_id: Option<&str>, batch: u32) -> Result<(Option<String>, u32), StoreError> {
        self.store.restamp_products(after_id, batch).await
    }

    pub fn index(&self) -> Option<&Arc<dyn SearchIndex>> {
        self.index.as_ref()
    }

    /// Brings the index up to date with the store: a full build the first
    /// time (and every few minutes, and when the counts disagree), otherwise
    /// the products changed since the last call. One at a time per instance.
    pub async fn sync_index(&self) -> Result<IndexReport, CatalogError> {
        let Some(index) = &self.index else { return Ok(IndexReport::default()) };
        let mut sync = self.sync.lock().await;
        let due = sync.last_full.is_none_or(|t| t.elapsed() >= INDEX_FULL_EVERY) || !index.is_loaded();
        if !due {
            let changes = self.store.products_changed_since(sync.cursor_ms - INDEX_MARGIN_MS, INDEX_DELTA_LIMIT).await?;
            if changes.len() < INDEX_DELTA_LIMIT as usize {
                let newest = changes.iter().map(|(at, _)| *at).max();
                let products: Vec<Product> = changes.into_iter().map(|(_, p)| p).collect();
                let changed = index.upsert(&products);
                if let Some(at) = newest {
                    sync.cursor_ms = sync.cursor_ms.max(at);
                }
                // a deletion elsewhere shows as a count that no longer agrees
                if self.store.count_products().await? == index.len() {
                    return Ok(IndexReport { full: false, fetched: products.len(), changed });
                }
            }
        }
        let started_ms = chrono::Utc::now().timestamp_millis();
        let mut build = index.rebuild();
        let mut after: Option<String> = None;
        let mut fetched = 0;
        loop {
            let page = self.store.products_after(after.as_deref(), INDEX_PAGE).await?;
            fetched += page.len();
            build.add(&page);
            match page.last() {
                Some(last) if page.len() == INDEX_PAGE as usize => after = Some(last.id.clone()),
                _ => break,
            }
        }
        build.finish();
        sync.cursor_ms = started_ms;
        sync.last_full = Some(std::time::Instant::now());
        Ok(IndexReport { full: true, fetched, changed: fetched })
    }

    /// The loaded index, loading it first if this is the first use.
    pub(crate) async fn ready_index(&self) -> Option<&Arc<dyn SearchIndex>> {
        let index = self.index.as_ref()?;
        if !index.is_loaded() {
            // a first build under way (a large catalog takes seconds): the store answers meanwhile
            if self.sync.try_lock().is_err() {
                return None;
            }
            if let Err(e) = self.sync_index().await {
                tracing::warn!(error = %e, "search index not loaded; the store answers");
                return None;
            }
        }
        Some(index)
    }

    /// The loaded index, waiting (up to `wait`) for a first build under way;
    /// for reads that need the index itself (recommendations), not a listing.
    pub(crate) async fn loaded_index(&self, wait: Duration) -> Option<&Arc<dyn SearchIndex>> {
        let index = self.index.as_ref()?;
        if !index.is_loaded() {
            let _ = tokio::time::timeout(wait, async {
                let _turn = self.sync.lock().await;
            })
            .await;
        }
        self.ready_index().await
    }

    /// Product pages then show fresh availability from the inventory
    /// (listings keep the cached, eventually consistent snapshot).
    pub fn with_inventory(mut self, inventory: Arc<dyn InventoryStore>) -> Self {
        self.inventory = Some(inventory);
        self
    }

    pub(crate) fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    pub(crate) async fn cache_version(&self) -> u64 {
        self.version().await
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
    pub(crate) async fn cached<T, F, Fut>(&self, key: String, ttl: Duration, load: F) -> Result<T, CatalogError>
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
        let key = format!("cat:v{}:list:{}", self.stamp().await, query.to_query_string());
        self.cached(key, self.listing_ttl, || self.search_uncached(query)).await
    }

    /// From the index when there is one (microseconds, no store round trip), else from the store.
    async fn search_uncached(&self, query: &CatalogQuery) -> Result<SearchResult, CatalogError> {
        let mut result = match self.ready_index().await {
            Some(index) => index.search(query),
            None => self.store.search(query).await?,
        };
        if let Some(p) = &self.promotions {
            p.mark_summaries(&mut result.items).await;
        }
        Ok(result)
    }

    /// Search-as-you-type: a few products and categories for what is typed so far.
    pub async fn suggest(&self, typed: &str) -> Result<Suggestions, CatalogError> {
        let typed = typed.trim();
        if typed.chars().count() > MAX_Q_LEN {
            return Err(QueryError::coded("query-q-long", "q", &[("max", &MAX_Q_LEN.to_string())]).into());
        }
        if typed.is_empty() {
            return Ok(Suggestions::default());
        }
        let mut query = CatalogQuery::new();
        query.q = Some(typed.to_string());
        query.per_page = 6;
        let products = self
            .search(&query)
            .await?
            .items
            .into_iter()
            .map(|p| ProductSuggestion { name: p.name, slug: p.slug, price: p.price, image_url: p.image_url })
            .collect();
        let mut categories = Vec::new();
        let mut stack = self.categories().await?;
        while let Some(node) = stack.pop() {
            if node.product_count > 0 && (words_start(typed, &node.name) || words_start(typed, &node.path.replace(['/', '-'], " "))) {
                categories.push(CategorySuggestion { path: node.path.clone(), name: node.name.clone() });
            }
            stack.extend(node.children);
        }
        categories.sort_by(|a, b| a.path.cmp(&b.path));
        categories.truncate(4);
        Ok(Suggestions { products, categories })
    }

    /// The listing as JSON bytes (`SearchResult`), straight from the cache on a hit.
    pub async fn search_json(&self, query: &CatalogQuery) -> Result<Vec<u8>, CatalogError> {
        if !self.listing_ttl.is_zero() {
            let key = format!("cat:v{}:list:{}", self.stamp().await, query.to_query_string());
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
        self.track_trending(&view.id, 1.0);
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

    /// Every URL the sitemap lists: the home page, category pages with
    /// products, every active product (cached like listings).
    pub async fn sitemap_entries(&self) -> Result<Vec<SitemapEntry>, CatalogError> {
        let key = format!("cat:v{}:sitemap", self.version().await);
        let tree = self.categories().await?;
        let store = self.store.clone();
        self.cached(key, self.listing_ttl, || async move {
            let mut entries = vec![SitemapEntry { path: "/".into(), lastmod: None }];
            let mut stack: Vec<&CategoryNode> = tree.iter().collect();
            while let Some(node) = stack.pop() {
                if node.product_count > 0 {
                    entries.push(SitemapEntry { path: format!("/c/{}", node.path), lastmod: None });
                }
                stack.extend(node.children.iter());
            }
            let mut after: Option<String> = None;
            loop {
                let batch = store.products_after(after.as_deref(), 2000).await?;
                let Some(last) = batch.last() else { break };
                after = Some(last.id.clone());
                entries.extend(
                    batch.iter().filter(|p| p.status == ProductStatus::Active).map(|p| SitemapEntry { path: format!("/p/{}", p.slug), lastmod: Some(p.updated_at) }),
                );
            }
            Ok(entries)
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

    /// Counts a view (1) or a sale (10 per unit) towards trending, off the request path.
    pub fn track_trending(&self, product_id: &str, by: f64) {
        self.track_trending_at(product_id, by, chrono::Utc::now());
    }

    /// Counts a sale made at `at` towards trending (the demo's order history).
    pub fn track_trending_at(&self, product_id: &str, by: f64, at: chrono::DateTime<chrono::Utc>) {
        crate::services::recommend::track_trending(&self.cache, product_id, by, at);
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

    /// The active product's view from the cache, or the store on a miss
    /// (no view counted, stock as the snapshot has it).
    pub(crate) async fn active_view(&self, slug: &str) -> Result<Option<ProductView>, CatalogError> {
        if slug.is_empty() || slug.len() > 200 {
            return Ok(None);
        }
        self.cached_view(slug).await
    }

    /// The active product's view from the cache, or the store on a miss.
    async fn cached_view(&self, slug: &str) -> Result<Option<ProductView>, CatalogError> {
        let key = format!("cat:v{}:p:{slug}", self.stamp().await);
        let store = self.store.clone();
        let slug = slug.to_string();
        let promotions = self.promotions.clone();
        self.cached(key, self.product_ttl, || async move {
            let mut view = store.product_by_slug(&slug).await?.filter(|p| p.status == crate::domain::product::ProductStatus::Active).map(|p| p.view());
            if let (Some(v), Some(p)) = (view.as_mut(), &promotions) {
                p.mark_view(v).await;
            }
            Ok(view)
        })
        .await
    }

    /// A listing page rendered for anonymous visitors, cached under the
    /// catalog version like the data it shows (the same on every instance).
    pub async fn cached_page(&self, uri: &str) -> Option<Vec<u8>> {
        if self.listing_ttl.is_zero() {
            return None;
        }
        let key = format!("cat:v{}:html:{uri}", self.stamp().await);
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
        let key = format!("cat:v{}:html:{uri}", self.stamp().await);
        let ttl = if product_page { self.product_ttl } else { self.listing_ttl };
        if let Err(e) = self.cache.set(&key, html, ttl).await {
            tracing::debug!(error = %e, "page not cached");
        }
    }

    /// After a catalog write: this instance's index takes the change at
    /// once, and every instance's cached reads go stale.
    pub async fn invalidate(&self) {
        if self.index.as_ref().is_some_and(|i| i.is_loaded()) {
            if let Err(e) = self.sync_index().await {
                tracing::warn!(error = %e, "search index not updated; the next poll retries");
            }
        }
        if let Err(e) = self.cache.bump_version(CATALOG_VERSION).await {
            tracing::warn!(error = %e, "could not bump the catalog version");
        }
    }
}
