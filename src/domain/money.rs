use serde::{Deserialize, Serialize};

/// An amount of money in minor units (cents) of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Money {
    /// Minor units (e.g. cents): 1999 means 19.99.
    pub amount: i64,
    /// ISO 4217 code, e.g. `RON`.
    pub currency: String,
}

/// The currency a shop prices in when `VITRINA_CURRENCY` does not say: Romanian lei.
pub const DEFAULT_CURRENCY: &str = "RON";

static SHOP_CURRENCY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the shop's currency once, at start-up (`VITRINA_CURRENCY`). Every
/// price in the catalogue, the carts and the orders is in it.
pub fn set_shop_currency(code: &str) -> Result<(), String> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("VITRINA_CURRENCY: an ISO 4217 code such as RON or EUR, not {code:?}"));
    }
    match SHOP_CURRENCY.get() {
        Some(set) if *set != code => Err(format!("the shop currency is already {set}")),
        _ => {
            let _ = SHOP_CURRENCY.set(code);
            Ok(())
        }
    }
}

/// The shop's currency (RON unless `VITRINA_CURRENCY` set another).
pub fn shop_currency() -> &'static str {
    SHOP_CURRENCY.get().map(String::as_str).unwrap_or(DEFAULT_CURRENCY)
}

impl Default for Money {
    /// Nothing, in the shop's currency.
    fn default() -> Self {
        Money::shop(0)
    }
}

impl Money {
    pub fn new(amount: i64, currency: &str) -> Self {
        Self { amount, currency: currency.to_string() }
    }
    /// An amount in the shop's currency.
    pub fn shop(amount: i64) -> Self {
        Self::new(amount, shop_currency())
    }
}

/// Parses a price typed by a person, "19.99", "19,99" or "20", into minor
/// units; `None` for anything else (more than two decimals, signs, letters).
pub fn parse_decimal(s: &str) -> Option<i64> {
    let s = s.trim().replace(',', ".");
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w.to_string(), f.to_string()),
        None => (s.clone(), String::new()),
    };
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    Some(whole.parse::<i64>().ok()? * 100 + cents)
}

/// Minor units as a plain decimal, "19.99" (for forms and CSV).
pub fn to_decimal(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", amount.unsigned_abs() / 100, amount.unsigned_abs() % 100)
}

/// Prices in a language's way of writing them (`1.299,99 lei`, `RON 1,299.99`):
/// defined here so that the catalogues (`i18n`) know nothing of the domain.
impl crate::i18n::Locale {
    pub fn price(self, m: &Money) -> String {
        self.money(m.amount, &m.currency)
    }
}

#[cfg(test)]
mod decimal_tests {
    use super::*;

    #[test]
    fn parses_what_people_type_and_refuses_the_rest() {
        assert_eq!(parse_decimal("19.99"), Some(1999));
        assert_eq!(parse_decimal(" 19,9 "), Some(1990));
        assert_eq!(parse_decimal("20"), Some(2000));
        for bad in ["", "-1", "1.999", "abc", "1e3", ".5"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
        assert_eq!(to_decimal(1999), "19.99");
        assert_eq!(to_decimal(5), "0.05");
        assert_eq!(parse_decimal(&to_decimal(123456)), Some(123456));
    }
}
