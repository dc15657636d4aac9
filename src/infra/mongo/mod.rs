//! MongoDB adapter of every store port: [`CatalogStore`], the account ports,
//! inventory, carts, orders and the audit log.
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
//!   `inventory.rs`) is the truth; a product document carries a snapshot of it
//!   (variant stock, `in_stock`) for listings. Writing a product creates the
//!   inventory of SKUs seen for the first time (with the variant's stock)
//!   and stores the product with the inventory's stock, so a re-import never
//!   undoes what orders took. Every product write stamps a fresh `rev`, which
//!   `sync_stock_snapshot` uses as its guard.
//!
//! One file per part, all on collections of the same database:
//! `mod.rs` (the connection and error mapping), `indexes.rs`, `codec.rs`
//! (stored documents ⇄ domain values), `paging.rs` (count, then one page),
//! `catalog.rs` (products, categories, listings), `accounts.rs` (users,
//! refresh tokens, key/value), `inventory.rs`, `carts.rs`, `orders.rs` and
//! `audit.rs`.
mod accounts;
mod audit;
mod carts;
mod catalog;
mod codec;
mod documents;
mod indexes;
mod inventory;
mod orders;
mod outbox;
mod paging;
mod recommend;
mod promotions;
mod slow_log;
pub mod transfer;

use std::time::Duration;

use mongodb::bson::Document;
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};

use crate::ports::StoreError;

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
    outbox: Collection<Document>,
    webhooks: Collection<Document>,
}

impl MongoStore {
    /// Connects (server selection and connect timeouts default to 2 s unless
    /// the URI sets them) and makes sure the indexes exist.
    pub async fn connect(uri: &str, db_name: &str) -> Result<Self, StoreError> {
        Self::connect_logging(uri, db_name, None).await
    }

    /// [`connect`](Self::connect), logging every command slower than `slow`.
    pub async fn connect_logging(uri: &str, db_name: &str, slow: Option<Duration>) -> Result<Self, StoreError> {
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
        if let Some(limit) = slow {
            options.command_event_handler = Some(slow_log::handler(limit));
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
            outbox: db.collection::<Document>("outbox"),
            webhooks: db.collection::<Document>("webhook_endpoints"),
            db,
        };
        store.ensure_indexes().await?;
        Ok(store)
    }

    /// The database handle, for adapters that share the connection.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// How many documents a collection holds (from its metadata on MongoDB).
pub async fn count_all(collection: &Collection<Document>) -> Result<u64, MongoError> {
    paging::count(collection, mongodb::bson::doc! {}).await
}

// ------------------------------------------------------------------- errors

pub(super) fn is_duplicate_key(e: &MongoError) -> bool {
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => DUPLICATE_KEY_CODES.contains(&w.code),
        ErrorKind::Command(c) => DUPLICATE_KEY_CODES.contains(&c.code),
        _ => false,
    }
}

/// Driver error → port error. Connectivity problems are `Unavailable`
/// (readiness fails, callers may retry); duplicate keys are `Conflict`.
pub(super) fn map_error(context: &str, e: MongoError) -> StoreError {
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


// ------------------------------------------------------------------- patches

/// A patch as a MongoDB filter part and update: each guard is an equality
/// on `doc.<path>` (`null` matches an absent field too), each set a `$set`
/// of `doc.<path>` (`$unset` for null). `mirrors` name top-level fields that
/// copy a body field for queries (`status`): they follow in the same update.
pub(super) fn patch_update(patch: &crate::domain::patch::Patch, mirrors: &[&str]) -> Result<(Document, Document), StoreError> {
    use crate::domain::patch::valid_path;
    use mongodb::bson::{doc, Bson};
    let bson = |v: &serde_json::Value| Bson::try_from(v.clone()).map_err(|e| StoreError::Other(format!("cannot encode a patch value: {e}")));
    let mut filter = Document::new();
    for (path, want) in &patch.guards {
        if !valid_path(path) {
            return Err(StoreError::Other(format!("not a field path: {path}")));
        }
        filter.insert(format!("doc.{path}"), bson(want)?);
    }
    let (mut set, mut unset) = (Document::new(), Document::new());
    for (path, value) in &patch.sets {
        if !valid_path(path) {
            return Err(StoreError::Other(format!("not a field path: {path}")));
        }
        if value.is_null() {
            unset.insert(format!("doc.{path}"), "");
        } else {
            set.insert(format!("doc.{path}"), bson(value)?);
        }
        if mirrors.contains(&path.as_str()) {
            set.insert(path.as_str(), bson(value)?);
        }
    }
    let mut update = doc! {};
    if !set.is_empty() {
        update.insert("$set", set);
    }
    if !unset.is_empty() {
        update.insert("$unset", unset);
    }
    Ok((filter, update))
}

/// Writes a patch to the document `_id = id` of `coll` in one update: the
/// fields it sets under `doc`, the mirrored top-level fields, and `extra`
/// (fields the adapter derives, such as a lower-cased key), only where every
/// guard and `filter` hold. A body an earlier release wrote is brought up to
/// this schema first: read, migrated, patched and written whole in one update
/// guarded by its old stamp (so nothing written in between is lost: any write
/// since would have stamped it). Returns whether it was written.
pub(super) async fn patch_document(
    coll: &Collection<Document>,
    kind: crate::domain::records::Kind,
    id: &str,
    patch: &crate::domain::patch::Patch,
    mirrors: &[&str],
    filter: Document,
    extra: Document,
) -> Result<bool, StoreError> {
    use crate::domain::records::{CURRENT, STAMP};
    use mongodb::bson::{doc, Bson};
    if patch.is_empty() {
        return Ok(false);
    }
    let what = format!("update {}", kind.name());
    let (guards, mut update) = patch_update(patch, mirrors)?;
    if !extra.is_empty() {
        let mut set = update.get_document("$set").cloned().unwrap_or_default();
        set.extend(extra.clone());
        update.insert("$set", set);
    }
    let mut current = doc! { "_id": id, format!("doc.{STAMP}"): CURRENT as i32 };
    current.extend(filter.clone());
    current.extend(guards);
    if coll.update_one(current, update).await.map_err(|e| map_error(&what, e))?.matched_count > 0 {
        return Ok(true);
    }
    // not written: a guard failed, there is no such document, or its body is older
    let Some(stored) = coll.find_one(doc! { "_id": id }).projection(doc! { "doc": 1 }).await.map_err(|e| map_error(&what, e))? else { return Ok(false) };
    let Ok(body) = stored.get_document("doc").cloned() else { return Ok(false) };
    if crate::infra::records::is_current_bson(&body) {
        return Ok(false);
    }
    let old_stamp = body.get(STAMP).cloned();
    let mut tree = crate::infra::records::upgraded_bson_tree(kind, body).map_err(StoreError::Other)?;
    if !patch.holds(&tree) {
        return Ok(false);
    }
    patch.apply(&mut tree);
    if let Some(fields) = tree.as_object_mut() {
        fields.remove(STAMP);
    }
    let mut set = doc! { "doc": crate::infra::records::to_bson(&tree).map_err(StoreError::Other)? };
    for m in mirrors {
        if let Some(v) = patch.value(m) {
            set.insert(*m, Bson::try_from(v.clone()).map_err(|e| StoreError::Other(e.to_string()))?);
        }
    }
    set.extend(extra);
    let mut guarded = doc! { "_id": id, format!("doc.{STAMP}"): match old_stamp { Some(s) => s, None => Bson::Document(doc! { "$exists": false }) } };
    guarded.extend(filter);
    Ok(coll.update_one(guarded, doc! { "$set": set }).await.map_err(|e| map_error(&what, e))?.matched_count > 0)
}
