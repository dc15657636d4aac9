//! Recommendations over HTTP: "bought together" from real orders after a
//! rebuild, the rules every list keeps, the fallbacks, the admin's pins and
//! exclusions, trending, and the storefront's sections without JavaScript.
mod common;

use chrono::Utc;
use common::{eventually, spawn_app, TestApp};
use serde_json::{json, Value};
use vitrina::domain::order::OrderStatus;
use vitrina::domain::product::{Product, ProductStatus};
use vitrina::domain::user::Role;
use vitrina::services::demo::{seed_history, HistoryOrder};



async fn catalog(app: &TestApp) -> Vec<Product> {
    app.backends.catalog.products_after(None, 1000).await.unwrap()
}

/// Active, in-stock products of a category other than `not`.
fn pick<'a>(products: &'a [Product], n: usize, category_not: Option<&str>) -> Vec<&'a Product> {
    products.iter().filter(|p| p.status == ProductStatus::Active && p.in_stock() && Some(p.category.as_str()) != category_not).take(n).collect()
}

/// Stores orders, each buying the products at these positions of `products`.
async fn orders(app: &TestApp, products: &[Product], baskets: &[(&[usize], OrderStatus)]) {
    orders_of(app, products, 0, baskets).await
}

/// The same, the customers numbered from `first` (orders of a second call stay apart).
async fn orders_of(app: &TestApp, products: &[Product], first: u64, baskets: &[(&[usize], OrderStatus)]) {
    let history: Vec<HistoryOrder> =
        baskets.iter().enumerate().map(|(n, (items, status))| HistoryOrder { customer: first + n as u64, at: Utc::now(), items: items.to_vec(), status: *status }).collect();
    seed_history(&app.backends.orders, products, &history, &app.state.config.rules.pricing).await.unwrap();
}

fn position(products: &[Product], p: &Product) -> usize {
    products.iter().position(|x| x.id == p.id).unwrap()
}

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

async fn recs(app: &TestApp, slug: &str, query: &str) -> Value {
    let (status, body) = app.json(&format!("/api/v1/products/{slug}/recommendations{query}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bought_together_after_a_rebuild_and_the_rules_of_every_list() {
    let app = spawn_app(120).await;
    let products = catalog(&app).await;
    let chosen = pick(&products, 3, None);
    let (a, b, c) = (chosen[0].clone(), chosen[1].clone(), chosen[2].clone());
    let (pa, pb, pc) = (position(&products, &a), position(&products, &b), position(&products, &c));
    // A with B three times; A with C once (not enough); a cancelled A + C does not count
    orders(
        &app,
        &products,
        &[(&[pa, pb], OrderStatus::Delivered), (&[pb, pa], OrderStatus::Shipped), (&[pa, pb], OrderStatus::Placed), (&[pa, pc], OrderStatus::Delivered), (&[pa, pc], OrderStatus::Cancelled)],
    )
    .await;
    // before the job runs, A has no complements: the next strategy answers and says so
    let before = recs(&app, &a.slug, "?intent=complementary").await;
    assert_eq!(before["strategy"], "related", "{before}");

    let report = app.state.recommend.rebuild().await.unwrap();
    assert_eq!(report.stats.orders, 4, "the cancelled order does not count");
    let after = recs(&app, &a.slug, "?intent=complementary").await;
    assert_eq!(after["strategy"], "complementary", "{after}");
    let list = ids(&after);
    assert!(list.iter().take(3).any(|id| *id == b.id), "B among the first three: {list:?}");
    assert!(!list.contains(&c.id), "one order together is not a recommendation");
    assert!(!list.contains(&a.id), "never the product itself");
    // and the other way round
    assert!(ids(&recs(&app, &b.slug, "?intent=complementary").await).contains(&a.id));
    // items are listing summaries
    assert_eq!(after["items"][0]["slug"], b.slug);
    assert!(after["items"][0]["price"]["amount"].as_i64().unwrap() > 0);

    // an archived product is never recommended: B goes, and A falls back
    let mut archived = b.clone();
    archived.status = ProductStatus::Archived;
    app.backends.catalog.upsert_products(&[archived]).await.unwrap();
    app.state.catalog.invalidate().await;
    for intent in ["complementary", "related"] {
        let body = recs(&app, &a.slug, &format!("?intent={intent}&limit=20")).await;
        assert!(!ids(&body).contains(&b.id), "{intent}: {body}");
        assert!(!ids(&body).contains(&a.id));
        let unique: std::collections::BTreeSet<_> = ids(&body).into_iter().collect();
        assert_eq!(unique.len(), ids(&body).len(), "no duplicates");
    }
    let (status, _) = app.json(&format!("/api/v1/products/{}/recommendations", b.slug)).await;
    assert_eq!(status, 404, "an archived product has no page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_nobody_bought_gets_similar_products_from_its_category() {
    let app = spawn_app(150).await;
    let products = catalog(&app).await;
    let x = pick(&products, 1, None)[0].clone();
    let body = recs(&app, &x.slug, "?intent=complementary&limit=5").await;
    assert_eq!(body["strategy"], "related");
    let list = body["items"].as_array().unwrap();
    assert!(!list.is_empty() && list.len() <= 5, "{body}");
    let top = x.category.split('/').next().unwrap();
    assert_eq!(list[0]["category"], x.category, "the same category first: {body}");
    assert!(list.iter().all(|i| i["category"].as_str().unwrap().starts_with(top)), "{body}");
    assert!(!ids(&body).contains(&x.id));
    // sold-out products come after those in stock
    let stock: Vec<bool> = list.iter().map(|i| i["in_stock"].as_bool().unwrap()).collect();
    assert!(stock.windows(2).all(|w| w[0] || !w[1]), "{stock:?}");
    let related = recs(&app, &x.slug, "?intent=related").await;
    assert_eq!(related["strategy"], "related");
    assert!(related["items"].as_array().unwrap().len() <= 8, "the default limit is 8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_problems_naming_the_parameter() {
    let app = spawn_app(30).await;
    let slug = catalog(&app).await[0].slug.clone();
    for (query, field) in [("?limit=0", "limit"), ("?limit=21", "limit"), ("?limit=x", "limit"), ("?intent=trending", "intent")] {
        let res = app.get(&format!("/api/v1/products/{slug}/recommendations{query}")).await;
        assert_eq!(res.status().as_u16(), 400, "{query}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    let res = app.get("/api/v1/recommendations/trending?limit=99").await;
    assert_eq!(res.status().as_u16(), 400);
    let (status, body) = app.json("/api/v1/products/no-such-product/recommendations").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cart_is_left_out_and_admins_pin_and_exclude() {
    let app = spawn_app(120).await;
    let products = catalog(&app).await;
    let chosen = pick(&products, 4, None);
    let (a, b, c, d) = (chosen[0].clone(), chosen[1].clone(), chosen[2].clone(), chosen[3].clone());
    let (pa, pb, pc) = (position(&products, &a), position(&products, &b), position(&products, &c));
    orders(&app, &products, &[(&[pa, pb, pc], OrderStatus::Delivered), (&[pa, pb, pc], OrderStatus::Delivered), (&[pa, pb], OrderStatus::Delivered)]).await;
    app.state.recommend.rebuild().await.unwrap();

    // a shopper with B in the cart is not offered B
    let shopper = app.token_for("shopper@example.ro", Role::Customer).await;
    let sku = b.variants.iter().find(|v| v.stock > 0).unwrap().sku.clone();
    let res = app.client.post(format!("{}/api/v1/cart/items", app.base)).bearer_auth(&shopper).json(&json!({"sku": sku, "quantity": 1})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let url = format!("{}/api/v1/products/{}/recommendations", app.base, a.slug);
    let anonymous: Value = app.client.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(ids(&anonymous).contains(&b.id));
    let theirs: Value = app.client.get(&url).bearer_auth(&shopper).send().await.unwrap().json().await.unwrap();
    assert!(!ids(&theirs).contains(&b.id), "{theirs}");
    assert!(ids(&theirs).contains(&c.id));

    // an admin pins D first and excludes C everywhere
    let admin = app.token_for("admin@example.ro", Role::Admin).await;
    let settings = format!("{}/api/v1/admin/products/{}/recommendations", app.base, a.id);
    let res = app.client.put(&settings).bearer_auth(&shopper).json(&json!({"pinned": [d.slug]})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403, "admins only");
    let res = app.client.put(&settings).bearer_auth(&admin).json(&json!({"pinned": [d.slug]})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["pinned"], json!([d.id]), "stored by id");
    let res = app.client.put(format!("{}/api/v1/admin/products/{}/recommendations", app.base, c.id)).bearer_auth(&admin).json(&json!({"excluded": true})).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body = recs(&app, &a.slug, "").await;
    assert_eq!(body["strategy"], "complementary");
    assert_eq!(ids(&body)[0], d.id, "pinned first: {body}");
    assert!(!ids(&body).contains(&c.id), "excluded: {body}");
    assert!(!ids(&recs(&app, &b.slug, "?limit=20").await).contains(&c.id));
    let got: Value = app.client.get(&settings).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["pinned"], json!([d.id]));
    // refused pins name the field; nothing changes
    for bad in [json!({"pinned": ["no-such-product"]}), json!({"pinned": [a.slug]}), json!({"pinned": (0..9).map(|_| d.slug.clone()).collect::<Vec<_>>()})] {
        let res = app.client.put(&settings).bearer_auth(&admin).json(&bad).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 422, "{bad}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "pinned", "{problem}");
    }
    assert_eq!(ids(&recs(&app, &a.slug, "").await)[0], d.id);
    // the change is in the audit log
    let (entries, _) = app.state.audit.list(&Default::default(), 1, 10).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "product.recommendations" && e.target == a.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trending_follows_views_and_sales() {
    let app = spawn_app(60).await;
    let products = catalog(&app).await;
    // nothing viewed yet: best sellers answer
    let (status, first) = app.json("/api/v1/recommendations/trending?limit=4").await;
    assert_eq!(status, 200);
    assert_eq!(first["strategy"], "popular", "{first}");
    assert!(first["items"].as_array().unwrap().len() <= 4);
    let quiet = pick(&products, 40, None)[39].clone();
    for _ in 0..5 {
        assert_eq!(app.json(&format!("/api/v1/products/{}", quiet.slug)).await.0, 200);
    }
    let body = eventually(10, || async {
        let (_, body) = app.json("/api/v1/recommendations/trending?limit=4").await;
        (body["strategy"] == "trending" && ids(&body).first() == Some(&quiet.id)).then_some(body)
    })
    .await;
    assert!(body.is_some(), "the viewed product leads trending");
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_the_sections_without_javascript() {
    let app = spawn_app(120).await;
    let products = catalog(&app).await;
    let chosen = pick(&products, 3, None);
    let (a, b, c) = (chosen[0].clone(), chosen[1].clone(), chosen[2].clone());
    let (pa, pb, pc) = (position(&products, &a), position(&products, &b), position(&products, &c));
    orders(&app, &products, &[(&[pa, pb, pc], OrderStatus::Delivered), (&[pa, pb, pc], OrderStatus::Delivered)]).await;
    app.state.recommend.rebuild().await.unwrap();

    // the server-rendered product page (what a browser without JavaScript gets)
    let html = app.get(&format!("/en/p/{}", a.slug)).await.text().await.unwrap();
    let together = html.split("class=\"shelf bought-together\"").nth(1).expect("Frequently bought together");
    assert!(together.contains("Frequently bought together"));
    let together = together.split("</section>").next().unwrap();
    assert!(together.contains(&format!("/p/{}", b.slug)) && together.contains(&format!("/p/{}", c.slug)), "{together}");
    assert!(together.contains("action=\"/en/cart/add-all\""), "one button adds them all");
    let similar = html.split("class=\"shelf similar\"").nth(1).expect("Similar products");
    assert!(similar.contains("Similar products"));
    assert!(!similar.split("</section>").next().unwrap().contains(&format!("/p/{}\"", a.slug)), "never the product itself");
    let ro = app.get(&format!("/p/{}", a.slug)).await.text().await.unwrap();
    assert!(ro.contains("Cumpărate frecvent împreună") && ro.contains("Produse similare"));

    // "add all": both land in the cart; then neither is suggested beside A, and the cart page suggests others
    let shopper = browser();
    let form = html.split("name=\"skus\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let res = shopper.post(format!("{}/cart/add-all", app.base)).form(&[("skus", form.as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let cart = shopper.get(format!("{}/en/cart", app.base)).send().await.unwrap().text().await.unwrap();
    let (lines, recs) = cart.split_once("class=\"shelf cart-recs\"").expect("You may also like");
    assert!(lines.contains(&format!("/en/p/{}", b.slug)) && lines.contains(&format!("/en/p/{}", c.slug)), "both in the cart");
    assert!(recs.contains("You may also like"));
    let recs = recs.split("</section>").next().unwrap();
    assert!(!recs.contains(&format!("/p/{}\"", b.slug)) && !recs.contains(&format!("/p/{}\"", c.slug)), "nothing already in the cart");
    assert!(recs.contains(&format!("/p/{}\"", a.slug)), "what goes with the cart: {recs}");
    let page = shopper.get(format!("{}/en/p/{}", app.base, a.slug)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("class=\"shelf bought-together\""), "both complements are in the cart");

    // the home page shows what is trending
    let home = app.get("/en/").await.text().await.unwrap();
    assert!(home.contains("class=\"shelf trending\"") && home.contains("Trending now"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_precomputed_table_answers_like_the_computation_and_follows_changes() {
    let app = spawn_app(150).await;
    let products = catalog(&app).await;
    let chosen = pick(&products, 3, None);
    let (a, b) = (chosen[0].clone(), chosen[1].clone());
    let (pa, pb) = (position(&products, &a), position(&products, &b));
    orders(&app, &products, &[(&[pa, pb], OrderStatus::Delivered), (&[pa, pb], OrderStatus::Delivered), (&[pa, pb], OrderStatus::Delivered)]).await;
    app.state.recommend.rebuild().await.unwrap();
    let sample: Vec<&Product> = pick(&products, 12, None);
    let mut computed = Vec::new();
    for p in &sample {
        computed.push((recs(&app, &p.slug, "?intent=complementary&limit=12").await, recs(&app, &p.slug, "?intent=related&limit=12").await));
    }

    let done = app.state.recommend.refresh_table(true).await.unwrap();
    assert!(done.related >= sample.len(), "every active product gets its similar list: {done:?}");
    for (p, (complementary, related)) in sample.iter().zip(&computed) {
        assert_eq!(&recs(&app, &p.slug, "?intent=complementary&limit=12").await, complementary, "{}", p.slug);
        assert_eq!(&recs(&app, &p.slug, "?intent=related&limit=12").await, related, "{}", p.slug);
    }

    // a product archived after the table was computed is not recommended, before or after the next refresh
    let mut archived = b.clone();
    archived.status = ProductStatus::Archived;
    app.backends.catalog.upsert_products(&[archived]).await.unwrap();
    app.state.catalog.invalidate().await;
    assert!(!ids(&recs(&app, &a.slug, "?intent=complementary&limit=20").await).contains(&b.id));
    app.state.recommend.refresh_table(false).await.unwrap();
    for intent in ["complementary", "related"] {
        assert!(!ids(&recs(&app, &a.slug, &format!("?intent={intent}&limit=20")).await).contains(&b.id), "{intent}");
    }
    // a new rebuild reaches the table on its next refresh
    let c = chosen[2].clone();
    let pc = position(&products, &c);
    orders_of(&app, &products, 100, &[(&[pa, pc], OrderStatus::Delivered), (&[pa, pc], OrderStatus::Delivered), (&[pc, pa], OrderStatus::Delivered)]).await;
    app.state.recommend.rebuild().await.unwrap();
    app.state.recommend.refresh_table(false).await.unwrap();
    assert!(ids(&recs(&app, &a.slug, "?intent=complementary&limit=20").await).contains(&c.id));
}
