//! The channel catalog changes travel on between instances.
//!
//! * [`RedisFeed`]: a Redis stream. Publishing is one Lua script that takes
//!   the next catalog version (`INCR`) and appends the notice under it
//!   (`XADD` with the id `<version>-1`), atomically, so the stream's order is
//!   the versions' order with no gap. Each instance reads it from the last
//!   version it applied (`XREAD BLOCK`, on a connection of its own), so a
//!   short absence loses nothing; a reader that finds its place gone (Redis
//!   restarted, or the stream trimmed past it) is told to read everything
//!   again. No clock of any machine is involved.
//! * [`LocalFeed`]: one instance without Redis hears its own changes.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{CacheError, ChangeFeed, ChangeNotice, FeedRead};

/// Notices kept in the stream (about; trimming is lazy).
const KEEP: usize = 10_000;
/// Notices one read returns at most.
const BATCH: usize = 500;
/// How long a publish or a non-blocking call may take.
const OP_TIMEOUT: Duration = Duration::from_millis(500);

const PUBLISH: &str = r"
local v = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], v .. '-1', 'n', ARGV[1])
return v
";

fn err(e: impl std::fmt::Display) -> CacheError {
    CacheError(e.to_string())
}

pub struct RedisFeed {
    client: redis::Client,
    /// For publishing and small reads.
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// For blocking reads only (a blocked connection serves nothing else).
    reader: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    version_key: String,
    stream_key: String,
    script: redis::Script,
}

impl RedisFeed {
    /// `prefix`: the shop's namespace in Redis (the catalog version key is
    /// the cache's own, so both count the same changes).
    pub fn new(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(err)?;
        Ok(Self {
            client,
            conn: tokio::sync::Mutex::new(None),
            reader: tokio::sync::Mutex::new(None),
            version_key: format!("{prefix}version:catalog"),
            stream_key: format!("{prefix}changes"),
            script: redis::Script::new(PUBLISH),
        })
    }

    async fn connection(&self, slot: &tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>, response: Option<Duration>) -> Result<redis::aio::MultiplexedConnection, CacheError> {
        let mut held = slot.lock().await;
        if let Some(c) = held.as_ref() {
            return Ok(c.clone());
        }
        let config = redis::AsyncConnectionConfig::new().set_connection_timeout(Some(Duration::from_secs(2))).set_response_timeout(response);
        let c = self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(err)?;
        *held = Some(c.clone());
        Ok(c)
    }

    /// Forgets a connection that failed (the next call connects again).
    async fn drop_connection(slot: &tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>) {
        *slot.lock().await = None;
    }

    async fn small<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, CacheError> {
        let mut c = self.connection(&self.conn, Some(OP_TIMEOUT)).await?;
        match tokio::time::timeout(OP_TIMEOUT, cmd.query_async::<T>(&mut c)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                Self::drop_connection(&self.conn).await;
                Err(err(e))
            }
            Err(_) => {
                Self::drop_connection(&self.conn).await;
                Err(CacheError("redis timed out".into()))
            }
        }
    }
}

fn parse_entries(reply: redis::streams::StreamReadReply) -> Result<Vec<(u64, ChangeNotice)>, CacheError> {
    let mut out = Vec::new();
    for key in reply.keys {
        for entry in key.ids {
            let version: u64 = entry.id.split('-').next().and_then(|v| v.parse().ok()).ok_or_else(|| CacheError(format!("a change id that is no version: {}", entry.id)))?;
            let body: String = entry.get("n").ok_or_else(|| CacheError(format!("change {} has no notice", entry.id)))?;
            let notice: ChangeNotice = serde_json::from_str(&body).map_err(err)?;
            out.push((version, notice));
        }
    }
    Ok(out)
}

#[async_trait]
impl ChangeFeed for RedisFeed {
    async fn publish(&self, notice: &ChangeNotice) -> Result<u64, CacheError> {
        let body = serde_json::to_string(notice).map_err(err)?;
        let mut c = self.connection(&self.conn, Some(OP_TIMEOUT)).await?;
        let mut invocation = self.script.key(&self.version_key);
        invocation.key(&self.stream_key).arg(body).arg(KEEP);
        match tokio::time::timeout(OP_TIMEOUT, invocation.invoke_async::<u64>(&mut c)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                Self::drop_connection(&self.conn).await;
                Err(err(e))
            }
            Err(_) => {
                Self::drop_connection(&self.conn).await;
                Err(CacheError("redis timed out".into()))
            }
        }
    }

    async fn read(&self, after: u64, wait: Duration) -> Result<FeedRead, CacheError> {
        // a wait blocks on the reader's own connection; no wait asks on the shared one
        let (slot, mut opts) = if wait.is_zero() {
            (&self.conn, redis::streams::StreamReadOptions::default().count(BATCH))
        } else {
            (&self.reader, redis::streams::StreamReadOptions::default().count(BATCH).block(wait.as_millis().max(1) as usize))
        };
        opts = opts.count(BATCH);
        let mut c = self.connection(slot, Some(wait + OP_TIMEOUT)).await?;
        let start = format!("{after}-1");
        let read = tokio::time::timeout(wait + OP_TIMEOUT, redis::AsyncCommands::xread_options::<_, _, Option<redis::streams::StreamReadReply>>(&mut c, &[&self.stream_key], &[&start], &opts)).await;
        let reply = match read {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                Self::drop_connection(slot).await;
                return Err(err(e));
            }
            Err(_) => {
                Self::drop_connection(slot).await;
                return Err(CacheError("redis timed out".into()));
            }
        };
        let notices = match reply {
            Some(r) => parse_entries(r)?,
            None => Vec::new(),
        };
        match notices.first() {
            // the next one is missing: trimmed away while this reader was gone
            Some((v, _)) if *v > after + 1 => Ok(FeedRead::Gap(self.latest().await?)),
            Some(_) => Ok(FeedRead::Notices(notices)),
            None => {
                // nothing new; a version behind ours means Redis started over (its data is gone)
                let latest = self.latest().await?;
                if latest < after {
                    Ok(FeedRead::Gap(latest))
                } else {
                    Ok(FeedRead::Notices(Vec::new()))
                }
            }
        }
    }

    async fn latest(&self) -> Result<u64, CacheError> {
        Ok(self.small::<Option<u64>>(redis::cmd("GET").arg(&self.version_key).clone()).await?.unwrap_or(0))
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

/// The feed of a single instance without Redis: its own changes only.
#[derive(Default)]
pub struct LocalFeed {
    version: AtomicU64,
    kept: Mutex<std::collections::VecDeque<(u64, ChangeNotice)>>,
    wake: tokio::sync::Notify,
}

#[async_trait]
impl ChangeFeed for LocalFeed {
    async fn publish(&self, notice: &ChangeNotice) -> Result<u64, CacheError> {
        let v = {
            let mut kept = self.kept.lock().map_err(|_| CacheError("poisoned".into()))?;
            let v = self.version.fetch_add(1, Ordering::SeqCst) + 1;
            kept.push_back((v, notice.clone()));
            while kept.len() > KEEP {
                kept.pop_front();
            }
            v
        };
        self.wake.notify_waiters();
        Ok(v)
    }

    async fn read(&self, after: u64, wait: Duration) -> Result<FeedRead, CacheError> {
        let collect = || -> Result<Option<FeedRead>, CacheError> {
            let kept = self.kept.lock().map_err(|_| CacheError("poisoned".into()))?;
            let found: Vec<(u64, ChangeNotice)> = kept.iter().filter(|(v, _)| *v > after).take(BATCH).cloned().collect();
            Ok(match found.first() {
                Some((v, _)) if *v > after + 1 => Some(FeedRead::Gap(self.version.load(Ordering::SeqCst))),
                Some(_) => Some(FeedRead::Notices(found)),
                None => None,
            })
        };
        let woken = self.wake.notified();
        if let Some(r) = collect()? {
            return Ok(r);
        }
        let _ = tokio::time::timeout(wait, woken).await;
        Ok(collect()?.unwrap_or(FeedRead::Notices(Vec::new())))
    }

    async fn latest(&self) -> Result<u64, CacheError> {
        Ok(self.version.load(Ordering::SeqCst))
    }

    fn kind(&self) -> &'static str {
        "local"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_reader_hears_every_change_in_order() {
        let feed = std::sync::Arc::new(LocalFeed::default());
        let n = |id: &str| ChangeNotice { products: vec![id.into()], ..Default::default() };
        assert_eq!(feed.publish(&n("a")).await.unwrap(), 1);
        assert_eq!(feed.publish(&n("b")).await.unwrap(), 2);
        assert_eq!(feed.read(0, Duration::ZERO).await.unwrap(), FeedRead::Notices(vec![(1, n("a")), (2, n("b"))]));
        assert_eq!(feed.read(2, Duration::from_millis(10)).await.unwrap(), FeedRead::Notices(vec![]));
        let waiting = {
            let feed = feed.clone();
            tokio::spawn(async move { feed.read(2, Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        feed.publish(&n("c")).await.unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), FeedRead::Notices(vec![(3, n("c"))]), "a waiting reader wakes at once");
    }
}
