//! Keys both stores keep promotions by.
use crate::domain::promotion::Promotion;

/// The key a promotion's code is unique by (an automatic one has its own).
pub(crate) fn code_key(p: &Promotion) -> String {
    p.code.clone().unwrap_or_else(|| format!("auto:{}", p.id))
}

/// The count keys of a promotion: all uses, and one customer's.
pub(crate) fn count_keys(promotion_id: &str, customer: &str) -> (String, String) {
    (promotion_id.to_string(), format!("{promotion_id} {customer}"))
}
