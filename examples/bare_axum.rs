//! The ceiling for the cached listing: a bare axum handler returning the
//! same bytes (fetched once from a running shop), for `scripts/capacity.sh`.
//!
//!   cargo run --release --features ssr --example bare_axum -- <shop URL of the listing> <port>
use axum::http::header;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("the shop URL to copy, e.g. http://127.0.0.1:3000/api/v1/products?category=clothing");
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect("a port");
    let body = reqwest::get(&url).await.expect("fetch").bytes().await.expect("body");
    eprintln!("serving {} bytes copied from {url}", body.len());
    let path = reqwest::Url::parse(&url).expect("url").path().to_string();
    let app = axum::Router::new().route(&path, get(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
