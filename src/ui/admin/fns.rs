//! Server functions of the admin panel. Every one starts with the same guard
//! (`require(Access::ADMIN)`) and calls the same services as the admin API.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::audit::AuditEntry;
use crate::domain::dashboard::Dashboard;
use crate::domain::order::Order;
use crate::domain::product::{Image, Product, ProductInput};
use crate::domain::query::SearchResult;
use crate::domain::user::{FieldError, UserView};
#[cfg(feature = "ssr")]
use crate::ui::fns::PageError;
use crate::ui::fns::PageResult;

#[cfg(feature = "ssr")]
async fn admin() -> Result<(crate::state::AppState, crate::services::audit::Actor), PageError> {
    let p = crate::ui::fns::require(crate::domain::user::Access::ADMIN).await?;
    let app = use_context::<crate::state::AppState>().ok_or(PageError::Unavailable)?;
    Ok((app, (&p.user).into()))
}

#[cfg(feature = "ssr")]
fn from_problem(p: crate::edge::problem::Problem) -> PageError {
    match p.errors.first() {
        Some(e) => PageError::Invalid { param: e.field.clone(), message: e.message.clone() },
        None => PageError::Invalid { param: "query".into(), message: p.detail },
    }
}

#[cfg(feature = "ssr")]
macro_rules! guard {
    () => {
        match admin().await {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        }
    };
}

/// Only the guard: for pages that load nothing before showing a form.
#[server]
pub async fn admin_check() -> Result<PageResult<()>, ServerFnError> {
    let _ = guard!();
    Ok(Ok(()))
}

/// The dashboard's figures and what the law still asks of the shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminHome {
    pub dashboard: Dashboard,
    pub compliance: Compliance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    pub efactura: crate::domain::invoice::EfacturaStatus,
    /// Invoices would go out with the demo identity.
    pub seller_demo: bool,
    pub returns_open: u64,
    /// Open returns whose refund is due within 3 days (or overdue).
    pub returns_due_soon: u64,
}

#[server]
pub async fn admin_dashboard() -> Result<PageResult<AdminHome>, ServerFnError> {
    let (app, _) = guard!();
    let now = chrono::Utc::now();
    let dashboard = match app.desk.dashboard(now).await {
        Ok(d) => d,
        Err(e) => return Ok(Err(e.into())),
    };
    let compliance = async {
        let efactura = app.invoicing.efactura_status().await?;
        let (_, source) = app.invoicing.seller().await?;
        let open = app.orders.open_returns(500).await.map_err(|e| crate::services::invoices::InvoiceError::Efactura(e.to_string()))?;
        let soon = open.iter().filter(|(_, r)| r.refund_due - now < chrono::Duration::days(3)).count() as u64;
        Ok::<_, crate::services::invoices::InvoiceError>(Compliance { efactura, seller_demo: source == crate::domain::invoice::SellerSource::Demo, returns_open: open.len() as u64, returns_due_soon: soon })
    };
    Ok(compliance.await.map(|compliance| AdminHome { dashboard, compliance }).map_err(PageError::from))
}

/// One page of the product list: `q`, `category`, `status`, `page` as in the admin API.
#[server]
pub async fn admin_products(query: String) -> Result<PageResult<SearchResult>, ServerFnError> {
    let (app, _) = guard!();
    let (mut q, statuses) = match crate::domain::query::CatalogQuery::admin_listing(&query) {
        Ok(x) => x,
        Err(e) => return Ok(Err(e.into())),
    };
    q.per_page = 25;
    Ok(app.admin.list(q, statuses).await.map_err(PageError::from))
}

#[server]
pub async fn admin_product(id: String) -> Result<PageResult<Product>, ServerFnError> {
    let (app, _) = guard!();
    Ok(app.admin.get(&id).await.map_err(PageError::from))
}

/// A product's recommendation settings as the panel edits them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminRecs {
    /// Pinned complements as slugs, separated by commas.
    pub pinned: String,
    pub excluded: bool,
    /// What the recommendation job computed from orders (before pins and rules).
    pub computed: Vec<crate::domain::product::ProductSummary>,
}

#[server]
pub async fn admin_product_recs(id: String) -> Result<PageResult<AdminRecs>, ServerFnError> {
    let (app, _) = guard!();
    let settings = match app.recommend.settings(&id).await {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.into())),
    };
    let computed = app.recommend.computed(&id).await.unwrap_or_default();
    Ok(Ok(AdminRecs { pinned: app.recommend.slugs_of(&settings.pinned).join(", "), excluded: settings.excluded, computed }))
}

/// What saving a product did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SaveOutcome {
    Saved(Product),
    /// Nothing was saved; each error names its field (`name`, `variants.2.sku`, …).
    Refused(Vec<FieldError>),
}

#[cfg(feature = "ssr")]
fn outcome(r: Result<Product, crate::services::admin::AdminError>) -> PageResult<SaveOutcome> {
    use crate::services::error::{Failure, Kind};
    let f = match r {
        Ok(p) => return Ok(SaveOutcome::Saved(p)),
        Err(e) => Failure::from(e),
    };
    let loc = crate::ui::current_locale();
    match f.kind {
        // refused input and clashes (a slug or SKU taken, stock moved) go next to their fields
        Kind::Invalid | Kind::Conflict if !f.fields.is_empty() => Ok(SaveOutcome::Refused(f.localized_fields(loc))),
        Kind::Conflict => Ok(SaveOutcome::Refused(vec![FieldError::new("variants", f.message(loc))])),
        _ => Err(f.into()),
    }
}

/// Creates (`id` empty) or replaces a product. JSON, not form encoding:
/// attribute values are typed (a yes/no must stay a boolean).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn admin_save_product(id: String, input: ProductInput) -> Result<PageResult<SaveOutcome>, ServerFnError> {
    let (app, actor) = guard!();
    let r = if id.is_empty() { app.admin.create(&actor, input).await } else { app.admin.update(&actor, &id, input).await };
    Ok(outcome(r))
}

/// Deletes a product, or archives it when it was ever ordered: returns `deleted` or `archived`.
#[server]
pub async fn admin_delete_product(id: String) -> Result<PageResult<String>, ServerFnError> {
    let (app, actor) = guard!();
    Ok(app.admin.remove(&actor, &id).await.map(|r| format!("{r:?}").to_lowercase()).map_err(PageError::from))
}

/// Saves the order and alt texts of a product's images (dropping those left out).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn admin_set_images(id: String, images: Vec<Image>) -> Result<PageResult<SaveOutcome>, ServerFnError> {
    let (app, actor) = guard!();
    Ok(outcome(app.admin.set_images(&actor, &id, images).await))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminOrderRow {
    pub order: Order,
    pub customer_email: String,
    /// The customer ordered without an account.
    pub guest: bool,
    /// Its invoice and credit notes (the detail page only).
    #[serde(default)]
    pub documents: Vec<crate::domain::invoice::Document>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminOrderList {
    pub items: Vec<AdminOrderRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

#[cfg(feature = "ssr")]
async fn rows(app: &crate::state::AppState, orders: Vec<Order>) -> Result<Vec<AdminOrderRow>, PageError> {
    Ok(app.desk.with_customers(orders).await.map_err(PageError::from)?.into_iter().map(|(order, customer_email, guest)| AdminOrderRow { order, customer_email, guest, documents: vec![] }).collect())
}

/// Orders filtered by `status`, `from`, `to` (days) and `email`, with `page`.
#[server]
pub async fn admin_orders(query: String) -> Result<PageResult<AdminOrderList>, ServerFnError> {
    use crate::edge::params::AdminOrderParams;
    let (app, _) = guard!();
    let params: AdminOrderParams = match serde_urlencoded::from_str(&query) {
        Ok(p) => p,
        Err(e) => return Ok(Err(PageError::Invalid { param: "query".into(), message: e.to_string() })),
    };
    let page = params.page.unwrap_or(1).max(1);
    let per_page = 25;
    let filter = match crate::edge::params::admin_order_filter(&app, &params).await {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(Ok(AdminOrderList { items: vec![], total: 0, page, per_page })),
        Err(p) => return Ok(Err(from_problem(p))),
    };
    let (orders, total) = match app.orders.search(&filter, page, per_page).await {
        Ok(x) => x,
        Err(e) => return Ok(Err(e.into())),
    };
    Ok(rows(&app, orders).await.map(|items| AdminOrderList { items, total, page, per_page }))
}

#[server]
pub async fn admin_order(id: String) -> Result<PageResult<AdminOrderRow>, ServerFnError> {
    let (app, _) = guard!();
    match app.desk.order(&id).await {
        Ok(Some(o)) => {
            let documents = match app.invoicing.of_order(&o.id).await {
                Ok(d) => d,
                Err(e) => return Ok(Err(e.into())),
            };
            Ok(rows(&app, vec![o]).await.map(|mut r| {
                let mut row = r.remove(0);
                row.documents = documents;
                row
            }))
        }
        Ok(None) => Ok(Err(PageError::NotFound)),
        Err(e) => Ok(Err(e.into())),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUserRow {
    pub user: UserView,
    pub disabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminUserList {
    pub items: Vec<AdminUserRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

#[server]
pub async fn admin_users(q: String, page: u64) -> Result<PageResult<AdminUserList>, ServerFnError> {
    let (app, _) = guard!();
    let (offset, per_page) = crate::domain::query::page_window(page, 25);
    let page = offset / per_page + 1;
    match app.desk.search_users(Some(&q), page, per_page).await {
        Ok((users, total)) => Ok(Ok(AdminUserList { items: users.iter().map(|u| AdminUserRow { user: u.view(), disabled: u.disabled, created_at: u.created_at }).collect(), total, page, per_page })),
        Err(e) => Ok(Err(e.into())),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// Audit entries filtered by `actor`, `action`, `target`, `from`, `to`, with `page`.
#[server]
pub async fn admin_audit(query: String) -> Result<PageResult<AuditList>, ServerFnError> {
    use crate::edge::params::AuditParams;
    let (app, _) = guard!();
    let params: AuditParams = match serde_urlencoded::from_str(&query) {
        Ok(p) => p,
        Err(e) => return Ok(Err(PageError::Invalid { param: "query".into(), message: e.to_string() })),
    };
    let filter = match params.filter() {
        Ok(f) => f,
        Err(p) => return Ok(Err(from_problem(p))),
    };
    let page = params.page.unwrap_or(1).max(1);
    let per_page = 30;
    Ok(app.audit.list(&filter, page, per_page).await.map(|(items, total)| AuditList { items, total, page, per_page }).map_err(PageError::from))
}

// ------------------------------------------------------------------ outbox and webhooks

use crate::domain::outbox::{Endpoint, OutboxEntry, StoredMail};

/// The Outbox page: one tab of entries, or the embedded mode's mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxView {
    /// `pending`, `sent`, `dead` or `mailbox`.
    pub tab: String,
    pub counts: std::collections::BTreeMap<String, u64>,
    pub items: Vec<OutboxEntry>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    /// `None` when mail goes out over SMTP (no mailbox to show).
    pub mailbox: Option<Vec<StoredMail>>,
    /// Webhook endpoints' URLs by id (what a delivery's "to" shows).
    pub endpoints: std::collections::BTreeMap<String, String>,
}

/// `tab` (pending, sent, dead, mailbox), `kind`, `page`.
#[server]
pub async fn admin_outbox(query: String) -> Result<PageResult<OutboxView>, ServerFnError> {
    let (app, _) = guard!();
    let q: std::collections::HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let tab = q.get("tab").cloned().filter(|t| ["pending", "sent", "dead", "mailbox"].contains(&t.as_str())).unwrap_or_else(|| "pending".into());
    let page = q.get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).clamp(1, 10_000);
    let kind = q.get("kind").and_then(|k| crate::domain::outbox::EntryKind::parse(k));
    let counts = match app.notify.counts().await {
        Ok(c) => c,
        Err(e) => return Ok(Err(PageError::from(e))),
    };
    let mailbox = app.notify.mailbox(100).await;
    let endpoints = match app.notify.endpoints().await {
        Ok(all) => all.into_iter().map(|e| (e.id, e.url)).collect(),
        Err(e) => return Ok(Err(PageError::from(e))),
    };
    if tab == "mailbox" {
        return Ok(Ok(OutboxView { tab, counts, items: vec![], total: 0, page: 1, per_page: 50, mailbox, endpoints }));
    }
    let filter = crate::ports::OutboxFilter { status: crate::domain::outbox::EntryStatus::parse(&tab), kind, target: None };
    Ok(app.notify.entries(&filter, page, 50).await.map(|p| OutboxView { tab, counts, items: p.items, total: p.total, page: p.page, per_page: p.per_page, mailbox, endpoints }).map_err(PageError::from))
}

/// The Webhooks page: every endpoint; the chosen one's deliveries; a secret just made (shown once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub endpoints: Vec<Endpoint>,
    pub selected: Option<Endpoint>,
    pub deliveries: Vec<OutboxEntry>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    /// `(endpoint id, secret)` right after creation or rotation, once.
    pub new_secret: Option<(String, String)>,
}

#[server]
pub async fn admin_webhooks(query: String) -> Result<PageResult<WebhooksView>, ServerFnError> {
    let (app, _) = guard!();
    let q: std::collections::HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let endpoints = match app.notify.endpoints().await {
        Ok(e) => e,
        Err(e) => return Ok(Err(PageError::from(e))),
    };
    // the secret a form post just made: read once, then gone from the session
    let session = leptos_axum::extract::<tower_sessions::Session>().await.map_err(|e| ServerFnError::new(e.to_string()))?;
    let new_secret: Option<(String, String)> = session.remove(crate::edge::session::NEW_WEBHOOK_SECRET).await.ok().flatten();
    let selected = q.get("id").and_then(|id| endpoints.iter().find(|e| &e.id == id).cloned());
    let page = q.get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).clamp(1, 10_000);
    let (deliveries, total, per_page) = match &selected {
        Some(ep) => {
            let f = crate::ports::OutboxFilter { kind: Some(crate::domain::outbox::EntryKind::Webhook), target: Some(ep.id.clone()), status: None };
            match app.notify.entries(&f, page, 25).await {
                Ok(p) => (p.items, p.total, p.per_page),
                Err(e) => return Ok(Err(PageError::from(e))),
            }
        }
        None => (vec![], 0, 25),
    };
    Ok(Ok(WebhooksView { endpoints, selected, deliveries, total, page, per_page, new_secret }))
}

// ------------------------------------------------------------------ promotions

/// The Promotions page: every promotion with its uses and revenue; the one being edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionsView {
    pub items: Vec<crate::domain::promotion::PromotionReport>,
    /// `?id=…`: the promotion the form edits.
    pub editing: Option<crate::domain::promotion::Promotion>,
    pub now: chrono::DateTime<chrono::Utc>,
}

#[server]
pub async fn admin_promotions(query: String) -> Result<PageResult<PromotionsView>, ServerFnError> {
    let (app, _) = guard!();
    let q: std::collections::HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let items = match app.promotions.reports().await {
        Ok(i) => i,
        Err(e) => return Ok(Err(PageError::from(e))),
    };
    let editing = q.get("id").and_then(|id| items.iter().find(|r| &r.promotion.id == id).map(|r| r.promotion.clone()));
    Ok(Ok(PromotionsView { items, editing, now: chrono::Utc::now() }))
}

/// The panel's documents page: one page of documents and where e-Factura stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentsData {
    pub items: Vec<crate::domain::invoice::Document>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub efactura: crate::domain::invoice::EfacturaStatus,
}

/// Documents filtered by `efactura` (`not_accepted` or a state), with `page`.
#[server]
pub async fn admin_documents(query: String) -> Result<PageResult<DocumentsData>, ServerFnError> {
    let (app, _) = guard!();
    let q: std::collections::HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let efactura = match crate::edge::documents::efactura_filter(q.get("efactura").map(String::as_str)) {
        Ok(f) => f,
        Err(e) => return Ok(Err(PageError::Invalid { param: e.field, message: e.message })),
    };
    let page = q.get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).max(1);
    let per_page = 25;
    let filter = crate::ports::DocumentFilter { efactura, ..Default::default() };
    let (items, total) = match app.invoicing.list(&filter, page, per_page).await {
        Ok(x) => x,
        Err(e) => return Ok(Err(e.into())),
    };
    let efactura = match app.invoicing.efactura_status().await {
        Ok(s) => s,
        Err(e) => return Ok(Err(e.into())),
    };
    Ok(Ok(DocumentsData { items, total, page, per_page, efactura }))
}

/// The invoicing settings page: the seller's identity, the series, e-Factura.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoicingData {
    pub seller: crate::domain::billing::Seller,
    pub source: crate::domain::invoice::SellerSource,
    pub series: String,
    pub efactura: crate::domain::invoice::EfacturaStatus,
}

#[server]
pub async fn admin_invoicing() -> Result<PageResult<InvoicingData>, ServerFnError> {
    let (app, _) = guard!();
    let loaded = async {
        let (seller, source) = app.invoicing.seller().await?;
        let efactura = app.invoicing.efactura_status().await?;
        Ok::<_, crate::services::invoices::InvoiceError>(InvoicingData { seller, source, series: app.invoicing.series().to_string(), efactura })
    };
    Ok(loaded.await.map_err(PageError::from))
}

/// A return waiting for the shop, with its order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminReturnRow {
    pub order_id: String,
    pub order_number: String,
    pub payment_method: String,
    pub ret: crate::domain::returns::Return,
}

#[server]
pub async fn admin_returns() -> Result<PageResult<Vec<AdminReturnRow>>, ServerFnError> {
    let (app, _) = guard!();
    Ok(app
        .orders
        .open_returns(200)
        .await
        .map(|open| open.into_iter().map(|(o, r)| AdminReturnRow { order_id: o.id, order_number: o.number, payment_method: o.payment.method.as_str().to_string(), ret: r }).collect())
        .map_err(PageError::from))
}
