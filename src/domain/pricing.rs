//! Shipping methods, the shop's rates and VAT, and what a basket comes to.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ShippingMethod {
    #[default]
    Standard,
    Express,
}

impl ShippingMethod {
    pub const ALL: [ShippingMethod; 2] = [ShippingMethod::Standard, ShippingMethod::Express];
    pub fn as_str(&self) -> &'static str {
        match self {
            ShippingMethod::Standard => "standard",
            ShippingMethod::Express => "express",
        }
    }
    pub fn label(&self) -> &'static str {
        match self {
            ShippingMethod::Standard => "Standard delivery (2–4 working days)",
            ShippingMethod::Express => "Express delivery (next working day)",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The VAT contained in a VAT-inclusive `total` at `percent`, rounded half up.
pub fn vat_in(total: i64, percent: i64) -> i64 {
    ((2 * total as i128 * percent as i128 + (100 + percent) as i128) / (2 * (100 + percent) as i128)) as i64
}

/// Flat shipping rates (minor units), standard free above a threshold, and the VAT rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingRules {
    pub standard: i64,
    pub express: i64,
    pub free_standard_over: i64,
    /// VAT in percent; prices are VAT-inclusive.
    pub vat_percent: i64,
}

impl Default for PricingRules {
    fn default() -> Self {
        Self { standard: 1999, express: 3499, free_standard_over: 25000, vat_percent: 21 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Totals {
    pub subtotal: i64,
    pub shipping: i64,
    /// Taken off by promotions (lines and shipping): `total = subtotal + shipping - discount`.
    #[serde(default)]
    pub discount: i64,
    /// The VAT contained in `total` (prices include VAT).
    pub vat: i64,
    pub total: i64,
}

impl PricingRules {
    pub fn shipping(&self, method: ShippingMethod, subtotal: i64) -> i64 {
        match method {
            ShippingMethod::Standard if subtotal >= self.free_standard_over => 0,
            ShippingMethod::Standard => self.standard,
            ShippingMethod::Express => self.express,
        }
    }
    /// Totals for VAT-inclusive line totals; the VAT part is rounded half up.
    pub fn totals(&self, line_totals: &[i64], method: ShippingMethod) -> Totals {
        let subtotal: i64 = line_totals.iter().sum();
        let shipping = self.shipping(method, subtotal);
        let total = subtotal + shipping;
        let vat = vat_in(total, self.vat_percent);
        Totals { subtotal, shipping, discount: 0, vat, total }
    }
}

