//! The inventory port on MongoDB, plus the inventory side of the catalog
//! (creating inventory for new SKUs, copying stock into product snapshots).
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
//! * **Product snapshots.** Product documents carry each variant's stock
//!   and `in_stock` for listings; the inventory is the truth. Every product
//!   write stamps a fresh `rev`; `sync_stock_snapshot` replaces a product
//!   only if `rev` is unchanged since it read it (retrying otherwise), so it
//!   never undoes a concurrent catalog edit.
use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind};

use super::codec::{as_i64, decode_product, product_document, skus_of, str_array};
use super::{is_duplicate_key, map_error, MongoStore, CONFLICT_CHECK_CHUNK, DUPLICATE_KEY_CODES};
use crate::domain::product::Product;
use crate::ports::{InventoryStore, Reservation, StockLevel, StoreError};

/// Attempts of `sync_stock_snapshot` per product when a concurrent write
/// keeps changing it.
const SYNC_ATTEMPTS: usize = 5;

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn holds_are_read_and_stock_patched_into_snapshots() {
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
