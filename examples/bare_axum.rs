//! The ceiling for the cached listing: a bare axum handler returning the
//! same bytes (fetched once from a running shop), for `scripts/capacity.sh`
//! and `scripts/bench.sh`. With `gzip`, the bytes are the shop's gzip answer,
//! served with the same `Content-Encoding` (as the shop serves wrk's
//! `Accept-Encoding: gzip` requests).
//!
//!   cargo run --release --features ssr --example bare_axum -- <shop URL of the listing> <port> [gzip]
use axum::http::{header, HeaderMap, HeaderValue};
use axum::routing::get;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("the shop URL to copy, e.g. http://127.0.0.1:3000/api/v1/products?category=clothing");
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect("a port");
    let gzip = args.next().as_deref() == Some("gzip");
    let mut request = reqwest::Client::new().get(&url);
    if gzip {
        // set by hand, so reqwest hands the bytes over as they came
        request = request.header(header::ACCEPT_ENCODING, "gzip");
    }
    let res = request.send().await.expect("fetch");
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if gzip {
        let encoding = res.headers().get(header::CONTENT_ENCODING).cloned().expect("the shop answered gzip");
        headers.insert(header::CONTENT_ENCODING, encoding);
    }
    let body = res.bytes().await.expect("body");
    eprintln!("serving {} bytes copied from {url}", body.len());
    let path = reqwest::Url::parse(&url).expect("url").path().to_string();
    let app = axum::Router::new().route(&path, get(move || {
        let (headers, body) = (headers.clone(), body.clone());
        async move { (headers, body) }
    }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
