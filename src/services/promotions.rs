//! Promotions: what admins set up, what a basket gets (one rule engine,
//! `domain::promotion::price`, for the cart, the order and the listing's
//! sale price) and counting uses against the limits when an order is placed.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::order::{Order, PricingRules, ShippingMethod};
use crate::domain::patch::Patch;
use crate::domain::product::{ProductSummary, ProductView};
use crate::domain::promotion::{normalize_code, PromotionReport, price, sale_price, PriceLine, Priced, Promotion, PromotionInput, Refusal};
use crate::domain::money::Money;
use crate::domain::user::FieldError;
use crate::services::audit::Actor;
use crate::ports::{PromotionStore, PromotionUsage, Redeemed, Redemption, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PromoError {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("promotion not found")]
    NotFound,
    #[error("another promotion has this code")]
    CodeTaken,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PromoError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => PromoError::CodeTaken,
            e => PromoError::Store(e),
        }
    }
}

/// How long an instance keeps the automatic promotions it read.
const LIVE_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Live {
    read_at: Option<Instant>,
    /// Automatic promotions that are not used up, newest first.
    automatic: Arc<Vec<Promotion>>,
    stamp: String,
}

fn stamp_of(list: &[Promotion]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let basis: String = list.iter().map(|p| format!("{}@{};", p.id, p.updated_at.timestamp_millis())).collect();
    format!(":s{}", &crate::services::accounts::sha256_hex(&basis)[..12])
}

/// Who would use a code, for its once-per-customer limit: counted per
/// person (`domain::user::person_key` of the e-mail), whether they order
/// with an account or as a guest.
#[derive(Debug, Clone, Copy)]
pub enum Customer<'a> {
    /// A signed-in user, by id (their e-mail is looked up when a limit needs it).
    Account(&'a str),
    /// Someone known by an e-mail address (a guest, or an account already looked up).
    Email(&'a str),
}

#[derive(Clone)]
pub struct Promotions {
    store: Arc<dyn PromotionStore>,
    /// Accounts' e-mails, for per-person limits.
    users: Option<Arc<dyn crate::ports::UserStore>>,
    /// Where a change is announced, so every instance reads the promotions again.
    feed: Option<Arc<dyn crate::ports::ChangeFeed>>,
    rules: PricingRules,
    live: Arc<std::sync::RwLock<Live>>,
    /// One store read at a time when the promotions are due again.
    refreshing: Arc<tokio::sync::Mutex<()>>,
    audit: Option<crate::services::audit::AuditLog>,
}

impl Promotions {
    pub fn new(store: Arc<dyn PromotionStore>, rules: PricingRules) -> Self {
        Self { store, rules, users: None, feed: None, live: Arc::default(), refreshing: Arc::default(), audit: None }
    }

    pub fn with_feed(mut self, feed: Arc<dyn crate::ports::ChangeFeed>) -> Self {
        self.feed = Some(feed);
        self
    }

    pub fn with_users(mut self, users: Arc<dyn crate::ports::UserStore>) -> Self {
        self.users = Some(users);
        self
    }

    /// The person a limit counts `customer` as (`None`: unknown, e.g. an account that is gone).
    async fn person(&self, customer: Customer<'_>) -> Result<Option<String>, StoreError> {
        match customer {
            Customer::Email(e) => Ok(Some(crate::domain::user::person_key(e))),
            Customer::Account(id) => match &self.users {
                Some(users) => Ok(users.user_by_id(id).await?.map(|u| crate::domain::user::person_key(&u.email))),
                None => Ok(Some(id.to_string())),
            },
        }
    }

    pub fn with_audit(mut self, audit: crate::services::audit::AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    // ------------------------------------------------------------ admin

    pub async fn create(&self, input: PromotionInput, actor: &Actor) -> Result<Promotion, PromoError> {
        let input = input.validate().map_err(PromoError::Invalid)?;
        let now = Utc::now();
        let p = input.into_promotion(format!("promo_{}", uuid::Uuid::new_v4().simple()), now, now);
        self.store.insert_promotion(&p).await?;
        self.changed(actor, "promotion.create", None, &p).await;
        Ok(p)
    }

    /// Saves an admin's edit: the fields the form changed, written over the
    /// promotion as it is (another admin's change to other fields stays).
    pub async fn update(&self, id: &str, input: PromotionInput, actor: &Actor) -> Result<Promotion, PromoError> {
        let input = input.validate().map_err(PromoError::Invalid)?;
        let before = self.store.promotion_by_id(id).await?.ok_or(PromoError::NotFound)?;
        let edited = input.into_promotion(before.id.clone(), before.created_at, Utc::now());
        let p = self.write(&before, &Patch::diff(&before, &edited)).await?;
        self.changed(actor, "promotion.update", Some(&before), &p).await;
        Ok(p)
    }

    /// Pauses or resumes a promotion: its `active` flag only.
    pub async fn set_active(&self, id: &str, active: bool, actor: &Actor) -> Result<Promotion, PromoError> {
        let before = self.get(id).await?;
        let p = self.write(&before, &Patch::new().set("active", &active).set("updated_at", &Utc::now())).await?;
        self.changed(actor, "promotion.update", Some(&before), &p).await;
        Ok(p)
    }

    /// Writes `patch` and reads the promotion back as it now is.
    async fn write(&self, before: &Promotion, patch: &Patch) -> Result<Promotion, PromoError> {
        if !patch.is_empty() && !self.store.update_promotion(&before.id, patch).await? {
            return Err(PromoError::NotFound);
        }
        self.get(&before.id).await
    }

    pub async fn get(&self, id: &str) -> Result<Promotion, PromoError> {
        self.store.promotion_by_id(id).await?.ok_or(PromoError::NotFound)
    }

    pub async fn report(&self, id: &str) -> Result<PromotionReport, PromoError> {
        let p = self.get(id).await?;
        let usage = self.store.promotion_usage().await?.remove(&p.id).unwrap_or_default();
        Ok(PromotionReport { promotion: p, redemptions: usage.redemptions, revenue_cents: usage.revenue_cents })
    }

    /// Every promotion with its redemptions and revenue, newest first.
    pub async fn reports(&self) -> Result<Vec<PromotionReport>, PromoError> {
        let mut usage: HashMap<String, PromotionUsage> = self.store.promotion_usage().await?;
        Ok(self
            .store
            .promotions()
            .await?
            .into_iter()
            .map(|p| {
                let u = usage.remove(&p.id).unwrap_or_default();
                PromotionReport { promotion: p, redemptions: u.redemptions, revenue_cents: u.revenue_cents }
            })
            .collect())
    }

    async fn changed(&self, actor: &Actor, action: &str, before: Option<&Promotion>, p: &Promotion) {
        self.forget();
        // every instance reads them again (sale prices on listings and product pages change)
        if let Some(feed) = &self.feed {
            if let Err(e) = feed.publish(&crate::ports::ChangeNotice { promotions: true, ..Default::default() }).await {
                tracing::warn!(error = %e, "a promotion change was not announced; other instances see it within {LIVE_TTL:?}");
            }
        }
        if let Some(audit) = &self.audit {
            audit.record(actor, action, &p.id, p.name.clone(), before, Some(p)).await;
        }
    }

    // ------------------------------------------------------------ pricing

    /// The automatic promotions live now and not used up (read at most every
    /// few seconds per instance; a store failure leaves prices undiscounted).
    pub async fn automatic(&self, now: DateTime<Utc>) -> Arc<Vec<Promotion>> {
        self.live_now(now).await.0
    }

    /// What cached catalog reads depend on: changes when the live automatic
    /// promotions change (one starts or ends, an admin edits one). Empty when none.
    pub async fn stamp(&self) -> String {
        self.live_now(Utc::now()).await.1
    }

    async fn live_now(&self, now: DateTime<Utc>) -> (Arc<Vec<Promotion>>, String) {
        let (all, stamp) = match self.fresh() {
            Some(x) => x,
            None => self.refresh().await,
        };
        if all.iter().all(|p| p.is_live(now)) {
            return (all, stamp);
        }
        let list: Vec<Promotion> = all.iter().filter(|p| p.is_live(now)).cloned().collect();
        let stamp = stamp_of(&list);
        (Arc::new(list), stamp)
    }

    fn fresh(&self) -> Option<(Arc<Vec<Promotion>>, String)> {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        live.read_at.filter(|at| at.elapsed() <= LIVE_TTL).map(|_| (live.automatic.clone(), live.stamp.clone()))
    }

    async fn refresh(&self) -> (Arc<Vec<Promotion>>, String) {
        let _turn = self.refreshing.lock().await;
        if let Some(x) = self.fresh() {
            return x; // another request read them meanwhile
        }
        let list = match self.read_automatic().await {
            Ok(list) => Arc::new(list),
            Err(e) => {
                tracing::warn!(error = %e, "promotions unavailable; keeping the last ones read");
                self.live.read().unwrap_or_else(|e| e.into_inner()).automatic.clone()
            }
        };
        let stamp = stamp_of(&list);
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Live { read_at: Some(Instant::now()), automatic: list.clone(), stamp: stamp.clone() };
        (list, stamp)
    }

    /// Reads the promotions again at the next use (a change was made or announced).
    pub(crate) fn forget(&self) {
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Live::default();
    }

    async fn read_automatic(&self) -> Result<Vec<Promotion>, StoreError> {
        let mut out = Vec::new();
        for p in self.store.promotions().await?.into_iter().filter(|p| p.is_automatic() && p.active) {
            if let Some(limit) = p.usage_limit {
                if self.store.promotion_uses(&p.id, None).await?.0 >= limit {
                    continue;
                }
            }
            out.push(p);
        }
        Ok(out)
    }

    /// A code looked up and checked against its limits (`customer`: who would use it).
    async fn code(&self, code: &str, customer: Option<Customer<'_>>) -> Result<Result<Promotion, Refusal>, StoreError> {
        let code = normalize_code(code);
        let Some(p) = self.store.promotion_by_code(&code).await? else { return Ok(Err(Refusal::Unknown)) };
        // the person behind the order is looked up only when a limit counts per person
        let customer = match customer {
            Some(c) if p.per_customer_limit.is_some() => self.person(c).await?,
            _ => None,
        };
        let customer = customer.as_deref();
        if p.usage_limit.is_some() || (p.per_customer_limit.is_some() && customer.is_some()) {
            let (all, mine) = self.store.promotion_uses(&p.id, customer).await?;
            if p.per_customer_limit.is_some_and(|l| customer.is_some() && mine >= l) {
                return Ok(Err(Refusal::UsedUpByYou));
            }
            if p.usage_limit.is_some_and(|l| all >= l) {
                return Ok(Err(Refusal::UsedUp));
            }
        }
        Ok(Ok(p))
    }

    /// Prices a basket: the best automatic promotion and the code, if any.
    pub async fn price(&self, lines: &[PriceLine], method: ShippingMethod, code: Option<&str>, customer: Option<Customer<'_>>) -> Result<Priced, StoreError> {
        let now = Utc::now();
        let automatic = self.automatic(now).await;
        let code = match code {
            Some(c) => Some(self.code(c, customer).await?),
            None => None,
        };
        Ok(price(&self.rules, lines, method, &automatic, code.as_ref().map(|c| c.as_ref().map_err(|r| *r)), now))
    }

    /// Counts the uses `order` makes of its promotions, per person for the
    /// per-customer limits (`customer`: who placed it). On a limit reached
    /// nothing stays counted and the refusal says which limit.
    pub async fn redeem(&self, order: &Order, customer: Customer<'_>) -> Result<Result<(), Refusal>, StoreError> {
        let person = self.person(customer).await?.unwrap_or_else(|| order.user_id.clone());
        for d in &order.discounts {
            let limits = self.store.promotion_by_id(&d.promotion_id).await?.map(|p| (p.usage_limit, p.per_customer_limit)).unwrap_or((None, None));
            let r = Redemption { promotion_id: d.promotion_id.clone(), order_id: order.id.clone(), customer: person.clone(), total_cents: order.total.amount, discount_cents: d.amount_cents };
            let refused = match self.store.redeem(&r, limits.0, limits.1).await {
                Ok(Redeemed::Counted) => continue,
                Ok(Redeemed::UsedUp) => Refusal::UsedUp,
                Ok(Redeemed::UsedUpByCustomer) => Refusal::UsedUpByYou,
                Err(e) => {
                    self.release(&order.id).await?;
                    return Err(e);
                }
            };
            self.release(&order.id).await?;
            if d.code.is_none() {
                // an automatic promotion ran out: the next read leaves it out
                self.forget();
            }
            return Ok(Err(refused));
        }
        Ok(Ok(()))
    }

    /// Gives back the uses an order holds (cancelled, expired, abandoned).
    pub async fn release(&self, order_id: &str) -> Result<u64, StoreError> {
        self.store.release_redemptions(order_id).await
    }

    // ------------------------------------------------------------ display

    /// Sets listing cards' sale prices.
    pub async fn mark_summaries(&self, items: &mut [ProductSummary]) {
        let now = Utc::now();
        let automatic = self.automatic(now).await;
        if automatic.is_empty() {
            return;
        }
        for s in items {
            s.sale_price = sale_price(&self.rules, &s.id, &s.category, s.price.amount, &automatic, now).map(|a| Money::new(a, &s.price.currency));
        }
    }

    /// Sets a product page's sale prices (each variant's and the lowest).
    pub async fn mark_view(&self, view: &mut ProductView) {
        let now = Utc::now();
        let automatic = self.automatic(now).await;
        if automatic.is_empty() {
            return;
        }
        for v in &mut view.variants {
            v.sale_price = sale_price(&self.rules, &view.id, &view.category, v.price.amount, &automatic, now).map(|a| Money::new(a, &v.price.currency));
        }
        view.sale_price = sale_price(&self.rules, &view.id, &view.category, view.price.amount, &automatic, now).map(|a| Money::new(a, &view.price.currency));
    }
}
