//! The schema versions of stored records, and the migrations that bring a
//! record written by an earlier release up to this one.
//!
//! Every record with a document body (products, users, orders, carts,
//! promotions, outbox entries, webhook endpoints, recommendation settings,
//! audit entries) carries the schema version it was written with under
//! [`STAMP`]; a record without one is from schema 1, before records were
//! stamped. The stores call [`upgrade`] on every read before decoding, so a
//! record of any earlier version reads as this release's value; the next
//! write stores it at [`CURRENT`].
//!
//! Changes are made expand-then-contract: a new field must be one the
//! previous release can ignore, and one this release can derive for the
//! records the previous release writes (it may still write during a rolling
//! deploy). Only after no release older than [`COMPATIBLE_FROM`] runs may a
//! later change drop or repurpose a field.
use serde_json::{Map, Value};

/// The schema version this release writes.
pub const CURRENT: u32 = 2;
/// The oldest schema version whose release can run on what this release writes.
pub const COMPATIBLE_FROM: u32 = 1;
/// The field of a stored record that holds its schema version.
pub const STAMP: &str = "schema";

/// What a stored record is (each kind has its own migrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Product,
    User,
    Order,
    Cart,
    Promotion,
    OutboxEntry,
    WebhookEndpoint,
    RecommendSettings,
    AuditEntry,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Product,
        Kind::User,
        Kind::Order,
        Kind::Cart,
        Kind::Promotion,
        Kind::OutboxEntry,
        Kind::WebhookEndpoint,
        Kind::RecommendSettings,
        Kind::AuditEntry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Product => "product",
            Kind::User => "user",
            Kind::Order => "order",
            Kind::Cart => "cart",
            Kind::Promotion => "promotion",
            Kind::OutboxEntry => "outbox entry",
            Kind::WebhookEndpoint => "webhook endpoint",
            Kind::RecommendSettings => "recommendation settings",
            Kind::AuditEntry => "audit entry",
        }
    }
}

/// The schema version a stored record was written with (1 when unstamped).
pub fn version_of(record: &Value) -> u32 {
    record.get(STAMP).and_then(Value::as_u64).map_or(1, |v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// Brings a stored record up to [`CURRENT`]: runs each migration from its
/// version on, then stamps it. Returns whether anything changed. A record
/// from a newer release is left as it is: expand-then-contract means this
/// release reads it as written.
pub fn upgrade(kind: Kind, record: &mut Value) -> Result<bool, String> {
    let from = version_of(record);
    if from >= CURRENT {
        return Ok(false);
    }
    let Value::Object(fields) = record else {
        return Err(format!("a stored {} is not an object", kind.name()));
    };
    for version in from..CURRENT {
        migrate(kind, version, fields).map_err(|e| format!("cannot migrate a stored {} from schema {version}: {e}", kind.name()))?;
    }
    fields.insert(STAMP.to_string(), Value::from(CURRENT));
    Ok(true)
}

/// One migration: a record of `kind` at schema `from` to `from + 1`. Kinds
/// a version did not change pass through.
fn migrate(kind: Kind, from: u32, fields: &mut Map<String, Value>) -> Result<(), String> {
    match (kind, from) {
        (Kind::Order, 1) => order_records_its_vat_rate(fields),
        _ => Ok(()),
    }
}

/// Schema 2: an order keeps the VAT rate it was placed with (`vat_percent`),
/// so a change of rate (Romania: 19 % until 31 July 2025, 21 % since 1 August
/// 2025) never changes what an old invoice says. An older order gets the rate
/// that gives its stored VAT from its total, the rate in force on its date
/// first (small totals fit several).
fn order_records_its_vat_rate(fields: &mut Map<String, Value>) -> Result<(), String> {
    if fields.contains_key("vat_percent") {
        return Ok(());
    }
    let amount = |name: &str| fields.get(name).and_then(|m| m.get("amount")).and_then(Value::as_i64).ok_or_else(|| format!("no `{name}.amount`"));
    let (total, vat) = (amount("total")?, amount("vat")?);
    let placed = fields.get("created_at").and_then(Value::as_str).ok_or("no `created_at`")?;
    let placed = chrono::DateTime::parse_from_rfc3339(placed).map_err(|e| format!("`created_at`: {e}"))?;
    let in_force = romanian_vat_percent(placed.with_timezone(&chrono::Utc));
    let percent = std::iter::once(in_force).chain(0..=100).find(|p| crate::domain::pricing::vat_in(total, *p) == vat).unwrap_or(in_force);
    fields.insert("vat_percent".to_string(), Value::from(percent));
    Ok(())
}

/// Romania's standard VAT rate on a day.
pub fn romanian_vat_percent(at: chrono::DateTime<chrono::Utc>) -> i64 {
    let august_2025 = chrono::DateTime::parse_from_rfc3339("2025-08-01T00:00:00+03:00").expect("a valid date");
    if at < august_2025 { 19 } else { 21 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order_v1(created_at: &str, total: i64, vat: i64) -> Value {
        json!({ "id": "o1", "total": { "amount": total, "currency": "RON" }, "vat": { "amount": vat, "currency": "RON" }, "created_at": created_at })
    }

    #[test]
    fn unstamped_records_are_schema_1_and_come_out_stamped() {
        let mut cart = json!({ "owner": "g:1", "lines": [] });
        assert_eq!(version_of(&cart), 1);
        assert!(upgrade(Kind::Cart, &mut cart).unwrap());
        assert_eq!(cart, json!({ "owner": "g:1", "lines": [], "schema": CURRENT }));
        assert!(!upgrade(Kind::Cart, &mut cart).unwrap(), "a current record is left alone");
    }

    #[test]
    fn a_record_from_a_newer_release_is_read_as_written() {
        let mut newer = json!({ "id": "o1", "schema": CURRENT + 1, "later_field": true });
        let before = newer.clone();
        assert!(!upgrade(Kind::Order, &mut newer).unwrap());
        assert_eq!(newer, before);
    }

    #[test]
    fn an_old_order_gets_the_vat_rate_its_amounts_were_computed_with() {
        // July 2025: 119.00 lei with 19.00 lei VAT (19 %)
        let mut july = order_v1("2025-07-15T09:30:00Z", 11900, 1900);
        upgrade(Kind::Order, &mut july).unwrap();
        assert_eq!(july["vat_percent"], 19);
        // December 2025: 121.00 lei with 21.00 lei VAT (21 %)
        let mut december = order_v1("2025-12-02T10:00:00Z", 12100, 2100);
        upgrade(Kind::Order, &mut december).unwrap();
        assert_eq!(december["vat_percent"], 21);
        // a shop that charged 9 % (a reduced rate) after August 2025
        let mut reduced = order_v1("2025-09-01T10:00:00Z", 10900, 900);
        upgrade(Kind::Order, &mut reduced).unwrap();
        assert_eq!(reduced["vat_percent"], 9);
        // 0.10 lei: 2 bani of VAT fits 19 % and 21 %: the rate of the date wins
        let mut tiny = order_v1("2025-07-31T20:00:00Z", 10, 2);
        upgrade(Kind::Order, &mut tiny).unwrap();
        assert_eq!(tiny["vat_percent"], 19);
    }

    #[test]
    fn the_rate_changed_at_midnight_bucharest_time() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
        assert_eq!(romanian_vat_percent(at("2025-07-31T20:59:59Z")), 19);
        assert_eq!(romanian_vat_percent(at("2025-07-31T21:00:00Z")), 21);
    }

    #[test]
    fn a_broken_record_is_an_error_not_a_guess() {
        let mut no_total = json!({ "id": "o1", "created_at": "2025-07-15T09:30:00Z" });
        let e = upgrade(Kind::Order, &mut no_total).unwrap_err();
        assert!(e.contains("order") && e.contains("total"), "{e}");
        assert!(upgrade(Kind::Product, &mut json!("text")).is_err());
    }
}
