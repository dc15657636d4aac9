//! The admin panel's form posts: order status, users.
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{post, MethodRouter};
use axum::Form;
use serde::Deserialize;

use crate::edge::caller::Caller;
use crate::domain::user::{Access, Role};
use crate::edge::ServerState;
use crate::state::AppState;

use super::back;

pub(super) fn routes() -> Vec<(&'static str, Access, MethodRouter<ServerState>)> {
    vec![
        ("/admin/orders/status", Access::ADMIN, post(admin_order_status)),
        ("/admin/orders/paid", Access::ADMIN, post(admin_order_paid)),
        ("/admin/orders/refund", Access::ADMIN, post(admin_order_refund)),
        ("/admin/users/update", Access::ADMIN, post(admin_user_update)),
        ("/admin/users/create", Access::ADMIN, post(admin_user_create)),
        ("/admin/users/erase", Access::ADMIN, post(admin_user_erase)),
        ("/admin/outbox/retry", Access::ADMIN, post(admin_outbox_retry)),
        ("/admin/webhooks/create", Access::ADMIN, post(admin_webhook_create)),
        ("/admin/webhooks/change", Access::ADMIN, post(admin_webhook_change)),
        ("/admin/products/recommendations", Access::ADMIN, post(admin_product_recs)),
        ("/admin/promotions/save", Access::ADMIN, post(admin_promotion_save)),
        ("/admin/promotions/active", Access::ADMIN, post(admin_promotion_active)),
        ("/admin/orders/returns", Access::ADMIN, post(admin_return_step)),
        ("/admin/documents/regenerate", Access::ADMIN, post(admin_document_regenerate)),
        ("/admin/invoicing/seller", Access::ADMIN, post(admin_seller_save)),
        ("/admin/invoicing/token", Access::ADMIN, post(admin_efactura_token)),
    ]
}

/// The signed-in admin, or the response for anyone else (sign in / 403).
pub fn admin_actor(caller: &Caller, next: &str) -> Result<crate::services::audit::Actor, Response> {
    match &caller.0 {
        Some(p) if p.user.role == Role::Admin => Ok((&p.user).into()),
        Some(_) => Err((StatusCode::FORBIDDEN, "Only admins may do this.").into_response()),
        None => Err(Redirect::to(&format!("/login?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())).into_response()),
    }
}

#[derive(Deserialize)]
pub struct OrderStatusForm {
    #[serde(default)]
    order_id: String,
    #[serde(default)]
    status: String,
}

async fn admin_order_status(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<OrderStatusForm>) -> Response {
    let to = format!("/admin/orders/{}", form_urlencoded::byte_serialize(f.order_id.as_bytes()).collect::<String>());
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(status) = crate::domain::order::OrderStatus::parse_visible(&f.status) else {
        return back(&to, &[("error", "bad-status")]);
    };
    match app.desk.set_order_status(&actor, &f.order_id, status).await {
        Ok(o) => {
            let notice = if status == crate::domain::order::OrderStatus::Cancelled {
                notice("msg-order-cancelled-restocked", &[("number", &o.number)])
            } else {
                notice("msg-order-now", &[("number", &o.number), ("status", status.as_str())])
            };
            back(&to, &[("notice", &notice)])
        }
        Err(e) => super::refused(e, &to),
    }
}

#[derive(Deserialize)]
pub struct OrderForm {
    #[serde(default)]
    order_id: String,
}

fn order_page(id: &str) -> String {
    format!("/admin/orders/{}", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>())
}

async fn admin_order_paid(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<OrderForm>) -> Response {
    let to = order_page(&f.order_id);
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match app.desk.mark_paid(&actor, &f.order_id).await {
        Ok(o) => back(&to, &[("notice", &notice("msg-order-paid", &[("number", &o.number)]))]),
        Err(e) => super::refused(e, &to),
    }
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    order_id: String,
    /// In lei, as typed (`12,50` or `12.50`).
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

async fn admin_order_refund(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<RefundForm>) -> Response {
    let to = order_page(&f.order_id);
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    // an amount that is not a number is refused by the service like a zero: with what may be refunded
    let cents = crate::domain::money::parse_decimal(&f.amount).unwrap_or(0);
    match app.desk.refund(&actor, &f.order_id, cents, &f.reason).await {
        Ok(o) => back(&to, &[("notice", &notice("msg-order-refunded", &[("number", &o.number), ("amount", &cents.to_string())]))]),
        Err(e) => super::refused(e, &to),
    }
}

#[derive(Deserialize)]
pub struct UserUpdateForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
    /// `disable` or `enable`.
    #[serde(default)]
    access: String,
    #[serde(default)]
    back: String,
}

/// Erases a customer on their request: their personal data goes, their orders stay anonymised.
async fn admin_user_erase(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<UserUpdateForm>) -> Response {
    let to = crate::domain::text::local_path(&f.back).filter(|p| p.starts_with("/admin/users")).unwrap_or_else(|| "/admin/users".to_string());
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match app.privacy.erase(&f.user_id, &actor).await {
        Ok(done) if done.backups_before.is_empty() => back(&to, &[("notice", &notice("msg-user-erased", &[("orders", &done.orders_anonymised.to_string())]))]),
        Ok(done) => {
            // the receipt names the backups that still hold the customer's data
            let mut files: Vec<String> = done.backups_before.iter().rev().take(5).map(|b| b.file.clone()).collect();
            if done.backups_before.len() > files.len() {
                files.push("…".into());
            }
            let args = [("orders", done.orders_anonymised.to_string()), ("backups", done.backups_before.len().to_string()), ("files", files.join(", ")), ("days", done.backup_retention_days.to_string())];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            back(&to, &[("notice", &notice("msg-user-erased-backups", &args))])
        }
        Err(e) => super::refused(e, &to),
    }
}

async fn admin_user_update(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<UserUpdateForm>) -> Response {
    let to = crate::domain::text::local_path(&f.back).filter(|p| p.starts_with("/admin/users")).unwrap_or_else(|| "/admin/users".to_string());
    let to = to.split('#').next().unwrap_or("/admin/users").to_string();
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let role = match f.role.as_str() {
        "" => None,
        r => match Role::parse(r) {
            Some(r) => Some(r),
            None => return back(&to, &[("error", "bad-role")]),
        },
    };
    let disabled = match f.access.as_str() {
        "disable" => Some(true),
        "enable" => Some(false),
        _ => None,
    };
    match app.desk.change_user(&actor, &f.user_id, role, disabled).await {
        Ok(u) => {
            let what = match disabled {
                Some(true) => notice("msg-user-disabled", &[("email", &u.email)]),
                Some(false) => notice("msg-user-enabled", &[("email", &u.email)]),
                None => notice("msg-user-role", &[("email", &u.email), ("role", u.role.as_str())]),
            };
            back(&to, &[("notice", &what)])
        }
        Err(e) => super::refused(e, &to),
    }
}

#[derive(Deserialize)]
pub struct UserCreateForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

async fn admin_user_create(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<UserCreateForm>) -> Response {
    let to = "/admin/users";
    let actor = match admin_actor(&caller, to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let role = Role::parse(&f.role).unwrap_or(Role::Partner);
    let keep = [("new_email", f.email.as_str()), ("new_name", f.name.as_str()), ("new_role", role.as_str())];
    match app.desk.create_user(&actor, &f.email, &f.password, &f.name, role).await {
        Ok(u) => back(to, &[("notice", &notice("msg-user-created", &[("email", &u.email), ("role", role.as_str())]))]),
        Err(e) => super::refused_fields(e, to, &keep),
    }
}

/// A notice for the page to word (see `i18n::link_message`); "saved" when a
/// value (an unusual e-mail address) cannot travel in a link.
fn notice(key: &str, args: &[(&str, &str)]) -> String {
    let args: Vec<(String, String)> = args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match crate::i18n::link_message(key, &args) {
        code if code == "err-try-again" => "msg-saved".to_string(),
        code => code,
    }
}

// ------------------------------------------------------------------ outbox and webhooks

/// A form body with repeated keys (`events=…&events=…`).
fn pairs(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

fn one(p: &[(String, String)], key: &str) -> String {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

async fn admin_outbox_retry(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, body: String) -> Response {
    let p = pairs(&body);
    let to = crate::domain::text::local_path(&one(&p, "back")).filter(|b| b.starts_with("/admin/")).unwrap_or_else(|| "/admin/outbox".into());
    if let Err(r) = admin_actor(&caller, &to) {
        return r;
    }
    match app.notify.retry(&one(&p, "id")).await {
        Ok(_) => back(&to, &[("notice", "outbox-requeued")]),
        Err(e) => super::refused(e, &to),
    }
}

/// A product's pinned complements (slugs separated by commas) and exclusion.
async fn admin_product_recs(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, body: String) -> Response {
    let p = pairs(&body);
    let id = one(&p, "id");
    let to = format!("/admin/products/{}", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let pinned_text = one(&p, "pinned");
    let pinned: Vec<String> = pinned_text.split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    match app.recommend.save_settings(&actor, &id, &pinned, one(&p, "excluded") == "1").await {
        Ok(_) => back(&to, &[("rec_notice", "rec-saved")]),
        Err(e) => super::refused_fields(e, &to, &[("pinned", &pinned_text)]),
    }
}

async fn admin_webhook_create(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: tower_sessions::Session, body: String) -> Response {
    let to = "/admin/webhooks";
    if let Err(r) = admin_actor(&caller, to) {
        return r;
    }
    let p = pairs(&body);
    let events: Vec<String> = p.iter().filter(|(k, _)| k == "events").map(|(_, v)| v.clone()).collect();
    let (url, description) = (one(&p, "url"), one(&p, "description"));
    match app.notify.create_endpoint(&url, &events, &description).await {
        Ok(ep) => {
            let _ = session.insert(crate::edge::session::NEW_WEBHOOK_SECRET, (ep.id.clone(), ep.secret.clone())).await;
            back(to, &[("id", &ep.id), ("notice", "webhook-created")])
        }
        Err(e) => super::refused_fields(e, to, &[("url", &url), ("description", &description)]),
    }
}

/// `action`: enable, disable, rotate or delete.
async fn admin_webhook_change(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: tower_sessions::Session, body: String) -> Response {
    let p = pairs(&body);
    let id = one(&p, "id");
    let to = format!("/admin/webhooks?id={}", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
    if let Err(r) = admin_actor(&caller, &to) {
        return r;
    }
    let done = match one(&p, "action").as_str() {
        "enable" => app.notify.update_endpoint(&id, None, None, Some(true)).await.map(|_| "webhook-enabled"),
        "disable" => app.notify.update_endpoint(&id, None, None, Some(false)).await.map(|_| "webhook-disabled"),
        "rotate" => match app.notify.rotate_secret(&id).await {
            Ok(ep) => {
                let _ = session.insert(crate::edge::session::NEW_WEBHOOK_SECRET, (ep.id.clone(), ep.secret.clone())).await;
                Ok("webhook-rotated")
            }
            Err(e) => Err(e),
        },
        "delete" => match app.notify.delete_endpoint(&id).await {
            Ok(()) => return back("/admin/webhooks", &[("notice", "webhook-deleted")]),
            Err(e) => Err(e),
        },
        _ => return back(&to, &[("error", "err-try-again")]),
    };
    match done {
        Ok(msg) => {
            let (path, query) = to.split_once('?').unwrap_or((&to, ""));
            let mut kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            kept.push(("notice".into(), msg.into()));
            let kept: Vec<(&str, &str)> = kept.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            back(path, &kept)
        }
        Err(e) => super::refused(e, &to),
    }
}

// ------------------------------------------------------------------ promotions

/// The panel's promotion form as the API's input; what cannot be read is said by field.
async fn promotion_input(app: &AppState, p: &[(String, String)]) -> Result<crate::domain::promotion::PromotionInput, Vec<crate::domain::user::FieldError>> {
    use crate::domain::money::parse_decimal;
    use crate::domain::promotion::{AppliesTo, PromoKind, PromotionInput, Scope};
    use crate::domain::user::FieldError;
    let mut errors = Vec::new();
    let text = |k: &str| one(p, k).trim().to_string();
    let kind = PromoKind::parse(&text("kind")).unwrap_or_else(|| {
        errors.push(FieldError::coded("field-promo-kind", "kind", &[]));
        PromoKind::Percent
    });
    let value = match kind {
        PromoKind::Percent => text("value").parse::<i64>().unwrap_or(0),
        PromoKind::Fixed => parse_decimal(&text("value")).unwrap_or(0),
        PromoKind::FreeShipping => 0,
    };
    let scope = Scope::parse(&text("scope")).unwrap_or_else(|| {
        errors.push(FieldError::coded("field-promo-scope", "scope", &[]));
        Scope::Order
    });
    let mut ids = Vec::new();
    for id in text("applies_to.ids").split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
        // a product may be named by its slug: the promotion keeps its id
        let id = match scope {
            Scope::Products => match app.catalog.active_view(id).await {
                Ok(Some(view)) => view.id,
                _ => id.to_string(),
            },
            _ => id.to_string(),
        };
        ids.push(id);
    }
    let min = text("min_subtotal_cents");
    let min_subtotal_cents = if min.is_empty() {
        0
    } else {
        parse_decimal(&min).unwrap_or_else(|| {
            errors.push(FieldError::coded("field-promo-min", "min_subtotal_cents", &[]));
            0
        })
    };
    let mut date = |k: &str| {
        let t = text(k);
        if t.is_empty() {
            return None;
        }
        match chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M").or_else(|_| chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S")) {
            Ok(d) => Some(d.and_utc()),
            Err(_) => {
                errors.push(FieldError::coded("field-promo-date", k, &[]));
                None
            }
        }
    };
    let (starts_at, ends_at) = (date("starts_at"), date("ends_at"));
    let limit = |k: &str| {
        let t = text(k);
        if t.is_empty() {
            return None;
        }
        Some(t.parse::<i64>().unwrap_or(0))
    };
    let (usage_limit, per_customer_limit) = (limit("usage_limit"), limit("per_customer_limit"));
    let code = Some(text("code")).filter(|c| !c.is_empty());
    let input = PromotionInput { name: text("name"), code, kind, value, applies_to: AppliesTo { scope, ids }, min_subtotal_cents, starts_at, ends_at, usage_limit, per_customer_limit, active: one(p, "active") == "1" };
    if !errors.is_empty() {
        // every problem at once: the ones of the form and the ones of the promotion
        if let Err(more) = input.clone().validate() {
            let seen: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
            errors.extend(more.into_iter().filter(|m| !seen.contains(&m.field)));
        }
        return Err(errors);
    }
    Ok(input)
}

/// Creates a promotion, or changes the one `id` names.
async fn admin_promotion_save(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, body: String) -> Response {
    let p = pairs(&body);
    let id = one(&p, "id");
    let actor = match admin_actor(&caller, "/admin/promotions") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let keep_keys = ["name", "code", "kind", "value", "scope", "applies_to.ids", "min_subtotal_cents", "starts_at", "ends_at", "usage_limit", "per_customer_limit", "active", "id"];
    let kept: Vec<(String, String)> = keep_keys.iter().map(|k| (k.to_string(), one(&p, k))).filter(|(_, v)| !v.is_empty()).chain([("refused".to_string(), "1".to_string())]).collect();
    let keep: Vec<(&str, &str)> = kept.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let input = match promotion_input(&app, &p).await {
        Ok(i) => i,
        Err(errors) => return super::refused_fields(crate::services::error::Failure::invalid(errors), "/admin/promotions", &keep),
    };
    let saved = if id.is_empty() { app.promotions.create(input, &actor).await } else { app.promotions.update(&id, input, &actor).await };
    match saved {
        Ok(_) => back("/admin/promotions", &[("notice", "promotion-saved")]),
        Err(e) => super::refused_fields(e, "/admin/promotions", &keep),
    }
}

/// Pauses (`active=0`) or resumes (`active=1`) a promotion.
async fn admin_promotion_active(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, body: String) -> Response {
    let p = pairs(&body);
    let actor = match admin_actor(&caller, "/admin/promotions") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let active = one(&p, "active") == "1";
    match app.promotions.set_active(&one(&p, "id"), active, &actor).await {
        Ok(_) => back("/admin/promotions", &[("notice", if active { "promotion-resumed" } else { "promotion-paused" })]),
        Err(e) => super::refused(e, "/admin/promotions"),
    }
}

/// A return's step from the order page: `action` is approve, reject (`note`),
/// receive (`qty_<sku>`, `cond_<sku>`) or refund (`iban`).
async fn admin_return_step(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let (order_id, return_id) = (get("order_id"), get("return_id"));
    let to = format!("{}#returns", order_page(&order_id));
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    use crate::services::admin::ReturnStep;
    let step = match get("action").as_str() {
        "approve" => ReturnStep::Approve,
        "reject" => ReturnStep::Reject { note: get("note") },
        "receive" => ReturnStep::Receive {
            lines: form
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("qty_").map(|sku| (sku, v)))
                .map(|(sku, v)| crate::domain::returns::ReceivedLine { sku: sku.to_string(), quantity: v.trim().parse().unwrap_or(-1), condition: get(&format!("cond_{sku}")) })
                .collect(),
        },
        "refund" => ReturnStep::Refund { iban: Some(get("iban")).filter(|i| !i.is_empty()) },
        _ => return back(&to, &[("error", "err-try-again")]),
    };
    match app.desk.return_step(&actor, &order_id, &return_id, step).await {
        Ok(o) => {
            let status = o.returns.iter().find(|r| r.id == return_id).map(|r| r.status.as_str()).unwrap_or_default();
            back(&order_page(&order_id), &[("notice", &notice("msg-return-step", &[("id", &return_id), ("status", status)]))])
        }
        Err(e) => super::refused(e, &order_page(&order_id)),
    }
}

#[derive(Deserialize)]
pub struct RegenerateForm {
    #[serde(default)]
    document_id: String,
    #[serde(default)]
    back: String,
}

async fn admin_document_regenerate(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<RegenerateForm>) -> Response {
    let to = crate::domain::text::local_path(&f.back).filter(|p| p.starts_with("/admin/")).unwrap_or_else(|| "/admin/documents".to_string());
    let actor = match admin_actor(&caller, &to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match app.invoicing.regenerate(&actor, &f.document_id).await {
        Ok(d) => back(&to, &[("notice", &notice("msg-document-regenerated", &[("number", &d.full_number())]))]),
        Err(e) => super::refused(e, &to),
    }
}

async fn admin_seller_save(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let to = "/admin/invoicing";
    let actor = match admin_actor(&caller, to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string()).unwrap_or_default();
    let seller = crate::domain::billing::Seller {
        name: get("name"),
        cui: get("cui"),
        reg_com: get("reg_com"),
        street: get("street"),
        city: get("city"),
        county: get("county"),
        sector: get("sector").trim().parse().ok(),
        postal_code: get("postal_code"),
        iban: get("iban"),
        bank: get("bank"),
        vat_payer: get("vat_payer") == "true",
        email: get("email"),
        phone: get("phone"),
        capital: get("capital"),
    };
    match app.invoicing.save_seller(&actor, &seller).await {
        Ok(_) => back(to, &[("notice", "msg-seller-saved")]),
        Err(e) => {
            // the typed values come back with the errors
            let keep: Vec<(&str, &str)> = form.iter().filter(|(k, _)| k != "vat_payer").map(|(k, v)| (k.as_str(), v.as_str())).collect();
            super::refused_fields(e, to, &keep)
        }
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    refresh_token: String,
}

async fn admin_efactura_token(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<TokenForm>) -> Response {
    let to = "/admin/invoicing";
    let actor = match admin_actor(&caller, to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match app.invoicing.set_refresh_token(&actor, &f.refresh_token).await {
        Ok(until) => back(to, &[("notice", &notice("msg-efactura-token-saved", &[("date", &until.format("%d.%m.%Y").to_string())]))]),
        Err(crate::services::invoices::InvoiceError::Efactura(m) | crate::services::invoices::InvoiceError::NotConfigured(m)) => back(to, &[("error", &notice("err-efactura", &[("message", &m)]))]),
        Err(e) => super::refused_fields(e, to, &[]),
    }
}
