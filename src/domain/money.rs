use serde::{Deserialize, Serialize};

/// An amount of money in minor units (cents) of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Money {
    /// Minor units (e.g. cents): 1999 means 19.99.
    pub amount: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

pub const DEFAULT_CURRENCY: &str = "EUR";

impl Money {
    pub fn new(amount: i64, currency: &str) -> Self {
        Self { amount, currency: currency.to_string() }
    }
    pub fn eur(amount: i64) -> Self {
        Self::new(amount, DEFAULT_CURRENCY)
    }
    /// Human formatting, e.g. `€1,299.00`.
    pub fn format(&self) -> String {
        format_minor(self.amount, &self.currency)
    }
}

pub fn currency_symbol(currency: &str) -> &str {
    match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "RON" => "lei ",
        other => other,
    }
}

pub fn format_minor(amount: i64, currency: &str) -> String {
    let neg = amount < 0;
    let abs = amount.unsigned_abs();
    let major = abs / 100;
    let minor = abs % 100;
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{}{}.{:02}", if neg { "-" } else { "" }, currency_symbol(currency), grouped, minor)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_with_grouping_and_cents() {
        assert_eq!(Money::eur(129_900).format(), "€1,299.00");
        assert_eq!(Money::eur(5).format(), "€0.05");
        assert_eq!(Money::eur(-1999).format(), "-€19.99");
        assert_eq!(format_minor(123_456_789, "USD"), "$1,234,567.89");
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
