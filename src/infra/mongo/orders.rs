//! The order port on MongoDB.
//!
//! * **orders**: `{_id, doc: <Order>, number, user_id, status, idem?,
//!   created_ts (epoch ms), created_at (BSON date)}`. `idem` (the
//!   idempotency key) is left out when there is none; the unique index on
//!   `{user_id, idem}` is *partial* (`idem: {$exists: true}`), so orders
//!   without a key never collide. (A sparse compound index would not do on
//!   MongoDB: `user_id` alone puts every document in it.) Every change is
//!   an `update_one` of the fields it owns (`$set` on `doc.<field>`),
//!   guarded by the fields it depends on; never a replacement.
//! * **counters**: `{_id: "orders", n}`, bumped with an upserting
//!   `find_one_and_update`.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;

use super::codec::{as_count, decode_order, find_body, order_document};
use super::paging::{page, read_all};
use super::{is_duplicate_key, map_error, patch_document, MongoStore};
use crate::domain::records::Kind;
use crate::domain::patch::Patch;
use serde_json::Value;
use super::outbox::order_outbox_fields;
use crate::domain::order::{Order, OrderStatus};
use crate::domain::outbox::OutboxEntry;
use crate::ports::{OrderFilter, OrderStore, StoreError};

/// `_id` of the order-number counter in `counters`.
const ORDER_COUNTER: &str = "orders";

#[async_trait]
impl OrderStore for MongoStore {
    async fn next_order_number(&self) -> Result<u64, StoreError> {
        // Two first-ever upserts can race to a duplicate key: the second try
        // then finds the counter.
        let mut attempt = 0;
        let counter = loop {
            attempt += 1;
            match self
                .counters
                .find_one_and_update(doc! { "_id": ORDER_COUNTER }, doc! { "$inc": { "n": 1_i64 } })
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await
            {
                Ok(found) => break found,
                Err(e) if attempt < 3 && is_duplicate_key(&e) => continue,
                Err(e) => return Err(map_error("next order number", e)),
            }
        };
        counter
            .as_ref()
            .and_then(|d| d.get("n"))
            .and_then(as_count)
            .filter(|n| *n > 0)
            .ok_or_else(|| StoreError::Other("the order counter has no readable number".to_string()))
    }

    async fn insert_order(&self, order: &Order) -> Result<(), StoreError> {
        let document = order_document(order)?;
        match self.orders.insert_one(document).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Err(StoreError::Conflict(format!(
                "order {:?} exists, or user {:?} already has an order with this idempotency key",
                order.id, order.user_id
            ))),
            Err(e) => Err(map_error("insert order", e)),
        }
    }

    async fn order_by_id(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.find_order(doc! { "_id": id }).await
    }

    async fn order_by_idempotency_key(&self, user_id: &str, key: &str) -> Result<Option<Order>, StoreError> {
        self.find_order(doc! { "user_id": user_id, "idem": key }).await
    }

    async fn update_order(&self, id: &str, patch: &Patch, events: &[OutboxEntry]) -> Result<bool, StoreError> {
        self.patch_order(id, patch, events).await
    }

    async fn delete_order_if(&self, id: &str, expected: OrderStatus) -> Result<bool, StoreError> {
        let result = self
            .orders
            .delete_one(doc! { "_id": id, "status": expected.as_str() })
            .await
            .map_err(|e| map_error("delete order", e))?;
        Ok(result.deleted_count > 0)
    }

    async fn list_orders(&self, f: &OrderFilter, offset: u64, limit: u64) -> Result<(Vec<Order>, u64), StoreError> {
        let mut filter = match f.status {
            Some(s) if s != OrderStatus::Pending => doc! { "status": s.as_str() },
            Some(_) => return Ok((Vec::new(), 0)),
            None => doc! { "status": { "$ne": OrderStatus::Pending.as_str() } },
        };
        if let Some(u) = &f.user_id {
            filter.insert("user_id", u.as_str());
        }
        let mut created = Document::new();
        if let Some(from) = f.from {
            created.insert("$gte", from.timestamp_millis());
        }
        if let Some(to) = f.to {
            created.insert("$lt", to.timestamp_millis());
        }
        if let Some(email) = &f.guest_email {
            filter.insert("doc.guest_email", email.to_lowercase());
        }
        if f.with_open_returns {
            filter.insert("doc.returns_open", doc! { "$gt": 0 });
        }
        if !created.is_empty() {
            filter.insert("created_ts", created);
        }
        page(&self.orders, "orders", filter, doc! { "created_ts": -1, "_id": 1 }, offset, limit, decode_order).await
    }

    async fn open_orders(&self, user_id: &str, at_most: u64) -> Result<u64, StoreError> {
        if at_most == 0 {
            return Ok(0);
        }
        let open: Vec<&str> = OrderStatus::OPEN.iter().map(OrderStatus::as_str).collect();
        let cursor = self
            .orders
            .find(doc! { "user_id": user_id, "status": { "$in": open } })
            .projection(doc! { "_id": 1 })
            .limit(i64::try_from(at_most).unwrap_or(i64::MAX))
            .await
            .map_err(|e| map_error("count open orders", e))?;
        let ids: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("count open orders", e))?;
        Ok((ids.len() as u64).min(at_most))
    }

    async fn mark_ordered(&self, product_ids: &[String]) -> Result<(), StoreError> {
        for id in product_ids {
            self.ordered
                .update_one(doc! { "_id": id.as_str() }, doc! { "$set": { "at": bson::DateTime::now() } })
                .upsert(true)
                .await
                .map_err(|e| map_error("mark product ordered", e))?;
        }
        Ok(())
    }

    async fn was_ordered(&self, product_id: &str) -> Result<bool, StoreError> {
        let found = self.ordered.find_one(doc! { "_id": product_id }).await.map_err(|e| map_error("read ordered marker", e))?;
        Ok(found.is_some())
    }

    async fn stale_pending_orders(&self, before: DateTime<Utc>) -> Result<Vec<Order>, StoreError> {
        // `created_ts` is whole milliseconds: take the boundary millisecond
        // too, then compare exactly.
        let cursor = self
            .orders
            .find(doc! {
                "status": OrderStatus::Pending.as_str(),
                "created_ts": { "$lte": before.timestamp_millis() },
            })
            .sort(doc! { "created_ts": 1, "_id": 1 })
            .projection(doc! { "doc": 1 })
            .await
            .map_err(|e| map_error("list stale orders", e))?;
        let mut orders = read_all(cursor, "orders", decode_order).await?;
        orders.retain(|o| o.status == OrderStatus::Pending && o.created_at < before);
        Ok(orders)
    }
}

impl MongoStore {
    /// Writes the patch where its guards hold, with `events` on the same
    /// document (one atomic write), then moves them to the outbox. A document
    /// still carrying an earlier writer's entries is settled first, so they
    /// are never overwritten.
    async fn patch_order(&self, id: &str, patch: &Patch, events: &[OutboxEntry]) -> Result<bool, StoreError> {
        if patch.is_empty() {
            return Ok(false);
        }
        let mut extra = Document::new();
        // who bought what (the recommendation job's `basket`) follows the owner and the guest's e-mail
        match (patch.value("guest_email"), patch.value("user_id")) {
            (Some(Value::String(email)), _) => {
                extra.insert("basket.customer", email.to_lowercase());
            }
            (Some(Value::Null), Some(Value::String(owner))) => {
                extra.insert("basket.customer", owner.as_str());
            }
            _ => {}
        }
        let carried = order_outbox_fields(events)?;
        if let Some((key, json)) = &carried {
            extra.insert("outbox", json.as_str());
            extra.insert("outbox_key", key.as_str());
        }
        for attempt in 0..2 {
            let written = patch_document(&self.orders, Kind::Order, id, patch, &["status", "user_id"], doc! { "outbox_key": { "$exists": false } }, extra.clone()).await?;
            if written {
                if let Some((key, _)) = &carried {
                    // the follow-up; if this fails, the entries wait on the order for `settle_outbox`
                    if let Err(e) = self.move_order_outbox(id, key, events).await {
                        tracing::warn!(order = %id, error = %e, "order entries left on the order for the relay to move");
                    }
                }
                return Ok(true);
            }
            // a guard that failed only because of leftovers: settle them, try once more
            if attempt > 0 || !self.settle_order_by_id(id).await? {
                break;
            }
        }
        Ok(false)
    }

    async fn find_order(&self, filter: Document) -> Result<Option<Order>, StoreError> {
        find_body(&self.orders, filter, crate::domain::records::Kind::Order).await
    }
}

