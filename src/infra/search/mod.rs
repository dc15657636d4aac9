//! The in-process search index: listings, search and facet counts from
//! memory instead of store queries.
//!
//! An inverted index over compressed bitmaps (`roaring`): one bitmap per
//! status, category path (with its ancestors), `key=value` facet token,
//! folded word (per field: name, brand, category, other text) and word stem,
//! plus in-stock. A listing is a handful of bitmap intersections; facet
//! counts are bitmap intersection sizes (or, for small results, a walk over
//! the matching documents' tokens, whichever is cheaper); pages come from a
//! precomputed order per sort. The cost follows the size of the result, not
//! of the catalog.
//!
//! The store stays the source of truth: each instance builds its index from
//! the store at start and applies the store's changes as they come (see
//! `services::catalog::CatalogService::sync_index`).
pub mod analysis;

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use std::sync::RwLock;

use roaring::RoaringBitmap;

use self::analysis::{FIELDS, FIELD_WEIGHTS, MATCH_FACTORS, MIN_PREFIX};
use crate::domain::product::{Product, ProductStatus, ProductSummary, SkuView};
use crate::domain::query::{assemble_facets, CatalogQuery, SearchResult, Sort};
use crate::ports::{IndexBuild, SearchIndex};

#[derive(Default, Clone)]
struct Posting {
    all: RoaringBitmap,
    by_field: [RoaringBitmap; FIELDS],
}

/// Words or stems, each with an id and its postings.
#[derive(Default, Clone)]
struct Dict {
    ids: BTreeMap<String, u32>,
    postings: Vec<Posting>,
    /// Word ids by length in characters (fuzzy matching looks only at lengths within
    /// reach), each with its letter mask; numbers are left out (no typos in numbers).
    by_len: Vec<Vec<(u32, u64)>>,
    names: Vec<String>,
}

impl Dict {
    fn id(&mut self, word: &str) -> u32 {
        if let Some(id) = self.ids.get(word) {
            return *id;
        }
        let id = self.postings.len() as u32;
        self.ids.insert(word.to_string(), id);
        self.postings.push(Posting::default());
        self.names.push(word.to_string());
        if analysis::typo_tolerant(word) {
            let len = word.chars().count();
            if self.by_len.len() <= len {
                self.by_len.resize(len + 1, Vec::new());
            }
            self.by_len[len].push((id, analysis::letter_mask(word)));
        }
        id
    }
}

#[derive(Default, Clone)]
struct Facets {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    bitmaps: Vec<RoaringBitmap>,
    by_key: BTreeMap<String, Vec<u32>>,
    /// The key of each token (`color` for `color=Red`).
    key_of: Vec<String>,
}

impl Facets {
    fn id(&mut self, token: &str) -> u32 {
        if let Some(id) = self.ids.get(token) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(token.to_string(), id);
        self.names.push(token.to_string());
        self.bitmaps.push(RoaringBitmap::new());
        let key = token.split_once('=').map(|(k, _)| k).unwrap_or(token);
        self.by_key.entry(key.to_string()).or_default().push(id);
        self.key_of.push(key.to_string());
        id
    }
}

#[derive(Clone)]
struct Doc {
    summary: ProductSummary,
    status: ProductStatus,
    price: i64,
    in_stock: bool,
    popularity: i64,
    created_ms: i64,
    /// The product's VAT rate (percent), for cart lines.
    vat_rate: u8,
    categories: Vec<String>,
    /// (word id, field) and (stem id, field) pairs, to take the document out again.
    /// Word and stem ids with their field in the low two bits (`id << 2 | field`).
    words: Vec<u32>,
    stems: Vec<u32>,
    /// The variants, for cart lines (one copy: the SKU map points here).
    /// The variants as JSON (one compact string instead of a map and strings per
    /// variant: memory matters at 100,000 products; a cart reads a few).
    /// Each one its own string: a cart line decodes its variant, not the product's every variant.
    variants: Box<[Box<str>]>,
    /// What the index holds of the product: an unchanged product is skipped.
    fingerprint: u64,
}

#[derive(Default, Clone)]
struct Inner {
    docs: Vec<Option<Doc>>,
    /// Each document's facet tokens, apart from the rest so counting walks small, dense data.
    doc_facets: Vec<Vec<u32>>,
    by_id: HashMap<String, u32>,
    /// Slug → document (product pages find their product without the store).
    by_slug: HashMap<String, u32>,
    free: Vec<u32>,
    /// SKU → (document, variant position).
    skus: HashMap<String, (u32, u16)>,
    /// Analysed words seen so far: a catalog repeats its vocabulary, so each
    /// distinct word is folded and stemmed once.
    terms: HashMap<String, analysis::Term>,
    status: [RoaringBitmap; 3],
    in_stock: RoaringBitmap,
    categories: HashMap<String, RoaringBitmap>,
    facets: Facets,
    words: Dict,
    stems: Dict,
    /// Every document in the order of each sort (`Sort::ALL` order).
    orders: [Vec<u32>; 5],
    /// Each document's position in each order: a page of a small result is
    /// chosen by comparing two integers, not two documents.
    ranks: [Vec<u32>; 5],
    orders_stale: bool,
}

fn status_slot(s: ProductStatus) -> usize {
    match s {
        ProductStatus::Draft => 0,
        ProductStatus::Active => 1,
        ProductStatus::Archived => 2,
    }
}

fn sort_slot(s: Sort) -> usize {
    Sort::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// A hash of everything the index reads from a product. Stock counts only
/// matter as "in stock or not", so an order that takes one of many units
/// leaves the fingerprint as it was.
fn fingerprint(p: &Product) -> u64 {
    let mut p = p.clone();
    for v in &mut p.variants {
        v.stock = v.stock.clamp(0, 1);
    }
    p.updated_at = chrono::DateTime::<chrono::Utc>::default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&p).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Orders two documents for a sort, the same way the stores do (ties by id).
fn compare(sort: Sort, a: &Doc, b: &Doc) -> std::cmp::Ordering {
    let by_id = || a.summary.id.cmp(&b.summary.id);
    match sort {
        Sort::Relevance => b.in_stock.cmp(&a.in_stock).then(b.popularity.cmp(&a.popularity)).then_with(by_id),
        Sort::Popular => b.popularity.cmp(&a.popularity).then_with(by_id),
        Sort::PriceAsc => a.price.cmp(&b.price).then_with(by_id),
        Sort::PriceDesc => b.price.cmp(&a.price).then_with(by_id),
        Sort::Newest => b.created_ms.cmp(&a.created_ms).then_with(by_id),
    }
}

impl Inner {
    fn doc(&self, d: u32) -> &Doc {
        self.docs[d as usize].as_ref().expect("a live document")
    }

    fn profile(&self, d: u32) -> crate::domain::recommend::Profile {
        let doc = self.doc(d);
        crate::domain::recommend::Profile {
            id: doc.summary.id.clone(),
            category: doc.summary.category.clone(),
            tokens: self.doc_facets[d as usize].iter().map(|t| self.facets.names[*t as usize].clone()).collect(),
            price: doc.price,
        }
    }

    fn upsert(&mut self, p: &Product) -> bool {
        let fp = fingerprint(p);
        if let Some(&d) = self.by_id.get(&p.id) {
            if self.doc(d).fingerprint == fp {
                return false;
            }
            self.remove_doc(d);
        }
        let fields = analysis::product_fields(p);
        let d = match self.free.pop() {
            Some(d) => d,
            None => {
                self.docs.push(None);
                self.doc_facets.push(Vec::new());
                (self.docs.len() - 1) as u32
            }
        };
        let mut doc = Doc {
            summary: p.summary(),
            status: p.status,
            price: p.min_price().amount,
            in_stock: p.in_stock(),
            popularity: p.popularity,
            vat_rate: p.vat_rate.clamp(0, 100) as u8,
            created_ms: p.created_at.timestamp_millis(),
            categories: p.category_paths(),
            words: Vec::new(),
            stems: Vec::new(),
            variants: p.variants.iter().map(|v| serde_json::to_string(v).unwrap_or_default().into_boxed_str()).collect(),
            fingerprint: fp,
        };
        self.status[status_slot(doc.status)].insert(d);
        if doc.in_stock {
            self.in_stock.insert(d);
        }
        for c in &doc.categories {
            self.categories.entry(c.clone()).or_default().insert(d);
        }
        for t in p.facet_tokens() {
            let id = self.facets.id(&t);
            self.facets.bitmaps[id as usize].insert(d);
            self.doc_facets[d as usize].push(id);
        }
        for (f, words) in fields.iter().enumerate() {
            for w in words {
                let term = match self.terms.get(w) {
                    Some(t) => t.clone(),
                    None => {
                        let t = analysis::analyse(w);
                        self.terms.insert(w.clone(), t.clone());
                        t
                    }
                };
                let wid = self.words.id(&term.folded);
                let posting = &mut self.words.postings[wid as usize];
                posting.all.insert(d);
                if posting.by_field[f].insert(d) {
                    doc.words.push(wid << 2 | f as u32);
                }
                for s in term.stems.iter().filter(|s| !s.is_empty()) {
                    let sid = self.stems.id(s);
                    let posting = &mut self.stems.postings[sid as usize];
                    posting.all.insert(d);
                    if posting.by_field[f].insert(d) {
                        doc.stems.push(sid << 2 | f as u32);
                    }
                }
            }
        }
        for (i, v) in p.variants.iter().enumerate() {
            self.skus.insert(v.sku.clone(), (d, i as u16));
        }
        self.by_id.insert(p.id.clone(), d);
        self.by_slug.insert(p.slug.clone(), d);
        self.docs[d as usize] = Some(doc);
        self.orders_stale = true;
        true
    }

    fn remove_doc(&mut self, d: u32) {
        let Some(doc) = self.docs[d as usize].take() else { return };
        self.by_id.remove(&doc.summary.id);
        if self.by_slug.get(&doc.summary.slug) == Some(&d) {
            self.by_slug.remove(&doc.summary.slug);
        }
        for v in doc.variants.iter().filter_map(|v| serde_json::from_str::<crate::domain::product::Variant>(v).ok()) {
            if self.skus.get(&v.sku).is_some_and(|(at, _)| *at == d) {
                self.skus.remove(&v.sku);
            }
        }
        self.status[status_slot(doc.status)].remove(d);
        self.in_stock.remove(d);
        for c in &doc.categories {
            if let Some(b) = self.categories.get_mut(c) {
                b.remove(d);
            }
        }
        for t in std::mem::take(&mut self.doc_facets[d as usize]) {
            self.facets.bitmaps[t as usize].remove(d);
        }
        for (dict, pairs) in [(&mut self.words, &doc.words), (&mut self.stems, &doc.stems)] {
            for packed in pairs {
                let posting = &mut dict.postings[(packed >> 2) as usize];
                posting.by_field[(packed & 3) as usize].remove(d);
                posting.all.remove(d);
            }
        }
        self.free.push(d);
        self.orders_stale = true;
    }

    fn refresh_orders(&mut self) {
        if !self.orders_stale {
            return;
        }
        let live: Vec<u32> = self.by_id.values().copied().collect();
        for sort in Sort::ALL {
            let mut order = live.clone();
            order.sort_unstable_by(|a, b| compare(sort, self.doc(*a), self.doc(*b)));
            let mut rank = vec![u32::MAX; self.docs.len()];
            for (pos, d) in order.iter().enumerate() {
                rank[*d as usize] = pos as u32;
            }
            self.ranks[sort_slot(sort)] = rank;
            self.orders[sort_slot(sort)] = order;
        }
        self.orders_stale = false;
    }

    /// The documents matching one query word, and for ranking the bitmaps of
    /// each (match kind, field) pair with their score, best first.
    fn word_match(&self, term: &analysis::Term) -> (RoaringBitmap, Vec<(f32, RoaringBitmap)>) {
        let mut levels: Vec<[RoaringBitmap; FIELDS]> = vec![Default::default(); 4];
        let mut add = |kind: analysis::MatchKind, p: &Posting| {
            for f in 0..FIELDS {
                levels[kind as usize][f] |= &p.by_field[f];
            }
        };
        if let Some(id) = self.words.ids.get(&term.folded) {
            add(analysis::MatchKind::Exact, &self.words.postings[*id as usize]);
        }
        for s in term.stems.iter().filter(|s| !s.is_empty()) {
            if let Some(id) = self.stems.ids.get(s) {
                add(analysis::MatchKind::Stem, &self.stems.postings[*id as usize]);
            }
        }
        if term.folded.chars().count() >= MIN_PREFIX {
            for (_, id) in self.words.ids.range(term.folded.clone()..).take_while(|(w, _)| w.starts_with(&term.folded)) {
                add(analysis::MatchKind::Prefix, &self.words.postings[*id as usize]);
            }
        }
        let max = analysis::allowed_edits(&term.folded);
        if max > 0 && analysis::typo_tolerant(&term.folded) {
            let len = term.folded.chars().count();
            let mask = analysis::letter_mask(&term.folded);
            for l in len.saturating_sub(max)..=(len + max).min(self.words.by_len.len().saturating_sub(1)) {
                for (id, word_mask) in self.words.by_len.get(l).into_iter().flatten() {
                    if (mask ^ word_mask).count_ones() as usize > 2 * max {
                        continue;
                    }
                    let p = &self.words.postings[*id as usize];
                    if !p.all.is_empty() && analysis::edit_distance_within(&term.folded, &self.words.names[*id as usize], max).is_some() {
                        add(analysis::MatchKind::Fuzzy, p);
                    }
                }
            }
        }
        let mut all = RoaringBitmap::new();
        let mut scored = Vec::new();
        for (k, fields) in levels.into_iter().enumerate() {
            for (f, b) in fields.into_iter().enumerate() {
                if !b.is_empty() {
                    all |= &b;
                    scored.push((FIELD_WEIGHTS[f] * MATCH_FACTORS[k], b));
                }
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        (all, scored)
    }

    fn search(&self, q: &CatalogQuery) -> SearchResult {
        let mut common = RoaringBitmap::new();
        match &q.statuses {
            Some(list) => list.iter().for_each(|s| common |= &self.status[status_slot(*s)]),
            None => common |= &self.status[status_slot(ProductStatus::Active)],
        }
        if let Some(c) = &q.category {
            match self.categories.get(c) {
                Some(b) => common &= b,
                None => common.clear(),
            }
        }
        if q.in_stock {
            common &= &self.in_stock;
        }
        let terms = q.q.as_deref().map(analysis::query_terms).unwrap_or_default();
        let mut ranking = Vec::new();
        for term in &terms {
            if common.is_empty() {
                break;
            }
            let (all, levels) = self.word_match(term);
            common &= &all;
            ranking.push(levels);
        }
        if q.min_price.is_some() || q.max_price.is_some() {
            let (lo, hi) = (q.min_price.unwrap_or(i64::MIN), q.max_price.unwrap_or(i64::MAX));
            common = common.iter().filter(|d| (lo..=hi).contains(&self.doc(*d).price)).collect();
        }
        // one bitmap per filtered key: OR within the key, AND across keys
        let groups: Vec<(String, RoaringBitmap)> = q
            .attr_token_groups()
            .into_iter()
            .map(|(key, tokens)| {
                let mut b = RoaringBitmap::new();
                for t in tokens {
                    if let Some(id) = self.facets.ids.get(&t) {
                        b |= &self.facets.bitmaps[*id as usize];
                    }
                }
                (key, b)
            })
            .collect();
        let mut result = common.clone();
        for (_, b) in &groups {
            result &= b;
        }
        let base = self.count_tokens(&result, |key| !q.attrs.contains_key(key));
        let per_key: Vec<(String, Vec<(String, u64)>)> = groups
            .iter()
            .map(|(key, _)| {
                let mut without = common.clone();
                for (other, b) in &groups {
                    if other != key {
                        without &= b;
                    }
                }
                (key.clone(), self.count_tokens(&without, |k| k == key))
            })
            .collect();
        let total = result.len();
        let items = self.page(q, &result, &ranking).into_iter().map(|d| self.doc(d).summary.clone()).collect();
        SearchResult { items, page: q.page, per_page: q.per_page, total, facets: assemble_facets(&base, &per_key) }
    }

    /// `(token, count)` over `docs` for the keys `wanted` accepts: one walk
    /// over the matching documents' token lists into a flat counter. Measured
    /// against one `intersection_len` per token (which walks every token's
    /// bitmap whatever the result) and tantivy's facet collector, this was
    /// the fastest at 10,000 and 100,000 products (docs/capacity.md).
    fn count_tokens(&self, docs: &RoaringBitmap, wanted: impl Fn(&str) -> bool) -> Vec<(String, u64)> {
        let mut counts = vec![0u32; self.facets.names.len()];
        for d in docs {
            for t in &self.doc_facets[d as usize] {
                counts[*t as usize] += 1;
            }
        }
        counts
            .iter()
            .enumerate()
            .filter(|(t, n)| **n > 0 && wanted(&self.facets.key_of[*t]))
            .map(|(t, n)| (self.facets.names[t].clone(), u64::from(*n)))
            .collect()
    }

    /// The requested page of `result`, in the query's order.
    fn page(&self, q: &CatalogQuery, result: &RoaringBitmap, ranking: &[Vec<(f32, RoaringBitmap)>]) -> Vec<u32> {
        let offset = q.offset() as usize;
        let limit = q.per_page as usize;
        if offset >= result.len() as usize {
            return Vec::new();
        }
        if q.sort == Sort::Relevance && !ranking.is_empty() {
            let mut scored: Vec<(f32, u32)> = result
                .iter()
                .map(|d| {
                    let score = ranking.iter().map(|levels| levels.iter().find(|(_, b)| b.contains(d)).map_or(0.0, |(s, _)| *s)).sum();
                    (score, d)
                })
                .collect();
            let rank = &self.ranks[sort_slot(Sort::Relevance)];
            let cmp = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then_with(|| rank[a.1 as usize].cmp(&rank[b.1 as usize]));
            let end = (offset + limit).min(scored.len());
            if end < scored.len() {
                scored.select_nth_unstable_by(end, cmp);
                scored.truncate(end);
            }
            scored.sort_unstable_by(cmp);
            return scored[offset..].iter().map(|(_, d)| *d).collect();
        }
        if (result.len() as usize) * 8 < self.by_id.len() {
            // the first `offset + limit` by rank, then only those sorted
            let rank = &self.ranks[sort_slot(q.sort)];
            let mut docs: Vec<(u32, u32)> = result.iter().map(|d| (rank[d as usize], d)).collect();
            let end = (offset + limit).min(docs.len());
            if end < docs.len() {
                docs.select_nth_unstable(end);
                docs.truncate(end);
            }
            docs.sort_unstable();
            return docs[offset..].iter().map(|(_, d)| *d).collect();
        }
        self.orders[sort_slot(q.sort)].iter().copied().filter(|d| result.contains(*d)).skip(offset).take(limit).collect()
    }

    fn memory_bytes(&self) -> usize {
        let bitmaps = |b: &RoaringBitmap| b.serialized_size();
        let postings = |d: &Dict| {
            d.postings.iter().map(|p| bitmaps(&p.all) + p.by_field.iter().map(bitmaps).sum::<usize>() + 5 * 32).sum::<usize>()
                + d.names.iter().map(|n| n.len() * 2 + 64).sum::<usize>()
        };
        let docs: usize = self
            .docs
            .iter()
            .flatten()
            .map(|d| {
                let s = &d.summary;
                200 + s.id.len() + s.slug.len() + s.name.len() + s.brand.len() + s.category.len()
                    + s.image_url.as_ref().map_or(0, |u| u.len())
                    + d.categories.iter().map(|c| c.len() + 24).sum::<usize>()
                    + 24
                    + (d.words.len() + d.stems.len()) * 4
                    + d.variants.iter().map(|v| v.len() + 16).sum::<usize>()
            })
            .sum();
        let terms: usize = self.terms.iter().map(|(w, t)| w.len() + t.folded.len() + t.stems.iter().map(String::len).sum::<usize>() + 160).sum();
        let facets: usize = self.facets.bitmaps.iter().map(bitmaps).sum::<usize>() + self.facets.names.iter().map(|n| n.len() * 3 + 96).sum::<usize>();
        let categories: usize = self.categories.iter().map(|(k, b)| k.len() + 64 + bitmaps(b)).sum();
        let doc_facets: usize = self.doc_facets.iter().map(|f| f.capacity() * 4 + 24).sum();
        let ranks: usize = self.ranks.iter().map(|r| r.len() * 4).sum();
        docs + doc_facets + ranks + terms + facets + categories + postings(&self.words) + postings(&self.stems) + self.orders.iter().map(|o| o.len() * 4).sum::<usize>()
    }
}

/// The index behind the `SearchIndex` port.
#[derive(Default)]
pub struct RoaringIndex {
    inner: RwLock<Inner>,
    loaded: std::sync::atomic::AtomicBool,
}

impl RoaringIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

struct Build<'a> {
    target: &'a RoaringIndex,
    fresh: Inner,
}

impl IndexBuild for Build<'_> {
    fn add(&mut self, products: &[Product]) {
        for p in products {
            self.fresh.upsert(p);
        }
    }
    fn finish(mut self: Box<Self>) {
        self.fresh.refresh_orders();
        *self.target.write() = std::mem::take(&mut self.fresh);
        self.target.loaded.store(true, std::sync::atomic::Ordering::Release);
    }
}

impl SearchIndex for RoaringIndex {
    fn is_loaded(&self) -> bool {
        self.loaded.load(std::sync::atomic::Ordering::Acquire)
    }

    fn rebuild(&self) -> Box<dyn IndexBuild + '_> {
        Box::new(Build { target: self, fresh: Inner::default() })
    }

    fn upsert(&self, products: &[Product]) -> usize {
        if products.is_empty() {
            return 0;
        }
        let mut inner = self.write();
        let changed = products.iter().filter(|p| inner.upsert(p)).count();
        inner.refresh_orders();
        changed
    }

    fn remove(&self, ids: &[String]) {
        let mut inner = self.write();
        for id in ids {
            if let Some(d) = inner.by_id.get(id).copied() {
                inner.remove_doc(d);
            }
        }
        inner.refresh_orders();
    }

    fn len(&self) -> u64 {
        self.read().by_id.len() as u64
    }

    fn search(&self, query: &CatalogQuery) -> SearchResult {
        self.read().search(query)
    }

    fn memory_bytes(&self) -> usize {
        self.read().memory_bytes()
    }

    fn summaries(&self, ids: &[String]) -> Vec<ProductSummary> {
        let inner = self.read();
        ids.iter().filter_map(|id| inner.by_id.get(id).map(|d| inner.doc(*d).summary.clone())).collect()
    }

    fn profile(&self, id: &str) -> Option<crate::domain::recommend::Profile> {
        let inner = self.read();
        inner.by_id.get(id).map(|d| inner.profile(*d))
    }

    fn profiles_in(&self, category: &str, limit: usize) -> Vec<crate::domain::recommend::Profile> {
        let inner = self.read();
        let Some(members) = inner.categories.get(category) else { return Vec::new() };
        let active = &inner.status[status_slot(ProductStatus::Active)];
        let mut docs: Vec<u32> = (members & active).iter().collect();
        docs.sort_unstable_by(|a, b| {
            let (a, b) = (inner.doc(*a), inner.doc(*b));
            b.popularity.cmp(&a.popularity).then_with(|| a.summary.id.cmp(&b.summary.id))
        });
        docs.truncate(limit);
        docs.into_iter().map(|d| inner.profile(d)).collect()
    }

    fn active_ids(&self) -> Vec<String> {
        let inner = self.read();
        let active = &inner.status[status_slot(ProductStatus::Active)];
        active.iter().filter_map(|d| inner.docs.get(d as usize).and_then(|doc| doc.as_ref()).map(|doc| doc.summary.id.clone())).collect()
    }

    fn active_id_of(&self, slug: &str) -> Option<String> {
        let inner = self.read();
        let d = *inner.by_slug.get(slug)?;
        let doc = inner.docs.get(d as usize)?.as_ref()?;
        (doc.status == ProductStatus::Active).then(|| doc.summary.id.clone())
    }

    fn variants_of(&self, id: &str) -> Vec<crate::domain::product::Variant> {
        let inner = self.read();
        let Some(d) = inner.by_id.get(id) else { return Vec::new() };
        let Some(doc) = inner.docs.get(*d as usize).and_then(|doc| doc.as_ref()) else { return Vec::new() };
        doc.variants.iter().filter_map(|v| serde_json::from_str(v).ok()).collect()
    }

    fn skus(&self, skus: &[String]) -> Vec<SkuView> {
        let inner = self.read();
        skus.iter()
            .filter_map(|s| {
                let (d, i) = inner.skus.get(s)?;
                let doc = inner.docs[*d as usize].as_ref()?;
                Some(SkuView {
                    product_id: doc.summary.id.clone(),
                    slug: doc.summary.slug.clone(),
                    name: doc.summary.name.clone(),
                    category: doc.summary.category.clone(),
                    image_url: doc.summary.image_url.clone(),
                    status: doc.status,
                    variant: serde_json::from_str::<crate::domain::product::Variant>(doc.variants.get(*i as usize)?).ok()?,
                    vat_rate: doc.vat_rate as i64,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::demo::demo_product;

    fn index(n: u64) -> (RoaringIndex, Vec<Product>) {
        let products: Vec<Product> = (0..n).map(demo_product).collect();
        let ix = RoaringIndex::new();
        let mut b = ix.rebuild();
        b.add(&products);
        b.finish();
        (ix, products)
    }

    fn q(s: &str) -> CatalogQuery {
        CatalogQuery::from_query_string(s).unwrap()
    }

    #[test]
    fn unchanged_products_are_skipped_and_changes_apply() {
        let (ix, mut products) = index(50);
        assert!(ix.is_loaded());
        assert_eq!(ix.len(), 50);
        assert_eq!(ix.upsert(&products[..5]), 0, "nothing changed");
        products[0].name = "Zanzibar Lantern".into();
        assert_eq!(ix.upsert(&products[..5]), 1);
        let r = ix.search(&q("q=zanzibar"));
        assert_eq!(r.total, 1);
        assert_eq!(r.items[0].id, products[0].id);
        ix.remove(&[products[0].id.clone()]);
        assert_eq!(ix.search(&q("q=zanzibar")).total, 0);
        assert_eq!(ix.len(), 49);
    }

    #[test]
    fn paging_never_overlaps() {
        let (ix, _) = index(120);
        for sort in Sort::ALL {
            let mut seen = std::collections::BTreeSet::new();
            let mut query = q("per_page=7");
            query.sort = sort;
            let total = ix.search(&query).total;
            for page in 1..=(total as u32).div_ceil(7) {
                for item in ix.search(&query.with_page(page)).items {
                    assert!(seen.insert(item.id), "{sort:?} page {page}");
                }
            }
            assert_eq!(seen.len() as u64, total);
        }
    }

    #[test]
    fn memory_is_estimated() {
        let (ix, _) = index(200);
        assert!(ix.memory_bytes() > 200 * 100);
    }
}
