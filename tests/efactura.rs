//! e-Factura against the ANAF stand-in (one test at a time: the stand-in's
//! refusal switch is global), and invoice numbers taken concurrently by two
//! instances of the shop on one store.
mod common;

use std::collections::BTreeSet;

use common::{call, eventually, spawn_app_with, with_anaf, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use vitrina::config::Config;
use vitrina::domain::order::ShippingMethod;
use vitrina::domain::payment::{BankAccount, PaymentMethod};
use vitrina::domain::user::Role;
use vitrina::ports::{CatalogStore, DocumentFilter};
use vitrina::services::orders::PlaceOrder;
use vitrina::state::AppState;

fn bank() -> Option<BankAccount> {
    Some(BankAccount { iban: "RO49AAAA1B31007593840000".into(), beneficiary: "Vitrina Demo SRL".into(), bank: "Banca Transilvania".into() })
}

/// A stocked product at 21 %; its SKU.
async fn product(catalog: &std::sync::Arc<dyn CatalogStore>, n: u64, stock: i64) -> String {
    let mut p = vitrina::services::demo::demo_product(n);
    p.variants.truncate(1);
    p.variants[0].stock = stock;
    let sku = p.variants[0].sku.clone();
    catalog.upsert_products(&[p]).await.unwrap();
    sku
}

/// Runs the outbox relay until the document reaches `state` (or 30 s pass).
async fn until_state(app: &TestApp, admin: &str, order_id: &str, state: &str) -> Value {
    eventually(30, || async {
        let _ = app.state.notify.run_once().await;
        let (_, list) = call(app, Method::GET, &format!("/api/v1/admin/orders/{order_id}/documents"), admin, None, None).await;
        list["items"].as_array().and_then(|l| l.first()).filter(|d| d["efactura"]["state"] == state).cloned()
    })
    .await
    .unwrap_or_else(|| panic!("the document of {order_id} did not become {state}"))
}

async fn paid_order(app: &TestApp, buyer: &str, admin: &str, sku: &str, billing: Option<Value>) -> String {
    let address = json!({"name": "Ana Pop", "street": "Str. Lungă 1", "city": "Cluj-Napoca", "postal_code": "400001", "country": "RO", "phone": "0712345678", "county": "RO-CJ"});
    let mut body = json!({"shipping_address": address, "items": [{"sku": sku, "quantity": 1}], "payment_method": "bank_transfer"});
    if let Some(b) = billing {
        body["billing"] = b;
    }
    let (status, o) = call(app, Method::POST, "/api/v1/orders", buyer, Some(body), Some(&uuid::Uuid::new_v4().to_string())).await;
    assert_eq!(status, 201, "{o}");
    let id = o["id"].as_str().unwrap().to_string();
    assert_eq!(call(app, Method::POST, &format!("/api/v1/admin/orders/{id}/paid"), admin, None, None).await.0, 200);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_reach_accepted_and_a_refused_one_is_corrected_and_accepted() {
    let Some(anaf) = common::anaf_url() else { return };
    let app = spawn_app_with(0, |c| {
        with_anaf(c, &anaf);
        c.payments.bank_account = bank();
        c.notify.retry = vitrina::domain::outbox::RetrySchedule::parse("0,0,0,1,1,1,1,1").unwrap();
    })
    .await;
    let http = reqwest::Client::new();
    http.post(format!("{anaf}/_config/reset")).send().await.unwrap();
    let admin = app.token_for("admin@efactura.test", Role::Admin).await;
    let buyer = app.token_for("ana@efactura.test", Role::Partner).await;
    let sku = product(&app.backends.catalog, 910_001, 100).await;
    let (_, status) = call(&app, Method::GET, "/api/v1/admin/efactura", &admin, None, None).await;
    assert_eq!((status["client"].as_bool(), status["token"].as_bool(), status["token_warning"].as_bool()), (Some(true), Some(true), Some(false)), "{status}");
    // a person (uploadb2c) and a company (upload) both end accepted, the signed answer kept
    let person = paid_order(&app, &buyer, &admin, &sku, None).await;
    let company = paid_order(&app, &buyer, &admin, &sku, Some(json!({"type": "company", "company_name": "Someşul Librării SRL", "cui": "RO28612344", "vat_payer": true}))).await;
    let p = until_state(&app, &admin, &person, "accepted").await;
    let c = until_state(&app, &admin, &company, "accepted").await;
    let log: Value = http.get(format!("{anaf}/_log")).send().await.unwrap().json().await.unwrap();
    let sent = |number: &Value| log.as_array().unwrap().iter().find(|u| u["invoice_id"] == *number).cloned().expect("uploaded");
    assert_eq!(sent(&p["number"])["b2c"], true, "a person's invoice goes through uploadb2c");
    assert_eq!(sent(&c["number"])["b2c"], false, "a company's through upload");
    assert!(p["efactura"]["upload_id"].is_string());
    // ANAF refuses the next one: its errors show, and made again it is accepted
    http.post(format!("{anaf}/_config/refuse")).json(&json!({"count": 1, "errors": ["E: [BR-RO-065] stand-in refusal: the document needs a correction"]})).send().await.unwrap();
    let refused = paid_order(&app, &buyer, &admin, &sku, None).await;
    let r = until_state(&app, &admin, &refused, "rejected").await;
    assert!(r["efactura"]["errors"][0].as_str().unwrap().contains("BR-RO-065"), "{r}");
    let (_, not_accepted) = call(&app, Method::GET, "/api/v1/admin/documents?efactura=not_accepted", &admin, None, None).await;
    let listed: Vec<&Value> = not_accepted["items"].as_array().unwrap().iter().collect();
    assert!(listed.iter().any(|d| d["id"] == r["id"]) && !listed.iter().any(|d| d["id"] == p["id"]), "the filter shows the refused one only: {not_accepted}");
    // the panel shows the error next to the document
    let session = common::admin_session(&app, "admin@efactura.test").await;
    let html = session.get(format!("{}/admin/documents?efactura=not_accepted", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("BR-RO-065") && html.contains(r["number"].as_str().unwrap()), "the panel page lists the refusal");
    let (status, again) = call(&app, Method::POST, &format!("/api/v1/admin/documents/{}/regenerate", r["id"].as_str().unwrap()), &admin, None, None).await;
    assert_eq!((status, again["number"].clone()), (200, r["number"].clone()), "the same number: {again}");
    let ok = until_state(&app, &admin, &refused, "accepted").await;
    assert_eq!(ok["number"], r["number"]);
    // an accepted document cannot be made again
    assert_eq!(call(&app, Method::POST, &format!("/api/v1/admin/documents/{}/regenerate", ok["id"].as_str().unwrap()), &admin, None, None).await.0, 422);
    // the refresh token rotated as it went, and nothing is late
    let (_, status) = call(&app, Method::GET, "/api/v1/admin/efactura", &admin, None, None).await;
    assert_eq!((status["token_warning"].as_bool(), status["late"].as_u64()), (Some(false), Some(0)), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_e_factura_documents_wait_and_the_panel_says_so() {
    let app = spawn_app_with(0, |c| c.payments.bank_account = bank()).await;
    let admin = app.token_for("admin@waiting.test", Role::Admin).await;
    let buyer = app.token_for("ion@waiting.test", Role::Partner).await;
    let sku = product(&app.backends.catalog, 910_002, 10).await;
    let id = paid_order(&app, &buyer, &admin, &sku, None).await;
    for _ in 0..3 {
        let _ = app.state.notify.run_once().await;
    }
    let (_, list) = call(&app, Method::GET, &format!("/api/v1/admin/orders/{id}/documents"), &admin, None, None).await;
    assert_eq!(list["items"][0]["efactura"]["state"], "waiting");
    let (_, status) = call(&app, Method::GET, "/api/v1/admin/efactura", &admin, None, None).await;
    assert_eq!((status["client"].as_bool(), status["not_accepted"].as_u64()), (Some(false), Some(1)));
    let session = common::admin_session(&app, "admin@waiting.test").await;
    let html = session.get(format!("{}/admin/documents", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-efactura=\"off\""), "the panel says e-Factura is not configured");
}

/// 50 bank-transfer orders paid at once, half on each of two instances of
/// the shop sharing one store: 50 invoices numbered 1 to 50.
async fn fifty_paid_on_two_instances(a: AppState, b: AppState, catalog: std::sync::Arc<dyn CatalogStore>) {
    let sku = product(&catalog, 920_001, 1000).await;
    let user = a.accounts.register("many@numbers.test", common::PASSWORD, "Many", Role::Partner).await.unwrap();
    let address = common::address();
    let mut ids = Vec::new();
    for i in 0..50 {
        let req = PlaceOrder { shipping_address: address.clone(), shipping_method: ShippingMethod::Standard, items: Some(vec![vitrina::domain::order::CartLine { sku: sku.clone(), quantity: 1 }]), idempotency_key: format!("n{i}"), payment_method: PaymentMethod::BankTransfer, coupon: None, billing: None };
        ids.push(a.orders.place(&user, req).await.unwrap().0.id);
    }
    let mut tasks = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let shop = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { shop.orders.mark_paid(&id).await.map(|o| o.id) }));
    }
    for t in tasks {
        t.await.unwrap().expect("paid");
    }
    let (docs, total) = a.invoicing.list(&DocumentFilter::default(), 1, 100).await.unwrap();
    let numbers: BTreeSet<u64> = docs.iter().map(|d| d.number).collect();
    assert_eq!(total, 50);
    assert_eq!(numbers, (1..=50).collect::<BTreeSet<u64>>(), "consecutive, no gap, no repeat");
    let orders: BTreeSet<&str> = docs.iter().map(|d| d.order_id.as_str()).collect();
    assert_eq!(orders.len(), 50, "one invoice per order");
}

fn two_configs(adjust: impl Fn(&mut Config)) -> (Config, Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut one = Config::for_data_dir(dir.path().to_path_buf());
    one.payments.bank_account = bank();
    adjust(&mut one);
    let two = one.clone();
    (one, two, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_orders_paid_at_once_on_two_instances_get_consecutive_numbers_sqlite() {
    let (one, two, _dir) = two_configs(|_| {});
    let (a, backends) = AppState::build_with_backends(&one).await.unwrap();
    let b = AppState::build(&two).await.unwrap();
    fifty_paid_on_two_instances(a, b, backends.catalog).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_orders_paid_at_once_on_two_instances_get_consecutive_numbers_mongodb() {
    let Some(uri) = common::mongo_uri() else { return };
    let db = common::unique_name("vitrina_numbers");
    let (one, two, _dir) = two_configs(|c| {
        c.mongodb_uri = Some(uri.clone());
        c.mongodb_db = db.clone();
    });
    let (a, backends) = AppState::build_with_backends(&one).await.unwrap();
    let b = AppState::build(&two).await.unwrap();
    fifty_paid_on_two_instances(a, b, backends.catalog).await;
}
