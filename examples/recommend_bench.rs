//! Recommendation benchmark (not a test).
//!
//!   cargo run --release --features ssr --example recommend_bench
//!   BENCH_PRODUCTS=10000 BENCH_ORDERS=100000 BENCH_REQUESTS=20000 BENCH_CONCURRENCY=32 ...
//!
//! 1. The rebuild: a generated history (`demo_history`, co-purchase
//!    structure) of BENCH_ORDERS orders over BENCH_PRODUCTS products, stored
//!    in the embedded store, then `Recommender::rebuild` (read every basket,
//!    count pairs sparsely, keep the top 20 per product, write the table),
//!    timed, with the counts' size and the process's peak memory.
//! 2. Reads over HTTP (server and load generator share this machine):
//!    "bought together" for random products against a cached listing page,
//!    with the cache on, then with it off (every read computes: the store
//!    lookup of the complements and the rules against the in-memory index).
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use vitrina::config::Config;
use vitrina::state::AppState;

#[path = "support/bench.rs"]
mod bench;
use bench::{env, percentile};

/// Peak resident memory of this process so far (Linux), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// `requests` GETs of `paths` (round robin) with `concurrency` in flight: (req/s, p50, p99).
async fn load(client: &reqwest::Client, base: &str, paths: &[String], requests: usize, concurrency: usize) -> (f64, Duration, Duration) {
    let sem = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for i in 0..requests {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let (client, url) = (client.clone(), format!("{base}{}", paths[i % paths.len()]));
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let t = Instant::now();
            let res = client.get(&url).send().await.expect("request");
            assert!(res.status().is_success(), "{url}: {}", res.status());
            let _ = res.bytes().await;
            t.elapsed()
        }));
    }
    let mut lat = Vec::with_capacity(requests);
    for t in tasks {
        lat.push(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    (requests as f64 / secs, percentile(&lat, 0.5), percentile(&lat, 0.99))
}

async fn serve(config: &Config) -> (AppState, String) {
    let state = AppState::build(config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = state.clone();
    tokio::spawn(async move { vitrina::server::serve_on(listener, served, std::future::pending()).await });
    state.catalog.sync_index().await.expect("index");
    (state, base)
}

#[tokio::main]
async fn main() {
    let (n_products, n_orders) = (env("BENCH_PRODUCTS", 10_000), env("BENCH_ORDERS", 100_000) as usize);
    let (requests, concurrency) = (env("BENCH_REQUESTS", 20_000) as usize, env("BENCH_CONCURRENCY", 32) as usize);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.cache_ttl = Duration::from_secs(60);
    // one client makes every request: the per-client limit would measure itself
    config.anon_rate_per_min = 0;
    let (state, backends) = AppState::build_with_backends(&config).await.expect("state");

    let t = Instant::now();
    vitrina::services::demo::seed(&backends.catalog, &backends.images, n_products, true).await.expect("seed");
    let products: Vec<_> = (0..n_products).map(vitrina::services::demo::demo_product).collect();
    let history = vitrina::services::demo::demo_history(&products, 11, n_orders, chrono::Utc::now());
    let stored = vitrina::services::demo::seed_history(&backends.orders, &products, &history, &config.rules.pricing).await.expect("history");
    println!("setup: {n_products} products, {stored} orders stored in {:.1?}", t.elapsed());
    drop(history);

    let before = peak_mib();
    let t = Instant::now();
    let baskets = state.recommend.baskets().await.expect("baskets");
    println!("reading {} baskets alone: {:.1?}, process peak {:.0} MiB", baskets.len(), t.elapsed(), peak_mib());
    drop(baskets);
    let report = state.recommend.rebuild().await.expect("rebuild");
    println!(
        "rebuild: {} orders read, {} pairs counted, {} products with complements, {} ms; counts peaked at {:.1} MiB; process peak {:.0} MiB (before: {:.0} MiB)",
        report.stats.orders,
        report.stats.pairs,
        report.stats.with_complements,
        report.elapsed_ms,
        report.peak_bytes as f64 / 1048576.0,
        peak_mib(),
        before
    );
    let t = Instant::now();
    let again = state.recommend.rebuild().await.expect("rebuild");
    println!("rebuild again (same orders): {} ms ({:.1?} with the call)", again.elapsed_ms, t.elapsed());
    drop(state);

    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let slugs: Vec<String> = {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        (0..2000)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                products[(rng % n_products) as usize].slug.clone()
            })
            .collect()
    };
    let recs: Vec<String> = slugs.iter().map(|s| format!("/api/v1/products/{s}/recommendations?intent=complementary")).collect();
    let listing = vec!["/api/v1/products?category=electronics&sort=popular".to_string()];
    for (label, ttl) in [("cache on", Duration::from_secs(60)), ("cache off", Duration::ZERO)] {
        let mut config = config.clone();
        config.cache_ttl = ttl;
        let (_state, base) = serve(&config).await;
        // warm: every path once
        load(&client, &base, &recs, recs.len(), concurrency).await;
        let (rps, p50, p99) = load(&client, &base, &listing, requests, concurrency).await;
        println!("{label}: listing page            {rps:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
        let (rps, p50, p99) = load(&client, &base, &recs, requests, concurrency).await;
        println!("{label}: bought together (random) {rps:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
    }
}
