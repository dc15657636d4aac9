//! MongoDB adapter of the ordering ports: [`InventoryStore`], [`CartStore`]
//! and [`OrderStore`], plus the inventory side of the catalog (creating
//! inventory for new SKUs, copying stock into product snapshots).
//!
//! * **inventory**: `{_id: sku, product_id, stock, holds: {<order id>: qty},
//!   returns: {<order id>: qty}}`. Every change is ONE single-document
//!   update whose filter is its guard, so it is atomic and idempotent
//!   without transactions:
//!   - reserve: `{stock: {$gte: q}, holds.<order>: {$exists: false}}` →
//!     `$inc stock -q` + `$set holds.<order>: q`. It is the only path that
//!     lowers stock, so stock never goes negative;
//!   - release: `{holds.<order>: <the held value>}` → `$inc stock +q` +
//!     `$unset` (two concurrent releases give back once);
//!   - commit: `$unset holds.<order>` (the stock stays taken);
//!   - restock: `{returns.<order>: {$exists: false}}` → `$inc` + `$set
//!     returns.<order>` (once per order and SKU).
//!
//!   Holds and returns are maps keyed by order id, not arrays: nx-27017
//!   mishandles `$ne` on arrays and `$push` of sub-documents. Order ids
//!   become field names, so ids that are empty, contain `.` or NUL, or start
//!   with `$` are refused.
//!
//!   Low stock is a `find` on `{stock: {$lte: threshold}}` sorted by
//!   `{stock: 1, _id: 1}` (index `stock`).
//! * **carts**: `{_id: owner, doc: <Cart>, version, updated_at}`; a save is
//!   an insert (version 1) or a `replace_one` guarded by the previous
//!   version.
//! * **orders**: `{_id, doc: <Order>, number, user_id, status, idem?,
//!   created_ts (epoch ms), created_at (BSON date)}`. `idem` (the
//!   idempotency key) is left out when there is none; the unique index on
//!   `{user_id, idem}` is *partial* (`idem: {$exists: true}`), so orders
//!   without a key never collide. (A sparse compound index would not do on
//!   MongoDB: `user_id` alone puts every document in it.) Status changes
//!   are `replace_one` guarded by the expected status.
//! * **counters**: `{_id: "orders", n}`, bumped with an upserting
//!   `find_one_and_update`.
//! * **Product snapshots.** Product documents carry each variant's stock
//!   and `in_stock` for listings; the inventory is the truth. Every product
//!   write stamps a fresh `rev`; `sync_stock_snapshot` replaces a product
//!   only if `rev` is unchanged since it read it (retrying otherwise), so it
//!   never undoes a concurrent catalog edit.
use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind};
use mongodb::options::ReturnDocument;

use super::{
    as_count, decode_body, decode_product, find_body, is_duplicate_key, map_error, product_document, skus_of, str_array, MongoStore,
    CONFLICT_CHECK_CHUNK, DUPLICATE_KEY_CODES,
};
use crate::domain::order::{Cart, Order, OrderStatus};
use crate::domain::product::Product;
use crate::ports::{OrderFilter, CartStore, InventoryStore, OrderStore, Reservation, StockLevel, StoreError};

/// `_id` of the order-number counter in `counters`.
const ORDER_COUNTER: &str = "orders";
/// Attempts of `sync_stock_snapshot` per product when a concurrent write
/// keeps changing it.
const SYNC_ATTEMPTS: usize = 5;

// ---------------------------------------------------------------- inventory

#[async_trait]
impl InventoryStore for MongoStore {
    async fn stock_levels(&self, skus: &[String]) -> Result<BTreeMap<String, i64>, StoreError> {
        let wanted: BTreeSet<&str> = skus.iter().map(String::as_str).collect();
        self.read_stock(&wanted).await
    }

    async fn reserve(&self, order_id: &str, sku: &str, qty: i64) -> Result<Reservation, StoreError> {
        let hold = hold_field(order_id)?;
        if qty < 1 {
            return Err(StoreError::Other(format!("cannot reserve {qty} of {sku:?}: the quantity must be at least 1")));
        }
        let taken = self
            .inventory
            .find_one_and_update(
                doc! { "_id": sku, "stock": { "$gte": qty }, hold.as_str(): { "$exists": false } },
                doc! { "$inc": { "stock": -qty }, "$set": { hold.as_str(): qty } },
            )
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| map_error("reserve stock", e))?;
        if taken.is_some() {
            return Ok(Reservation::Reserved);
        }
        // Not taken: unknown SKU, already held by this order (a replay), or short.
        let current = self
            .inventory
            .find_one(doc! { "_id": sku })
            .projection(doc! { "stock": 1, "holds": 1 })
            .await
            .map_err(|e| map_error("read stock", e))?;
        let Some(current) = current else { return Ok(Reservation::UnknownSku) };
        if held(&current, order_id).is_some() {
            return Ok(Reservation::Reserved);
        }
        let available = current.get("stock").and_then(as_i64).unwrap_or(0).max(0);
        Ok(Reservation::Short { available })
    }

    async fn release(&self, order_id: &str, sku: &str) -> Result<(), StoreError> {
        let hold = hold_field(order_id)?;
        let current = self
            .inventory
            .find_one(doc! { "_id": sku })
            .projection(doc! { "holds": 1 })
            .await
            .map_err(|e| map_error("read stock", e))?;
        let Some(value) = current.as_ref().and_then(|d| held(d, order_id)).cloned() else {
            return Ok(()); // nothing held
        };
        let qty = as_i64(&value)
            .filter(|q| *q >= 0)
            .ok_or_else(|| StoreError::Other(format!("SKU {sku:?}: unreadable hold of order {order_id:?}")))?;
        // Guarded by the exact held value: of two concurrent releases, one applies.
        self.inventory
            .update_one(
                doc! { "_id": sku, hold.as_str(): value },
                doc! { "$inc": { "stock": qty }, "$unset": { hold.as_str(): "" } },
            )
            .await
            .map_err(|e| map_error("release stock", e))?;
        Ok(())
    }

    async fn commit(&self, order_id: &str, sku: &str) -> Result<(), StoreError> {
        let hold = hold_field(order_id)?;
        self.inventory
            .update_one(
                doc! { "_id": sku, hold.as_str(): { "$exists": true } },
                doc! { "$unset": { hold.as_str(): "" } },
            )
            .await
            .map_err(|e| map_error("commit stock", e))?;
        Ok(())
    }

    /// An unknown SKU (e.g. its product was removed) is left alone.
    async fn restock(&self, order_id: &str, sku: &str, qty: i64) -> Result<(), StoreError> {
        let returned = return_field(order_id)?;
        if qty < 1 {
            return Err(StoreError::Other(format!("cannot restock {qty} of {sku:?}: the quantity must be at least 1")));
        }
        self.inventory
            .update_one(
                doc! { "_id": sku, returned.as_str(): { "$exists": false } },
                doc! { "$inc": { "stock": qty }, "$set": { returned.as_str(): qty } },
            )
            .await
            .map_err(|e| map_error("restock", e))?;
        Ok(())
    }

    /// An unknown SKU is left alone (inventory is created with its product);
    /// a negative stock is refused.
    async fn set_stock(&self, sku: &str, stock: i64) -> Result<(), StoreError> {
        if stock < 0 {
            return Err(StoreError::Other(format!("stock of {sku:?} cannot be negative ({stock})")));
        }
        self.inventory
            .update_one(doc! { "_id": sku }, doc! { "$set": { "stock": stock } })
            .await
            .map_err(|e| map_error("set stock", e))?;
        Ok(())
    }

    async fn set_stock_if(&self, sku: &str, expected: i64, stock: i64) -> Result<bool, StoreError> {
        if stock < 0 {
            return Err(StoreError::Other(format!("stock of {sku:?} cannot be negative ({stock})")));
        }
        let r = self
            .inventory
            .update_one(doc! { "_id": sku, "stock": expected }, doc! { "$set": { "stock": stock } })
            .await
            .map_err(|e| map_error("set stock if unchanged", e))?;
        Ok(r.matched_count == 1)
    }

    async fn low_stock(&self, threshold: i64, limit: u64) -> Result<Vec<StockLevel>, StoreError> {
        // A limit of 0 means "no limit" to the server.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut cursor = self
            .inventory
            .find(doc! { "stock": { "$lte": threshold } })
            .sort(doc! { "stock": 1, "_id": 1 })
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .projection(doc! { "product_id": 1, "stock": 1 })
            .await
            .map_err(|e| map_error("list low stock", e))?;
        let mut out = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(|e| map_error("read low stock", e))? {
            match (d.get_str("_id"), d.get_str("product_id"), d.get("stock").and_then(as_i64)) {
                (Ok(sku), Ok(product_id), Some(stock)) => {
                    out.push(StockLevel { sku: sku.to_string(), product_id: product_id.to_string(), stock })
                }
                _ => tracing::warn!(sku = ?d.get("_id"), "skipping a malformed inventory document"),
            }
        }
        out.sort_by(|a, b| a.stock.cmp(&b.stock).then_with(|| a.sku.cmp(&b.sku)));
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(out)
    }
}

impl MongoStore {
    /// Stock of the known SKUs among `skus`.
    async fn read_stock(&self, skus: &BTreeSet<&str>) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut out = BTreeMap::new();
        if skus.is_empty() {
            return Ok(out);
        }
        let mut cursor = self
            .inventory
            .find(doc! { "_id": { "$in": str_array(skus.iter().copied()) } })
            .projection(doc! { "stock": 1 })
            .await
            .map_err(|e| map_error("read stock", e))?;
        while let Some(d) = cursor.try_next().await.map_err(|e| map_error("read stock", e))? {
            match (d.get_str("_id"), d.get("stock").and_then(as_i64)) {
                (Ok(sku), Some(stock)) => {
                    out.insert(sku.to_string(), stock);
                }
                _ => tracing::warn!(sku = ?d.get("_id"), "skipping a malformed inventory document"),
            }
        }
        Ok(out)
    }

    /// Creates the inventory of SKUs seen for the first time (with their
    /// variant's stock; a known SKU keeps its own) and returns the stock of
    /// every SKU of `products`. One read and at most one `insert_many`
    /// (unordered: a SKU a concurrent writer created first keeps that
    /// writer's record, like `$setOnInsert`).
    pub(super) async fn ensure_inventory(&self, products: &[Product]) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut initial: BTreeMap<&str, (&str, i64)> = BTreeMap::new();
        for p in products {
            for v in p.variants.iter().filter(|v| !v.sku.is_empty()) {
                initial.entry(v.sku.as_str()).or_insert((p.id.as_str(), v.stock.max(0)));
            }
        }
        let skus: BTreeSet<&str> = initial.keys().copied().collect();
        let mut levels = self.read_stock(&skus).await?;
        let missing: Vec<(&str, &str, i64)> = initial
            .iter()
            .filter(|(sku, _)| !levels.contains_key(**sku))
            .map(|(sku, (product_id, stock))| (*sku, *product_id, *stock))
            .collect();
        if missing.is_empty() {
            return Ok(levels);
        }
        let documents: Vec<Document> = missing
            .iter()
            .map(|(sku, product_id, stock)| {
                doc! { "_id": *sku, "product_id": *product_id, "stock": *stock, "holds": {}, "returns": {} }
            })
            .collect();
        match self.inventory.insert_many(documents).ordered(false).await {
            Ok(_) => {
                for (sku, _, stock) in missing {
                    levels.insert(sku.to_string(), stock);
                }
                Ok(levels)
            }
            // Some SKUs were created meanwhile: read what is stored now.
            Err(e) if only_duplicate_keys(&e) => self.read_stock(&skus).await,
            Err(e) => Err(map_error("create inventory", e)),
        }
    }

    /// Copies current inventory into the stored products' stock snapshot;
    /// see the module documentation for the `rev` guard.
    pub(super) async fn sync_snapshots(&self, product_ids: &[String]) -> Result<(), StoreError> {
        let ids: BTreeSet<&str> = product_ids.iter().map(String::as_str).collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        for chunk in ids.chunks(CONFLICT_CHECK_CHUNK) {
            let mut pending: Vec<&str> = chunk.to_vec();
            for _ in 0..SYNC_ATTEMPTS {
                if pending.is_empty() {
                    break;
                }
                pending = self.sync_once(&pending).await?;
            }
            if !pending.is_empty() {
                tracing::warn!(products = ?pending, "stock snapshot not updated: the products kept changing");
            }
        }
        Ok(())
    }

    /// One pass of [`Self::sync_snapshots`]; returns the ids whose product
    /// changed under it (to try again).
    async fn sync_once<'a>(&self, ids: &[&'a str]) -> Result<Vec<&'a str>, StoreError> {
        let mut cursor = self
            .products
            .find(doc! { "_id": { "$in": str_array(ids.iter().copied()) } })
            .projection(doc! { "doc": 1, "rev": 1 })
            .await
            .map_err(|e| map_error("read products", e))?;
        let mut stored: Vec<(Product, Bson)> = Vec::new();
        while let Some(mut d) = cursor.try_next().await.map_err(|e| map_error("read products", e))? {
            let rev = d.remove("rev").unwrap_or(Bson::Null);
            let id = d.get("_id").map(|b| b.to_string()).unwrap_or_default();
            match decode_product(d) {
                Ok(p) => stored.push((p, rev)),
                Err(e) => tracing::warn!(product_id = %id, error = %e, "skipping an unreadable product"),
            }
        }
        let skus: BTreeSet<&str> = stored.iter().flat_map(|(p, _)| skus_of(p)).collect();
        let levels = self.read_stock(&skus).await?;
        let mut changed_meanwhile = Vec::new();
        for (p, rev) in &stored {
            let patched = with_stock(p, &levels);
            if patched.variants == p.variants {
                continue;
            }
            let document = product_document(&patched)?;
            // `rev: null` also matches documents written before `rev` existed.
            let result = self
                .products
                .replace_one(doc! { "_id": p.id.as_str(), "rev": rev.clone() }, document)
                .await
                .map_err(|e| map_error("update stock snapshot", e))?;
            if result.matched_count == 0 {
                if let Some(id) = ids.iter().find(|id| **id == p.id) {
                    changed_meanwhile.push(*id);
                }
            }
        }
        Ok(changed_meanwhile)
    }
}

/// The product with each variant's stock taken from `levels` (variants
/// whose SKU has no inventory keep theirs).
pub(super) fn with_stock(p: &Product, levels: &BTreeMap<String, i64>) -> Product {
    let mut out = p.clone();
    for v in &mut out.variants {
        if let Some(stock) = levels.get(&v.sku) {
            v.stock = *stock;
        }
    }
    out
}

/// Order ids become field names: refuse those that would be a path or an operator.
fn check_order_id(order_id: &str) -> Result<(), StoreError> {
    if order_id.is_empty() || order_id.contains('.') || order_id.starts_with('$') || order_id.contains('\0') {
        return Err(StoreError::Other(format!("order id {order_id:?} cannot key an inventory record")));
    }
    Ok(())
}

fn hold_field(order_id: &str) -> Result<String, StoreError> {
    check_order_id(order_id)?;
    Ok(format!("holds.{order_id}"))
}

fn return_field(order_id: &str) -> Result<String, StoreError> {
    check_order_id(order_id)?;
    Ok(format!("returns.{order_id}"))
}

/// What `order_id` holds on an inventory document, as stored.
fn held<'a>(d: &'a Document, order_id: &str) -> Option<&'a Bson> {
    d.get_document("holds").ok()?.get(order_id)
}

/// An integer as servers send it: int32, int64, or a whole double.
fn as_i64(b: &Bson) -> Option<i64> {
    match b {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
        _ => None,
    }
}

/// An error that only reports duplicate keys (also from an unordered `insert_many`).
fn only_duplicate_keys(e: &MongoError) -> bool {
    match &*e.kind {
        ErrorKind::InsertMany(failure) => {
            failure.write_concern_error.is_none()
                && failure
                    .write_errors
                    .as_ref()
                    .is_some_and(|w| !w.is_empty() && w.iter().all(|x| DUPLICATE_KEY_CODES.contains(&x.code)))
        }
        _ => is_duplicate_key(e),
    }
}

// -------------------------------------------------------------------- carts

#[async_trait]
impl CartStore for MongoStore {
    async fn cart(&self, owner: &str) -> Result<Option<Cart>, StoreError> {
        let found = self
            .carts
            .find_one(doc! { "_id": owner })
            .projection(doc! { "doc": 1 })
            .await
            .map_err(|e| map_error("read cart", e))?;
        found.map(decode_cart).transpose().map_err(StoreError::Other)
    }

    async fn save_cart(&self, cart: &Cart) -> Result<(), StoreError> {
        if cart.version < 1 {
            return Err(StoreError::Other(format!("cart {:?}: version {} is not a saved version", cart.owner, cart.version)));
        }
        let document = cart_document(cart)?;
        if cart.version == 1 {
            return match self.carts.insert_one(document).await {
                Ok(_) => Ok(()),
                Err(e) if is_duplicate_key(&e) => Err(cart_conflict(cart)),
                Err(e) => Err(map_error("save cart", e)),
            };
        }
        let result = self
            .carts
            .replace_one(doc! { "_id": cart.owner.as_str(), "version": cart.version - 1 }, document)
            .await
            .map_err(|e| map_error("save cart", e))?;
        if result.matched_count == 0 {
            return Err(cart_conflict(cart));
        }
        Ok(())
    }

    async fn delete_cart(&self, owner: &str) -> Result<(), StoreError> {
        self.carts
            .delete_one(doc! { "_id": owner })
            .await
            .map_err(|e| map_error("delete cart", e))?;
        Ok(())
    }
}

fn cart_conflict(cart: &Cart) -> StoreError {
    StoreError::Conflict(format!("cart {:?} was saved by someone else (version {})", cart.owner, cart.version))
}

fn cart_document(cart: &Cart) -> Result<Document, StoreError> {
    let body = bson::serialize_to_document(cart)
        .map_err(|e| StoreError::Other(format!("cannot encode cart {:?}: {e}", cart.owner)))?;
    Ok(doc! {
        "_id": cart.owner.as_str(),
        "version": cart.version,
        "updated_at": bson::DateTime::from_chrono(cart.updated_at),
        "doc": body,
    })
}

fn decode_cart(d: Document) -> Result<Cart, String> {
    decode_body(d, "cart")
}

// ------------------------------------------------------------------- orders

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

    async fn update_order_if(&self, order: &Order, expected: OrderStatus) -> Result<bool, StoreError> {
        let document = order_document(order)?;
        let result = self
            .orders
            .replace_one(doc! { "_id": order.id.as_str(), "status": expected.as_str() }, document)
            .await
            .map_err(|e| {
                if is_duplicate_key(&e) {
                    StoreError::Conflict(format!(
                        "order {:?}: user {:?} already has another order with this idempotency key",
                        order.id, order.user_id
                    ))
                } else {
                    map_error("update order", e)
                }
            })?;
        Ok(result.matched_count > 0)
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
        if !created.is_empty() {
            filter.insert("created_ts", created);
        }
        let total = self
            .orders
            .count_documents(filter.clone())
            .await
            .map_err(|e| map_error("count orders", e))?;
        // A limit of 0 means "no limit" to the server.
        if limit == 0 || offset >= total {
            return Ok((Vec::new(), total));
        }
        let cursor = self
            .orders
            .find(filter)
            .sort(doc! { "created_ts": -1, "_id": 1 })
            .skip(offset)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .projection(doc! { "doc": 1 })
            .await
            .map_err(|e| map_error("list orders", e))?;
        let mut orders = read_orders(cursor).await?;
        orders.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok((orders, total))
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
        let mut orders = read_orders(cursor).await?;
        orders.retain(|o| o.status == OrderStatus::Pending && o.created_at < before);
        Ok(orders)
    }
}

impl MongoStore {
    async fn find_order(&self, filter: Document) -> Result<Option<Order>, StoreError> {
        find_body(&self.orders, filter, "order").await
    }
}

/// Decodes a cursor of orders, skipping (and logging) unreadable ones.
async fn read_orders(mut cursor: mongodb::Cursor<Document>) -> Result<Vec<Order>, StoreError> {
    let mut orders = Vec::new();
    while let Some(d) = cursor.try_next().await.map_err(|e| map_error("read orders", e))? {
        let id = d.get("_id").map(|b| b.to_string()).unwrap_or_default();
        match decode_order(d) {
            Ok(o) => orders.push(o),
            Err(e) => tracing::warn!(order_id = %id, error = %e, "skipping an unreadable order"),
        }
    }
    Ok(orders)
}

/// The stored form of an order: the domain value under `doc` plus the
/// fields queries and indexes use. `idem` is absent without a key (the
/// partial unique index then skips the order).
fn order_document(order: &Order) -> Result<Document, StoreError> {
    let body = bson::serialize_to_document(order)
        .map_err(|e| StoreError::Other(format!("cannot encode order {:?}: {e}", order.id)))?;
    let mut d = doc! {
        "_id": order.id.as_str(),
        "number": order.number.as_str(),
        "user_id": order.user_id.as_str(),
        "status": order.status.as_str(),
        "created_ts": order.created_at.timestamp_millis(),
        "created_at": bson::DateTime::from_chrono(order.created_at),
    };
    if let Some(key) = &order.idempotency_key {
        d.insert("idem", key.as_str());
    }
    d.insert("doc", body);
    Ok(d)
}

fn decode_order(d: Document) -> Result<Order, String> {
    decode_body(d, "order")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Money;
    use crate::domain::order::{Address, CartLine, OrderLine, ShippingMethod, StatusChange};
    use chrono::TimeZone;

    fn order(key: Option<&str>) -> Order {
        let at = Utc.timestamp_nanos(1_800_000_000_123_456_789);
        Order {
            id: "o_0123456789abcdef0123456789abcdef".into(),
            number: "VT-000042".into(),
            user_id: "u1".into(),
            lines: vec![OrderLine {
                sku: "AC-1".into(),
                product_id: "p1".into(),
                slug: "acme-tee".into(),
                name: "Acme Tee".into(),
                options: [("size".to_string(), "M".to_string())].into(),
                unit_price: Money::shop(1999),
                quantity: 2,
                line_total: Money::shop(3998),
            }],
            currency: crate::domain::money::shop_currency().into(),
            subtotal: Money::shop(3998),
            shipping: Money::shop(499),
            shipping_method: ShippingMethod::Standard,
            vat: Money::shop(718),
            total: Money::shop(4497),
            shipping_address: Address {
                name: "Ana".into(),
                street: "Str. Lunga 1".into(),
                city: "Cluj".into(),
                postal_code: "400001".into(),
                country: "RO".into(),
                phone: "+40 712 345 678".into(),
            },
            payment_method: "cod".into(),
            status: OrderStatus::Placed,
            history: vec![StatusChange { status: OrderStatus::Placed, at }],
            idempotency_key: key.map(str::to_string),
            request_hash: "h".into(),
            guest_email: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn order_documents_round_trip() {
        let o = order(Some("k-1"));
        let d = order_document(&o).expect("encode");
        assert_eq!(d.get_str("_id").ok(), Some(o.id.as_str()));
        assert_eq!(d.get_str("status").ok(), Some("placed"));
        assert_eq!(d.get_str("idem").ok(), Some("k-1"));
        assert_eq!(d.get_i64("created_ts").ok(), Some(1_800_000_000_123));
        assert_eq!(decode_order(d).expect("decode"), o);
        let keyless = order(None);
        let d = order_document(&keyless).expect("encode");
        assert!(!d.contains_key("idem"), "no key: left out of the partial unique index");
        assert_eq!(decode_order(d).expect("decode"), keyless);
    }

    #[test]
    fn cart_documents_round_trip() {
        let cart = Cart {
            owner: "g:abc".into(),
            lines: vec![CartLine { sku: "AC-1".into(), quantity: 2 }],
            version: 3,
            updated_at: Utc.timestamp_nanos(1_800_000_000_987_654_321),
        };
        let d = cart_document(&cart).expect("encode");
        assert_eq!(d.get_i64("version").ok(), Some(3));
        assert_eq!(decode_cart(d).expect("decode"), cart);
    }

    #[test]
    fn order_ids_must_be_plain_field_names() {
        assert_eq!(hold_field("o_0123abcd").ok().as_deref(), Some("holds.o_0123abcd"));
        assert_eq!(return_field("o_1").ok().as_deref(), Some("returns.o_1"));
        for bad in ["", "a.b", "$where", "x\0y"] {
            assert!(matches!(hold_field(bad), Err(StoreError::Other(_))), "{bad:?}");
            assert!(matches!(return_field(bad), Err(StoreError::Other(_))), "{bad:?}");
        }
    }

    #[test]
    fn stock_is_read_leniently_and_patched_into_snapshots() {
        assert_eq!(as_i64(&Bson::Int32(3)), Some(3));
        assert_eq!(as_i64(&Bson::Int64(-4)), Some(-4));
        assert_eq!(as_i64(&Bson::Double(5.0)), Some(5));
        assert_eq!(as_i64(&Bson::Double(5.5)), None);
        assert_eq!(as_i64(&Bson::String("7".into())), None);
        let d = doc! { "_id": "AC-1", "holds": { "o_1": 2_i64 } };
        assert_eq!(held(&d, "o_1"), Some(&Bson::Int64(2)));
        assert_eq!(held(&d, "o_2"), None);

        let p = crate::domain::product::tests::sample();
        assert!(p.in_stock());
        let levels: BTreeMap<String, i64> = [("AC-1".to_string(), 0), ("AC-3".to_string(), 7)].into();
        let patched = with_stock(&p, &levels);
        let stock: Vec<i64> = patched.variants.iter().map(|v| v.stock).collect();
        assert_eq!(stock, vec![0, 0, 7], "AC-2 has no inventory: keeps its own");
        let document = product_document(&patched).expect("encode");
        assert_eq!(document.get_bool("in_stock").ok(), Some(true));
        let sold_out = with_stock(&p, &[("AC-1".to_string(), 0)].into());
        assert_eq!(product_document(&sold_out).expect("encode").get_bool("in_stock").ok(), Some(false));
    }
}
