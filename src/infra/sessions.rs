//! Browser sessions for `tower-sessions`, kept in a `KeyValueStore`: Redis
//! when configured, otherwise the store itself, so sessions survive restarts
//! and are shared by every instance.
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

use crate::ports::KeyValueStore;

const NS: &str = "session";

#[derive(Clone)]
pub struct KvSessionStore {
    kv: Arc<dyn KeyValueStore>,
}

impl std::fmt::Debug for KvSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvSessionStore")
    }
}

impl KvSessionStore {
    pub fn new(kv: Arc<dyn KeyValueStore>) -> Self {
        Self { kv }
    }
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn expiry(record: &Record) -> Option<chrono::DateTime<Utc>> {
    Utc.timestamp_opt(record.expiry_date.unix_timestamp(), 0).single()
}

#[async_trait]
impl SessionStore for KvSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // a fresh id that is not in use (collisions of 128 random bits are
        // theoretical, but a store must not overwrite another session)
        while self.kv.kv_get(NS, &record.id.to_string()).await.map_err(backend)?.is_some() {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        self.kv.kv_put(NS, &record.id.to_string(), &bytes, expiry(record)).await.map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> Result<Option<Record>> {
        match self.kv.kv_get(NS, &session_id.to_string()).await.map_err(backend)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Decode(e.to_string())),
            None => Ok(None),
        }
    }

    async fn delete(&self, session_id: &Id) -> Result<()> {
        self.kv.kv_delete(NS, &session_id.to_string()).await.map_err(backend)
    }
}

/// Sessions in Redis with the store as the fallback: while Redis is down,
/// sessions are read from and written to the store, and a session written
/// there stays readable after Redis returns. Nobody is signed out by an outage.
pub struct FallbackKv {
    primary: Arc<dyn KeyValueStore>,
    fallback: Arc<dyn KeyValueStore>,
}

impl FallbackKv {
    pub fn new(primary: Arc<dyn KeyValueStore>, fallback: Arc<dyn KeyValueStore>) -> Self {
        Self { primary, fallback }
    }
}

#[async_trait]
impl KeyValueStore for FallbackKv {
    async fn kv_get(&self, ns: &str, key: &str) -> std::result::Result<Option<Vec<u8>>, crate::ports::StoreError> {
        match self.primary.kv_get(ns, key).await {
            Ok(Some(v)) => Ok(Some(v)),
            Ok(None) | Err(_) => self.fallback.kv_get(ns, key).await,
        }
    }

    async fn kv_put(&self, ns: &str, key: &str, value: &[u8], expires_at: Option<chrono::DateTime<Utc>>) -> std::result::Result<(), crate::ports::StoreError> {
        match self.primary.kv_put(ns, key, value, expires_at).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "session kept in the store while Redis is unavailable");
                self.fallback.kv_put(ns, key, value, expires_at).await
            }
        }
    }

    async fn kv_delete(&self, ns: &str, key: &str) -> std::result::Result<(), crate::ports::StoreError> {
        let a = self.primary.kv_delete(ns, key).await;
        let b = self.fallback.kv_delete(ns, key).await;
        a.or(b)
    }

    async fn kv_put_if_absent(&self, ns: &str, key: &str, value: &[u8]) -> std::result::Result<Vec<u8>, crate::ports::StoreError> {
        match self.primary.kv_put_if_absent(ns, key, value).await {
            Ok(v) => Ok(v),
            Err(_) => self.fallback.kv_put_if_absent(ns, key, value).await,
        }
    }
}
