//! The catalog port on MongoDB: products, categories, listings with facet
//! counts (one aggregate), and the inventory side of product writes.
use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};

use super::codec::{as_count, decode_product, find_body, product_document, skus_of, str_array};
use super::paging::read_all;
use super::inventory::with_stock;
use super::{is_duplicate_key, map_error, MongoStore, CONFLICT_CHECK_CHUNK};
use crate::domain::category::Category;
use crate::domain::product::Product;
use crate::domain::query::{assemble_facets, CatalogQuery, SearchResult, Sort};
use crate::ports::{CatalogStore, StoreError};

impl MongoStore {
    /// Refuses a batch in which two different products share a slug or a
    /// SKU, or that uses a slug or SKU of a product outside the batch.
    async fn check_conflicts(&self, products: &[Product]) -> Result<(), StoreError> {
        let mut slug_owner: HashMap<&str, &str> = HashMap::new();
        let mut sku_owner: HashMap<&str, &str> = HashMap::new();
        for p in products {
            if let Some(other) = slug_owner.insert(p.slug.as_str(), p.id.as_str()) {
                if other != p.id {
                    return Err(StoreError::Conflict(format!(
                        "slug {:?} is used by both {:?} and {:?}",
                        p.slug, other, p.id
                    )));
                }
            }
            for sku in skus_of(p) {
                if let Some(other) = sku_owner.insert(sku, p.id.as_str()) {
                    if other != p.id {
                        return Err(StoreError::Conflict(format!(
                            "SKU {sku:?} is used by both {other:?} and {:?}",
                            p.id
                        )));
                    }
                }
            }
        }

        for chunk in products.chunks(CONFLICT_CHECK_CHUNK) {
            let ids: BTreeSet<&str> = chunk.iter().map(|p| p.id.as_str()).collect();
            let slugs: BTreeSet<&str> = chunk.iter().map(|p| p.slug.as_str()).collect();
            let skus: BTreeSet<&str> = chunk.iter().flat_map(skus_of).collect();
            let mut alternatives = vec![Bson::Document(doc! { "slug": { "$in": str_array(slugs.iter().copied()) } })];
            if !skus.is_empty() {
                alternatives.push(Bson::Document(doc! { "skus": { "$in": str_array(skus.iter().copied()) } }));
            }
            let filter = doc! {
                "_id": { "$nin": str_array(ids.iter().copied()) },
                "$or": alternatives,
            };
            let found = self
                .products
                .find_one(filter)
                .projection(doc! { "slug": 1, "skus": 1 })
                .await
                .map_err(|e| map_error("check slug and SKU conflicts", e))?;
            if let Some(existing) = found {
                let owner = existing.get_str("_id").unwrap_or("another product").to_string();
                if let Ok(slug) = existing.get_str("slug") {
                    if slugs.contains(slug) {
                        return Err(StoreError::Conflict(format!("slug {slug:?} is already used by product {owner:?}")));
                    }
                }
                if let Ok(taken) = existing.get_array("skus") {
                    if let Some(sku) = taken.iter().filter_map(Bson::as_str).find(|s| skus.contains(s)) {
                        return Err(StoreError::Conflict(format!("SKU {sku:?} is already used by product {owner:?}")));
                    }
                }
                return Err(StoreError::Conflict(format!(
                    "a slug or SKU of this batch is already used by product {owner:?}"
                )));
            }
        }
        Ok(())
    }
}

impl MongoStore {
    /// Products in `_id` order after `after_id`, `limit` of them, with the fields of `projection`.
    async fn products_page(&self, after_id: Option<&str>, limit: u32, projection: Document) -> Result<mongodb::Cursor<Document>, StoreError> {
        let filter = match after_id {
            Some(id) => doc! { "_id": { "$gt": id } },
            None => doc! {},
        };
        self.products
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .projection(projection)
            .await
            .map_err(|e| map_error("page products", e))
    }
}

#[async_trait]
impl CatalogStore for MongoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! { "ping": 1 }).await.map_err(|e| map_error("ping", e))?;
        Ok(())
    }

    async fn reset(&self) -> Result<(), StoreError> {
        self.products.delete_many(doc! {}).await.map_err(|e| map_error("delete products", e))?;
        self.categories.delete_many(doc! {}).await.map_err(|e| map_error("delete categories", e))?;
        self.inventory.delete_many(doc! {}).await.map_err(|e| map_error("delete inventory", e))?;
        self.carts.delete_many(doc! {}).await.map_err(|e| map_error("delete carts", e))?;
        self.orders.delete_many(doc! {}).await.map_err(|e| map_error("delete orders", e))?;
        self.counters.delete_many(doc! {}).await.map_err(|e| map_error("delete counters", e))?;
        self.ordered.delete_many(doc! {}).await.map_err(|e| map_error("delete ordered markers", e))?;
        self.promotion_counts().delete_many(doc! {}).await.map_err(|e| map_error("delete promotion counts", e))?;
        self.redemptions().delete_many(doc! {}).await.map_err(|e| map_error("delete redemptions", e))?;
        Ok(())
    }

    async fn upsert_products(&self, products: &[Product]) -> Result<(), StoreError> {
        if products.is_empty() {
            return Ok(());
        }
        self.check_conflicts(products).await?;
        for chunk in products.chunks(CONFLICT_CHECK_CHUNK) {
            // New SKUs get inventory first; the snapshot shows what it holds.
            let levels = self.ensure_inventory(chunk).await?;
            for p in chunk {
                let document = product_document(&with_stock(p, &levels))?;
                self.products
                    .replace_one(doc! { "_id": p.id.clone() }, document)
                    .upsert(true)
                    .await
                    .map_err(|e| {
                        if is_duplicate_key(&e) {
                            StoreError::Conflict(format!(
                                "product {:?}: slug {:?} or one of its SKUs is already used by another product",
                                p.id, p.slug
                            ))
                        } else {
                            map_error("write product", e)
                        }
                    })?;
            }
        }
        Ok(())
    }

    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>, StoreError> {
        self.find_product(doc! { "slug": slug }).await
    }

    async fn product_by_id(&self, id: &str) -> Result<Option<Product>, StoreError> {
        self.find_product(doc! { "_id": id }).await
    }

    async fn delete_product(&self, id: &str) -> Result<bool, StoreError> {
        let r = self.products.delete_one(doc! { "_id": id }).await.map_err(|e| map_error("delete product", e))?;
        Ok(r.deleted_count == 1)
    }

    async fn search(&self, query: &CatalogQuery) -> Result<SearchResult, StoreError> {
        let groups = query.attr_token_groups();
        let clauses: Vec<Document> = groups
            .iter()
            .map(|(_, tokens)| doc! { "facet_tokens": { "$in": str_array(tokens.iter().map(String::as_str)) } })
            .collect();
        let all_clauses: Vec<&Document> = clauses.iter().collect();

        let skip = i64::try_from(query.offset()).unwrap_or(i64::MAX);
        let limit = i64::from(query.per_page.max(1));

        let mut items = match_stage(&all_clauses);
        items.push(doc! { "$sort": sort_spec(query.sort) });
        items.push(doc! { "$skip": skip });
        items.push(doc! { "$limit": limit });
        items.push(doc! { "$project": { "doc": 1 } });

        let mut total = match_stage(&all_clauses);
        total.push(doc! { "$count": "n" });

        let mut facet = Document::new();
        facet.insert("items", stages(items));
        facet.insert("total", stages(total));
        facet.insert("facets", stages(count_tokens(match_stage(&all_clauses))));
        for (i, _) in groups.iter().enumerate() {
            let others: Vec<&Document> =
                clauses.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| c).collect();
            facet.insert(format!("k{i}"), stages(count_tokens(match_stage(&others))));
        }

        let pipeline = vec![doc! { "$match": base_filter(query) }, doc! { "$facet": facet }];
        let mut cursor = self.products.aggregate(pipeline).await.map_err(|e| map_error("search products", e))?;
        // `$facet` yields one document (none at all on some servers when
        // nothing matched the first `$match`).
        let mut out = cursor
            .try_next()
            .await
            .map_err(|e| map_error("read search results", e))?
            .unwrap_or_default();

        let mut summaries = Vec::new();
        if let Some(Bson::Array(rows)) = out.remove("items") {
            for row in rows {
                let Bson::Document(row) = row else { continue };
                let id = row.get("_id").map(|b| b.to_string()).unwrap_or_default();
                match decode_product(row) {
                    Ok(p) => summaries.push(p.summary()),
                    Err(e) => tracing::warn!(product_id = %id, error = %e, "skipping an unreadable product"),
                }
            }
        }
        summaries.truncate(query.per_page as usize);

        let total = match out.get("total") {
            Some(Bson::Array(rows)) => rows
                .first()
                .and_then(Bson::as_document)
                .and_then(|d| d.get("n"))
                .and_then(as_count)
                .unwrap_or(0),
            _ => 0,
        };
        let base_counts = token_counts(out.remove("facets"));
        let per_key: Vec<(String, Vec<(String, u64)>)> = groups
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (key.clone(), token_counts(out.remove(&format!("k{i}")))))
            .collect();

        Ok(SearchResult {
            items: summaries,
            page: query.page,
            per_page: query.per_page,
            total,
            facets: assemble_facets(&base_counts, &per_key),
        })
    }

    async fn count_products(&self) -> Result<u64, StoreError> {
        super::paging::count(&self.products, doc! {}).await.map_err(|e| map_error("count products", e))
    }

    async fn upsert_categories(&self, categories: &[Category]) -> Result<(), StoreError> {
        for c in categories {
            self.categories
                .replace_one(doc! { "_id": c.path.clone() }, doc! { "_id": c.path.clone(), "name": c.name.clone() })
                .upsert(true)
                .await
                .map_err(|e| map_error("write category", e))?;
        }
        Ok(())
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let mut cursor = self
            .categories
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .map_err(|e| map_error("list categories", e))?;
        let mut out = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(|e| map_error("read categories", e))? {
            match (d.get_str("_id"), d.get_str("name")) {
                (Ok(path), Ok(name)) => out.push(Category { path: path.to_string(), name: name.to_string() }),
                _ => tracing::warn!(category = ?d.get("_id"), "skipping a malformed category document"),
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn active_counts_by_category(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let pipeline = vec![
            doc! { "$match": { "status": "active" } },
            doc! { "$group": { "_id": "$category", "n": { "$sum": 1 } } },
        ];
        let mut cursor = self.products.aggregate(pipeline).await.map_err(|e| map_error("count by category", e))?;
        let mut out = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(|e| map_error("read category counts", e))? {
            if let (Ok(path), Some(n)) = (d.get_str("_id"), d.get("n").and_then(as_count)) {
                out.push((path.to_string(), n));
            }
        }
        out.sort();
        Ok(out)
    }

    async fn products_by_ids(&self, ids: &[String]) -> Result<Vec<Product>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cursor = self.products.find(doc! { "_id": { "$in": ids } }).projection(doc! { "doc": 1 }).await.map_err(|e| map_error("find products by id", e))?;
        read_all(cursor, "products", decode_product).await
    }

    async fn products_by_skus(&self, skus: &[String]) -> Result<Vec<Product>, StoreError> {
        let wanted: BTreeSet<&str> = skus.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut cursor = self
            .products
            .find(doc! { "skus": { "$in": str_array(wanted.iter().copied()) } })
            .sort(doc! { "_id": 1 })
            .projection(doc! { "doc": 1 })
            .await
            .map_err(|e| map_error("find products by SKU", e))?;
        let mut out = Vec::new();
        while let Some(d) = cursor.try_next().await.map_err(|e| map_error("read products", e))? {
            let id = d.get("_id").map(|b| b.to_string()).unwrap_or_default();
            match decode_product(d) {
                Ok(p) => out.push(p),
                Err(e) => tracing::warn!(product_id = %id, error = %e, "skipping an unreadable product"),
            }
        }
        Ok(out)
    }

    async fn sync_stock_snapshot(&self, product_ids: &[String]) -> Result<(), StoreError> {
        self.sync_snapshots(product_ids).await
    }

    async fn restamp_products(&self, after_id: Option<&str>, limit: u32) -> Result<(Option<String>, u32), StoreError> {
        let cursor = self.products_page(after_id, limit, doc! { "doc": 1, "rev": 1 }).await?;
        let page: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("page products", e))?;
        let mut rewritten = 0;
        for d in &page {
            let current = d.get_document("doc").map(crate::infra::records::is_current_bson).unwrap_or(false);
            if current {
                continue;
            }
            let id = d.get_str("_id").map_err(|e| StoreError::Other(e.to_string()))?;
            let product = decode_product(d.clone()).map_err(StoreError::Other)?;
            let body = crate::infra::records::to_bson(&product).map_err(StoreError::Other)?;
            // `rev` changes with every write: a product written meanwhile keeps its write
            let rev = d.get("rev").cloned().unwrap_or(Bson::Null);
            let r = self
                .products
                .update_one(doc! { "_id": id, "rev": rev }, doc! { "$set": { "doc": body } })
                .await
                .map_err(|e| map_error("restamp a product", e))?;
            rewritten += r.matched_count as u32;
        }
        Ok((page.last().and_then(|d| d.get_str("_id").ok()).map(str::to_string), rewritten))
    }

    async fn products_after(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<Product>, StoreError> {
        let cursor = self.products_page(after_id, limit, doc! { "doc": 1 }).await?;
        Ok(read_products(cursor).await?.into_iter().map(|(_, p)| p).collect())
    }

    async fn products_changed_since(&self, since_ms: i64, limit: u32) -> Result<Vec<(i64, Product)>, StoreError> {
        let cursor = self
            .products
            .find(doc! { "changed_ms": { "$gte": since_ms } })
            .sort(doc! { "changed_ms": 1, "_id": 1 })
            .limit(i64::from(limit))
            .projection(doc! { "doc": 1, "changed_ms": 1 })
            .await
            .map_err(|e| map_error("changed products", e))?;
        read_products(cursor).await
    }
}

/// Decodes product documents with their `changed_ms`, skipping unreadable ones.
async fn read_products(mut cursor: mongodb::Cursor<Document>) -> Result<Vec<(i64, Product)>, StoreError> {
    let mut out = Vec::new();
    while let Some(mut d) = cursor.try_next().await.map_err(|e| map_error("read products", e))? {
        let id = d.get("_id").map(|b| b.to_string()).unwrap_or_default();
        let at = d.remove("changed_ms").and_then(|b| as_count(&b)).map(|n| n as i64).unwrap_or(0);
        match decode_product(d) {
            Ok(p) => out.push((at, p)),
            Err(e) => tracing::warn!(product_id = %id, error = %e, "skipping an unreadable product"),
        }
    }
    Ok(out)
}

impl MongoStore {
    async fn find_product(&self, filter: Document) -> Result<Option<Product>, StoreError> {
        find_body(&self.products, filter, crate::domain::records::Kind::Product).await
    }
}

/// Everything but the attribute filters: active, category (with its
/// descendants), price range, stock and search words.
fn base_filter(query: &CatalogQuery) -> Document {
    let statuses = query.status_names();
    let mut f = if statuses.len() == 1 { doc! { "status": statuses[0] } } else { doc! { "status": { "$in": statuses } } };
    if let Some(category) = &query.category {
        f.insert("category_paths", category.clone());
    }
    let mut price = Document::new();
    if let Some(lo) = query.min_price {
        price.insert("$gte", lo);
    }
    if let Some(hi) = query.max_price {
        price.insert("$lte", hi);
    }
    if !price.is_empty() {
        f.insert("min_price", price);
    }
    if query.in_stock {
        f.insert("in_stock", true);
    }
    let words = query.search_tokens();
    if !words.is_empty() {
        f.insert("search_tokens", doc! { "$all": str_array(words.iter().map(String::as_str)) });
    }
    f
}

/// A `$match` on the given attribute clauses, or no stage at all (an empty
/// `$and` is invalid).
fn match_stage(clauses: &[&Document]) -> Vec<Document> {
    if clauses.is_empty() {
        Vec::new()
    } else {
        let and: Vec<Bson> = clauses.iter().map(|c| Bson::Document((*c).clone())).collect();
        vec![doc! { "$match": { "$and": and } }]
    }
}

/// Appends the token-count stages. Nothing may follow `$group`: nx-27017
/// ignores stages after `$unwind` + `$group`.
fn count_tokens(mut pipeline: Vec<Document>) -> Vec<Document> {
    pipeline.push(doc! { "$unwind": "$facet_tokens" });
    pipeline.push(doc! { "$group": { "_id": "$facet_tokens", "n": { "$sum": 1 } } });
    pipeline
}

fn stages(pipeline: Vec<Document>) -> Bson {
    Bson::Array(pipeline.into_iter().map(Bson::Document).collect())
}

/// Every order ends with `_id` so pages never overlap.
fn sort_spec(sort: Sort) -> Document {
    match sort {
        Sort::Relevance => doc! { "in_stock": -1, "popularity": -1, "_id": 1 },
        Sort::Popular => doc! { "popularity": -1, "_id": 1 },
        Sort::PriceAsc => doc! { "min_price": 1, "_id": 1 },
        Sort::PriceDesc => doc! { "min_price": -1, "_id": 1 },
        Sort::Newest => doc! { "created_ts": -1, "_id": 1 },
    }
}

/// `[{_id: token, n: count}]` rows of a count branch.
fn token_counts(rows: Option<Bson>) -> Vec<(String, u64)> {
    let Some(Bson::Array(rows)) = rows else { return Vec::new() };
    rows.iter()
        .filter_map(Bson::as_document)
        .filter_map(|d| Some((d.get_str("_id").ok()?.to_string(), d.get("n").and_then(as_count)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(qs: &str) -> CatalogQuery {
        CatalogQuery::from_query_string(qs).expect("valid query")
    }

    #[test]
    fn base_filter_keeps_user_strings_as_values() {
        let f = base_filter(&query("q=Red+shirts&category=clothing&min_price=100&max_price=900&in_stock=true"));
        assert_eq!(f.get_str("status").ok(), Some("active"));
        assert_eq!(f.get_str("category_paths").ok(), Some("clothing"));
        let price = f.get_document("min_price").expect("price range");
        assert_eq!(price.get_i64("$gte").ok(), Some(100));
        assert_eq!(price.get_i64("$lte").ok(), Some(900));
        assert_eq!(f.get_bool("in_stock").ok(), Some(true));
        let all = f.get_document("search_tokens").and_then(|d| d.get_array("$all")).expect("$all");
        assert_eq!(all.len(), 2);
        for key in f.keys() {
            assert!(["status", "category_paths", "min_price", "in_stock", "search_tokens"].contains(&key.as_str()));
        }
    }

    #[test]
    fn no_attribute_filter_means_no_match_stage() {
        assert!(match_stage(&[]).is_empty());
        let clause = doc! { "facet_tokens": { "$in": ["color=Red"] } };
        let stage = match_stage(&[&clause]);
        assert_eq!(stage.len(), 1);
        assert!(stage[0].get_document("$match").and_then(|m| m.get_array("$and")).is_ok());
    }

    #[test]
    fn facet_counts_are_read_leniently() {
        let rows = Bson::Array(vec![
            Bson::Document(doc! { "_id": "color=Red", "n": 2_i32 }),
            Bson::Document(doc! { "_id": Bson::Null, "n": 1_i64 }),
            Bson::Document(doc! { "_id": "size=M", "n": 1.0 }),
        ]);
        assert_eq!(token_counts(Some(rows)), vec![("color=Red".to_string(), 2), ("size=M".to_string(), 1)]);
    }
}
