//! Contract tests: every catalog store (embedded SQLite and MongoDB) must
//! behave the same. Each behaviour is one function, run once per adapter.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{mongo_store, oracle_matches, sqlite_store};
use vitrina::domain::category::Category;
use vitrina::domain::product::{Product, ProductStatus};
use vitrina::domain::query::{CatalogQuery, Sort};
use vitrina::ports::{CatalogStore, StoreError};
use vitrina::services::demo::demo_product;

const N: u64 = 240;

fn dataset() -> Vec<Product> {
    let mut products: Vec<Product> = (0..N).map(demo_product).collect();
    // a few that must never be listed
    products[3].status = ProductStatus::Draft;
    products[7].status = ProductStatus::Archived;
    products
}

async fn load(store: &Arc<dyn CatalogStore>) -> Vec<Product> {
    let products = dataset();
    store.upsert_products(&products).await.expect("upsert");
    products
}

fn q(qs: &str) -> CatalogQuery {
    CatalogQuery::from_query_string(qs).expect(qs)
}

async fn all_ids(store: &Arc<dyn CatalogStore>, query: &CatalogQuery) -> Vec<String> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let mut qp = query.with_page(page);
        qp.per_page = 100;
        let r = store.search(&qp).await.expect("search");
        let n = r.items.len();
        out.extend(r.items.into_iter().map(|i| i.id));
        if n < 100 {
            break;
        }
        page += 1;
    }
    out
}

// ---------------------------------------------------------------- behaviours

async fn round_trips_products(store: Arc<dyn CatalogStore>) {
    let products = load(&store).await;
    let p = &products[11];
    assert_eq!(store.product_by_slug(&p.slug).await.unwrap().as_ref(), Some(p));
    assert_eq!(store.product_by_id(&p.id).await.unwrap().as_ref(), Some(p));
    assert_eq!(store.product_by_slug("no-such-slug").await.unwrap(), None);
    assert_eq!(store.count_products().await.unwrap(), N);
    // replacing by id updates in place
    let mut changed = p.clone();
    changed.name = "Renamed".into();
    changed.attributes.insert("brand_new_key".into(), vitrina::domain::product::AttrValue::Text("Fresh".into()));
    store.upsert_products(&[changed.clone()]).await.unwrap();
    assert_eq!(store.product_by_id(&p.id).await.unwrap(), Some(changed));
    assert_eq!(store.count_products().await.unwrap(), N);
    let r = store.search(&q("attr.brand_new_key=Fresh")).await.unwrap();
    assert_eq!(r.total, 1, "a brand-new attribute key is filterable with no schema change");
    assert_eq!(r.facets["brand_new_key"][0].count, 1);
}

async fn refuses_duplicate_slug_and_sku(store: Arc<dyn CatalogStore>) {
    let products = load(&store).await;
    let mut dup_slug = demo_product(N + 1);
    dup_slug.slug = products[0].slug.clone();
    assert!(matches!(store.upsert_products(&[dup_slug]).await, Err(StoreError::Conflict(_))));
    let mut dup_sku = demo_product(N + 2);
    dup_sku.variants[0].sku = products[5].variants[0].sku.clone();
    assert!(matches!(store.upsert_products(&[dup_sku]).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.count_products().await.unwrap(), N, "a refused write leaves nothing behind");
}

async fn lists_only_active_products(store: Arc<dyn CatalogStore>) {
    let products = load(&store).await;
    let ids = all_ids(&store, &CatalogQuery::new()).await;
    assert_eq!(ids.len(), products.len() - 2);
    assert!(!ids.contains(&products[3].id) && !ids.contains(&products[7].id));
}

async fn filters_agree_with_the_oracle(store: Arc<dyn CatalogStore>) {
    let products = load(&store).await;
    let queries = [
        "category=clothing",
        "category=clothing/t-shirts",
        "category=electronics&attr.ram_gb=16",
        "attr.color=Red&attr.size=M",
        "attr.color=Red&attr.color=Blue&attr.size=L",
        "attr.brand=Acme&in_stock=true",
        "min_price=2000&max_price=6000",
        "q=shirt",
        "q=acme+tee",
        "q=lapt",
        "q=novel&attr.language=English",
        "category=books&attr.tags=bestseller",
        "attr.organic=yes",
        "category=shoes&attr.size=42&in_stock=true&max_price=15000",
        "q=zzzznothing",
    ];
    for qs in queries {
        let query = q(qs);
        let mut expected: Vec<String> = products.iter().filter(|p| oracle_matches(p, &query)).map(|p| p.id.clone()).collect();
        let mut got = all_ids(&store, &query).await;
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "{qs}");
        let r = store.search(&query).await.unwrap();
        assert_eq!(r.total as usize, expected.len(), "total for {qs}");
    }
}

async fn facet_counts_equal_matching_products(store: Arc<dyn CatalogStore>) {
    let products = load(&store).await;
    for qs in ["category=clothing", "attr.color=Red&attr.size=M", "category=electronics&attr.ram_gb=16&attr.ram_gb=32", "q=acme"] {
        let query = q(qs);
        let r = store.search(&query).await.unwrap();
        assert!(!r.facets.is_empty(), "{qs} has facets");
        for (key, values) in &r.facets {
            // a filtered key counts without its own filter, the others with every filter
            let base = if query.attrs.contains_key(key) { query.without_attr(key) } else { query.clone() };
            for fv in values {
                let token = format!("{key}={}", fv.value);
                let expected = products.iter().filter(|p| oracle_matches(p, &base) && p.facet_tokens().contains(&token)).count() as u64;
                assert_eq!(fv.count, expected, "{qs}: facet {token}");
            }
            // and no value with matches is missing
            let listed: BTreeSet<&str> = values.iter().map(|v| v.value.as_str()).collect();
            for p in products.iter().filter(|p| oracle_matches(p, &base)) {
                for t in p.facet_tokens() {
                    if let Some(v) = t.strip_prefix(&format!("{key}=")) {
                        assert!(listed.contains(v), "{qs}: facet {key} lacks {v}");
                    }
                }
            }
        }
    }
}

async fn sorts_and_pages_consistently(store: Arc<dyn CatalogStore>) {
    let products = load(&store).await;
    let prices: BTreeMap<String, i64> = products.iter().map(|p| (p.id.clone(), p.min_price().amount)).collect();
    let created: BTreeMap<String, i64> = products.iter().map(|p| (p.id.clone(), p.created_at.timestamp_millis())).collect();
    let popularity: BTreeMap<String, i64> = products.iter().map(|p| (p.id.clone(), p.popularity)).collect();
    let in_stock: BTreeMap<String, bool> = products.iter().map(|p| (p.id.clone(), p.in_stock())).collect();
    for sort in Sort::ALL {
        let mut query = q("category=clothing");
        query.sort = sort;
        query.per_page = 7;
        let mut paged = Vec::new();
        for page in 1..=4 {
            let r = store.search(&query.with_page(page)).await.unwrap();
            assert_eq!(r.page, page);
            assert!(r.items.len() <= 7);
            paged.extend(r.items.into_iter().map(|i| i.id));
        }
        let unique: BTreeSet<_> = paged.iter().collect();
        assert_eq!(unique.len(), paged.len(), "{sort:?}: pages do not overlap");
        // relevance: products in stock first, then the popular ones
        let key = |id: &String| match sort {
            Sort::PriceAsc => (0, prices[id]),
            Sort::PriceDesc => (0, -prices[id]),
            Sort::Newest => (0, -created[id]),
            Sort::Popular => (0, -popularity[id]),
            Sort::Relevance => (!in_stock[id] as i64, -popularity[id]),
        };
        assert!(paged.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "{sort:?} order across pages");
    }
    let beyond = store.search(&q("category=clothing&page=500")).await.unwrap();
    assert!(beyond.items.is_empty());
    assert!(beyond.total > 0, "the total stays when a page is past the end");
}

async fn categories_and_counts(store: Arc<dyn CatalogStore>) {
    let products = load(&store).await;
    store
        .upsert_categories(&[Category { path: "clothing".into(), name: "Clothing".into() }, Category { path: "clothing/jeans".into(), name: "Jeans".into() }])
        .await
        .unwrap();
    store.upsert_categories(&[Category { path: "clothing".into(), name: "Apparel".into() }]).await.unwrap();
    let cats = store.categories().await.unwrap();
    assert_eq!(cats.len(), 2);
    assert_eq!(cats.iter().find(|c| c.path == "clothing").unwrap().name, "Apparel");
    let counts: BTreeMap<String, u64> = store.active_counts_by_category().await.unwrap().into_iter().collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for p in products.iter().filter(|p| p.status == ProductStatus::Active) {
        *expected.entry(p.category.clone()).or_default() += 1;
    }
    assert_eq!(counts, expected);
    // "clothing" must not match a sibling path that merely shares the prefix
    let mut odd = demo_product(N + 3);
    odd.category = "clothingx".into();
    store.upsert_products(&[odd.clone()]).await.unwrap();
    let ids = all_ids(&store, &q("category=clothing")).await;
    assert!(!ids.contains(&odd.id));
}

async fn reset_empties_the_store(store: Arc<dyn CatalogStore>) {
    load(&store).await;
    store.reset().await.unwrap();
    assert_eq!(store.count_products().await.unwrap(), 0);
    assert!(store.categories().await.unwrap().is_empty());
    assert_eq!(store.search(&CatalogQuery::new()).await.unwrap().total, 0);
    store.ping().await.unwrap();
}

// ---------------------------------------------------------------- runs per adapter

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = sqlite_store();
                    super::$name(h.store.clone()).await;
                }
            )*
        }
        mod mongodb {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = mongo_store().await {
                        super::$name(store).await;
                    }
                }
            )*
        }
    };
}

contract!(
    round_trips_products,
    refuses_duplicate_slug_and_sku,
    lists_only_active_products,
    filters_agree_with_the_oracle,
    facet_counts_equal_matching_products,
    sorts_and_pages_consistently,
    categories_and_counts,
    reset_empties_the_store,
);

// ---------------------------------------------------------------- accounts contract

mod accounts_contract {
    use std::sync::Arc;

    use chrono::{Duration, Utc};
    use vitrina::domain::user::{Role, User};
    use vitrina::infra::mongo::MongoCatalog;
    use vitrina::infra::sqlite::{SqliteCatalog, SqliteStore};
    use vitrina::ports::{Consumed, KeyValueStore, RefreshRecord, StoreError, TokenStore, UserStore};

    fn user(id: &str, email: &str) -> User {
        User { id: id.into(), email: email.into(), name: format!("Name {id}"), password_hash: "$argon2id$x".into(), role: Role::Customer, disabled: false, created_at: Utc::now(), sessions_valid_from: None }
    }

    async fn users<S: UserStore>(s: &S) {
        let a = user("u1", "Ana@Example.com");
        s.create_user(&a).await.unwrap();
        assert!(matches!(s.create_user(&user("u2", "ana@example.COM")).await, Err(StoreError::Conflict(_))), "case-insensitive unique e-mail");
        assert_eq!(s.user_by_email("ana@example.com").await.unwrap(), Some(a.clone()));
        assert_eq!(s.user_by_id("u1").await.unwrap(), Some(a.clone()));
        let mut b = user("u3", "bob@example.com");
        b.created_at = a.created_at + Duration::seconds(5);
        s.create_user(&b).await.unwrap();
        let mut changed = a.clone();
        changed.disabled = true;
        changed.role = Role::Partner;
        s.update_user(&changed).await.unwrap();
        assert_eq!(s.user_by_id("u1").await.unwrap(), Some(changed));
        let (all, total) = s.list_users(None, 0, 10).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(all[0].id, "u3", "newest first");
        let (found, total) = s.list_users(Some("BOB"), 0, 10).await.unwrap();
        assert_eq!((found.len(), total), (1, 1));
        let (none, _) = s.list_users(Some(".*"), 0, 10).await.unwrap();
        assert!(none.is_empty(), "search text is literal, not a pattern");
        let (page, total) = s.list_users(None, 1, 1).await.unwrap();
        assert_eq!((page.len(), total), (1, 2));
        // several by id in one read: unknown ids left out, duplicates once
        let mut both = s.users_by_ids(&["u3".into(), "nobody".into(), "u1".into()]).await.unwrap();
        both.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(both.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["u1", "u3"]);
        assert!(s.users_by_ids(&[]).await.unwrap().is_empty());
    }

    async fn tokens<S: TokenStore>(s: &S) {
        let now = Utc::now();
        s.create_family("f1", "u1", now).await.unwrap();
        assert_eq!(s.active_family_owner("f1").await.unwrap().as_deref(), Some("u1"));
        assert_eq!(s.active_family_owner("nope").await.unwrap(), None);
        let rec = RefreshRecord { token_hash: "h1".into(), family_id: "f1".into(), user_id: "u1".into(), expires_at: now + Duration::days(1) };
        s.insert_refresh(&rec).await.unwrap();
        // the owner can be read without using the token up
        assert_eq!(s.refresh_owner("h1").await.unwrap().as_deref(), Some("u1"));
        assert_eq!(s.refresh_owner("unknown").await.unwrap(), None);
        match s.consume_refresh("h1", now).await.unwrap() {
            Consumed::Fresh(r) => assert_eq!((r.family_id.as_str(), r.user_id.as_str()), ("f1", "u1")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.consume_refresh("h1", now).await.unwrap(), Consumed::Reused(_)));
        assert_eq!(s.consume_refresh("unknown", now).await.unwrap(), Consumed::Unknown);
        s.revoke_family("f1", now).await.unwrap();
        assert_eq!(s.active_family_owner("f1").await.unwrap(), None);
        s.create_family("f2", "u9", now).await.unwrap();
        s.create_family("f3", "u9", now).await.unwrap();
        s.revoke_user_families("u9", now).await.unwrap();
        assert!(s.active_family_owner("f2").await.unwrap().is_none() && s.active_family_owner("f3").await.unwrap().is_none());
    }

    async fn single_winner<S: TokenStore + 'static>(s: Arc<S>) {
        let now = Utc::now();
        s.create_family("fx", "u1", now).await.unwrap();
        s.insert_refresh(&RefreshRecord { token_hash: "race".into(), family_id: "fx".into(), user_id: "u1".into(), expires_at: now + Duration::days(1) }).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.consume_refresh("race", Utc::now()).await.unwrap() }));
        }
        let mut fresh = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Consumed::Fresh(_)) {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1, "exactly one concurrent consumer wins");
    }

    async fn key_values<S: KeyValueStore>(s: &S) {
        assert_eq!(s.kv_get("session", "a").await.unwrap(), None);
        s.kv_put("session", "a", b"one", Some(Utc::now() + Duration::hours(1))).await.unwrap();
        assert_eq!(s.kv_get("session", "a").await.unwrap().as_deref(), Some(&b"one"[..]));
        s.kv_put("session", "a", b"two", None).await.unwrap();
        assert_eq!(s.kv_get("session", "a").await.unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(s.kv_get("other", "a").await.unwrap(), None, "namespaces are separate");
        s.kv_put("session", "old", b"x", Some(Utc::now() - Duration::seconds(1))).await.unwrap();
        assert_eq!(s.kv_get("session", "old").await.unwrap(), None, "expired values are gone");
        s.kv_delete("session", "a").await.unwrap();
        assert_eq!(s.kv_get("session", "a").await.unwrap(), None);
        assert_eq!(s.kv_put_if_absent("settings", "k", b"first").await.unwrap(), b"first");
        assert_eq!(s.kv_put_if_absent("settings", "k", b"second").await.unwrap(), b"first", "first writer wins");
    }

    fn sqlite() -> (Arc<SqliteCatalog>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Arc::new(SqliteCatalog(SqliteStore::open(&dir.path().join("t.db")).unwrap())), dir)
    }

    async fn mongo() -> Option<Arc<MongoCatalog>> {
        let uri = crate::common::mongo_uri()?;
        Some(Arc::new(MongoCatalog::connect(&uri, &crate::common::unique_name("vitrina_acc")).await.unwrap()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_users() { let (s, _d) = sqlite(); users(&*s).await; }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_tokens() { let (s, _d) = sqlite(); tokens(&*s).await; single_winner(s).await; }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_key_values() { let (s, _d) = sqlite(); key_values(&*s).await; }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mongodb_users() { if let Some(s) = mongo().await { users(&*s).await; } }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mongodb_tokens() { if let Some(s) = mongo().await { tokens(&*s).await; single_winner(s).await; } }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mongodb_key_values() { if let Some(s) = mongo().await { key_values(&*s).await; } }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_key_values() {
        if let Some(url) = crate::common::redis_url() {
            let r = vitrina::infra::redis_cache::RedisCache::connect(&url, &format!("{}:", crate::common::unique_name("t"))).await.unwrap();
            key_values(&r).await;
        }
    }
}

// ---------------------------------------------------------------- audit log and low stock contract

mod operations_contract {
    use std::sync::Arc;

    use chrono::{DateTime, Duration, TimeZone, Utc};
    use vitrina::domain::audit::{AuditEntry, AuditFilter};
    use vitrina::domain::product::Product;
    use vitrina::infra::mongo::MongoCatalog;
    use vitrina::infra::sqlite::{SqliteCatalog, SqliteStore};
    use vitrina::ports::{AuditStore, CatalogStore, InventoryStore, StockLevel};
    use vitrina::services::demo::demo_product;

    const T0: i64 = 1_800_000_000_123;

    /// Whole milliseconds: both stores keep `at` to the millisecond.
    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().expect("a valid time")
    }

    fn entry(id: &str, ms: i64, email: &str, action: &str, target: &str, before: Option<&str>, after: Option<&str>) -> AuditEntry {
        AuditEntry {
            id: id.into(),
            at: at(ms),
            actor_id: format!("u-{}", email.to_lowercase()),
            actor_email: email.into(),
            action: action.into(),
            target: target.into(),
            summary: format!("{action} on {target} → done"),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
        }
    }

    fn entries() -> Vec<AuditEntry> {
        vec![
            entry("a1", T0, "Admin@Shop.test", "product.create", "p1", None, Some(r#"{"price":1999}"#)),
            entry("a2", T0 + 1_000, "ana@shop.test", "product.update", "p1", Some(r#"{"price":1999}"#), Some(r#"{"price":1799}"#)),
            entry("a3", T0 + 2_001, "bob@example.com", "products.import", "batch-1", None, None),
            entry("a4", T0 + 3_500, "ADMIN@shop.test", "order.status", "o1", Some(r#"{"status":"placed"}"#), Some(r#"{"status":"shipped"}"#)),
            // same time as a4: the tie is broken by id, newest (highest) first
            entry("a5", T0 + 3_500, "admin@shop.test", "user.update", "u7", Some("{}"), None),
            entry("a6", T0 + 7_777, "carol+ops@shop.test", "product", "p2", None, None),
        ]
    }

    /// What `list_audit` must return: `AuditFilter::matches`, newest first, ties by id (highest first).
    fn oracle(all: &[AuditEntry], f: &AuditFilter) -> Vec<AuditEntry> {
        let mut found: Vec<AuditEntry> = all.iter().filter(|e| f.matches(e)).cloned().collect();
        found.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        found
    }

    fn ids(entries: &[AuditEntry]) -> Vec<String> {
        entries.iter().map(|e| e.id.clone()).collect()
    }

    async fn audit_log<S: AuditStore>(s: &S) {
        let all = entries();
        // recorded out of order: the store sorts
        for i in [2, 0, 5, 1, 4, 3] {
            s.record_audit(&all[i]).await.unwrap();
        }

        // every field comes back, `before`/`after` both absent and present
        let (got, total) = s.list_audit(&AuditFilter::default(), 0, 100).await.unwrap();
        assert_eq!(total, 6);
        assert_eq!(got, oracle(&all, &AuditFilter::default()), "round trip, newest first");
        assert_eq!(ids(&got), ["a6", "a5", "a4", "a3", "a2", "a1"]);

        let half_ms = Duration::microseconds(500);
        let filters = [
            ("none", AuditFilter::default()),
            ("actor, other case", AuditFilter { actor: Some("ADMIN@".into()), ..Default::default() }),
            ("actor, mixed case domain", AuditFilter { actor: Some("sHoP.TeSt".into()), ..Default::default() }),
            ("actor, regex characters are literal", AuditFilter { actor: Some("+ops".into()), ..Default::default() }),
            ("actor, no pattern", AuditFilter { actor: Some("a.*n".into()), ..Default::default() }),
            ("action prefix", AuditFilter { action: Some("product".into()), ..Default::default() }),
            ("action exact", AuditFilter { action: Some("product.update".into()), ..Default::default() }),
            ("action, not a plain prefix", AuditFilter { action: Some("prod".into()), ..Default::default() }),
            ("action order", AuditFilter { action: Some("order".into()), ..Default::default() }),
            ("target", AuditFilter { target: Some("p1".into()), ..Default::default() }),
            ("target is exact", AuditFilter { target: Some("p".into()), ..Default::default() }),
            ("window, from inclusive, to exclusive", AuditFilter { from: Some(at(T0 + 1_000)), to: Some(at(T0 + 3_500)), ..Default::default() }),
            ("from only", AuditFilter { from: Some(at(T0 + 3_500)), ..Default::default() }),
            ("to only", AuditFilter { to: Some(at(T0 + 1_000)), ..Default::default() }),
            (
                "bounds between milliseconds",
                AuditFilter { from: Some(at(T0 + 2_001) + half_ms), to: Some(at(T0 + 3_500) + half_ms), ..Default::default() },
            ),
            (
                "combined",
                AuditFilter { actor: Some("admin".into()), action: Some("product".into()), from: Some(at(T0)), to: Some(at(T0 + 10_000)), ..Default::default() },
            ),
        ];
        for (what, f) in &filters {
            let expected = oracle(&all, f);
            let (got, total) = s.list_audit(f, 0, 100).await.unwrap();
            assert_eq!(ids(&got), ids(&expected), "{what}: {f:?}");
            assert_eq!(total, expected.len() as u64, "{what}: total");
        }
        // the oracle itself: these filters select what they say
        assert_eq!(ids(&oracle(&all, &filters[1].1)), ["a5", "a4", "a1"]);
        assert_eq!(ids(&oracle(&all, &filters[5].1)), ["a6", "a2", "a1"]);
        assert_eq!(ids(&oracle(&all, &filters[14].1)), ["a5", "a4"]);

        // pages: offset/limit over the same order, the total unchanged
        let expected = oracle(&all, &AuditFilter::default());
        let mut paged = Vec::new();
        for offset in [0, 2, 4] {
            let (page, total) = s.list_audit(&AuditFilter::default(), offset, 2).await.unwrap();
            assert_eq!(total, 6);
            assert_eq!(page.len(), 2, "offset {offset}");
            paged.extend(page);
        }
        assert_eq!(ids(&paged), ids(&expected));
        let (page, total) = s.list_audit(&AuditFilter::default(), 1, 3).await.unwrap();
        assert_eq!((ids(&page), total), (ids(&expected[1..4]), 6));
        let (page, total) = s.list_audit(&AuditFilter::default(), 6, 10).await.unwrap();
        assert_eq!((page.len(), total), (0, 6), "past the end: no entries, the total stays");
        let action = AuditFilter { action: Some("product".into()), ..Default::default() };
        let (page, total) = s.list_audit(&action, 1, 1).await.unwrap();
        assert_eq!((ids(&page), total), (vec!["a2".to_string()], 3));
    }

    /// A product whose variants have these SKUs and stock.
    fn product(i: u64, stock: &[(&str, i64)]) -> Product {
        let mut p = demo_product(i);
        let template = p.variants[0].clone();
        p.variants = stock
            .iter()
            .enumerate()
            .map(|(k, (sku, n))| {
                let mut v = template.clone();
                v.sku = sku.to_string();
                v.stock = *n;
                v.options.insert("pack".into(), k.to_string());
                v
            })
            .collect();
        p
    }

    async fn low_stock_levels<S: CatalogStore + InventoryStore>(s: &S) {
        let a = product(1, &[("LS-A1", 0), ("LS-A2", 5), ("LS-A3", 2)]);
        let b = product(2, &[("LS-B1", 2), ("LS-B2", 9), ("LS-B3", 0)]);
        s.upsert_products(&[a.clone(), b.clone()]).await.unwrap();
        let level = |sku: &str, p: &Product, stock: i64| StockLevel { sku: sku.into(), product_id: p.id.clone(), stock };

        assert_eq!(
            s.low_stock(2, 10).await.unwrap(),
            vec![level("LS-A1", &a, 0), level("LS-B3", &b, 0), level("LS-A3", &a, 2), level("LS-B1", &b, 2)],
            "at most the threshold, lowest first, ties by SKU"
        );
        assert_eq!(s.low_stock(2, 3).await.unwrap(), vec![level("LS-A1", &a, 0), level("LS-B3", &b, 0), level("LS-A3", &a, 2)], "the limit truncates");
        assert_eq!(s.low_stock(2, 1).await.unwrap(), vec![level("LS-A1", &a, 0)]);
        assert_eq!(
            s.low_stock(100, 10).await.unwrap(),
            vec![
                level("LS-A1", &a, 0),
                level("LS-B3", &b, 0),
                level("LS-A3", &a, 2),
                level("LS-B1", &b, 2),
                level("LS-A2", &a, 5),
                level("LS-B2", &b, 9),
            ]
        );
        assert!(s.low_stock(-1, 10).await.unwrap().is_empty());

        // the inventory is the truth, not the product's variants
        s.set_stock("LS-B2", 1).await.unwrap();
        s.set_stock("LS-A1", 4).await.unwrap();
        assert_eq!(s.low_stock(1, 10).await.unwrap(), vec![level("LS-B3", &b, 0), level("LS-B2", &b, 1)]);
    }

    fn sqlite() -> (Arc<SqliteCatalog>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Arc::new(SqliteCatalog(SqliteStore::open(&dir.path().join("t.db")).unwrap())), dir)
    }

    /// A fresh database per test.
    async fn mongo() -> Option<Arc<MongoCatalog>> {
        let uri = crate::common::mongo_uri()?;
        Some(Arc::new(MongoCatalog::connect(&uri, &crate::common::unique_name("vitrina_ops")).await.unwrap()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_audit_log() { let (s, _d) = sqlite(); audit_log(&*s).await; }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_low_stock() { let (s, _d) = sqlite(); low_stock_levels(&*s).await; }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mongodb_audit_log() { if let Some(s) = mongo().await { audit_log(&*s).await; } }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mongodb_low_stock() { if let Some(s) = mongo().await { low_stock_levels(&*s).await; } }
}
