//! The catalog query: parsed from URL query pairs (the API and the
//! storefront take the same parameters), validated before any store sees it.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::category::CategoryPath;
use super::product::{facet_token, is_valid_attr_key, ProductSummary};
use super::text;

pub const DEFAULT_PER_PAGE: u32 = 24;
pub const MAX_PER_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 10_000;
pub const MAX_Q_LEN: usize = 200;
pub const MAX_FILTER_VALUES: usize = 50;
/// Distinct `attr.*` keys in one query: each adds a facet branch.
pub const MAX_ATTR_KEYS: usize = 10;
/// Longest query string accepted (the URL's and a server function's body alike).
pub const MAX_QUERY_STRING: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Sort {
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
    Popular,
}

impl Sort {
    pub const ALL: [Sort; 5] = [Sort::Relevance, Sort::PriceAsc, Sort::PriceDesc, Sort::Newest, Sort::Popular];
    pub fn as_str(&self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Newest => "newest",
            Sort::Popular => "popular",
        }
    }
    pub fn label(&self) -> &'static str {
        match self {
            Sort::Relevance => "Best match",
            Sort::PriceAsc => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
            Sort::Newest => "Newest",
            Sort::Popular => "Most popular",
        }
    }
    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A refused query parameter: which one and why, in words a shopper reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{param}: {message}")]
pub struct QueryError {
    pub param: String,
    /// In English; [`QueryError::in_locale`] says it in another language.
    pub message: String,
    /// The message's key in the catalogues (`query-…`) and its values.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(String, String)>,
}

impl QueryError {
    /// A message from the catalogues: `code` is its key (`query-…`), `args` fill its `{ $name }`s.
    pub fn coded(code: &str, param: impl Into<String>, args: &[(&str, &str)]) -> Self {
        debug_assert!(!crate::i18n::Locale::En.t(code).is_empty(), "{code} is not in the catalogue");
        Self { param: param.into(), message: crate::i18n::Locale::En.tf(code, args), code: code.into(), args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    /// The message in `loc`'s language.
    pub fn in_locale(&self, loc: crate::i18n::Locale) -> String {
        if self.code.is_empty() { self.message.clone() } else { loc.say(&self.code, &self.args) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
pub struct CatalogQuery {
    pub q: Option<String>,
    pub category: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub in_stock: bool,
    pub sort: Sort,
    pub page: u32,
    pub per_page: u32,
    /// Attribute filters: AND across keys, OR within one key.
    pub attrs: BTreeMap<String, BTreeSet<String>>,
    /// Statuses listed: `None` is active only (shoppers and partners); the
    /// admin list sets it. Never taken from a query string.
    #[serde(skip)]
    pub statuses: Option<Vec<super::product::ProductStatus>>,
}

/// `(offset, limit)` of a page of any list: page 1..=`MAX_PAGE`, 1..=`MAX_PER_PAGE`
/// per page, so the offset can never overflow whatever a caller sends.
pub fn page_window(page: u64, per_page: u64) -> (u64, u64) {
    let per_page = per_page.clamp(1, MAX_PER_PAGE as u64);
    ((page.clamp(1, MAX_PAGE as u64) - 1) * per_page, per_page)
}

fn parse_price(param: &str, value: &str) -> Result<Option<i64>, QueryError> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(Some(n)),
        Ok(_) => Err(QueryError::coded("query-not-negative", param, &[])),
        Err(_) => Err(QueryError::coded("query-minor-units", param, &[])),
    }
}

fn parse_bool(param: &str, value: &str) -> Result<bool, QueryError> {
    match value {
        "" | "0" | "false" | "no" | "off" => Ok(false),
        "1" | "true" | "yes" | "on" => Ok(true),
        _ => Err(QueryError::coded("query-true-false", param, &[])),
    }
}

fn parse_u32(param: &str, value: &str, min: u32, max: u32) -> Result<u32, QueryError> {
    let n: u32 = value
        .parse()
        .map_err(|_| QueryError::coded("query-whole-between", param, &[("min", &min.to_string()), ("max", &max.to_string())]))?;
    if n < min || n > max {
        return Err(QueryError::coded("query-between", param, &[("min", &min.to_string()), ("max", &max.to_string())]));
    }
    Ok(n)
}

impl CatalogQuery {
    pub fn new() -> Self {
        Self { page: 1, per_page: DEFAULT_PER_PAGE, ..Default::default() }
    }

    /// Parses URL query pairs. Unknown parameters are ignored (tracking
    /// tags and the like); known ones must be valid.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, QueryError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut q = CatalogQuery::new();
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref().trim());
            match k {
                "q" => {
                    if v.chars().count() > MAX_Q_LEN {
                        return Err(QueryError::coded("query-q-long", "q", &[("max", &MAX_Q_LEN.to_string())]));
                    }
                    q.q = if v.is_empty() { None } else { Some(v.to_string()) };
                }
                "category" => {
                    if v.is_empty() {
                        q.category = None;
                    } else if CategoryPath::is_valid(v) {
                        q.category = Some(v.to_string());
                    } else {
                        return Err(QueryError::coded("query-category", "category", &[]));
                    }
                }
                "min_price" => q.min_price = parse_price("min_price", v)?,
                "max_price" => q.max_price = parse_price("max_price", v)?,
                "in_stock" => q.in_stock = parse_bool("in_stock", v)?,
                "sort" => {
                    q.sort = if v.is_empty() {
                        Sort::default()
                    } else {
                        Sort::parse(v).ok_or_else(|| {
                            QueryError::coded("query-sort", "sort", &[])
                        })?
                    }
                }
                "page" => q.page = parse_u32("page", v, 1, MAX_PAGE)?,
                "per_page" => q.per_page = parse_u32("per_page", v, 1, MAX_PER_PAGE)?,
                _ => {
                    if let Some(key) = k.strip_prefix("attr.") {
                        let param = format!("attr.{key}");
                        if !is_valid_attr_key(key) {
                            return Err(QueryError::coded("query-attr-key", param, &[]));
                        }
                        if v.starts_with('$') {
                            return Err(QueryError::coded("query-attr-dollar", param, &[]));
                        }
                        if v.len() > 200 {
                            return Err(QueryError::coded("query-attr-long", param, &[]));
                        }
                        if v.is_empty() {
                            continue;
                        }
                        if !q.attrs.contains_key(key) && q.attrs.len() >= MAX_ATTR_KEYS {
                            return Err(QueryError::coded("query-attr-keys", param, &[("max", &MAX_ATTR_KEYS.to_string())]));
                        }
                        let set = q.attrs.entry(key.to_string()).or_default();
                        set.insert(v.to_string());
                        if set.len() > MAX_FILTER_VALUES {
                            return Err(QueryError::coded("query-attr-values", param, &[("max", &MAX_FILTER_VALUES.to_string())]));
                        }
                    } else if k.starts_with('$') {
                        return Err(QueryError::coded("query-unknown", k, &[]));
                    }
                }
            }
        }
        if let (Some(lo), Some(hi)) = (q.min_price, q.max_price) {
            if lo > hi {
                return Err(QueryError::coded("query-min-max", "min_price", &[]));
            }
        }
        Ok(q)
    }

    /// Parses a raw query string (`a=1&b=2`).
    pub fn from_query_string(qs: &str) -> Result<Self, QueryError> {
        if qs.len() > MAX_QUERY_STRING {
            return Err(QueryError::coded("query-too-long", "query", &[("max", &MAX_QUERY_STRING.to_string())]));
        }
        Self::from_pairs(form_urlencoded::parse(qs.trim_start_matches('?').as_bytes()))
    }

    /// The admin's product list, for the API and the panel alike: the public
    /// listing's parameters plus `status` (repeatable: draft, active,
    /// archived; empty or absent means every status), newest first unless
    /// `sort` says otherwise.
    pub fn admin_listing(qs: &str) -> Result<(Self, Option<Vec<super::product::ProductStatus>>), QueryError> {
        if qs.len() > MAX_QUERY_STRING {
            return Err(QueryError::coded("query-too-long", "query", &[("max", &MAX_QUERY_STRING.to_string())]));
        }
        let mut statuses = Vec::new();
        let mut rest = Vec::new();
        let mut sorted = false;
        for (k, v) in form_urlencoded::parse(qs.trim_start_matches('?').as_bytes()) {
            match k.as_ref() {
                "status" if v.is_empty() => {}
                "status" => statuses.push(super::product::ProductStatus::parse(&v).ok_or_else(|| QueryError::coded("query-status", "status", &[]))?),
                _ => {
                    sorted |= k == "sort" && !v.is_empty();
                    rest.push((k.into_owned(), v.into_owned()));
                }
            }
        }
        let mut query = Self::from_pairs(rest)?;
        if !sorted {
            query.sort = Sort::Newest;
        }
        Ok((query, (!statuses.is_empty()).then_some(statuses)))
    }

    /// The canonical query string: same query, same string (cache keys,
    /// shareable links). Defaults are omitted.
    pub fn to_query_string(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(q) = &self.q {
            s.append_pair("q", q);
        }
        if let Some(c) = &self.category {
            s.append_pair("category", c);
        }
        if let Some(p) = self.min_price {
            s.append_pair("min_price", &p.to_string());
        }
        if let Some(p) = self.max_price {
            s.append_pair("max_price", &p.to_string());
        }
        if self.in_stock {
            s.append_pair("in_stock", "true");
        }
        for (k, values) in &self.attrs {
            for v in values {
                s.append_pair(&format!("attr.{k}"), v);
            }
        }
        if self.sort != Sort::default() {
            s.append_pair("sort", self.sort.as_str());
        }
        if self.per_page != DEFAULT_PER_PAGE {
            s.append_pair("per_page", &self.per_page.to_string());
        }
        if self.page != 1 {
            s.append_pair("page", &self.page.to_string());
        }
        s.finish()
    }

    /// Query words, each as the token it must match.
    pub fn search_tokens(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .q
            .as_deref()
            .map(text::words)
            .unwrap_or_default()
            .iter()
            .map(|w| text::query_token(w))
            .collect();
        out.sort();
        out.dedup();
        out.truncate(12);
        out
    }

    /// For each filtered key, the `key=value` tokens of which a product needs one.
    pub fn attr_token_groups(&self) -> Vec<(String, Vec<String>)> {
        self.attrs
            .iter()
            .filter(|(_, vs)| !vs.is_empty())
            .map(|(k, vs)| (k.clone(), vs.iter().map(|v| facet_token(k, v)).collect()))
            .collect()
    }

    /// The statuses this query lists (active unless the admin list chose).
    pub fn status_names(&self) -> Vec<&'static str> {
        match &self.statuses {
            Some(list) => list.iter().map(|s| s.as_str()).collect(),
            None => vec!["active"],
        }
    }

    pub fn without_attr(&self, key: &str) -> Self {
        let mut q = self.clone();
        q.attrs.remove(key);
        q
    }

    pub fn offset(&self) -> u64 {
        (self.page.max(1) as u64 - 1) * self.per_page as u64
    }

    // --- helpers for links on the storefront; each resets to page 1 ---

    pub fn with_page(&self, page: u32) -> Self {
        let mut q = self.clone();
        q.page = page;
        q
    }

    pub fn toggled_attr(&self, key: &str, value: &str) -> Self {
        let mut q = self.clone();
        q.page = 1;
        let set = q.attrs.entry(key.to_string()).or_default();
        if !set.remove(value) {
            set.insert(value.to_string());
        }
        if set.is_empty() {
            q.attrs.remove(key);
        }
        q
    }

    pub fn with_price_range(&self, min: Option<i64>, max: Option<i64>) -> Self {
        let mut q = self.clone();
        q.page = 1;
        q.min_price = min;
        q.max_price = max;
        q
    }

    pub fn has_filters(&self) -> bool {
        !self.attrs.is_empty() || self.min_price.is_some() || self.max_price.is_some() || self.in_stock
    }

    pub fn cleared_filters(&self) -> Self {
        let mut q = self.clone();
        q.attrs.clear();
        q.min_price = None;
        q.max_price = None;
        q.in_stock = false;
        q.page = 1;
        q
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// One page of a catalog listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchResult {
    pub items: Vec<ProductSummary>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
    /// Per attribute key, its values with the number of matching products.
    /// A filtered key's counts ignore that key's own filter, so its other
    /// values stay visible (OR within a key).
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub facets: BTreeMap<String, Vec<FacetValue>>,
}

impl SearchResult {
    pub fn page_count(&self) -> u32 {
        if self.per_page == 0 {
            return 0;
        }
        self.total.div_ceil(self.per_page as u64) as u32
    }
}

/// What the search box offers while a shopper types.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Suggestions {
    /// The best-matching products, most relevant first.
    pub products: Vec<ProductSuggestion>,
    /// Categories whose name or path starts with every typed word.
    pub categories: Vec<CategorySuggestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductSuggestion {
    pub name: String,
    pub slug: String,
    pub price: super::money::Money,
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CategorySuggestion {
    pub path: String,
    pub name: String,
}

/// True when every query word is the start of a word of `text` (diacritics folded).
pub fn words_start(query: &str, text: &str) -> bool {
    let words: Vec<String> = super::text::words(text).iter().map(|w| super::text::fold(w)).collect();
    let wanted: Vec<String> = super::text::words(query).iter().map(|w| super::text::fold(w)).collect();
    !wanted.is_empty() && wanted.iter().all(|q| words.iter().any(|w| w.starts_with(q.as_str())))
}

/// Builds facets from `(token, count)` rows: `base` counts come from the
/// query with every filter; `per_key` holds, for each filtered key, the counts
/// of the query without that key's filter (only that key's tokens are used).
pub fn assemble_facets(base: &[(String, u64)], per_key: &[(String, Vec<(String, u64)>)]) -> BTreeMap<String, Vec<FacetValue>> {
    let filtered: BTreeSet<&str> = per_key.iter().map(|(k, _)| k.as_str()).collect();
    let mut out: BTreeMap<String, Vec<FacetValue>> = BTreeMap::new();
    let mut push = |token: &str, count: u64, only_key: Option<&str>| {
        if let Some((k, v)) = token.split_once('=') {
            let wanted = match only_key {
                Some(only) => k == only,
                None => !filtered.contains(k),
            };
            if wanted && count > 0 {
                out.entry(k.to_string()).or_default().push(FacetValue { value: v.to_string(), count });
            }
        }
    };
    for (t, n) in base {
        push(t, *n, None);
    }
    for (key, rows) in per_key {
        for (t, n) in rows {
            push(t, *n, Some(key));
        }
    }
    for values in out.values_mut() {
        sort_facet_values(values);
    }
    out
}

/// Facet values in a shopper-friendly order: sizes in size order, numbers
/// numerically, everything else by count then name.
pub fn sort_facet_values(values: &mut [FacetValue]) {
    const SIZES: [&str; 9] = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL"];
    let all_sizes = values.iter().all(|v| SIZES.contains(&v.value.as_str()));
    let all_numbers = !all_sizes && values.iter().all(|v| v.value.parse::<f64>().is_ok());
    if all_sizes {
        values.sort_by_key(|v| SIZES.iter().position(|s| *s == v.value));
    } else if all_numbers {
        // each value parsed once, ordered as `f64::total_cmp` orders them
        values.sort_by_cached_key(|v| {
            let bits = v.value.parse::<f64>().unwrap_or(0.0).to_bits() as i64;
            bits ^ (((bits >> 63) as u64) >> 1) as i64
        });
    } else {
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_listing_reads_statuses_and_sorts_newest_first() {
        use crate::domain::product::ProductStatus;
        let (q, statuses) = CatalogQuery::admin_listing("").unwrap();
        assert_eq!((q.sort, statuses), (Sort::Newest, None), "every status, newest first");
        let (_, statuses) = CatalogQuery::admin_listing("status=").unwrap();
        assert_eq!(statuses, None, "an empty status (the panel's \"all\") is every status");
        let (q, statuses) = CatalogQuery::admin_listing("status=draft&status=archived&sort=price_asc&q=tee").unwrap();
        assert_eq!(statuses, Some(vec![ProductStatus::Draft, ProductStatus::Archived]));
        assert_eq!((q.sort, q.q.as_deref()), (Sort::PriceAsc, Some("tee")));
        let e = CatalogQuery::admin_listing("status=gone").unwrap_err();
        assert_eq!((e.param.as_str(), e.code.as_str()), ("status", "query-status"));
        assert_eq!(CatalogQuery::admin_listing("min_price=-1").unwrap_err().param, "min_price", "the public listing's rules still hold");
    }

    fn parse(qs: &str) -> Result<CatalogQuery, QueryError> {
        CatalogQuery::from_query_string(qs)
    }

    #[test]
    fn parses_every_parameter() {
        let q = parse("q=red+shirt&category=clothing/t-shirts&min_price=1000&max_price=5000&in_stock=true&sort=price_desc&page=2&per_page=10&attr.color=Red&attr.color=Blue&attr.size=M").unwrap();
        assert_eq!(q.q.as_deref(), Some("red shirt"));
        assert_eq!(q.category.as_deref(), Some("clothing/t-shirts"));
        assert_eq!((q.min_price, q.max_price), (Some(1000), Some(5000)));
        assert!(q.in_stock);
        assert_eq!(q.sort, Sort::PriceDesc);
        assert_eq!((q.page, q.per_page), (2, 10));
        assert_eq!(q.attrs["color"].len(), 2);
        assert_eq!(q.offset(), 10);
    }

    #[test]
    fn refuses_bad_input_naming_the_parameter() {
        for (qs, param) in [
            ("min_price=abc", "min_price"),
            ("max_price=-5", "max_price"),
            ("sort=cheapest", "sort"),
            ("page=0", "page"),
            ("per_page=101", "per_page"),
            ("attr.Color=red", "attr.Color"),
            ("attr.a%24b=x", "attr.a$b"),
            ("attr.color=%24ne", "attr.color"),
            ("%24where=1", "$where"),
            ("category=..%2Fetc", "category"),
            ("min_price=500&max_price=100", "min_price"),
            ("attr.a=1&attr.b=1&attr.c=1&attr.d=1&attr.e=1&attr.f=1&attr.g=1&attr.h=1&attr.i=1&attr.j=1&attr.k=1", "attr.k"),
        ] {
            let err = parse(qs).expect_err(qs);
            assert_eq!(err.param, param, "{qs}");
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn bounded_in_keys_and_length() {
        let ten: String = (0..10).map(|i| format!("attr.k{i}=v&")).collect();
        assert_eq!(parse(&ten).unwrap().attrs.len(), 10);
        assert_eq!(parse(&format!("{ten}attr.k0=w")).unwrap().attrs["k0"].len(), 2, "more values of a known key are fine");
        assert_eq!(parse(&"q=a&".repeat(2000)).unwrap_err().param, "query");
    }

    #[test]
    fn query_string_round_trips_and_is_canonical() {
        let q = parse("attr.size=M&attr.color=Red&sort=newest&page=3&q=tee").unwrap();
        let s = q.to_query_string();
        assert_eq!(parse(&s).unwrap(), q);
        let same = parse("q=tee&page=3&sort=newest&attr.color=Red&attr.size=M").unwrap();
        assert_eq!(same.to_query_string(), s);
        assert!(!CatalogQuery::new().to_query_string().contains("page"));
    }

    #[test]
    fn toggling_a_filter_returns_to_page_one() {
        let q = parse("page=4&attr.color=Red").unwrap();
        let t = q.toggled_attr("color", "Blue");
        assert_eq!(t.page, 1);
        assert_eq!(t.attrs["color"].len(), 2);
        let off = q.toggled_attr("color", "Red");
        assert!(off.attrs.is_empty());
    }

    #[test]
    fn facets_use_own_key_counts_for_filtered_keys() {
        let base = vec![("color=Red".to_string(), 4), ("size=M".to_string(), 3), ("size=L".to_string(), 1)];
        let per_key = vec![("color".to_string(), vec![("color=Red".to_string(), 4), ("color=Blue".to_string(), 6), ("size=M".to_string(), 9)])];
        let f = assemble_facets(&base, &per_key);
        assert_eq!(f["color"], vec![FacetValue { value: "Blue".into(), count: 6 }, FacetValue { value: "Red".into(), count: 4 }]);
        assert_eq!(f["size"], vec![FacetValue { value: "M".into(), count: 3 }, FacetValue { value: "L".into(), count: 1 }]);
    }

    #[test]
    fn numeric_and_size_facets_sort_naturally() {
        let mut v: Vec<FacetValue> = ["16", "8", "128"].iter().map(|s| FacetValue { value: s.to_string(), count: 1 }).collect();
        sort_facet_values(&mut v);
        assert_eq!(v.iter().map(|x| x.value.as_str()).collect::<Vec<_>>(), ["8", "16", "128"]);
        let mut s: Vec<FacetValue> = ["XL", "S", "M"].iter().map(|x| FacetValue { value: x.to_string(), count: 9 }).collect();
        sort_facet_values(&mut s);
        assert_eq!(s.iter().map(|x| x.value.as_str()).collect::<Vec<_>>(), ["S", "M", "XL"]);
    }
}
