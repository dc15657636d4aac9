//! Promotions: coupon codes and automatic discounts, and the one rule engine
//! that prices a basket with them (cart, checkout, order, listing price).
//!
//! Stacking: at most one code per order, combined with the best automatic
//! promotion (the one worth most on this basket). The automatic one applies
//! first; the code applies to what is left of each line, so a line never goes
//! below zero. Amounts are rounded to the minor unit and shared among the
//! lines by largest remainder, so per-line amounts add up exactly to the
//! order's discount. Shipping is charged on the discounted subtotal, and the
//! VAT is the part of the discounted total.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::category::CategoryPath;
use super::pricing::{PricingRules, ShippingMethod, Totals};
use super::user::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PromoKind {
    /// `value` percent off (1–100).
    Percent,
    /// `value` minor units off (never more than what it applies to).
    Fixed,
    /// Shipping costs nothing.
    FreeShipping,
}

impl PromoKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PromoKind::Percent => "percent",
            PromoKind::Fixed => "fixed",
            PromoKind::FreeShipping => "free_shipping",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [PromoKind::Percent, PromoKind::Fixed, PromoKind::FreeShipping].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Scope {
    /// Every line.
    #[default]
    Order,
    /// Lines of the products in `ids`.
    Products,
    /// Lines of products in the categories in `ids` (or below them).
    Categories,
}

impl Scope {
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Order => "order",
            Scope::Products => "products",
            Scope::Categories => "categories",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Scope::Order, Scope::Products, Scope::Categories].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppliesTo {
    pub scope: Scope,
    /// Product ids or category paths (empty for `order`).
    #[serde(default)]
    pub ids: Vec<String>,
}

/// What an admin sends to create or change a promotion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PromotionInput {
    pub name: String,
    /// Absent or null: automatic. Case-insensitive (stored upper-case).
    #[serde(default)]
    pub code: Option<String>,
    pub kind: PromoKind,
    /// Percent points for `percent`, minor units for `fixed`, ignored for `free_shipping`.
    #[serde(default)]
    pub value: i64,
    #[serde(default)]
    pub applies_to: AppliesTo,
    #[serde(default)]
    pub min_subtotal_cents: i64,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Orders that may use it in all (absent: no limit).
    #[serde(default)]
    pub usage_limit: Option<i64>,
    /// Orders one customer may use it in (absent: no limit).
    #[serde(default)]
    pub per_customer_limit: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Promotion {
    pub id: String,
    pub name: String,
    pub code: Option<String>,
    pub kind: PromoKind,
    pub value: i64,
    pub applies_to: AppliesTo,
    pub min_subtotal_cents: i64,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A promotion with what it brought in (the admin list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PromotionReport {
    #[serde(flatten)]
    pub promotion: Promotion,
    /// Orders that used it (not cancelled or expired).
    pub redemptions: i64,
    /// The totals of those orders, in minor units.
    pub revenue_cents: i64,
}

pub const MAX_IDS: usize = 500;

/// A code as stored and compared: trimmed, upper-case.
pub fn normalize_code(code: &str) -> String {
    code.trim().to_uppercase()
}

impl PromotionInput {
    /// Trims and checks every field; all problems at once, each by field.
    pub fn validate(mut self) -> Result<PromotionInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > 100 || self.name.chars().any(char::is_control) {
            errors.push(FieldError::coded("field-promo-name", "name", &[]));
        }
        self.code = self.code.as_deref().map(normalize_code).filter(|c| !c.is_empty());
        if let Some(code) = &self.code {
            if !(3..=32).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                errors.push(FieldError::coded("field-promo-code", "code", &[]));
            }
        }
        match self.kind {
            PromoKind::Percent if !(1..=100).contains(&self.value) => errors.push(FieldError::coded("field-promo-percent", "value", &[])),
            PromoKind::Fixed if !(1..=100_000_000_00).contains(&self.value) => errors.push(FieldError::coded("field-promo-fixed", "value", &[])),
            PromoKind::FreeShipping => self.value = 0,
            _ => {}
        }
        let mut ids: Vec<String> = self.applies_to.ids.iter().map(|i| i.trim().trim_matches('/').to_string()).filter(|i| !i.is_empty()).collect();
        ids.sort();
        ids.dedup();
        match self.applies_to.scope {
            Scope::Order => ids.clear(),
            _ if ids.is_empty() || ids.len() > MAX_IDS || ids.iter().any(|i| i.len() > 200 || i.chars().any(char::is_control)) => errors.push(FieldError::coded("field-promo-ids", "applies_to.ids", &[("max", &MAX_IDS.to_string())])),
            Scope::Categories if !ids.iter().all(|c| CategoryPath::is_valid(c)) => errors.push(FieldError::coded("field-category-invalid", "applies_to.ids", &[])),
            _ => {}
        }
        self.applies_to.ids = ids;
        if self.min_subtotal_cents < 0 || self.min_subtotal_cents > 100_000_000_00 {
            errors.push(FieldError::coded("field-promo-min", "min_subtotal_cents", &[]));
        }
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at) {
            if e <= s {
                errors.push(FieldError::coded("field-promo-ends", "ends_at", &[]));
            }
        }
        for (field, limit) in [("usage_limit", self.usage_limit), ("per_customer_limit", self.per_customer_limit)] {
            if limit.is_some_and(|l| !(1..=1_000_000_000).contains(&l)) {
                errors.push(FieldError::coded("field-promo-limit", field, &[]));
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }

    pub fn into_promotion(self, id: String, created_at: DateTime<Utc>, now: DateTime<Utc>) -> Promotion {
        Promotion {
            id,
            name: self.name,
            code: self.code,
            kind: self.kind,
            value: self.value,
            applies_to: self.applies_to,
            min_subtotal_cents: self.min_subtotal_cents,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            active: self.active,
            created_at,
            updated_at: now,
        }
    }
}

impl Promotion {
    pub fn input(&self) -> PromotionInput {
        PromotionInput {
            name: self.name.clone(),
            code: self.code.clone(),
            kind: self.kind,
            value: self.value,
            applies_to: self.applies_to.clone(),
            min_subtotal_cents: self.min_subtotal_cents,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            active: self.active,
        }
    }

    pub fn is_automatic(&self) -> bool {
        self.code.is_none()
    }

    /// Whether it applies to a line of `product_id` in `category`.
    pub fn covers(&self, product_id: &str, category: &str) -> bool {
        match self.applies_to.scope {
            Scope::Order => true,
            Scope::Products => self.applies_to.ids.iter().any(|i| i == product_id),
            Scope::Categories => self.applies_to.ids.iter().any(|c| category == c || category.strip_prefix(c.as_str()).is_some_and(|rest| rest.starts_with('/'))),
        }
    }

    /// Whether it can be used now on an order of `subtotal` (before discounts).
    pub fn check(&self, now: DateTime<Utc>, subtotal: i64) -> Result<(), Refusal> {
        if !self.active {
            return Err(Refusal::Paused);
        }
        if self.starts_at.is_some_and(|s| now < s) {
            return Err(Refusal::NotStarted);
        }
        if self.ends_at.is_some_and(|e| now >= e) {
            return Err(Refusal::Expired);
        }
        if subtotal < self.min_subtotal_cents {
            return Err(Refusal::BelowMinimum { min: self.min_subtotal_cents });
        }
        Ok(())
    }

    /// Live now (active and within its dates), whatever the basket.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.check(now, i64::MAX).is_ok()
    }

    /// What it takes off each line, given what is `left` of each line.
    fn line_amounts(&self, lines: &[PriceLine], left: &[i64]) -> Vec<i64> {
        let weights: Vec<i64> = lines.iter().zip(left).map(|(l, r)| if self.covers(&l.product_id, &l.category) { (*r).max(0) } else { 0 }).collect();
        let base: i64 = weights.iter().sum();
        let total = match self.kind {
            PromoKind::Percent => round_div(base as i128 * self.value as i128, 100),
            PromoKind::Fixed => self.value.min(base),
            PromoKind::FreeShipping => 0,
        };
        share(total, &weights)
    }
}

/// Why a code (or a promotion) does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    Unknown,
    Paused,
    NotStarted,
    Expired,
    BelowMinimum { min: i64 },
    /// Nothing in the basket is covered by it.
    NotApplicable,
    UsedUp,
    /// The customer has used it as often as allowed.
    UsedUpByYou,
}

impl Refusal {
    /// The message key in the catalogues (`field-coupon-…`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unknown => "field-coupon-unknown",
            Refusal::Paused => "field-coupon-paused",
            Refusal::NotStarted => "field-coupon-not-started",
            Refusal::Expired => "field-coupon-expired",
            Refusal::BelowMinimum { .. } => "field-coupon-minimum",
            Refusal::NotApplicable => "field-coupon-not-applicable",
            Refusal::UsedUp => "field-coupon-used-up",
            Refusal::UsedUpByYou => "field-coupon-used-by-you",
        }
    }
    /// The refusal as a field error on `field`.
    pub fn on(&self, field: &str) -> FieldError {
        match self {
            Refusal::BelowMinimum { min } => FieldError::coded(self.code(), field, &[("min", &super::money::to_decimal(*min))]),
            _ => FieldError::coded(self.code(), field, &[]),
        }
    }
    /// Used up: the state of the shop, not the shopper's input.
    pub fn is_used_up(&self) -> bool {
        matches!(self, Refusal::UsedUp | Refusal::UsedUpByYou)
    }
}

/// `n / d` rounded half up (both non-negative).
fn round_div(n: i128, d: i128) -> i64 {
    ((2 * n + d) / (2 * d)) as i64
}

/// Splits `total` over `weights` in proportion, by largest remainder: the
/// parts add up to `total` exactly and none exceeds its weight (`total` is at
/// most the weights' sum).
pub fn share(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i64 = weights.iter().sum();
    if total <= 0 || sum <= 0 {
        return vec![0; weights.len()];
    }
    let total = total.min(sum);
    let mut parts: Vec<i64> = weights.iter().map(|w| ((total as i128 * *w as i128) / sum as i128) as i64).collect();
    let mut left = total - parts.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse((total as i128 * weights[i] as i128) % sum as i128), i));
    for i in order {
        if left == 0 {
            break;
        }
        if parts[i] < weights[i] {
            parts[i] += 1;
            left -= 1;
        }
    }
    parts
}

/// A basket line as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceLine {
    pub product_id: String,
    pub category: String,
    /// The line's total before discounts (VAT included).
    pub amount: i64,
    /// The VAT rate the amount includes (percent).
    pub vat_rate: i64,
}

/// A promotion as applied to one basket; an order keeps it as a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppliedDiscount {
    pub promotion_id: String,
    pub name: String,
    /// The code entered, or none for an automatic promotion.
    #[serde(default)]
    pub code: Option<String>,
    pub kind: PromoKind,
    pub value: i64,
    /// What it took off (lines and shipping), in minor units.
    pub amount_cents: i64,
    /// Of which off shipping.
    #[serde(default)]
    pub shipping_cents: i64,
}

/// A basket priced with its promotions.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    /// Off each line (same order as the lines).
    pub line_discounts: Vec<i64>,
    pub applied: Vec<AppliedDiscount>,
    pub totals: Totals,
    /// Why the code entered does not apply (it is then not counted).
    pub code_refused: Option<Refusal>,
}

fn applied(p: &Promotion, lines: i64) -> AppliedDiscount {
    AppliedDiscount { promotion_id: p.id.clone(), name: p.name.clone(), code: p.code.clone(), kind: p.kind, value: p.value, amount_cents: lines, shipping_cents: 0 }
}

/// Prices `lines` with the best of the `automatic` promotions and the `code`
/// promotion (already looked up; `Err` when the code is unknown), at `now`.
pub fn price(rules: &PricingRules, lines: &[PriceLine], method: ShippingMethod, automatic: &[Promotion], code: Option<Result<&Promotion, Refusal>>, now: DateTime<Utc>) -> Priced {
    let amounts: Vec<i64> = lines.iter().map(|l| l.amount.max(0)).collect();
    let subtotal: i64 = amounts.iter().sum();
    let list_shipping = rules.shipping(method, subtotal);
    let worth = |p: &Promotion, left: &[i64]| -> (Vec<i64>, i64) {
        let parts = p.line_amounts(lines, left);
        let covered = lines.iter().any(|l| p.covers(&l.product_id, &l.category));
        let ship = if p.kind == PromoKind::FreeShipping && covered { list_shipping } else { 0 };
        let lines_off: i64 = parts.iter().sum();
        (parts, if covered { lines_off + ship } else { 0 })
    };
    // the best automatic promotion (ties: the first in the given order)
    let mut best: Option<(&Promotion, Vec<i64>, i64)> = None;
    for p in automatic.iter().filter(|p| p.is_automatic() && p.check(now, subtotal).is_ok()) {
        let (parts, value) = worth(p, &amounts);
        let better = match &best {
            None => value > 0 || (p.kind == PromoKind::FreeShipping && value >= 0 && lines.iter().any(|l| p.covers(&l.product_id, &l.category))),
            Some((_, _, v)) => value > *v,
        };
        if better {
            best = Some((p, parts, value));
        }
    }
    let mut line_discounts = vec![0; lines.len()];
    let mut chosen: Vec<(&Promotion, Vec<i64>)> = Vec::new();
    if let Some((p, parts, _)) = best {
        chosen.push((p, parts));
    }
    let mut code_refused = None;
    match code {
        None => {}
        Some(Err(r)) => code_refused = Some(r),
        Some(Ok(p)) => {
            let left: Vec<i64> = amounts.iter().zip(chosen.first().map(|c| c.1.clone()).unwrap_or_else(|| vec![0; lines.len()])).map(|(a, d)| a - d).collect();
            match p.check(now, subtotal) {
                Err(r) => code_refused = Some(r),
                Ok(()) if !lines.iter().any(|l| p.covers(&l.product_id, &l.category)) => code_refused = Some(Refusal::NotApplicable),
                Ok(()) => chosen.push((p, p.line_amounts(lines, &left))),
            }
        }
    }
    let mut applied_list: Vec<AppliedDiscount> = Vec::new();
    for (p, parts) in &chosen {
        for (d, part) in line_discounts.iter_mut().zip(parts) {
            *d += part;
        }
        applied_list.push(applied(p, parts.iter().sum()));
    }
    let lines_off: i64 = line_discounts.iter().sum();
    let shipping = rules.shipping(method, subtotal - lines_off);
    let mut shipping_off = 0;
    if let Some(a) = applied_list.iter_mut().find(|a| a.kind == PromoKind::FreeShipping) {
        a.shipping_cents = shipping;
        a.amount_cents += shipping;
        shipping_off = shipping;
    }
    let discount = lines_off + shipping_off;
    let total = subtotal + shipping - discount;
    // VAT per rate: each line after its discount, shipping at the standard rate
    let mut amounts: Vec<(i64, i64)> = lines.iter().zip(&line_discounts).map(|(l, d)| (l.amount.max(0) - d, l.vat_rate)).collect();
    amounts.push((shipping - shipping_off, rules.vat_percent));
    let vat = crate::domain::pricing::vat_parts(&amounts).iter().map(|p| p.vat).sum();
    Priced { line_discounts, applied: applied_list, totals: Totals { subtotal, shipping, discount, vat, total }, code_refused }
}

/// The price of one unit after the best automatic promotion, when one
/// lowers it (listing and product pages show it beside the regular price).
pub fn sale_price(rules: &PricingRules, product_id: &str, category: &str, price: i64, automatic: &[Promotion], now: DateTime<Utc>) -> Option<i64> {
    if automatic.is_empty() {
        return None;
    }
    let line = PriceLine { product_id: product_id.to_string(), category: category.to_string(), amount: price, vat_rate: rules.vat_percent };
    let priced = self::price(rules, std::slice::from_ref(&line), ShippingMethod::Standard, automatic, None, now);
    let off = priced.line_discounts[0];
    (off > 0).then_some(price - off)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn promo(id: &str, kind: PromoKind, value: i64) -> Promotion {
        PromotionInput { name: id.into(), code: None, kind, value, applies_to: AppliesTo::default(), min_subtotal_cents: 0, starts_at: None, ends_at: None, usage_limit: None, per_customer_limit: None, active: true }
            .into_promotion(id.into(), Utc::now(), Utc::now())
    }

    fn line(p: &str, c: &str, amount: i64) -> PriceLine {
        PriceLine { product_id: p.into(), category: c.into(), amount, vat_rate: 21 }
    }

    #[test]
    fn shares_add_up_and_never_exceed_the_weight() {
        assert_eq!(share(10, &[10, 10, 10]), vec![4, 3, 3]);
        assert_eq!(share(5, &[0, 10]), vec![0, 5]);
        assert_eq!(share(100, &[30, 20]), vec![30, 20], "capped at the weights' sum");
        assert_eq!(share(0, &[3]), vec![0]);
    }

    #[test]
    fn the_best_automatic_promotion_then_the_code_on_what_is_left() {
        let rules = PricingRules::default();
        let now = Utc::now();
        let lines = [line("a", "tech/laptops", 10000), line("b", "clothing/t-shirts", 5000)];
        let small = promo("small", PromoKind::Percent, 5);
        let mut tees = promo("tees", PromoKind::Percent, 50);
        tees.applies_to = AppliesTo { scope: Scope::Categories, ids: vec!["clothing".into()] };
        let mut code = promo("code", PromoKind::Fixed, 20000);
        code.code = Some("BIG".into());
        let p = price(&rules, &lines, ShippingMethod::Standard, &[small, tees], Some(Ok(&code)), now);
        assert_eq!(p.applied[0].promotion_id, "tees", "2,500 off beats 750 off");
        assert_eq!(p.line_discounts, vec![10000, 5000], "the code takes what is left, never more");
        assert_eq!(p.totals.total, p.totals.shipping, "only shipping to pay");
        assert_eq!(p.totals.shipping, rules.standard, "shipping on the discounted subtotal");
    }

    #[test]
    fn refusals_say_why() {
        let now = Utc::now();
        let mut p = promo("x", PromoKind::Percent, 10);
        p.min_subtotal_cents = 5000;
        assert_eq!(p.check(now, 4999), Err(Refusal::BelowMinimum { min: 5000 }));
        p.starts_at = Some(now + chrono::Duration::hours(1));
        assert_eq!(p.check(now, 9999), Err(Refusal::NotStarted));
        p.starts_at = None;
        p.ends_at = Some(now);
        assert_eq!(p.check(now, 9999), Err(Refusal::Expired));
        p.ends_at = None;
        p.active = false;
        assert_eq!(p.check(now, 9999), Err(Refusal::Paused));
    }

    #[test]
    fn free_shipping_and_sale_prices() {
        let rules = PricingRules::default();
        let now = Utc::now();
        let free = promo("ship", PromoKind::FreeShipping, 0);
        let p = price(&rules, &[line("a", "x", 1000)], ShippingMethod::Express, &[free], None, now);
        assert_eq!((p.totals.discount, p.totals.total), (rules.express, 1000));
        let mut laptops = promo("l", PromoKind::Percent, 10);
        laptops.applies_to = AppliesTo { scope: Scope::Categories, ids: vec!["tech".into()] };
        assert_eq!(sale_price(&rules, "a", "tech/laptops", 1999, std::slice::from_ref(&laptops), now), Some(1799));
        assert_eq!(sale_price(&rules, "a", "technology", 1999, &[laptops], now), None, "a prefix that is not a parent category");
    }

    #[test]
    fn inputs_are_checked_by_field() {
        let bad = PromotionInput {
            name: " ".into(),
            code: Some("a b".into()),
            kind: PromoKind::Percent,
            value: 120,
            applies_to: AppliesTo { scope: Scope::Products, ids: vec![] },
            min_subtotal_cents: -1,
            starts_at: Some(Utc::now()),
            ends_at: Some(Utc::now() - chrono::Duration::days(1)),
            usage_limit: Some(0),
            per_customer_limit: None,
            active: true,
        };
        let fields: Vec<String> = bad.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "code", "value", "applies_to.ids", "min_subtotal_cents", "ends_at", "usage_limit"]);
        let ok = PromotionInput { name: "Black Friday".into(), code: Some(" bf-2026 ".into()), kind: PromoKind::Fixed, value: 500, applies_to: AppliesTo::default(), min_subtotal_cents: 0, starts_at: None, ends_at: None, usage_limit: Some(100), per_customer_limit: Some(1), active: true };
        assert_eq!(ok.validate().unwrap().code.as_deref(), Some("BF-2026"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_promo(code: bool) -> impl Strategy<Value = Promotion> {
        (0..3u8, 1..=100i64, 1..=50_000i64, 0..3u8, 0..20_000i64, prop::collection::vec(0..4u8, 0..3)).prop_map(move |(k, pct, fixed, scope, min, ids)| {
            let kind = [PromoKind::Percent, PromoKind::Fixed, PromoKind::FreeShipping][k as usize];
            let value = match kind {
                PromoKind::Percent => pct,
                PromoKind::Fixed => fixed,
                PromoKind::FreeShipping => 0,
            };
            let scope = [Scope::Order, Scope::Products, Scope::Categories][scope as usize];
            let ids = ids.iter().map(|i| if scope == Scope::Categories { format!("c{i}") } else { format!("p{i}") }).collect();
            let now = Utc::now();
            Promotion {
                id: format!("{k}{pct}{fixed}"),
                name: "p".into(),
                code: code.then(|| "CODE".into()),
                kind,
                value,
                applies_to: AppliesTo { scope, ids },
                min_subtotal_cents: min,
                starts_at: None,
                ends_at: None,
                usage_limit: None,
                per_customer_limit: None,
                active: true,
                created_at: now,
                updated_at: now,
            }
        })
    }

    fn arb_lines() -> impl Strategy<Value = Vec<PriceLine>> {
        prop::collection::vec((0..4u8, 0..4u8, 1..=99i64, 1..=500_000i64), 1..8)
            .prop_map(|v| v.into_iter().map(|(p, c, q, unit)| PriceLine { product_id: format!("p{p}"), category: format!("c{c}/sub"), amount: unit * q, vat_rate: 21 }).collect())
    }

    proptest! {
        #[test]
        fn totals_vat_and_lines_add_up_to_the_minor_unit(
            lines in arb_lines(),
            auto in prop::collection::vec(arb_promo(false), 0..4),
            code in prop::option::of(arb_promo(true)),
            express in any::<bool>(),
            vat in prop::sample::select(vec![0i64, 5, 9, 19, 21]),
        ) {
            let rules = PricingRules { vat_percent: vat, ..PricingRules::default() };
            let method = if express { ShippingMethod::Express } else { ShippingMethod::Standard };
            let lines: Vec<PriceLine> = lines.into_iter().map(|l| PriceLine { vat_rate: vat, ..l }).collect();
            let p = price(&rules, &lines, method, &auto, code.as_ref().map(Ok), Utc::now());
            let t = p.totals;
            prop_assert_eq!(t.subtotal, lines.iter().map(|l| l.amount).sum::<i64>());
            // every line keeps a non-negative amount
            for (l, d) in lines.iter().zip(&p.line_discounts) {
                prop_assert!(*d >= 0 && *d <= l.amount, "line {} discounted by {}", l.amount, d);
            }
            let net_lines: i64 = lines.iter().zip(&p.line_discounts).map(|(l, d)| l.amount - d).sum();
            let shipping_off: i64 = p.applied.iter().map(|a| a.shipping_cents).sum();
            prop_assert!(shipping_off == 0 || shipping_off == t.shipping);
            // the per-line amounts and shipping add up exactly to the discount and the total
            prop_assert_eq!(p.line_discounts.iter().sum::<i64>() + shipping_off, t.discount);
            prop_assert_eq!(p.applied.iter().map(|a| a.amount_cents).sum::<i64>(), t.discount);
            prop_assert_eq!(net_lines + t.shipping - shipping_off, t.total);
            prop_assert!(t.total >= 0);
            // VAT is the part of the discounted total: each amount's taxable part is
            // rounded on its own (as the invoice's lines are), so it is within half
            // a minor unit per amount of the exact share
            let exact = t.total as f64 * vat as f64 / (100 + vat) as f64;
            let amounts = lines.len() as f64 + 1.0;
            prop_assert!((t.vat as f64 - exact).abs() <= 0.5 * amounts + 1e-9, "vat {} for total {}", t.vat, t.total);
            // at most one code, and one automatic promotion
            prop_assert!(p.applied.iter().filter(|a| a.code.is_some()).count() <= 1);
            prop_assert!(p.applied.iter().filter(|a| a.code.is_none()).count() <= 1);
            // shipping is charged on the discounted merchandise
            prop_assert_eq!(t.shipping, rules.shipping(method, net_lines));
            // a percentage code alone takes its share of the covered lines, rounded once
            if auto.is_empty() {
                if let Some(c) = code.as_ref().filter(|c| c.kind == PromoKind::Percent && p.code_refused.is_none()) {
                    let covered: i64 = lines.iter().filter(|l| c.covers(&l.product_id, &l.category)).map(|l| l.amount).sum();
                    prop_assert_eq!(p.line_discounts.iter().sum::<i64>(), (2 * covered * c.value + 100) / 200);
                }
            }
        }
    }
}
