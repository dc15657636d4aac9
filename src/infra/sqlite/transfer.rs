//! The embedded store's tables ⇄ [`Record`]s, for moving a shop to or from
//! MongoDB (see `infra::transfer`).
use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection};

use super::{decode, encode, other, unavailable, write_error};
use crate::domain::category::Category;
use crate::domain::records::Kind;
use crate::infra::transfer::Record;
use crate::ports::StoreError;

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Runs `sql` and hands each row, mapped by `row`, to `emit`.
fn each<T>(
    c: &Connection,
    sql: &str,
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    mut emit: impl FnMut(T) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = c.prepare(sql).map_err(unavailable)?;
    let mut rows = stmt.query([]).map_err(unavailable)?;
    while let Some(r) = rows.next().map_err(unavailable)? {
        emit(row(r).map_err(unavailable)?)?;
    }
    Ok(())
}

/// `(order, sku) → qty` rows of `holds` or `returns`, by SKU.
fn per_sku(c: &Connection, table: &str) -> Result<BTreeMap<String, BTreeMap<String, i64>>, StoreError> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    each(c, &format!("SELECT sku, order_id, qty FROM {table}"), |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)), |(sku, order, qty)| {
        out.entry(sku).or_default().insert(order, qty);
        Ok(())
    })?;
    Ok(out)
}

/// Every record of the store, in an order a target can write them in
/// (inventory before the products whose snapshot it feeds). Run it inside
/// one read transaction for a consistent copy.
pub fn export(c: &Connection, emit: &mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError> {
    each(c, "SELECT path, name FROM categories ORDER BY path", |r| Ok(Category { path: r.get(0)?, name: r.get(1)? }), |x| emit(Record::Category(x)))?;
    let (mut holds, mut returns) = (per_sku(c, "holds")?, per_sku(c, "returns")?);
    each(c, "SELECT sku, product_id, stock FROM inventory ORDER BY sku", |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)), |(sku, product_id, stock)| {
        let (h, r) = (holds.remove(&sku).unwrap_or_default(), returns.remove(&sku).unwrap_or_default());
        emit(Record::Stock { sku, product_id, stock, holds: h, returns: r })
    })?;
    let body = |r: &rusqlite::Row<'_>| r.get::<_, String>(0);
    each(c, "SELECT doc FROM products ORDER BY id", body, |d| emit(Record::Product(decode(Kind::Product, &d)?)))?;
    each(c, "SELECT doc FROM users ORDER BY id", body, |d| emit(Record::User(decode(Kind::User, &d)?)))?;
    each(
        c,
        "SELECT id, user_id, created_ts, revoked_ts FROM token_families ORDER BY id",
        |r| Ok(Record::TokenFamily { id: r.get(0)?, user_id: r.get(1)?, created_at: from_ms(r.get(2)?), revoked_at: r.get::<_, Option<i64>>(3)?.map(from_ms) }),
        &mut *emit,
    )?;
    each(
        c,
        "SELECT token_hash, family_id, user_id, expires_ts, used_ts FROM refresh_tokens ORDER BY token_hash",
        |r| {
            Ok(Record::RefreshToken {
                token_hash: r.get(0)?,
                family_id: r.get(1)?,
                user_id: r.get(2)?,
                expires_at: from_ms(r.get(3)?),
                used_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
            })
        },
        &mut *emit,
    )?;
    each(
        c,
        "SELECT ns, key, value, expires_ts FROM kv ORDER BY ns, key",
        |r| Ok(Record::Value { ns: r.get(0)?, key: r.get(1)?, value: r.get(2)?, expires_at: r.get::<_, Option<i64>>(3)?.map(from_ms) }),
        &mut *emit,
    )?;
    each(c, "SELECT doc FROM carts ORDER BY owner", body, |d| emit(Record::Cart(decode(Kind::Cart, &d)?)))?;
    each(c, "SELECT doc FROM orders ORDER BY id", body, |d| emit(Record::Order(decode(Kind::Order, &d)?)))?;
    each(c, "SELECT product_id FROM ordered_products ORDER BY product_id", |r| Ok(Record::Ordered { product_id: r.get(0)? }), &mut *emit)?;
    each(c, "SELECT name, n FROM counters ORDER BY name", |r| Ok(Record::Counter { name: r.get(0)?, n: r.get(1)? }), &mut *emit)?;
    each(
        c,
        r#"SELECT id, at_ms, actor_id, actor_email, action, target, summary, "before", "after" FROM audit ORDER BY at_ms, id"#,
        |r| super::audit::entry_from_row(r).map(Record::Audit),
        &mut *emit,
    )?;
    each(c, "SELECT doc FROM outbox ORDER BY created_ms, id", body, |d| emit(Record::Outbox(decode(Kind::OutboxEntry, &d)?)))?;
    each(c, "SELECT doc FROM webhook_endpoints ORDER BY id", body, |d| emit(Record::Endpoint(decode(Kind::WebhookEndpoint, &d)?)))?;
    each(
        c,
        "SELECT product_id, built_ms, items FROM complements ORDER BY product_id",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
        |(product_id, built_ms, items)| emit(Record::Complements { product_id, built_ms, items: serde_json::from_str(&items).map_err(other)? }),
    )?;
    each(c, "SELECT doc FROM recommend_settings ORDER BY product_id", body, |d| emit(Record::RecommendSettings(decode(Kind::RecommendSettings, &d)?)))?;
    each(c, "SELECT doc FROM promotions ORDER BY id", body, |d| emit(Record::Promotion(decode(Kind::Promotion, &d)?)))?;
    each(c, "SELECT key, used FROM promotion_counts ORDER BY key", |r| Ok(Record::PromotionCount { key: r.get(0)?, used: r.get(1)? }), &mut *emit)?;
    each(
        c,
        "SELECT order_id, promotion_id, customer, total_cents, discount_cents, counted, released FROM promotion_redemptions ORDER BY order_id, promotion_id",
        |r| {
            Ok(Record::Redemption {
                order_id: r.get(0)?,
                promotion_id: r.get(1)?,
                customer: r.get(2)?,
                total_cents: r.get(3)?,
                discount_cents: r.get(4)?,
                counted: r.get::<_, String>(5)?.lines().map(str::to_string).collect(),
                released: r.get::<_, i64>(6)? != 0,
            })
        },
        &mut *emit,
    )
}

/// Writes records into the store, inside the caller's transaction. The
/// store is being restored (empty): a record that is already there is an
/// error, except an outbox entry (MongoDB may carry one twice, on its order
/// and in the outbox).
pub fn import(tx: &Connection, records: &[Record]) -> Result<(), StoreError> {
    let ms = |t: &DateTime<Utc>| t.timestamp_millis();
    for record in records {
        match record {
            Record::Product(p) => super::catalog::write_products(tx, std::slice::from_ref(p))?,
            Record::Category(x) => {
                tx.execute("INSERT INTO categories (path, name) VALUES (?, ?)", params![x.path, x.name]).map_err(write_error)?;
            }
            Record::User(u) => {
                tx.execute(
                    "INSERT INTO users (id, email_key, email, name, created_ts, doc) VALUES (?, ?, ?, ?, ?, ?)",
                    params![u.id, u.email_key(), u.email, u.name, ms(&u.created_at), encode(u)?],
                )
                .map_err(write_error)?;
            }
            Record::TokenFamily { id, user_id, created_at, revoked_at } => {
                tx.execute("INSERT INTO token_families (id, user_id, created_ts, revoked_ts) VALUES (?, ?, ?, ?)", params![id, user_id, ms(created_at), revoked_at.as_ref().map(ms)])
                    .map_err(write_error)?;
            }
            Record::RefreshToken { token_hash, family_id, user_id, expires_at, used_at } => {
                tx.execute(
                    "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_ts, used_ts) VALUES (?, ?, ?, ?, ?)",
                    params![token_hash, family_id, user_id, ms(expires_at), used_at.as_ref().map(ms)],
                )
                .map_err(write_error)?;
            }
            Record::Value { ns, key, value, expires_at } => {
                tx.execute("INSERT INTO kv (ns, key, value, expires_ts) VALUES (?, ?, ?, ?)", params![ns, key, value, expires_at.as_ref().map(ms)]).map_err(write_error)?;
            }
            Record::Stock { sku, product_id, stock, holds, returns } => {
                tx.execute("INSERT INTO inventory (sku, product_id, stock) VALUES (?, ?, ?)", params![sku, product_id, stock]).map_err(write_error)?;
                for (table, rows) in [("holds", holds), ("returns", returns)] {
                    for (order_id, qty) in rows {
                        tx.execute(&format!("INSERT INTO {table} (order_id, sku, qty) VALUES (?, ?, ?)"), params![order_id, sku, qty]).map_err(write_error)?;
                    }
                }
            }
            Record::Cart(cart) => {
                tx.execute("INSERT INTO carts (owner, version, doc) VALUES (?, ?, ?)", params![cart.owner, cart.version, encode(cart)?]).map_err(write_error)?;
            }
            Record::Order(o) => {
                tx.execute(
                    "INSERT INTO orders (id, user_id, status, idem, created_ts, doc) VALUES (?, ?, ?, ?, ?, ?)",
                    params![o.id, o.user_id, o.status.as_str(), o.idempotency_key, ms(&o.created_at), encode(o)?],
                )
                .map_err(write_error)?;
            }
            Record::Ordered { product_id } => {
                tx.execute("INSERT INTO ordered_products (product_id) VALUES (?)", [product_id]).map_err(write_error)?;
            }
            Record::Counter { name, n } => {
                tx.execute("INSERT INTO counters (name, n) VALUES (?, ?)", params![name, n]).map_err(write_error)?;
            }
            Record::Audit(e) => super::audit::insert(tx, e)?,
            Record::Outbox(e) => super::outbox::insert_entries(tx, std::slice::from_ref(e))?,
            Record::Endpoint(e) => {
                tx.execute("INSERT INTO webhook_endpoints (id, created_ms, doc) VALUES (?, ?, ?)", params![e.id, ms(&e.created_at), encode(e)?]).map_err(write_error)?;
            }
            Record::Complements { product_id, built_ms, items } => {
                let items = serde_json::to_string(items).map_err(other)?;
                tx.execute("INSERT INTO complements (product_id, built_ms, items) VALUES (?, ?, ?)", params![product_id, built_ms, items]).map_err(write_error)?;
            }
            Record::RecommendSettings(s) => {
                tx.execute("INSERT INTO recommend_settings (product_id, doc) VALUES (?, ?)", params![s.product_id, encode(s)?]).map_err(write_error)?;
            }
            Record::Promotion(p) => {
                tx.execute(
                    "INSERT INTO promotions (id, code_key, created_ms, doc) VALUES (?, ?, ?, ?)",
                    params![p.id, crate::infra::promo_keys::code_key(p), ms(&p.created_at), encode(p)?],
                )
                .map_err(write_error)?;
            }
            Record::PromotionCount { key, used } => {
                tx.execute("INSERT INTO promotion_counts (key, used) VALUES (?, ?)", params![key, used]).map_err(write_error)?;
            }
            Record::Redemption { order_id, promotion_id, customer, total_cents, discount_cents, counted, released } => {
                tx.execute(
                    "INSERT INTO promotion_redemptions (order_id, promotion_id, customer, total_cents, discount_cents, counted, released) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    params![order_id, promotion_id, customer, total_cents, discount_cents, counted.join("\n"), *released as i64],
                )
                .map_err(write_error)?;
            }
        }
    }
    Ok(())
}
