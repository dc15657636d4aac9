//! Invoices and credit notes in the embedded store: a row per document with
//! its files; `UNIQUE (series, number)` keeps the numbering gapless and
//! unrepeated, `UNIQUE (order_id, kind, reference)` one document per purpose.
use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::{other, unavailable, write_error, SqliteStore};
use crate::domain::invoice::{DocKind, Document, Efactura, EfacturaState};
use crate::ports::{Claimed, DocFile, DocumentFilter, DocumentStore, StoreError};

fn parse(doc: String) -> Result<Document, StoreError> {
    serde_json::from_str(&doc).map_err(|e| StoreError::Other(format!("cannot read a stored document: {e}")))
}

fn encode(doc: &Document) -> Result<String, StoreError> {
    serde_json::to_string(doc).map_err(other)
}

fn find(c: &rusqlite::Connection, order_id: &str, kind: DocKind, reference: &str) -> Result<Option<Document>, StoreError> {
    c.query_row("SELECT doc FROM documents WHERE order_id = ? AND kind = ? AND reference = ?", params![order_id, kind.as_str(), reference], |r| r.get::<_, String>(0))
        .optional()
        .map_err(unavailable)?
        .map(parse)
        .transpose()
}

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn last_number(&self, series: &str) -> Result<u64, StoreError> {
        let series = series.to_string();
        self.0
            .read(move |c| Ok(c.query_row("SELECT COALESCE(MAX(number), 0) FROM documents WHERE series = ?", [&series], |r| r.get::<_, i64>(0)).map_err(unavailable)? as u64))
            .await
    }

    async fn claim_document(&self, doc: &Document) -> Result<Claimed, StoreError> {
        let d = doc.clone();
        self.0
            .write(move |c| {
                // IMMEDIATE: the write lock first, so a second instance on the same file waits (busy timeout) instead of failing on upgrade
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(other)?;
                if let Some(existing) = find(&tx, &d.order_id, d.kind, &d.reference)? {
                    return Ok(Claimed::Exists(existing));
                }
                let taken = tx.query_row("SELECT 1 FROM documents WHERE series = ? AND number = ?", params![d.series, d.number as i64], |_| Ok(())).optional().map_err(other)?.is_some();
                if taken {
                    return Ok(Claimed::NumberTaken);
                }
                tx.execute(
                    "INSERT INTO documents (id, series, number, order_id, kind, reference, issued_ms, efactura, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params![d.id, d.series, d.number as i64, d.order_id, d.kind.as_str(), d.reference, d.issued_at.timestamp_millis(), d.efactura.state.as_str(), encode(&d)?],
                )
                .map_err(write_error)?;
                tx.commit().map_err(other)?;
                Ok(Claimed::Stored)
            })
            .await
    }

    async fn put_files(&self, id: &str, xml: &str, pdf: &[u8]) -> Result<bool, StoreError> {
        let (id, xml, pdf) = (id.to_string(), xml.to_string(), pdf.to_vec());
        self.0.write(move |c| Ok(c.execute("UPDATE documents SET xml = ?, pdf = ? WHERE id = ? AND xml IS NULL", params![xml, pdf, id]).map_err(other)? == 1)).await
    }

    async fn document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        let id = id.to_string();
        self.0
            .read(move |c| c.query_row("SELECT doc FROM documents WHERE id = ?", [&id], |r| r.get::<_, String>(0)).optional().map_err(unavailable)?.map(parse).transpose())
            .await
    }

    async fn document_for(&self, order_id: &str, kind: DocKind, reference: &str) -> Result<Option<Document>, StoreError> {
        let (order_id, reference) = (order_id.to_string(), reference.to_string());
        self.0.read(move |c| find(c, &order_id, kind, &reference)).await
    }

    async fn documents(&self, f: &DocumentFilter, offset: u64, limit: u64) -> Result<(Vec<Document>, u64), StoreError> {
        let f = f.clone();
        self.0
            .read(move |c| {
                use rusqlite::types::Value as V;
                let mut cond = vec!["1 = 1".to_string()];
                let mut args: Vec<V> = Vec::new();
                if let Some(o) = &f.order_id {
                    cond.push("order_id = ?".into());
                    args.push(V::Text(o.clone()));
                }
                if let Some(k) = f.kind {
                    cond.push("kind = ?".into());
                    args.push(V::Text(k.as_str().into()));
                }
                if !f.efactura.is_empty() {
                    cond.push(format!("efactura IN ({})", vec!["?"; f.efactura.len()].join(", ")));
                    args.extend(f.efactura.iter().map(|s| V::Text(s.as_str().into())));
                }
                if let Some(before) = f.issued_before {
                    cond.push("issued_ms < ?".into());
                    args.push(V::Integer(before.timestamp_millis()));
                }
                let cond = cond.join(" AND ");
                let total: i64 = c.query_row(&format!("SELECT COUNT(*) FROM documents WHERE {cond}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0)).map_err(unavailable)?;
                args.push(V::Integer(limit.min(i64::MAX as u64) as i64));
                args.push(V::Integer(offset.min(i64::MAX as u64) as i64));
                let mut stmt = c.prepare_cached(&format!("SELECT doc FROM documents WHERE {cond} ORDER BY issued_ms DESC, number DESC LIMIT ? OFFSET ?")).map_err(unavailable)?;
                let docs = stmt
                    .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))
                    .map_err(unavailable)?
                    .map(|d| d.map_err(unavailable).and_then(parse))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((docs, total as u64))
            })
            .await
    }

    async fn document_file(&self, id: &str, file: DocFile) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_string();
        let column = match file {
            DocFile::Pdf => "pdf",
            DocFile::Xml => "CAST(xml AS BLOB)",
            DocFile::Answer => "answer",
        };
        self.0
            .read(move |c| Ok(c.query_row(&format!("SELECT {column} FROM documents WHERE id = ?"), [&id], |r| r.get::<_, Option<Vec<u8>>>(0)).optional().map_err(unavailable)?.flatten()))
            .await
    }

    async fn update_efactura(&self, id: &str, expected: EfacturaState, efactura: &Efactura, answer: Option<&[u8]>) -> Result<bool, StoreError> {
        let (id, state, body, answer) = (id.to_string(), efactura.state.as_str(), serde_json::to_string(efactura).map_err(other)?, answer.map(<[u8]>::to_vec));
        self.0
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE documents SET efactura = ?, doc = json_set(doc, '$.efactura', json(?)), answer = COALESCE(?, answer) WHERE id = ? AND efactura = ?",
                        params![state, body, answer, id, expected.as_str()],
                    )
                    .map_err(other)?;
                Ok(n == 1)
            })
            .await
    }

    async fn replace_refused(&self, doc: &Document, xml: &str, pdf: &[u8]) -> Result<bool, StoreError> {
        let (d, xml, pdf) = (doc.clone(), xml.to_string(), pdf.to_vec());
        self.0
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE documents SET doc = ?, xml = ?, pdf = ?, answer = NULL, efactura = ? WHERE id = ? AND efactura = ? AND json_extract(doc, '$.version') = ?",
                        params![encode(&d)?, xml, pdf, d.efactura.state.as_str(), d.id, EfacturaState::Rejected.as_str(), d.version as i64 - 1],
                    )
                    .map_err(other)?;
                Ok(n == 1)
            })
            .await
    }
}
