//! The audit log of admin actions. Recording never undoes the action it
//! describes: a failure to record is logged and counted, and the action stands.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;

use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::user::User;
use crate::ports::{AuditStore, StoreError};

/// Who is acting (an admin, or the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub email: String,
}

impl From<&User> for Actor {
    fn from(u: &User) -> Self {
        Self { id: u.id.clone(), email: u.email.clone() }
    }
}

impl Actor {
    pub fn system() -> Self {
        Self { id: "system".into(), email: "system".into() }
    }
}

#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    failures: Arc<AtomicU64>,
}

impl AuditLog {
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store, failures: Arc::new(AtomicU64::new(0)) }
    }

    pub async fn record<T: Serialize>(&self, actor: &Actor, action: &str, target: &str, summary: impl Into<String>, before: Option<&T>, after: Option<&T>) {
        let entry = AuditEntry {
            id: format!("{}-{}", Utc::now().timestamp_millis(), uuid::Uuid::new_v4().simple()),
            at: Utc::now(),
            actor_id: actor.id.clone(),
            actor_email: actor.email.clone(),
            action: action.into(),
            target: target.into(),
            summary: summary.into(),
            before: before.and_then(|b| serde_json::to_string(b).ok()),
            after: after.and_then(|a| serde_json::to_string(a).ok()),
        };
        if let Err(e) = self.store.record_audit(&entry).await {
            self.failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, action, target, "audit entry not recorded");
        }
    }

    pub async fn list(&self, filter: &AuditFilter, page: u64, per_page: u64) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        let (offset, limit) = crate::domain::query::page_window(page, per_page);
        self.store.list_audit(filter, offset, limit).await
    }

    /// Entries that could not be written since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}
