//! Card payments of orders: started at the provider when the order is
//! placed, settled from the provider's word (its webhook, or the shopper's
//! return asking the provider), a declined card recorded while the order
//! waits for another, cancelled at the provider before an unpaid order
//! expires, refunded through the provider.
//!
//! Settling is one status-guarded write (`OrderService::transition` from
//! awaiting payment to placed): whichever of the webhook, the return page
//! or a replayed event comes first settles, the others find nothing to do.
use std::sync::Arc;

use chrono::Utc;

use crate::domain::order::{Order, OrderStatus};
use crate::domain::payment::{CardIntent, IntentStatus, PaymentMethod, PaymentStatus};
use crate::ports::{CardGateway, KeyValueStore};
use crate::services::audit::{Actor, AuditLog};

use super::orders::OrderError;
use super::orders::OrderService;

/// Where provider events already handled are remembered.
const SEEN_EVENTS: &str = "payment_events";

/// What a webhook call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The event was handled (an order may or may not have changed).
    Handled,
    /// The same event was handled before (or is being handled now): ignored.
    Replay,
}

fn provider(via: &str) -> Actor {
    Actor { id: "payment-provider".into(), email: format!("card payments ({via})") }
}

impl OrderService {
    /// Card payments through `gateway`; `seen` remembers the provider's events.
    pub fn with_card(mut self, gateway: Arc<dyn CardGateway>, seen: Arc<dyn KeyValueStore>) -> Self {
        self.card = Some(gateway);
        self.seen_events = Some(seen);
        self
    }

    /// Settlements and refunds the provider reports go to the audit log.
    pub fn with_audit(mut self, audit: AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The methods a shopper may choose, in the order the checkout shows
    /// them: cash on delivery always, a bank transfer when the shop's account
    /// is set, a card when a provider is configured.
    pub fn payment_methods(&self) -> Vec<PaymentMethod> {
        let mut out = vec![PaymentMethod::Cod];
        if self.payments.bank_account.is_some() {
            out.push(PaymentMethod::BankTransfer);
        }
        if self.card.is_some() {
            out.push(PaymentMethod::Card);
        }
        out
    }

    /// The provider's key and script for the browser's card form.
    pub fn card_form(&self) -> Option<(String, String)> {
        self.card.as_ref().map(|g| (g.publishable_key().to_string(), g.script_url().to_string()))
    }

    /// The order with its card payment caught up: the provider's payment is
    /// created when missing, and its state read from the provider (so a lost
    /// webhook still settles when the shopper comes back). `reveal` adds the
    /// client secret while the payment is open (for the order's owner only).
    /// The provider being down leaves the order as it was.
    pub async fn card_checkout(&self, order: Order, reveal: bool) -> Result<Order, OrderError> {
        let (Some(gateway), PaymentMethod::Card, OrderStatus::AwaitingPayment) = (&self.card, order.payment.method, order.status) else {
            return Ok(order);
        };
        let found = match &order.payment.provider_reference {
            Some(id) => gateway.intent(id).await,
            None => gateway.create_intent(&order.id, &order.number, order.payment.amount_cents, &order.payment.currency).await,
        };
        let intent = match found {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(order = %order.id, error = %e, "card payment not reachable at the provider");
                return Ok(order);
            }
        };
        let id = order.id.clone();
        let mut order = match order.payment.provider_reference {
            Some(_) => order,
            None => match self.attach_intent(order, &intent).await? {
                Some(o) => o,
                // changed meanwhile (another request attached it, or it expired): as it is now
                None => return self.orders.order_by_id(&id).await?.ok_or(OrderError::NotFound),
            },
        };
        order = match self.apply_intent(&intent, "return").await? {
            Some(changed) => changed,
            // settled (or changed) by another path meanwhile: as it is now
            None if intent.status == IntentStatus::Succeeded => self.orders.order_by_id(&id).await?.ok_or(OrderError::NotFound)?,
            None => order,
        };
        if reveal && order.status == OrderStatus::AwaitingPayment && order.payment.is_open() {
            order.payment.client_secret = intent.client_secret;
        }
        Ok(order)
    }

    /// Records the provider's payment on the order (once: `None` when the order changed meanwhile).
    async fn attach_intent(&self, seen: Order, intent: &CardIntent) -> Result<Option<Order>, OrderError> {
        let mut order = seen.clone();
        order.payment.provider_reference = Some(intent.id.clone());
        order.updated_at = Utc::now();
        Ok(self.save_unchanged(&order, &seen).await?.then_some(order))
    }

    /// The one way a card payment's outcome reaches its order. A succeeded
    /// payment of the order's amount settles it (once); a failed attempt is
    /// recorded and the order keeps waiting. Returns the order when this call
    /// changed it, `None` when there was nothing to do (settled before, an
    /// intent of no order of ours).
    pub async fn apply_intent(&self, intent: &CardIntent, via: &str) -> Result<Option<Order>, OrderError> {
        let decided = intent.status == IntentStatus::Succeeded || (intent.status == IntentStatus::RequiresPaymentMethod && intent.failure.is_some());
        // nothing to apply yet (a fresh intent, 3-D Secure pending): no store read
        let (true, Some(order_id)) = (decided, intent.order_id.as_deref()) else { return Ok(None) };
        let Some(order) = self.orders.order_by_id(order_id).await? else { return Ok(None) };
        if order.payment.method != PaymentMethod::Card || order.payment.provider_reference.as_deref() != Some(intent.id.as_str()) {
            return Ok(None);
        }
        match intent.status {
            IntentStatus::Succeeded => {
                if intent.amount_cents != order.payment.amount_cents || !intent.currency.eq_ignore_ascii_case(&order.payment.currency) {
                    tracing::error!(order = %order.id, intent = %intent.id, amount = intent.amount_cents, "a card payment of another amount than the order's: not settled");
                    return Ok(None);
                }
                match order.status {
                    OrderStatus::AwaitingPayment => match self.transition(&order.id, OrderStatus::Placed).await {
                        Ok(paid) => {
                            self.record(via, "order.paid", &order, &paid, format!("{} paid by card ({})", paid.number, intent.id)).await;
                            Ok(Some(paid))
                        }
                        // the other path settled it first
                        Err(OrderError::InvalidTransition { .. } | OrderError::NotFound) => Ok(None),
                        Err(e) => Err(e),
                    },
                    // closed unpaid (voided, expired) or still open: the money is not the shop's to keep
                    OrderStatus::Expired | OrderStatus::Cancelled if order.payment.is_open() || matches!(order.payment.status, PaymentStatus::Voided | PaymentStatus::Expired) => {
                        self.return_late_payment(order, intent, via).await
                    }
                    _ => Ok(None),
                }
            }
            IntentStatus::RequiresPaymentMethod if intent.failure.is_some() => {
                let why = intent.failure.clone().unwrap_or_default();
                for _ in 0..5 {
                    let Some(seen) = self.orders.order_by_id(order_id).await? else { return Ok(None) };
                    let mut failed = seen.clone();
                    if seen.status != OrderStatus::AwaitingPayment || failed.payment.failure.as_deref() == Some(why.as_str()) || !failed.payment.fail(&why) {
                        return Ok(None);
                    }
                    failed.updated_at = Utc::now();
                    if self.save_unchanged(&failed, &seen).await? {
                        return Ok(Some(failed));
                    }
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Money that came in for an order no longer waiting for it (it expired,
    /// or was cancelled, before the payment went through): given back in full.
    async fn return_late_payment(&self, order: Order, intent: &CardIntent, via: &str) -> Result<Option<Order>, OrderError> {
        let Some(gateway) = &self.card else { return Ok(None) };
        let mut refunded = order.clone();
        refunded.payment.status = PaymentStatus::Refunded;
        refunded.payment.refunded_cents = intent.amount_cents;
        refunded.updated_at = Utc::now();
        if !self.save_unchanged(&refunded, &order).await? {
            return Ok(None);
        }
        if let Err(e) = gateway.refund(&intent.id, intent.amount_cents, "the order no longer waited for its payment", &format!("vitrina-late-{}", order.id)).await {
            // not given back yet: recorded as it was, so the provider's retry of the event tries again
            let mut undone = order.clone();
            undone.updated_at = Utc::now();
            let _ = self.save_unchanged(&undone, &refunded).await;
            return Err(e.into());
        }
        self.record(via, "order.refund", &order, &refunded, format!("{} paid by card after it was {}: refunded in full", order.number, order.status.as_str())).await;
        Ok(Some(refunded))
    }

    async fn record(&self, via: &str, action: &str, before: &Order, after: &Order, what: String) {
        if let Some(audit) = &self.audit {
            audit.record(&provider(via), action, &after.id, what, Some(before), Some(after)).await;
        }
    }

    /// A provider's webhook: its signature checked over the raw body, each
    /// event handled once (a replay, even a concurrent one, is acknowledged
    /// and ignored), then its payment applied to its order.
    pub async fn card_webhook(&self, body: &[u8], signature: &str) -> Result<WebhookOutcome, OrderError> {
        let (Some(gateway), Some(seen)) = (&self.card, &self.seen_events) else { return Err(OrderError::CardsOff) };
        let event = gateway.verify_event(body, signature, Utc::now().timestamp())?;
        let mine = uuid::Uuid::new_v4().to_string();
        if seen.kv_put_if_absent(SEEN_EVENTS, &event.id, mine.as_bytes()).await? != mine.as_bytes() {
            return Ok(WebhookOutcome::Replay);
        }
        let done = match &event.intent {
            Some(intent) if event.kind.starts_with("payment_intent.") => self.apply_intent(intent, "webhook").await.map(|_| ()),
            _ => Ok(()),
        };
        if let Err(e) = done {
            // not handled: the provider's retry must not be taken for a replay
            if let Err(forget) = seen.kv_delete(SEEN_EVENTS, &event.id).await {
                tracing::error!(event = %event.id, error = %forget, "could not forget a failed event; its retry will be ignored");
            }
            return Err(e);
        }
        Ok(WebhookOutcome::Handled)
    }

    /// Before an unpaid card order expires: its payment is cancelled at the
    /// provider. `true` when the order may expire (cancelled, or never
    /// started); a payment that went through meanwhile settles instead.
    pub(super) async fn close_card(&self, order: &Order) -> Result<bool, OrderError> {
        let (Some(gateway), Some(id)) = (&self.card, order.payment.provider_reference.as_deref()) else { return Ok(true) };
        let intent = match gateway.cancel_intent(id).await {
            Ok(i) => i,
            // already cancelled (another instance), succeeded, or the provider is down: ask
            Err(_) => match gateway.intent(id).await {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!(order = %order.id, error = %e, "could not cancel an unpaid card payment; will retry");
                    return Ok(false);
                }
            },
        };
        match intent.status {
            IntentStatus::Canceled => Ok(true),
            IntentStatus::Succeeded => {
                self.apply_intent(&intent, "expiry").await?;
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Cancels the open card payment of an order cancelled while it waited
    /// for it. Best effort: a payment that still goes through is refunded
    /// when its webhook arrives (`return_late_payment`).
    pub(super) async fn cancel_card_quietly(&self, order: &Order) {
        if let (Some(gateway), PaymentMethod::Card, Some(id)) = (&self.card, order.payment.method, order.payment.provider_reference.as_deref()) {
            if let Err(e) = gateway.cancel_intent(id).await {
                tracing::warn!(order = %order.id, error = %e, "could not cancel the card payment of a cancelled order");
            }
        }
    }

    /// A customer cancelled an order they had paid by card: all that is left
    /// of the payment is refunded through the provider and audited. When the
    /// provider refuses or is down, the order stays cancelled and the panel
    /// shows the refund as due.
    pub(super) async fn refund_cancelled_card(&self, order: Order) -> Order {
        let left = order.payment.amount_cents - order.payment.refunded_cents;
        if order.payment.method != PaymentMethod::Card || !matches!(order.payment.status, PaymentStatus::Paid | PaymentStatus::PartiallyRefunded) || left <= 0 || self.card.is_none() {
            return order;
        }
        match self.refund(&order.id, left, "cancelled by the customer").await {
            Ok(refunded) => {
                self.record("cancel", "order.refund", &order, &refunded, format!("{} cancelled by the customer: {} {} refunded to the card", order.number, left, order.payment.currency)).await;
                refunded
            }
            Err(e) => {
                tracing::error!(order = %order.id, error = %e, "a cancelled card order was not refunded; the panel shows it as due");
                order
            }
        }
    }

    /// Sends a refund already recorded on `order` to the provider (cards only).
    pub(super) async fn refund_card(&self, order: &Order, amount_cents: i64, refunded_before: i64, reason: &str) -> Result<(), OrderError> {
        let (Some(gateway), PaymentMethod::Card, Some(id)) = (&self.card, order.payment.method, order.payment.provider_reference.as_deref()) else {
            return Ok(());
        };
        // the key names this refund: a retry of it is not a second one
        let key = format!("vitrina-refund-{}-{refunded_before}-{amount_cents}", order.id);
        gateway.refund(id, amount_cents, reason, &key).await.map_err(OrderError::from)
    }

    /// Takes back a recorded refund the provider refused.
    pub(super) async fn undo_refund(&self, id: &str, amount_cents: i64) {
        for _ in 0..5 {
            let Ok(Some(seen)) = self.orders.order_by_id(id).await else { break };
            let mut order = seen.clone();
            order.payment.undo_refund(amount_cents);
            order.updated_at = Utc::now();
            if let Ok(true) = self.save_unchanged(&order, &seen).await {
                return;
            }
        }
        tracing::error!(order = %id, amount_cents, "a refund the provider refused is still recorded; correct it by hand");
    }
}
