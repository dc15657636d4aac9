//! Recommendations: "frequently bought together", "similar products",
//! "trending now" (see `domain::recommend` for how each is scored).
//!
//! Reads: the candidate ids of a (strategy, product) come from the cache
//! (one store lookup or one in-memory scoring on a miss); the rules run on
//! every read against the in-memory index, so a product archived or sold
//! out a moment ago, or put in the cart, is never suggested from a stale list.
//! The product-to-product table is rebuilt by `rebuild` (a background job on
//! every instance, at most one run per period across them; the result is a
//! function of the orders, so two runs at once write the same rows).
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::product::ProductSummary;
use crate::domain::user::FieldError;
use crate::domain::recommend::{self as rec, Basket, BundleItem, CoCounts, Profile, RecommendSettings, Recommendations, Scored, Strategy};
use crate::ports::{Cache, RateLimiter, RecommendStore, StoreError};
use crate::services::audit::{Actor, AuditLog};
use crate::services::catalog::{CatalogError, CatalogService};

/// Cache namespace whose version a rebuild or an admin's change bumps.
pub const RECOMMEND_VERSION: &str = "recommend";
/// Candidates kept per (strategy, product) before the rules.
const CANDIDATES: usize = 40;
/// Products of a category `related` compares (the most popular first).
const RELATED_POOL: usize = 600;
/// How long a read waits for a first index build under way.
const INDEX_WAIT: Duration = Duration::from_secs(2);
/// Orders read per page by a rebuild.
const BASKET_PAGE: u32 = 5_000;
/// Trending counts go into one sorted set per week; each event counts
/// `2^(hours since the week began / half-life)`, so ranking by the sum is
/// ranking by the decayed score (forward decay), and the previous week's
/// set, scaled down by a week of decay, joins the current one.
const WEEK_HOURS: f64 = 7.0 * 24.0;

fn week_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(7 * 86_400)
}

fn trending_set(week: i64) -> String {
    format!("trending:w{week}")
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct RebuildReport {
    pub stats: rec::BuildStats,
    /// Lists removed (products that no longer have complements).
    pub dropped: u64,
    pub elapsed_ms: u64,
    /// Bytes the sparse counts took at their largest (an estimate).
    pub peak_bytes: usize,
}

/// Hit rate and precision per strategy (`vitrina recommend evaluate`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub orders: usize,
    pub customers: usize,
    pub cases: usize,
    pub k: usize,
    pub scores: Vec<(Strategy, rec::Score)>,
}

#[derive(Default)]
struct Pins {
    pinned: HashMap<String, Vec<String>>,
    excluded: BTreeSet<String>,
}

#[derive(Clone)]
pub struct Recommender {
    catalog: CatalogService,
    store: Arc<dyn RecommendStore>,
    cache: Arc<dyn Cache>,
    ttl: Duration,
    audit: Option<AuditLog>,
    /// One rebuild per period across instances (shared through Redis when there is one).
    limiter: Option<Arc<dyn RateLimiter>>,
    /// Admins' pins and exclusions as of a recommendation version.
    pins: Arc<std::sync::Mutex<Option<(u64, Arc<Pins>)>>>,
    /// Every product's candidates, computed when their inputs change and read
    /// in O(1) by pages (see [`Recommender::refresh_table`]).
    table: Arc<std::sync::RwLock<RecTable>>,
}

/// The recommendation table pages read: each product's complements (as the
/// last rebuild stored them) and similar products (from the search index).
#[derive(Default)]
struct RecTable {
    /// The recommendation version the complements are of.
    rec_version: Option<u64>,
    related: HashMap<String, Arc<Vec<Scored>>>,
    /// When the similar lists were last computed for every product.
    related_at: Option<std::time::Instant>,
}

/// What the table did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableRefresh {
    pub complements: usize,
    pub related: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    #[error("product not found")]
    NotFound,
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(crate::domain::user::FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CatalogError> for RecommendError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound => RecommendError::NotFound,
            CatalogError::Store(s) => RecommendError::Store(s),
            CatalogError::Invalid(q) => RecommendError::Invalid(FieldError::new(&q.param, q.message)),
        }
    }
}

impl Recommender {
    pub fn new(catalog: CatalogService, store: Arc<dyn RecommendStore>, cache: Arc<dyn Cache>, ttl: Duration) -> Self {
        Self { catalog, store, cache, ttl, audit: None, limiter: None, pins: Default::default(), table: Default::default() }
    }

    pub fn with_audit(mut self, audit: AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    pub fn with_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    async fn version(&self) -> u64 {
        self.cache.version(RECOMMEND_VERSION).await.unwrap_or(0)
    }

    async fn pins(&self, version: u64) -> Result<Arc<Pins>, StoreError> {
        if let Some((v, pins)) = self.pins.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if *v == version {
                return Ok(pins.clone());
            }
        }
        let mut pins = Pins::default();
        for s in self.store.recommend_settings().await? {
            if s.excluded {
                pins.excluded.insert(s.product_id.clone());
            }
            if !s.pinned.is_empty() {
                pins.pinned.insert(s.product_id, s.pinned);
            }
        }
        let pins = Arc::new(pins);
        *self.pins.lock().unwrap_or_else(|e| e.into_inner()) = Some((version, pins.clone()));
        Ok(pins)
    }

    // ------------------------------------------------------------ reads

    /// Recommendations beside a product (`intent` complementary or related),
    /// leaving out what is in the shopper's cart. Falls back complementary →
    /// related → trending → popular when a strategy has too little.
    pub async fn for_product(&self, slug: &str, intent: Strategy, limit: u32, in_cart: &[String]) -> Result<Recommendations, RecommendError> {
        let id = self.active_id(slug).await?.ok_or(RecommendError::NotFound)?;
        let mut leave_out: BTreeSet<String> = in_cart.iter().cloned().collect();
        leave_out.insert(id.clone());
        let chain: &[Strategy] = match intent {
            Strategy::Complementary => &[Strategy::Complementary, Strategy::Related],
            _ => &[Strategy::Related],
        };
        self.answer(chain, &[id], &leave_out, limit as usize).await
    }

    /// The id of the active product with this slug: from the index once it
    /// is loaded, else from the cache (a few bytes, not the product).
    async fn active_id(&self, slug: &str) -> Result<Option<String>, RecommendError> {
        if let Some(index) = self.catalog.loaded_index(INDEX_WAIT).await {
            return Ok(index.active_id_of(slug));
        }
        let key = format!("cat:v{}:id:{slug}", self.catalog.cache_version().await);
        let catalog = self.catalog.clone();
        let slug = slug.to_string();
        Ok(self.catalog.cached(key, self.ttl, || async move { Ok(catalog.active_view(&slug).await?.map(|v| v.id)) }).await?)
    }

    /// "You may also like" for a cart: the complements of everything in it,
    /// then what is similar to its items, never what is in it.
    pub async fn for_cart(&self, product_ids: &[String], limit: u32) -> Result<Recommendations, RecommendError> {
        let leave_out: BTreeSet<String> = product_ids.iter().cloned().collect();
        self.answer(&[Strategy::Complementary, Strategy::Related], product_ids, &leave_out, limit as usize).await
    }

    /// "Trending now": recent views and sales, decayed; best sellers while there are none.
    pub async fn trending(&self, limit: u32, leave_out: &[String]) -> Result<Recommendations, RecommendError> {
        let leave_out: BTreeSet<String> = leave_out.iter().cloned().collect();
        self.answer(&[], &[], &leave_out, limit as usize).await
    }

    /// Tries each strategy of `chain` for the `seeds` (a product, a cart),
    /// then trending, then popular; the first with enough items answers.
    async fn answer(&self, chain: &[Strategy], seeds: &[String], leave_out: &BTreeSet<String>, limit: usize) -> Result<Recommendations, RecommendError> {
        let mut answer = self.answer_unpriced(chain, seeds, leave_out, limit).await?;
        // sale prices as on the listings (automatic promotions)
        self.catalog.mark_sale_prices(&mut answer.items).await;
        Ok(answer)
    }

    async fn answer_unpriced(&self, chain: &[Strategy], seeds: &[String], leave_out: &BTreeSet<String>, limit: usize) -> Result<Recommendations, RecommendError> {
        let versions = (self.version().await, self.catalog.cache_version().await);
        let pins = self.pins(versions.0).await?;
        let Some(index) = self.catalog.loaded_index(INDEX_WAIT).await else {
            // a first index build is under way: best sellers from the store
            let items = self.popular_items(limit + leave_out.len()).await?.into_iter().filter(|p| !leave_out.contains(&p.id)).take(limit).collect();
            return Ok(Recommendations { items, strategy: Strategy::Popular });
        };
        for &strategy in chain.iter().chain([Strategy::Trending].iter()) {
            let pinned: Vec<String> = match strategy {
                Strategy::Complementary => seeds.iter().flat_map(|s| pins.pinned.get(s).cloned().unwrap_or_default()).collect(),
                _ => Vec::new(),
            };
            let mut lists = Vec::with_capacity(seeds.len());
            match strategy {
                Strategy::Trending => lists.push(self.trending_candidates().await),
                _ => {
                    for seed in seeds.iter().take(20) {
                        lists.push(self.candidates(versions, strategy, seed).await?);
                    }
                }
            }
            let candidates: Vec<String> = rec::merge(&lists).into_iter().map(|s| s.id).collect();
            let wanted: Vec<String> = pinned.iter().chain(candidates.iter()).cloned().collect();
            let summaries: HashMap<String, ProductSummary> = index.summaries(&wanted).into_iter().map(|s| (s.id.clone(), s)).collect();
            let items = rec::apply_rules(&pinned, &candidates, &summaries, leave_out, &pins.excluded, limit);
            if items.len() >= rec::MIN_ITEMS {
                return Ok(Recommendations { items, strategy });
            }
        }
        let items: Vec<ProductSummary> = self.popular_items(limit + leave_out.len() + pins.excluded.len()).await?;
        let ids: Vec<String> = items.iter().map(|p| p.id.clone()).collect();
        let summaries = items.into_iter().map(|s| (s.id.clone(), s)).collect();
        Ok(Recommendations { items: rec::apply_rules(&[], &ids, &summaries, leave_out, &pins.excluded, limit), strategy: Strategy::Popular })
    }

    async fn popular_items(&self, n: usize) -> Result<Vec<ProductSummary>, RecommendError> {
        Ok(self.catalog.popular(n.clamp(1, 100) as u32).await?.items)
    }

    /// A strategy's candidates for one product: from the table (O(1)), else computed (and cached).
    async fn candidates(&self, (rec_version, catalog_version): (u64, u64), strategy: Strategy, product_id: &str) -> Result<Vec<Scored>, RecommendError> {
        if let Ok(t) = self.table.read() {
            match strategy {
                Strategy::Related => {
                    if let Some(l) = t.related.get(product_id) {
                        return Ok(l.as_ref().clone());
                    }
                }
                _ => {}
            }
        }
        let key = format!("rec:v{rec_version}:c{catalog_version}:{}:{product_id}", strategy.as_str());
        let (store, catalog, id) = (self.store.clone(), self.catalog.clone(), product_id.to_string());
        let list = self
            .catalog
            .cached(key, self.ttl, || async move {
                Ok(match strategy {
                    Strategy::Complementary => store.complements(&id).await?,
                    _ => related_candidates(&catalog, &id).await,
                })
            })
            .await?;
        Ok(list)
    }

    /// The week's trending products with the last week's, decayed.
    async fn trending_candidates(&self) -> Vec<Scored> {
        let week = week_of(Utc::now());
        let mut lists = Vec::with_capacity(2);
        for (w, factor) in [(week, 1.0), (week - 1, rec::decay(WEEK_HOURS))] {
            if let Ok(top) = self.cache.top_scores(&trending_set(w), CANDIDATES * 2).await {
                lists.push(top.into_iter().map(|(id, s)| Scored { id, score: (s * factor) as f32 }).collect::<Vec<_>>());
            }
        }
        rec::merge(&lists)
    }

    /// What "add all to the cart" adds of each product: its only variant,
    /// else the first in stock (its options shown beside it).
    pub async fn bundle(&self, items: &[ProductSummary]) -> Vec<BundleItem> {
        let mut out = Vec::with_capacity(items.len());
        // the variants as the index last took them in (stock may lag; adding to the cart checks it)
        let Some(index) = self.catalog.loaded_index(INDEX_WAIT).await else { return out };
        for p in items.iter().filter(|p| p.in_stock) {
            if let Some(v) = index.variants_of(&p.id).into_iter().find(|v| v.stock > 0) {
                let options = v.options.values().cloned().collect::<Vec<_>>().join(" · ");
                out.push(BundleItem { product: p.clone(), sku: v.sku, options, price: v.price });
            }
        }
        out
    }

    // ------------------------------------------------------------ the table

    /// Brings the table up to date: every product's lists when it has none
    /// (or `full`), the complements when a rebuild stored new ones, the
    /// similar lists of the products that changed since. Run by a background
    /// worker; pages never wait for it.
    pub async fn refresh_table(&self, full: bool) -> Result<TableRefresh, StoreError> {
        let Some(index) = self.catalog.loaded_index(INDEX_WAIT).await.cloned() else { return Ok(TableRefresh::default()) };
        let version = self.version().await;
        let (changed, everything) = self.catalog.take_changed();
        let (stale_complements, no_related) = match self.table.read() {
            Ok(t) => (t.rec_version != Some(version), t.related_at.is_none()),
            Err(_) => (true, true),
        };
        let mut done = TableRefresh::default();
        // the complements are read per product from the store (and cached): loading them all at once
        // held a slow store for a second; only the similar lists, computed from the index, live here
        let _ = (stale_complements, version);
        let ids = if full || everything || no_related { None } else { Some(changed) };
        if ids.as_ref().is_some_and(|ids| ids.is_empty()) {
            return Ok(done);
        }
        let whole = ids.is_none();
        // CPU work off the request threads, in slices so it yields to them
        let ids = ids.unwrap_or_else(|| index.active_ids());
        let mut pools = HashMap::new();
        for chunk in ids.chunks(500) {
            let (index, chunk) = (index.clone(), chunk.to_vec());
            let (lists, kept): (Vec<(String, Arc<Vec<Scored>>)>, _) = tokio::task::spawn_blocking(move || {
                let lists = chunk.iter().map(|id| (id.clone(), Arc::new(related_in(index.as_ref(), id, &mut pools)))).collect();
                (lists, pools)
            })
            .await
            .map_err(|e| StoreError::Other(format!("similar products: {e}")))?;
            pools = kept;
            done.related += lists.len();
            if let Ok(mut t) = self.table.write() {
                t.related.extend(lists);
            }
        }
        if whole {
            if let Ok(mut t) = self.table.write() {
                let active: BTreeSet<&String> = ids.iter().collect();
                t.related.retain(|id, _| active.contains(id));
                t.related_at = Some(std::time::Instant::now());
            }
        }
        Ok(done)
    }

    /// When the similar lists were last computed for every product (a full
    /// pass also catches products whose neighbours changed).
    pub fn table_age(&self) -> Option<Duration> {
        self.table.read().ok().and_then(|t| t.related_at.map(|at| at.elapsed()))
    }

    // ------------------------------------------------------------ the job

    /// Builds the product-to-product table from every order that counts and
    /// stores it; lists of products that no longer have complements go.
    pub async fn rebuild(&self) -> Result<RebuildReport, StoreError> {
        let started = std::time::Instant::now();
        let built_ms = Utc::now().timestamp_millis();
        let mut counts = CoCounts::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.baskets_after(after.as_deref(), BASKET_PAGE).await?;
            for b in &page {
                counts.add(&b.products);
            }
            match page.last() {
                Some(last) if page.len() == BASKET_PAGE as usize => after = Some(last.order_id.clone()),
                _ => break,
            }
        }
        let peak_bytes = counts.memory_bytes();
        let mut stats = counts.stats();
        let table = counts.top_k(rec::TOP_K, rec::MIN_SUPPORT);
        drop(counts);
        stats.with_complements = table.len();
        let rows: Vec<(String, Vec<Scored>)> = table.into_iter().collect();
        for chunk in rows.chunks(1000) {
            self.store.put_complements(built_ms, chunk).await?;
        }
        let dropped = self.store.drop_complements_before(built_ms).await?;
        self.bump().await;
        // trending sets older than last week hold nothing that still counts
        let week = week_of(Utc::now());
        for w in [week - 2, week - 3] {
            let _ = self.cache.drop_set(&trending_set(w)).await;
        }
        Ok(RebuildReport { stats, dropped, elapsed_ms: started.elapsed().as_millis() as u64, peak_bytes })
    }

    /// Runs `rebuild` unless another instance (or this one) ran it within
    /// `every`: the limiter is shared through Redis when there is one.
    pub async fn rebuild_if_due(&self, every: Duration) -> Option<Result<RebuildReport, StoreError>> {
        let Some(limiter) = &self.limiter else { return Some(self.rebuild().await) };
        match limiter.hit("recommend:rebuild", 1, every).await {
            Ok(d) if d.allowed => Some(self.rebuild().await),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "rebuild limiter unavailable; rebuilding here");
                Some(self.rebuild().await)
            }
        }
    }

    async fn bump(&self) {
        if let Err(e) = self.cache.bump_version(RECOMMEND_VERSION).await {
            tracing::warn!(error = %e, "could not bump the recommendation version");
        }
    }

    // ------------------------------------------------------------ admin

    pub async fn settings(&self, product_id: &str) -> Result<RecommendSettings, RecommendError> {
        self.catalog.store().product_by_id(product_id).await?.ok_or(RecommendError::NotFound)?;
        let all = self.store.recommend_settings().await?;
        Ok(all.into_iter().find(|s| s.product_id == product_id).unwrap_or_else(|| RecommendSettings { product_id: product_id.to_string(), ..Default::default() }))
    }

    /// Saves a product's pins (given as slugs or ids, checked to exist) and exclusion.
    pub async fn save_settings(&self, actor: &Actor, product_id: &str, pinned: &[String], excluded: bool) -> Result<RecommendSettings, RecommendError> {
        let product = self.catalog.store().product_by_id(product_id).await?.ok_or(RecommendError::NotFound)?;
        if pinned.len() > rec::MAX_PINNED {
            return Err(RecommendError::Invalid(FieldError::coded("field-rec-pinned-many", "pinned", &[("max", &rec::MAX_PINNED.to_string())])));
        }
        let mut ids = Vec::new();
        for p in pinned.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let found = match self.catalog.store().product_by_slug(p).await? {
                Some(x) => Some(x),
                None => self.catalog.store().product_by_id(p).await?,
            };
            let Some(found) = found else {
                return Err(RecommendError::Invalid(FieldError::coded("field-rec-pinned-unknown", "pinned", &[("product", p)])));
            };
            if found.id == product.id {
                return Err(RecommendError::Invalid(FieldError::coded("field-rec-pinned-self", "pinned", &[])));
            }
            if !ids.contains(&found.id) {
                ids.push(found.id);
            }
        }
        let before = self.settings(&product.id).await?;
        let settings = RecommendSettings { product_id: product.id, pinned: ids, excluded };
        self.store.save_recommend_settings(&settings).await?;
        self.bump().await;
        if let Some(audit) = &self.audit {
            let summary = format!("recommendations of {}: {} pinned{}", product.name, settings.pinned.len(), if excluded { ", excluded" } else { "" });
            audit.record(actor, "product.recommendations", &settings.product_id, summary, Some(&before), Some(&settings)).await;
        }
        Ok(settings)
    }

    /// What the job computed for a product (any status), best first.
    pub async fn computed(&self, product_id: &str) -> Result<Vec<ProductSummary>, RecommendError> {
        let ids: Vec<String> = self.store.complements(product_id).await?.into_iter().map(|s| s.id).collect();
        let Some(index) = self.catalog.ready_index().await else { return Ok(Vec::new()) };
        let found: HashMap<String, ProductSummary> = index.summaries(&ids).into_iter().map(|s| (s.id.clone(), s)).collect();
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    /// Slugs of pinned products, for forms.
    pub fn slugs_of(&self, ids: &[String]) -> Vec<String> {
        match self.catalog.index() {
            Some(index) => index.summaries(ids).into_iter().map(|s| s.slug).collect(),
            None => ids.to_vec(),
        }
    }

    // ------------------------------------------------------------ evaluation

    /// Every basket that counts, as the job reads them.
    pub async fn baskets(&self) -> Result<Vec<Basket>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.baskets_after(after.as_deref(), BASKET_PAGE).await?;
            let full = page.len() == BASKET_PAGE as usize;
            after = page.last().map(|b| b.order_id.clone());
            out.extend(page);
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Holds out each customer's last order, recommends from the rest with
    /// each strategy and a most-popular baseline, and scores the top `k`.
    pub async fn evaluate(&self, baskets: &[Basket], k: usize) -> Result<Evaluation, RecommendError> {
        let (train, cases) = rec::hold_out_last(baskets);
        let (table, _) = rec::complements(&train);
        let popular = rec::most_popular(&train);
        let customers = baskets.iter().map(|b| b.customer.as_str()).collect::<BTreeSet<_>>().len();
        let index = self.catalog.loaded_index(Duration::from_secs(120)).await;
        let fresh = |list: &mut dyn Iterator<Item = String>, case: &rec::Case| -> Vec<String> { list.filter(|p| !case.context.contains(p)).take(k).collect() };
        let co = rec::evaluate(&cases, k, |case| {
            let lists: Vec<Vec<Scored>> = case.context.iter().filter_map(|p| table.get(p).cloned()).collect();
            fresh(&mut rec::merge(&lists).into_iter().map(|s| s.id), case)
        });
        let related = rec::evaluate(&cases, k, |case| match &index {
            Some(index) => {
                let pool = index.profile(&case.context[0]).map(|t| (index.profiles_in(&t.category, RELATED_POOL), t));
                let list = pool.map(|(pool, t)| rec::related(&t, &pool, k + case.context.len())).unwrap_or_default();
                fresh(&mut list.into_iter().map(|s| s.id), case)
            }
            None => Vec::new(),
        });
        let trending = rec::evaluate(&cases, k, |case| {
            let before: Vec<Basket> = train.iter().filter(|b| b.at <= case.at).cloned().collect();
            fresh(&mut rec::trending_from_sales(&before, case.at).into_iter(), case)
        });
        let baseline = rec::evaluate(&cases, k, |case| fresh(&mut popular.iter().cloned(), case));
        Ok(Evaluation {
            orders: baskets.len(),
            customers,
            cases: cases.len(),
            k,
            scores: vec![(Strategy::Complementary, co), (Strategy::Related, related), (Strategy::Trending, trending), (Strategy::Popular, baseline)],
        })
    }
}

/// Counts `by` for `product_id` in this week's trending set at time `at`.
pub fn track_trending(cache: &Arc<dyn Cache>, product_id: &str, by: f64, at: DateTime<Utc>) {
    let week = week_of(at);
    let hours = (at.timestamp() - week * 7 * 86_400) as f64 / 3600.0;
    let weight = by * 2f64.powf(hours / rec::TRENDING_HALF_LIFE_HOURS);
    let (cache, id) = (cache.clone(), product_id.to_string());
    tokio::spawn(async move {
        if let Err(e) = cache.incr_score(&trending_set(week), &id, weight).await {
            tracing::debug!(error = %e, "trending not counted");
        }
    });
}

/// Similar products: the same category (the top-level one too when the
/// category is small), scored by `domain::recommend::similarity`.
async fn related_candidates(catalog: &CatalogService, product_id: &str) -> Vec<Scored> {
    let Some(index) = catalog.loaded_index(INDEX_WAIT).await else { return Vec::new() };
    related_now(index.as_ref(), product_id)
}

/// The products most like `product_id` in its category (then its top category).
fn related_now(index: &dyn crate::ports::SearchIndex, product_id: &str) -> Vec<Scored> {
    related_in(index, product_id, &mut HashMap::new())
}

/// The same, with the candidate pool of each category built once per pass
/// (`pools`): the products of a category share it.
fn related_in(index: &dyn crate::ports::SearchIndex, product_id: &str, pools: &mut HashMap<String, Arc<Vec<Profile>>>) -> Vec<Scored> {
    let Some(target) = index.profile(product_id) else { return Vec::new() };
    let pool = pools
        .entry(target.category.clone())
        .or_insert_with(|| {
            let mut pool: Vec<Profile> = index.profiles_in(&target.category, RELATED_POOL);
            if pool.len() < CANDIDATES {
                if let Some((top, _)) = target.category.split_once('/') {
                    let have: BTreeSet<String> = pool.iter().map(|p| p.id.clone()).collect();
                    pool.extend(index.profiles_in(top, RELATED_POOL).into_iter().filter(|p| !have.contains(&p.id)));
                }
            }
            Arc::new(pool)
        })
        .clone();
    rec::related(&target, &pool, CANDIDATES)
}
