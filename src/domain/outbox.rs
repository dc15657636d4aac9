//! The outbox: what must be announced (mails, partner webhooks) is written
//! as an entry together with the change it announces, then delivered in the
//! background, at least once, under a stable id.
//!
//! An *event* entry (`kind = event`) records a business change (an order
//! placed, a payment settled…). The relay fans it out into *delivery*
//! entries (`mail`, `webhook`) whose ids derive from the event's, so doing
//! it twice after a crash adds nothing. Each delivery has its own attempts,
//! back-off and dead state.
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::order::{Order, OrderStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum EntryKind {
    Event,
    Mail,
    Webhook,
    /// Work that must follow a change and may not be lost (stock given back
    /// after a cancellation, a refund reconciled with the provider): written
    /// with the change, done by the relay until it succeeds. Each is
    /// idempotent, so doing one twice changes nothing.
    Task,
}

impl EntryKind {
    pub const ALL: [EntryKind; 4] = [EntryKind::Event, EntryKind::Mail, EntryKind::Webhook, EntryKind::Task];
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Event => "event",
            EntryKind::Mail => "mail",
            EntryKind::Webhook => "webhook",
            EntryKind::Task => "task",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum EntryStatus {
    Pending,
    Sent,
    Dead,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Pending => "pending",
            EntryStatus::Sent => "sent",
            EntryStatus::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [EntryStatus::Pending, EntryStatus::Sent, EntryStatus::Dead].into_iter().find(|k| k.as_str() == s)
    }
}

/// One try at delivering an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// The HTTP status a webhook endpoint answered (none for mail or a timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the answer, or what went wrong.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutboxEntry {
    /// Stable across retries: the `webhook-id` of a webhook, the `Message-ID` of a mail.
    pub id: String,
    pub kind: EntryKind,
    /// `order.created`, `order.paid`… for events; the template name for mails; the event type for webhooks.
    pub topic: String,
    /// The recipient's address (mail) or the endpoint's id (webhook); empty for events.
    #[serde(default)]
    pub target: String,
    /// JSON: the event as announced (see `Event`).
    pub payload: String,
    pub status: EntryStatus,
    pub attempts: u32,
    /// Not tried again before this.
    pub next_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub log: Vec<Attempt>,
}

/// Attempts kept in an entry's log (the oldest go first).
pub const LOG_KEEP: usize = 20;

impl OutboxEntry {
    pub fn new(id: String, kind: EntryKind, topic: &str, target: &str, payload: String, now: DateTime<Utc>) -> Self {
        Self { id, kind, topic: topic.into(), target: target.into(), payload, status: EntryStatus::Pending, attempts: 0, next_at: now, created_at: now, updated_at: now, log: vec![] }
    }

    /// A task entry: `topic` names the work (`order.giveback`), `data` what it works on.
    pub fn task(id: String, topic: &str, data: serde_json::Value, now: DateTime<Utc>) -> Self {
        Self::new(id, EntryKind::Task, topic, "", data.to_string(), now)
    }

    /// An event entry announcing `event`.
    pub fn event(event: &Event) -> Self {
        let payload = serde_json::to_string(event).unwrap_or_default();
        Self::new(event.id.clone(), EntryKind::Event, &event.kind, "", payload, event.timestamp)
    }

    /// Records a try: sent, retried later by the schedule, or dead (after the
    /// last try or when `retry` is false).
    pub fn record(&mut self, attempt: Attempt, retry: bool, schedule: &RetrySchedule) {
        let now = attempt.at;
        let ok = attempt.ok;
        self.attempts += 1;
        self.log.push(attempt);
        if self.log.len() > LOG_KEEP {
            self.log.remove(0);
        }
        self.updated_at = now;
        self.status = if ok {
            EntryStatus::Sent
        } else {
            match schedule.delay(self.attempts).filter(|_| retry) {
                Some(d) => {
                    self.next_at = now + d;
                    EntryStatus::Pending
                }
                None => EntryStatus::Dead,
            }
        };
    }

    /// Sends again (an admin's retry or replay): pending now, the log kept.
    pub fn requeue(&mut self, now: DateTime<Utc>) {
        self.status = EntryStatus::Pending;
        self.next_at = now;
        self.updated_at = now;
    }

    pub fn last_error(&self) -> Option<&str> {
        self.log.last().filter(|a| !a.ok).map(|a| a.note.as_str())
    }
}

/// Growing delays between tries: after try `n` (1-based), wait `delays[n-1]`;
/// after the last, the entry is dead. The default reaches a little over a day.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    pub delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        let s = |n: i64| Duration::seconds(n);
        Self { delays: vec![s(2), s(10), s(60), s(300), s(1800), s(7200), s(18000), s(36000), s(36000)] }
    }
}

impl RetrySchedule {
    /// `"2,10,60"` seconds.
    pub fn parse(s: &str) -> Option<Self> {
        let delays = s.split(',').map(|p| p.trim().parse::<i64>().ok().filter(|n| *n >= 0).map(Duration::seconds)).collect::<Option<Vec<_>>>()?;
        Some(Self { delays })
    }
    pub fn delay(&self, attempts: u32) -> Option<Duration> {
        self.delays.get(attempts.saturating_sub(1) as usize).copied()
    }
}

/// Event types partners may subscribe to.
pub const WEBHOOK_EVENTS: [&str; 9] = ["order.created", "order.status_changed", "order.paid", "order.refunded", "order.return_requested", "order.return_received", "document.issued", "product.updated", "stock.low"];

/// A business change as announced: the body of a webhook (Standard Webhooks'
/// `{type, timestamp, data}`) and what a mail is rendered from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(skip_serializing, default)]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: DateTime<Utc>,
    pub data: serde_json::Value,
}

impl Event {
    /// `id` must identify the change, so that announcing it twice is one event.
    pub fn new(id: String, kind: &str, at: DateTime<Utc>, data: serde_json::Value) -> Self {
        Self { id, kind: kind.into(), timestamp: at, data }
    }

    pub fn parse(entry: &OutboxEntry) -> Option<Self> {
        let mut e: Event = serde_json::from_str(&entry.payload).ok()?;
        e.id = entry.id.clone();
        Some(e)
    }
}

/// Whether an endpoint subscribed to `patterns` wants `kind`: an exact type,
/// `order.*` for a family, or `*` for everything.
pub fn wants(patterns: &[String], kind: &str) -> bool {
    patterns.iter().any(|p| p == "*" || p == kind || p.strip_suffix(".*").is_some_and(|family| kind.strip_prefix(family).is_some_and(|rest| rest.starts_with('.'))))
}

/// A subscription pattern is a known type or a family of them.
pub fn valid_pattern(p: &str) -> bool {
    p == "*" || WEBHOOK_EVENTS.contains(&p) || p.strip_suffix(".*").is_some_and(|f| WEBHOOK_EVENTS.iter().any(|e| e.starts_with(&format!("{f}."))))
}

/// A partner's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// `whsec_…`: shown once, when created or rotated.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub secret: String,
    /// The secret before the last rotation, still signed with until `previous_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<DateTime<Utc>>,
    pub enabled: bool,
    /// Why the shop stopped calling it (a 410, days of failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Since when every delivery to it has failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Endpoint {
    /// The secrets to sign with now: the current one, and the previous one while it is valid.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(p), Some(until)) = (&self.previous_secret, self.previous_until) {
            if now < until {
                out.push(p);
            }
        }
        out
    }

    /// The endpoint as shown after creation: without secrets.
    pub fn public(&self) -> Self {
        Self { secret: String::new(), previous_secret: None, ..self.clone() }
    }
}

/// Tasks that follow order changes (`EntryKind::Task`).
pub mod tasks {
    /// The listing's stock snapshot of a new order's products catches up.
    pub const STOCK_SYNC: &str = "stock.sync";
    /// A cancelled or expired order's stock and promotion uses go back.
    pub const GIVEBACK: &str = "order.giveback";
    /// A refund the provider has not confirmed is reconciled with it.
    pub const REFUND: &str = "refund.reconcile";
    /// An order's invoice is issued (its money is in, or it shipped cash on delivery).
    pub const INVOICE: &str = "invoice.issue";
    /// A refund that went through gets its credit note.
    pub const CREDIT_NOTE: &str = "credit_note.issue";
    /// A document goes to ANAF's e-Factura.
    pub const EFACTURA_UPLOAD: &str = "efactura.upload";
    /// ANAF is asked how an uploaded document fares.
    pub const EFACTURA_POLL: &str = "efactura.poll";
    /// The units a return received go back into stock.
    pub const RETURN_RESTOCK: &str = "return.restock";

    /// Tasks of fiscal documents (run by invoicing, not by the order service).
    pub fn is_document_task(topic: &str) -> bool {
        [INVOICE, CREDIT_NOTE, EFACTURA_UPLOAD, EFACTURA_POLL].contains(&topic)
    }
}

/// What a change of an order announces, and the work that must follow it:
/// `before` as stored, `after` as it is being written. Ids are natural keys
/// of the change (an order is created once, reaches each status once, each
/// refund has its own id), so announcing the same change twice is one entry.
pub fn order_events(before: &Order, after: &Order) -> Vec<OutboxEntry> {
    use crate::domain::payment::RefundStatus;
    let created = before.status == OrderStatus::Pending && after.status != OrderStatus::Pending;
    let moved = !created && before.status != after.status;
    let was = |id: &str, status: RefundStatus| before.payment.refunds.iter().any(|r| r.id == id && r.status == status);
    // refunds done in this change (given back by hand, or the provider confirmed them)
    let refunded: Vec<&crate::domain::payment::Refund> = after.payment.refunds.iter().filter(|r| r.status == RefundStatus::Succeeded && !was(&r.id, RefundStatus::Succeeded)).collect();
    // refunds sent to the provider in this change: reconciled until it answers
    let sent: Vec<&crate::domain::payment::Refund> = after.payment.refunds.iter().filter(|r| r.status == RefundStatus::RefundPending && !was(&r.id, RefundStatus::RefundPending)).collect();
    let gives_back = moved && matches!(after.status, OrderStatus::Cancelled | OrderStatus::Expired);
    // the money is in (paid upfront), or a cash-on-delivery order left: its invoice is due
    let invoice_due = moved
        && ((before.status == OrderStatus::AwaitingPayment && after.status == OrderStatus::Placed)
            || (after.status == OrderStatus::Shipped && after.payment.method == crate::domain::payment::PaymentMethod::Cod));
    use crate::domain::returns::ReturnStatus;
    let return_was = |id: &str, status: ReturnStatus| before.returns.iter().any(|r| r.id == id && r.status == status);
    let requested: Vec<&crate::domain::returns::Return> = after.returns.iter().filter(|r| !before.returns.iter().any(|b| b.id == r.id)).collect();
    let received: Vec<&crate::domain::returns::Return> = after.returns.iter().filter(|r| r.received_at.is_some() && !before.returns.iter().any(|b| b.id == r.id && b.received_at.is_some()) && !return_was(&r.id, ReturnStatus::Received)).collect();
    if !(created || moved || !refunded.is_empty() || !sent.is_empty() || !requested.is_empty() || !received.is_empty()) {
        // most order writes (a payment reference, a failed attempt) announce nothing: no serializing
        return Vec::new();
    }
    // the order as the API shows it, serialized once for every event of this change
    let data = serde_json::to_value(after).unwrap_or_default();
    let with = |key: &str, value: serde_json::Value| {
        let mut d = data.clone();
        if let Some(m) = d.as_object_mut() {
            m.insert(key.into(), value);
        }
        d
    };
    let event = |kind: &str, key: String, data: serde_json::Value| OutboxEntry::event(&Event::new(format!("evt_{}.{kind}{key}", after.id), kind, after.updated_at, data));
    let task = |topic: &str, key: String, data: serde_json::Value| OutboxEntry::task(format!("task_{}.{topic}{key}", after.id), topic, data, after.updated_at);
    let mut out = Vec::new();
    if created {
        out.push(event("order.created", String::new(), data.clone()));
        let products: Vec<&str> = after.lines.iter().map(|l| l.product_id.as_str()).collect();
        out.push(task(tasks::STOCK_SYNC, String::new(), serde_json::json!({"order_id": after.id, "products": products})));
    }
    if moved {
        out.push(event("order.status_changed", format!(".{}", after.status.as_str()), with("previous_status", before.status.as_str().into())));
        if before.status == OrderStatus::AwaitingPayment && after.status == OrderStatus::Placed {
            out.push(event("order.paid", String::new(), data.clone()));
        }
    }
    if gives_back {
        out.push(task(tasks::GIVEBACK, String::new(), serde_json::json!({"order_id": after.id})));
    }
    if invoice_due {
        out.push(task(tasks::INVOICE, String::new(), serde_json::json!({"order_id": after.id})));
    }
    for r in refunded {
        out.push(event("order.refunded", format!(".{}", r.id), with("refund_cents", r.amount_cents.into())));
        out.push(task(tasks::CREDIT_NOTE, format!(".{}", r.id), serde_json::json!({"order_id": after.id, "refund_id": r.id})));
    }
    for r in requested {
        out.push(event("order.return_requested", format!(".{}", r.id), with("return", serde_json::to_value(r).unwrap_or_default())));
    }
    for r in received {
        out.push(event("order.return_received", format!(".{}", r.id), with("return", serde_json::to_value(r).unwrap_or_default())));
        out.push(task(tasks::RETURN_RESTOCK, format!(".{}", r.id), serde_json::json!({"order_id": after.id, "return_id": r.id})));
    }
    for r in sent {
        out.push(task(tasks::REFUND, format!(".{}", r.id), serde_json::json!({"order_id": after.id, "refund_id": r.id})));
    }
    out
}

/// A mail as the embedded mode's mailbox shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMail {
    pub file: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub text: String,
}

/// Days of failures after which an endpoint is disabled.
pub const FAILING_DAYS: i64 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_families_and_exact_types() {
        let p = vec!["order.*".to_string()];
        assert!(wants(&p, "order.paid"));
        assert!(!wants(&p, "orders.paid"));
        assert!(!wants(&p, "stock.low"));
        assert!(wants(&["stock.low".to_string()], "stock.low"));
        assert!(valid_pattern("order.*") && valid_pattern("product.updated") && !valid_pattern("orders.*") && !valid_pattern("order.shipped"));
    }

    #[test]
    fn the_work_that_follows_an_order_change_is_written_with_it() {
        use crate::domain::order::tests::sample;
        use crate::domain::payment::PaymentMethod;
        let at = Utc::now();
        let topics = |v: &[OutboxEntry]| v.iter().map(|e| (e.kind, e.topic.clone())).collect::<Vec<_>>();
        let pending = sample(OrderStatus::Pending, PaymentMethod::Card);
        let mut placed = pending.clone();
        placed.transition(OrderStatus::AwaitingPayment, at).unwrap();
        assert_eq!(topics(&order_events(&pending, &placed)), [(EntryKind::Event, "order.created".into()), (EntryKind::Task, tasks::STOCK_SYNC.into())]);
        let mut cancelled = placed.clone();
        cancelled.transition(OrderStatus::Cancelled, at).unwrap();
        let events = order_events(&placed, &cancelled);
        assert!(events.iter().any(|e| e.kind == EntryKind::Task && e.topic == tasks::GIVEBACK), "a cancellation gives its stock back, for sure");
        // a card refund: reconciled until the provider answers; announced once it did
        let mut paid = placed.clone();
        paid.transition(OrderStatus::Placed, at).unwrap();
        assert!(order_events(&placed, &paid).iter().any(|e| e.kind == EntryKind::Task && e.topic == tasks::INVOICE), "paid: its invoice is due");
        let mut refunding = paid.clone();
        let (_, id) = refunding.refund(500, "", true, at).unwrap();
        let sent = order_events(&paid, &refunding);
        assert_eq!(topics(&sent), [(EntryKind::Task, tasks::REFUND.into())]);
        let mut done = refunding.clone();
        done.settle_refund(&id, true, at).unwrap();
        let announced = order_events(&refunding, &done);
        assert_eq!(topics(&announced), [(EntryKind::Event, "order.refunded".into()), (EntryKind::Task, tasks::CREDIT_NOTE.into())], "a refund that went through gets its credit note");
        assert!(announced[0].id.ends_with(".rf_1"), "each refund its own event: {}", announced[0].id);
        let mut refused = refunding.clone();
        refused.settle_refund(&id, false, at).unwrap();
        assert!(order_events(&refunding, &refused).is_empty(), "a refused refund announces no refund");
        // cash on delivery: invoiced when it ships
        let cod = sample(OrderStatus::Placed, PaymentMethod::Cod);
        let mut confirmed = cod.clone();
        confirmed.transition(OrderStatus::Confirmed, at).unwrap();
        let mut shipped = confirmed.clone();
        shipped.transition(OrderStatus::Shipped, at).unwrap();
        assert!(!order_events(&cod, &confirmed).iter().any(|e| e.topic == tasks::INVOICE), "not when confirmed");
        assert!(order_events(&confirmed, &shipped).iter().any(|e| e.topic == tasks::INVOICE));
        assert!(!order_events(&pending, &placed).iter().any(|e| e.topic == tasks::INVOICE), "not before the money is in");
    }

    #[test]
    fn record_retries_then_dies() {
        let now = Utc::now();
        let schedule = RetrySchedule::parse("1,5").unwrap();
        let mut e = OutboxEntry::new("x".into(), EntryKind::Mail, "t", "a@b.ro", "{}".into(), now);
        let fail = |at| Attempt { at, ok: false, status: Some(500), latency_ms: 3, note: "boom".into() };
        e.record(fail(now), true, &schedule);
        assert_eq!((e.status, e.next_at), (EntryStatus::Pending, now + Duration::seconds(1)));
        e.record(fail(now), true, &schedule);
        assert_eq!((e.status, e.next_at), (EntryStatus::Pending, now + Duration::seconds(5)));
        e.record(fail(now), true, &schedule);
        assert_eq!(e.status, EntryStatus::Dead);
        assert_eq!((e.attempts, e.log.len(), e.last_error()), (3, 3, Some("boom")));
        let mut g = OutboxEntry::new("y".into(), EntryKind::Webhook, "t", "we", "{}".into(), now);
        g.record(fail(now), false, &schedule);
        assert_eq!(g.status, EntryStatus::Dead, "no retry when the answer says retrying will not help");
    }

    #[test]
    fn previous_secret_signs_until_it_expires() {
        let now = Utc::now();
        let mut e = Endpoint { id: "we".into(), url: "https://x".into(), events: vec![], description: String::new(), secret: "a".into(), previous_secret: Some("b".into()), previous_until: Some(now + Duration::hours(1)), enabled: true, disabled_reason: None, failing_since: None, created_at: now };
        assert_eq!(e.signing_secrets(now), vec!["a", "b"]);
        e.previous_until = Some(now - Duration::seconds(1));
        assert_eq!(e.signing_secrets(now), vec!["a"]);
        assert!(e.public().secret.is_empty());
    }
}
