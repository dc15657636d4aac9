//! Carts and orders: prices from the catalog only, stock reserved atomically
//! per SKU, idempotent placement, repair of placements that died half-way.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;

use crate::domain::money::{shop_currency, Money};
use crate::domain::order::{
    merge_carts, order_number, validate_quantity, Address, Cart, CartEdit, CartLine, CartLineView, CartRefusal, CartView, Order, OrderLine, OrderStatus, PricingRules,
    ShippingMethod,
};
use crate::domain::outbox::order_events;
use crate::domain::promotion::{normalize_code, PriceLine, Refusal};
use crate::services::promotions::{Customer, Promotions};
use crate::domain::payment::{Payment, PaymentMethod};
use crate::domain::product::{Product, ProductStatus, SkuView};
use crate::domain::user::{FieldError, Role, User};
use crate::ports::{CartStore, CatalogStore, InventoryStore, OrderFilter, OrderStore, Reservation, StoreError};
use crate::services::accounts::sha256_hex;
use crate::services::digest::{hmac_sha256, same_bytes};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShortLine {
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("unknown SKU {0}")]
    UnknownSku(String),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("only {available} of {sku} available")]
    NotEnough { sku: String, available: i64 },
    #[error("not enough stock")]
    Short(Vec<ShortLine>),
    #[error("the cart is empty")]
    EmptyCart,
    #[error("this Idempotency-Key was used for a different request")]
    KeyMismatch,
    #[error("an order with this Idempotency-Key is still being placed")]
    InProgress,
    #[error("You already have {0} orders waiting for confirmation: wait until they are confirmed, or cancel one")]
    TooManyOpen(u64),
    #[error("order not found")]
    NotFound,
    #[error("an order that is {from:?} cannot become {to:?}")]
    InvalidTransition { from: OrderStatus, to: OrderStatus },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Provider(#[from] crate::ports::GatewayError),
    #[error("card payments are not configured")]
    CardsOff,
    /// A coupon (or a promotion) that cannot be used; `field` names the input.
    #[error("the coupon cannot be used: {refusal:?}")]
    Coupon { refusal: Refusal, field: &'static str },
}

impl From<FieldError> for OrderError {
    fn from(e: FieldError) -> Self {
        OrderError::Invalid(vec![e])
    }
}

/// What the shop charges and allows.
#[derive(Debug, Clone, Copy)]
pub struct ShopRules {
    pub pricing: PricingRules,
    pub max_line_quantity: i64,
    /// Orders a customer may have waiting for confirmation (placed, not yet
    /// paid or shipped): stock cannot be hoarded by placing and never taking. 0 = no limit.
    pub max_open_orders: u64,
}

impl Default for ShopRules {
    fn default() -> Self {
        Self { pricing: PricingRules::default(), max_line_quantity: 99, max_open_orders: 10 }
    }
}

/// The ways to pay this shop offers, from the configuration. Cash on
/// delivery always; a bank transfer when the shop's account is set.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRules {
    pub bank_account: Option<crate::domain::payment::BankAccount>,
    /// Days an order may wait for its bank transfer before it expires (its stock goes back).
    pub transfer_days: i64,
    /// Minutes an order may wait for its card payment before it expires.
    pub card_minutes: i64,
}

impl Default for PaymentRules {
    fn default() -> Self {
        Self { bank_account: None, transfer_days: 5, card_minutes: 30 }
    }
}

/// Purchasable variants by SKU (active products only), from the store: the
/// truth an order is priced from.
async fn lookup(catalog: &Arc<dyn CatalogStore>, skus: &[String]) -> Result<HashMap<String, SkuView>, StoreError> {
    let products = catalog.products_by_skus(skus).await?;
    Ok(purchasable(products.iter().flat_map(Product::sku_views), skus))
}

fn purchasable(views: impl Iterator<Item = SkuView>, skus: &[String]) -> HashMap<String, SkuView> {
    views.filter(|v| v.status == ProductStatus::Active && skus.contains(&v.variant.sku)).map(|v| (v.variant.sku.clone(), v)).collect()
}

fn price_line(p: &SkuView, amount: i64) -> PriceLine {
    PriceLine { product_id: p.product_id.clone(), category: p.category.clone(), amount, vat_rate: p.vat_rate }
}

fn line_view(p: &SkuView, quantity: i64, available: i64) -> CartLineView {
    let v = &p.variant;
    CartLineView {
        sku: v.sku.clone(),
        product_id: p.product_id.clone(),
        slug: p.slug.clone(),
        name: p.name.clone(),
        options: v.options.clone(),
        image_url: p.image_url.clone(),
        unit_price: v.price.clone(),
        quantity,
        line_total: Money::new(v.price.amount * quantity, &v.price.currency),
        discount_cents: 0,
        available,
    }
}

#[derive(Clone)]
pub struct CartService {
    carts: Arc<dyn CartStore>,
    catalog: Arc<dyn CatalogStore>,
    inventory: Arc<dyn InventoryStore>,
    rules: ShopRules,
    /// Product facts for cart lines from memory once loaded (prices as of
    /// the last sync; an order is priced from the store).
    index: Option<Arc<dyn crate::ports::SearchIndex>>,
    /// Discounts: the best automatic promotion and the code entered.
    promotions: Option<Promotions>,
}

impl CartService {
    pub fn new(carts: Arc<dyn CartStore>, catalog: Arc<dyn CatalogStore>, inventory: Arc<dyn InventoryStore>, rules: ShopRules) -> Self {
        Self { carts, catalog, inventory, rules, index: None, promotions: None }
    }

    pub fn with_index(mut self, index: Arc<dyn crate::ports::SearchIndex>) -> Self {
        self.index = Some(index);
        self
    }

    pub fn with_promotions(mut self, promotions: Promotions) -> Self {
        self.promotions = Some(promotions);
        self
    }

    pub fn promotions(&self) -> Option<&Promotions> {
        self.promotions.as_ref()
    }

    /// Variants for cart lines: from the index when it is loaded, else the store.
    async fn variants(&self, skus: &[String]) -> Result<HashMap<String, SkuView>, StoreError> {
        match &self.index {
            Some(index) if index.is_loaded() => Ok(purchasable(index.skus(skus).into_iter(), skus)),
            _ => lookup(&self.catalog, skus).await,
        }
    }

    /// Variants and the availability a cart shows. From memory once the index
    /// is loaded: names, prices and stock as of the last sync (under a second
    /// old), like a listing; no store read per line. What is being added or
    /// changed is checked against the inventory (`available`), and an order
    /// reserves against it, so nothing is sold that is not there.
    async fn variants_and_stock(&self, skus: &[String]) -> Result<(HashMap<String, SkuView>, BTreeMap<String, i64>), StoreError> {
        match &self.index {
            Some(index) if index.is_loaded() => {
                let views = index.skus(skus);
                let stock = views.iter().map(|v| (v.variant.sku.clone(), v.variant.stock)).collect();
                Ok((purchasable(views.into_iter(), skus), stock))
            }
            _ => Ok((lookup(&self.catalog, skus).await?, self.inventory.stock_levels(skus).await?)),
        }
    }

    pub fn rules(&self) -> ShopRules {
        self.rules
    }

    pub async fn cart(&self, owner: &str) -> Result<Cart, OrderError> {
        Ok(self.carts.cart(owner).await?.unwrap_or_else(|| Cart::empty(owner)))
    }

    /// The products in a cart (variants folded into their product), for
    /// recommendations to leave out; empty when the cart cannot be read.
    pub async fn product_ids(&self, owner: &str) -> Vec<String> {
        let Ok(Some(cart)) = self.carts.cart(owner).await else { return Vec::new() };
        let skus: Vec<String> = cart.lines.iter().map(|l| l.sku.clone()).collect();
        let mut ids: Vec<String> = match self.variants(&skus).await {
            Ok(found) => found.into_values().map(|v| v.product_id).collect(),
            Err(_) => Vec::new(),
        };
        ids.sort();
        ids.dedup();
        ids
    }

    /// The cart priced from the catalog with fresh availability. Lines whose
    /// product is gone are left out.
    pub async fn view(&self, owner: &str) -> Result<CartView, OrderError> {
        let cart = self.cart(owner).await?;
        Ok(self.price(&cart).await?.0)
    }

    /// A cart priced with its promotions, and why its code does not apply (if it does not).
    pub async fn price(&self, cart: &Cart) -> Result<(CartView, Option<Refusal>), OrderError> {
        let (view, refused, _) = self.priced(cart, ShippingMethod::Standard, false).await?;
        Ok((view, refused))
    }

    /// The cart and what it comes to with each way of shipping (checkout):
    /// priced from the store, like the order it places, so the total shown
    /// is the total charged.
    pub async fn quotes(&self, owner: &str) -> Result<(CartView, Vec<(ShippingMethod, crate::domain::order::Totals)>), OrderError> {
        let cart = self.cart(owner).await?;
        let mut quotes = Vec::new();
        let mut shown = None;
        for method in ShippingMethod::ALL {
            let (view, _, totals) = self.priced(&cart, method, true).await?;
            quotes.push((method, totals));
            shown.get_or_insert(view);
        }
        Ok((shown.unwrap_or_else(CartView::empty), quotes))
    }

    /// `exact`: prices and stock from the store (checkout), else from the index (the cart, under a second old).
    async fn priced(&self, cart: &Cart, method: ShippingMethod, exact: bool) -> Result<(CartView, Option<Refusal>, crate::domain::order::Totals), OrderError> {
        let skus: Vec<String> = cart.lines.iter().map(|l| l.sku.clone()).collect();
        let (found, stock) = if exact { (lookup(&self.catalog, &skus).await?, self.inventory.stock_levels(&skus).await?) } else { self.variants_and_stock(&skus).await? };
        let mut views = Vec::new();
        let mut basket = Vec::new();
        for l in &cart.lines {
            if let Some(p) = found.get(&l.sku) {
                let view = line_view(p, l.quantity, stock.get(&l.sku).copied().unwrap_or(0));
                basket.push(price_line(p, view.line_total.amount));
                views.push(view);
            }
        }
        let subtotal: i64 = views.iter().map(|l| l.line_total.amount).sum();
        let item_count = views.iter().map(|l| l.quantity).sum();
        let (mut discounts, mut refused) = (Vec::new(), None);
        let mut totals = self.rules.pricing.totals(&basket.iter().map(|l| (l.amount, l.vat_rate)).collect::<Vec<_>>(), method);
        match &self.promotions {
            Some(promotions) if !views.is_empty() => {
                let customer = cart.owner.strip_prefix("u:").map(Customer::Account);
                let priced = promotions.price(&basket, method, cart.coupon.as_deref(), customer).await?;
                totals = priced.totals;
                for (v, d) in views.iter_mut().zip(&priced.line_discounts) {
                    v.discount_cents = *d;
                }
                discounts = priced.applied;
                refused = priced.code_refused;
            }
            _ if cart.coupon.is_some() && !views.is_empty() => refused = Some(Refusal::Unknown),
            _ => {}
        }
        let discount: i64 = views.iter().map(|v| v.discount_cents).sum();
        let view = CartView {
            lines: views,
            subtotal: Money::shop(subtotal),
            item_count,
            discounts,
            discount: Money::shop(discount),
            total: Money::shop(subtotal - discount),
            coupon: cart.coupon.clone(),
            coupon_error: refused.map(|r| r.on("code")),
        };
        Ok((view, refused, totals))
    }

    /// Enters a coupon code in the cart: kept only if it applies to the cart now.
    pub async fn apply_coupon(&self, owner: &str, code: &str) -> Result<CartView, OrderError> {
        let code = normalize_code(code);
        if code.is_empty() || code.len() > 64 {
            return Err(FieldError::coded("field-coupon-empty", "code", &[]).into());
        }
        let mut trial = self.cart(owner).await?;
        if trial.lines.is_empty() {
            return Err(OrderError::EmptyCart);
        }
        trial.coupon = Some(code.clone());
        if let (_, Some(refusal)) = self.price(&trial).await? {
            return Err(OrderError::Coupon { refusal, field: "code" });
        }
        self.edit(owner, CartEdit::Coupon(Some(code))).await
    }

    /// Takes the coupon code out of the cart.
    pub async fn remove_coupon(&self, owner: &str) -> Result<CartView, OrderError> {
        self.edit(owner, CartEdit::Coupon(None)).await
    }

    /// Applies one edit in the store (one round-trip where the store can) and prices the cart it made.
    async fn edit(&self, owner: &str, edit: CartEdit) -> Result<CartView, OrderError> {
        match self.carts.edit_cart(owner, &edit).await? {
            Ok(cart) => Ok(self.price(&cart).await?.0),
            Err(CartRefusal::PerLine { max }) => Err(FieldError::coded("field-quantity-per-line", "quantity", &[("max", &max.to_string())]).into()),
            Err(CartRefusal::NotEnough { sku, available }) => Err(OrderError::NotEnough { sku, available }),
            Err(CartRefusal::NotInCart { sku }) => Err(OrderError::UnknownSku(sku)),
        }
    }

    /// Applies `change` to the stored cart, retrying when another request saved in between.
    async fn update<F>(&self, owner: &str, mut change: F) -> Result<CartView, OrderError>
    where
        F: FnMut(&mut Cart) -> Result<(), OrderError>,
    {
        for _ in 0..5 {
            let mut cart = self.cart(owner).await?;
            change(&mut cart)?;
            cart.version += 1;
            cart.updated_at = Utc::now();
            match self.carts.save_cart(&cart).await {
                Ok(()) => return Ok(self.price(&cart).await?.0),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Unavailable("the cart is changing too fast; try again".into()).into())
    }

    /// What a SKU has available, as the index last took it in (under a
    /// second old; placing the order checks the inventory itself).
    async fn available(&self, sku: &str) -> Result<i64, OrderError> {
        let skus = [sku.to_string()];
        let (found, stock) = self.variants_and_stock(&skus).await?;
        if !found.contains_key(sku) {
            return Err(OrderError::UnknownSku(sku.to_string()));
        }
        Ok(stock.get(sku).copied().unwrap_or(0))
    }

    pub async fn add(&self, owner: &str, sku: &str, quantity: i64) -> Result<CartView, OrderError> {
        validate_quantity(quantity, self.rules.max_line_quantity)?;
        let available = self.available(sku).await?;
        self.edit(owner, CartEdit::Add { sku: sku.to_string(), quantity, max_line: self.rules.max_line_quantity, available }).await
    }

    pub async fn set_quantity(&self, owner: &str, sku: &str, quantity: i64) -> Result<CartView, OrderError> {
        validate_quantity(quantity, self.rules.max_line_quantity)?;
        let available = self.available(sku).await?;
        self.edit(owner, CartEdit::Set { sku: sku.to_string(), quantity, available }).await
    }

    pub async fn remove(&self, owner: &str, sku: &str) -> Result<CartView, OrderError> {
        self.edit(owner, CartEdit::Remove { sku: sku.to_string() }).await
    }

    /// Moves a guest cart into a user's cart at sign-in: quantities add up,
    /// capped at what is available and at the per-line maximum.
    pub async fn merge(&self, guest_owner: &str, user_owner: &str) -> Result<(), OrderError> {
        let Some(guest) = self.carts.cart(guest_owner).await? else { return Ok(()) };
        if !guest.lines.is_empty() {
            let skus: Vec<String> = guest.lines.iter().map(|l| l.sku.clone()).collect();
            let stock = self.inventory.stock_levels(&skus).await?;
            let max = self.rules.max_line_quantity;
            self.update(user_owner, |cart| {
                merge_carts(cart, &guest, |sku| stock.get(sku).copied().unwrap_or(0).min(max));
                Ok(())
            })
            .await?;
        }
        self.carts.delete_cart(guest_owner).await?;
        Ok(())
    }

    pub async fn clear(&self, owner: &str) -> Result<(), OrderError> {
        Ok(self.carts.delete_cart(owner).await?)
    }
}

/// The cart owner key of a user.
pub fn user_cart(user_id: &str) -> String {
    format!("u:{user_id}")
}

/// The cart owner key of a guest (a random id kept in the browser session).
pub fn guest_cart(cart_id: &str) -> String {
    format!("g:{cart_id}")
}

pub struct PlaceOrder {
    pub shipping_address: Address,
    pub shipping_method: ShippingMethod,
    /// Explicit lines (partners); `None` orders the user's cart.
    pub items: Option<Vec<CartLine>>,
    pub idempotency_key: String,
    /// How the shopper pays (one of the methods the shop offers).
    pub payment_method: PaymentMethod,
    /// A coupon code; `None` uses the cart's (when ordering the cart).
    pub coupon: Option<String>,
    /// Who it is invoiced to; `None`: the shipping recipient, as a person.
    pub billing: Option<crate::domain::billing::Billing>,
}

/// Who places an order: a user, or a guest known by an e-mail address.
struct Buyer {
    id: String,
    role: Role,
    /// The cart ordered when the request names no items.
    cart: String,
    guest_email: Option<String>,
    /// The account's e-mail (a guest's is `guest_email`).
    email: Option<String>,
}

impl Buyer {
    /// Who per-customer limits count: the person behind the e-mail, account or guest alike.
    fn customer(&self) -> Customer<'_> {
        match self.guest_email.as_deref().or(self.email.as_deref()) {
            Some(e) => Customer::Email(e),
            None => Customer::Account(&self.id),
        }
    }
}

/// A random key (until `with_guest_key` sets the shop's own).
fn rand_key() -> Vec<u8> {
    (0..32).map(|_| rand::random::<u8>()).collect()
}

#[derive(Clone)]
pub struct OrderService {
    pub(super) orders: Arc<dyn OrderStore>,
    pub(super) inventory: Arc<dyn InventoryStore>,
    catalog: Arc<dyn CatalogStore>,
    carts: CartService,
    rules: ShopRules,
    /// Sales feed the popularity sorted set.
    popularity: Option<crate::services::catalog::CatalogService>,
    /// Signs guest-order links; earlier keys (a rotation) verify until they expire.
    guest_key: Arc<Vec<u8>>,
    guest_keys_before: Arc<Vec<(Vec<u8>, chrono::DateTime<Utc>)>>,
    pub(super) payments: Arc<PaymentRules>,
    /// Card payments, when a provider is configured (`services::payments`).
    pub(super) card: Option<Arc<dyn crate::ports::CardGateway>>,
    /// Settlements the provider reports are recorded here.
    pub(super) audit: Option<crate::services::audit::AuditLog>,
    /// Runs the fiscal-document tasks an order change writes (an invoice, a
    /// credit note) at once too, so the shopper sees them straight away.
    documents: Option<crate::services::notify::TaskRunner>,
}

impl OrderService {
    /// The promotions the cart service prices with (orders use the same).
    fn promotions(&self) -> Option<&Promotions> {
        self.carts.promotions()
    }

    /// Gives back an order's promotion uses (cancelled, expired, abandoned).
    async fn release_promotions(&self, order_id: &str) -> Result<(), StoreError> {
        if let Some(p) = self.promotions() {
            p.release(order_id).await?;
        }
        Ok(())
    }
}

impl OrderService {
    pub fn new(orders: Arc<dyn OrderStore>, inventory: Arc<dyn InventoryStore>, catalog: Arc<dyn CatalogStore>, carts: CartService) -> Self {
        let rules = carts.rules();
        let guest_key = Arc::new(rand_key());
        Self { orders, inventory, catalog, carts, rules, popularity: None, guest_key, guest_keys_before: Arc::default(), payments: Arc::new(PaymentRules::default()), card: None, audit: None, documents: None }
    }

    /// Fiscal-document tasks run by `runner` right after the change that calls for them.
    pub fn with_document_tasks(mut self, runner: crate::services::notify::TaskRunner) -> Self {
        self.documents = Some(runner);
        self
    }

    pub fn with_payments(mut self, payments: PaymentRules) -> Self {
        self.payments = Arc::new(payments);
        self
    }

    pub fn payments(&self) -> &PaymentRules {
        &self.payments
    }

    pub fn with_popularity(mut self, catalog: crate::services::catalog::CatalogService) -> Self {
        self.popularity = Some(catalog);
        self
    }

    pub fn rules(&self) -> ShopRules {
        self.rules
    }

    /// The key guest-order links are signed with (derived from the shop's token secret).
    pub fn with_guest_key(mut self, secret: &[u8]) -> Self {
        self.guest_key = Arc::new(Self::link_key(secret));
        self
    }

    /// After a key rotation: links signed with the previous key open until `until`.
    pub fn with_previous_guest_key(mut self, secret: &[u8], until: chrono::DateTime<Utc>) -> Self {
        self.guest_keys_before = Arc::new(vec![(Self::link_key(secret), until)]);
        self
    }

    fn link_key(secret: &[u8]) -> Vec<u8> {
        hmac_sha256(b"vitrina guest order links", secret).to_vec()
    }

    /// Places an order. Returns the order and whether this call created it
    /// (`false`: a replay of the same Idempotency-Key and request).
    /// Partners name the items to order; shoppers order their cart.
    pub async fn place(&self, user: &User, req: PlaceOrder) -> Result<(Order, bool), OrderError> {
        match (user.role, &req.items) {
            (Role::Partner, None) => return Err(FieldError::coded("field-partner-items", "items", &[]).into()),
            (Role::Customer | Role::Admin, Some(_)) => return Err(FieldError::coded("field-shopper-items", "items", &[]).into()),
            _ => {}
        }
        self.place_for(&Buyer { id: user.id.clone(), role: user.role, cart: user_cart(&user.id), guest_email: None, email: Some(user.email.clone()) }, req).await
    }

    /// Places a guest's order (no account) from the browser's guest cart.
    /// Replays of the same key for the same e-mail return the same order. A
    /// guest is known by the e-mail address, not the browser: a new session
    /// does not give a fresh allowance of open orders.
    pub async fn place_as_guest(&self, guest_cart_id: &str, email: &str, req: PlaceOrder) -> Result<(Order, bool), OrderError> {
        let email = crate::domain::user::Email::parse(email)?.as_str().to_lowercase();
        let id = format!("guest_{}", &sha256_hex(&format!("vitrina guest {email}"))[..32]);
        let buyer = Buyer { id, role: Role::Customer, cart: guest_cart(guest_cart_id), guest_email: Some(email), email: None };
        self.place_for(&buyer, req).await
    }

    /// The token of a guest order's link: unguessable, and only for that order.
    pub fn guest_token(&self, order_id: &str) -> String {
        Self::link_token(&self.guest_key, order_id)
    }

    fn link_token(key: &[u8], order_id: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(key, order_id.as_bytes()))
    }

    /// A guest order through its link; `NotFound` for any other id or token.
    pub async fn guest_order(&self, id: &str, token: &str) -> Result<Order, OrderError> {
        let now = Utc::now();
        let keys = std::iter::once(self.guest_key.as_slice()).chain(self.guest_keys_before.iter().filter(|(_, until)| now < *until).map(|(k, _)| k.as_slice()));
        // compared in constant time: the answer's timing tells nothing about the token
        if !keys.map(|k| Self::link_token(k, id)).fold(false, |ok, expected| same_bytes(expected.as_bytes(), token.as_bytes()) | ok) {
            return Err(OrderError::NotFound);
        }
        match self.orders.order_by_id(id).await? {
            Some(o) if o.guest_email.is_some() && o.status != OrderStatus::Pending => Ok(o),
            _ => Err(OrderError::NotFound),
        }
    }

    /// Moves a guest order into the account of `user`, whose e-mail must be
    /// the one the guest gave: the order then appears among the user's orders.
    pub async fn claim_guest_order(&self, id: &str, token: &str, user: &User) -> Result<Order, OrderError> {
        for _ in 0..3 {
            let seen = self.guest_order(id, token).await?;
            if seen.user_id == user.id {
                return Ok(seen);
            }
            if !seen.guest_email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&user.email)) {
                return Err(OrderError::NotFound);
            }
            let mut order = seen.clone();
            let patch = order.claim(&user.id, Utc::now());
            // only the owner changes: a status change or a refund made meanwhile stays
            if self.write(&seen, &order, &patch).await? {
                return Ok(order);
            }
            // claimed or anonymised meanwhile: read it again
        }
        Err(OrderError::InProgress)
    }

    async fn place_for(&self, buyer: &Buyer, req: PlaceOrder) -> Result<(Order, bool), OrderError> {
        let (order, created) = self.place_stored(buyer, req).await?;
        // a card order gets its payment at the provider now; its secret goes back to the buyer only
        Ok((self.card_checkout(order, true).await?, created))
    }

    async fn place_stored(&self, buyer: &Buyer, req: PlaceOrder) -> Result<(Order, bool), OrderError> {
        // every problem of the address and the buyer at once
        let address = req.shipping_address.validate();
        let billing = req.billing.as_ref().map(|b| b.validate()).transpose();
        let (address, billing) = match (address, billing) {
            (Ok(a), Ok(b)) => (a, b.filter(|b| *b != crate::domain::billing::Billing::default())),
            (a, b) => return Err(OrderError::Invalid(a.err().into_iter().flatten().chain(b.err().into_iter().flatten()).collect())),
        };
        let key = req.idempotency_key.trim().to_string();
        if key.is_empty() || key.len() > 200 {
            return Err(FieldError::coded("field-idempotency-key", "Idempotency-Key", &[]).into());
        }
        let methods = self.payment_methods();
        if !methods.contains(&req.payment_method) {
            return Err(FieldError::coded("field-payment-method", "payment_method", &[("methods", &methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))]).into());
        }
        let from_cart = req.items.is_none();
        // the request as sent (not the cart's current contents) identifies a replay
        let mut basis = serde_json::to_string(&(&address, req.shipping_method, &req.items)).unwrap_or_default();
        if let Some(b) = &billing {
            basis.push_str(&serde_json::to_string(b).unwrap_or_default());
        }
        if req.payment_method != PaymentMethod::Cod {
            basis.push_str(req.payment_method.as_str());
        }
        if let Some(email) = &buyer.guest_email {
            basis.push_str(email);
        }
        // a code sent with the request is part of it; the cart's own code is the cart's contents
        let sent = req.coupon.as_deref().map(normalize_code).filter(|c| !c.is_empty());
        if let Some(c) = &sent {
            basis.push_str(&format!("coupon:{c}"));
        }
        let cart = if from_cart { Some(self.carts.cart(&buyer.cart).await?) } else { None };
        let coupon = sent.or_else(|| cart.as_ref().and_then(|c| c.coupon.clone()));
        let request_hash = sha256_hex(&basis);
        if let Some(done) = self.replay(&buyer.id, &key, &request_hash).await? {
            return Ok((done, false));
        }
        if buyer.role == Role::Customer && self.rules.max_open_orders > 0 {
            let count = self.orders.open_orders(&buyer.id, self.rules.max_open_orders).await?;
            if count >= self.rules.max_open_orders {
                return Err(OrderError::TooManyOpen(count));
            }
        }
        let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
        let lines = match (req.items, cart) {
            (Some(items), _) => items,
            (None, Some(cart)) => cart.lines,
            (None, None) => Vec::new(),
        };
        for l in &lines {
            validate_quantity(l.quantity, self.rules.max_line_quantity).map_err(|e| e.on(&format!("items.{}.quantity", l.sku)))?;
            let total = wanted.entry(l.sku.clone()).or_default();
            *total += l.quantity;
            // the per-line maximum holds per SKU: repeating a SKU over several lines does not pass it
            if *total > self.rules.max_line_quantity {
                return Err(FieldError::coded("field-quantity-per-sku", &format!("items.{}.quantity", l.sku), &[("max", &self.rules.max_line_quantity.to_string())]).into());
            }
        }
        if wanted.is_empty() {
            return Err(OrderError::EmptyCart);
        }

        // prices come from the catalog, never from the client
        let skus: Vec<String> = wanted.keys().cloned().collect();
        let found = lookup(&self.catalog, &skus).await?;
        let mut order_lines = Vec::new();
        let mut basket = Vec::new();
        for (sku, qty) in &wanted {
            let p = found.get(sku).ok_or_else(|| OrderError::UnknownSku(sku.clone()))?;
            let v = &p.variant;
            order_lines.push(OrderLine {
                sku: sku.clone(),
                product_id: p.product_id.clone(),
                slug: p.slug.clone(),
                name: p.name.clone(),
                options: v.options.clone(),
                unit_price: v.price.clone(),
                quantity: *qty,
                line_total: Money::new(v.price.amount * qty, &v.price.currency),
                discount_cents: 0,
                vat_rate: Some(p.vat_rate),
            });
            basket.push(price_line(p, v.price.amount * qty));
        }
        // the same engine as the cart: the best automatic promotion and the code
        let (totals, discounts) = match self.promotions() {
            Some(promotions) => {
                let priced = promotions.price(&basket, req.shipping_method, coupon.as_deref(), Some(buyer.customer())).await?;
                if let Some(refusal) = priced.code_refused {
                    return Err(OrderError::Coupon { refusal, field: "coupon" });
                }
                for (l, d) in order_lines.iter_mut().zip(&priced.line_discounts) {
                    l.discount_cents = *d;
                }
                (priced.totals, priced.applied)
            }
            None if coupon.is_some() => return Err(OrderError::Coupon { refusal: Refusal::Unknown, field: "coupon" }),
            None => (self.rules.pricing.totals(&basket.iter().map(|l| (l.amount, l.vat_rate)).collect::<Vec<_>>(), req.shipping_method), Vec::new()),
        };
        let now = Utc::now();
        let number = self.orders.next_order_number().await?;
        let mut order = Order {
            id: format!("o_{}", uuid::Uuid::new_v4().simple()),
            number: order_number(number),
            user_id: buyer.id.clone(),
            lines: order_lines,
            currency: shop_currency().into(),
            subtotal: Money::shop(totals.subtotal),
            shipping: Money::shop(totals.shipping),
            shipping_method: req.shipping_method,
            discount_cents: totals.discount,
            coupon: coupon.filter(|_| discounts.iter().any(|d| d.code.is_some())),
            discounts,
            vat: Money::shop(totals.vat),
            vat_percent: self.rules.pricing.vat_percent,
            total: Money::shop(totals.total),
            shipping_address: address,
            billing,
            payment_method: req.payment_method.as_str().into(),
            payment: Payment::new(req.payment_method, &Money::shop(totals.total)),
            status: OrderStatus::Pending,
            history: vec![],
            idempotency_key: Some(key.clone()),
            request_hash: request_hash.clone(),
            guest_email: buyer.guest_email.clone(),
            returns: vec![],
            returns_version: 0,
            returns_open: 0,
            created_at: now,
            updated_at: now,
        };
        match self.orders.insert_order(&order).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                // the same key is being placed concurrently
                return match self.replay(&buyer.id, &key, &request_hash).await? {
                    Some(done) => Ok((done, false)),
                    None => Err(OrderError::InProgress),
                };
            }
            Err(e) => return Err(e.into()),
        }

        // reserve every line; on any shortage give everything back
        let mut short = Vec::new();
        for line in &order.lines {
            match self.inventory.reserve(&order.id, &line.sku, line.quantity).await {
                Ok(Reservation::Reserved) => {}
                Ok(Reservation::Short { available }) => short.push(ShortLine { sku: line.sku.clone(), requested: line.quantity, available }),
                Ok(Reservation::UnknownSku) => short.push(ShortLine { sku: line.sku.clone(), requested: line.quantity, available: 0 }),
                Err(e) => {
                    self.abandon(&order).await;
                    return Err(e.into());
                }
            }
        }
        if !short.is_empty() {
            self.abandon(&order).await;
            crate::metrics::get().orders_refused.inc();
            return Err(OrderError::Short(short));
        }
        // the promotions' uses are counted like stock: a guarded write that fails past the limit
        if !order.discounts.is_empty() {
            if let Some(promotions) = self.promotions() {
                match promotions.redeem(&order, buyer.customer()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(refusal)) => {
                        self.abandon(&order).await;
                        return Err(OrderError::Coupon { refusal, field: "coupon" });
                    }
                    Err(e) => {
                        self.abandon(&order).await;
                        return Err(e.into());
                    }
                }
            }
        }
        // paid upfront: the stock is held while the order waits for its money
        let placed = if order.payment.method.paid_upfront() { OrderStatus::AwaitingPayment } else { OrderStatus::Placed };
        let pending = order.clone();
        let patch = order.transition(placed, Utc::now()).map_err(|(from, to)| OrderError::InvalidTransition { from, to })?;
        // the confirmation mail and `order.created` are stored with the order
        if !self.write(&pending, &order, &patch).await? {
            // repaired meanwhile (this placement took too long): undo
            self.abandon(&order).await;
            return Err(StoreError::Unavailable("the order took too long; please try again".into()).into());
        }
        for line in &order.lines {
            if let Err(e) = self.inventory.commit(&order.id, &line.sku).await {
                tracing::warn!(order = %order.id, sku = %line.sku, error = %e, "could not clear a hold marker (harmless)");
            }
        }
        let ordered: Vec<String> = order.lines.iter().map(|l| l.product_id.clone()).collect();
        if let Err(e) = self.orders.mark_ordered(&ordered).await {
            tracing::warn!(error = %e, "could not record ordered products");
        }
        if from_cart {
            if let Err(e) = self.carts.clear(&buyer.cart).await {
                tracing::warn!(error = %e, "could not clear the cart after an order");
            }
        }
        // off the shopper's request: the order's `stock.sync` task makes sure of it
        let this = self.clone();
        let placed = order.clone();
        tokio::spawn(async move { this.refresh_snapshot(&placed).await });
        crate::metrics::get().orders_placed.inc();
        if let Some(c) = &self.popularity {
            for l in &order.lines {
                c.track(crate::services::catalog::POPULAR, &l.slug, 10.0 * l.quantity as f64);
                c.track_trending(&l.product_id, 10.0 * l.quantity as f64);
            }
        }
        Ok((order, true))
    }

    /// Writes the fields `patch` changes from `before` to `after` (only where
    /// its guards hold), with what the change announces and the work that
    /// must follow it (mails, webhooks, tasks) in the same write.
    pub(super) async fn write(&self, before: &Order, after: &Order, patch: &crate::domain::patch::Patch) -> Result<bool, StoreError> {
        let events = order_events(before, after);
        if !self.orders.update_order(&after.id, patch, &events).await? {
            return Ok(false);
        }
        self.follow_up(&events).await;
        Ok(true)
    }

    /// Runs a change's document and restock tasks at once (best effort: the
    /// outbox has them too and repeats them until they are done).
    async fn follow_up(&self, events: &[crate::domain::outbox::OutboxEntry]) {
        use crate::domain::outbox::{tasks, EntryKind};
        for e in events.iter().filter(|e| e.kind == EntryKind::Task) {
            let Ok(data) = serde_json::from_str::<serde_json::Value>(&e.payload) else { continue };
            let outcome = if tasks::is_document_task(&e.topic) {
                match &self.documents {
                    Some(run) => run(e.topic.clone(), data).await,
                    None => continue,
                }
            } else if e.topic == tasks::RETURN_RESTOCK {
                self.restock_return(data["order_id"].as_str().unwrap_or_default(), data["return_id"].as_str().unwrap_or_default()).await.map(|_| String::new()).map_err(|e| e.to_string())
            } else {
                continue;
            };
            if let Err(err) = outcome {
                tracing::warn!(task = %e.id, error = %err, "not done yet; the outbox retries it");
            }
        }
    }

    async fn replay(&self, user_id: &str, key: &str, request_hash: &str) -> Result<Option<Order>, OrderError> {
        match self.orders.order_by_idempotency_key(user_id, key).await? {
            None => Ok(None),
            Some(o) if o.request_hash != request_hash => Err(OrderError::KeyMismatch),
            Some(o) if o.status == OrderStatus::Pending => Err(OrderError::InProgress),
            Some(o) => Ok(Some(o)),
        }
    }

    /// Releases whatever the order holds and removes the pending order.
    async fn abandon(&self, order: &Order) {
        if let Err(e) = self.release_promotions(&order.id).await {
            tracing::error!(order = %order.id, error = %e, "could not give back promotion uses; the repair task will retry");
            return;
        }
        for line in &order.lines {
            if let Err(e) = self.inventory.release(&order.id, &line.sku).await {
                tracing::error!(order = %order.id, sku = %line.sku, error = %e, "release failed; the repair task will retry");
                return;
            }
        }
        if let Err(e) = self.orders.delete_order_if(&order.id, OrderStatus::Pending).await {
            tracing::error!(order = %order.id, error = %e, "could not remove an abandoned order; the repair task will retry");
        }
    }

    /// Listing snapshots catch up with the inventory (eventual consistency),
    /// and every instance hears of it. Best effort here, at once: the order's
    /// `stock.sync` or `order.giveback` task does it again until it succeeds.
    async fn refresh_snapshot(&self, order: &Order) {
        let ids: Vec<String> = order.lines.iter().map(|l| l.product_id.clone()).collect();
        if let Err(e) = self.sync_stock(&ids).await {
            tracing::warn!(order = %order.id, error = %e, "stock snapshot not refreshed yet; its task retries");
        }
    }

    /// Copies the inventory into these products' listing snapshot and announces the change.
    pub(super) async fn sync_stock(&self, product_ids: &[String]) -> Result<(), StoreError> {
        self.catalog.sync_stock_snapshot(product_ids).await?;
        if let Some(c) = &self.popularity {
            c.products_changed(product_ids).await;
        }
        Ok(())
    }

    /// Gives back what a cancelled or expired order held: its stock (once per
    /// SKU) and its promotion uses (once), then the listings catch up. Every
    /// step is idempotent: the order's `order.giveback` task repeats it until
    /// all of it succeeded, so a crash in between loses nothing.
    pub async fn give_back(&self, order_id: &str) -> Result<(), OrderError> {
        let Some(order) = self.orders.order_by_id(order_id).await? else { return Ok(()) };
        if !matches!(order.status, OrderStatus::Cancelled | OrderStatus::Expired) {
            return Ok(());
        }
        for line in &order.lines {
            self.inventory.restock(&order.id, &line.sku, line.quantity).await?;
        }
        self.release_promotions(&order.id).await?;
        let ids: Vec<String> = order.lines.iter().map(|l| l.product_id.clone()).collect();
        self.sync_stock(&ids).await?;
        Ok(())
    }

    /// Undoes placements that died half-way (older than `age`): holds are
    /// released and the pending order removed. Returns how many.
    pub async fn repair_stale(&self, age: chrono::Duration) -> Result<usize, OrderError> {
        let stale = self.orders.stale_pending_orders(Utc::now() - age).await?;
        let mut n = 0;
        for order in stale {
            self.release_promotions(&order.id).await?;
            for line in &order.lines {
                self.inventory.release(&order.id, &line.sku).await?;
            }
            if self.orders.delete_order_if(&order.id, OrderStatus::Pending).await? {
                tracing::warn!(order = %order.id, "repaired a placement that died half-way: stock released");
                n += 1;
            }
        }
        Ok(n)
    }

    /// Does the work an order's task entry names (see `domain::outbox::tasks`);
    /// each is idempotent, so the relay may repeat it until it succeeds.
    pub async fn run_task(&self, topic: &str, data: &serde_json::Value) -> Result<String, OrderError> {
        use crate::domain::outbox::tasks;
        let text = |k: &str| data[k].as_str().unwrap_or_default().to_string();
        match topic {
            tasks::STOCK_SYNC => {
                let ids: Vec<String> = data["products"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
                self.sync_stock(&ids).await?;
                Ok(format!("stock snapshot of {} products", ids.len()))
            }
            tasks::GIVEBACK => {
                self.give_back(&text("order_id")).await?;
                Ok("stock and promotion uses given back".into())
            }
            tasks::REFUND => {
                self.reconcile_refund(&text("order_id"), &text("refund_id")).await?;
                Ok("refund reconciled with the provider".into())
            }
            tasks::RETURN_RESTOCK => {
                self.restock_return(&text("order_id"), &text("return_id")).await?;
                Ok("returned units back in stock".into())
            }
            other => Err(StoreError::Other(format!("unknown task {other}")).into()),
        }
    }

    /// The order if `user` owns it or is an admin; otherwise not found.
    pub async fn get(&self, user: &User, id: &str) -> Result<Order, OrderError> {
        match self.orders.order_by_id(id).await? {
            Some(o) if o.status != OrderStatus::Pending && (o.user_id == user.id || user.role == Role::Admin) => Ok(o),
            _ => Err(OrderError::NotFound),
        }
    }

    pub async fn list(&self, user: &User, page: u64, per_page: u64) -> Result<(Vec<Order>, u64), OrderError> {
        self.search(&OrderFilter { user_id: Some(user.id.clone()), ..Default::default() }, page, per_page).await
    }

    /// Any orders (admin), newest first.
    pub async fn search(&self, filter: &OrderFilter, page: u64, per_page: u64) -> Result<(Vec<Order>, u64), OrderError> {
        let (offset, limit) = crate::domain::query::page_window(page, per_page);
        Ok(self.orders.list_orders(filter, offset, limit).await?)
    }

    /// Moves an order along the state machine; cancelling returns the stock.
    pub async fn transition(&self, id: &str, to: OrderStatus) -> Result<Order, OrderError> {
        self.transition_with(id, to, |_| {}).await
    }

    /// Moves an order along the state machine, with `also` changing its
    /// payment in the same write (a provider event recorded as applied).
    /// The write sets the status, its history (and the payment when the move
    /// settles or closes it), guarded by the status read: a refund, an
    /// erasure or a claim made meanwhile is never overwritten.
    pub(super) async fn transition_with(&self, id: &str, to: OrderStatus, also: impl Fn(&mut Order)) -> Result<Order, OrderError> {
        for _ in 0..5 {
            let seen = self.orders.order_by_id(id).await?.filter(|o| o.status != OrderStatus::Pending).ok_or(OrderError::NotFound)?;
            let from = seen.status;
            let mut order = seen.clone();
            order.transition(to, Utc::now()).map_err(|(from, to)| OrderError::InvalidTransition { from, to })?;
            also(&mut order);
            let patch = order.changes_since(&seen).guard("status", &from);
            if !self.write(&seen, &order, &patch).await? {
                continue;
            }
            if matches!(to, OrderStatus::Cancelled | OrderStatus::Expired) {
                // at once, for the shopper who watches; the task written with the move makes sure
                if let Err(e) = self.give_back(&order.id).await {
                    tracing::warn!(order = %order.id, error = %e, "stock not given back yet; the order's task retries");
                }
            }
            if to == OrderStatus::Cancelled && from == OrderStatus::AwaitingPayment {
                // a card payment still open can no longer be made (one made meanwhile is refunded)
                self.cancel_card_quietly(&order).await;
            }
            return Ok(order);
        }
        Err(StoreError::Unavailable("the order is changing too fast; try again".into()).into())
    }

    /// The money of an order waiting for it came in (an admin saw the bank
    /// transfer): the order goes ahead. Only once: the step is guarded by the
    /// order's status, so a second call is refused.
    pub async fn mark_paid(&self, id: &str) -> Result<Order, OrderError> {
        let order = self.orders.order_by_id(id).await?.filter(|o| o.status != OrderStatus::Pending).ok_or(OrderError::NotFound)?;
        if order.status != OrderStatus::AwaitingPayment {
            return Err(OrderError::InvalidTransition { from: order.status, to: OrderStatus::Placed });
        }
        self.transition(id, OrderStatus::Placed).await
    }

    /// Orders still waiting for their money after the allowed time (days
    /// for a bank transfer, minutes for a card) expire and their stock goes
    /// back; a card payment is cancelled at the provider first, so it cannot
    /// be paid afterwards. Safe on several instances at once and after a
    /// restart: each expiry is one status-guarded write, and a stock return
    /// happens once per order and SKU. Returns how many this call expired.
    pub async fn expire_unpaid(&self, now: chrono::DateTime<Utc>) -> Result<usize, OrderError> {
        let mut expired = 0;
        let waits = [(PaymentMethod::BankTransfer, chrono::Duration::days(self.payments.transfer_days.max(0))), (PaymentMethod::Card, chrono::Duration::minutes(self.payments.card_minutes.max(1)))];
        for (method, wait) in waits {
            let waiting = OrderFilter { status: Some(OrderStatus::AwaitingPayment), to: Some(now - wait), ..Default::default() };
            let (due, _) = self.orders.list_orders(&waiting, 0, 500).await?;
            for order in due.iter().filter(|o| o.payment.method == method) {
                if method == PaymentMethod::Card && !self.close_card(order).await? {
                    continue;
                }
                match self.transition(&order.id, OrderStatus::Expired).await {
                    Ok(_) => expired += 1,
                    // paid or cancelled meanwhile, or another instance expired it first
                    Err(OrderError::InvalidTransition { .. } | OrderError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(expired)
    }

    /// Gives back part or all of what an order's customer paid.
    /// A card payment is refunded through the provider; the others are recorded by hand.
    /// The write adds the refund and its amount to the payment, guarded by the
    /// payment's version: two refunds never count against the same balance,
    /// and a status change made meanwhile stays.
    pub async fn refund(&self, id: &str, amount_cents: i64, reason: &str) -> Result<Order, OrderError> {
        for _ in 0..5 {
            let seen = self.orders.order_by_id(id).await?.filter(|o| o.status != OrderStatus::Pending).ok_or(OrderError::NotFound)?;
            let mut order = seen.clone();
            let through_provider = self.refunds_through_provider(&order);
            let (patch, refund_id) = order.refund(amount_cents, reason, through_provider, Utc::now())?;
            if !self.write(&seen, &order, &patch).await? {
                continue;
            }
            if through_provider {
                // recorded first, then sent: its `refund.reconcile` task follows it until the provider answers
                return self.send_refund(order, &refund_id).await;
            }
            return Ok(order);
        }
        Err(StoreError::Unavailable("the order is changing too fast; try again".into()).into())
    }

    /// A customer may cancel their own order while it is placed or confirmed.
    /// What they paid by card goes back to their card at once.
    pub async fn cancel_own(&self, user: &User, id: &str) -> Result<Order, OrderError> {
        self.get(user, id).await?;
        let cancelled = self.transition(id, OrderStatus::Cancelled).await?;
        Ok(self.refund_cancelled_card(cancelled).await)
    }
}
