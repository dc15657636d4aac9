//! Order placement benchmark (not a test): throughput of POST /api/v1/orders
//! and the contention scenario (N buyers racing for K units of one SKU).
//!
//!   cargo run --release --features ssr --example order_bench
//!   BENCH_ORDERS=2000 BENCH_CONCURRENCY=64 BENCH_BUYERS=500 BENCH_UNITS=50 ...
//!   BENCH_RELAY=1 also runs the outbox relay (order mails written as .eml files) during the run.
//!
//! Uses the embedded store in a temp dir, or MONGODB_URI / REDIS_URL when set.
//! Server and load generator share this machine (and its cores).
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use vitrina::config::Config;
use vitrina::domain::product::Product;
use vitrina::domain::user::Role;
use vitrina::state::AppState;

#[path = "support/bench.rs"]
mod bench;
use bench::{env, percentile};

fn product(i: u64, stock: i64) -> Product {
    let mut p = vitrina::services::demo::demo_product(900_000 + i);
    p.id = format!("bench-{i}");
    p.slug = format!("bench-product-{i}");
    p.variants.truncate(1);
    p.variants[0].sku = format!("BENCH-{i}");
    p.variants[0].stock = stock;
    p
}

async fn run(client: &reqwest::Client, url: &str, token: &str, skus: Vec<String>, concurrency: usize) -> (Vec<Duration>, u64, u64, u64, Duration) {
    let sem = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, sku) in skus.into_iter().enumerate() {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let (client, url, token) = (client.clone(), url.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let body = json!({
                "shipping_address": {"name": "Bench", "street": "Str. Test 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"},
                "items": [{"sku": sku, "quantity": 1}]
            });
            let t = Instant::now();
            let res = client.post(&url).bearer_auth(&token).header("Idempotency-Key", format!("bench-{i}-{}", uuid::Uuid::new_v4())).json(&body).send().await;
            (t.elapsed(), res.map(|r| r.status().as_u16()).unwrap_or(0))
        }));
    }
    let (mut lat, mut created, mut conflict, mut other) = (Vec::new(), 0, 0, 0);
    for t in tasks {
        let (d, status) = t.await.unwrap();
        lat.push(d);
        match status {
            201 => created += 1,
            409 => conflict += 1,
            _ => other += 1,
        }
    }
    let elapsed = started.elapsed();
    lat.sort();
    (lat, created, conflict, other, elapsed)
}

#[tokio::main]
async fn main() {
    let orders = env("BENCH_ORDERS", 2000);
    let concurrency = env("BENCH_CONCURRENCY", 64) as usize;
    let buyers = env("BENCH_BUYERS", 500);
    let units = env("BENCH_UNITS", 50);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.mongodb_uri = std::env::var("MONGODB_URI").ok().filter(|s| !s.is_empty());
    config.mongodb_db = format!("vitrina_bench_{}", uuid::Uuid::new_v4().simple());
    config.redis_url = std::env::var("REDIS_URL").ok().filter(|s| !s.is_empty());
    config.api_rate_per_min = u64::MAX / 2;
    config.partner_api_rate_per_min = u64::MAX / 2;
    let app = AppState::build(&config).await.expect("app");
    // 100 ordinary SKUs with plenty of stock, and one scarce SKU
    let mut products: Vec<Product> = (0..100).map(|i| product(i, 1_000_000)).collect();
    products.push(product(999, units as i64));
    app.catalog.save_products(&products).await.unwrap();
    app.accounts.register("bench-partner@example.com", "bench partner password", "Bench", Role::Partner).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = app.clone();
    if std::env::var("BENCH_RELAY").is_ok_and(|v| v == "1") {
        // mails and webhooks go out while orders come in, as on a real instance
        vitrina::server::spawn_relay(&app, std::time::Duration::from_millis(500));
    }
    tokio::spawn(async move { vitrina::server::serve_on(listener, served, std::future::pending()).await.unwrap() });
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let base = format!("http://{addr}");
    let token: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": "bench-partner@example.com", "password": "bench partner password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let url = format!("{base}/api/v1/orders");
    println!("order placement benchmark — store={} cache={}", app.store_kind, app.cache_kind);

    let skus: Vec<String> = (0..orders).map(|i| format!("BENCH-{}", i % 100)).collect();
    let (lat, created, conflict, other, elapsed) = run(&client, &url, &token, skus, concurrency).await;
    println!(
        "throughput: {orders} orders, concurrency {concurrency}: {:.0} orders/s, p50 {:?}, p95 {:?}, p99 {:?} (201: {created}, 409: {conflict}, other: {other})",
        created as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99)
    );

    let skus: Vec<String> = (0..buyers).map(|_| "BENCH-999".to_string()).collect();
    let (lat, created, conflict, other, elapsed) = run(&client, &url, &token, skus, buyers as usize).await;
    let left: Value = client.get(format!("{base}/api/v1/products/bench-product-999")).send().await.unwrap().json().await.unwrap();
    println!(
        "contention: {buyers} buyers for {units} units: {created} placed, {conflict} refused (409), {other} other; stock left {}; {:.0} requests/s, p50 {:?}, p99 {:?}",
        left["variants"][0]["available"],
        buyers as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
    if created != units || other != 0 {
        eprintln!("UNEXPECTED: the contention run must place exactly {units} orders");
        std::process::exit(1);
    }
}
