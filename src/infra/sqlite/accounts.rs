use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};

use super::{other, patch_row, sql_value, unavailable, write_error, Mirror, SqliteStore};
use crate::domain::patch::Patch;
use super::{decode, encode};
use crate::domain::records::Kind;
use crate::domain::user::User;
use crate::ports::{Consumed, KeyValueStore, RefreshRecord, StoreError, TokenStore, UserStore};

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn user_conflict(e: rusqlite::Error) -> StoreError {
    match write_error(e) {
        StoreError::Conflict(_) => StoreError::Conflict("e-mail already registered".into()),
        e => e,
    }
}

fn conflict_is_email(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(_) => StoreError::Conflict("e-mail already registered".into()),
        e => e,
    }
}

/// The user columns queries use, kept equal to their fields.
const USER_MIRRORS: &[Mirror] = &[
    Mirror { path: "email", column: "email", value: sql_value },
    Mirror { path: "email", column: "email_key", value: email_key },
    Mirror { path: "name", column: "name", value: sql_value },
];

fn email_key(v: &serde_json::Value, _id: &str) -> rusqlite::types::Value {
    rusqlite::types::Value::Text(v.as_str().unwrap_or_default().to_lowercase())
}

fn parse_user(doc: String) -> Result<User, StoreError> {
    decode(Kind::User, &doc)
}

/// `LIKE` pattern for a substring, with the pattern characters escaped.
fn like_pattern(s: &str) -> String {
    let mut out = String::from("%");
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let u = user.clone();
        self.0
            .write(move |c| {
                let doc = encode(&u)?;
                c.execute(
                    "INSERT INTO users (id, email_key, email, name, created_ts, doc) VALUES (?, ?, ?, ?, ?, ?)",
                    params![u.id, u.email_key(), u.email, u.name, ms(u.created_at), doc],
                )
                .map_err(user_conflict)?;
                Ok(())
            })
            .await
    }

    async fn update_user(&self, id: &str, patch: &Patch) -> Result<bool, StoreError> {
        let (id, patch) = (id.to_string(), patch.clone());
        self.0.write(move |c| Ok(patch_row(c, Kind::User, "users", "id", &id, &patch, USER_MIRRORS).map_err(conflict_is_email)? == 1)).await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        self.0
            .read(move |c| {
                let doc: Option<String> =
                    c.query_row("SELECT doc FROM users WHERE id = ?", [&id], |r| r.get(0)).optional().map_err(unavailable)?;
                doc.map(parse_user).transpose()
            })
            .await
    }

    async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.0
            .read(move |c| {
                let mut users = Vec::with_capacity(ids.len());
                // within SQLite's limit on bound parameters
                for chunk in ids.chunks(500) {
                    let marks = vec!["?"; chunk.len()].join(",");
                    let mut st = c.prepare(&format!("SELECT doc FROM users WHERE id IN ({marks})")).map_err(unavailable)?;
                    let docs = st.query_map(rusqlite::params_from_iter(chunk.iter()), |r| r.get::<_, String>(0)).map_err(unavailable)?;
                    for doc in docs {
                        users.push(parse_user(doc.map_err(unavailable)?)?);
                    }
                }
                Ok(users)
            })
            .await
    }

    async fn purge_erased(&self) -> Result<(), StoreError> {
        // `secure_delete` zeroed what the erasure freed; the write-ahead log
        // still holds the pages as they were until it is checkpointed and emptied
        self.0
            .write(|c| {
                let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).map_err(unavailable)?;
                if busy != 0 {
                    return Err(StoreError::Unavailable("readers kept the write-ahead log from being emptied; it is at the next checkpoint".into()));
                }
                Ok(())
            })
            .await
    }

    async fn user_by_email(&self, email_key: &str) -> Result<Option<User>, StoreError> {
        let key = email_key.to_lowercase();
        self.0
            .read(move |c| {
                let doc: Option<String> =
                    c.query_row("SELECT doc FROM users WHERE email_key = ?", [&key], |r| r.get(0)).optional().map_err(unavailable)?;
                doc.map(parse_user).transpose()
            })
            .await
    }

    async fn list_users(&self, search: Option<&str>, offset: u64, limit: u64) -> Result<(Vec<User>, u64), StoreError> {
        let pattern = search.map(str::trim).filter(|s| !s.is_empty()).map(like_pattern);
        self.0
            .read(move |c| {
                let cond = "(?1 IS NULL OR email_key LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\')";
                let total: i64 = c
                    .query_row(&format!("SELECT COUNT(*) FROM users WHERE {cond}"), params![pattern], |r| r.get(0))
                    .map_err(unavailable)?;
                let mut stmt = c
                    .prepare_cached(&format!("SELECT doc FROM users WHERE {cond} ORDER BY created_ts DESC, id LIMIT ?2 OFFSET ?3"))
                    .map_err(unavailable)?;
                let users = stmt
                    .query_map(params![pattern, limit as i64, offset as i64], |r| r.get::<_, String>(0))
                    .map_err(unavailable)?
                    .map(|d| d.map_err(unavailable).and_then(parse_user))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((users, total as u64))
            })
            .await
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_family(&self, family_id: &str, user_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let (f, u) = (family_id.to_string(), user_id.to_string());
        self.0
            .write(move |c| {
                c.execute("INSERT INTO token_families (id, user_id, created_ts) VALUES (?, ?, ?)", params![f, u, ms(now)]).map_err(write_error)?;
                Ok(())
            })
            .await
    }

    async fn insert_refresh(&self, record: &RefreshRecord) -> Result<(), StoreError> {
        let r = record.clone();
        self.0
            .write(move |c| {
                c.execute(
                    "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_ts) VALUES (?, ?, ?, ?)",
                    params![r.token_hash, r.family_id, r.user_id, ms(r.expires_at)],
                )
                .map_err(write_error)?;
                Ok(())
            })
            .await
    }

    async fn consume_refresh(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Consumed, StoreError> {
        let h = token_hash.to_string();
        self.0
            .write(move |c| {
                // single writer connection + a guarded UPDATE: exactly one caller wins
                let changed = c
                    .execute("UPDATE refresh_tokens SET used_ts = ? WHERE token_hash = ? AND used_ts IS NULL", params![ms(now), h])
                    .map_err(other)?;
                let rec = c
                    .query_row("SELECT token_hash, family_id, user_id, expires_ts FROM refresh_tokens WHERE token_hash = ?", [&h], |r| {
                        Ok(RefreshRecord { token_hash: r.get(0)?, family_id: r.get(1)?, user_id: r.get(2)?, expires_at: from_ms(r.get(3)?) })
                    })
                    .optional()
                    .map_err(other)?;
                Ok(match (rec, changed) {
                    (None, _) => Consumed::Unknown,
                    (Some(r), 1) => Consumed::Fresh(r),
                    (Some(r), _) => Consumed::Reused(r),
                })
            })
            .await
    }

    async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let f = family_id.to_string();
        self.0
            .write(move |c| {
                c.execute("UPDATE token_families SET revoked_ts = ? WHERE id = ? AND revoked_ts IS NULL", params![ms(now), f]).map_err(other)?;
                Ok(())
            })
            .await
    }

    async fn revoke_user_families(&self, user_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let u = user_id.to_string();
        self.0
            .write(move |c| {
                c.execute("UPDATE token_families SET revoked_ts = ? WHERE user_id = ? AND revoked_ts IS NULL", params![ms(now), u])
                    .map_err(other)?;
                Ok(())
            })
            .await
    }

    async fn active_family_owner(&self, family_id: &str) -> Result<Option<String>, StoreError> {
        let f = family_id.to_string();
        self.0
            .read(move |c| {
                c.query_row("SELECT user_id FROM token_families WHERE id = ? AND revoked_ts IS NULL", [&f], |r| r.get(0)).optional().map_err(unavailable)
            })
            .await
    }

    async fn active_family_user(&self, family_id: &str) -> Result<Option<(String, Option<User>)>, StoreError> {
        let f = family_id.to_string();
        self.0
            .read(move |c| {
                let row: Option<(String, Option<String>)> = c
                    .query_row(
                        "SELECT f.user_id, u.doc FROM token_families f LEFT JOIN users u ON u.id = f.user_id WHERE f.id = ? AND f.revoked_ts IS NULL",
                        [&f],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(unavailable)?;
                row.map(|(owner, doc)| Ok((owner, doc.map(parse_user).transpose()?))).transpose()
            })
            .await
    }

    async fn refresh_owner(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        let h = token_hash.to_string();
        self.0.read(move |c| c.query_row("SELECT user_id FROM refresh_tokens WHERE token_hash = ?", [&h], |r| r.get(0)).optional().map_err(unavailable)).await
    }
}

#[async_trait]
impl KeyValueStore for SqliteStore {
    async fn kv_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (ns, key) = (ns.to_string(), key.to_string());
        let now = ms(Utc::now());
        self.0
            .read(move |c| {
                c.query_row(
                    "SELECT value FROM kv WHERE ns = ? AND key = ? AND (expires_ts IS NULL OR expires_ts > ?)",
                    params![ns, key, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)
            })
            .await
    }

    async fn kv_put(&self, ns: &str, key: &str, value: &[u8], expires_at: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        let (ns, key, value) = (ns.to_string(), key.to_string(), value.to_vec());
        self.0
            .write(move |c| {
                c.execute(
                    "INSERT INTO kv (ns, key, value, expires_ts) VALUES (?, ?, ?, ?)
                     ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value, expires_ts = excluded.expires_ts",
                    params![ns, key, value, expires_at.map(ms)],
                )
                .map_err(other)?;
                // expired rows are swept now and then
                if rand_tick() {
                    c.execute("DELETE FROM kv WHERE expires_ts IS NOT NULL AND expires_ts <= ?", [ms(Utc::now())]).map_err(other)?;
                }
                Ok(())
            })
            .await
    }

    async fn kv_delete(&self, ns: &str, key: &str) -> Result<(), StoreError> {
        let (ns, key) = (ns.to_string(), key.to_string());
        self.0
            .write(move |c| {
                c.execute("DELETE FROM kv WHERE ns = ? AND key = ?", params![ns, key]).map_err(other)?;
                Ok(())
            })
            .await
    }

    async fn kv_put_if_absent(&self, ns: &str, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let (ns, key, value) = (ns.to_string(), key.to_string(), value.to_vec());
        self.0
            .write(move |c| {
                c.execute("INSERT OR IGNORE INTO kv (ns, key, value) VALUES (?, ?, ?)", params![ns, key, value]).map_err(other)?;
                c.query_row("SELECT value FROM kv WHERE ns = ? AND key = ?", params![ns, key], |r| r.get(0)).map_err(other)
            })
            .await
    }
}

/// About one call in 256 sweeps expired rows.
fn rand_tick() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed) % 256 == 0
}
