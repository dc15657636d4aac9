//! Returns: a consumer's right of withdrawal (OUG 34/2014). Within 14 days
//! of delivery a shopper asks to send back some or all of an order's units;
//! the shop approves, receives them (quantities and condition) and refunds
//! them within 14 days of the request; the stock goes back and a credit
//! note corrects the invoice.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};


/// Days after delivery a consumer may withdraw, and days the shop has to refund.
pub const WITHDRAWAL_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ReturnStatus {
    /// The shopper asked.
    Requested,
    /// The shop agreed: the parcel may come.
    Approved,
    /// The units arrived (the quantities and condition recorded).
    Received,
    /// The money went back (a credit note follows).
    Refunded,
    /// The shop refused (outside the right of withdrawal, say); the reason says why.
    Rejected,
}

impl ReturnStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Received => "received",
            ReturnStatus::Refunded => "refunded",
            ReturnStatus::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReturnLine {
    pub sku: String,
    /// Units asked to return.
    pub quantity: i64,
    /// Units that arrived (set when received).
    #[serde(default)]
    pub received: i64,
    /// Their condition as the shop found it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Return {
    /// `ret_1`, `ret_2`… within the order.
    pub id: String,
    pub lines: Vec<ReturnLine>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub status: ReturnStatus,
    pub requested_at: DateTime<Utc>,
    /// The refund is due by then (14 days after the request).
    pub refund_due: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<DateTime<Utc>>,
    /// Where the money goes back when it was paid cash on delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// The refund made for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// What the refund came to.
    #[serde(default)]
    pub refund_cents: i64,
    /// Why the shop refused it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Return {
    /// `(sku, units received)`: what its credit note credits.
    pub fn received_units(&self) -> Vec<(String, i64)> {
        self.lines.iter().filter(|l| l.received > 0).map(|l| (l.sku.clone(), l.received)).collect()
    }

    /// Still open (neither refunded nor refused).
    pub fn is_open(&self) -> bool {
        !matches!(self.status, ReturnStatus::Refunded | ReturnStatus::Rejected)
    }
}

/// What a shopper asks to return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReturnRequest {
    pub lines: Vec<RequestLine>,
    #[serde(default)]
    pub reason: String,
    /// For a cash-on-delivery order: the IBAN the money goes back to.
    #[serde(default)]
    pub iban: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestLine {
    pub sku: String,
    pub quantity: i64,
}

/// What arrived of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceivedLine {
    pub sku: String,
    pub quantity: i64,
    #[serde(default)]
    pub condition: String,
}
