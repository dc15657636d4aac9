//! Hardening, tried from outside over HTTP: open redirects, CSV formulas,
//! unbounded queries and pages, framing, secrets, hoarding past the line limit.
mod common;

use common::{spawn_app, TestApp};
use serde_json::{json, Value};
use vitrina::domain::user::Role;

const PASSWORD: &str = "correct horse battery staple";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn token_for(app: &TestApp, email: &str, role: Role) -> String {
    app.state.accounts.register(email, PASSWORD, "Ana", role).await.unwrap();
    let res = app.client.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
    res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_never_redirects_off_site() {
    let app = spawn_app(5).await;
    app.state.accounts.register("ana@example.com", PASSWORD, "Ana", Role::Customer).await.unwrap();
    // the sign-in page carries `next` into its form ...
    let page = app.get("/login?next=/%09/evil.example").await.text().await.unwrap();
    assert!(page.contains("name=\"next\""));
    // ... and whatever the form posts back, the redirect stays on this site
    for next in ["/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "/\n/evil.example"] {
        let res = no_redirects()
            .post(format!("{}/login", app.base))
            .form(&[("email", "ana@example.com"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "{next:?}: {}", res.status());
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with('/') && !location.starts_with("//") && !location.contains('\\') && !location.chars().any(char::is_control), "{next:?} -> {location:?}");
        assert_eq!(location, "/account", "{next:?}");
    }
    let res = no_redirects().post(format!("{}/login", app.base)).form(&[("email", "ana@example.com"), ("password", PASSWORD), ("next", "/cart")]).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/cart", "a local path is followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_cannot_run_formulas() {
    let app = spawn_app(30).await;
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    let buyer = token_for(&app, "eve@example.com", Role::Customer).await;
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=1&sort=price_asc").await;
    let (_, product) = app.json(&format!("/api/v1/products/{}", list["items"][0]["slug"].as_str().unwrap())).await;
    let sku = product["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() > 0).unwrap()["sku"].clone();
    app.client.post(format!("{}/api/v1/cart/items", app.base)).bearer_auth(&buyer).json(&json!({"sku": sku, "quantity": 1})).send().await.unwrap();
    let address = json!({"name": "=1+1", "street": "@SUM(A1)", "city": "+Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "-40712345678"});
    let res = app.client.post(format!("{}/api/v1/orders", app.base)).bearer_auth(&buyer).header("Idempotency-Key", "csv-1").json(&json!({"shipping_address": address})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201, "{}", res.text().await.unwrap());
    let csv = app.client.get(format!("{}/api/v1/admin/export/orders.csv", app.base)).bearer_auth(&admin).send().await.unwrap().text().await.unwrap();
    assert!(csv.contains("'=1+1"), "{csv}");
    assert!(csv.contains("'+Cluj"), "{csv}");
    for record in csv.lines() {
        for cell in record.split(',') {
            let cell = cell.trim_matches('"');
            assert!(!cell.starts_with(['=', '+', '@']), "a formula cell: {cell:?} in {record}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_pages_are_bounded() {
    let app = spawn_app(10).await;
    let eleven: String = (0..11).map(|i| format!("attr.k{i}=v")).collect::<Vec<_>>().join("&");
    let res = app.get(&format!("/api/v1/products?{eleven}")).await;
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "attr.k10", "the 11th key is named: {body}");
    let (status, _) = app.json(&format!("/api/v1/products?q={}", "a+".repeat(3000))).await;
    assert_eq!(status, 400);
    // the same limits where the listing page's server function carries the query in a POST body
    let path = leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p).find(|p| p.starts_with("/api/search_catalog")).expect("the listing's server function");
    for (query, param) in [(eleven.clone(), "attr.k10"), ("q=".to_string() + &"a+".repeat(3000), "query")] {
        let res = app.client.post(format!("{}{path}", app.base)).form(&[("query", query.as_str())]).send().await.unwrap();
        assert!(res.status().as_u16() < 500);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Err"]["Invalid"]["param"], param, "{body}");
    }
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    for path in ["/api/v1/admin/users?page=18446744073709551615", "/api/v1/admin/orders?page=18446744073709551615", "/api/v1/admin/audit?page=18446744073709551615", "/api/v1/orders?page=18446744073709551615&per_page=100"] {
        let res = app.client.get(format!("{}{path}", app.base)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 400, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_can_be_framed() {
    let app = spawn_app(5).await;
    let (_, list) = app.json("/api/v1/products?per_page=1").await;
    let slug = list["items"][0]["slug"].as_str().unwrap().to_string();
    for path in ["/", "/products", &format!("/p/{slug}"), "/login", "/cart", "/admin", "/no-such-page", "/api/docs", "/api/v1/products"] {
        for _ in 0..2 {
            // the second request of a listing comes from the page cache
            let res = app.get(path).await;
            let h = res.headers();
            let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{path}: {csp:?}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert!(h.contains_key("referrer-policy"), "{path}");
        }
    }
}

/// Served over https (the public URL says so): HSTS on every response, and a
/// session cookie pinned to this host (`__Host-`, Secure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_transport_security_and_host_cookies() {
    let app = common::spawn_app_with(3, |c| c.public_url = Some("https://shop.example".into())).await;
    let res = app.get("/").await;
    let hsts = res.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(hsts.contains("max-age="), "{hsts:?}");
    app.state.accounts.register("h@example.com", PASSWORD, "H", Role::Customer).await.unwrap();
    let res = no_redirects().post(format!("{}/login", app.base)).form(&[("email", "h@example.com"), ("password", PASSWORD)]).send().await.unwrap();
    let cookie = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).find(|c| c.contains("vitrina_session")).expect("a session cookie");
    assert!(cookie.starts_with("__Host-vitrina_session=") && cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"), "{cookie}");
    // over plain http (the embedded default) neither applies
    let plain = spawn_app(0).await;
    assert!(plain.get("/").await.headers().get("strict-transport-security").is_none());
}

#[test]
fn the_server_refuses_a_placeholder_or_short_jwt_secret() {
    for (secret, says) in [("change-me-to-64-random-characters", "placeholder"), ("too-short", "at least 32 bytes")] {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vitrina"))
            .arg("serve")
            .env("VITRINA_JWT_SECRET", secret)
            .env("VITRINA_DATA_DIR", dir.path())
            .env("VITRINA_ADDR", "127.0.0.1:0")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{secret}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeating_a_sku_does_not_pass_the_line_maximum() {
    let app = spawn_app(30).await;
    let partner = token_for(&app, "p@example.com", Role::Partner).await;
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=1&sort=price_asc").await;
    let (_, product) = app.json(&format!("/api/v1/products/{}", list["items"][0]["slug"].as_str().unwrap())).await;
    let sku = product["variants"][0]["sku"].clone();
    let max = app.state.config.rules.max_line_quantity;
    let items: Vec<Value> = (0..3).map(|_| json!({"sku": sku, "quantity": max})).collect();
    let address = json!({"name": "Ana Pop", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40712345678"});
    let res = app.client.post(format!("{}/api/v1/orders", app.base)).bearer_auth(&partner).header("Idempotency-Key", "hoard-1").json(&json!({"shipping_address": address, "items": items})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("of one SKU"), "{body}");
}

fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("vitrina_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a session cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_signs_out_every_other_browser() {
    let app = spawn_app(3).await;
    app.state.accounts.register("ana@example.com", PASSWORD, "Ana", Role::Customer).await.unwrap();
    let client = no_redirects();
    let login = || async {
        let res = client.post(format!("{}/login", app.base)).form(&[("email", "ana@example.com"), ("password", PASSWORD), ("next", "/account")]).send().await.unwrap();
        session_cookie(&res)
    };
    let (a, b) = (login().await, login().await);
    let account = |cookie: String| {
        let client = client.clone();
        let url = format!("{}/account", app.base);
        // signed in: the account page shows the e-mail address
        async move { client.get(url).header("cookie", cookie).send().await.unwrap().text().await.unwrap().contains("ana@example.com") }
    };
    assert!(account(a.clone()).await && account(b.clone()).await, "both browsers signed in");
    // and an API client holds a refresh token
    let (_, pair) = app.post_json("/api/v1/auth/token", json!({"email": "ana@example.com", "password": PASSWORD})).await;
    let refresh = pair["refresh_token"].as_str().expect("a refresh token").to_string();
    let res = client
        .post(format!("{}/account/password", app.base))
        .header("cookie", &a)
        .form(&[("current_password", PASSWORD), ("new_password", "a brand new passphrase 2")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    let a2 = session_cookie(&res);
    assert!(account(a2).await, "the browser that changed it stays signed in");
    assert!(!account(b).await, "the other browser is signed out");
    let (status, _) = app.post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(status, 401, "the API client's sign-in is revoked too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_are_limited_per_client_ip() {
    let app = common::spawn_app_with(3, |c| c.register_rate_per_min = 3).await;
    let register = |i: usize| {
        let (client, url) = (app.client.clone(), format!("{}/api/v1/auth/register", app.base));
        async move { client.post(url).json(&json!({"email": format!("r{i}@example.com"), "password": PASSWORD, "name": "R"})).send().await.unwrap() }
    };
    for i in 0..3 {
        assert_eq!(register(i).await.status().as_u16(), 201);
    }
    let res = register(3).await;
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // the form door shares the same allowance
    let res = no_redirects().post(format!("{}/register", app.base)).form(&[("email", "f@example.com"), ("password", PASSWORD), ("name", "F")]).send().await.unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/register?") && location.contains("err.email=msg-register-throttled"), "a code the page words, not words: {location}");
    let page = app.get(&location).await.text().await.unwrap();
    assert!(page.contains("Prea multe conturi noi"), "the page says it in its language");
    assert!(app.state.accounts.authenticate("f@example.com", PASSWORD).await.is_err(), "no account was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_traffic_is_limited_per_client_ip() {
    let app = common::spawn_app_with(3, |c| c.anon_rate_per_min = 5).await;
    // signing in for a token is an anonymous request too: the first of five
    let token = token_for(&app, "t@example.com", Role::Customer).await;
    for _ in 0..4 {
        assert_eq!(app.get("/api/v1/categories").await.status().as_u16(), 200);
    }
    let res = app.get("/products").await;
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().get("retry-after").is_some());
    // probes and static files are not counted
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_ne!(app.get("/favicon.svg").await.status().as_u16(), 429);
    assert_ne!(app.get("/pkg/vitrina.css").await.status().as_u16(), 429);
    // bearer-token calls have their own per-subject limit
    let res = app.client.get(format!("{}/api/v1/cart", app.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

/// Behind one trusted proxy the client is the entry the proxy added (the
/// right-most); what the client wrote to the left of it changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_for_does_not_escape_the_limit() {
    let app = common::spawn_app_with(3, |c| {
        c.anon_rate_per_min = 3;
        c.trusted_proxies = 1;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let res = app.client.get(format!("{}/products", app.base)).header("x-forwarded-for", format!("10.9.9.{i}, 203.0.113.7")).send().await.unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429], "one client, whatever it forges on the left");
    let res = app.client.get(format!("{}/products", app.base)).header("x-forwarded-for", "203.0.113.7, 198.51.100.2").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "another client behind the same proxy has its own allowance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_buys_no_allowance_of_its_own() {
    let app = common::spawn_app_with(3, |c| c.anon_rate_per_min = 5).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let res = app.client.get(format!("{}/products", app.base)).bearer_auth("not-a-token").send().await.unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "an invalid bearer token is counted per client address: {statuses:?}");
}

/// A link cannot make the shop display words of its own: pages word only
/// catalogue codes carried in `?error=`, `?notice=`, `err.<field>=`, `cart_error=`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_carry_message_codes_not_words() {
    let app = spawn_app(3).await;
    let slug = app.backends.catalog.products_after(None, 1).await.unwrap()[0].slug.clone();
    let spoof = "Call+0800+123+456+for+your+refund";
    for path in [
        format!("/login?error={spoof}"),
        format!("/register?err.email={spoof}&err.password={spoof}"),
        format!("/cart?error={spoof}"),
        format!("/checkout?error={spoof}&err.name={spoof}&err.country={spoof}"),
        format!("/p/{slug}?cart_error={spoof}"),
        format!("/en/login?error=field-max-chars%7Cmax%3DCall+0800+123"),
    ] {
        let page = app.get(&path).await.text().await.unwrap();
        // (the language switch links back to the same address: encoded there, never shown)
        assert!(!page.contains("0800 123"), "{path} shows text from the link");
    }
    // codes are worded, in the page's language
    let page = app.get("/register?err.password=field-max-chars%7Cmax%3D100").await.text().await.unwrap();
    assert!(page.contains(&vitrina::i18n::Locale::Ro.tf("field-max-chars", &[("max", "100")])), "a coded field message is shown");
    let page = app.get("/en/login?error=login-failed").await.text().await.unwrap();
    assert!(page.contains(vitrina::i18n::Locale::En.t("msg-login-failed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_links_stay_on_this_site() {
    let app = spawn_app(3).await;
    let sku = app.backends.catalog.products_after(None, 1).await.unwrap()[0].variants[0].sku.clone();
    for back in ["/\t/evil.example", "/\n/x", "//evil.example", "https://evil.example/", "/\\evil.example"] {
        let res = no_redirects().post(format!("{}/cart/add", app.base)).form(&[("sku", sku.as_str()), ("quantity", "1"), ("back", back)]).send().await.unwrap();
        assert!(res.status().is_redirection(), "{back:?}: {}", res.status());
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with('/') && !location.starts_with("//") && !location.contains('\\') && !location.chars().any(char::is_control), "{back:?} -> {location:?}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_live_on_an_address_the_ingress_does_not_route() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, metrics) = (free_port(), free_port());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vitrina"))
        .arg("serve")
        .env("VITRINA_DATA_DIR", dir.path())
        .env("VITRINA_ADDR", format!("127.0.0.1:{shop}"))
        .env("VITRINA_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("http://127.0.0.1:{shop}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let on_shop = client.get(format!("http://127.0.0.1:{shop}/metrics")).send().await.map(|r| r.status().as_u16());
    let on_metrics = client.get(format!("http://127.0.0.1:{metrics}/metrics")).send().await;
    child.kill().ok();
    child.wait().ok();
    assert!(ready, "the shop started");
    assert_eq!(on_shop.unwrap(), 404);
    let text = on_metrics.unwrap().text().await.unwrap();
    assert!(text.contains("vitrina_search_index_products"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_cannot_hoard_stock_in_open_orders() {
    let app = common::spawn_app_with(30, |c| c.rules.max_open_orders = 2).await;
    let buyer = token_for(&app, "h@example.com", Role::Customer).await;
    let partner = token_for(&app, "hp@example.com", Role::Partner).await;
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=1&sort=price_asc").await;
    let (_, product) = app.json(&format!("/api/v1/products/{}", list["items"][0]["slug"].as_str().unwrap())).await;
    let sku = product["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() >= 4).expect("stock").clone()["sku"].clone();
    let address = json!({"name": "Ana Pop", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40712345678"});
    // shoppers order their cart; partners send the items
    let place = |token: String, key: String, partner: bool| {
        let (client, base, address, sku) = (app.client.clone(), app.base.clone(), address.clone(), sku.clone());
        async move {
            let mut body = json!({"shipping_address": address});
            if partner {
                body["items"] = json!([{"sku": sku, "quantity": 1}]);
            } else {
                client.post(format!("{base}/api/v1/cart/items")).bearer_auth(&token).json(&json!({"sku": sku, "quantity": 1})).send().await.unwrap();
            }
            let res = client.post(format!("{base}/api/v1/orders")).bearer_auth(token).header("Idempotency-Key", key).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(place(buyer.clone(), "o1".into(), false).await.0, 201);
    assert_eq!(place(buyer.clone(), "o2".into(), false).await.0, 201);
    let (status, problem) = place(buyer.clone(), "o3".into(), false).await;
    assert_eq!(status, 409);
    assert!(problem["detail"].as_str().unwrap().contains("waiting for confirmation"), "{problem}");
    assert_eq!(place(partner, "p1".into(), true).await.0, 201, "partners (integrations) are not counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_edit_never_writes_stock_back_blindly() {
    let app = spawn_app(0).await;
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    let buyer = token_for(&app, "b@example.com", Role::Customer).await;
    let body = json!({"name": "Sale Kettle", "category": "home/kitchen", "status": "active",
        "variants": [{"sku": "KETTLE-1", "options": {}, "price": {"amount": 9900, "currency": "RON"}, "stock": 10}]});
    let created: Value = app.client.post(format!("{}/api/v1/admin/products", app.base)).bearer_auth(&admin).json(&body).send().await.unwrap().json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    // the admin opens the editor (stock 10); meanwhile 3 are sold
    app.client.post(format!("{}/api/v1/cart/items", app.base)).bearer_auth(&buyer).json(&json!({"sku": "KETTLE-1", "quantity": 3})).send().await.unwrap();
    let address = json!({"name": "Ana Pop", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "+40712345678"});
    let res = app.client.post(format!("{}/api/v1/orders", app.base)).bearer_auth(&buyer).header("Idempotency-Key", "k1").json(&json!({"shipping_address": address})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let put = |body: Value| {
        let (client, url, admin) = (app.client.clone(), format!("{}/api/v1/admin/products/{id}", app.base), admin.clone());
        async move {
            let res = client.put(url).bearer_auth(admin).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let stock = || async { app.state.admin.get(&id).await.unwrap().variants[0].stock };
    // saving a new description with the stale 10 in the form: the stock stays 7
    let mut edit = body.clone();
    edit["description"] = json!("Now with a whistle.");
    let (status, _) = put(edit.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(stock().await, 7, "editing a description never touches stock");
    // the editor sends what it loaded: unchanged means untouched
    edit["stock_expected"] = json!({"KETTLE-1": 10});
    assert_eq!(put(edit.clone()).await.0, 200);
    assert_eq!(stock().await, 7);
    // a change against a stock that moved is refused, naming the field
    edit["variants"][0]["stock"] = json!(15);
    let (status, problem) = put(edit.clone()).await;
    assert_eq!(status, 409);
    assert_eq!(problem["errors"][0]["field"], "variants.0.stock", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("changed from 10 to 7"), "{problem}");
    assert_eq!(stock().await, 7);
    // against the current stock it is written
    edit["stock_expected"] = json!({"KETTLE-1": 7});
    assert_eq!(put(edit).await.0, 200);
    assert_eq!(stock().await, 15);
}
