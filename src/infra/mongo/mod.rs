//! MongoDB adapter of [`CatalogStore`].
//!
//! Correct on MongoDB 6.0+ and on the test server nx-27017 (a wire-protocol
//! server backed by SQLite), which lacks parts of MongoDB. The choices that
//! make one code path work on both:
//!
//! * **One document per product.** `_id` is the product id; the domain
//!   [`Product`] is stored whole under `doc` (serde → BSON, timestamps as
//!   RFC 3339 strings) and read back from there, so a round trip gives an
//!   identical value. Beside it sit denormalized query fields: `slug`,
//!   `status`, `category`, `category_paths`, `min_price`, `in_stock`,
//!   `popularity`, `created_ts`, `skus`, `facet_tokens`, `search_tokens`.
//! * **Search without `$text`.** nx-27017's `$text` treats several words as
//!   AND and drops phrases; MongoDB's is OR. A lower-cased `search_tokens`
//!   array (words and their prefixes, built by the domain) queried with
//!   `$all` means "every word matches" on both, through a multikey index.
//! * **Facets without `$objectToArray`.** nx-27017 cannot group by fields of
//!   unwound sub-documents, so attribute maps are never queried directly: a
//!   `facet_tokens` array of `key=value` strings carries brand, attributes
//!   and variant options. Filters are `$and` of one `{facet_tokens: {$in}}`
//!   per key (OR within a key, AND across keys). A listing is ONE aggregate
//!   with a `$facet` stage: the page, the total, the counts, and one branch
//!   per filtered key whose `$match` leaves out that key's own clause.
//!   Count branches end with `$unwind` + `$group` (nx-27017 ignores stages
//!   after those) and are sorted in Rust (`assemble_facets`).
//! * **User input is only ever a value** (inside `$in`, `$all` or an
//!   equality), never a field name or an operator; `$facet` branch names are
//!   `k0`, `k1`, ... rather than attribute keys.
//! * **No transactions** (nx-27017 gives them no isolation; a standalone
//!   mongod rejects them): every write is a single-document write (product
//!   `replace_one`; guarded updates for stock, carts and orders).
//! * **Uniqueness.** `slug` has a unique index. SKUs live in a `skus` array
//!   with a unique *sparse* multikey index, and the field is left out when a
//!   product has no variants: on MongoDB that rejects a SKU used by two
//!   products (an empty array would index as one shared key). nx-27017
//!   compares a whole array as one value, so before writing, the adapter also
//!   looks for other products using any of the slugs or SKUs (one query per
//!   batch) and reports a `Conflict` naming them.
//!
//! * **Stock.** The `inventory` collection (one document per SKU, see
//!   `orders.rs`) is the truth; a product document carries a snapshot of it
//!   (variant stock, `in_stock`) for listings. Writing a product creates the
//!   inventory of SKUs seen for the first time (with the variant's stock)
//!   and stores the product with the inventory's stock, so a re-import never
//!   undoes what orders took. Every product write stamps a fresh `rev`, which
//!   `sync_stock_snapshot` uses as its guard.
//!
//! The account ports (users, refresh tokens, key/value) live in
//! `accounts.rs`; inventory, carts and orders in `orders.rs`; the audit log
//! in `audit.rs`; all on collections of the same database.
mod accounts;
mod audit;
mod orders;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};

use crate::domain::category::Category;
use crate::domain::product::Product;
use crate::domain::query::{assemble_facets, CatalogQuery, SearchResult, Sort};
use crate::ports::{CatalogStore, StoreError};

const PRODUCTS: &str = "products";
const CATEGORIES: &str = "categories";
const USERS: &str = "users";
const TOKEN_FAMILIES: &str = "token_families";
const REFRESH_TOKENS: &str = "refresh_tokens";
const KV: &str = "kv";
const INVENTORY: &str = "inventory";
const CARTS: &str = "carts";
const ORDERS: &str = "orders";
const COUNTERS: &str = "counters";
const AUDIT: &str = "audit";
/// Products checked for slug/SKU conflicts per query.
const CONFLICT_CHECK_CHUNK: usize = 200;

const DUPLICATE_KEY_CODES: [i32; 2] = [11000, 11001];
/// Server error codes that mean "try again later" rather than "bad request":
/// shutdown, interruption, stepdown and not-primary states.
const UNAVAILABLE_CODES: [i32; 11] = [6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435];

/// The catalog in MongoDB: collections `products` and `categories`; the
/// accounts in `users`, `token_families`, `refresh_tokens` and `kv`; stock
/// and orders in `inventory`, `carts`, `orders` and `counters`; the audit
/// log in `audit`.
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    products: Collection<Document>,
    categories: Collection<Document>,
    users: Collection<Document>,
    token_families: Collection<Document>,
    refresh_tokens: Collection<Document>,
    kv: Collection<Document>,
    inventory: Collection<Document>,
    carts: Collection<Document>,
    orders: Collection<Document>,
    counters: Collection<Document>,
    /// `_id`: a product id that was ordered at least once (such products are archived, not deleted).
    ordered: Collection<Document>,
    audit: Collection<Document>,
}

impl MongoStore {
    /// Connects (server selection and connect timeouts default to 2 s unless
    /// the URI sets them) and makes sure the indexes exist.
    pub async fn connect(uri: &str, db_name: &str) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| map_error("parse MongoDB connection string", e))?;
        if options.server_selection_timeout.is_none() {
            options.server_selection_timeout = Some(Duration::from_secs(2));
        }
        if options.connect_timeout.is_none() {
            options.connect_timeout = Some(Duration::from_secs(2));
        }
        if options.app_name.is_none() {
            options.app_name = Some("vitrina".to_string());
        }
        let client = Client::with_options(options).map_err(|e| map_error("create MongoDB client", e))?;
        Self::from_database(client.database(db_name)).await
    }

    /// Uses an existing database handle (shared client, tests) and makes
    /// sure the indexes exist.
    pub async fn from_database(db: Database) -> Result<Self, StoreError> {
        let store = Self {
            products: db.collection::<Document>(PRODUCTS),
            categories: db.collection::<Document>(CATEGORIES),
            users: db.collection::<Document>(USERS),
            token_families: db.collection::<Document>(TOKEN_FAMILIES),
            refresh_tokens: db.collection::<Document>(REFRESH_TOKENS),
            kv: db.collection::<Document>(KV),
            inventory: db.collection::<Document>(INVENTORY),
            carts: db.collection::<Document>(CARTS),
            orders: db.collection::<Document>(ORDERS),
            counters: db.collection::<Document>(COUNTERS),
            ordered: db.collection::<Document>("ordered_products"),
            audit: db.collection::<Document>(AUDIT),
            db,
        };
        store.ensure_indexes().await?;
        Ok(store)
    }

    /// The database handle, for adapters that share the connection.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Creates the catalog's, the accounts' and the orders' indexes;
    /// idempotent. An unreachable server is an error; an index the server
    /// refuses (e.g. one that exists with other options) is logged and
    /// skipped: the store still works, and the adapter checks slug/SKU and
    /// e-mail conflicts itself. TTL indexes (`expireAfterSeconds: 0`) remove
    /// expired refresh tokens and key/value entries at their BSON-date
    /// `expires_at`. The idempotency-key index is partial (`idem` exists),
    /// so orders without a key never collide. `carts` and `counters` are
    /// only read by `_id`; `inventory` also by stock level (low stock). The
    /// audit log is listed newest first (`at_ts`, epoch ms).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = || IndexOptions::builder().unique(true).build();
        let ttl = || IndexOptions::builder().expire_after(Duration::from_secs(0)).build();
        let products: Vec<(&str, IndexModel)> = vec![
            ("slug unique", IndexModel::builder().keys(doc! { "slug": 1 }).options(unique()).build()),
            (
                "skus unique",
                IndexModel::builder()
                    .keys(doc! { "skus": 1 })
                    .options(IndexOptions::builder().unique(true).sparse(true).build())
                    .build(),
            ),
            (
                "status category price",
                IndexModel::builder().keys(doc! { "status": 1, "category_paths": 1, "min_price": 1 }).build(),
            ),
            ("facet tokens", IndexModel::builder().keys(doc! { "facet_tokens": 1 }).build()),
            ("search tokens", IndexModel::builder().keys(doc! { "search_tokens": 1 }).build()),
            ("status popularity", IndexModel::builder().keys(doc! { "status": 1, "popularity": -1 }).build()),
            ("status relevance", IndexModel::builder().keys(doc! { "status": 1, "in_stock": -1, "popularity": -1 }).build()),
            ("status created", IndexModel::builder().keys(doc! { "status": 1, "created_ts": -1 }).build()),
            ("status category", IndexModel::builder().keys(doc! { "status": 1, "category": 1 }).build()),
            ("changed", IndexModel::builder().keys(doc! { "changed_ms": 1 }).build()),
        ];
        let mut indexes: Vec<(&Collection<Document>, &str, IndexModel)> =
            products.into_iter().map(|(what, model)| (&self.products, what, model)).collect();
        indexes.extend([
            (
                &self.users,
                "email key unique",
                IndexModel::builder().keys(doc! { "email_key": 1 }).options(unique()).build(),
            ),
            (&self.users, "created", IndexModel::builder().keys(doc! { "created_ts": -1 }).build()),
            (&self.token_families, "user", IndexModel::builder().keys(doc! { "user_id": 1 }).build()),
            (&self.refresh_tokens, "family", IndexModel::builder().keys(doc! { "family_id": 1 }).build()),
            (
                &self.refresh_tokens,
                "expiry ttl",
                IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl()).build(),
            ),
            (&self.kv, "expiry ttl", IndexModel::builder().keys(doc! { "expires_at": 1 }).options(ttl()).build()),
            (
                &self.orders,
                "idempotency key unique",
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "idem": 1 })
                    .options(
                        IndexOptions::builder()
                            .unique(true)
                            .partial_filter_expression(doc! { "idem": { "$exists": true } })
                            .build(),
                    )
                    .build(),
            ),
            (&self.orders, "user created", IndexModel::builder().keys(doc! { "user_id": 1, "created_ts": -1 }).build()),
            (&self.orders, "status created", IndexModel::builder().keys(doc! { "status": 1, "created_ts": 1 }).build()),
            (&self.inventory, "stock", IndexModel::builder().keys(doc! { "stock": 1 }).build()),
            (&self.audit, "newest", IndexModel::builder().keys(doc! { "at_ts": -1 }).build()),
        ]);
        for (collection, what, model) in indexes {
            if let Err(e) = collection.create_index(model).await {
                match map_error("create index", e) {
                    StoreError::Unavailable(msg) => return Err(StoreError::Unavailable(msg)),
                    other => tracing::warn!(
                        collection = collection.name(),
                        index = what,
                        error = %other,
                        "could not create an index"
                    ),
                }
            }
        }
        Ok(())
    }

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
                let document = product_document(&orders::with_stock(p, &levels))?;
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
        self.products.count_documents(doc! {}).await.map_err(|e| map_error("count products", e))
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

    async fn products_after(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<Product>, StoreError> {
        let filter = match after_id {
            Some(id) => doc! { "_id": { "$gt": id } },
            None => doc! {},
        };
        let cursor = self
            .products
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .projection(doc! { "doc": 1 })
            .await
            .map_err(|e| map_error("page products", e))?;
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
        find_body(&self.products, filter, "product").await
    }
}

// ---------------------------------------------------------------- documents

/// The stored form of a product: the domain value under `doc` plus the
/// denormalized fields queries and indexes use, and a fresh `rev` (the
/// guard of `sync_stock_snapshot`).
fn product_document(p: &Product) -> Result<Document, StoreError> {
    let body = bson::serialize_to_document(p)
        .map_err(|e| StoreError::Other(format!("cannot encode product {:?}: {e}", p.id)))?;
    let mut d = doc! {
        "_id": p.id.clone(),
        "slug": p.slug.clone(),
        "status": p.status.as_str(),
        "category": p.category.clone(),
        "category_paths": str_array(p.category_paths().iter().map(String::as_str)),
        "min_price": p.min_price().amount,
        "in_stock": p.in_stock(),
        "popularity": p.popularity,
        "created_ts": p.created_at.timestamp_millis(),
        "facet_tokens": str_array(p.facet_tokens().iter().map(String::as_str)),
        "search_tokens": str_array(p.search_tokens().iter().map(String::as_str)),
        "rev": bson::oid::ObjectId::new().to_hex(),
        // when it was written: search indexes follow the changes
        "changed_ms": chrono::Utc::now().timestamp_millis(),
    };
    // Left out when empty: the unique sparse index then skips the product.
    let skus: BTreeSet<&str> = skus_of(p).collect();
    if !skus.is_empty() {
        d.insert("skus", str_array(skus.into_iter()));
    }
    d.insert("doc", body);
    Ok(d)
}

fn decode_product(d: Document) -> Result<Product, String> {
    decode_body(d, "product")
}

/// One entity by filter, decoded from its `doc` field.
pub(super) async fn find_body<T: serde::de::DeserializeOwned>(coll: &Collection<Document>, filter: Document, what: &str) -> Result<Option<T>, StoreError> {
    let found = coll.find_one(filter).projection(doc! { "doc": 1 }).await.map_err(|e| map_error(&format!("read {what}"), e))?;
    found.map(|d| decode_body(d, what)).transpose().map_err(StoreError::Other)
}

/// Every stored entity keeps its serialized form under `doc`, next to the
/// fields its queries use.
pub(super) fn decode_body<T: serde::de::DeserializeOwned>(mut d: Document, what: &str) -> Result<T, String> {
    match d.remove("doc") {
        Some(Bson::Document(body)) => bson::deserialize_from_document::<T>(body).map_err(|e| format!("cannot decode {what}: {e}")),
        _ => Err(format!("{what} document has no `doc` field")),
    }
}

fn skus_of(p: &Product) -> impl Iterator<Item = &str> + '_ {
    p.variants.iter().map(|v| v.sku.as_str()).filter(|s| !s.is_empty())
}

fn str_array<'a>(values: impl Iterator<Item = &'a str>) -> Bson {
    Bson::Array(values.map(|s| Bson::String(s.to_string())).collect())
}

// ------------------------------------------------------------------ queries

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

/// A count as servers send it: int32, int64 or double.
fn as_count(b: &Bson) -> Option<u64> {
    match b {
        Bson::Int32(n) => u64::try_from(*n).ok(),
        Bson::Int64(n) => u64::try_from(*n).ok(),
        Bson::Double(f) if f.is_finite() && *f >= 0.0 => Some(*f as u64),
        _ => None,
    }
}

// ------------------------------------------------------------------- errors

fn is_duplicate_key(e: &MongoError) -> bool {
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => DUPLICATE_KEY_CODES.contains(&w.code),
        ErrorKind::Command(c) => DUPLICATE_KEY_CODES.contains(&c.code),
        _ => false,
    }
}

/// Driver error → port error. Connectivity problems are `Unavailable`
/// (readiness fails, callers may retry); duplicate keys are `Conflict`.
fn map_error(context: &str, e: MongoError) -> StoreError {
    if is_duplicate_key(&e) {
        return StoreError::Conflict(format!("{context}: duplicate key"));
    }
    let unavailable = match &*e.kind {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Authentication { .. }
        | ErrorKind::Shutdown => true,
        ErrorKind::Command(c) => UNAVAILABLE_CODES.contains(&c.code),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(format!("{context}: {e}"))
    } else {
        StoreError::Other(format!("{context}: {e}"))
    }
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
    fn counts_are_read_leniently() {
        assert_eq!(as_count(&Bson::Int32(3)), Some(3));
        assert_eq!(as_count(&Bson::Int64(4)), Some(4));
        assert_eq!(as_count(&Bson::Double(5.0)), Some(5));
        assert_eq!(as_count(&Bson::Int32(-1)), None);
        assert_eq!(as_count(&Bson::String("7".into())), None);
        let rows = Bson::Array(vec![
            Bson::Document(doc! { "_id": "color=Red", "n": 2_i32 }),
            Bson::Document(doc! { "_id": Bson::Null, "n": 1_i64 }),
            Bson::Document(doc! { "_id": "size=M", "n": 1.0 }),
        ]);
        assert_eq!(token_counts(Some(rows)), vec![("color=Red".to_string(), 2), ("size=M".to_string(), 1)]);
    }

    #[test]
    fn product_documents_round_trip() {
        let p = crate::domain::product::tests::sample();
        let d = product_document(&p).expect("encode");
        assert_eq!(d.get_str("_id").ok(), Some("p1"));
        assert_eq!(d.get_i64("min_price").ok(), Some(1999));
        assert_eq!(d.get_array("skus").map(|a| a.len()).ok(), Some(3));
        assert_eq!(decode_product(d).expect("decode"), p);
        let mut bare = p.clone();
        bare.variants.clear();
        assert!(!product_document(&bare).expect("encode").contains_key("skus"));
    }
}
