//! Traits the services need. Adapters in `infra` implement them; only the
//! composition root (`state.rs`) names an adapter.
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::category::Category;
use crate::domain::product::Product;
use crate::domain::query::{CatalogQuery, SearchResult};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

/// The product catalog's persistence. Both the MongoDB and the embedded
/// (SQLite) adapter pass the same contract tests (`tests/contract`).
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Cheap round trip to the store (readiness probe).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Removes every product, category and inventory record (`seed --reset`, tests).
    async fn reset(&self) -> Result<(), StoreError>;
    /// Inserts or replaces products by id. A slug or SKU already used by
    /// another product is a `Conflict`. A SKU seen for the first time gets
    /// its variant's stock in the inventory; a known SKU keeps its inventory
    /// (orders may have taken some), and the stored snapshot shows it.
    async fn upsert_products(&self, products: &[Product]) -> Result<(), StoreError>;
    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>, StoreError>;
    async fn product_by_id(&self, id: &str) -> Result<Option<Product>, StoreError>;
    /// Active products matching the query: one page, the total, and facets
    /// (see `domain::query::assemble_facets`).
    async fn search(&self, query: &CatalogQuery) -> Result<SearchResult, StoreError>;
    /// Number of products of any status.
    async fn count_products(&self) -> Result<u64, StoreError>;
    async fn upsert_categories(&self, categories: &[Category]) -> Result<(), StoreError>;
    async fn categories(&self) -> Result<Vec<Category>, StoreError>;
    /// Active products per exact category path.
    async fn active_counts_by_category(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Deletes a product (its inventory records stay for past orders). `false` if absent.
    async fn delete_product(&self, id: &str) -> Result<bool, StoreError>;
    /// Products having any of these SKUs (any status).
    async fn products_by_skus(&self, skus: &[String]) -> Result<Vec<Product>, StoreError>;
    /// The products with these ids (any status; unknown ids are left out).
    async fn products_by_ids(&self, ids: &[String]) -> Result<Vec<Product>, StoreError>;
    /// Copies current inventory into the products' stock snapshot (variant
    /// stock and `in_stock`, which listings read): eventually consistent.
    async fn sync_stock_snapshot(&self, product_ids: &[String]) -> Result<(), StoreError>;
    /// Products of any status in id order, after `after_id`, at most `limit`
    /// (a search index loads the whole catalog this way, page by page).
    async fn products_after(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<Product>, StoreError>;
    /// Rewrites, at this release's schema, the products after `after_id` (in
    /// id order, at most `limit` looked at) that an earlier schema stored; one
    /// written meanwhile is left as it is. Returns the last id looked at
    /// (`None` past the end) and how many were rewritten.
    async fn restamp_products(&self, after_id: Option<&str>, limit: u32) -> Result<(Option<String>, u32), StoreError>;
    /// Products written (created, replaced, stock snapshot changed) at or
    /// after `since` (epoch milliseconds of the writer's clock), oldest
    /// change first, at most `limit`, each with its change time.
    async fn products_changed_since(&self, since_ms: i64, limit: u32) -> Result<Vec<(i64, Product)>, StoreError>;
}

/// A search index over the catalog, held in memory by each instance and
/// kept current from the store's changes. Listings, search and facet
/// counts come from it; the store stays the source of truth. An external
/// engine (for catalogs beyond one machine's memory) would be another adapter.
pub trait SearchIndex: Send + Sync {
    /// True once a full build has finished.
    fn is_loaded(&self) -> bool;
    /// Starts a full rebuild; readers see the old index until it finishes.
    fn rebuild(&self) -> Box<dyn IndexBuild + '_>;
    /// Adds or replaces products; returns how many changed what the index holds.
    fn upsert(&self, products: &[Product]) -> usize;
    fn remove(&self, ids: &[String]);
    /// Products indexed (any status).
    fn len(&self) -> u64;
    /// Same contract as `CatalogStore::search`, with better text matching:
    /// diacritics folded, Romanian and English stems, typos and prefixes,
    /// ranked by relevance.
    fn search(&self, query: &CatalogQuery) -> SearchResult;
    /// Estimated heap size of the index.
    fn memory_bytes(&self) -> usize;
    /// The variants with these SKUs (any status), as last synchronised:
    /// carts read prices and names from memory, not from the store.
    fn skus(&self, skus: &[String]) -> Vec<crate::domain::product::SkuView>;
    /// What listings show of these products (any status; unknown ids are left out).
    fn summaries(&self, ids: &[String]) -> Vec<crate::domain::product::ProductSummary>;
    /// What `related` compares of a product (any status).
    fn profile(&self, id: &str) -> Option<crate::domain::recommend::Profile>;
    /// Active products of a category (its subcategories too), most popular first, at most `limit`.
    fn profiles_in(&self, category: &str, limit: usize) -> Vec<crate::domain::recommend::Profile>;
    /// The ids of every active product.
    fn active_ids(&self) -> Vec<String>;
    /// The id of the active product with this slug, as last synchronised.
    fn active_id_of(&self, slug: &str) -> Option<String>;
    /// A product's variants as last synchronised (any status; empty when unknown).
    fn variants_of(&self, id: &str) -> Vec<crate::domain::product::Variant>;
}

/// A full rebuild in progress: products are added page by page.
pub trait IndexBuild: Send {
    fn add(&mut self, products: &[Product]);
    fn finish(self: Box<Self>);
}

#[derive(Debug, thiserror::Error)]
#[error("cache error: {0}")]
pub struct CacheError(pub String);

/// A byte cache with named version counters (bumping a version invalidates
/// every key built with it, without scanning keys).
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    async fn version(&self, name: &str) -> Result<u64, CacheError>;
    async fn bump_version(&self, name: &str) -> Result<u64, CacheError>;
    /// Adds `by` to `member`'s score in a sorted set (popularity: views, sales).
    async fn incr_score(&self, set: &str, member: &str, by: f64) -> Result<(), CacheError>;
    /// The `n` highest-scored members, highest first.
    async fn top_scores(&self, set: &str, n: usize) -> Result<Vec<(String, f64)>, CacheError>;
    /// Removes a sorted set (an old week of trending counts).
    async fn drop_set(&self, set: &str) -> Result<(), CacheError>;
    fn kind(&self) -> &'static str;
}

/// A change to what shoppers see of the catalog, announced to every instance.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChangeNotice {
    /// Products written, their stock snapshot changed, or deleted (by id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// The promotions changed (sale prices anywhere may differ).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promotions: bool,
    /// Something wide (an import, a reset, new categories): everything is read again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

/// What a read of the change feed found.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedRead {
    /// The notices after the version asked for, in order, each with the catalog version it made.
    Notices(Vec<(u64, ChangeNotice)>),
    /// Notices after the version asked for are no longer kept (the channel
    /// restarted or trimmed them): the reader reads everything again, and
    /// goes on from this version.
    Gap(u64),
}

/// The channel every instance hears catalog changes on, in one order: each
/// notice makes the next catalog version. No clock is involved: a version is
/// a counter of the channel's, and a notice names what changed, so a reader
/// fetches it from the store.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Announces a change (after it is in the store); returns the catalog version it makes.
    async fn publish(&self, notice: &ChangeNotice) -> Result<u64, CacheError>;
    /// The notices after version `after`, waiting up to `wait` for one to come.
    async fn read(&self, after: u64, wait: Duration) -> Result<FeedRead, CacheError>;
    /// The newest version (where a reader that has read everything starts).
    async fn latest(&self) -> Result<u64, CacheError>;
    /// `redis` (every instance hears every change) or `local` (this instance only).
    fn kind(&self) -> &'static str;
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image store unavailable: {0}")]
    Unavailable(String),
    #[error("invalid image key")]
    InvalidKey,
}

/// Where product images live: local disk or S3.
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Stores bytes under a key such as `products/p-123/1.svg`; returns its public URL.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<String, ImageError>;
    /// Reads an image back (served by the app when there is no CDN).
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, ImageError>;
    async fn clear(&self) -> Result<(), ImageError>;
    fn public_url(&self, key: &str) -> String;
}

/// Image keys are `[a-z0-9-_./]`, relative, without `..`.
pub fn is_valid_image_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 300
        && !key.starts_with('/')
        && !key.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

// ------------------------------------------------------------------ accounts

use chrono::{DateTime, Utc};

use crate::domain::user::User;

/// Users in the store. E-mail uniqueness is case-insensitive (`User::email_key`).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// A user whose e-mail key is taken is a `Conflict`.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Writes the fields `patch` sets, only where its guards still hold
    /// (`false`: the user changed meanwhile, or is not there); never the whole
    /// user. An e-mail another user has is a `Conflict`.
    async fn update_user(&self, id: &str, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// Looks up by the lower-cased e-mail.
    async fn user_by_email(&self, email_key: &str) -> Result<Option<User>, StoreError>;
    /// Users whose e-mail or name contains `search` (case-insensitive), newest first.
    async fn list_users(&self, search: Option<&str>, offset: u64, limit: u64) -> Result<(Vec<User>, u64), StoreError>;
    /// The users with these ids, in one read (unknown ids are left out; any order).
    async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>, StoreError>;
    /// After an erasure: data just overwritten or deleted leaves the store's
    /// files too, not only its tables (the embedded store zeroes freed space
    /// and checkpoints its write-ahead log). Nothing to do where the server
    /// manages its own files.
    async fn purge_erased(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A refresh token as stored: only its SHA-256 hash, never the token.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRecord {
    pub token_hash: String,
    pub family_id: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Consumed {
    /// First use: the token is now spent.
    Fresh(RefreshRecord),
    /// Already spent before: a replay. The caller revokes the family.
    Reused(RefreshRecord),
    /// No such token.
    Unknown,
}

/// Refresh-token families: each login starts one; each refresh rotates the
/// token inside it; a replayed token revokes the whole family.
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn create_family(&self, family_id: &str, user_id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    async fn insert_refresh(&self, record: &RefreshRecord) -> Result<(), StoreError>;
    /// Atomically marks the token used (exactly one caller gets `Fresh`).
    async fn consume_refresh(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Consumed, StoreError>;
    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    async fn revoke_user_families(&self, user_id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The user a family belongs to, while it is active (`None` when revoked or unknown).
    async fn active_family_owner(&self, family_id: &str) -> Result<Option<String>, StoreError>;
    /// An active family's owner with the owner's record (none when the user
    /// is gone): what every bearer request checks, in one round-trip where
    /// the store can (SQLite).
    async fn active_family_user(&self, family_id: &str) -> Result<Option<(String, Option<crate::domain::user::User>)>, StoreError>;
    /// The user a refresh token was issued to, without using the token up.
    async fn refresh_owner(&self, token_hash: &str) -> Result<Option<String>, StoreError>;
}

/// Small values with an optional expiry, by namespace and key: browser
/// sessions, settings such as the token-signing key.
#[async_trait]
pub trait KeyValueStore: Send + Sync {
    /// `None` when absent or expired.
    async fn kv_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn kv_put(&self, ns: &str, key: &str, value: &[u8], expires_at: Option<DateTime<Utc>>) -> Result<(), StoreError>;
    async fn kv_delete(&self, ns: &str, key: &str) -> Result<(), StoreError>;
    /// Stores `value` unless the key exists; returns what is stored (the
    /// first writer wins, so every instance agrees).
    async fn kv_put_if_absent(&self, ns: &str, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Hits so far in the current window, this one included.
    pub count: u64,
    /// When the window ends.
    pub retry_after: Duration,
}

/// Fixed-window counters: `hit` counts one event for `key`.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<RateDecision, CacheError>;
}

/// Password hashing (argon2id in production).
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &str) -> Result<String, String>;
    async fn verify(&self, password: &str, hash: &str) -> bool;
}

/// Claims of a short-lived access token.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub role: crate::domain::user::Role,
    /// Refresh-token family the token was issued in.
    pub fam: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Signs and verifies access tokens (JWT).
pub trait TokenSigner: Send + Sync {
    fn sign(&self, claims: &AccessClaims) -> Result<String, String>;
    /// Verifies signature and expiry.
    fn verify(&self, token: &str) -> Result<AccessClaims, String>;
}

// ------------------------------------------------------------------ carts, stock, orders

use crate::domain::order::{Cart, CartEdit, CartRefusal, Order, OrderStatus};

/// Stock per SKU, the source of truth for availability. Each order's
/// reservation is recorded on the SKU's own record in the same atomic
/// update as the decrement, so every step is idempotent and a crashed
/// placement can be undone exactly.
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// Current stock of each known SKU.
    async fn stock_levels(&self, skus: &[String]) -> Result<std::collections::BTreeMap<String, i64>, StoreError>;
    /// Takes `qty` for `order_id` if at least that much is in stock (stock never
    /// goes negative). Repeating a reservation that succeeded is `Reserved`.
    async fn reserve(&self, order_id: &str, sku: &str, qty: i64) -> Result<Reservation, StoreError>;
    /// Gives back what `order_id` holds of `sku` (nothing if it holds nothing).
    async fn release(&self, order_id: &str, sku: &str) -> Result<(), StoreError>;
    /// Keeps what `order_id` holds: the hold marker goes, the stock stays taken.
    async fn commit(&self, order_id: &str, sku: &str) -> Result<(), StoreError>;
    /// Returns `qty` for a cancelled order, once per (order, SKU).
    async fn restock(&self, order_id: &str, sku: &str, qty: i64) -> Result<(), StoreError>;
    /// Sets the stock of a SKU (admin).
    async fn set_stock(&self, sku: &str, stock: i64) -> Result<(), StoreError>;
    /// Sets the stock of a SKU only if it is still `expected` (one atomic,
    /// guarded write); `false` when it moved (an order took some meanwhile).
    async fn set_stock_if(&self, sku: &str, expected: i64, stock: i64) -> Result<bool, StoreError>;
    /// SKUs whose stock is at most `threshold`, lowest first (ties by SKU), at most `limit`.
    async fn low_stock(&self, threshold: i64, limit: u64) -> Result<Vec<StockLevel>, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevel {
    pub sku: String,
    pub product_id: String,
    pub stock: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    Short { available: i64 },
    UnknownSku,
}

#[async_trait]
pub trait CartStore: Send + Sync {
    async fn cart(&self, owner: &str) -> Result<Option<Cart>, StoreError>;
    /// Saves `cart` if the stored version is `cart.version - 1` (absent when
    /// `cart.version == 1`); otherwise `Conflict` (someone saved in between).
    async fn save_cart(&self, cart: &Cart) -> Result<(), StoreError>;
    async fn delete_cart(&self, owner: &str) -> Result<(), StoreError>;
    /// Applies `edit` to the stored cart (an empty one when there is none)
    /// and returns the cart as saved; a refused edit saves nothing. Stores
    /// that can read and write in one round-trip do (SQLite); this default
    /// retries a versioned save when another request saved in between.
    async fn edit_cart(&self, owner: &str, edit: &CartEdit) -> Result<Result<Cart, CartRefusal>, StoreError> {
        for _ in 0..5 {
            let mut cart = self.cart(owner).await?.unwrap_or_else(|| Cart::empty(owner));
            if let Err(refused) = cart.apply(edit) {
                return Ok(Err(refused));
            }
            match self.save_cart(&cart).await {
                Ok(()) => return Ok(Ok(cart)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Unavailable("the cart is changing too fast; try again".into()))
    }
}

/// Which orders a list shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilter {
    pub user_id: Option<String>,
    pub status: Option<OrderStatus>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// Placed by a guest with this e-mail (lower-case).
    pub guest_email: Option<String>,
    /// With a return the shop still has to handle.
    pub with_open_returns: bool,
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    /// 1, 2, 3… shared by every instance.
    async fn next_order_number(&self) -> Result<u64, StoreError>;
    /// `Conflict` when the user already has an order with that idempotency key.
    async fn insert_order(&self, order: &Order) -> Result<(), StoreError>;
    async fn order_by_id(&self, id: &str) -> Result<Option<Order>, StoreError>;
    async fn order_by_idempotency_key(&self, user_id: &str, key: &str) -> Result<Option<Order>, StoreError>;
    /// Writes the fields `patch` sets, in one atomic update, only where its
    /// guards still hold (`false`: the order changed meanwhile, or is not
    /// there); never the whole order. `events` (outbox entries announcing the
    /// change) are stored with it, atomically: both or neither.
    async fn update_order(&self, id: &str, patch: &crate::domain::patch::Patch, events: &[crate::domain::outbox::OutboxEntry]) -> Result<bool, StoreError>;
    /// Deletes the order only if its stored status is still `expected`.
    async fn delete_order_if(&self, id: &str, expected: OrderStatus) -> Result<bool, StoreError>;
    /// Orders (never `pending` ones) matching the filter, newest first, and their count.
    async fn list_orders(&self, filter: &OrderFilter, offset: u64, limit: u64) -> Result<(Vec<Order>, u64), StoreError>;
    /// How many open orders (awaiting payment or placed) the user has,
    /// counting no further than `at_most`: the check at checkout reads a
    /// handful of keys, never a count over every order.
    async fn open_orders(&self, user_id: &str, at_most: u64) -> Result<u64, StoreError>;
    /// Records that these products were ordered (they are archived, never destroyed).
    async fn mark_ordered(&self, product_ids: &[String]) -> Result<(), StoreError>;
    async fn was_ordered(&self, product_id: &str) -> Result<bool, StoreError>;
    /// `pending` orders created before `before` (placements that died half-way).
    async fn stale_pending_orders(&self, before: DateTime<Utc>) -> Result<Vec<Order>, StoreError>;
}

// ------------------------------------------------------------------ audit log

use crate::domain::audit::{AuditEntry, AuditFilter};

/// Append-only log of admin actions.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Entries matching the filter (`AuditFilter::matches`), newest first (ties by id), and their count.
    async fn list_audit(&self, filter: &AuditFilter, offset: u64, limit: u64) -> Result<(Vec<AuditEntry>, u64), StoreError>;
    /// Blanks what entries about any of `targets` recorded (summary, before,
    /// after), keeping who did what and when. Returns how many.
    async fn redact_audit(&self, targets: &[String]) -> Result<u64, StoreError>;
}

/// Makes the small pictures listing cards show.
pub trait Thumbnailer: Send + Sync {
    /// A JPEG at most `max_side` pixels wide and high, or `None` when the
    /// bytes cannot be decoded (the original is shown instead).
    fn thumbnail(&self, bytes: &[u8], max_side: u32) -> Option<Vec<u8>>;
    /// Width and height as the file's header declares them, read without
    /// decoding the pixels (`None` when unknown).
    fn dimensions(&self, bytes: &[u8]) -> Option<(u32, u32)>;
}

use crate::domain::payment::{CardEvent, CardIntent};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A webhook whose signature does not verify (or is too old to trust).
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The provider refused the request (a 4xx): retrying will not help.
    #[error("refused by the payment provider: {0}")]
    Refused(String),
    /// The provider could not be reached or failed (a 5xx, a timeout).
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// Card payments at a provider (Stripe PaymentIntents).
#[async_trait]
pub trait CardGateway: Send + Sync {
    /// What the browser's card form needs: the publishable key and the provider's script.
    fn publishable_key(&self) -> &str;
    fn script_url(&self) -> &str;
    /// A payment of `amount_cents` for the order. Idempotent per order: asking
    /// again for the same order gives the same payment.
    async fn create_intent(&self, order_id: &str, order_number: &str, amount_cents: i64, currency: &str) -> Result<CardIntent, GatewayError>;
    async fn intent(&self, id: &str) -> Result<CardIntent, GatewayError>;
    /// Cancels a payment that has not succeeded (it can no longer be paid).
    async fn cancel_intent(&self, id: &str) -> Result<CardIntent, GatewayError>;
    /// Gives back `amount_cents` of a succeeded payment; `key` makes a retry of
    /// the same refund harmless, and names it at the provider (`refund_state`).
    async fn refund(&self, intent_id: &str, amount_cents: i64, reason: &str, key: &str) -> Result<(), GatewayError>;
    /// What the provider did with the refund made under `key`.
    async fn refund_state(&self, intent_id: &str, key: &str) -> Result<crate::domain::payment::RefundState, GatewayError>;
    /// Checks a webhook's signature over its raw body (`now` in Unix seconds) and reads the event.
    fn verify_event(&self, body: &[u8], signature: &str, now: i64) -> Result<CardEvent, GatewayError>;
}

// ------------------------------------------------------------------ outbox

use crate::domain::outbox::{Endpoint, EntryKind, EntryStatus, OutboxEntry};

/// Which outbox entries a list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxFilter {
    pub status: Option<EntryStatus>,
    pub kind: Option<EntryKind>,
    /// Deliveries to this target (an endpoint's id, an address).
    pub target: Option<String>,
}

/// Messages waiting to go out, written with the change they announce.
/// Order writes carry their entries themselves (`OrderStore::update_order_if`):
/// the embedded store inserts them in the order's transaction; MongoDB keeps
/// them on the order's document and moves them here by id (see `settle_outbox`).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Adds entries; an id already present is left as it is (so a repeated
    /// enqueue of the same change adds nothing).
    async fn enqueue(&self, entries: &[OutboxEntry]) -> Result<(), StoreError>;
    /// Claims up to `limit` pending entries due at `now` for `worker`, for
    /// `lease`: no other worker gets them until the lease ends. Atomic per entry.
    async fn claim(&self, worker: &str, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Stores the outcome of a claimed entry; `false` when the claim was lost
    /// (the lease ended and another worker took it).
    async fn finish(&self, worker: &str, entry: &OutboxEntry) -> Result<bool, StoreError>;
    /// Replaces an entry whatever its claim (an admin's retry).
    async fn put_entry(&self, entry: &OutboxEntry) -> Result<(), StoreError>;
    async fn entry(&self, id: &str) -> Result<Option<OutboxEntry>, StoreError>;
    /// Newest first, and the count.
    async fn list_entries(&self, filter: &OutboxFilter, offset: u64, limit: u64) -> Result<(Vec<OutboxEntry>, u64), StoreError>;
    /// Moves entries a crash left on order documents into the outbox (MongoDB;
    /// nothing to do for a store that writes both in one transaction). Returns how many.
    async fn settle_outbox(&self) -> Result<usize, StoreError>;
    /// Stores a new endpoint (or replaces one by id: a restore, a test's setup).
    async fn save_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError>;
    /// Writes the fields `patch` sets on an existing endpoint, only where its
    /// guards hold: `false` when it changed meanwhile or was deleted (a
    /// deleted endpoint never comes back).
    async fn update_endpoint(&self, id: &str, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError>;
    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError>;
    async fn delete_endpoint(&self, id: &str) -> Result<bool, StoreError>;
    /// Removes the entries addressed to any of `targets` (e-mail addresses) or
    /// whose payload mentions any of `mentions` (order ids): what an erased
    /// customer's mails and their orders' events held. Returns how many.
    async fn erase_entries(&self, targets: &[String], mentions: &[String]) -> Result<u64, StoreError>;
}

/// A message ready to send: rendered, addressed, with a stable id.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    /// Becomes the `Message-ID` (the same on every retry, so a receiver can drop duplicates).
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Files sent with it (an invoice's PDF).
    pub attachments: Vec<MailAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

pub use crate::domain::outbox::StoredMail;

/// Sends mail: SMTP in production, `.eml` files in the embedded mode.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), String>;
    /// Removes kept copies of mail sent to any of `addresses` (the embedded
    /// mailbox); a relay that keeps none (SMTP) has nothing to do. Returns how many.
    async fn forget(&self, addresses: &[String]) -> Result<u64, String> {
        let _ = addresses;
        Ok(0)
    }
    fn kind(&self) -> &'static str;
    /// What was sent, newest first, when the mailer keeps it (the embedded mode's files).
    async fn mailbox(&self, _limit: usize) -> Option<Vec<StoredMail>> {
        None
    }
}

/// Renders a mail template (`subject`, text and HTML) in a language.
pub trait MailTemplates: Send + Sync {
    fn render(&self, template: &str, lang: &str, context: &serde_json::Value) -> Result<(String, String, String), String>;
}

/// What a webhook endpoint answered.
#[derive(Debug, Clone, PartialEq)]
pub struct HookAnswer {
    /// `None`: no answer (timeout, refused connection, blocked address).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the body, or what went wrong.
    pub note: String,
}

/// POSTs webhook bodies to partner URLs, refusing private addresses where
/// the configuration says so (checked after resolving the name).
#[async_trait]
pub trait HookClient: Send + Sync {
    async fn post(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> HookAnswer;
    /// Whether the URL may be registered (scheme, host) — the address check
    /// happens per call. The refusal is a reason code: `not-a-url`,
    /// `credentials`, `https-only`, `http-loopback-only`, `private`.
    fn check_url(&self, url: &str) -> Result<(), String>;
}

// ------------------------------------------------------------------ recommendations

use crate::domain::recommend::{Basket, RecommendSettings, Scored};

/// The product-to-product table the recommendation job builds, the orders
/// it reads, and what admins pinned or excluded.
#[async_trait]
pub trait RecommendStore: Send + Sync {
    /// Orders that count (placed and later, never pending, cancelled or
    /// expired) as baskets, in id order after `after`, at most `limit`.
    async fn baskets_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<Basket>, StoreError>;
    /// Writes products' complements (replacing each product's list), stamped `built_ms`.
    async fn put_complements(&self, built_ms: i64, rows: &[(String, Vec<Scored>)]) -> Result<(), StoreError>;
    /// Removes lists stamped before `built_ms` (products that have none any more). Returns how many.
    async fn drop_complements_before(&self, built_ms: i64) -> Result<u64, StoreError>;
    /// A product's complements, best first (empty when it has none).
    async fn complements(&self, product_id: &str) -> Result<Vec<Scored>, StoreError>;
    /// Every product's complements (the table pages read from memory).
    async fn all_complements(&self) -> Result<Vec<(String, Vec<Scored>)>, StoreError>;
    /// Every product's settings that differ from the default (a small set).
    async fn recommend_settings(&self) -> Result<Vec<RecommendSettings>, StoreError>;
    /// Saves a product's settings (the default removes them).
    async fn save_recommend_settings(&self, settings: &RecommendSettings) -> Result<(), StoreError>;
}

use crate::domain::promotion::Promotion;

/// One order's use of one promotion, as counted against its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub promotion_id: String,
    pub order_id: String,
    /// Who placed the order (a user id, or a guest's id from the e-mail).
    pub customer: String,
    /// The order's total (for the revenue the panel shows).
    pub total_cents: i64,
    pub discount_cents: i64,
}

/// What counting a use came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeemed {
    /// Counted (or already counted for this order: a replay).
    Counted,
    /// The promotion's global limit is reached.
    UsedUp,
    /// This customer's limit is reached.
    UsedUpByCustomer,
}

/// A promotion's counted uses (orders not cancelled or expired) and their revenue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromotionUsage {
    pub redemptions: i64,
    pub revenue_cents: i64,
}

/// Promotions and their uses. Counting a use is a guarded write that fails
/// past the limit (per promotion and per customer), like reserving stock.
#[async_trait]
pub trait PromotionStore: Send + Sync {
    /// `Conflict` when another promotion has the same code.
    async fn insert_promotion(&self, p: &Promotion) -> Result<(), StoreError>;
    /// Writes the fields `patch` sets, only where its guards hold; `false`
    /// when there is no such promotion (or it changed meanwhile). `Conflict`
    /// on a taken code.
    async fn update_promotion(&self, id: &str, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError>;
    /// Every promotion, newest first.
    async fn promotions(&self) -> Result<Vec<Promotion>, StoreError>;
    async fn promotion_by_id(&self, id: &str) -> Result<Option<Promotion>, StoreError>;
    /// By its code, as stored (normalized: upper-case).
    async fn promotion_by_code(&self, code: &str) -> Result<Option<Promotion>, StoreError>;
    /// Counts one use by `r.order_id` if under `usage_limit` (all customers)
    /// and `per_customer_limit` (this customer); `None` is no limit. Counting
    /// the same order and promotion twice counts once.
    async fn redeem(&self, r: &Redemption, usage_limit: Option<i64>, per_customer_limit: Option<i64>) -> Result<Redeemed, StoreError>;
    /// Gives back every use `order_id` holds (once). Returns how many.
    async fn release_redemptions(&self, order_id: &str) -> Result<u64, StoreError>;
    /// Uses counted now: by everyone, and by `customer`.
    async fn promotion_uses(&self, promotion_id: &str, customer: Option<&str>) -> Result<(i64, i64), StoreError>;
    /// Counted uses and revenue of every promotion that has any, by id.
    async fn promotion_usage(&self) -> Result<std::collections::HashMap<String, PromotionUsage>, StoreError>;
}

// ------------------------------------------------------------------ fiscal documents

use crate::domain::invoice::{DocKind, Document, Efactura, EfacturaState};

/// Which documents a list shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentFilter {
    pub order_id: Option<String>,
    pub kind: Option<DocKind>,
    /// In one of these e-Factura states (empty: any).
    pub efactura: Vec<EfacturaState>,
    /// Issued before.
    pub issued_before: Option<DateTime<Utc>>,
}

/// A document's stored files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFile {
    Pdf,
    Xml,
    /// ANAF's signed answer (a ZIP), once it is in.
    Answer,
}

/// What storing a new document came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// Stored under its number.
    Stored,
    /// Its number is taken in its series (another writer was first): take the next.
    NumberTaken,
    /// The same order already has this document (kind and reference): here it is.
    Exists(Document),
}

/// Invoices and credit notes. Numbers are gapless per series: a number is
/// used only by a stored document (unique per series), and a document is
/// unique per order, kind and reference.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// The highest number stored in `series` (0 when none).
    async fn last_number(&self, series: &str) -> Result<u64, StoreError>;
    /// Stores a new document under its number, without its files yet.
    async fn claim_document(&self, doc: &Document) -> Result<Claimed, StoreError>;
    /// Writes a document's PDF and XML, once (`false`: they were there).
    async fn put_files(&self, id: &str, xml: &str, pdf: &[u8]) -> Result<bool, StoreError>;
    async fn document(&self, id: &str) -> Result<Option<Document>, StoreError>;
    async fn document_for(&self, order_id: &str, kind: DocKind, reference: &str) -> Result<Option<Document>, StoreError>;
    /// Newest first (by number), and the count.
    async fn documents(&self, filter: &DocumentFilter, offset: u64, limit: u64) -> Result<(Vec<Document>, u64), StoreError>;
    async fn document_file(&self, id: &str, file: DocFile) -> Result<Option<Vec<u8>>, StoreError>;
    /// Records the e-Factura state (and ANAF's answer), only while it is still `expected`.
    async fn update_efactura(&self, id: &str, expected: EfacturaState, efactura: &Efactura, answer: Option<&[u8]>) -> Result<bool, StoreError>;
    /// A document ANAF refused, made again under its number (version + 1), its files
    /// replaced; only while it is still refused at the version read.
    async fn replace_refused(&self, doc: &Document, xml: &str, pdf: &[u8]) -> Result<bool, StoreError>;
}

/// Renders a document for people: an A4 PDF.
pub trait DocumentRenderer: Send + Sync {
    fn pdf(&self, doc: &Document) -> Result<Vec<u8>, String>;
}

/// ANAF's public register of VAT payers (`PlatitorTvaRest`).
#[async_trait]
pub trait CompanyRegistry: Send + Sync {
    /// What the register says about a CUI (`None`: not found). `Err`: the register is unreachable.
    async fn lookup(&self, cui: &str) -> Result<Option<crate::domain::billing::CompanyInfo>, String>;
}

/// A token grant from ANAF's OAuth2 server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_expires_at: DateTime<Utc>,
}

/// What an e-Factura call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EfacturaError {
    /// The refresh token was refused (used, expired, revoked): a new one is needed.
    TokenRefused(String),
    /// ANAF refused the request itself (its message).
    Refused(String),
    /// Not reachable, or an answer not understood: try again later.
    Unavailable(String),
}

impl std::fmt::Display for EfacturaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EfacturaError::TokenRefused(m) => write!(f, "ANAF refused the refresh token: {m}"),
            EfacturaError::Refused(m) => write!(f, "ANAF refused the request: {m}"),
            EfacturaError::Unavailable(m) => write!(f, "e-Factura unavailable: {m}"),
        }
    }
}

/// Where an uploaded message stands (`stareMesaj`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageState {
    /// `in prelucrare`.
    Processing,
    /// `ok`: the answer to download.
    Accepted { download_id: String },
    /// `nok`: the errors to download.
    Refused { download_id: String },
    /// `XML cu erori nepreluat de sistem`, or ANAF's error about the message.
    Failed(String),
}

/// ANAF's RO e-Factura API.
#[async_trait]
pub trait EfacturaGateway: Send + Sync {
    /// Trades a refresh token for an access token and the next refresh token.
    async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, EfacturaError>;
    /// Uploads a document (`upload` for companies, `uploadb2c` for persons); returns `index_incarcare`.
    async fn upload(&self, access_token: &str, xml: &str, credit_note: bool, seller_cui: &str, to_person: bool) -> Result<String, EfacturaError>;
    async fn status(&self, access_token: &str, upload_id: &str) -> Result<MessageState, EfacturaError>;
    /// The answer ZIP (the signed document, or ANAF's errors).
    async fn download(&self, access_token: &str, download_id: &str) -> Result<Vec<u8>, EfacturaError>;
    /// The `nok` errors an answer ZIP lists.
    fn answer_errors(&self, zip: &[u8]) -> Vec<String>;
}
