//! A short in-process layer in front of a shared cache (Redis): the hottest
//! keys are answered from memory for a couple of seconds, and the catalog
//! version is re-read at most once a second. When the shared cache fails,
//! the local layer keeps serving with the last version it knew.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::memory_cache::MemoryCache;
use crate::ports::{Cache, CacheError};

pub struct TieredCache {
    local: MemoryCache,
    shared: Arc<dyn Cache>,
    local_ttl: Duration,
    /// name → (version, read at)
    versions: Mutex<HashMap<String, (u64, Instant)>>,
    version_ttl: Duration,
}

impl TieredCache {
    pub fn new(shared: Arc<dyn Cache>, local_bytes: u64, local_ttl: Duration) -> Self {
        Self { local: MemoryCache::new(local_bytes), shared, local_ttl, versions: Mutex::new(HashMap::new()), version_ttl: Duration::from_secs(1) }
    }
}

#[async_trait]
impl Cache for TieredCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        if let Some(v) = self.local.get(key).await? {
            crate::metrics::get().cache_local_hits.inc();
            return Ok(Some(v));
        }
        let found = self.shared.get(key).await?;
        if let Some(v) = &found {
            self.local.set(key, v, self.local_ttl).await?;
        }
        Ok(found)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        self.local.set(key, value, ttl.min(self.local_ttl)).await?;
        self.shared.set(key, value, ttl).await
    }

    async fn version(&self, name: &str) -> Result<u64, CacheError> {
        let known = self.versions.lock().map_err(|_| CacheError("poisoned".into()))?.get(name).copied();
        if let Some((v, at)) = known {
            if at.elapsed() < self.version_ttl {
                return Ok(v);
            }
        }
        match self.shared.version(name).await {
            Ok(v) => {
                self.versions.lock().map_err(|_| CacheError("poisoned".into()))?.insert(name.to_string(), (v, Instant::now()));
                Ok(v)
            }
            // the shared cache is down: keep the last version known here
            Err(e) => known.map(|(v, _)| v).ok_or(e),
        }
    }

    async fn bump_version(&self, name: &str) -> Result<u64, CacheError> {
        let v = self.shared.bump_version(name).await?;
        self.versions.lock().map_err(|_| CacheError("poisoned".into()))?.insert(name.to_string(), (v, Instant::now()));
        Ok(v)
    }

    async fn incr_score(&self, set: &str, member: &str, by: f64) -> Result<(), CacheError> {
        self.shared.incr_score(set, member, by).await
    }

    async fn top_scores(&self, set: &str, n: usize) -> Result<Vec<(String, f64)>, CacheError> {
        self.shared.top_scores(set, n).await
    }

    async fn drop_set(&self, set: &str) -> Result<(), CacheError> {
        self.shared.drop_set(set).await
    }

    fn kind(&self) -> &'static str {
        self.shared.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared cache that can be switched off, counting reads.
    struct Flaky {
        inner: MemoryCache,
        down: std::sync::atomic::AtomicBool,
        reads: std::sync::atomic::AtomicU64,
    }

    #[async_trait]
    impl Cache for Flaky {
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.down.load(std::sync::atomic::Ordering::SeqCst) { Err(CacheError("down".into())) } else { self.inner.get(key).await }
        }
        async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) { Err(CacheError("down".into())) } else { self.inner.set(key, value, ttl).await }
        }
        async fn version(&self, name: &str) -> Result<u64, CacheError> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) { Err(CacheError("down".into())) } else { self.inner.version(name).await }
        }
        async fn bump_version(&self, name: &str) -> Result<u64, CacheError> {
            self.inner.bump_version(name).await
        }
        async fn incr_score(&self, s: &str, m: &str, by: f64) -> Result<(), CacheError> {
            self.inner.incr_score(s, m, by).await
        }
        async fn top_scores(&self, s: &str, n: usize) -> Result<Vec<(String, f64)>, CacheError> {
            self.inner.top_scores(s, n).await
        }
        async fn drop_set(&self, s: &str) -> Result<(), CacheError> {
            self.inner.drop_set(s).await
        }
        fn kind(&self) -> &'static str {
            "flaky"
        }
    }

    #[tokio::test]
    async fn hot_keys_come_from_memory_and_versions_survive_an_outage() {
        let shared = Arc::new(Flaky { inner: MemoryCache::new(1 << 20), down: false.into(), reads: 0.into() });
        let tiered = TieredCache::new(shared.clone(), 1 << 20, Duration::from_secs(60));
        tiered.bump_version("catalog").await.unwrap();
        tiered.set("k", b"v", Duration::from_secs(60)).await.unwrap();
        for _ in 0..5 {
            assert_eq!(tiered.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
        }
        assert_eq!(shared.reads.load(std::sync::atomic::Ordering::SeqCst), 0, "answered locally");
        let mut tiered = tiered;
        tiered.version_ttl = Duration::ZERO; // every read goes to the shared cache now
        assert_eq!(tiered.version("catalog").await.unwrap(), 1);
        shared.down.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(tiered.version("catalog").await.unwrap(), 1, "last known version while the shared cache is down");
        assert!(tiered.get("missing").await.is_err(), "a miss reports the outage so callers bypass");
    }
}
