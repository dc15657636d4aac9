//! What search engines and link previews read: the sitemap, robots.txt,
//! canonical URLs and schema.org structured data. Pure functions of the
//! catalogue; the server and the pages supply the shop's origin.
use serde_json::{json, Value};

use super::product::ProductView;
use super::query::CatalogQuery;

/// Most URLs one sitemap file may list (sitemaps.org); past it the shop
/// serves a sitemap index pointing at numbered files.
pub const SITEMAP_MAX_URLS: usize = 50_000;

/// One `<url>` of a sitemap: a path on the shop and when it last changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SitemapEntry {
    pub path: String,
    pub lastmod: Option<chrono::DateTime<chrono::Utc>>,
}

/// Escapes text for an XML text node or attribute value.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Joins the origin (`https://shop.example`, no trailing slash) and a path,
/// percent-encoding what a URL may not carry raw (spaces, non-ASCII).
pub fn absolute(origin: &str, path: &str) -> String {
    let mut out = String::with_capacity(origin.len() + path.len());
    out.push_str(origin.trim_end_matches('/'));
    for b in path.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `<urlset>` of at most [`SITEMAP_MAX_URLS`] entries: each page at its
/// Romanian address, with its language versions as `xhtml:link` alternates.
pub fn sitemap_urlset(origin: &str, entries: &[SitemapEntry]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n");
    for e in entries {
        xml.push_str("<url><loc>");
        xml.push_str(&xml_escape(&absolute(origin, &e.path)));
        xml.push_str("</loc>");
        for l in crate::i18n::Locale::ALL {
            xml.push_str(&format!("<xhtml:link rel=\"alternate\" hreflang=\"{}\" href=\"{}\"/>", l.code(), xml_escape(&absolute(origin, &l.href(&e.path)))));
        }
        if let Some(t) = e.lastmod {
            xml.push_str(&format!("<lastmod>{}</lastmod>", t.format("%Y-%m-%d")));
        }
        xml.push_str("</url>\n");
    }
    xml.push_str("</urlset>\n");
    xml
}

/// A `<sitemapindex>` pointing at `/sitemaps/1.xml` … `/sitemaps/{files}.xml`.
pub fn sitemap_index(origin: &str, files: usize) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for n in 1..=files {
        xml.push_str(&format!("<sitemap><loc>{}</loc></sitemap>\n", xml_escape(&absolute(origin, &format!("/sitemaps/{n}.xml")))));
    }
    xml.push_str("</sitemapindex>\n");
    xml
}

/// What `/sitemap.xml` is for this many URLs: one file, or an index of `n` files.
pub fn sitemap_files(urls: usize) -> usize {
    urls.div_ceil(SITEMAP_MAX_URLS).max(1)
}

/// `/robots.txt`: private and transactional pages stay out of search results;
/// the API is for partners.
pub fn robots_txt(origin: &str) -> String {
    let mut s = String::from("User-agent: *\n");
    for path in ["/admin", "/account", "/cart", "/checkout", "/login", "/register", "/api/", "/orders/"] {
        s.push_str(&format!("Disallow: {path}\n"));
    }
    s.push_str(&format!("\nSitemap: {}\n", absolute(origin, "/sitemap.xml")));
    s
}

/// How a listing URL is indexed: its canonical path (the category or search
/// page itself, keeping the page number) and whether it is `noindex`
/// (more than one filter narrows it: endless combinations, thin pages).
pub fn listing_canonical(base_path: &str, query: &CatalogQuery) -> (String, bool) {
    let filters = query.attrs.values().map(|v| v.len()).sum::<usize>()
        + usize::from(query.q.as_deref().is_some_and(|q| !q.trim().is_empty()))
        + usize::from(query.min_price.is_some() || query.max_price.is_some())
        + usize::from(query.in_stock);
    let path = if query.page > 1 { format!("{base_path}?page={}", query.page) } else { base_path.to_string() };
    (path, filters > 1)
}

/// Availability in schema.org's terms.
fn availability(available: i64) -> &'static str {
    if available > 0 {
        "https://schema.org/InStock"
    } else {
        "https://schema.org/OutOfStock"
    }
}

/// `Product` with one `Offer` per variant (price, currency, availability, SKU).
pub fn product_json_ld(origin: &str, product: &ProductView) -> Value {
    let url = absolute(origin, &format!("/p/{}", product.slug));
    let images: Vec<String> = product.images.iter().map(|i| if i.url.starts_with("http") { i.url.clone() } else { absolute(origin, &i.url) }).collect();
    let offers: Vec<Value> = product
        .variants
        .iter()
        .map(|v| {
            json!({
                "@type": "Offer",
                "sku": v.sku,
                "price": super::money::to_decimal(v.sale_price.as_ref().unwrap_or(&v.price).amount),
                "priceCurrency": v.price.currency,
                "availability": availability(v.available),
                "itemCondition": "https://schema.org/NewCondition",
                "url": url,
            })
        })
        .collect();
    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": product.description,
        "url": url,
        "brand": { "@type": "Brand", "name": product.brand },
        "offers": offers,
    });
    if let Some(first) = product.variants.first() {
        ld["sku"] = json!(first.sku);
    }
    if !images.is_empty() {
        ld["image"] = json!(images);
    }
    ld
}

/// `BreadcrumbList` from (name, path) pairs, home first.
pub fn breadcrumbs_json_ld(origin: &str, crumbs: &[(String, String)]) -> Value {
    let items: Vec<Value> = crumbs
        .iter()
        .enumerate()
        .map(|(i, (name, path))| json!({ "@type": "ListItem", "position": i + 1, "name": name, "item": absolute(origin, path) }))
        .collect();
    json!({ "@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": items })
}

/// JSON for a `<script type="application/ld+json">`: `<` escaped so product
/// text can never close the script element.
pub fn script_json(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// A meta description: the first sentences of `text`, at most ~155 characters, cut at a word.
pub fn meta_description(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= 155 {
        return text;
    }
    let cut: String = text.chars().take(155).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_splits_past_fifty_thousand_urls() {
        assert_eq!(sitemap_files(0), 1);
        assert_eq!(sitemap_files(50_000), 1);
        assert_eq!(sitemap_files(50_001), 2);
        let idx = sitemap_index("https://s.ro", 2);
        assert!(idx.contains("<loc>https://s.ro/sitemaps/2.xml</loc>"));
        assert!(!idx.contains("sitemaps/3"));
    }

    #[test]
    fn urls_are_escaped_and_encoded() {
        let xml = sitemap_urlset("https://s.ro/", &[SitemapEntry { path: "/p/a&b ș".into(), lastmod: None }]);
        assert!(xml.contains("<loc>https://s.ro/p/a&amp;b%20%C8%99</loc>"), "{xml}");
        assert!(xml.contains("<xhtml:link rel=\"alternate\" hreflang=\"en\" href=\"https://s.ro/en/p/a&amp;b%20%C8%99\"/>"), "{xml}");
    }

    #[test]
    fn listing_with_two_filters_is_noindex_and_canonical_drops_them() {
        let one = CatalogQuery::from_query_string("attr.color=Red&sort=price_asc").unwrap();
        assert_eq!(listing_canonical("/c/clothing", &one), ("/c/clothing".to_string(), false));
        let two = CatalogQuery::from_query_string("attr.color=Red&attr.size=M&page=2").unwrap();
        assert_eq!(listing_canonical("/c/clothing", &two), ("/c/clothing?page=2".to_string(), true));
    }

    #[test]
    fn script_json_cannot_close_the_script() {
        let v = json!({ "name": "</script><script>alert(1)</script>" });
        assert!(!script_json(&v).contains("</script"));
    }

    #[test]
    fn descriptions_are_cut_at_a_word() {
        let long = "cuvânt ".repeat(40);
        let d = meta_description(&long);
        assert!(d.chars().count() <= 156 && d.ends_with("cuvânt…"), "{d}");
        assert_eq!(meta_description("  scurt \n text "), "scurt text");
    }
}
