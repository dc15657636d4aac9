//! Promotions in the embedded store. A use is counted in one transaction
//! (the single writer): the limits are read and the counts raised together,
//! so no two orders can both take the last use.
use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::{other, unavailable, write_error, SqliteStore};
use super::encode;
use crate::domain::records::Kind;
use crate::domain::promotion::Promotion;
use crate::infra::promo_keys::{code_key, count_keys};
use crate::ports::{PromotionStore, PromotionUsage, Redeemed, Redemption, StoreError};

fn used(c: &rusqlite::Connection, key: &str) -> Result<i64, StoreError> {
    c.query_row("SELECT used FROM promotion_counts WHERE key = ?", [key], |r| r.get(0)).optional().map(|u| u.unwrap_or(0)).map_err(unavailable)
}

fn decode(doc: String) -> Result<Promotion, StoreError> {
    super::decode(Kind::Promotion, &doc)
}

/// `code_key` follows the code (an automatic promotion's is `auto:<id>`).
const PROMOTION_MIRRORS: &[super::Mirror] = &[super::Mirror { path: "code", column: "code_key", value: code_column }];

fn code_column(code: &serde_json::Value, id: &str) -> rusqlite::types::Value {
    rusqlite::types::Value::Text(code.as_str().map(str::to_string).unwrap_or_else(|| format!("auto:{id}")))
}

#[async_trait]
impl PromotionStore for SqliteStore {
    async fn insert_promotion(&self, p: &Promotion) -> Result<(), StoreError> {
        let (id, key, ms, doc) = (p.id.clone(), code_key(p), p.created_at.timestamp_millis(), encode(p)?);
        self.0
            .write(move |c| {
                c.execute("INSERT INTO promotions (id, code_key, created_ms, doc) VALUES (?, ?, ?, ?)", params![id, key, ms, doc]).map_err(write_error)?;
                Ok(())
            })
            .await
    }

    async fn update_promotion(&self, id: &str, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.0.write(move |c| Ok(super::patch_row(c, Kind::Promotion, "promotions", "id", &id, &patch, PROMOTION_MIRRORS)? == 1)).await
    }

    async fn promotions(&self) -> Result<Vec<Promotion>, StoreError> {
        self.0
            .read(|c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM promotions ORDER BY created_ms DESC, id").map_err(unavailable)?;
                let docs = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(unavailable)?.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
                docs.into_iter().map(decode).collect()
            })
            .await
    }

    async fn promotion_by_id(&self, id: &str) -> Result<Option<Promotion>, StoreError> {
        let id = id.to_string();
        self.0
            .read(move |c| c.query_row("SELECT doc FROM promotions WHERE id = ?", [&id], |r| r.get::<_, String>(0)).optional().map_err(unavailable)?.map(decode).transpose())
            .await
    }

    async fn promotion_by_code(&self, code: &str) -> Result<Option<Promotion>, StoreError> {
        if code.starts_with("auto:") {
            return Ok(None);
        }
        let code = code.to_string();
        self.0
            .read(move |c| c.query_row("SELECT doc FROM promotions WHERE code_key = ?", [&code], |r| r.get::<_, String>(0)).optional().map_err(unavailable)?.map(decode).transpose())
            .await
    }

    async fn redeem(&self, r: &Redemption, usage_limit: Option<i64>, per_customer_limit: Option<i64>) -> Result<Redeemed, StoreError> {
        let r = r.clone();
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                let held: Option<i64> = tx
                    .query_row("SELECT released FROM promotion_redemptions WHERE order_id = ? AND promotion_id = ?", params![r.order_id, r.promotion_id], |row| row.get(0))
                    .optional()
                    .map_err(other)?;
                if held == Some(0) {
                    return Ok(Redeemed::Counted);
                }
                let (all, mine) = count_keys(&r.promotion_id, &r.customer);
                if let Some(limit) = per_customer_limit {
                    if used(&tx, &mine)? >= limit {
                        return Ok(Redeemed::UsedUpByCustomer);
                    }
                }
                if let Some(limit) = usage_limit {
                    if used(&tx, &all)? >= limit {
                        return Ok(Redeemed::UsedUp);
                    }
                }
                let mut counted = vec![all];
                if per_customer_limit.is_some() {
                    counted.push(mine);
                }
                for key in &counted {
                    tx.execute("INSERT INTO promotion_counts (key, used) VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET used = used + 1", [key]).map_err(other)?;
                }
                tx.execute(
                    "INSERT OR REPLACE INTO promotion_redemptions (order_id, promotion_id, customer, total_cents, discount_cents, counted, released) VALUES (?, ?, ?, ?, ?, ?, 0)",
                    params![r.order_id, r.promotion_id, r.customer, r.total_cents, r.discount_cents, counted.join("\n")],
                )
                .map_err(other)?;
                tx.commit().map_err(other)?;
                Ok(Redeemed::Counted)
            })
            .await
    }

    async fn release_redemptions(&self, order_id: &str) -> Result<u64, StoreError> {
        let order_id = order_id.to_string();
        self.0
            .write(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(unavailable)?;
                let held: Vec<(String, String)> = {
                    let mut stmt = tx.prepare_cached("SELECT promotion_id, counted FROM promotion_redemptions WHERE order_id = ? AND released = 0").map_err(other)?;
                    let rows = stmt.query_map([&order_id], |r| Ok((r.get(0)?, r.get(1)?))).map_err(other)?;
                    rows.collect::<Result<_, _>>().map_err(other)?
                };
                for (promotion_id, counted) in &held {
                    tx.execute("UPDATE promotion_redemptions SET released = 1 WHERE order_id = ? AND promotion_id = ?", params![order_id, promotion_id]).map_err(other)?;
                    for key in counted.lines() {
                        tx.execute("UPDATE promotion_counts SET used = used - 1 WHERE key = ? AND used > 0", [key]).map_err(other)?;
                    }
                }
                tx.commit().map_err(other)?;
                Ok(held.len() as u64)
            })
            .await
    }

    async fn promotion_uses(&self, promotion_id: &str, customer: Option<&str>) -> Result<(i64, i64), StoreError> {
        let (all, mine) = count_keys(promotion_id, customer.unwrap_or(""));
        let has_customer = customer.is_some();
        self.0.read(move |c| Ok((used(c, &all)?, if has_customer { used(c, &mine)? } else { 0 }))).await
    }

    async fn promotion_usage(&self) -> Result<HashMap<String, PromotionUsage>, StoreError> {
        self.0
            .read(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT promotion_id, COUNT(*), COALESCE(SUM(total_cents), 0) FROM promotion_redemptions WHERE released = 0 GROUP BY promotion_id")
                    .map_err(unavailable)?;
                let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, PromotionUsage { redemptions: r.get(1)?, revenue_cents: r.get(2)? }))).map_err(unavailable)?;
                rows.collect::<Result<_, _>>().map_err(unavailable)
            })
            .await
    }
}
