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
use crate::domain::payment::{CardIntent, IntentStatus, PaymentMethod, PaymentStatus, RefundState};
use crate::ports::{CardGateway, GatewayError, StoreError};
use crate::services::audit::{Actor, AuditLog};

use super::orders::OrderError;
use super::orders::OrderService;

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
    /// Card payments through `gateway`.
    pub fn with_card(mut self, gateway: Arc<dyn CardGateway>) -> Self {
        self.card = Some(gateway);
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
        let Some(patch) = order.attach_payment(&intent.id, Utc::now()) else { return Ok(None) };
        Ok(self.write(&seen, &order, &patch).await?.then_some(order))
    }

    /// The one way a card payment's outcome reaches its order. A succeeded
    /// payment of the order's amount settles it (once); a failed attempt is
    /// recorded and the order keeps waiting. `event`: the provider's event
    /// that told, recorded in the same write that applies it. Returns the
    /// order when this call changed it, `None` when there was nothing to do
    /// (settled before, an intent of no order of ours).
    pub async fn apply_intent(&self, intent: &CardIntent, via: &str) -> Result<Option<Order>, OrderError> {
        Ok(match self.apply_intent_event(intent, via, None).await? {
            Applied::Changed(o) => Some(o),
            Applied::Nothing | Applied::Replay => None,
        })
    }

    async fn apply_intent_event(&self, intent: &CardIntent, via: &str, event: Option<&str>) -> Result<Applied, OrderError> {
        let decided = intent.status == IntentStatus::Succeeded || (intent.status == IntentStatus::RequiresPaymentMethod && intent.failure.is_some());
        // nothing to apply yet (a fresh intent, 3-D Secure pending): no store read
        let (true, Some(order_id)) = (decided, intent.order_id.as_deref()) else { return Ok(Applied::Nothing) };
        let note = |o: &mut Order| {
            if let Some(e) = event {
                o.payment.note_event(e);
            }
        };
        for _ in 0..5 {
            let Some(order) = self.orders.order_by_id(order_id).await? else { return Ok(Applied::Nothing) };
            if order.payment.method != PaymentMethod::Card || order.payment.provider_reference.as_deref() != Some(intent.id.as_str()) {
                return Ok(Applied::Nothing);
            }
            if event.is_some_and(|e| order.payment.has_event(e)) {
                return Ok(Applied::Replay);
            }
            match intent.status {
                IntentStatus::Succeeded => {
                    if intent.amount_cents != order.payment.amount_cents || !intent.currency.eq_ignore_ascii_case(&order.payment.currency) {
                        tracing::error!(order = %order.id, intent = %intent.id, amount = intent.amount_cents, "a card payment of another amount than the order's: not settled");
                        return Ok(Applied::Nothing);
                    }
                    return match order.status {
                        OrderStatus::AwaitingPayment => match self.transition_with(&order.id, OrderStatus::Placed, note).await {
                            Ok(paid) => {
                                self.record(via, "order.paid", &order, &paid, format!("{} paid by card ({})", paid.number, intent.id)).await;
                                Ok(Applied::Changed(paid))
                            }
                            // the other path settled it first (a replay of this very event finds it noted)
                            Err(OrderError::InvalidTransition { .. } | OrderError::NotFound) => continue,
                            Err(e) => Err(e),
                        },
                        // closed unpaid (voided, expired) or still open: the money is not the shop's to keep
                        OrderStatus::Expired | OrderStatus::Cancelled if order.payment.is_open() || matches!(order.payment.status, PaymentStatus::Voided | PaymentStatus::Expired) => {
                            match self.return_late_payment(order, intent, via, event).await? {
                                Some(o) => Ok(Applied::Changed(o)),
                                None => continue,
                            }
                        }
                        _ => Ok(Applied::Nothing),
                    };
                }
                IntentStatus::RequiresPaymentMethod => {
                    let why = intent.failure.clone().unwrap_or_default();
                    let mut failed = order.clone();
                    let Some(_) = failed.payment_failed(&why, Utc::now()) else { return Ok(Applied::Nothing) };
                    note(&mut failed);
                    let patch = failed.changes_since(&order).guard("status", &OrderStatus::AwaitingPayment);
                    if self.write(&order, &failed, &patch).await? {
                        return Ok(Applied::Changed(failed));
                    }
                }
                _ => return Ok(Applied::Nothing),
            }
        }
        Ok(Applied::Nothing)
    }

    /// Money that came in for an order no longer waiting for it (it expired,
    /// or was cancelled, before the payment went through): given back in
    /// full. The payment becomes paid-then-refunded in one write (guarded by
    /// its version), and the refund goes to the provider like any other.
    async fn return_late_payment(&self, order: Order, intent: &CardIntent, via: &str, event: Option<&str>) -> Result<Option<Order>, OrderError> {
        if self.card.is_none() {
            return Ok(None);
        }
        let mut refunded = order.clone();
        refunded.payment.status = PaymentStatus::Paid;
        refunded.payment.amount_cents = intent.amount_cents;
        let at = Utc::now();
        let refund_id = refunded.payment.refund(intent.amount_cents, "the order no longer waited for its payment", true, at).map_err(OrderError::from)?;
        if let Some(e) = event {
            refunded.payment.note_event(e);
        }
        refunded.updated_at = at;
        let patch = refunded.changes_since(&order);
        if !self.write(&order, &refunded, &patch).await? {
            return Ok(None);
        }
        self.record(via, "order.refund", &order, &refunded, format!("{} paid by card after it was {}: refunded in full", order.number, order.status.as_str())).await;
        Ok(Some(self.send_refund(refunded, &refund_id).await?))
    }

    async fn record(&self, via: &str, action: &str, before: &Order, after: &Order, what: String) {
        if let Some(audit) = &self.audit {
            audit.record(&provider(via), action, &after.id, what, Some(before), Some(after)).await;
        }
    }

    /// A provider's webhook: its signature checked over the raw body, then
    /// its payment applied to its order, the event's id recorded on the
    /// order in the same write. A replay (even a concurrent one) finds the id
    /// there and is acknowledged and ignored; an event whose handling failed
    /// is not recorded, so the provider's retry is handled, not ignored.
    pub async fn card_webhook(&self, body: &[u8], signature: &str) -> Result<WebhookOutcome, OrderError> {
        let Some(gateway) = &self.card else { return Err(OrderError::CardsOff) };
        let event = gateway.verify_event(body, signature, Utc::now().timestamp())?;
        if let Some(refund) = &event.refund {
            self.reconcile_refund(&refund.order_id, &refund.refund_id).await?;
            return Ok(WebhookOutcome::Handled);
        }
        match &event.intent {
            Some(intent) if event.kind.starts_with("payment_intent.") => match self.apply_intent_event(intent, "webhook", Some(&event.id)).await? {
                Applied::Replay => Ok(WebhookOutcome::Replay),
                Applied::Changed(_) | Applied::Nothing => Ok(WebhookOutcome::Handled),
            },
            _ => Ok(WebhookOutcome::Handled),
        }
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
    /// shows the refund as due (or pending, until the provider answers).
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

    /// Whether a refund of this order goes through the provider (a card paid through it).
    pub(super) fn refunds_through_provider(&self, order: &Order) -> bool {
        self.card.is_some() && order.payment.method == PaymentMethod::Card && order.payment.provider_reference.is_some()
    }

    /// The provider's idempotency key of a refund: the same refund is never made twice.
    fn refund_key(order_id: &str, refund_id: &str) -> String {
        format!("vitrina-refund-{order_id}-{refund_id}")
    }

    /// Sends a refund already recorded (pending) to the provider, and records
    /// its answer: done, or refused (the money counts as paid again, and the
    /// caller hears why). No answer (a timeout, a 5xx) leaves it pending: its
    /// `refund.reconcile` task asks the provider until it knows.
    pub(super) async fn send_refund(&self, order: Order, refund_id: &str) -> Result<Order, OrderError> {
        let (Some(gateway), Some(intent)) = (&self.card, order.payment.provider_reference.clone()) else { return Ok(order) };
        let Some(refund) = order.payment.refunds.iter().find(|r| r.id == refund_id).cloned() else { return Ok(order) };
        match gateway.refund(&intent, refund.amount_cents, &refund.reason, &Self::refund_key(&order.id, refund_id)).await {
            Ok(()) => Ok(self.settle_refund(&order.id, refund_id, true).await?.unwrap_or(order)),
            Err(GatewayError::Refused(why)) => {
                self.settle_refund(&order.id, refund_id, false).await?;
                Err(OrderError::Provider(GatewayError::Refused(why)))
            }
            Err(e) => {
                tracing::warn!(order = %order.id, refund = refund_id, error = %e, "refund sent, no answer from the provider: pending until reconciled");
                Ok(order)
            }
        }
    }

    /// Records the provider's answer to a pending refund (once; `None` when it was not pending).
    async fn settle_refund(&self, order_id: &str, refund_id: &str, succeeded: bool) -> Result<Option<Order>, OrderError> {
        for _ in 0..5 {
            let Some(seen) = self.orders.order_by_id(order_id).await? else { return Ok(None) };
            let mut order = seen.clone();
            let Some(patch) = order.settle_refund(refund_id, succeeded, Utc::now()) else { return Ok(None) };
            if self.write(&seen, &order, &patch).await? {
                return Ok(Some(order));
            }
        }
        Err(StoreError::Unavailable("the order is changing too fast; try again".into()).into())
    }

    /// A pending refund reconciled with the provider (the order's
    /// `refund.reconcile` task, and the provider's refund webhooks): what the
    /// provider did with it is recorded; one it never received is sent again
    /// under the same idempotency key. `Err` while the answer is still unknown
    /// (the task then tries again later).
    pub async fn reconcile_refund(&self, order_id: &str, refund_id: &str) -> Result<(), OrderError> {
        let Some(order) = self.orders.order_by_id(order_id).await? else { return Ok(()) };
        let pending = order.payment.pending_refunds().any(|r| r.id == refund_id);
        let (true, Some(gateway), Some(intent)) = (pending, &self.card, order.payment.provider_reference.clone()) else { return Ok(()) };
        let key = Self::refund_key(order_id, refund_id);
        match gateway.refund_state(&intent, &key).await? {
            RefundState::Succeeded => {
                self.settle_refund(order_id, refund_id, true).await?;
                Ok(())
            }
            RefundState::Failed => {
                self.settle_refund(order_id, refund_id, false).await?;
                Ok(())
            }
            RefundState::Pending => Err(OrderError::Provider(GatewayError::Unavailable("the provider has not finished the refund yet".into()))),
            RefundState::Unknown => match self.send_refund(order, refund_id).await {
                Ok(o) if o.payment.pending_refunds().any(|r| r.id == refund_id) => Err(OrderError::Provider(GatewayError::Unavailable("the provider did not answer the refund".into()))),
                Ok(_) => Ok(()),
                // refused: recorded as failed (the money counts as paid again); nothing to retry
                Err(OrderError::Provider(GatewayError::Refused(_))) => Ok(()),
                Err(e) => Err(e),
            },
        }
    }
}

/// What applying a provider's word to an order came to.
enum Applied {
    Changed(Order),
    /// Nothing to change (settled before, not an order of ours, not decided yet).
    Nothing,
    /// The event was applied before: it is recorded on the order.
    Replay,
}
