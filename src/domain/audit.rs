//! The audit log: who did what to which record, when, with the record
//! before and after (as JSON text) for product, price and account changes.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

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
