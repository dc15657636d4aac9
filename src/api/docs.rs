//! The OpenAPI 3.1 spec (generated from the handlers with utoipa) and a
//! readable docs page rendered by the app itself from that spec (no CDN).
use axum::response::{Html, IntoResponse, Redirect};
use axum::Json;
use serde_json::Value;
use utoipa::OpenApi;

use super::{admin, auth, catalog, documents, notify, orders, privacy, promotions, recommend};
use super::problem::{FieldError, Problem};
use crate::domain::category::CategoryNode;
use crate::domain::money::Money;
use crate::domain::product::{AttrValue, Image, ProductStatus, ProductSummary, ProductView, VariantView};
use crate::domain::query::{FacetValue, SearchResult, Sort};

#[derive(OpenApi)]
#[openapi(
    info(title = "Vitrina API", version = "1.0.0", description = "The versioned JSON API of a Vitrina shop: catalog for partners. Errors are `application/problem+json` (RFC 9457) naming the offending parameter."),
    paths(catalog::list_products, catalog::get_product, catalog::list_categories, catalog::suggest, recommend::for_product, recommend::trending, recommend::get_settings, recommend::put_settings, promotions::list, promotions::create, promotions::get_one, promotions::update, promotions::apply_coupon, promotions::remove_coupon,
        auth::register, auth::token, auth::refresh, auth::logout, auth::me, privacy::export_me, privacy::erase_me, privacy::export_user, privacy::erase_user, admin::list_users,
        orders::get_cart, orders::add_item, orders::set_item, orders::remove_item, orders::place_order, orders::list_orders, orders::get_order,
        orders::cancel_order, notify::password_reset, notify::password_reset_confirm, notify::list_webhooks, notify::create_webhook, notify::get_webhook, notify::update_webhook, notify::delete_webhook, notify::rotate_webhook_secret, notify::webhook_deliveries, notify::list_outbox, notify::retry_outbox, orders::set_status, orders::mark_paid, orders::refund, orders::admin_list_orders, orders::stripe_webhook,
        admin::create_user, admin::change_user, admin::list_products, admin::create_product, admin::get_product, admin::update_product, admin::delete_product, admin::upload_image,
        admin::set_images, admin::list_audit, admin::export_products, admin::export_orders, admin::import_products, admin::dashboard,
        documents::order_documents, documents::admin_order_documents, documents::document_file, documents::admin_documents, documents::regenerate, documents::get_seller, documents::put_seller,
        documents::efactura_status, documents::put_token, documents::company, documents::request_return, documents::approve_return, documents::reject_return, documents::receive_return,
        documents::refund_return, documents::open_returns),
    components(schemas(SearchResult, crate::domain::query::Suggestions, crate::domain::query::ProductSuggestion, crate::domain::query::CategorySuggestion, ProductSummary, ProductView, VariantView, Money, Image, AttrValue, ProductStatus, FacetValue, Sort, CategoryNode, Problem, FieldError,
        crate::domain::user::UserView, crate::domain::user::Role, crate::services::accounts::TokenPair, auth::RegisterBody, auth::TokenBody, auth::RefreshBody,
        admin::AdminUser, admin::UserPage, notify::ResetBody, notify::ResetConfirmBody, notify::Accepted, notify::EndpointBody, notify::EndpointPatch, notify::EndpointList, crate::domain::outbox::Endpoint, crate::domain::outbox::OutboxEntry, crate::domain::outbox::Attempt, crate::domain::outbox::EntryKind, crate::domain::outbox::EntryStatus, crate::services::notify::EntryPage, orders::AddItem, orders::SetQuantity, orders::PlaceOrderBody, orders::OrderPage, orders::StatusBody,
        crate::domain::order::CartView, crate::domain::order::CartLineView, crate::domain::order::CartLine, crate::domain::order::Order,
        crate::domain::order::OrderLine, crate::domain::order::OrderStatus, crate::domain::order::Address, crate::domain::order::ShippingMethod,
        crate::domain::order::StatusChange, crate::services::orders::ShortLine, orders::RefundBody, orders::WebhookAnswer,
        crate::domain::payment::Payment, crate::domain::payment::PaymentMethod, crate::domain::payment::PaymentStatus,
        crate::domain::product::Product, crate::domain::product::ProductInput, crate::domain::product::Variant, admin::RemovalResult, admin::UserChange, admin::NewUser,
        crate::domain::recommend::Recommendations, crate::domain::recommend::Strategy, crate::domain::recommend::RecommendSettings, recommend::SettingsBody, promotions::CouponBody, crate::services::privacy::PersonalData, crate::services::privacy::Profile, crate::services::privacy::Erasure, crate::domain::promotion::PromotionReport, crate::domain::promotion::Promotion, crate::domain::promotion::PromotionInput, crate::domain::promotion::PromoKind, crate::domain::promotion::Scope, crate::domain::promotion::AppliesTo, crate::domain::promotion::AppliedDiscount,
        admin::AuditPage, crate::domain::audit::AuditEntry, crate::domain::import::ImportReport, crate::domain::import::LineError,
        documents::DocumentView, documents::EfacturaView, documents::DocumentList, documents::DocumentPage, documents::SellerView, documents::TokenBody, documents::RejectBody, documents::ReceiveBody,
        documents::ReturnRefundBody, documents::OpenReturn, crate::domain::invoice::DocKind, crate::domain::invoice::EfacturaState, crate::domain::billing::Seller, crate::domain::billing::CompanyInfo,
        crate::domain::billing::Billing, crate::domain::billing::BuyerKind, crate::services::invoices::EfacturaStatus, crate::services::invoices::SellerSource,
        crate::domain::returns::Return, crate::domain::returns::ReturnLine, crate::domain::returns::ReturnStatus, crate::domain::returns::ReturnRequest, crate::domain::returns::RequestLine, crate::domain::returns::ReceivedLine)),
    modifiers(&SecuritySchemes, &CommonResponses),
    tags((name = "catalog", description = "Products, search, facets and categories"),
         (name = "auth", description = "Accounts and tokens: JWT access tokens (15 min) and rotating refresh tokens"),
         (name = "orders", description = "Cart and orders: stock reserved atomically; Idempotency-Key for safe retries"),
         (name = "admin", description = "Administration (admins only)"))
)]
pub struct ApiDoc;

/// `bearer` (JWT access token) and `session` (the browser's cookie).
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some("Access token from POST /api/v1/auth/token")).build()),
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description("vitrina_session", "Browser session cookie"))));
    }
}

/// Answers every operation can give besides its own, documented once:
/// 400 (a malformed request: a parameter, header or body the route cannot
/// read), 422 for operations with a body (a field refused), 401/403 for
/// operations that need a caller, 429 (rate limits) and 503 (the store is
/// unreachable). All of them are `application/problem+json`.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = op.request_body.is_some();
                let responses = &mut op.responses.responses;
                let mut add = |code: &str, description: &str| {
                    responses.entry(code.to_string()).or_insert_with(|| problem(description).into());
                };
                add("400", "Malformed request: a parameter, header or body that cannot be read");
                if has_body {
                    add("422", "A field was refused (`errors` names it)");
                }
                if secured {
                    add("401", "Sign in or send a bearer token");
                    add("403", "This account may not use this resource");
                }
                add("429", "Too many requests (see Retry-After)");
                add("503", "The store is unreachable; try again shortly");
            }
        }
    }
}

pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn openapi_json() -> impl IntoResponse {
    Json(spec())
}

pub async fn docs_redirect() -> Redirect {
    Redirect::temporary("/api/docs")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).map(esc).unwrap_or_default()
}

/// Renders the spec as a plain HTML reference page.
pub fn render_docs(spec: &Value) -> String {
    let mut body = String::new();
    let info = &spec["info"];
    body.push_str(&format!("<h1>{}</h1><p>{}</p>", text(info, "title"), text(info, "description")));
    body.push_str("<p>Machine-readable spec: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI ");
    body.push_str(&text(spec, "openapi"));
    body.push_str(").</p>");
    if let Some(paths) = spec["paths"].as_object() {
        body.push_str("<nav><ul>");
        for (path, item) in paths {
            if let Some(ops) = item.as_object() {
                for method in ops.keys() {
                    body.push_str(&format!("<li><a href=\"#{m}-{id}\"><code>{M} {p}</code></a></li>", m = method, id = esc(&path.replace(['/', '{', '}'], "-")), M = method.to_uppercase(), p = esc(path)));
                }
            }
        }
        body.push_str("</ul></nav>");
        for (path, item) in paths {
            let Some(ops) = item.as_object() else { continue };
            for (method, op) in ops {
                body.push_str(&format!(
                    "<section id=\"{m}-{id}\"><h2><span class=\"method {m}\">{M}</span> <code>{p}</code></h2><p>{summary}</p>",
                    m = method,
                    id = esc(&path.replace(['/', '{', '}'], "-")),
                    M = method.to_uppercase(),
                    p = esc(path),
                    summary = if op.get("description").is_some() { text(op, "description") } else { text(op, "summary") },
                ));
                if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                    body.push_str("<table><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr>");
                    for p in params {
                        body.push_str(&format!(
                            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            text(p, "name"),
                            text(p, "in"),
                            if p["required"].as_bool().unwrap_or(false) { "yes" } else { "no" },
                            text(p, "description")
                        ));
                    }
                    body.push_str("</table>");
                }
                if let Some(responses) = op["responses"].as_object() {
                    body.push_str("<table><tr><th>Status</th><th>Description</th><th>Body</th></tr>");
                    for (code, r) in responses {
                        let schema = r["content"]
                            .as_object()
                            .and_then(|c| c.iter().next())
                            .map(|(ct, v)| {
                                let s = &v["schema"];
                                let name = s["$ref"].as_str().or_else(|| s["items"]["$ref"].as_str()).unwrap_or("").rsplit('/').next().unwrap_or("").to_string();
                                format!("{} {}", esc(ct), esc(&name))
                            })
                            .unwrap_or_default();
                        body.push_str(&format!("<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", esc(code), text(r, "description"), schema));
                    }
                    body.push_str("</table>");
                }
                body.push_str("</section>");
            }
        }
    }
    if let Some(schemas) = spec["components"]["schemas"].as_object() {
        body.push_str("<h2>Schemas</h2>");
        for (name, schema) in schemas {
            body.push_str(&format!("<details id=\"schema-{n}\"><summary><code>{n}</code></summary><pre>{}</pre></details>", esc(&serde_json::to_string_pretty(schema).unwrap_or_default()), n = esc(name)));
        }
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Vitrina API</title><style>{}</style></head><body><main>{}</main></body></html>",
        DOCS_CSS, body
    )
}

const DOCS_CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#faf9f7;color:#1f2328}main{max-width:960px;margin:0 auto;padding:2rem 1.25rem}h1{margin-top:0}section{background:#fff;border:1px solid #e4e1dc;border-radius:10px;padding:1rem 1.25rem;margin:1.25rem 0}table{border-collapse:collapse;width:100%;margin:.75rem 0;font-size:.92rem}th,td{border-bottom:1px solid #eee;padding:.4rem .5rem;text-align:left;vertical-align:top}.method{display:inline-block;padding:.1rem .5rem;border-radius:5px;background:#1d6f42;color:#fff;font-size:.8rem}pre{background:#f3f1ed;padding:.75rem;overflow:auto;border-radius:6px}code{font-size:.92em}";

pub async fn docs_page() -> Html<String> {
    let spec = serde_json::to_value(spec()).unwrap_or(Value::Null);
    Html(render_docs(&spec))
}
