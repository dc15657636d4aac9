//! Recommendations on MongoDB: `complements` (`{_id: product id, built_ms,
//! items: [{id, score}]}`, one document per product, so a read is one
//! lookup by `_id`) and `recommend_settings` (`{_id: product id, doc}`);
//! baskets are read from `orders` with a projection of what they need.
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Document};
use mongodb::Collection;

use super::codec::decode_body;
use crate::domain::records::Kind;
use super::paging::read_all;
use super::{map_error, MongoStore};
use crate::domain::recommend::{Basket, RecommendSettings, Scored};
use crate::infra::baskets::{SlimOrder, COUNTED_STATUSES};
use crate::ports::{RecommendStore, StoreError};

impl MongoStore {
    fn complements_coll(&self) -> Collection<Document> {
        self.database().collection("complements")
    }
    fn settings_coll(&self) -> Collection<Document> {
        self.database().collection("recommend_settings")
    }
}

fn bson_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

#[async_trait]
impl RecommendStore for MongoStore {
    async fn baskets_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<Basket>, StoreError> {
        let filter = doc! { "_id": { "$gt": after.unwrap_or("") }, "status": { "$in": COUNTED_STATUSES.to_vec() } };
        let cursor = self
            .orders
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit as i64)
            .projection(doc! { "created_ts": 1, "basket": 1 })
            .await
            .map_err(|e| map_error("read baskets", e))?;
        let rows = read_all(cursor, "orders", |d| {
            let id = d.get_str("_id").map_err(|e| e.to_string())?.to_string();
            let at = d.get_i64("created_ts").map_err(|e| e.to_string())?;
            let basket = match d.get_document("basket") {
                Ok(b) => Some((
                    b.get_str("customer").map_err(|e| e.to_string())?.to_string(),
                    b.get_array("products").map_err(|e| e.to_string())?.iter().filter_map(|p| p.as_str().map(String::from)).collect::<Vec<_>>(),
                )),
                Err(_) => None,
            };
            Ok((id, at, basket))
        })
        .await?;
        // orders written before baskets were stored beside them: read their bodies
        let legacy: Vec<&str> = rows.iter().filter(|r| r.2.is_none()).map(|r| r.0.as_str()).collect();
        let mut bodies = std::collections::HashMap::new();
        if !legacy.is_empty() {
            let cursor = self.orders.find(doc! { "_id": { "$in": legacy } }).projection(doc! { "doc": 1, "user_id": 1 }).await.map_err(|e| map_error("read baskets", e))?;
            for (id, b) in read_all(cursor, "orders", |mut d| {
                let id = d.get_str("_id").map_err(|e| e.to_string())?.to_string();
                let user = d.get_str("user_id").map_err(|e| e.to_string())?.to_string();
                let slim: SlimOrder = decode_body(std::mem::take(&mut d), Kind::Order)?;
                Ok((id.clone(), slim.basket(id, user, 0)))
            })
            .await?
            {
                bodies.insert(id, b);
            }
        }
        Ok(rows
            .into_iter()
            .filter_map(|(id, at, basket)| {
                let (customer, products) = match basket {
                    Some(b) => b,
                    None => bodies.remove(&id).map(|b| (b.customer, b.products))?,
                };
                Some(Basket { order_id: id, customer, at: chrono::DateTime::from_timestamp_millis(at).unwrap_or_default(), products })
            })
            .collect())
    }

    async fn put_complements(&self, built_ms: i64, rows: &[(String, Vec<Scored>)]) -> Result<(), StoreError> {
        use futures::StreamExt;
        let coll = self.complements_coll();
        let docs = rows
            .iter()
            .map(|(id, list)| Ok((id.clone(), doc! { "_id": id.as_str(), "built_ms": built_ms, "items": bson::serialize_to_bson(list).map_err(bson_error)? })))
            .collect::<Result<Vec<_>, StoreError>>()?;
        // one replace per product, 16 in flight (a client-side bulk write needs MongoDB 8)
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(docs)
            .map(|(id, d)| {
                let coll = coll.clone();
                async move { coll.replace_one(doc! { "_id": id.as_str() }, d).upsert(true).await.map(|_| ()).map_err(|e| map_error("write complements", e)) }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn drop_complements_before(&self, built_ms: i64) -> Result<u64, StoreError> {
        let r = self.complements_coll().delete_many(doc! { "built_ms": { "$lt": built_ms } }).await.map_err(|e| map_error("drop complements", e))?;
        Ok(r.deleted_count)
    }

    async fn all_complements(&self) -> Result<Vec<(String, Vec<Scored>)>, StoreError> {
        let cursor = self.complements_coll().find(doc! {}).projection(doc! { "items": 1 }).await.map_err(|e| map_error("read complements", e))?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("read complements", e))?;
        docs.into_iter()
            .map(|mut d| {
                let id = d.get_str("_id").map(str::to_string).map_err(|e| StoreError::Other(e.to_string()))?;
                let items = d.remove("items").map(bson::deserialize_from_bson).transpose().map_err(bson_error)?.unwrap_or_default();
                Ok((id, items))
            })
            .collect()
    }

    async fn complements(&self, product_id: &str) -> Result<Vec<Scored>, StoreError> {
        let found = self.complements_coll().find_one(doc! { "_id": product_id }).projection(doc! { "items": 1 }).await.map_err(|e| map_error("read complements", e))?;
        match found.and_then(|mut d| d.remove("items")) {
            Some(items) => bson::deserialize_from_bson(items).map_err(bson_error),
            None => Ok(Vec::new()),
        }
    }

    async fn recommend_settings(&self) -> Result<Vec<RecommendSettings>, StoreError> {
        let cursor = self.settings_coll().find(doc! {}).sort(doc! { "_id": 1 }).await.map_err(|e| map_error("read recommendation settings", e))?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("read recommendation settings", e))?;
        docs.into_iter().map(|d| decode_body(d, Kind::RecommendSettings).map_err(StoreError::Other)).collect()
    }

    async fn save_recommend_settings(&self, settings: &RecommendSettings) -> Result<(), StoreError> {
        let coll = self.settings_coll();
        let id = settings.product_id.as_str();
        if settings.pinned.is_empty() && !settings.excluded {
            coll.delete_one(doc! { "_id": id }).await.map_err(|e| map_error("delete recommendation settings", e))?;
        } else {
            let body = crate::infra::records::to_bson(settings).map_err(StoreError::Other)?;
            coll.replace_one(doc! { "_id": id }, doc! { "_id": id, "doc": body }).upsert(true).await.map_err(|e| map_error("save recommendation settings", e))?;
        }
        Ok(())
    }
}
