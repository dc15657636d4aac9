//! Payments from outside: cash on delivery and bank transfer, settling once,
//! refunds never above what was paid, unpaid transfers expiring with their
//! stock back.
mod common;

use common::{spawn_app_with, TestApp};
use serde_json::{json, Value};
use vitrina::domain::payment::BankAccount;
use vitrina::domain::user::Role;

const PASSWORD: &str = "correct horse battery staple";

async fn shop() -> TestApp {
    spawn_app_with(30, |c| {
        c.payments.bank_account = Some(BankAccount { beneficiary: "Vitrina SRL".into(), iban: "RO49 AAAA 1B31 0075 9384 0000".into(), bank: "Banca Test".into() });
        c.payments.transfer_days = 5;
    })
    .await
}

async fn token(app: &TestApp, email: &str, role: Role) -> String {
    app.state.accounts.register(email, PASSWORD, "Test", role).await.unwrap();
    let (_, t) = app.post_json("/api/v1/auth/token", json!({"email": email, "password": PASSWORD})).await;
    t["access_token"].as_str().unwrap().to_string()
}

async fn call(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token).header("Idempotency-Key", uuid_like(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

fn uuid_like(seed: &str) -> String {
    format!("k-{seed}-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

/// A SKU with at least 4 in stock, its product's slug, and what is available.
async fn stocked(app: &TestApp) -> (String, String, i64) {
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=5").await;
    for item in list["items"].as_array().unwrap() {
        let slug = item["slug"].as_str().unwrap().to_string();
        let (_, p) = app.json(&format!("/api/v1/products/{slug}")).await;
        if let Some(v) = p["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() >= 4) {
            return (slug, v["sku"].as_str().unwrap().to_string(), v["available"].as_i64().unwrap());
        }
    }
    panic!("no SKU in stock")
}

async fn available(app: &TestApp, slug: &str, sku: &str) -> i64 {
    let (_, p) = app.json(&format!("/api/v1/products/{slug}")).await;
    p["variants"].as_array().unwrap().iter().find(|v| v["sku"] == sku).unwrap()["available"].as_i64().unwrap()
}

async fn order(app: &TestApp, buyer: &str, sku: &str, qty: i64, payment: Option<&str>) -> (u16, Value) {
    call(app, reqwest::Method::POST, "/api/v1/cart/items", buyer, Some(json!({"sku": sku, "quantity": qty}))).await;
    let mut body = json!({"shipping_address": {"name": "Ana Pop", "street": "Str. Lungă 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "phone": "+40712345678"}});
    if let Some(m) = payment {
        body["payment_method"] = json!(m);
    }
    call(app, reqwest::Method::POST, "/api/v1/orders", buyer, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_transfer_holds_the_stock_and_settles_once() {
    let app = shop().await;
    let (buyer, admin) = (token(&app, "b@example.com", Role::Customer).await, token(&app, "a@example.com", Role::Admin).await);
    let (slug, sku, before) = stocked(&app).await;
    let (status, placed) = order(&app, &buyer, &sku, 2, Some("bank_transfer")).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["status"], "awaiting_payment");
    assert_eq!(placed["payment"]["method"], "bank_transfer");
    assert_eq!(placed["payment"]["status"], "pending");
    assert_eq!(placed["payment"]["amount_cents"], placed["total"]["amount"], "the order's total, computed by the shop");
    assert_eq!(available(&app, &slug, &sku).await, before - 2, "the stock is held while the order waits");
    let id = placed["id"].as_str().unwrap().to_string();

    // three admins (or one impatient one) mark it paid at once: one settlement
    let path = format!("/api/v1/admin/orders/{id}/paid");
    let tries = (0..3).map(|_| call(&app, reqwest::Method::POST, &path, &admin, None));
    let results = futures::future::join_all(tries).await;
    let settled: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert_eq!(settled.len(), 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| [200, 409].contains(s)), "{results:?}");
    assert_eq!((settled[0]["status"].as_str(), settled[0]["payment"]["status"].as_str()), (Some("placed"), Some("paid")));
    let (_, audit) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/audit?action=order.paid&target={id}"), &admin, None).await;
    assert_eq!(audit["total"], 1, "one audit entry: {audit}");
    // the shopper sees it paid
    let (_, mine) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!(mine["payment"]["status"], "paid");
    assert_eq!(available(&app, &slug, &sku).await, before - 2, "sold, not returned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_offered_methods_are_accepted() {
    let app = shop().await;
    let buyer = token(&app, "m@example.com", Role::Customer).await;
    let (_, sku, _) = stocked(&app).await;
    for method in ["card", "bitcoin"] {
        let (status, problem) = order(&app, &buyer, &sku, 1, Some(method)).await;
        assert_eq!(status, 422, "{method}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "payment_method", "{problem}");
    }
    let (status, cod) = order(&app, &buyer, &sku, 1, None).await;
    assert_eq!(status, 201);
    assert_eq!((cod["status"].as_str(), cod["payment"]["method"].as_str(), cod["payment_method"].as_str()), (Some("placed"), Some("cod"), Some("cod")), "cash on delivery by default");
    // a shop without a bank account configured does not offer transfers
    let plain = spawn_app_with(10, |_| {}).await;
    let buyer = token(&plain, "p@example.com", Role::Customer).await;
    let (_, sku, _) = stocked(&plain).await;
    let (status, problem) = order(&plain, &buyer, &sku, 1, Some("bank_transfer")).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("payment_method")), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cash_on_delivery_is_paid_at_the_door_and_refunds_stop_at_what_was_paid() {
    let app = shop().await;
    let (buyer, admin) = (token(&app, "c@example.com", Role::Customer).await, token(&app, "ca@example.com", Role::Admin).await);
    let (_, sku, _) = stocked(&app).await;
    let (_, placed) = order(&app, &buyer, &sku, 1, Some("cod")).await;
    let id = placed["id"].as_str().unwrap().to_string();
    let total = placed["total"]["amount"].as_i64().unwrap();
    // nothing was paid yet: nothing to refund
    let refunds = format!("/api/v1/admin/orders/{id}/refunds");
    let (status, problem) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": 100}))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("amount_cents")), "{problem}");
    for to in ["confirmed", "shipped", "delivered"] {
        let (status, o) = call(&app, reqwest::Method::POST, &format!("/api/v1/admin/orders/{id}/status"), &admin, Some(json!({"status": to}))).await;
        assert_eq!(status, 200, "{o}");
        assert_eq!(o["payment"]["status"], if to == "delivered" { "paid" } else { "pending" }, "{to}");
    }
    let (status, o) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": 1000, "reason": "a scratched box"}))).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!((o["payment"]["status"].as_str(), o["payment"]["refunded_cents"].as_i64()), (Some("partially_refunded"), Some(1000)));
    let (status, problem) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": total}))).await;
    assert_eq!(status, 422, "more than is left: {problem}");
    let (status, o) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": total - 1000}))).await;
    assert_eq!((status, o["payment"]["status"].as_str(), o["payment"]["refunded_cents"].as_i64()), (200, Some("refunded"), Some(total)));
    let (_, audit) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/audit?action=order.refund&target={id}"), &admin, None).await;
    assert_eq!(audit["total"], 2, "every refund is in the audit log");
    // shoppers cannot refund themselves
    let (status, _) = call(&app, reqwest::Method::POST, &refunds, &buyer, Some(json!({"amount_cents": 1}))).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaid_transfers_expire_once_and_their_stock_comes_back() {
    let app = shop().await;
    let buyer = token(&app, "e@example.com", Role::Customer).await;
    let (slug, sku, before) = stocked(&app).await;
    let (_, placed) = order(&app, &buyer, &sku, 3, Some("bank_transfer")).await;
    let id = placed["id"].as_str().unwrap().to_string();
    assert_eq!(available(&app, &slug, &sku).await, before - 3);
    let now = chrono::Utc::now();
    assert_eq!(app.state.orders.expire_unpaid(now).await.unwrap(), 0, "within its days nothing expires");
    // several instances sweep at once, days later
    let later = now + chrono::Duration::days(6);
    let sweeps = (0..3).map(|_| app.state.orders.expire_unpaid(later));
    let expired: usize = futures::future::join_all(sweeps).await.into_iter().map(|r| r.unwrap()).sum();
    assert_eq!(expired, 1, "expired once");
    assert_eq!(app.state.orders.expire_unpaid(later).await.unwrap(), 0, "and never again");
    let (_, o) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!((o["status"].as_str(), o["payment"]["status"].as_str()), (Some("expired"), Some("expired")));
    assert_eq!(available(&app, &slug, &sku).await, before, "the stock is back, once");
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Without JavaScript: a guest picks a bank transfer at checkout, the order
/// page says where to send the money, an admin marks it paid and refunds
/// part of it from the panel's forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_by_bank_transfer_and_cash_on_delivery_work_with_forms() {
    let app = shop().await;
    let admin = token(&app, "fa@example.com", Role::Admin).await;
    let (_, sku, _) = stocked(&app).await;
    let page = |path: String| {
        let client = browser();
        let url = format!("{}{path}", app.base);
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    for (method, expect) in [("bank_transfer", "awaiting_payment"), ("cod", "placed")] {
        let res = browser().post(format!("{}/cart/add", app.base)).form(&[("sku", sku.as_str()), ("quantity", "1"), ("back", "/cart")]).send().await.unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let checkout = browser().get(format!("{}/checkout", app.base)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        assert!(checkout.contains("value=\"bank_transfer\"") && checkout.contains("value=\"cod\""), "the checkout offers both ways to pay");
        let form = [
            ("email", "guest@example.com"), ("name", "Ana Pop"), ("street", "Str. Lungă 1"), ("postal_code", "400001"), ("city", "Cluj"),
            ("country", "RO"), ("phone", "+40712345678"), ("shipping_method", "standard"), ("idempotency_key", method), ("payment_method", method),
        ];
        let res = browser().post(format!("{}/checkout", app.base)).header("cookie", &cookie).form(&form).send().await.unwrap();
        let link = res.headers()["location"].to_str().unwrap().to_string();
        assert!(link.starts_with("/orders/"), "{link}");
        let html = page(link.clone()).await;
        assert!(html.contains(&format!("awaiting_payment\">{}", vitrina::i18n::Locale::Ro.t("status-awaiting_payment"))) == (expect == "awaiting_payment") && html.contains(&format!("\">{}</span>", vitrina::i18n::Locale::Ro.t(&format!("status-{expect}")))), "{method}: the order is {expect}");
        assert_eq!(html.contains("RO49 AAAA 1B31 0075 9384 0000"), method == "bank_transfer", "{method}: the IBAN is shown only while a transfer is awaited");
        if method == "bank_transfer" {
            let id = link.trim_start_matches("/orders/").split('?').next().unwrap().to_string();
            let res = browser().post(format!("{}/admin/orders/paid", app.base)).bearer_auth(&admin).form(&[("order_id", id.as_str())]).send().await.unwrap();
            let back = res.headers()["location"].to_str().unwrap().to_string();
            assert!(back.contains("notice=msg-order-paid"), "{back}");
            let html = page(link.clone()).await;
            assert!(!html.contains("RO49 AAAA"), "paid: no more transfer details");
            assert!(html.contains(vitrina::i18n::Locale::Ro.t("payment-status-paid")));
            let res = browser().post(format!("{}/admin/orders/refund", app.base)).bearer_auth(&admin).form(&[("order_id", id.as_str()), ("amount", "1,50"), ("reason", "late")]).send().await.unwrap();
            let back = res.headers()["location"].to_str().unwrap().to_string();
            assert!(back.contains("notice=msg-order-refunded%7Cnumber%3D") && back.contains("amount%3D150"), "{back}");
            let res = browser().post(format!("{}/admin/orders/refund", app.base)).bearer_auth(&admin).form(&[("order_id", id.as_str()), ("amount", "99999"), ("reason", "")]).send().await.unwrap();
            let back = res.headers()["location"].to_str().unwrap().to_string();
            assert!(back.contains("error=field-refund-amount"), "{back}");
        }
    }
}

/// Five refunds of 40 % each at the same moment: at most two pass, and never
/// more is refunded than was paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_what_was_paid() {
    let app = shop().await;
    let (buyer, admin) = (token(&app, "r@example.com", Role::Customer).await, token(&app, "ra@example.com", Role::Admin).await);
    let (_, sku, _) = stocked(&app).await;
    let (_, placed) = order(&app, &buyer, &sku, 1, Some("bank_transfer")).await;
    let id = placed["id"].as_str().unwrap().to_string();
    let (status, paid) = call(&app, reqwest::Method::POST, &format!("/api/v1/admin/orders/{id}/paid"), &admin, None).await;
    assert_eq!(status, 200, "{paid}");
    let total = paid["payment"]["amount_cents"].as_i64().unwrap();
    let part = total * 2 / 5;
    let path = format!("/api/v1/admin/orders/{id}/refunds");
    let tries = (0..5).map(|_| call(&app, reqwest::Method::POST, &path, &admin, Some(json!({"amount_cents": part}))));
    let results = futures::future::join_all(tries).await;
    let passed = results.iter().filter(|(s, _)| *s == 200).count();
    assert!(results.iter().all(|(s, _)| [200, 422, 503].contains(s)), "{results:?}");
    let (_, o) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    let refunded = o["payment"]["refunded_cents"].as_i64().unwrap();
    assert_eq!(refunded, part * passed as i64, "every refund that answered 200 counted, once: {results:?}");
    assert!(refunded <= total && passed <= 2, "never more than was paid: {refunded} of {total}");
}
