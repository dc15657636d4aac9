//! Redis shared by every instance: the catalog cache (versioned keys with
//! TTLs), rate-limit counters, sessions and the popularity sorted sets.
//!
//! Redis is optional at run time. The shop starts when Redis is down and
//! connects when it comes up; every call is bounded by a timeout; after a
//! failure the breaker stays open for a second, so requests skip Redis at
//! once instead of each waiting for a timeout. Callers bypass the cache
//! when a call fails (counted in `/metrics`).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;

use crate::ports::{Cache, CacheError};

const OP_TIMEOUT: Duration = Duration::from_millis(250);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the breaker stays open after a failure.
const BREAK_MS: u64 = 1_000;

pub struct RedisCache {
    conn: Arc<RwLock<Option<ConnectionManager>>>,
    prefix: String,
    /// Epoch ms until which calls skip Redis.
    open_until: AtomicU64,
}

fn err(e: impl std::fmt::Display) -> CacheError {
    CacheError(e.to_string())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl RedisCache {
    /// Connects now if Redis answers; otherwise keeps trying in the background
    /// (every 2 s) while the shop runs without it. Only a malformed URL fails.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(err)?;
        let conn = Arc::new(RwLock::new(None));
        let cache = Self { conn: conn.clone(), prefix: prefix.to_string(), open_until: AtomicU64::new(0) };
        match tokio::time::timeout(CONNECT_TIMEOUT, ConnectionManager::new(client.clone())).await {
            Ok(Ok(c)) => *conn.write().unwrap_or_else(|e| e.into_inner()) = Some(c),
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".into(),
                };
                tracing::warn!(error = %why, "Redis is not reachable; serving without it and retrying in the background");
                crate::metrics::get().cache_errors.inc();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        if let Ok(Ok(c)) = tokio::time::timeout(CONNECT_TIMEOUT, ConnectionManager::new(client.clone())).await {
                            *conn.write().unwrap_or_else(|e| e.into_inner()) = Some(c);
                            tracing::info!("connected to Redis");
                            break;
                        }
                    }
                });
            }
        }
        Ok(cache)
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    /// The connection, unless Redis is known to be down right now.
    fn conn(&self) -> Result<ConnectionManager, CacheError> {
        if now_ms() < self.open_until.load(Ordering::Relaxed) {
            return Err(CacheError("redis unavailable (skipping for a second)".into()));
        }
        self.conn.read().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(|| CacheError("redis not connected yet".into()))
    }

    /// Every Redis call is bounded: a stuck Redis must not stall a request.
    async fn bounded<T>(&self, fut: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, CacheError> {
        let result = match tokio::time::timeout(OP_TIMEOUT, fut).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => err(e),
            Err(_) => CacheError("redis timed out".into()),
        };
        if self.open_until.swap(now_ms() + BREAK_MS, Ordering::Relaxed) < now_ms() {
            tracing::warn!(error = %result, "Redis call failed; bypassing Redis for a second");
        }
        crate::metrics::get().cache_errors.inc();
        Err(result)
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut c = self.conn()?;
        let k = self.key(key);
        self.bounded(async move { c.get::<_, Option<Vec<u8>>>(k).await }).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Ok(());
        }
        let mut c = self.conn()?;
        let k = self.key(key);
        let v = value.to_vec();
        let ms = ttl.as_millis().max(1) as u64;
        self.bounded(async move { c.pset_ex::<_, _, ()>(k, v, ms).await }).await
    }

    async fn version(&self, name: &str) -> Result<u64, CacheError> {
        let mut c = self.conn()?;
        let k = self.key(&format!("version:{name}"));
        Ok(self.bounded(async move { c.get::<_, Option<u64>>(k).await }).await?.unwrap_or(0))
    }

    async fn bump_version(&self, name: &str) -> Result<u64, CacheError> {
        let mut c = self.conn()?;
        let k = self.key(&format!("version:{name}"));
        self.bounded(async move { c.incr::<_, _, u64>(k, 1u64).await }).await
    }

    async fn incr_score(&self, set: &str, member: &str, by: f64) -> Result<(), CacheError> {
        let mut c = self.conn()?;
        let k = self.key(&format!("z:{set}"));
        let m = member.to_string();
        self.bounded(async move { c.zincr::<_, _, _, f64>(k, m, by).await }).await.map(|_| ())
    }

    async fn top_scores(&self, set: &str, n: usize) -> Result<Vec<(String, f64)>, CacheError> {
        let mut c = self.conn()?;
        let k = self.key(&format!("z:{set}"));
        let stop = n.max(1) as isize - 1;
        self.bounded(async move { c.zrevrange_withscores::<_, Vec<(String, f64)>>(k, 0, stop).await }).await
    }

    async fn drop_set(&self, set: &str) -> Result<(), CacheError> {
        let mut c = self.conn()?;
        let k = self.key(&format!("z:{set}"));
        self.bounded(async move { c.del::<_, ()>(k).await }).await
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

#[async_trait]
impl crate::ports::RateLimiter for RedisCache {
    /// Fixed window shared by every instance: INCR, and PEXPIRE on the first hit.
    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<crate::ports::RateDecision, CacheError> {
        let mut c = self.conn()?;
        let k = self.key(&format!("rl:{key}"));
        let window_ms = window.as_millis().max(1) as i64;
        let (count, ttl): (u64, i64) = self.bounded(async move {
            redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg(&k)
                .cmd("PEXPIRE")
                .arg(&k)
                .arg(window_ms)
                .arg("NX")
                .ignore()
                .cmd("PTTL")
                .arg(&k)
                .query_async(&mut c)
                .await
        })
        .await?;
        let retry_after = Duration::from_millis(if ttl > 0 { ttl as u64 } else { window_ms as u64 });
        Ok(crate::ports::RateDecision { allowed: count <= limit, count, retry_after })
    }
}

fn store_err(e: CacheError) -> crate::ports::StoreError {
    crate::ports::StoreError::Unavailable(e.0)
}

/// Sessions (and other small values) in Redis, shared by every instance.
#[async_trait]
impl crate::ports::KeyValueStore for RedisCache {
    async fn kv_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, crate::ports::StoreError> {
        let mut c = self.conn().map_err(store_err)?;
        let k = self.key(&format!("kv:{ns}:{key}"));
        self.bounded(async move { c.get::<_, Option<Vec<u8>>>(k).await }).await.map_err(store_err)
    }

    async fn kv_put(&self, ns: &str, key: &str, value: &[u8], expires_at: Option<chrono::DateTime<chrono::Utc>>) -> Result<(), crate::ports::StoreError> {
        let mut c = self.conn().map_err(store_err)?;
        let k = self.key(&format!("kv:{ns}:{key}"));
        let v = value.to_vec();
        match expires_at {
            Some(at) => {
                let ms = (at - chrono::Utc::now()).num_milliseconds();
                if ms <= 0 {
                    return self.bounded(async move { c.del::<_, ()>(k).await }).await.map_err(store_err);
                }
                self.bounded(async move { c.pset_ex::<_, _, ()>(k, v, ms as u64).await }).await.map_err(store_err)
            }
            None => self.bounded(async move { c.set::<_, _, ()>(k, v).await }).await.map_err(store_err),
        }
    }

    async fn kv_delete(&self, ns: &str, key: &str) -> Result<(), crate::ports::StoreError> {
        let mut c = self.conn().map_err(store_err)?;
        let k = self.key(&format!("kv:{ns}:{key}"));
        self.bounded(async move { c.del::<_, ()>(k).await }).await.map_err(store_err)
    }

    async fn kv_put_if_absent(&self, ns: &str, key: &str, value: &[u8]) -> Result<Vec<u8>, crate::ports::StoreError> {
        let mut c = self.conn().map_err(store_err)?;
        let k = self.key(&format!("kv:{ns}:{key}"));
        let v = value.to_vec();
        let k2 = k.clone();
        let _: bool = self.bounded(async move { c.set_nx::<_, _, bool>(k, v).await }).await.map_err(store_err)?;
        let mut c = self.conn().map_err(store_err)?;
        self.bounded(async move { c.get::<_, Option<Vec<u8>>>(k2).await })
            .await
            .map_err(store_err)?
            .ok_or_else(|| crate::ports::StoreError::Other("value vanished".into()))
    }
}
