//! Moving a shop between the embedded store and MongoDB: every stored
//! record in one form neither store owns. A store adapter reads its own
//! layout into [`Record`]s (the embedded store with SQL, MongoDB from the
//! documents of a backup) and writes `Record`s into its own layout, with the
//! query fields and indexes its writes keep. `vitrina restore` uses it when
//! a backup of one kind of store is restored into the other.
//!
//! What is derived is rebuilt, not carried: product search and facet
//! tokens, the SKU index and the stock snapshot follow from the product
//! and the inventory; a claimed outbox entry is due again (its lease does
//! not move with it).
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::audit::AuditEntry;
use crate::domain::category::Category;
use crate::domain::order::{Cart, Order};
use crate::domain::outbox::{Endpoint, OutboxEntry};
use crate::domain::product::Product;
use crate::domain::promotion::Promotion;
use crate::domain::recommend::{RecommendSettings, Scored};
use crate::domain::user::User;

/// One stored record of either store.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Product(Product),
    Category(Category),
    User(User),
    TokenFamily { id: String, user_id: String, created_at: DateTime<Utc>, revoked_at: Option<DateTime<Utc>> },
    RefreshToken { token_hash: String, family_id: String, user_id: String, expires_at: DateTime<Utc>, used_at: Option<DateTime<Utc>> },
    /// Sessions, the dashboard's records and other small values.
    Value { ns: String, key: String, value: Vec<u8>, expires_at: Option<DateTime<Utc>> },
    /// One SKU's stock, with what pending orders hold and what returns gave back.
    Stock { sku: String, product_id: String, stock: i64, holds: BTreeMap<String, i64>, returns: BTreeMap<String, i64> },
    Cart(Cart),
    Order(Order),
    /// A product ordered at least once (archived rather than deleted).
    Ordered { product_id: String },
    /// A sequence, such as the order numbers.
    Counter { name: String, n: i64 },
    Audit(AuditEntry),
    Outbox(OutboxEntry),
    Endpoint(Endpoint),
    Complements { product_id: String, built_ms: i64, items: Vec<Scored> },
    RecommendSettings(RecommendSettings),
    Promotion(Promotion),
    /// Uses counted against a limit: `<promotion id>` or `<promotion id> <customer>`.
    PromotionCount { key: String, used: i64 },
    Redemption { order_id: String, promotion_id: String, customer: String, total_cents: i64, discount_cents: i64, counted: Vec<String>, released: bool },
}

impl Record {
    /// What the record is, for reports: the embedded store's table name.
    pub fn table(&self) -> &'static str {
        match self {
            Record::Product(_) => "products",
            Record::Category(_) => "categories",
            Record::User(_) => "users",
            Record::TokenFamily { .. } => "token_families",
            Record::RefreshToken { .. } => "refresh_tokens",
            Record::Value { .. } => "kv",
            Record::Stock { .. } => "inventory",
            Record::Cart(_) => "carts",
            Record::Order(_) => "orders",
            Record::Ordered { .. } => "ordered_products",
            Record::Counter { .. } => "counters",
            Record::Audit(_) => "audit",
            Record::Outbox(_) => "outbox",
            Record::Endpoint(_) => "webhook_endpoints",
            Record::Complements { .. } => "complements",
            Record::RecommendSettings(_) => "recommend_settings",
            Record::Promotion(_) => "promotions",
            Record::PromotionCount { .. } => "promotion_counts",
            Record::Redemption { .. } => "promotion_redemptions",
        }
    }
}

/// Records moved, per table.
pub type Moved = BTreeMap<&'static str, u64>;
