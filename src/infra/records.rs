//! Record bodies as both stores keep them, stamped with this release's
//! schema version on the way in and brought up to it on the way out
//! (see `domain::records`).
//!
//! A body written by this release is decoded directly; only an older one
//! goes through a JSON tree and the migrations, so reading current records
//! costs nothing extra.
use mongodb::bson::{self, Bson, Document};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::records::{upgrade, Kind, CURRENT, STAMP};

/// The JSON body of a record (the SQLite `doc` column, MongoDB outbox
/// entries), with the stamp as its first field.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, String> {
    let body = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let rest = body.strip_prefix('{').ok_or("a record body must be a JSON object")?;
    let sep = if rest == "}" { "" } else { "," };
    Ok(format!("{}{sep}{rest}", current_prefix()))
}

/// `{"schema":<CURRENT>`: how a body this release wrote begins (made once,
/// as every read checks it).
fn current_prefix() -> &'static str {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| format!("{{\"{STAMP}\":{CURRENT}"))
}

/// Whether a JSON body was written at this release's schema.
pub fn is_current_json(body: &str) -> bool {
    body.strip_prefix(current_prefix()).is_some_and(|rest| rest.starts_with([',', '}']))
}

/// Whether a BSON body was written at this release's schema.
pub fn is_current_bson(body: &Document) -> bool {
    matches!(body.get(STAMP), Some(Bson::Int32(v)) if *v as u32 == CURRENT)
}

/// Decodes a JSON body of `kind`, migrating it first when it is older.
pub fn from_json<T: DeserializeOwned>(kind: Kind, body: &str) -> Result<T, String> {
    let fail = |e: serde_json::Error| format!("cannot decode a stored {}: {e}", kind.name());
    if is_current_json(body) {
        return serde_json::from_str(body).map_err(fail);
    }
    let mut tree: serde_json::Value = serde_json::from_str(body).map_err(fail)?;
    upgrade(kind, &mut tree)?;
    serde_json::from_value(tree).map_err(fail)
}

/// A body as a JSON tree brought up to this release's schema (stamped): an
/// older record about to be written by a patch is written at this schema.
pub fn upgraded_tree(kind: Kind, body: &str) -> Result<serde_json::Value, String> {
    let mut tree: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("cannot read a stored {}: {e}", kind.name()))?;
    upgrade(kind, &mut tree)?;
    Ok(tree)
}

/// The same for a BSON body.
pub fn upgraded_bson_tree(kind: Kind, body: Document) -> Result<serde_json::Value, String> {
    let mut tree = Bson::Document(body).into_relaxed_extjson();
    upgrade(kind, &mut tree)?;
    Ok(tree)
}

/// A JSON tree as a stored body: the stamp first, like `to_json`.
pub fn tree_json(tree: &serde_json::Value) -> Result<String, String> {
    let mut rest = tree.clone();
    if let Some(fields) = rest.as_object_mut() {
        fields.remove(STAMP);
    }
    to_json(&rest)
}

/// The BSON body of a record (the `doc` field of a MongoDB document), stamped.
pub fn to_bson<T: Serialize>(value: &T) -> Result<Document, String> {
    let mut body = bson::serialize_to_document(value).map_err(|e| e.to_string())?;
    body.insert(STAMP, CURRENT as i32);
    Ok(body)
}

/// Decodes a BSON body of `kind`, migrating it first when it is older.
pub fn from_bson<T: DeserializeOwned>(kind: Kind, body: Document) -> Result<T, String> {
    if is_current_bson(&body) {
        return bson::deserialize_from_document(body).map_err(|e| format!("cannot decode a stored {}: {e}", kind.name()));
    }
    let mut tree = Bson::Document(body).into_relaxed_extjson();
    upgrade(kind, &mut tree)?;
    serde_json::from_value(tree).map_err(|e| format!("cannot decode a stored {}: {e}", kind.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        name: String,
        n: i64,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Nothing {}

    #[test]
    fn json_bodies_carry_the_stamp_first_and_read_back() {
        let t = Thing { name: "a".into(), n: 3 };
        let body = to_json(&t).unwrap();
        assert_eq!(body, format!("{{\"schema\":{CURRENT},\"name\":\"a\",\"n\":3}}"));
        assert_eq!(from_json::<Thing>(Kind::Cart, &body).unwrap(), t);
        assert_eq!(to_json(&Nothing {}).unwrap(), format!("{{\"schema\":{CURRENT}}}"));
        assert_eq!(from_json::<Nothing>(Kind::Cart, &to_json(&Nothing {}).unwrap()).unwrap(), Nothing {});
        assert!(to_json(&[1, 2]).is_err(), "only objects are records");
    }

    #[test]
    fn old_bodies_are_migrated_on_read() {
        // an unstamped order (schema 1) gets its VAT rate on the way out
        let v1 = r#"{"total":{"amount":11900},"vat":{"amount":1900},"created_at":"2025-07-15T09:30:00Z"}"#;
        let tree: serde_json::Value = from_json(Kind::Order, v1).unwrap();
        assert_eq!(tree["vat_percent"], 19);
        assert_eq!(tree[STAMP], CURRENT);
        let bson_v1 = bson::doc! { "total": { "amount": 11900_i64 }, "vat": { "amount": 1900_i32 }, "created_at": "2025-07-15T09:30:00Z" };
        let tree: serde_json::Value = from_bson(Kind::Order, bson_v1).unwrap();
        assert_eq!(tree["vat_percent"], 19);
    }

    #[test]
    fn bson_bodies_carry_the_stamp_and_read_back() {
        let t = Thing { name: "a".into(), n: 3 };
        let body = to_bson(&t).unwrap();
        assert_eq!(body.get_i32(STAMP).ok(), Some(CURRENT as i32));
        assert_eq!(from_bson::<Thing>(Kind::Cart, body).unwrap(), t);
    }

    #[test]
    fn a_broken_body_is_an_error_naming_the_kind() {
        let e = from_json::<Thing>(Kind::Promotion, "{\"name\":1}").unwrap_err();
        assert!(e.contains("promotion"), "{e}");
    }
}
