//! The search index: a differential test against a plain scan of the store
//! and against the store's own queries, on both stores; better search
//! (typos, Romanian stems, diacritics); freshness after writes.
mod common;

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vitrina::domain::product::{Product, ProductStatus};
use vitrina::domain::query::{assemble_facets, CatalogQuery, SearchResult, Sort};
use vitrina::infra::memory_cache::MemoryCache;
use vitrina::infra::search::analysis;
use vitrina::infra::search::RoaringIndex;
use vitrina::ports::{CatalogStore, InventoryStore, SearchIndex};
use vitrina::services::catalog::CatalogService;
use vitrina::services::demo::demo_product;

fn dataset(n: u64) -> Vec<Product> {
    let mut products: Vec<Product> = (0..n).map(demo_product).collect();
    products[3].status = ProductStatus::Draft;
    products[7].status = ProductStatus::Archived;
    for (i, name) in [(10, "Pantof sport alb"), (11, "Rochie de vară cu flori"), (12, "Ștofă de lână"), (13, "Stofa groasă"), (14, "Blugi jeans clasici")] {
        products[i].name = name.to_string();
    }
    products
}

/// Every product of the store, read plainly.
async fn all_products(store: &Arc<dyn CatalogStore>) -> Vec<Product> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.products_after(after.as_deref(), 97).await.unwrap();
        let n = page.len();
        after = page.last().map(|p| p.id.clone());
        out.extend(page);
        if n < 97 {
            return out;
        }
    }
}

/// The listing a query should return, by plain scan: the specification the index implements.
fn plain(products: &[Product], q: &CatalogQuery) -> SearchResult {
    let terms = q.q.as_deref().map(analysis::query_terms).unwrap_or_default();
    let matches = |p: &Product, skip_key: Option<&str>| -> Option<f32> {
        let statuses = q.statuses.clone().unwrap_or_else(|| vec![ProductStatus::Active]);
        if !statuses.contains(&p.status) {
            return None;
        }
        if let Some(c) = &q.category {
            if !(p.category == *c || p.category.starts_with(&format!("{c}/"))) {
                return None;
            }
        }
        let price = p.min_price().amount;
        if q.min_price.is_some_and(|lo| price < lo) || q.max_price.is_some_and(|hi| price > hi) || (q.in_stock && !p.in_stock()) {
            return None;
        }
        let tokens = p.facet_tokens();
        if !q.attrs.iter().filter(|(k, _)| Some(k.as_str()) != skip_key).all(|(k, vs)| vs.iter().any(|v| tokens.contains(&format!("{k}={v}")))) {
            return None;
        }
        if terms.is_empty() {
            Some(0.0)
        } else {
            analysis::plain_score(&analysis::product_fields(p), &terms)
        }
    };
    let mut hits: Vec<(f32, &Product)> = products.iter().filter_map(|p| matches(p, None).map(|s| (s, p))).collect();
    let tie = |a: &Product, b: &Product| b.in_stock().cmp(&a.in_stock()).then(b.popularity.cmp(&a.popularity)).then(a.id.cmp(&b.id));
    hits.sort_by(|(sa, a), (sb, b)| match q.sort {
        Sort::Relevance if !terms.is_empty() => sb.total_cmp(sa).then_with(|| tie(a, b)),
        Sort::Relevance => tie(a, b),
        Sort::Popular => b.popularity.cmp(&a.popularity).then(a.id.cmp(&b.id)),
        Sort::PriceAsc => a.min_price().amount.cmp(&b.min_price().amount).then(a.id.cmp(&b.id)),
        Sort::PriceDesc => b.min_price().amount.cmp(&a.min_price().amount).then(a.id.cmp(&b.id)),
        Sort::Newest => b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)),
    });
    let count = |skip: Option<&str>| {
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for p in products.iter().filter(|p| matches(p, skip).is_some()) {
            for t in p.facet_tokens() {
                *counts.entry(t).or_default() += 1;
            }
        }
        counts.into_iter().collect::<Vec<_>>()
    };
    let per_key: Vec<(String, Vec<(String, u64)>)> = q.attrs.keys().map(|k| (k.clone(), count(Some(k)))).collect();
    SearchResult {
        items: hits.iter().skip(q.offset() as usize).take(q.per_page as usize).map(|(_, p)| p.summary()).collect(),
        page: q.page,
        per_page: q.per_page,
        total: hits.len() as u64,
        facets: assemble_facets(&count(None), &per_key),
    }
}

/// A random listing query over the products' own categories, facet values and words.
fn random_query(rng: &mut StdRng, products: &[Product], with_text: bool) -> CatalogQuery {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let p = &products[rng.gen_range(0..products.len())];
    if rng.gen_bool(0.6) {
        let paths = p.category_paths();
        pairs.push(("category".into(), paths[rng.gen_range(0..paths.len())].clone()));
    }
    let tokens: Vec<String> = p.facet_tokens().into_iter().collect();
    for _ in 0..rng.gen_range(0..3) {
        let other = &products[rng.gen_range(0..products.len())];
        let pool: Vec<String> = if rng.gen_bool(0.7) { tokens.clone() } else { other.facet_tokens().into_iter().collect() };
        if let Some(t) = pool.get(rng.gen_range(0..pool.len().max(1))) {
            let (k, v) = t.split_once('=').unwrap();
            pairs.push((format!("attr.{k}"), v.to_string()));
        }
    }
    if rng.gen_bool(0.2) {
        pairs.push(("in_stock".into(), "true".into()));
    }
    if rng.gen_bool(0.25) {
        let lo = rng.gen_range(0..8_000);
        pairs.push(("min_price".into(), lo.to_string()));
        pairs.push(("max_price".into(), (lo + rng.gen_range(0..30_000)).to_string()));
    }
    if with_text && rng.gen_bool(0.7) {
        let words = vitrina::domain::text::words(&format!("{} {}", p.name, p.brand));
        let mut w = words[rng.gen_range(0..words.len())].clone();
        match rng.gen_range(0..4) {
            0 if w.chars().count() > 3 => w = w.chars().take(w.chars().count() - 1).collect(), // type-ahead
            1 if w.len() >= 5 && w.is_ascii() => {
                let mut b: Vec<u8> = w.into_bytes(); // a typo: two letters swapped
                b.swap(1, 2);
                w = String::from_utf8(b).unwrap();
            }
            2 => w = w.to_uppercase(),
            _ => {}
        }
        pairs.push(("q".into(), w));
    }
    let sort = Sort::ALL[rng.gen_range(0..Sort::ALL.len())];
    pairs.push(("sort".into(), sort.as_str().into()));
    pairs.push(("per_page".into(), ["5", "24"][rng.gen_range(0..2)].into()));
    pairs.push(("page".into(), rng.gen_range(1..4).to_string()));
    CatalogQuery::from_pairs(pairs).unwrap()
}

async fn indexed(store: Arc<dyn CatalogStore>) -> (CatalogService, Arc<RoaringIndex>) {
    let index = Arc::new(RoaringIndex::new());
    let svc = CatalogService::new(store, Arc::new(MemoryCache::new(1 << 22)), Duration::ZERO).with_index(index.clone());
    let report = svc.sync_index().await.unwrap();
    assert!(report.full && index.is_loaded());
    (svc, index)
}

async fn index_agrees_with_a_plain_scan_and_with_the_store(store: Arc<dyn CatalogStore>, store_queries: usize) {
    store.upsert_products(&dataset(400)).await.unwrap();
    let (_svc, index) = indexed(store.clone()).await;
    let products = all_products(&store).await;
    assert_eq!(products.len(), 400);
    let mut rng = StdRng::seed_from_u64(20261201);
    let mut non_empty = 0;
    for i in 0..300 {
        let query = random_query(&mut rng, &products, true);
        let got = index.search(&query);
        assert_eq!(got, plain(&products, &query), "query {i}: {}", query.to_query_string());
        non_empty += usize::from(got.total > 0);
    }
    assert!(non_empty > 150, "the random queries mostly find something ({non_empty} of 300)");
    // without text, the index answers exactly what the store's own query answers today
    for i in 0..store_queries {
        let query = random_query(&mut rng, &products, false);
        assert_eq!(index.search(&query), store.search(&query).await.unwrap(), "store query {i}: {}", query.to_query_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_sqlite() {
    let f = common::store_fixture(common::Adapter::Sqlite).await.unwrap();
    index_agrees_with_a_plain_scan_and_with_the_store(f.store.clone(), 150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_mongodb() {
    if let Some(f) = common::store_fixture(common::Adapter::MongoDb).await {
        // nx-27017 answers a faceted query in about half a second
        index_agrees_with_a_plain_scan_and_with_the_store(f.store.clone(), 20).await;
    }
}

async fn finds_typos_stems_and_diacritics(store: Arc<dyn CatalogStore>) {
    store.upsert_products(&dataset(60)).await.unwrap();
    let (svc, _) = indexed(store).await;
    let names = |qs: &str| {
        let svc = svc.clone();
        let query = CatalogQuery::from_query_string(qs).unwrap();
        async move { svc.search(&query).await.unwrap().items.into_iter().map(|i| i.name).collect::<Vec<_>>() }
    };
    assert!(names("q=jaens").await.iter().any(|n| n.to_lowercase().contains("jeans")), "a transposed letter still finds jeans");
    assert!(names("q=pantofi").await.contains(&"Pantof sport alb".to_string()), "plural finds singular (Romanian stem)");
    assert!(names("q=rochii").await.contains(&"Rochie de vară cu flori".to_string()));
    assert!(names("q=vara").await.contains(&"Rochie de vară cu flori".to_string()), "no diacritics typed");
    assert!(names("q=stofa").await.contains(&"Ștofă de lână".to_string()));
    assert!(names("q=%C8%99tof%C4%83").await.contains(&"Stofa groasă".to_string()), "ștofă finds Stofa");
    assert!(names("q=%C5%9Ftof%C4%83").await.contains(&"Ștofă de lână".to_string()), "cedilla ş as well as comma ș");
    assert!(names("q=pant").await.contains(&"Pantof sport alb".to_string()), "type-ahead prefix");
    assert!(names("q=zzqqxx").await.is_empty());
    // a name match ranks above a match elsewhere
    let ranked = names("q=blugi").await;
    assert_eq!(ranked.first().map(String::as_str), Some("Blugi jeans clasici"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn better_search_sqlite() {
    let f = common::store_fixture(common::Adapter::Sqlite).await.unwrap();
    finds_typos_stems_and_diacritics(f.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn better_search_mongodb() {
    if let Some(f) = common::store_fixture(common::Adapter::MongoDb).await {
        finds_typos_stems_and_diacritics(f.store.clone()).await;
    }
}

async fn follows_writes(store: Arc<dyn CatalogStore>, inventory: Arc<dyn InventoryStore>) {
    let products = dataset(40);
    store.upsert_products(&products).await.unwrap();
    let (a, _) = indexed(store.clone()).await;
    let (b, b_index) = indexed(store.clone()).await;
    let find = |svc: &CatalogService, qs: &str| {
        let (svc, query) = (svc.clone(), CatalogQuery::from_query_string(qs).unwrap());
        async move { svc.search(&query).await.unwrap().total }
    };
    // a write through one instance's service is searchable there at once ...
    let mut renamed = products[20].clone();
    renamed.name = "Quokka Lantern".into();
    a.save_products(&[renamed.clone()]).await.unwrap();
    assert_eq!(find(&a, "q=quokka").await, 1);
    // ... and on another instance after its next poll, without a full rebuild
    assert_eq!(find(&b, "q=quokka").await, 0);
    let report = b.sync_index().await.unwrap();
    assert!(!report.full && report.changed >= 1, "{report:?}");
    assert_eq!(find(&b, "q=quokka").await, 1);
    // stock snapshots follow: in stock, then sold out
    let set_all = |n: i64| {
        let (inventory, store, p) = (inventory.clone(), store.clone(), renamed.clone());
        async move {
            for v in &p.variants {
                inventory.set_stock(&v.sku, n).await.unwrap();
            }
            store.sync_stock_snapshot(&[p.id.clone()]).await.unwrap();
        }
    };
    set_all(5).await;
    b.sync_index().await.unwrap();
    assert_eq!(find(&b, "q=quokka&in_stock=true").await, 1);
    set_all(0).await;
    b.sync_index().await.unwrap();
    assert_eq!(find(&b, "q=quokka&in_stock=true").await, 0, "sold out");
    assert_eq!(find(&b, "q=quokka").await, 1);
    // a deletion on another instance: the counts disagree, the index rebuilds
    store.delete_product(&products[21].id).await.unwrap();
    let report = b.sync_index().await.unwrap();
    assert!(report.full);
    assert_eq!(b_index.len(), 39);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_writes_sqlite() {
    let f = common::store_fixture(common::Adapter::Sqlite).await.unwrap();
    follows_writes(f.store.clone(), f.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_writes_mongodb() {
    if let Some(f) = common::store_fixture(common::Adapter::MongoDb).await {
        follows_writes(f.store.clone(), f.store.clone()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_search_finds_romanian_word_forms_and_typos() {
    let app = common::spawn_app(200).await;
    let extra: Vec<Product> = dataset(300).into_iter().skip(10).take(5).map(|mut p| {
        p.id = format!("ro-{}", p.id);
        p.slug = format!("ro-{}", p.slug);
        for v in &mut p.variants {
            v.sku = format!("RO-{}", v.sku);
        }
        p
    }).collect();
    app.state.catalog.save_products(&extra).await.unwrap();
    app.state.catalog.sync_index().await.unwrap(); // loaded, whatever the background build is doing
    for (q, name) in [("jaens", "jeans"), ("pantofi", "Pantof sport"), ("rochii", "Rochie de vară"), ("stofa", "Ștofă"), ("%C8%99tof%C4%83", "Stofa")] {
        let (status, body) = app.json(&format!("/api/v1/products?q={q}")).await;
        assert_eq!(status, 200);
        let names: Vec<String> = body["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
        assert!(names.iter().any(|n| n.to_lowercase().contains(&name.to_lowercase())), "q={q}: {names:?}");
    }
    let (status, body) = app.json("/api/v1/search/suggest?q=pant").await;
    assert_eq!(status, 200);
    assert!(body["products"].as_array().unwrap().iter().any(|p| p["name"].as_str().unwrap().starts_with("Pantof")), "{body}");
    let (_, body) = app.json("/api/v1/search/suggest?q=lapt").await;
    assert!(body["categories"].as_array().unwrap().iter().any(|c| c["path"] == "electronics/laptops"), "{body}");
    let (status, _) = app.json(&format!("/api/v1/search/suggest?q={}", "x".repeat(300))).await;
    assert_eq!(status, 400);
}
