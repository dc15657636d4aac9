//! The audit log: who did what to which record, when, with the record
//! before and after (as JSON text) for product, price and account changes.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::product::Product;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_email: String,
    /// What was done, e.g. `product.update`, `order.status`, `user.update`.
    pub action: String,
    /// The record it was done to, e.g. a product or order id.
    pub target: String,
    /// One line for people, e.g. "price of TSHIRT-M 19.99 → 17.99".
    pub summary: String,
    /// The record before the change (JSON), when there was one.
    #[serde(default)]
    pub before: Option<String>,
    /// The record after the change (JSON), when there is one.
    #[serde(default)]
    pub after: Option<String>,
}

/// Which audit entries a list shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Part of the actor's e-mail (case-insensitive).
    pub actor: Option<String>,
    /// Action prefix: `product` matches `product.create` and `product.update`.
    pub action: Option<String>,
    /// Exact target id.
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// The oracle both stores must agree with.
    pub fn matches(&self, e: &AuditEntry) -> bool {
        self.actor.as_ref().map_or(true, |a| e.actor_email.to_lowercase().contains(&a.to_lowercase()))
            && self.action.as_ref().map_or(true, |a| e.action == *a || e.action.starts_with(&format!("{a}.")))
            && self.target.as_ref().map_or(true, |t| e.target == *t)
            && self.from.map_or(true, |f| e.at >= f)
            && self.to.map_or(true, |t| e.at < t)
    }
}

/// `t` in epoch milliseconds, rounded up. Stores keep whole milliseconds, so
/// `at >= t` is `at_ms >= ceil_millis(t)` and `at < t` is `at_ms < ceil_millis(t)`,
/// also when `t` has a fraction of a millisecond (both adapters use it).
pub fn ceil_millis(t: DateTime<Utc>) -> i64 {
    let ms = t.timestamp_millis();
    if t.timestamp_subsec_nanos() % 1_000_000 == 0 {
        ms
    } else {
        ms.saturating_add(1)
    }
}

/// One line naming what changed between two versions of a product:
/// prices and stock per SKU, status, name, and which other fields changed.
pub fn describe_product_change(before: &Product, after: &Product) -> String {
    let mut parts = Vec::new();
    if before.name != after.name {
        parts.push(format!("name {:?} → {:?}", before.name, after.name));
    }
    if before.status != after.status {
        parts.push(format!("status {} → {}", before.status.as_str(), after.status.as_str()));
    }
    for v in &after.variants {
        match before.variants.iter().find(|b| b.sku == v.sku) {
            Some(b) => {
                if b.price != v.price {
                    parts.push(format!("price of {} {} → {}", v.sku, crate::i18n::Locale::Ro.price(&b.price), crate::i18n::Locale::Ro.price(&v.price)));
                }
                if b.stock != v.stock {
                    parts.push(format!("stock of {} {} → {}", v.sku, b.stock, v.stock));
                }
            }
            None => parts.push(format!("new variant {} at {}", v.sku, crate::i18n::Locale::Ro.price(&v.price))),
        }
    }
    for b in before.variants.iter().filter(|b| !after.variants.iter().any(|v| v.sku == b.sku)) {
        parts.push(format!("variant {} removed", b.sku));
    }
    let other: Vec<&str> = [
        ("slug", before.slug != after.slug),
        ("description", before.description != after.description),
        ("brand", before.brand != after.brand),
        ("category", before.category != after.category),
        ("attributes", before.attributes != after.attributes),
        ("images", before.images != after.images),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect();
    if !other.is_empty() {
        parts.push(format!("changed {}", other.join(", ")));
    }
    if parts.is_empty() {
        "saved without changes".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_change_is_named_with_both_prices() {
        let before: Product = serde_json::from_value(serde_json::json!({
            "id": "p1", "slug": "tee", "name": "Tee", "description": "", "brand": "B", "category": "c",
            "attributes": {}, "images": [], "status": "active", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "variants": [{"sku": "T-1", "options": {}, "price": {"amount": 1999, "currency": "RON"}, "stock": 3}]
        }))
        .unwrap();
        let mut after = before.clone();
        after.variants[0].price.amount = 1799;
        after.attributes.insert("fit".into(), super::super::product::AttrValue::Text("slim".into()));
        let s = describe_product_change(&before, &after);
        assert!(s.contains("price of T-1"), "{s}");
        assert!(s.contains("19,99 lei") && s.contains("17,99 lei"), "{s}");
        assert!(s.contains("changed attributes"), "{s}");
        assert_eq!(describe_product_change(&before, &before), "saved without changes");
    }

    fn entry(action: &str, email: &str) -> AuditEntry {
        AuditEntry { id: "a".into(), at: Utc::now(), actor_id: "u".into(), actor_email: email.into(), action: action.into(), target: "p1".into(), summary: String::new(), before: None, after: None }
    }

    #[test]
    fn action_filter_is_a_dotted_prefix() {
        let f = AuditFilter { action: Some("product".into()), ..Default::default() };
        assert!(f.matches(&entry("product.update", "a@x.io")));
        assert!(!f.matches(&entry("products.import", "a@x.io")));
        let f = AuditFilter { actor: Some("ADMIN".into()), ..Default::default() };
        assert!(f.matches(&entry("user.update", "admin@shop.test")));
        assert!(!f.matches(&entry("user.update", "bob@shop.test")));
    }
}
