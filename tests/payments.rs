//! Payments from outside: cash on delivery and bank transfer, settling once,
//! refunds never above what was paid, unpaid transfers expiring with their
//! stock back.
mod common;

use common::{eventually, spawn_app_with, TestApp};
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
    let mut body = json!({"shipping_address": {"name": "Ana Pop", "street": "Str. Lungă 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40712345678"}});
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
    // nor cards: their webhook is not there
    let res = plain.client.post(format!("{}/api/v1/payments/stripe/webhook", plain.base)).header("Stripe-Signature", "t=1,v1=00").body("{}").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
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
            ("country", "RO"), ("county", "RO-CJ"), ("phone", "+40712345678"), ("shipping_method", "standard"), ("idempotency_key", method), ("payment_method", method),
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

// ---- cards, against localstripe (a stateful Stripe API stand-in) ----

const STRIPE_SECRET_KEY: &str = "sk_test_vitrina";

struct Stripe {
    url: String,
    webhook_secret: String,
    http: reqwest::Client,
}

impl Stripe {
    async fn call(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let res = self.http.post(format!("{}{path}", self.url)).bearer_auth(STRIPE_SECRET_KEY).form(form).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }

    async fn intent(&self, id: &str) -> Value {
        self.http.get(format!("{}/v1/payment_intents/{id}", self.url)).bearer_auth(STRIPE_SECRET_KEY).send().await.unwrap().json().await.unwrap()
    }

    /// Pays an intent with a test card as the browser would: the card attached, then confirmed.
    async fn pay(&self, intent: &str, number: &str) -> (u16, Value) {
        let (status, pm) = self.call("/v1/payment_methods", &[("type", "card"), ("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2030"), ("card[cvc]", "123")]).await;
        assert_eq!(status, 200, "{pm}");
        // localstripe confirms only an intent that already has its card (its /confirm takes no payment_method)
        let (status, attached) = self.call(&format!("/v1/payment_intents/{intent}"), &[("payment_method", pm["id"].as_str().unwrap())]).await;
        assert_eq!(status, 200, "{attached}");
        self.call(&format!("/v1/payment_intents/{intent}/confirm"), &[]).await
    }

    /// A webhook event for the intent as it is now, signed as Stripe signs it.
    async fn signed_event(&self, event_id: &str, kind: &str, intent: &str, secret: &str) -> (String, String) {
        let body = json!({"id": event_id, "object": "event", "type": kind, "data": {"object": self.intent(intent).await}}).to_string();
        let t = chrono::Utc::now().timestamp();
        let mac: String = vitrina::services::digest::hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        (body, format!("t={t},v1={mac}"))
    }
}

/// A shop taking cards at localstripe. `webhooks`: localstripe posts its
/// events to the shop (off where a test posts its own events).
async fn card_shop(webhooks: bool) -> Option<(TestApp, Stripe)> {
    card_shop_through(webhooks, None).await
}

/// The same, the shop reaching localstripe through `api_base` (a proxy that can lose answers).
async fn card_shop_through(webhooks: bool, api_base: Option<String>) -> Option<(TestApp, Stripe)> {
    let url = common::stripe_url()?;
    let webhook_secret = format!("whsec_{}", common::unique_name("t"));
    let (u, s) = (api_base.unwrap_or_else(|| url.clone()), webhook_secret.clone());
    let app = spawn_app_with(30, move |c| {
        c.stripe = Some(vitrina::infra::stripe::StripeSettings {
            secret_key: STRIPE_SECRET_KEY.into(),
            publishable_key: "pk_test_vitrina".into(),
            webhook_secret: s,
            api_base: u.clone(),
            js_url: format!("{u}/js.stripe.com/v3/"),
        });
        c.payments.card_minutes = 30;
    })
    .await;
    let stripe = Stripe { url, webhook_secret, http: reqwest::Client::new() };
    if webhooks {
        let hook = format!("/_config/webhooks/{}", common::unique_name("hook"));
        let target = format!("{}/api/v1/payments/stripe/webhook", app.base);
        let (status, _) = stripe.call(&hook, &[("url", &target), ("secret", &stripe.webhook_secret)]).await;
        assert_eq!(status, 200, "webhook registered at localstripe");
    }
    Some((app, stripe))
}

/// A card order of `qty` of `sku`: its id, its PaymentIntent's id, and the order as placed.
async fn card_order(app: &TestApp, buyer: &str, sku: &str, qty: i64) -> (String, String, Value) {
    let (status, placed) = order(app, buyer, sku, qty, Some("card")).await;
    assert_eq!(status, 201, "{placed}");
    let intent = placed["payment"]["provider_reference"].as_str().expect("the PaymentIntent's id").to_string();
    (placed["id"].as_str().unwrap().to_string(), intent, placed)
}

/// Waits (5 s at most) until the stored order satisfies `done`; the order as last read.
async fn stored_until(app: &TestApp, id: &str, done: impl Fn(&vitrina::domain::order::Order) -> bool) -> vitrina::domain::order::Order {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let order = app.backends.orders.order_by_id(id).await.unwrap().unwrap();
        if done(&order) || std::time::Instant::now() > deadline {
            return order;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn paid_entries(app: &TestApp, admin: &str, id: &str) -> i64 {
    let (_, audit) = call(app, reqwest::Method::GET, &format!("/api/v1/admin/audit?action=order.paid&target={id}"), admin, None).await;
    audit["total"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_settles_by_webhook_without_the_browser() {
    let Some((app, stripe)) = card_shop(true).await else { return };
    let (buyer, admin) = (token(&app, "card@example.com", Role::Customer).await, token(&app, "carda@example.com", Role::Admin).await);
    let (slug, sku, before) = stocked(&app).await;
    let (status, placed) = order(&app, &buyer, &sku, 2, Some("card")).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!((placed["status"].as_str(), placed["payment"]["method"].as_str(), placed["payment"]["status"].as_str()), (Some("awaiting_payment"), Some("card"), Some("pending")));
    let intent = placed["payment"]["provider_reference"].as_str().expect("the PaymentIntent's id").to_string();
    assert!(placed["payment"]["client_secret"].as_str().is_some_and(|s| s.starts_with(&intent)), "the owner gets the client secret: {placed}");
    assert_eq!(available(&app, &slug, &sku).await, before - 2, "the stock is held while the card is paid");
    let at_stripe = stripe.intent(&intent).await;
    assert_eq!(at_stripe["amount"], placed["total"]["amount"], "the provider charges the order's total, computed by the shop");
    assert_eq!(at_stripe["currency"], "ron");
    let id = placed["id"].as_str().unwrap().to_string();
    let (_, seen_by_admin) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &admin, None).await;
    assert!(seen_by_admin["payment"].get("client_secret").is_none(), "nobody else sees the secret: {seen_by_admin}");
    assert!(app.backends.orders.order_by_id(&id).await.unwrap().unwrap().payment.client_secret.is_none(), "the secret is never stored");

    let (status, confirmed) = stripe.pay(&intent, "4242424242424242").await;
    assert_eq!((status, confirmed["status"].as_str()), (200, Some("succeeded")), "{confirmed}");
    // no browser comes back: the provider's webhook alone settles it (read from the store, which asks no one)
    let stored = stored_until(&app, &id, |o| o.payment.status == vitrina::domain::payment::PaymentStatus::Paid).await;
    assert_eq!(stored.payment.status, vitrina::domain::payment::PaymentStatus::Paid, "paid within 5 seconds of the confirmation");
    assert_eq!(stored.status, vitrina::domain::order::OrderStatus::Placed);
    // the audit entry is written just after the payment (its own write): read it once it is there
    let url = format!("/api/v1/admin/audit?action=order.paid&target={id}");
    let audit = eventually(5, || async {
        let (_, audit) = call(&app, reqwest::Method::GET, &url, &admin, None).await;
        (audit["total"] != 0).then_some(audit)
    })
    .await
    .expect("the payment is audited");
    assert_eq!(audit["total"], 1, "{audit}");
    assert!(audit["items"][0]["actor_email"].as_str().unwrap().contains("webhook"), "{audit}");
    let (_, mine) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!(mine["payment"]["status"], "paid");
    assert!(mine["payment"].get("client_secret").is_none(), "no secret once paid: {mine}");
    assert_eq!(available(&app, &slug, &sku).await, before - 2, "sold, not returned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signed_event_three_times_at_once_settles_once_and_a_bad_signature_changes_nothing() {
    let Some((app, stripe)) = card_shop(false).await else { return };
    let (buyer, admin) = (token(&app, "w@example.com", Role::Customer).await, token(&app, "wa@example.com", Role::Admin).await);
    let (_, sku, _) = stocked(&app).await;
    let (id, intent, _) = card_order(&app, &buyer, &sku, 1).await;
    let hook = format!("{}/api/v1/payments/stripe/webhook", app.base);
    let post = |body: String, signature: String| {
        let (client, hook) = (app.client.clone(), hook.clone());
        async move {
            let res = client.post(hook).header("Stripe-Signature", signature).header("Content-Type", "application/json").body(body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // before paying: a forged "succeeded" (signed with another secret) is refused and changes nothing
    let (status, _) = stripe.pay(&intent, "4242424242424242").await;
    assert_eq!(status, 200);
    let (body, _) = stripe.signed_event("evt_forged", "payment_intent.succeeded", &intent, &stripe.webhook_secret).await;
    let (_, forged) = stripe.signed_event("evt_forged", "payment_intent.succeeded", &intent, "whsec_somebody_else").await;
    let (status, problem) = post(body.clone(), forged).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "Stripe-Signature", "{problem}");
    let (status, _) = post(body.clone(), String::new()).await;
    assert_eq!(status, 400, "no signature at all");
    let (status, _) = post(body.replace("evt_forged", "evt_tampered"), stripe.signed_event("evt_forged", "payment_intent.succeeded", &intent, &stripe.webhook_secret).await.1).await;
    assert_eq!(status, 400, "a body changed after signing");
    let untouched = app.backends.orders.order_by_id(&id).await.unwrap().unwrap();
    assert_eq!(untouched.status, vitrina::domain::order::OrderStatus::AwaitingPayment, "refused events change nothing");
    assert_eq!(paid_entries(&app, &admin, &id).await, 0);

    // the same signed event three times at once: one settlement, two acknowledged replays
    let (body, signature) = stripe.signed_event("evt_once", "payment_intent.succeeded", &intent, &stripe.webhook_secret).await;
    let answers = futures::future::join_all((0..3).map(|_| post(body.clone(), signature.clone()))).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert_eq!(answers.iter().filter(|(_, a)| a["replay"] == false).count(), 1, "{answers:?}");
    // and another event about the same payment (the provider may send several): still one settlement
    let (body, signature) = stripe.signed_event("evt_again", "payment_intent.succeeded", &intent, &stripe.webhook_secret).await;
    assert_eq!(post(body, signature).await.0, 200);
    let stored = app.backends.orders.order_by_id(&id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.payment.status), (vitrina::domain::order::OrderStatus::Placed, vitrina::domain::payment::PaymentStatus::Paid));
    assert_eq!(stored.history.iter().filter(|h| h.status == vitrina::domain::order::OrderStatus::Placed).count(), 1, "one transition to paid");
    assert_eq!(paid_entries(&app, &admin, &id).await, 1, "one audit entry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_return_page_and_the_webhook_racing_settle_once() {
    let Some((app, stripe)) = card_shop(false).await else { return };
    let (buyer, admin) = (token(&app, "r@example.com", Role::Customer).await, token(&app, "ra@example.com", Role::Admin).await);
    let (_, sku, _) = stocked(&app).await;
    let (id, intent, _) = card_order(&app, &buyer, &sku, 1).await;
    let (status, _) = stripe.pay(&intent, "4242424242424242").await;
    assert_eq!(status, 200);
    let (body, signature) = stripe.signed_event("evt_race", "payment_intent.succeeded", &intent, &stripe.webhook_secret).await;
    let hook = format!("{}/api/v1/payments/stripe/webhook", app.base);
    // the shopper's browser comes back (the order page asks the provider) while the webhook arrives
    let webhook = app.client.post(&hook).header("Stripe-Signature", &signature).body(body).send();
    let page = app.client.get(format!("{}/account/orders/{id}", app.base)).bearer_auth(&buyer).send();
    let order_path = format!("/api/v1/orders/{id}");
    let api = call(&app, reqwest::Method::GET, &order_path, &buyer, None);
    let (hooked, _, (_, seen)) = tokio::join!(webhook, page, api);
    assert_eq!(hooked.unwrap().status(), 200);
    assert_eq!(seen["payment"]["status"], "paid", "{seen}");
    assert_eq!(paid_entries(&app, &admin, &id).await, 1, "one settlement, whichever came first");
    let stored = app.backends.orders.order_by_id(&id).await.unwrap().unwrap();
    assert_eq!(stored.history.iter().filter(|h| h.status == vitrina::domain::order::OrderStatus::Placed).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_leaves_the_order_waiting_and_a_3d_secure_card_pays_once_the_bank_agrees() {
    let Some((app, stripe)) = card_shop(true).await else { return };
    let buyer = token(&app, "d@example.com", Role::Customer).await;
    let (_, sku, _) = stocked(&app).await;
    let (id, intent, _) = card_order(&app, &buyer, &sku, 1).await;
    // Stripe declines 4000000000000002 when charged; localstripe declines it only when it is
    // attached to a customer, and declines the charge of 4000000000000341 (Stripe's "attaches,
    // then the charge is declined" card) instead: that one stands in for the declined card here
    let (status, declined) = stripe.pay(&intent, "4000000000000341").await;
    assert_eq!(status, 402, "declined at the provider: {declined}");
    let (_, mine) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!(mine["status"], "awaiting_payment", "{mine}");
    assert_eq!(mine["payment"]["status"], "failed", "the decline is recorded: {mine}");
    assert!(mine["payment"]["failure"].as_str().is_some(), "{mine}");
    assert!(mine["payment"]["client_secret"].as_str().is_some(), "the shopper may try another card: {mine}");

    // a card that needs 3-D Secure: waits for the shopper's bank, then pays (on a second order:
    // localstripe, unlike Stripe, cannot confirm an intent again after a declined charge)
    let (id, intent, _) = card_order(&app, &buyer, &sku, 1).await;
    let (status, pending) = stripe.pay(&intent, "4000002500003155").await;
    assert_eq!((status, pending["status"].as_str()), (200, Some("requires_action")), "{pending}");
    let (_, mine) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!(mine["status"], "awaiting_payment", "not paid before the bank says so: {mine}");
    let secret = mine["payment"]["client_secret"].as_str().unwrap().to_string();
    let (status, authenticated) = stripe.call(&format!("/v1/payment_intents/{intent}/_authenticate?success=true"), &[("client_secret", &secret)]).await;
    assert_eq!((status, authenticated["status"].as_str()), (200, Some("succeeded")), "{authenticated}");
    let stored = stored_until(&app, &id, |o| o.payment.status == vitrina::domain::payment::PaymentStatus::Paid).await;
    assert_eq!((stored.status, stored.payment.status), (vitrina::domain::order::OrderStatus::Placed, vitrina::domain::payment::PaymentStatus::Paid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_card_order_expires_once_on_several_instances_and_its_payment_is_cancelled() {
    let Some((app, stripe)) = card_shop(false).await else { return };
    let buyer = token(&app, "e@example.com", Role::Customer).await;
    let (slug, sku, before) = stocked(&app).await;
    let (id, intent, _) = card_order(&app, &buyer, &sku, 3).await;
    assert_eq!(available(&app, &slug, &sku).await, before - 3);
    let now = chrono::Utc::now();
    assert_eq!(app.state.orders.expire_unpaid(now + chrono::Duration::minutes(29)).await.unwrap(), 0, "within its 30 minutes nothing expires");
    // a second instance on the same store, sweeping at the same time as this one, twice each
    let other = vitrina::state::AppState::build(&{
        let mut c = vitrina::config::Config::for_data_dir(app._dir.path().to_path_buf());
        c.stripe = Some(vitrina::infra::stripe::StripeSettings {
            secret_key: STRIPE_SECRET_KEY.into(),
            publishable_key: "pk".into(),
            webhook_secret: stripe.webhook_secret.clone(),
            api_base: stripe.url.clone(),
            js_url: String::new(),
        });
        c
    })
    .await
    .unwrap();
    let later = now + chrono::Duration::minutes(31);
    let (a, b, c, d) = tokio::join!(app.state.orders.expire_unpaid(later), other.orders.expire_unpaid(later), app.state.orders.expire_unpaid(later), other.orders.expire_unpaid(later));
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap() + d.unwrap(), 1, "expired once");
    assert_eq!(app.state.orders.expire_unpaid(later).await.unwrap(), 0, "and never again (a restart sweeps nothing twice)");
    let (_, mine) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!((mine["status"].as_str(), mine["payment"]["status"].as_str()), (Some("expired"), Some("expired")), "{mine}");
    assert_eq!(available(&app, &slug, &sku).await, before, "the stock is back, once");
    assert_eq!(stripe.intent(&intent).await["status"], "canceled", "the payment can no longer be made");
    let page = app.client.get(format!("{}/account/orders/{id}", app.base)).bearer_auth(&buyer).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-testid=\"order-expired\""), "the order page says so");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_refunds_go_through_the_provider_and_stop_at_what_was_paid() {
    let Some((app, stripe)) = card_shop(false).await else { return };
    let (buyer, admin) = (token(&app, "f@example.com", Role::Customer).await, token(&app, "fa@example.com", Role::Admin).await);
    let (_, sku, _) = stocked(&app).await;
    let (id, intent, placed) = card_order(&app, &buyer, &sku, 1).await;
    let total = placed["total"]["amount"].as_i64().unwrap();
    assert_eq!(stripe.pay(&intent, "4242424242424242").await.0, 200);
    let (_, paid) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!(paid["payment"]["status"], "paid");
    let refunds = format!("/api/v1/admin/orders/{id}/refunds");
    let (status, o) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": 500, "reason": "one item arrived scratched"}))).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!((o["payment"]["status"].as_str(), o["payment"]["refunded_cents"].as_i64()), (Some("partially_refunded"), Some(500)));
    let listed: Value = stripe.http.get(format!("{}/v1/refunds?payment_intent={intent}", stripe.url)).bearer_auth(STRIPE_SECRET_KEY).send().await.unwrap().json().await.unwrap();
    let at_provider: i64 = listed["data"].as_array().unwrap().iter().filter(|r| r["payment_intent"] == intent.as_str()).map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!(at_provider, 500, "refunded at the provider: {listed}");
    let (status, problem) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": total}))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("amount_cents")), "more than is left: {problem}");
    let (status, o) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": total - 500}))).await;
    assert_eq!((status, o["payment"]["status"].as_str(), o["payment"]["refunded_cents"].as_i64()), (200, Some("refunded"), Some(total)), "{o}");
    let (_, audit) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/audit?action=order.refund&target={id}"), &admin, None).await;
    assert_eq!(audit["total"], 2, "every refund in the audit log: {audit}");
}

/// What the proxy in front of localstripe does with a refund.
#[derive(Clone, Copy, PartialEq)]
enum Answers {
    Pass,
    /// The provider makes the refund, its answer is lost (a timeout after the fact).
    Lose,
    /// The provider never hears of it (a 503 on the way).
    Drop,
}

/// A proxy between the shop and localstripe that can lose refund answers.
async fn flaky_provider(target: String) -> (String, std::sync::Arc<std::sync::Mutex<Answers>>) {
    use axum::response::IntoResponse;
    let mode = std::sync::Arc::new(std::sync::Mutex::new(Answers::Pass));
    let http = reqwest::Client::new();
    let m = mode.clone();
    let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (http, target, mode) = (http.clone(), target.clone(), *m.lock().unwrap());
        async move {
            let refund = req.method() == axum::http::Method::POST && req.uri().path() == "/v1/refunds";
            if refund && mode == Answers::Drop {
                return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "{\"error\":{\"message\":\"down\"}}").into_response();
            }
            let url = format!("{target}{}", req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
            let mut out = http.request(req.method().clone(), url);
            for name in ["authorization", "content-type", "idempotency-key"] {
                if let Some(v) = req.headers().get(name) {
                    out = out.header(name, v.as_bytes());
                }
            }
            let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
            let answer = out.body(body).send().await.unwrap();
            let status = answer.status().as_u16();
            let bytes = answer.bytes().await.unwrap();
            if refund && mode == Answers::Lose {
                return (axum::http::StatusCode::GATEWAY_TIMEOUT, "{\"error\":{\"message\":\"timed out\"}}").into_response();
            }
            (axum::http::StatusCode::from_u16(status).unwrap(), [(axum::http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), mode)
}

/// A card refund whose answer from the provider is lost, or that never
/// reached it: recorded as `refund_pending` (never rolled back), then
/// reconciled by its task: found at the provider, or sent again under the
/// same key; the provider refunds each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_without_an_answer_stays_pending_and_is_reconciled_once() {
    let Some(url) = common::stripe_url() else { return };
    let (proxy, mode) = flaky_provider(url).await;
    let Some((app, stripe)) = card_shop_through(false, Some(proxy)).await else { return };
    let (buyer, admin) = (token(&app, "lost@example.com", Role::Customer).await, token(&app, "losta@example.com", Role::Admin).await);
    let (_, sku, _) = stocked(&app).await;
    let (id, intent, _) = card_order(&app, &buyer, &sku, 1).await;
    assert_eq!(stripe.pay(&intent, "4242424242424242").await.0, 200);
    let (_, paid) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!(paid["payment"]["status"], "paid", "{paid}");
    let at_provider = || async {
        let listed: Value = stripe.http.get(format!("{}/v1/refunds?payment_intent={intent}", stripe.url)).bearer_auth(STRIPE_SECRET_KEY).send().await.unwrap().json().await.unwrap();
        listed["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    let refunds = format!("/api/v1/admin/orders/{id}/refunds");
    for (lost, amount, at_provider_before_reconcile) in [(Answers::Lose, 300, 1), (Answers::Drop, 200, 1)] {
        *mode.lock().unwrap() = lost;
        let (status, o) = call(&app, reqwest::Method::POST, &refunds, &admin, Some(json!({"amount_cents": amount, "reason": "no answer"}))).await;
        assert_eq!(status, 200, "{o}");
        let last = o["payment"]["refunds"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["status"].as_str(), last["amount_cents"].as_i64()), (Some("refund_pending"), Some(amount)), "kept, not rolled back: {o}");
        assert_eq!(at_provider().await.len(), at_provider_before_reconcile, "lost answer: made at the provider; dropped: not");
        *mode.lock().unwrap() = Answers::Pass;
        let refund_id = last["id"].as_str().unwrap().to_string();
        let done = common::eventually(10, || async {
            let _ = app.state.notify.run_once().await;
            let o = app.backends.orders.order_by_id(&id).await.unwrap().unwrap();
            let done = o.payment.refunds.iter().any(|r| r.id == refund_id && r.status == vitrina::domain::payment::RefundStatus::Succeeded);
            done.then_some(o)
        })
        .await
        .expect("the refund's task reconciled it");
        assert_eq!(done.payment.refunded_cents, if lost == Answers::Lose { 300 } else { 500 });
    }
    let mut made = at_provider().await;
    made.sort();
    assert_eq!(made, vec![200, 300], "each refund made once at the provider, never twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_payment_that_lands_after_the_order_was_cancelled_is_given_back() {
    let Some((app, stripe)) = card_shop(false).await else { return };
    let buyer = token(&app, "late@example.com", Role::Customer).await;
    let (slug, sku, before) = stocked(&app).await;
    let (id, intent, _) = card_order(&app, &buyer, &sku, 1).await;
    // a shopper who cancels before paying: the payment can no longer be made
    let (second_id, second_intent, _) = card_order(&app, &buyer, &sku, 1).await;
    let (status, cancelled) = call(&app, reqwest::Method::POST, &format!("/api/v1/orders/{second_id}/cancel"), &buyer, None).await;
    assert_eq!((status, cancelled["payment"]["status"].as_str()), (200, Some("voided")), "{cancelled}");
    assert_eq!(stripe.intent(&second_intent).await["status"], "canceled");

    // paid at the provider, but the order is cancelled before the news arrives
    assert_eq!(stripe.pay(&intent, "4242424242424242").await.0, 200);
    let (status, _) = call(&app, reqwest::Method::POST, &format!("/api/v1/orders/{id}/cancel"), &buyer, None).await;
    assert_eq!(status, 200);
    assert_eq!(available(&app, &slug, &sku).await, before, "both orders' stock is back");
    let (body, signature) = stripe.signed_event("evt_late", "payment_intent.succeeded", &intent, &stripe.webhook_secret).await;
    let res = app.client.post(format!("{}/api/v1/payments/stripe/webhook", app.base)).header("Stripe-Signature", signature).body(body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let stored = app.backends.orders.order_by_id(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, vitrina::domain::order::OrderStatus::Cancelled, "a cancelled order stays cancelled");
    assert_eq!((stored.payment.status, stored.payment.refunded_cents), (vitrina::domain::payment::PaymentStatus::Refunded, stored.payment.amount_cents));
    let listed: Value = stripe.http.get(format!("{}/v1/refunds?payment_intent={intent}", stripe.url)).bearer_auth(STRIPE_SECRET_KEY).send().await.unwrap().json().await.unwrap();
    let at_provider: i64 = listed["data"].as_array().unwrap().iter().filter(|r| r["payment_intent"] == intent.as_str()).map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!(at_provider, stored.payment.amount_cents, "the money went back: {listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_who_cancels_an_order_paid_by_card_gets_the_money_back() {
    let Some((app, stripe)) = card_shop(false).await else { return };
    let (buyer, admin) = (token(&app, "back@example.com", Role::Customer).await, token(&app, "backa@example.com", Role::Admin).await);
    let (slug, sku, before) = stocked(&app).await;
    let (id, intent, _) = card_order(&app, &buyer, &sku, 2).await;
    assert_eq!(stripe.pay(&intent, "4242424242424242").await.0, 200);
    let (_, paid) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None).await;
    assert_eq!((paid["status"].as_str(), paid["payment"]["status"].as_str()), (Some("placed"), Some("paid")), "{paid}");
    let amount = paid["payment"]["amount_cents"].as_i64().unwrap();
    let (status, cancelled) = call(&app, reqwest::Method::POST, &format!("/api/v1/orders/{id}/cancel"), &buyer, None).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!((cancelled["status"].as_str(), cancelled["payment"]["status"].as_str(), cancelled["payment"]["refunded_cents"].as_i64()), (Some("cancelled"), Some("refunded"), Some(amount)), "{cancelled}");
    assert_eq!(available(&app, &slug, &sku).await, before, "the stock is back");
    let listed: Value = stripe.http.get(format!("{}/v1/refunds?payment_intent={intent}", stripe.url)).bearer_auth(STRIPE_SECRET_KEY).send().await.unwrap().json().await.unwrap();
    let at_provider: i64 = listed["data"].as_array().unwrap().iter().filter(|r| r["payment_intent"] == intent.as_str()).map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!(at_provider, amount, "refunded to the card: {listed}");
    let (_, audit) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/audit?action=order.refund&target={id}"), &admin, None).await;
    assert_eq!(audit["total"], 1, "{audit}");
}
