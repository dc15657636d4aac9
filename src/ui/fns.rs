//! Server functions: thin calls into the services, with errors a shopper can read.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::category::CategoryNode;
use crate::domain::product::ProductView;
use crate::domain::query::SearchResult;
use crate::domain::user::UserView;

/// Why a page cannot show what was asked, in words for the shopper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PageError {
    /// A query parameter was refused.
    Invalid { param: String, message: String },
    NotFound,
    /// The store is down or timed out.
    Unavailable,
    /// The page needs a signed-in user.
    SignInRequired,
    /// The signed-in user's role may not see the page.
    Forbidden,
    /// The request clashes with the current state (the message says how).
    Refused { message: String },
}

pub type PageResult<T> = Result<T, PageError>;

/// The one mapping of a service failure to what a page shows, worded in
/// the page's language.
#[cfg(feature = "ssr")]
impl From<crate::services::error::Failure> for PageError {
    fn from(f: crate::services::error::Failure) -> Self {
        use crate::services::error::Kind;
        let loc = crate::ui::current_locale();
        match f.kind {
            Kind::Invalid | Kind::BadQuery => match f.fields.first() {
                Some(e) => PageError::Invalid { param: e.field.clone(), message: e.in_locale(loc) },
                None => PageError::Invalid { param: String::new(), message: f.message(loc) },
            },
            Kind::NotFound => PageError::NotFound,
            Kind::Unauthorized => PageError::SignInRequired,
            Kind::Forbidden => PageError::Forbidden,
            Kind::Conflict => PageError::Refused { message: f.message(loc) },
            Kind::Unavailable | Kind::Internal => PageError::Unavailable,
        }
    }
}

/// Every service error reaches a page through its `Failure`.
#[cfg(feature = "ssr")]
macro_rules! page_error_through_failure {
    ($($error:ty),*) => {
        $(impl From<$error> for PageError {
            fn from(e: $error) -> Self {
                crate::services::error::Failure::from(e).into()
            }
        })*
    };
}
#[cfg(feature = "ssr")]
page_error_through_failure!(
    crate::domain::query::QueryError,
    crate::ports::StoreError,
    crate::services::catalog::CatalogError,
    crate::services::accounts::AccountError,
    crate::services::orders::OrderError,
    crate::services::admin::AdminError,
    crate::services::notify::NotifyError,
    crate::services::recommend::RecommendError,
    crate::services::promotions::PromoError,
    crate::services::privacy::PrivacyError,
    crate::services::invoices::InvoiceError
);

#[cfg(feature = "ssr")]
fn app() -> Result<crate::state::AppState, ServerFnError> {
    use_context::<crate::state::AppState>().ok_or_else(|| ServerFnError::new("application state missing"))
}

/// One listing page for a query string (the same parameters as `GET /api/v1/products`).
/// Whether a password-reset link's token can still be used.
#[server]
pub async fn reset_token_usable(token: String) -> Result<bool, ServerFnError> {
    let app = app()?;
    app.accounts.reset_token_usable(&token).await.map_err(|e| ServerFnError::new(e.to_string()))
}

#[server]
pub async fn search_catalog(query: String) -> Result<PageResult<SearchResult>, ServerFnError> {
    use crate::domain::query::CatalogQuery;
    let app = app()?;
    let q = match CatalogQuery::from_query_string(&query) {
        Ok(q) => q,
        Err(e) => return Ok(Err(e.into())),
    };
    Ok(app.catalog.search(&q).await.map_err(PageError::from))
}

/// Search-as-you-type suggestions for the header's search box.
#[server]
pub async fn suggest(typed: String) -> Result<PageResult<crate::domain::query::Suggestions>, ServerFnError> {
    let app = app()?;
    Ok(app.catalog.suggest(&typed).await.map_err(PageError::from))
}

#[server]
pub async fn get_product(slug: String) -> Result<PageResult<ProductView>, ServerFnError> {
    let app = app()?;
    Ok(app.catalog.product(&slug).await.map_err(PageError::from))
}

#[server]
pub async fn get_categories() -> Result<PageResult<Vec<CategoryNode>>, ServerFnError> {
    let app = app()?;
    Ok(app.catalog.categories().await.map_err(PageError::from))
}

/// What the home page shows: trending and newest products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeData {
    pub trending: crate::domain::recommend::Recommendations,
    pub newest: SearchResult,
}

#[server]
pub async fn get_home() -> Result<PageResult<HomeData>, ServerFnError> {
    let app = app()?;
    let trending = app.recommend.trending(8, &[]).await;
    let newest = app.catalog.newest(8).await;
    Ok(match (trending, newest) {
        (Ok(trending), Ok(newest)) => Ok(HomeData { trending, newest }),
        (Err(e), _) => Err(e.into()),
        (_, Err(e)) => Err(e.into()),
    })
}

/// "Frequently bought together" (only when shoppers did buy something with
/// it) and "similar products" beside a product, leaving out this browser's cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ProductRecs {
    pub together: Vec<crate::domain::recommend::BundleItem>,
    pub similar: Vec<crate::domain::product::ProductSummary>,
}

/// Read from the recommendation table the background worker keeps (see
/// `Recommender::refresh_table`): nothing is computed while the shopper waits.
#[server]
pub async fn get_product_recs(slug: String) -> Result<ProductRecs, ServerFnError> {
    use crate::domain::recommend::Strategy;
    let app = app()?;
    let in_cart = match browser_cart_owner(false).await? {
        Some(owner) => app.carts.product_ids(&owner).await,
        None => Vec::new(),
    };
    let together = match app.recommend.for_product(&slug, Strategy::Complementary, 3, &in_cart).await {
        Ok(r) if r.strategy == Strategy::Complementary => app.recommend.bundle(&r.items).await,
        _ => Vec::new(),
    };
    let mut leave_out = in_cart;
    leave_out.extend(together.iter().map(|b| b.product.id.clone()));
    let similar = app.recommend.for_product(&slug, Strategy::Related, 5, &leave_out).await.map(|r| r.items).unwrap_or_default();
    Ok(ProductRecs { together, similar })
}

/// "You may also like" on the cart page: what goes with the cart (trending when it is empty).
#[server]
pub async fn get_cart_recs() -> Result<Vec<crate::domain::product::ProductSummary>, ServerFnError> {
    let app = app()?;
    let in_cart = match browser_cart_owner(false).await? {
        Some(owner) => app.carts.product_ids(&owner).await,
        None => Vec::new(),
    };
    let recs = if in_cart.is_empty() { app.recommend.trending(5, &[]).await } else { app.recommend.for_cart(&in_cart, 5).await };
    Ok(recs.map(|r| r.items).unwrap_or_default())
}

/// Sets the HTTP status of the page being rendered on the server.
pub fn set_status(_code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = axum::http::StatusCode::from_u16(_code) {
            res.set_status(status);
        }
    }
}

/// The caller of the current request (server side), from the session or a bearer token.
#[cfg(feature = "ssr")]
pub async fn caller() -> Option<crate::services::accounts::Principal> {
    leptos_axum::extract::<axum::Extension<crate::edge::caller::Caller>>().await.ok().and_then(|c| c.0 .0)
}

/// The one guard for server functions and pages: the caller must meet `access`.
#[cfg(feature = "ssr")]
pub async fn require(access: crate::domain::user::Access) -> Result<crate::services::accounts::Principal, PageError> {
    use crate::domain::user::Denied;
    let principal = caller().await;
    match access.check(principal.as_ref().map(|p| p.user.role)) {
        Ok(()) => principal.ok_or(PageError::SignInRequired),
        Err(Denied::Unauthenticated) => Err(PageError::SignInRequired),
        Err(Denied::Forbidden) => Err(PageError::Forbidden),
    }
}

/// The signed-in user, if any.
#[server]
pub async fn current_user() -> Result<Option<UserView>, ServerFnError> {
    Ok(caller().await.map(|p| p.user.view()))
}

// ------------------------------------------------------------------ cart and orders

use crate::domain::order::{CartView, Order, Totals};

#[cfg(feature = "ssr")]
async fn browser_cart_owner(create: bool) -> Result<Option<String>, ServerFnError> {
    let session = leptos_axum::extract::<tower_sessions::Session>().await.map_err(|e| ServerFnError::new(e.to_string()))?;
    let caller = crate::edge::caller::Caller(caller().await);
    crate::edge::session::browser_cart(&caller, &session, create).await.map_err(|_| ServerFnError::new("session unavailable"))
}

/// This browser's cart (the user's when signed in, else the guest cart).
#[server]
pub async fn get_cart() -> Result<PageResult<CartView>, ServerFnError> {
    let app = app()?;
    let Some(owner) = browser_cart_owner(false).await? else { return Ok(Ok(CartView::empty())) };
    Ok(app.carts.view(&owner).await.map_err(PageError::from))
}

/// A shipping choice with the totals it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingChoice {
    pub method: crate::domain::order::ShippingMethod,
    pub label: String,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutData {
    /// `None`: a guest checks out with an e-mail address.
    pub user: Option<UserView>,
    pub cart: CartView,
    pub choices: Vec<ShippingChoice>,
    pub vat_percent: i64,
    pub free_shipping_over: i64,
    /// A fresh key per checkout page: a double submit places one order.
    pub idempotency_key: String,
    /// The ways to pay this shop offers (cash on delivery first).
    pub payment_methods: Vec<crate::domain::payment::PaymentMethod>,
    /// Days a bank transfer may take before the order expires.
    pub transfer_days: i64,
}

#[server]
pub async fn get_checkout() -> Result<PageResult<CheckoutData>, ServerFnError> {
    let principal = caller().await;
    let app = app()?;
    let (cart, quotes) = match browser_cart_owner(false).await? {
        Some(owner) => match app.carts.quotes(&owner).await {
            Ok(q) => q,
            Err(e) => return Ok(Err(e.into())),
        },
        None => (CartView::empty(), Vec::new()),
    };
    let rules = app.orders.rules().pricing;
    let choices = quotes.into_iter().map(|(m, totals)| ShippingChoice { method: m, label: m.label().to_string(), totals }).collect();
    Ok(Ok(CheckoutData {
        user: principal.map(|p| p.user.view()),
        cart,
        choices,
        vat_percent: rules.vat_percent,
        free_shipping_over: rules.free_standard_over,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        payment_methods: app.orders.payment_methods(),
        transfer_days: app.orders.payments().transfer_days,
    }))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrdersPage {
    pub orders: Vec<Order>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

#[server]
pub async fn get_my_orders(page: u64) -> Result<PageResult<OrdersPage>, ServerFnError> {
    let principal = match require(crate::domain::user::Access::Authenticated).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let app = app()?;
    let page = page.max(1);
    Ok(app.orders.list(&principal.user, page, 20).await.map(|(orders, total)| OrdersPage { orders, total, page, per_page: 20 }).map_err(PageError::from))
}

/// An order as its page shows it: with where to send a bank transfer, and
/// by when, while the order waits for one; the card form while it waits for a card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderPageData {
    pub order: Order,
    pub bank: Option<crate::domain::payment::BankAccount>,
    pub pay_by: Option<chrono::DateTime<chrono::Utc>>,
    pub card: Option<CardPayment>,
    /// Its invoice and credit notes, oldest first (`None`: they could not be read just now).
    pub documents: Option<Vec<OrderDocument>>,
    /// Whether its products may be sent back now (the right of withdrawal).
    pub return_window: ReturnWindow,
}

/// An invoice or a credit note as an order's page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDocument {
    pub kind: crate::domain::invoice::DocKind,
    /// The series and number (`VTR000042`).
    pub number: String,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// With VAT, in minor units: the order's total, or what a credit note gives back.
    pub total_cents: i64,
    pub currency: String,
    /// The PDF's address (a guest's carries the order's link token).
    pub pdf: String,
}

/// Whether an order's products may be sent back now (OUG 34/2014), and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ReturnWindow {
    /// Yes: shipped (`until` unknown yet: 14 days from delivery) or delivered until `until`.
    Open { until: Option<chrono::DateTime<chrono::Utc>> },
    /// Not before it ships (until then it can be cancelled).
    NotShipped,
    /// The 14 days after delivery ended on `ended`.
    Passed { ended: Option<chrono::DateTime<chrono::Utc>> },
    /// Cancelled or expired: nothing to return.
    Closed,
}

impl ReturnWindow {
    pub fn of(order: &Order, now: chrono::DateTime<chrono::Utc>) -> Self {
        use crate::domain::order::OrderStatus as S;
        if order.may_return(now) {
            return ReturnWindow::Open { until: order.return_deadline() };
        }
        match order.status {
            S::Delivered => ReturnWindow::Passed { ended: order.return_deadline() },
            S::Cancelled | S::Expired => ReturnWindow::Closed,
            _ => ReturnWindow::NotShipped,
        }
    }
}

/// What the browser's card form needs (the order's owner only, while its payment is open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardPayment {
    pub publishable_key: String,
    pub script_url: String,
    pub client_secret: String,
}

/// The page of `order`; a card payment caught up with the provider first
/// (a shopper coming back from paying sees it paid even if the provider's
/// webhook is late). `owner`: the form with the payment's secret is shown.
#[cfg(feature = "ssr")]
async fn order_page(app: &crate::state::AppState, order: Order, owner: bool, token: Option<&str>) -> Result<OrderPageData, crate::services::orders::OrderError> {
    use crate::domain::{order::OrderStatus, payment::PaymentMethod};
    let mut order = app.orders.card_checkout(order, owner).await?;
    let rules = app.orders.payments();
    let waiting = order.status == OrderStatus::AwaitingPayment;
    let pay_by = match order.payment.method {
        PaymentMethod::BankTransfer => Some(order.created_at + chrono::Duration::days(rules.transfer_days)),
        PaymentMethod::Card => Some(order.created_at + chrono::Duration::minutes(rules.card_minutes)),
        PaymentMethod::Cod => None,
    };
    let card = match (order.payment.client_secret.take(), app.orders.card_form()) {
        (Some(client_secret), Some((publishable_key, script_url))) => Some(CardPayment { publishable_key, script_url, client_secret }),
        _ => None,
    };
    // read after the payment caught up: a card just paid may have its invoice already
    let documents = match app.invoicing.of_order(&order.id).await {
        Ok(docs) => Some(docs.iter().map(|d| order_document(d, token)).collect()),
        Err(e) => {
            tracing::warn!(error = %e, order = %order.id, "the order's documents could not be read");
            None
        }
    };
    Ok(OrderPageData {
        bank: rules.bank_account.clone().filter(|_| waiting && order.payment.method == PaymentMethod::BankTransfer),
        pay_by: pay_by.filter(|_| waiting),
        card,
        documents,
        return_window: ReturnWindow::of(&order, chrono::Utc::now()),
        order,
    })
}

#[cfg(feature = "ssr")]
fn order_document(d: &crate::domain::invoice::Document, token: Option<&str>) -> OrderDocument {
    // the API's view makes the file addresses (with a guest's token)
    let v = crate::edge::documents::DocumentView::of(d, token);
    OrderDocument { kind: v.kind, number: v.number, issued_at: v.issued_at, total_cents: v.total_cents, currency: v.currency, pdf: v.pdf }
}

#[server]
pub async fn get_my_order(id: String) -> Result<PageResult<OrderPageData>, ServerFnError> {
    let principal = match require(crate::domain::user::Access::Authenticated).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let app = app()?;
    let order = match app.orders.get(&principal.user, &id).await {
        Ok(o) => o,
        Err(e) => return Ok(Err(e.into())),
    };
    let owner = order.user_id == principal.user.id;
    Ok(order_page(&app, order, owner, None).await.map_err(PageError::from))
}

/// A guest's order through its link (`/orders/<id>?token=…`); anything else is not found.
#[server]
pub async fn get_guest_order(id: String, token: String) -> Result<PageResult<OrderPageData>, ServerFnError> {
    let app = app()?;
    let order = match app.orders.guest_order(&id, &token).await {
        Ok(o) => o,
        Err(e) => return Ok(Err(e.into())),
    };
    Ok(order_page(&app, order, true, Some(&token)).await.map_err(PageError::from))
}

// ------------------------------------------------------------------ the shop's legal identity

/// Who sells (the footer, the withdrawal form) and where consumers turn in a dispute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ShopLegal {
    /// `None`: the identity could not be read just now.
    pub seller: Option<SellerIdentity>,
    /// ANPC's alternative dispute resolution (SAL).
    pub sal_url: String,
    /// The EU's online dispute resolution (SOL), when the shop links it.
    pub sol_url: Option<String>,
}

/// The seller as a consumer reads it (the trader's identity the law asks shops to show).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SellerIdentity {
    pub name: String,
    /// `RO` + CUI for a VAT payer, else the CUI.
    pub tax_id: String,
    pub reg_com: String,
    /// One line: street, postal code and city, county (or Bucharest's sector).
    pub address: String,
    pub email: String,
    pub phone: String,
}

#[cfg(feature = "ssr")]
impl From<&crate::domain::billing::Seller> for SellerIdentity {
    fn from(s: &crate::domain::billing::Seller) -> Self {
        let place = crate::domain::order::Address { county: s.county.clone(), sector: s.sector, ..Default::default() };
        let region = crate::domain::invoice::printed_region(&place);
        let town = [s.postal_code.as_str(), s.city.as_str()].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ");
        let address = [s.street.as_str(), town.as_str(), region.as_str()].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(", ");
        SellerIdentity { name: s.name.clone(), tax_id: s.tax_id(), reg_com: s.reg_com.clone(), address, email: s.email.clone(), phone: s.phone.clone() }
    }
}

#[server]
pub async fn get_shop_legal() -> Result<ShopLegal, ServerFnError> {
    let app = app()?;
    let seller = match app.invoicing.seller_shown().await {
        Ok((s, _)) => Some(SellerIdentity::from(&s)),
        Err(e) => {
            tracing::warn!(error = %e, "the seller's identity could not be read");
            None
        }
    };
    let c = &app.config.invoicing;
    Ok(ShopLegal { seller, sal_url: c.sal_url.clone(), sol_url: c.sol_url.clone().filter(|u| !u.trim().is_empty()) })
}
