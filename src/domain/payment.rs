//! How an order is paid: the method the shopper chose and the payment's
//! own state, changed only by the steps below (each refuses what it may
//! not do, so settling twice or refunding more than was paid cannot happen).
use serde::{Deserialize, Serialize};

use super::money::Money;
use super::user::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PaymentMethod {
    /// Cash on delivery (ramburs): paid to the courier.
    #[default]
    Cod,
    /// Bank transfer to the shop's account, with the order number as reference.
    BankTransfer,
    /// Card, through the payment provider.
    Card,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 3] = [PaymentMethod::Cod, PaymentMethod::BankTransfer, PaymentMethod::Card];
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentMethod::Cod => "cod",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Card => "card",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
    /// The method a form or request names: none means cash on delivery.
    pub fn from_input(s: Option<&str>) -> Result<Self, FieldError> {
        match s.map(str::trim) {
            None | Some("") => Ok(PaymentMethod::Cod),
            Some(name) => Self::parse(name).ok_or_else(|| FieldError::coded("field-payment-method", "payment_method", &[("methods", "cod, bank_transfer, card")])),
        }
    }
    /// Paid before the order goes ahead (the order waits for it); cash on delivery is paid at the door.
    pub fn paid_upfront(&self) -> bool {
        !matches!(self, PaymentMethod::Cod)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PaymentStatus {
    #[default]
    Pending,
    Authorized,
    Paid,
    Failed,
    Expired,
    Refunded,
    PartiallyRefunded,
    Voided,
}

impl PaymentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Voided => "voided",
        }
    }
}

/// An order's payment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Payment {
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    /// What is charged: the order's total, computed on the server, in minor units.
    pub amount_cents: i64,
    pub currency: String,
    /// Given back so far, refunds still pending at the provider included
    /// (that money is spoken for: it is never refunded twice).
    #[serde(default)]
    pub refunded_cents: i64,
    /// Every refund, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<Refund>,
    /// The provider's id of the payment (a card payment's intent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// Why the last attempt failed (a declined card), while the order still waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// What the browser pays a card payment with: shown to the order's owner
    /// only, while the payment is open. Never stored (the provider keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The provider's events applied to this payment (the newest few): each is
    /// recorded in the same write that applies it, so a replay finds it here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub events: Vec<String>,
    /// Counts the payment's changes: each payment step is written only if
    /// no other changed the payment since it was read.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub version: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum RefundStatus {
    /// Recorded and sent to the provider, whose answer is not in yet (it
    /// timed out or failed): reconciled from the provider, never dropped.
    RefundPending,
    /// Done: the provider returned the money, or it was given back by hand.
    Succeeded,
    /// The provider refused it: the money was not returned, and counts as paid again.
    Failed,
}

impl RefundStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::RefundPending => "refund_pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }
}

/// One refund of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Refund {
    /// `rf_1`, `rf_2`… within the order.
    pub id: String,
    pub amount_cents: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub status: RefundStatus,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// How many provider events a payment remembers.
const EVENTS_KEPT: usize = 20;

impl Payment {
    /// A pending payment of `total` by `method`.
    pub fn new(method: PaymentMethod, total: &Money) -> Self {
        Payment { method, status: PaymentStatus::Pending, amount_cents: total.amount, currency: total.currency.clone(), ..Default::default() }
    }

    /// Still waiting for its money (a declined card may be followed by another).
    pub fn is_open(&self) -> bool {
        matches!(self.status, PaymentStatus::Pending | PaymentStatus::Authorized | PaymentStatus::Failed)
    }

    /// The money came in: only an open payment settles; `false` when it already had.
    pub fn settle(&mut self) -> bool {
        if self.is_open() {
            self.status = PaymentStatus::Paid;
            self.failure = None;
            return true;
        }
        false
    }

    /// An attempt failed (a declined card): the payment stays open for another try.
    /// `false` when it was no longer open.
    pub fn fail(&mut self, why: &str) -> bool {
        if self.is_open() {
            self.status = PaymentStatus::Failed;
            self.failure = Some(why.chars().take(300).collect());
            return true;
        }
        false
    }

    /// The order will not be paid (expired, cancelled before payment).
    pub fn close(&mut self, status: PaymentStatus) {
        if matches!(self.status, PaymentStatus::Pending | PaymentStatus::Authorized | PaymentStatus::Failed) {
            self.status = status;
        }
    }

    /// Gives back `amount` of what was paid: never more than was paid in all.
    /// `pending`: the provider still has to do it (a card); otherwise it was
    /// given back by hand and is done. Returns the refund's id.
    pub fn refund(&mut self, amount: i64, reason: &str, pending: bool, at: chrono::DateTime<chrono::Utc>) -> Result<String, FieldError> {
        if !matches!(self.status, PaymentStatus::Paid | PaymentStatus::PartiallyRefunded) {
            return Err(FieldError::coded("field-refund-not-paid", "amount_cents", &[]));
        }
        let left = self.amount_cents - self.refunded_cents;
        if amount <= 0 || amount > left {
            return Err(FieldError::coded("field-refund-amount", "amount_cents", &[("max", &left.to_string())]));
        }
        let id = format!("rf_{}", self.refunds.len() + 1);
        let status = if pending { RefundStatus::RefundPending } else { RefundStatus::Succeeded };
        self.refunds.push(Refund { id: id.clone(), amount_cents: amount, reason: reason.chars().take(500).collect(), status, at });
        self.refunded_cents += amount;
        self.status = self.refunded_status();
        Ok(id)
    }

    /// The status that follows from what was refunded.
    fn refunded_status(&self) -> PaymentStatus {
        match self.refunded_cents {
            0 => PaymentStatus::Paid,
            r if r >= self.amount_cents => PaymentStatus::Refunded,
            _ => PaymentStatus::PartiallyRefunded,
        }
    }

    /// The provider's answer to a pending refund: done, or refused (the
    /// money counts as paid again). `false` when it was not pending.
    pub fn settle_refund(&mut self, id: &str, succeeded: bool) -> bool {
        let Some(r) = self.refunds.iter_mut().find(|r| r.id == id && r.status == RefundStatus::RefundPending) else { return false };
        if succeeded {
            r.status = RefundStatus::Succeeded;
        } else {
            r.status = RefundStatus::Failed;
            self.refunded_cents = (self.refunded_cents - r.amount_cents).max(0);
            self.status = self.refunded_status();
        }
        true
    }

    /// Refunds still waiting for the provider's answer.
    pub fn pending_refunds(&self) -> impl Iterator<Item = &Refund> {
        self.refunds.iter().filter(|r| r.status == RefundStatus::RefundPending)
    }

    /// Whether the provider's event was applied to this payment already.
    pub fn has_event(&self, id: &str) -> bool {
        self.events.iter().any(|e| e == id)
    }

    /// Remembers a provider event as applied (with the change it made).
    pub fn note_event(&mut self, id: &str) {
        if !self.has_event(id) {
            self.events.push(id.chars().take(100).collect());
            let extra = self.events.len().saturating_sub(EVENTS_KEPT);
            self.events.drain(..extra);
        }
    }
}

/// Where a card payment stands at the provider (a Stripe PaymentIntent's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Succeeded,
    Canceled,
}

impl IntentStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "requires_payment_method" => Self::RequiresPaymentMethod,
            "requires_confirmation" => Self::RequiresConfirmation,
            "requires_action" => Self::RequiresAction,
            "processing" => Self::Processing,
            "requires_capture" => Self::RequiresCapture,
            "succeeded" => Self::Succeeded,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }
}

/// A card payment as the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardIntent {
    pub id: String,
    pub status: IntentStatus,
    pub amount_cents: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub client_secret: Option<String>,
    /// The order it pays (from the intent's metadata).
    pub order_id: Option<String>,
    /// Why the last attempt failed (a declined card), if it did.
    pub failure: Option<String>,
}

/// Something the provider tells the shop (a signed webhook event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardEvent {
    pub id: String,
    /// `payment_intent.succeeded`, `payment_intent.payment_failed`, …
    pub kind: String,
    /// The payment it is about, when it is about one.
    pub intent: Option<CardIntent>,
    /// The shop's refund it is about (`refund.*` events naming one in their metadata).
    pub refund: Option<RefundRef>,
}

/// A refund of the shop's, as the provider's metadata names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRef {
    pub order_id: String,
    pub refund_id: String,
}

/// What became of a refund at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundState {
    Succeeded,
    /// Failed or cancelled: the money was not returned.
    Failed,
    /// Still under way at the provider.
    Pending,
    /// The provider has no such refund (the request never reached it).
    Unknown,
}

/// Where a bank transfer goes (from the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BankAccount {
    pub beneficiary: String,
    pub iban: String,
    pub bank: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(amount: i64) -> Payment {
        let mut p = Payment::new(PaymentMethod::BankTransfer, &Money::shop(amount));
        assert!(p.settle());
        p
    }

    #[test]
    fn a_payment_settles_once() {
        let mut p = Payment::new(PaymentMethod::BankTransfer, &Money::shop(1000));
        assert!(p.settle());
        assert!(!p.settle(), "a second settlement does nothing");
        assert_eq!(p.status, PaymentStatus::Paid);
        p.close(PaymentStatus::Expired);
        assert_eq!(p.status, PaymentStatus::Paid, "a paid payment never expires");
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        let at = chrono::Utc::now();
        let mut p = paid(1000);
        assert_eq!(p.refund(300, "", false, at).unwrap(), "rf_1");
        assert_eq!((p.status, p.refunded_cents), (PaymentStatus::PartiallyRefunded, 300));
        assert_eq!(p.refund(701, "", false, at).unwrap_err().code, "field-refund-amount");
        p.refund(700, "", false, at).unwrap();
        assert_eq!((p.status, p.refunded_cents), (PaymentStatus::Refunded, 1000));
        assert!(p.refund(1, "", false, at).is_err());
        assert!(Payment::new(PaymentMethod::Cod, &Money::shop(5)).refund(1, "", false, at).is_err(), "nothing was paid yet");
        assert!(paid(10).refund(0, "", false, at).is_err() && paid(10).refund(-5, "", false, at).is_err());
    }

    #[test]
    fn a_pending_refund_holds_its_money_until_the_provider_answers() {
        let at = chrono::Utc::now();
        let mut p = paid(1000);
        let first = p.refund(400, "broken", true, at).unwrap();
        assert_eq!((p.status, p.refunded_cents), (PaymentStatus::PartiallyRefunded, 400));
        assert_eq!(p.refund(601, "", true, at).unwrap_err().code, "field-refund-amount", "the pending 400 is spoken for");
        assert_eq!(p.pending_refunds().count(), 1);
        assert!(p.settle_refund(&first, true));
        assert!(!p.settle_refund(&first, false), "settled once");
        assert_eq!((p.refunded_cents, p.pending_refunds().count()), (400, 0));
        let second = p.refund(600, "", true, at).unwrap();
        assert_eq!(p.status, PaymentStatus::Refunded);
        assert!(p.settle_refund(&second, false));
        assert_eq!((p.status, p.refunded_cents), (PaymentStatus::PartiallyRefunded, 400), "a refused refund counts as paid again");
        assert_eq!(p.refunds.iter().map(|r| r.status).collect::<Vec<_>>(), [RefundStatus::Succeeded, RefundStatus::Failed]);
    }

    #[test]
    fn events_are_remembered_a_few_at_a_time() {
        let mut p = paid(10);
        for i in 0..30 {
            p.note_event(&format!("evt_{i}"));
        }
        p.note_event("evt_29");
        assert_eq!(p.events.len(), EVENTS_KEPT);
        assert!(p.has_event("evt_29") && !p.has_event("evt_0"));
    }

    #[test]
    fn a_declined_card_leaves_the_payment_open() {
        let mut p = Payment::new(PaymentMethod::Card, &Money::shop(1000));
        assert!(p.fail("Your card was declined."));
        assert_eq!(p.status, PaymentStatus::Failed);
        assert!(p.settle(), "another card may still pay");
        assert_eq!((p.status, p.failure.as_deref()), (PaymentStatus::Paid, None));
        assert!(!p.fail("late"), "a paid payment does not fail afterwards");
        assert_eq!(p.status, PaymentStatus::Paid);
    }

    #[test]
    fn methods_by_name() {
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(PaymentMethod::parse("bitcoin"), None);
        assert!(PaymentMethod::BankTransfer.paid_upfront() && !PaymentMethod::Cod.paid_upfront());
    }
}
