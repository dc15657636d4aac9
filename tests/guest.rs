//! Guest checkout through the browser's form posts (no JavaScript): an order
//! without an account, seen through its link, then moved into a new account.
#![cfg(feature = "ssr")]
mod common;

use common::{spawn_app, spawn_app_with, TestApp};

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).find(|c| c.starts_with("vitrina_session=")).map(|c| c.split(';').next().unwrap().to_string())
}

/// An in-stock SKU and how many are available.
async fn sku_in_stock(app: &TestApp, skip: usize) -> (String, String, i64) {
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=10").await;
    let slug = list["items"][skip]["slug"].as_str().unwrap().to_string();
    let (_, p) = app.json(&format!("/api/v1/products/{slug}")).await;
    let v = p["variants"].as_array().unwrap().iter().find(|v| v["available"].as_i64().unwrap() > 3).expect("a variant with stock").clone();
    (slug, v["sku"].as_str().unwrap().to_string(), v["available"].as_i64().unwrap())
}

async fn available(app: &TestApp, slug: &str, sku: &str) -> i64 {
    let (_, p) = app.json(&format!("/api/v1/products/{slug}")).await;
    p["variants"].as_array().unwrap().iter().find(|v| v["sku"] == sku).unwrap()["available"].as_i64().unwrap()
}

/// A guest's cart with `quantity` of `sku`; returns the session cookie.
async fn guest_cart(app: &TestApp, sku: &str, quantity: &str) -> String {
    let res = browser().post(format!("{}/cart/add", app.base)).form(&[("sku", sku), ("quantity", quantity), ("back", "/cart")]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    session_cookie(&res).expect("a guest session")
}

async fn checkout(app: &TestApp, cookie: &str, email: &str, key: &str) -> reqwest::Response {
    let form = [
        ("email", email), ("name", "Ana Popescu"), ("street", "Strada Lungă 5"), ("postal_code", "010101"), ("city", "București"),
        ("country", "RO"), ("county", "RO-B"), ("sector", "1"), ("phone", "+40 721 000 000"), ("shipping_method", "standard"), ("idempotency_key", key),
    ];
    browser().post(format!("{}/checkout", app.base)).header("cookie", cookie).form(&form).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_checkout_on_the_embedded_store() {
    guest_journey(spawn_app(20).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_checkout_on_mongodb() {
    let Some(mongo) = common::mongo_uri() else { return };
    let db = common::unique_name("vitrina_guest");
    guest_journey(spawn_app_with(20, move |c| {
        c.mongodb_uri = Some(mongo);
        c.mongodb_db = db;
    })
    .await)
    .await;
}

/// A guest orders without an account, sees it by its link, and keeps it in a new account.
async fn guest_journey(app: TestApp) {
    let (slug, sku, before) = sku_in_stock(&app, 0).await;
    let cookie = guest_cart(&app, &sku, "2").await;

    let page = browser().get(format!("{}/checkout", app.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200, "a guest may open the checkout");
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"email\""), "the checkout asks a guest for an e-mail");

    // a bad address comes back to the form with the message on the field, and nothing is ordered
    let bad = checkout(&app, &cookie, "not-an-address", "k-1").await;
    assert_eq!(bad.status(), 303);
    let back = location(&bad);
    assert!(back.starts_with("/checkout?") && back.contains("err.email="), "{back}");
    assert!(back.contains("name=Ana+Popescu"), "what was typed is kept: {back}");
    assert_eq!(available(&app, &slug, &sku).await, before);

    let placed = checkout(&app, &cookie, "Ana@Example.com", "k-2").await;
    assert_eq!(placed.status(), 303);
    let link = location(&placed);
    assert!(link.starts_with("/orders/o_") && link.contains("token=") && link.ends_with("&placed=1"), "{link}");
    assert_eq!(available(&app, &slug, &sku).await, before - 2, "the stock is reserved");
    let replay = checkout(&app, &cookie, "Ana@Example.com", "k-2").await;
    assert_eq!(location(&replay), link, "a double submit is the same order");

    // the link works in any browser, without a session
    let page = browser().get(format!("{}{link}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-testid=\"order-number\"") && html.contains("Strada Lungă 5"));
    assert!(html.contains("action=\"/orders/claim\""), "the confirmation offers an account");

    // a changed token, or this token on another order, finds nothing
    let (path, query) = link.split_once('?').unwrap();
    let token = query.split('&').find_map(|kv| kv.strip_prefix("token=")).unwrap().to_string();
    let mut forged = token.clone().into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(browser().get(format!("{}{path}?token={forged}", app.base)).send().await.unwrap().status(), 404);
    assert_eq!(browser().get(format!("{}{path}", app.base)).send().await.unwrap().status(), 404);
    let (_, sku2, _) = sku_in_stock(&app, 1).await;
    let other_cookie = guest_cart(&app, &sku2, "1").await;
    let other = location(&checkout(&app, &other_cookie, "someone@example.com", "k-3").await);
    let other_path = other.split('?').next().unwrap();
    assert_ne!(other_path, path);
    assert_eq!(browser().get(format!("{}{other_path}?token={token}", app.base)).send().await.unwrap().status(), 404);

    // one step to an account: a weak password comes back to the field; a good one signs in with the order in it
    let order_id = path.trim_start_matches("/orders/").to_string();
    let claim = |password: &'static str| {
        browser().post(format!("{}/orders/claim", app.base)).form(&[("order_id", order_id.as_str()), ("token", token.as_str()), ("password", password)]).send()
    };
    let weak = claim("short").await.unwrap();
    assert!(location(&weak).contains("err.password="), "{}", location(&weak));
    let made = claim("a long guest passphrase").await.unwrap();
    assert_eq!(made.status(), 303);
    assert_eq!(location(&made).split('?').next().unwrap(), format!("/account/orders/{order_id}"));
    let session = session_cookie(&made).expect("signed in");
    let res = browser().get(format!("{}/api/v1/orders", app.base)).header("cookie", &session).send().await.unwrap();
    let mine: serde_json::Value = res.json().await.unwrap();
    let ids: Vec<&str> = mine["items"].as_array().expect("a page of orders").iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![order_id.as_str()], "the guest order is in the new account");
    let (_, me) = {
        let res = browser().get(format!("{}/api/v1/me", app.base)).header("cookie", &session).send().await.unwrap();
        (res.status(), res.json::<serde_json::Value>().await.unwrap())
    };
    assert!(me["email"].as_str().unwrap().eq_ignore_ascii_case("ana@example.com"), "{me}");
    // a second claim cannot create another account with the same address
    let again = claim("another long passphrase").await.unwrap();
    assert!(location(&again).contains("err.password="), "{}", location(&again));
}

/// A guest is known by the e-mail address: new sessions (new carts) do not
/// give a fresh allowance of open orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_hoard_stock_from_new_sessions() {
    let app = spawn_app_with(30, |c| c.rules.max_open_orders = 2).await;
    let (_, sku, _) = sku_in_stock(&app, 0).await;
    for (i, expected) in ["/orders/", "/orders/", "/checkout?"].into_iter().enumerate() {
        let cookie = guest_cart(&app, &sku, "1").await;
        let res = checkout(&app, &cookie, "Hoarder@Example.com", &format!("hoard-{i}")).await;
        assert_eq!(res.status(), 303);
        assert!(location(&res).starts_with(expected), "order {}: {}", i + 1, location(&res));
    }
    // the third went back to the checkout with the reason, as a code the page words
    let cookie = guest_cart(&app, &sku, "1").await;
    let refused = location(&checkout(&app, &cookie, "hoarder@example.com", "hoard-9").await);
    assert!(refused.contains("error=err-too-many-open%7Ccount%3D2"), "{refused}");
    // another address is another guest
    let other = checkout(&app, &cookie, "someone.else@example.com", "hoard-10").await;
    assert!(location(&other).starts_with("/orders/"), "{}", location(&other));
}
