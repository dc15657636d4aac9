//! In-process cache (moka) for a single instance without Redis.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::future::Cache as Moka;
use moka::Expiry;

use crate::ports::{Cache, CacheError};

#[derive(Clone)]
struct Entry {
    bytes: std::sync::Arc<Vec<u8>>,
    ttl: Duration,
}

struct PerEntryTtl;
impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _k: &String, v: &Entry, _now: Instant) -> Option<Duration> {
        Some(v.ttl)
    }
}

pub struct MemoryCache {
    entries: Moka<String, Entry>,
    versions: Mutex<HashMap<String, u64>>,
    windows: Mutex<HashMap<String, (Instant, u64)>>,
    scores: Mutex<HashMap<String, HashMap<String, f64>>>,
}

impl MemoryCache {
    /// `capacity_bytes` bounds the memory the cached values take.
    pub fn new(capacity_bytes: u64) -> Self {
        let entries = Moka::builder()
            .max_capacity(capacity_bytes)
            .weigher(|k: &String, v: &Entry| (k.len() + v.bytes.len()).min(u32::MAX as usize) as u32)
            .expire_after(PerEntryTtl)
            .build();
        Self { entries, versions: Mutex::new(HashMap::new()), windows: Mutex::new(HashMap::new()), scores: Mutex::new(HashMap::new()) }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.entries.get(key).await.map(|e| e.bytes.as_ref().clone()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Ok(());
        }
        self.entries.insert(key.to_string(), Entry { bytes: std::sync::Arc::new(value.to_vec()), ttl }).await;
        Ok(())
    }

    async fn version(&self, name: &str) -> Result<u64, CacheError> {
        Ok(*self.versions.lock().map_err(|_| CacheError("poisoned".into()))?.get(name).unwrap_or(&0))
    }

    async fn bump_version(&self, name: &str) -> Result<u64, CacheError> {
        let mut v = self.versions.lock().map_err(|_| CacheError("poisoned".into()))?;
        let n = v.entry(name.to_string()).or_insert(0);
        *n += 1;
        Ok(*n)
    }

    async fn incr_score(&self, set: &str, member: &str, by: f64) -> Result<(), CacheError> {
        let mut scores = self.scores.lock().map_err(|_| CacheError("poisoned".into()))?;
        let set = scores.entry(set.to_string()).or_default();
        if set.len() >= 100_000 && !set.contains_key(member) {
            return Ok(()); // bounded: the long tail is not tracked
        }
        *set.entry(member.to_string()).or_insert(0.0) += by;
        Ok(())
    }

    async fn top_scores(&self, set: &str, n: usize) -> Result<Vec<(String, f64)>, CacheError> {
        let scores = self.scores.lock().map_err(|_| CacheError("poisoned".into()))?;
        let mut all: Vec<(String, f64)> = scores.get(set).map(|s| s.iter().map(|(k, v)| (k.clone(), *v)).collect()).unwrap_or_default();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        Ok(all)
    }

    async fn drop_set(&self, set: &str) -> Result<(), CacheError> {
        self.scores.lock().map_err(|_| CacheError("poisoned".into()))?.remove(set);
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

/// Fixed-window counters for a single instance.
#[async_trait]
impl crate::ports::RateLimiter for MemoryCache {
    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<crate::ports::RateDecision, CacheError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().map_err(|_| CacheError("poisoned".into()))?;
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        let retry_after = window.saturating_sub(now.duration_since(entry.0));
        Ok(crate::ports::RateDecision { allowed: entry.1 <= limit, count: entry.1, retry_after })
    }
}
