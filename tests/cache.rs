//! The cache port: in-process and Redis behave the same.
mod common;

use std::sync::Arc;
use std::time::Duration;

use vitrina::infra::memory_cache::MemoryCache;
use vitrina::infra::redis_cache::RedisCache;
use vitrina::ports::Cache;

async fn stores_expires_and_versions(cache: Arc<dyn Cache>) {
    let key = common::unique_name("k");
    assert_eq!(cache.get(&key).await.unwrap(), None);
    cache.set(&key, b"hello", Duration::from_secs(30)).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap().as_deref(), Some(&b"hello"[..]));
    cache.set(&key, b"bye", Duration::from_secs(30)).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap().as_deref(), Some(&b"bye"[..]));
    let zero = common::unique_name("z");
    cache.set(&zero, b"x", Duration::ZERO).await.unwrap();
    assert_eq!(cache.get(&zero).await.unwrap(), None, "a zero TTL caches nothing");

    let name = common::unique_name("v");
    let v0 = cache.version(&name).await.unwrap();
    assert_eq!(cache.bump_version(&name).await.unwrap(), v0 + 1);
    assert_eq!(cache.version(&name).await.unwrap(), v0 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_cache_contract() {
    stores_expires_and_versions(Arc::new(MemoryCache::new(1 << 20))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cache_contract() {
    if let Some(url) = common::redis_url() {
        stores_expires_and_versions(Arc::new(RedisCache::connect(&url, "vitrina-test:").await.unwrap())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_reads_are_cached_until_the_version_bumps() {
    use vitrina::services::catalog::CatalogService;
    let h = common::store_fixture(common::Adapter::Sqlite).await.unwrap();
    let products: Vec<_> = (0..30).map(vitrina::services::demo::demo_product).collect();
    h.store.upsert_products(&products).await.unwrap();
    let svc = CatalogService::new(h.store.clone(), Arc::new(MemoryCache::new(1 << 22)), Duration::from_secs(60));
    let before = svc.product(&products[0].slug).await.unwrap();
    // a write that bypasses the service is not seen while cached ...
    let mut renamed = products[0].clone();
    renamed.name = "Changed behind the cache".into();
    h.store.upsert_products(&[renamed.clone()]).await.unwrap();
    assert_eq!(svc.product(&products[0].slug).await.unwrap().name, before.name);
    // ... and a write through the service invalidates at once
    renamed.name = "Saved through the service".into();
    svc.save_products(&[renamed]).await.unwrap();
    assert_eq!(svc.product(&products[0].slug).await.unwrap().name, "Saved through the service");
}

/// Counts the searches that reach the store.
struct Counting {
    inner: Arc<dyn vitrina::ports::CatalogStore>,
    searches: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl vitrina::ports::CatalogStore for Counting {
    async fn ping(&self) -> Result<(), vitrina::ports::StoreError> { self.inner.ping().await }
    async fn reset(&self) -> Result<(), vitrina::ports::StoreError> { self.inner.reset().await }
    async fn upsert_products(&self, p: &[vitrina::domain::product::Product]) -> Result<(), vitrina::ports::StoreError> { self.inner.upsert_products(p).await }
    async fn product_by_slug(&self, s: &str) -> Result<Option<vitrina::domain::product::Product>, vitrina::ports::StoreError> { self.inner.product_by_slug(s).await }
    async fn product_by_id(&self, s: &str) -> Result<Option<vitrina::domain::product::Product>, vitrina::ports::StoreError> { self.inner.product_by_id(s).await }
    async fn search(&self, q: &vitrina::domain::query::CatalogQuery) -> Result<vitrina::domain::query::SearchResult, vitrina::ports::StoreError> {
        self.searches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.search(q).await
    }
    async fn count_products(&self) -> Result<u64, vitrina::ports::StoreError> { self.inner.count_products().await }
    async fn delete_product(&self, id: &str) -> Result<bool, vitrina::ports::StoreError> { self.inner.delete_product(id).await }
    async fn upsert_categories(&self, c: &[vitrina::domain::category::Category]) -> Result<(), vitrina::ports::StoreError> { self.inner.upsert_categories(c).await }
    async fn categories(&self) -> Result<Vec<vitrina::domain::category::Category>, vitrina::ports::StoreError> { self.inner.categories().await }
    async fn active_counts_by_category(&self) -> Result<Vec<(String, u64)>, vitrina::ports::StoreError> { self.inner.active_counts_by_category().await }
    async fn products_by_skus(&self, s: &[String]) -> Result<Vec<vitrina::domain::product::Product>, vitrina::ports::StoreError> { self.inner.products_by_skus(s).await }
    async fn products_by_ids(&self, ids: &[String]) -> Result<Vec<vitrina::domain::product::Product>, vitrina::ports::StoreError> { self.inner.products_by_ids(ids).await }
    async fn sync_stock_snapshot(&self, ids: &[String]) -> Result<(), vitrina::ports::StoreError> { self.inner.sync_stock_snapshot(ids).await }
    async fn products_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<vitrina::domain::product::Product>, vitrina::ports::StoreError> { self.inner.products_after(after, limit).await }
    async fn products_changed_since(&self, since: i64, limit: u32) -> Result<Vec<(i64, vitrina::domain::product::Product)>, vitrina::ports::StoreError> { self.inner.products_changed_since(since, limit).await }
    async fn restamp_products(&self, after: Option<&str>, limit: u32) -> Result<(Option<String>, u32), vitrina::ports::StoreError> { self.inner.restamp_products(after, limit).await }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_on_one_key_make_one_store_query() {
    use vitrina::services::catalog::CatalogService;
    let h = common::store_fixture(common::Adapter::Sqlite).await.unwrap();
    let products: Vec<_> = (0..50).map(vitrina::services::demo::demo_product).collect();
    h.store.upsert_products(&products).await.unwrap();
    let counting = Arc::new(Counting { inner: h.store.clone(), searches: Default::default() });
    let svc = CatalogService::new(counting.clone(), Arc::new(MemoryCache::new(1 << 22)), Duration::from_secs(60));
    let query = vitrina::domain::query::CatalogQuery::from_query_string("category=clothing&sort=price_asc").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (svc, query) = (svc.clone(), query.clone());
        tasks.push(tokio::spawn(async move { svc.search(&query).await.unwrap().total }));
    }
    let totals: Vec<u64> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    assert!(totals.iter().all(|t| *t == totals[0] && *t > 0));
    assert_eq!(counting.searches.load(std::sync::atomic::Ordering::SeqCst), 1, "one store query for 50 concurrent misses");
    // with caching off every read goes to the store
    let uncached = CatalogService::new(counting.clone(), Arc::new(MemoryCache::new(1 << 22)), Duration::ZERO);
    uncached.search(&query).await.unwrap();
    uncached.search(&query).await.unwrap();
    assert_eq!(counting.searches.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// Two instances on one store and one Redis, each with its own index and
/// cache tiers, caching for a minute: a change made through A reaches B's
/// index and cached reads (listing and product page) within a second, on the
/// change feed; B's version moves only once its index has the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_on_one_instance_reaches_another_within_a_second() {
    use vitrina::infra::change_feed::RedisFeed;
    use vitrina::infra::search::RoaringIndex;
    use vitrina::infra::tiered_cache::TieredCache;
    use vitrina::services::catalog::CatalogService;
    let Some(url) = common::redis_url() else { return };
    let prefix = format!("{}:", common::unique_name("feed"));
    let h = common::store_fixture(common::Adapter::Sqlite).await.unwrap();
    let products: Vec<_> = (0..60).map(vitrina::services::demo::demo_product).collect();
    h.store.upsert_products(&products).await.unwrap();
    let mut instances = Vec::new();
    for _ in 0..2 {
        let redis: Arc<dyn Cache> = Arc::new(RedisCache::connect(&url, &prefix).await.unwrap());
        let cache = Arc::new(TieredCache::new(redis, 1 << 22, Duration::from_secs(2)));
        let svc = CatalogService::new(h.store.clone(), cache, Duration::from_secs(60)).with_index(Arc::new(RoaringIndex::new())).with_feed(Arc::new(RedisFeed::new(&url, &prefix).unwrap()));
        svc.start_following().await;
        svc.sync_index().await.unwrap();
        let follower = svc.clone();
        tokio::spawn(async move {
            loop {
                follower.follow_changes(Duration::from_millis(500)).await;
            }
        });
        instances.push(svc);
    }
    let (a, b) = (&instances[0], &instances[1]);
    let p = products.iter().find(|p| p.status == vitrina::domain::product::ProductStatus::Active).unwrap();
    let query = vitrina::domain::query::CatalogQuery::from_query_string(&format!("category={}&per_page=100", p.category)).unwrap();
    // B has both cached (for a minute)
    assert_eq!(b.product(&p.slug).await.unwrap().name, p.name);
    assert!(b.search(&query).await.unwrap().items.iter().any(|i| i.slug == p.slug && i.name == p.name));
    let (_, text) = b.change_channel();
    assert!(text.starts_with("changes=redis"), "{text}");
    // A renames it
    let mut renamed = p.clone();
    renamed.name = "Renamed on instance A".into();
    h.store.upsert_products(std::slice::from_ref(&renamed)).await.unwrap();
    let made = std::time::Instant::now();
    a.product_saved(&renamed.id).await;
    assert_eq!(a.product(&p.slug).await.unwrap().name, renamed.name, "the writer reads its own change at once");
    let seen = common::eventually(3, || async {
        let page = b.product(&p.slug).await.unwrap().name == renamed.name;
        let listed = b.search(&query).await.unwrap().items.iter().any(|i| i.slug == p.slug && i.name == renamed.name);
        (page && listed).then(std::time::Instant::now)
    })
    .await
    .expect("B shows the change");
    assert!(seen - made < Duration::from_secs(1), "B showed it after {:?}", seen - made);
}
