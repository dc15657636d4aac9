//! Recommendations: which products to suggest beside a product, a cart or
//! on the home page, and how well a strategy predicts what shoppers buy.
//!
//! - **complementary** ("frequently bought together"): item-to-item
//!   collaborative filtering over placed orders (Linden, Smith and York,
//!   2003): products bought in the same orders, scored by the cosine of
//!   their order vectors, `co(a, b) / sqrt(n(a) · n(b))`, with a minimum
//!   support. Counts are sparse (only pairs that occur) and each product
//!   keeps its top K, so memory grows with the pairs bought, not products².
//! - **related** ("similar products"): same category, shared attribute
//!   `key=value` tokens and a close price.
//! - **trending**: recent views and sales, decayed over time.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::product::{ProductStatus, ProductSummary};
use super::user::FieldError;

/// What a list is for, as the API's `intent` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Strategy {
    Complementary,
    Related,
    Trending,
    /// Best sellers of all time: the last fallback, and the baseline the others are measured against.
    Popular,
}

impl Strategy {
    pub fn as_str(&self) -> &'static str {
        match self {
            Strategy::Complementary => "complementary",
            Strategy::Related => "related",
            Strategy::Trending => "trending",
            Strategy::Popular => "popular",
        }
    }

    /// The intents a product's recommendations accept.
    pub fn parse_intent(s: &str) -> Option<Strategy> {
        match s {
            "complementary" => Some(Strategy::Complementary),
            "related" => Some(Strategy::Related),
            _ => None,
        }
    }
}

/// A list of recommendations and the strategy that produced it (a fallback names itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Recommendations {
    pub items: Vec<ProductSummary>,
    pub strategy: Strategy,
}

/// One product of a "bought together" bundle and the variant the button adds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BundleItem {
    pub product: ProductSummary,
    pub sku: String,
    /// The variant's options, e.g. `M · Black` (empty for a single variant).
    pub options: String,
    pub price: super::money::Money,
}

pub const DEFAULT_LIMIT: u32 = 8;
pub const MAX_LIMIT: u32 = 20;
/// Fewer items than this (after the rules) and the next strategy answers:
/// one complement that shoppers really bought together beats any guess.
pub const MIN_ITEMS: usize = 1;
/// A pair bought together in fewer orders than this is not a recommendation.
pub const MIN_SUPPORT: u32 = 2;
/// Complements kept per product.
pub const TOP_K: usize = 20;
/// Distinct products of one order that count: a wholesale order of 500
/// products would otherwise add 125,000 pairs and say little.
pub const MAX_BASKET: usize = 40;

/// `limit` as the API takes it: 1–20, default 8.
pub fn parse_limit(raw: Option<&str>) -> Result<u32, FieldError> {
    match raw {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(FieldError::coded("field-rec-limit", "limit", &[("max", &MAX_LIMIT.to_string())])),
        },
    }
}

/// `intent` as the API takes it: `complementary` (default) or `related`.
pub fn parse_intent(raw: Option<&str>) -> Result<Strategy, FieldError> {
    match raw {
        None | Some("") => Ok(Strategy::Complementary),
        Some(s) => Strategy::parse_intent(s).ok_or_else(|| FieldError::coded("field-rec-intent", "intent", &[])),
    }
}

/// One placed order as recommendations see it: who, when, which products
/// (variants folded into their product).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Basket {
    pub order_id: String,
    /// The user id, or the guest's e-mail.
    pub customer: String,
    pub at: DateTime<Utc>,
    pub products: Vec<String>,
}

/// A product's complement and its score (cosine similarity, 0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub id: String,
    pub score: f32,
}

/// What an admin set for a product: complements pinned by hand (first in
/// its list) and whether it is left out of every list.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecommendSettings {
    pub product_id: String,
    /// Product ids, in the order they are shown.
    #[serde(default)]
    pub pinned: Vec<String>,
    #[serde(default)]
    pub excluded: bool,
}

/// Pinned complements an admin may set per product.
pub const MAX_PINNED: usize = 8;

/// Sparse co-purchase counts, built order by order.
#[derive(Default)]
pub struct CoCounts {
    ids: Vec<String>,
    by_id: HashMap<String, u32>,
    /// Orders each product appears in.
    n: Vec<u32>,
    /// (smaller index, larger index) → orders with both.
    pairs: HashMap<(u32, u32), u32>,
    orders: usize,
}

/// How big a build got (for the benchmark's memory bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BuildStats {
    pub orders: usize,
    pub products: usize,
    pub pairs: usize,
    /// Products that got at least one complement.
    pub with_complements: usize,
}

impl CoCounts {
    pub fn new() -> Self {
        Self::default()
    }

    fn index(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.by_id.get(id) {
            return i;
        }
        let i = self.ids.len() as u32;
        self.ids.push(id.to_string());
        self.by_id.insert(id.to_string(), i);
        self.n.push(0);
        i
    }

    /// Counts one order (its distinct products, at most `MAX_BASKET`).
    pub fn add(&mut self, products: &[String]) {
        let mut items: Vec<u32> = Vec::with_capacity(products.len().min(MAX_BASKET));
        for p in products {
            let i = self.index(p);
            if !items.contains(&i) && items.len() < MAX_BASKET {
                items.push(i);
            }
        }
        if items.is_empty() {
            return;
        }
        self.orders += 1;
        items.sort_unstable();
        for (k, &a) in items.iter().enumerate() {
            self.n[a as usize] += 1;
            for &b in &items[k + 1..] {
                *self.pairs.entry((a, b)).or_insert(0) += 1;
            }
        }
    }

    /// Roughly what the counts take: a pair entry is two indices, a count
    /// and the hash table's overhead; each product its id and order count.
    pub fn memory_bytes(&self) -> usize {
        self.pairs.capacity() * (std::mem::size_of::<((u32, u32), u32)>() + 1)
            + self.ids.iter().map(|s| s.capacity() + std::mem::size_of::<String>() * 2 + 8).sum::<usize>()
            + self.by_id.capacity() * (std::mem::size_of::<(String, u32)>() + 1)
    }

    pub fn stats(&self) -> BuildStats {
        BuildStats { orders: self.orders, products: self.ids.len(), pairs: self.pairs.len(), with_complements: 0 }
    }

    /// Each product's top `k` complements by cosine similarity, pairs with
    /// at least `min_support` orders only; ties by id so a build is repeatable.
    pub fn top_k(&self, k: usize, min_support: u32) -> BTreeMap<String, Vec<Scored>> {
        let mut lists: HashMap<u32, Vec<(f32, u32)>> = HashMap::new();
        for (&(a, b), &co) in &self.pairs {
            if co < min_support {
                continue;
            }
            let score = co as f32 / ((self.n[a as usize] as f32) * (self.n[b as usize] as f32)).sqrt();
            lists.entry(a).or_default().push((score, b));
            lists.entry(b).or_default().push((score, a));
        }
        lists
            .into_iter()
            .map(|(a, mut list)| {
                list.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| self.ids[x.1 as usize].cmp(&self.ids[y.1 as usize])));
                list.truncate(k);
                (self.ids[a as usize].clone(), list.into_iter().map(|(score, b)| Scored { id: self.ids[b as usize].clone(), score }).collect())
            })
            .collect()
    }
}

/// Builds the product-to-product table from baskets.
pub fn complements(baskets: &[Basket]) -> (BTreeMap<String, Vec<Scored>>, BuildStats) {
    let mut counts = CoCounts::new();
    for b in baskets {
        counts.add(&b.products);
    }
    let table = counts.top_k(TOP_K, MIN_SUPPORT);
    let mut stats = counts.stats();
    stats.with_complements = table.len();
    (table, stats)
}

/// What `related` compares of a product.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: String,
    pub category: String,
    /// Attribute `key=value` tokens and the brand.
    pub tokens: BTreeSet<String>,
    /// Lowest price in minor units.
    pub price: i64,
}

/// How similar `other` is to `target` (higher is closer): shared tokens
/// (Jaccard), a close price (the ratio of the two), the same category.
pub fn similarity(target: &Profile, other: &Profile) -> f32 {
    let shared = target.tokens.intersection(&other.tokens).count() as f32;
    let union = (target.tokens.len() + other.tokens.len()) as f32 - shared;
    let jaccard = if union > 0.0 { shared / union } else { 0.0 };
    let (lo, hi) = (target.price.min(other.price).max(1) as f32, target.price.max(other.price).max(1) as f32);
    let price = lo / hi;
    let category = if target.category == other.category { 1.0 } else { 0.0 };
    category + jaccard + 0.5 * price
}

/// The `n` products most similar to `target` among `candidates` (ties by id).
pub fn related(target: &Profile, candidates: &[Profile], n: usize) -> Vec<Scored> {
    let mut scored: Vec<Scored> = candidates.iter().filter(|c| c.id != target.id).map(|c| Scored { id: c.id.clone(), score: similarity(target, c) }).collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    scored.truncate(n);
    scored
}

/// Half-life of trending scores.
pub const TRENDING_HALF_LIFE_HOURS: f64 = 72.0;

/// The weight of an event `age_hours` old in a trending score.
pub fn decay(age_hours: f64) -> f64 {
    0.5f64.powf(age_hours.max(0.0) / TRENDING_HALF_LIFE_HOURS)
}

/// Merges scored lists (for a cart: the complements of every item in it),
/// summing scores, highest first (ties by id).
pub fn merge(lists: &[Vec<Scored>]) -> Vec<Scored> {
    let mut sum: HashMap<&str, f32> = HashMap::new();
    for list in lists {
        for s in list {
            *sum.entry(s.id.as_str()).or_insert(0.0) += s.score;
        }
    }
    let mut merged: Vec<Scored> = sum.into_iter().map(|(id, score)| Scored { id: id.to_string(), score }).collect();
    merged.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    merged
}

/// The rules every list follows: pinned ids first, then the candidates in
/// their order; never a product in `leave_out` (the product itself, the
/// cart), an excluded one, one that is not active, or a duplicate; sold-out
/// products after those in stock; at most `limit`.
pub fn apply_rules(
    pinned: &[String],
    candidates: &[String],
    summaries: &HashMap<String, ProductSummary>,
    leave_out: &BTreeSet<String>,
    excluded: &BTreeSet<String>,
    limit: usize,
) -> Vec<ProductSummary> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut in_stock = Vec::new();
    let mut sold_out = Vec::new();
    for id in pinned.iter().chain(candidates) {
        if leave_out.contains(id) || excluded.contains(id) || !seen.insert(id.as_str()) {
            continue;
        }
        let Some(p) = summaries.get(id) else { continue };
        if p.status != ProductStatus::Active {
            continue;
        }
        if p.in_stock {
            in_stock.push(p.clone());
        } else {
            sold_out.push(p.clone());
        }
        if in_stock.len() >= limit {
            break;
        }
    }
    in_stock.extend(sold_out);
    in_stock.truncate(limit);
    in_stock
}

// ------------------------------------------------------------------ offline evaluation

/// Hit rate and precision of one strategy over held-out orders.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    /// Held-out orders where at least one of the products bought was recommended.
    pub hit_rate: f64,
    /// Recommended products that were bought, over all recommended slots (k each).
    pub precision: f64,
    pub cases: usize,
}

/// One held-out order: what the shopper had (`context`: the order's first
/// product, as if on its page or in the cart, and what they bought before)
/// and what else they bought in it (`targets`).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub customer: String,
    pub at: DateTime<Utc>,
    pub context: Vec<String>,
    pub targets: BTreeSet<String>,
}

/// Splits a history: each customer's last order (with at least two
/// products) is held out; everything else trains.
pub fn hold_out_last(baskets: &[Basket]) -> (Vec<Basket>, Vec<Case>) {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, b) in baskets.iter().enumerate() {
        let newer = last.get(b.customer.as_str()).is_none_or(|&j| (b.at, &b.order_id) > (baskets[j].at, &baskets[j].order_id));
        if newer {
            last.insert(&b.customer, i);
        }
    }
    let held: BTreeSet<usize> = last.values().copied().filter(|&i| distinct(&baskets[i].products).len() >= 2).collect();
    let mut train = Vec::new();
    let mut history: HashMap<&str, Vec<String>> = HashMap::new();
    for (i, b) in baskets.iter().enumerate() {
        if !held.contains(&i) {
            train.push(b.clone());
            history.entry(&b.customer).or_default().extend(b.products.iter().cloned());
        }
    }
    let mut cases: Vec<Case> = held
        .iter()
        .map(|&i| {
            let b = &baskets[i];
            let items = distinct(&b.products);
            let mut context = vec![items[0].clone()];
            for p in history.get(b.customer.as_str()).into_iter().flatten() {
                if !context.contains(p) {
                    context.push(p.clone());
                }
            }
            let targets = items[1..].iter().filter(|p| !context.contains(p)).cloned().collect();
            Case { customer: b.customer.clone(), at: b.at, context, targets }
        })
        .filter(|c: &Case| !c.targets.is_empty())
        .collect();
    cases.sort_by(|a, b| a.customer.cmp(&b.customer));
    (train, cases)
}

fn distinct(products: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in products {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// Scores recommendations against the cases: `recommend(case)` gives the
/// top-k list for a case.
pub fn evaluate(cases: &[Case], k: usize, mut recommend: impl FnMut(&Case) -> Vec<String>) -> Score {
    let (mut hits, mut relevant) = (0usize, 0usize);
    for case in cases {
        let list = recommend(case);
        let found = list.iter().take(k).filter(|p| case.targets.contains(*p)).count();
        if found > 0 {
            hits += 1;
        }
        relevant += found;
    }
    let n = cases.len().max(1) as f64;
    Score { hit_rate: hits as f64 / n, precision: relevant as f64 / (n * k as f64), cases: cases.len() }
}

/// Best sellers of a history: products by the orders they appear in (ties by id).
pub fn most_popular(baskets: &[Basket]) -> Vec<String> {
    let mut count: HashMap<&str, u32> = HashMap::new();
    for b in baskets {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for p in b.products.iter().filter(|p| seen.insert(p.as_str())) {
            *count.entry(p.as_str()).or_insert(0) += 1;
        }
    }
    let mut ids: Vec<(&str, u32)> = count.into_iter().collect();
    ids.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ids.into_iter().map(|(id, _)| id.to_string()).collect()
}

/// Products by their sales decayed to `now` (`decay`), highest first.
pub fn trending_from_sales(baskets: &[Basket], now: DateTime<Utc>) -> Vec<String> {
    let mut score: HashMap<&str, f64> = HashMap::new();
    for b in baskets {
        let age = (now - b.at).num_minutes() as f64 / 60.0;
        for p in &b.products {
            *score.entry(p.as_str()).or_insert(0.0) += decay(age);
        }
    }
    let mut ids: Vec<(&str, f64)> = score.into_iter().collect();
    ids.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ids.into_iter().map(|(id, _)| id.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basket(id: &str, customer: &str, day: i64, products: &[&str]) -> Basket {
        Basket {
            order_id: id.into(),
            customer: customer.into(),
            at: DateTime::from_timestamp(1_700_000_000 + day * 86_400, 0).unwrap(),
            products: products.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn ids(list: &[Scored]) -> Vec<&str> {
        list.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn co_purchases_score_by_cosine_with_a_minimum_support() {
        let baskets = vec![
            basket("1", "a", 0, &["laptop", "mouse"]),
            basket("2", "b", 0, &["laptop", "mouse", "bag"]),
            basket("3", "c", 0, &["laptop", "bag", "mouse"]),
            basket("4", "d", 0, &["laptop", "lamp"]),
            basket("5", "e", 0, &["mouse"]),
        ];
        let (table, stats) = complements(&baskets);
        // laptop–mouse: 3 orders; laptop in 4, mouse in 4: 3/4
        assert_eq!(ids(&table["laptop"]), vec!["mouse", "bag"]);
        assert!((table["laptop"][0].score - 0.75).abs() < 1e-6);
        // laptop–bag: 2/sqrt(4·2)
        assert!((table["laptop"][1].score - 2.0 / 8f32.sqrt()).abs() < 1e-6);
        // one order with the lamp is not enough
        assert!(!table.contains_key("lamp"));
        assert_eq!(stats.orders, 5);
        assert_eq!(stats.pairs, 4, "laptop-mouse, laptop-bag, mouse-bag, laptop-lamp");
    }

    #[test]
    fn a_repeated_product_in_one_order_counts_once() {
        let (table, _) = complements(&[basket("1", "a", 0, &["x", "x", "y"]), basket("2", "b", 0, &["x", "y", "y"])]);
        assert!((table["x"][0].score - 1.0).abs() < 1e-6);
    }

    #[test]
    fn top_k_keeps_the_best_and_is_repeatable() {
        let mut counts = CoCounts::new();
        for i in 0..30 {
            for _ in 0..(2 + i % 5) {
                counts.add(&["hub".to_string(), format!("p{i:02}")]);
            }
        }
        let a = counts.top_k(5, 2);
        let b = counts.top_k(5, 2);
        assert_eq!(a, b);
        assert_eq!(a["hub"].len(), 5);
        assert!(a["hub"].windows(2).all(|w| w[0].score >= w[1].score));
    }

    fn profile(id: &str, category: &str, tokens: &[&str], price: i64) -> Profile {
        Profile { id: id.into(), category: category.into(), tokens: tokens.iter().map(|t| t.to_string()).collect(), price }
    }

    #[test]
    fn related_prefers_shared_attributes_and_a_close_price() {
        let target = profile("t", "laptops", &["ram=16", "cpu=m3"], 5000);
        let candidates = vec![
            profile("t", "laptops", &["ram=16", "cpu=m3"], 5000),
            profile("same-specs", "laptops", &["ram=16", "cpu=m3"], 5200),
            profile("cheap", "laptops", &["ram=8"], 1500),
            profile("other-cat", "phones", &["ram=16", "cpu=m3"], 5000),
        ];
        assert_eq!(ids(&related(&target, &candidates, 10)), vec!["same-specs", "other-cat", "cheap"]);
        let list = related(&target, &candidates, 10);
        assert_eq!(list[0].id, "same-specs");
        assert!(list.iter().all(|s| s.id != "t"), "never the product itself");
    }

    fn summary(id: &str, status: ProductStatus, in_stock: bool) -> ProductSummary {
        let mut s = crate::domain::product::tests::sample().summary();
        s.id = id.into();
        s.slug = id.into();
        s.status = status;
        s.in_stock = in_stock;
        s
    }

    #[test]
    fn rules_leave_out_self_cart_archived_excluded_and_duplicates_and_put_sold_out_last() {
        let summaries: HashMap<String, ProductSummary> = [
            summary("self", ProductStatus::Active, true),
            summary("in-cart", ProductStatus::Active, true),
            summary("archived", ProductStatus::Archived, true),
            summary("excluded", ProductStatus::Active, true),
            summary("gone", ProductStatus::Active, false),
            summary("a", ProductStatus::Active, true),
            summary("b", ProductStatus::Active, true),
            summary("pin", ProductStatus::Active, true),
        ]
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
        let candidates: Vec<String> = ["self", "gone", "a", "in-cart", "archived", "a", "excluded", "b", "unknown"].iter().map(|s| s.to_string()).collect();
        let leave_out: BTreeSet<String> = ["self", "in-cart"].iter().map(|s| s.to_string()).collect();
        let excluded: BTreeSet<String> = ["excluded".to_string()].into();
        let list = apply_rules(&["pin".into(), "self".into()], &candidates, &summaries, &leave_out, &excluded, 10);
        let got: Vec<&str> = list.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(got, vec!["pin", "a", "b", "gone"]);
        let two = apply_rules(&[], &candidates, &summaries, &leave_out, &excluded, 2);
        assert_eq!(two.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn merge_sums_scores() {
        let a = vec![Scored { id: "x".into(), score: 0.5 }, Scored { id: "y".into(), score: 0.6 }];
        let b = vec![Scored { id: "x".into(), score: 0.5 }];
        assert_eq!(ids(&merge(&[a, b])), vec!["x", "y"]);
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(parse_limit(None), Ok(8));
        assert_eq!(parse_limit(Some("20")), Ok(20));
        assert!(parse_limit(Some("0")).is_err());
        assert!(parse_limit(Some("21")).is_err());
        assert!(parse_limit(Some("x")).is_err());
        assert_eq!(parse_limit(Some("0")).unwrap_err().field, "limit");
        assert_eq!(parse_intent(None), Ok(Strategy::Complementary));
        assert_eq!(parse_intent(Some("related")), Ok(Strategy::Related));
        assert_eq!(parse_intent(Some("trending")).unwrap_err().field, "intent");
    }

    #[test]
    fn hold_out_takes_each_customers_last_order_and_scores_hits() {
        let baskets = vec![
            basket("1", "a", 0, &["laptop", "mouse"]),
            basket("2", "a", 5, &["laptop", "bag"]),
            basket("3", "b", 1, &["phone", "case"]),
            basket("4", "c", 2, &["book"]),
        ];
        let (train, cases) = hold_out_last(&baskets);
        assert_eq!(train.iter().map(|b| b.order_id.as_str()).collect::<Vec<_>>(), vec!["1", "4"]);
        // a's last order: laptop first (already known: context), the bag is the target
        let a = cases.iter().find(|c| c.customer == "a").unwrap();
        assert_eq!(a.context, vec!["laptop".to_string(), "mouse".to_string()]);
        assert_eq!(a.targets, ["bag".to_string()].into());
        assert_eq!(cases.len(), 2, "c's single-product order cannot be scored");
        let perfect = evaluate(&cases, 10, |c| c.targets.iter().cloned().collect());
        assert_eq!(perfect.hit_rate, 1.0);
        let none = evaluate(&cases, 10, |_| vec!["nothing".into()]);
        assert_eq!(none.hit_rate, 0.0);
        assert_eq!(none.precision, 0.0);
        let half = evaluate(&cases, 10, |_| vec!["bag".into()]);
        assert_eq!(half.hit_rate, 0.5);
        assert!((half.precision - 1.0 / 20.0).abs() < 1e-9);
    }

    #[test]
    fn popular_and_trending_rank_by_count_and_recency() {
        let baskets = vec![basket("1", "a", 0, &["old", "x"]), basket("2", "b", 0, &["old"]), basket("3", "c", 30, &["new"])];
        assert_eq!(most_popular(&baskets)[0], "old");
        let now = baskets[2].at;
        assert_eq!(trending_from_sales(&baskets, now)[0], "new");
        assert!((decay(TRENDING_HALF_LIFE_HOURS) - 0.5).abs() < 1e-9);
    }
}
