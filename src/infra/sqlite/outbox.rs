//! The outbox and webhook endpoints in the embedded store. Order writes
//! insert their entries in the same transaction (`insert_entries`); a claim
//! is one `UPDATE … RETURNING`, atomic across processes sharing the file.
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{other, unavailable, SqliteStore};
use super::{decode, encode};
use crate::domain::records::Kind;
use crate::domain::outbox::{Endpoint, OutboxEntry};
use crate::ports::{OutboxFilter, OutboxStore, StoreError};

/// Inserts entries not yet present (same id: left alone), inside the caller's transaction.
pub(super) fn insert_entries(c: &Connection, entries: &[OutboxEntry]) -> Result<(), StoreError> {
    let mut stmt = c
        .prepare_cached("INSERT OR IGNORE INTO outbox (id, kind, status, target, next_ms, created_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .map_err(other)?;
    for e in entries {
        let doc = encode(e)?;
        stmt.execute(params![e.id, e.kind.as_str(), e.status.as_str(), e.target, e.next_at.timestamp_millis(), e.created_at.timestamp_millis(), doc]).map_err(other)?;
    }
    Ok(())
}

fn parse(doc: String) -> Result<OutboxEntry, StoreError> {
    decode(Kind::OutboxEntry, &doc)
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue(&self, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        let entries = entries.to_vec();
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                insert_entries(&tx, &entries)?;
                tx.commit().map_err(other)
            })
            .await
    }

    async fn claim(&self, worker: &str, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let worker = worker.to_string();
        let (now_ms, until) = (now.timestamp_millis(), now.timestamp_millis() + lease.as_millis() as i64);
        self.0
            .write(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "UPDATE outbox SET worker = ?1, lease_ms = ?2 WHERE id IN \
                         (SELECT id FROM outbox WHERE status = 'pending' AND next_ms <= ?3 AND lease_ms <= ?3 ORDER BY next_ms LIMIT ?4) RETURNING doc",
                    )
                    .map_err(other)?;
                let docs = stmt.query_map(params![worker, until, now_ms, limit], |r| r.get::<_, String>(0)).map_err(other)?.collect::<Result<Vec<_>, _>>().map_err(other)?;
                docs.into_iter().map(parse).collect()
            })
            .await
    }

    async fn finish(&self, worker: &str, entry: &OutboxEntry) -> Result<bool, StoreError> {
        let (worker, e) = (worker.to_string(), entry.clone());
        self.0
            .write(move |c| {
                let doc = encode(&e)?;
                let n = c
                    .execute(
                        "UPDATE outbox SET status = ?, next_ms = ?, doc = ?, worker = NULL, lease_ms = 0 WHERE id = ? AND worker = ?",
                        params![e.status.as_str(), e.next_at.timestamp_millis(), doc, e.id, worker],
                    )
                    .map_err(other)?;
                Ok(n == 1)
            })
            .await
    }

    async fn put_entry(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.0
            .write(move |c| {
                let doc = encode(&e)?;
                c.execute(
                    "INSERT INTO outbox (id, kind, status, target, next_ms, created_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT(id) DO UPDATE SET status = ?3, next_ms = ?5, doc = ?7, worker = NULL, lease_ms = 0",
                    params![e.id, e.kind.as_str(), e.status.as_str(), e.target, e.next_at.timestamp_millis(), e.created_at.timestamp_millis(), doc],
                )
                .map_err(other)?;
                Ok(())
            })
            .await
    }

    async fn entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let id = id.to_string();
        self.0
            .read(move |c| c.query_row("SELECT doc FROM outbox WHERE id = ?", [&id], |r| r.get::<_, String>(0)).optional().map_err(unavailable)?.map(parse).transpose())
            .await
    }

    async fn list_entries(&self, f: &OutboxFilter, offset: u64, limit: u64) -> Result<(Vec<OutboxEntry>, u64), StoreError> {
        let f = f.clone();
        self.0
            .read(move |c| {
                let mut cond = vec!["1 = 1"];
                let mut args: Vec<String> = Vec::new();
                if let Some(s) = f.status {
                    cond.push("status = ?");
                    args.push(s.as_str().into());
                }
                if let Some(k) = f.kind {
                    cond.push("kind = ?");
                    args.push(k.as_str().into());
                }
                if let Some(t) = &f.target {
                    cond.push("target = ?");
                    args.push(t.clone());
                }
                let cond = cond.join(" AND ");
                let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM outbox WHERE {cond}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0)).map_err(unavailable)?;
                let mut stmt = c.prepare(&format!("SELECT doc FROM outbox WHERE {cond} ORDER BY created_ms DESC, id LIMIT {} OFFSET {}", limit.min(i64::MAX as u64), offset.min(i64::MAX as u64))).map_err(unavailable)?;
                let items = stmt
                    .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(0))
                    .map_err(unavailable)?
                    .map(|d| d.map_err(unavailable).and_then(parse))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((items, total as u64))
            })
            .await
    }

    async fn settle_outbox(&self) -> Result<usize, StoreError> {
        Ok(0)
    }

    async fn save_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let e = endpoint.clone();
        self.0
            .write(move |c| {
                let doc = encode(&e)?;
                c.execute("INSERT INTO webhook_endpoints (id, created_ms, doc) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET doc = ?3", params![e.id, e.created_at.timestamp_millis(), doc])
                    .map_err(other)?;
                Ok(())
            })
            .await
    }

    async fn update_endpoint(&self, id: &str, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.0.write(move |c| Ok(super::patch_row(c, Kind::WebhookEndpoint, "webhook_endpoints", "id", &id, &patch, &[])? == 1)).await
    }

    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.0
            .read(|c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM webhook_endpoints ORDER BY created_ms, id").map_err(unavailable)?;
                let docs = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(unavailable)?.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
                docs.iter().map(|d| decode(Kind::WebhookEndpoint, d)).collect()
            })
            .await
    }

    async fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.0.write(move |c| Ok(c.execute("DELETE FROM webhook_endpoints WHERE id = ?", [&id]).map_err(other)? == 1)).await
    }

    async fn erase_entries(&self, targets: &[String], mentions: &[String]) -> Result<u64, StoreError> {
        let (targets, mentions) = (targets.to_vec(), mentions.to_vec());
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                let mut n = 0;
                for t in targets.iter().filter(|t| !t.is_empty()) {
                    n += tx.execute("DELETE FROM outbox WHERE target = ?", [t]).map_err(other)?;
                }
                for m in mentions.iter().filter(|m| !m.is_empty()) {
                    n += tx.execute("DELETE FROM outbox WHERE instr(doc, ?) > 0", [m]).map_err(other)?;
                }
                tx.commit().map_err(other)?;
                Ok(n as u64)
            })
            .await
    }
}
