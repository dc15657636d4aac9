//! Shared test helpers: stores under test, a spawned app, an oracle.
#![allow(dead_code)]
use std::sync::Arc;

use vitrina::config::Config;
use vitrina::domain::product::Product;
use vitrina::domain::query::CatalogQuery;
use vitrina::infra::mongo::MongoStore;
use vitrina::infra::sqlite::{SqliteStore, SqliteDb};
use vitrina::ports::{AuditStore, CartStore, DocumentStore, CatalogStore, InventoryStore, KeyValueStore, OrderStore, OutboxStore, PromotionStore, RecommendStore, TokenStore, UserStore};
use vitrina::state::AppState;

/// A service address the test script provides (it starts nx-27017, Redis and
/// moto). A missing one fails the test: a skipped run must be asked for
/// (`VITRINA_SKIP_MISSING_SERVICES=1`, for a quick local `cargo test`; the
/// test command and CI never set it).
fn service(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("VITRINA_SKIP_MISSING_SERVICES").is_err() {
                panic!("{var} is not set: the {what} run needs it (scripts/test.sh starts the services; VITRINA_SKIP_MISSING_SERVICES=1 skips such runs)");
            }
            eprintln!("{var} not set: skipping the {what} run (VITRINA_SKIP_MISSING_SERVICES)");
            None
        }
    }
}

pub fn mongo_uri() -> Option<String> {
    service("VITRINA_TEST_MONGODB_URI", "MongoDB")
}

pub fn redis_url() -> Option<String> {
    service("VITRINA_TEST_REDIS_URL", "Redis")
}

pub fn s3_endpoint() -> Option<String> {
    service("VITRINA_TEST_S3_ENDPOINT", "S3")
}

/// A localstripe server (Stripe's API stand-in).
pub fn stripe_url() -> Option<String> {
    service("VITRINA_TEST_STRIPE_URL", "Stripe (localstripe)")
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Every store port at once: what both adapters implement.
pub trait AllStores:
    CatalogStore
    + UserStore
    + TokenStore
    + KeyValueStore
    + InventoryStore
    + CartStore
    + OrderStore
    + AuditStore
    + OutboxStore
    + RecommendStore
    + PromotionStore
    + DocumentStore
{
}
impl<T> AllStores for T where
    T: CatalogStore
        + UserStore
        + TokenStore
        + KeyValueStore
        + InventoryStore
        + CartStore
        + OrderStore
        + AuditStore
        + OutboxStore
        + RecommendStore
        + PromotionStore
        + DocumentStore
        + ?Sized
{
}

/// The store adapters the contract suites run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    Sqlite,
    MongoDb,
}

/// One adapter's store, fresh and empty (a new SQLite file, a new MongoDB database).
pub struct StoreFixture {
    pub adapter: Adapter,
    pub store: Arc<dyn AllStores>,
    _dir: Option<tempfile::TempDir>,
}

/// The one store fixture: `None` only for MongoDB when it is missing and
/// `VITRINA_SKIP_MISSING_SERVICES` asks to skip (otherwise a missing
/// MongoDB fails the test).
pub async fn store_fixture(adapter: Adapter) -> Option<StoreFixture> {
    match adapter {
        Adapter::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let db = SqliteDb::open(&dir.path().join("test.db")).expect("open sqlite");
            Some(StoreFixture {
                adapter,
                store: Arc::new(SqliteStore(db)),
                _dir: Some(dir),
            })
        }
        Adapter::MongoDb => {
            let uri = mongo_uri()?;
            let store = MongoStore::connect(&uri, &unique_name("vitrina_test"))
                .await
                .expect("connect to the test MongoDB");
            Some(StoreFixture {
                adapter,
                store: Arc::new(store),
                _dir: None,
            })
        }
    }
}

/// An API call with a bearer token (and an `Idempotency-Key`): status, JSON body and content type.
pub async fn call_full(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<serde_json::Value>, key: Option<&str>) -> (u16, serde_json::Value, String) {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (status, res.json().await.unwrap_or(serde_json::Value::Null), kind)
}

/// An API call with a bearer token: status and JSON body.
pub async fn call(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<serde_json::Value>, key: Option<&str>) -> (u16, serde_json::Value) {
    let (status, body, _) = call_full(app, method, path, token, body, key).await;
    (status, body)
}

/// A concrete embedded store in a fresh directory (for services built by hand).
pub fn sqlite_store() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Arc::new(SqliteStore(SqliteDb::open(&dir.path().join("t.db")).unwrap())), dir)
}

/// A concrete MongoDB store on a fresh database; `None` when skipped.
pub async fn mongo_store(prefix: &str) -> Option<Arc<MongoStore>> {
    let uri = mongo_uri()?;
    Some(Arc::new(MongoStore::connect(&uri, &unique_name(prefix)).await.unwrap()))
}

/// A valid Romanian shipping address.
pub fn address() -> vitrina::domain::order::Address {
    vitrina::domain::order::Address { name: "Ana Pop".into(), street: "Str. Lunga 1".into(), city: "Cluj".into(), postal_code: "400001".into(), country: "RO".into(), phone: "+40 712 345 678".into(), county: "RO-CJ".into(), sector: None }
}

/// Every adapter, in the order the suites run them.
pub async fn stores() -> Vec<StoreFixture> {
    let mut out = Vec::new();
    for adapter in [Adapter::Sqlite, Adapter::MongoDb] {
        out.extend(store_fixture(adapter).await);
    }
    out
}

/// A running app on a random port with a fresh embedded store.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    /// The stores behind the services, for setting data up and checking it.
    pub backends: vitrina::state::Backends,
    pub _dir: tempfile::TempDir,
}

/// The password of the accounts tests register.
pub const PASSWORD: &str = "a sturdy passphrase";

impl TestApp {
    /// Registers `email` with `role` (password `PASSWORD`) and returns an access token.
    pub async fn token_for(&self, email: &str, role: vitrina::domain::user::Role) -> String {
        self.state.accounts.register(email, PASSWORD, "Buyer", role).await.unwrap();
        let res = self.client.post(format!("{}/api/v1/auth/token", self.base)).json(&serde_json::json!({"email": email, "password": PASSWORD})).send().await.unwrap();
        res.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
    }
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{}", self.base, path)).send().await.expect("request")
    }
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let res = self.client.post(format!("{}{}", self.base, path)).json(&body).send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}

pub async fn spawn_app(products: u64) -> TestApp {
    spawn_app_with(products, |_| {}).await
}

/// Like `spawn_app`, with the configuration adjusted first (e.g. MongoDB and Redis).
pub async fn spawn_app_with(products: u64, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    adjust(&mut config);
    let (state, backends) = AppState::build_with_backends(&config).await.expect("state");
    vitrina::services::demo::seed(&backends.catalog, &backends.images, products, false).await.expect("seed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let served = state.clone();
    tokio::spawn(async move {
        vitrina::server::serve_on(listener, served, std::future::pending()).await.expect("serve");
    });
    TestApp { base: format!("http://{addr}"), client: reqwest::Client::new(), state, backends, _dir: dir }
}

/// The specification of a listing, written plainly: what a store must return.
pub fn oracle_matches(p: &Product, q: &CatalogQuery) -> bool {
    use vitrina::domain::product::ProductStatus;
    if p.status != ProductStatus::Active {
        return false;
    }
    if let Some(c) = &q.category {
        if !(p.category == *c || p.category.starts_with(&format!("{c}/"))) {
            return false;
        }
    }
    let price = p.min_price().amount;
    if q.min_price.is_some_and(|lo| price < lo) || q.max_price.is_some_and(|hi| price > hi) {
        return false;
    }
    if q.in_stock && !p.in_stock() {
        return false;
    }
    let tokens = p.search_tokens();
    if !q.search_tokens().iter().all(|w| tokens.contains(w)) {
        return false;
    }
    let facets = p.facet_tokens();
    q.attrs.iter().all(|(k, values)| values.iter().any(|v| facets.contains(&format!("{k}={v}"))))
}

/// A tiny, valid PNG whose header declares `w` × `h` pixels (a decompression bomb's shape).
pub fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for b in data {
            crc ^= *b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut chunk = |kind: &[u8], data: &[u8]| {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// A real SMTP server (maildev): `smtp://…` for the shop, its REST API for the tests.
pub fn smtp() -> Option<(String, String)> {
    Some((service("VITRINA_TEST_SMTP_URL", "SMTP (maildev)")?, service("VITRINA_TEST_MAILDEV_URL", "SMTP (maildev)")?))
}

/// The webhook receiver (`tests/support/hook_receiver.py`).
pub fn hooks_url() -> Option<String> {
    service("VITRINA_TEST_HOOKS_URL", "webhook receiver")
}

/// Waits (up to `secs`) for `check` to give something; polls, never sleeps blindly.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The stand-in of ANAF's services (`tests/support/anaf_standin.py`): e-Factura, OAuth, the VAT register.
pub fn anaf_url() -> Option<String> {
    service("VITRINA_TEST_ANAF_URL", "ANAF stand-in")
}

/// The fatal failures of a UBL document under the official EN 16931 + CIUS-RO
/// rules (the stand-in runs the published XSLT); empty: it passes.
pub async fn fatal_failures(xml: &[u8]) -> Vec<String> {
    let anaf = anaf_url().expect("the ANAF stand-in validates documents");
    let res = reqwest::Client::new().post(format!("{anaf}/_validate")).body(xml.to_vec()).send().await.expect("the validator answers");
    let v: serde_json::Value = res.json().await.expect("the validator's JSON");
    v["fatal"].as_array().expect("a list of fatal failures").iter().map(|f| f.as_str().unwrap_or_default().to_string()).collect()
}

/// Points a config's invoicing at the ANAF stand-in (e-Factura with a fresh
/// refresh token, the VAT register). Returns the stand-in's base URL.
pub fn with_anaf(config: &mut Config, anaf: &str) {
    config.invoicing.vat_register_url = format!("{anaf}/api/PlatitorTvaRest/v9/tva");
    config.invoicing.efactura = vitrina::config::EfacturaConfig {
        api_url: format!("{anaf}/test/FCTEL/rest"),
        token_url: format!("{anaf}/anaf-oauth2/v1/token"),
        client_id: Some("vitrina-tests".into()),
        client_secret: Some("secret".into()),
        refresh_token: Some(format!("seed-{}", uuid::Uuid::new_v4().simple())),
        environment: "test".into(),
    };
}

/// A browser signed in as `email` (registered with `PASSWORD`): cookies kept, redirects not followed.
pub async fn admin_session(app: &TestApp, email: &str) -> reqwest::Client {
    let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = browser.post(format!("{}/login", app.base)).form(&[("email", email), ("password", PASSWORD)]).send().await.unwrap();
    assert!(res.status().is_redirection(), "signed in as {email}: {}", res.status());
    browser
}
