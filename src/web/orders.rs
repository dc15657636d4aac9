//! A shopper's orders: claim a guest order into the account, cancel one,
//! return products (the right of withdrawal, OUG 34/2014: from the order's
//! page, or by the withdrawal form with the order's number and e-mail).
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{post, MethodRouter};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::edge::caller::{client_ip, rate_limit, rate_limit_window, Caller, PeerAddr};
use crate::edge::session::{server_error, sign_in};
use crate::domain::order::Order;
use crate::domain::payment::PaymentMethod;
use crate::domain::returns::{RequestLine, ReturnRequest};
use crate::domain::user::{Access, Email, FieldError, Role};
use crate::edge::ServerState;
use crate::services::accounts::AccountError;
use crate::services::orders::OrderError;
use crate::state::AppState;

use super::back;

pub(super) fn routes() -> Vec<(&'static str, Access, MethodRouter<ServerState>)> {
    vec![
        ("/orders/cancel", Access::Authenticated, post(cancel_order)),
        ("/orders/claim", Access::Public, post(claim_order)),
        // the order's owner, or a guest holding its link's token (the handler checks)
        ("/orders/return", Access::Public, post(request_return)),
        ("/withdrawal", Access::Public, post(withdrawal)),
    ]
}

#[derive(Deserialize)]
pub struct ClaimForm {
    #[serde(default)]
    order_id: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// From a guest order's confirmation: an account with the guest's e-mail
/// and the order in it, in one step.
async fn claim_order(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, session: Session, Form(f): Form<ClaimForm>) -> Response {
    let here = format!("/orders/{}", form_urlencoded::byte_serialize(f.order_id.as_bytes()).collect::<String>());
    let fail = |msg: &str| back(&here, &[("token", f.token.as_str()), ("placed", "1"), ("err.password", msg)]);
    let order = match app.orders.guest_order(&f.order_id, &f.token).await {
        Ok(o) => o,
        Err(OrderError::NotFound) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return server_error(e),
    };
    let ip = client_ip(&app, &headers, peer);
    if rate_limit(&app, &[format!("register:{ip}")], app.config.register_rate_per_min).await.is_err() {
        return fail("msg-register-throttled");
    }
    let email = order.guest_email.clone().unwrap_or_default();
    let user = match app.accounts.register(&email, &f.password, &order.shipping_address.name, Role::Customer).await {
        Ok(u) => u,
        Err(AccountError::Invalid(fe)) => return fail(&super::field_code(&fe)),
        Err(AccountError::EmailTaken) => return fail("msg-claim-email-taken"),
        Err(e) => return server_error(e),
    };
    match app.orders.claim_guest_order(&f.order_id, &f.token, &user).await {
        Ok(_) => {}
        Err(OrderError::Store(e)) => return server_error(e),
        Err(e) => tracing::warn!(error = %e, order = %f.order_id, "guest order not moved into the new account"),
    }
    if let Err(r) = sign_in(&session, &user).await {
        return r;
    }
    back(&format!("/account/orders/{}", f.order_id), &[("notice", "order-claimed")])
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    order_id: String,
}

async fn cancel_order(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(f): Form<CancelForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login").into_response() };
    let to = format!("/account/orders/{}", form_urlencoded::byte_serialize(f.order_id.as_bytes()).collect::<String>());
    match app.orders.cancel_own(&p.user, &f.order_id).await {
        Ok(_) => back(&to, &[("notice", "order-cancelled")]),
        Err(e) => super::refused(e, &to),
    }
}


fn encoded(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A redirect that lands on `#anchor` of its page (a form low on a long page).
fn at_anchor(mut res: Response, anchor: &str) -> Response {
    let to = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(|l| format!("{l}#{anchor}"));
    if let Some(v) = to.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `lines[3].quantity` → 3: the request line a refusal is about.
fn line_index(field: &str) -> Option<usize> {
    field.strip_prefix("lines[")?.split_once(']')?.0.parse().ok()
}

/// From an order's page: return some of its units. `qty_<sku>` per line (empty
/// is none), `reason` (optional), `iban` (required when it was paid cash on
/// delivery: the money goes back there); a guest sends the link's `token`.
/// Every refusal goes back next to its field, what was typed kept.
async fn request_return(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let (order_id, token) = (get("order_id"), get("token"));
    if order_id.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (found, to) = if token.is_empty() {
        let page = format!("/account/orders/{}", encoded(&order_id));
        let Some(p) = caller.0 else { return Redirect::to(&format!("/login?next={}", encoded(&page))).into_response() };
        (app.orders.get(&p.user, &order_id).await, page)
    } else {
        (app.orders.guest_order(&order_id, &token).await, format!("/orders/{}", encoded(&order_id)))
    };
    let order = match found {
        Ok(o) => o,
        Err(OrderError::NotFound) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return server_error(e),
    };
    // one request line per order line, in its order: a refusal of `lines[i]` is about order line i
    let mut errors = Vec::new();
    let mut keep: Vec<(String, String)> = vec![("token".into(), token.clone())];
    let mut lines = Vec::new();
    for l in &order.lines {
        let field = format!("qty_{}", l.sku);
        let typed = get(&field);
        let quantity = match typed.parse::<i64>() {
            _ if typed.is_empty() => 0,
            Ok(n) => n,
            Err(_) => {
                errors.push(FieldError::coded("field-return-quantity", &field, &[("max", &order.returnable(&l.sku).to_string())]));
                0
            }
        };
        if !typed.is_empty() {
            keep.push((field, typed));
        }
        lines.push(RequestLine { sku: l.sku.clone(), quantity });
    }
    let (reason, iban) = (get("reason"), get("iban"));
    let cod = order.payment.method == PaymentMethod::Cod;
    if cod && iban.is_empty() {
        errors.push(FieldError::coded("field-return-iban-needed", "iban", &[]));
    }
    let req = ReturnRequest { lines, reason: reason.clone(), iban: Some(iban.clone()).filter(|i| cod && !i.is_empty()) };
    keep.extend([("reason".to_string(), reason), ("iban".to_string(), iban)]);
    let named = |es: Vec<FieldError>| -> Vec<FieldError> {
        es.into_iter()
            .map(|e| match line_index(&e.field).and_then(|i| order.lines.get(i)) {
                Some(l) => {
                    let field = format!("qty_{}", l.sku);
                    e.on(&field)
                }
                None => e,
            })
            .collect()
    };
    let refuse = |es: Vec<FieldError>| {
        let keep: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        at_anchor(super::refused_fields(OrderError::Invalid(named(es)), &to, &keep), "returns")
    };
    // the rules' own check first, so every problem is said at once
    if let Err(es) = order.clone().request_return(&req, chrono::Utc::now()) {
        errors.extend(es);
    }
    if !errors.is_empty() {
        return refuse(errors);
    }
    match app.orders.request_return(&order.id, &req).await {
        Ok(_) => back(&to, &[("token", &token), ("notice", "return-requested")]),
        Err(OrderError::Invalid(es)) => refuse(es),
        Err(e) => {
            let keep: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            super::refused_fields(e, &to, &keep)
        }
    }
}

#[derive(Deserialize)]
pub struct WithdrawalForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    email: String,
    /// For a cash-on-delivery order: where the money goes back (optional here).
    #[serde(default)]
    iban: String,
    #[serde(default)]
    message: String,
}

/// An order number as a shopper may type it (`VT-000123`, `vt 123`, `#123`, `123`), written the shop's way.
fn typed_order_number(raw: &str) -> Option<String> {
    let digits = raw.trim().trim_start_matches(|c: char| c.is_ascii_alphabetic() || matches!(c, '-' | '#' | ' '));
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok().filter(|n| *n > 0).map(crate::domain::order::order_number)
}

/// The withdrawal form (OUG 34/2014 annex 2, online): the order's number and
/// e-mail ask to return every unit still returnable. The answer is the same
/// whether or not such an order exists (the work runs after it), so the form
/// tells no one which addresses have orders; the order's e-mail gets the
/// confirmation (`order.return_requested`).
async fn withdrawal(State(app): State<AppState>, headers: HeaderMap, PeerAddr(peer): PeerAddr, Form(f): Form<WithdrawalForm>) -> Response {
    let email = f.email.trim().to_string();
    let message = f.message.trim().to_string();
    let iban: String = f.iban.split_whitespace().collect::<String>().to_uppercase();
    let keep = [("number", f.number.trim()), ("email", email.as_str()), ("iban", f.iban.trim()), ("message", message.as_str())];
    let mut errors = Vec::new();
    let number = typed_order_number(&f.number);
    if number.is_none() {
        let code = if f.number.trim().is_empty() { "field-order-number-required" } else { "field-order-number-invalid" };
        errors.push(FieldError::coded(code, "number", &[]));
    }
    if let Err(e) = Email::parse(&email) {
        errors.push(e.on("email"));
    }
    if !iban.is_empty() && !crate::domain::billing::valid_iban(&iban) {
        errors.push(FieldError::coded("field-iban-invalid", "iban", &[]));
    }
    if message.chars().count() > 1000 {
        errors.push(FieldError::coded("field-max-chars", "message", &[("max", "1000")]));
    }
    let Some(number) = number.filter(|_| errors.is_empty()) else {
        return super::refused_fields(crate::services::error::Failure::invalid(errors), "/withdrawal", &keep);
    };
    let ip = client_ip(&app, &headers, peer);
    let limits = [(format!("withdrawal:ip:{ip}"), 10), (format!("withdrawal:email:{}", email.to_lowercase()), 5)];
    if rate_limit_window(&app, &limits, std::time::Duration::from_secs(15 * 60)).await.is_err() {
        let mut pairs = vec![("error", "withdrawal-throttled")];
        pairs.extend(keep);
        return back("/withdrawal", &pairs);
    }
    let reason = if message.is_empty() { "Formular de retragere".to_string() } else { format!("Formular de retragere: {message}") };
    let sent = crate::i18n::link_message("msg-withdrawal-sent", &[("number".into(), number.clone())]);
    tokio::spawn(withdraw(app, number, email.to_lowercase(), reason, Some(iban).filter(|i| !i.is_empty())));
    back("/withdrawal", &[("notice", &sent)])
}

/// The order the withdrawal form names: a guest's with that e-mail, or one
/// of the account with that e-mail (the last 100 of each: the 14 days are recent).
async fn order_for_withdrawal(app: &AppState, number: &str, email: &str) -> Option<Order> {
    let same = |o: &Order| o.number.eq_ignore_ascii_case(number);
    let guest = crate::ports::OrderFilter { guest_email: Some(email.to_lowercase()), ..Default::default() };
    match app.orders.search(&guest, 1, 100).await {
        Ok((orders, _)) => {
            if let Some(o) = orders.into_iter().find(same) {
                return Some(o);
            }
        }
        Err(e) => tracing::warn!(error = %e, "withdrawal form: guest orders not read"),
    }
    let user = match app.accounts.user_by_email(email).await {
        Ok(u) => u?,
        Err(e) => {
            tracing::warn!(error = %e, "withdrawal form: the account not read");
            return None;
        }
    };
    match app.orders.list(&user, 1, 100).await {
        Ok((orders, _)) => orders.into_iter().find(same),
        Err(e) => {
            tracing::warn!(error = %e, "withdrawal form: the account's orders not read");
            None
        }
    }
}

/// The withdrawal form's work, after its answer: a return of every unit still returnable.
async fn withdraw(app: AppState, number: String, email: String, reason: String, iban: Option<String>) {
    let Some(order) = order_for_withdrawal(&app, &number, &email).await else {
        tracing::info!(number = %number, "withdrawal form: no order with this number and e-mail");
        return;
    };
    if !order.may_return(chrono::Utc::now()) {
        tracing::info!(order = %order.id, status = order.status.as_str(), "withdrawal form: the order cannot be returned now");
        return;
    }
    let lines: Vec<RequestLine> = order.lines.iter().map(|l| RequestLine { sku: l.sku.clone(), quantity: order.returnable(&l.sku) }).filter(|l| l.quantity > 0).collect();
    if lines.is_empty() {
        tracing::info!(order = %order.id, "withdrawal form: every unit is already in a return");
        return;
    }
    let reason: String = reason.chars().take(1000).collect();
    let iban = iban.filter(|_| order.payment.method == PaymentMethod::Cod);
    match app.orders.request_return(&order.id, &ReturnRequest { lines, reason, iban }).await {
        Ok(_) => tracing::info!(order = %order.id, "withdrawal form: return requested"),
        Err(e) => tracing::warn!(error = %e, order = %order.id, "withdrawal form: the return was not recorded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_are_read_as_shoppers_type_them() {
        assert_eq!(typed_order_number("VT-000123").as_deref(), Some("VT-000123"));
        assert_eq!(typed_order_number(" vt 123 ").as_deref(), Some("VT-000123"));
        assert_eq!(typed_order_number("#42").as_deref(), Some("VT-000042"));
        assert_eq!(typed_order_number("").as_deref(), None);
        assert_eq!(typed_order_number("VT-12a").as_deref(), None);
        assert_eq!(typed_order_number("0").as_deref(), None);
    }

    #[test]
    fn a_refused_request_line_is_found_by_its_index() {
        assert_eq!(line_index("lines[3].quantity"), Some(3));
        assert_eq!(line_index("lines[0].sku"), Some(0));
        assert_eq!(line_index("reason"), None);
    }
}
