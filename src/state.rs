//! Composition root: picks adapters from the configuration and builds the services.
use std::sync::Arc;

use crate::config::Config;
use crate::infra::argon2_hasher::Argon2Hasher;
use crate::infra::images_fs::FsImageStore;
use crate::infra::jwt::JwtSigner;
use crate::infra::memory_cache::MemoryCache;
use crate::infra::mongo::MongoStore;
use crate::infra::redis_cache::RedisCache;
use crate::infra::sessions::KvSessionStore;
use crate::infra::sqlite::{SqliteStore, SqliteDb};
use crate::ports::{Cache, CartStore, CatalogStore, ImageStore, InventoryStore, KeyValueStore, OrderStore, RateLimiter, TokenStore, UserStore};
use crate::services::orders::{CartService, OrderService};
use crate::services::accounts::AccountService;
use crate::services::catalog::CatalogService;

/// Everything a request handler or server function needs. Cloned for
/// every request by extractors and middleware, so it is one `Arc`: one
/// reference count to touch, not one per service (measured: cloning and
/// dropping the services' dozens of `Arc`s took most of a request's CPU).
#[derive(Clone)]
pub struct AppState(Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// Services only: the edges (API, form posts, server functions) reach the
/// stores through them, never directly.
pub struct App {
    pub catalog: CatalogService,
    pub accounts: AccountService,
    pub carts: CartService,
    pub orders: OrderService,
    pub admin: crate::services::admin::AdminCatalog,
    pub desk: crate::services::admin::AdminDesk,
    pub audit: crate::services::audit::AuditLog,
    pub limits: crate::services::limits::RateLimits,
    /// Mails and partner webhooks (the outbox relay).
    pub notify: crate::services::notify::Notifier,
    /// "Bought together", "similar", "trending".
    pub recommend: crate::services::recommend::Recommender,
    /// Coupon codes and automatic promotions.
    pub promotions: crate::services::promotions::Promotions,
    /// A customer's data: export and erasure (GDPR).
    pub privacy: crate::services::privacy::Privacy,
    /// Invoices, credit notes and e-Factura.
    pub invoicing: crate::services::invoices::Invoicing,
    /// Browser sessions (tower-sessions over the key-value port), configured once.
    pub session_layer: tower_sessions::SessionManagerLayer<KvSessionStore>,
    pub config: Arc<Config>,
    pub store_kind: &'static str,
    pub cache_kind: &'static str,
    /// Serving, draining (SIGTERM: no longer ready, requests in flight
    /// finish), stopping (background work ends at its next pause).
    pub lifecycle: Arc<Lifecycle>,
}

/// Where an instance is in its life: serving, or draining towards its exit.
pub struct Lifecycle {
    draining: std::sync::atomic::AtomicBool,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self { draining: Default::default(), stop: tokio::sync::watch::channel(false).0 }
    }
}

impl Lifecycle {
    /// The shutdown began: readiness fails so the load balancer sends no more.
    pub fn begin_drain(&self) {
        self.draining.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Background loops end at their next pause (work under way finishes first).
    pub fn stop_background(&self) {
        self.stop.send_replace(true);
    }
    /// Resolves once background work is asked to stop (at once if it was).
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

/// The stores behind the services, for the composition root's own jobs
/// (the `seed` command, tests that set data up); never handed to the edges.
pub struct Backends {
    pub catalog: Arc<dyn CatalogStore>,
    pub users: Arc<dyn UserStore>,
    pub orders: Arc<dyn OrderStore>,
    pub images: Arc<dyn ImageStore>,
    pub inventory: Arc<dyn InventoryStore>,
}

/// One store adapter seen through every port it implements.
struct StorePorts {
    catalog: Arc<dyn CatalogStore>,
    users: Arc<dyn UserStore>,
    tokens: Arc<dyn TokenStore>,
    kv: Arc<dyn KeyValueStore>,
    inventory: Arc<dyn InventoryStore>,
    carts: Arc<dyn CartStore>,
    orders: Arc<dyn OrderStore>,
    audit: Arc<dyn crate::ports::AuditStore>,
    outbox: Arc<dyn crate::ports::OutboxStore>,
    recommend: Arc<dyn crate::ports::RecommendStore>,
    promotions: Arc<dyn crate::ports::PromotionStore>,
    documents: Arc<dyn crate::ports::DocumentStore>,
}

fn ports<T: CatalogStore + UserStore + TokenStore + KeyValueStore + InventoryStore + CartStore + OrderStore + crate::ports::AuditStore + crate::ports::OutboxStore + crate::ports::RecommendStore + crate::ports::PromotionStore + crate::ports::DocumentStore + 'static>(store: T) -> StorePorts {
    let s = Arc::new(store);
    StorePorts { catalog: s.clone(), users: s.clone(), tokens: s.clone(), kv: s.clone(), inventory: s.clone(), carts: s.clone(), orders: s.clone(), audit: s.clone(), outbox: s.clone(), recommend: s.clone(), promotions: s.clone(), documents: s }
}

impl AppState {
    /// A handle that does not keep the app alive (background tasks end with it).
    pub fn downgrade(&self) -> std::sync::Weak<App> {
        Arc::downgrade(&self.0)
    }

    pub async fn build(config: &Config) -> Result<Self, String> {
        Ok(Self::build_with_backends(config).await?.0)
    }

    pub async fn build_with_backends(config: &Config) -> Result<(Self, Backends), String> {
        crate::domain::money::set_shop_currency(&config.currency)?;
        let (store, store_kind) = match &config.mongodb_uri {
            Some(uri) => (ports(MongoStore::connect_logging(uri, &config.mongodb_db, config.mongodb_slow).await.map_err(|e| format!("MongoDB: {e}"))?), "mongodb"),
            None => {
                let db = SqliteDb::open(&config.data_dir.join("vitrina.db")).map_err(|e| format!("SQLite: {e}"))?;
                (ports(SqliteStore(db)), "sqlite")
            }
        };
        // a release too old for what the store holds stops here, saying which one it needs
        crate::services::schema::check(&*store.kv).await?;
        let (cache, limiter, session_kv): (Arc<dyn Cache>, Arc<dyn RateLimiter>, Arc<dyn KeyValueStore>) = match &config.redis_url {
            Some(url) => {
                let redis = Arc::new(RedisCache::connect(url, &config.redis_prefix).await.map_err(|e| format!("Redis: {e}"))?);
                // hot keys from memory for 2 s; sessions fall back to the store while Redis is away
                let tiered: Arc<dyn Cache> = Arc::new(crate::infra::tiered_cache::TieredCache::new(redis.clone(), 64 * 1024 * 1024, std::time::Duration::from_secs(2)));
                let sessions: Arc<dyn KeyValueStore> = Arc::new(crate::infra::sessions::FallbackKv::new(redis.clone(), store.kv.clone()));
                let limiter: Arc<dyn RateLimiter> = Arc::new(crate::infra::limiter::FallbackLimiter::new(redis, Arc::new(MemoryCache::new(16 * 1024 * 1024))));
                (tiered, limiter, sessions)
            }
            None => {
                let memory = Arc::new(MemoryCache::new(256 * 1024 * 1024));
                (memory.clone(), memory, store.kv.clone())
            }
        };
        // never in the store (nor in a backup): the environment, or its own private file
        let keys = crate::infra::keys::load(config.jwt_secret.as_deref(), config.jwt_secret_previous.as_deref(), &config.data_dir, &*store.kv).await?;
        if config.jwt_secret.is_none() && config.mongodb_uri.is_some() {
            tracing::warn!(file = %keys.source, "the token-signing key is kept in this instance's data directory: instances sharing this MongoDB need the same VITRINA_JWT_SECRET");
        }
        let secret = keys.current.clone();
        let accounts = AccountService::new(store.users.clone(), store.tokens.clone(), Arc::new(Argon2Hasher), Arc::new(JwtSigner::from_keys(&keys)), config.access_token_ttl);
        let images: Arc<dyn ImageStore> = match &config.s3_bucket {
            Some(bucket) => Arc::new(
                crate::infra::s3_images::S3ImageStore::connect(bucket, config.s3_endpoint.as_deref(), config.s3_public_url.as_deref())
                    .await
                    .map_err(|e| format!("S3: {e}"))?,
            ),
            None => Arc::new(FsImageStore::new(config.data_dir.join("images"), "/media")),
        };
        let cache_kind = cache.kind();
        let index: Arc<dyn crate::ports::SearchIndex> = Arc::new(crate::infra::search::RoaringIndex::new());
        let audit = crate::services::audit::AuditLog::new(store.audit.clone());
        // how catalog changes reach every instance: a Redis stream, or (one instance) in-process
        let feed: Arc<dyn crate::ports::ChangeFeed> = match &config.redis_url {
            Some(url) => Arc::new(crate::infra::change_feed::RedisFeed::new(url, &config.redis_prefix).map_err(|e| format!("Redis: {e}"))?),
            None => Arc::new(crate::infra::change_feed::LocalFeed::default()),
        };
        let promotions = crate::services::promotions::Promotions::new(store.promotions.clone(), config.rules.pricing)
            .with_audit(audit.clone())
            .with_users(store.users.clone())
            .with_feed(feed.clone());
        let carts = CartService::new(store.carts.clone(), store.catalog.clone(), store.inventory.clone(), config.rules).with_index(index.clone()).with_promotions(promotions.clone());
        let catalog = CatalogService::new(store.catalog.clone(), cache.clone(), config.cache_ttl)
            .with_inventory(store.inventory.clone())
            .with_index(index)
            .with_images(images.clone())
            .with_promotions(promotions.clone())
            .with_feed(feed);
        let recommend = crate::services::recommend::Recommender::new(catalog.clone(), store.recommend.clone(), cache, if config.cache_ttl.is_zero() { config.cache_ttl } else { config.cache_ttl.max(std::time::Duration::from_secs(30)) }).with_limiter(limiter.clone()).with_audit(audit.clone());
        let mut orders = OrderService::new(store.orders.clone(), store.inventory.clone(), store.catalog.clone(), carts.clone())
            .with_popularity(catalog.clone())
            .with_guest_key(&secret)
            .with_payments(config.payments.clone())
            .with_audit(audit.clone());
        if let Some((previous, until)) = &keys.previous {
            orders = orders.with_previous_guest_key(previous, *until);
        }
        if let Some(stripe) = &config.stripe {
            orders = orders.with_card(Arc::new(crate::infra::stripe::StripeGateway::new(stripe.clone())?));
        }
        let invoicing = {
            let inv = &config.invoicing;
            let stores = crate::services::invoices::InvoicingStores { docs: store.documents.clone(), orders: store.orders.clone(), catalog: store.catalog.clone(), kv: store.kv.clone(), outbox: store.outbox.clone() };
            let mut invoicing = crate::services::invoices::Invoicing::new(stores, Arc::new(crate::infra::pdf::PdfRenderer), &inv.series, inv.seller.clone())
                .with_registry(Arc::new(crate::infra::anaf::AnafRegistry::new(&inv.vat_register_url)?))
                .with_audit(audit.clone());
            if let (Some(id), Some(secret)) = (&inv.efactura.client_id, &inv.efactura.client_secret) {
                let gateway = crate::infra::anaf::AnafEfactura::new(&inv.efactura.api_url, &inv.efactura.token_url, id, secret)?;
                invoicing = invoicing.with_efactura(Arc::new(gateway), &inv.efactura.environment, inv.efactura.refresh_token.clone());
            }
            invoicing
        };
        let document_tasks: crate::services::notify::TaskRunner = {
            let invoicing = invoicing.clone();
            Arc::new(move |topic: String, data: serde_json::Value| {
                let invoicing = invoicing.clone();
                Box::pin(async move { invoicing.run_task(&topic, &data).await.map_err(|e| e.to_string()) })
            })
        };
        orders = orders.with_document_tasks(document_tasks.clone());
        let mailer: Arc<dyn crate::ports::Mailer> = match &config.notify.smtp_url {
            Some(url) => Arc::new(crate::infra::mail::SmtpMailer::new(url, &config.notify.from)?),
            None => Arc::new(crate::infra::mail::FileMailer::new(config.data_dir.join("mail"), &config.notify.from)?),
        };
        let notify = {
            let links = orders.clone();
            let mailer = mailer.clone();
            let settings = crate::services::notify::NotifySettings {
                shop: "Vitrina".into(),
                public_url: config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.addr)),
                admin_emails: config.notify.alert_emails.clone(),
                low_stock: config.notify.low_stock,
                schedule: config.notify.retry.clone(),
                bank: config.payments.bank_account.clone(),
                transfer_days: config.payments.transfer_days,
            };
            crate::services::notify::Notifier::new(
                store.outbox.clone(),
                store.users.clone(),
                store.inventory.clone(),
                store.catalog.clone(),
                mailer,
                Arc::new(crate::infra::mail_templates::JinjaTemplates::new()?),
                Arc::new(crate::infra::webhooks::HttpHooks::new(config.notify.strict_hooks)),
                settings,
                &crate::services::digest::hmac_sha256(b"vitrina password reset", &secret),
                Arc::new(move |id: &str| links.guest_token(id)),
            )
        };
        let notify = {
            let orders = orders.clone();
            notify.with_tasks(
                Arc::new(move |topic: String, data: serde_json::Value| {
                    let orders = orders.clone();
                    let documents = document_tasks.clone();
                    Box::pin(async move {
                        if crate::domain::outbox::tasks::is_document_task(&topic) {
                            documents(topic, data).await
                        } else {
                            orders.run_task(&topic, &data).await.map_err(|e| e.to_string())
                        }
                    })
                }),
                store.documents.clone(),
            )
        };
        let accounts = accounts.with_notifier(store.kv.clone(), notify.clone(), &crate::services::digest::hmac_sha256(b"vitrina password reset", &secret));
        let admin = crate::services::admin::AdminCatalog::new(catalog.clone(), store.inventory.clone(), store.orders.clone(), audit.clone())
            .with_notifier(notify.clone())
            .with_images(images.clone(), Arc::new(crate::infra::thumbnails::ImageThumbnailer));
        let backups = crate::services::backup_log::BackupLog::new(store.kv.clone(), config.backup_retention_days);
        let desk = crate::services::admin::AdminDesk::new(accounts.clone(), store.users.clone(), orders.clone(), store.orders.clone(), store.inventory.clone(), store.catalog.clone(), audit.clone()).with_backups(backups.clone());
        let privacy = crate::services::privacy::Privacy::new(
            crate::services::privacy::PrivacyStores {
                users: store.users.clone(),
                tokens: store.tokens.clone(),
                orders: store.orders.clone(),
                carts: store.carts.clone(),
                outbox: store.outbox.clone(),
                audit: store.audit.clone(),
            },
            audit.clone(),
            mailer,
        )
        .with_backups(backups)
        .with_hasher(Arc::new(Argon2Hasher));
        let backends = Backends { catalog: store.catalog.clone(), users: store.users.clone(), orders: store.orders.clone(), images, inventory: store.inventory.clone() };
        let app = Self(Arc::new(App {
            catalog,
            admin,
            desk,
            audit,
            accounts,
            carts,
            orders,
            limits: crate::services::limits::RateLimits::new(limiter),
            notify,
            recommend,
            promotions,
            privacy,
            invoicing,
            session_layer: session_layer(KvSessionStore::new(session_kv), config),
            config: Arc::new(config.clone()),
            store_kind,
            cache_kind,
            lifecycle: Arc::default(),
        }));
        Ok((app, backends))
    }
}

fn session_layer(store: KvSessionStore, config: &Config) -> tower_sessions::SessionManagerLayer<KvSessionStore> {
    use tower_sessions::{cookie::SameSite, Expiry};
    // over https the `__Host-` prefix pins the cookie to this host and path `/`, Secure
    let name = if config.secure_cookies() { "__Host-vitrina_session" } else { "vitrina_session" };
    tower_sessions::SessionManagerLayer::new(store)
        .with_name(name)
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::days(14)))
}
