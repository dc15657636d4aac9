//! RFC 9457 problem details: every API error is `application/problem+json`.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::query::QueryError;
use crate::ports::StoreError;
use crate::services::catalog::CatalogError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The offending parameter or field.
    pub field: String,
    pub message: String,
}

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
        p.errors.push(FieldError { field: field.into(), message: message.into() });
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
    pub fn fields(errors: Vec<crate::domain::user::FieldError>) -> Self {
        let loc = crate::i18n::request_locale();
        let errors: Vec<FieldError> = errors.into_iter().map(|e| FieldError { message: e.in_locale(loc), field: e.field }).collect();
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "));
        p.title = "Invalid field".into();
        p.errors = errors;
        p
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

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Self {
        Problem::invalid(&e.param, &e.in_locale(crate::i18n::request_locale()))
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Problem::new(StatusCode::CONFLICT, m),
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "store unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "The store is unavailable; try again shortly.")
            }
            StoreError::Other(m) => {
                tracing::error!(error = %m, "store error");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.")
            }
        }
    }
}

impl From<CatalogError> for Problem {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound => Problem::not_found("product"),
            CatalogError::Invalid(q) => q.into(),
            CatalogError::Store(s) => s.into(),
        }
    }
}

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
