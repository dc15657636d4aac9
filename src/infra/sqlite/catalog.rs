use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{other, unavailable, write_error, SqliteStore};
use super::{decode, encode};
use crate::domain::records::Kind;
use crate::domain::category::Category;
use crate::domain::product::{Product, ProductSummary};
use crate::domain::query::{assemble_facets, CatalogQuery, SearchResult, Sort};
use crate::ports::{CatalogStore, StoreError};

/// SQL condition on `products p` for a query; `skip_key` leaves out one
/// attribute key's filter (facet counts for that key).
fn condition(q: &CatalogQuery, skip_key: Option<&str>, args: &mut Vec<Value>) -> String {
    let statuses = q.status_names();
    let mut parts = vec![format!("p.status IN ({})", placeholders(statuses.len()))];
    args.extend(statuses.into_iter().map(|s| Value::Text(s.to_string())));
    if let Some(cat) = &q.category {
        // the category or any descendant: `cat/` ≤ path < `cat0` ('0' follows '/')
        parts.push("(p.category = ? OR (p.category > ? AND p.category < ?))".into());
        args.push(Value::Text(cat.clone()));
        args.push(Value::Text(format!("{cat}/")));
        args.push(Value::Text(format!("{cat}0")));
    }
    if let Some(lo) = q.min_price {
        parts.push("p.min_price >= ?".into());
        args.push(Value::Integer(lo));
    }
    if let Some(hi) = q.max_price {
        parts.push("p.min_price <= ?".into());
        args.push(Value::Integer(hi));
    }
    if q.in_stock {
        parts.push("p.in_stock = 1".into());
    }
    let words = q.search_tokens();
    if !words.is_empty() {
        parts.push(format!(
            "p.id IN (SELECT product_id FROM search_tokens WHERE token IN ({}) GROUP BY product_id HAVING COUNT(*) = {})",
            placeholders(words.len()),
            words.len()
        ));
        args.extend(words.into_iter().map(Value::Text));
    }
    for (key, tokens) in q.attr_token_groups() {
        if Some(key.as_str()) == skip_key {
            continue;
        }
        parts.push(format!("p.id IN (SELECT product_id FROM facet_tokens WHERE token IN ({}))", placeholders(tokens.len())));
        args.extend(tokens.into_iter().map(Value::Text));
    }
    parts.join(" AND ")
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

fn order_by(sort: Sort) -> &'static str {
    match sort {
        Sort::Relevance => "p.in_stock DESC, p.popularity DESC, p.id",
        Sort::Popular => "p.popularity DESC, p.id",
        Sort::PriceAsc => "p.min_price ASC, p.id",
        Sort::PriceDesc => "p.min_price DESC, p.id",
        Sort::Newest => "p.created_ts DESC, p.id",
    }
}

fn token_counts(conn: &Connection, q: &CatalogQuery, skip_key: Option<&str>) -> Result<Vec<(String, u64)>, StoreError> {
    let mut args = Vec::new();
    let cond = condition(q, skip_key, &mut args);
    let mut sql = format!("SELECT f.token, COUNT(*) FROM facet_tokens f JOIN products p ON p.id = f.product_id WHERE {cond}");
    if let Some(key) = skip_key {
        sql.push_str(" AND f.token >= ? AND f.token < ?");
        args.push(Value::Text(format!("{key}=")));
        args.push(Value::Text(format!("{key}>"))); // '>' follows '='
    }
    sql.push_str(" GROUP BY f.token");
    let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))
        .map_err(unavailable)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
}

fn search_sync(conn: &Connection, q: &CatalogQuery) -> Result<SearchResult, StoreError> {
    let mut args = Vec::new();
    let cond = condition(q, None, &mut args);
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM products p WHERE {cond}"))
        .and_then(|mut s| s.query_row(params_from_iter(args.iter()), |r| r.get(0)))
        .map_err(unavailable)?;
    let sql = format!("SELECT p.doc FROM products p WHERE {cond} ORDER BY {} LIMIT ? OFFSET ?", order_by(q.sort));
    let mut page_args = args.clone();
    page_args.push(Value::Integer(q.per_page as i64));
    page_args.push(Value::Integer(q.offset() as i64));
    let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
    let items = stmt
        .query_map(params_from_iter(page_args), |r| r.get::<_, String>(0))
        .map_err(unavailable)?
        .map(|doc| {
            let doc = doc.map_err(unavailable)?;
            decode::<Product>(Kind::Product, &doc).map(|p| p.summary())
        })
        .collect::<Result<Vec<ProductSummary>, _>>()?;
    let base = token_counts(conn, q, None)?;
    let mut per_key = Vec::new();
    for key in q.attrs.keys() {
        per_key.push((key.clone(), token_counts(conn, q, Some(key))?));
    }
    Ok(SearchResult { items, page: q.page, per_page: q.per_page, total: total as u64, facets: assemble_facets(&base, &per_key) })
}

/// Current inventory of a product's SKUs.
fn inventory_of(conn: &Connection, skus: &[&str]) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT stock FROM inventory WHERE sku = ?").map_err(other)?;
    let mut out = std::collections::HashMap::new();
    for sku in skus {
        if let Some(n) = stmt.query_row([sku], |r| r.get::<_, i64>(0)).optional().map_err(other)? {
            out.insert(sku.to_string(), n);
        }
    }
    Ok(out)
}

/// The product with each variant's stock taken from the inventory.
fn with_inventory(conn: &Connection, p: &Product) -> Result<Product, StoreError> {
    let skus: Vec<&str> = p.variants.iter().map(|v| v.sku.as_str()).collect();
    let stock = inventory_of(conn, &skus)?;
    let mut p = p.clone();
    for v in &mut p.variants {
        if let Some(n) = stock.get(&v.sku) {
            v.stock = *n;
        }
    }
    Ok(p)
}

fn write_product_row(tx: &Connection, p: &Product) -> Result<(), StoreError> {
    let doc = encode(p)?;
    tx.execute(
        "INSERT INTO products (id, slug, status, category, min_price, in_stock, popularity, created_ts, doc, changed_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(id) DO UPDATE SET slug = excluded.slug, status = excluded.status, category = excluded.category,
           min_price = excluded.min_price, in_stock = excluded.in_stock, popularity = excluded.popularity,
           created_ts = excluded.created_ts, doc = excluded.doc, changed_ms = excluded.changed_ms",
        params![p.id, p.slug, p.status.as_str(), p.category, p.min_price().amount, p.in_stock() as i64, p.popularity, p.created_at.timestamp_millis(), doc, chrono::Utc::now().timestamp_millis()],
    )
    .map_err(|e| match write_error(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("slug {} is already used", p.slug)),
        e => e,
    })?;
    Ok(())
}

fn upsert_sync(conn: &mut Connection, products: &[Product]) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
    write_products(&tx, products)?;
    tx.commit().map_err(other)
}

/// Writes products with their SKUs, first inventory and tokens, inside the caller's transaction.
pub(super) fn write_products(tx: &Connection, products: &[Product]) -> Result<(), StoreError> {
    for p in products {
        for table in ["skus", "facet_tokens", "search_tokens"] {
            tx.execute(&format!("DELETE FROM {table} WHERE product_id = ?"), [&p.id]).map_err(other)?;
        }
        {
            let mut ins = tx.prepare_cached("INSERT INTO skus (sku, product_id) VALUES (?, ?)").map_err(other)?;
            let mut inv = tx.prepare_cached("INSERT OR IGNORE INTO inventory (sku, product_id, stock) VALUES (?, ?, ?)").map_err(other)?;
            for v in &p.variants {
                ins.execute(params![v.sku, p.id]).map_err(|e| match write_error(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("SKU {} is already used", v.sku)),
                    e => e,
                })?;
                inv.execute(params![v.sku, p.id, v.stock.max(0)]).map_err(other)?;
            }
        }
        let p = with_inventory(tx, p)?;
        write_product_row(tx, &p)?;
        {
            let mut ft = tx.prepare_cached("INSERT INTO facet_tokens (token, product_id) VALUES (?, ?)").map_err(other)?;
            for t in p.facet_tokens() {
                ft.execute(params![t, p.id]).map_err(other)?;
            }
            let mut st = tx.prepare_cached("INSERT INTO search_tokens (token, product_id) VALUES (?, ?)").map_err(other)?;
            for t in p.search_tokens() {
                st.execute(params![t, p.id]).map_err(other)?;
            }
        }
    }
    Ok(())
}

fn product_where(conn: &Connection, column: &str, value: &str) -> Result<Option<Product>, StoreError> {
    let doc: Option<String> = conn
        .prepare_cached(&format!("SELECT doc FROM products WHERE {column} = ?"))
        .and_then(|mut s| s.query_row([value], |r| r.get(0)).optional())
        .map_err(unavailable)?;
    doc.map(|d| decode(Kind::Product, &d)).transpose()
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.0.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(unavailable)).await
    }

    async fn reset(&self) -> Result<(), StoreError> {
        self.0
            .write(|c| {
                c.execute_batch("DELETE FROM products; DELETE FROM skus; DELETE FROM facet_tokens; DELETE FROM search_tokens; DELETE FROM categories; DELETE FROM inventory; DELETE FROM holds; DELETE FROM returns; DELETE FROM carts; DELETE FROM orders; DELETE FROM counters; DELETE FROM ordered_products; DELETE FROM promotion_counts; DELETE FROM promotion_redemptions;")
                    .map_err(other)
            })
            .await
    }

    async fn upsert_products(&self, products: &[Product]) -> Result<(), StoreError> {
        let products = products.to_vec();
        self.0.write(move |c| upsert_sync(c, &products)).await
    }

    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>, StoreError> {
        let slug = slug.to_string();
        self.0.read(move |c| product_where(c, "slug", &slug)).await
    }

    async fn product_by_id(&self, id: &str) -> Result<Option<Product>, StoreError> {
        let id = id.to_string();
        self.0.read(move |c| product_where(c, "id", &id)).await
    }

    async fn search(&self, query: &CatalogQuery) -> Result<SearchResult, StoreError> {
        let q = query.clone();
        self.0.read(move |c| search_sync(c, &q)).await
    }

    async fn count_products(&self) -> Result<u64, StoreError> {
        self.0.read(|c| c.query_row("SELECT COUNT(*) FROM products", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(unavailable)).await
    }

    async fn upsert_categories(&self, categories: &[Category]) -> Result<(), StoreError> {
        let cats = categories.to_vec();
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                for cat in &cats {
                    tx.execute(
                        "INSERT INTO categories (path, name) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET name = excluded.name",
                        params![cat.path, cat.name],
                    )
                    .map_err(other)?;
                }
                tx.commit().map_err(other)
            })
            .await
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        self.0
            .read(|c| {
                let mut s = c.prepare_cached("SELECT path, name FROM categories ORDER BY path").map_err(unavailable)?;
                let rows = s.query_map([], |r| Ok(Category { path: r.get(0)?, name: r.get(1)? })).map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
            })
            .await
    }

    async fn active_counts_by_category(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.0
            .read(|c| {
                let mut s = c
                    .prepare_cached("SELECT category, COUNT(*) FROM products WHERE status = 'active' GROUP BY category")
                    .map_err(unavailable)?;
                let rows = s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))).map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
            })
            .await
    }

    async fn products_by_skus(&self, skus: &[String]) -> Result<Vec<Product>, StoreError> {
        let skus = skus.to_vec();
        self.0
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached("SELECT DISTINCT p.doc FROM skus s JOIN products p ON p.id = s.product_id WHERE s.sku = ?")
                    .map_err(unavailable)?;
                let mut seen = std::collections::BTreeMap::new();
                for sku in &skus {
                    let docs = stmt.query_map([sku], |r| r.get::<_, String>(0)).map_err(unavailable)?;
                    for d in docs {
                        let p: Product = decode(Kind::Product, &d.map_err(unavailable)?)?;
                        seen.insert(p.id.clone(), p);
                    }
                }
                Ok(seen.into_values().collect())
            })
            .await
    }

    async fn products_by_ids(&self, ids: &[String]) -> Result<Vec<Product>, StoreError> {
        let ids = ids.to_vec();
        self.0
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM products WHERE id = ?").map_err(unavailable)?;
                let mut out = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(d) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional().map_err(unavailable)? {
                        out.push(decode::<Product>(Kind::Product, &d)?);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn sync_stock_snapshot(&self, product_ids: &[String]) -> Result<(), StoreError> {
        let ids = product_ids.to_vec();
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                for id in &ids {
                    if let Some(p) = product_where(&tx, "id", id)? {
                        let patched = with_inventory(&tx, &p)?;
                        if patched != p {
                            write_product_row(&tx, &patched)?;
                        }
                    }
                }
                tx.commit().map_err(other)
            })
            .await
    }

    async fn products_after(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<Product>, StoreError> {
        let after = after_id.unwrap_or("").to_string();
        self.0
            .read(move |c| {
                let mut s = c.prepare_cached("SELECT doc FROM products WHERE id > ? ORDER BY id LIMIT ?").map_err(unavailable)?;
                let rows = s.query_map(params![after, limit], |r| r.get::<_, String>(0)).map_err(unavailable)?;
                rows.map(|d| decode::<Product>(Kind::Product, &d.map_err(unavailable)?)).collect()
            })
            .await
    }

    async fn restamp_products(&self, after_id: Option<&str>, limit: u32) -> Result<(Option<String>, u32), StoreError> {
        let after = after_id.unwrap_or("").to_string();
        // read on a reader: the writer (orders, stock) is taken only when a page has old products
        let (last, stale) = self
            .0
            .read(move |c| {
                let mut s = c.prepare_cached("SELECT id, doc FROM products WHERE id > ? ORDER BY id LIMIT ?").map_err(unavailable)?;
                let rows = s.query_map(params![after, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(unavailable)?;
                let (mut last, mut stale) = (None, Vec::new());
                for row in rows {
                    let (id, doc) = row.map_err(unavailable)?;
                    if !crate::infra::records::is_current_json(&doc) {
                        let new = encode(&decode::<Product>(Kind::Product, &doc)?)?;
                        stale.push((id.clone(), doc, new));
                    }
                    last = Some(id);
                }
                Ok((last, stale))
            })
            .await?;
        if stale.is_empty() {
            return Ok((last, 0));
        }
        let rewritten = self
            .0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                let mut n = 0;
                for (id, old, new) in &stale {
                    // the old text as the guard: a product written meanwhile keeps its write
                    n += tx.execute("UPDATE products SET doc = ?1 WHERE id = ?2 AND doc = ?3", params![new, id, old]).map_err(other)? as u32;
                }
                tx.commit().map_err(other)?;
                Ok(n)
            })
            .await?;
        Ok((last, rewritten))
    }

    async fn products_changed_since(&self, since_ms: i64, limit: u32) -> Result<Vec<(i64, Product)>, StoreError> {
        self.0
            .read(move |c| {
                let mut s = c
                    .prepare_cached("SELECT changed_ms, doc FROM products WHERE changed_ms >= ? ORDER BY changed_ms, id LIMIT ?")
                    .map_err(unavailable)?;
                let rows = s.query_map(params![since_ms, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).map_err(unavailable)?;
                rows.map(|row| {
                    let (at, d) = row.map_err(unavailable)?;
                    Ok((at, decode::<Product>(Kind::Product, &d)?))
                })
                .collect()
            })
            .await
    }

    async fn delete_product(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                for table in ["skus", "facet_tokens", "search_tokens"] {
                    tx.execute(&format!("DELETE FROM {table} WHERE product_id = ?"), [&id]).map_err(other)?;
                }
                let n = tx.execute("DELETE FROM products WHERE id = ?", [&id]).map_err(other)?;
                tx.commit().map_err(other)?;
                Ok(n == 1)
            })
            .await
    }
}
