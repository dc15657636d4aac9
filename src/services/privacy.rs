//! A customer's rights over their data (GDPR articles 15, 17 and 20):
//! everything the shop holds about them, as JSON; and erasure: personal data
//! removed or anonymised at once, orders kept (accounting law) under an
//! anonymous identity, sessions and tokens revoked, the e-mail free again.
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::order::{Address, Cart, Order, OrderStatus};
use crate::domain::patch::Patch;
use crate::domain::user::{Role, UserView};
use crate::ports::{AuditStore, CartStore, OrderFilter, OrderStore, OutboxStore, StoreError, TokenStore, UserStore};
use crate::services::audit::{Actor, AuditLog};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("user not found")]
    NotFound,
    /// Only customers' accounts are erased: an admin or partner account is
    /// made a customer first (a shop must keep its admins and integrations).
    #[error("only a customer account can be erased")]
    Admin,
    #[error(transparent)]
    Invalid(crate::domain::user::FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the shop holds about a customer (`GET /api/v1/me/export`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PersonalData {
    pub exported_at: DateTime<Utc>,
    pub profile: Profile,
    /// Every order, newest first (with its addresses, lines, payment and history).
    pub orders: Vec<Order>,
    /// The distinct shipping addresses of those orders.
    pub addresses: Vec<Address>,
    /// The cart as saved (SKUs and quantities).
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub cart: Option<Cart>,
    /// Sign-ins: the browser session is a cookie holding only its id; API
    /// clients hold refresh tokens the shop keeps hashed. None are exported.
    pub sessions: String,
    /// Cookies and consents: the shop sets only strictly necessary cookies
    /// (the session and the language), so there is no consent to record.
    pub consents: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Profile {
    #[serde(flatten)]
    pub user: UserView,
    pub created_at: DateTime<Utc>,
    pub language: Option<String>,
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Erasure {
    pub user_id: String,
    /// Orders kept with the customer's details anonymised: the account's, and
    /// those placed as a guest with the account's e-mail.
    pub orders_anonymised: u64,
    /// Mails, events and webhook payloads about the customer's orders removed from the outbox.
    pub messages_removed: u64,
    /// Audit entries about the customer or the orders whose details were blanked.
    pub audit_redacted: u64,
    /// Backups made before the erasure that still hold the customer's data:
    /// they are never restored over the live shop's erasures, and expire
    /// after the retention period.
    #[serde(default)]
    pub backups_before: Vec<crate::domain::dashboard::LastBackup>,
    /// Days a backup is kept (`VITRINA_BACKUP_RETENTION_DAYS`).
    #[serde(default)]
    pub backup_retention_days: i64,
}

/// The e-mail an erased account keeps: unique, unreachable, saying nothing.
fn erased_email(user_id: &str) -> String {
    format!("erased-{}@erased.invalid", &crate::services::accounts::sha256_hex(user_id)[..16])
}

/// The owner an erased guest's orders keep: a guest's id derives from the
/// e-mail, so it goes too.
const ERASED_GUEST: &str = "guest_erased";

#[derive(Clone)]
pub struct Privacy {
    stores: PrivacyStores,
    audit: AuditLog,
    /// Copies of sent mail kept by the embedded mailbox go too.
    mailer: Arc<dyn crate::ports::Mailer>,
    /// The backups made before an erasure are listed on its receipt.
    backups: Option<crate::services::backup_log::BackupLog>,
    /// Checks the password a customer confirms their own erasure with.
    hasher: Option<Arc<dyn crate::ports::PasswordHasher>>,
}

/// The stores an erasure reaches.
#[derive(Clone)]
pub struct PrivacyStores {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub orders: Arc<dyn OrderStore>,
    pub carts: Arc<dyn CartStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub audit: Arc<dyn AuditStore>,
}

impl Privacy {
    pub fn new(stores: PrivacyStores, audit: AuditLog, mailer: Arc<dyn crate::ports::Mailer>) -> Self {
        Self { stores, audit, mailer, backups: None, hasher: None }
    }

    pub fn with_hasher(mut self, hasher: Arc<dyn crate::ports::PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// A customer erasing their own account (every door alike): only with
    /// their password, so a session left open on a shared computer, or a
    /// stolen token, cannot erase it.
    pub async fn erase_own(&self, user_id: &str, password: &str) -> Result<Erasure, PrivacyError> {
        let user = self.stores.users.user_by_id(user_id).await?.ok_or(PrivacyError::NotFound)?;
        let confirmed = match &self.hasher {
            Some(h) => !password.is_empty() && h.verify(password, &user.password_hash).await,
            None => false,
        };
        if !confirmed {
            let code = if password.is_empty() { "field-erase-password-required" } else { "field-erase-password-wrong" };
            return Err(PrivacyError::Invalid(crate::domain::user::FieldError::coded(code, "password", &[])));
        }
        self.erase(user_id, &Actor { id: user.id.clone(), email: user.email.clone() }).await
    }

    pub fn with_backups(mut self, log: crate::services::backup_log::BackupLog) -> Self {
        self.backups = Some(log);
        self
    }

    /// Every order of the user (all pages), newest first; never a placement under way.
    async fn all_orders(&self, user_id: &str) -> Result<Vec<Order>, StoreError> {
        self.orders_where(OrderFilter { user_id: Some(user_id.to_string()), ..Default::default() }).await
    }

    /// Every order matching `filter` (all pages), newest first.
    async fn orders_where(&self, filter: OrderFilter) -> Result<Vec<Order>, StoreError> {
        let mut out = Vec::new();
        loop {
            let (page, total) = self.stores.orders.list_orders(&filter, out.len() as u64, 500).await?;
            let n = page.len();
            out.extend(page);
            if n == 0 || out.len() as u64 >= total {
                break;
            }
        }
        out.retain(|o| o.status != OrderStatus::Pending);
        Ok(out)
    }

    /// Everything the shop holds about `user_id` (GDPR articles 15 and 20).
    pub async fn export(&self, user_id: &str) -> Result<PersonalData, PrivacyError> {
        let user = self.stores.users.user_by_id(user_id).await?.ok_or(PrivacyError::NotFound)?;
        let orders = self.all_orders(user_id).await?;
        let mut addresses: Vec<Address> = Vec::new();
        for o in &orders {
            if !addresses.contains(&o.shipping_address) {
                addresses.push(o.shipping_address.clone());
            }
        }
        let cart = self.stores.carts.cart(&crate::services::orders::user_cart(user_id)).await?;
        Ok(PersonalData {
            exported_at: Utc::now(),
            profile: Profile { user: user.view(), created_at: user.created_at, language: user.lang.clone() },
            orders,
            addresses,
            cart,
            sessions: "The browser session is a cookie holding only a random id; API refresh tokens are kept hashed. Signing out ends them.".into(),
            consents: "Only strictly necessary cookies are set (the session and the chosen language); no tracking, so no consent is asked or recorded.".into(),
        })
    }

    /// Erases a customer (GDPR article 17): the profile is anonymised and the
    /// e-mail freed, sessions and tokens end, the cart goes; orders stay with
    /// their addresses and guest e-mails anonymised (the account's, and those
    /// placed as a guest with the same e-mail); the mails, events and webhook
    /// payloads about them leave the outbox, and audit entries about them are
    /// blanked. The receipt lists the backups that still hold the data.
    pub async fn erase(&self, user_id: &str, actor: &Actor) -> Result<Erasure, PrivacyError> {
        let user = self.stores.users.user_by_id(user_id).await?.ok_or(PrivacyError::NotFound)?;
        if user.role != Role::Customer {
            return Err(PrivacyError::Admin);
        }
        let now = Utc::now();
        let mut emails: BTreeSet<String> = BTreeSet::from([user.email.clone(), user.email.to_lowercase()]);
        // sign-ins end first: nothing more can happen under the old identity
        self.stores.tokens.revoke_user_families(user_id, now).await?;
        let mut locked = user.clone();
        locked.sessions_valid_from = Some(now);
        locked.disabled = true;
        self.stores.users.update_user(user_id, &Patch::diff(&user, &locked)).await?;
        let mut orders: Vec<(Order, &str)> = self.all_orders(user_id).await?.into_iter().map(|o| (o, user_id)).collect();
        // guest orders under the same e-mail, and under any e-mail a claimed guest order carried
        for o in &orders {
            if let Some(e) = &o.0.guest_email {
                emails.insert(e.to_lowercase());
            }
        }
        let mut seen_ids: BTreeSet<String> = orders.iter().map(|(o, _)| o.id.clone()).collect();
        for email in emails.iter().map(|e| e.to_lowercase()).collect::<BTreeSet<_>>() {
            for o in self.orders_where(OrderFilter { guest_email: Some(email), ..Default::default() }).await? {
                if seen_ids.insert(o.id.clone()) {
                    let owner = if o.user_id == user_id { user_id } else { ERASED_GUEST };
                    orders.push((o, owner));
                }
            }
        }
        let mut anonymised = 0;
        for (seen, owner) in &orders {
            if self.anonymise_order(seen, owner).await? {
                anonymised += 1;
            }
        }
        let order_ids: Vec<String> = orders.iter().map(|(o, _)| o.id.clone()).collect();
        let messages_removed = self.stores.outbox.erase_entries(&emails.iter().cloned().collect::<Vec<_>>(), &order_ids).await?;
        let mut targets = order_ids.clone();
        targets.push(user_id.to_string());
        let audit_redacted = self.stores.audit.redact_audit(&targets).await?;
        self.stores.carts.delete_cart(&crate::services::orders::user_cart(user_id)).await?;
        let mut erased = locked.clone();
        erased.email = erased_email(user_id);
        erased.name = "—".into();
        erased.password_hash = String::new();
        erased.lang = None;
        self.stores.users.update_user(user_id, &Patch::diff(&locked, &erased)).await?;
        let (backups_before, backup_retention_days) = match &self.backups {
            Some(log) => (log.held_before(now).await?, log.retention_days),
            None => (Vec::new(), 0),
        };
        let done = Erasure { user_id: user_id.to_string(), orders_anonymised: anonymised, messages_removed, audit_redacted, backups_before, backup_retention_days };
        // the record of the erasure names no one: the id only (a customer erasing
        // their own account is not recorded under their e-mail)
        let actor = if actor.id == user_id { Actor { id: user_id.to_string(), email: "(the customer)".into() } } else { actor.clone() };
        if let Err(e) = self.mailer.forget(&emails.iter().cloned().collect::<Vec<_>>()).await {
            tracing::warn!(error = %e, "copies of sent mails not removed");
        }
        if let Err(e) = self.stores.users.purge_erased().await {
            tracing::warn!(error = %e, "erased data not yet purged from the store's files");
        }
        self.audit.record(&actor, "user.erase", user_id, format!("personal data erased; {anonymised} orders anonymised"), None::<&()>, None).await;
        Ok(done)
    }

    /// Writes an order without its personal details (the address, the
    /// guest's e-mail, an owner derived from it): only those fields, so a
    /// status change or a refund made meanwhile stays. Retried if the order
    /// is claimed meanwhile.
    async fn anonymise_order(&self, first: &Order, owner: &str) -> Result<bool, StoreError> {
        let mut seen = first.clone();
        for _ in 0..5 {
            let mut after = seen.clone();
            let Some(patch) = after.anonymise(owner, Utc::now()) else { return Ok(false) };
            let patch = patch.guard("user_id", &seen.user_id);
            if self.stores.orders.update_order(&seen.id, &patch, &[]).await? {
                return Ok(true);
            }
            match self.stores.orders.order_by_id(&seen.id).await? {
                Some(o) => seen = o,
                None => return Ok(false),
            }
        }
        Err(StoreError::Unavailable("an order kept changing while it was anonymised; try again".into()))
    }
}
