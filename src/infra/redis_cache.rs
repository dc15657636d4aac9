//! Redis cache shared by every instance: versioned keys with TTLs.
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;

use crate::ports::{Cache, CacheError};

const OP_TIMEOUT: Duration = Duration::from_millis(500);

pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
}

fn err(e: impl std::fmt::Display) -> CacheError {
    CacheError(e.to_string())
}

impl RedisCache {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(err)?;
        let conn = tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new(client))
            .await
            .map_err(|_| CacheError("timed out connecting to Redis".into()))?
            .map_err(err)?;
        Ok(Self { conn, prefix: prefix.to_string() })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

/// Every Redis call is bounded: a stuck Redis must not stall a request.
async fn bounded<T>(fut: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, CacheError> {
    tokio::time::timeout(OP_TIMEOUT, fut).await.map_err(|_| CacheError("redis timed out".into()))?.map_err(err)
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut c = self.conn.clone();
        let k = self.key(key);
        bounded(async move { c.get::<_, Option<Vec<u8>>>(k).await }).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Ok(());
        }
        let mut c = self.conn.clone();
        let k = self.key(key);
        let v = value.to_vec();
        let ms = ttl.as_millis().max(1) as u64;
        bounded(async move { c.pset_ex::<_, _, ()>(k, v, ms).await }).await
    }

    async fn version(&self, name: &str) -> Result<u64, CacheError> {
        let mut c = self.conn.clone();
        let k = self.key(&format!("version:{name}"));
        Ok(bounded(async move { c.get::<_, Option<u64>>(k).await }).await?.unwrap_or(0))
    }

    async fn bump_version(&self, name: &str) -> Result<u64, CacheError> {
        let mut c = self.conn.clone();
        let k = self.key(&format!("version:{name}"));
        bounded(async move { c.incr::<_, _, u64>(k, 1u64).await }).await
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

#[async_trait]
impl crate::ports::RateLimiter for RedisCache {
    /// Fixed window shared by every instance: INCR, and PEXPIRE on the first hit.
    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<crate::ports::RateDecision, CacheError> {
        let mut c = self.conn.clone();
        let k = self.key(&format!("rl:{key}"));
        let window_ms = window.as_millis().max(1) as i64;
        let (count, ttl): (u64, i64) = bounded(async move {
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
        let mut c = self.conn.clone();
        let k = self.key(&format!("kv:{ns}:{key}"));
        bounded(async move { c.get::<_, Option<Vec<u8>>>(k).await }).await.map_err(store_err)
    }

    async fn kv_put(&self, ns: &str, key: &str, value: &[u8], expires_at: Option<chrono::DateTime<chrono::Utc>>) -> Result<(), crate::ports::StoreError> {
        let mut c = self.conn.clone();
        let k = self.key(&format!("kv:{ns}:{key}"));
        let v = value.to_vec();
        match expires_at {
            Some(at) => {
                let ms = (at - chrono::Utc::now()).num_milliseconds();
                if ms <= 0 {
                    return bounded(async move { c.del::<_, ()>(k).await }).await.map_err(store_err);
                }
                bounded(async move { c.pset_ex::<_, _, ()>(k, v, ms as u64).await }).await.map_err(store_err)
            }
            None => bounded(async move { c.set::<_, _, ()>(k, v).await }).await.map_err(store_err),
        }
    }

    async fn kv_delete(&self, ns: &str, key: &str) -> Result<(), crate::ports::StoreError> {
        let mut c = self.conn.clone();
        let k = self.key(&format!("kv:{ns}:{key}"));
        bounded(async move { c.del::<_, ()>(k).await }).await.map_err(store_err)
    }

    async fn kv_put_if_absent(&self, ns: &str, key: &str, value: &[u8]) -> Result<Vec<u8>, crate::ports::StoreError> {
        let mut c = self.conn.clone();
        let k = self.key(&format!("kv:{ns}:{key}"));
        let v = value.to_vec();
        let k2 = k.clone();
        let _: bool = bounded(async move { c.set_nx::<_, _, bool>(k, v).await }).await.map_err(store_err)?;
        let mut c = self.conn.clone();
        bounded(async move { c.get::<_, Option<Vec<u8>>>(k2).await })
            .await
            .map_err(store_err)?
            .ok_or_else(|| crate::ports::StoreError::Other("value vanished".into()))
    }
}
