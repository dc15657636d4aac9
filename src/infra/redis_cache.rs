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
