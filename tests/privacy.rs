//! A customer's data (GDPR): the export holds every order and address; the
//! erasure leaves no trace of their name, e-mail, phone or addresses anywhere
//! in the store (read raw, table by table or collection by collection), keeps
//! their orders anonymised, ends their tokens and frees the e-mail. Both stores.
mod common;
use common::call;

use common::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

const NAME: &str = "Ioana Grădinaru";
const STREET: &str = "Strada Zambilelor 17";
const PHONE: &str = "+40 744 123 987";


/// Every text the store holds, read raw: each SQLite table's rows and the bytes of its files, or each MongoDB collection's documents.
async fn everything_stored(app: &TestApp) -> String {
    match &app.state.config.mongodb_uri {
        None => {
            let path = app.state.config.data_dir.join("vitrina.db");
            let c = rusqlite::Connection::open(&path).unwrap();
            let tables: Vec<String> = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
            let mut all = String::new();
            for t in tables {
                let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
                let n = stmt.column_count();
                let mut rows = stmt.query([]).unwrap();
                while let Some(row) = rows.next().unwrap() {
                    for i in 0..n {
                        match row.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => all.push_str(&String::from_utf8_lossy(b)),
                            other => all.push_str(&format!("{other:?}")),
                        }
                        all.push('\n');
                    }
                }
            }
            // and the files themselves: freed pages and the write-ahead log keep what rows no longer show
            for file in ["vitrina.db", "vitrina.db-wal"] {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(app.state.config.data_dir.join(file)).unwrap_or_default()));
            }
            all
        }
        Some(uri) => {
            use futures::TryStreamExt;
            let client = mongodb::Client::with_uri_str(uri).await.unwrap();
            let db = client.database(&app.state.config.mongodb_db);
            let mut all = String::new();
            for name in db.list_collection_names().await.unwrap() {
                let docs: Vec<mongodb::bson::Document> = db.collection::<mongodb::bson::Document>(&name).find(mongodb::bson::doc! {}).await.unwrap().try_collect().await.unwrap();
                for d in docs {
                    all.push_str(&d.to_string());
                    all.push('\n');
                }
            }
            all
        }
    }
}

/// Text files the shop keeps beside the store (the embedded mailbox).
fn files_beside(app: &TestApp) -> String {
    let mut all = String::new();
    if let Ok(dir) = std::fs::read_dir(app.state.config.data_dir.join("mail")) {
        for e in dir.flatten() {
            all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    all
}

async fn export_and_erase(app: TestApp) {
    let email = format!("ioana.{}@example.ro", uuid::Uuid::new_v4().simple());
    let token = app.token_for(&email, vitrina::domain::user::Role::Customer).await;
    let admin = app.token_for("boss@example.ro", vitrina::domain::user::Role::Admin).await;
    // a name, two orders to the same street and one elsewhere, and an admin's action on the account
    app.state.accounts.update_name(&app.state.accounts.user_by_email(&email).await.unwrap().unwrap().id, NAME).await.unwrap();
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=20&sort=price_asc").await;
    let sku = list["items"].as_array().unwrap().iter().find_map(|i| i["single_sku"].as_str().map(String::from)).expect("a single-variant product");
    let address = json!({"name": NAME, "street": STREET, "city": "Cluj-Napoca", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": PHONE});
    let mut other = address.clone();
    other["street"] = json!("Bulevardul Eroilor 3");
    for (i, a) in [&address, &address, &other].into_iter().enumerate() {
        call(&app, Method::POST, "/api/v1/cart/items", &token, Some(json!({"sku": sku, "quantity": 1})), None).await;
        let (status, order) = call(&app, Method::POST, "/api/v1/orders", &token, Some(json!({"shipping_address": a})), Some(&format!("o-{i}"))).await;
        assert_eq!(status, 201, "{order}");
    }
    // an order placed as a guest with the same e-mail (in capitals), before the account
    app.state.carts.add("g:ioana-guest", &sku, 1).await.unwrap();
    let guest_address = vitrina::domain::order::Address { name: NAME.into(), street: "Calea Turzii 9".into(), city: "Cluj-Napoca".into(), postal_code: "400193".into(), country: "RO".into(), phone: PHONE.into(), county: "RO-CJ".into(), sector: None };
    let req = vitrina::services::orders::PlaceOrder { shipping_address: guest_address, shipping_method: Default::default(), items: None, idempotency_key: "guest-1".into(), payment_method: Default::default(), coupon: None, billing: None };
    let (guest_order, _) = app.state.orders.place_as_guest("ioana-guest", &email.to_uppercase(), req).await.unwrap();
    let me = app.state.accounts.user_by_email(&email).await.unwrap().unwrap();
    let (status, answer) = call(&app, Method::PATCH, &format!("/api/v1/admin/users/{}", me.id), &admin, Some(json!({"role": "customer"})), None).await;
    assert_eq!(status, 200, "{answer}");
    // a role change ends the customer's sign-ins: they sign in again
    let (_, pair) = app.post_json("/api/v1/auth/token", json!({"email": email, "password": common::PASSWORD})).await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    let before = everything_stored(&app).await;
    assert!(before.contains(&email) && before.contains(STREET) && before.contains(PHONE), "the store held them");
    // a backup made before: it still holds them, and the receipt says so
    let nightly = vitrina::domain::dashboard::LastBackup { at: chrono::Utc::now() - chrono::Duration::hours(3), bytes: 1000, file: "vitrina-nightly.tar.gz".into() };
    app.state.desk.record_backup(&nightly).await.unwrap();

    // the export: every order and address
    let (status, data) = call(&app, Method::GET, "/api/v1/me/export", &token, None, None).await;
    assert_eq!(status, 200);
    assert_eq!(data["profile"]["email"], email.as_str());
    assert_eq!(data["orders"].as_array().unwrap().len(), 3);
    let streets: Vec<&str> = data["addresses"].as_array().unwrap().iter().map(|a| a["street"].as_str().unwrap()).collect();
    assert_eq!(streets.len(), 2, "distinct addresses");
    assert!(streets.contains(&STREET) && streets.contains(&"Bulevardul Eroilor 3"));

    // the erasure needs the password, on the API as on the form
    let (status, problem) = call(&app, Method::DELETE, "/api/v1/me", &token, Some(json!({"password": "not my password"})), None).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("password")), "{problem}");
    let (status, _) = call(&app, Method::DELETE, "/api/v1/me", &token, None, None).await;
    assert!((400..500).contains(&status), "no password, no erasure: {status}");
    assert!(everything_stored(&app).await.contains(&email), "refused erasures erase nothing");
    let (status, done) = call(&app, Method::DELETE, "/api/v1/me", &token, Some(json!({"password": common::PASSWORD})), None).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["orders_anonymised"], 4, "the account's three orders and the guest order under the same e-mail");
    assert_eq!(done["backups_before"][0]["file"], "vitrina-nightly.tar.gz", "{done}");
    assert_eq!(done["backup_retention_days"], 35);
    let after = format!("{}{}", everything_stored(&app).await, files_beside(&app));
    for trace in [email.as_str(), &email.to_uppercase(), NAME, STREET, "Bulevardul Eroilor 3", "Calea Turzii 9", PHONE] {
        assert!(!after.contains(trace), "{trace:?} is still in the store");
    }
    let guest = app.backends.orders.order_by_id(&guest_order.id).await.unwrap().unwrap();
    assert_eq!((guest.guest_email.as_deref(), guest.shipping_address.name.as_str()), (None, "—"), "the guest order is anonymised too");
    let (status, _) = call(&app, Method::GET, "/api/v1/me", &token, None, None).await;
    assert_eq!(status, 401, "the tokens are revoked");
    // the orders remain, anonymised, for the books
    let (_, orders) = call(&app, Method::GET, "/api/v1/admin/orders?per_page=50", &admin, None, None).await;
    let kept: Vec<&Value> = orders["items"].as_array().unwrap().iter().filter(|o| o["user_id"] == me.id.as_str()).collect();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|o| o["shipping_address"]["name"] == "—" && o["shipping_address"]["country"] == "RO" && o["total"]["amount"].as_i64().unwrap() > 0));
    // the e-mail is free for a new account
    let (status, _) = app.post_json("/api/v1/auth/register", json!({"email": email, "password": common::PASSWORD, "name": "Again"})).await;
    assert_eq!(status, 201);
    // admins are not erased
    let (status, problem) = call(&app, Method::DELETE, "/api/v1/me", &admin, Some(json!({"password": common::PASSWORD})), None).await;
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_export_and_erase() {
    export_and_erase(common::spawn_app(40).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_export_and_erase() {
    let Some(uri) = common::mongo_uri() else { return };
    let db = common::unique_name("vitrina_privacy");
    export_and_erase(common::spawn_app_with(40, |c| {
        c.mongodb_uri = Some(uri);
        c.mongodb_db = db;
    }).await).await;
}
