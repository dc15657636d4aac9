//! Carts, checkout arithmetic, addresses and the order state machine.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::money::Money;
use super::patch::Patch;
use super::user::FieldError;

// ------------------------------------------------------------------ cart

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CartLine {
    pub sku: String,
    pub quantity: i64,
}

/// A cart: SKUs and quantities only. Prices always come from the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    /// `u:<user id>` or `g:<guest cart id>`.
    pub owner: String,
    pub lines: Vec<CartLine>,
    /// Optimistic concurrency: each save increments it.
    pub version: i64,
    /// The coupon code entered (normalized), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Cart {
    pub fn empty(owner: &str) -> Self {
        Cart { owner: owner.to_string(), lines: vec![], version: 0, coupon: None, updated_at: Utc::now() }
    }
    pub fn quantity_of(&self, sku: &str) -> i64 {
        self.lines.iter().find(|l| l.sku == sku).map(|l| l.quantity).unwrap_or(0)
    }
    /// Sets a line's quantity (0 removes it), keeping the lines' order.
    pub fn set(&mut self, sku: &str, quantity: i64) {
        if quantity <= 0 {
            self.lines.retain(|l| l.sku != sku);
        } else if let Some(l) = self.lines.iter_mut().find(|l| l.sku == sku) {
            l.quantity = quantity;
        } else {
            self.lines.push(CartLine { sku: sku.to_string(), quantity });
        }
    }
    pub fn item_count(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    /// Applies one edit (a new version when it is allowed); a refusal leaves the cart as it was.
    pub fn apply(&mut self, edit: &CartEdit) -> Result<(), CartRefusal> {
        match edit {
            CartEdit::Add { sku, quantity, max_line, available } => {
                let wanted = self.quantity_of(sku) + quantity;
                if wanted > *max_line {
                    return Err(CartRefusal::PerLine { max: *max_line });
                }
                if wanted > *available {
                    return Err(CartRefusal::NotEnough { sku: sku.clone(), available: *available });
                }
                self.set(sku, wanted);
            }
            CartEdit::Set { sku, quantity, available } => {
                if self.quantity_of(sku) == 0 {
                    return Err(CartRefusal::NotInCart { sku: sku.clone() });
                }
                if quantity > available {
                    return Err(CartRefusal::NotEnough { sku: sku.clone(), available: *available });
                }
                self.set(sku, *quantity);
            }
            CartEdit::Remove { sku } => {
                if self.quantity_of(sku) == 0 {
                    return Err(CartRefusal::NotInCart { sku: sku.clone() });
                }
                self.set(sku, 0);
            }
            CartEdit::Coupon(code) => self.coupon = code.clone(),
        }
        self.version += 1;
        self.updated_at = Utc::now();
        Ok(())
    }
}

/// One change a shopper makes to a cart, checked against the cart it lands
/// on (so a store can apply it in one round-trip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartEdit {
    /// Adds `quantity`: the line stays within `max_line` and `available`.
    Add { sku: String, quantity: i64, max_line: i64, available: i64 },
    /// Sets the quantity of a line the cart has (within `available`).
    Set { sku: String, quantity: i64, available: i64 },
    /// Takes a line out.
    Remove { sku: String },
    /// Enters (or, with none, takes out) a coupon code.
    Coupon(Option<String>),
}

/// Why a cart edit was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartRefusal {
    /// More than a line may hold.
    PerLine { max: i64 },
    /// More than is available.
    NotEnough { sku: String, available: i64 },
    /// The line is not in the cart.
    NotInCart { sku: String },
}

/// Adds `from` into `into`: quantities add up, each capped by `cap(sku)`
/// (what is available, and the per-line maximum).
pub fn merge_carts(into: &mut Cart, from: &Cart, cap: impl Fn(&str) -> i64) {
    for line in &from.lines {
        let wanted = into.quantity_of(&line.sku) + line.quantity;
        into.set(&line.sku, wanted.min(cap(&line.sku)).max(0));
    }
}

pub fn validate_quantity(q: i64, max: i64) -> Result<i64, FieldError> {
    if q < 1 || q > max {
        return Err(FieldError::coded("field-quantity-range", "quantity", &[("max", &max.to_string())]));
    }
    Ok(q)
}

/// A priced cart line, as the shopper sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CartLineView {
    pub sku: String,
    pub product_id: String,
    pub slug: String,
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub image_url: Option<String>,
    pub unit_price: Money,
    pub quantity: i64,
    pub line_total: Money,
    /// Taken off this line by promotions (minor units).
    #[serde(default)]
    pub discount_cents: i64,
    /// Available now (fresh from inventory).
    pub available: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CartView {
    pub lines: Vec<CartLineView>,
    pub subtotal: Money,
    pub item_count: i64,
    /// The promotions that apply now (the best automatic one, the code).
    #[serde(default)]
    pub discounts: Vec<crate::domain::promotion::AppliedDiscount>,
    /// Off the lines (shipping discounts show at checkout).
    #[serde(default)]
    pub discount: Money,
    /// Subtotal minus the discount, before shipping.
    #[serde(default)]
    pub total: Money,
    /// The code entered, if any.
    #[serde(default)]
    pub coupon: Option<String>,
    /// Why the code entered does not apply now (below its minimum, expired…).
    #[serde(default)]
    pub coupon_error: Option<FieldError>,
}

impl CartView {
    pub fn empty() -> Self {
        CartView { lines: vec![], subtotal: Money::shop(0), item_count: 0, discounts: vec![], discount: Money::shop(0), total: Money::shop(0), coupon: None, coupon_error: None }
    }
}

pub use super::address::{county_name, ro_county, Address, BUCHAREST, COUNTRIES, RO_COUNTIES};
pub use super::pricing::{PricingRules, ShippingMethod, Totals};

// ------------------------------------------------------------------ orders

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum OrderStatus {
    /// Internal: stock is being reserved. Never shown; repaired if stuck.
    Pending,
    /// Stock is reserved; the order goes ahead once paid (bank transfer, card).
    #[serde(rename = "awaiting_payment")]
    AwaitingPayment,
    Placed,
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
    /// Not paid in time: the stock went back.
    Expired,
}

impl OrderStatus {
    pub const VISIBLE: [OrderStatus; 7] = [
        OrderStatus::AwaitingPayment,
        OrderStatus::Placed,
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Placed => "placed",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [OrderStatus::Pending].into_iter().chain(Self::VISIBLE).find(|x| x.as_str() == s)
    }
    /// A status a person may name, to filter by or to move an order to:
    /// never `pending`, the moment an order is being placed.
    pub fn parse_visible(s: &str) -> Option<Self> {
        Self::VISIBLE.into_iter().find(|x| x.as_str() == s)
    }
    /// placed → confirmed → shipped → delivered; placed or confirmed →
    /// cancelled. An order paid upfront waits first: awaiting payment →
    /// placed (paid), cancelled or expired.
    pub fn can_become(&self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Pending, Placed | AwaitingPayment)
                | (AwaitingPayment, Placed | Cancelled | Expired)
                | (Placed, Confirmed)
                | (Confirmed, Shipped)
                | (Shipped, Delivered)
                | (Placed, Cancelled)
                | (Confirmed, Cancelled)
        )
    }
    /// Hold stock that is not sold yet: counted against a shopper's open orders.
    pub const OPEN: [OrderStatus; 2] = [OrderStatus::AwaitingPayment, OrderStatus::Placed];
    pub fn label(&self) -> &'static str {
        match self {
            OrderStatus::Pending => "Processing",
            OrderStatus::AwaitingPayment => "Awaiting payment",
            OrderStatus::Placed => "Placed",
            OrderStatus::Confirmed => "Confirmed",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Expired => "Expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub sku: String,
    pub product_id: String,
    pub slug: String,
    pub name: String,
    pub options: BTreeMap<String, String>,
    /// Price snapshot at the time of the order (VAT-inclusive).
    pub unit_price: Money,
    pub quantity: i64,
    pub line_total: Money,
    /// Taken off this line by promotions (minor units).
    #[serde(default)]
    pub discount_cents: i64,
    /// The VAT rate its price includes (percent), as the product had it when
    /// ordered; an order from before rates per product has the order's rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_rate: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: String,
    /// Human-readable, e.g. `VT-000123`.
    pub number: String,
    pub user_id: String,
    pub lines: Vec<OrderLine>,
    pub currency: String,
    pub subtotal: Money,
    pub shipping: Money,
    pub shipping_method: ShippingMethod,
    /// Taken off by promotions (lines and shipping): `total = subtotal + shipping - discount_cents`.
    #[serde(default)]
    pub discount_cents: i64,
    /// The coupon code used, if any.
    #[serde(default)]
    pub coupon: Option<String>,
    /// The promotions it received, as they were when it was placed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<crate::domain::promotion::AppliedDiscount>,
    pub vat: Money,
    /// The VAT rate `vat` was computed with, in percent (the rate in force when it was placed).
    pub vat_percent: i64,
    pub total: Money,
    pub shipping_address: Address,
    /// Who it is invoiced to: a person (the default, the shipping recipient)
    /// or a company by its CUI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<super::billing::Billing>,
    /// `cod`, `bank_transfer` or `card` (the same as `payment.method`).
    pub payment_method: String,
    /// The payment (orders from before payments came in read as cash on delivery).
    #[serde(default)]
    pub payment: crate::domain::payment::Payment,
    pub status: OrderStatus,
    pub history: Vec<StatusChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub idempotency_key: Option<String>,
    /// Hash of the request that created it (replays must match).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub request_hash: String,
    /// The e-mail of a guest (an order placed without an account); the guest
    /// sees the order through a link with a token derived from its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_email: Option<String>,
    /// Returns asked for (the right of withdrawal), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returns: Vec<super::returns::Return>,
    /// Counts changes of `returns`: each is guarded by the count read.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub returns_version: u64,
    /// How many returns are open (the panel finds them by it; absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub returns_open: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Order {
    /// Moves to `next` if the state machine allows it, recording the change.
    /// Returns what the move writes: the status, its history and timestamp
    /// (and the payment when the move settles or closes it), guarded by the
    /// status it moved from.
    pub fn transition(&mut self, next: OrderStatus, at: DateTime<Utc>) -> Result<Patch, (OrderStatus, OrderStatus)> {
        if !self.status.can_become(next) {
            return Err((self.status, next));
        }
        let before = self.clone();
        // the payment follows the order: paid to go ahead, closed when it will not be paid,
        // and cash on delivery is collected at the door
        use crate::domain::payment::{PaymentMethod, PaymentStatus};
        match (self.status, next) {
            (OrderStatus::AwaitingPayment, OrderStatus::Placed) => {
                self.payment.settle();
            }
            (_, OrderStatus::Expired) => self.payment.close(PaymentStatus::Expired),
            (_, OrderStatus::Cancelled) => self.payment.close(PaymentStatus::Voided),
            (_, OrderStatus::Delivered) if self.payment.method == PaymentMethod::Cod => {
                self.payment.settle();
            }
            _ => {}
        }
        self.status = next;
        self.history.push(StatusChange { status: next, at });
        self.updated_at = at;
        Ok(self.changes_since(&before).guard("status", &before.status))
    }

    /// What changed since `before`, as a patch. A change of the payment
    /// counts one more payment version and is guarded by the version read:
    /// payment steps (settling, refunds, a provider's answer) never overwrite
    /// each other, and never touch what other steps own.
    pub fn changes_since(&mut self, before: &Order) -> Patch {
        let paid = self.payment != before.payment;
        if paid {
            self.payment.version = before.payment.version + 1;
        }
        // returns too: the list is written whole, so each change is guarded by the count read
        let returned = self.returns != before.returns;
        if returned {
            self.returns_version = before.returns_version + 1;
            self.returns_open = self.returns.iter().filter(|r| r.is_open()).count() as u64;
        }
        let mut patch = Patch::diff(before, self);
        if paid {
            // a payment never changed has no version stored (it reads as absent)
            patch = patch.guard("payment.version", &Some(before.payment.version).filter(|v| *v > 0));
        }
        if returned {
            patch = patch.guard("returns_version", &Some(before.returns_version).filter(|v| *v > 0));
        }
        patch
    }

    /// Records a refund of `amount` (`pending`: the provider still has to
    /// make it). Returns what it writes and the refund's id.
    pub fn refund(&mut self, amount: i64, reason: &str, pending: bool, at: DateTime<Utc>) -> Result<(Patch, String), FieldError> {
        let before = self.clone();
        let id = self.payment.refund(amount, reason, pending, at)?;
        self.updated_at = at;
        Ok((self.changes_since(&before), id))
    }

    /// The provider's answer to a pending refund (`None`: it was not pending).
    pub fn settle_refund(&mut self, id: &str, succeeded: bool, at: DateTime<Utc>) -> Option<Patch> {
        let before = self.clone();
        if !self.payment.settle_refund(id, succeeded) {
            return None;
        }
        self.updated_at = at;
        Some(self.changes_since(&before))
    }

    /// The provider's payment for this order (once: `None` when it has one).
    pub fn attach_payment(&mut self, reference: &str, at: DateTime<Utc>) -> Option<Patch> {
        if self.payment.provider_reference.is_some() {
            return None;
        }
        let before = self.clone();
        self.payment.provider_reference = Some(reference.to_string());
        self.updated_at = at;
        Some(self.changes_since(&before))
    }

    /// A payment attempt failed (a declined card): recorded while the order
    /// still waits for its money (`None` when there is nothing to record).
    pub fn payment_failed(&mut self, why: &str, at: DateTime<Utc>) -> Option<Patch> {
        if self.status != OrderStatus::AwaitingPayment || self.payment.failure.as_deref() == Some(why) {
            return None;
        }
        let before = self.clone();
        if !self.payment.fail(why) {
            return None;
        }
        self.updated_at = at;
        Some(self.changes_since(&before).guard("status", &OrderStatus::AwaitingPayment))
    }

    /// Moves a guest's order into the account `user_id`: only while it is
    /// still the guest's (owner and e-mail as read).
    pub fn claim(&mut self, user_id: &str, at: DateTime<Utc>) -> Patch {
        let before = self.clone();
        self.user_id = user_id.to_string();
        self.updated_at = at;
        self.changes_since(&before).guard("user_id", &before.user_id).guard("guest_email", &before.guest_email)
    }

    /// The order without what points at a person: the address (the country
    /// stays, for VAT), the guest's e-mail, and the owner's id when it was
    /// derived from that e-mail (`owner`). `None` when nothing is left to remove.
    pub fn anonymise(&mut self, owner: &str, at: DateTime<Utc>) -> Option<Patch> {
        let before = self.clone();
        let a = &self.shipping_address;
        self.shipping_address = Address { name: "—".into(), street: String::new(), city: String::new(), postal_code: String::new(), country: a.country.clone(), phone: String::new(), county: a.county.clone(), sector: None };
        self.guest_email = None;
        self.user_id = owner.to_string();
        if *self == before {
            return None;
        }
        self.updated_at = at;
        // the owner and the e-mail go together: the stores keep who bought what by them
        Some(self.changes_since(&before).set("user_id", &self.user_id).set("guest_email", &None::<String>))
    }
}

impl Order {
    /// The VAT rate of a line (the order's rate for an order from before rates per product).
    pub fn line_rate(&self, line: &OrderLine) -> i64 {
        line.vat_rate.unwrap_or(self.vat_percent)
    }

    /// What shipping came to after its discount (a free-shipping promotion).
    pub fn shipping_charged(&self) -> i64 {
        let lines_off: i64 = self.lines.iter().map(|l| l.discount_cents).sum();
        self.shipping.amount - (self.discount_cents - lines_off).max(0)
    }

    /// The order's VAT per rate: each line after its discount at its rate,
    /// shipping at the order's standard rate. Adds up to `vat` and `total`.
    pub fn vat_parts(&self) -> Vec<super::pricing::VatPart> {
        let mut amounts: Vec<(i64, i64)> = self.lines.iter().map(|l| (l.line_total.amount - l.discount_cents, self.line_rate(l))).collect();
        amounts.push((self.shipping_charged(), self.vat_percent));
        super::pricing::vat_parts(&amounts)
    }

    /// History entries a shopper sees (the internal `pending` step is hidden).
    pub fn visible_history(&self) -> Vec<StatusChange> {
        self.history.iter().filter(|h| h.status != OrderStatus::Pending).cloned().collect()
    }
}

pub fn order_number(n: u64) -> String {
    format!("VT-{n:06}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An order of two lines, in `status`, paid by `method` (pending payment).
    pub(crate) fn sample(status: OrderStatus, method: crate::domain::payment::PaymentMethod) -> Order {
        let at: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let line = |sku: &str, q: i64| OrderLine { sku: sku.into(), product_id: format!("p-{sku}"), slug: sku.into(), name: sku.into(), options: Default::default(), unit_price: Money::shop(1000), quantity: q, line_total: Money::shop(1000 * q), discount_cents: 0, vat_rate: Some(21) };
        let total = Money::shop(3000);
        Order {
            id: "o_1".into(), number: "VT-000001".into(), user_id: "u1".into(), lines: vec![line("A", 1), line("B", 2)], currency: total.currency.clone(),
            subtotal: total.clone(), shipping: Money::shop(0), shipping_method: ShippingMethod::Standard, discount_cents: 0, coupon: None, discounts: vec![],
            vat: Money::shop(521), vat_percent: 21, total: total.clone(),
            shipping_address: Address { name: "Ana Pop".into(), street: "Str. Lungă 1".into(), city: "Cluj".into(), postal_code: "400001".into(), country: "RO".into(), phone: "+40712345678".into(), county: "RO-CJ".into(), sector: None },
            billing: None, payment_method: method.as_str().into(), payment: crate::domain::payment::Payment::new(method, &total), status, history: vec![StatusChange { status, at }],
            idempotency_key: None, request_hash: String::new(), guest_email: None, returns: vec![], returns_version: 0,
            returns_open: 0, created_at: at, updated_at: at,
        }
    }

    fn paths(p: &Patch) -> Vec<&str> {
        let mut v: Vec<&str> = p.sets.iter().map(|(k, _)| k.as_str()).collect();
        v.sort();
        v
    }

    #[test]
    fn each_step_writes_only_its_fields_guarded_by_what_it_read() {
        use crate::domain::payment::{PaymentMethod, PaymentStatus};
        let at: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        // a status change: the status, its history and time; guarded by the status
        let mut o = sample(OrderStatus::Placed, PaymentMethod::Cod);
        let p = o.transition(OrderStatus::Confirmed, at).unwrap();
        assert_eq!(paths(&p), ["history", "status", "updated_at"]);
        assert_eq!(p.guards, vec![("status".to_string(), serde_json::json!("placed"))]);
        // paying a transfer moves the payment too, guarded by the payment as read
        let mut o = sample(OrderStatus::AwaitingPayment, PaymentMethod::BankTransfer);
        let p = o.transition(OrderStatus::Placed, at).unwrap();
        assert_eq!(paths(&p), ["history", "payment.status", "payment.version", "status", "updated_at"]);
        assert!(p.guards.contains(&("payment.version".to_string(), serde_json::Value::Null)), "a payment never changed has no version stored");
        assert_eq!(o.payment.status, PaymentStatus::Paid);
        // a refund: the payment only; never the status, the address or the history
        let before = o.clone();
        let (p, id) = o.refund(400, "scratch", false, at + chrono::Duration::seconds(1)).unwrap();
        assert_eq!(id, "rf_1");
        assert_eq!(paths(&p), ["payment.refunded_cents", "payment.refunds", "payment.status", "payment.version", "updated_at"]);
        assert_eq!(p.guards, vec![("payment.version".to_string(), serde_json::json!(1))]);
        // applied to the order as a status change left it, both stick
        let mut body = serde_json::to_value(&before).unwrap();
        let mut shipped = before.clone();
        let ship = shipped.transition(OrderStatus::Confirmed, at).unwrap();
        assert!(ship.holds(&body) && p.holds(&body));
        ship.apply(&mut body);
        assert!(p.holds(&body), "a status change does not touch what a refund depends on");
        p.apply(&mut body);
        let both: Order = serde_json::from_value(body).unwrap();
        assert_eq!((both.status, both.payment.refunded_cents), (OrderStatus::Confirmed, 400));
        // erasure: the address, the guest's e-mail and an owner derived from it
        let mut g = sample(OrderStatus::Placed, PaymentMethod::Cod);
        g.guest_email = Some("ana@example.ro".into());
        let p = g.anonymise("guest_erased", at).unwrap();
        assert_eq!(paths(&p), ["guest_email", "shipping_address.city", "shipping_address.name", "shipping_address.phone", "shipping_address.postal_code", "shipping_address.street", "updated_at", "user_id"], "the country stays");
        assert!(g.anonymise("guest_erased", at).is_none(), "nothing left to erase");
        // a claim: the owner, only while it is the guest's
        let mut c = sample(OrderStatus::Placed, PaymentMethod::Cod);
        c.guest_email = Some("ana@example.ro".into());
        let p = c.claim("u9", at);
        assert_eq!(paths(&p), ["updated_at", "user_id"]);
        assert!(p.guards.contains(&("user_id".to_string(), serde_json::json!("u1"))));
    }

    #[test]
    fn totals_include_shipping_and_the_vat_part() {
        let rules = PricingRules::default();
        let t = rules.totals(&[(1999, 21), (2000, 21)], ShippingMethod::Standard);
        assert_eq!(t.subtotal, 3999);
        assert_eq!(t.shipping, 1999);
        assert_eq!(t.total, 5998);
        assert_eq!(t.vat, 1041, "5998 × 21/121 = 1040.98 (Romania: 21 % since August 2025)");
        let free = rules.totals(&[(25000, 21)], ShippingMethod::Standard);
        assert_eq!(free.shipping, 0);
        assert_eq!(rules.totals(&[(25000, 21)], ShippingMethod::Express).shipping, 3499);
        assert_eq!(PricingRules { vat_percent: 0, ..rules }.totals(&[(1000, 0)], ShippingMethod::Express).vat, 0);
        let mixed = rules.totals(&[(4999, 11), (12999, 21)], ShippingMethod::Standard);
        assert_eq!(mixed.vat, crate::domain::pricing::vat_parts(&[(4999, 11), (12999, 21), (1999, 21)]).iter().map(|p| p.vat).sum::<i64>(), "a book at 11 %, the rest at 21 %");
    }

    #[test]
    fn state_machine() {
        use OrderStatus::*;
        assert!(Placed.can_become(Confirmed) && Confirmed.can_become(Shipped) && Shipped.can_become(Delivered));
        assert!(Placed.can_become(Cancelled) && Confirmed.can_become(Cancelled));
        assert!(!Shipped.can_become(Cancelled) && !Delivered.can_become(Placed) && !Cancelled.can_become(Placed));
        assert!(!Placed.can_become(Shipped), "no skipping");
    }

    #[test]
    fn addresses_are_validated_by_field() {
        let errors = Address { name: " ".into(), street: "Str. Lunga 1".into(), city: "Cluj".into(), postal_code: "40$".into(), country: "XX".into(), phone: "12".into(), ..Default::default() }
            .validate()
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "postal_code", "country", "phone"]);
        let ana = Address { name: "Ana".into(), street: "Str. Lunga 1".into(), city: "Cluj".into(), postal_code: "400001".into(), country: "ro".into(), phone: "+40 712 345 678".into(), county: "cj".into(), sector: None };
        let ok = ana.validate().unwrap();
        assert_eq!((ok.country.as_str(), ok.county.as_str()), ("RO", "RO-CJ"));
        // a Romanian address names its county, and in Bucharest its sector
        let fields = |a: Address| a.validate().unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(Address { county: String::new(), ..ana.clone() }), ["county"]);
        assert_eq!(fields(Address { county: "XX".into(), ..ana.clone() }), ["county"]);
        assert_eq!(fields(Address { county: "RO-B".into(), ..ana.clone() }), ["sector"]);
        assert_eq!(fields(Address { county: "RO-B".into(), sector: Some(7), ..ana.clone() }), ["sector"]);
        assert_eq!(Address { county: "ro-b".into(), sector: Some(3), ..ana.clone() }.validate().unwrap().sector, Some(3));
        assert_eq!(Address { county: "RO-CJ".into(), sector: Some(3), ..ana.clone() }.validate().unwrap().sector, None, "a sector only in Bucharest");
        assert!(Address { country: "DE".into(), county: String::new(), ..ana.clone() }.validate().is_ok(), "elsewhere a region is optional");
        assert_eq!(RO_COUNTIES.len(), 42, "41 counties and Bucharest");
    }

    #[test]
    fn carts_merge_with_caps() {
        let mut user = Cart::empty("u:1");
        user.set("A", 2);
        let mut guest = Cart::empty("g:1");
        guest.set("A", 5);
        guest.set("B", 1);
        merge_carts(&mut user, &guest, |sku| if sku == "A" { 4 } else { 99 });
        assert_eq!(user.quantity_of("A"), 4);
        assert_eq!(user.quantity_of("B"), 1);
        user.set("A", 0);
        assert_eq!(user.lines.len(), 1);
        assert!(validate_quantity(0, 99).is_err() && validate_quantity(100, 99).is_err() && validate_quantity(5, 99).is_ok());
    }
}
