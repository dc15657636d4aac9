//! MongoDB adapter of [`AuditStore`]: the `audit` collection, one document
//! per entry, written once (`insert_one`, so a repeated id is a `Conflict`).
//!
//! `{_id, doc: <AuditEntry>, at (BSON date), at_ts (epoch ms), actor_id,
//! actor_key, action, target}`. Like every entity, the entry is stored whole
//! under `doc` and read back from there; beside it sit the fields the
//! filters use:
//!
//! * `actor_key` is the actor's e-mail lower-cased (as `AuditFilter::matches`
//!   does); the actor filter is a `$regex` of the lower-cased text made
//!   literal (`accounts::regex_literal`), with `$options: "i"` as the user
//!   search uses;
//! * the action filter is `$or` of the exact action and a `$regex` of the
//!   action followed by a literal dot (`product` matches `product.update`,
//!   not `products.import`);
//! * times are compared on `at_ts` (epoch ms, like the orders'
//!   `created_ts`), the bounds rounded up to the millisecond; `at` is the
//!   same time as a BSON date for people reading the collection;
//! * a page is `paging::page` (the total by `count_documents`, then `find`) sorted by
//!   `{at_ts: -1, _id: -1}` (index `newest`) with `skip` and `limit`.
use async_trait::async_trait;
#[cfg(test)]
use chrono::Utc;
use mongodb::bson::{self, doc, Bson, Document};

use super::accounts::regex_literal;
use super::codec::decode_body;
use super::paging::page;
use super::{map_error, MongoStore};
use crate::domain::audit::{ceil_millis, AuditEntry, AuditFilter};
use crate::ports::{AuditStore, StoreError};

#[async_trait]
impl AuditStore for MongoStore {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let document = audit_document(entry)?;
        self.audit.insert_one(document).await.map_err(|e| map_error("record audit entry", e))?;
        Ok(())
    }

    async fn list_audit(&self, filter: &AuditFilter, offset: u64, limit: u64) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        let filter = audit_filter(filter);
        page(&self.audit, "audit entries", filter, doc! { "at_ts": -1, "_id": -1 }, offset, limit, decode_entry).await
    }

    async fn redact_audit(&self, targets: &[String]) -> Result<u64, StoreError> {
        use futures::TryStreamExt;
        let cursor = self.audit.find(doc! { "target": { "$in": targets.to_vec() } }).await.map_err(|e| map_error("read audit entries", e))?;
        let found: Vec<Document> = cursor.try_collect().await.map_err(|e| map_error("read audit entries", e))?;
        let mut n = 0;
        for d in found {
            let mut entry = decode_entry(d).map_err(StoreError::Other)?;
            entry.summary = "(erased)".into();
            entry.before = None;
            entry.after = None;
            self.audit.replace_one(doc! { "_id": entry.id.as_str() }, audit_document(&entry)?).await.map_err(|e| map_error("redact audit entry", e))?;
            n += 1;
        }
        Ok(n)
    }
}

/// The stored form of an entry: the domain value under `doc` plus the
/// fields the filters and the sort use.
pub(super) fn audit_document(e: &AuditEntry) -> Result<Document, StoreError> {
    let body = crate::infra::records::to_bson(e)
        .map_err(|err| StoreError::Other(format!("cannot encode audit entry {:?}: {err}", e.id)))?;
    Ok(doc! {
        "_id": e.id.as_str(),
        "at": bson::DateTime::from_chrono(e.at),
        "at_ts": e.at.timestamp_millis(),
        "actor_id": e.actor_id.as_str(),
        "actor_key": e.actor_email.to_lowercase(),
        "action": e.action.as_str(),
        "target": e.target.as_str(),
        "doc": body,
    })
}

pub(super) fn decode_entry(d: Document) -> Result<AuditEntry, String> {
    decode_body(d, crate::domain::records::Kind::AuditEntry)
}

/// The query for `AuditFilter::matches`. User text is only ever a value:
/// an equality, or a `$regex` string made literal.
fn audit_filter(f: &AuditFilter) -> Document {
    let mut filter = Document::new();
    // `contains("")` is always true: an empty actor narrows nothing.
    if let Some(actor) = f.actor.as_deref().filter(|a| !a.is_empty()) {
        let pattern = regex_literal(&actor.to_lowercase());
        filter.insert("actor_key", doc! { "$regex": pattern, "$options": "i" });
    }
    if let Some(action) = &f.action {
        let prefix = format!("^{}\\.", regex_literal(action));
        filter.insert(
            "$or",
            vec![
                Bson::Document(doc! { "action": action.as_str() }),
                Bson::Document(doc! { "action": { "$regex": prefix } }),
            ],
        );
    }
    if let Some(target) = &f.target {
        filter.insert("target", target.as_str());
    }
    let mut at = Document::new();
    if let Some(from) = f.from {
        at.insert("$gte", ceil_millis(from));
    }
    if let Some(to) = f.to {
        at.insert("$lt", ceil_millis(to));
    }
    if !at.is_empty() {
        filter.insert("at_ts", at);
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(before: Option<&str>) -> AuditEntry {
        AuditEntry {
            id: "a_1".into(),
            at: Utc.timestamp_millis_opt(1_800_000_000_123).single().unwrap(),
            actor_id: "u1".into(),
            actor_email: "Admin@Shop.test".into(),
            action: "product.update".into(),
            target: "p1".into(),
            summary: "price of AC-1 19.99 → 17.99".into(),
            before: before.map(str::to_string),
            after: Some(r#"{"price":1799}"#.into()),
        }
    }

    #[test]
    fn audit_documents_round_trip() {
        for before in [None, Some(r#"{"price":1999}"#)] {
            let e = entry(before);
            let d = audit_document(&e).expect("encode");
            assert_eq!(d.get_str("_id").ok(), Some("a_1"));
            assert_eq!(d.get_str("actor_key").ok(), Some("admin@shop.test"));
            assert_eq!(d.get_i64("at_ts").ok(), Some(1_800_000_000_123));
            assert_eq!(decode_entry(d).expect("decode"), e);
        }
    }

    #[test]
    fn filters_keep_user_text_literal() {
        let f = AuditFilter { actor: Some("A.B*".into()), action: Some("product".into()), target: Some("$where".into()), ..Default::default() };
        let d = audit_filter(&f);
        assert_eq!(d.get_document("actor_key").and_then(|a| a.get_str("$regex")).ok(), Some("a\\.b\\*"));
        let or = d.get_array("$or").expect("$or");
        assert_eq!(or[0].as_document().and_then(|a| a.get_str("action").ok()), Some("product"));
        let re = or[1].as_document().and_then(|a| a.get_document("action").ok()).and_then(|a| a.get_str("$regex").ok());
        assert_eq!(re, Some("^product\\."));
        assert_eq!(d.get_str("target").ok(), Some("$where"));
        assert!(audit_filter(&AuditFilter::default()).is_empty());
        assert!(audit_filter(&AuditFilter { actor: Some(String::new()), ..Default::default() }).is_empty());
    }

    #[test]
    fn bounds_round_up_to_the_millisecond() {
        let t = Utc.timestamp_millis_opt(1_800_000_000_123).single().unwrap();
        let f = AuditFilter { from: Some(t), to: Some(t + chrono::Duration::nanoseconds(1)), ..Default::default() };
        let at = audit_filter(&f).get_document("at_ts").cloned().expect("at_ts");
        assert_eq!(at.get_i64("$gte").ok(), Some(1_800_000_000_123));
        assert_eq!(at.get_i64("$lt").ok(), Some(1_800_000_000_124));
    }
}
