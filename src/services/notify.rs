//! Notifications: the relay that delivers the outbox (mails and partner
//! webhooks), and the partners' endpoints.
//!
//! Every instance runs the relay. It claims a batch of due entries (a claim
//! is atomic per entry and leased, so two instances never hold the same
//! one), handles each, and stores the outcome under its claim:
//! * an **event** fans out into deliveries whose ids derive from the event's
//!   (a second fan-out after a crash adds nothing), then counts as sent;
//! * a **mail** is rendered (customer's language) and sent;
//! * a **webhook** is signed (Standard Webhooks) and POSTed.
//!
//! A failure is retried on the `RetrySchedule`; after the last try the entry
//! is dead, and an admin can send it again. Delivery is at least once: a
//! crash after sending and before recording sends again, with the same id.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::domain::order::{Order, OrderStatus};
use crate::domain::patch::Patch;
use crate::domain::outbox::{valid_pattern, wants, Attempt, Endpoint, EntryKind, EntryStatus, Event, OutboxEntry, RetrySchedule, FAILING_DAYS, WEBHOOK_EVENTS};
use crate::domain::payment::{BankAccount, PaymentMethod};
use crate::domain::product::{AttrValue, Product};
use crate::domain::user::{FieldError, Role, User};
use crate::i18n::Locale;
use crate::ports::{CatalogStore, HookClient, InventoryStore, Mail, MailTemplates, Mailer, OutboxFilter, OutboxStore, StoreError, StoredMail, UserStore};
use crate::services::digest::hmac_sha256;

/// What mails say and where their links point.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub shop: String,
    /// The shop's address, for links (`https://shop.example.ro`).
    pub public_url: String,
    /// Who gets the low-stock alerts.
    pub admin_emails: Vec<String>,
    /// Stock at or below which a SKU is low, unless its product says otherwise
    /// (a `low_stock_threshold` attribute).
    pub low_stock: i64,
    pub schedule: RetrySchedule,
    pub bank: Option<BankAccount>,
    pub transfer_days: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A page of outbox entries.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EntryPage {
    pub items: Vec<OutboxEntry>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

struct Inner {
    outbox: Arc<dyn OutboxStore>,
    users: Arc<dyn UserStore>,
    inventory: Arc<dyn InventoryStore>,
    catalog: Arc<dyn CatalogStore>,
    mailer: Arc<dyn Mailer>,
    templates: Arc<dyn MailTemplates>,
    hooks: Arc<dyn HookClient>,
    settings: NotifySettings,
    /// Derives password-reset tokens (and guest-order links) at sending time: the store keeps only hashes.
    secret: Vec<u8>,
    guest_link: Arc<dyn Fn(&str) -> String + Send + Sync>,
    worker: String,
    /// Deliveries in flight on this instance (at most `IN_FLIGHT`).
    inflight: Arc<tokio::sync::Semaphore>,
    /// Does the work task entries name (the order service's follow-ups).
    tasks: Option<TaskRunner>,
    /// Where invoices' PDFs are, to attach them to their mail.
    documents: Option<Arc<dyn crate::ports::DocumentStore>>,
}

/// Runs the work of a task entry (its topic and data): `Ok` with a note when
/// done, `Err` when it must be tried again later. Each task is idempotent.
pub type TaskRunner = Arc<dyn Fn(String, Value) -> futures::future::BoxFuture<'static, Result<String, String>> + Send + Sync>;

#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

/// Entries one relay pass claims.
const BATCH: u32 = 32;
/// Deliveries one instance runs at once.
const IN_FLIGHT: usize = 64;
/// How long a claim holds: longer than the slowest delivery (a webhook's 10 s timeout, an SMTP exchange).
const LEASE: Duration = Duration::from_secs(60);
/// How long the `password_reset` link works.
pub const RESET_MINUTES: i64 = 30;

/// The token of a password reset, derived from its id: mailed, never stored.
pub fn reset_token(secret: &[u8], reset_id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(secret, format!("password-reset:{reset_id}").as_bytes()))
}

/// Standard Webhooks signature header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
/// for each secret (`whsec_<base64 key>`), space-separated.
pub fn sign_webhook(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    secrets
        .iter()
        .map(|s| {
            let key = s.strip_prefix("whsec_").and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok()).unwrap_or_else(|| s.as_bytes().to_vec());
            format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, &content)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn new_secret() -> String {
    use rand::RngCore;
    let mut key = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// A short, stable id for a delivery of an event (`msg_…`).
fn delivery_id(event_id: &str, to: &str) -> String {
    let h = crate::services::accounts::sha256_hex(&format!("{event_id}\n{to}"));
    format!("msg_{}", &h[..26])
}

impl Notifier {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        users: Arc<dyn UserStore>,
        inventory: Arc<dyn InventoryStore>,
        catalog: Arc<dyn CatalogStore>,
        mailer: Arc<dyn Mailer>,
        templates: Arc<dyn MailTemplates>,
        hooks: Arc<dyn HookClient>,
        settings: NotifySettings,
        secret: &[u8],
        guest_link: Arc<dyn Fn(&str) -> String + Send + Sync>,
    ) -> Self {
        let worker = format!("w_{}", uuid::Uuid::new_v4().simple());
        Self(Arc::new(Inner { outbox, users, inventory, catalog, mailer, templates, hooks, settings, secret: secret.to_vec(), guest_link, worker, inflight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)), tasks: None, documents: None }))
    }

    /// Task entries are done by `runner`, and invoice mails carry their PDF
    /// from `documents` (set once, while the app is built).
    pub fn with_tasks(self, runner: TaskRunner, documents: Arc<dyn crate::ports::DocumentStore>) -> Self {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                inner.tasks = Some(runner);
                inner.documents = Some(documents);
                Self(Arc::new(inner))
            }
            Err(shared) => {
                tracing::error!("the notifier is already shared: task entries will wait");
                Self(shared)
            }
        }
    }

    pub fn mailer_kind(&self) -> &'static str {
        self.0.mailer.kind()
    }

    /// One relay pass: claims what is due (as much as there is room for)
    /// and starts delivering it; each delivery records its own outcome when
    /// done, so a slow endpoint never holds up the mails claimed with it.
    /// Returns how many entries it started.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let me = &self.0;
        let room = me.inflight.available_permits().min(BATCH as usize);
        if room == 0 {
            return Ok(0);
        }
        let batch = me.outbox.claim(&me.worker, Utc::now(), LEASE, room as u32).await?;
        let n = batch.len();
        for entry in batch {
            let Ok(permit) = me.inflight.clone().acquire_owned().await else { break };
            let this = self.clone();
            tokio::spawn(async move {
                let done = this.handle(entry).await;
                match this.0.outbox.finish(&this.0.worker, &done).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(id = %done.id, "an outbox entry's claim ran out before it was recorded; another relay has it"),
                    Err(e) => tracing::warn!(id = %done.id, error = %e, "could not record a delivery; it is tried again when its claim ends"),
                }
                drop(permit);
            });
        }
        Ok(n)
    }

    /// Moves entries a crash left on order documents into the outbox.
    pub async fn settle(&self) -> Result<usize, StoreError> {
        self.0.outbox.settle_outbox().await
    }

    async fn handle(&self, mut entry: OutboxEntry) -> OutboxEntry {
        let started = std::time::Instant::now();
        let (ok, status, note, retry) = match entry.kind {
            EntryKind::Event => match self.fan_out(&entry).await {
                Ok(n) => (true, None, format!("fan-out: {n}"), true),
                Err(e) => (false, None, e, true),
            },
            EntryKind::Mail => match self.send_mail(&entry).await {
                Ok(to) => (true, None, format!("{} → {to}", self.0.mailer.kind()), true),
                Err((e, retry)) => (false, None, e, retry),
            },
            EntryKind::Webhook => self.call_hook(&entry).await,
            EntryKind::Task => match (&self.0.tasks, serde_json::from_str::<Value>(&entry.payload)) {
                (Some(run), Ok(data)) => match run(entry.topic.clone(), data).await {
                    Ok(note) => (true, None, note, true),
                    Err(e) => (false, None, e, true),
                },
                (None, _) => (false, None, "no task runner on this instance".into(), true),
                (_, Err(e)) => (false, None, format!("unreadable task: {e}"), false),
            },
        };
        let attempt = Attempt { at: Utc::now(), ok, status, latency_ms: started.elapsed().as_millis() as u64, note };
        if !ok {
            // never a recipient in the logs: they outlive an erasure
            tracing::warn!(id = %entry.id, kind = entry.kind.as_str(), error = %crate::domain::text::mask_addresses(&attempt.note), "delivery failed");
        }
        entry.record(attempt, retry, &self.0.settings.schedule);
        entry
    }

    // ------------------------------------------------------------ fan-out

    /// The deliveries an event makes; stored (idempotently) before the event counts as handled.
    async fn fan_out(&self, entry: &OutboxEntry) -> Result<usize, String> {
        let me = &self.0;
        let event = Event::parse(entry).ok_or("unreadable event")?;
        let now = Utc::now();
        let mut out = Vec::new();
        let mail = |template: &str, to: &str, lang: &str, name: &str, extra: Value| {
            let payload = json!({"template": template, "lang": lang, "name": name, "event": event.id, "type": event.kind, "data": event.data, "extra": extra});
            OutboxEntry::new(delivery_id(&event.id, &format!("mail:{to}")), EntryKind::Mail, template, to, payload.to_string(), now)
        };
        if let Some(template) = mail_template(&event) {
            match event.kind.as_str() {
                "stock.low" => {
                    for to in &me.settings.admin_emails {
                        out.push(mail(template, to, "ro", "", Value::Null));
                    }
                }
                "user.registered" | "password.reset" => {
                    let id = event.data.get("user_id").and_then(Value::as_str).unwrap_or_default();
                    if let Some(u) = me.users.user_by_id(id).await.map_err(|e| e.to_string())? {
                        out.push(mail(template, &u.email, lang_of(&u), &u.name, Value::Null));
                    }
                }
                _ => {
                    let order: Order = serde_json::from_value(event.data.clone()).map_err(|e| format!("event without its order: {e}"))?;
                    let user = me.users.user_by_id(&order.user_id).await.map_err(|e| e.to_string())?;
                    let to = order.guest_email.clone().or_else(|| user.as_ref().map(|u| u.email.clone()));
                    let lang = user.as_ref().map(lang_of).unwrap_or("ro");
                    let name = user.as_ref().map(|u| u.name.clone()).unwrap_or_else(|| order.shipping_address.name.clone());
                    if let Some(to) = to {
                        out.push(mail(template, &to, lang, &name, Value::Null));
                    }
                }
            }
        }
        if WEBHOOK_EVENTS.contains(&event.kind.as_str()) {
            let body = entry.payload.clone();
            for ep in me.outbox.endpoints().await.map_err(|e| e.to_string())?.into_iter().filter(|e| e.enabled && wants(&e.events, &event.kind)) {
                out.push(OutboxEntry::new(delivery_id(&event.id, &format!("hook:{}", ep.id)), EntryKind::Webhook, &event.kind, &ep.id, body.clone(), now));
            }
        }
        if event.kind == "order.created" {
            out.extend(self.low_stock_events(&event, now).await?);
        }
        let n = out.len();
        me.outbox.enqueue(&out).await.map_err(|e| e.to_string())?;
        Ok(n)
    }

    /// `stock.low` for each SKU of a new order whose stock it took to or below its threshold.
    async fn low_stock_events(&self, event: &Event, now: DateTime<Utc>) -> Result<Vec<OutboxEntry>, String> {
        let me = &self.0;
        let Ok(order) = serde_json::from_value::<Order>(event.data.clone()) else { return Ok(vec![]) };
        let skus: Vec<String> = order.lines.iter().map(|l| l.sku.clone()).collect();
        let stock = me.inventory.stock_levels(&skus).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for line in &order.lines {
            let Some(&left) = stock.get(&line.sku) else { continue };
            let product = me.catalog.product_by_id(&line.product_id).await.map_err(|e| e.to_string())?;
            let threshold = product.as_ref().and_then(threshold_of).unwrap_or(me.settings.low_stock);
            // announced when this order crossed the threshold, not on every later sale
            if left <= threshold && left + line.quantity > threshold {
                let data = json!({"sku": line.sku, "product_id": line.product_id, "name": line.name, "slug": line.slug, "stock": left, "threshold": threshold, "order_id": order.id});
                out.push(OutboxEntry::event(&Event::new(format!("evt_stock.low.{}.{}", line.sku, order.id), "stock.low", now, data)));
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------ mail

    async fn send_mail(&self, entry: &OutboxEntry) -> Result<String, (String, bool)> {
        let me = &self.0;
        let p: Value = serde_json::from_str(&entry.payload).map_err(|e| (format!("unreadable mail: {e}"), false))?;
        let template = p["template"].as_str().unwrap_or_default();
        let lang = p["lang"].as_str().unwrap_or("ro");
        let ctx = self.context(template, lang, &p, &entry.target).await.map_err(|e| (e, true))?;
        let (subject, text, html) = me.templates.render(template, lang, &ctx).map_err(|e| (e, false))?;
        let attachments = self.attachments(template, &p).await.map_err(|e| (e, true))?;
        let mail = Mail { id: entry.id.clone(), to: entry.target.clone(), subject, text, html, attachments };
        me.mailer.send(&mail).await.map_err(|e| (e, true))?;
        Ok(entry.target.clone())
    }

    fn link(&self, locale: Locale, path: &str) -> String {
        format!("{}{}", self.0.settings.public_url.trim_end_matches('/'), locale.href(path))
    }

    /// What a template is rendered with: prices, dates and labels already in the recipient's language.
    async fn context(&self, template: &str, lang: &str, p: &Value, to: &str) -> Result<Value, String> {
        let me = &self.0;
        let locale = Locale::from_code(lang).unwrap_or(Locale::Ro);
        let data = &p["data"];
        let mut ctx = json!({"shop": me.settings.shop, "shop_url": self.link(locale, "/"), "name": p["name"], "email": to});
        let m = ctx.as_object_mut().expect("an object");
        match template {
            "password_reset" => {
                let reset_id = data["reset_id"].as_str().unwrap_or_default();
                let token = reset_token(&me.secret, reset_id);
                m.insert("link".into(), format!("{}?token={token}", self.link(locale, "/reset-password")).into());
                m.insert("minutes".into(), RESET_MINUTES.into());
            }
            "low_stock" => {
                for k in ["sku", "stock", "threshold"] {
                    m.insert(k.into(), data[k].clone());
                }
                m.insert("product_name".into(), data["name"].clone());
                m.insert("link".into(), format!("{}/admin/products/{}", me.settings.public_url.trim_end_matches('/'), data["product_id"].as_str().unwrap_or_default()).into());
            }
            "welcome" => {}
            _ => {
                let order: Order = serde_json::from_value(data.clone()).map_err(|e| format!("mail without its order: {e}"))?;
                if template == "refunded" {
                    let amount = data["refund_cents"].as_i64().unwrap_or(order.payment.refunded_cents);
                    m.insert("amount".into(), locale.money(amount, &order.currency).into());
                }
                if template == "document" {
                    let d = &data["document"];
                    let title = locale.t(&format!("doc-kind-{}", d["kind"].as_str().unwrap_or("invoice")));
                    let date = d["issued_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.format("%d.%m.%Y").to_string()).unwrap_or_default();
                    m.insert("document".into(), json!({"title": title, "title_lower": title.to_lowercase(), "number": d["number"], "date": date, "total": locale.money(d["total_cents"].as_i64().unwrap_or(0), &order.currency)}));
                }
                if let Some(r) = data["return"].as_object() {
                    let lines: Vec<Value> = r.get("lines").and_then(Value::as_array).into_iter().flatten().map(|l| {
                        let sku = l["sku"].as_str().unwrap_or_default();
                        let name = order.lines.iter().find(|o| o.sku == sku).map(|o| o.name.clone()).unwrap_or_else(|| sku.to_string());
                        json!({"name": name, "quantity": l["quantity"], "received": l["received"]})
                    }).collect();
                    m.insert("ret".into(), json!({"id": r.get("id"), "lines": lines}));
                }
                m.insert("order".into(), self.order_context(&order, locale));
            }
        }
        Ok(ctx)
    }

    /// An invoice's or credit note's mail carries its PDF.
    async fn attachments(&self, template: &str, p: &Value) -> Result<Vec<crate::ports::MailAttachment>, String> {
        if template != "document" {
            return Ok(vec![]);
        }
        let d = &p["data"]["document"];
        let id = d["id"].as_str().unwrap_or_default();
        let Some(docs) = &self.0.documents else { return Err("no document store on this instance".into()) };
        let pdf = docs.document_file(id, crate::ports::DocFile::Pdf).await.map_err(|e| e.to_string())?.ok_or("the document's PDF is not written yet")?;
        Ok(vec![crate::ports::MailAttachment { name: format!("{}.pdf", d["number"].as_str().unwrap_or(id)), content_type: "application/pdf".into(), data: pdf }])
    }

    fn order_context(&self, o: &Order, locale: Locale) -> Value {
        let money = |m: &crate::domain::money::Money| locale.money(m.amount, &m.currency);
        let a = &o.shipping_address;
        let address_lines: Vec<String> = [a.name.clone(), a.street.clone(), format!("{} {}", a.postal_code, a.city), a.country.clone(), a.phone.clone()].into_iter().filter(|s| !s.trim().is_empty()).collect();
        let link = match &o.guest_email {
            Some(_) => format!("{}?token={}", self.link(locale, &format!("/orders/{}", o.id)), (self.0.guest_link)(&o.id)),
            None => self.link(locale, &format!("/account/orders/{}", o.id)),
        };
        let bank = match (&self.0.settings.bank, o.payment.method) {
            (Some(b), PaymentMethod::BankTransfer) => json!({"beneficiary": b.beneficiary, "iban": b.iban, "bank": b.bank, "days": self.0.settings.transfer_days}),
            _ => Value::Null,
        };
        json!({
            "number": o.number,
            "link": link,
            "lines": o.lines.iter().map(|l| json!({
                "name": l.name,
                "options": l.options.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "),
                "quantity": l.quantity,
                "unit_price": money(&l.unit_price),
                "line_total": money(&l.line_total),
            })).collect::<Vec<_>>(),
            "subtotal": money(&o.subtotal),
            "shipping": money(&o.shipping),
            "shipping_method": locale.t(&format!("shipping-{}", o.shipping_method.as_str())),
            "vat": money(&o.vat),
            "vat_percent": o.vat_percent,
            "total": money(&o.total),
            "address": address_lines.join("\n"),
            "address_lines": address_lines,
            "payment": locale.t(&format!("payment-method-{}", o.payment.method.as_str())),
            "bank": bank,
            "refunded": if o.payment.refunded_cents > 0 { locale.money(o.payment.refunded_cents, &o.currency) } else { String::new() },
            "cod": o.payment.method == PaymentMethod::Cod,
            "card": o.payment.method == PaymentMethod::Card,
            "expired": o.status == OrderStatus::Expired,
        })
    }

    // ------------------------------------------------------------ webhooks

    /// `(ok, status, note, retry)`.
    async fn call_hook(&self, entry: &OutboxEntry) -> (bool, Option<u16>, String, bool) {
        let me = &self.0;
        let endpoint = match me.outbox.endpoints().await {
            Ok(all) => all.into_iter().find(|e| e.id == entry.target),
            Err(e) => return (false, None, e.to_string(), true),
        };
        let Some(endpoint) = endpoint else { return (false, None, "the endpoint was deleted".into(), false) };
        if !endpoint.enabled {
            return (false, None, format!("the endpoint is disabled: {}", endpoint.disabled_reason.clone().unwrap_or_default()), false);
        }
        let now = Utc::now();
        let ts = now.timestamp();
        let body = entry.payload.as_bytes();
        let headers = vec![
            ("webhook-id".to_string(), entry.id.clone()),
            ("webhook-timestamp".to_string(), ts.to_string()),
            ("webhook-signature".to_string(), sign_webhook(&endpoint.signing_secrets(now), &entry.id, ts, body)),
        ];
        let answer = me.hooks.post(&endpoint.url, &headers, body).await;
        let ok = answer.status.is_some_and(|s| (200..300).contains(&s));
        // 4xx means the partner refused this message: trying again will not help, except 408 and 429
        let retry = match answer.status {
            Some(s) if (400..500).contains(&s) => s == 408 || s == 429,
            _ => true,
        };
        self.endpoint_outcome(endpoint, ok, answer.status, now).await;
        let note = match answer.status {
            Some(s) => format!("HTTP {s}: {}", answer.note),
            None => answer.note,
        };
        (ok, answer.status, note, retry)
    }

    /// Keeps an endpoint's health: 410 Gone disables it at once; failing for
    /// days disables it. Only the health fields are written, and only while
    /// they are as this delivery read them: an endpoint deleted or changed by
    /// an admin meanwhile is left as the admin left it.
    async fn endpoint_outcome(&self, mut ep: Endpoint, ok: bool, status: Option<u16>, now: DateTime<Utc>) {
        let before = ep.clone();
        if ok {
            ep.failing_since = None;
        } else {
            let since = *ep.failing_since.get_or_insert(now);
            if status == Some(410) {
                ep.enabled = false;
                ep.disabled_reason = Some("answered 410 Gone".into());
            } else if now - since > chrono::Duration::days(FAILING_DAYS) {
                ep.enabled = false;
                ep.disabled_reason = Some(format!("every delivery failed for {FAILING_DAYS} days"));
            }
        }
        if ep != before {
            let patch = Patch::diff(&before, &ep).guard("enabled", &before.enabled).guard("failing_since", &before.failing_since);
            match self.0.outbox.update_endpoint(&ep.id, &patch).await {
                Ok(true) => {}
                Ok(false) => tracing::debug!(endpoint = %ep.id, "an endpoint changed or went away during a delivery; its health is left as it is"),
                Err(e) => tracing::warn!(endpoint = %ep.id, error = %e, "could not record an endpoint's health"),
            }
        }
    }

    pub async fn endpoints(&self) -> Result<Vec<Endpoint>, NotifyError> {
        Ok(self.0.outbox.endpoints().await?.iter().map(Endpoint::public).collect())
    }

    /// One endpoint with its secrets (for the changes below).
    async fn stored_endpoint(&self, id: &str) -> Result<Endpoint, NotifyError> {
        self.0.outbox.endpoints().await?.into_iter().find(|e| e.id == id).ok_or(NotifyError::NotFound)
    }

    pub async fn endpoint(&self, id: &str) -> Result<Endpoint, NotifyError> {
        Ok(self.stored_endpoint(id).await?.public())
    }

    fn check_events(events: &[String]) -> Result<Vec<String>, FieldError> {
        let events: Vec<String> = events.iter().map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect();
        if events.is_empty() {
            return Err(FieldError::coded("field-webhook-events", "events", &[("events", &WEBHOOK_EVENTS.join(", "))]));
        }
        if let Some(bad) = events.iter().find(|e| !valid_pattern(e)) {
            return Err(FieldError::coded("field-webhook-event-unknown", "events", &[("event", bad), ("events", &WEBHOOK_EVENTS.join(", "))]));
        }
        Ok(events)
    }

    /// Registers an endpoint; the answer holds its secret, shown this once.
    pub async fn create_endpoint(&self, url: &str, events: &[String], description: &str) -> Result<Endpoint, NotifyError> {
        let url = url.trim();
        self.0.hooks.check_url(url).map_err(|why| url_refused(&why))?;
        let events = Self::check_events(events)?;
        if description.chars().count() > 200 {
            return Err(FieldError::coded("field-webhook-description", "description", &[]).into());
        }
        let ep = Endpoint {
            id: format!("we_{}", uuid::Uuid::new_v4().simple()),
            url: url.into(),
            events,
            description: description.trim().into(),
            secret: new_secret(),
            previous_secret: None,
            previous_until: None,
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            created_at: Utc::now(),
        };
        self.0.outbox.save_endpoint(&ep).await?;
        Ok(ep)
    }

    /// Changes what an endpoint receives, or turns it on or off (turning on
    /// clears its failures): the fields named, written on the endpoint as it is.
    pub async fn update_endpoint(&self, id: &str, url: Option<&str>, events: Option<&[String]>, enabled: Option<bool>) -> Result<Endpoint, NotifyError> {
        let seen = self.stored_endpoint(id).await?;
        let mut ep = seen.clone();
        if let Some(u) = url {
            self.0.hooks.check_url(u.trim()).map_err(|why| url_refused(&why))?;
            ep.url = u.trim().into();
        }
        if let Some(ev) = events {
            ep.events = Self::check_events(ev)?;
        }
        if let Some(on) = enabled {
            ep.enabled = on;
            if on {
                ep.disabled_reason = None;
                ep.failing_since = None;
            } else {
                ep.disabled_reason = Some("turned off by an admin".into());
            }
        }
        if ep != seen && !self.0.outbox.update_endpoint(id, &Patch::diff(&seen, &ep)).await? {
            return Err(NotifyError::NotFound);
        }
        Ok(ep.public())
    }

    /// A new secret (shown once); the old one keeps signing for a day, so the
    /// partner can switch without losing messages. Only over the secret read:
    /// of two rotations at once, one wins and the other is refused.
    pub async fn rotate_secret(&self, id: &str) -> Result<Endpoint, NotifyError> {
        let seen = self.stored_endpoint(id).await?;
        let mut ep = seen.clone();
        ep.previous_secret = Some(std::mem::replace(&mut ep.secret, new_secret()));
        ep.previous_until = Some(Utc::now() + chrono::Duration::hours(24));
        if !self.0.outbox.update_endpoint(id, &Patch::diff(&seen, &ep).guard("secret", &seen.secret)).await? {
            return Err(NotifyError::NotFound);
        }
        Ok(Endpoint { previous_secret: None, ..ep })
    }

    pub async fn delete_endpoint(&self, id: &str) -> Result<(), NotifyError> {
        if self.0.outbox.delete_endpoint(id).await? {
            Ok(())
        } else {
            Err(NotifyError::NotFound)
        }
    }

    // ------------------------------------------------------------ the panel's views

    pub async fn entries(&self, filter: &OutboxFilter, page: u64, per_page: u64) -> Result<EntryPage, NotifyError> {
        let (offset, limit) = crate::domain::query::page_window(page, per_page);
        let (items, total) = self.0.outbox.list_entries(filter, offset, limit).await?;
        Ok(EntryPage { items: items.into_iter().map(redact).collect(), total, page: page.max(1), per_page: limit })
    }

    pub async fn entry(&self, id: &str) -> Result<OutboxEntry, NotifyError> {
        self.0.outbox.entry(id).await?.map(redact).ok_or(NotifyError::NotFound)
    }

    /// Sends an entry again now (a dead one, or a replay of a sent webhook), with the same id.
    pub async fn retry(&self, id: &str) -> Result<OutboxEntry, NotifyError> {
        let mut e = self.0.outbox.entry(id).await?.ok_or(NotifyError::NotFound)?;
        e.requeue(Utc::now());
        self.0.outbox.put_entry(&e).await?;
        Ok(redact(e))
    }

    /// The embedded mode's mailbox (none when mail goes over SMTP).
    pub async fn mailbox(&self, limit: usize) -> Option<Vec<StoredMail>> {
        self.0.mailer.mailbox(limit).await
    }

    // ------------------------------------------------------------ other announcements

    /// Announces a change that has no transaction to ride in (a follow-up
    /// keyed by the change: doing it twice is one entry).
    pub async fn announce(&self, event: Event) {
        if let Err(e) = self.0.outbox.enqueue(&[OutboxEntry::event(&event)]).await {
            tracing::error!(event = %event.id, error = %e, "could not store an announcement");
        }
    }

    pub async fn product_changed(&self, p: &Product) {
        let data = serde_json::to_value(p).unwrap_or_default();
        self.announce(Event::new(format!("evt_{}.product.updated.{}", p.id, p.updated_at.timestamp_millis()), "product.updated", p.updated_at, data)).await;
    }

    pub async fn user_registered(&self, u: &User) {
        if u.role == Role::Customer {
            self.announce(Event::new(format!("evt_{}.user.registered", u.id), "user.registered", u.created_at, json!({"user_id": u.id}))).await;
        }
    }
}

/// A refused webhook URL, worded from the adapter's reason code.
fn url_refused(why: &str) -> FieldError {
    let code = match why {
        "credentials" => "field-webhook-url-credentials",
        "https-only" => "field-webhook-url-https",
        "http-loopback-only" => "field-webhook-url-loopback",
        "private" => "field-webhook-url-private",
        _ => "field-webhook-url",
    };
    FieldError::coded(code, "url", &[])
}

/// Mail payloads may hold what only the recipient should read; the panel sees the envelope.
fn redact(mut e: OutboxEntry) -> OutboxEntry {
    if e.kind == EntryKind::Mail && e.topic == "password_reset" {
        e.payload = "{}".into();
    }
    e
}

fn lang_of(u: &User) -> &'static str {
    match u.lang.as_deref() {
        Some("en") => "en",
        _ => "ro",
    }
}

fn threshold_of(p: &Product) -> Option<i64> {
    match p.attributes.get("low_stock_threshold") {
        Some(AttrValue::Number(n)) if *n >= 0.0 => Some(*n as i64),
        _ => None,
    }
}

/// The mail an event sends its customer (or admins), if any.
fn mail_template(e: &Event) -> Option<&'static str> {
    Some(match e.kind.as_str() {
        "order.created" => "order_placed",
        "order.paid" => "payment_received",
        "order.refunded" => "refunded",
        "order.status_changed" => match e.data.get("status").and_then(Value::as_str) {
            Some("shipped") => "shipped",
            Some("cancelled" | "expired") => "cancelled",
            _ => return None,
        },
        "user.registered" => "welcome",
        "password.reset" => "password_reset",
        "stock.low" => "low_stock",
        "document.issued" => "document",
        "order.return_requested" => "return_requested",
        "order.return_received" => "return_received",
        _ => return None,
    })
}

/// Counts of entries by status (the panel's tabs).
pub type StatusCounts = BTreeMap<String, u64>;

impl Notifier {
    pub async fn counts(&self) -> Result<StatusCounts, NotifyError> {
        let mut out = BTreeMap::new();
        for s in [EntryStatus::Pending, EntryStatus::Sent, EntryStatus::Dead] {
            let (_, n) = self.0.outbox.list_entries(&OutboxFilter { status: Some(s), ..Default::default() }, 0, 0).await?;
            out.insert(s.as_str().to_string(), n);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // the example from the Standard Webhooks specification's reference implementation
        let sig = sign_webhook(&["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = sign_webhook(&["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_AAAA"], "m", 1, b"{}");
        assert_eq!(two.split(' ').count(), 2);
    }

    #[test]
    fn reset_tokens_derive_from_the_id_and_the_key() {
        assert_eq!(reset_token(b"k", "r1"), reset_token(b"k", "r1"));
        assert_ne!(reset_token(b"k", "r1"), reset_token(b"k", "r2"));
        assert_ne!(reset_token(b"k", "r1"), reset_token(b"other", "r1"));
        assert!(reset_token(b"k", "r1").len() >= 43);
    }
}
