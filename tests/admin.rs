//! The admin catalog API: products of any shape, freshness on the storefront.
mod common;

use common::{spawn_app, TestApp};
use serde_json::{json, Value};
use vitrina::domain::user::Role;

const PASSWORD: &str = "a sturdy passphrase";

async fn admin_token(app: &TestApp) -> String {
    app.state.accounts.register("boss@example.com", PASSWORD, "Boss", Role::Admin).await.unwrap();
    let res = app.client.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"email": "boss@example.com", "password": PASSWORD})).send().await.unwrap();
    res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn kayak(price: i64) -> Value {
    let variant = |sku: &str, length: &str, color: &str| json!({"sku": sku, "options": {"length": length, "color": color}, "price": {"amount": price, "currency": "RON"}, "stock": 5});
    json!({
        "name": "Fjord Touring Kayak",
        "description": "A stable touring kayak.",
        "brand": "Fjordik",
        "category": "outdoor/kayaks",
        "status": "active",
        "attributes": {"hull_material": "Polyethylene", "max_load_kg": 130, "self_bailing": true},
        "variants": [variant("KY-1", "3.8 m", "Orange"), variant("KY-2", "3.8 m", "Teal"), variant("KY-3", "4.2 m", "Orange"), variant("KY-4", "4.2 m", "Teal")]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_attribute_key_becomes_a_facet_and_changes_show_at_once() {
    let app = spawn_app(30).await;
    let token = admin_token(&app).await;
    // warm the caches first: the write must invalidate them
    let (_, before) = app.json("/api/v1/products?category=outdoor").await;
    assert_eq!(before["total"], 0);

    let (status, created) = send(&app, reqwest::Method::POST, "/api/v1/admin/products", &token, Some(kayak(89900))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["slug"], "fjord-touring-kayak");

    let (_, listing) = app.json("/api/v1/products?category=outdoor").await;
    assert_eq!(listing["total"], 1, "listed at once (catalog version bumped)");
    assert_eq!(listing["facets"]["hull_material"][0]["value"], "Polyethylene", "a brand-new key is a facet");
    assert_eq!(listing["facets"]["length"].as_array().unwrap().len(), 2);
    let (_, filtered) = app.json("/api/v1/products?attr.hull_material=Polyethylene&attr.color=Teal").await;
    assert_eq!(filtered["total"], 1);
    let (_, tree) = app.json("/api/v1/categories").await;
    assert!(tree.as_array().unwrap().iter().any(|c| c["path"] == "outdoor" && c["product_count"] == 1), "the new category shows up");
    let page = app.get("/c/outdoor/kayaks").await.text().await.unwrap();
    assert!(page.contains("Fjord Touring Kayak") && page.contains("name=\"attr.hull_material\""), "the storefront shows the facet");

    // a price change is on the product page at once
    let (status, updated) = send(&app, reqwest::Method::PUT, &format!("/api/v1/admin/products/{id}"), &token, Some(kayak(79900))).await;
    assert_eq!(status, 200, "{updated}");
    let (_, public) = app.json("/api/v1/products/fjord-touring-kayak").await;
    assert_eq!(public["price"]["amount"], 79900);
    let html = app.get("/p/fjord-touring-kayak").await.text().await.unwrap();
    assert!(html.contains("799,00 lei"), "the storefront shows the new price");

    // drafts are listed for admins only
    let mut draft = kayak(1000);
    draft["name"] = json!("Prototype Kayak");
    draft["status"] = json!("draft");
    for (i, v) in draft["variants"].as_array_mut().unwrap().iter_mut().enumerate() {
        v["sku"] = json!(format!("PR-{i}"));
    }
    let (status, _) = send(&app, reqwest::Method::POST, "/api/v1/admin/products", &token, Some(draft)).await;
    assert_eq!(status, 201);
    let (_, public) = app.json("/api/v1/products?category=outdoor").await;
    assert_eq!(public["total"], 1);
    let (_, all) = send(&app, reqwest::Method::GET, "/api/v1/admin/products?category=outdoor", &token, None).await;
    assert_eq!(all["total"], 2);
    let (_, drafts) = send(&app, reqwest::Method::GET, "/api/v1/admin/products?category=outdoor&status=draft", &token, None).await;
    assert_eq!(drafts["total"], 1);
    let (status, _) = send(&app, reqwest::Method::GET, "/api/v1/admin/products?status=sold", &token, None).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_products_are_refused_by_field_and_conflicts_named() {
    let app = spawn_app(5).await;
    let token = admin_token(&app).await;
    let mut bad = kayak(100);
    bad["category"] = json!("Not A Path");
    bad["attributes"]["$where"] = json!("x");
    bad["variants"][1]["sku"] = json!("KY-1");
    let (status, problem) = send(&app, reqwest::Method::POST, "/api/v1/admin/products", &token, Some(bad)).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"category") && fields.contains(&"attributes.$where") && fields.contains(&"variants.1.sku"), "{fields:?}");
    let (status, _) = send(&app, reqwest::Method::POST, "/api/v1/admin/products", &token, Some(kayak(100))).await;
    assert_eq!(status, 201);
    let mut same_sku = kayak(100);
    same_sku["name"] = json!("Another Kayak");
    let (status, problem) = send(&app, reqwest::Method::POST, "/api/v1/admin/products", &token, Some(same_sku)).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("KY-"));
    let (status, _) = send(&app, reqwest::Method::PUT, "/api/v1/admin/products/nope", &token, Some(kayak(1))).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_ever_ordered_is_archived_not_deleted() {
    let app = spawn_app(5).await;
    let token = admin_token(&app).await;
    let (_, a) = send(&app, reqwest::Method::POST, "/api/v1/admin/products", &token, Some(kayak(5000))).await;
    let mut other = kayak(5000);
    other["name"] = json!("Unsold Kayak");
    for (i, v) in other["variants"].as_array_mut().unwrap().iter_mut().enumerate() {
        v["sku"] = json!(format!("UN-{i}"));
    }
    let (_, b) = send(&app, reqwest::Method::POST, "/api/v1/admin/products", &token, Some(other)).await;

    // someone orders the first kayak
    app.state.accounts.register("buyer@example.com", PASSWORD, "Buyer", Role::Customer).await.unwrap();
    let res = app.client.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"email": "buyer@example.com", "password": PASSWORD})).send().await.unwrap();
    let buyer = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    send(&app, reqwest::Method::POST, "/api/v1/cart/items", &buyer, Some(json!({"sku": "KY-1", "quantity": 1}))).await;
    let res = app
        .client
        .post(format!("{}/api/v1/orders", app.base))
        .bearer_auth(&buyer)
        .header("Idempotency-Key", "k1")
        .json(&json!({"shipping_address": {"name": "B", "street": "S 1", "city": "C", "postal_code": "1000", "country": "RO", "county": "RO-CJ", "phone": "0712345678"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let (status, removed) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/admin/products/{}", a["id"].as_str().unwrap()), &token, None).await;
    assert_eq!((status, removed["result"].as_str()), (200, Some("archived")));
    let (_, kept) = send(&app, reqwest::Method::GET, &format!("/api/v1/admin/products/{}", a["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(kept["status"], "archived");
    assert_eq!(app.get(&format!("/api/v1/products/{}", a["slug"].as_str().unwrap())).await.status(), 404, "archived products leave the shop");

    let (status, removed) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/admin/products/{}", b["id"].as_str().unwrap()), &token, None).await;
    assert_eq!((status, removed["result"].as_str()), (200, Some("deleted")));
    let (status, _) = send(&app, reqwest::Method::GET, &format!("/api/v1/admin/products/{}", b["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_partners_and_lock_users_out() {
    let app = spawn_app(0).await;
    let token = admin_token(&app).await;
    let (status, partner) = send(&app, reqwest::Method::POST, "/api/v1/admin/users", &token, Some(json!({"email": "erp@partner.example", "name": "ERP", "password": "partner passphrase"}))).await;
    assert_eq!((status, partner["role"].as_str()), (201, Some("partner")));
    let res = app.client.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"email": "erp@partner.example", "password": "partner passphrase"})).send().await.unwrap();
    let partner_token = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    let (status, _) = send(&app, reqwest::Method::GET, "/api/v1/me", &partner_token, None).await;
    assert_eq!(status, 200);
    let id = partner["id"].as_str().unwrap();
    let (status, changed) = send(&app, reqwest::Method::PATCH, &format!("/api/v1/admin/users/{id}"), &token, Some(json!({"disabled": true}))).await;
    assert_eq!((status, changed["disabled"].as_bool()), (200, Some(true)));
    let (status, _) = send(&app, reqwest::Method::GET, "/api/v1/me", &partner_token, None).await;
    assert_eq!(status, 401, "a disabled user's tokens stop working");
    let (status, problem) = send(&app, reqwest::Method::PATCH, &format!("/api/v1/admin/users/{id}"), &token, Some(json!({"role": "owner"}))).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "role");
    let (status, _) = send(&app, reqwest::Method::PATCH, "/api/v1/admin/users/nobody", &token, Some(json!({"disabled": true}))).await;
    assert_eq!(status, 404);
}

/// Issue 12: the "no lock-out" rule held only in the form handler; the API let
/// an admin disable themselves or give up the admin role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_lock_themselves_out_through_the_api() {
    let app = spawn_app(0).await;
    let token = admin_token(&app).await;
    let (status, me) = send(&app, reqwest::Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(status, 200);
    let id = me["id"].as_str().unwrap().to_string();
    for (change, field) in [(json!({"disabled": true}), "disabled"), (json!({"role": "customer"}), "role"), (json!({"role": "partner", "disabled": false}), "role")] {
        let res = app.client.patch(format!("{}/api/v1/admin/users/{id}", app.base)).bearer_auth(&token).json(&change).send().await.unwrap();
        assert_eq!(res.status(), 422, "{change}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("cannot lock yourself out"), "{problem}");
    }
    let (status, me) = send(&app, reqwest::Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!((status, me["role"].as_str()), (200, Some("admin")), "still an admin, still signed in");
    // keeping the own role, or enabling oneself, is no lock-out
    let (status, _) = send(&app, reqwest::Method::PATCH, &format!("/api/v1/admin/users/{id}"), &token, Some(json!({"role": "admin", "disabled": false}))).await;
    assert_eq!(status, 200);
}
