//! Query parameters the API and the panel's server functions share, parsed
//! the same way for both.
use serde::Deserialize;

use super::problem::Problem;
use crate::domain::audit::AuditFilter;
use crate::ports::OrderFilter;
use crate::state::AppState;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderParams {
    /// placed, confirmed, shipped, delivered or cancelled.
    pub status: Option<String>,
    /// Created on or after this day (YYYY-MM-DD, UTC).
    pub from: Option<String>,
    /// Created on or before this day (YYYY-MM-DD, UTC).
    pub to: Option<String>,
    /// The customer's e-mail.
    pub email: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

pub fn day(param: &str, value: &str) -> Result<chrono::DateTime<chrono::Utc>, Problem> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| Problem::invalid(param, "must be a day such as 2026-11-27"))
}

/// The admin order filter from its parameters; `None` when the e-mail matches no customer (no orders).
pub async fn admin_order_filter(app: &AppState, q: &AdminOrderParams) -> Result<Option<OrderFilter>, Problem> {
    let mut filter = OrderFilter::default();
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        filter.status = Some(
            crate::domain::order::OrderStatus::parse_visible(s)
                .ok_or_else(|| Problem::invalid("status", "must be placed, confirmed, shipped, delivered or cancelled"))?,
        );
    }
    if let Some(v) = q.from.as_deref().filter(|s| !s.is_empty()) {
        filter.from = Some(day("from", v)?);
    }
    if let Some(v) = q.to.as_deref().filter(|s| !s.is_empty()) {
        filter.to = Some(day("to", v)? + chrono::Duration::days(1));
    }
    if let Some(email) = q.email.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        match app.accounts.user_by_email(email).await? {
            Some(u) => filter.user_id = Some(u.id),
            None => return Ok(None),
        }
    }
    Ok(Some(filter))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Part of the admin's e-mail.
    pub actor: Option<String>,
    /// An action or its prefix: `product`, `product.update`, `order.status`, `user`.
    pub action: Option<String>,
    /// A product, order or user id.
    pub target: Option<String>,
    /// From this day (YYYY-MM-DD, UTC).
    pub from: Option<String>,
    /// To this day, inclusive.
    pub to: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl AuditParams {
    pub fn filter(&self) -> Result<AuditFilter, Problem> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(200).collect::<String>());
        Ok(AuditFilter {
            actor: text(&self.actor),
            action: text(&self.action),
            target: text(&self.target),
            from: text(&self.from).map(|v| day("from", &v)).transpose()?,
            to: text(&self.to).map(|v| day("to", &v).map(|d| d + chrono::Duration::days(1))).transpose()?,
        })
    }
}

