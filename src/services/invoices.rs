//! Invoices and credit notes, and their journey to ANAF's e-Factura.
//!
//! An order's invoice is issued when its money is in (a card or bank
//! transfer paid) or, for cash on delivery, when it ships; every refund
//! that went through issues a credit note. Both are tasks written with the
//! order change that calls for them (the outbox runs them until they are
//! done) and are run at once as well, so the shopper sees the invoice
//! straight away; issuing is idempotent (one document per order, kind and
//! reference).
//!
//! Numbers are gapless per series across instances and restarts: a number
//! is taken by storing the document under it (unique per series), the next
//! one after the highest stored; a writer that loses the race takes the
//! next. A document is stored before its files are made, so a crash leaves
//! no gap: the task makes the files on its next run.
//!
//! e-Factura: each document is uploaded by an `efactura.upload` task
//! (`upload` for a company, `uploadb2c` for a person), then its state is
//! asked by an `efactura.poll` task that the outbox repeats with backoff
//! until ANAF decides; the signed answer (or the errors) is kept with it.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::domain::billing::{parse_cui, CompanyInfo, Seller};
use crate::domain::invoice::{ubl, DocKind, Document, Efactura, EfacturaState};
pub use crate::domain::invoice::{EfacturaStatus, SellerSource};
use crate::domain::order::{Order, OrderStatus};
use crate::domain::outbox::{tasks, Event, OutboxEntry};
use crate::domain::payment::{PaymentMethod, RefundStatus};
use crate::domain::user::FieldError;
use crate::services::audit::Actor;
use crate::ports::{Claimed, CompanyRegistry, DocFile, DocumentFilter, DocumentRenderer, DocumentStore, EfacturaError, EfacturaGateway, KeyValueStore, MessageState, OrderStore, OutboxStore, StoreError, CatalogStore};

/// Where settings live in the key-value store.
const SETTINGS: &str = "settings";
const SELLER_KEY: &str = "seller";
/// e-Factura's OAuth tokens, one record per generation (`token.1`, `token.2`…).
const EFACTURA: &str = "efactura";
/// Warn this long before the refresh token expires.
const TOKEN_WARNING_DAYS: i64 = 30;
/// Documents not accepted this many working days after issue are flagged (the law allows 5).
pub const LATE_WORKING_DAYS: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(FieldError),
    #[error("invalid fields")]
    Fields(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Efactura(String),
    /// e-Factura (or the register) is not set up on this shop.
    #[error("{0}")]
    NotConfigured(String),
    #[error("{0}")]
    Render(String),
}

/// One generation of e-Factura OAuth tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenRecord {
    refresh_token: String,
    #[serde(default)]
    access_token: String,
    access_expires_at: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
    /// The token this chain started from (a pasted one, or the environment's).
    seed: String,
    at: DateTime<Utc>,
}

struct Inner {
    docs: Arc<dyn DocumentStore>,
    orders: Arc<dyn OrderStore>,
    catalog: Arc<dyn CatalogStore>,
    kv: Arc<dyn KeyValueStore>,
    outbox: Arc<dyn OutboxStore>,
    renderer: Arc<dyn DocumentRenderer>,
    series: String,
    configured_seller: Option<Seller>,
    gateway: Option<Arc<dyn EfacturaGateway>>,
    registry: Option<Arc<dyn CompanyRegistry>>,
    environment: String,
    env_refresh_token: Option<String>,
    /// The newest token generation seen (a hint: the store has the truth).
    token_hint: AtomicU64,
    token_lock: tokio::sync::Mutex<()>,
    /// An admin's changes (the seller, a token, a document made again) are recorded here.
    audit: Option<crate::services::audit::AuditLog>,
    /// The seller as last read, and when: every page's footer shows it, so it is
    /// read from the store at most every few seconds (a change reaches every
    /// instance within `SELLER_FRESH`).
    seller_seen: std::sync::Mutex<Option<(std::time::Instant, Seller, SellerSource)>>,
}

/// How long a read of the seller's identity is used before it is read again.
const SELLER_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Clone)]
pub struct Invoicing(Arc<Inner>);

/// The stores invoicing works with.
pub struct InvoicingStores {
    pub docs: Arc<dyn DocumentStore>,
    pub orders: Arc<dyn OrderStore>,
    pub catalog: Arc<dyn CatalogStore>,
    pub kv: Arc<dyn KeyValueStore>,
    pub outbox: Arc<dyn OutboxStore>,
}

impl Invoicing {
    pub fn new(stores: InvoicingStores, renderer: Arc<dyn DocumentRenderer>, series: &str, seller: Option<Seller>) -> Self {
        Self(Arc::new(Inner {
            docs: stores.docs,
            orders: stores.orders,
            catalog: stores.catalog,
            kv: stores.kv,
            outbox: stores.outbox,
            renderer,
            series: series.to_string(),
            configured_seller: seller,
            gateway: None,
            registry: None,
            environment: "test".into(),
            env_refresh_token: None,
            token_hint: AtomicU64::new(0),
            token_lock: tokio::sync::Mutex::new(()),
            audit: None,
            seller_seen: std::sync::Mutex::new(None),
        }))
    }

    fn inner_mut(self, f: impl FnOnce(&mut Inner)) -> Self {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                f(&mut inner);
                Self(Arc::new(inner))
            }
            Err(shared) => Self(shared),
        }
    }

    /// Sends documents to e-Factura through `gateway` (`environment`: `test` or `prod`).
    pub fn with_efactura(self, gateway: Arc<dyn EfacturaGateway>, environment: &str, refresh_token: Option<String>) -> Self {
        let environment = environment.to_string();
        self.inner_mut(|i| {
            i.gateway = Some(gateway);
            i.environment = environment;
            i.env_refresh_token = refresh_token;
        })
    }

    /// Admins' changes are recorded in `audit`.
    pub fn with_audit(self, audit: crate::services::audit::AuditLog) -> Self {
        self.inner_mut(|i| i.audit = Some(audit))
    }

    async fn record<T: Serialize>(&self, actor: &Actor, action: &str, target: &str, summary: String, before: Option<&T>, after: Option<&T>) {
        if let Some(a) = &self.0.audit {
            a.record(actor, action, target, summary, before, after).await;
        }
    }

    /// Looks companies up in ANAF's register of VAT payers.
    pub fn with_registry(self, registry: Arc<dyn CompanyRegistry>) -> Self {
        self.inner_mut(|i| i.registry = Some(registry))
    }

    pub fn series(&self) -> &str {
        &self.0.series
    }

    // ------------------------------------------------------------ seller

    /// The seller's identity for showing (the shop's footer): read at most
    /// every few seconds. Documents are issued with [`Invoicing::seller`].
    pub async fn seller_shown(&self) -> Result<(Seller, SellerSource), InvoiceError> {
        if let Ok(seen) = self.0.seller_seen.lock() {
            if let Some((_, s, source)) = seen.as_ref().filter(|(at, _, _)| at.elapsed() < SELLER_FRESH) {
                return Ok((s.clone(), *source));
            }
        }
        let (s, source) = self.seller().await?;
        if let Ok(mut seen) = self.0.seller_seen.lock() {
            *seen = Some((std::time::Instant::now(), s.clone(), source));
        }
        Ok((s, source))
    }

    /// The identity invoices are issued with, and where it comes from (read from the store).
    pub async fn seller(&self) -> Result<(Seller, SellerSource), InvoiceError> {
        if let Some(bytes) = self.0.kv.kv_get(SETTINGS, SELLER_KEY).await? {
            if let Ok(s) = serde_json::from_slice::<Seller>(&bytes) {
                return Ok((s, SellerSource::Panel));
            }
        }
        Ok(match &self.0.configured_seller {
            Some(s) => (s.clone(), SellerSource::Config),
            None => (Seller::demo(), SellerSource::Demo),
        })
    }

    /// Sets the shop's identity (the panel's form; every field at once, checked).
    pub async fn save_seller(&self, actor: &Actor, seller: &Seller) -> Result<Seller, InvoiceError> {
        let s = seller.validate().map_err(InvoiceError::Fields)?;
        let (before, _) = self.seller().await?;
        let bytes = serde_json::to_vec(&s).unwrap_or_default();
        self.0.kv.kv_put(SETTINGS, SELLER_KEY, &bytes, None).await?;
        if let Ok(mut seen) = self.0.seller_seen.lock() {
            *seen = None;
        }
        self.record(actor, "seller.update", "seller", format!("seller identity: {} (CUI {})", s.name, s.cui), Some(&before), Some(&s)).await;
        Ok(s)
    }

    /// What ANAF's register says about a company (`Ok(None)`: unknown CUI).
    pub async fn lookup_company(&self, cui: &str) -> Result<Option<CompanyInfo>, InvoiceError> {
        let Some(cui) = parse_cui(cui) else { return Err(InvoiceError::Invalid(FieldError::coded("field-cui-invalid", "cui", &[]))) };
        let Some(registry) = &self.0.registry else { return Err(InvoiceError::NotConfigured("the ANAF register is not configured".into())) };
        registry.lookup(&cui).await.map_err(InvoiceError::Efactura)
    }

    // ------------------------------------------------------------ issuing

    /// Does the work a task entry names; idempotent.
    pub async fn run_task(&self, topic: &str, data: &Value) -> Result<String, InvoiceError> {
        let text = |k: &str| data[k].as_str().unwrap_or_default().to_string();
        match topic {
            tasks::INVOICE => Ok(match self.issue_invoice(&text("order_id")).await? {
                Some(d) => format!("invoice {}", d.full_number()),
                None => "no invoice due".into(),
            }),
            tasks::CREDIT_NOTE => Ok(match self.issue_credit_note(&text("order_id"), &text("refund_id")).await? {
                Some(d) => format!("credit note {}", d.full_number()),
                None => "no credit note due".into(),
            }),
            tasks::EFACTURA_UPLOAD => self.upload(&text("document_id")).await,
            tasks::EFACTURA_POLL => self.poll(&text("document_id")).await,
            other => Err(StoreError::Other(format!("unknown task {other}")).into()),
        }
    }

    /// Whether an order's invoice is due: its money is in, or it shipped cash on delivery.
    fn invoice_due(order: &Order) -> bool {
        match order.payment.method {
            PaymentMethod::Cod => order.history.iter().any(|h| h.status == OrderStatus::Shipped),
            _ => order.history.iter().any(|h| h.status == OrderStatus::Placed) && order.status != OrderStatus::Pending,
        }
    }

    /// Issues an order's invoice when it is due (once; the one issued before otherwise).
    pub async fn issue_invoice(&self, order_id: &str) -> Result<Option<Document>, InvoiceError> {
        if let Some(d) = self.0.docs.document_for(order_id, DocKind::Invoice, "invoice").await? {
            return self.finish(d).await.map(Some);
        }
        let Some(order) = self.0.orders.order_by_id(order_id).await? else { return Ok(None) };
        if !Self::invoice_due(&order) {
            return Ok(None);
        }
        let (seller, _) = self.seller().await?;
        let exemptions = self.exemptions(&order).await?;
        let doc = self.claim(|at| Document::invoice(&order, &seller, &|id| exemptions.iter().find(|(p, _)| p == id).map(|(_, r)| r.clone()), at)).await?;
        self.finish(doc).await.map(Some)
    }

    /// Issues the credit note of a refund that went through (once).
    pub async fn issue_credit_note(&self, order_id: &str, refund_id: &str) -> Result<Option<Document>, InvoiceError> {
        if let Some(d) = self.0.docs.document_for(order_id, DocKind::CreditNote, refund_id).await? {
            return self.finish(d).await.map(Some);
        }
        let Some(order) = self.0.orders.order_by_id(order_id).await? else { return Ok(None) };
        let Some(refund) = order.payment.refunds.iter().find(|r| r.id == refund_id && r.status == RefundStatus::Succeeded).cloned() else { return Ok(None) };
        // the money went back: the invoice it corrects exists first
        let invoice = match self.0.docs.document_for(order_id, DocKind::Invoice, "invoice").await? {
            Some(i) => i,
            None => {
                let (seller, _) = self.seller().await?;
                let exemptions = self.exemptions(&order).await?;
                let i = self.claim(|at| Document::invoice(&order, &seller, &|id| exemptions.iter().find(|(p, _)| p == id).map(|(_, r)| r.clone()), at)).await?;
                self.finish(i).await?
            }
        };
        // a return's refund credits the units returned, when it refunds exactly them
        let units = order.returns.iter().find(|r| r.refund_id.as_deref() == Some(refund_id)).map(|r| r.received_units());
        let doc = self
            .claim(|at| {
                let by_units = units.as_ref().map(|u| Document::credit_for_units(&order, &invoice, u, &refund.reason, at)).filter(|d| d.total_cents == refund.amount_cents);
                let mut d = by_units.unwrap_or_else(|| Document::credit_for_amount(&order, &invoice, refund.amount_cents, &refund.reason, at));
                d.reference = refund.id.clone();
                d
            })
            .await?;
        self.finish(doc).await.map(Some)
    }

    /// Reasons of exemption of an order's 0 % products.
    async fn exemptions(&self, order: &Order) -> Result<Vec<(String, String)>, InvoiceError> {
        let ids: Vec<String> = order.lines.iter().filter(|l| order.line_rate(l) == 0).map(|l| l.product_id.clone()).collect();
        if ids.is_empty() {
            return Ok(vec![]);
        }
        Ok(self.0.catalog.products_by_ids(&ids).await?.into_iter().filter_map(|p| p.vat_exemption.clone().map(|r| (p.id.clone(), r))).collect())
    }

    /// Stores a new document under the next free number of the series:
    /// another instance taking the same number first makes this one take the next.
    async fn claim(&self, build: impl Fn(DateTime<Utc>) -> Document) -> Result<Document, InvoiceError> {
        let series = &self.0.series;
        for _ in 0..200 {
            let number = self.0.docs.last_number(series).await? + 1;
            let mut doc = build(Utc::now());
            doc.series = series.clone();
            doc.number = number;
            doc.id = doc.full_number();
            match self.0.docs.claim_document(&doc).await? {
                Claimed::Stored => return Ok(doc),
                Claimed::Exists(d) => return Ok(d),
                Claimed::NumberTaken => continue,
            }
        }
        Err(StoreError::Unavailable("invoice numbers are taken too fast; the task tries again".into()).into())
    }

    /// Makes a stored document's files (once), then announces it and sends it to e-Factura.
    async fn finish(&self, doc: Document) -> Result<Document, InvoiceError> {
        if self.0.docs.document_file(&doc.id, DocFile::Xml).await?.is_none() {
            let xml = ubl(&doc);
            let pdf = self.0.renderer.pdf(&doc).map_err(InvoiceError::Render)?;
            if self.0.docs.put_files(&doc.id, &xml, &pdf).await? {
                tracing::info!(document = %doc.id, order = %doc.order_id, kind = doc.kind.as_str(), "document issued");
            }
        }
        self.0.outbox.enqueue(&self.follow_ups(&doc).await?).await?;
        Ok(doc)
    }

    /// The mail (and webhook) announcing a document, and its upload.
    async fn follow_ups(&self, doc: &Document) -> Result<Vec<OutboxEntry>, InvoiceError> {
        let mut out = vec![upload_task(doc)];
        if let Some(order) = self.0.orders.order_by_id(&doc.order_id).await? {
            let mut data = serde_json::to_value(&order).unwrap_or_default();
            if let Some(m) = data.as_object_mut() {
                m.insert("document".into(), json!({"id": doc.id, "kind": doc.kind.as_str(), "number": doc.full_number(), "issued_at": doc.issued_at, "total_cents": doc.total_cents}));
            }
            out.push(OutboxEntry::event(&Event::new(format!("evt_{}.document.issued.{}", doc.order_id, doc.id), "document.issued", doc.issued_at, data)));
        }
        Ok(out)
    }

    // ------------------------------------------------------------ reading

    pub async fn document(&self, id: &str) -> Result<Document, InvoiceError> {
        self.0.docs.document(id).await?.ok_or(InvoiceError::NotFound)
    }

    pub async fn file(&self, id: &str, file: DocFile) -> Result<Vec<u8>, InvoiceError> {
        self.0.docs.document_file(id, file).await?.ok_or(InvoiceError::NotFound)
    }

    /// An order's documents, oldest first.
    pub async fn of_order(&self, order_id: &str) -> Result<Vec<Document>, InvoiceError> {
        let (mut docs, _) = self.0.docs.documents(&DocumentFilter { order_id: Some(order_id.to_string()), ..Default::default() }, 0, 100).await?;
        docs.reverse();
        Ok(docs)
    }

    /// The panel's list, newest first.
    pub async fn list(&self, filter: &DocumentFilter, page: u64, per_page: u64) -> Result<(Vec<Document>, u64), InvoiceError> {
        let (offset, limit) = crate::domain::query::page_window(page, per_page);
        Ok(self.0.docs.documents(filter, offset, limit).await?)
    }

    // ------------------------------------------------------------ e-Factura

    /// Not accepted yet: waiting, processing or refused.
    pub fn not_accepted() -> Vec<EfacturaState> {
        vec![EfacturaState::Waiting, EfacturaState::Processing, EfacturaState::Rejected]
    }

    /// What the panel shows: configuration, the token's expiry, late documents.
    pub async fn efactura_status(&self) -> Result<EfacturaStatus, InvoiceError> {
        let head = self.token_head().await?;
        let token_error = self.0.kv.kv_get(EFACTURA, "token_error").await?.map(|b| String::from_utf8_lossy(&b).to_string());
        let refresh_expires_at = head.as_ref().map(|(_, t)| t.refresh_expires_at);
        let now = Utc::now();
        let late_filter = DocumentFilter { efactura: Self::not_accepted(), issued_before: Some(working_days_before(now, LATE_WORKING_DAYS)), ..Default::default() };
        let (_, late) = self.0.docs.documents(&late_filter, 0, 0).await?;
        let (_, not_accepted) = self.0.docs.documents(&DocumentFilter { efactura: Self::not_accepted(), ..Default::default() }, 0, 0).await?;
        Ok(EfacturaStatus {
            client: self.0.gateway.is_some(),
            token: head.is_some(),
            environment: self.0.environment.clone(),
            token_warning: token_error.is_some() || refresh_expires_at.is_some_and(|e| e - now < chrono::Duration::days(TOKEN_WARNING_DAYS)),
            refresh_expires_at,
            token_error,
            late,
            not_accepted,
        })
    }

    /// The newest token generation, seeding it from the environment's token when that one is new.
    async fn token_head(&self) -> Result<Option<(u64, TokenRecord)>, InvoiceError> {
        let mut g = self.0.token_hint.load(Ordering::Relaxed);
        let mut head = None;
        // the hint is never ahead of the store; walk forward to the last generation
        if g > 0 {
            match self.token_at(g).await? {
                Some(t) => head = Some((g, t)),
                None => g = 0,
            }
        }
        loop {
            match self.token_at(g + 1).await? {
                Some(t) => {
                    g += 1;
                    head = Some((g, t));
                }
                None => break,
            }
        }
        self.0.token_hint.store(g, Ordering::Relaxed);
        if let Some(seed) = &self.0.env_refresh_token {
            if head.as_ref().is_none_or(|(_, t)| t.seed != *seed && t.refresh_token != *seed) && !self.seen_seed(seed).await? {
                let record = TokenRecord { refresh_token: seed.clone(), access_token: String::new(), access_expires_at: Utc::now(), refresh_expires_at: Utc::now() + chrono::Duration::days(365), seed: seed.clone(), at: Utc::now() };
                self.0.kv.kv_put_if_absent(EFACTURA, &format!("seed.{}", fingerprint(seed)), b"1").await?;
                return self.push_token(g, record).await.map(Some);
            }
        }
        Ok(head)
    }

    /// Whether the environment's token was taken in before (it may be used up since).
    async fn seen_seed(&self, seed: &str) -> Result<bool, InvoiceError> {
        Ok(self.0.kv.kv_get(EFACTURA, &format!("seed.{}", fingerprint(seed))).await?.is_some())
    }

    async fn token_at(&self, g: u64) -> Result<Option<TokenRecord>, InvoiceError> {
        Ok(self.0.kv.kv_get(EFACTURA, &format!("token.{g}")).await?.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Writes the generation after `g`: the first writer wins, and the winner is returned.
    async fn push_token(&self, g: u64, record: TokenRecord) -> Result<(u64, TokenRecord), InvoiceError> {
        let bytes = serde_json::to_vec(&record).unwrap_or_default();
        let stored = self.0.kv.kv_put_if_absent(EFACTURA, &format!("token.{}", g + 1), &bytes).await?;
        let winner: TokenRecord = serde_json::from_slice(&stored).unwrap_or(record);
        self.0.token_hint.fetch_max(g + 1, Ordering::Relaxed);
        Ok((g + 1, winner))
    }

    /// The merchant pasted a refresh token (from ANAF's portal, with their
    /// certificate): it is tried at once and becomes the newest generation.
    pub async fn set_refresh_token(&self, actor: &Actor, token: &str) -> Result<DateTime<Utc>, InvoiceError> {
        let token = token.trim();
        if token.is_empty() || token.len() > 4096 {
            return Err(InvoiceError::Invalid(FieldError::coded("field-efactura-token", "refresh_token", &[])));
        }
        let Some(gateway) = &self.0.gateway else { return Err(InvoiceError::NotConfigured("e-Factura has no OAuth client: set VITRINA_EFACTURA_CLIENT_ID and VITRINA_EFACTURA_CLIENT_SECRET".into())) };
        let grant = gateway.refresh(token).await.map_err(|e| match e {
            EfacturaError::TokenRefused(m) => InvoiceError::Invalid(FieldError::coded("field-efactura-token-refused", "refresh_token", &[("reason", &m)])),
            other => InvoiceError::Efactura(other.to_string()),
        })?;
        let g = self.token_head().await?.map(|(g, _)| g).unwrap_or(0);
        let record = TokenRecord { refresh_token: grant.refresh_token, access_token: grant.access_token, access_expires_at: grant.access_expires_at, refresh_expires_at: grant.refresh_expires_at, seed: token.to_string(), at: Utc::now() };
        let mut at = g;
        // another writer may take the same generation: ours goes after it
        loop {
            let (n, winner) = self.push_token(at, record.clone()).await?;
            if winner.seed == record.seed && winner.refresh_token == record.refresh_token {
                let _ = self.0.kv.kv_delete(EFACTURA, "token_error").await;
                self.record(actor, "efactura.token", "efactura", format!("e-Factura token set, valid until {}", winner.refresh_expires_at.format("%Y-%m-%d")), None::<&()>, None::<&()>).await;
                // what waited for a token goes out now
                if let Err(e) = self.sweep().await {
                    tracing::warn!(error = %e, "documents waiting for e-Factura not queued yet; the sweep retries");
                }
                return Ok(winner.refresh_expires_at);
            }
            at = n;
        }
    }

    /// An access token, rotating the refresh token when the access token ran
    /// out. Instances race safely: the first to store a generation wins, the
    /// others use it.
    async fn access_token(&self) -> Result<String, InvoiceError> {
        let Some(gateway) = &self.0.gateway else { return Err(InvoiceError::Efactura("e-Factura is not configured".into())) };
        let _one_at_a_time_here = self.0.token_lock.lock().await;
        for _ in 0..3 {
            let Some((g, head)) = self.token_head().await? else { return Err(InvoiceError::Efactura("e-Factura has no token: paste one in the panel (Invoices → e-Factura)".into())) };
            if !head.access_token.is_empty() && head.access_expires_at - Utc::now() > chrono::Duration::minutes(5) {
                return Ok(head.access_token);
            }
            match gateway.refresh(&head.refresh_token).await {
                Ok(grant) => {
                    let record = TokenRecord { refresh_token: grant.refresh_token, access_token: grant.access_token, access_expires_at: grant.access_expires_at, refresh_expires_at: grant.refresh_expires_at, seed: head.seed.clone(), at: Utc::now() };
                    let (_, winner) = self.push_token(g, record).await?;
                    let _ = self.0.kv.kv_delete(EFACTURA, "token_error").await;
                    return Ok(winner.access_token);
                }
                Err(EfacturaError::TokenRefused(m)) => {
                    // another instance may have rotated it meanwhile: read again
                    if self.token_head().await?.map(|(n, _)| n) != Some(g) {
                        continue;
                    }
                    let _ = self.0.kv.kv_put(EFACTURA, "token_error", m.as_bytes(), None).await;
                    return Err(InvoiceError::Efactura(format!("ANAF refused the refresh token ({m}): paste a new one in the panel")));
                }
                Err(e) => return Err(InvoiceError::Efactura(e.to_string())),
            }
        }
        Err(InvoiceError::Efactura("the e-Factura token keeps changing; trying again".into()))
    }

    /// Uploads a waiting document. Not configured: it waits (the sweep sends it once configured).
    async fn upload(&self, id: &str) -> Result<String, InvoiceError> {
        let Some(doc) = self.0.docs.document(id).await? else { return Ok("no such document".into()) };
        if doc.efactura.state != EfacturaState::Waiting {
            return Ok(format!("already {}", doc.efactura.state.as_str()));
        }
        let status = self.efactura_status().await?;
        if !status.configured() {
            return Ok("e-Factura is not configured: the document waits".into());
        }
        let Some(gateway) = &self.0.gateway else { return Ok("e-Factura is not configured".into()) };
        let xml = self.0.docs.document_file(id, DocFile::Xml).await?.ok_or(InvoiceError::NotFound)?;
        let xml = String::from_utf8_lossy(&xml).to_string();
        let access = self.access_token().await?;
        let now = Utc::now();
        match gateway.upload(&access, &xml, doc.kind == DocKind::CreditNote, &doc.seller.cui, !doc.buyer.company).await {
            Ok(upload_id) => {
                let e = Efactura { state: EfacturaState::Processing, upload_id: Some(upload_id.clone()), download_id: None, errors: vec![], updated_at: Some(now) };
                if self.0.docs.update_efactura(id, EfacturaState::Waiting, &e, None).await? {
                    self.0.outbox.enqueue(&[poll_task(&doc, &upload_id)]).await?;
                }
                Ok(format!("uploaded to e-Factura as {upload_id}"))
            }
            Err(EfacturaError::Refused(m)) => {
                let e = Efactura { state: EfacturaState::Rejected, errors: vec![m.clone()], updated_at: Some(now), ..Default::default() };
                self.0.docs.update_efactura(id, EfacturaState::Waiting, &e, None).await?;
                Ok(format!("e-Factura refused the upload: {m}"))
            }
            Err(e) => Err(InvoiceError::Efactura(e.to_string())),
        }
    }

    /// Asks ANAF how an uploaded document fares; still processing is an
    /// error, so the outbox asks again later (with backoff).
    async fn poll(&self, id: &str) -> Result<String, InvoiceError> {
        let Some(doc) = self.0.docs.document(id).await? else { return Ok("no such document".into()) };
        let (EfacturaState::Processing, Some(upload_id)) = (doc.efactura.state, doc.efactura.upload_id.clone()) else { return Ok(format!("already {}", doc.efactura.state.as_str())) };
        let Some(gateway) = &self.0.gateway else { return Err(InvoiceError::Efactura("e-Factura is not configured".into())) };
        let access = self.access_token().await?;
        let now = Utc::now();
        let (state, download_id, mut errors) = match gateway.status(&access, &upload_id).await.map_err(|e| InvoiceError::Efactura(e.to_string()))? {
            MessageState::Processing => return Err(InvoiceError::Efactura(format!("ANAF is still processing upload {upload_id}"))),
            MessageState::Accepted { download_id } => (EfacturaState::Accepted, download_id, vec![]),
            MessageState::Refused { download_id } => (EfacturaState::Rejected, download_id, vec![]),
            MessageState::Failed(m) => (EfacturaState::Rejected, String::new(), vec![m]),
        };
        let answer = if download_id.is_empty() { None } else { Some(gateway.download(&access, &download_id).await.map_err(|e| InvoiceError::Efactura(e.to_string()))?) };
        if state == EfacturaState::Rejected {
            if let Some(zip) = &answer {
                errors.extend(gateway.answer_errors(zip));
            }
            if errors.is_empty() {
                errors.push("ANAF refused the document without saying why".into());
            }
        }
        let e = Efactura { state, upload_id: Some(upload_id), download_id: Some(download_id).filter(|d| !d.is_empty()), errors, updated_at: Some(now) };
        self.0.docs.update_efactura(id, EfacturaState::Processing, &e, answer.as_deref()).await?;
        Ok(format!("e-Factura: {}", state.as_str()))
    }

    /// A refused document made again (the seller's identity and the order's
    /// billing as they are now) under its own number, and sent again.
    pub async fn regenerate(&self, actor: &Actor, id: &str) -> Result<Document, InvoiceError> {
        let old = self.document(id).await?;
        if old.efactura.state != EfacturaState::Rejected {
            return Err(InvoiceError::Invalid(FieldError::coded("field-document-not-refused", "document", &[])));
        }
        let order = self.0.orders.order_by_id(&old.order_id).await?.ok_or(InvoiceError::NotFound)?;
        let (seller, _) = self.seller().await?;
        let mut doc = match old.kind {
            DocKind::Invoice => {
                let exemptions = self.exemptions(&order).await?;
                Document::invoice(&order, &seller, &|pid| exemptions.iter().find(|(p, _)| p == pid).map(|(_, r)| r.clone()), Utc::now())
            }
            DocKind::CreditNote => {
                let mut d = old.clone();
                d.seller = seller;
                d.buyer = crate::domain::invoice::Party::buyer(&order);
                d
            }
        };
        doc.id = old.id.clone();
        doc.series = old.series.clone();
        doc.number = old.number;
        doc.reference = old.reference.clone();
        doc.issued_at = old.issued_at;
        doc.invoice = old.invoice.clone();
        doc.reason = old.reason.clone();
        doc.version = old.version + 1;
        doc.efactura = Efactura { updated_at: Some(Utc::now()), ..Default::default() };
        let xml = ubl(&doc);
        let pdf = self.0.renderer.pdf(&doc).map_err(InvoiceError::Render)?;
        if !self.0.docs.replace_refused(&doc, &xml, &pdf).await? {
            return Err(InvoiceError::Invalid(FieldError::coded("field-document-not-refused", "document", &[])));
        }
        self.0.outbox.enqueue(&[upload_task(&doc)]).await?;
        self.record(actor, "document.regenerate", id, format!("{} made again (version {}) and sent again", doc.full_number(), doc.version), Some(&old), Some(&doc)).await;
        Ok(doc)
    }

    /// Sends what waits (e-Factura just configured, or a task that gave up)
    /// and asks again about what ANAF has not answered. Safe to run on every
    /// instance: tasks have one id per document version and upload.
    pub async fn sweep(&self) -> Result<usize, InvoiceError> {
        if !self.efactura_status().await?.configured() {
            return Ok(0);
        }
        let filter = DocumentFilter { efactura: vec![EfacturaState::Waiting, EfacturaState::Processing], issued_before: Some(Utc::now() - chrono::Duration::minutes(1)), ..Default::default() };
        let (docs, _) = self.0.docs.documents(&filter, 0, 500).await?;
        let mut n = 0;
        for doc in docs {
            let task = match (&doc.efactura.state, &doc.efactura.upload_id) {
                (EfacturaState::Processing, Some(u)) => poll_task(&doc, u),
                _ => upload_task(&doc),
            };
            match self.0.outbox.entry(&task.id).await? {
                None => self.0.outbox.enqueue(std::slice::from_ref(&task)).await?,
                Some(mut e) if e.status != crate::domain::outbox::EntryStatus::Pending => {
                    e.requeue(Utc::now());
                    self.0.outbox.put_entry(&e).await?;
                }
                Some(_) => continue,
            }
            n += 1;
        }
        Ok(n)
    }
}

/// A token's fingerprint: the store never keeps the environment's token itself.
fn fingerprint(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn upload_task(doc: &Document) -> OutboxEntry {
    OutboxEntry::task(format!("task_{}.{}.v{}", doc.id, tasks::EFACTURA_UPLOAD, doc.version), tasks::EFACTURA_UPLOAD, json!({"document_id": doc.id}), Utc::now())
}

fn poll_task(doc: &Document, upload_id: &str) -> OutboxEntry {
    OutboxEntry::task(format!("task_{}.{}.{upload_id}", doc.id, tasks::EFACTURA_POLL), tasks::EFACTURA_POLL, json!({"document_id": doc.id}), Utc::now())
}

/// The moment `days` working days (Monday to Friday) before `now`.
pub fn working_days_before(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let mut t = now;
    let mut left = days;
    while left > 0 {
        t -= chrono::Duration::days(1);
        if t.weekday().num_days_from_monday() < 5 {
            left -= 1;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn working_days_skip_the_weekend() {
        // Tuesday 8 Dec 2026, 10:00: three working days before is Thursday 3 Dec
        let tue = Utc.with_ymd_and_hms(2026, 12, 8, 10, 0, 0).unwrap();
        assert_eq!(working_days_before(tue, 3), Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap());
        // Monday 7 Dec: Wednesday 2 Dec
        let mon = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
        assert_eq!(working_days_before(mon, 3), Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap());
    }
}
