//! Black Friday load test against a running shop (not a test: a load tool).
//!
//!   cargo run --release --features ssr --example loadtest -- \
//!       --base http://127.0.0.1:3000 --users 5000 --duration 30
//!
//! Simulated shoppers with think time. Each step picks, by weight:
//!   60 % listing (category / filter / search page), 25 % product page,
//!   10 % cart (view it, add a line), 5 % checkout (add a line, place the order).
//! Pages are the storefront's HTML (what browsers load); cart and checkout
//! use the API with bearer tokens of `--buyers` registered customers.
//! Cart and checkout use a fixed pool of SKUs whose stock is read first; at
//! the end the tool checks that no SKU was oversold: for each one, the stock
//! now equals the stock before minus what acknowledged orders took, and it is
//! never negative. Prints req/s and p50 / p95 / p99 per request type.
//!
//! The server should allow the test's sign-ins (all from one address):
//! VITRINA_LOGIN_RATE_PER_MIN and VITRINA_API_RATE_PER_MIN high enough.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

struct Args {
    base: String,
    users: usize,
    duration: u64,
    ramp: u64,
    think_ms: u64,
    buyers: usize,
    max_connections: usize,
    json_out: Option<String>,
    orders_out: Option<String>,
    label: String,
    /// Seconds at most to load every listing and product page once before the clock starts.
    warm: u64,
}

fn args() -> Args {
    let mut a = Args { base: "http://127.0.0.1:3000".into(), users: 1000, duration: 30, ramp: 10, think_ms: 3000, buyers: 100, max_connections: 512, json_out: None, orders_out: None, label: String::new(), warm: 0 };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        let v = raw.get(i + 1).cloned().unwrap_or_default();
        match raw[i].as_str() {
            "--base" => a.base = v,
            "--users" => a.users = v.parse().expect("--users N"),
            "--duration" => a.duration = v.parse().expect("--duration seconds"),
            "--ramp" => a.ramp = v.parse().expect("--ramp seconds"),
            "--think-ms" => a.think_ms = v.parse().expect("--think-ms N"),
            "--buyers" => a.buyers = v.parse().expect("--buyers N"),
            "--max-connections" => a.max_connections = v.parse().expect("--max-connections N"),
            "--json" => a.json_out = Some(v),
            "--orders-out" => a.orders_out = Some(v),
            "--label" => a.label = v,
            "--warm" => a.warm = v.parse().expect("--warm seconds"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Listing,
    Product,
    Cart,
    Checkout,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Listing, Kind::Product, Kind::Cart, Kind::Checkout];
    fn name(self) -> &'static str {
        match self {
            Kind::Listing => "listing/filter/search",
            Kind::Product => "product page",
            Kind::Cart => "cart",
            Kind::Checkout => "checkout",
        }
    }
    fn pick(r: u32) -> Kind {
        match r {
            0..=59 => Kind::Listing,
            60..=84 => Kind::Product,
            85..=94 => Kind::Cart,
            _ => Kind::Checkout,
        }
    }
}

#[derive(Default)]
struct Stats {
    /// micros per request type
    latencies: Mutex<BTreeMap<Kind, Vec<u32>>>,
    errors: Mutex<BTreeMap<Kind, u64>>,
    /// correct refusals (sold out): not errors
    refused: AtomicU64,
    /// sku → units taken by acknowledged orders
    sold: Mutex<BTreeMap<String, i64>>,
    orders: Mutex<Vec<String>>,
    first_error: Mutex<Option<String>>,
}

impl Stats {
    fn record(&self, kind: Kind, took: Duration, ok: bool, why: impl FnOnce() -> String) {
        self.latencies.lock().unwrap().entry(kind).or_default().push(took.as_micros().min(u32::MAX as u128) as u32);
        if !ok {
            *self.errors.lock().unwrap().entry(kind).or_default() += 1;
            let mut first = self.first_error.lock().unwrap();
            if first.is_none() {
                *first = Some(why());
            }
        }
    }
}

struct World {
    base: String,
    client: reqwest::Client,
    listings: Vec<String>,
    products: Vec<String>,
    skus: Vec<String>,
    tokens: Vec<String>,
    stats: Stats,
    gate: Semaphore,
    stop: AtomicBool,
}

const ADDRESS: &str = r#"{"name": "Load Tester", "street": "Str. Lunga 1", "city": "Cluj", "postal_code": "400001", "country": "RO", "county": "RO-CJ", "phone": "0712345678"}"#;

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.expect("request").json().await.expect("json")
}

async fn setup(a: &Args, client: &reqwest::Client) -> World {
    let base = a.base.trim_end_matches('/').to_string();
    let cats = get_json(client, &format!("{base}/api/v1/categories")).await;
    let mut paths = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        for c in v.as_array().into_iter().flatten() {
            out.push(c["path"].as_str().unwrap_or_default().to_string());
            walk(&c["children"], out);
        }
    }
    walk(&cats, &mut paths);
    let sorts = ["relevance", "price_asc", "price_desc", "newest", "popular"];
    let mut listings = Vec::new();
    let mut products = Vec::new();
    let mut words = Vec::new();
    for path in &paths {
        let list = get_json(client, &format!("{base}/api/v1/products?category={path}&per_page=48")).await;
        for item in list["items"].as_array().into_iter().flatten() {
            products.push(item["slug"].as_str().unwrap_or_default().to_string());
            if let Some(w) = item["name"].as_str().and_then(|n| n.split_whitespace().nth(1)) {
                words.push(w.to_lowercase());
            }
        }
        for sort in sorts {
            listings.push(format!("/c/{path}?sort={sort}"));
        }
        for (key, values) in list["facets"].as_object().into_iter().flatten() {
            for v in values.as_array().into_iter().flatten().take(3) {
                let value: String = form_urlencoded::byte_serialize(v["value"].as_str().unwrap_or_default().as_bytes()).collect();
                listings.push(format!("/c/{path}?attr.{key}={value}"));
                listings.push(format!("/c/{path}?attr.{key}={value}&in_stock=true&sort=price_asc&page=2"));
            }
        }
    }
    words.sort();
    words.dedup();
    for w in words.iter().take(60) {
        listings.push(format!("/products?q={w}"));
    }
    // the SKU pool for carts and checkouts: in-stock variants of the first 60 products
    let mut skus = Vec::new();
    for slug in products.iter().take(60) {
        let p = get_json(client, &format!("{base}/api/v1/products/{slug}")).await;
        for v in p["variants"].as_array().into_iter().flatten() {
            if v["available"].as_i64().unwrap_or(0) > 0 {
                skus.push(v["sku"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    assert!(!skus.is_empty() && !listings.is_empty(), "the shop needs a seeded catalog (vitrina seed)");
    // buyers: customers registered for this run
    let run = format!("{:x}", rand::random::<u32>());
    let mut tokens = Vec::new();
    for i in 0..a.buyers {
        let email = format!("load-{run}-{i}@example.com");
        let password = "load test passphrase";
        let res = client.post(format!("{base}/api/v1/auth/register")).json(&json!({"email": email, "password": password, "name": "Load Buyer"})).send().await.expect("register");
        assert!(res.status().is_success(), "register: {}", res.status());
        let t = client.post(format!("{base}/api/v1/auth/token")).json(&json!({"email": email, "password": password})).send().await.expect("token");
        assert!(t.status().is_success(), "sign-in refused ({}): raise VITRINA_LOGIN_RATE_PER_MIN on the server", t.status());
        tokens.push(t.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string());
    }
    World {
        base,
        client: client.clone(),
        listings,
        products,
        skus,
        tokens,
        stats: Stats::default(),
        gate: Semaphore::new(a.max_connections),
        stop: AtomicBool::new(false),
    }
}

async fn stock_of(w: &World, skus: &[String]) -> BTreeMap<String, i64> {
    // the product API reads the inventory itself (not the listing snapshot)
    let mut out = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for slug in w.products.iter().take(60) {
        if !seen.insert(slug.clone()) {
            continue;
        }
        let p = get_json(&w.client, &format!("{}/api/v1/products/{slug}", w.base)).await;
        for v in p["variants"].as_array().into_iter().flatten() {
            let sku = v["sku"].as_str().unwrap_or_default();
            if skus.iter().any(|s| s == sku) {
                out.insert(sku.to_string(), v["available"].as_i64().unwrap_or(0));
            }
        }
    }
    out
}

/// One request: measured from the shopper's side (waiting for a connection included).
async fn send(w: &World, kind: Kind, req: reqwest::RequestBuilder, ok_statuses: &[u16]) -> Option<(u16, Value)> {
    let start = Instant::now();
    let _slot = w.gate.acquire().await.ok()?;
    let result = req.timeout(Duration::from_secs(30)).send().await;
    match result {
        Ok(res) => {
            let status = res.status().as_u16();
            let is_json = res.headers().get("content-type").map(|v| v.to_str().unwrap_or("").contains("json")).unwrap_or(false);
            let body = if is_json { res.json::<Value>().await.unwrap_or(Value::Null) } else { let _ = res.bytes().await; Value::Null };
            let ok = (200..300).contains(&status) || ok_statuses.contains(&status);
            w.stats.record(kind, start.elapsed(), ok, || format!("{} → {status} {body}", kind.name()));
            Some((status, body))
        }
        Err(e) => {
            w.stats.record(kind, start.elapsed(), false, || format!("{}: {e}", kind.name()));
            None
        }
    }
}

async fn shopper(w: Arc<World>, id: usize, think: Duration) {
    let token = w.tokens[id % w.tokens.len()].clone();
    loop {
        let (kind, pause, listing, product, sku) = {
            let mut rng = rand::thread_rng();
            let kind = Kind::pick(rng.gen_range(0..100));
            let pause = think.mul_f64(rng.gen_range(0.5..1.5));
            (kind, pause, w.listings.choose(&mut rng).cloned().unwrap(), w.products.choose(&mut rng).cloned().unwrap(), w.skus.choose(&mut rng).cloned().unwrap())
        };
        tokio::time::sleep(pause).await;
        if w.stop.load(Ordering::Relaxed) {
            return;
        }
        let api = |m: reqwest::Method, path: &str| w.client.request(m, format!("{}{path}", w.base)).bearer_auth(&token);
        match kind {
            Kind::Listing => {
                send(&w, kind, w.client.get(format!("{}{listing}", w.base)), &[]).await;
            }
            Kind::Product => {
                send(&w, kind, w.client.get(format!("{}/p/{product}", w.base)), &[]).await;
            }
            Kind::Cart => {
                if let Some((_, cart)) = send(&w, kind, api(reqwest::Method::GET, "/api/v1/cart"), &[]).await {
                    // keep carts small: drop a line when there are many
                    if let Some(first) = cart["lines"].as_array().filter(|l| l.len() >= 3).and_then(|l| l[0]["sku"].as_str()) {
                        send(&w, kind, api(reqwest::Method::DELETE, &format!("/api/v1/cart/items/{first}")), &[404]).await;
                    }
                }
                let counted = send(&w, kind, api(reqwest::Method::POST, "/api/v1/cart/items").json(&json!({"sku": sku, "quantity": 1})), &[409, 422]).await;
                if matches!(counted, Some((409 | 422, _))) {
                    w.stats.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            Kind::Checkout => {
                send(&w, kind, api(reqwest::Method::POST, "/api/v1/cart/items").json(&json!({"sku": sku, "quantity": 1})), &[409, 422]).await;
                let key = format!("{:x}{:x}", rand::random::<u64>(), rand::random::<u64>());
                let body = json!({"shipping_address": serde_json::from_str::<Value>(ADDRESS).unwrap()});
                match send(&w, kind, api(reqwest::Method::POST, "/api/v1/orders").header("Idempotency-Key", key).json(&body), &[409, 422]).await {
                    Some((201, order)) => {
                        let mut sold = w.stats.sold.lock().unwrap();
                        for l in order["lines"].as_array().into_iter().flatten() {
                            *sold.entry(l["sku"].as_str().unwrap_or_default().to_string()).or_default() += l["quantity"].as_i64().unwrap_or(0);
                        }
                        w.stats.orders.lock().unwrap().push(order["id"].as_str().unwrap_or_default().to_string());
                    }
                    Some((409, problem)) => {
                        w.stats.refused.fetch_add(1, Ordering::Relaxed);
                        // sold out: take the short lines out of the cart, as a shopper would
                        for l in problem["short"].as_array().into_iter().flatten() {
                            if let Some(s) = l["sku"].as_str() {
                                send(&w, kind, api(reqwest::Method::DELETE, &format!("/api/v1/cart/items/{s}")), &[404]).await;
                            }
                        }
                    }
                    Some((422, _)) => {
                        w.stats.refused.fetch_add(1, Ordering::Relaxed); // an empty cart (its line sold out)
                    }
                    _ => {}
                }
            }
        }
    }
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let a = args();
    let client = reqwest::Client::builder().pool_max_idle_per_host(a.max_connections).timeout(Duration::from_secs(60)).build().unwrap();
    eprintln!("setting up against {} ({} buyers)…", a.base, a.buyers);
    let world = Arc::new(setup(&a, &client).await);
    if a.warm > 0 {
        // the shop opens with warm caches: every page the shoppers will ask for, once
        let started = Instant::now();
        let urls: Vec<String> = world.listings.iter().cloned().chain(world.products.iter().map(|p| format!("/p/{p}"))).collect();
        let total = urls.len();
        let next = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let (w, urls, next) = (world.clone(), urls.clone(), next.clone());
            let limit = Duration::from_secs(a.warm);
            workers.push(tokio::spawn(async move {
                while started.elapsed() < limit {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(u) = urls.get(i) else { break };
                    let _ = w.client.get(format!("{}{u}", w.base)).send().await.map(|r| r.bytes());
                }
            }));
        }
        for h in workers {
            let _ = h.await;
        }
        eprintln!("warmed {} of {total} pages in {:.0} s", (next.load(Ordering::Relaxed) as usize).min(total), started.elapsed().as_secs_f64());
    }
    let before = stock_of(&world, &world.skus).await;
    eprintln!("{} listing URLs, {} products, {} SKUs in the cart pool; {} users for {} s (ramp {} s, think ≈{} ms)", world.listings.len(), world.products.len(), before.len(), a.users, a.duration, a.ramp, a.think_ms);
    let think = Duration::from_millis(a.think_ms);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(a.users);
    for i in 0..a.users {
        let w = world.clone();
        let delay = Duration::from_secs_f64(a.ramp as f64 * i as f64 / a.users.max(1) as f64);
        handles.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            shopper(w, i, think).await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(a.duration)).await;
    world.stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(60), h).await;
    }

    // report
    let lat = world.stats.latencies.lock().unwrap().clone();
    let errors = world.stats.errors.lock().unwrap().clone();
    let secs = elapsed.as_secs_f64();
    println!("\n{:<24} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9}", "request type", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms");
    let mut rows = Vec::new();
    let (mut total, mut total_err) = (0u64, 0u64);
    let mut all: Vec<u32> = Vec::new();
    for kind in Kind::ALL {
        let mut v = lat.get(&kind).cloned().unwrap_or_default();
        v.sort_unstable();
        let e = errors.get(&kind).copied().unwrap_or(0);
        total += v.len() as u64;
        total_err += e;
        all.extend(&v);
        println!("{:<24} {:>9} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}", kind.name(), v.len(), e, v.len() as f64 / secs, pct(&v, 0.5), pct(&v, 0.95), pct(&v, 0.99));
        rows.push(json!({"type": kind.name(), "requests": v.len(), "errors": e, "rps": v.len() as f64 / secs, "p50_ms": pct(&v, 0.5), "p95_ms": pct(&v, 0.95), "p99_ms": pct(&v, 0.99)}));
    }
    all.sort_unstable();
    let error_rate = if total == 0 { 0.0 } else { total_err as f64 / total as f64 };
    println!("{:<24} {:>9} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}", "all", total, total_err, total as f64 / secs, pct(&all, 0.5), pct(&all, 0.95), pct(&all, 0.99));
    println!("error rate {:.3} %; sold-out refusals (not errors) {}", error_rate * 100.0, world.stats.refused.load(Ordering::Relaxed));
    if let Some(e) = world.stats.first_error.lock().unwrap().clone() {
        println!("first error: {}", e.chars().take(300).collect::<String>());
    }

    // no SKU oversold
    let after = stock_of(&world, &world.skus).await;
    let sold = world.stats.sold.lock().unwrap().clone();
    // oversold: negative stock, more sold than there was, or stock of an
    // acknowledged order back on the shelf. Less stock than before − sold is
    // allowed: orders placed but never acknowledged (an instance died before
    // answering) or a placement still being repaired hold it.
    let mut oversold = Vec::new();
    let mut held = 0;
    for (sku, was) in &before {
        let took = sold.get(sku).copied().unwrap_or(0);
        let now = after.get(sku).copied().unwrap_or(0);
        if now < 0 || took > *was || now > was - took {
            oversold.push(format!("{sku}: before {was}, acknowledged orders took {took}, now {now}"));
        }
        held += (was - took - now).max(0);
    }
    let orders = world.stats.orders.lock().unwrap().clone();
    let units: i64 = sold.values().sum();
    if oversold.is_empty() {
        println!("stock check: OK — {} acknowledged orders took {units} units of {} SKUs; no SKU oversold; {held} units held by unacknowledged orders", orders.len(), before.len());
    } else {
        println!("stock check: FAILED\n  {}", oversold.join("\n  "));
    }
    if let Some(path) = &a.orders_out {
        std::fs::write(path, orders.join("\n")).expect("write orders");
    }
    if let Some(path) = &a.json_out {
        let report = json!({"label": a.label, "users": a.users, "seconds": secs, "rows": rows, "total": total, "errors": total_err, "error_rate": error_rate,
            "rps": total as f64 / secs, "p50_ms": pct(&all, 0.5), "p95_ms": pct(&all, 0.95), "p99_ms": pct(&all, 0.99), "orders": orders.len(), "oversold": oversold.len()});
        std::fs::write(path, serde_json::to_string_pretty(&report).unwrap()).expect("write json");
    }
    if !oversold.is_empty() {
        std::process::exit(2);
    }
}
