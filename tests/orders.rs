//! Carts and orders: the money path. Concurrency and crash repair run on
//! both stores; the HTTP behaviour on a spawned server.
mod common;
use common::call;

use std::sync::Arc;

use chrono::Utc;
use common::{spawn_app, TestApp};
use serde_json::{json, Value};
use vitrina::domain::order::{CartLine, OrderStatus, ShippingMethod};
use vitrina::domain::product::Product;
use vitrina::domain::user::{Role, User};
use vitrina::ports::{CartStore, CatalogStore, InventoryStore, OrderStore};
use vitrina::services::orders::{CartService, OrderError, OrderService, PlaceOrder, ShopRules};


fn user(i: usize) -> User {
    User { id: format!("u{i}"), email: format!("u{i}@example.com"), name: "U".into(), password_hash: String::new(), role: Role::Partner, disabled: false, created_at: Utc::now(), sessions_valid_from: None, lang: None }
}

/// One product with one SKU and `stock` units.
fn hot_product(stock: i64) -> Product {
    let mut p = vitrina::services::demo::demo_product(1);
    p.variants.truncate(1);
    p.variants[0].stock = stock;
    p
}

struct Shop {
    inventory: Arc<dyn InventoryStore>,
    orders: OrderService,
}

fn shop<T: CatalogStore + InventoryStore + OrderStore + CartStore + 'static>(store: Arc<T>) -> Shop {
    let carts = CartService::new(store.clone(), store.clone(), store.clone(), ShopRules::default());
    Shop { inventory: store.clone(), orders: OrderService::new(store.clone(), store.clone(), store, carts) }
}

fn place(sku: &str, qty: i64, key: &str) -> PlaceOrder {
    PlaceOrder { shipping_address: common::address(), shipping_method: ShippingMethod::Standard, items: Some(vec![CartLine { sku: sku.into(), quantity: qty }]), idempotency_key: key.into(), payment_method: Default::default(), coupon: None, billing: None }
}

async fn two_hundred_buyers_fifty_units(catalog: Arc<dyn CatalogStore>, s: Shop) {
    let p = hot_product(50);
    let sku = p.variants[0].sku.clone();
    catalog.upsert_products(&[p]).await.unwrap();
    let orders = Arc::new(s.orders);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let orders = orders.clone();
        let sku = sku.clone();
        tasks.push(tokio::spawn(async move { orders.place(&user(i), place(&sku, 1, &format!("k{i}"))).await }));
    }
    let (mut ok, mut short, mut other) = (0, 0, Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            Ok((o, true)) => {
                assert_eq!(o.status, OrderStatus::Placed);
                ok += 1
            }
            Err(OrderError::Short(lines)) => {
                assert!(lines[0].available < 1);
                short += 1
            }
            r => other.push(format!("{r:?}")),
        }
    }
    assert!(other.is_empty(), "unexpected outcomes: {other:?}");
    assert_eq!((ok, short), (50, 150), "exactly 50 orders succeed");
    let left = s.inventory.stock_levels(&[sku.clone()]).await.unwrap()[&sku];
    assert_eq!(left, 0, "stock ends at 0, never below");
    // and no stale pending order is left behind
    assert_eq!(orders.repair_stale(chrono::Duration::zero()).await.unwrap(), 0);
}

async fn replay_short_cancel_and_repair(catalog: Arc<dyn CatalogStore>, s: Shop) {
    let p = hot_product(5);
    let sku = p.variants[0].sku.clone();
    catalog.upsert_products(&[p]).await.unwrap();
    let stock = |s: &Shop| {
        let inv = s.inventory.clone();
        let sku = sku.clone();
        async move { inv.stock_levels(&[sku.clone()]).await.unwrap()[&sku] }
    };
    let (first, created) = s.orders.place(&user(1), place(&sku, 2, "same")).await.unwrap();
    assert!(created);
    let (again, created) = s.orders.place(&user(1), place(&sku, 2, "same")).await.unwrap();
    assert!(!created);
    assert_eq!(first.id, again.id, "a replay returns the same order");
    assert_eq!(stock(&s).await, 3, "and places nothing new");
    assert!(matches!(s.orders.place(&user(1), place(&sku, 1, "same")).await, Err(OrderError::KeyMismatch)));

    match s.orders.place(&user(2), place(&sku, 4, "big")).await {
        Err(OrderError::Short(lines)) => assert_eq!((lines[0].requested, lines[0].available), (4, 3)),
        r => panic!("{r:?}"),
    }
    assert_eq!(stock(&s).await, 3, "a refused order holds nothing");

    let (mine, n) = s.orders.list(&user(1), 1, 10).await.unwrap();
    assert_eq!((n, mine[0].id.as_str()), (1, first.id.as_str()));
    assert_eq!(s.orders.list(&user(2), 1, 10).await.unwrap().1, 0, "a refused order is not listed");
    let cancelled = s.orders.transition(&first.id, OrderStatus::Cancelled).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    use vitrina::ports::OrderFilter;
    let by = |f: OrderFilter| {
        let orders = s.orders.clone();
        async move { orders.search(&f, 1, 10).await.unwrap().1 }
    };
    assert_eq!(by(OrderFilter { status: Some(OrderStatus::Cancelled), ..Default::default() }).await, 1);
    assert_eq!(by(OrderFilter { status: Some(OrderStatus::Placed), ..Default::default() }).await, 0);
    assert_eq!(by(OrderFilter { from: Some(Utc::now() - chrono::Duration::hours(1)), to: Some(Utc::now() + chrono::Duration::hours(1)), ..Default::default() }).await, 1);
    assert_eq!(by(OrderFilter { from: Some(Utc::now() + chrono::Duration::hours(1)), ..Default::default() }).await, 0);
    assert_eq!(by(OrderFilter { user_id: Some("u2".into()), ..Default::default() }).await, 0);
    assert_eq!(stock(&s).await, 5, "cancelling returns the stock");
    assert!(matches!(s.orders.transition(&first.id, OrderStatus::Placed).await, Err(OrderError::InvalidTransition { .. })));
    assert!(matches!(s.orders.transition(&first.id, OrderStatus::Cancelled).await, Err(OrderError::InvalidTransition { .. })), "no double restock");
    assert_eq!(stock(&s).await, 5);

    // a placement that died after reserving: repaired, stock comes back exactly once
    s.inventory.reserve("o_crashed", &sku, 2).await.unwrap();
    assert_eq!(s.inventory.reserve("o_crashed", &sku, 2).await.unwrap(), vitrina::ports::Reservation::Reserved, "reserve is idempotent");
    assert_eq!(stock(&s).await, 3);
    s.inventory.release("o_crashed", &sku).await.unwrap();
    s.inventory.release("o_crashed", &sku).await.unwrap();
    assert_eq!(stock(&s).await, 5, "release is idempotent");
}

async fn crashed_order_is_repaired<T: OrderStore + InventoryStore>(catalog: Arc<dyn CatalogStore>, store: Arc<T>, s: Shop) {
    let p = hot_product(4);
    let sku = p.variants[0].sku.clone();
    catalog.upsert_products(&[p]).await.unwrap();
    // what a dying instance leaves: a pending order and a reservation
    let (template, _) = s.orders.place(&user(7), place(&sku, 1, "t")).await.unwrap();
    let mut dead = template.clone();
    dead.id = "o_dead".into();
    dead.status = OrderStatus::Pending;
    dead.idempotency_key = Some("dead".into());
    dead.lines[0].quantity = 2;
    dead.created_at = Utc::now() - chrono::Duration::minutes(5);
    store.insert_order(&dead).await.unwrap();
    store.reserve("o_dead", &sku, 2).await.unwrap();
    assert_eq!(store.stock_levels(&[sku.clone()]).await.unwrap()[&sku], 1);
    assert_eq!(s.orders.repair_stale(chrono::Duration::seconds(60)).await.unwrap(), 1);
    assert_eq!(store.stock_levels(&[sku.clone()]).await.unwrap()[&sku], 3, "the dead order's stock is back");
    assert_eq!(store.order_by_id("o_dead").await.unwrap(), None);
    assert_eq!(s.orders.repair_stale(chrono::Duration::seconds(60)).await.unwrap(), 0);
}



#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_200_concurrent_orders_for_50_units() {
    let (s, _d) = common::sqlite_store();
    two_hundred_buyers_fifty_units(s.clone(), shop(s)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongodb_200_concurrent_orders_for_50_units() {
    if let Some(s) = common::mongo_store("vitrina_orders").await {
        two_hundred_buyers_fifty_units(s.clone(), shop(s)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_replay_short_cancel_and_release() {
    let (s, _d) = common::sqlite_store();
    replay_short_cancel_and_repair(s.clone(), shop(s)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_replay_short_cancel_and_release() {
    if let Some(s) = common::mongo_store("vitrina_orders").await {
        replay_short_cancel_and_repair(s.clone(), shop(s)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crashed_placement_is_repaired() {
    let (s, _d) = common::sqlite_store();
    crashed_order_is_repaired(s.clone(), s.clone(), shop(s)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_crashed_placement_is_repaired() {
    if let Some(s) = common::mongo_store("vitrina_orders").await {
        crashed_order_is_repaired(s.clone(), s.clone(), shop(s)).await;
    }
}

// ---------------------------------------------------------------- over HTTP

use common::PASSWORD;



async fn in_stock_sku(app: &TestApp) -> (String, i64, i64) {
    let (_, list) = app.json("/api/v1/products?category=clothing&in_stock=true&per_page=1&sort=price_asc").await;
    let (_, p) = app.json(&format!("/api/v1/products/{}", list["items"][0]["slug"].as_str().unwrap())).await;
    let v = p["variants"].as_array().unwrap().iter().find(|v| (3..=90).contains(&v["available"].as_i64().unwrap())).expect("a variant with some stock").clone();
    (v["sku"].as_str().unwrap().to_string(), v["price"]["amount"].as_i64().unwrap(), v["available"].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_api_prices_from_the_catalog_and_refuses_bad_quantities() {
    let app = spawn_app(60).await;
    let a = app.token_for("a@example.com", Role::Customer).await;
    let (sku, price, available) = in_stock_sku(&app).await;
    // a price sent by the client is ignored
    let (status, cart) = call(&app, reqwest::Method::POST, "/api/v1/cart/items", &a, Some(json!({"sku": sku, "quantity": 2, "price": {"amount": 1, "currency": "RON"}, "unit_price": 1})), None).await;
    assert_eq!(status, 200, "{cart}");
    assert_eq!(cart["lines"][0]["unit_price"]["amount"], price);
    assert_eq!(cart["lines"][0]["line_total"]["amount"], price * 2);
    assert_eq!(cart["subtotal"]["amount"], price * 2);
    for q in [0, 100, -1] {
        let (status, body) = call(&app, reqwest::Method::POST, "/api/v1/cart/items", &a, Some(json!({"sku": sku, "quantity": q})), None).await;
        assert_eq!(status, 422, "quantity {q}");
        assert_eq!(body["errors"][0]["field"], "quantity");
    }
    let (status, _) = call(&app, reqwest::Method::POST, "/api/v1/cart/items", &a, Some(json!({"sku": "NO-SUCH-SKU", "quantity": 1})), None).await;
    assert_eq!(status, 404);
    let (status, body) = call(&app, reqwest::Method::PATCH, &format!("/api/v1/cart/items/{sku}"), &a, Some(json!({"quantity": available + 1})), None).await;
    assert_eq!(status, 409);
    assert_eq!(body["available"], available);
    let (status, cart) = call(&app, reqwest::Method::PATCH, &format!("/api/v1/cart/items/{sku}"), &a, Some(json!({"quantity": 1})), None).await;
    assert_eq!((status, cart["item_count"].as_i64()), (200, Some(1)));
    // another user's cart is separate
    let b = app.token_for("b@example.com", Role::Customer).await;
    let (_, other) = call(&app, reqwest::Method::GET, "/api/v1/cart", &b, None, None).await;
    assert_eq!(other["item_count"], 0);
    let (status, _) = call(&app, reqwest::Method::DELETE, &format!("/api/v1/cart/items/{sku}"), &b, None, None).await;
    assert_eq!(status, 404, "B cannot remove A's line");
    let (status, cart) = call(&app, reqwest::Method::DELETE, &format!("/api/v1/cart/items/{sku}"), &a, None, None).await;
    assert_eq!((status, cart["item_count"].as_i64()), (200, Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_over_http_replay_access_and_totals() {
    let app = spawn_app(60).await;
    let a = app.token_for("a@example.com", Role::Customer).await;
    let b = app.token_for("b@example.com", Role::Customer).await;
    let (sku, price, available) = in_stock_sku(&app).await;
    call(&app, reqwest::Method::POST, "/api/v1/cart/items", &a, Some(json!({"sku": sku, "quantity": 2})), None).await;
    let body = json!({"shipping_address": {"name": "Ana", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"}, "total": 1});

    let (status, problem) = call(&app, reqwest::Method::POST, "/api/v1/orders", &a, Some(body.clone()), None).await;
    assert_eq!(status, 400, "the Idempotency-Key header is required");
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    let mut bad = body.clone();
    bad["shipping_address"]["country"] = json!("ZZ");
    bad["shipping_address"]["phone"] = json!("x");
    let (status, problem) = call(&app, reqwest::Method::POST, "/api/v1/orders", &a, Some(bad), Some("bad-1")).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["country", "phone"]);

    let (status, order) = call(&app, reqwest::Method::POST, "/api/v1/orders", &a, Some(body.clone()), Some("order-1")).await;
    assert_eq!(status, 201, "{order}");
    assert!(order["number"].as_str().unwrap().starts_with("VT-"));
    assert_eq!(order["subtotal"]["amount"], price * 2, "prices from the catalog, not the client's total");
    let expected = ShopRules::default().pricing.totals(&[(price * 2, 21)], ShippingMethod::Standard);
    assert_eq!(order["shipping"]["amount"], expected.shipping);
    assert_eq!(order["vat"]["amount"], expected.vat);
    assert_eq!(order["total"]["amount"], expected.total);
    assert_eq!(order["status"], "placed");
    let id = order["id"].as_str().unwrap().to_string();

    // the same key and body: the same order, nothing new
    let (status, replay) = call(&app, reqwest::Method::POST, "/api/v1/orders", &a, Some(body.clone()), Some("order-1")).await;
    assert_eq!(status, 200);
    assert_eq!(replay["id"], id.as_str());
    let (_, p) = app.json(&format!("/api/v1/products/{}", order["lines"][0]["slug"].as_str().unwrap())).await;
    let now = p["variants"].as_array().unwrap().iter().find(|v| v["sku"] == sku.as_str()).unwrap()["available"].as_i64().unwrap();
    assert_eq!(now, available - 2, "stock taken once");
    let mut changed = body.clone();
    changed["shipping_method"] = json!("express");
    let (status, _) = call(&app, reqwest::Method::POST, "/api/v1/orders", &a, Some(changed), Some("order-1")).await;
    assert_eq!(status, 422, "the same key with a different body");
    let (_, cart) = call(&app, reqwest::Method::GET, "/api/v1/cart", &a, None, None).await;
    assert_eq!(cart["item_count"], 0, "the cart was ordered");

    // owner sees it; user B gets 404
    let (status, mine) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &a, None, None).await;
    assert_eq!((status, mine["id"].as_str()), (200, Some(id.as_str())));
    let (status, _) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &b, None, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, reqwest::Method::POST, &format!("/api/v1/orders/{id}/cancel"), &b, None, None).await;
    assert_eq!(status, 404, "B cannot cancel A's order");
    let (_, list) = call(&app, reqwest::Method::GET, "/api/v1/orders", &a, None, None).await;
    assert_eq!(list["total"], 1);
    let (_, none) = call(&app, reqwest::Method::GET, "/api/v1/orders", &b, None, None).await;
    assert_eq!(none["total"], 0);
    let admin = app.token_for("admin@example.com", Role::Admin).await;
    let (status, _) = call(&app, reqwest::Method::GET, &format!("/api/v1/orders/{id}"), &admin, None, None).await;
    assert_eq!(status, 200, "an admin may read any order");
    let (status, listed) = call(&app, reqwest::Method::GET, "/api/v1/admin/orders?email=A@example.com&status=placed", &admin, None, None).await;
    assert_eq!((status, listed["total"].as_u64()), (200, Some(1)));
    let (_, none) = call(&app, reqwest::Method::GET, "/api/v1/admin/orders?to=2000-01-01", &admin, None, None).await;
    assert_eq!(none["total"], 0);
    let (status, _) = call(&app, reqwest::Method::GET, "/api/v1/admin/orders?from=yesterday", &admin, None, None).await;
    assert_eq!(status, 400);
    let (status, shipped) = call(&app, reqwest::Method::POST, &format!("/api/v1/admin/orders/{id}/status"), &admin, Some(json!({"status": "confirmed"})), None).await;
    assert_eq!((status, shipped["status"].as_str()), (200, Some("confirmed")));
    let (status, _) = call(&app, reqwest::Method::POST, &format!("/api/v1/admin/orders/{id}/status"), &admin, Some(json!({"status": "delivered"})), None).await;
    assert_eq!(status, 409, "no skipping states");
    let (status, cancelled) = call(&app, reqwest::Method::POST, &format!("/api/v1/orders/{id}/cancel"), &a, None, None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")));
    assert_eq!(cancelled["history"].as_array().unwrap().len(), 3);

    // partners send items; shoppers may not
    let partner = app.token_for("p@example.com", Role::Partner).await;
    let mut with_items = body.clone();
    with_items["items"] = json!([{"sku": sku, "quantity": available + 1}]);
    let (status, short) = call(&app, reqwest::Method::POST, "/api/v1/orders", &partner, Some(with_items.clone()), Some("p-1")).await;
    assert_eq!(status, 409);
    assert_eq!(short["short"][0]["sku"], sku.as_str());
    assert_eq!(short["short"][0]["available"], available);
    let (status, _) = call(&app, reqwest::Method::POST, "/api/v1/orders", &a, Some(with_items), Some("a-2")).await;
    assert_eq!(status, 422);
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).find(|c| c.starts_with("vitrina_session=")).map(|c| c.split(';').next().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cart_is_kept_at_sign_in() {
    let app = spawn_app(60).await;
    app.state.accounts.register("g@example.com", PASSWORD, "Guest", Role::Customer).await.unwrap();
    let (sku, _, _) = in_stock_sku(&app).await;
    let res = browser().post(format!("{}/cart/add", app.base)).form(&[("sku", sku.as_str()), ("quantity", "2"), ("back", "/cart")]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let cookie = session_cookie(&res).expect("a guest session");
    let cart = browser().get(format!("{}/cart", app.base)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(cart.contains(&format!("data-sku=\"{sku}\"")), "the guest sees the line");
    let res = browser().post(format!("{}/login", app.base)).header("cookie", &cookie).form(&[("email", "g@example.com"), ("password", PASSWORD), ("next", "/cart")]).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let cookie = session_cookie(&res).unwrap_or(cookie);
    let res = browser().get(format!("{}/api/v1/cart", app.base)).header("cookie", &cookie).send().await.unwrap();
    let cart: Value = res.json().await.unwrap();
    assert_eq!(cart["lines"][0]["sku"], sku.as_str());
    assert_eq!(cart["lines"][0]["quantity"], 2);
}

