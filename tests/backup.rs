//! Backups that restore: `vitrina backup` while orders are being placed,
//! then `vitrina restore` into a new data directory gives the shop as it
//! was at the backup's moment; a restore never overwrites a shop unasked.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{spawn_app, spawn_app_with, TestApp};
use serde_json::json;
use vitrina::config::Config;
use vitrina::domain::order::OrderStatus;
use vitrina::domain::user::Role;
use vitrina::infra::backup::{backup, read_manifest, restore};
use vitrina::infra::sqlite::{SqliteDb, SqliteStore};
use vitrina::ports::{InventoryStore, OrderFilter, OrderStore, UserStore};
use vitrina::state::AppState;

/// SKUs with plenty of stock, so the run never sells out.
async fn sku_pool(app: &TestApp) -> Vec<String> {
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=40").await;
    let mut skus = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let (_, p) = app.json(&format!("/api/v1/products/{}", item["slug"].as_str().unwrap())).await;
        for v in p["variants"].as_array().unwrap() {
            if v["available"].as_i64().unwrap() >= 30 {
                skus.push(v["sku"].as_str().unwrap().to_string());
            }
        }
    }
    skus.truncate(12);
    assert!(skus.len() >= 6, "the demo catalog has SKUs with stock");
    skus
}

fn open(dir: &std::path::Path) -> SqliteStore {
    SqliteStore(SqliteDb::open(&dir.join("vitrina.db")).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_orders_are_placed_restores_the_shop_of_that_moment() {
    let app = spawn_app(60).await;
    let skus = sku_pool(&app).await;
    let source = open(app._dir.path());
    let initial = source.stock_levels(&skus).await.unwrap();

    // six partner systems place orders non-stop; every acknowledged order is noted with when it was acknowledged
    let acked: Arc<Mutex<Vec<(String, std::time::Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(tokio::sync::Notify::new());
    let mut buyers = Vec::new();
    for b in 0..6 {
        // partner systems send their items with the order (shoppers order their cart)
        let token = app.token_for(&format!("buyer{b}@example.com"), Role::Partner).await;
        let (client, base, skus, acked, stop, progress) = (app.client.clone(), app.base.clone(), skus.clone(), acked.clone(), stop.clone(), progress.clone());
        buyers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let items = json!([{"sku": skus[(b + n) % skus.len()], "quantity": 1 + n % 2}, {"sku": skus[(b * 5 + n * 3 + 1) % skus.len()], "quantity": 1}]);
                let body = json!({"items": items, "shipping_address": {"name": "Ana Pop", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"}});
                let res = client.post(format!("{base}/api/v1/orders")).bearer_auth(&token).header("Idempotency-Key", format!("b{b}-{n}")).json(&body).send().await.unwrap();
                let status = res.status().as_u16();
                let order: serde_json::Value = res.json().await.unwrap();
                assert_eq!(status, 201, "placing an order: {order}");
                acked.lock().unwrap().push((order["id"].as_str().unwrap().to_string(), std::time::Instant::now()));
                progress.notify_one();
                n += 1;
            }
        }));
    }
    let placed = |n: usize| {
        let (acked, progress) = (acked.clone(), progress.clone());
        async move {
            let wait = async {
                while acked.lock().unwrap().len() < n {
                    progress.notified().await;
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(120), wait).await.expect("the buyers keep placing orders");
        }
    };
    placed(20).await;

    let archives = tempfile::tempdir().unwrap();
    let archive = archives.path().join("shop.tar.gz");
    let started = std::time::Instant::now();
    let before = acked.lock().unwrap().len();
    let report = backup(&app.state.config.data_location(), &archive).await.expect("backup");
    let finished = std::time::Instant::now();
    // the run goes on after the backup
    placed(before + 10).await;
    stop.store(true, Ordering::SeqCst);
    for b in buyers {
        b.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.iter().any(|(_, at)| *at > finished), "orders were placed while and after the backup ran");
    assert_eq!(report.manifest.store, "sqlite");
    assert_eq!(read_manifest(&archive).unwrap(), report.manifest);

    // restore into a new data directory
    let target = tempfile::tempdir().unwrap();
    let restored_dir = target.path().join("shop");
    let config = Config::for_data_dir(restored_dir.clone());
    restore(&config.data_location(), &archive, false).await.expect("restore into an empty directory");

    // the restored shop starts, and repairs any placement the backup caught half-way
    let state = AppState::build(&config).await.unwrap();
    state.orders.repair_stale(chrono::Duration::zero()).await.unwrap();
    let restored = open(&restored_dir);
    let (orders, total) = restored.list_orders(&OrderFilter::default(), 0, 10_000).await.unwrap();
    assert_eq!(orders.len() as u64, total);
    let ids: BTreeSet<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    // every order acknowledged before the backup began is there, and nothing else was invented
    for (id, at) in &acked {
        if *at < started {
            assert!(ids.contains(id.as_str()), "order {id}, acknowledged before the backup, is missing");
        }
    }
    let all: BTreeSet<String> = acked.iter().map(|(id, _)| id.clone()).collect();
    assert!(ids.iter().all(|id| all.contains(*id)), "only orders the buyers placed");
    assert!(orders.len() < acked.len(), "orders placed after the backup are not in it");
    assert!(orders.len() >= before, "{} orders restored, {before} acknowledged before the backup", orders.len());
    // stock = initial − what the restored orders took, SKU by SKU
    let mut taken: BTreeMap<String, i64> = BTreeMap::new();
    for o in orders.iter().filter(|o| !matches!(o.status, OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Pending)) {
        for l in &o.lines {
            *taken.entry(l.sku.clone()).or_default() += l.quantity;
        }
    }
    let stock = restored.stock_levels(&skus).await.unwrap();
    for sku in &skus {
        assert_eq!(stock[sku], initial[sku] - taken.get(sku).copied().unwrap_or(0), "stock of {sku} after restore");
    }
    assert!(taken.values().sum::<i64>() > 0);
    // the users came along, passwords and all
    for b in 0..6 {
        let u = restored.user_by_email(&format!("buyer{b}@example.com")).await.unwrap().expect("a buyer in the restored shop");
        assert_eq!(u.role, Role::Partner);
    }
    assert!(state.accounts.authenticate("buyer0@example.com", common::PASSWORD).await.is_ok(), "the same password signs in");

    // a restore never overwrites a shop unasked (the shop is stopped first)
    drop((state, restored));
    let refused = restore(&config.data_location(), &archive, false).await.unwrap_err();
    assert!(refused.contains("not empty") && refused.contains("--force"), "{refused}");
    restore(&config.data_location(), &archive, true).await.expect("a forced restore replaces the shop");
    assert_eq!(open(&restored_dir).list_orders(&OrderFilter::default(), 0, 1).await.unwrap().1, total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_shows_the_last_backup_and_bad_archives_are_refused() {
    let app = spawn_app(10).await;
    let dash = app.state.desk.dashboard(chrono::Utc::now()).await.unwrap();
    assert_eq!(dash.last_backup, None);
    assert!(dash.backup_overdue, "no backup yet is overdue");
    let record = vitrina::domain::dashboard::LastBackup { at: chrono::Utc::now(), bytes: 1234, file: "nightly.tar.gz".into() };
    app.state.desk.record_backup(&record).await.unwrap();
    let dash = app.state.desk.dashboard(chrono::Utc::now()).await.unwrap();
    assert_eq!(dash.last_backup, Some(record));
    assert!(!dash.backup_overdue);

    // not an archive
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not a backup").unwrap();
    let config = Config::for_data_dir(dir.path().join("new"));
    assert!(restore(&config.data_location(), &junk, false).await.is_err());
    // an archive of a store this release does not know, and one of a newer format
    for (format, store, says) in [(1, "postgres", "does not know"), (2, "sqlite", "format 2")] {
        let odd = dir.path().join(format!("odd-{format}.tar.gz"));
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(std::fs::File::create(&odd).unwrap(), flate2::Compression::fast()));
        let body = serde_json::to_vec(&json!({"format": format, "store": store, "created_at": "2026-12-01T00:00:00Z", "app_version": "9.9.9", "images": 0})).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, "vitrina-backup.json", &body[..]).unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let refused = restore(&config.data_location(), &odd, false).await.unwrap_err();
        assert!(refused.contains(says), "{refused}");
    }
    assert!(!dir.path().join("new").exists(), "nothing written when refused");
}

/// On MongoDB `vitrina backup` exports every collection of the shop into the
/// same archive format; restoring it into a new database gives the same
/// documents, and the restored shop serves its orders and users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_shop_restores_into_a_new_database() {
    let Some(uri) = common::mongo_uri() else { return };
    let source_db = common::unique_name("vitrina_backup_src");
    let app = spawn_app_with(20, |c| {
        c.mongodb_uri = Some(uri.clone());
        c.mongodb_db = source_db.clone();
    })
    .await;
    let skus = sku_pool(&app).await;
    let token = app.token_for("mongo-buyer@example.com", Role::Partner).await;
    let mut placed = Vec::new();
    for (n, sku) in skus.iter().take(4).enumerate() {
        let body = json!({"items": [{"sku": sku, "quantity": 2}], "shipping_address": {"name": "Ana Pop", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"}});
        let (status, order) = common::call(&app, reqwest::Method::POST, "/api/v1/orders", &token, Some(body), Some(&format!("m{n}"))).await;
        assert_eq!(status, 201, "{order}");
        placed.push(order["id"].as_str().unwrap().to_string());
    }
    let source_stock = mongo_stock(&uri, &source_db, &skus).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("mongo.tar.gz");
    let report = backup(&app.state.config.data_location(), &archive).await.expect("backup of the MongoDB shop");
    assert_eq!(report.manifest.store, "mongodb");
    assert!(report.manifest.collections.get("orders").copied().unwrap_or(0) >= 4, "{:?}", report.manifest.collections);

    let mut config = Config::for_data_dir(dir.path().join("data"));
    config.mongodb_uri = Some(uri.clone());
    config.mongodb_db = common::unique_name("vitrina_backup_dst");
    let r = restore(&config.data_location(), &archive, false).await.expect("restore into a new database");
    assert_eq!(r.documents, report.manifest.collections.values().sum::<u64>());
    let state = AppState::build(&config).await.unwrap();
    let admin = state.accounts.register("restore-admin@example.com", common::PASSWORD, "Admin", Role::Admin).await.unwrap();
    for id in &placed {
        let o = state.orders.get(&admin, id).await.expect("every order is in the restored database");
        assert_eq!(o.lines[0].quantity, 2);
    }
    assert_eq!(mongo_stock(&uri, &config.mongodb_db, &skus).await, source_stock, "stock as it was");
    assert!(state.accounts.authenticate("mongo-buyer@example.com", common::PASSWORD).await.is_ok(), "users and their passwords");
    // the database now holds a shop: a second restore is refused unless forced
    let refused = restore(&config.data_location(), &archive, false).await.unwrap_err();
    assert!(refused.contains("not empty"), "{refused}");
    restore(&config.data_location(), &archive, true).await.expect("a forced restore replaces it");
}

async fn mongo_stock(uri: &str, db: &str, skus: &[String]) -> BTreeMap<String, i64> {
    vitrina::infra::mongo::MongoStore::connect(uri, db).await.unwrap().stock_levels(skus).await.unwrap()
}

/// Every record of an embedded store, as `vitrina restore` moves them.
fn records_of(dir: &std::path::Path) -> Vec<vitrina::infra::transfer::Record> {
    let mut conn = rusqlite::Connection::open(dir.join("vitrina.db")).unwrap();
    let tx = conn.transaction().unwrap();
    let mut out = Vec::new();
    vitrina::infra::sqlite::transfer::export(&tx, &mut |r| {
        out.push(r);
        Ok(())
    })
    .unwrap();
    out
}

fn per_table(records: &[vitrina::infra::transfer::Record]) -> BTreeMap<&'static str, u64> {
    let mut n = BTreeMap::new();
    for r in records {
        *n.entry(r.table()).or_default() += 1;
    }
    n
}

/// A shop moves between the two stores with backup + restore: an embedded
/// store's backup restored into MongoDB gives a shop that serves the same
/// catalog, orders, stock and users; backed up there and restored into the
/// embedded store again, it holds exactly the records it started with,
/// every kind of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_moves_to_mongodb_and_back_with_every_record() {
    use vitrina::domain::audit::AuditEntry;
    use vitrina::domain::order::{Cart, CartLine};
    use vitrina::domain::recommend::{RecommendSettings, Scored};
    use vitrina::infra::records::from_json;
    use vitrina::ports::{AuditStore, CartStore, CatalogStore, KeyValueStore, OutboxStore, PromotionStore, RecommendStore, Redemption, TokenStore};
    let Some(uri) = common::mongo_uri() else { return };
    let app = spawn_app(20).await;
    let skus = sku_pool(&app).await;
    app.state.accounts.register("mover@example.com", common::PASSWORD, "Mover", Role::Customer).await.unwrap();
    let mut placed = Vec::new();
    for (n, sku) in skus.iter().take(3).enumerate() {
        let body = json!({"items": [{"sku": sku, "quantity": 1}], "shipping_address": {"name": "Ana Pop", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"}});
        let partner = app.token_for(&format!("mover-partner{n}@example.com"), Role::Partner).await;
        let (status, order) = common::call(&app, reqwest::Method::POST, "/api/v1/orders", &partner, Some(body), Some(&format!("mv{n}"))).await;
        assert_eq!(status, 201, "{order}");
        placed.push(order["id"].as_str().unwrap().to_string());
    }
    // every other kind of record, through the store's own ports
    let source = open(app._dir.path());
    let now = chrono::Utc::now();
    source.reserve("o_held", &skus[3], 1).await.unwrap();
    source.restock("o_returned", &skus[4], 1).await.unwrap();
    let mut cart = Cart::empty("u:mover");
    cart.lines.push(CartLine { sku: skus[5].clone(), quantity: 2 });
    cart.version = 1;
    source.save_cart(&cart).await.unwrap();
    let audit = AuditEntry { id: "a-move".into(), at: now, actor_id: "u-1".into(), actor_email: "Admin@Example.com".into(), action: "product.update".into(), target: "p-1".into(), summary: "price".into(), before: Some("1".into()), after: None };
    source.record_audit(&audit).await.unwrap();
    let fixture = |name: &str| std::fs::read_to_string(format!("{}/tests/fixtures/schema-1/{name}.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    source.save_endpoint(&from_json(vitrina::domain::records::Kind::WebhookEndpoint, &fixture("webhook-endpoint")).unwrap()).await.unwrap();
    source.put_entry(&from_json(vitrina::domain::records::Kind::OutboxEntry, &fixture("outbox-entry")).unwrap()).await.unwrap();
    let promotion: vitrina::domain::promotion::Promotion = from_json(vitrina::domain::records::Kind::Promotion, &fixture("promotion")).unwrap();
    source.insert_promotion(&promotion).await.unwrap();
    let redemption = Redemption { promotion_id: promotion.id.clone(), order_id: placed[0].clone(), customer: "u-mover".into(), total_cents: 10_000, discount_cents: 1_000 };
    source.redeem(&redemption, Some(100), Some(1)).await.unwrap();
    let products = source.products_after(None, 100).await.unwrap();
    source.put_complements(now.timestamp_millis(), &[(products[0].id.clone(), vec![Scored { id: products[1].id.clone(), score: 0.75 }])]).await.unwrap();
    source.save_recommend_settings(&RecommendSettings { product_id: products[2].id.clone(), pinned: vec![products[3].id.clone()], excluded: false }).await.unwrap();
    source.create_family("fam-move", "u-mover", now).await.unwrap();
    source.revoke_family("fam-move", now).await.unwrap();
    source.kv_put("move-test", "k", &[0, 1, 2, 255], Some(now + chrono::Duration::days(1))).await.unwrap();
    // listings show inventory: the stored snapshots follow it
    source.sync_stock_snapshot(&products.iter().map(|p| p.id.clone()).collect::<Vec<_>>()).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("embedded.tar.gz");
    backup(&app.state.config.data_location(), &archive).await.unwrap();
    // the records of the backup's moment (the running shop's relay goes on meanwhile)
    let copy = Config::for_data_dir(dir.path().join("copy"));
    restore(&copy.data_location(), &archive, false).await.unwrap();
    let before = records_of(&dir.path().join("copy"));
    let tables = per_table(&before);
    assert_eq!(tables.len(), 19, "every kind of record is in the shop: {tables:?}");

    // into MongoDB
    let mut mongo = Config::for_data_dir(dir.path().join("mongo-images"));
    mongo.mongodb_uri = Some(uri.clone());
    mongo.mongodb_db = common::unique_name("vitrina_move");
    let r = restore(&mongo.data_location(), &archive, false).await.expect("an embedded store's backup restores into MongoDB");
    assert_eq!(r.moved.as_ref(), Some(&tables), "every record moved");
    let state = AppState::build(&mongo).await.unwrap();
    let moved = vitrina::infra::mongo::MongoStore::connect(&uri, &mongo.mongodb_db).await.unwrap();
    let all = vitrina::domain::query::CatalogQuery { per_page: 100, ..Default::default() };
    assert_eq!(moved.search(&all).await.unwrap().total, source.search(&all).await.unwrap().total, "the same catalog lists");
    let word = products[0].name.split_whitespace().next().unwrap().to_string();
    let by_word = vitrina::domain::query::CatalogQuery { q: Some(word.clone()), per_page: 100, ..Default::default() };
    let found = moved.search(&by_word).await.unwrap();
    assert_eq!(found.total, source.search(&by_word).await.unwrap().total, "search finds the same products for {word:?}");
    assert!(found.items.iter().any(|i| i.id == products[0].id));
    assert_eq!(moved.stock_levels(&skus).await.unwrap(), source.stock_levels(&skus).await.unwrap(), "stock as it was");
    assert!(state.accounts.authenticate("mover@example.com", common::PASSWORD).await.is_ok(), "users sign in with their passwords");
    let admin = state.accounts.register("move-admin@example.com", common::PASSWORD, "Admin", Role::Admin).await.unwrap();
    for id in &placed {
        state.orders.get(&admin, id).await.expect("every order is there");
    }
    assert_eq!(moved.cart("u:mover").await.unwrap(), Some(cart.clone()));
    assert!(moved.next_order_number().await.unwrap() > placed.len() as u64, "order numbers go on where they were");
    // a hold is given back exactly once, on the store it moved to
    let held = moved.stock_levels(&[skus[3].clone()]).await.unwrap()[&skus[3]];
    moved.release("o_held", &skus[3]).await.unwrap();
    moved.release("o_held", &skus[3]).await.unwrap();
    assert_eq!(moved.stock_levels(&[skus[3].clone()]).await.unwrap()[&skus[3]], held + 1);
    drop(state);
    // the database now holds a shop: a move into it is refused unless forced
    let refused = restore(&mongo.data_location(), &archive, false).await.unwrap_err();
    assert!(refused.contains("not empty"), "{refused}");

    // and back, from the MongoDB shop as the move left it
    let mongo_archive = dir.path().join("mongo.tar.gz");
    let mut unchanged = Config::for_data_dir(dir.path().join("mongo-images-2"));
    unchanged.mongodb_uri = Some(uri.clone());
    unchanged.mongodb_db = common::unique_name("vitrina_move");
    restore(&unchanged.data_location(), &archive, false).await.unwrap();
    backup(&unchanged.data_location(), &mongo_archive).await.unwrap();
    let back = Config::for_data_dir(dir.path().join("back"));
    let r = restore(&back.data_location(), &mongo_archive, false).await.expect("a MongoDB backup restores into the embedded store");
    assert!(r.moved.is_some());
    let after = records_of(&dir.path().join("back"));
    assert_eq!(per_table(&after), tables);
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a, b, "the same record after the round trip");
    }
    // the embedded shop starts on it and serves it
    let state = AppState::build(&back).await.unwrap();
    assert!(state.accounts.authenticate("mover@example.com", common::PASSWORD).await.is_ok());
    let refused = restore(&back.data_location(), &mongo_archive, false).await.unwrap_err();
    assert!(refused.contains("not empty") && refused.contains("--force"), "{refused}");
}

/// Backups and the data directory are the shop's user's only, and no backup
/// holds the token-signing key (a shop that kept it in the store, as older
/// releases did, moves it out at start); restored onto a new machine with
/// the key file brought along, tokens signed before still verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_are_private_and_hold_no_signing_key() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shop");
    // an older shop: its key kept in the store, its files readable by everyone
    {
        let old = open(&data);
        vitrina::ports::KeyValueStore::kv_put(&old, "settings", "jwt_secret", b"an old key kept in the store, 0123456789", None).await.unwrap();
    }
    std::fs::set_permissions(data.join("vitrina.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = Config::for_data_dir(data.clone());
    let state = AppState::build(&config).await.unwrap();
    state.accounts.register("keeper@example.ro", common::PASSWORD, "Keeper", Role::Customer).await.unwrap();
    let user = state.accounts.authenticate("keeper@example.ro", common::PASSWORD).await.unwrap();
    let tokens = state.accounts.issue_tokens(&user).await.unwrap();
    // the store files and the directory are private now; the key left the store for its own private file
    assert_eq!(mode(&data), 0o700, "the data directory");
    for f in ["vitrina.db", "vitrina.db-wal", vitrina::infra::keys::KEY_FILE] {
        if data.join(f).exists() {
            assert_eq!(mode(&data.join(f)) & 0o077, 0, "{f} is readable by others");
        }
    }
    let key_file = std::fs::read_to_string(data.join(vitrina::infra::keys::KEY_FILE)).unwrap();
    use base64::Engine;
    assert!(key_file.contains(&base64::engine::general_purpose::STANDARD.encode(b"an old key kept in the store, 0123456789")), "the old key moved into the file: tokens stay valid");
    assert_eq!(vitrina::ports::KeyValueStore::kv_get(&open(&data), "settings", "jwt_secret").await.unwrap(), None, "and left the store");

    let out = dir.path().join("backups");
    std::fs::create_dir(&out).unwrap();
    let archive = out.join("nightly.tar.gz");
    backup(&config.data_location(), &archive).await.unwrap();
    assert_eq!(mode(&archive), 0o600, "the archive is the shop's user's only");
    // nothing in the archive holds the key, in any form
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap()), &mut bytes).unwrap();
    for needle in [b"an old key kept in the store".to_vec(), base64::engine::general_purpose::STANDARD.encode(b"an old key kept in the store, 0123456789").into_bytes(), b"jwt_secret".to_vec()] {
        assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_slice()), "the backup holds the signing key");
    }
    drop(state);

    // a new machine: the archive, and the key file brought along by hand
    let moved = dir.path().join("new-machine");
    let new_config = Config::for_data_dir(moved.clone());
    restore(&new_config.data_location(), &archive, false).await.unwrap();
    assert_eq!(mode(&moved.join("vitrina.db")) & 0o077, 0);
    std::fs::copy(data.join(vitrina::infra::keys::KEY_FILE), moved.join(vitrina::infra::keys::KEY_FILE)).unwrap();
    let restored = AppState::build(&new_config).await.unwrap();
    assert_eq!(restored.accounts.authenticate_bearer(&tokens.access_token).await.unwrap().user.id, user.id, "a token signed before the move verifies after it");
}
