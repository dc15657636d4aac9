//! Promotions on MongoDB.
//!
//! * **promotions**: `{_id, code_key (unique: the code, or auto:<id>), created_ms, doc}`.
//! * **promotion_counts**: `{_id: <promotion id> | "<promotion id> <customer>", used}`.
//!   A use is taken by one conditional increment (`used < limit`, upserted):
//!   past the limit the filter matches nothing and the upsert collides with the
//!   existing `_id`, so the write fails; it never goes over.
//! * **promotion_redemptions**: `{_id: "<order> <promotion>", order_id,
//!   promotion_id, customer, total_cents, discount_cents, counted: [keys], released}`:
//!   what each order holds, so a release gives back exactly what was taken, once.
//!
//! No multi-document transaction: a crash between taking a count and
//! recording it loses that use (the limit errs on the safe side), never
//! grants one more.
use std::collections::HashMap;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::Collection;

use super::{is_duplicate_key, map_error, MongoStore};
use crate::domain::promotion::Promotion;
use crate::infra::promo_keys::{code_key, count_keys};
use crate::ports::{PromotionStore, PromotionUsage, Redeemed, Redemption, StoreError};

impl MongoStore {
    pub(super) fn promotions_coll(&self) -> Collection<Document> {
        self.database().collection("promotions")
    }
    pub(super) fn promotion_counts(&self) -> Collection<Document> {
        self.database().collection("promotion_counts")
    }
    pub(super) fn redemptions(&self) -> Collection<Document> {
        self.database().collection("promotion_redemptions")
    }

    /// Takes one use of `key` if fewer than `limit` are taken.
    async fn take(&self, key: &str, limit: Option<i64>) -> Result<bool, StoreError> {
        let mut filter = doc! { "_id": key };
        if let Some(l) = limit {
            filter.insert("used", doc! { "$lt": l });
        }
        for _ in 0..50 {
            match self.promotion_counts().update_one(filter.clone(), doc! { "$inc": { "used": 1_i64 } }).upsert(true).await {
                Ok(_) => return Ok(true),
                Err(e) if is_duplicate_key(&e) => {
                    // the limit is reached, or two first uses raced to create the count
                    let used = self.count(key).await?;
                    if limit.is_some_and(|l| used >= l) {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(map_error("count a promotion use", e)),
            }
        }
        Err(StoreError::Unavailable("the promotion is changing too fast; try again".into()))
    }

    async fn give_back(&self, key: &str) -> Result<(), StoreError> {
        self.promotion_counts()
            .update_one(doc! { "_id": key, "used": { "$gt": 0 } }, doc! { "$inc": { "used": -1_i64 } })
            .await
            .map_err(|e| map_error("give back a promotion use", e))?;
        Ok(())
    }

    async fn count(&self, key: &str) -> Result<i64, StoreError> {
        let found = self.promotion_counts().find_one(doc! { "_id": key }).await.map_err(|e| map_error("read a promotion count", e))?;
        Ok(found.and_then(|d| d.get("used").and_then(super::codec::as_i64)).unwrap_or(0))
    }
}

pub(super) fn encode(p: &Promotion) -> Result<Document, StoreError> {
    let body = crate::infra::records::to_bson(p).map_err(StoreError::Other)?;
    Ok(doc! { "_id": p.id.as_str(), "code_key": code_key(p), "created_ms": p.created_at.timestamp_millis(), "doc": body })
}

pub(super) fn decode(d: Document) -> Result<Promotion, StoreError> {
    super::codec::decode_body(d, crate::domain::records::Kind::Promotion).map_err(StoreError::Other)
}

fn conflict_or(context: &str, e: mongodb::error::Error) -> StoreError {
    if is_duplicate_key(&e) {
        StoreError::Conflict("another promotion has this code".into())
    } else {
        map_error(context, e)
    }
}

#[async_trait]
impl PromotionStore for MongoStore {
    async fn insert_promotion(&self, p: &Promotion) -> Result<(), StoreError> {
        self.promotions_coll().insert_one(encode(p)?).await.map_err(|e| conflict_or("insert promotion", e))?;
        Ok(())
    }

    async fn update_promotion(&self, id: &str, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError> {
        let mut extra = Document::new();
        if let Some(code) = patch.value("code") {
            // the unique `code_key` follows the code (an automatic promotion's is `auto:<id>`)
            extra.insert("code_key", code.as_str().map(str::to_string).unwrap_or_else(|| format!("auto:{id}")));
        }
        super::patch_document(&self.promotions_coll(), crate::domain::records::Kind::Promotion, id, patch, &[], Document::new(), extra).await.map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("another promotion has this code".into()),
            e => e,
        })
    }

    async fn promotions(&self) -> Result<Vec<Promotion>, StoreError> {
        let cursor = self.promotions_coll().find(doc! {}).sort(doc! { "created_ms": -1, "_id": 1 }).await.map_err(|e| map_error("list promotions", e))?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("list promotions", e))?;
        docs.into_iter().map(decode).collect()
    }

    async fn promotion_by_id(&self, id: &str) -> Result<Option<Promotion>, StoreError> {
        self.promotions_coll().find_one(doc! { "_id": id }).await.map_err(|e| map_error("read promotion", e))?.map(decode).transpose()
    }

    async fn promotion_by_code(&self, code: &str) -> Result<Option<Promotion>, StoreError> {
        if code.starts_with("auto:") {
            return Ok(None);
        }
        self.promotions_coll().find_one(doc! { "code_key": code }).await.map_err(|e| map_error("read promotion", e))?.map(decode).transpose()
    }

    async fn redeem(&self, r: &Redemption, usage_limit: Option<i64>, per_customer_limit: Option<i64>) -> Result<Redeemed, StoreError> {
        let id = format!("{} {}", r.order_id, r.promotion_id);
        let record = doc! {
            "_id": id.as_str(), "order_id": r.order_id.as_str(), "promotion_id": r.promotion_id.as_str(), "customer": r.customer.as_str(),
            "total_cents": r.total_cents, "discount_cents": r.discount_cents, "counted": [], "released": false,
        };
        match self.redemptions().insert_one(record).await {
            Ok(_) => {}
            Err(e) if is_duplicate_key(&e) => {
                let held = self.redemptions().find_one(doc! { "_id": id.as_str(), "released": false }).await.map_err(|e| map_error("read redemption", e))?;
                return match held {
                    Some(_) => Ok(Redeemed::Counted),
                    None => Err(StoreError::Conflict(format!("order {}: its use of this promotion was given back", r.order_id))),
                };
            }
            Err(e) => return Err(map_error("record redemption", e)),
        }
        let (all, mine) = count_keys(&r.promotion_id, &r.customer);
        let mut steps = Vec::new();
        if per_customer_limit.is_some() {
            steps.push((mine, per_customer_limit, Redeemed::UsedUpByCustomer));
        }
        steps.push((all, usage_limit, Redeemed::UsedUp));
        let mut taken: Vec<String> = Vec::new();
        for (key, limit, refused) in steps {
            let ok = match self.take(&key, limit).await {
                Ok(ok) => ok,
                Err(e) => {
                    self.undo(&id, &taken).await;
                    return Err(e);
                }
            };
            if !ok {
                self.undo(&id, &taken).await;
                return Ok(refused);
            }
            self.redemptions()
                .update_one(doc! { "_id": id.as_str() }, doc! { "$push": { "counted": key.as_str() } })
                .await
                .map_err(|e| map_error("record redemption", e))?;
            taken.push(key);
        }
        Ok(Redeemed::Counted)
    }

    async fn release_redemptions(&self, order_id: &str) -> Result<u64, StoreError> {
        let cursor = self.redemptions().find(doc! { "order_id": order_id, "released": false }).projection(doc! { "_id": 1 }).await.map_err(|e| map_error("read redemptions", e))?;
        let ids: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("read redemptions", e))?;
        let mut n = 0;
        for d in ids {
            let Ok(id) = d.get_str("_id") else { continue };
            // one release wins; it gives back what the record says was taken
            let before = self
                .redemptions()
                .find_one_and_update(doc! { "_id": id, "released": false }, doc! { "$set": { "released": true } })
                .await
                .map_err(|e| map_error("release redemption", e))?;
            if let Some(before) = before {
                for key in before.get_array("counted").map(|a| a.iter().filter_map(|k| k.as_str().map(String::from)).collect::<Vec<_>>()).unwrap_or_default() {
                    self.give_back(&key).await?;
                }
                n += 1;
            }
        }
        Ok(n)
    }

    async fn promotion_uses(&self, promotion_id: &str, customer: Option<&str>) -> Result<(i64, i64), StoreError> {
        let (all, mine) = count_keys(promotion_id, customer.unwrap_or(""));
        Ok((self.count(&all).await?, if customer.is_some() { self.count(&mine).await? } else { 0 }))
    }

    async fn promotion_usage(&self) -> Result<HashMap<String, PromotionUsage>, StoreError> {
        let pipeline = vec![
            doc! { "$match": { "released": false } },
            doc! { "$group": { "_id": "$promotion_id", "n": { "$sum": 1 }, "revenue": { "$sum": "$total_cents" } } },
        ];
        let cursor = self.redemptions().aggregate(pipeline).await.map_err(|e| map_error("promotion usage", e))?;
        let rows: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("promotion usage", e))?;
        let mut out = HashMap::new();
        for d in rows {
            let Ok(id) = d.get_str("_id") else { continue };
            let n = d.get("n").and_then(super::codec::as_i64).unwrap_or(0);
            let revenue = d.get("revenue").and_then(super::codec::as_i64).unwrap_or(0);
            out.insert(id.to_string(), PromotionUsage { redemptions: n, revenue_cents: revenue });
        }
        Ok(out)
    }
}

impl MongoStore {
    /// Gives back the uses a refused redemption took, and forgets it.
    async fn undo(&self, id: &str, taken: &[String]) {
        for key in taken {
            if let Err(e) = self.give_back(key).await {
                tracing::warn!(error = %e, key, "could not give back a promotion use (the limit errs on the safe side)");
            }
        }
        if let Err(e) = self.redemptions().delete_one(doc! { "_id": id }).await {
            tracing::warn!(error = %e, "could not remove a refused redemption");
        }
    }
}
