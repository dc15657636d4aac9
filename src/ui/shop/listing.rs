//! `/products` and `/c/<category-path>`: search, facets, price, sort, pages.
//! Every state is a GET URL: shareable, rendered on the server, usable
//! without JavaScript; with JavaScript the form navigates client-side.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};

use super::components::{flatten, ErrorPanel, ProductGrid};
use super::layout::use_categories;
use super::seo::{site_origin, PageMeta};
use crate::domain::seo::{breadcrumbs_json_ld, listing_canonical};
use crate::domain::category::find_node;
use crate::domain::query::{CatalogQuery, FacetValue, SearchResult, Sort};
use crate::ui::fns::search_catalog;

/// Price buckets in minor units (sized for lei: 50, 100, 250, 500, 1,000, 2,500).
const PRICE_RANGES: &[(Option<i64>, Option<i64>)] = &[
    (None, Some(5000)),
    (Some(5000), Some(10000)),
    (Some(10000), Some(25000)),
    (Some(25000), Some(50000)),
    (Some(50000), Some(100000)),
    (Some(100000), Some(250000)),
    (Some(250000), None),
];

const FACETS_SHOWN: usize = 8;
/// Values a facet lists at most (the most frequent, and every chosen one):
/// the page costs the same whether an attribute has 10 values or 1,000.
const FACET_VALUES_MAX: usize = 40;

fn price_label(loc: crate::i18n::Locale, range: (Option<i64>, Option<i64>)) -> String {
    let cur = crate::domain::money::shop_currency();
    match range {
        (None, Some(hi)) => loc.tf("price-under", &[("price", &loc.money_short(hi, cur))]),
        (Some(lo), None) => loc.tf("price-over", &[("price", &loc.money_short(lo, cur))]),
        (Some(lo), Some(hi)) => format!("{} – {}", loc.money_short(lo, cur), loc.money_short(hi, cur)),
        (None, None) => loc.t("price-any").into(),
    }
}

/// Readable name of an attribute key: the catalogue's (`attr-<key>`) for the
/// ones the shop knows, else the key with its first letter capitalised.
pub fn attr_label(loc: crate::i18n::Locale, key: &str) -> String {
    match loc.t(&format!("attr-{key}")) {
        "" => {
            let s = key.replace('_', " ");
            let mut c = s.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        }
        known => known.to_string(),
    }
}

fn facet_rank(key: &str) -> (u8, String) {
    let r = match key {
        "brand" => 0,
        "color" => 1,
        "size" => 2,
        _ => 3,
    };
    (r, key.to_string())
}

/// Where listing links point: the category page keeps its path, others use `/products`.
#[derive(Clone)]
struct Links {
    category_path: Option<String>,
    loc: crate::i18n::Locale,
}

impl Links {
    fn base(&self) -> String {
        self.loc.href(&self.bare())
    }
    /// The listing's path without the language prefix (for canonical links).
    fn bare(&self) -> String {
        match &self.category_path {
            Some(c) => format!("/c/{c}"),
            None => "/products".into(),
        }
    }
    fn href(&self, q: &CatalogQuery) -> String {
        let mut q = q.clone();
        if self.category_path.is_some() {
            q.category = None;
        }
        let qs = q.to_query_string();
        if qs.is_empty() {
            self.base()
        } else {
            format!("{}?{}", self.base(), qs)
        }
    }
}

#[component]
pub fn ListingPage() -> impl IntoView {
    let location = use_location();
    let params = use_params_map();
    let request = Memo::new(move |_| {
        let path_category = params.read().get("path").map(|p| p.trim_matches('/').to_string()).filter(|p| !p.is_empty());
        let search = location.search.get();
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(search.trim_start_matches('?').as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some(cat) = &path_category {
            pairs.retain(|(k, _)| k != "category");
            pairs.push(("category".into(), cat.clone()));
        }
        let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        (path_category, qs)
    });
    let results = Resource::new(move || request.get().1, search_catalog);
    let categories = use_categories();
    let loc = crate::ui::use_locale();

    view! {
        <Transition fallback=move || view! { <p class="loading">{loc.t("loading-products")}</p> }>
            {move || Suspend::new(async move {
                let (path_category, qs) = request.get_untracked();
                let links = Links { category_path: path_category, loc };
                let result = flatten(results.await);
                let query = CatalogQuery::from_query_string(&qs);
                match (result, query) {
                    (Ok(result), Ok(query)) => {
                        let tree = categories();
                        view! { <Listing result query links tree/> }.into_any()
                    }
                    (Err(e), _) => view! { <Title text=loc.t("products")/><ErrorPanel error=e/> }.into_any(),
                    (_, Err(e)) => view! { <Title text=loc.t("products")/><ErrorPanel error=crate::ui::fns::PageError::Invalid { message: e.in_locale(loc), param: e.param }/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Listing(result: SearchResult, query: CatalogQuery, links: Links, tree: Vec<crate::domain::category::CategoryNode>) -> impl IntoView {
    let loc = links.loc;
    let category_node = query.category.as_deref().and_then(|c| find_node(&tree, c)).cloned();
    let heading = match (&query.q, &category_node) {
        (Some(q), _) => loc.tf("results-for", &[("q", q)]),
        (None, Some(node)) => node.name.clone(),
        (None, None) => query.category.clone().map(|c| crate::domain::category::CategoryPath::default_name(&c)).unwrap_or_else(|| loc.t("all-products").into()),
    };
    let total = result.total;
    let count_text = match total {
        0 => loc.t("no-products").to_string(),
        n => loc.tn("products-count", n as i64, &[]),
    };
    // every key shows (a brand-new attribute is a filter at once); keys that
    // cannot narrow the result (one value) come last, folded
    let mut facets: Vec<(String, Vec<FacetValue>)> = result.facets.clone().into_iter().collect();
    facets.sort_by_key(|(k, v)| (v.len() < 2 && !query.attrs.contains_key(k), facet_rank(k)));
    let crumbs = breadcrumb_trail(loc, &tree, query.category.as_deref());
    let subcategories = category_node.as_ref().map(|n| n.children.clone()).unwrap_or_default();
    let page_count = result.page_count();
    let empty = result.items.is_empty();
    let active_filters: Vec<(String, String, String)> = query
        .attrs
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
        .map(|(k, v)| (format!("{}: {}", attr_label(loc, &k), v), k, v))
        .collect();
    let action = links.base();
    let (canonical, noindex) = listing_canonical(&links.bare(), &query);

    view! {
        <Title text=heading.clone()/>
        <PageMeta title=heading.clone() description=loc.tf("listing-description", &[("heading", &heading), ("count", &count_text)]) path=canonical noindex json_ld=vec![breadcrumbs_json_ld(&site_origin(), &crumbs)]/>
        <Breadcrumbs crumbs/>
        <form method="get" action=loc.href(&action) id="filters" class="listing">
            <div class="listing-head">
                <div>
                    <h1>{heading}</h1>
                    <p class="result-count" data-total=total.to_string() aria-live="polite">{count_text}</p>
                </div>
                <div class="sort">
                    <label for="sort">{loc.t("sort-by")}</label>
                    <select id="sort" name="sort">
                        {Sort::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=s == query.sort>{loc.t(&format!("sort-{}", s.as_str()))}</option> }).collect_view()}
                    </select>
                    <button type="submit" class="button js-hide">{loc.t("apply")}</button>
                </div>
            </div>
            {(!subcategories.is_empty()).then(|| view! {
                <ul class="subcategories">
                    {subcategories.into_iter().map(|c| view! { <li><a href=loc.href(&format!("/c/{}", c.path))>{c.name}<span class="count">{c.product_count}</span></a></li> }).collect_view()}
                </ul>
            })}
            {(!active_filters.is_empty() || query.has_filters()).then(|| {
                let clear = links.href(&query.cleared_filters());
                let chips = active_filters.clone();
                let q2 = query.clone();
                let l2 = links.clone();
                view! {
                    <div class="active-filters">
                        {chips.into_iter().map(|(label, k, v)| view! {
                            <a href=l2.href(&q2.toggled_attr(&k, &v)) data-noscroll="true" class="chip">{label}<span aria-hidden="true">" ×"</span></a>
                        }).collect_view()}
                        <a href=clear class="clear-all">{loc.t("clear-all-filters")}</a>
                    </div>
                }
            })}
            <div class="listing-body">
                <aside class="facets" aria-label=loc.t("filters")>
                    {query.q.clone().map(|q| view! { <input type="hidden" name="q" value=q/> })}
                    {(links.category_path.is_none()).then(|| query.category.clone().map(|c| view! { <input type="hidden" name="category" value=c/> }))}
                    {(query.per_page != crate::domain::query::DEFAULT_PER_PAGE).then(|| view! { <input type="hidden" name="per_page" value=query.per_page.to_string()/> })}
                    {query.min_price.map(|p| view! { <input type="hidden" name="min_price" value=p.to_string()/> })}
                    {query.max_price.map(|p| view! { <input type="hidden" name="max_price" value=p.to_string()/> })}
                    <fieldset class="facet">
                        <legend>{loc.t("availability")}</legend>
                        <label><input type="checkbox" name="in_stock" value="true" checked=query.in_stock/>" "{loc.t("in-stock-only")}</label>
                    </fieldset>
                    <fieldset class="facet price-ranges">
                        <legend>{loc.t("price")}</legend>
                        <ul>
                            {PRICE_RANGES.iter().map(|&(lo, hi)| {
                                let selected = query.min_price == lo && query.max_price == hi;
                                let target = if selected { query.with_price_range(None, None) } else { query.with_price_range(lo, hi) };
                                view! { <li><a href=links.href(&target) data-noscroll="true" class=if selected { "range selected" } else { "range" }>{price_label(loc, (lo, hi))}</a></li> }
                            }).collect_view()}
                        </ul>
                    </fieldset>
                    {facets.into_iter().enumerate().map(|(i, (key, values))| {
                        let name = format!("attr.{key}");
                        let selected = query.attrs.get(&key).cloned().unwrap_or_default();
                        let render = |v: FacetValue| {
                            let checked = selected.contains(&v.value);
                            view! {
                                <li><label>
                                    <input type="checkbox" name=name.clone() value=v.value.clone() checked=checked/>
                                    <span class="facet-value">{v.value.clone()}</span>
                                    <span class="count">{v.count}</span>
                                </label></li>
                            }
                        };
                        // keep checked values visible even when beyond the first few
                        let (mut head, mut tail): (Vec<_>, Vec<_>) = values.into_iter().enumerate().partition(|(j, v)| *j < FACETS_SHOWN || selected.contains(&v.value));
                        let head: Vec<FacetValue> = head.drain(..).map(|(_, v)| v).collect();
                        let room = FACET_VALUES_MAX.saturating_sub(head.len());
                        let beyond = tail.len().saturating_sub(room);
                        let tail: Vec<FacetValue> = most_frequent(tail.drain(..).map(|(_, v)| v).collect(), room);
                        let more = tail.len();
                        let values_len = head.len() + more;
                        view! {
                            <details class="facet" data-facet=key.clone() open=(i < 6 && values_len > 1) || !selected.is_empty()>
                                <summary>{attr_label(loc, &key)}</summary>
                                <ul>{head.into_iter().map(render).collect_view()}</ul>
                                {(more > 0).then(|| view! {
                                    <details class="more">
                                        <summary>{loc.tn("show-more", more as i64, &[])}</summary>
                                        <ul>{tail.into_iter().map(render).collect_view()}</ul>
                                        {(beyond > 0).then(|| view! { <p class="facet-beyond">{loc.tn("facet-beyond", beyond as i64, &[])}</p> })}
                                    </details>
                                })}
                            </details>
                        }
                    }).collect_view()}
                    <button type="submit" class="button primary apply">{loc.t("apply-filters")}</button>
                </aside>
                <section class="results">
                    {if empty {
                        view! {
                            <div class="empty-state">
                                <h2>{loc.t("no-match")}</h2>
                                <p>{loc.t("no-match-hint")}</p>
                                <a href=links.href(&query.cleared_filters()) class="button">{loc.t("clear-filters")}</a>
                            </div>
                        }.into_any()
                    } else {
                        view! { <h2 class="visually-hidden">{loc.t("products")}</h2><ProductGrid items=result.items/> }.into_any()
                    }}
                    <Pagination query=query.clone() links=links.clone() page_count/>
                </section>
            </div>
        </form>
    }
}

/// The `n` values with the highest counts, in the order they came (a facet's display order).
fn most_frequent(values: Vec<FacetValue>, n: usize) -> Vec<FacetValue> {
    if values.len() <= n {
        return values;
    }
    let mut by_count: Vec<usize> = (0..values.len()).collect();
    by_count.sort_by(|a, b| values[*b].count.cmp(&values[*a].count).then(a.cmp(b)));
    let mut keep = vec![false; values.len()];
    for i in by_count.into_iter().take(n) {
        keep[i] = true;
    }
    values.into_iter().zip(keep).filter_map(|(v, k)| k.then_some(v)).collect()
}

#[component]
fn Pagination(query: CatalogQuery, links: Links, page_count: u32) -> impl IntoView {
    if page_count <= 1 {
        return ().into_any();
    }
    let current = query.page.min(page_count.max(1));
    let mut pages: Vec<u32> = vec![1, page_count];
    for p in current.saturating_sub(2)..=(current + 2) {
        if p >= 1 && p <= page_count {
            pages.push(p);
        }
    }
    pages.sort();
    pages.dedup();
    let mut items = Vec::new();
    let mut last = 0;
    for p in pages {
        if p > last + 1 {
            items.push(None);
        }
        items.push(Some(p));
        last = p;
    }
    let loc = links.loc;
    let prev = (current > 1).then(|| links.href(&query.with_page(current - 1)));
    let next = (current < page_count).then(|| links.href(&query.with_page(current + 1)));
    view! {
        <nav class="pagination" aria-label=loc.t("pages")>
            {match prev {
                Some(h) => view! { <a href=h rel="prev" class="page-link">"‹ "{loc.t("previous")}</a> }.into_any(),
                None => view! { <span class="page-link disabled">"‹ "{loc.t("previous")}</span> }.into_any(),
            }}
            {items.into_iter().map(|item| match item {
                None => view! { <span class="gap">"…"</span> }.into_any(),
                Some(p) if p == current => view! { <span class="page-link current" aria-current="page">{p}</span> }.into_any(),
                Some(p) => view! { <a href=links.href(&query.with_page(p)) class="page-link">{p}</a> }.into_any(),
            }).collect_view()}
            {match next {
                Some(h) => view! { <a href=h rel="next" class="page-link">{loc.t("next")}" ›"</a> }.into_any(),
                None => view! { <span class="page-link disabled">{loc.t("next")}" ›"</span> }.into_any(),
            }}
        </nav>
    }
    .into_any()
}

/// Home, then each ancestor of `category` and the category itself, as (name, path in the page's language).
pub fn breadcrumb_trail(loc: crate::i18n::Locale, tree: &[crate::domain::category::CategoryNode], category: Option<&str>) -> Vec<(String, String)> {
    use crate::domain::category::CategoryPath;
    std::iter::once((loc.t("home").to_string(), loc.href("/")))
        .chain(category.map(CategoryPath::ancestors_and_self).unwrap_or_default().into_iter().map(|p| {
            let name = find_node(tree, &p).map(|n| n.name.clone()).unwrap_or_else(|| CategoryPath::default_name(&p));
            (name, loc.href(&format!("/c/{p}")))
        }))
        .collect()
}

/// The visible breadcrumb trail.
#[component]
pub fn Breadcrumbs(crumbs: Vec<(String, String)>) -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! {
        <nav class="breadcrumbs" aria-label=loc.t("breadcrumb")>
            {crumbs.into_iter().enumerate().map(|(i, (name, path))| view! {
                {(i > 0).then(|| view! { <span class="sep" aria-hidden="true">"/"</span> })}
                <a href=path>{name}</a>
            }).collect_view()}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_facet_keeps_its_most_frequent_values_in_display_order() {
        let values: Vec<FacetValue> = [("100", 1), ("120", 5), ("150", 2), ("200", 5), ("300", 1)].iter().map(|(v, c)| FacetValue { value: v.to_string(), count: *c }).collect();
        let kept: Vec<String> = most_frequent(values.clone(), 3).into_iter().map(|v| v.value).collect();
        assert_eq!(kept, ["120", "150", "200"]);
        assert_eq!(most_frequent(values.clone(), 9).len(), 5, "a short facet is shown whole");
    }
}
