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

#[tokio::test]
async fn memory_cache_contract() {
    stores_expires_and_versions(Arc::new(MemoryCache::new(1 << 20))).await;
}

#[tokio::test]
async fn redis_cache_contract() {
    if let Some(url) = common::redis_url() {
        stores_expires_and_versions(Arc::new(RedisCache::connect(&url, "vitrina-test:").await.unwrap())).await;
    }
}

#[tokio::test]
async fn catalog_reads_are_cached_until_the_version_bumps() {
    use vitrina::services::catalog::CatalogService;
    let h = common::sqlite_store();
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
