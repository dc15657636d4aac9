//! Contract tests: both stores (embedded SQLite and MongoDB) implement every
//! store port the same way. One suite per port (catalog, users, tokens,
//! key-value, audit, inventory, carts, orders); `contract!` runs each suite once
//! per adapter, on a fresh store from the one fixture (`common::store_fixture`).
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{oracle_matches, store_fixture, Adapter, AllStores};
use vitrina::domain::category::Category;
use vitrina::domain::product::{Product, ProductStatus};
use vitrina::domain::query::{CatalogQuery, Sort};
use vitrina::ports::StoreError;
use vitrina::services::demo::demo_product;

const N: u64 = 240;

fn dataset() -> Vec<Product> {
    let mut products: Vec<Product> = (0..N).map(demo_product).collect();
    // a few that must never be listed
    products[3].status = ProductStatus::Draft;
    products[7].status = ProductStatus::Archived;
    products
}

async fn load(store: &Stores) -> Vec<Product> {
    let products = dataset();
    store.upsert_products(&products).await.expect("upsert");
    products
}

fn q(qs: &str) -> CatalogQuery {
    CatalogQuery::from_query_string(qs).expect(qs)
}

async fn all_ids(store: &Stores, query: &CatalogQuery) -> Vec<String> {
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

async fn round_trips_products(store: Stores) {
    let products = load(&store).await;
    let p = &products[11];
    assert_eq!(
        store.product_by_slug(&p.slug).await.unwrap().as_ref(),
        Some(p)
    );
    assert_eq!(store.product_by_id(&p.id).await.unwrap().as_ref(), Some(p));
    assert_eq!(store.product_by_slug("no-such-slug").await.unwrap(), None);
    assert_eq!(store.count_products().await.unwrap(), N);
    // replacing by id updates in place
    let mut changed = p.clone();
    changed.name = "Renamed".into();
    changed.attributes.insert(
        "brand_new_key".into(),
        vitrina::domain::product::AttrValue::Text("Fresh".into()),
    );
    store.upsert_products(&[changed.clone()]).await.unwrap();
    assert_eq!(store.product_by_id(&p.id).await.unwrap(), Some(changed));
    assert_eq!(store.count_products().await.unwrap(), N);
    let r = store.search(&q("attr.brand_new_key=Fresh")).await.unwrap();
    assert_eq!(
        r.total, 1,
        "a brand-new attribute key is filterable with no schema change"
    );
    assert_eq!(r.facets["brand_new_key"][0].count, 1);
}

async fn refuses_duplicate_slug_and_sku(store: Stores) {
    let products = load(&store).await;
    let mut dup_slug = demo_product(N + 1);
    dup_slug.slug = products[0].slug.clone();
    assert!(matches!(
        store.upsert_products(&[dup_slug]).await,
        Err(StoreError::Conflict(_))
    ));
    let mut dup_sku = demo_product(N + 2);
    dup_sku.variants[0].sku = products[5].variants[0].sku.clone();
    assert!(matches!(
        store.upsert_products(&[dup_sku]).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.count_products().await.unwrap(),
        N,
        "a refused write leaves nothing behind"
    );
}

async fn lists_only_active_products(store: Stores) {
    let products = load(&store).await;
    let ids = all_ids(&store, &CatalogQuery::new()).await;
    assert_eq!(ids.len(), products.len() - 2);
    assert!(!ids.contains(&products[3].id) && !ids.contains(&products[7].id));
}

async fn filters_agree_with_the_oracle(store: Stores) {
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
        let mut expected: Vec<String> = products
            .iter()
            .filter(|p| oracle_matches(p, &query))
            .map(|p| p.id.clone())
            .collect();
        let mut got = all_ids(&store, &query).await;
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "{qs}");
        let r = store.search(&query).await.unwrap();
        assert_eq!(r.total as usize, expected.len(), "total for {qs}");
    }
}

async fn facet_counts_equal_matching_products(store: Stores) {
    let products = load(&store).await;
    for qs in [
        "category=clothing",
        "attr.color=Red&attr.size=M",
        "category=electronics&attr.ram_gb=16&attr.ram_gb=32",
        "q=acme",
    ] {
        let query = q(qs);
        let r = store.search(&query).await.unwrap();
        assert!(!r.facets.is_empty(), "{qs} has facets");
        for (key, values) in &r.facets {
            // a filtered key counts without its own filter, the others with every filter
            let base = if query.attrs.contains_key(key) {
                query.without_attr(key)
            } else {
                query.clone()
            };
            for fv in values {
                let token = format!("{key}={}", fv.value);
                let expected = products
                    .iter()
                    .filter(|p| oracle_matches(p, &base) && p.facet_tokens().contains(&token))
                    .count() as u64;
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

async fn sorts_and_pages_consistently(store: Stores) {
    let products = load(&store).await;
    let prices: BTreeMap<String, i64> = products
        .iter()
        .map(|p| (p.id.clone(), p.min_price().amount))
        .collect();
    let created: BTreeMap<String, i64> = products
        .iter()
        .map(|p| (p.id.clone(), p.created_at.timestamp_millis()))
        .collect();
    let popularity: BTreeMap<String, i64> = products
        .iter()
        .map(|p| (p.id.clone(), p.popularity))
        .collect();
    let in_stock: BTreeMap<String, bool> = products
        .iter()
        .map(|p| (p.id.clone(), p.in_stock()))
        .collect();
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
        assert!(
            paged.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
            "{sort:?} order across pages"
        );
    }
    let beyond = store
        .search(&q("category=clothing&page=500"))
        .await
        .unwrap();
    assert!(beyond.items.is_empty());
    assert!(
        beyond.total > 0,
        "the total stays when a page is past the end"
    );
}

async fn categories_and_counts(store: Stores) {
    let products = load(&store).await;
    store
        .upsert_categories(&[
            Category {
                path: "clothing".into(),
                name: "Clothing".into(),
            },
            Category {
                path: "clothing/jeans".into(),
                name: "Jeans".into(),
            },
        ])
        .await
        .unwrap();
    store
        .upsert_categories(&[Category {
            path: "clothing".into(),
            name: "Apparel".into(),
        }])
        .await
        .unwrap();
    let cats = store.categories().await.unwrap();
    assert_eq!(cats.len(), 2);
    assert_eq!(
        cats.iter().find(|c| c.path == "clothing").unwrap().name,
        "Apparel"
    );
    let counts: BTreeMap<String, u64> = store
        .active_counts_by_category()
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for p in products
        .iter()
        .filter(|p| p.status == ProductStatus::Active)
    {
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

async fn reset_empties_the_store(store: Stores) {
    load(&store).await;
    store.reset().await.unwrap();
    assert_eq!(store.count_products().await.unwrap(), 0);
    assert!(store.categories().await.unwrap().is_empty());
    assert_eq!(store.search(&CatalogQuery::new()).await.unwrap().total, 0);
    store.ping().await.unwrap();
}

// ---------------------------------------------------------------- runs per adapter

/// The store every suite gets: all ports of one adapter.
type Stores = Arc<dyn AllStores>;

/// One test per suite and adapter: `sqlite::<suite>` and `mongodb::<suite>`.
macro_rules! contract {
    ($($($seg:ident)::+ => $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let f = crate::store_fixture(crate::Adapter::Sqlite).await.expect("the embedded store");
                    crate::$($seg)::+(f.store.clone()).await;
                }
            )*
        }
        mod mongodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(f) = crate::store_fixture(crate::Adapter::MongoDb).await {
                        crate::$($seg)::+(f.store.clone()).await;
                    }
                }
            )*
        }
    };
}

contract!(
    round_trips_products => catalog_round_trips_products,
    refuses_duplicate_slug_and_sku => catalog_refuses_duplicate_slug_and_sku,
    lists_only_active_products => catalog_lists_only_active_products,
    filters_agree_with_the_oracle => catalog_filters_agree_with_the_oracle,
    facet_counts_equal_matching_products => catalog_facet_counts_equal_matching_products,
    sorts_and_pages_consistently => catalog_sorts_and_pages_consistently,
    categories_and_counts => catalog_categories_and_counts,
    reset_empties_the_store => catalog_reset_empties_the_store,
    accounts_contract::users => users,
    accounts_contract::tokens => tokens,
    accounts_contract::single_winner => tokens_single_winner,
    accounts_contract::key_values => key_values,
    operations_contract::audit_log => audit_log,
    operations_contract::low_stock_levels => inventory_low_stock,
    operations_contract::inventory => inventory_reserve_release_commit_restock,
    operations_contract::inventory_race => inventory_never_oversells,
    operations_contract::carts => carts_are_versioned,
    operations_contract::orders => orders,
    operations_contract::order_numbers => order_numbers_are_unique,
    operations_contract::ordered_markers => ordered_products_are_remembered,
    operations_contract::outbox => outbox_claims_and_finishes,
    operations_contract::outbox_claims_never_overlap => outbox_claims_never_overlap,
    operations_contract::order_writes_carry_entries => outbox_order_writes_carry_entries,
    operations_contract::webhook_endpoints => outbox_webhook_endpoints,
    operations_contract::recommendations => recommendations_baskets_table_and_settings,
    operations_contract::erasure => erasure_removes_messages_and_blanks_audit,
    promotions_contract::promotions => promotions_round_trip_and_unique_codes,
    promotions_contract::limits => promotions_count_uses_against_limits_and_give_them_back,
    promotions_contract::race => promotions_300_racing_for_100_uses,
    documents_contract::numbers => documents_numbers_are_gapless_and_unique,
    documents_contract::lifecycle => documents_files_and_efactura_states,
);

// ---------------------------------------------------------------- documents contract

mod documents_contract {
    use std::sync::Arc;

    use chrono::{Duration, Utc};
    use vitrina::domain::invoice::{DocKind, Document, Efactura, EfacturaState, Party};
    use vitrina::domain::order::Address;
    use vitrina::ports::{Claimed, DocFile, DocumentFilter, DocumentStore};

    fn doc(series: &str, number: u64, order: &str, kind: DocKind, reference: &str) -> Document {
        let seller = vitrina::domain::billing::Seller::demo();
        Document {
            id: format!("{series}{number:06}"),
            kind,
            series: series.into(),
            number,
            order_id: order.into(),
            order_number: format!("VT-{order}"),
            reference: reference.into(),
            issued_at: Utc::now() - Duration::days(number as i64 % 3),
            seller,
            buyer: Party { name: "Ana Pop".into(), tax_id: "0000000000000".into(), company: false, vat_payer: false, reg_com: String::new(), address: Address::default(), email: String::new() },
            lines: vec![],
            vat: vec![],
            net_cents: 1000,
            vat_cents: 210,
            total_cents: 1210,
            prepaid_cents: 0,
            currency: "RON".into(),
            payment_method: "cod".into(),
            invoice: None,
            reason: String::new(),
            efactura: Efactura::default(),
            version: 0,
        }
    }

    pub async fn numbers(store: super::Stores) {
        let s: Arc<dyn DocumentStore> = store.clone();
        assert_eq!(s.last_number("VTR").await.unwrap(), 0);
        assert_eq!(s.claim_document(&doc("VTR", 1, "o1", DocKind::Invoice, "invoice")).await.unwrap(), Claimed::Stored);
        // the same number again, for another order: taken
        assert_eq!(s.claim_document(&doc("VTR", 1, "o2", DocKind::Invoice, "invoice")).await.unwrap(), Claimed::NumberTaken);
        // the same order's invoice again, under a new number: the first one comes back
        match s.claim_document(&doc("VTR", 2, "o1", DocKind::Invoice, "invoice")).await.unwrap() {
            Claimed::Exists(d) => assert_eq!(d.number, 1),
            other => panic!("expected the existing invoice, got {other:?}"),
        }
        // series are counted apart
        assert_eq!(s.claim_document(&doc("TST", 1, "o3", DocKind::Invoice, "invoice")).await.unwrap(), Claimed::Stored);
        assert_eq!(s.last_number("VTR").await.unwrap(), 1);
        // 40 writers race for the next numbers, each taking the next free one: 2..=41, no gap, no repeat
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = s.last_number("VTR").await.unwrap() + 1;
                    match s.claim_document(&doc("VTR", n, &format!("race{i}"), DocKind::Invoice, "invoice")).await.unwrap() {
                        Claimed::Stored => return n,
                        Claimed::NumberTaken => continue,
                        Claimed::Exists(d) => return d.number,
                    }
                }
            }));
        }
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        got.sort();
        assert_eq!(got, (2..=41).collect::<Vec<u64>>());
        assert_eq!(s.last_number("VTR").await.unwrap(), 41);
    }

    pub async fn lifecycle(store: super::Stores) {
        let s: Arc<dyn DocumentStore> = store.clone();
        let inv = doc("VTR", 1, "o1", DocKind::Invoice, "invoice");
        s.claim_document(&inv).await.unwrap();
        let mut cn = doc("VTR", 2, "o1", DocKind::CreditNote, "rf_1");
        cn.issued_at = inv.issued_at + Duration::seconds(1);
        s.claim_document(&cn).await.unwrap();
        assert_eq!(s.document_file(&inv.id, DocFile::Xml).await.unwrap(), None, "no files yet");
        assert!(s.put_files(&inv.id, "<Invoice/>", b"%PDF-1.7 x").await.unwrap());
        assert!(!s.put_files(&inv.id, "<Invoice>other</Invoice>", b"%PDF other").await.unwrap(), "files are written once");
        assert_eq!(s.document_file(&inv.id, DocFile::Xml).await.unwrap().as_deref(), Some(&b"<Invoice/>"[..]));
        assert_eq!(s.document_file(&inv.id, DocFile::Pdf).await.unwrap().as_deref(), Some(&b"%PDF-1.7 x"[..]));
        assert_eq!(s.document_for("o1", DocKind::CreditNote, "rf_1").await.unwrap().map(|d| d.number), Some(2));
        assert_eq!(s.document_for("o1", DocKind::CreditNote, "rf_2").await.unwrap(), None);
        let (all, n) = s.documents(&DocumentFilter { order_id: Some("o1".into()), ..Default::default() }, 0, 10).await.unwrap();
        assert_eq!((n, all.iter().map(|d| d.number).collect::<Vec<_>>()), (2, vec![2, 1]), "newest first");
        // e-Factura: a state moves only from the one read
        let processing = Efactura { state: EfacturaState::Processing, upload_id: Some("5001".into()), updated_at: Some(Utc::now()), ..Default::default() };
        assert!(s.update_efactura(&inv.id, EfacturaState::Waiting, &processing, None).await.unwrap());
        assert!(!s.update_efactura(&inv.id, EfacturaState::Waiting, &processing, None).await.unwrap(), "not waiting any more");
        let refused = Efactura { state: EfacturaState::Rejected, upload_id: Some("5001".into()), download_id: Some("9001".into()), errors: vec!["[BR-RO-100] sector".into()], updated_at: Some(Utc::now()) };
        assert!(s.update_efactura(&inv.id, EfacturaState::Processing, &refused, Some(b"PK answer")).await.unwrap());
        assert_eq!(s.document_file(&inv.id, DocFile::Answer).await.unwrap().as_deref(), Some(&b"PK answer"[..]));
        let (not_accepted, _) = s.documents(&DocumentFilter { efactura: vec![EfacturaState::Waiting, EfacturaState::Processing, EfacturaState::Rejected], ..Default::default() }, 0, 10).await.unwrap();
        assert_eq!(not_accepted.len(), 2);
        let stored = s.document(&inv.id).await.unwrap().unwrap();
        assert_eq!(stored.efactura.errors, vec!["[BR-RO-100] sector".to_string()]);
        // a refused document is made again under its number, once per version read
        let mut again = stored.clone();
        again.version = 1;
        again.efactura = Efactura::default();
        assert!(s.replace_refused(&again, "<Invoice>v1</Invoice>", b"%PDF v1").await.unwrap());
        assert!(!s.replace_refused(&again, "<Invoice>v1b</Invoice>", b"%PDF v1b").await.unwrap(), "no longer refused");
        let now = s.document(&inv.id).await.unwrap().unwrap();
        assert_eq!((now.version, now.efactura.state, now.number), (1, EfacturaState::Waiting, 1));
        assert_eq!(s.document_file(&inv.id, DocFile::Xml).await.unwrap().as_deref(), Some(&b"<Invoice>v1</Invoice>"[..]));
        // issued before a moment (the dashboard's late documents)
        let (before, _) = s.documents(&DocumentFilter { issued_before: Some(inv.issued_at + Duration::milliseconds(500)), ..Default::default() }, 0, 10).await.unwrap();
        assert_eq!(before.iter().map(|d| d.number).collect::<Vec<_>>(), vec![1]);
    }
}

// ---------------------------------------------------------------- promotions contract

mod promotions_contract {
    use chrono::Utc;
    use vitrina::domain::promotion::{AppliesTo, PromoKind, Promotion, PromotionInput, Scope};
    use vitrina::ports::{Redeemed, Redemption, StoreError};

    fn promo(id: &str, code: Option<&str>) -> Promotion {
        let now = Utc::now();
        PromotionInput {
            name: format!("Promo {id}"),
            code: code.map(String::from),
            kind: PromoKind::Percent,
            value: 10,
            applies_to: AppliesTo { scope: Scope::Categories, ids: vec!["clothing".into()] },
            min_subtotal_cents: 5000,
            starts_at: Some(now),
            ends_at: None,
            usage_limit: Some(100),
            per_customer_limit: Some(1),
            active: true,
        }
        .into_promotion(id.into(), now, now)
    }

    fn use_of(promotion: &str, order: &str, customer: &str, total: i64) -> Redemption {
        Redemption { promotion_id: promotion.into(), order_id: order.into(), customer: customer.into(), total_cents: total, discount_cents: total / 10 }
    }

    pub async fn promotions(s: crate::Stores) {
        let a = promo("pr-a", Some("BF26"));
        let mut b = promo("pr-b", None);
        b.created_at = a.created_at + chrono::Duration::seconds(1);
        s.insert_promotion(&a).await.unwrap();
        s.insert_promotion(&b).await.unwrap();
        s.insert_promotion(&promo("pr-c", None)).await.unwrap();
        assert!(matches!(s.insert_promotion(&promo("pr-d", Some("BF26"))).await, Err(StoreError::Conflict(_))), "one promotion per code");
        assert_eq!(s.promotion_by_id("pr-a").await.unwrap(), Some(a.clone()));
        assert_eq!(s.promotion_by_code("BF26").await.unwrap(), Some(a.clone()));
        assert_eq!(s.promotion_by_code("auto:pr-b").await.unwrap(), None, "an automatic promotion has no code to find it by");
        assert_eq!(s.promotion_by_code("NOPE").await.unwrap(), None);
        let ids: Vec<String> = s.promotions().await.unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(ids[0], "pr-b", "newest first");
        assert_eq!(ids.len(), 3);
        let mut changed = a.clone();
        changed.code = Some("CYBER".into());
        changed.active = false;
        assert!(s.update_promotion("pr-a", &vitrina::domain::patch::Patch::diff(&a, &changed)).await.unwrap());
        assert_eq!(s.promotion_by_code("BF26").await.unwrap(), None, "the old code is free again");
        assert_eq!(s.promotion_by_code("CYBER").await.unwrap(), Some(changed.clone()));
        let mut clash = b.clone();
        clash.code = Some("CYBER".into());
        assert!(matches!(s.update_promotion("pr-b", &vitrina::domain::patch::Patch::diff(&b, &clash)).await, Err(StoreError::Conflict(_))));
        assert!(!s.update_promotion("pr-none", &vitrina::domain::patch::Patch::new().set("active", &true)).await.unwrap());
        // one field only: an edit of another field made meanwhile stays
        assert!(s.update_promotion("pr-a", &vitrina::domain::patch::Patch::new().set("active", &true)).await.unwrap());
        let now = s.promotion_by_id("pr-a").await.unwrap().unwrap();
        assert_eq!((now.active, now.code.as_deref()), (true, Some("CYBER")));
    }

    pub async fn limits(s: crate::Stores) {
        // per customer: one use; a replay of the same order counts once
        assert_eq!(s.redeem(&use_of("p1", "o1", "ana", 10_000), Some(3), Some(1)).await.unwrap(), Redeemed::Counted);
        assert_eq!(s.redeem(&use_of("p1", "o1", "ana", 10_000), Some(3), Some(1)).await.unwrap(), Redeemed::Counted);
        assert_eq!(s.promotion_uses("p1", Some("ana")).await.unwrap(), (1, 1));
        assert_eq!(s.redeem(&use_of("p1", "o2", "ana", 10_000), Some(3), Some(1)).await.unwrap(), Redeemed::UsedUpByCustomer);
        // globally: three uses
        assert_eq!(s.redeem(&use_of("p1", "o3", "bob", 20_000), Some(3), Some(1)).await.unwrap(), Redeemed::Counted);
        assert_eq!(s.redeem(&use_of("p1", "o4", "cid", 30_000), Some(3), Some(1)).await.unwrap(), Redeemed::Counted);
        assert_eq!(s.redeem(&use_of("p1", "o5", "dan", 5_000), Some(3), Some(1)).await.unwrap(), Redeemed::UsedUp);
        assert_eq!(s.promotion_uses("p1", Some("dan")).await.unwrap(), (3, 0), "a refused use leaves nothing counted");
        let usage = s.promotion_usage().await.unwrap();
        assert_eq!((usage["p1"].redemptions, usage["p1"].revenue_cents), (3, 60_000));
        // a cancelled order gives its use back, once
        assert_eq!(s.release_redemptions("o3").await.unwrap(), 1);
        assert_eq!(s.release_redemptions("o3").await.unwrap(), 0);
        assert_eq!(s.promotion_uses("p1", Some("bob")).await.unwrap(), (2, 0));
        assert_eq!(s.promotion_usage().await.unwrap()["p1"].revenue_cents, 40_000);
        assert_eq!(s.redeem(&use_of("p1", "o5", "dan", 5_000), Some(3), Some(1)).await.unwrap(), Redeemed::Counted, "the use given back is taken again");
        assert_eq!(s.redeem(&use_of("p1", "o6", "bob", 5_000), Some(3), Some(1)).await.unwrap(), Redeemed::UsedUp);
        // no limits: counted all the same
        assert_eq!(s.redeem(&use_of("p2", "o1", "ana", 1_000), None, None).await.unwrap(), Redeemed::Counted);
        assert_eq!(s.promotion_uses("p2", None).await.unwrap(), (1, 0));
        assert_eq!(s.release_redemptions("o1").await.unwrap(), 2, "an order gives back every promotion it used");
        assert_eq!(s.promotion_uses("p1", Some("ana")).await.unwrap(), (2, 0));
    }

    pub async fn race(s: crate::Stores) {
        // 300 customers, 100 uses; and one customer trying five orders at once with a one-use code
        let mut tasks = Vec::new();
        for i in 0..300 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.redeem(&use_of("hot", &format!("o{i}"), &format!("c{i}"), 1_000), Some(100), None).await }));
        }
        for i in 0..5 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.redeem(&use_of("once", &format!("m{i}"), "me", 1_000), None, Some(1)).await }));
        }
        let mut counted = std::collections::BTreeMap::new();
        for t in tasks {
            *counted.entry(format!("{:?}", t.await.unwrap().unwrap())).or_insert(0) += 1;
        }
        assert_eq!(counted.get("Counted"), Some(&101), "{counted:?}");
        assert_eq!(counted.get("UsedUp"), Some(&200), "{counted:?}");
        assert_eq!(counted.get("UsedUpByCustomer"), Some(&4), "{counted:?}");
        assert_eq!(s.promotion_uses("hot", None).await.unwrap().0, 100);
        assert_eq!(s.promotion_usage().await.unwrap()["hot"].redemptions, 100);
    }
}

// ---------------------------------------------------------------- accounts contract

mod accounts_contract {
    use chrono::{Duration, Utc};
    use vitrina::domain::patch::Patch;
    use vitrina::domain::user::{Role, User};
    use vitrina::ports::{Consumed, KeyValueStore, RefreshRecord, StoreError};

    fn user(id: &str, email: &str) -> User {
        User {
            id: id.into(),
            email: email.into(),
            name: format!("Name {id}"),
            password_hash: "$argon2id$x".into(),
            role: Role::Customer,
            disabled: false,
            created_at: Utc::now(),
            sessions_valid_from: None,
            lang: None,
        }
    }

    pub async fn users(s: crate::Stores) {
        let a = user("u1", "Ana@Example.com");
        s.create_user(&a).await.unwrap();
        assert!(
            matches!(
                s.create_user(&user("u2", "ana@example.COM")).await,
                Err(StoreError::Conflict(_))
            ),
            "case-insensitive unique e-mail"
        );
        assert_eq!(
            s.user_by_email("ana@example.com").await.unwrap(),
            Some(a.clone())
        );
        assert_eq!(s.user_by_id("u1").await.unwrap(), Some(a.clone()));
        let mut b = user("u3", "bob@example.com");
        b.created_at = a.created_at + Duration::seconds(5);
        s.create_user(&b).await.unwrap();
        // field-level writes: only the fields a patch sets, only where its guards hold
        let mut changed = a.clone();
        changed.disabled = true;
        changed.role = Role::Partner;
        let patch = Patch::diff(&a, &changed);
        assert!(s.update_user("u1", &patch.clone().guard("disabled", &false)).await.unwrap());
        assert_eq!(s.user_by_id("u1").await.unwrap(), Some(changed.clone()));
        assert!(!s.update_user("u1", &Patch::new().set("password_hash", "x").guard("disabled", &false)).await.unwrap(), "the guard no longer holds");
        assert!(!s.update_user("nobody", &patch).await.unwrap(), "no such user");
        // a write of other fields keeps what another writer set
        assert!(s.update_user("u1", &Patch::new().set("name", "Ana Maria")).await.unwrap());
        let now = s.user_by_id("u1").await.unwrap().unwrap();
        assert_eq!((now.name.as_str(), now.disabled, now.role), ("Ana Maria", true, Role::Partner));
        // the e-mail's key follows the e-mail, and stays unique
        assert!(s.update_user("u1", &Patch::new().set("email", "Ana.New@Example.com")).await.unwrap());
        assert_eq!(s.user_by_email("ana.new@example.com").await.unwrap().map(|u| u.id), Some("u1".to_string()));
        assert_eq!(s.user_by_email("ana@example.com").await.unwrap(), None);
        assert!(matches!(s.update_user("u3", &Patch::new().set("email", "ANA.NEW@example.com")).await, Err(StoreError::Conflict(_))), "another user's e-mail");
        assert!(s.update_user("u1", &Patch::new().set("email", "ana@example.com").set("name", &a.name)).await.unwrap());
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
        let mut both = s
            .users_by_ids(&["u3".into(), "nobody".into(), "u1".into()])
            .await
            .unwrap();
        both.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(
            both.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            ["u1", "u3"]
        );
        assert!(s.users_by_ids(&[]).await.unwrap().is_empty());
    }

    pub async fn tokens(s: crate::Stores) {
        let now = Utc::now();
        s.create_family("f1", "u1", now).await.unwrap();
        assert_eq!(
            s.active_family_owner("f1").await.unwrap().as_deref(),
            Some("u1")
        );
        assert_eq!(s.active_family_owner("nope").await.unwrap(), None);
        let rec = RefreshRecord {
            token_hash: "h1".into(),
            family_id: "f1".into(),
            user_id: "u1".into(),
            expires_at: now + Duration::days(1),
        };
        s.insert_refresh(&rec).await.unwrap();
        // the owner can be read without using the token up
        assert_eq!(s.refresh_owner("h1").await.unwrap().as_deref(), Some("u1"));
        assert_eq!(s.refresh_owner("unknown").await.unwrap(), None);
        match s.consume_refresh("h1", now).await.unwrap() {
            Consumed::Fresh(r) => {
                assert_eq!((r.family_id.as_str(), r.user_id.as_str()), ("f1", "u1"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.consume_refresh("h1", now).await.unwrap(),
            Consumed::Reused(_)
        ));
        assert_eq!(
            s.consume_refresh("unknown", now).await.unwrap(),
            Consumed::Unknown
        );
        s.revoke_family("f1", now).await.unwrap();
        assert_eq!(s.active_family_owner("f1").await.unwrap(), None);
        s.create_family("f2", "u9", now).await.unwrap();
        s.create_family("f3", "u9", now).await.unwrap();
        s.revoke_user_families("u9", now).await.unwrap();
        assert!(
            s.active_family_owner("f2").await.unwrap().is_none()
                && s.active_family_owner("f3").await.unwrap().is_none()
        );

        // what a bearer request reads: the owner of an active family with their record
        s.create_user(&user("ut1", "bearer@example.com")).await.unwrap();
        s.create_family("f4", "ut1", now).await.unwrap();
        let (owner, found) = s.active_family_user("f4").await.unwrap().unwrap();
        assert_eq!((owner.as_str(), found.map(|u| u.email)), ("ut1", Some("bearer@example.com".to_string())));
        s.create_family("f5", "gone", now).await.unwrap();
        assert_eq!(s.active_family_user("f5").await.unwrap().map(|(o, u)| (o, u.is_none())), Some(("gone".to_string(), true)));
        assert!(s.active_family_user("nope").await.unwrap().is_none());
        s.revoke_family("f4", now).await.unwrap();
        assert!(s.active_family_user("f4").await.unwrap().is_none());
    }

    pub async fn single_winner(s: crate::Stores) {
        let now = Utc::now();
        s.create_family("fx", "u1", now).await.unwrap();
        s.insert_refresh(&RefreshRecord {
            token_hash: "race".into(),
            family_id: "fx".into(),
            user_id: "u1".into(),
            expires_at: now + Duration::days(1),
        })
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.consume_refresh("race", Utc::now()).await.unwrap()
            }));
        }
        let mut fresh = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Consumed::Fresh(_)) {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1, "exactly one concurrent consumer wins");
    }

    pub async fn key_values(s: crate::Stores) {
        kv(&*s).await;
    }

    async fn kv<S: KeyValueStore + ?Sized>(s: &S) {
        assert_eq!(s.kv_get("session", "a").await.unwrap(), None);
        s.kv_put(
            "session",
            "a",
            b"one",
            Some(Utc::now() + Duration::hours(1)),
        )
        .await
        .unwrap();
        assert_eq!(
            s.kv_get("session", "a").await.unwrap().as_deref(),
            Some(&b"one"[..])
        );
        s.kv_put("session", "a", b"two", None).await.unwrap();
        assert_eq!(
            s.kv_get("session", "a").await.unwrap().as_deref(),
            Some(&b"two"[..])
        );
        assert_eq!(
            s.kv_get("other", "a").await.unwrap(),
            None,
            "namespaces are separate"
        );
        s.kv_put(
            "session",
            "old",
            b"x",
            Some(Utc::now() - Duration::seconds(1)),
        )
        .await
        .unwrap();
        assert_eq!(
            s.kv_get("session", "old").await.unwrap(),
            None,
            "expired values are gone"
        );
        s.kv_delete("session", "a").await.unwrap();
        assert_eq!(s.kv_get("session", "a").await.unwrap(), None);
        assert_eq!(
            s.kv_put_if_absent("settings", "k", b"first").await.unwrap(),
            b"first"
        );
        assert_eq!(
            s.kv_put_if_absent("settings", "k", b"second")
                .await
                .unwrap(),
            b"first",
            "first writer wins"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_key_values() {
        if let Some(url) = crate::common::redis_url() {
            let r = vitrina::infra::redis_cache::RedisCache::connect(
                &url,
                &format!("{}:", crate::common::unique_name("t")),
            )
            .await
            .unwrap();
            kv(&r).await;
        }
    }
}

// ---------------------------------------------------------------- audit log and low stock contract

mod operations_contract {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Duration, TimeZone, Utc};
    use vitrina::domain::audit::{AuditEntry, AuditFilter};
    use vitrina::domain::money::Money;
    use vitrina::domain::order::{
        Address, Cart, Order, OrderLine, OrderStatus, ShippingMethod, StatusChange,
    };
    use vitrina::domain::product::Product;
    use vitrina::domain::outbox::{order_events, Attempt, Endpoint, EntryKind, EntryStatus, Event, OutboxEntry, RetrySchedule};
    use vitrina::ports::{OrderFilter, OutboxFilter, Reservation, StockLevel, StoreError};
    use vitrina::services::demo::demo_product;

    const T0: i64 = 1_800_000_000_123;

    /// Whole milliseconds: both stores keep `at` to the millisecond.
    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().expect("a valid time")
    }

    fn entry(
        id: &str,
        ms: i64,
        email: &str,
        action: &str,
        target: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> AuditEntry {
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
            entry(
                "a1",
                T0,
                "Admin@Shop.test",
                "product.create",
                "p1",
                None,
                Some(r#"{"price":1999}"#),
            ),
            entry(
                "a2",
                T0 + 1_000,
                "ana@shop.test",
                "product.update",
                "p1",
                Some(r#"{"price":1999}"#),
                Some(r#"{"price":1799}"#),
            ),
            entry(
                "a3",
                T0 + 2_001,
                "bob@example.com",
                "products.import",
                "batch-1",
                None,
                None,
            ),
            entry(
                "a4",
                T0 + 3_500,
                "ADMIN@shop.test",
                "order.status",
                "o1",
                Some(r#"{"status":"placed"}"#),
                Some(r#"{"status":"shipped"}"#),
            ),
            // same time as a4: the tie is broken by id, newest (highest) first
            entry(
                "a5",
                T0 + 3_500,
                "admin@shop.test",
                "user.update",
                "u7",
                Some("{}"),
                None,
            ),
            entry(
                "a6",
                T0 + 7_777,
                "carol+ops@shop.test",
                "product",
                "p2",
                None,
                None,
            ),
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

    pub async fn audit_log(s: crate::Stores) {
        let all = entries();
        // recorded out of order: the store sorts
        for i in [2, 0, 5, 1, 4, 3] {
            s.record_audit(&all[i]).await.unwrap();
        }

        // every field comes back, `before`/`after` both absent and present
        let (got, total) = s.list_audit(&AuditFilter::default(), 0, 100).await.unwrap();
        assert_eq!(total, 6);
        assert_eq!(
            got,
            oracle(&all, &AuditFilter::default()),
            "round trip, newest first"
        );
        assert_eq!(ids(&got), ["a6", "a5", "a4", "a3", "a2", "a1"]);

        let half_ms = Duration::microseconds(500);
        let filters = [
            ("none", AuditFilter::default()),
            (
                "actor, other case",
                AuditFilter {
                    actor: Some("ADMIN@".into()),
                    ..Default::default()
                },
            ),
            (
                "actor, mixed case domain",
                AuditFilter {
                    actor: Some("sHoP.TeSt".into()),
                    ..Default::default()
                },
            ),
            (
                "actor, regex characters are literal",
                AuditFilter {
                    actor: Some("+ops".into()),
                    ..Default::default()
                },
            ),
            (
                "actor, no pattern",
                AuditFilter {
                    actor: Some("a.*n".into()),
                    ..Default::default()
                },
            ),
            (
                "action prefix",
                AuditFilter {
                    action: Some("product".into()),
                    ..Default::default()
                },
            ),
            (
                "action exact",
                AuditFilter {
                    action: Some("product.update".into()),
                    ..Default::default()
                },
            ),
            (
                "action, not a plain prefix",
                AuditFilter {
                    action: Some("prod".into()),
                    ..Default::default()
                },
            ),
            (
                "action order",
                AuditFilter {
                    action: Some("order".into()),
                    ..Default::default()
                },
            ),
            (
                "target",
                AuditFilter {
                    target: Some("p1".into()),
                    ..Default::default()
                },
            ),
            (
                "target is exact",
                AuditFilter {
                    target: Some("p".into()),
                    ..Default::default()
                },
            ),
            (
                "window, from inclusive, to exclusive",
                AuditFilter {
                    from: Some(at(T0 + 1_000)),
                    to: Some(at(T0 + 3_500)),
                    ..Default::default()
                },
            ),
            (
                "from only",
                AuditFilter {
                    from: Some(at(T0 + 3_500)),
                    ..Default::default()
                },
            ),
            (
                "to only",
                AuditFilter {
                    to: Some(at(T0 + 1_000)),
                    ..Default::default()
                },
            ),
            (
                "bounds between milliseconds",
                AuditFilter {
                    from: Some(at(T0 + 2_001) + half_ms),
                    to: Some(at(T0 + 3_500) + half_ms),
                    ..Default::default()
                },
            ),
            (
                "combined",
                AuditFilter {
                    actor: Some("admin".into()),
                    action: Some("product".into()),
                    from: Some(at(T0)),
                    to: Some(at(T0 + 10_000)),
                    ..Default::default()
                },
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
            let (page, total) = s
                .list_audit(&AuditFilter::default(), offset, 2)
                .await
                .unwrap();
            assert_eq!(total, 6);
            assert_eq!(page.len(), 2, "offset {offset}");
            paged.extend(page);
        }
        assert_eq!(ids(&paged), ids(&expected));
        let (page, total) = s.list_audit(&AuditFilter::default(), 1, 3).await.unwrap();
        assert_eq!((ids(&page), total), (ids(&expected[1..4]), 6));
        let (page, total) = s.list_audit(&AuditFilter::default(), 6, 10).await.unwrap();
        assert_eq!(
            (page.len(), total),
            (0, 6),
            "past the end: no entries, the total stays"
        );
        let action = AuditFilter {
            action: Some("product".into()),
            ..Default::default()
        };
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

    pub async fn low_stock_levels(s: crate::Stores) {
        let a = product(1, &[("LS-A1", 0), ("LS-A2", 5), ("LS-A3", 2)]);
        let b = product(2, &[("LS-B1", 2), ("LS-B2", 9), ("LS-B3", 0)]);
        s.upsert_products(&[a.clone(), b.clone()]).await.unwrap();
        let level = |sku: &str, p: &Product, stock: i64| StockLevel {
            sku: sku.into(),
            product_id: p.id.clone(),
            stock,
        };

        assert_eq!(
            s.low_stock(2, 10).await.unwrap(),
            vec![
                level("LS-A1", &a, 0),
                level("LS-B3", &b, 0),
                level("LS-A3", &a, 2),
                level("LS-B1", &b, 2)
            ],
            "at most the threshold, lowest first, ties by SKU"
        );
        assert_eq!(
            s.low_stock(2, 3).await.unwrap(),
            vec![
                level("LS-A1", &a, 0),
                level("LS-B3", &b, 0),
                level("LS-A3", &a, 2)
            ],
            "the limit truncates"
        );
        assert_eq!(
            s.low_stock(2, 1).await.unwrap(),
            vec![level("LS-A1", &a, 0)]
        );
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
        assert_eq!(
            s.low_stock(1, 10).await.unwrap(),
            vec![level("LS-B3", &b, 0), level("LS-B2", &b, 1)]
        );
    }

    async fn stock(s: &crate::Stores, sku: &str) -> Option<i64> {
        s.stock_levels(&[sku.to_string()])
            .await
            .unwrap()
            .get(sku)
            .copied()
    }

    pub async fn inventory(s: crate::Stores) {
        let p = product(10, &[("INV-A", 5), ("INV-B", 0)]);
        s.upsert_products(&[p]).await.unwrap();
        let levels = s
            .stock_levels(&["INV-A".into(), "INV-B".into(), "INV-NONE".into()])
            .await
            .unwrap();
        assert_eq!(
            levels,
            BTreeMap::from([("INV-A".to_string(), 5), ("INV-B".to_string(), 0)]),
            "known SKUs only"
        );

        assert_eq!(
            s.reserve("o1", "INV-A", 3).await.unwrap(),
            Reservation::Reserved
        );
        assert_eq!(stock(&s, "INV-A").await, Some(2));
        assert_eq!(
            s.reserve("o1", "INV-A", 3).await.unwrap(),
            Reservation::Reserved,
            "a repeated reservation is a no-op"
        );
        assert_eq!(stock(&s, "INV-A").await, Some(2));
        assert_eq!(
            s.reserve("o2", "INV-A", 3).await.unwrap(),
            Reservation::Short { available: 2 }
        );
        assert_eq!(
            stock(&s, "INV-A").await,
            Some(2),
            "a short reservation takes nothing"
        );
        assert_eq!(
            s.reserve("o2", "INV-NONE", 1).await.unwrap(),
            Reservation::UnknownSku
        );
        assert_eq!(
            s.reserve("o2", "INV-B", 1).await.unwrap(),
            Reservation::Short { available: 0 }
        );

        s.release("o1", "INV-A").await.unwrap();
        assert_eq!(
            stock(&s, "INV-A").await,
            Some(5),
            "a release gives back what the order held"
        );
        s.release("o1", "INV-A").await.unwrap();
        assert_eq!(
            stock(&s, "INV-A").await,
            Some(5),
            "a second release gives nothing"
        );
        s.release("o9", "INV-A").await.unwrap();
        assert_eq!(
            stock(&s, "INV-A").await,
            Some(5),
            "an order that holds nothing gives nothing"
        );

        assert_eq!(
            s.reserve("o3", "INV-A", 5).await.unwrap(),
            Reservation::Reserved
        );
        s.commit("o3", "INV-A").await.unwrap();
        s.release("o3", "INV-A").await.unwrap();
        assert_eq!(
            stock(&s, "INV-A").await,
            Some(0),
            "committed stock stays taken"
        );
        s.restock("o3", "INV-A", 5).await.unwrap();
        assert_eq!(
            stock(&s, "INV-A").await,
            Some(5),
            "a cancelled order's stock comes back"
        );
        s.restock("o3", "INV-A", 5).await.unwrap();
        assert_eq!(stock(&s, "INV-A").await, Some(5), "once per order and SKU");

        s.set_stock("INV-B", 7).await.unwrap();
        assert_eq!(stock(&s, "INV-B").await, Some(7));
        assert!(s.set_stock_if("INV-B", 7, 9).await.unwrap());
        assert_eq!(stock(&s, "INV-B").await, Some(9));
        assert!(
            !s.set_stock_if("INV-B", 7, 1).await.unwrap(),
            "a guarded write loses when the stock moved"
        );
        assert_eq!(stock(&s, "INV-B").await, Some(9));
    }

    /// Forty concurrent orders for one unit each of a SKU with twelve: exactly twelve win.
    pub async fn inventory_race(s: crate::Stores) {
        s.upsert_products(&[product(11, &[("INV-HOT", 12)])])
            .await
            .unwrap();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(
                    async move { s.reserve(&format!("race-{i}"), "INV-HOT", 1).await.unwrap() },
                )
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Reservation::Reserved => won += 1,
                Reservation::Short { available } => assert_eq!(available, 0),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(won, 12);
        assert_eq!(stock(&s, "INV-HOT").await, Some(0), "never below zero");
    }

    pub async fn carts(s: crate::Stores) {
        assert_eq!(s.cart("u:x").await.unwrap(), None);
        let mut c = Cart::empty("u:x");
        c.set("A", 2);
        c.version = 1;
        s.save_cart(&c).await.unwrap();
        assert!(
            matches!(s.save_cart(&c).await, Err(StoreError::Conflict(_))),
            "a second first save conflicts"
        );
        let mut newer = c.clone();
        newer.set("B", 1);
        newer.version = 2;
        s.save_cart(&newer).await.unwrap();
        let mut stale = c.clone();
        stale.version = 2;
        assert!(
            matches!(s.save_cart(&stale).await, Err(StoreError::Conflict(_))),
            "a stale writer loses"
        );
        let stored = s.cart("u:x").await.unwrap().unwrap();
        assert_eq!((stored.lines, stored.version), (newer.lines.clone(), 2));
        assert_eq!(
            s.cart("g:other").await.unwrap(),
            None,
            "carts are per owner"
        );
        s.delete_cart("u:x").await.unwrap();
        assert_eq!(s.cart("u:x").await.unwrap(), None);
        c.version = 1;
        s.save_cart(&c).await.unwrap();
        assert_eq!(
            s.cart("u:x").await.unwrap().unwrap().lines,
            c.lines,
            "a deleted cart starts again at version 1"
        );
    }

    fn money(amount: i64) -> Money {
        Money {
            amount,
            currency: "RON".into(),
        }
    }

    fn order(id: &str, user: &str, status: OrderStatus, ms: i64, key: Option<&str>) -> Order {
        let line = OrderLine { discount_cents: 0, vat_rate: None,
            sku: format!("SKU-{id}"),
            product_id: format!("p-{id}"),
            slug: format!("product-{id}"),
            name: format!("Produs {id} — ăîșț"),
            options: BTreeMap::from([("culoare".to_string(), "roșu".to_string())]),
            unit_price: money(1999),
            quantity: 2,
            line_total: money(3998),
        };
        Order { discount_cents: 0, coupon: None, discounts: vec![], returns: vec![], returns_version: 0, returns_open: 0,
            id: id.into(),
            number: format!("VT-{id}"),
            user_id: user.into(),
            lines: vec![line],
            currency: "RON".into(),
            subtotal: money(3998),
            shipping: money(1500),
            shipping_method: ShippingMethod::Express,
            vat: money(955),
            vat_percent: 21,
            total: money(5498),
            shipping_address: Address {
                name: "Ana Pop".into(),
                street: "Str. Lungă 1".into(),
                city: "Brașov".into(),
                postal_code: "500001".into(),
                country: "RO".into(),
                phone: "0722 000 000".into(),
                county: "RO-BV".into(),
                sector: None,
            },
            billing: None,
            payment_method: "bank_transfer".into(),
            payment: vitrina::domain::payment::Payment::new(vitrina::domain::payment::PaymentMethod::BankTransfer, &money(5498)),
            status,
            history: vec![StatusChange { status, at: at(ms) }],
            idempotency_key: key.map(str::to_string),
            request_hash: format!("hash-{id}"),
            guest_email: None,
            created_at: at(ms),
            updated_at: at(ms),
        }
    }

    fn order_ids(orders: &[Order]) -> Vec<&str> {
        orders.iter().map(|o| o.id.as_str()).collect()
    }

    pub async fn orders(s: crate::Stores) {
        use OrderStatus::*;
        let o1 = order("o1", "u1", Placed, T0, Some("k1"));
        let o2 = order("o2", "u1", Confirmed, T0 + 1_000, None);
        let mut o3 = order("o3", "u2", Cancelled, T0 + 2_000, Some("k1"));
        o3.guest_email = Some("guest@example.com".into());
        let stuck = order("o4", "u1", Pending, T0 - 3_600_000, Some("k2"));
        for o in [&o1, &o2, &o3, &stuck] {
            s.insert_order(o).await.unwrap();
        }
        assert_eq!(
            s.order_by_id("o1").await.unwrap().as_ref(),
            Some(&o1),
            "every field round-trips"
        );
        assert_eq!(s.order_by_id("o3").await.unwrap().as_ref(), Some(&o3));
        assert_eq!(s.order_by_id("nope").await.unwrap(), None);

        // idempotency keys are per user
        let again = order("o5", "u1", Placed, T0, Some("k1"));
        assert!(
            matches!(s.insert_order(&again).await, Err(StoreError::Conflict(_))),
            "one order per (user, key)"
        );
        assert_eq!(s.order_by_id("o5").await.unwrap(), None);
        assert_eq!(
            s.order_by_idempotency_key("u1", "k1")
                .await
                .unwrap()
                .map(|o| o.id),
            Some("o1".into())
        );
        assert_eq!(
            s.order_by_idempotency_key("u2", "k1")
                .await
                .unwrap()
                .map(|o| o.id),
            Some("o3".into())
        );
        assert_eq!(s.order_by_idempotency_key("u3", "k1").await.unwrap(), None);

        // lists: never pending, newest first, every filter narrows, paging keeps the total
        let list = |f: OrderFilter, offset: u64, limit: u64| {
            let s = s.clone();
            async move {
                let (found, total) = s.list_orders(&f, offset, limit).await.unwrap();
                (
                    order_ids(&found)
                        .into_iter()
                        .map(String::from)
                        .collect::<Vec<_>>(),
                    total,
                )
            }
        };
        assert_eq!(
            list(OrderFilter::default(), 0, 10).await,
            (vec!["o3".into(), "o2".into(), "o1".into()], 3)
        );
        assert_eq!(
            list(
                OrderFilter {
                    user_id: Some("u1".into()),
                    ..Default::default()
                },
                0,
                10
            )
            .await,
            (vec!["o2".into(), "o1".into()], 2)
        );
        assert_eq!(
            list(
                OrderFilter {
                    status: Some(Cancelled),
                    ..Default::default()
                },
                0,
                10
            )
            .await,
            (vec!["o3".into()], 1)
        );
        assert_eq!(
            list(
                OrderFilter {
                    status: Some(Pending),
                    ..Default::default()
                },
                0,
                10
            )
            .await
            .1,
            0,
            "pending is never listed"
        );
        assert_eq!(
            list(
                OrderFilter {
                    from: Some(at(T0 + 1_000)),
                    ..Default::default()
                },
                0,
                10
            )
            .await,
            (vec!["o3".into(), "o2".into()], 2),
            "from is inclusive"
        );
        assert_eq!(
            list(
                OrderFilter {
                    to: Some(at(T0 + 1_000)),
                    ..Default::default()
                },
                0,
                10
            )
            .await,
            (vec!["o1".into()], 1),
            "to is exclusive"
        );
        assert_eq!(
            list(
                OrderFilter {
                    user_id: Some("u1".into()),
                    status: Some(Confirmed),
                    from: Some(at(T0)),
                    to: Some(at(T0 + 5_000)),
                    guest_email: None,
                    with_open_returns: false,
                },
                0,
                10
            )
            .await,
            (vec!["o2".into()], 1)
        );
        assert_eq!(
            list(OrderFilter::default(), 1, 1).await,
            (vec!["o2".into()], 3)
        );
        // a buyer's open orders (holding unsold stock), counted up to a bound
        assert_eq!(s.open_orders("u1", 10).await.unwrap(), 1, "placed counts; confirmed and pending do not");
        assert_eq!(s.open_orders("u2", 10).await.unwrap(), 0, "cancelled does not");
        assert_eq!(s.open_orders("u1", 0).await.unwrap(), 0, "never past the bound");
        assert_eq!(
            list(OrderFilter::default(), 3, 10).await,
            (vec![], 3),
            "past the end: nothing, the total stays"
        );

        // guarded field writes: a status change only from the status the caller saw
        let mut confirmed = o1.clone();
        let moved = confirmed.transition(Confirmed, at(T0 + 9_000)).unwrap();
        assert!(s.update_order("o1", &moved, &[]).await.unwrap());
        assert!(!s.update_order("o1", &moved, &[]).await.unwrap(), "the status moved: refused");
        assert_eq!(s.order_by_id("o1").await.unwrap().as_ref(), Some(&confirmed));
        assert_eq!(list(OrderFilter { status: Some(Confirmed), user_id: Some("u1".into()), ..Default::default() }, 0, 10).await.1, 2, "the status column follows");

        // a payment change is guarded by the payment as read: two from one reading never both pass
        let seen = s.order_by_id("o2").await.unwrap().unwrap();
        let (mut first, mut second) = (seen.clone(), seen.clone());
        first.payment.refunded_cents = 100;
        second.payment.refunded_cents = 200;
        let (p1, p2) = (first.changes_since(&seen), second.changes_since(&seen));
        assert!(s.update_order("o2", &p1, &[]).await.unwrap());
        assert!(!s.update_order("o2", &p2, &[]).await.unwrap(), "the payment changed since it was read");
        assert_eq!(s.order_by_id("o2").await.unwrap().unwrap().payment.refunded_cents, 100);
        let mut again = s.order_by_id("o2").await.unwrap().unwrap();
        let read = again.clone();
        again.payment.refunded_cents = 200;
        assert!(s.update_order("o2", &again.changes_since(&read), &[]).await.unwrap(), "read again, it goes through");
        // writes of different fields both stick: the status of o2, then its address, from one reading
        let base = s.order_by_id("o2").await.unwrap().unwrap();
        let mut shipped = base.clone();
        let ship = shipped.transition(Shipped, at(T0 + 11_000)).unwrap();
        let mut anonymous = base.clone();
        let erase = anonymous.anonymise("u1", at(T0 + 11_001)).unwrap();
        assert!(s.update_order("o2", &ship, &[]).await.unwrap());
        assert!(s.update_order("o2", &erase, &[]).await.unwrap());
        let both = s.order_by_id("o2").await.unwrap().unwrap();
        assert_eq!((both.status, both.shipping_address.street.as_str(), both.payment.refunded_cents), (Shipped, "", 200), "neither write undid the other");
        // a guest's e-mail finds their orders
        assert_eq!(list(OrderFilter { guest_email: Some("GUEST@example.com".into()), ..Default::default() }, 0, 10).await.0, vec!["o3".to_string()]);
        assert!(!s.update_order("nope", &ship, &[]).await.unwrap(), "no such order");

        // placements that died half-way
        assert_eq!(
            order_ids(&s.stale_pending_orders(at(T0)).await.unwrap()),
            ["o4"]
        );
        assert!(s
            .stale_pending_orders(at(T0 - 7_200_000))
            .await
            .unwrap()
            .is_empty());
        assert!(
            !s.delete_order_if("o4", Placed).await.unwrap(),
            "a guarded delete checks the status"
        );
        assert!(s.delete_order_if("o4", Pending).await.unwrap());
        assert_eq!(s.order_by_id("o4").await.unwrap(), None);
        assert!(!s.delete_order_if("o4", Pending).await.unwrap());
        assert_eq!(
            s.order_by_idempotency_key("u1", "k2").await.unwrap(),
            None,
            "its key is free again"
        );
    }

    /// Order numbers from many instances at once: all different, counting up.
    fn outbox_entry(id: &str, kind: EntryKind, ms: i64) -> OutboxEntry {
        OutboxEntry::new(id.into(), kind, "order.created", if kind == EntryKind::Mail { "ana@example.ro" } else { "" }, format!("{{\"n\":\"{id}\"}}"), at(ms))
    }

    /// What an erased customer leaves: mails to them and events about their
    /// orders go; audit entries about them keep who and when, not what.
    pub async fn erasure(s: crate::Stores) {
        let mut mine = outbox_entry("m1", EntryKind::Mail, T0);
        mine.target = "ioana@example.ro".into();
        let mut event = outbox_entry("v1", EntryKind::Event, T0 + 1);
        event.payload = r#"{"order":{"id":"o_abc123","shipping_address":{"street":"Strada Zambilelor 17"}}}"#.into();
        let mut hook = outbox_entry("w1", EntryKind::Webhook, T0 + 2);
        hook.payload = r#"{"data":{"id":"o_abc123"}}"#.into();
        let others = outbox_entry("x1", EntryKind::Mail, T0 + 3);
        s.enqueue(&[mine, event, hook, others]).await.unwrap();
        assert_eq!(s.erase_entries(&["ioana@example.ro".into()], &["o_abc123".into()]).await.unwrap(), 3);
        let (left, _) = s.list_entries(&OutboxFilter::default(), 0, 10).await.unwrap();
        assert_eq!(left.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["x1"], "another customer's mail stays");
        assert_eq!(s.erase_entries(&[], &["o_abc123".into()]).await.unwrap(), 0);

        for e in entries() {
            s.record_audit(&e).await.unwrap();
        }
        let n = s.redact_audit(&["p1".into()]).await.unwrap();
        let (all, _) = s.list_audit(&AuditFilter::default(), 0, 100).await.unwrap();
        let about: Vec<&AuditEntry> = all.iter().filter(|e| e.target == "p1").collect();
        assert_eq!(n as usize, about.len());
        assert!(n > 0);
        assert!(about.iter().all(|e| e.before.is_none() && e.after.is_none() && e.summary == "(erased)" && !e.action.is_empty()), "who and when stay, what goes");
        assert!(all.iter().filter(|e| e.target != "p1").all(|e| e.summary != "(erased)"), "other entries untouched");
    }

    pub async fn outbox(s: crate::Stores) {
        let lease = std::time::Duration::from_secs(60);
        let now = at(T0 + 60_000);
        s.enqueue(&[outbox_entry("e1", EntryKind::Event, T0), outbox_entry("e2", EntryKind::Mail, T0 + 1), outbox_entry("e3", EntryKind::Event, T0 + 2)]).await.unwrap();
        // the same change announced twice is one entry, left as it was
        let mut again = outbox_entry("e1", EntryKind::Event, T0);
        again.payload = "{\"changed\":true}".into();
        s.enqueue(&[again]).await.unwrap();
        assert_eq!(s.entry("e1").await.unwrap().unwrap().payload, "{\"n\":\"e1\"}");
        // not due yet: nothing to claim
        assert!(s.claim("w1", at(T0 - 1), lease, 10).await.unwrap().is_empty());
        let first = s.claim("w1", now, lease, 2).await.unwrap();
        assert_eq!(first.len(), 2, "the limit holds");
        let second = s.claim("w2", now, lease, 10).await.unwrap();
        assert_eq!(second.len(), 1, "what w1 holds is not claimed again");
        assert!(first.iter().all(|e| e.id != second[0].id));
        assert!(s.claim("w3", now, lease, 10).await.unwrap().is_empty());
        // an outcome is stored under its claim only
        let mut done = first[0].clone();
        done.record(Attempt { at: now, ok: true, status: Some(200), latency_ms: 12, note: "ok".into() }, true, &RetrySchedule::default());
        assert!(!s.finish("w2", &done).await.unwrap(), "not w2's claim");
        assert!(s.finish("w1", &done).await.unwrap());
        let stored = s.entry(&done.id).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.attempts, stored.log.len()), (EntryStatus::Sent, 1, 1));
        // a failed try waits for its retry time
        let mut failed = second[0].clone();
        failed.record(Attempt { at: now, ok: false, status: Some(500), latency_ms: 30, note: "boom".into() }, true, &RetrySchedule::parse("10").unwrap());
        assert!(s.finish("w2", &failed).await.unwrap());
        assert!(s.claim("w3", now, lease, 10).await.unwrap().is_empty(), "w1 still holds one; the failed one waits 10 s");
        let retried = s.claim("w3", at(T0 + 70_001), lease, 10).await.unwrap();
        assert_eq!(retried.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [failed.id.as_str()]);
        // a claim that ran out (its relay died) goes to another relay; the old claim's outcome is refused
        let expired = s.claim("w4", at(T0 + 60_000 + 61_000), lease, 10).await.unwrap();
        assert!(expired.iter().any(|e| e.id == first[1].id), "the lease ended");
        assert!(!s.finish("w1", &first[1]).await.unwrap());
        // lists: newest first, filtered, counted
        let (all, total) = s.list_entries(&OutboxFilter::default(), 0, 10).await.unwrap();
        assert_eq!((all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), total), (vec!["e3", "e2", "e1"], 3));
        let sent = OutboxFilter { status: Some(EntryStatus::Sent), ..Default::default() };
        assert_eq!(s.list_entries(&sent, 0, 0).await.unwrap().1, 1);
        let mails = OutboxFilter { kind: Some(EntryKind::Mail), target: Some("ana@example.ro".into()), ..Default::default() };
        assert_eq!(s.list_entries(&mails, 0, 10).await.unwrap().0.len(), 1);
        // an admin's retry: pending again now, whatever the claim
        let mut dead = s.entry("e1").await.unwrap().unwrap();
        dead.status = EntryStatus::Dead;
        s.put_entry(&dead).await.unwrap();
        dead.requeue(at(T0 + 200_000));
        s.put_entry(&dead).await.unwrap();
        let back = s.claim("w5", at(T0 + 200_000), lease, 10).await.unwrap();
        assert!(back.iter().any(|e| e.id == "e1"));
        assert_eq!(s.settle_outbox().await.unwrap(), 0, "nothing left on orders");
    }

    pub async fn recommendations(s: crate::Stores) {
        use vitrina::domain::recommend::{RecommendSettings, Scored};
        // baskets: orders that count, in id order, paged, variants folded by product id
        let mut two_lines = order("o-b", "u-1", OrderStatus::Delivered, T0 + 2, None);
        let mut second = two_lines.lines[0].clone();
        second.product_id = "p-other".into();
        second.sku = "SKU-other".into();
        two_lines.lines.push(second);
        let mut guest = order("o-d", "guest_abc", OrderStatus::Placed, T0 + 4, None);
        guest.guest_email = Some("Ana@Example.ro".into());
        for o in [
            order("o-a", "u-1", OrderStatus::Shipped, T0 + 1, None),
            two_lines,
            order("o-c", "u-2", OrderStatus::Cancelled, T0 + 3, None),
            guest,
            order("o-e", "u-3", OrderStatus::Expired, T0 + 5, None),
            order("o-f", "u-3", OrderStatus::Pending, T0 + 6, None),
            order("o-g", "u-3", OrderStatus::AwaitingPayment, T0 + 7, None),
        ] {
            s.insert_order(&o).await.unwrap();
        }
        let all = s.baskets_after(None, 100).await.unwrap();
        assert_eq!(all.iter().map(|b| b.order_id.as_str()).collect::<Vec<_>>(), ["o-a", "o-b", "o-d", "o-g"], "cancelled, expired and pending orders do not count");
        assert_eq!(all[1].products, ["p-o-b", "p-other"]);
        assert_eq!(all[1].customer, "u-1");
        assert_eq!(all[2].customer, "ana@example.ro", "a guest is known by the e-mail");
        assert_eq!(all[0].at, at(T0 + 1));
        let page = s.baskets_after(Some("o-a"), 2).await.unwrap();
        assert_eq!(page.iter().map(|b| b.order_id.as_str()).collect::<Vec<_>>(), ["o-b", "o-d"]);
        // the table: one list per product, replaced whole, stale ones dropped by build time
        assert!(s.complements("p-1").await.unwrap().is_empty());
        let list = |ids: &[(&str, f32)]| ids.iter().map(|(id, score)| Scored { id: id.to_string(), score: *score }).collect::<Vec<_>>();
        s.put_complements(100, &[("p-1".into(), list(&[("p-2", 0.9), ("p-3", 0.5)])), ("p-9".into(), list(&[("p-1", 0.2)]))]).await.unwrap();
        assert_eq!(s.complements("p-1").await.unwrap(), list(&[("p-2", 0.9), ("p-3", 0.5)]));
        s.put_complements(200, &[("p-1".into(), list(&[("p-3", 0.7)]))]).await.unwrap();
        assert_eq!(s.complements("p-1").await.unwrap(), list(&[("p-3", 0.7)]), "a list is replaced whole");
        assert_eq!(s.drop_complements_before(200).await.unwrap(), 1, "p-9 was not in the newer build");
        assert!(s.complements("p-9").await.unwrap().is_empty());
        assert_eq!(s.complements("p-1").await.unwrap().len(), 1);
        // settings: saved, replaced, and the default removes them
        assert!(s.recommend_settings().await.unwrap().is_empty());
        let pinned = RecommendSettings { product_id: "p-1".into(), pinned: vec!["p-7".into(), "p-5".into()], excluded: false };
        let excluded = RecommendSettings { product_id: "p-2".into(), pinned: vec![], excluded: true };
        s.save_recommend_settings(&pinned).await.unwrap();
        s.save_recommend_settings(&excluded).await.unwrap();
        assert_eq!(s.recommend_settings().await.unwrap(), vec![pinned.clone(), excluded.clone()]);
        s.save_recommend_settings(&RecommendSettings { product_id: "p-2".into(), ..Default::default() }).await.unwrap();
        assert_eq!(s.recommend_settings().await.unwrap(), vec![pinned], "nothing set is nothing stored");
    }

    pub async fn outbox_claims_never_overlap(s: crate::Stores) {
        let entries: Vec<OutboxEntry> = (0..60).map(|i| outbox_entry(&format!("c{i:02}"), EntryKind::Event, T0 + i)).collect();
        s.enqueue(&entries).await.unwrap();
        let now = at(T0 + 60_000);
        let mut tasks = Vec::new();
        for w in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = s.claim(&format!("w{w}"), now, std::time::Duration::from_secs(60), 7).await.unwrap();
                    if got.is_empty() {
                        break mine;
                    }
                    mine.extend(got.into_iter().map(|e| e.id));
                }
            }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            seen.extend(t.await.unwrap());
        }
        let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (60, 60), "every entry claimed once, by one relay");
    }

    pub async fn order_writes_carry_entries(s: crate::Stores) {
        let pending = order("ow1", "u1", OrderStatus::Pending, T0, Some("k-ow1"));
        s.insert_order(&pending).await.unwrap();
        let mut placed = pending.clone();
        let place = placed.transition(OrderStatus::Placed, at(T0 + 1_000)).unwrap();
        let events = order_events(&pending, &placed);
        assert_eq!(events.iter().map(|e| e.topic.as_str()).collect::<Vec<_>>(), ["order.created", "stock.sync"], "the announcement and the work that follows");
        // a write whose guard fails stores no announcement
        let mut wrong = pending.clone();
        wrong.status = OrderStatus::Confirmed;
        let refused = placed.clone().changes_since(&wrong).guard("status", &OrderStatus::Confirmed);
        assert!(!s.update_order("ow1", &refused, &events).await.unwrap());
        assert!(s.entry(&events[0].id).await.unwrap().is_none(), "no change, no announcement");
        assert!(s.update_order("ow1", &place, &events).await.unwrap());
        let stored = s.entry(&events[0].id).await.unwrap().expect("the announcement is stored with the change");
        assert_eq!((stored.topic.as_str(), stored.status), ("order.created", EntryStatus::Pending));
        let event = Event::parse(&stored).unwrap();
        assert_eq!(event.data["id"], "ow1");
        assert_eq!(s.entry(&events[1].id).await.unwrap().map(|e| e.kind), Some(vitrina::domain::outbox::EntryKind::Task));
        // a refund keeps the status: guarded by the payment as read, announced with it
        let read = s.order_by_id("ow1").await.unwrap().unwrap();
        let mut paid = read.clone();
        paid.payment.status = vitrina::domain::payment::PaymentStatus::Paid;
        assert!(s.update_order("ow1", &paid.changes_since(&read), &[]).await.unwrap());
        let (mut refunded, mut other) = (paid.clone(), paid.clone());
        let (refund, _) = refunded.refund(500, "", false, at(T0 + 2_000)).unwrap();
        let refund_events = order_events(&paid, &refunded);
        assert_eq!(refund_events[0].topic, "order.refunded");
        let (second, _) = other.refund(700, "", false, at(T0 + 2_001)).unwrap();
        let second_events = order_events(&paid, &other);
        assert!(s.update_order("ow1", &refund, &refund_events).await.unwrap());
        assert!(s.entry(&refund_events[0].id).await.unwrap().is_some());
        assert!(!s.update_order("ow1", &second, &second_events).await.unwrap(), "a second refund from the same reading is refused");
        assert_eq!(s.list_entries(&Default::default(), 0, 100).await.unwrap().0.iter().filter(|e| e.topic == "order.refunded").count(), 1, "and announces nothing");
        assert_eq!(s.order_by_id("ow1").await.unwrap().unwrap(), refunded, "the order reads back as written");
        assert_eq!(s.settle_outbox().await.unwrap(), 0);
    }

    pub async fn webhook_endpoints(s: crate::Stores) {
        assert!(s.endpoints().await.unwrap().is_empty());
        let ep = |id: &str, ms: i64| Endpoint {
            id: id.into(),
            url: "https://partner.example.com/hooks".into(),
            events: vec!["order.*".into()],
            description: "ERP".into(),
            secret: "whsec_AAAA".into(),
            previous_secret: None,
            previous_until: None,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            created_at: at(ms),
        };
        s.save_endpoint(&ep("we2", T0 + 5)).await.unwrap();
        s.save_endpoint(&ep("we1", T0)).await.unwrap();
        let mut changed = ep("we2", T0 + 5);
        changed.enabled = false;
        changed.disabled_reason = Some("answered 410 Gone".into());
        s.save_endpoint(&changed).await.unwrap();
        let all = s.endpoints().await.unwrap();
        assert_eq!(all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["we1", "we2"], "oldest first");
        assert_eq!(all[1], changed, "replaced in place, secret kept");
        assert!(s.delete_endpoint("we1").await.unwrap());
        assert!(!s.delete_endpoint("we1").await.unwrap());
        assert_eq!(s.endpoints().await.unwrap().len(), 1);
    }

    pub async fn order_numbers(s: crate::Stores) {
        let first = s.next_order_number().await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.next_order_number().await.unwrap() })
            })
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for t in tasks {
            let n = t.await.unwrap();
            assert!(n > first);
            assert!(seen.insert(n), "{n} handed out twice");
        }
        assert_eq!(seen.len(), 20);
        assert_eq!(s.next_order_number().await.unwrap(), first + 21);
    }

    /// Ordered products are remembered (they are archived, never destroyed); deleting is idempotent.
    pub async fn ordered_markers(s: crate::Stores) {
        let p = product(12, &[("ORD-1", 3)]);
        s.upsert_products(&[p.clone()]).await.unwrap();
        assert!(!s.was_ordered(&p.id).await.unwrap());
        s.mark_ordered(&[p.id.clone(), p.id.clone()]).await.unwrap();
        assert!(s.was_ordered(&p.id).await.unwrap());
        assert!(!s.was_ordered("other").await.unwrap());
        assert!(s.delete_product(&p.id).await.unwrap());
        assert_eq!(s.product_by_id(&p.id).await.unwrap(), None);
        assert!(!s.delete_product(&p.id).await.unwrap());
    }
}

// ---------------------------------------------------------------- image store contract

/// The image store port: local disk (the embedded default) and S3 behave the same.
mod images_contract {
    use vitrina::infra::images_fs::FsImageStore;
    use vitrina::infra::s3_images::S3ImageStore;
    use vitrina::ports::{ImageError, ImageStore};

    async fn images(s: &dyn ImageStore) {
        let key = "products/p1/0123456789abcdef.png";
        assert_eq!(s.get(key).await.unwrap(), None, "nothing before it is written");
        let url = s.put(key, b"first".to_vec(), "image/png").await.unwrap();
        assert!(url.ends_with(key) && url == s.public_url(key), "{url}");
        assert_eq!(s.get(key).await.unwrap(), Some((b"first".to_vec(), "image/png".to_string())));
        s.put(key, b"second".to_vec(), "image/png").await.unwrap();
        assert_eq!(s.get(key).await.unwrap().map(|(b, _)| b), Some(b"second".to_vec()), "a write replaces");
        let other = "products/p2/fedcba9876543210.webp";
        s.put(other, b"w".to_vec(), "image/webp").await.unwrap();
        assert_eq!(s.get(other).await.unwrap().map(|(_, t)| t).as_deref(), Some("image/webp"));
        for bad in ["../etc/passwd", "products/../../x.png", "", "/abs.png"] {
            assert!(matches!(s.put(bad, b"x".to_vec(), "image/png").await, Err(ImageError::InvalidKey)), "{bad:?}");
            assert!(matches!(s.get(bad).await, Err(ImageError::InvalidKey)), "{bad:?}");
        }
        s.clear().await.unwrap();
        assert_eq!(s.get(key).await.unwrap(), None, "cleared");
        assert_eq!(s.get(other).await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn disk() {
        let dir = tempfile::tempdir().unwrap();
        images(&FsImageStore::new(dir.path().join("images"), "/media")).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn s3() {
        if let Some(endpoint) = crate::common::s3_endpoint() {
            let bucket = crate::common::unique_name("contract").replace('_', "-");
            images(&S3ImageStore::connect(&bucket, Some(&endpoint), None).await.unwrap()).await;
        }
    }
}
