//! Typed configuration from the environment (and `.env`). Every setting has a
//! default that runs the embedded shop.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// `VITRINA_ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `VITRINA_DATA_DIR`, default `./data`: SQLite file and local images.
    pub data_dir: PathBuf,
    /// `MONGODB_URI`: selects MongoDB instead of the embedded store.
    pub mongodb_uri: Option<String>,
    /// `MONGODB_DB`, default `vitrina`.
    pub mongodb_db: String,
    /// `VITRINA_MONGODB_SLOW_MS`: log MongoDB commands slower than this (their shape, never values); 0, the default, logs none.
    pub mongodb_slow: Option<Duration>,
    /// `REDIS_URL`: selects Redis instead of the in-process cache.
    pub redis_url: Option<String>,
    /// `S3_BUCKET`: product images in S3 instead of the data dir; `S3_ENDPOINT` (MinIO, moto: path-style),
    /// `S3_PUBLIC_URL` (CDN or bucket URL; default: served by the app under `/media`).
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_public_url: Option<String>,
    /// `VITRINA_MAX_IMAGE_BYTES`, default 10 MiB.
    pub max_image_bytes: usize,
    /// `VITRINA_REDIS_PREFIX`, default `vitrina:`: namespace of every Redis key (several shops may share a Redis).
    pub redis_prefix: String,
    /// `VITRINA_CACHE_TTL_SECS`, default 5: how stale a cached listing may be. 0 disables caching.
    pub cache_ttl: Duration,
    /// `VITRINA_PUBLIC_URL`, e.g. `https://shop.example.com` (absolute links, secure cookies).
    pub public_url: Option<String>,
    /// `LEPTOS_SITE_ROOT`, default `target/site`: compiled WASM, JS and CSS.
    pub site_root: String,
    /// `VITRINA_LOG_FORMAT` = `json` | `text` (default text; json when `LEPTOS_ENV=PROD`).
    pub log_json: bool,
    /// `VITRINA_JWT_SECRET`: the key signing access tokens, guest-order and
    /// reset links (every instance of a shop sets the same one); default a
    /// random key kept in `<data dir>/signing-key.json` (never in the store).
    pub jwt_secret: Option<String>,
    /// `VITRINA_JWT_SECRET_PREVIOUS`: during a rotation, the key before; it still verifies.
    pub jwt_secret_previous: Option<String>,
    /// `VITRINA_BACKUP_RETENTION_DAYS`, default 35: how long backups are kept (erasure receipts say so).
    pub backup_retention_days: i64,
    /// `VITRINA_ACCESS_TOKEN_TTL_SECS`, default 900 (15 minutes).
    pub access_token_ttl: Duration,
    /// `VITRINA_LOGIN_RATE_PER_MIN`, default 10: sign-in and refresh attempts per client IP and per account.
    pub login_rate_per_min: u64,
    /// `VITRINA_REGISTER_RATE_PER_MIN`, default 10: new accounts per client IP (each costs a 19 MiB argon2 hash); 0 = off.
    pub register_rate_per_min: u64,
    /// `VITRINA_METRICS_ADDR`: serve `/metrics` only on this address (a port the
    /// Ingress does not route), not on the shop's own.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `VITRINA_ANON_RATE_PER_MIN`, default 1200: requests per client IP from anonymous visitors
    /// and browser sessions (static files and probes not counted); 0 = off.
    pub anon_rate_per_min: u64,
    /// `VITRINA_API_RATE_PER_MIN`, default 600: requests per minute per API token subject.
    pub api_rate_per_min: u64,
    /// `VITRINA_PARTNER_API_RATE_PER_MIN`, default `VITRINA_API_RATE_PER_MIN`: the same for partners.
    pub partner_api_rate_per_min: u64,
    /// `VITRINA_TRUST_PROXY`: how many proxies (load balancers) stand in front
    /// of the app and append to `X-Forwarded-For`: `false`/`0` (default) uses
    /// the peer address; `true`/`1` the right-most entry; `N` the N-th from
    /// the right (the left part of the header is whatever the client sent).
    pub trusted_proxies: usize,
    /// `VITRINA_ADMIN_EMAIL` + `VITRINA_ADMIN_PASSWORD`: an admin created at start when absent.
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    /// `VITRINA_VAT_PERCENT` (21), `VITRINA_SHIPPING_STANDARD_CENTS` (499), `VITRINA_SHIPPING_EXPRESS_CENTS` (999),
    /// `VITRINA_FREE_SHIPPING_OVER_CENTS` (5000), `VITRINA_MAX_LINE_QUANTITY` (99).
    pub rules: crate::services::orders::ShopRules,
    /// The ways to pay: cash on delivery always; a bank transfer when
    /// `VITRINA_BANK_IBAN` (with `VITRINA_BANK_BENEFICIARY`, `VITRINA_BANK_NAME`) is set.
    pub payments: crate::services::orders::PaymentRules,
    /// ISO 4217 code of every price (`VITRINA_CURRENCY`, RON by default).
    pub currency: String,
    /// Card payments through Stripe, when `STRIPE_SECRET_KEY`,
    /// `STRIPE_PUBLISHABLE_KEY` and `STRIPE_WEBHOOK_SECRET` are all set
    /// (`STRIPE_API_BASE` and `STRIPE_JS_URL` point elsewhere, e.g. a stand-in).
    pub stripe: Option<crate::infra::stripe::StripeSettings>,
    /// Mails and partner webhooks.
    pub notify: NotifyConfig,
    /// Invoices, credit notes and e-Factura.
    pub invoicing: InvoicingConfig,
    /// How often the recommendation table is rebuilt (`VITRINA_RECOMMEND_EVERY_SECS`, 0: never by itself).
    pub recommend_every: Duration,
    /// After SIGTERM: how long requests in flight, then background work, may take to finish (`VITRINA_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
    /// After SIGTERM: how long to keep serving while readiness fails, so load
    /// balancers stop sending first (`VITRINA_SHUTDOWN_DELAY_SECS`, default 0).
    pub shutdown_delay: Duration,
}

/// `SMTP_URL` (`smtp://user:pass@host:587`, STARTTLS; unset: `.eml` files
/// under `VITRINA_DATA_DIR/mail/`), `MAIL_FROM`, `VITRINA_ALERT_EMAILS`
/// (low-stock alerts; the admin's address by default),
/// `VITRINA_LOW_STOCK_THRESHOLD` (5), `VITRINA_OUTBOX_RETRY_SECONDS`
/// (delays between tries, `2,10,60,…`), `VITRINA_RELAY` (`off`: this
/// instance sends nothing; another one does).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub smtp_url: Option<String>,
    pub from: String,
    pub alert_emails: Vec<String>,
    pub low_stock: i64,
    pub retry: crate::domain::outbox::RetrySchedule,
    pub relay: bool,
    /// Production (`LEPTOS_ENV=PROD`): webhook URLs https only, never private addresses.
    pub strict_hooks: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self { smtp_url: None, from: "Vitrina <shop@vitrina.localhost>".into(), alert_emails: vec![], low_stock: 5, retry: Default::default(), relay: true, strict_hooks: false }
    }
}

/// The shop's legal identity and its invoices:
/// `VITRINA_SELLER_NAME`, `_CUI`, `_REG_COM`, `_STREET`, `_CITY`, `_COUNTY`
/// (`RO-CJ`), `_SECTOR` (Bucharest), `_POSTAL_CODE`, `_IBAN`, `_BANK`,
/// `_VAT_PAYER` (`true`), `_EMAIL`, `_PHONE`, `_CAPITAL` (unset: the demo
/// identity until the panel sets one); `VITRINA_INVOICE_SERIES` (`VTR`);
/// e-Factura with `VITRINA_EFACTURA_CLIENT_ID` + `VITRINA_EFACTURA_CLIENT_SECRET`
/// (the OAuth app registered at ANAF), `VITRINA_EFACTURA_ENV` (`test` | `prod`)
/// or `VITRINA_EFACTURA_URL`, `VITRINA_EFACTURA_TOKEN_URL`, and a first
/// refresh token in `VITRINA_EFACTURA_REFRESH_TOKEN` or pasted in the panel;
/// `VITRINA_ANAF_VAT_URL` (PlatitorTvaRest v9); `VITRINA_ANPC_SAL_URL`, `VITRINA_SOL_URL`.
#[derive(Debug, Clone)]
pub struct InvoicingConfig {
    pub series: String,
    /// `None`: not configured (the demo identity, or the panel's).
    pub seller: Option<crate::domain::billing::Seller>,
    pub efactura: EfacturaConfig,
    pub vat_register_url: String,
    pub sal_url: String,
    pub sol_url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EfacturaConfig {
    /// `…/FCTEL/rest` of the chosen environment.
    pub api_url: String,
    pub token_url: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    /// `prod` or `test`.
    pub environment: String,
}

impl Default for InvoicingConfig {
    fn default() -> Self {
        Self {
            series: "VTR".into(),
            seller: None,
            efactura: EfacturaConfig { api_url: "https://api.anaf.ro/test/FCTEL/rest".into(), token_url: "https://logincert.anaf.ro/anaf-oauth2/v1/token".into(), environment: "test".into(), ..Default::default() },
            vat_register_url: "https://webservicesp.anaf.ro/api/PlatitorTvaRest/v9/tva".into(),
            sal_url: "https://anpc.ro/ce-este-sal/".into(),
            sol_url: None,
        }
    }
}

impl InvoicingConfig {
    fn from_env() -> Result<Self, String> {
        let d = Self::default();
        let series = var("VITRINA_INVOICE_SERIES").unwrap_or(d.series).to_uppercase();
        if series.is_empty() || series.len() > 10 || !series.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("VITRINA_INVOICE_SERIES: 1 to 10 letters or digits".into());
        }
        let seller = match var("VITRINA_SELLER_NAME") {
            None => None,
            Some(name) => {
                let s = crate::domain::billing::Seller {
                    name,
                    cui: var("VITRINA_SELLER_CUI").unwrap_or_default(),
                    reg_com: var("VITRINA_SELLER_REG_COM").unwrap_or_default(),
                    street: var("VITRINA_SELLER_STREET").unwrap_or_default(),
                    city: var("VITRINA_SELLER_CITY").unwrap_or_default(),
                    county: var("VITRINA_SELLER_COUNTY").unwrap_or_default(),
                    sector: var("VITRINA_SELLER_SECTOR").and_then(|v| v.parse().ok()),
                    postal_code: var("VITRINA_SELLER_POSTAL_CODE").unwrap_or_default(),
                    iban: var("VITRINA_SELLER_IBAN").or_else(|| var("VITRINA_BANK_IBAN")).unwrap_or_default(),
                    bank: var("VITRINA_SELLER_BANK").or_else(|| var("VITRINA_BANK_NAME")).unwrap_or_default(),
                    vat_payer: !matches!(var("VITRINA_SELLER_VAT_PAYER").as_deref(), Some("false" | "0" | "no")),
                    email: var("VITRINA_SELLER_EMAIL").unwrap_or_default(),
                    phone: var("VITRINA_SELLER_PHONE").unwrap_or_default(),
                    capital: var("VITRINA_SELLER_CAPITAL").unwrap_or_default(),
                };
                let s = s.validate().map_err(|errors| {
                    let list: Vec<String> = errors.iter().map(|e| format!("VITRINA_SELLER_{}: {}", e.field.to_uppercase(), e.message)).collect();
                    list.join("; ")
                })?;
                Some(s)
            }
        };
        let environment = var("VITRINA_EFACTURA_ENV").unwrap_or_else(|| "test".into());
        if environment != "test" && environment != "prod" {
            return Err("VITRINA_EFACTURA_ENV: test or prod".into());
        }
        let efactura = EfacturaConfig {
            api_url: var("VITRINA_EFACTURA_URL").unwrap_or_else(|| format!("https://api.anaf.ro/{environment}/FCTEL/rest")).trim_end_matches('/').to_string(),
            token_url: var("VITRINA_EFACTURA_TOKEN_URL").unwrap_or(d.efactura.token_url),
            client_id: var("VITRINA_EFACTURA_CLIENT_ID"),
            client_secret: var("VITRINA_EFACTURA_CLIENT_SECRET"),
            refresh_token: var("VITRINA_EFACTURA_REFRESH_TOKEN"),
            environment,
        };
        Ok(Self { series, seller, efactura, vat_register_url: var("VITRINA_ANAF_VAT_URL").unwrap_or(d.vat_register_url), sal_url: var("VITRINA_ANPC_SAL_URL").unwrap_or(d.sal_url), sol_url: var("VITRINA_SOL_URL") })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let _ = dotenvy::dotenv();
        let addr = var("VITRINA_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .map_err(|e| format!("VITRINA_ADDR: {e}"))?;
        let cache_ttl = match var("VITRINA_CACHE_TTL_SECS") {
            Some(s) => Duration::from_secs_f64(s.parse::<f64>().map_err(|e| format!("VITRINA_CACHE_TTL_SECS: {e}"))?.max(0.0)),
            None => Duration::from_secs(5),
        };
        let prod = var("LEPTOS_ENV").map(|e| e.eq_ignore_ascii_case("prod")).unwrap_or(false);
        let num = |name: &str, default: u64| -> Result<u64, String> {
            match var(name) {
                Some(v) => v.parse().map_err(|e| format!("{name}: {e}")),
                None => Ok(default),
            }
        };
        let api_rate = num("VITRINA_API_RATE_PER_MIN", 600)?;
        let jwt_secret = var("VITRINA_JWT_SECRET");
        if let Some(secret) = &jwt_secret {
            check_jwt_secret(secret)?;
        }
        Ok(Self {
            jwt_secret,
            jwt_secret_previous: var("VITRINA_JWT_SECRET_PREVIOUS"),
            backup_retention_days: num("VITRINA_BACKUP_RETENTION_DAYS", 35)?.clamp(1, 3650) as i64,
            access_token_ttl: Duration::from_secs(num("VITRINA_ACCESS_TOKEN_TTL_SECS", 900)?.clamp(30, 900)),
            login_rate_per_min: num("VITRINA_LOGIN_RATE_PER_MIN", 10)?,
            register_rate_per_min: num("VITRINA_REGISTER_RATE_PER_MIN", 10)?,
            metrics_addr: match var("VITRINA_METRICS_ADDR") {
                Some(a) => Some(a.parse().map_err(|e| format!("VITRINA_METRICS_ADDR: {e}"))?),
                None => None,
            },
            anon_rate_per_min: num("VITRINA_ANON_RATE_PER_MIN", 1200)?,
            api_rate_per_min: api_rate,
            partner_api_rate_per_min: num("VITRINA_PARTNER_API_RATE_PER_MIN", api_rate)?,
            trusted_proxies: match var("VITRINA_TRUST_PROXY").as_deref() {
                None | Some("") => 0,
                Some(v) if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("yes") => 1,
                Some(v) if v.eq_ignore_ascii_case("false") || v.eq_ignore_ascii_case("no") => 0,
                Some(v) => v.parse::<usize>().map_err(|_| format!("VITRINA_TRUST_PROXY: use false, true or the number of proxies, not {v:?}"))?.min(10),
            },
            currency: var("VITRINA_CURRENCY").unwrap_or_else(|| crate::domain::money::DEFAULT_CURRENCY.into()).trim().to_ascii_uppercase(),
            rules: crate::services::orders::ShopRules {
                pricing: crate::domain::order::PricingRules {
                    vat_percent: num("VITRINA_VAT_PERCENT", 21)?.min(100) as i64,
                    standard: num("VITRINA_SHIPPING_STANDARD_CENTS", 1999)? as i64,
                    express: num("VITRINA_SHIPPING_EXPRESS_CENTS", 3499)? as i64,
                    free_standard_over: num("VITRINA_FREE_SHIPPING_OVER_CENTS", 25000)? as i64,
                },
                max_line_quantity: num("VITRINA_MAX_LINE_QUANTITY", 99)?.clamp(1, 10_000) as i64,
                max_open_orders: num("VITRINA_MAX_OPEN_ORDERS", 10)?,
            },
            payments: crate::services::orders::PaymentRules {
                bank_account: var("VITRINA_BANK_IBAN").map(|iban| crate::domain::payment::BankAccount {
                    iban: iban.split_whitespace().collect::<Vec<_>>().join(" "),
                    beneficiary: var("VITRINA_BANK_BENEFICIARY").unwrap_or_else(|| "Vitrina".into()),
                    bank: var("VITRINA_BANK_NAME").unwrap_or_default(),
                }),
                transfer_days: num("VITRINA_TRANSFER_DAYS", 5)?.clamp(1, 60) as i64,
                card_minutes: num("VITRINA_PAYMENT_TIMEOUT_MINUTES", 30)?.clamp(1, 7 * 24 * 60) as i64,
            },
            stripe: match (var("STRIPE_SECRET_KEY"), var("STRIPE_PUBLISHABLE_KEY"), var("STRIPE_WEBHOOK_SECRET")) {
                (Some(secret_key), Some(publishable_key), Some(webhook_secret)) => Some(crate::infra::stripe::StripeSettings {
                    secret_key,
                    publishable_key,
                    webhook_secret,
                    api_base: var("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
                    js_url: var("STRIPE_JS_URL").unwrap_or_else(|| "https://js.stripe.com/v3/".into()),
                }),
                (None, None, None) => None,
                _ => return Err("card payments need STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET together".into()),
            },
            notify: NotifyConfig {
                smtp_url: var("SMTP_URL"),
                from: var("MAIL_FROM").unwrap_or_else(|| NotifyConfig::default().from),
                alert_emails: var("VITRINA_ALERT_EMAILS")
                    .or_else(|| var("VITRINA_ADMIN_EMAIL"))
                    .map(|v| v.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect())
                    .unwrap_or_default(),
                low_stock: num("VITRINA_LOW_STOCK_THRESHOLD", 5)?.min(1_000_000) as i64,
                retry: match var("VITRINA_OUTBOX_RETRY_SECONDS") {
                    Some(v) => crate::domain::outbox::RetrySchedule::parse(&v).ok_or("VITRINA_OUTBOX_RETRY_SECONDS: seconds separated by commas, e.g. 2,10,60")?,
                    None => Default::default(),
                },
                relay: !matches!(var("VITRINA_RELAY").as_deref(), Some("off" | "false" | "0")),
                strict_hooks: prod,
            },
            invoicing: InvoicingConfig::from_env()?,
            recommend_every: Duration::from_secs(num("VITRINA_RECOMMEND_EVERY_SECS", 900)?),
            shutdown_grace: Duration::from_secs(num("VITRINA_SHUTDOWN_GRACE_SECS", 20)?),
            shutdown_delay: Duration::from_secs(num("VITRINA_SHUTDOWN_DELAY_SECS", 0)?),
            admin_email: var("VITRINA_ADMIN_EMAIL"),
            admin_password: var("VITRINA_ADMIN_PASSWORD"),
            addr,
            data_dir: var("VITRINA_DATA_DIR").unwrap_or_else(|| "./data".into()).into(),
            mongodb_uri: var("MONGODB_URI"),
            mongodb_db: var("MONGODB_DB").unwrap_or_else(|| "vitrina".into()),
            mongodb_slow: Some(Duration::from_millis(num("VITRINA_MONGODB_SLOW_MS", 0)?)).filter(|d| !d.is_zero()),
            redis_url: var("REDIS_URL"),
            redis_prefix: var("VITRINA_REDIS_PREFIX").unwrap_or_else(|| "vitrina:".into()),
            s3_bucket: var("S3_BUCKET"),
            s3_endpoint: var("S3_ENDPOINT"),
            s3_public_url: var("S3_PUBLIC_URL"),
            max_image_bytes: num("VITRINA_MAX_IMAGE_BYTES", 10 * 1024 * 1024)?.clamp(1024, 10 * 1024 * 1024) as usize,
            cache_ttl,
            public_url: var("VITRINA_PUBLIC_URL"),
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            log_json: var("VITRINA_LOG_FORMAT").map(|f| f == "json").unwrap_or(prod),
        })
    }

    /// Where the shop's data lives, for backups and restores.
    pub fn data_location(&self) -> crate::infra::backup::Location {
        crate::infra::backup::Location {
            data_dir: self.data_dir.clone(),
            mongodb: self.mongodb_uri.clone().map(|uri| (uri, self.mongodb_db.clone())),
            images_in_s3: self.s3_bucket.is_some(),
        }
    }

    /// A config for tests: embedded store in `data_dir`, everything else default.
    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        Self {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            data_dir,
            mongodb_uri: None,
            mongodb_db: "vitrina".into(),
            mongodb_slow: None,
            redis_url: None,
            redis_prefix: "vitrina:".into(),
            s3_bucket: None,
            s3_endpoint: None,
            s3_public_url: None,
            max_image_bytes: 10 * 1024 * 1024,
            cache_ttl: Duration::from_secs(5),
            public_url: None,
            site_root: "target/site".into(),
            log_json: false,
            jwt_secret: None,
            jwt_secret_previous: None,
            backup_retention_days: 35,
            access_token_ttl: Duration::from_secs(900),
            login_rate_per_min: 10,
            register_rate_per_min: 10,
            metrics_addr: None,
            anon_rate_per_min: 1200,
            api_rate_per_min: 600,
            partner_api_rate_per_min: 600,
            trusted_proxies: 0,
            admin_email: None,
            admin_password: None,
            rules: Default::default(),
            payments: Default::default(),
            currency: crate::domain::money::DEFAULT_CURRENCY.into(),
            stripe: None,
            notify: Default::default(),
            invoicing: Default::default(),
            recommend_every: Duration::ZERO,
            shutdown_grace: Duration::from_secs(20),
            shutdown_delay: Duration::ZERO,
        }
    }
}

/// The placeholder shipped in `deploy/secret.yaml`: a shop must never run with it.
const JWT_SECRET_PLACEHOLDER: &str = "change-me-to-64-random-characters";

/// A signing key anyone can guess signs tokens anyone can forge.
pub fn check_jwt_secret(secret: &str) -> Result<(), String> {
    if secret == JWT_SECRET_PLACEHOLDER {
        return Err("VITRINA_JWT_SECRET is the placeholder from deploy/secret.yaml: set a random secret of at least 32 bytes (e.g. `openssl rand -base64 48`)".into());
    }
    if secret.len() < 32 {
        return Err(format!("VITRINA_JWT_SECRET must be at least 32 bytes long (it has {}); e.g. `openssl rand -base64 48`", secret.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_jwt_secrets_are_refused() {
        assert!(check_jwt_secret("change-me-to-64-random-characters").unwrap_err().contains("placeholder"));
        assert!(check_jwt_secret("short").unwrap_err().contains("at least 32"));
        assert!(check_jwt_secret(&"k".repeat(32)).is_ok());
    }
}
