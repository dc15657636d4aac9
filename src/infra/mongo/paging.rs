//! Count, then one page: how the lists of users, orders and audit entries
//! are read, and how a cursor of stored entities is decoded.
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::{Collection, Cursor};

use super::codec::as_count;
use super::map_error;
use crate::ports::StoreError;

/// The documents matching `filter`, in `sort` order, from `offset`, at most
/// `limit` of them (0: none), decoded; and how many match in all.
pub(super) async fn page<T>(
    collection: &Collection<Document>,
    what: &str,
    filter: Document,
    sort: Document,
    offset: u64,
    limit: u64,
    decode: impl Fn(Document) -> Result<T, String>,
) -> Result<(Vec<T>, u64), StoreError> {
    let total = count(collection, filter.clone()).await.map_err(|e| map_error(&format!("count {what}"), e))?;
    // A limit of 0 means "no limit" to the server.
    if limit == 0 || offset >= total {
        return Ok((Vec::new(), total));
    }
    let cursor = collection
        .find(filter)
        .sort(sort)
        .skip(offset)
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .projection(doc! { "doc": 1 })
        .await
        .map_err(|e| map_error(&format!("list {what}"), e))?;
    let mut items = read_all(cursor, what, decode).await?;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((items, total))
}

/// How many documents match `filter`, by the `count` command rather than
/// `count_documents` (an aggregation): MongoDB plans both the same way, but
/// nx-27017 answers `count` in SQL and the aggregation in Python, 40 times
/// slower on 7,000 orders. With no filter MongoDB answers from the
/// collection's metadata.
pub(super) async fn count(collection: &Collection<Document>, filter: Document) -> Result<u64, mongodb::error::Error> {
    let ns = collection.namespace();
    let reply = collection.client().database(&ns.db).run_command(doc! { "count": ns.coll, "query": filter }).await?;
    Ok(reply.get("n").and_then(as_count).unwrap_or(0))
}

/// Decodes a cursor, skipping (and logging) documents it cannot read: one
/// bad record never hides the rest.
pub(super) async fn read_all<T>(mut cursor: Cursor<Document>, what: &str, decode: impl Fn(Document) -> Result<T, String>) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    while let Some(d) = cursor.try_next().await.map_err(|e| map_error(&format!("read {what}"), e))? {
        let id = d.get("_id").map(|b| b.to_string()).unwrap_or_default();
        match decode(d) {
            Ok(x) => out.push(x),
            Err(e) => tracing::warn!(collection = what, id = %id, error = %e, "skipping an unreadable document"),
        }
    }
    Ok(out)
}
