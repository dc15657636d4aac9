//! The audit log in the embedded store: one row of the `audit` table per
//! entry. `at` is kept as epoch milliseconds (`at_ms`), so an entry reads
//! back exact to the millisecond. The actor filter looks in `actor_key`, the
//! e-mail lower-cased in Rust like `AuditFilter::matches` does, with
//! `instr` (no `LIKE` wildcards to escape).
use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use rusqlite::params;
use rusqlite::types::Value;

use super::{unavailable, write_error, SqliteStore};
use crate::domain::audit::{ceil_millis, AuditEntry, AuditFilter};
use crate::ports::{AuditStore, StoreError};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.0.write(move |c| insert(c, &e)).await
    }

    async fn list_audit(&self, filter: &AuditFilter, offset: u64, limit: u64) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        let f = filter.clone();
        self.0
            .read(move |c| {
                let mut cond: Vec<&str> = Vec::new();
                let mut args: Vec<Value> = Vec::new();
                // `contains("")` is always true: an empty actor narrows nothing.
                if let Some(actor) = f.actor.as_deref().filter(|a| !a.is_empty()) {
                    cond.push("instr(actor_key, ?) > 0");
                    args.push(Value::Text(actor.to_lowercase()));
                }
                if let Some(action) = &f.action {
                    // the action itself, or a dotted prefix of it
                    let dotted = format!("{action}.");
                    cond.push("(action = ? OR substr(action, 1, length(?)) = ?)");
                    args.push(Value::Text(action.clone()));
                    args.push(Value::Text(dotted.clone()));
                    args.push(Value::Text(dotted));
                }
                if let Some(target) = &f.target {
                    cond.push("target = ?");
                    args.push(Value::Text(target.clone()));
                }
                if let Some(from) = f.from {
                    cond.push("at_ms >= ?");
                    args.push(Value::Integer(ceil_millis(from)));
                }
                if let Some(to) = f.to {
                    cond.push("at_ms < ?");
                    args.push(Value::Integer(ceil_millis(to)));
                }
                let where_clause = if cond.is_empty() { String::new() } else { format!("WHERE {}", cond.join(" AND ")) };
                let total: i64 = c
                    .query_row(&format!("SELECT COUNT(*) FROM audit {where_clause}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                    .map_err(unavailable)?;
                let total = u64::try_from(total).unwrap_or(0);
                if limit == 0 || offset >= total {
                    return Ok((Vec::new(), total));
                }
                let mut page_args = args;
                page_args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
                page_args.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
                let mut stmt = c
                    .prepare_cached(&format!(
                        r#"SELECT id, at_ms, actor_id, actor_email, action, target, summary, "before", "after"
                           FROM audit {where_clause} ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?"#
                    ))
                    .map_err(unavailable)?;
                let entries = stmt
                    .query_map(rusqlite::params_from_iter(page_args), entry_from_row)
                    .map_err(unavailable)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(unavailable)?;
                Ok((entries, total))
            })
            .await
    }

    async fn redact_audit(&self, targets: &[String]) -> Result<u64, StoreError> {
        let targets = targets.to_vec();
        self.0
            .write(move |c| {
                let mut n = 0;
                for t in &targets {
                    n += c.execute(r#"UPDATE audit SET summary = '(erased)', "before" = NULL, "after" = NULL WHERE target = ?"#, [t]).map_err(write_error)?;
                }
                Ok(n as u64)
            })
            .await
    }
}

/// Writes one entry.
pub(super) fn insert(c: &rusqlite::Connection, e: &AuditEntry) -> Result<(), StoreError> {
    c.execute(
        r#"INSERT INTO audit (id, at_ms, actor_id, actor_email, actor_key, action, target, summary, "before", "after")
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
        params![e.id, e.at.timestamp_millis(), e.actor_id, e.actor_email, e.actor_email.to_lowercase(), e.action, e.target, e.summary, e.before, e.after],
    )
    .map_err(write_error)?;
    Ok(())
}

pub(super) fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let at_ms: i64 = r.get(1)?;
    let at = Utc.timestamp_millis_opt(at_ms).single().ok_or(rusqlite::Error::IntegralValueOutOfRange(1, at_ms))?;
    Ok(AuditEntry {
        id: r.get(0)?,
        at,
        actor_id: r.get(2)?,
        actor_email: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        summary: r.get(6)?,
        before: r.get(7)?,
        after: r.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_round_up_to_the_millisecond() {
        let t = Utc.timestamp_millis_opt(1_800_000_000_123).single().unwrap();
        assert_eq!(ceil_millis(t), 1_800_000_000_123);
        assert_eq!(ceil_millis(t + chrono::Duration::nanoseconds(1)), 1_800_000_000_124);
        assert_eq!(ceil_millis(t - chrono::Duration::nanoseconds(1)), 1_800_000_000_123);
    }
}
