//! Black-box tests: a real server on a random port, HTTP from outside.
mod common;

use std::collections::BTreeSet;

use common::{spawn_app, spawn_app_with};
use serde_json::Value;

const PRODUCTS: u64 = 400;

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtering_by_two_keys_matches_both_and_facets_count_matches() {
    let app = spawn_app(PRODUCTS).await;
    let (status, body) = app.json("/api/v1/products?attr.color=Red&attr.size=M&per_page=100").await;
    assert_eq!(status, 200);
    let total = body["total"].as_u64().unwrap();
    assert!(total > 0 && total < PRODUCTS, "{total}");
    // every listed product has both values (checked against the product endpoint)
    for item in body["items"].as_array().unwrap() {
        let (s, p) = app.json(&format!("/api/v1/products/{}", item["slug"].as_str().unwrap())).await;
        assert_eq!(s, 200);
        let has = |k: &str, v: &str| {
            p["attributes"].get(k).map(|a| a == v || a.as_array().is_some_and(|l| l.iter().any(|x| x == v))).unwrap_or(false)
                || p["variants"].as_array().unwrap().iter().any(|var| var["options"][k] == v)
        };
        assert!(has("color", "Red") && has("size", "M"), "{} lacks Red or M", item["slug"]);
    }
    // each facet value's count equals the number of products the filter adds
    for (key, values) in body["facets"].as_object().unwrap() {
        for fv in values.as_array().unwrap().iter().take(3) {
            let value = fv["value"].as_str().unwrap();
            let url = if key == "color" || key == "size" {
                let other = if key == "color" { "attr.size=M" } else { "attr.color=Red" };
                format!("/api/v1/products?{other}&attr.{key}={}", urlencode(value))
            } else {
                format!("/api/v1/products?attr.color=Red&attr.size=M&attr.{key}={}", urlencode(value))
            };
            let (_, narrowed) = app.json(&url).await;
            assert_eq!(narrowed["total"].as_u64().unwrap(), fv["count"].as_u64().unwrap(), "facet {key}={value}");
        }
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_two_keeps_filters_and_sort() {
    let app = spawn_app(PRODUCTS).await;
    let base = "/api/v1/products?category=clothing&in_stock=true&sort=price_asc&per_page=10";
    let (_, p1) = app.json(&format!("{base}&page=1")).await;
    let (_, p2) = app.json(&format!("{base}&page=2")).await;
    assert_eq!(p2["page"], 2);
    assert_eq!(p2["per_page"], 10);
    assert_eq!(p1["total"], p2["total"]);
    let a = ids(&p1);
    let b = ids(&p2);
    assert_eq!(b.len(), 10);
    assert!(a.iter().all(|x| !b.contains(x)), "pages overlap");
    let last_p1 = p1["items"][9]["price"]["amount"].as_i64().unwrap();
    let prices: Vec<i64> = p2["items"].as_array().unwrap().iter().map(|i| i["price"]["amount"].as_i64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]) && last_p1 <= prices[0], "sorted across pages");
    for item in p2["items"].as_array().unwrap() {
        assert!(item["category"].as_str().unwrap().starts_with("clothing/"));
        assert_eq!(item["in_stock"], true);
    }
    // the storefront's page 2 keeps them too, in its links
    let html = app.get("/products?category=clothing&in_stock=true&sort=price_asc&page=2").await.text().await.unwrap();
    assert!(html.contains("aria-current=\"page\""));
    let nav = &html[html.find("class=\"pagination\"").expect("pagination")..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    let hrefs: Vec<&str> = nav.split("href=\"").skip(1).map(|s| &s[..s.find('"').unwrap()]).collect();
    assert!(hrefs.len() >= 2, "{nav}");
    for h in hrefs {
        let h = h.replace("&amp;", "&");
        assert!(h.contains("category=clothing") && h.contains("in_stock=true") && h.contains("sort=price_asc"), "{h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorting_orders_results() {
    let app = spawn_app(PRODUCTS).await;
    let (_, desc) = app.json("/api/v1/products?sort=price_desc&per_page=50").await;
    let prices: Vec<i64> = desc["items"].as_array().unwrap().iter().map(|i| i["price"]["amount"].as_i64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] >= w[1]));
    let (_, newest) = app.json("/api/v1/products?sort=newest&per_page=5").await;
    assert_eq!(newest["items"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_detail_and_categories() {
    let app = spawn_app(PRODUCTS).await;
    let (_, list) = app.json("/api/v1/products?category=electronics/laptops&per_page=1").await;
    let slug = list["items"][0]["slug"].as_str().unwrap();
    let (status, p) = app.json(&format!("/api/v1/products/{slug}")).await;
    assert_eq!(status, 200);
    assert!(p["attributes"]["ram_gb"].is_number());
    assert!(p["variants"][0]["available"].is_i64());
    assert!(p["variants"][0]["price"]["currency"] == "RON");
    assert!(p["images"][0]["url"].as_str().unwrap().starts_with("/media/"));
    let img = app.get(p["images"][0]["url"].as_str().unwrap()).await;
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/svg+xml");

    let (status, tree) = app.json("/api/v1/categories").await;
    assert_eq!(status, 200);
    let clothing = tree.as_array().unwrap().iter().find(|c| c["path"] == "clothing").expect("clothing");
    let children_sum: u64 = clothing["children"].as_array().unwrap().iter().map(|c| c["product_count"].as_u64().unwrap()).sum();
    assert_eq!(clothing["product_count"].as_u64().unwrap(), children_sum);
    let (_, listed) = app.json("/api/v1/products?category=clothing&per_page=1").await;
    assert_eq!(listed["total"], clothing["product_count"]);
    assert!(clothing["children"].as_array().unwrap().iter().any(|c| c["path"] == "clothing/t-shirts" && c["slug"] == "t-shirts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_problem_json_naming_the_parameter() {
    let app = spawn_app(20).await;
    let cases = [
        ("min_price=abc", "min_price"),
        ("max_price=-1", "max_price"),
        ("sort=cheapest", "sort"),
        ("page=0", "page"),
        ("per_page=101", "per_page"),
        ("attr.Color=red", "attr.Color"),
        ("attr.col%24or=red", "attr.col$or"),
        ("attr.color=%24ne", "attr.color"),
        ("attr.%24where=1", "attr.$where"),
        ("%24where=1", "$where"),
        ("category=%24gt", "category"),
        ("in_stock=maybe", "in_stock"),
    ];
    for (qs, param) in cases {
        let res = app.get(&format!("/api/v1/products?{qs}")).await;
        let status = res.status().as_u16();
        assert!(status == 400 || status == 422, "{qs}: {status}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{qs}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], param, "{qs}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(param));
        assert_eq!(body["status"], status);
    }
    let res = app.get("/api/v1/products/no-such-product").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // the storefront shows the same message as a page, with a matching status
    let res = app.get("/products?sort=cheapest").await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("sort: trebuie să fie relevance"), "storefront shows the reason, in Romanian");
    let html = app.get("/en/products?sort=cheapest").await.text().await.unwrap();
    assert!(html.contains("sort: must be one of"), "and in English under /en");
    let res = app.get("/p/no-such-product").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Nu a fost găsit"), "Romanian by default");
    assert_eq!(app.get("/no/such/page").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storefront_pages_render_complete_on_the_server() {
    let app = spawn_app(PRODUCTS).await;
    let res = app.get("/c/clothing?attr.color=Red&sort=price_asc").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("class=\"product-grid\""));
    assert!(html.matches("class=\"product-card\"").count() >= 10);
    assert!(html.contains("name=\"attr.color\" value=\"Red\" checked"), "the active filter is ticked");
    assert!(html.contains("class=\"count\""));
    let (_, api) = app.json("/api/v1/products?category=clothing&attr.color=Red").await;
    assert!(html.contains(&format!("data-total=\"{}\"", api["total"])), "page and API agree on the total");

    let (_, list) = app.json("/api/v1/products?category=clothing/t-shirts&per_page=1").await;
    let slug = list["items"][0]["slug"].as_str().unwrap();
    let html = app.get(&format!("/p/{slug}")).await.text().await.unwrap();
    for needle in ["class=\"product-title\"", "class=\"price\"", "class=\"attributes\"", "class=\"variant-picker\"", "data-testid=\"selected-sku\"", "data-axis=\"size\""] {
        assert!(html.contains(needle), "product page lacks {needle}");
    }
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains("În tendințe acum") && home.contains("class=\"product-card\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_docs_and_probes() {
    let app = spawn_app(5).await;
    let (status, spec) = app.json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/api/v1/products", "/api/v1/products/{slug}", "/api/v1/categories"] {
        assert!(spec["paths"].get(path).is_some(), "spec lacks {path}");
    }
    let params: BTreeSet<&str> = spec["paths"]["/api/v1/products"]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["q", "category", "min_price", "max_price", "in_stock", "sort", "page", "per_page"] {
        assert!(params.contains(p), "spec lacks parameter {p}");
    }
    let docs = app.get("/api/docs").await.text().await.unwrap();
    assert!(docs.contains("GET /api/v1/products") && !docs.contains("cdn"), "docs are self-hosted");
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_catalog_from_mongodb_with_the_redis_cache() {
    let (Some(mongo), Some(redis)) = (common::mongo_uri(), common::redis_url()) else { return };
    let db = common::unique_name("vitrina_app");
    let app = spawn_app_with(120, |c| {
        c.mongodb_uri = Some(mongo);
        c.mongodb_db = db;
        c.redis_url = Some(redis);
        c.redis_prefix = format!("{}:", common::unique_name("t"));
    })
    .await;
    let ready = app.get("/readyz").await.text().await.unwrap();
    assert!(ready.contains("store=mongodb") && ready.contains("cache=redis"), "{ready}");
    let (status, body) = app.json("/api/v1/products?category=clothing&attr.size=M&sort=price_asc").await;
    assert_eq!(status, 200);
    assert!(body["total"].as_u64().unwrap() > 0);
    // a second identical read is served from Redis and is the same
    let (_, again) = app.json("/api/v1/products?category=clothing&attr.size=M&sort=price_asc").await;
    assert_eq!(body, again);
    let slug = body["items"][0]["slug"].as_str().unwrap();
    let html = app.get(&format!("/p/{slug}")).await.text().await.unwrap();
    assert!(html.contains("class=\"product-title\""));
}
