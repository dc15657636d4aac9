//! MongoDB adapter of the account ports: [`UserStore`], [`TokenStore`] and
//! [`KeyValueStore`], on the same database as the catalog.
//!
//! * **users**: `_id` is the user id; the domain [`User`] is stored whole
//!   under `doc` (exact round trip) beside query fields, among them the
//!   lower-cased `email_key` (unique index) and `created_ts` (epoch ms,
//!   newest-first listing).
//! * **token_families**: `_id` is the family id; `revoked_at` is null until
//!   the family is revoked.
//! * **refresh_tokens**: `_id` is the token's hash; `used_at` is null until
//!   the token is consumed. Consuming is one `find_one_and_update` guarded by
//!   `used_at: null`, so exactly one of concurrent callers gets `Fresh`.
//!   `expires_at` is a BSON date for the TTL index; `expires` keeps the exact
//!   chrono value (RFC 3339) that the record is read back from.
//! * **kv**: `_id` is `"{ns}:{key}"`; `expires_at` is a BSON date (TTL
//!   index) or absent. TTL deletion is lazy, so reads also check the expiry.
//!   Values are stored as base64 strings: nx-27017 fails to replace a
//!   document holding BSON binary ("Object of type bytes is not JSON
//!   serializable"). Binary values are still accepted on read.
//!
//! User input is only ever a value; the user search is a `$regex` string
//! with every ASCII punctuation character escaped (control characters as
//! `\xhh`), which PCRE (MongoDB) and Python's `re` (nx-27017) both read as
//! literal text. BSON regex values are avoided (nx-27017 cannot use them).
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::Error as MongoError;

use super::codec::{decode_body, find_body};
use super::paging::page;
use super::{is_duplicate_key, map_error, MongoStore};
use crate::domain::patch::Patch;
use crate::domain::user::User;
use crate::ports::{Consumed, KeyValueStore, RefreshRecord, StoreError, TokenStore, UserStore};

/// How often `kv_put_if_absent` retries when the key keeps changing under it.
const PUT_IF_ABSENT_ATTEMPTS: usize = 5;

// -------------------------------------------------------------------- users

#[async_trait]
impl UserStore for MongoStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.check_email_free(user).await?;
        let document = user_document(user)?;
        self.users.insert_one(document).await.map_err(|e| user_write_error("create user", e))?;
        Ok(())
    }

    async fn update_user(&self, id: &str, patch: &Patch) -> Result<bool, StoreError> {
        if patch.is_empty() {
            return Ok(false);
        }
        let mut extra = Document::new();
        if let Some(email) = patch.value("email").and_then(|v| v.as_str()) {
            let key = email.to_lowercase();
            self.check_key_free(&key, id).await?;
            extra.insert("email_key", key);
        }
        super::patch_document(&self.users, crate::domain::records::Kind::User, id, patch, &["email", "name", "password_hash", "role", "disabled"], Document::new(), extra).await.map_err(|e| match e {
            StoreError::Conflict(_) => email_conflict(),
            e => e,
        })
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.find_user(doc! { "_id": id }).await
    }

    async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut cursor = self
            .users
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "doc": 1 })
            .await
            .map_err(|e| map_error("read users", e))?;
        let mut users = Vec::with_capacity(ids.len());
        while let Some(d) = cursor.try_next().await.map_err(|e| map_error("read users", e))? {
            users.push(decode_user(d).map_err(StoreError::Other)?);
        }
        Ok(users)
    }

    async fn user_by_email(&self, email_key: &str) -> Result<Option<User>, StoreError> {
        self.find_user(doc! { "email_key": email_key.to_lowercase() }).await
    }

    async fn list_users(&self, search: Option<&str>, offset: u64, limit: u64) -> Result<(Vec<User>, u64), StoreError> {
        let filter = user_search_filter(search);
        page(&self.users, "users", filter, doc! { "created_ts": -1, "_id": 1 }, offset, limit, decode_user).await
    }
}

impl MongoStore {
    async fn find_user(&self, filter: Document) -> Result<Option<User>, StoreError> {
        find_body(&self.users, filter, crate::domain::records::Kind::User).await
    }

    /// Refuses an e-mail key another user holds. The unique index is the
    /// real guard (this check races); it also covers a server on which the
    /// index could not be created.
    async fn check_email_free(&self, user: &User) -> Result<(), StoreError> {
        self.check_key_free(&user.email_key(), &user.id).await
    }

    async fn check_key_free(&self, email_key: &str, id: &str) -> Result<(), StoreError> {
        let taken = self
            .users
            .find_one(doc! { "email_key": email_key, "_id": { "$ne": id } })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(|e| map_error("check e-mail", e))?;
        match taken {
            Some(_) => Err(email_conflict()),
            None => Ok(()),
        }
    }
}

fn email_conflict() -> StoreError {
    StoreError::Conflict("e-mail already registered".to_string())
}

fn user_write_error(context: &str, e: MongoError) -> StoreError {
    if is_duplicate_key(&e) {
        email_conflict()
    } else {
        map_error(context, e)
    }
}

/// The stored form of a user: the domain value under `doc` plus the fields
/// queries and indexes use.
pub(super) fn user_document(user: &User) -> Result<Document, StoreError> {
    let body = crate::infra::records::to_bson(user)
        .map_err(|e| StoreError::Other(format!("cannot encode user {:?}: {e}", user.id)))?;
    Ok(doc! {
        "_id": user.id.as_str(),
        "email": user.email.as_str(),
        "email_key": user.email_key(),
        "name": user.name.as_str(),
        "password_hash": user.password_hash.as_str(),
        "role": user.role.as_str(),
        "disabled": user.disabled,
        "created_at": bson::DateTime::from_chrono(user.created_at),
        "created_ts": user.created_at.timestamp_millis(),
        "doc": body,
    })
}

pub(super) fn decode_user(d: Document) -> Result<User, String> {
    decode_body(d, crate::domain::records::Kind::User)
}

/// Everyone, or users whose e-mail or name contains `search` (trimmed,
/// case-insensitive).
fn user_search_filter(search: Option<&str>) -> Document {
    match search.map(str::trim).filter(|s| !s.is_empty()) {
        None => Document::new(),
        Some(s) => {
            let pattern = regex_literal(s);
            doc! {
                "$or": [
                    { "email_key": { "$regex": pattern.as_str(), "$options": "i" } },
                    { "name": { "$regex": pattern.as_str(), "$options": "i" } },
                ]
            }
        }
    }
}

/// A regular expression matching `text` literally. A backslash before an
/// ASCII punctuation character makes it literal in PCRE and in Python's
/// `re`; control characters become `\xhh` (never a raw NUL in the pattern).
/// Letters, digits, spaces and non-ASCII characters need no escape.
pub(super) fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
            out.push(c);
        } else if c.is_ascii_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

// ------------------------------------------------------------------- tokens

#[async_trait]
impl TokenStore for MongoStore {
    async fn create_family(&self, family_id: &str, user_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.token_families
            .insert_one(doc! {
                "_id": family_id,
                "user_id": user_id,
                "created_at": bson::DateTime::from_chrono(now),
                "revoked_at": Bson::Null,
            })
            .await
            .map_err(|e| map_error("create token family", e))?;
        Ok(())
    }

    async fn insert_refresh(&self, record: &RefreshRecord) -> Result<(), StoreError> {
        self.refresh_tokens
            .insert_one(doc! {
                "_id": record.token_hash.as_str(),
                "family_id": record.family_id.as_str(),
                "user_id": record.user_id.as_str(),
                "expires_at": bson::DateTime::from_chrono(record.expires_at),
                "expires": record.expires_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                "used_at": Bson::Null,
            })
            .await
            .map_err(|e| map_error("store refresh token", e))?;
        Ok(())
    }

    async fn consume_refresh(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Consumed, StoreError> {
        let fresh = self
            .refresh_tokens
            .find_one_and_update(
                doc! { "_id": token_hash, "used_at": Bson::Null },
                doc! { "$set": { "used_at": bson::DateTime::from_chrono(now) } },
            )
            .await
            .map_err(|e| map_error("consume refresh token", e))?;
        if let Some(d) = fresh {
            return decode_refresh(&d).map(Consumed::Fresh);
        }
        let spent = self
            .refresh_tokens
            .find_one(doc! { "_id": token_hash })
            .await
            .map_err(|e| map_error("read refresh token", e))?;
        match spent {
            Some(d) => decode_refresh(&d).map(Consumed::Reused),
            None => Ok(Consumed::Unknown),
        }
    }

    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.token_families
            .update_one(
                doc! { "_id": family_id, "revoked_at": Bson::Null },
                doc! { "$set": { "revoked_at": bson::DateTime::from_chrono(now) } },
            )
            .await
            .map_err(|e| map_error("revoke token family", e))?;
        Ok(())
    }

    async fn revoke_user_families(&self, user_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.token_families
            .update_many(
                doc! { "user_id": user_id, "revoked_at": Bson::Null },
                doc! { "$set": { "revoked_at": bson::DateTime::from_chrono(now) } },
            )
            .await
            .map_err(|e| map_error("revoke token families", e))?;
        Ok(())
    }

    async fn active_family_owner(&self, family_id: &str) -> Result<Option<String>, StoreError> {
        // `revoked_at: null` also matches a missing field.
        let found = self
            .token_families
            .find_one(doc! { "_id": family_id, "revoked_at": Bson::Null })
            .projection(doc! { "user_id": 1 })
            .await
            .map_err(|e| map_error("read token family", e))?;
        Ok(found.and_then(|d| d.get_str("user_id").ok().map(str::to_string)))
    }

    async fn active_family_user(&self, family_id: &str) -> Result<Option<(String, Option<User>)>, StoreError> {
        let Some(owner) = self.active_family_owner(family_id).await? else { return Ok(None) };
        let user = self.find_user(doc! { "_id": &owner }).await?;
        Ok(Some((owner, user)))
    }

    async fn refresh_owner(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        let found = self
            .refresh_tokens
            .find_one(doc! { "_id": token_hash })
            .projection(doc! { "user_id": 1 })
            .await
            .map_err(|e| map_error("read refresh token", e))?;
        Ok(found.and_then(|d| d.get_str("user_id").ok().map(str::to_string)))
    }
}

pub(super) fn decode_refresh(d: &Document) -> Result<RefreshRecord, StoreError> {
    let text = |field: &str| -> Result<String, StoreError> {
        match d.get(field) {
            Some(Bson::String(s)) => Ok(s.clone()),
            _ => Err(StoreError::Other(format!("refresh token document has no string `{field}`"))),
        }
    };
    let exact = match d.get("expires") {
        Some(Bson::String(s)) => DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)),
        _ => None,
    };
    let expires_at = match (exact, d.get("expires_at")) {
        (Some(t), _) => t,
        (None, Some(Bson::DateTime(t))) => t.to_chrono(),
        _ => return Err(StoreError::Other("refresh token document has no expiry".to_string())),
    };
    Ok(RefreshRecord { token_hash: text("_id")?, family_id: text("family_id")?, user_id: text("user_id")?, expires_at })
}

// ---------------------------------------------------------------- key/value

#[async_trait]
impl KeyValueStore for MongoStore {
    async fn kv_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let found = self
            .kv
            .find_one(doc! { "_id": kv_id(ns, key) })
            .await
            .map_err(|e| map_error("read key", e))?;
        match found {
            Some(d) if !kv_expired(&d, Utc::now()) => kv_value(&d).map(Some),
            _ => Ok(None),
        }
    }

    async fn kv_put(&self, ns: &str, key: &str, value: &[u8], expires_at: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        let id = kv_id(ns, key);
        self.kv
            .replace_one(doc! { "_id": id.as_str() }, kv_document(&id, ns, key, value, expires_at))
            .upsert(true)
            .await
            .map_err(|e| map_error("write key", e))?;
        Ok(())
    }

    async fn kv_delete(&self, ns: &str, key: &str) -> Result<(), StoreError> {
        self.kv
            .delete_one(doc! { "_id": kv_id(ns, key) })
            .await
            .map_err(|e| map_error("delete key", e))?;
        Ok(())
    }

    async fn kv_put_if_absent(&self, ns: &str, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let id = kv_id(ns, key);
        for _ in 0..PUT_IF_ABSENT_ATTEMPTS {
            match self.kv.insert_one(kv_document(&id, ns, key, value, None)).await {
                Ok(_) => return Ok(value.to_vec()),
                Err(e) if is_duplicate_key(&e) => {}
                Err(e) => return Err(map_error("write key", e)),
            }
            // Someone wrote first: their value wins, unless it has expired
            // and the TTL monitor has not removed it yet.
            let now = Utc::now();
            let existing = self
                .kv
                .find_one(doc! { "_id": id.as_str() })
                .await
                .map_err(|e| map_error("read key", e))?;
            let Some(existing) = existing else { continue }; // deleted meanwhile: insert again
            if !kv_expired(&existing, now) {
                return kv_value(&existing);
            }
            // Take over the expired entry (guarded, so a fresh one is never overwritten).
            let replaced = self
                .kv
                .replace_one(
                    doc! { "_id": id.as_str(), "expires_at": { "$lte": bson::DateTime::from_chrono(now) } },
                    kv_document(&id, ns, key, value, None),
                )
                .await
                .map_err(|e| map_error("write key", e))?;
            if replaced.matched_count == 1 {
                return Ok(value.to_vec());
            }
        }
        Err(StoreError::Other(format!("key {id:?} kept changing while being written")))
    }
}

/// One `_id` per namespace and key (namespaces are fixed names without `:`).
pub(super) fn kv_id(ns: &str, key: &str) -> String {
    format!("{ns}:{key}")
}

pub(super) fn kv_document(id: &str, ns: &str, key: &str, value: &[u8], expires_at: Option<DateTime<Utc>>) -> Document {
    let mut d = doc! { "_id": id, "ns": ns, "key": key, "value": base64_encode(value) };
    if let Some(t) = expires_at {
        d.insert("expires_at", bson::DateTime::from_chrono(t));
    }
    d
}

fn kv_expired(d: &Document, now: DateTime<Utc>) -> bool {
    match d.get("expires_at") {
        Some(Bson::DateTime(t)) => t.to_chrono() <= now,
        _ => false,
    }
}

pub(super) fn kv_value(d: &Document) -> Result<Vec<u8>, StoreError> {
    match d.get("value") {
        Some(Bson::String(s)) => bson::Binary::from_base64(s, None)
            .map(|b| b.bytes)
            .map_err(|e| StoreError::Other(format!("cannot decode stored value: {e}"))),
        Some(Bson::Binary(b)) => Ok(b.bytes.clone()),
        _ => Err(StoreError::Other("key/value document has no value".to_string())),
    }
}

/// Standard base64 with padding (decoded by `bson::Binary::from_base64`).
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::Role;
    use chrono::TimeZone;

    fn user() -> User {
        User {
            id: "u1".into(),
            email: "Ana.Pop@Example.com".into(),
            name: "Ana Pop".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role: Role::Partner,
            disabled: false,
            created_at: Utc.timestamp_nanos(1_700_000_000_123_456_789),
            sessions_valid_from: Some(Utc.timestamp_nanos(1_700_000_100_000_000_000)),
            lang: Some("en".into()),
        }
    }

    #[test]
    fn user_documents_round_trip() {
        let u = user();
        let d = user_document(&u).expect("encode");
        assert_eq!(d.get_str("_id").ok(), Some("u1"));
        assert_eq!(d.get_str("email_key").ok(), Some("ana.pop@example.com"));
        assert_eq!(d.get_str("role").ok(), Some("partner"));
        assert_eq!(d.get_i64("created_ts").ok(), Some(1_700_000_000_123));
        assert_eq!(decode_user(d).expect("decode"), u);
    }

    #[test]
    fn search_text_is_escaped() {
        assert_eq!(regex_literal("ana"), "ana");
        assert_eq!(regex_literal("a.b*c"), "a\\.b\\*c");
        assert_eq!(regex_literal("(x)[y]{z}^$|?+\\/"), "\\(x\\)\\[y\\]\\{z\\}\\^\\$\\|\\?\\+\\\\\\/");
        assert_eq!(regex_literal("a b-é\0\n"), "a b\\-é\\x00\\x0a");
        assert!(user_search_filter(None).is_empty());
        assert!(user_search_filter(Some("   ")).is_empty());
        let f = user_search_filter(Some(" $where "));
        let or = f.get_array("$or").expect("$or");
        let first = or[0].as_document().and_then(|d| d.get_document("email_key").ok()).expect("clause");
        assert_eq!(first.get_str("$regex").ok(), Some("\\$where"));
        assert_eq!(first.get_str("$options").ok(), Some("i"));
    }

    #[test]
    fn refresh_records_keep_exact_expiry() {
        let expires_at = Utc.timestamp_nanos(1_900_000_000_987_654_321);
        let d = doc! {
            "_id": "h", "family_id": "f", "user_id": "u",
            "expires_at": bson::DateTime::from_chrono(expires_at),
            "expires": expires_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "used_at": Bson::Null,
        };
        let r = decode_refresh(&d).expect("decode");
        assert_eq!(r, RefreshRecord { token_hash: "h".into(), family_id: "f".into(), user_id: "u".into(), expires_at });
        let mut ms_only = d.clone();
        ms_only.remove("expires");
        assert_eq!(decode_refresh(&ms_only).expect("decode").expires_at.timestamp_millis(), expires_at.timestamp_millis());
    }

    #[test]
    fn kv_values_round_trip_and_expire() {
        for v in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar", &[0u8, 255, 128, 1][..]] {
            let d = kv_document("s:k", "s", "k", v, None);
            assert_eq!(kv_value(&d).expect("decode"), v.to_vec());
            assert!(!kv_expired(&d, Utc::now()));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        let now = Utc::now();
        let d = kv_document("s:k", "s", "k", b"x", Some(now - chrono::Duration::seconds(1)));
        assert!(kv_expired(&d, now));
        let d = kv_document("s:k", "s", "k", b"x", Some(now + chrono::Duration::seconds(60)));
        assert!(!kv_expired(&d, now));
        let bin = doc! { "value": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![1, 2] } };
        assert_eq!(kv_value(&bin).expect("binary"), vec![1, 2]);
    }
}
