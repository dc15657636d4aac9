//! Notifications against real servers: mail over SMTP (maildev), webhooks to
//! a receiver that checks signatures independently (`standardwebhooks`),
//! retries, two relays, and a server killed between an order and its mail.
mod common;

use std::time::{Duration, Instant};

use common::{eventually, hooks_url, smtp, spawn_app_with, TestApp};
use serde_json::{json, Value};
use vitrina::config::Config;
use vitrina::domain::outbox::{EntryStatus, RetrySchedule};
use vitrina::domain::user::Role;

const PASSWORD: &str = "correct horse battery staple";

fn unique_email(tag: &str) -> String {
    format!("{tag}.{}@example.ro", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The store modes a scenario runs in: embedded, and MongoDB when the test script started it.
fn store_modes() -> Vec<Option<String>> {
    let mut modes = vec![None];
    if let Some(uri) = common::mongo_uri() {
        modes.push(Some(uri));
    }
    modes
}

fn configure(c: &mut Config, mongo: &Option<String>, smtp_url: Option<&str>) {
    if let Some(uri) = mongo {
        c.mongodb_uri = Some(uri.clone());
        c.mongodb_db = common::unique_name("notify");
    }
    c.notify.smtp_url = smtp_url.map(str::to_string);
    c.notify.retry = RetrySchedule::parse("1,1,1,1").unwrap();
    c.public_url = Some("http://shop.test".into());
}

async fn shop(mongo: &Option<String>, smtp_url: Option<&str>) -> TestApp {
    let app = spawn_app_with(20, |c| configure(c, mongo, smtp_url)).await;
    vitrina::server::spawn_relay(&app.state, Duration::from_millis(100));
    app
}

async fn token(app: &TestApp, email: &str, role: Role) -> Value {
    app.state.accounts.register(email, PASSWORD, "Ana Pop", role).await.unwrap();
    let (status, t) = app.post_json("/api/v1/auth/token", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(status, 200, "{t}");
    t
}

async fn call(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token).header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn in_stock_sku(app: &TestApp) -> String {
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=5").await;
    for item in list["items"].as_array().unwrap() {
        let (_, p) = app.json(&format!("/api/v1/products/{}", item["slug"].as_str().unwrap())).await;
        if let Some(v) = p["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() >= 3) {
            return v["sku"].as_str().unwrap().to_string();
        }
    }
    panic!("no SKU in stock")
}

async fn place(app: &TestApp, buyer: &str, sku: &str) -> Value {
    call(app, reqwest::Method::POST, "/api/v1/cart/items", buyer, Some(json!({"sku": sku, "quantity": 1}))).await;
    let body = json!({"shipping_address": {"name": "Ana Pop", "street": "Str. Lungă 1", "city": "Cluj-Napoca", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40712345678"}});
    let (status, order) = call(app, reqwest::Method::POST, "/api/v1/orders", buyer, Some(body)).await;
    assert_eq!(status, 201, "{order}");
    order
}

/// Mails maildev received for `to`.
async fn mails_to(maildev: &str, to: &str) -> Vec<Value> {
    let all: Value = reqwest::get(format!("{maildev}/api/email")).await.unwrap().json().await.unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"].as_array().is_some_and(|t| t.iter().any(|a| a["address"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(to)))))
        .cloned()
        .collect()
}

async fn settled(app: &TestApp) {
    let quiet = eventually(30, || async {
        let c = app.state.notify.counts().await.unwrap();
        (c["pending"] == 0).then_some(())
    })
    .await;
    assert!(quiet.is_some(), "the outbox never emptied: {:?}", app.state.notify.counts().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placing_an_order_mails_one_confirmation_over_smtp_in_both_store_modes() {
    let Some((smtp_url, maildev)) = smtp() else { return };
    for mongo in store_modes() {
        let app = shop(&mongo, Some(&smtp_url)).await;
        let email = unique_email("buyer");
        let buyer = token(&app, &email, Role::Customer).await["access_token"].as_str().unwrap().to_string();
        let sku = in_stock_sku(&app).await;
        let placed_at = Instant::now();
        let order = place(&app, &buyer, &sku).await;
        let number = order["number"].as_str().unwrap();
        let found = eventually(10, || async { mails_to(&maildev, &email).await.into_iter().find(|m| m["subject"].as_str().unwrap_or_default().contains(number)) }).await;
        let mail = found.unwrap_or_else(|| panic!("no confirmation within 10 s ({mongo:?})"));
        assert!(placed_at.elapsed() < Duration::from_secs(10));
        assert_eq!(mail["subject"], format!("Comanda {number} a fost plasată"), "Romanian by default");
        let text = mail["text"].as_str().unwrap();
        for expected in [number, "Total:", "TVA inclus (21 %):", "Livrare", "Str. Lungă 1", "Cluj-Napoca", "Ramburs", "lei", "http://shop.test/account/orders/"] {
            assert!(text.contains(expected), "{expected:?} missing from the text part:\n{text}");
        }
        assert!(mail["html"].as_str().unwrap().contains(number), "an HTML part too");
        settled(&app).await;
        let confirmations: Vec<Value> = mails_to(&maildev, &email).await.into_iter().filter(|m| m["subject"].as_str().unwrap_or_default().contains(number)).collect();
        assert_eq!(confirmations.len(), 1, "one confirmation, not one per relay pass");
        // the welcome mail came too, once
        assert_eq!(mails_to(&maildev, &email).await.len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_smtp_the_mail_is_an_eml_file_the_panel_lists() {
    let app = shop(&None, None).await;
    let email = unique_email("files");
    let buyer = token(&app, &email, Role::Customer).await["access_token"].as_str().unwrap().to_string();
    let sku = in_stock_sku(&app).await;
    let order = place(&app, &buyer, &sku).await;
    let number = order["number"].as_str().unwrap().to_string();
    let dir = app._dir.path().join("mail");
    let file = eventually(10, || async {
        let entries = std::fs::read_dir(&dir).ok()?;
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "eml") && std::fs::read_to_string(p).is_ok_and(|s| s.contains(&number)))
    })
    .await
    .expect("an .eml file within 10 s");
    let raw = std::fs::read_to_string(&file).unwrap();
    assert!(raw.contains(&format!("To: {email}")) && raw.contains("multipart/alternative") && raw.contains("text/html"), "{raw}");
    let listed = app.state.notify.mailbox(50).await.expect("a mailbox in the embedded mode");
    assert!(listed.iter().any(|m| m.subject.contains(&number) && m.to == email && m.text.contains("Total:")), "{listed:?}");
    // the panel shows it to admins
    let admin = token(&app, "admin@example.ro", Role::Admin).await["access_token"].as_str().unwrap().to_string();
    let res = app.client.get(format!("{}/admin/outbox?tab=mailbox", app.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains(&number), "the panel's mailbox lists the mail");
    // the panel's form: a refused URL comes back next to its field, with what was typed
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = no_redirects
        .post(format!("{}/admin/webhooks/create", app.base))
        .bearer_auth(&admin)
        .header("Origin", &app.base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("url=http%3A%2F%2Fpartner.example.com%2Fx&events=order.*&description=ERP")
        .send()
        .await
        .unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/admin/webhooks?") && to.contains("err.url=") && to.contains("description=ERP"), "{to}");
    let page = app.client.get(format!("{}{to}", app.base)).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("this machine (127.0.0.1, localhost)") || page.contains("această mașină (127.0.0.1, localhost)"), "the message is worded next to the field");
    let res = no_redirects
        .post(format!("{}/admin/webhooks/create", app.base))
        .bearer_auth(&admin)
        .header("Origin", &app.base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&events=order.created&events=stock.low")
        .send()
        .await
        .unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.contains("notice=webhook-created"), "{to}");
    let listed = app.state.notify.endpoints().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].events, ["order.created", "stock.low"], "repeated checkboxes are all kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_works_once_ends_old_sessions_and_says_nothing_about_unknown_addresses() {
    let Some((smtp_url, maildev)) = smtp() else { return };
    let app = shop(&None, Some(&smtp_url)).await;
    let email = unique_email("forgot");
    let pair = token(&app, &email, Role::Customer).await;
    let (old_access, old_refresh) = (pair["access_token"].as_str().unwrap().to_string(), pair["refresh_token"].as_str().unwrap().to_string());
    // a browser session too
    let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    browser.post(format!("{}/login", app.base)).form(&[("email", email.as_str()), ("password", PASSWORD)]).send().await.unwrap();
    assert_eq!(browser.get(format!("{}/api/v1/me", app.base)).send().await.unwrap().status(), 200);

    let nobody = unique_email("nobody");
    let (s1, known) = app.post_json("/api/v1/auth/password-reset", json!({"email": email})).await;
    let (s2, unknown) = app.post_json("/api/v1/auth/password-reset", json!({"email": nobody})).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(known, unknown, "the same answer either way");

    let mail = eventually(10, || async { mails_to(&maildev, &email).await.into_iter().find(|m| m["subject"].as_str().unwrap_or_default().contains("parola")) }).await.expect("the reset mail");
    let text = mail["text"].as_str().unwrap();
    let link = text.split_whitespace().find(|w| w.contains("/reset-password?token=")).expect("a link");
    assert!(link.starts_with("http://shop.test/reset-password?token="), "{link}");
    let token_value = link.split("token=").nth(1).unwrap().to_string();
    // the token is stored only as a hash: nowhere in the store's file
    settled(&app).await;
    let db = std::fs::read(app._dir.path().join("vitrina.db")).unwrap();
    let wal = std::fs::read(app._dir.path().join("vitrina.db-wal")).unwrap_or_default();
    let needle = token_value.as_bytes();
    assert!(!db.windows(needle.len()).any(|w| w == needle) && !wal.windows(needle.len()).any(|w| w == needle), "the token is not stored");
    assert!(mails_to(&maildev, &nobody).await.is_empty(), "no mail for an unknown address");

    let new_password = "a brand new long password";
    let (weak, problem) = app.post_json("/api/v1/auth/password-reset/confirm", json!({"token": token_value, "password": "short"})).await;
    assert_eq!((weak, problem["errors"][0]["field"].as_str()), (422, Some("password")), "{problem}");
    let (ok, _) = app.post_json("/api/v1/auth/password-reset/confirm", json!({"token": token_value, "password": new_password})).await;
    assert_eq!(ok, 204);
    let (again, problem) = app.post_json("/api/v1/auth/password-reset/confirm", json!({"token": token_value, "password": "another long password"})).await;
    assert_eq!((again, problem["errors"][0]["field"].as_str()), (422, Some("token")), "single use: {problem}");
    assert_eq!(app.client.get(format!("{}/api/v1/me", app.base)).bearer_auth(&old_access).send().await.unwrap().status(), 401, "old access tokens die with their family");
    let (refresh, _) = app.post_json("/api/v1/auth/refresh", json!({"refresh_token": old_refresh})).await;
    assert_eq!(refresh, 401, "old refresh tokens are revoked");
    assert_eq!(browser.get(format!("{}/api/v1/me", app.base)).send().await.unwrap().status(), 401, "old browser sessions end");
    let (old, _) = app.post_json("/api/v1/auth/token", json!({"email": email, "password": PASSWORD})).await;
    let (new, _) = app.post_json("/api/v1/auth/token", json!({"email": email, "password": new_password})).await;
    assert_eq!((old, new), (401, 200));
}

/// The receiver's view of one test's endpoint.
async fn received(hooks: &str, name: &str) -> Value {
    reqwest::get(format!("{hooks}/_log/{name}")).await.unwrap().json().await.unwrap()
}

async fn register_hook(app: &TestApp, admin: &str, hooks: &str, name: &str, events: &[&str], receiver: Value) -> Value {
    let (status, ep) = call(app, reqwest::Method::POST, "/api/v1/admin/webhooks", admin, Some(json!({"url": format!("{hooks}/hook/{name}"), "events": events, "description": name}))).await;
    assert_eq!(status, 201, "{ep}");
    assert!(ep["secret"].as_str().unwrap().starts_with("whsec_"), "the secret is shown once: {ep}");
    let mut cfg = receiver;
    cfg["secret"] = ep["secret"].clone();
    reqwest::Client::new().post(format!("{hooks}/_config/{name}")).json(&cfg).send().await.unwrap();
    ep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answering_500_twice_gets_the_event_three_times_under_one_id() {
    let Some(hooks) = hooks_url() else { return };
    let app = shop(&None, None).await;
    let admin = token(&app, &unique_email("admin"), Role::Admin).await["access_token"].as_str().unwrap().to_string();
    let name = common::unique_name("retry");
    let ep = register_hook(&app, &admin, &hooks, &name, &["order.*"], json!({"fail": 2, "status": 500})).await;
    // the secret is never listed again
    let (_, list) = call(&app, reqwest::Method::GET, "/api/v1/admin/webhooks", &admin, None).await;
    assert!(list["items"].as_array().unwrap().iter().all(|e| e.get("secret").is_none()), "{list}");

    let buyer = token(&app, &unique_email("hookbuyer"), Role::Customer).await["access_token"].as_str().unwrap().to_string();
    let sku = in_stock_sku(&app).await;
    let order = place(&app, &buyer, &sku).await;
    let log = eventually(30, || async {
        let r = received(&hooks, &name).await;
        (r["deliveries"].as_array().unwrap().len() >= 3).then_some(r)
    })
    .await
    .expect("three deliveries");
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3, "{log}");
    assert_eq!(log["unique"].as_array().unwrap().len(), 1, "one webhook-id on every try: {log}");
    assert!(deliveries.iter().all(|d| d["signature_ok"] == true && d["type"] == "order.created"), "signatures verify independently: {log}");
    assert_eq!(deliveries.iter().map(|d| d["answered"].clone()).collect::<Vec<_>>(), [json!(500), json!(500), json!(200)]);

    settled(&app).await;
    let id = ep["id"].as_str().unwrap();
    let (_, page) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/webhooks/{id}/deliveries"), &admin, None).await;
    let entry = &page["items"][0];
    assert_eq!((entry["status"].as_str(), entry["attempts"].as_u64()), (Some("sent"), Some(3)), "{page}");
    let statuses: Vec<Value> = entry["log"].as_array().unwrap().iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(500), json!(200)], "every attempt is logged: {page}");
    assert!(entry["log"][0]["note"].as_str().unwrap().starts_with("HTTP 500"), "{page}");
    assert_eq!(entry["id"].as_str(), deliveries[0]["id"].as_str(), "the log's id is the webhook-id");
    let body: Value = serde_json::from_str(entry["payload"].as_str().unwrap()).unwrap();
    assert_eq!((body["type"].as_str(), body["data"]["id"].as_str()), (Some("order.created"), order["id"].as_str()), "shaped like the API's order");

    // an admin replays it: same id, a fourth delivery
    let (status, _) = call(&app, reqwest::Method::POST, &format!("/api/v1/admin/outbox/{}/retry", entry["id"].as_str().unwrap()), &admin, None).await;
    assert_eq!(status, 202);
    let replayed = eventually(10, || async {
        let r = received(&hooks, &name).await;
        (r["deliveries"].as_array().unwrap().len() == 4).then_some(r)
    })
    .await
    .expect("the replay arrives");
    assert_eq!(replayed["unique"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_not_retried_gone_disables_and_a_hanging_endpoint_times_out() {
    let Some(hooks) = hooks_url() else { return };
    let app = shop(&None, None).await;
    let admin = token(&app, &unique_email("admin"), Role::Admin).await["access_token"].as_str().unwrap().to_string();
    let (refuse, gone, hang) = (common::unique_name("refuse"), common::unique_name("gone"), common::unique_name("hang"));
    register_hook(&app, &admin, &hooks, &refuse, &["order.created"], json!({"fail": 5, "status": 400})).await;
    let gone_ep = register_hook(&app, &admin, &hooks, &gone, &["order.created"], json!({"fail": 5, "status": 410})).await;
    register_hook(&app, &admin, &hooks, &hang, &["order.created"], json!({"hang": 1})).await;
    // bad registrations: a clear error on the field
    let (status, problem) = call(&app, reqwest::Method::POST, "/api/v1/admin/webhooks", &admin, Some(json!({"url": "http://partner.example.com/x", "events": ["order.*"]}))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("url")), "{problem}");
    let (status, problem) = call(&app, reqwest::Method::POST, "/api/v1/admin/webhooks", &admin, Some(json!({"url": format!("{hooks}/hook/x"), "events": ["order.shipped"]}))).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("events")), "{problem}");

    let buyer = token(&app, &unique_email("b"), Role::Customer).await["access_token"].as_str().unwrap().to_string();
    place(&app, &buyer, &in_stock_sku(&app).await).await;
    let hung = eventually(40, || async {
        let r = received(&hooks, &hang).await;
        (r["deliveries"].as_array().unwrap().len() >= 2).then_some(r)
    })
    .await
    .expect("a retry after the timeout");
    assert_eq!(hung["unique"].as_array().unwrap().len(), 1);
    settled(&app).await;
    assert_eq!(received(&hooks, &refuse).await["deliveries"].as_array().unwrap().len(), 1, "a 400 is not retried");
    assert_eq!(received(&hooks, &gone).await["deliveries"].as_array().unwrap().len(), 1);
    let (_, ep) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/webhooks/{}", gone_ep["id"].as_str().unwrap()), &admin, None).await;
    assert_eq!((ep["enabled"].as_bool(), ep["disabled_reason"].as_str()), (Some(false), Some("answered 410 Gone")), "{ep}");
    let (_, dead) = call(&app, reqwest::Method::GET, "/api/v1/admin/outbox?status=dead&kind=webhook", &admin, None).await;
    assert_eq!(dead["total"], 2, "{dead}");
    let (_, all) = call(&app, reqwest::Method::GET, "/api/v1/admin/outbox?kind=webhook&status=sent", &admin, None).await;
    let timed_out = &all["items"][0];
    assert!(timed_out["log"][0]["note"].as_str().unwrap().contains("no answer within 10 s"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_deliver_each_message_once() {
    let Some((smtp_url, maildev)) = smtp() else { return };
    for mongo in store_modes() {
        let app = spawn_app_with(20, |c| configure(c, &mongo, Some(&smtp_url))).await;
        // a second instance on the same store, as behind a load balancer
        let mut config = Config::for_data_dir(app._dir.path().to_path_buf());
        configure(&mut config, &mongo, Some(&smtp_url));
        if mongo.is_some() {
            config.mongodb_db = app.state.config.mongodb_db.clone();
        }
        let other = vitrina::state::AppState::build(&config).await.unwrap();
        vitrina::server::spawn_relay(&app.state, Duration::from_millis(50));
        vitrina::server::spawn_relay(&other, Duration::from_millis(50));
        let sku = in_stock_sku(&app).await;
        let mut emails = Vec::new();
        for i in 0..8 {
            let email = unique_email(&format!("two{i}"));
            let buyer = token(&app, &email, Role::Customer).await["access_token"].as_str().unwrap().to_string();
            place(&app, &buyer, &sku).await;
            emails.push(email);
        }
        settled(&app).await;
        for email in &emails {
            let got = mails_to(&maildev, email).await;
            assert_eq!(got.len(), 2, "{email}: a welcome and a confirmation, each once ({mongo:?})");
        }
        let (entries, _) = (app.state.notify.entries(&Default::default(), 1, 100).await.unwrap().items, ());
        // handled once: one successful attempt per entry, never two relays both doing it (a transient
        // failure retried — a store busy under load — is a retry, not a second handling; its note is shown)
        let handled = |e: &vitrina::domain::outbox::OutboxEntry| e.log.iter().filter(|a| a.ok).count();
        assert!(
            entries.iter().all(|e| e.status == EntryStatus::Sent && handled(e) == 1),
            "each entry handled once: {:?}",
            entries.iter().filter(|e| e.attempts != 1).map(|e| (&e.id, e.attempts, e.log.iter().map(|a| (a.ok, a.note.clone())).collect::<Vec<_>>())).collect::<Vec<_>>()
        );
    }
}

/// The real binary, on its own port and data folder.
fn start_server(dir: &std::path::Path, port: u16, smtp_url: &str, mongo: &Option<(String, String)>, relay: bool) -> std::process::Child {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vitrina"));
    cmd.arg("serve")
        .arg("--seed-if-empty")
        .env("VITRINA_ADDR", format!("127.0.0.1:{port}"))
        .env("VITRINA_DATA_DIR", dir)
        .env("LEPTOS_SITE_ROOT", dir.join("site"))
        .env("SMTP_URL", smtp_url)
        .env("VITRINA_RELAY", if relay { "on" } else { "off" })
        .env("VITRINA_JWT_SECRET", "k".repeat(48))
        .env("VITRINA_ADMIN_EMAIL", "crash-admin@example.ro")
        .env("VITRINA_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .env_remove("MONGODB_URI")
        .env_remove("REDIS_URL")
        .env_remove("S3_BUCKET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some((uri, db)) = mongo {
        cmd.env("MONGODB_URI", uri).env("MONGODB_DB", db);
    }
    cmd.spawn().expect("the server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_between_an_order_and_its_mail_sends_it_after_restart() {
    let Some((smtp_url, maildev)) = smtp() else { return };
    for mongo in store_modes() {
        let mongo = mongo.map(|uri| (uri, common::unique_name("crash")));
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        // first life: the order is stored, nothing is sent (its relay is off), then kill -9
        let mut server = start_server(dir.path(), port, &smtp_url, &mongo, false);
        let client = reqwest::Client::new();
        let up = eventually(120, || async { client.get(format!("{base}/healthz")).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }).await;
        assert!(up.is_some(), "the server came up");
        let email = unique_email("crash");
        let (s, _) = post(&client, &base, "/api/v1/auth/register", json!({"email": email, "password": PASSWORD, "name": "Ana"}), None).await;
        assert_eq!(s, 201);
        let (_, t) = post(&client, &base, "/api/v1/auth/token", json!({"email": email, "password": PASSWORD}), None).await;
        let buyer = t["access_token"].as_str().unwrap().to_string();
        let list = client.get(format!("{base}/api/v1/products?in_stock=true&per_page=1")).send().await.unwrap().json::<Value>().await.unwrap();
        let product = client.get(format!("{base}/api/v1/products/{}", list["items"][0]["slug"].as_str().unwrap())).send().await.unwrap().json::<Value>().await.unwrap();
        let sku = product["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() > 0).unwrap()["sku"].as_str().unwrap().to_string();
        post(&client, &base, "/api/v1/cart/items", json!({"sku": sku, "quantity": 1}), Some(&buyer)).await;
        let body = json!({"shipping_address": {"name": "Ana Pop", "street": "Str. Lungă 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40712345678"}});
        // a partner's endpoint wants the order too
        let hooks = hooks_url();
        let hook_name = common::unique_name("crash");
        if let Some(hooks) = &hooks {
            let (_, t) = post(&client, &base, "/api/v1/auth/token", json!({"email": "crash-admin@example.ro", "password": PASSWORD}), None).await;
            let admin = t["access_token"].as_str().unwrap().to_string();
            let (s, ep) = post(&client, &base, "/api/v1/admin/webhooks", json!({"url": format!("{hooks}/hook/{hook_name}"), "events": ["order.created"]}), Some(&admin)).await;
            assert_eq!(s, 201, "{ep}");
            reqwest::Client::new().post(format!("{hooks}/_config/{hook_name}")).json(&json!({"secret": ep["secret"]})).send().await.unwrap();
        }
        let (s, order) = post(&client, &base, "/api/v1/orders", body, Some(&buyer)).await;
        assert_eq!(s, 201, "{order}");
        let number = order["number"].as_str().unwrap().to_string();
        server.kill().expect("kill -9");
        server.wait().unwrap();
        assert!(mails_to(&maildev, &email).await.is_empty(), "nothing was sent before the crash");

        // second life: the relay finds the stored message and sends it, once
        let mut server = start_server(dir.path(), port, &smtp_url, &mongo, true);
        let mail = eventually(60, || async { mails_to(&maildev, &email).await.into_iter().find(|m| m["subject"].as_str().unwrap_or_default().contains(&number)) }).await;
        let confirmations = mails_to(&maildev, &email).await.into_iter().filter(|m| m["subject"].as_str().unwrap_or_default().contains(&number)).count();
        let hooked = match &hooks {
            Some(h) => eventually(30, || async {
                let r = received(h, &hook_name).await;
                (!r["deliveries"].as_array().unwrap().is_empty()).then_some(r)
            })
            .await,
            None => None,
        };
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(mail.is_some(), "the confirmation is sent after the restart ({mongo:?})");
        assert_eq!(confirmations, 1);
        if hooks.is_some() {
            let r = hooked.expect("the webhook is delivered after the restart");
            assert_eq!(r["unique"].as_array().unwrap().len(), 1, "exactly once in the receiver's de-duplicated view: {r}");
            assert!(r["deliveries"].as_array().unwrap().iter().all(|d| d["signature_ok"] == true && d["type"] == "order.created"), "{r}");
        }
    }
}

async fn post(client: &reqwest::Client, base: &str, path: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
    let mut req = client.post(format!("{base}{path}")).json(&body).header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}
