//! Which backups were made: the dashboard shows the newest, and an erasure's
//! receipt lists those made before it (they still hold the erased data until
//! they expire by the retention the README sets).
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::dashboard::LastBackup;
use crate::ports::{KeyValueStore, StoreError};

const NS: &str = "backup";
const LAST: &str = "last";
const HISTORY: &str = "history";
/// Backups remembered (a year of daily ones, and then some).
const KEEP: usize = 400;

#[derive(Clone)]
pub struct BackupLog {
    kv: Arc<dyn KeyValueStore>,
    /// How long backups are kept (`VITRINA_BACKUP_RETENTION_DAYS`).
    pub retention_days: i64,
}

impl BackupLog {
    pub fn new(kv: Arc<dyn KeyValueStore>, retention_days: i64) -> Self {
        Self { kv, retention_days }
    }

    /// Records a backup just written.
    pub async fn record(&self, backup: &LastBackup) -> Result<(), StoreError> {
        let mut history = self.history().await?;
        history.push(backup.clone());
        history.sort_by_key(|b| b.at);
        let extra = history.len().saturating_sub(KEEP);
        history.drain(..extra);
        self.kv.kv_put(NS, HISTORY, &encode(&history)?, None).await?;
        self.kv.kv_put(NS, LAST, &encode(backup)?, None).await
    }

    /// The newest backup recorded (an unreadable record counts as none).
    pub async fn last(&self) -> Result<Option<LastBackup>, StoreError> {
        Ok(self.kv.kv_get(NS, LAST).await?.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Every backup remembered, oldest first.
    pub async fn history(&self) -> Result<Vec<LastBackup>, StoreError> {
        let mut all: Vec<LastBackup> = self.kv.kv_get(NS, HISTORY).await?.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        // a shop backed up before the history was kept has its last backup only
        if let Some(last) = self.last().await? {
            if !all.contains(&last) {
                all.push(last);
                all.sort_by_key(|b| b.at);
            }
        }
        Ok(all)
    }

    /// Backups made before `at` that are still within the retention at `at`:
    /// they hold what was there before (an erasure lists them).
    pub async fn held_before(&self, at: DateTime<Utc>) -> Result<Vec<LastBackup>, StoreError> {
        let oldest = at - Duration::days(self.retention_days);
        Ok(self.history().await?.into_iter().filter(|b| b.at < at && b.at >= oldest).collect())
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Other(e.to_string()))
}
