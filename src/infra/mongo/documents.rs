//! Invoices and credit notes on MongoDB: collection `documents`, one per
//! document, `{_id, series, number, order_id, kind, reference, issued_ms,
//! efactura, doc, xml, pdf, answer}` (the files as base64 text: nx-27017
//! cannot rewrite a document holding binary). Unique indexes on
//! `{series, number}` and `{order_id, kind, reference}`: two writers claiming
//! one number, or issuing one document twice, meet a duplicate key.
use async_trait::async_trait;
use base64::Engine;
use mongodb::bson::{doc, Bson, Document as Bdoc};

use super::paging::page;
use super::{is_duplicate_key, map_error, MongoStore};
use crate::domain::invoice::{DocKind, Document, Efactura, EfacturaState};
use crate::ports::{Claimed, DocFile, DocumentFilter, DocumentStore, StoreError};

pub(super) const DOCUMENTS: &str = "documents";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn decode(d: Bdoc) -> Result<Document, String> {
    match d.get("doc") {
        Some(Bson::Document(body)) => mongodb::bson::deserialize_from_document(body.clone()).map_err(|e| format!("cannot read a stored document: {e}")),
        _ => Err("a document without its body".into()),
    }
}

fn body(doc: &Document) -> Result<Bdoc, StoreError> {
    mongodb::bson::serialize_to_document(doc).map_err(|e| StoreError::Other(format!("cannot encode a document: {e}")))
}

impl MongoStore {
    fn documents_coll(&self) -> mongodb::Collection<Bdoc> {
        self.database().collection(DOCUMENTS)
    }

    async fn find_document(&self, filter: Bdoc) -> Result<Option<Document>, StoreError> {
        let found = self.documents_coll().find_one(filter).projection(doc! { "doc": 1 }).await.map_err(|e| map_error("read document", e))?;
        found.map(decode).transpose().map_err(StoreError::Other)
    }
}

#[async_trait]
impl DocumentStore for MongoStore {
    async fn last_number(&self, series: &str) -> Result<u64, StoreError> {
        let last = self.documents_coll().find_one(doc! { "series": series }).sort(doc! { "number": -1 }).projection(doc! { "number": 1 }).await.map_err(|e| map_error("read the last number", e))?;
        Ok(last.and_then(|d| d.get("number").and_then(super::codec::as_count)).unwrap_or(0))
    }

    async fn claim_document(&self, d: &Document) -> Result<Claimed, StoreError> {
        if let Some(existing) = self.document_for(&d.order_id, d.kind, &d.reference).await? {
            return Ok(Claimed::Exists(existing));
        }
        let row = doc! {
            "_id": d.id.as_str(), "series": d.series.as_str(), "number": d.number as i64, "order_id": d.order_id.as_str(), "kind": d.kind.as_str(),
            "reference": d.reference.as_str(), "issued_ms": d.issued_at.timestamp_millis(), "efactura": d.efactura.state.as_str(), "doc": body(d)?,
        };
        match self.documents_coll().insert_one(row).await {
            Ok(_) => Ok(Claimed::Stored),
            Err(e) if is_duplicate_key(&e) => match self.document_for(&d.order_id, d.kind, &d.reference).await? {
                // issued meanwhile by another writer
                Some(existing) => Ok(Claimed::Exists(existing)),
                None => Ok(Claimed::NumberTaken),
            },
            Err(e) => Err(map_error("store document", e)),
        }
    }

    async fn put_files(&self, id: &str, xml: &str, pdf: &[u8]) -> Result<bool, StoreError> {
        let r = self
            .documents_coll()
            .update_one(doc! { "_id": id, "xml": { "$exists": false } }, doc! { "$set": { "xml": xml, "pdf": b64().encode(pdf) } })
            .await
            .map_err(|e| map_error("store document files", e))?;
        Ok(r.matched_count > 0)
    }

    async fn document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        self.find_document(doc! { "_id": id }).await
    }

    async fn document_for(&self, order_id: &str, kind: DocKind, reference: &str) -> Result<Option<Document>, StoreError> {
        self.find_document(doc! { "order_id": order_id, "kind": kind.as_str(), "reference": reference }).await
    }

    async fn documents(&self, f: &DocumentFilter, offset: u64, limit: u64) -> Result<(Vec<Document>, u64), StoreError> {
        let mut filter = Bdoc::new();
        if let Some(o) = &f.order_id {
            filter.insert("order_id", o.as_str());
        }
        if let Some(k) = f.kind {
            filter.insert("kind", k.as_str());
        }
        if !f.efactura.is_empty() {
            filter.insert("efactura", doc! { "$in": f.efactura.iter().map(|s| s.as_str()).collect::<Vec<_>>() });
        }
        if let Some(before) = f.issued_before {
            filter.insert("issued_ms", doc! { "$lt": before.timestamp_millis() });
        }
        page(&self.documents_coll(), DOCUMENTS, filter, doc! { "issued_ms": -1, "number": -1 }, offset, limit, decode).await
    }

    async fn document_file(&self, id: &str, file: DocFile) -> Result<Option<Vec<u8>>, StoreError> {
        let field = match file {
            DocFile::Pdf => "pdf",
            DocFile::Xml => "xml",
            DocFile::Answer => "answer",
        };
        let found = self.documents_coll().find_one(doc! { "_id": id }).projection(doc! { field: 1 }).await.map_err(|e| map_error("read document file", e))?;
        Ok(match (file, found.as_ref().and_then(|d| d.get_str(field).ok())) {
            (_, None) => None,
            (DocFile::Xml, Some(x)) => Some(x.as_bytes().to_vec()),
            (_, Some(b)) => Some(b64().decode(b).map_err(|e| StoreError::Other(format!("a damaged stored file: {e}")))?),
        })
    }

    async fn update_efactura(&self, id: &str, expected: EfacturaState, efactura: &Efactura, answer: Option<&[u8]>) -> Result<bool, StoreError> {
        let mut set = doc! { "efactura": efactura.state.as_str(), "doc.efactura": mongodb::bson::serialize_to_bson(efactura).map_err(|e| StoreError::Other(e.to_string()))? };
        if let Some(a) = answer {
            set.insert("answer", b64().encode(a));
        }
        let r = self.documents_coll().update_one(doc! { "_id": id, "efactura": expected.as_str() }, doc! { "$set": set }).await.map_err(|e| map_error("update e-Factura state", e))?;
        Ok(r.matched_count > 0)
    }

    async fn replace_refused(&self, d: &Document, xml: &str, pdf: &[u8]) -> Result<bool, StoreError> {
        let r = self
            .documents_coll()
            .update_one(
                doc! { "_id": d.id.as_str(), "efactura": EfacturaState::Rejected.as_str(), "doc.version": (d.version as i64 - 1) },
                doc! { "$set": { "doc": body(d)?, "xml": xml, "pdf": b64().encode(pdf), "efactura": d.efactura.state.as_str() }, "$unset": { "answer": "" } },
            )
            .await
            .map_err(|e| map_error("replace document", e))?;
        Ok(r.matched_count > 0)
    }
}

