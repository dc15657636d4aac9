//! Inventory, carts and orders in the embedded store. Each operation is one
//! SQLite transaction on the single writer connection, so the guards below
//! are atomic.
use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::outbox::insert_entries;
use super::{other, patch_row, sql_value, unavailable, write_error, Mirror, SqliteStore};
use crate::domain::patch::Patch;
use super::{decode, encode};
use crate::domain::records::Kind;
use crate::domain::outbox::OutboxEntry;
use crate::domain::order::{Cart, CartEdit, CartRefusal, Order, OrderStatus};
use crate::ports::{CartStore, InventoryStore, OrderFilter, OrderStore, Reservation, StockLevel, StoreError};

#[async_trait]
impl InventoryStore for SqliteStore {
    async fn stock_levels(&self, skus: &[String]) -> Result<BTreeMap<String, i64>, StoreError> {
        let skus = skus.to_vec();
        self.0
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT stock FROM inventory WHERE sku = ?").map_err(unavailable)?;
                let mut out = BTreeMap::new();
                for sku in skus {
                    if let Some(n) = stmt.query_row([&sku], |r| r.get::<_, i64>(0)).optional().map_err(unavailable)? {
                        out.insert(sku, n);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn reserve(&self, order_id: &str, sku: &str, qty: i64) -> Result<Reservation, StoreError> {
        let (order_id, sku) = (order_id.to_string(), sku.to_string());
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(other)?;
                let held: Option<i64> =
                    tx.query_row("SELECT qty FROM holds WHERE order_id = ? AND sku = ?", params![order_id, sku], |r| r.get(0)).optional().map_err(other)?;
                if held.is_some() {
                    return Ok(Reservation::Reserved);
                }
                let stock: Option<i64> = tx.query_row("SELECT stock FROM inventory WHERE sku = ?", [&sku], |r| r.get(0)).optional().map_err(other)?;
                let result = match stock {
                    None => Reservation::UnknownSku,
                    Some(n) if n < qty => Reservation::Short { available: n },
                    Some(_) => {
                        tx.execute("UPDATE inventory SET stock = stock - ? WHERE sku = ? AND stock >= ?", params![qty, sku, qty]).map_err(other)?;
                        tx.execute("INSERT INTO holds (order_id, sku, qty) VALUES (?, ?, ?)", params![order_id, sku, qty]).map_err(other)?;
                        Reservation::Reserved
                    }
                };
                tx.commit().map_err(other)?;
                Ok(result)
            })
            .await
    }

    async fn release(&self, order_id: &str, sku: &str) -> Result<(), StoreError> {
        let (order_id, sku) = (order_id.to_string(), sku.to_string());
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(other)?;
                let held: Option<i64> =
                    tx.query_row("SELECT qty FROM holds WHERE order_id = ? AND sku = ?", params![order_id, sku], |r| r.get(0)).optional().map_err(other)?;
                if let Some(q) = held {
                    tx.execute("UPDATE inventory SET stock = stock + ? WHERE sku = ?", params![q, sku]).map_err(other)?;
                    tx.execute("DELETE FROM holds WHERE order_id = ? AND sku = ?", params![order_id, sku]).map_err(other)?;
                }
                tx.commit().map_err(other)
            })
            .await
    }

    async fn commit(&self, order_id: &str, sku: &str) -> Result<(), StoreError> {
        let (order_id, sku) = (order_id.to_string(), sku.to_string());
        self.0
            .write(move |c| {
                c.execute("DELETE FROM holds WHERE order_id = ? AND sku = ?", params![order_id, sku]).map_err(other)?;
                Ok(())
            })
            .await
    }

    async fn restock(&self, order_id: &str, sku: &str, qty: i64) -> Result<(), StoreError> {
        let (order_id, sku) = (order_id.to_string(), sku.to_string());
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(other)?;
                let inserted = tx.execute("INSERT OR IGNORE INTO returns (order_id, sku, qty) VALUES (?, ?, ?)", params![order_id, sku, qty]).map_err(other)?;
                if inserted == 1 {
                    tx.execute("UPDATE inventory SET stock = stock + ? WHERE sku = ?", params![qty, sku]).map_err(other)?;
                }
                tx.commit().map_err(other)
            })
            .await
    }

    async fn set_stock(&self, sku: &str, stock: i64) -> Result<(), StoreError> {
        let sku = sku.to_string();
        self.0
            .write(move |c| {
                c.execute("UPDATE inventory SET stock = ? WHERE sku = ?", params![stock.max(0), sku]).map_err(other)?;
                Ok(())
            })
            .await
    }

    async fn set_stock_if(&self, sku: &str, expected: i64, stock: i64) -> Result<bool, StoreError> {
        let sku = sku.to_string();
        self.0
            .write(move |c| {
                let n = c.execute("UPDATE inventory SET stock = ? WHERE sku = ? AND stock = ?", params![stock.max(0), sku, expected]).map_err(other)?;
                Ok(n == 1)
            })
            .await
    }

    async fn low_stock(&self, threshold: i64, limit: u64) -> Result<Vec<StockLevel>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.0
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT sku, product_id, stock FROM inventory WHERE stock <= ? ORDER BY stock, sku LIMIT ?")
                    .map_err(unavailable)?;
                let levels = stmt
                    .query_map(params![threshold, limit], |r| Ok(StockLevel { sku: r.get(0)?, product_id: r.get(1)?, stock: r.get(2)? }))
                    .map_err(unavailable)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(unavailable)?;
                Ok(levels)
            })
            .await
    }
}

#[async_trait]
impl CartStore for SqliteStore {
    async fn cart(&self, owner: &str) -> Result<Option<Cart>, StoreError> {
        let owner = owner.to_string();
        self.0
            .read(move |c| {
                let doc: Option<String> = c.query_row("SELECT doc FROM carts WHERE owner = ?", [&owner], |r| r.get(0)).optional().map_err(unavailable)?;
                doc.map(|d| decode(Kind::Cart, &d)).transpose()
            })
            .await
    }

    async fn save_cart(&self, cart: &Cart) -> Result<(), StoreError> {
        let cart = cart.clone();
        self.0
            .write(move |c| {
                let doc = encode(&cart)?;
                let changed = if cart.version == 1 {
                    c.execute("INSERT INTO carts (owner, version, doc) VALUES (?, ?, ?)", params![cart.owner, cart.version, doc]).map_err(write_error)?
                } else {
                    c.execute("UPDATE carts SET version = ?, doc = ? WHERE owner = ? AND version = ?", params![cart.version, doc, cart.owner, cart.version - 1])
                        .map_err(other)?
                };
                if changed == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Conflict("the cart changed meanwhile".into()))
                }
            })
            .await
    }

    async fn delete_cart(&self, owner: &str) -> Result<(), StoreError> {
        let owner = owner.to_string();
        self.0
            .write(move |c| {
                c.execute("DELETE FROM carts WHERE owner = ?", [&owner]).map_err(other)?;
                Ok(())
            })
            .await
    }

    /// Read, check and write in one transaction on the writer: one round-trip.
    async fn edit_cart(&self, owner: &str, edit: &CartEdit) -> Result<Result<Cart, CartRefusal>, StoreError> {
        let (owner, edit) = (owner.to_string(), edit.clone());
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                let doc: Option<String> = tx.query_row("SELECT doc FROM carts WHERE owner = ?", [&owner], |r| r.get(0)).optional().map_err(unavailable)?;
                let mut cart = match doc {
                    Some(d) => decode(Kind::Cart, &d)?,
                    None => Cart::empty(&owner),
                };
                if let Err(refused) = cart.apply(&edit) {
                    return Ok(Err(refused));
                }
                let doc = encode(&cart)?;
                tx.execute(
                    "INSERT INTO carts (owner, version, doc) VALUES (?1, ?2, ?3) ON CONFLICT(owner) DO UPDATE SET version = excluded.version, doc = excluded.doc",
                    params![cart.owner, cart.version, doc],
                )
                .map_err(write_error)?;
                tx.commit().map_err(unavailable)?;
                Ok(Ok(cart))
            })
            .await
    }
}

/// The order columns queries use, kept equal to their fields.
const ORDER_MIRRORS: &[Mirror] = &[Mirror { path: "status", column: "status", value: sql_value }, Mirror { path: "user_id", column: "user_id", value: sql_value }];

fn parse_order(doc: String) -> Result<Order, StoreError> {
    decode(Kind::Order, &doc)
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn next_order_number(&self) -> Result<u64, StoreError> {
        self.0
            .write(|c| {
                c.query_row("INSERT INTO counters (name, n) VALUES ('orders', 1) ON CONFLICT(name) DO UPDATE SET n = n + 1 RETURNING n", [], |r| r.get::<_, i64>(0))
                    .map(|n| n as u64)
                    .map_err(other)
            })
            .await
    }

    async fn insert_order(&self, order: &Order) -> Result<(), StoreError> {
        let o = order.clone();
        self.0
            .write(move |c| {
                let doc = encode(&o)?;
                c.execute(
                    "INSERT INTO orders (id, user_id, status, idem, created_ts, doc) VALUES (?, ?, ?, ?, ?, ?)",
                    params![o.id, o.user_id, o.status.as_str(), o.idempotency_key, o.created_at.timestamp_millis(), doc],
                )
                .map_err(write_error)?;
                Ok(())
            })
            .await
    }

    async fn order_by_id(&self, id: &str) -> Result<Option<Order>, StoreError> {
        let id = id.to_string();
        self.0
            .read(move |c| {
                let doc: Option<String> = c.query_row("SELECT doc FROM orders WHERE id = ?", [&id], |r| r.get(0)).optional().map_err(unavailable)?;
                doc.map(parse_order).transpose()
            })
            .await
    }

    async fn order_by_idempotency_key(&self, user_id: &str, key: &str) -> Result<Option<Order>, StoreError> {
        let (u, k) = (user_id.to_string(), key.to_string());
        self.0
            .read(move |c| {
                let doc: Option<String> =
                    c.query_row("SELECT doc FROM orders WHERE user_id = ? AND idem = ?", params![u, k], |r| r.get(0)).optional().map_err(unavailable)?;
                doc.map(parse_order).transpose()
            })
            .await
    }

    async fn update_order(&self, id: &str, patch: &Patch, events: &[OutboxEntry]) -> Result<bool, StoreError> {
        let (id, patch, events) = (id.to_string(), patch.clone(), events.to_vec());
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(other)?;
                let n = patch_row(&tx, Kind::Order, "orders", "id", &id, &patch, ORDER_MIRRORS)?;
                // the announcements commit with the change, or neither does
                if n == 1 {
                    insert_entries(&tx, &events)?;
                }
                tx.commit().map_err(other)?;
                Ok(n == 1)
            })
            .await
    }

    async fn delete_order_if(&self, id: &str, expected: OrderStatus) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.0
            .write(move |c| Ok(c.execute("DELETE FROM orders WHERE id = ? AND status = ?", params![id, expected.as_str()]).map_err(other)? == 1))
            .await
    }

    async fn list_orders(&self, f: &OrderFilter, offset: u64, limit: u64) -> Result<(Vec<Order>, u64), StoreError> {
        let f = f.clone();
        self.0
            .read(move |c| {
                let mut cond = vec!["status != 'pending'".to_string()];
                let mut args: Vec<rusqlite::types::Value> = Vec::new();
                if let Some(s) = f.status {
                    cond.push("status = ?".into());
                    args.push(rusqlite::types::Value::Text(s.as_str().into()));
                }
                if let Some(u) = &f.user_id {
                    cond.push("user_id = ?".into());
                    args.push(rusqlite::types::Value::Text(u.clone()));
                }
                if let Some(from) = f.from {
                    cond.push("created_ts >= ?".into());
                    args.push(rusqlite::types::Value::Integer(from.timestamp_millis()));
                }
                if let Some(to) = f.to {
                    cond.push("created_ts < ?".into());
                    args.push(rusqlite::types::Value::Integer(to.timestamp_millis()));
                }
                if let Some(email) = &f.guest_email {
                    // the expression of index `orders_guest`
                    cond.push("json_extract(doc, '$.guest_email') = ?".into());
                    args.push(rusqlite::types::Value::Text(email.to_lowercase()));
                }
                if f.with_open_returns {
                    // the expression of index `orders_open_returns`
                    cond.push("json_extract(doc, '$.returns_open') > 0".into());
                }
                let cond = cond.join(" AND ");
                let total: i64 = c
                    .query_row(&format!("SELECT COUNT(*) FROM orders WHERE {cond}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                    .map_err(unavailable)?;
                let mut page_args = args.clone();
                page_args.push(rusqlite::types::Value::Integer(limit as i64));
                page_args.push(rusqlite::types::Value::Integer(offset as i64));
                let mut stmt = c
                    .prepare_cached(&format!("SELECT doc FROM orders WHERE {cond} ORDER BY created_ts DESC, id LIMIT ? OFFSET ?"))
                    .map_err(unavailable)?;
                let orders = stmt
                    .query_map(rusqlite::params_from_iter(page_args), |r| r.get::<_, String>(0))
                    .map_err(unavailable)?
                    .map(|d| d.map_err(unavailable).and_then(parse_order))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((orders, total as u64))
            })
            .await
    }

    async fn open_orders(&self, user_id: &str, at_most: u64) -> Result<u64, StoreError> {
        let user_id = user_id.to_string();
        self.0
            .read(move |c| {
                let n: i64 = c
                    .prepare_cached("SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE user_id = ?1 AND status IN ('awaiting_payment', 'placed') LIMIT ?2)")
                    .and_then(|mut s| s.query_row(rusqlite::params![user_id, i64::try_from(at_most).unwrap_or(i64::MAX)], |r| r.get(0)))
                    .map_err(unavailable)?;
                Ok(n as u64)
            })
            .await
    }

    async fn mark_ordered(&self, product_ids: &[String]) -> Result<(), StoreError> {
        let ids = product_ids.to_vec();
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(other)?;
                for id in &ids {
                    tx.execute("INSERT OR IGNORE INTO ordered_products (product_id) VALUES (?)", [id]).map_err(other)?;
                }
                tx.commit().map_err(other)
            })
            .await
    }

    async fn was_ordered(&self, product_id: &str) -> Result<bool, StoreError> {
        let id = product_id.to_string();
        self.0
            .read(move |c| Ok(c.query_row("SELECT 1 FROM ordered_products WHERE product_id = ?", [&id], |_| Ok(())).optional().map_err(unavailable)?.is_some()))
            .await
    }

    async fn stale_pending_orders(&self, before: DateTime<Utc>) -> Result<Vec<Order>, StoreError> {
        self.0
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM orders WHERE status = 'pending' AND created_ts < ?").map_err(unavailable)?;
                let orders = stmt
                    .query_map([before.timestamp_millis()], |r| r.get::<_, String>(0))
                    .map_err(unavailable)?
                    .map(|d| d.map_err(unavailable).and_then(parse_order))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(orders)
            })
            .await
    }
}
