//! The embedded store: one SQLite file in the data directory. Used when no
//! `MONGODB_URI` is set, so a fresh clone runs with one command.
//! Reads run on a small pool of connections (WAL lets them proceed while a
//! write is under way); writes go through one writer connection.
mod accounts;
mod audit;
mod catalog;
mod documents;
mod orders;
mod outbox;
mod recommend;
mod promotions;
pub mod transfer;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::ports::StoreError;

const READERS: usize = 4;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    min_price INTEGER NOT NULL,
    in_stock INTEGER NOT NULL,
    popularity INTEGER NOT NULL,
    created_ts INTEGER NOT NULL,
    doc TEXT NOT NULL
);
-- one covering index answers every listing filter and sort key without
-- touching the (large) product documents; only the page's 24 rows are read
DROP INDEX IF EXISTS products_listing;
DROP INDEX IF EXISTS products_popular;
DROP INDEX IF EXISTS products_relevance;
DROP INDEX IF EXISTS products_newest;
CREATE INDEX IF NOT EXISTS products_cover ON products(status, category, in_stock, min_price, popularity, created_ts, id);
CREATE TABLE IF NOT EXISTS skus (
    sku TEXT PRIMARY KEY,
    product_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS skus_product ON skus(product_id);
CREATE TABLE IF NOT EXISTS facet_tokens (
    token TEXT NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (token, product_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS facet_tokens_product ON facet_tokens(product_id);
CREATE TABLE IF NOT EXISTS search_tokens (
    token TEXT NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (token, product_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_tokens_product ON search_tokens(product_id);
CREATE TABLE IF NOT EXISTS categories (
    path TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS users_created ON users(created_ts DESC);
CREATE TABLE IF NOT EXISTS token_families (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    revoked_ts INTEGER
);
CREATE INDEX IF NOT EXISTS token_families_user ON token_families(user_id);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_ts INTEGER NOT NULL,
    used_ts INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family_id);
CREATE TABLE IF NOT EXISTS inventory (
    sku TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE INDEX IF NOT EXISTS inventory_product ON inventory(product_id);
CREATE INDEX IF NOT EXISTS inventory_stock ON inventory(stock, sku);
CREATE TABLE IF NOT EXISTS holds (
    order_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS returns (
    order_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    qty INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS carts (
    owner TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    idem TEXT,
    created_ts INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS orders_idem ON orders(user_id, idem) WHERE idem IS NOT NULL;
CREATE INDEX IF NOT EXISTS orders_user ON orders(user_id, created_ts DESC);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status, created_ts);
-- a guest's orders by their e-mail (an erasure finds them)
CREATE INDEX IF NOT EXISTS orders_guest ON orders(json_extract(doc, '$.guest_email')) WHERE json_extract(doc, '$.guest_email') IS NOT NULL;
-- orders with returns to handle (the panel's list)
CREATE INDEX IF NOT EXISTS orders_open_returns ON orders(json_extract(doc, '$.returns_open')) WHERE json_extract(doc, '$.returns_open') > 0;
CREATE TABLE IF NOT EXISTS ordered_products (
    product_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_ts INTEGER,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
-- the audit log: `at_ms` is epoch milliseconds; `actor_key` is the actor's
-- e-mail lower-cased (the actor filter is a case-insensitive substring)
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    actor_email TEXT NOT NULL,
    actor_key TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    summary TEXT NOT NULL,
    "before" TEXT,
    "after" TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at_ms DESC, id DESC);
-- messages to send (mails, webhooks) and the events they come from; `doc`
-- is the entry as JSON, the columns are what the relay and lists filter on;
-- `worker` + `lease_ms` are a relay's claim
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    next_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    worker TEXT,
    lease_ms INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_ms);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox(created_ms DESC, id);
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
-- each product's complements (the recommendation job's output, a JSON list)
CREATE TABLE IF NOT EXISTS complements (
    product_id TEXT PRIMARY KEY,
    built_ms INTEGER NOT NULL,
    items TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS complements_built ON complements(built_ms);
-- what admins pinned or excluded, per product
CREATE TABLE IF NOT EXISTS recommend_settings (
    product_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) WITHOUT ROWID;
-- promotions (`code_key`: the code, or `auto:<id>` for an automatic one: unique)
CREATE TABLE IF NOT EXISTS promotions (
    id TEXT PRIMARY KEY,
    code_key TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
-- uses counted against the limits: `<promotion id>` and `<promotion id> <customer>`
CREATE TABLE IF NOT EXISTS promotion_counts (
    key TEXT PRIMARY KEY,
    used INTEGER NOT NULL
) WITHOUT ROWID;
-- each order's use of a promotion; `counted`: the count keys it took (one per line)
CREATE TABLE IF NOT EXISTS promotion_redemptions (
    order_id TEXT NOT NULL,
    promotion_id TEXT NOT NULL,
    customer TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    discount_cents INTEGER NOT NULL,
    counted TEXT NOT NULL,
    released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, promotion_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS promotion_redemptions_live ON promotion_redemptions(released, promotion_id);
-- invoices and credit notes: one number per series, one document per order, kind and reference
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    series TEXT NOT NULL,
    number INTEGER NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    issued_ms INTEGER NOT NULL,
    efactura TEXT NOT NULL,
    doc TEXT NOT NULL,
    xml TEXT,
    pdf BLOB,
    answer BLOB,
    UNIQUE (series, number),
    UNIQUE (order_id, kind, reference)
);
CREATE INDEX IF NOT EXISTS documents_order ON documents(order_id);
CREATE INDEX IF NOT EXISTS documents_efactura ON documents(efactura, issued_ms);
"#;

pub struct SqliteDb {
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    writer: Mutex<Connection>,
    /// One permit per reader connection and one for the writer: waiting
    /// happens here, on the async side, so a burst of queries never parks
    /// hundreds of blocking threads on the connection locks.
    read_permits: tokio::sync::Semaphore,
    write_permit: tokio::sync::Semaphore,
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unavailable)?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16000;")
        .map_err(unavailable)?;
    Ok(conn)
}

pub(crate) fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(crate) fn other(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

/// A record body as stored in a `doc` column: JSON, stamped with this release's schema.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    crate::infra::records::to_json(value).map_err(StoreError::Other)
}

/// A record body from a `doc` column, migrated when an earlier release wrote it.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(kind: crate::domain::records::Kind, body: &str) -> Result<T, StoreError> {
    crate::infra::records::from_json(kind, body).map_err(StoreError::Other)
}

/// Maps a write error: a UNIQUE violation is a `Conflict`.
pub(crate) fn write_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| "unique constraint".into()))
        }
        _ => other(e),
    }
}

/// Columns added after the first release, added to older files in place.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_changed: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('products') WHERE name = 'changed_ms'")
        .and_then(|mut s| s.exists([]))
        .map_err(other)?;
    if !has_changed {
        // when a product was last written: search indexes follow the changes
        conn.execute_batch("ALTER TABLE products ADD COLUMN changed_ms INTEGER NOT NULL DEFAULT 0;").map_err(other)?;
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS products_changed ON products(changed_ms);").map_err(other)
}

impl SqliteDb {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Arc<Self>, StoreError> {
        // the data directory and the store are this user's only (SQLite gives
        // its -wal and -shm files the database file's mode)
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::infra::private::create_dir(dir).map_err(other)?;
        }
        if !path.exists() {
            crate::infra::private::create_file(path).map_err(other)?;
        }
        for f in [path.to_path_buf(), path.with_extension("db-wal"), path.with_extension("db-shm")] {
            crate::infra::private::restrict_file(&f);
        }
        let writer = open(path)?;
        writer.execute_batch(SCHEMA).map_err(other)?;
        migrate(&writer)?;
        let readers = (0..READERS).map(|_| open(path).map(Mutex::new)).collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Self { readers, next: AtomicUsize::new(0), writer: Mutex::new(writer), read_permits: tokio::sync::Semaphore::new(READERS), write_permit: tokio::sync::Semaphore::new(1) }))
    }

    /// Runs `f` on a reader connection, off the async runtime.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self.read_permits.acquire().await.map_err(other)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let start = this.next.fetch_add(1, Ordering::Relaxed);
            // take a free reader if there is one, else wait for the next in turn
            for k in 0..this.readers.len() {
                if let Ok(conn) = this.readers[(start + k) % this.readers.len()].try_lock() {
                    return f(&conn);
                }
            }
            let conn = this.readers[start % this.readers.len()].lock().map_err(|_| other("poisoned connection"))?;
            f(&conn)
        })
        .await
        .map_err(other)?
    }

    /// Runs `f` on the writer connection, off the async runtime.
    pub(crate) async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self.write_permit.acquire().await.map_err(other)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = this.writer.lock().map_err(|_| other("poisoned connection"))?;
            f(&mut conn)
        })
        .await
        .map_err(other)?
    }
}

/// The embedded store: every store port (catalog, users, tokens, key-value,
/// inventory, carts, orders, audit) on one SQLite file.
#[derive(Clone)]
pub struct SqliteStore(pub Arc<SqliteDb>);

/// A column that mirrors a field of the `doc` body (what queries filter on):
/// when a patch writes the field, the column follows in the same statement.
pub(crate) struct Mirror {
    pub path: &'static str,
    pub column: &'static str,
    /// The column's value from the field's and the row's key (e.g. the
    /// e-mail's lower-cased key).
    pub value: fn(&serde_json::Value, &str) -> rusqlite::types::Value,
}

/// A JSON field as a plain SQL value (text for a string, as-is otherwise).
pub(crate) fn sql_value(v: &serde_json::Value, _key: &str) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        serde_json::Value::Null => V::Null,
        serde_json::Value::String(s) => V::Text(s.clone()),
        serde_json::Value::Bool(b) => V::Integer(*b as i64),
        serde_json::Value::Number(n) => n.as_i64().map(V::Integer).or_else(|| n.as_f64().map(V::Real)).unwrap_or(V::Null),
        other => V::Text(other.to_string()),
    }
}

/// Writes a patch to the row `key_column = key` of `table` in one statement:
/// the body's fields it sets (`json_set`, `json_remove` for nulls) and the
/// mirrored columns, only where every guard holds. A body an earlier release
/// wrote is brought up to this schema first (read and written in the same
/// transaction of the one writer, so nothing comes in between). Returns the
/// rows written (0: a guard failed, or no such row).
pub(crate) fn patch_row(c: &Connection, kind: crate::domain::records::Kind, table: &str, key_column: &str, key: &str, patch: &crate::domain::patch::Patch, mirrors: &[Mirror]) -> Result<usize, StoreError> {
    use crate::domain::patch::valid_path;
    use rusqlite::types::Value as V;
    if patch.is_empty() {
        return Ok(0);
    }
    if let Some((bad, _)) = patch.sets.iter().chain(&patch.guards).find(|(p, _)| !valid_path(p)) {
        return Err(other(format!("not a field path: {bad}")));
    }
    let mut args: Vec<V> = Vec::new();
    let mut body = "doc".to_string();
    let removed: Vec<&str> = patch.sets.iter().filter(|(_, v)| v.is_null()).map(|(p, _)| p.as_str()).collect();
    if !removed.is_empty() {
        body = format!("json_remove({body}{})", ", ?".repeat(removed.len()));
        args.extend(removed.iter().map(|p| V::Text(format!("$.{p}"))));
    }
    let written: Vec<&(String, serde_json::Value)> = patch.sets.iter().filter(|(_, v)| !v.is_null()).collect();
    if !written.is_empty() {
        body = format!("json_set({body}{})", ", ?, json(?)".repeat(written.len()));
        for (p, v) in &written {
            args.push(V::Text(format!("$.{p}")));
            args.push(V::Text(v.to_string()));
        }
    }
    let mut set = vec![format!("doc = {body}")];
    set.extend(mirror_sets(patch, mirrors, key, &mut args));
    // only a body at this schema is patched in place
    let mut cond = vec![format!("{key_column} = ?"), "json_extract(doc, '$.schema') = ?".to_string()];
    args.push(V::Text(key.to_string()));
    args.push(V::Integer(crate::domain::records::CURRENT as i64));
    for (p, want) in &patch.guards {
        if want.is_null() {
            cond.push("json_extract(doc, ?) IS NULL".into());
            args.push(V::Text(format!("$.{p}")));
        } else {
            cond.push("json_extract(doc, ?) IS json_extract(?, '$')".into());
            args.push(V::Text(format!("$.{p}")));
            args.push(V::Text(want.to_string()));
        }
    }
    let sql = format!("UPDATE {table} SET {} WHERE {}", set.join(", "), cond.join(" AND "));
    let n = c.execute(&sql, rusqlite::params_from_iter(args)).map_err(write_error)?;
    if n > 0 {
        return Ok(n);
    }
    // not written: a guard failed, there is no such row, or the body is older
    let stored: Option<String> = c.query_row(&format!("SELECT doc FROM {table} WHERE {key_column} = ?"), [key], |r| r.get(0)).optional().map_err(other)?;
    let Some(stored) = stored.filter(|d| !crate::infra::records::is_current_json(d)) else { return Ok(0) };
    let mut tree = crate::infra::records::upgraded_tree(kind, &stored).map_err(other)?;
    if !patch.holds(&tree) {
        return Ok(0);
    }
    patch.apply(&mut tree);
    let mut args = vec![V::Text(crate::infra::records::tree_json(&tree).map_err(other)?)];
    let mut set = vec!["doc = ?".to_string()];
    set.extend(mirror_sets(patch, mirrors, key, &mut args));
    args.push(V::Text(key.to_string()));
    args.push(V::Text(stored));
    let sql = format!("UPDATE {table} SET {} WHERE {key_column} = ? AND doc = ?", set.join(", "));
    c.execute(&sql, rusqlite::params_from_iter(args)).map_err(write_error)
}

/// The `column = ?` of each mirrored column the patch writes (its value pushed to `args`).
fn mirror_sets(patch: &crate::domain::patch::Patch, mirrors: &[Mirror], key: &str, args: &mut Vec<rusqlite::types::Value>) -> Vec<String> {
    let mut set = Vec::new();
    for m in mirrors {
        if let Some(v) = patch.value(m.path) {
            set.push(format!("{} = ?", m.column));
            args.push((m.value)(v, key));
        }
    }
    set
}
