//! RFC 9457 problem details: every API error is `application/problem+json`.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use crate::domain::user::FieldError;
use crate::domain::query::QueryError;
use crate::ports::StoreError;
use crate::services::accounts::AccountError;
use crate::services::admin::AdminError;
use crate::services::catalog::CatalogError;
use crate::services::error::{Failure, Kind};
use crate::services::orders::OrderError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For 409 on a cart line: how many are available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// For 409 on an order: each short SKU with what is available.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub short: Vec<crate::services::orders::ShortLine>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: vec![],
            available: None,
            short: vec![],
        }
    }

    pub fn invalid(field: &str, message: &str) -> Self {
        let mut p = Self::new(StatusCode::BAD_REQUEST, format!("{field}: {message}"));
        p.kind = "https://vitrina.dev/problems/invalid-parameter".into();
        p.title = "Invalid parameter".into();
        p.errors.push(FieldError::new(field, message));
        p
    }

    /// 422 naming a body field.
    pub fn invalid_422(field: &str, message: &str) -> Self {
        let mut p = Self::invalid(field, message);
        p.status = 422;
        p.title = "Invalid field".into();
        p
    }

    /// 422 for field errors from the services, worded in the request's language.
    pub fn fields(errors: Vec<FieldError>) -> Self {
        Failure::invalid(errors).into()
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        res
    }
}

/// The one mapping of a service failure to problem+json, worded in the
/// request's language (`Accept-Language`, else English).
impl From<Failure> for Problem {
    fn from(f: Failure) -> Self {
        let loc = crate::i18n::request_locale();
        let status = match f.kind {
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::BadQuery => StatusCode::BAD_REQUEST,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut p = Problem::new(status, f.message(loc));
        if f.kind == Kind::BadQuery {
            p.kind = "https://vitrina.dev/problems/invalid-parameter".into();
        }
        p.title = f.title(loc).to_string();
        p.errors = f.localized_fields(loc);
        p.available = f.available;
        p.short = f.short;
        p
    }
}

/// Every service error reaches the API through [`Failure`].
macro_rules! through_failure {
    ($($error:ty),*) => {
        $(impl From<$error> for Problem {
            fn from(e: $error) -> Self {
                Failure::from(e).into()
            }
        })*
    };
}
through_failure!(QueryError, StoreError, CatalogError, AccountError, OrderError, AdminError, crate::services::notify::NotifyError, crate::services::recommend::RecommendError, crate::services::promotions::PromoError, crate::services::privacy::PrivacyError, crate::services::invoices::InvoiceError);

/// A query string axum could not parse at all (bad percent-encoding).
pub fn bad_query(detail: &str) -> Problem {
    Problem::invalid("query", detail)
}

/// `page` ≥ 1 and `per_page` in 1–100 (with its default), or a problem naming the parameter.
pub fn paging(page: Option<u64>, per_page: Option<u64>, default_per_page: u64) -> Result<(u64, u64), Problem> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(default_per_page);
    if !(1..=crate::domain::query::MAX_PAGE as u64).contains(&page) {
        return Err(Problem::invalid("page", &format!("must be between 1 and {}", crate::domain::query::MAX_PAGE)));
    }
    if !(1..=100).contains(&per_page) {
        return Err(Problem::invalid("per_page", "must be between 1 and 100"));
    }
    Ok((page, per_page))
}
