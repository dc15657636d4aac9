//! The HTTP server: storefront (Leptos SSR), `/api/v1`, media, probes.
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::config::Config;
use crate::edge::site::{asset_hashes, request_origin};
use crate::edge::ServerState;
use crate::state::AppState;
use crate::ui::{shell, App};

pub fn leptos_options(config: &Config) -> LeptosOptions {
    let prod = std::env::var("LEPTOS_ENV").map(|e| e.eq_ignore_ascii_case("prod")).unwrap_or(false);
    LeptosOptions::builder()
        .output_name("vitrina")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(if prod { Env::PROD } else { Env::DEV })
        .hash_files(asset_hashes().is_some())
        .build()
}

/// A build output named by its content (`vitrina.<hash>.wasm`): it never changes.
fn is_hashed_asset(path: &str) -> bool {
    let Some(file) = path.strip_prefix("/pkg/") else { return false };
    let parts: Vec<&str> = file.split('.').collect();
    parts.len() >= 3 && parts[1].len() >= 16 && parts[1].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// HTTP caching: static files get a validator (`ETag`) and a lifetime (a year
/// and `immutable` for hashed build outputs, revalidation for the rest); API
/// reads get an `ETag` of their body; pages are `no-cache` (they show the
/// shopper's cart and account). `If-None-Match` answers 304.
async fn http_caching(req: Request<Body>, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_string();
    let get = req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD;
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut res = next.run(req).await;
    if !get || res.status() != StatusCode::OK {
        return res;
    }
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let is_static = res.headers().contains_key(header::LAST_MODIFIED) && !path.starts_with("/api/") && !path.starts_with("/media/");
    let etag = if is_static {
        // from what ServeDir read off the file: its size, time and encoding
        let h = res.headers();
        let part = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        Some(weak_etag(format!("{}|{}|{}", part(header::LAST_MODIFIED), part(header::CONTENT_LENGTH), part(header::CONTENT_ENCODING)).as_bytes()))
    } else if path.starts_with("/api/v1/") && content_type.starts_with("application/json") {
        let (parts, body) = res.into_parts();
        let bytes = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "response body unreadable");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let etag = weak_etag(&bytes);
        res = Response::from_parts(parts, Body::from(bytes));
        Some(etag)
    } else {
        None
    };
    let h = res.headers_mut();
    if is_static {
        let policy = if is_hashed_asset(&path) { "public, max-age=31536000, immutable" } else { "public, max-age=0, must-revalidate" };
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    } else if content_type.starts_with("text/html") {
        h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("private, no-cache"));
    }
    let Some(etag) = etag else { return res };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    let matches = if_none_match.is_some_and(|inm| inm.trim() == "*" || inm.split(',').any(|t| t.trim().trim_start_matches("W/") == etag.trim_start_matches("W/")));
    if matches {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        for name in [header::ETAG, header::CACHE_CONTROL, header::VARY, header::CONTENT_LOCATION] {
            if let Some(v) = res.headers().get(&name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        return not_modified;
    }
    res
}

/// A weak validator of a representation (weak: the same bytes may travel compressed).
fn weak_etag(bytes: &[u8]) -> String {
    // xxh3: the same on every instance, and fast enough to run on every response
    format!("W/\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(bytes))
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the whole application router.
pub fn router(app: AppState) -> Router {
    let leptos_options = leptos_options(&app.config);
    // the route list is the same for every router this process builds
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let state = ServerState::new(leptos_options.clone(), app.clone());
    let context_app = app.clone();
    let site = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/media/{*key}", get(media))
        .route("/robots.txt", get(robots))
        .route("/sitemap.xml", get(sitemap))
        .route("/sitemaps/{file}", get(sitemap_file))
        .route("/lang/{code}", get(choose_language))
        .merge(crate::api::router())
        .merge(crate::web::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_app.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<ServerState, _>(shell))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(app.clone(), page_cache))
        .layer(axum::middleware::from_fn(server_fn_arguments))
        .layer(axum::middleware::from_fn(language))
        .layer(axum::middleware::from_fn(http_caching))
        .layer(axum::middleware::from_fn(track))
        .layer(axum::middleware::from_fn_with_state(app.clone(), crate::api::auth::authenticate))
        .layer(axum::middleware::from_fn_with_state(app.clone(), crate::api::auth::same_origin))
        .layer(app.session_layer.clone())
        // image uploads may be 10 MiB; every other extractor keeps axum's 2 MiB default
        .layer(tower_http::limit::RequestBodyLimitLayer::new(11 * 1024 * 1024))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .layer(axum::middleware::from_fn_with_state(app.clone(), security_headers))
        .layer(axum::middleware::from_fn(compression));
    // every page also lives under /en (English); the nested copy sees the path without the prefix
    Router::new().nest_service("/en", site.clone()).fallback_service(site)
}

/// A server function called with arguments it cannot read is the caller's
/// mistake: 400, not the 500 Leptos answers (the body, which the Leptos
/// client decodes, stays as it is).
async fn server_fn_arguments(req: Request<Body>, next: axum::middleware::Next) -> Response {
    let is_server_fn = req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/api/v1");
    let res = next.run(req).await;
    if !is_server_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.").into_response();
    };
    if bytes.starts_with(b"Args|") || bytes.starts_with(b"Deserialization|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The `lang` cookie: set when a shopper picks a language in the header, so
/// `Accept-Language` no longer decides for them.
const LANG_COOKIE: &str = "lang";

fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The language of a request, as a `Locale` extension: `/en/…` is English
/// (the nested router has already taken the prefix off the URI), a server
/// function call takes its page's language (from the Referer), anything else
/// is Romanian. A first visit to a Romanian page from a browser that prefers
/// English (and no choice made in the header) is sent to the English page.
/// Redirects answered in English stay in English.
async fn language(mut req: Request<Body>, next: axum::middleware::Next) -> Response {
    use crate::i18n::{is_page_path, Locale};
    let original = req.extensions().get::<axum::extract::OriginalUri>().map(|u| u.0.path().to_string()).unwrap_or_else(|| req.uri().path().to_string());
    let prefixed = Locale::split_path(&original).0 == Locale::En;
    let path = req.uri().path().to_string();
    let locale = if prefixed {
        Locale::En
    } else if path.starts_with("/api/") {
        // a browser's call speaks its page's language; a partner's, its
        // Accept-Language; with neither, the API answers in English
        req.headers()
            .get(header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(|r| r.split_once("://").map(|(_, rest)| rest.find('/').map_or("/", |i| &rest[i..])))
            .map(|p| Locale::split_path(p).0)
            .or_else(|| req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::from_accept_language))
            .unwrap_or(Locale::En)
    } else {
        Locale::Ro
    };
    if !prefixed && req.method() == axum::http::Method::GET && is_page_path(&path) && cookie_value(req.headers(), LANG_COOKIE).is_none() {
        let prefers = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::from_accept_language);
        if prefers == Some(Locale::En) {
            let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            return (
                StatusCode::FOUND,
                [(header::LOCATION, Locale::En.href(here)), (header::VARY, "Accept-Language, Cookie".into()), (header::CACHE_CONTROL, "private, no-store".into())],
            )
                .into_response();
        }
    }
    req.extensions_mut().insert(locale);
    let mut res = crate::i18n::REQUEST_LOCALE.scope(locale, next.run(req)).await;
    if prefixed && res.status().is_redirection() {
        let to = res.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(|l| Locale::En.href(l));
        if let Some(to) = to.and_then(|t| HeaderValue::from_str(&t).ok()) {
            res.headers_mut().insert(header::LOCATION, to);
        }
    }
    res
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// `GET /lang/{ro|en}?next=/p/…`: remembers the choice for a year and opens
/// `next` in that language.
async fn choose_language(Path(code): Path<String>, axum::extract::Query(q): axum::extract::Query<NextQuery>) -> Response {
    let Some(locale) = crate::i18n::Locale::from_code(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let next = q.next.as_deref().and_then(crate::domain::text::local_path).unwrap_or_else(|| "/".into());
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", locale.code());
    (StatusCode::SEE_OTHER, [(header::LOCATION, locale.href(&next)), (header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".into())]).into_response()
}

/// A response body as the browser asked for it: brotli or gzip.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Coding {
    Br,
    Gzip,
}

/// The coding `Accept-Encoding` prefers (brotli over gzip; `q=0` refuses one).
fn accepted_coding(headers: &axum::http::HeaderMap) -> Option<Coding> {
    let value = headers.get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    let accepts = |name: &str| {
        value.split(',').any(|part| {
            let mut it = part.split(';');
            let token = it.next().unwrap_or("").trim();
            let refused = it.any(|p| p.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().map(|q| q <= 0.0).unwrap_or(false)));
            token.eq_ignore_ascii_case(name) && !refused
        })
    };
    if accepts("br") {
        Some(Coding::Br)
    } else if accepts("gzip") {
        Some(Coding::Gzip)
    } else {
        None
    }
}

fn compressible(content_type: &str) -> bool {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    ct.starts_with("text/") || matches!(ct, "application/json" | "application/problem+json" | "application/javascript" | "application/xml" | "application/wasm" | "image/svg+xml")
}

fn compress_bytes(coding: Coding, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    match coding {
        Coding::Gzip => gzip_fast(bytes),
        Coding::Br => {
            let mut out = Vec::with_capacity(bytes.len() / 4);
            {
                let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
                enc.write_all(bytes)?;
            }
            Ok(out)
        }
    }
}

/// gzip at the fast level with this thread's deflate state, reset rather
/// than allocated (and zeroed) per response: a page is ~30 kB, the state ~300 kB.
fn gzip_fast(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    thread_local! {
        static DEFLATE: std::cell::RefCell<Compress> = std::cell::RefCell::new(Compress::new(Compression::fast(), false));
    }
    // RFC 1952: magic, deflate, no flags, no time, no extra flags, OS unknown
    let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    DEFLATE.with(|d| -> std::io::Result<()> {
        let mut d = d.borrow_mut();
        d.reset();
        loop {
            let read = d.total_in() as usize;
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
            match d.compress_vec(&bytes[read..], &mut out, FlushCompress::Finish).map_err(std::io::Error::other)? {
                Status::StreamEnd => return Ok(()),
                Status::Ok | Status::BufError => {}
            }
        }
    })?;
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    Ok(out)
}

/// Compresses what a build did not precompress (pages, JSON, XML, debug
/// builds' static files) with what the browser accepts, at a fast level. The
/// same bytes are compressed once: a cached listing or page (`x-cache: hit`)
/// is served from a cache of compressed bodies (64 MiB, keyed by a seeded
/// hash of the body); a body rendered for this request is compressed as it is.
async fn compression(req: Request<Body>, next: axum::middleware::Next) -> Response {
    static COMPRESSED: std::sync::OnceLock<(moka::future::Cache<(u64, usize, Coding), axum::body::Bytes>, u64)> = std::sync::OnceLock::new();
    let coding = accepted_coding(req.headers());
    let head = req.method() == axum::http::Method::HEAD;
    let res = next.run(req).await;
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if !compressible(&content_type) || res.headers().contains_key(header::CONTENT_ENCODING) || res.headers().contains_key(header::CONTENT_RANGE) {
        return res;
    }
    let reused = res.headers().get(crate::edge::site::X_CACHE).is_some_and(|v| v.as_bytes() == b"hit");
    let mut res = res;
    res.headers_mut().append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let (Some(coding), false, true) = (coding, head, res.status().is_success() && res.status() != StatusCode::NO_CONTENT) else { return res };
    let (parts, body) = res.into_parts();
    const LIMIT: usize = 64 * 1024 * 1024;
    if axum::body::HttpBody::size_hint(&body).lower() > LIMIT as u64 {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "response body unreadable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if bytes.len() < 256 {
        return Response::from_parts(parts, Body::from(bytes));
    }
    if !reused && bytes.len() <= 256 * 1024 {
        return match compress_bytes(coding, &bytes) {
            Ok(c) => encoded(parts, coding, c.into()),
            Err(_) => Response::from_parts(parts, Body::from(bytes)),
        };
    }
    let (cache, seed) = COMPRESSED.get_or_init(|| {
        let cache = moka::future::Cache::builder().weigher(|_, v: &axum::body::Bytes| v.len().try_into().unwrap_or(u32::MAX)).max_capacity(64 * 1024 * 1024).build();
        (cache, rand::random::<u64>())
    });
    // a per-process seed: nobody can make two bodies share a cache entry on purpose
    let key = (xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, *seed), bytes.len(), coding);
    let compressed = match cache.get(&key).await {
        Some(c) => c,
        None => {
            let input = bytes.clone();
            let big = input.len() > 256 * 1024;
            let done = if big { crate::cpu::bounded(move || compress_bytes(coding, &input)).await } else { Ok(compress_bytes(coding, &input)) };
            match done {
                Ok(Ok(c)) => {
                    let c = axum::body::Bytes::from(c);
                    cache.insert(key, c.clone()).await;
                    c
                }
                _ => return Response::from_parts(parts, Body::from(bytes)),
            }
        }
    };
    encoded(parts, coding, compressed)
}

/// A response whose body is `compressed` with `coding`.
fn encoded(mut parts: axum::http::response::Parts, coding: Coding, compressed: axum::body::Bytes) -> Response {
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(if coding == Coding::Br { "br" } else { "gzip" }));
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(etag) = parts.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).filter(|e| !e.starts_with("W/")) {
        // a strong validator names the uncompressed bytes: the compressed ones get a weak one
        if let Ok(v) = HeaderValue::from_str(&format!("W/{etag}")) {
            parts.headers.insert(header::ETAG, v);
        }
    }
    Response::from_parts(parts, Body::from(compressed))
}

/// Headers every response carries unless it set its own: no framing (clickjacking),
/// no plugins, no MIME sniffing, a careful referrer, and HSTS behind https.
async fn security_headers(State(app): State<AppState>, req: Request<Body>, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let defaults = [
        (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    ];
    for (name, value) in defaults {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if app.config.secure_cookies() {
        h.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}


/// Counts each request and its latency under its route pattern.
async fn track(req: Request<Body>, next: axum::middleware::Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().as_str().to_string();
    let route = match req.extensions().get::<axum::extract::MatchedPath>() {
        Some(p) => p.as_str().to_string(),
        None if req.uri().path().starts_with("/pkg/") => "/pkg/*".to_string(),
        None => "unmatched".to_string(),
    };
    let res = next.run(req).await;
    crate::metrics::get().observe_request(&method, &route, res.status().as_u16(), start.elapsed());
    res
}

/// Listing and product pages for anonymous visitors come from the cache:
/// the same HTML for everyone without a session, refreshed with the catalog
/// version (an admin change shows at once) and within the listing TTL, or the
/// shorter product TTL for product pages (availability there may be that old
/// for visitors; the cart and the order always check the inventory).
async fn page_cache(State(app): State<AppState>, req: Request<Body>, next: axum::middleware::Next) -> Response {
    let path = req.uri().path();
    let product_page = path.starts_with("/p/");
    let listing = path == "/" || path == "/products" || path.starts_with("/c/") || product_page;
    // the language choice is the only cookie an anonymous visitor may carry
    let only_lang = req.headers().get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).all(|c| c.trim().starts_with("lang=") || c.trim().is_empty());
    let anonymous = only_lang && !req.headers().contains_key(header::AUTHORIZATION);
    if req.method() != axum::http::Method::GET || !listing || !anonymous {
        return next.run(req).await;
    }
    let locale = req.extensions().get::<crate::i18n::Locale>().copied().unwrap_or_default();
    let mut uri = format!("{}{}", locale.prefix(), req.uri().path_and_query().map(|p| p.as_str()).unwrap_or_default());
    if app.config.public_url.is_none() {
        // pages carry absolute links built from the Host header: one copy per host
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        uri = format!("{host}{uri}");
    }
    // the key is read before the page is rendered: a page rendered from an
    // index that had not yet seen a change is never filed under its version
    let Some(key) = app.catalog.page_key(&uri).await else { return next.run(req).await };
    if let Some(html) = app.catalog.cached_page(&key).await {
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (crate::edge::site::X_CACHE, "hit")], html).into_response();
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::OK || res.headers().contains_key(header::SET_COOKIE) {
        return res;
    }
    let (parts, body) = res.into_parts();
    match axum::body::to_bytes(body, 2 * 1024 * 1024).await {
        Ok(bytes) => {
            app.catalog.store_page(&key, &bytes, product_page).await;
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "page too large").into_response(),
    }
}

/// Prometheus text format.
async fn metrics(State(app): State<AppState>) -> Response {
    if app.config.metrics_addr.is_some() {
        return StatusCode::NOT_FOUND.into_response(); // served on its own address
    }
    metrics_text(&app)
}

fn metrics_text(app: &AppState) -> Response {
    let mut text = crate::metrics::get().render();
    if let Some(index) = app.catalog.index() {
        text.push_str(&format!(
            "# TYPE vitrina_search_index_products gauge\nvitrina_search_index_products {}\n# TYPE vitrina_search_index_bytes gauge\nvitrina_search_index_bytes {}\n",
            index.len(),
            index.memory_bytes()
        ));
    }
    if let Some(age) = app.recommend.table_age() {
        // present once every product's recommendations are precomputed (pages then read them in O(1))
        text.push_str(&format!("# TYPE vitrina_recommend_table_age_seconds gauge\nvitrina_recommend_table_age_seconds {}\n", age.as_secs()));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<AppState>) -> Response {
    if app.lifecycle.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining: shutting down").into_response();
    }
    match tokio::time::timeout(Duration::from_secs(2), app.catalog.ping()).await {
        // ready either way: without the feed, changes still arrive (by polling, with short-lived caches)
        Ok(Ok(())) => (StatusCode::OK, format!("ready: store={} cache={} {}", app.store_kind, app.cache_kind, app.catalog.change_channel().1)).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store timed out").into_response(),
    }
}

async fn robots(State(app): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let body = crate::domain::seo::robots_txt(&request_origin(&app.config, &headers));
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// `/sitemap.xml`: every URL in one file, or past 50,000 URLs an index of `/sitemaps/<n>.xml`.
async fn sitemap(State(app): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    use crate::domain::seo;
    let origin = request_origin(&app.config, &headers);
    match app.catalog.sitemap_entries().await {
        Ok(entries) if entries.len() <= seo::SITEMAP_MAX_URLS => xml(seo::sitemap_urlset(&origin, &entries)),
        Ok(entries) => xml(seo::sitemap_index(&origin, seo::sitemap_files(entries.len()))),
        Err(e) => {
            tracing::error!(error = %e, "sitemap");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn sitemap_file(State(app): State<AppState>, Path(file): Path<String>, headers: axum::http::HeaderMap) -> Response {
    use crate::domain::seo;
    let Some(n) = file.strip_suffix(".xml").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n >= 1) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match app.catalog.sitemap_entries().await {
        Ok(entries) => match entries.chunks(seo::SITEMAP_MAX_URLS).nth(n - 1) {
            Some(chunk) if entries.len() > seo::SITEMAP_MAX_URLS => xml(seo::sitemap_urlset(&request_origin(&app.config, &headers), chunk)),
            _ => StatusCode::NOT_FOUND.into_response(),
        },
        Err(e) => {
            tracing::error!(error = %e, "sitemap");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/xml; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

async fn media(State(app): State<AppState>, Path(key): Path<String>) -> Response {
    match app.catalog.image(&key).await {
        Ok(Some((bytes, content_type))) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            if let Ok(ct) = HeaderValue::from_str(&content_type) {
                h.insert(header::CONTENT_TYPE, ct);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
            res
        }
        Ok(None) | Err(crate::ports::ImageError::InvalidKey) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "image store");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Serves until SIGINT or SIGTERM, then drains (see `serve_draining`).
pub async fn serve(app: AppState) -> std::io::Result<()> {
    let mut workers = vec![spawn_order_repair(app.clone()), spawn_cache_warmer(app.clone()), spawn_restamp(&app)];
    if app.config.notify.relay {
        workers.push(spawn_relay(&app, Duration::from_millis(500)));
    }
    if !app.config.recommend_every.is_zero() {
        workers.push(spawn_recommend_rebuild(&app, app.config.recommend_every));
    }
    workers.push(spawn_recommend_table(&app));
    let addr = app.config.addr;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    if let Some(metrics_addr) = app.config.metrics_addr {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr).await?;
        let only_metrics = Router::new().route("/metrics", get(|State(app): State<AppState>| async move { metrics_text(&app) })).with_state(app.clone());
        tracing::info!(%metrics_addr, "metrics on their own address");
        tokio::spawn(async move { axum::serve(metrics_listener, only_metrics).await });
    }
    tracing::info!(%addr, store = app.store_kind, cache = app.cache_kind, "Vitrina listening on http://{addr}");
    serve_draining(listener, app, shutdown_signal(), workers).await
}

/// Serves until `signal`, then drains: readiness fails at once (the load
/// balancer sends no more; `VITRINA_SHUTDOWN_DELAY_SECS` keeps serving while
/// it catches up), no new connection is taken, requests in flight
/// finish, then background `workers` end at their next pause (an order
/// repair, an outbox pass or a rebuild under way completes). Each of the two
/// waits is bounded by `VITRINA_SHUTDOWN_GRACE_SECS`; past it the instance exits anyway.
pub async fn serve_draining(
    listener: tokio::net::TcpListener,
    app: AppState,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
    workers: Vec<tokio::task::JoinHandle<()>>,
) -> std::io::Result<()> {
    let (grace, delay) = (app.config.shutdown_grace, app.config.shutdown_delay);
    let lifecycle = app.lifecycle.clone();
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let drain = {
        let lifecycle = lifecycle.clone();
        async move {
            signal.await;
            lifecycle.begin_drain();
            if !delay.is_zero() {
                tracing::info!(delay_secs = delay.as_secs(), "shutting down: not ready any more, still serving while load balancers catch up");
                tokio::time::sleep(delay).await;
            }
            tracing::info!(grace_secs = grace.as_secs(), "shutting down: no new connections, finishing requests in flight");
            let _ = signalled.send(());
        }
    };
    let server = serve_on(listener, app, drain);
    tokio::pin!(server);
    let served = tokio::select! {
        r = &mut server => r,
        _ = async {
            if on_signal.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!("grace period over: requests still in flight are cut");
            Ok(())
        }
    };
    lifecycle.stop_background();
    if tokio::time::timeout(grace, futures::future::join_all(workers)).await.is_err() {
        tracing::warn!("grace period over: background work still running is cut");
    }
    tracing::info!("stopped");
    served
}

/// Serves the app on a bound listener until `shutdown` completes, with the
/// peer address available to handlers (per-IP rate limits).
pub async fn serve_on(listener: tokio::net::TcpListener, app: AppState, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    spawn_index_sync(&app);
    axum::serve(listener, router(app).into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await
}

/// After an upgrade, rewrites the products an earlier release stored at this
/// release's schema, a batch at a time, once per start: products are read on
/// every page and written rarely, so a store would otherwise migrate the same
/// old record on each read. Instances doing it at once are harmless (each
/// write is guarded). Stops with the app.
pub fn spawn_restamp(app: &AppState) -> tokio::task::JoinHandle<()> {
    let stopping = app.lifecycle.stopping();
    let app = app.downgrade();
    tokio::spawn(async move {
        tokio::pin!(stopping);
        let (mut after, mut total) = (None::<String>, 0u64);
        loop {
            let Some(app) = app.upgrade() else { return };
            tokio::select! {
                r = app.catalog.restamp_products(after.as_deref(), 500) => match r {
                    Ok((Some(last), n)) => { after = Some(last); total += u64::from(n); }
                    Ok((None, _)) => break,
                    Err(e) => { tracing::warn!(error = %e, "rewriting old products at this schema stopped; reads still migrate them"); return; }
                },
                _ = &mut stopping => return,
            }
        }
        if total > 0 {
            tracing::info!(products = total, schema = crate::domain::records::CURRENT, "products of earlier schemas rewritten");
        }
    })
}

/// Keeps the 50 most viewed and sold product pages in the cache.
pub fn spawn_cache_warmer(app: AppState) -> tokio::task::JoinHandle<()> {
    let stopping = app.lifecycle.stopping();
    tokio::spawn(async move {
        tokio::pin!(stopping);
        let mut tick = tokio::time::interval(Duration::from_secs(20));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopping => return,
            }
            let n = app.catalog.warm_popular(50).await;
            tracing::debug!(products = n, "popular products kept warm");
        }
    })
}

/// Keeps this instance's search index and cached reads current: builds the
/// index now, then follows the change feed (every instance hears a change
/// made on any other within milliseconds, in order); while the feed is down,
/// or without a shared one, the store is polled every half second instead.
/// A full rebuild every few minutes catches anything either could miss.
/// Ends with the app.
pub fn spawn_index_sync(app: &AppState) {
    let app = app.downgrade();
    tokio::spawn(async move {
        if let Some(a) = app.upgrade() {
            // the place in the feed is read before the build: nothing made meanwhile is missed
            a.catalog.start_following().await;
        }
        let mut last_poll = std::time::Instant::now() - Duration::from_secs(1);
        loop {
            let Some(app) = app.upgrade() else { return };
            let report = app.catalog.follow_changes(Duration::from_millis(500)).await;
            if report.notices > 0 {
                tracing::debug!(notices = report.notices, "catalog changes taken in");
            }
            let poll = app.catalog.polls_store() || !app.catalog.index().is_some_and(|i| i.is_loaded());
            if poll && last_poll.elapsed() < Duration::from_millis(500) {
                drop(app);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            let started = std::time::Instant::now();
            let synced = if poll { app.catalog.sync_index().await } else { app.catalog.rebuild_if_due().await };
            last_poll = std::time::Instant::now();
            match synced {
                Ok(r) if r.full => tracing::info!(products = r.fetched, took = ?started.elapsed(), "search index built"),
                Ok(r) if r.changed > 0 => tracing::debug!(changed = r.changed, "search index updated"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "search index sync failed; will retry"),
            }
        }
    });
}

/// Delivers the outbox (mails, webhooks) from this instance until the app
/// stops: passes back to back while there is work, `idle` between passes
/// when there is none. Every instance may run one; claims keep them apart.
/// Entries a crash left on order documents are moved every half minute.
pub fn spawn_relay(app: &AppState, idle: Duration) -> tokio::task::JoinHandle<()> {
    let stopping = app.lifecycle.stopping();
    let app = app.downgrade();
    tokio::spawn(async move {
        tokio::pin!(stopping);
        let mut last_settle: Option<std::time::Instant> = None;
        loop {
            let Some(app) = app.upgrade() else { return };
            if app.lifecycle.is_draining() && futures::FutureExt::now_or_never(&mut stopping).is_some() {
                return;
            }
            if last_settle.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                last_settle = Some(std::time::Instant::now());
                match app.notify.settle().await {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(entries = n, "moved outbox entries a crash left on orders"),
                    Err(e) => tracing::warn!(error = %e, "could not settle order outboxes; will retry"),
                }
            }
            let busy = match app.notify.run_once().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay pass failed; will retry");
                    false
                }
            };
            drop(app);
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = &mut stopping => return,
                }
            }
        }
    })
}

/// Rebuilds the recommendation table: soon after start (a fresh demo shop
/// shows its suggestions at once), then every `every`; across instances at
/// most once per period (see `Recommender::rebuild_if_due`).
pub fn spawn_recommend_rebuild(app: &AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    let stopping = app.lifecycle.stopping();
    let app = app.downgrade();
    tokio::spawn(async move {
        tokio::pin!(stopping);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = &mut stopping => return,
        }
        let mut tick = tokio::time::interval(Duration::from_secs(60).min(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopping => return,
            }
            let Some(app) = app.upgrade() else { return };
            match app.recommend.rebuild_if_due(every).await {
                Some(Ok(r)) => tracing::info!(orders = r.stats.orders, products = r.stats.with_complements, pairs = r.stats.pairs, took_ms = r.elapsed_ms, "recommendations rebuilt"),
                Some(Err(e)) => tracing::warn!(error = %e, "recommendation rebuild failed; will retry"),
                None => {}
            }
        }
    })
}

/// Keeps the recommendation table pages read up to date: at start, then
/// every 2 s it takes in what changed (new complements after a rebuild, the
/// similar products of products that changed), and every 30 minutes it
/// computes every product's lists again.
pub fn spawn_recommend_table(app: &AppState) -> tokio::task::JoinHandle<()> {
    const FULL_EVERY: Duration = Duration::from_secs(30 * 60);
    let stopping = app.lifecycle.stopping();
    let app = app.downgrade();
    tokio::spawn(async move {
        tokio::pin!(stopping);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopping => return,
            }
            let Some(app) = app.upgrade() else { return };
            let full = app.recommend.table_age().is_some_and(|age| age > FULL_EVERY);
            let started = std::time::Instant::now();
            match app.recommend.refresh_table(full).await {
                Ok(r) if r.related > 1000 => tracing::info!(similar = r.related, complements = r.complements, took_ms = started.elapsed().as_millis() as u64, "recommendation table computed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "recommendation table not refreshed; will retry"),
            }
        }
    })
}

/// Placements that died half-way (a crashed instance) are undone: at start
/// and every 30 seconds, pending orders older than a minute release their
/// stock; unpaid orders expire; documents waiting for e-Factura are sent.
pub fn spawn_order_repair(app: AppState) -> tokio::task::JoinHandle<()> {
    let stopping = app.lifecycle.stopping();
    tokio::spawn(async move {
        tokio::pin!(stopping);
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopping => return,
            }
            match app.orders.repair_stale(chrono::Duration::seconds(60)).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(repaired = n, "released stock of orders that died half-way"),
                Err(e) => tracing::warn!(error = %e, "order repair failed; will retry"),
            }
            match app.orders.expire_unpaid(chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "orders not paid in time expired; their stock is back"),
                Err(e) => tracing::warn!(error = %e, "payment expiry failed; will retry"),
            }
            // documents waiting for e-Factura (just configured, or a task that gave up) go out
            match app.invoicing.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(documents = n, "e-Factura: documents queued again"),
                Err(e) => tracing::warn!(error = %e, "e-Factura sweep failed; will retry"),
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod compression_tests {
    use super::*;

    fn accept(value: &str) -> Option<Coding> {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        accepted_coding(&h)
    }

    #[test]
    fn brotli_is_preferred_and_q0_refuses() {
        assert!(accept("gzip, deflate, br") == Some(Coding::Br));
        assert!(accept("gzip") == Some(Coding::Gzip));
        assert!(accept("br;q=0, gzip;q=0.8") == Some(Coding::Gzip));
        assert!(accept("identity").is_none());
        assert!(accept("gzip;q=0").is_none());
    }

    #[test]
    fn compressed_bytes_come_back_whole() {
        use std::io::Read;
        let text = "{\"name\":\"Rochie de vară\",\"price\":19999}".repeat(300);
        let gz = compress_bytes(Coding::Gzip, text.as_bytes()).unwrap();
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back, text);
        let br = compress_bytes(Coding::Br, text.as_bytes()).unwrap();
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut back).unwrap();
        assert_eq!(back, text.as_bytes());
        assert!(br.len() < text.len() / 10 && gz.len() < text.len() / 10);
    }

    #[test]
    fn the_reused_gzip_state_starts_afresh_for_each_body() {
        use std::io::Read;
        // noise does not compress: the output outgrows its first allocation
        let noise: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let bodies = [b"<p>Rochie</p>".repeat(900), noise, b"x".to_vec(), Vec::new(), b"<p>Cana</p>".repeat(2000)];
        for body in bodies.iter().chain(bodies.iter()) {
            let gz = gzip_fast(body).unwrap();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
            assert_eq!(&back, body);
        }
    }
}
