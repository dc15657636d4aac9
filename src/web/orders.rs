//! A shopper's orders: claim a guest order into the account, cancel one.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{post, MethodRouter};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::edge::caller::{client_ip, rate_limit, Caller, PeerAddr};
use crate::edge::session::{server_error, sign_in};
use crate::domain::user::{Access, Role};
use crate::edge::ServerState;
use crate::services::accounts::AccountError;
use crate::services::orders::OrderError;
use crate::state::AppState;

use super::back;

pub(super) fn routes() -> Vec<(&'static str, Access, MethodRouter<ServerState>)> {
    vec![("/orders/cancel", Access::Authenticated, post(cancel_order)), ("/orders/claim", Access::Public, post(claim_order))]
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

