//! Carts, checkout arithmetic, addresses and the order state machine.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::money::Money;
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

// ------------------------------------------------------------------ checkout

pub use super::pricing::{PricingRules, ShippingMethod, Totals};

/// ISO 3166-1 alpha-2 codes we ship to.
pub const COUNTRIES: &[(&str, &str)] = &[
    ("AT", "Austria"), ("BE", "Belgium"), ("BG", "Bulgaria"), ("HR", "Croatia"), ("CY", "Cyprus"), ("CZ", "Czechia"),
    ("DK", "Denmark"), ("EE", "Estonia"), ("FI", "Finland"), ("FR", "France"), ("DE", "Germany"), ("GR", "Greece"),
    ("HU", "Hungary"), ("IE", "Ireland"), ("IT", "Italy"), ("LV", "Latvia"), ("LT", "Lithuania"), ("LU", "Luxembourg"),
    ("MT", "Malta"), ("MD", "Moldova"), ("NL", "Netherlands"), ("NO", "Norway"), ("PL", "Poland"), ("PT", "Portugal"),
    ("RO", "Romania"), ("SK", "Slovakia"), ("SI", "Slovenia"), ("ES", "Spain"), ("SE", "Sweden"), ("CH", "Switzerland"),
    ("GB", "United Kingdom"), ("US", "United States"),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Address {
    pub name: String,
    pub street: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `RO`.
    pub country: String,
    pub phone: String,
}

impl Address {
    /// Trims and checks every field; all problems at once, each by field.
    pub fn validate(&self) -> Result<Address, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |field: &str, v: &str, max: usize, missing: &str| -> String {
            let t = v.trim();
            if t.is_empty() {
                errors.push(FieldError::coded(missing, field, &[]));
            } else if t.chars().count() > max || t.chars().any(char::is_control) {
                errors.push(FieldError::coded("field-max-chars", field, &[("max", &max.to_string())]));
            }
            t.to_string()
        };
        let name = text("name", &self.name, 100, "field-enter-recipient");
        let street = text("street", &self.street, 200, "field-enter-street");
        let city = text("city", &self.city, 100, "field-enter-city");
        let postal_code = self.postal_code.trim().to_uppercase();
        if postal_code.is_empty() {
            errors.push(FieldError::coded("field-enter-postal-code", "postal_code", &[]));
        } else if postal_code.len() > 10 || !postal_code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
            errors.push(FieldError::coded("field-postal-code-invalid", "postal_code", &[]));
        }
        let country = self.country.trim().to_uppercase();
        if !COUNTRIES.iter().any(|(c, _)| *c == country) {
            errors.push(FieldError::coded("field-country-invalid", "country", &[]));
        }
        let phone = self.phone.trim().to_string();
        let digits = phone.chars().filter(|c| c.is_ascii_digit()).count();
        if phone.is_empty() {
            errors.push(FieldError::coded("field-enter-phone", "phone", &[]));
        } else if !(6..=15).contains(&digits) || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
            errors.push(FieldError::coded("field-phone-invalid", "phone", &[]));
        }
        if errors.is_empty() {
            Ok(Address { name, street, city, postal_code, country, phone })
        } else {
            Err(errors)
        }
    }
}

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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// Moves to `next` if the state machine allows it, recording the change.
    pub fn transition(&mut self, next: OrderStatus, at: DateTime<Utc>) -> Result<(), (OrderStatus, OrderStatus)> {
        if !self.status.can_become(next) {
            return Err((self.status, next));
        }
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
        Ok(())
    }
}

impl Order {
    /// History entries a shopper sees (the internal `pending` step is hidden).
    pub fn visible_history(&self) -> Vec<StatusChange> {
        self.history.iter().filter(|h| h.status != OrderStatus::Pending).cloned().collect()
    }
}

pub fn order_number(n: u64) -> String {
    format!("VT-{n:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_include_shipping_and_the_vat_part() {
        let rules = PricingRules::default();
        let t = rules.totals(&[1999, 2000], ShippingMethod::Standard);
        assert_eq!(t.subtotal, 3999);
        assert_eq!(t.shipping, 1999);
        assert_eq!(t.total, 5998);
        assert_eq!(t.vat, 1041, "5998 × 21/121 = 1040.98 (Romania: 21 % since August 2025)");
        let free = rules.totals(&[25000], ShippingMethod::Standard);
        assert_eq!(free.shipping, 0);
        assert_eq!(rules.totals(&[25000], ShippingMethod::Express).shipping, 3499);
        assert_eq!(PricingRules { vat_percent: 0, ..rules }.totals(&[1000], ShippingMethod::Express).vat, 0);
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
        let errors = Address { name: " ".into(), street: "Str. Lunga 1".into(), city: "Cluj".into(), postal_code: "40$".into(), country: "XX".into(), phone: "12".into() }
            .validate()
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "postal_code", "country", "phone"]);
        let ok = Address { name: "Ana".into(), street: "Str. Lunga 1".into(), city: "Cluj".into(), postal_code: "400001".into(), country: "ro".into(), phone: "+40 712 345 678".into() }
            .validate()
            .unwrap();
        assert_eq!(ok.country, "RO");
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
