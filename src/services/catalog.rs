use std::sync::Arc;
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::domain::category::{build_tree, CategoryNode};
use crate::domain::product::{Product, ProductStatus, ProductView};
use crate::domain::seo::SitemapEntry;
use crate::domain::query::{words_start, CatalogQuery, CategorySuggestion, ProductSuggestion, QueryError, SearchResult, Sort, Suggestions, MAX_Q_LEN};
use crate::ports::{Cache, CatalogStore, ChangeFeed, ChangeNotice, FeedRead, ImageError, ImageStore, InventoryStore, SearchIndex, StoreError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    /// How catalog changes reach this instance, and how far it has taken them in.
    changes: Arc<Changes>,
    /// What every page shows and only a catalog change changes (the category
    /// tree with its counts), kept per catalog version whatever the cache's TTL:
    /// computed once per change, never per request.
    derived: Arc<std::sync::Mutex<Option<(u64, Arc<Vec<CategoryNode>>)>>>,
    /// Products taken in since the recommendation table last asked (and
    /// whether everything changed): what it computes again.
    changed: Arc<std::sync::Mutex<(Vec<String>, bool)>>,
}

/// This instance's place in the stream of catalog changes.
struct Changes {
    /// `None`: this instance alone hears its changes (its version counts them).
    feed: Option<Arc<dyn ChangeFeed>>,
    /// The catalog version this instance's index has taken in: cached reads
    /// are filed under it, so a result computed from an index that has not
    /// seen a change yet is never filed under the version that change made.
    applied: AtomicU64,
    /// The feed answered its last read (otherwise: a short TTL, and the store is polled).
    up: AtomicBool,
    /// Changes made here while the feed was down: announced when it is back.
    unannounced: std::sync::Mutex<Vec<ChangeNotice>>,
}

/// How long cached catalog reads live while the change feed is down (and
/// another instance's change can only be seen by polling the store).
pub const FALLBACK_TTL: Duration = Duration::from_secs(2);
/// How long a writer waits for its change to reach its own reads.
const OWN_CHANGE_WAIT: Duration = Duration::from_secs(1);

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
        let changes = Arc::new(Changes { feed: None, applied: AtomicU64::new(0), up: AtomicBool::new(true), unannounced: Default::default() });
        Self { store, cache, listing_ttl, product_ttl, inventory: None, images: None, loading: Default::default(), index: None, sync: Default::default(), promotions: None, changes, derived: Default::default(), changed: Default::default() }
    }

    /// Catalog changes travel on `feed` (Redis between instances; without it,
    /// this instance hears its own).
    pub fn with_feed(mut self, feed: Arc<dyn ChangeFeed>) -> Self {
        self.changes = Arc::new(Changes { feed: Some(feed), applied: AtomicU64::new(0), up: AtomicBool::new(true), unannounced: Default::default() });
        self
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

    /// The catalog version this instance has taken in, and the live
    /// automatic promotions it read: what cached listings, product views and
    /// pages depend on. Read before a result is computed, and the key it is
    /// filed under.
    async fn stamp(&self) -> String {
        match &self.promotions {
            Some(p) => format!("{}{}", self.version().await, p.stamp().await),
            None => self.version().await.to_string(),
        }
    }

    /// A cached read's lifetime: `ttl` while every change reaches this
    /// instance through the feed, at most `FALLBACK_TTL` while it does not.
    fn ttl(&self, ttl: Duration) -> Duration {
        if self.changes.up.load(Ordering::Relaxed) { ttl } else { ttl.min(FALLBACK_TTL) }
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
        self.sync_index_with(false).await
    }

    /// A full rebuild when one is due (every few minutes), nothing otherwise.
    pub async fn rebuild_if_due(&self) -> Result<IndexReport, CatalogError> {
        let due = {
            let sync = self.sync.lock().await;
            sync.last_full.is_none_or(|t| t.elapsed() >= INDEX_FULL_EVERY)
        };
        if due {
            self.sync_index_with(true).await
        } else {
            Ok(IndexReport::default())
        }
    }

    /// A full rebuild of the index now (readers see the old one until it is done).
    pub async fn sync_index_full(&self) -> Result<IndexReport, CatalogError> {
        self.sync_index_with(true).await
    }

    async fn sync_index_with(&self, full: bool) -> Result<IndexReport, CatalogError> {
        let Some(index) = &self.index else { return Ok(IndexReport::default()) };
        let mut sync = self.sync.lock().await;
        let due = full || sync.last_full.is_none_or(|t| t.elapsed() >= INDEX_FULL_EVERY) || !index.is_loaded();
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

    /// The catalog version this instance's index has taken in.
    async fn version(&self) -> u64 {
        self.changes.applied.load(Ordering::Acquire)
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
        let ttl = self.ttl(ttl);
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
    /// The listing as JSON, and whether it came from the cache as it is.
    pub async fn search_json(&self, query: &CatalogQuery) -> Result<(Vec<u8>, bool), CatalogError> {
        if !self.listing_ttl.is_zero() {
            let key = format!("cat:v{}:list:{}", self.stamp().await, query.to_query_string());
            match self.cache.get(&key).await {
                Ok(Some(bytes)) => {
                    crate::metrics::get().cache_hits.inc();
                    return Ok((bytes, true));
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "cache read failed; bypassing cache"),
            }
        }
        // a miss: the usual path (single flight, store, cache write) and encode once
        let result = self.search(query).await?;
        Ok((serde_json::to_vec(&result).map_err(|e| CatalogError::Store(StoreError::Other(e.to_string())))?, false))
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
        let version = self.version().await;
        if let Some((_, tree)) = self.derived.lock().ok().and_then(|d| d.clone()).filter(|(v, _)| *v == version) {
            return Ok(tree.as_ref().clone());
        }
        let key = format!("cat:v{version}:categories");
        let store = self.store.clone();
        let tree: Vec<CategoryNode> = self
            .cached(key, self.listing_ttl, || async move {
                let cats = store.categories().await?;
                let counts = store.active_counts_by_category().await?;
                Ok(build_tree(&cats, &counts))
            })
            .await?;
        if let Ok(mut d) = self.derived.lock() {
            if d.as_ref().is_none_or(|(v, _)| *v <= version) {
                *d = Some((version, Arc::new(tree.clone())));
            }
        }
        Ok(tree)
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

    /// The key a page is cached under: the stamp read now, before the page
    /// is rendered (so a page rendered from an index that had not seen a
    /// change is never filed under the version that change made).
    pub async fn page_key(&self, uri: &str) -> Option<String> {
        if self.listing_ttl.is_zero() {
            return None;
        }
        Some(format!("cat:v{}:html:{uri}", self.stamp().await))
    }

    /// A listing page rendered for anonymous visitors, cached under the
    /// catalog version like the data it shows (the same on every instance).
    pub async fn cached_page(&self, key: &str) -> Option<Vec<u8>> {
        match self.cache.get(key).await {
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

    /// Stores a rendered page under the key read before rendering it:
    /// listings for the listing TTL, product pages (whose availability
    /// shoppers watch) for the shorter product TTL.
    pub async fn store_page(&self, key: &str, html: &[u8], product_page: bool) {
        let ttl = self.ttl(if product_page { self.product_ttl } else { self.listing_ttl });
        if let Err(e) = self.cache.set(key, html, ttl).await {
            tracing::debug!(error = %e, "page not cached");
        }
    }

    /// After a catalog write of everything (a seed, an import): this
    /// instance's index takes it in at once, and every instance hears of it.
    pub async fn invalidate(&self) {
        self.announce(ChangeNotice { all: true, ..Default::default() }, true).await;
    }

    /// After these products were written (or deleted, or their stock
    /// snapshot changed): the same, for them only.
    pub async fn products_changed(&self, ids: &[String]) {
        if !ids.is_empty() {
            self.announce(ChangeNotice { products: ids.to_vec(), ..Default::default() }, false).await;
        }
    }

    /// After an admin's product write: announced, and waited for (up to a
    /// second) so the admin's next page shows it.
    pub async fn product_saved(&self, id: &str) {
        self.announce(ChangeNotice { products: vec![id.to_string()], ..Default::default() }, true).await;
    }

    /// After the promotions changed: sale prices are read again everywhere.
    pub async fn promotions_changed(&self) {
        self.announce(ChangeNotice { promotions: true, ..Default::default() }, true).await;
    }

    /// A change made here: applied to this instance's index at once, then
    /// announced on the feed (every instance, this one too, takes it in from
    /// there, in order). `wait`: until this instance's cached reads show it.
    async fn announce(&self, notice: ChangeNotice, wait: bool) {
        self.take_in(&notice).await;
        let Some(feed) = &self.changes.feed else {
            // alone: the change is in, the version moves on
            self.changes.applied.fetch_add(1, Ordering::AcqRel);
            return;
        };
        match feed.publish(&notice).await {
            Ok(v) if wait => self.wait_applied(v).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a catalog change could not be announced yet; it is, once the feed is back");
                self.changes.unannounced.lock().unwrap_or_else(|e| e.into_inner()).push(notice);
            }
        }
    }

    /// Takes the feed in up to version `v` (this instance's own change)
    /// here and now, rather than waiting for the background follower.
    async fn wait_applied(&self, v: u64) {
        let deadline = tokio::time::Instant::now() + OWN_CHANGE_WAIT;
        while self.changes.applied.load(Ordering::Acquire) < v && tokio::time::Instant::now() < deadline {
            if !self.follow_changes(Duration::ZERO).await.up {
                break;
            }
            if self.changes.applied.load(Ordering::Acquire) < v {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// The products taken in since the last call, and whether everything changed (then: empty).
    pub fn take_changed(&self) -> (Vec<String>, bool) {
        match self.changed.lock() {
            Ok(mut c) => {
                let (mut ids, all) = std::mem::take(&mut *c);
                ids.sort();
                ids.dedup();
                (ids, all)
            }
            Err(_) => (Vec::new(), true),
        }
    }

    /// Brings this instance's index up to a notice: the products it names
    /// read from the store (the truth, whatever instance wrote them), or
    /// everything; the promotions read again.
    async fn take_in(&self, notice: &ChangeNotice) {
        if notice.promotions {
            if let Some(p) = &self.promotions {
                p.forget();
            }
        }
        if let Ok(mut c) = self.changed.lock() {
            if notice.all {
                c.1 = true;
            } else if c.0.len() < 10_000 {
                c.0.extend(notice.products.iter().cloned());
            } else {
                c.1 = true;
            }
        }
        let Some(index) = self.index.as_ref().filter(|i| i.is_loaded()) else { return };
        if notice.all {
            if let Err(e) = self.sync_index_full().await {
                tracing::warn!(error = %e, "search index not rebuilt; the next rebuild catches up");
            }
            return;
        }
        if notice.products.is_empty() {
            return;
        }
        match self.store.products_by_ids(&notice.products).await {
            Ok(found) => {
                let gone: Vec<String> = notice.products.iter().filter(|id| !found.iter().any(|p| &p.id == *id)).cloned().collect();
                index.upsert(&found);
                if !gone.is_empty() {
                    index.remove(&gone);
                }
            }
            Err(e) => tracing::warn!(error = %e, "changed products not read; the next rebuild catches up"),
        }
    }

    /// Follows the feed from where this instance is: takes in each notice in
    /// order and then moves its version on (the instance's cached reads then
    /// show the change). Returns when it has waited `wait` with nothing new,
    /// or the feed failed (then the store is polled, and cached reads are
    /// short-lived, until it is back).
    pub async fn follow_changes(&self, wait: Duration) -> FollowReport {
        let changes = &self.changes;
        let Some(feed) = &changes.feed else {
            tokio::time::sleep(wait).await;
            return FollowReport { notices: 0, gap: false, up: true };
        };
        let pending: Vec<ChangeNotice> = std::mem::take(&mut *changes.unannounced.lock().unwrap_or_else(|e| e.into_inner()));
        for (i, notice) in pending.iter().enumerate() {
            if feed.publish(notice).await.is_err() {
                changes.unannounced.lock().unwrap_or_else(|e| e.into_inner()).extend(pending[i..].iter().cloned());
                break;
            }
        }
        let after = changes.applied.load(Ordering::Acquire);
        let read = feed.read(after, wait).await;
        let report = match read {
            Ok(FeedRead::Notices(list)) => {
                self.mark_up(true);
                let Some(last) = list.last().map(|(v, _)| *v) else { return FollowReport::default() };
                // one store read for every product named, one rebuild at most
                let mut merged = ChangeNotice::default();
                for (_, n) in &list {
                    merged.all |= n.all;
                    merged.promotions |= n.promotions;
                    merged.products.extend(n.products.iter().cloned());
                }
                merged.products.sort();
                merged.products.dedup();
                self.take_in(&merged).await;
                // two followers (the background one, a writer catching up) may race: never backwards
                changes.applied.fetch_max(last, Ordering::AcqRel);
                FollowReport { notices: list.len(), gap: false, up: true }
            }
            Ok(FeedRead::Gap(latest)) => {
                self.mark_up(true);
                tracing::warn!(from = after, to = latest, "catalog changes were lost on the feed (Redis restarted?): reading everything again");
                self.take_in(&ChangeNotice { all: true, promotions: true, ..Default::default() }).await;
                // the version restarted lower: this is where the feed goes on from
                changes.applied.store(latest, Ordering::Release);
                FollowReport { notices: 0, gap: true, up: true }
            }
            Err(e) => {
                if self.mark_up(false) {
                    tracing::warn!(error = %e, ttl = ?FALLBACK_TTL, "the change feed is down: polling the store for changes, cached reads live {FALLBACK_TTL:?}");
                }
                FollowReport { notices: 0, gap: false, up: false }
            }
        };
        report
    }

    /// Records whether the feed answers; `true` when that changed.
    fn mark_up(&self, up: bool) -> bool {
        let was = self.changes.up.swap(up, Ordering::Relaxed);
        if up && !was {
            tracing::info!("the change feed is back: changes reach this instance as they are made");
        }
        was != up
    }

    /// Where this instance starts following the feed: the newest version,
    /// read before the index is built (a change made while it builds is taken in again).
    pub async fn start_following(&self) {
        let Some(feed) = &self.changes.feed else { return };
        match feed.latest().await {
            Ok(v) => {
                self.changes.applied.store(v, Ordering::Release);
                self.mark_up(true);
            }
            Err(e) => {
                self.mark_up(false);
                tracing::warn!(error = %e, "the change feed is down at start: polling the store until it is back");
            }
        }
    }

    /// Whether changes made elsewhere reach this instance through the feed
    /// (`false`: only by polling the store), and how: for `/readyz`.
    pub fn change_channel(&self) -> (bool, String) {
        let up = self.changes.up.load(Ordering::Relaxed);
        let kind = self.changes.feed.as_ref().map_or("local", |f| f.kind());
        let applied = self.changes.applied.load(Ordering::Relaxed);
        let text = match (kind, up) {
            ("local", _) => format!("changes=local (this instance's own; others are found by polling the store) version={applied}"),
            (k, true) => format!("changes={k} version={applied}"),
            (k, false) => format!("changes={k}-down (polling the store; cached reads live {}s) version={applied}", FALLBACK_TTL.as_secs()),
        };
        (up, text)
    }

    /// Whether the store must be polled for other instances' changes: no
    /// shared feed, or the feed is down.
    pub fn polls_store(&self) -> bool {
        self.changes.feed.as_ref().is_none_or(|f| f.kind() == "local") || !self.changes.up.load(Ordering::Relaxed)
    }
}

/// What one look at the change feed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowReport {
    pub notices: usize,
    pub gap: bool,
    pub up: bool,
}
