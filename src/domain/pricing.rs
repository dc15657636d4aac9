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

/// One VAT rate's share of VAT-inclusive amounts: what they come to
/// (`gross`), their taxable part (`net`) and the VAT in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VatPart {
    /// Percent.
    pub rate: i64,
    pub gross: i64,
    pub net: i64,
    pub vat: i64,
}

/// The taxable part of a VAT-inclusive amount at `rate`, rounded half up.
pub fn net_of(gross: i64, rate: i64) -> i64 {
    gross - vat_in(gross, rate)
}

/// VAT-inclusive amounts `(gross, rate)` (order lines after their
/// discounts, shipping) grouped by rate, highest rate first. Each amount's
/// taxable part is rounded on its own and a rate's VAT is what its amounts
/// hold above their taxable parts: an invoice's lines, its VAT breakdown and
/// its total then agree to the cent with the order's.
pub fn vat_parts(amounts: &[(i64, i64)]) -> Vec<VatPart> {
    let mut parts: Vec<VatPart> = Vec::new();
    for &(gross, rate) in amounts {
        let net = net_of(gross, rate);
        match parts.iter_mut().find(|p| p.rate == rate) {
            Some(p) => {
                p.gross += gross;
                p.net += net;
            }
            None => parts.push(VatPart { rate, gross, net, vat: 0 }),
        }
    }
    for p in &mut parts {
        p.vat = p.gross - p.net;
    }
    parts.sort_by(|a, b| b.rate.cmp(&a.rate));
    parts
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
    /// Totals for VAT-inclusive line totals, each `(amount, VAT rate)`;
    /// shipping is taxed at the standard rate (`vat_percent`).
    pub fn totals(&self, lines: &[(i64, i64)], method: ShippingMethod) -> Totals {
        let subtotal: i64 = lines.iter().map(|(a, _)| a).sum();
        let shipping = self.shipping(method, subtotal);
        let total = subtotal + shipping;
        let mut amounts = lines.to_vec();
        amounts.push((shipping, self.vat_percent));
        let vat = vat_parts(&amounts).iter().map(|p| p.vat).sum();
        Totals { subtotal, shipping, discount: 0, vat, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_is_broken_down_per_rate_and_adds_up_to_the_cent() {
        // a book at 11 %, a shirt and shipping at 21 %
        let parts = vat_parts(&[(4999, 11), (12999, 21), (1999, 21)]);
        assert_eq!(parts.iter().map(|p| p.rate).collect::<Vec<_>>(), [21, 11]);
        let (standard, reduced) = (parts[0], parts[1]);
        assert_eq!((reduced.gross, reduced.net, reduced.vat), (4999, 4504, 495), "4999 / 1.11 = 4503.6");
        assert_eq!(standard.gross, 14998);
        assert_eq!(standard.net, net_of(12999, 21) + net_of(1999, 21), "each amount's net rounded on its own");
        assert_eq!(standard.vat, standard.gross - standard.net);
        assert_eq!(parts.iter().map(|p| p.net + p.vat).sum::<i64>(), 4999 + 12999 + 1999);
        // within a cent of the rate applied to the taxable part (EN 16931 BR-CO-17 allows far more)
        for p in &parts {
            assert!((p.vat as f64 - p.net as f64 * p.rate as f64 / 100.0).abs() < 2.0, "{p:?}");
        }
        assert_eq!(vat_parts(&[(1000, 0)]), vec![VatPart { rate: 0, gross: 1000, net: 1000, vat: 0 }]);
    }
}
