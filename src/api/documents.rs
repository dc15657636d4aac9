//! Invoices and credit notes (list, PDF, XML), returns, the seller's
//! identity and e-Factura, for shoppers, partners and admins.
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{Caller, CurrentUser, JsonBody};
use super::problem::Problem;
use crate::domain::billing::{CompanyInfo, Seller};
use crate::domain::order::Order;
use crate::domain::returns::{ReceivedLine, ReturnRequest};
use crate::domain::user::{Role, User};
use crate::ports::{DocFile, DocumentFilter};
use crate::services::admin::ReturnStep;
use crate::services::invoices::{EfacturaStatus, SellerSource};
use crate::state::AppState;
pub use crate::edge::documents::{efactura_filter, DocumentView, EfacturaView};

#[derive(Serialize, utoipa::ToSchema)]
pub struct DocumentList {
    pub items: Vec<DocumentView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct GuestToken {
    /// A guest order's link token (from its e-mail), instead of signing in.
    pub token: Option<String>,
}

/// The order's documents (its owner; a guest with the order's link token).
#[utoipa::path(get, path = "/api/v1/orders/{id}/documents", tag = "orders", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DocumentList), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn order_documents(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>) -> Result<Json<DocumentList>, Problem> {
    let order = app.orders.get(&p.user, &id).await?;
    if order.user_id != p.user.id && p.user.role != Role::Admin {
        return Err(crate::services::orders::OrderError::NotFound.into());
    }
    list_of(&app, &order.id, None).await
}

/// Any order's documents (admins).
#[utoipa::path(get, path = "/api/v1/admin/orders/{id}/documents", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DocumentList), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn admin_order_documents(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>) -> Result<Json<DocumentList>, Problem> {
    let order = app.orders.get(&p.user, &id).await?;
    list_of(&app, &order.id, None).await
}

async fn list_of(app: &AppState, order_id: &str, token: Option<&str>) -> Result<Json<DocumentList>, Problem> {
    let docs = app.invoicing.of_order(order_id).await?;
    Ok(Json(DocumentList { items: docs.iter().map(|d| DocumentView::of(d, token)).collect() }))
}

/// Whether the caller may see the order's documents: an admin, its owner, or a guest holding its link.
pub async fn may_see(app: &AppState, user: Option<&User>, token: Option<&str>, order_id: &str) -> bool {
    match user {
        Some(u) if u.role == Role::Admin => return true,
        Some(u) if app.orders.get(u, order_id).await.is_ok() => return true,
        _ => {}
    }
    match token {
        Some(t) => app.orders.guest_order(order_id, t).await.is_ok(),
        None => false,
    }
}

/// A document's PDF (`{id}.pdf`) or XML (`{id}.xml`): the order's owner, an admin, or a guest with the order's link token.
#[utoipa::path(get, path = "/api/v1/documents/{file}", tag = "orders", params(("file" = String, Path, description = "`VTR000042.pdf` or `VTR000042.xml`"), GuestToken),
    security((), ("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The file", content_type = "application/pdf"), (status = 200, description = "The UBL 2.1 XML", content_type = "application/xml"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn document_file(State(app): State<AppState>, caller: Option<axum::Extension<Caller>>, Path(file): Path<String>, Query(q): Query<GuestToken>) -> Result<Response, Problem> {
    let not_found = || Problem::from(crate::services::invoices::InvoiceError::NotFound);
    let (id, kind, mime) = match (file.strip_suffix(".pdf"), file.strip_suffix(".xml")) {
        (Some(id), _) => (id, DocFile::Pdf, "application/pdf"),
        (_, Some(id)) => (id, DocFile::Xml, "application/xml; charset=utf-8"),
        _ => return Err(not_found()),
    };
    let doc = app.invoicing.document(id).await?;
    let user = caller.as_ref().and_then(|c| c.0 .0.as_ref()).map(|p| &p.user);
    if !may_see(&app, user, q.token.as_deref(), &doc.order_id).await {
        return Err(not_found());
    }
    let bytes = app.invoicing.file(id, kind).await?;
    let disposition = format!("inline; filename=\"{file}\"");
    Ok(([(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_DISPOSITION, disposition), (header::CACHE_CONTROL, "private, max-age=3600".to_string())], bytes).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DocumentQuery {
    /// `not_accepted` (waiting, processing or refused), or one state: `waiting`, `processing`, `accepted`, `rejected`.
    pub efactura: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DocumentPage {
    pub items: Vec<DocumentView>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

/// Every document, newest first, filtered by e-Factura state (admins).
#[utoipa::path(get, path = "/api/v1/admin/documents", tag = "admin", params(DocumentQuery), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DocumentPage), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn admin_documents(State(app): State<AppState>, q: Result<Query<DocumentQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<DocumentPage>, Problem> {
    let Query(q) = q.map_err(|e| super::problem::bad_query(&e.body_text()))?;
    let (page, per_page) = super::problem::paging(q.page, q.per_page, 50)?;
    let efactura = efactura_filter(q.efactura.as_deref()).map_err(|e| Problem::invalid(&e.field, &e.message))?;
    let (docs, total) = app.invoicing.list(&DocumentFilter { efactura, ..Default::default() }, page, per_page).await?;
    Ok(Json(DocumentPage { items: docs.iter().map(|d| DocumentView::of(d, None)).collect(), page, per_page, total }))
}

/// A document ANAF refused, made again under its number (the seller's
/// identity and the order's billing as they are now) and sent again (admins).
#[utoipa::path(post, path = "/api/v1/admin/documents/{id}/regenerate", tag = "admin", params(("id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DocumentView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The document was not refused", body = Problem, content_type = "application/problem+json")))]
pub async fn regenerate(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>) -> Result<Json<DocumentView>, Problem> {
    let doc = app.invoicing.regenerate(&(&p.user).into(), &id).await?;
    Ok(Json(DocumentView::of(&doc, None)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SellerView {
    pub seller: Seller,
    /// `panel`, `config` or `demo` (the demo identity: set yours before selling).
    pub source: SellerSource,
    pub series: String,
}

/// The shop's legal identity printed on invoices (admins).
#[utoipa::path(get, path = "/api/v1/admin/seller", tag = "admin", security(("bearer" = []), ("session" = [])), responses((status = 200, body = SellerView)))]
pub async fn get_seller(State(app): State<AppState>) -> Result<Json<SellerView>, Problem> {
    let (seller, source) = app.invoicing.seller().await?;
    Ok(Json(SellerView { seller, source, series: app.invoicing.series().to_string() }))
}

/// Sets the shop's legal identity (every field; checked: CUI check digit, county, IBAN) (admins).
#[utoipa::path(put, path = "/api/v1/admin/seller", tag = "admin", request_body = Seller, security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = SellerView), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_seller(State(app): State<AppState>, CurrentUser(p): CurrentUser, JsonBody(seller): JsonBody<Seller>) -> Result<Json<SellerView>, Problem> {
    let saved = app.invoicing.save_seller(&(&p.user).into(), &seller).await?;
    Ok(Json(SellerView { seller: saved, source: SellerSource::Panel, series: app.invoicing.series().to_string() }))
}

/// e-Factura: configured or not, the token's expiry, documents not accepted (admins).
#[utoipa::path(get, path = "/api/v1/admin/efactura", tag = "admin", security(("bearer" = []), ("session" = [])), responses((status = 200, body = EfacturaStatus)))]
pub async fn efactura_status(State(app): State<AppState>) -> Result<Json<EfacturaStatus>, Problem> {
    Ok(Json(app.invoicing.efactura_status().await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenBody {
    /// The refresh token ANAF issued for the shop's OAuth app (obtained with the merchant's qualified certificate).
    pub refresh_token: String,
}

/// Takes in a refresh token (tried at once with ANAF), then sends what waits (admins).
#[utoipa::path(put, path = "/api/v1/admin/efactura/token", tag = "admin", request_body = TokenBody, security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = EfacturaStatus), (status = 409, description = "e-Factura has no OAuth client on this shop", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "ANAF refused the token", body = Problem, content_type = "application/problem+json"), (status = 503, description = "ANAF did not answer", body = Problem, content_type = "application/problem+json")))]
pub async fn put_token(State(app): State<AppState>, CurrentUser(p): CurrentUser, JsonBody(body): JsonBody<TokenBody>) -> Result<Json<EfacturaStatus>, Problem> {
    app.invoicing.set_refresh_token(&(&p.user).into(), &body.refresh_token).await?;
    Ok(Json(app.invoicing.efactura_status().await?))
}

/// A company in ANAF's register of VAT payers (checkout's "fill from ANAF").
#[utoipa::path(get, path = "/api/v1/companies/{cui}", tag = "orders", params(("cui" = String, Path, description = "The fiscal code, with or without `RO`")),
    responses((status = 200, body = CompanyInfo), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid CUI", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The register is down: fill the details in by hand", body = Problem, content_type = "application/problem+json")))]
pub async fn company(State(app): State<AppState>, Path(cui): Path<String>) -> Result<Json<CompanyInfo>, Problem> {
    match app.invoicing.lookup_company(&cui).await? {
        Some(c) => Ok(Json(c)),
        None => Err(Problem::new(axum::http::StatusCode::NOT_FOUND, "ANAF's register has no company with this CUI.")),
    }
}

/// Asks to return some or all of an order's units (its owner; within 14 days of delivery).
#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "orders", params(("id" = String, Path)), request_body = ReturnRequest, security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "The order with its returns", body = Order), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Outside the 14 days, a quantity too high, an unknown SKU", body = Problem, content_type = "application/problem+json")))]
pub async fn request_return(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path(id): Path<String>, JsonBody(body): JsonBody<ReturnRequest>) -> Result<Json<Order>, Problem> {
    let order = app.orders.get(&p.user, &id).await?;
    if order.user_id != p.user.id {
        return Err(crate::services::orders::OrderError::NotFound.into());
    }
    Ok(Json(app.orders.request_return(&id, &body).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RejectBody {
    /// Why (the shopper reads it).
    pub note: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReceiveBody {
    /// What arrived of each line, and its condition.
    pub lines: Vec<ReceivedLine>,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct ReturnRefundBody {
    /// For a cash-on-delivery order: the IBAN the money goes to (default: the one the shopper gave).
    #[serde(default)]
    pub iban: Option<String>,
}

/// Agrees to a requested return (admins).
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/returns/{return_id}/approve", tag = "admin", params(("id" = String, Path), ("return_id" = String, Path)), security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn approve_return(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path((id, rid)): Path<(String, String)>) -> Result<Json<Order>, Problem> {
    Ok(Json(app.desk.return_step(&(&p.user).into(), &id, &rid, ReturnStep::Approve).await?))
}

/// Refuses a requested or approved return, saying why (admins).
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/returns/{return_id}/reject", tag = "admin", params(("id" = String, Path), ("return_id" = String, Path)), request_body = RejectBody, security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn reject_return(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path((id, rid)): Path<(String, String)>, JsonBody(body): JsonBody<RejectBody>) -> Result<Json<Order>, Problem> {
    Ok(Json(app.desk.return_step(&(&p.user).into(), &id, &rid, ReturnStep::Reject { note: body.note }).await?))
}

/// Records what arrived (quantities and condition); those units go back into stock (admins).
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/returns/{return_id}/receive", tag = "admin", params(("id" = String, Path), ("return_id" = String, Path)), request_body = ReceiveBody, security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn receive_return(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path((id, rid)): Path<(String, String)>, JsonBody(body): JsonBody<ReceiveBody>) -> Result<Json<Order>, Problem> {
    Ok(Json(app.desk.return_step(&(&p.user).into(), &id, &rid, ReturnStep::Receive { lines: body.lines }).await?))
}

/// Refunds a received return: to the card, or (cash on delivery) to the IBAN; a credit note follows (admins).
#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/returns/{return_id}/refund", tag = "admin", params(("id" = String, Path), ("return_id" = String, Path)), request_body = ReturnRefundBody, security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Order), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn refund_return(State(app): State<AppState>, CurrentUser(p): CurrentUser, Path((id, rid)): Path<(String, String)>, body: Option<JsonBody<ReturnRefundBody>>) -> Result<Json<Order>, Problem> {
    let body = body.map(|JsonBody(b)| b).unwrap_or_default();
    Ok(Json(app.desk.return_step(&(&p.user).into(), &id, &rid, ReturnStep::Refund { iban: body.iban }).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OpenReturn {
    pub order_id: String,
    pub order_number: String,
    #[serde(rename = "return")]
    pub ret: crate::domain::returns::Return,
}

/// Returns the shop still has to handle, the nearest refund deadline first (admins).
#[utoipa::path(get, path = "/api/v1/admin/returns", tag = "admin", security(("bearer" = []), ("session" = [])), responses((status = 200, body = Vec<OpenReturn>)))]
pub async fn open_returns(State(app): State<AppState>) -> Result<Json<Vec<OpenReturn>>, Problem> {
    let open = app.orders.open_returns(200).await?;
    Ok(Json(open.into_iter().map(|(o, r)| OpenReturn { order_id: o.id, order_number: o.number, ret: r }).collect()))
}
