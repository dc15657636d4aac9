//! Documents as every door shows them: a document with the URLs of its files,
//! and the panel's e-Factura filter.
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::invoice::{DocKind, Document, EfacturaState};
use crate::domain::user::FieldError;

/// A document's e-Factura state, as listed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EfacturaView {
    pub state: EfacturaState,
    /// ANAF's `index_incarcare`.
    pub upload_id: Option<String>,
    /// Why ANAF refused it.
    pub errors: Vec<String>,
}

/// An invoice or credit note, with where to get its files.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub kind: DocKind,
    /// The series and number (`VTR000042`).
    pub number: String,
    pub issued_at: DateTime<Utc>,
    /// With VAT, in minor units (bani): the order's total, or what a credit note gives back.
    pub total_cents: i64,
    pub currency: String,
    /// The order it belongs to.
    pub order_id: String,
    /// A credit note's invoice (`VTR000041`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrects: Option<String>,
    /// `GET` it: the A4 PDF.
    pub pdf: String,
    /// `GET` it: the UBL 2.1 XML sent to e-Factura.
    pub xml: String,
    pub efactura: EfacturaView,
}

impl DocumentView {
    /// `token`: a guest order's link token, carried into the file URLs.
    pub fn of(d: &Document, token: Option<&str>) -> Self {
        let q = token.map(|t| format!("?token={t}")).unwrap_or_default();
        DocumentView {
            id: d.id.clone(),
            kind: d.kind,
            number: d.full_number(),
            issued_at: d.issued_at,
            total_cents: d.total_cents,
            currency: d.currency.clone(),
            order_id: d.order_id.clone(),
            corrects: d.invoice.as_ref().map(|i| i.number.clone()),
            pdf: format!("/api/v1/documents/{}.pdf{q}", d.id),
            xml: format!("/api/v1/documents/{}.xml{q}", d.id),
            efactura: EfacturaView { state: d.efactura.state, upload_id: d.efactura.upload_id.clone(), errors: d.efactura.errors.clone() },
        }
    }
}

/// Parses the panel's e-Factura filter.
pub fn efactura_filter(value: Option<&str>) -> Result<Vec<EfacturaState>, FieldError> {
    match value.unwrap_or("").trim() {
        "" | "all" => Ok(vec![]),
        "not_accepted" => Ok(crate::services::invoices::Invoicing::not_accepted()),
        s => EfacturaState::parse(s).map(|e| vec![e]).ok_or_else(|| FieldError::new("efactura", "one of: not_accepted, waiting, processing, accepted, rejected")),
    }
}

