//! Which releases may run on a store: the next release's records are
//! readable by this one when it says so (a rolling deploy), and a store that
//! a much newer release has written refuses this one at start, saying why.
//! Both stores.
//!
//! And records written by every earlier schema (the fixtures in
//! `tests/fixtures/schema-N/`) read as this release's values on both stores,
//! through every read path, and are stored at this release's schema on their
//! next write.
mod common;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vitrina::domain::order::{Cart, Order, OrderStatus};
use vitrina::domain::outbox::{Endpoint, OutboxEntry};
use vitrina::domain::product::Product;
use vitrina::domain::promotion::Promotion;
use vitrina::domain::recommend::RecommendSettings;
use vitrina::domain::records::{upgrade, version_of, Kind};
use vitrina::domain::user::User;
use vitrina::ports::{OrderFilter, OutboxFilter};

use vitrina::config::Config;
use vitrina::ports::KeyValueStore;
use vitrina::services::schema::{record, StoreSchema, COMPATIBLE_FROM, CURRENT};
use vitrina::state::AppState;

async fn releases_on(config: Config, kv: Arc<dyn KeyValueStore>) {
    // this release records itself on a new store
    AppState::build(&config).await.expect("a new store");
    let mine = vitrina::services::schema::check(&*kv).await.unwrap();
    assert_eq!((mine.version, mine.compatible_from), (CURRENT, COMPATIBLE_FROM));

    // the next release ran (expand: it still accepts this one) and this one starts beside it
    record(&*kv, &StoreSchema { version: CURRENT + 1, compatible_from: CURRENT, written_by: "9.8.0".into() }).await.unwrap();
    AppState::build(&config).await.expect("the previous release runs beside the next one");
    let kept = vitrina::services::schema::check(&*kv).await.unwrap();
    assert_eq!((kept.version, kept.written_by.as_str()), (CURRENT + 1, "9.8.0"), "an older release does not lower the record");

    // a release that contracted past this one's schema ran: this one refuses to start, and says what to run
    record(&*kv, &StoreSchema { version: CURRENT + 2, compatible_from: CURRENT + 1, written_by: "9.9.0".into() }).await.unwrap();
    match AppState::build(&config).await {
        Ok(_) => panic!("a release too old for the store started"),
        Err(e) => assert!(e.contains("9.9.0 or newer") && e.contains(&format!("schema {CURRENT}")), "{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_a_release_too_old_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_data_dir(dir.path().to_path_buf());
    let store = vitrina::infra::sqlite::SqliteStore(vitrina::infra::sqlite::SqliteDb::open(&dir.path().join("vitrina.db")).unwrap());
    releases_on(config, Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_refuses_a_release_too_old_for_it() {
    let Some(uri) = common::mongo_uri() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.mongodb_uri = Some(uri.clone());
    config.mongodb_db = common::unique_name("vitrina_schema");
    let store = vitrina::infra::mongo::MongoStore::connect(&uri, &config.mongodb_db).await.unwrap();
    releases_on(config, Arc::new(store)).await;
}

/// The schemas before this release's, each with fixtures.
const EARLIER: &[u32] = &[1];

/// Where a kind's bodies are: SQLite table and key column; MongoDB
/// collection (`_id`), and whether the body is kept as JSON text there.
struct Place {
    table: &'static str,
    key: &'static str,
    text_in_mongo: bool,
}

const PRODUCTS: Place = Place { table: "products", key: "id", text_in_mongo: false };
const USERS: Place = Place { table: "users", key: "id", text_in_mongo: false };
const ORDERS: Place = Place { table: "orders", key: "id", text_in_mongo: false };
const CARTS: Place = Place { table: "carts", key: "owner", text_in_mongo: false };
const PROMOTIONS: Place = Place { table: "promotions", key: "id", text_in_mongo: false };
const OUTBOX: Place = Place { table: "outbox", key: "id", text_in_mongo: true };
const ENDPOINTS: Place = Place { table: "webhook_endpoints", key: "id", text_in_mongo: false };
const SETTINGS: Place = Place { table: "recommend_settings", key: "product_id", text_in_mongo: false };

/// The stored bodies, below the ports.
enum Raw {
    Sqlite(PathBuf),
    Mongo(mongodb::Database),
}

impl Raw {
    /// Replaces the body of record `id` with `body`, exactly as given.
    async fn put(&self, place: &Place, id: &str, body: &str) {
        match self {
            Raw::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                let n = c.execute(&format!("UPDATE {} SET doc = ?1 WHERE {} = ?2", place.table, place.key), rusqlite::params![body, id]).unwrap();
                assert_eq!(n, 1, "{} {id} is stored", place.table);
            }
            Raw::Mongo(db) => {
                let value: Value = serde_json::from_str(body).unwrap();
                let stored = if place.text_in_mongo { mongodb::bson::Bson::String(body.to_string()) } else { mongodb::bson::serialize_to_bson(&value).unwrap() };
                let coll = db.collection::<mongodb::bson::Document>(place.table);
                let r = coll.update_one(mongodb::bson::doc! { "_id": id }, mongodb::bson::doc! { "$set": { "doc": stored } }).await.unwrap();
                assert_eq!(r.matched_count, 1, "{} {id} is stored", place.table);
            }
        }
    }

    /// The stored body of record `id`.
    async fn body(&self, place: &Place, id: &str) -> Value {
        match self {
            Raw::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                let text: String = c.query_row(&format!("SELECT doc FROM {} WHERE {} = ?1", place.table, place.key), [id], |r| r.get(0)).unwrap();
                serde_json::from_str(&text).unwrap()
            }
            Raw::Mongo(db) => {
                let d = db.collection::<mongodb::bson::Document>(place.table).find_one(mongodb::bson::doc! { "_id": id }).await.unwrap().expect("stored");
                match d.get("doc").expect("a body") {
                    mongodb::bson::Bson::String(text) => serde_json::from_str(text).unwrap(),
                    other => other.clone().into_relaxed_extjson(),
                }
            }
        }
    }

    async fn version(&self, place: &Place, id: &str) -> u32 {
        version_of(&self.body(place, id).await)
    }
}

/// A fixture's text as schema `version` stored it, and the value this release reads from it.
fn fixture<T: DeserializeOwned>(version: u32, name: &str, kind: Kind) -> (String, T) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/schema-{version}/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_string();
    let mut tree: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(version_of(&tree), version, "{name}: a schema-{version} fixture");
    upgrade(kind, &mut tree).unwrap();
    (text, serde_json::from_value(tree).unwrap_or_else(|e| panic!("{name}: {e}")))
}

async fn earlier_records_read_as_this_release(store: Arc<dyn common::AllStores>, raw: Raw, version: u32) {
    // products: by id, by slug, by SKU, page by page, changed since
    let (text, product): (_, Product) = fixture(version, "product", Kind::Product);
    store.upsert_products(std::slice::from_ref(&product)).await.unwrap();
    raw.put(&PRODUCTS, &product.id, &text).await;
    assert_eq!(store.product_by_id(&product.id).await.unwrap().as_ref(), Some(&product));
    assert_eq!(store.product_by_slug(&product.slug).await.unwrap().as_ref(), Some(&product));
    assert_eq!(store.products_by_skus(&[product.variants[0].sku.clone()]).await.unwrap(), vec![product.clone()]);
    assert_eq!(store.products_after(None, 10).await.unwrap(), vec![product.clone()]);
    assert_eq!(store.products_changed_since(0, 10).await.unwrap().into_iter().map(|(_, p)| p).collect::<Vec<_>>(), vec![product.clone()]);
    assert_eq!(raw.version(&PRODUCTS, &product.id).await, version, "reading writes nothing");
    // the pass each start makes rewrites it once, then finds nothing more to do
    assert_eq!(store.restamp_products(None, 10).await.unwrap(), (Some(product.id.clone()), 1));
    assert_eq!(raw.version(&PRODUCTS, &product.id).await, CURRENT);
    assert_eq!(store.product_by_id(&product.id).await.unwrap().as_ref(), Some(&product));
    assert_eq!(store.restamp_products(None, 10).await.unwrap(), (Some(product.id.clone()), 0));
    assert_eq!(store.restamp_products(Some(&product.id), 10).await.unwrap(), (None, 0));
    raw.put(&PRODUCTS, &product.id, &text).await; // old again, for the write below
    store.upsert_products(std::slice::from_ref(&product)).await.unwrap();
    assert_eq!(raw.version(&PRODUCTS, &product.id).await, CURRENT, "the next write stores this release's schema");
    assert_eq!(store.product_by_id(&product.id).await.unwrap().as_ref(), Some(&product));

    // users: by id, by e-mail, in the list, by ids
    let (text, user): (_, User) = fixture(version, "user", Kind::User);
    store.create_user(&user).await.unwrap();
    raw.put(&USERS, &user.id, &text).await;
    assert_eq!(store.user_by_id(&user.id).await.unwrap().as_ref(), Some(&user));
    assert_eq!(store.user_by_email(&user.email_key()).await.unwrap().as_ref(), Some(&user));
    assert_eq!(store.list_users(None, 0, 10).await.unwrap().0, vec![user.clone()]);
    assert_eq!(store.users_by_ids(std::slice::from_ref(&user.id)).await.unwrap(), vec![user.clone()]);
    // a field write on the old record: migrated, stamped, the change kept
    assert!(store.update_user(&user.id, &vitrina::domain::patch::Patch::new().set("name", "Renamed").guard("disabled", &user.disabled)).await.unwrap());
    assert_eq!(raw.version(&USERS, &user.id).await, CURRENT);
    assert_eq!(store.user_by_id(&user.id).await.unwrap().map(|u| u.name), Some("Renamed".to_string()));

    // orders: the one from July 2025 was taxed at 19 %, the one from December 2026 at 21 %
    let (july_text, july): (_, Order) = fixture(version, "order-2025-07", Kind::Order);
    let (december_text, december): (_, Order) = fixture(version, "order-2026-12", Kind::Order);
    assert_eq!((july.vat_percent, december.vat_percent), (19, 21), "each order keeps the rate it was placed with");
    for (text, order) in [(&july_text, &july), (&december_text, &december)] {
        store.insert_order(order).await.unwrap();
        raw.put(&ORDERS, &order.id, text).await;
        assert_eq!(store.order_by_id(&order.id).await.unwrap().as_ref(), Some(order));
        let key = order.idempotency_key.as_deref().unwrap();
        assert_eq!(store.order_by_idempotency_key(&order.user_id, key).await.unwrap().as_ref(), Some(order));
        let mine = OrderFilter { user_id: Some(order.user_id.clone()), ..Default::default() };
        assert_eq!(store.list_orders(&mine, 0, 10).await.unwrap().0, vec![order.clone()]);
    }
    assert_eq!(store.list_orders(&OrderFilter::default(), 0, 10).await.unwrap().0, vec![december.clone(), july.clone()]);
    // a change of status (the previous release wrote the record) stores it at this schema, rate and all
    let mut cancelled = december.clone();
    let cancel = cancelled.transition(OrderStatus::Cancelled, Utc::now()).unwrap();
    assert!(store.update_order(&december.id, &cancel, &[]).await.unwrap());
    let stored = raw.body(&ORDERS, &december.id).await;
    assert_eq!((version_of(&stored), stored["vat_percent"].as_i64()), (CURRENT, Some(21)));
    assert_eq!(store.order_by_id(&december.id).await.unwrap().as_ref(), Some(&cancelled), "the old record, migrated, with the change");
    let mut touched = july.clone();
    touched.updated_at = Utc::now();
    let patch = touched.changes_since(&july).guard("status", &july.status);
    assert!(store.update_order(&july.id, &patch, &[]).await.unwrap(), "the guard reads the old record");
    assert_eq!(raw.body(&ORDERS, &july.id).await["vat_percent"].as_i64(), Some(19));

    // a cart (saved version by version: each save expects the one before)
    let (text, cart): (_, Cart) = fixture(version, "cart", Kind::Cart);
    for v in 1..=cart.version {
        store.save_cart(&Cart { version: v, ..cart.clone() }).await.unwrap();
    }
    raw.put(&CARTS, &cart.owner, &text).await;
    assert_eq!(store.cart(&cart.owner).await.unwrap().as_ref(), Some(&cart));
    store.save_cart(&Cart { version: cart.version + 1, ..cart.clone() }).await.unwrap();
    assert_eq!(raw.version(&CARTS, &cart.owner).await, CURRENT);

    // a promotion: by id, by code, in the list
    let (text, promotion): (_, Promotion) = fixture(version, "promotion", Kind::Promotion);
    store.insert_promotion(&promotion).await.unwrap();
    raw.put(&PROMOTIONS, &promotion.id, &text).await;
    assert_eq!(store.promotion_by_id(&promotion.id).await.unwrap().as_ref(), Some(&promotion));
    assert_eq!(store.promotion_by_code(promotion.code.as_deref().unwrap()).await.unwrap().as_ref(), Some(&promotion));
    assert_eq!(store.promotions().await.unwrap(), vec![promotion.clone()]);
    assert!(store.update_promotion(&promotion.id, &vitrina::domain::patch::Patch::new().set("active", &promotion.active)).await.unwrap());
    assert_eq!(raw.version(&PROMOTIONS, &promotion.id).await, CURRENT);
    assert_eq!(store.promotion_by_id(&promotion.id).await.unwrap().as_ref(), Some(&promotion));

    // an outbox entry, a webhook endpoint, recommendation settings
    let (text, entry): (_, OutboxEntry) = fixture(version, "outbox-entry", Kind::OutboxEntry);
    store.enqueue(std::slice::from_ref(&entry)).await.unwrap();
    raw.put(&OUTBOX, &entry.id, &text).await;
    assert_eq!(store.entry(&entry.id).await.unwrap().as_ref(), Some(&entry));
    assert_eq!(store.list_entries(&OutboxFilter::default(), 0, 10).await.unwrap().0, vec![entry.clone()]);
    store.put_entry(&entry).await.unwrap();
    assert_eq!(raw.version(&OUTBOX, &entry.id).await, CURRENT);

    let (text, endpoint): (_, Endpoint) = fixture(version, "webhook-endpoint", Kind::WebhookEndpoint);
    store.save_endpoint(&endpoint).await.unwrap();
    raw.put(&ENDPOINTS, &endpoint.id, &text).await;
    assert_eq!(store.endpoints().await.unwrap(), vec![endpoint.clone()]);
    assert!(store.update_endpoint(&endpoint.id, &vitrina::domain::patch::Patch::new().set("enabled", &endpoint.enabled).guard("enabled", &endpoint.enabled)).await.unwrap());
    assert_eq!(raw.version(&ENDPOINTS, &endpoint.id).await, CURRENT);
    assert_eq!(store.endpoints().await.unwrap(), vec![endpoint.clone()]);

    let (text, settings): (_, RecommendSettings) = fixture(version, "recommend-settings", Kind::RecommendSettings);
    store.save_recommend_settings(&settings).await.unwrap();
    raw.put(&SETTINGS, &settings.product_id, &text).await;
    assert_eq!(store.recommend_settings().await.unwrap(), vec![settings.clone()]);
    store.save_recommend_settings(&settings).await.unwrap();
    assert_eq!(raw.version(&SETTINGS, &settings.product_id).await, CURRENT);
}

#[test]
fn every_earlier_schema_has_fixtures() {
    assert_eq!(EARLIER.to_vec(), (1..CURRENT).collect::<Vec<_>>(), "a fixture set per earlier schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_records_of_every_earlier_schema() {
    for &version in EARLIER {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vitrina.db");
        let store = vitrina::infra::sqlite::SqliteStore(vitrina::infra::sqlite::SqliteDb::open(&path).unwrap());
        earlier_records_read_as_this_release(Arc::new(store), Raw::Sqlite(path), version).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_reads_records_of_every_earlier_schema() {
    let Some(uri) = common::mongo_uri() else { return };
    for &version in EARLIER {
        let store = vitrina::infra::mongo::MongoStore::connect(&uri, &common::unique_name("vitrina_records")).await.unwrap();
        let db = store.database().clone();
        earlier_records_read_as_this_release(Arc::new(store), Raw::Mongo(db), version).await;
    }
}
