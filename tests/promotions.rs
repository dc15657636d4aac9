//! Discounts: codes and automatic promotions. Redemption races run on both
//! stores through the order service; the cart, the API contract and the
//! listing's sale price over HTTP.
mod common;
use common::call_full as call;

use std::sync::Arc;

use chrono::Utc;
use common::spawn_app;
use serde_json::json;
use vitrina::domain::order::{CartLine, OrderStatus, PricingRules, ShippingMethod};
use vitrina::domain::product::Product;
use vitrina::domain::promotion::{AppliesTo, PromoKind, PromotionInput, Refusal};
use vitrina::domain::user::{Role, User};
use vitrina::ports::{CartStore, CatalogStore, InventoryStore, OrderStore, PromotionStore};
use vitrina::services::audit::Actor;
use vitrina::services::orders::{CartService, OrderError, OrderService, PlaceOrder, ShopRules};
use vitrina::services::promotions::Promotions;


fn buyer(i: usize) -> User {
    User { id: format!("u{i}"), email: format!("u{i}@example.com"), name: "U".into(), password_hash: String::new(), role: Role::Partner, disabled: false, created_at: Utc::now(), sessions_valid_from: None, lang: None }
}

fn product(stock: i64) -> Product {
    let mut p = vitrina::services::demo::demo_product(1);
    p.variants.truncate(1);
    p.variants[0].stock = stock;
    p
}

fn order(sku: &str, key: &str, coupon: Option<&str>) -> PlaceOrder {
    PlaceOrder {
        shipping_address: common::address(),
        shipping_method: ShippingMethod::Standard,
        items: Some(vec![CartLine { sku: sku.into(), quantity: 1 }]),
        idempotency_key: key.into(),
        payment_method: Default::default(),
        coupon: coupon.map(String::from),
        billing: None,
    }
}

fn code(code: &str, usage_limit: Option<i64>, per_customer_limit: Option<i64>) -> PromotionInput {
    PromotionInput {
        name: format!("Promo {code}"),
        code: Some(code.into()),
        kind: PromoKind::Percent,
        value: 20,
        applies_to: AppliesTo::default(),
        min_subtotal_cents: 0,
        starts_at: None,
        ends_at: None,
        usage_limit,
        per_customer_limit,
        active: true,
    }
}

struct Shop {
    orders: Arc<OrderService>,
    carts: CartService,
    promotions: Promotions,
    sku: String,
}

async fn shop<T: CatalogStore + InventoryStore + OrderStore + CartStore + PromotionStore + 'static>(store: Arc<T>, stock: i64) -> Shop {
    let p = product(stock);
    let sku = p.variants[0].sku.clone();
    store.upsert_products(&[p]).await.unwrap();
    let promotions = Promotions::new(store.clone(), PricingRules::default());
    let carts = CartService::new(store.clone(), store.clone(), store.clone(), ShopRules::default()).with_promotions(promotions.clone());
    Shop { orders: Arc::new(OrderService::new(store.clone(), store.clone(), store, carts.clone())), carts, promotions, sku }
}

/// 300 buyers, a code for 100: exactly 100 orders carry it; the others are
/// refused (409, used up) and hold nothing.
async fn three_hundred_for_one_hundred(s: Shop) {
    s.promotions.create(code("BF100", Some(100), None), &Actor::system()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let (orders, sku) = (s.orders.clone(), s.sku.clone());
        tasks.push(tokio::spawn(async move { orders.place(&buyer(i), order(&sku, &format!("k{i}"), Some("bf100"))).await }));
    }
    let (mut discounted, mut refused, mut other) = (0, 0, Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            Ok((o, true)) => {
                assert_eq!(o.coupon.as_deref(), Some("BF100"));
                assert!(o.discount_cents > 0);
                assert_eq!(o.total.amount, o.subtotal.amount + o.shipping.amount - o.discount_cents);
                discounted += 1;
            }
            Err(OrderError::Coupon { refusal: Refusal::UsedUp, field: "coupon" }) => refused += 1,
            r => other.push(format!("{r:?}")),
        }
    }
    assert!(other.is_empty(), "unexpected outcomes: {other:?}");
    assert_eq!((discounted, refused), (100, 200), "exactly 100 orders get the code");
    let report = &s.promotions.reports().await.unwrap()[0];
    assert_eq!(report.redemptions, 100);
    // the refused orders left nothing behind: no stock held, no pending order
    assert_eq!(s.orders.repair_stale(chrono::Duration::zero()).await.unwrap(), 0);
}

/// One buyer, a code for one use each, five orders at once: one gets it.
async fn five_at_once_for_one_use(s: Shop) {
    s.promotions.create(code("ONCE", None, Some(1)), &Actor::system()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..5 {
        let (orders, sku) = (s.orders.clone(), s.sku.clone());
        tasks.push(tokio::spawn(async move { orders.place(&buyer(7), order(&sku, &format!("m{i}"), Some("once"))).await }));
    }
    let mut with_code = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok((o, _)) => {
                assert_eq!(o.coupon.as_deref(), Some("ONCE"));
                with_code += 1;
            }
            Err(OrderError::Coupon { refusal: Refusal::UsedUpByYou, .. }) => {}
            r => panic!("unexpected: {r:?}"),
        }
    }
    assert_eq!(with_code, 1, "at most one order gets a once-per-customer code");
    // another customer still can
    assert!(s.orders.place(&buyer(8), order(&s.sku, "other", Some("ONCE"))).await.is_ok());
}

/// Once per customer is once per person: an account and guest checkouts
/// under the same e-mail (another case, a `+tag`) racing for a one-use-each
/// code: one of them gets it.
async fn once_per_person_across_accounts_and_guests(s: Shop) {
    s.promotions.create(code("PERSON", None, Some(1)), &Actor::system()).await.unwrap();
    let mut account = buyer(9);
    account.email = "Ana.Pop@example.ro".into();
    let mut tasks: Vec<tokio::task::JoinHandle<Result<(vitrina::domain::order::Order, bool), OrderError>>> = Vec::new();
    for (i, email) in ["ana.pop@example.ro", "ANA.POP+deal@example.ro", "ana.pop+x@Example.RO"].into_iter().enumerate() {
        let cart = format!("guest{i}");
        s.carts.add(&format!("g:{cart}"), &s.sku, 1).await.unwrap();
        s.carts.apply_coupon(&format!("g:{cart}"), "person").await.unwrap();
        let orders = s.orders.clone();
        let mut req = order(&s.sku, &format!("g{i}"), None);
        req.items = None;
        tasks.push(tokio::spawn(async move { orders.place_as_guest(&cart, email, req).await }));
    }
    let (orders, sku) = (s.orders.clone(), s.sku.clone());
    tasks.push(tokio::spawn(async move { orders.place(&account, order(&sku, "acct", Some("PERSON"))).await }));
    let mut with_code = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok((o, _)) => {
                assert_eq!(o.coupon.as_deref(), Some("PERSON"));
                with_code += 1;
            }
            Err(OrderError::Coupon { refusal: Refusal::UsedUpByYou, .. }) => {}
            r => panic!("unexpected: {r:?}"),
        }
    }
    assert_eq!(with_code, 1, "one person, one use, however they order");
    // another person still can
    s.carts.add("g:other", &s.sku, 1).await.unwrap();
    let mut req = order(&s.sku, "other", Some("PERSON"));
    req.items = None;
    assert!(s.orders.place_as_guest("other", "ioana@example.ro", req).await.is_ok());
}

/// Cancelling gives the use back; a later edit of the promotion leaves the order's discount as it was.
async fn cancel_gives_the_use_back(s: Shop) {
    let promo = s.promotions.create(code("SOLO", Some(1), None), &Actor::system()).await.unwrap();
    let (first, _) = s.orders.place(&buyer(1), order(&s.sku, "a", Some("SOLO"))).await.unwrap();
    let discount = first.discount_cents;
    assert!(matches!(s.orders.place(&buyer(2), order(&s.sku, "b", Some("SOLO"))).await, Err(OrderError::Coupon { refusal: Refusal::UsedUp, .. })));
    let mut bigger = promo.input();
    bigger.value = 50;
    s.promotions.update(&promo.id, bigger, &Actor::system()).await.unwrap();
    s.orders.transition(&first.id, OrderStatus::Cancelled).await.unwrap();
    let (second, _) = s.orders.place(&buyer(2), order(&s.sku, "c", Some("SOLO"))).await.expect("the use came back");
    assert!(second.discount_cents > discount, "the new order gets today's promotion");
    let stored = s.orders.search(&Default::default(), 1, 10).await.unwrap().0.into_iter().find(|o| o.id == first.id).unwrap();
    assert_eq!(stored.discount_cents, discount, "the cancelled order keeps the discount it got");
    assert_eq!(stored.discounts[0].value, 20);
    // unknown and expired codes say so
    assert!(matches!(s.orders.place(&buyer(3), order(&s.sku, "d", Some("NOPE"))).await, Err(OrderError::Coupon { refusal: Refusal::Unknown, .. })));
    let mut old = code("OLD", None, None);
    old.starts_at = Some(Utc::now() - chrono::Duration::days(2));
    old.ends_at = Some(Utc::now() - chrono::Duration::days(1));
    s.promotions.create(old, &Actor::system()).await.unwrap();
    assert!(matches!(s.orders.place(&buyer(3), order(&s.sku, "e", Some("old"))).await, Err(OrderError::Coupon { refusal: Refusal::Expired, .. })));
}



#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_300_orders_for_a_100_use_code() {
    let (s, _d) = common::sqlite_store();
    three_hundred_for_one_hundred(shop(s, 1000).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongodb_300_orders_for_a_100_use_code() {
    if let Some(s) = common::mongo_store("vitrina_promos").await {
        three_hundred_for_one_hundred(shop(s, 1000).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_one_customer_five_parallel_orders() {
    let (s, _d) = common::sqlite_store();
    five_at_once_for_one_use(shop(s, 100).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongodb_one_customer_five_parallel_orders() {
    if let Some(s) = common::mongo_store("vitrina_promos").await {
        five_at_once_for_one_use(shop(s, 100).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_once_per_person_across_accounts_and_guests() {
    let (s, _d) = common::sqlite_store();
    once_per_person_across_accounts_and_guests(shop(s, 100).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mongodb_once_per_person_across_accounts_and_guests() {
    if let Some(s) = common::mongo_store("vitrina_promos").await {
        once_per_person_across_accounts_and_guests(shop(s, 100).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cancelling_gives_the_use_back() {
    let (s, _d) = common::sqlite_store();
    cancel_gives_the_use_back(shop(s, 100).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_cancelling_gives_the_use_back() {
    if let Some(s) = common::mongo_store("vitrina_promos").await {
        cancel_gives_the_use_back(shop(s, 100).await).await;
    }
}

// ---------------------------------------------------------------- over HTTP




#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_in_the_cart_and_orders_over_http() {
    use reqwest::Method;
    let app = spawn_app(60).await;
    let admin = app.token_for("boss@example.com", Role::Admin).await;
    let ana = app.token_for("ana@example.com", Role::Customer).await;
    // the contract: created 201 with an id, listed with redemptions
    let body = json!({"name": "Black Friday", "code": "bf26", "kind": "percent", "value": 10, "applies_to": {"scope": "order", "ids": []},
        "min_subtotal_cents": 5000, "starts_at": null, "ends_at": null, "usage_limit": 100, "per_customer_limit": 1, "active": true});
    let (status, created, _) = call(&app, Method::POST, "/api/v1/admin/promotions", &admin, Some(body.clone()), None).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["code"], "BF26", "codes are case-insensitive: kept upper-case");
    assert!(created["id"].as_str().is_some_and(|i| !i.is_empty()));
    let (status, problem, kind) = call(&app, Method::POST, "/api/v1/admin/promotions", &admin, Some(body.clone()), None).await;
    assert_eq!((status, kind.as_str()), (409, "application/problem+json"), "{problem}");
    let mut bad = body.clone();
    bad["value"] = json!(150);
    bad["code"] = json!("other");
    let (status, problem, _) = call(&app, Method::POST, "/api/v1/admin/promotions", &admin, Some(bad), None).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "value");
    let (status, _, _) = call(&app, Method::GET, "/api/v1/admin/promotions", &ana, None, None).await;
    assert_eq!(status, 403, "admins only");

    // a cart below the minimum: refused with the reason, by field
    let (_, list) = app.json("/api/v1/products?in_stock=true&per_page=50&sort=price_asc").await;
    let item = list["items"].as_array().unwrap().iter().find(|i| i["single_sku"].is_string()).expect("a single-variant product").clone();
    let (sku, price) = (item["single_sku"].as_str().unwrap().to_string(), item["price"]["amount"].as_i64().unwrap());
    let qty = (5000 / price + 1).min(99);
    call(&app, Method::POST, "/api/v1/cart/items", &ana, Some(json!({"sku": sku, "quantity": 1})), None).await;
    let (status, problem, kind) = call(&app, Method::POST, "/api/v1/cart/coupon", &ana, Some(json!({"code": "nope"})), None).await;
    assert_eq!((status, kind.as_str()), (422, "application/problem+json"));
    assert_eq!(problem["errors"][0]["field"], "code");
    if price < 5000 {
        let (status, problem, _) = call(&app, Method::POST, "/api/v1/cart/coupon", &ana, Some(json!({"code": "BF26"})), None).await;
        assert_eq!(status, 422);
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("at least"), "{problem}");
    }
    call(&app, Method::PATCH, &format!("/api/v1/cart/items/{sku}"), &ana, Some(json!({"quantity": qty})), None).await;
    let (status, cart, _) = call(&app, Method::POST, "/api/v1/cart/coupon", &ana, Some(json!({"code": " Bf26 "})), None).await;
    assert_eq!(status, 200, "{cart}");
    assert_eq!(cart["coupon"], "BF26");
    let subtotal = price * qty;
    let off = (subtotal * 10 * 2 + 100) / 200;
    assert_eq!(cart["discount"]["amount"], off);
    assert_eq!(cart["lines"][0]["discount_cents"], off);
    assert_eq!(cart["total"]["amount"], subtotal - off);
    let (_, again, _) = call(&app, Method::GET, "/api/v1/cart", &ana, None, None).await;
    assert_eq!(again["discounts"][0]["code"], "BF26");

    // the order carries the discount and the code; VAT on the discounted total
    let address = json!({"name": "Ana", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"});
    let (status, placed, _) = call(&app, Method::POST, "/api/v1/orders", &ana, Some(json!({"shipping_address": address})), Some("with-code")).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["coupon"], "BF26");
    assert_eq!(placed["discount_cents"], off);
    let total = placed["total"]["amount"].as_i64().unwrap();
    assert_eq!(total, subtotal + placed["shipping"]["amount"].as_i64().unwrap() - off);
    assert_eq!(placed["vat"]["amount"], (total * 21 * 2 + 121) / 242);
    // once per customer: the same code again is refused with 409 (used up for this customer)
    call(&app, Method::POST, "/api/v1/cart/items", &ana, Some(json!({"sku": sku, "quantity": qty})), None).await;
    let (status, problem, kind) = call(&app, Method::POST, "/api/v1/orders", &ana, Some(json!({"shipping_address": address, "coupon": "bf26"})), Some("again")).await;
    assert_eq!((status, kind.as_str()), (409, "application/problem+json"), "{problem}");
    assert_eq!(problem["errors"][0]["field"], "coupon");
    let (_, report, _) = call(&app, Method::GET, &format!("/api/v1/admin/promotions/{}", created["id"].as_str().unwrap()), &admin, None, None).await;
    assert_eq!((report["redemptions"].as_i64(), report["revenue_cents"].as_i64()), (Some(1), Some(total)));
    let (status, cart, _) = call(&app, Method::DELETE, "/api/v1/cart/coupon", &ana, None, None).await;
    assert_eq!((status, cart["coupon"].is_null()), (200, true));

    // an automatic promotion shows on the listing and the product page, from the same engine
    let category = item["category"].as_str().unwrap().split('/').next().unwrap().to_string();
    let auto = json!({"name": "Category week", "kind": "percent", "value": 25, "applies_to": {"scope": "categories", "ids": [category]}, "active": true});
    let (status, _, _) = call(&app, Method::POST, "/api/v1/admin/promotions", &admin, Some(auto), None).await;
    assert_eq!(status, 201);
    let (_, listed) = app.json(&format!("/api/v1/products?category={category}&per_page=50")).await;
    let card = listed["items"].as_array().unwrap().iter().find(|i| i["id"] == item["id"]).expect("the product is listed").clone();
    let sale = card["sale_price"]["amount"].as_i64().expect("a sale price");
    assert_eq!(sale, price - (price * 25 * 2 + 100) / 200);
    let (_, page) = app.json(&format!("/api/v1/products/{}", item["slug"].as_str().unwrap())).await;
    assert_eq!(page["variants"][0]["sale_price"]["amount"], sale);
    let html = app.get(&format!("/p/{}", item["slug"].as_str().unwrap())).await.text().await.unwrap();
    assert!(html.contains("sale-price"), "the product page shows the reduced price");
    let (_, cart, _) = call(&app, Method::GET, "/api/v1/cart", &ana, None, None).await;
    let line = cart["lines"][0]["line_total"]["amount"].as_i64().unwrap();
    assert_eq!(cart["lines"][0]["discount_cents"].as_i64().unwrap(), (line * 25 * 2 + 100) / 200, "the cart applies the promotion the card shows");
    assert!(cart["coupon"].is_null());
}
