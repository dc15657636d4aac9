//! Recommendations in the embedded store: `complements` (one JSON list per
//! product) and `recommend_settings`; baskets are read from `orders`.
use async_trait::async_trait;
use rusqlite::params;

use super::{other, unavailable, SqliteStore};
use super::{decode, encode};
use crate::domain::records::Kind;
use crate::domain::recommend::{Basket, RecommendSettings, Scored};
use crate::infra::baskets::{SlimOrder, COUNTED_STATUSES};
use crate::ports::{RecommendStore, StoreError};

#[async_trait]
impl RecommendStore for SqliteStore {
    async fn baskets_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<Basket>, StoreError> {
        let after = after.unwrap_or("").to_string();
        self.0
            .read(move |c| {
                // `+status`: the primary key walks the orders in id order, page by page;
                // the status index would sort every counted order (bodies too) for each page
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT id, user_id, created_ts, doc FROM orders WHERE id > ? AND +status IN ({}) ORDER BY id LIMIT ?",
                        COUNTED_STATUSES.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
                    ))
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![after, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?)))
                    .map_err(unavailable)?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, user, at, doc) = row.map_err(unavailable)?;
                    let slim: SlimOrder = decode(Kind::Order, &doc)?;
                    out.push(slim.basket(id, user, at));
                }
                Ok(out)
            })
            .await
    }

    async fn put_complements(&self, built_ms: i64, rows: &[(String, Vec<Scored>)]) -> Result<(), StoreError> {
        let rows = rows.iter().map(|(id, list)| Ok((id.clone(), serde_json::to_string(list).map_err(other)?))).collect::<Result<Vec<_>, StoreError>>()?;
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                {
                    let mut stmt = tx.prepare_cached("INSERT OR REPLACE INTO complements (product_id, built_ms, items) VALUES (?, ?, ?)").map_err(other)?;
                    for (id, items) in &rows {
                        stmt.execute(params![id, built_ms, items]).map_err(other)?;
                    }
                }
                tx.commit().map_err(other)
            })
            .await
    }

    async fn drop_complements_before(&self, built_ms: i64) -> Result<u64, StoreError> {
        self.0.write(move |c| c.execute("DELETE FROM complements WHERE built_ms < ?", params![built_ms]).map(|n| n as u64).map_err(other)).await
    }

    async fn all_complements(&self) -> Result<Vec<(String, Vec<Scored>)>, StoreError> {
        self.0
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT product_id, items FROM complements").map_err(unavailable)?;
                let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(unavailable)?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, items) = row.map_err(unavailable)?;
                    out.push((id, serde_json::from_str(&items).map_err(other)?));
                }
                Ok(out)
            })
            .await
    }

    async fn complements(&self, product_id: &str) -> Result<Vec<Scored>, StoreError> {
        let id = product_id.to_string();
        self.0
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT items FROM complements WHERE product_id = ?").map_err(unavailable)?;
                let mut rows = stmt.query(params![id]).map_err(unavailable)?;
                match rows.next().map_err(unavailable)? {
                    Some(row) => serde_json::from_str(&row.get::<_, String>(0).map_err(unavailable)?).map_err(other),
                    None => Ok(Vec::new()),
                }
            })
            .await
    }

    async fn recommend_settings(&self) -> Result<Vec<RecommendSettings>, StoreError> {
        self.0
            .read(|c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM recommend_settings ORDER BY product_id").map_err(unavailable)?;
                let docs = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(unavailable)?.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
                docs.iter().map(|d| decode(Kind::RecommendSettings, d)).collect()
            })
            .await
    }

    async fn save_recommend_settings(&self, settings: &RecommendSettings) -> Result<(), StoreError> {
        let s = settings.clone();
        let doc = encode(&s)?;
        self.0
            .write(move |c| {
                if s.pinned.is_empty() && !s.excluded {
                    c.execute("DELETE FROM recommend_settings WHERE product_id = ?", params![s.product_id]).map_err(other)?;
                } else {
                    c.execute("INSERT OR REPLACE INTO recommend_settings (product_id, doc) VALUES (?, ?)", params![s.product_id, doc]).map_err(other)?;
                }
                Ok(())
            })
            .await
    }
}
