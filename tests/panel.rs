//! The admin panel's back end over HTTP: page access, audit log, CSV round
//! trip, dashboard figures, order transitions with restock, thumbnails.
mod common;

use common::{spawn_app, TestApp};
use serde_json::{json, Value};
use vitrina::domain::user::Role;

const PASSWORD: &str = "a sturdy passphrase";

async fn token_for(app: &TestApp, email: &str, role: Role) -> String {
    app.state.accounts.register(email, PASSWORD, "Someone", role).await.unwrap();
    let res = app.client.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
    res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

async fn call(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token).header("Idempotency-Key", uuid_like());
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn uuid_like() -> String {
    common::unique_name("k")
}

async fn text(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let res = app.client.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

fn mug(price: i64) -> Value {
    json!({
        "name": "Stoneware Mug", "slug": "stoneware-mug", "brand": "Kiln", "category": "home/kitchen", "status": "active",
        "attributes": {"volume_ml": 350, "dishwasher_safe": true},
        "variants": [
            {"sku": "MUG-WHITE", "options": {"glaze": "White"}, "price": {"amount": price, "currency": "RON"}, "stock": 9},
            {"sku": "MUG-BLUE", "options": {"glaze": "Blue"}, "price": {"amount": price, "currency": "RON"}, "stock": 4}
        ]
    })
}

const PAGES: [&str; 8] = ["/admin", "/admin/products", "/admin/products/new", "/admin/orders", "/admin/users", "/admin/audit", "/admin/import", "/admin/products/p_missing"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pages_refuse_visitors_401_and_other_roles_403() {
    let app = spawn_app(3).await;
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    let customer = token_for(&app, "cus@example.com", Role::Customer).await;
    let partner = token_for(&app, "par@example.com", Role::Partner).await;
    for page in PAGES {
        let anon = app.client.get(format!("{}{page}", app.base)).header("Accept", "text/html").send().await.unwrap();
        assert_eq!(anon.status(), 401, "{page} for a visitor");
        assert!(anon.text().await.unwrap().contains("Te rugăm să te autentifici"));
        for token in [&customer, &partner] {
            let (status, _, body) = text(&app, page, token).await;
            assert_eq!(status, 403, "{page} for a non-admin");
            assert!(body.contains("Nu pentru contul tău"));
        }
        let (status, _, _) = text(&app, page, &admin).await;
        let expected = if page.ends_with("p_missing") { 404 } else { 200 };
        assert_eq!(status, expected, "{page} for an admin");
    }
    // form posts of the panel refuse non-admins too
    let res = app.client.post(format!("{}/admin/users/create", app.base)).bearer_auth(&customer).header("Origin", &app.base).form(&[("email", "x@example.com"), ("name", "X"), ("password", PASSWORD)]).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(app.backends.users.user_by_email("x@example.com").await.unwrap().is_none(), "nothing created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_product_crud_is_audited_with_before_and_after() {
    audited_crud(spawn_app(0).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_product_crud_is_audited_with_before_and_after() {
    let Some(mongo) = common::mongo_uri() else { return };
    let db = common::unique_name("vitrina_panel");
    audited_crud(
        common::spawn_app_with(0, move |c| {
            c.mongodb_uri = Some(mongo);
            c.mongodb_db = db;
        })
        .await,
    )
    .await;
}

async fn audited_crud(app: TestApp) {
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    let (status, created) = call(&app, reqwest::Method::POST, "/api/v1/admin/products", &admin, Some(mug(1500))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, _) = call(&app, reqwest::Method::PUT, &format!("/api/v1/admin/products/{id}"), &admin, Some(mug(1250))).await;
    assert_eq!(status, 200);

    let (status, page) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/audit?action=product.update&target={id}"), &admin, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1);
    let e = &page["items"][0];
    assert_eq!(e["actor_email"], "boss@example.com");
    let summary = e["summary"].as_str().unwrap();
    assert!(summary.contains("price of MUG-WHITE 15,00 lei → 12,50 lei"), "{summary}");
    let before: Value = serde_json::from_str(e["before"].as_str().unwrap()).unwrap();
    let after: Value = serde_json::from_str(e["after"].as_str().unwrap()).unwrap();
    assert_eq!(before["variants"][0]["price"]["amount"], 1500);
    assert_eq!(after["variants"][0]["price"]["amount"], 1250);

    let (_, all) = call(&app, reqwest::Method::GET, "/api/v1/admin/audit?action=product", &admin, None).await;
    assert_eq!(all["total"], 2, "create and update: {all}");
    let (_, none) = call(&app, reqwest::Method::GET, "/api/v1/admin/audit?actor=somebody-else", &admin, None).await;
    assert_eq!(none["total"], 0);
    let (status, problem) = call(&app, reqwest::Method::GET, "/api/v1/admin/audit?from=yesterday", &admin, None).await;
    assert_eq!(status, 400);
    assert!(problem["detail"].as_str().unwrap().contains("from"), "{problem}");
    // the panel page lists it
    let (_, _, html) = text(&app, &format!("/admin/audit?target={id}"), &admin).await;
    assert!(html.contains("price of MUG-WHITE"), "the audit page shows the entry");
    let (_, shop) = app.json("/api/v1/products/stoneware-mug").await;
    assert_eq!(shop["price"]["amount"], 1250, "the product page shows the new price at once");

    // never ordered: deleted, gone from the shop, and recorded
    let (status, removed) = call(&app, reqwest::Method::DELETE, &format!("/api/v1/admin/products/{id}"), &admin, None).await;
    assert_eq!((status, removed["result"].as_str()), (200, Some("deleted")));
    let (status, _) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/products/{id}"), &admin, None).await;
    assert_eq!(status, 404);
    assert_eq!(app.json("/api/v1/products/stoneware-mug").await.0, 404);
    let (_, log) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/audit?target={id}"), &admin, None).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["product.delete", "product.update", "product.create"], "newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_round_trip_through_csv_with_a_dry_run_first() {
    let app = spawn_app(0).await;
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    let (status, created) = call(&app, reqwest::Method::POST, "/api/v1/admin/products", &admin, Some(mug(1500))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();

    let (status, ct, csv) = text(&app, "/api/v1/admin/export/products.csv", &admin).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/csv"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "product_id,slug,name,description,brand,category,status,attributes,sku,options,price,stock,stock_expected,vat_rate,vat_exemption");
    assert_eq!(lines.len(), 3, "one row per variant: {csv}");
    assert!(csv.contains("MUG-WHITE,glaze=White,15.00,9"), "{csv}");

    // change a price, add a new product with two variants
    let edited = csv.replace("MUG-BLUE,glaze=Blue,15.00", "MUG-BLUE,glaze=Blue,13.75")
        + ",linen-apron,Linen Apron,,Kiln,home/textiles,active,\"{\"\"material\"\": \"\"linen\"\"}\",APR-S,size=S,22.00,3\n"
        + ",linen-apron,Linen Apron,,Kiln,home/textiles,active,,APR-M,size=M,22.00,5\n";
    let post = |body: String, dry: bool| {
        app.client.post(format!("{}/api/v1/admin/import/products?dry_run={dry}", app.base)).bearer_auth(&admin).header("Content-Type", "text/csv").body(body).send()
    };
    let report: Value = post(edited.clone(), true).await.unwrap().json().await.unwrap();
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!((report["products"].as_u64(), report["creates"].as_u64(), report["updates"].as_u64(), report["applied"].as_bool()), (Some(2), Some(1), Some(1), Some(false)));
    let (_, still) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/products/{id}"), &admin, None).await;
    assert_eq!(still["variants"][1]["price"]["amount"], 1500, "a dry run writes nothing");
    assert!(app.state.admin.by_slug("linen-apron").await.unwrap().is_none());

    // a file with mistakes: every problem by line, nothing written even for real
    let broken = edited.replace("APR-M,size=M,22.00,5", "APR-M,size=M,twenty,-5").replace("home/textiles,active,\"", "home/textiles,sold,\"");
    let res = post(broken, false).await.unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    let problems: Vec<(u64, String)> = report["errors"].as_array().unwrap().iter().map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap().to_string())).collect();
    assert_eq!(problems, vec![(4, "status".into()), (5, "price".into()), (5, "stock".into())], "{report}");
    assert_eq!(report["applied"], false);
    assert!(app.state.admin.by_slug("linen-apron").await.unwrap().is_none(), "nothing written");

    // the real import applies both
    let report: Value = post(edited, false).await.unwrap().json().await.unwrap();
    assert_eq!(report["applied"], true, "{report}");
    let (_, mug_now) = call(&app, reqwest::Method::GET, &format!("/api/v1/admin/products/{id}"), &admin, None).await;
    assert_eq!(mug_now["variants"][1]["price"]["amount"], 1375);
    let apron = app.state.admin.by_slug("linen-apron").await.unwrap().expect("created");
    assert_eq!(apron.variants.len(), 2);
    assert_eq!(apron.attributes["material"], vitrina::domain::product::AttrValue::Text("linen".into()));
    let (_, shop) = app.json("/api/v1/products?category=home/textiles").await;
    assert_eq!(shop["total"], 1, "the imported product is on the storefront");
    // and the export gives back what was imported
    let (_, _, again) = text(&app, "/api/v1/admin/export/products.csv", &admin).await;
    assert!(again.contains("APR-M,size=M,22.00,5") && again.contains("MUG-BLUE,glaze=Blue,13.75"), "{again}");

    // stock changes are explicit: `stock` against the `stock_expected` the export wrote
    assert!(again.contains("MUG-WHITE,glaze=White,15.00,9,9"), "{again}");
    let report: Value = post(again.replace("MUG-WHITE,glaze=White,15.00,9,9", "MUG-WHITE,glaze=White,15.00,12,9"), false).await.unwrap().json().await.unwrap();
    assert_eq!(report["applied"], true, "{report}");
    assert_eq!(app.state.admin.get(&id).await.unwrap().variants[0].stock, 12);
    // a file exported before the stock moved is refused for that SKU, and says why
    let report: Value = post(again.replace("MUG-WHITE,glaze=White,15.00,9,9", "MUG-WHITE,glaze=White,15.00,20,9"), false).await.unwrap().json().await.unwrap();
    assert_eq!(report["applied"], false, "{report}");
    assert_eq!(report["errors"][0]["field"], "stock", "{report}");
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("changed from 9 to 12"), "{report}");
    assert_eq!(app.state.admin.get(&id).await.unwrap().variants[0].stock, 12, "the moved stock was not overwritten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_orders_and_a_cancel_restocks() {
    let app = spawn_app(0).await;
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    let buyer = token_for(&app, "buyer@example.com", Role::Customer).await;
    call(&app, reqwest::Method::POST, "/api/v1/admin/products", &admin, Some(mug(1500))).await;
    let (status, _) = call(&app, reqwest::Method::POST, "/api/v1/cart/items", &buyer, Some(json!({"sku": "MUG-BLUE", "quantity": 3}))).await;
    assert_eq!(status, 200);
    let address = json!({"name": "Ana", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"});
    let (status, order) = call(&app, reqwest::Method::POST, "/api/v1/orders", &buyer, Some(json!({"shipping_address": address}))).await;
    assert_eq!(status, 201, "{order}");
    let total = order["total"]["amount"].as_i64().unwrap();

    let (status, d) = call(&app, reqwest::Method::GET, "/api/v1/admin/dashboard", &admin, None).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["days"].as_array().unwrap().len(), 30);
    assert_eq!((d["today"]["orders"].as_u64(), d["today"]["revenue"].as_i64()), (Some(1), Some(total)));
    assert_eq!(d["waiting_total"], 1);
    assert_eq!(d["top_products"][0]["quantity"], 3);
    let low: Vec<(&str, i64)> = d["low_stock"].as_array().unwrap().iter().map(|l| (l["sku"].as_str().unwrap(), l["stock"].as_i64().unwrap())).collect();
    assert_eq!(low, vec![("MUG-BLUE", 1)], "4 − 3 left");

    // the panel cancels it (a form post): stock comes back, revenue goes
    let res = app
        .client
        .post(format!("{}/admin/orders/status", app.base))
        .bearer_auth(&admin)
        .header("Origin", &app.base)
        .form(&[("order_id", order["id"].as_str().unwrap()), ("status", "cancelled")])
        .send()
        .await
        .unwrap();
    assert!(res.url().path().starts_with("/admin/orders/") || res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    let (_, after) = call(&app, reqwest::Method::GET, "/api/v1/admin/dashboard", &admin, None).await;
    assert_eq!((after["today"]["orders"].as_u64(), after["today"]["revenue"].as_i64()), (Some(0), Some(0)));
    assert_eq!(after["low_stock"][0]["stock"], 4, "stock is back to 4 (still low: at most 5)");
    let (_, p) = app.json("/api/v1/products/stoneware-mug").await;
    assert_eq!(p["variants"].as_array().unwrap().iter().find(|v| v["sku"] == "MUG-BLUE").unwrap()["available"], 4);
    let (_, log) = call(&app, reqwest::Method::GET, "/api/v1/admin/audit?action=order", &admin, None).await;
    assert!(log["items"][0]["summary"].as_str().unwrap().contains("placed → cancelled (stock returned)"), "{log}");
    // an impossible transition is refused with a message, nothing changes
    let (status, problem) = call(&app, reqwest::Method::POST, &format!("/api/v1/admin/orders/{}/status", order["id"].as_str().unwrap()), &admin, Some(json!({"status": "shipped"}))).await;
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_get_a_server_made_thumbnail_for_listings() {
    let app = spawn_app(0).await;
    let admin = token_for(&app, "boss@example.com", Role::Admin).await;
    let (_, created) = call(&app, reqwest::Method::POST, "/api/v1/admin/products", &admin, Some(mug(1500))).await;
    let id = created["id"].as_str().unwrap();
    let img = image::RgbImage::from_pixel(1600, 1200, image::Rgb([30, 110, 70]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(png).file_name("big.png"));
    let res = app.client.post(format!("{}/api/v1/admin/products/{id}/images", app.base)).bearer_auth(&admin).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let product: Value = res.json().await.unwrap();
    let thumb = product["images"][0]["thumb_url"].as_str().expect("a thumbnail").to_string();
    let bytes = app.get(&thumb).await.bytes().await.unwrap();
    let t = image::load_from_memory(&bytes).unwrap();
    assert_eq!((t.width(), t.height()), (480, 360), "fits 480 px, keeps the ratio");
    let (_, list) = app.json("/api/v1/products?q=stoneware").await;
    assert_eq!(list["items"][0]["image_url"], thumb.as_str(), "listings use the thumbnail");

    // reorder / alt text: only the product's own images
    let (status, problem) = call(&app, reqwest::Method::PUT, &format!("/api/v1/admin/products/{id}/images"), &admin, Some(json!([{"url": "https://evil.example/x.png", "alt": "x"}]))).await;
    assert_eq!(status, 422, "{problem}");
    let url = product["images"][0]["url"].as_str().unwrap();
    let (status, changed) = call(&app, reqwest::Method::PUT, &format!("/api/v1/admin/products/{id}/images"), &admin, Some(json!([{"url": url, "alt": "A green mug"}]))).await;
    assert_eq!(status, 200);
    assert_eq!(changed["images"][0]["alt"], "A green mug");
    assert_eq!(changed["images"][0]["thumb_url"], thumb.as_str(), "the thumbnail stays");
}
