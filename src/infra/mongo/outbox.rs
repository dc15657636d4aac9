//! The outbox on MongoDB, with no multi-document transactions.
//!
//! * **outbox**: `{_id, kind, status, target, next_ms, created_ms, worker,
//!   lease_ms, doc: "<entry as JSON>"}`. A claim is a `find_one_and_update`
//!   per entry, guarded by status and lease, so two relays never hold the
//!   same entry.
//! * An order write that announces something keeps its entries **on the
//!   order's own document** (`outbox`: a JSON string, `outbox_key`: the
//!   write's key), in the same single-document write. The follow-up
//!   (`move_order_outbox`) inserts them here by id (a duplicate is ignored)
//!   and then unsets them, guarded by the key. A crash in between leaves
//!   them on the order: `settle_outbox` (run by every relay) and the next
//!   write of that order (which requires the field absent) move them first.
//! * **webhook_endpoints**: `{_id, created_ms, doc: <Endpoint>}`.
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;

use super::codec::decode_body;
use crate::domain::records::Kind;
use crate::infra::records::{from_json, to_json};
use super::paging::{page, read_all};
use super::{is_duplicate_key, map_error, MongoStore};
use crate::domain::outbox::{Endpoint, OutboxEntry};
use crate::ports::{OutboxFilter, OutboxStore, StoreError};

pub(super) fn entry_document(e: &OutboxEntry) -> Result<Document, StoreError> {
    let json = to_json(e).map_err(StoreError::Other)?;
    Ok(doc! {
        "_id": e.id.as_str(),
        "kind": e.kind.as_str(),
        "status": e.status.as_str(),
        "target": e.target.as_str(),
        "next_ms": e.next_at.timestamp_millis(),
        "created_ms": e.created_at.timestamp_millis(),
        "lease_ms": 0_i64,
        "doc": json,
    })
}

pub(super) fn decode_entry(d: Document) -> Result<OutboxEntry, String> {
    let json = d.get_str("doc").map_err(|e| format!("outbox entry without its body: {e}"))?;
    from_json(Kind::OutboxEntry, json)
}

impl MongoStore {
    /// Inserts entries not yet present.
    async fn insert_entries(&self, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        for e in entries {
            match self.outbox.insert_one(entry_document(e)?).await {
                Ok(_) => {}
                Err(err) if is_duplicate_key(&err) => {}
                Err(err) => return Err(map_error("enqueue outbox entry", err)),
            }
        }
        Ok(())
    }

    /// Moves the entries an order write left on its document (`key` names that write).
    pub(super) async fn move_order_outbox(&self, order_id: &str, key: &str, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        self.insert_entries(entries).await?;
        self.orders
            .update_one(doc! { "_id": order_id, "outbox_key": key }, doc! { "$unset": { "outbox": "", "outbox_key": "" } })
            .await
            .map_err(|e| map_error("clear order outbox", e))?;
        Ok(())
    }

    /// Moves what an order document still carries (a writer died before its
    /// follow-up). Returns how many entries it held.
    pub(super) async fn settle_order(&self, d: &Document) -> Result<usize, StoreError> {
        let (Ok(id), Ok(key), Ok(json)) = (d.get_str("_id"), d.get_str("outbox_key"), d.get_str("outbox")) else {
            return Ok(0);
        };
        let entries: Vec<OutboxEntry> = serde_json::from_str(json).map_err(|e| StoreError::Other(format!("order {id}: unreadable outbox: {e}")))?;
        self.move_order_outbox(id, key, &entries).await?;
        Ok(entries.len())
    }

    /// Settles the order's leftover entries, if any; `true` when there were some.
    pub(super) async fn settle_order_by_id(&self, order_id: &str) -> Result<bool, StoreError> {
        let found = self
            .orders
            .find_one(doc! { "_id": order_id, "outbox_key": { "$exists": true } })
            .projection(doc! { "outbox": 1, "outbox_key": 1 })
            .await
            .map_err(|e| map_error("read order outbox", e))?;
        match found {
            Some(d) => Ok(self.settle_order(&d).await? > 0),
            None => Ok(false),
        }
    }
}

/// The fields an order write adds to carry its announcements: the entries
/// and the write's key (the first entry's id, unique per change).
pub(super) fn order_outbox_fields(entries: &[OutboxEntry]) -> Result<Option<(String, String)>, StoreError> {
    match entries.first() {
        None => Ok(None),
        Some(first) => Ok(Some((first.id.clone(), serde_json::to_string(entries).map_err(|e| StoreError::Other(e.to_string()))?))),
    }
}

#[async_trait]
impl OutboxStore for MongoStore {
    async fn enqueue(&self, entries: &[OutboxEntry]) -> Result<(), StoreError> {
        self.insert_entries(entries).await
    }

    async fn claim(&self, worker: &str, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let now_ms = now.timestamp_millis();
        let until = now_ms + lease.as_millis() as i64;
        let due = doc! { "status": "pending", "next_ms": { "$lte": now_ms }, "lease_ms": { "$lte": now_ms } };
        let cursor = self
            .outbox
            .find(due.clone())
            .sort(doc! { "next_ms": 1 })
            .limit(i64::from(limit))
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| map_error("find due outbox entries", e))?;
        let ids: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("find due outbox entries", e))?;
        let mut out = Vec::new();
        for d in ids {
            let Ok(id) = d.get_str("_id") else { continue };
            let mut filter = due.clone();
            filter.insert("_id", id);
            // only one relay's update matches: the others see the new lease
            let claimed = self
                .outbox
                .find_one_and_update(filter, doc! { "$set": { "worker": worker, "lease_ms": until } })
                .return_document(ReturnDocument::After)
                .await
                .map_err(|e| map_error("claim outbox entry", e))?;
            if let Some(d) = claimed.filter(|d| d.get_str("worker").ok() == Some(worker)) {
                match decode_entry(d) {
                    Ok(e) => out.push(e),
                    Err(err) => tracing::warn!(id, error = %err, "skipping an unreadable outbox entry"),
                }
            }
        }
        Ok(out)
    }

    async fn finish(&self, worker: &str, entry: &OutboxEntry) -> Result<bool, StoreError> {
        let json = to_json(entry).map_err(StoreError::Other)?;
        let result = self
            .outbox
            .update_one(
                doc! { "_id": entry.id.as_str(), "worker": worker },
                doc! { "$set": { "status": entry.status.as_str(), "next_ms": entry.next_at.timestamp_millis(), "doc": json, "worker": "", "lease_ms": 0_i64 } },
            )
            .await
            .map_err(|e| map_error("finish outbox entry", e))?;
        Ok(result.matched_count > 0)
    }

    async fn put_entry(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.outbox
            .replace_one(doc! { "_id": entry.id.as_str() }, entry_document(entry)?)
            .upsert(true)
            .await
            .map_err(|e| map_error("replace outbox entry", e))?;
        Ok(())
    }

    async fn entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let found = self.outbox.find_one(doc! { "_id": id }).await.map_err(|e| map_error("read outbox entry", e))?;
        found.map(decode_entry).transpose().map_err(StoreError::Other)
    }

    async fn list_entries(&self, f: &OutboxFilter, offset: u64, limit: u64) -> Result<(Vec<OutboxEntry>, u64), StoreError> {
        let mut filter = Document::new();
        if let Some(s) = f.status {
            filter.insert("status", s.as_str());
        }
        if let Some(k) = f.kind {
            filter.insert("kind", k.as_str());
        }
        if let Some(t) = &f.target {
            filter.insert("target", t.as_str());
        }
        page(&self.outbox, "outbox", filter, doc! { "created_ms": -1, "_id": 1 }, offset, limit, decode_entry).await
    }

    async fn settle_outbox(&self) -> Result<usize, StoreError> {
        let cursor = self
            .orders
            .find(doc! { "outbox_key": { "$exists": true } })
            .projection(doc! { "outbox": 1, "outbox_key": 1 })
            .limit(500)
            .await
            .map_err(|e| map_error("find orders with unsent entries", e))?;
        let docs = read_all(cursor, "orders", Ok).await?;
        let mut n = 0;
        for d in &docs {
            n += self.settle_order(d).await?;
        }
        Ok(n)
    }

    async fn save_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let body = crate::infra::records::to_bson(endpoint).map_err(StoreError::Other)?;
        self.webhooks
            .replace_one(doc! { "_id": endpoint.id.as_str() }, doc! { "_id": endpoint.id.as_str(), "created_ms": endpoint.created_at.timestamp_millis(), "doc": body })
            .upsert(true)
            .await
            .map_err(|e| map_error("save webhook endpoint", e))?;
        Ok(())
    }

    async fn update_endpoint(&self, id: &str, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError> {
        super::patch_document(&self.webhooks, Kind::WebhookEndpoint, id, patch, &[], Document::new(), Document::new()).await
    }

    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        let cursor = self.webhooks.find(doc! {}).sort(doc! { "created_ms": 1, "_id": 1 }).await.map_err(|e| map_error("list webhook endpoints", e))?;
        read_all(cursor, "webhook_endpoints", |d| decode_body(d, Kind::WebhookEndpoint)).await
    }

    async fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError> {
        let r = self.webhooks.delete_one(doc! { "_id": id }).await.map_err(|e| map_error("delete webhook endpoint", e))?;
        Ok(r.deleted_count > 0)
    }

    async fn erase_entries(&self, targets: &[String], mentions: &[String]) -> Result<u64, StoreError> {
        let mut n = 0;
        let targets: Vec<&str> = targets.iter().map(String::as_str).filter(|t| !t.is_empty()).collect();
        if !targets.is_empty() {
            n += self.outbox.delete_many(doc! { "target": { "$in": targets } }).await.map_err(|e| map_error("erase outbox entries", e))?.deleted_count;
        }
        for m in mentions.iter().filter(|m| !m.is_empty()) {
            // a literal substring of the entry's JSON body
            let pattern: String = m.chars().map(|ch| if ch.is_ascii_alphanumeric() || ch == '_' { ch.to_string() } else { format!("\\{ch}") }).collect();
            n += self.outbox.delete_many(doc! { "doc": { "$regex": pattern } }).await.map_err(|e| map_error("erase outbox entries", e))?.deleted_count;
        }
        Ok(n)
    }
}
