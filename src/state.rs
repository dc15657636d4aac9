//! Composition root: picks adapters from the configuration and builds the services.
use std::sync::Arc;

use crate::config::Config;
use crate::infra::images_fs::FsImageStore;
use crate::infra::memory_cache::MemoryCache;
use crate::infra::mongo::MongoCatalog;
use crate::infra::redis_cache::RedisCache;
use crate::infra::sqlite::{SqliteCatalog, SqliteStore};
use crate::ports::{Cache, CatalogStore, ImageStore};
use crate::services::catalog::CatalogService;

/// Everything a request handler or server function needs.
#[derive(Clone)]
pub struct AppState {
    pub catalog: CatalogService,
    pub store: Arc<dyn CatalogStore>,
    pub images: Arc<dyn ImageStore>,
    pub config: Arc<Config>,
    pub store_kind: &'static str,
    pub cache_kind: &'static str,
}

impl AppState {
    pub async fn build(config: &Config) -> Result<Self, String> {
        let (store, store_kind): (Arc<dyn CatalogStore>, _) = match &config.mongodb_uri {
            Some(uri) => (
                Arc::new(MongoCatalog::connect(uri, &config.mongodb_db).await.map_err(|e| format!("MongoDB: {e}"))?),
                "mongodb",
            ),
            None => {
                let db = SqliteStore::open(&config.data_dir.join("vitrina.db")).map_err(|e| format!("SQLite: {e}"))?;
                (Arc::new(SqliteCatalog(db)), "sqlite")
            }
        };
        let cache: Arc<dyn Cache> = match &config.redis_url {
            Some(url) => Arc::new(RedisCache::connect(url, "vitrina:").await.map_err(|e| format!("Redis: {e}"))?),
            None => Arc::new(MemoryCache::new(256 * 1024 * 1024)),
        };
        let images: Arc<dyn ImageStore> = Arc::new(FsImageStore::new(config.data_dir.join("images"), "/media"));
        let cache_kind = cache.kind();
        Ok(Self {
            catalog: CatalogService::new(store.clone(), cache, config.cache_ttl),
            store,
            images,
            config: Arc::new(config.clone()),
            store_kind,
            cache_kind,
        })
    }
}
