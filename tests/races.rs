//! Writes that race never erase each other: each operation writes only the
//! fields it owns, guarded by what it depends on. Every pair that can meet on
//! one record runs concurrently, many times, on both stores, and both
//! effects must stick: a refund and a status change, an erasure and a status
//! change, two refunds, a payment and a cancellation, a password reset and an
//! admin's lock-out, a webhook delivery and the endpoint's deletion.
mod common;

use common::{call, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use vitrina::domain::order::OrderStatus;
use vitrina::domain::payment::BankAccount;
use vitrina::domain::user::Role;

/// How many records each race runs on.
const ROUNDS: usize = 25;

async fn shop(mongo: bool) -> Option<TestApp> {
    let uri = if mongo { Some(common::mongo_uri()?) } else { None };
    let db = common::unique_name("vitrina_races");
    Some(
        common::spawn_app_with(40, move |c| {
            c.payments.bank_account = Some(BankAccount { beneficiary: "Vitrina SRL".into(), iban: "RO49 AAAA 1B31 0075 9384 0000".into(), bank: "Banca Test".into() });
            c.rules.max_open_orders = 0;
            c.login_rate_per_min = 10_000;
            c.api_rate_per_min = 1_000_000;
            if let Some(uri) = uri {
                c.mongodb_uri = Some(uri);
                c.mongodb_db = db;
            }
        })
        .await,
    )
}

fn address() -> Value {
    json!({"name": "Ana Pop", "street": "Strada Lungă 1", "city": "Cluj-Napoca", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40712345678"})
}

/// A SKU with plenty in stock.
async fn plentiful_sku(app: &TestApp) -> String {
    plentiful(app).await.1
}

/// A product's slug and a SKU of it with plenty in stock.
async fn plentiful(app: &TestApp) -> (String, String) {
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=40").await;
    for item in list["items"].as_array().unwrap() {
        let slug = item["slug"].as_str().unwrap().to_string();
        let (_, p) = app.json(&format!("/api/v1/products/{slug}")).await;
        if let Some(v) = p["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() >= 60) {
            return (slug, v["sku"].as_str().unwrap().to_string());
        }
    }
    panic!("no SKU with 60 in stock")
}

/// What the product page says is available of a SKU (read from the inventory).
async fn available(app: &TestApp, slug: &str, sku: &str) -> i64 {
    let (_, p) = app.json(&format!("/api/v1/products/{slug}")).await;
    p["variants"].as_array().unwrap().iter().find(|v| v["sku"] == sku).unwrap()["available"].as_i64().unwrap()
}

/// Places `n` orders of one unit each, paid by bank transfer (awaiting payment).
async fn transfer_orders(app: &TestApp, buyer: &str, sku: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, cart) = call(app, Method::POST, "/api/v1/cart/items", buyer, Some(json!({"sku": sku, "quantity": 1})), None).await;
        assert_eq!(status, 200, "{cart}");
        let (status, order) = call(app, Method::POST, "/api/v1/orders", buyer, Some(json!({"shipping_address": address(), "payment_method": "bank_transfer"})), Some(&format!("race-{i}-{}", uuid::Uuid::new_v4().simple()))).await;
        assert_eq!(status, 201, "{order}");
        ids.push(order["id"].as_str().unwrap().to_string());
    }
    ids
}

async fn stored(app: &TestApp, id: &str) -> vitrina::domain::order::Order {
    app.backends.orders.order_by_id(id).await.unwrap().unwrap()
}

/// An admin's refund and a status change on each of 25 paid orders at once
/// (over HTTP, as the panel and partners send them): both answer 200 and both
/// stick, the refund recorded once and the status moved.
async fn refund_and_status_change(app: TestApp) {
    let (buyer, admin) = (app.token_for("buyer@race.test", Role::Customer).await, app.token_for("admin@race.test", Role::Admin).await);
    let sku = plentiful_sku(&app).await;
    let ids = transfer_orders(&app, &buyer, &sku, ROUNDS).await;
    for id in &ids {
        let (status, paid) = call(&app, Method::POST, &format!("/api/v1/admin/orders/{id}/paid"), &admin, None, None).await;
        assert_eq!(status, 200, "{paid}");
    }
    let races = ids.iter().map(|id| {
        let (app, admin) = (&app, &admin);
        async move {
            let (refunds, moves) = (format!("/api/v1/admin/orders/{id}/refunds"), format!("/api/v1/admin/orders/{id}/status"));
            let refund = call(app, Method::POST, &refunds, admin, Some(json!({"amount_cents": 100, "reason": "a scratch"})), None);
            let status = call(app, Method::POST, &moves, admin, Some(json!({"status": "confirmed"})), None);
            let ((rs, rb), (ss, sb)) = futures::join!(refund, status);
            (id.clone(), rs, rb, ss, sb)
        }
    });
    for (id, refund_status, refund_body, status_status, status_body) in futures::future::join_all(races).await {
        assert_eq!(refund_status, 200, "{refund_body}");
        assert_eq!(status_status, 200, "{status_body}");
        let o = stored(&app, &id).await;
        assert_eq!(o.status, OrderStatus::Confirmed, "the status change stuck");
        assert_eq!((o.payment.refunded_cents, o.payment.refunds.len()), (100, 1), "the refund stuck, once");
        let (_, listed) = call(&app, Method::GET, &format!("/api/v1/orders/{id}"), &buyer, None, None).await;
        assert_eq!((listed["status"].as_str(), listed["payment"]["refunded_cents"].as_i64()), (Some("confirmed"), Some(100)), "as the API shows it");
    }
}

/// Refunds racing each other: three of 30 % all pass; two of 60 % never both.
async fn refund_and_refund(app: TestApp) {
    let (buyer, admin) = (app.token_for("buyer2@race.test", Role::Customer).await, app.token_for("admin2@race.test", Role::Admin).await);
    let sku = plentiful_sku(&app).await;
    for id in transfer_orders(&app, &buyer, &sku, 10).await {
        let (_, paid) = call(&app, Method::POST, &format!("/api/v1/admin/orders/{id}/paid"), &admin, None, None).await;
        let total = paid["payment"]["amount_cents"].as_i64().unwrap();
        let path = format!("/api/v1/admin/orders/{id}/refunds");
        let small = futures::future::join_all((0..3).map(|_| call(&app, Method::POST, &path, &admin, Some(json!({"amount_cents": total * 3 / 10})), None))).await;
        assert!(small.iter().all(|(s, _)| *s == 200), "{small:?}");
        let big = futures::future::join_all((0..2).map(|_| call(&app, Method::POST, &path, &admin, Some(json!({"amount_cents": total * 6 / 10})), None))).await;
        assert!(big.iter().all(|(s, _)| *s == 422), "only 10 % was left: {big:?}");
        let o = stored(&app, &id).await;
        assert_eq!(o.payment.refunded_cents, 3 * (total * 3 / 10));
        assert_eq!(o.payment.refunds.len(), 3);
    }
}

/// A customer's erasure while an admin moves their orders on: every order is
/// anonymised and every status change stuck (neither undid the other).
async fn erasure_and_status_change(app: TestApp) {
    let admin = app.token_for("admin3@race.test", Role::Admin).await;
    let sku = plentiful_sku(&app).await;
    for round in 0..5 {
        let email = format!("erase{round}@race.test");
        let buyer = app.token_for(&email, Role::Customer).await;
        let ids = transfer_orders(&app, &buyer, &sku, 5).await;
        for id in &ids {
            call(&app, Method::POST, &format!("/api/v1/admin/orders/{id}/paid"), &admin, None, None).await;
        }
        let erase = call(&app, Method::DELETE, "/api/v1/me", &buyer, Some(json!({"password": common::PASSWORD})), None);
        let paths: Vec<String> = ids.iter().map(|id| format!("/api/v1/admin/orders/{id}/status")).collect();
        let moves = futures::future::join_all(paths.iter().map(|p| call(&app, Method::POST, p, &admin, Some(json!({"status": "confirmed"})), None)));
        let ((erased, body), moved) = futures::join!(erase, moves);
        assert_eq!(erased, 200, "{body}");
        assert!(moved.iter().all(|(s, _)| *s == 200), "{moved:?}");
        for id in &ids {
            let o = stored(&app, id).await;
            assert_eq!(o.status, OrderStatus::Confirmed, "the status change stuck");
            assert_eq!((o.shipping_address.name.as_str(), o.shipping_address.street.as_str(), o.shipping_address.phone.as_str()), ("—", "", ""), "the erasure stuck");
        }
    }
}

/// The money coming in while the order is cancelled: whichever answers 200
/// is what the order shows, and the stock comes back exactly when it ends cancelled.
async fn settle_and_cancel(app: TestApp) {
    let (buyer, admin) = (app.token_for("buyer4@race.test", Role::Customer).await, app.token_for("admin4@race.test", Role::Admin).await);
    let (slug, sku) = plentiful(&app).await;
    let ids = transfer_orders(&app, &buyer, &sku, ROUNDS).await;
    let held = available(&app, &slug, &sku).await;
    let races = ids.iter().map(|id| {
        let (app, admin) = (&app, &admin);
        async move {
            let (pay, moves) = (format!("/api/v1/admin/orders/{id}/paid"), format!("/api/v1/admin/orders/{id}/status"));
            let paid = call(app, Method::POST, &pay, admin, None, None);
            let cancel = call(app, Method::POST, &moves, admin, Some(json!({"status": "cancelled"})), None);
            let ((ps, _), (cs, _)) = futures::join!(paid, cancel);
            (id.clone(), ps, cs)
        }
    });
    let mut cancelled = 0;
    for (id, paid, cancel) in futures::future::join_all(races).await {
        assert!([200, 409].contains(&paid) && [200, 409].contains(&cancel), "{paid} {cancel}");
        let o = stored(&app, &id).await;
        if cancel == 200 {
            assert_eq!(o.status, OrderStatus::Cancelled);
            cancelled += 1;
        } else {
            assert_eq!(o.status, OrderStatus::Placed);
        }
        assert_eq!(o.payment.status == vitrina::domain::payment::PaymentStatus::Paid, paid == 200, "the payment is paid exactly when marking it paid answered 200");
    }
    assert!(cancelled > 0);
    assert_eq!(available(&app, &slug, &sku).await, held + cancelled, "each cancelled order gave its unit back, once");
}

/// A password reset confirmed while an admin locks the account: the account
/// always ends locked (the reset never undoes the lock-out).
async fn reset_and_disable(app: TestApp) {
    let key = signing_key(&app);
    for round in 0..ROUNDS {
        let email = format!("reset{round}@race.test");
        app.state.accounts.register(&email, common::PASSWORD, "Ana", Role::Customer).await.unwrap();
        app.state.accounts.request_password_reset(&email).await.unwrap();
        let user = app.state.accounts.user_by_email(&email).await.unwrap().unwrap();
        let token = reset_token_of(&app, &key, &user.id).await;
        let confirm = app.state.accounts.confirm_password_reset(&token, "a new long passphrase");
        let disable = app.state.accounts.administer(&user.id, None, Some(true));
        let (confirmed, disabled) = futures::join!(confirm, disable);
        assert!(disabled.is_ok(), "{disabled:?}");
        let after = app.state.accounts.user_by_email(&email).await.unwrap().unwrap();
        assert!(after.disabled, "round {round}: the lock-out stuck (the reset answered {:?})", confirmed.as_ref().map(|_| ()));
        assert!(app.state.accounts.authenticate(&email, "a new long passphrase").await.is_err(), "a locked account cannot sign in");
    }
}

/// The key this shop signs with (kept in its data directory).
fn signing_key(app: &TestApp) -> Vec<u8> {
    use base64::Engine;
    let file: Value = serde_json::from_slice(&std::fs::read(app.state.config.data_dir.join(vitrina::infra::keys::KEY_FILE)).unwrap()).unwrap();
    base64::engine::general_purpose::STANDARD.decode(file["current"].as_str().unwrap()).unwrap()
}

/// The token a reset mail for `user_id` carries (derived from the event's reset id, as the mail is).
async fn reset_token_of(app: &TestApp, key: &[u8], user_id: &str) -> String {
    let filter = vitrina::ports::OutboxFilter { kind: Some(vitrina::domain::outbox::EntryKind::Event), ..Default::default() };
    let page = app.state.notify.entries(&filter, 1, 100).await.unwrap();
    let event = page.items.iter().find(|e| e.topic == "password.reset" && e.payload.contains(user_id)).expect("the reset event");
    let payload: Value = serde_json::from_str(&event.payload).unwrap();
    let reset_key = vitrina::services::digest::hmac_sha256(b"vitrina password reset", key);
    vitrina::services::notify::reset_token(&reset_key, payload["data"]["reset_id"].as_str().unwrap())
}

/// A partner endpoint that tells when a delivery arrives and answers 500
/// only when told to: a delivery can be held in flight.
async fn held_endpoint() -> (String, tokio::sync::mpsc::Receiver<()>, std::sync::Arc<tokio::sync::Semaphore>) {
    let (arrived, arrivals) = tokio::sync::mpsc::channel(16);
    let release = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let gate = release.clone();
    let router = axum::Router::new().fallback(move || {
        let (arrived, gate) = (arrived.clone(), gate.clone());
        async move {
            let _ = arrived.send(()).await;
            gate.acquire().await.unwrap().forget();
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/hook"), arrivals, release)
}

/// A delivery that fails (the endpoint's health is recorded after it) while
/// an admin deletes the endpoint in the middle of it: the endpoint never
/// comes back. And an admin's turning it off during a delivery stays.
async fn delivery_and_endpoint_delete(app: TestApp) {
    let notify = app.state.notify.clone();
    let (url, mut arrivals, release) = held_endpoint().await;
    for round in 0..10 {
        let ep = notify.create_endpoint(&url, &["stock.low".to_string()], "").await.unwrap();
        let event = vitrina::domain::outbox::Event::new(format!("evt_{}", uuid::Uuid::new_v4().simple()), "stock.low", chrono::Utc::now(), json!({"sku": "X-1", "stock": 1, "threshold": 5}));
        notify.announce(event).await;
        // the event fans out, then its delivery goes out and is held at the endpoint
        let delivering = {
            let notify = notify.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    let _ = notify.run_once().await;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            })
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), arrivals.recv()).await.expect("the delivery reached the endpoint");
        if round % 2 == 0 {
            notify.delete_endpoint(&ep.id).await.unwrap();
        } else {
            notify.update_endpoint(&ep.id, None, None, Some(false)).await.unwrap();
        }
        // the endpoint answers now: its failure is recorded after the admin's change
        release.add_permits(1);
        delivering.await.unwrap();
        let now = notify.endpoints().await.unwrap().into_iter().find(|e| e.id == ep.id);
        if round % 2 == 0 {
            assert!(now.is_none(), "round {round}: a deleted endpoint came back");
        } else {
            let now = now.expect("the endpoint");
            assert_eq!((now.enabled, now.disabled_reason.as_deref()), (false, Some("turned off by an admin")), "round {round}: the admin's change stuck");
        }
    }
}

/// A cancellation whose give-back never ran (the instance died right after
/// the status write): the task written with it gives the stock back, once.
async fn a_lost_give_back_is_done_by_its_task(app: TestApp) {
    let buyer = app.token_for("crash@race.test", Role::Customer).await;
    let (slug, sku) = plentiful(&app).await;
    let before = available(&app, &slug, &sku).await;
    let (status, cart) = call(&app, Method::POST, "/api/v1/cart/items", &buyer, Some(json!({"sku": sku, "quantity": 3})), None).await;
    assert_eq!(status, 200, "{cart}");
    let (status, order) = call(&app, Method::POST, "/api/v1/orders", &buyer, Some(json!({"shipping_address": address()})), Some("crash-1")).await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap();
    assert_eq!(available(&app, &slug, &sku).await, before - 3);
    // the status write, exactly as the service makes it, and then nothing (a crash)
    let seen = stored(&app, id).await;
    let mut cancelled = seen.clone();
    let patch = cancelled.transition(OrderStatus::Cancelled, chrono::Utc::now()).unwrap();
    assert!(app.backends.orders.update_order(id, &patch, &vitrina::domain::outbox::order_events(&seen, &cancelled)).await.unwrap());
    assert_eq!(available(&app, &slug, &sku).await, before - 3, "not given back yet");
    let back = common::eventually(10, || async {
        let _ = app.state.notify.run_once().await;
        (available(&app, &slug, &sku).await == before).then_some(())
    })
    .await;
    assert!(back.is_some(), "the order's task gave the stock back");
    for _ in 0..5 {
        let _ = app.state.notify.run_once().await;
    }
    let (_, entries) = call(&app, Method::GET, "/api/v1/admin/outbox?kind=task&per_page=100", &app.token_for("ops@race.test", Role::Admin).await, None, None).await;
    assert!(entries["items"].as_array().unwrap().iter().any(|e| e["topic"] == "order.giveback" && e["status"] == "sent"), "{entries}");
    assert_eq!(available(&app, &slug, &sku).await, before, "given back once, however often the task runs");
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::shop(false).await.unwrap()).await;
                }
            )*
        }
        mod mongodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(app) = super::shop(true).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

on_both_stores!(a_lost_give_back_is_done_by_its_task, refund_and_status_change, refund_and_refund, erasure_and_status_change, settle_and_cancel, reset_and_disable, delivery_and_endpoint_delete);
