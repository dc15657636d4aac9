//! What the storefront tells search engines and browsers: sitemap, robots,
//! canonical links, structured data, HTTP caching and compression.
#![cfg(feature = "ssr")]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{spawn_app, spawn_app_with};
use serde_json::Value;
use vitrina::domain::product::ProductStatus;

/// Every `<script type="application/ld+json">` of a page, parsed.
fn json_ld(html: &str) -> Vec<Value> {
    html.split("<script type=\"application/ld+json\">")
        .skip(1)
        .map(|rest| serde_json::from_str(rest.split("</script>").next().unwrap()).expect("JSON-LD parses"))
        .collect()
}

/// The `content`/`href` of the first head tag matching `needle` (e.g. `rel="canonical"`).
fn tag_attr(html: &str, needle: &str, attr: &str) -> Option<String> {
    let at = html.find(needle)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{attr}=\"");
    let v = &tag[tag.find(&key)? + key.len()..];
    Some(v[..v.find('"')?].to_string())
}

/// The schema.org vocabulary this shop uses: for each type, the properties
/// schema.org defines on it (including inherited Thing properties), and the
/// enumeration members allowed where a property takes one.
fn schema_org() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let thing = ["name", "description", "url", "image", "sameAs", "identifier", "alternateName"];
    let mut v: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let with_thing = |extra: &[&'static str]| thing.iter().chain(extra).copied().collect::<BTreeSet<_>>();
    v.insert("Product", with_thing(&["brand", "offers", "sku", "gtin", "mpn", "aggregateRating", "review", "color", "material", "category", "itemCondition"]));
    v.insert("Offer", with_thing(&["price", "priceCurrency", "availability", "itemCondition", "sku", "seller", "priceValidUntil", "shippingDetails"]));
    v.insert("Brand", with_thing(&["logo", "slogan"]));
    v.insert("BreadcrumbList", with_thing(&["itemListElement", "numberOfItems", "itemListOrder"]));
    v.insert("ListItem", with_thing(&["position", "item", "nextItem", "previousItem"]));
    v
}

const AVAILABILITY: &[&str] = &["https://schema.org/InStock", "https://schema.org/OutOfStock", "https://schema.org/PreOrder", "https://schema.org/LimitedAvailability"];

/// Checks a JSON-LD node and everything nested in it against the vocabulary.
fn validate(node: &Value, vocab: &BTreeMap<&str, BTreeSet<&str>>, path: &str) {
    match node {
        Value::Array(items) => items.iter().enumerate().for_each(|(i, n)| validate(n, vocab, &format!("{path}[{i}]"))),
        Value::Object(map) => {
            let ty = map.get("@type").and_then(Value::as_str).unwrap_or_else(|| panic!("{path}: a node without @type"));
            let props = vocab.get(ty).unwrap_or_else(|| panic!("{path}: {ty} is not a schema.org type this shop uses"));
            for (k, v) in map {
                if k.starts_with('@') {
                    continue;
                }
                assert!(props.contains(k.as_str()), "{path}: {k} is not a property of schema.org/{ty}");
                match k.as_str() {
                    "availability" => assert!(AVAILABILITY.contains(&v.as_str().unwrap_or("")), "{path}.availability: {v}"),
                    "itemCondition" => assert_eq!(v, "https://schema.org/NewCondition"),
                    "price" => assert!(v.as_str().is_some_and(|p| p.parse::<f64>().is_ok()), "{path}.price must be a number as text: {v}"),
                    "priceCurrency" => assert!(v.as_str().is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())), "{path}.priceCurrency: {v}"),
                    "position" => assert!(v.as_u64().is_some_and(|p| p >= 1)),
                    "url" | "item" => assert!(v.as_str().is_some_and(|u| u.starts_with("http")), "{path}.{k} must be absolute: {v}"),
                    _ => validate(v, vocab, &format!("{path}.{k}")),
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn sitemap_lists_every_active_product_and_robots_points_to_it() {
    let app = spawn_app(40).await;
    let mut all = app.backends.catalog.products_after(None, 1000).await.unwrap();
    assert_eq!(all.len(), 40);
    all[3].status = ProductStatus::Draft;
    all[7].status = ProductStatus::Archived;
    app.state.catalog.save_products(&[all[3].clone(), all[7].clone()]).await.unwrap();

    let res = app.get("/sitemap.xml").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/xml"));
    let xml = res.text().await.unwrap();
    assert!(xml.contains("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">"));
    for (i, p) in all.iter().enumerate() {
        let loc = format!("<loc>{}/p/{}</loc>", app.base, p.slug);
        assert_eq!(xml.contains(&loc), i != 3 && i != 7, "{loc} listed only when active");
        let english = format!("<xhtml:link rel=\"alternate\" hreflang=\"en\" href=\"{}/en/p/{}\"/>", app.base, p.slug);
        assert_eq!(xml.contains(&english), i != 3 && i != 7, "{english}: the English version beside it");
    }
    assert!(xml.contains(&format!("<loc>{}/</loc>", app.base)));
    assert!(xml.contains(&format!("<loc>{}/c/", app.base)), "category pages are listed");
    assert_eq!(app.get("/sitemaps/1.xml").await.status(), 404, "one file is enough below 50,000 URLs");

    let robots = app.get("/robots.txt").await.text().await.unwrap();
    assert!(robots.contains("Disallow: /admin\n") && robots.contains("Disallow: /checkout\n"), "{robots}");
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", app.base)), "{robots}");
}

#[tokio::test]
async fn product_page_has_canonical_open_graph_and_valid_json_ld() {
    let app = spawn_app(12).await;
    let products = app.backends.catalog.products_after(None, 100).await.unwrap();
    let p = products.iter().find(|p| p.variants.len() > 1).expect("a product with variants");
    let html = app.get(&format!("/p/{}", p.slug)).await.text().await.unwrap();
    let url = format!("{}/p/{}", app.base, p.slug);
    assert_eq!(tag_attr(&html, "rel=\"canonical\"", "href").as_deref(), Some(url.as_str()));
    assert_eq!(tag_attr(&html, "property=\"og:url\"", "content").as_deref(), Some(url.as_str()));
    assert_eq!(tag_attr(&html, "property=\"og:type\"", "content").as_deref(), Some("product"));
    let description = tag_attr(&html, "name=\"description\"", "content").expect("a meta description");
    assert!(!description.is_empty() && description.chars().count() <= 160);
    assert!(!html.contains("noindex"));

    let ld = json_ld(&html);
    let vocab = schema_org();
    ld.iter().for_each(|n| validate(n, &vocab, "$"));
    let product = ld.iter().find(|n| n["@type"] == "Product").expect("Product JSON-LD");
    assert_eq!(product["@context"], "https://schema.org");
    assert_eq!(product["name"], p.name.as_str());
    assert_eq!(product["brand"]["name"], p.brand.as_str());
    let offers = product["offers"].as_array().unwrap();
    assert_eq!(offers.len(), p.variants.len());
    for v in &p.variants {
        let offer = offers.iter().find(|o| o["sku"] == v.sku.as_str()).expect("an offer per SKU");
        assert_eq!(offer["price"], vitrina::domain::money::to_decimal(v.price.amount).as_str());
        assert_eq!(offer["priceCurrency"], v.price.currency.as_str());
    }
    let crumbs = ld.iter().find(|n| n["@type"] == "BreadcrumbList").expect("BreadcrumbList JSON-LD");
    let items = crumbs["itemListElement"].as_array().unwrap();
    assert_eq!(items[0]["item"], format!("{}/", app.base));
    assert_eq!(items.last().unwrap()["item"], format!("{}/c/{}", app.base, p.category));
}

#[tokio::test]
async fn filter_combinations_are_canonicalised_and_not_indexed() {
    let app = spawn_app(60).await;
    let (_, body) = app.json("/api/v1/products?category=clothing&per_page=1").await;
    let facets = body["facets"].as_object().expect("facets");
    let mut filters: Vec<String> = facets.iter().filter(|(k, _)| k.as_str() != "brand").take(2).map(|(k, v)| format!("attr.{k}={}", v[0]["value"].as_str().unwrap())).collect();
    assert_eq!(filters.len(), 2, "two attribute keys to filter on: {facets:?}");
    let canonical = format!("{}/c/clothing", app.base);

    let one = app.get(&format!("/c/clothing?{}&sort=price_asc", filters[0])).await.text().await.unwrap();
    assert_eq!(tag_attr(&one, "rel=\"canonical\"", "href").as_deref(), Some(canonical.as_str()));
    assert!(!one.contains("noindex"), "one filter may be indexed");

    filters.push("page=2".into());
    let two = app.get(&format!("/c/clothing?{}", filters.join("&"))).await.text().await.unwrap();
    assert_eq!(tag_attr(&two, "rel=\"canonical\"", "href"), Some(format!("{canonical}?page=2")));
    assert_eq!(tag_attr(&two, "name=\"robots\"", "content").as_deref(), Some("noindex, follow"));
    let ld = json_ld(&two);
    ld.iter().for_each(|n| validate(n, &schema_org(), "$"));
    assert!(ld.iter().any(|n| n["@type"] == "BreadcrumbList"));
}

#[tokio::test]
async fn hashed_assets_are_immutable_compressed_and_revalidated() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    let wasm: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(site.path().join("pkg/vitrina.Xq2vbA7nN0pZ-c_9kLmQwe.wasm"), &wasm).unwrap();
    std::fs::write(site.path().join("pkg/vitrina.css"), "body { color: red; }\n".repeat(50)).unwrap();
    let root = site.path().to_string_lossy().to_string();
    let app = spawn_app_with(0, move |c| c.site_root = root).await;

    let url = format!("{}/pkg/vitrina.Xq2vbA7nN0pZ-c_9kLmQwe.wasm", app.base);
    let res = app.client.get(&url).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let body = res.bytes().await.unwrap();
    assert!(body.len() < wasm.len() / 10, "compressed: {} of {} bytes", body.len(), wasm.len());

    let again = app.client.get(&url).header("accept-encoding", "br").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    let plain = app.client.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap().as_ref(), wasm.as_slice(), "without Accept-Encoding the bytes as built");

    let css = app.client.get(format!("{}/pkg/vitrina.css", app.base)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-encoding"], "gzip");
    assert_eq!(css.headers()["cache-control"], "public, max-age=0, must-revalidate", "an unhashed name is revalidated");
}

#[tokio::test]
async fn api_reads_have_etags_and_pages_are_not_cached_by_shared_caches() {
    let app = spawn_app(20).await;
    let url = format!("{}/api/v1/products?per_page=5", app.base);
    let res = app.client.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let again = app.client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let other = app.client.get(format!("{url}&page=2")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(other.status(), 200, "another page has another validator");
    assert_ne!(other.headers()["etag"].to_str().unwrap(), etag);

    let home = app.get("/").await;
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers()["cache-control"], "private, no-cache");
}

/// Every `href` of `<link rel="alternate" hreflang="…">`, by language.
fn hreflang(html: &str) -> BTreeMap<String, String> {
    html.split("<link ")
        .skip(1)
        .map(|t| t.split('>').next().unwrap())
        .filter(|t| t.contains("rel=\"alternate\"") && t.contains("hreflang="))
        .map(|t| {
            let attr = |name: &str| t.split(&format!("{name}=\"")).nth(1).unwrap().split('"').next().unwrap().to_string();
            (attr("hreflang"), attr("href"))
        })
        .collect()
}

#[tokio::test]
async fn pages_are_romanian_by_default_and_english_under_en() {
    let app = spawn_app(30).await;
    let products = app.backends.catalog.products_after(None, 100).await.unwrap();
    let p = products.iter().find(|p| p.status == ProductStatus::Active && p.variants.iter().any(|v| v.stock > 0)).expect("an active product in stock");
    let v = p.variants.iter().find(|v| v.stock > 0).unwrap();
    let lei = |minor: i64| vitrina::i18n::Locale::Ro.money(minor, "RON");

    // Romanian at the bare path: lang, words, prices written the Romanian way
    let ro = app.get(&format!("/p/{}?{}", p.slug, form_urlencoded::Serializer::new(String::new()).extend_pairs(v.options.iter()).finish())).await.text().await.unwrap();
    assert!(ro.contains("<html lang=\"ro\""), "lang=ro");
    assert!(ro.contains("Adaugă în coș") && !ro.contains("Add to cart"), "Romanian interface");
    assert!(ro.contains(&lei(v.price.amount)), "price as {} on the page", lei(v.price.amount));
    assert!(lei(129_999) == "1.299,99 lei");
    let ro_url = format!("{}/p/{}", app.base, p.slug);
    let en_url = format!("{}/en/p/{}", app.base, p.slug);
    assert_eq!(tag_attr(&ro, "rel=\"canonical\"", "href"), Some(ro_url.clone()));
    let alternates = hreflang(&ro);
    assert_eq!(alternates.get("ro"), Some(&ro_url));
    assert_eq!(alternates.get("en"), Some(&en_url));
    assert_eq!(alternates.get("x-default"), Some(&ro_url));

    // English under /en: its own canonical, the same alternates, links that stay in English
    let en = app.get(&format!("/en/p/{}", p.slug)).await.text().await.unwrap();
    assert!(en.contains("<html lang=\"en\""), "lang=en");
    assert!(en.contains("Add to cart") && !en.contains("Adaugă în coș"), "English interface");
    assert!(en.contains(&vitrina::i18n::Locale::En.money(p.variants[0].price.amount, "RON")), "RON 1,234.56 prices");
    assert_eq!(tag_attr(&en, "rel=\"canonical\"", "href"), Some(en_url.clone()));
    assert_eq!(hreflang(&en), alternates);
    assert!(en.contains("action=\"/en/cart/add\""), "forms post in English");
    assert!(en.contains(&format!("href=\"/en/c/{}\"", p.category.split('/').next().unwrap())), "category links stay in English");

    // the home page and a listing too
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains("<html lang=\"ro\"") && home.contains("Cumpără pe categorii"));
    let listing = app.get("/en/products").await.text().await.unwrap();
    assert!(listing.contains("<html lang=\"en\"") && listing.contains("Sort by"));
}

#[tokio::test]
async fn the_first_visit_follows_accept_language_until_a_choice_is_made() {
    let app = spawn_app(5).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut r = client.get(format!("{}{path}", app.base));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send()
    };
    let res = get("/products?sort=newest", &[("accept-language", "en-GB,en;q=0.9")]).await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/en/products?sort=newest");
    assert!(res.headers()["vary"].to_str().unwrap().contains("Accept-Language"));
    // Romanian first, or nothing we speak: stays
    assert_eq!(get("/products", &[("accept-language", "ro-RO,en;q=0.8")]).await.unwrap().status(), 200);
    assert_eq!(get("/products", &[("accept-language", "de-DE")]).await.unwrap().status(), 200);
    // the API and assets have one address whatever the browser prefers
    assert_eq!(get("/api/v1/products", &[("accept-language", "en")]).await.unwrap().status(), 200);

    // choosing Romanian in the header: a cookie, and Accept-Language no longer decides
    let res = get("/lang/ro?next=/en/products%3Fsort%3Dnewest", &[]).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/products?sort=newest");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert_eq!(cookie, "lang=ro");
    assert_eq!(get("/products", &[("accept-language", "en"), ("cookie", &cookie)]).await.unwrap().status(), 200);
    let res = get("/lang/en?next=/products", &[]).await.unwrap();
    assert_eq!(res.headers()["location"], "/en/products");
    assert_eq!(get("/lang/xx?next=/", &[]).await.unwrap().status(), 404);
    // an off-site next is refused
    assert_eq!(get("/lang/en?next=//evil.example/", &[]).await.unwrap().headers()["location"], "/en");
}

#[tokio::test]
async fn form_posts_in_english_come_back_in_english() {
    let app = spawn_app(20).await;
    let products = app.backends.catalog.products_after(None, 100).await.unwrap();
    let p = products.iter().find(|p| p.status == ProductStatus::Active && p.variants.iter().any(|v| v.stock > 0)).unwrap();
    let sku = &p.variants.iter().find(|v| v.stock > 0).unwrap().sku;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |path: String, form: Vec<(&'static str, String)>| client.post(format!("{}{path}", app.base)).header("origin", app.base.clone()).form(&form).send();
    let res = post("/en/cart/add".into(), vec![("sku", sku.clone()), ("quantity", "1".into()), ("back", format!("/en/p/{}", p.slug))]).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"].to_str().unwrap(), format!("/en/p/{}?added={}", p.slug, sku));
    // a handler's own redirect (to /cart) gets the prefix too
    let res = post("/en/cart/update".into(), vec![("sku", sku.clone()), ("quantity", "1".into())]).await.unwrap();
    assert_eq!(res.headers()["location"].to_str().unwrap(), "/en/cart");
    // a wrong sign-in: the message is a code, shown in the page's language
    let res = post("/en/login".into(), vec![("email", "nobody@example.test".into()), ("password", "wrong wrong wrong".into())]).await.unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/en/login?error=login-failed"), "{to}");
    let page = app.get(&to).await.text().await.unwrap();
    assert!(page.contains("E-mail or password is incorrect."), "the English message");
    let ro = app.get(&to.trim_start_matches("/en").to_string()).await.text().await.unwrap();
    assert!(ro.contains("E-mailul sau parola sunt greșite."), "the Romanian message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_field_messages_follow_accept_language() {
    let app = spawn_app(0).await;
    let register = |lang: Option<&'static str>| {
        let mut req = app.client.post(format!("{}/api/v1/auth/register", app.base)).json(&serde_json::json!({"email": "ana@example.com", "password": "short", "name": "Ana"}));
        if let Some(l) = lang {
            req = req.header("accept-language", l);
        }
        req.send()
    };
    for (lang, want) in [(None, "use at least 10 characters"), (Some("en-GB,en;q=0.9"), "use at least 10 characters"), (Some("ro-RO,ro;q=0.9,en;q=0.8"), "folosește cel puțin 10 caractere")] {
        let res = register(lang).await.unwrap();
        assert_eq!(res.status(), 422);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "password", "{body}");
        assert_eq!(body["errors"][0]["message"], want, "Accept-Language {lang:?}: {body}");
        assert!(body["detail"].as_str().unwrap().contains(want), "{body}");
    }
}
