//! Browser form posts (sign in, register, sign out, account changes). They
//! work without JavaScript: success and failure both answer with a redirect
//! (303), failures carrying each field's message back to the form.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{post, MethodRouter};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use crate::edge::caller::{client_ip, rate_limit, Caller, PeerAddr};
use crate::edge::session::{browser_cart, merge_guest_cart, server_error, sign_in, SESSION_CART_KEY};
use crate::domain::user::{Access, Role};
use crate::i18n::Locale;
use crate::edge::ServerState;
use crate::domain::order::{Address, ShippingMethod};
use crate::services::accounts::AccountError;
use crate::services::orders::{OrderError, PlaceOrder};
use crate::state::AppState;

/// The form routes and who may post to each (the handlers check it: an
/// anonymous visitor is sent to sign in, another role gets 403).
pub fn routes() -> Vec<(&'static str, Access, MethodRouter<ServerState>)> {
    use Access::{Authenticated, Public};
    const ADMIN: Access = Access::ADMIN;
    vec![
        ("/login", Public, post(login)),
        ("/register", Public, post(register)),
        ("/logout", Public, post(logout)),
        ("/account/password", Authenticated, post(change_password)),
        ("/account/profile", Authenticated, post(update_profile)),
        ("/cart/add", Public, post(cart_add)),
        ("/cart/update", Public, post(cart_update)),
        ("/cart/remove", Public, post(cart_remove)),
        ("/checkout", Public, post(checkout)),
        ("/orders/cancel", Authenticated, post(cancel_order)),
        ("/orders/claim", Public, post(claim_order)),
        ("/admin/orders/status", ADMIN, post(admin_order_status)),
        ("/admin/users/update", ADMIN, post(admin_user_update)),
        ("/admin/users/create", ADMIN, post(admin_user_create)),
    ]
}

pub fn router() -> Router<ServerState> {
    routes().into_iter().fold(Router::new(), |router, (path, _, handler)| router.route(path, handler))
}

fn local_back(to: Option<&str>, fallback: &str) -> String {
    match to {
        Some(t) if t.starts_with('/') && !t.starts_with("//") && !t.contains('\\') => t.to_string(),
        _ => fallback.to_string(),
    }
}

fn with_param(path: &str, key: &str, value: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(k, _)| k != key && k != "cart_error" && k != "added").collect();
    pairs.push((key.to_string(), value.to_string()));
    format!("{base}?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

fn cart_message(e: &OrderError, loc: Locale) -> String {
    match e {
        OrderError::NotEnough { available, .. } if *available == 0 => "sold-out".into(),
        OrderError::NotEnough { available, .. } => format!("only-available:{available}"),
        OrderError::Invalid(errors) => errors.iter().map(|e| e.in_locale(loc)).collect::<Vec<_>>().join("; "),
        OrderError::UnknownSku(_) => "no-longer-available".into(),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
pub struct CartForm {
    #[serde(default)]
    sku: String,
    quantity: Option<String>,
    back: Option<String>,
}

fn parse_qty(q: &Option<String>) -> i64 {
    q.as_deref().and_then(|s| s.trim().parse().ok()).unwrap_or(1)
}

async fn cart_add(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, session: Session, Form(f): Form<CartForm>) -> Response {
    let back = local_back(f.back.as_deref(), "/cart");
    let owner = match browser_cart(&caller, &session, true).await {
        Ok(Some(o)) => o,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(r) => return r,
    };
    match app.carts.add(&owner, f.sku.trim(), parse_qty(&f.quantity)).await {
        Ok(_) => Redirect::to(&with_param(&back, "added", f.sku.trim())).into_response(),
        Err(OrderError::Store(e)) => server_error(e),
        Err(e) => Redirect::to(&with_param(&back, "cart_error", &cart_message(&e, loc))).into_response(),
    }
}

async fn cart_update(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, session: Session, Form(f): Form<CartForm>) -> Response {
    let owner = match browser_cart(&caller, &session, false).await {
        Ok(Some(o)) => o,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(r) => return r,
    };
    let q = parse_qty(&f.quantity);
    let result = if q <= 0 { app.carts.remove(&owner, &f.sku).await } else { app.carts.set_quantity(&owner, &f.sku, q).await };
    match result {
        Ok(_) => Redirect::to("/cart").into_response(),
        Err(OrderError::Store(e)) => server_error(e),
        Err(e) => back("/cart", &[("error", &cart_message(&e, loc)), ("sku", &f.sku)]),
    }
}

async fn cart_remove(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<CartForm>) -> Response {
    if let Ok(Some(owner)) = browser_cart(&caller, &session, false).await {
        if let Err(OrderError::Store(e)) = app.carts.remove(&owner, &f.sku).await {
            return server_error(e);
        }
    }
    Redirect::to("/cart").into_response()
}

#[derive(Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    shipping_method: String,
    #[serde(default)]
    idempotency_key: String,
    /// A guest's e-mail (checkout without an account).
    #[serde(default)]
    email: String,
}

async fn checkout(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, session: Session, Form(f): Form<CheckoutForm>) -> Response {
    let guest_cart_id = match &caller.0 {
        Some(_) => None,
        None => match session.get::<String>(SESSION_CART_KEY).await {
            Ok(Some(id)) => Some(id),
            Ok(None) => return Redirect::to("/cart").into_response(),
            Err(e) => return server_error(e),
        },
    };
    let address = Address { name: f.name.clone(), street: f.street.clone(), city: f.city.clone(), postal_code: f.postal_code.clone(), country: f.country.clone(), phone: f.phone.clone() };
    let method = ShippingMethod::parse(&f.shipping_method).unwrap_or_default();
    let req = PlaceOrder { shipping_address: address, shipping_method: method, items: None, idempotency_key: f.idempotency_key.clone() };
    let keep: Vec<(&str, &str)> = vec![
        ("name", &f.name), ("street", &f.street), ("city", &f.city), ("postal_code", &f.postal_code), ("country", &f.country), ("phone", &f.phone),
        ("shipping_method", method.as_str()), ("email", &f.email),
    ];
    let placed = match (&caller.0, &guest_cart_id) {
        (Some(p), _) => app.orders.place(&p.user, req).await,
        (None, Some(cart)) => app.orders.place_as_guest(cart, &f.email, req).await,
        (None, None) => return Redirect::to("/cart").into_response(),
    };
    match placed {
        Ok((order, _)) if order.guest_email.is_some() => Redirect::to(&format!("/orders/{}?token={}&placed=1", order.id, app.orders.guest_token(&order.id))).into_response(),
        Ok((order, _)) => Redirect::to(&format!("/account/orders/{}?placed=1", order.id)).into_response(),
        Err(OrderError::Invalid(errors)) => {
            let errors: Vec<(String, String)> = errors.iter().map(|e| (format!("err.{}", e.field), e.in_locale(loc))).collect();
            let mut pairs = keep.clone();
            for (k, m) in &errors {
                pairs.push((k.as_str(), m.as_str()));
            }
            back("/checkout", &pairs)
        }
        Err(OrderError::Short(lines)) => {
            let items = lines.iter().map(|l| loc.tf("msg-ran-out-line", &[("sku", &l.sku), ("n", &l.available.to_string())])).collect::<Vec<_>>().join("; ");
            back("/cart", &[("error", &loc.tf("msg-ran-out", &[("items", &items)]))])
        }
        Err(OrderError::EmptyCart) => Redirect::to("/cart").into_response(),
        Err(OrderError::Store(e)) => server_error(e),
        Err(e) => {
            let mut pairs = keep.clone();
            let msg = e.to_string();
            pairs.push(("error", &msg));
            back("/checkout", &pairs)
        }
    }
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
async fn claim_order(State(app): State<AppState>, axum::Extension(loc): axum::Extension<Locale>, headers: HeaderMap, PeerAddr(peer): PeerAddr, session: Session, Form(f): Form<ClaimForm>) -> Response {
    let here = format!("/orders/{}", form_urlencoded::byte_serialize(f.order_id.as_bytes()).collect::<String>());
    let fail = |msg: &str| back(&here, &[("token", f.token.as_str()), ("placed", "1"), ("err.password", msg)]);
    let order = match app.orders.guest_order(&f.order_id, &f.token).await {
        Ok(o) => o,
        Err(OrderError::NotFound) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return server_error(e),
    };
    let ip = client_ip(&app, &headers, peer);
    if rate_limit(&app, &[format!("register:{ip}")], app.config.register_rate_per_min).await.is_err() {
        return fail(loc.t("msg-register-throttled"));
    }
    let email = order.guest_email.clone().unwrap_or_default();
    let user = match app.accounts.register(&email, &f.password, &order.shipping_address.name, Role::Customer).await {
        Ok(u) => u,
        Err(AccountError::Invalid(fe)) => return fail(&fe.in_locale(loc)),
        Err(AccountError::EmailTaken) => return fail(loc.t("msg-claim-email-taken")),
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
        Err(OrderError::Store(e)) => server_error(e),
        Err(e) => back(&to, &[("error", &e.to_string())]),
    }
}

/// Only local paths are followed after sign-in (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    next.and_then(crate::domain::text::local_path).unwrap_or_else(|| "/account".to_string())
}

fn back(path: &str, pairs: &[(&str, &str)]) -> Response {
    let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty())).finish();
    let to = if qs.is_empty() { path.to_string() } else { format!("{path}?{qs}") };
    Redirect::to(&to).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(State(app): State<AppState>, session: Session, headers: HeaderMap, PeerAddr(peer): PeerAddr, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let ip = client_ip(&app, &headers, peer);
    let keys = [format!("login:ip:{ip}"), format!("login:acct:{}", f.email.trim().to_lowercase())];
    if rate_limit(&app, &keys, app.config.login_rate_per_min).await.is_err() {
        return back("/login", &[("error", "login-throttled"), ("email", &f.email), ("next", &next)]);
    }
    match app.accounts.authenticate(&f.email, &f.password).await {
        Ok(user) => match sign_in(&session, &user).await {
            Ok(()) => {
                merge_guest_cart(&app, &session, &user).await;
                Redirect::to(&next).into_response()
            }
            Err(r) => r,
        },
        Err(AccountError::Store(e)) => server_error(e),
        Err(_) => back("/login", &[("error", "login-failed"), ("email", &f.email), ("next", &next)]),
    }
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn register(State(app): State<AppState>, axum::Extension(loc): axum::Extension<Locale>, headers: axum::http::HeaderMap, PeerAddr(peer): PeerAddr, session: Session, Form(f): Form<RegisterForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let keep = |field: &'static str, msg: String| -> Response {
        let key = format!("err.{field}");
        back("/register", &[(key.as_str(), msg.as_str()), ("email", &f.email), ("name", &f.name), ("next", &next)])
    };
    let ip = client_ip(&app, &headers, peer);
    if rate_limit(&app, &[format!("register:{ip}")], app.config.register_rate_per_min).await.is_err() {
        return keep("email", loc.t("msg-register-throttled").into());
    }
    match app.accounts.register(&f.email, &f.password, &f.name, Role::Customer).await {
        Ok(user) => match sign_in(&session, &user).await {
            Ok(()) => {
                merge_guest_cart(&app, &session, &user).await;
                Redirect::to(&next).into_response()
            }
            Err(r) => r,
        },
        Err(AccountError::Invalid(fe)) => keep(if fe.field == "email" { "email" } else if fe.field == "name" { "name" } else { "password" }, fe.in_locale(loc)),
        Err(AccountError::EmailTaken) => keep("email", loc.t("field-email-taken-sign-in").into()),
        Err(e) => server_error(e),
    }
}

async fn logout(session: Session) -> Response {
    let _ = session.flush().await;
    Redirect::to("/").into_response()
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, session: Session, Form(f): Form<PasswordForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.accounts.change_password(&p.user.id, &f.current_password, &f.new_password).await {
        Ok(()) => {
            // keep this browser signed in, under a new session id; every other one is signed out
            if let Err(res) = sign_in(&session, &p.user).await {
                return res;
            }
            back("/account", &[("notice", "password-changed")])
        }
        Err(AccountError::Invalid(fe)) => back("/account", &[(format!("err.{}", fe.field).as_str(), fe.in_locale(loc).as_str())]),
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
}

async fn update_profile(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, Form(f): Form<ProfileForm>) -> Response {
    let Some(p) = caller.0 else { return Redirect::to("/login?next=/account").into_response() };
    match app.accounts.update_name(&p.user.id, &f.name).await {
        Ok(_) => back("/account", &[("notice", "profile-saved")]),
        Err(AccountError::Invalid(fe)) => back("/account", &[(format!("err.{}", fe.field).as_str(), fe.in_locale(loc).as_str())]),
        Err(e) => server_error(e),
    }
}

// ------------------------------------------------------------------ admin panel forms

/// The signed-in admin, or the response for anyone else (sign in / 403).
fn admin_actor(caller: &Caller, next: &str) -> Result<crate::services::audit::Actor, Response> {
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

async fn admin_order_status(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, Form(f): Form<OrderStatusForm>) -> Response {
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
                loc.tf("msg-order-cancelled-restocked", &[("number", &o.number)])
            } else {
                loc.tf("msg-order-now", &[("number", &o.number), ("status", loc.t(&format!("status-{}", status.as_str())))])
            };
            back(&to, &[("notice", &notice)])
        }
        Err(OrderError::Store(e)) => server_error(e),
        Err(e) => back(&to, &[("error", &e.to_string())]),
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

async fn admin_user_update(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, Form(f): Form<UserUpdateForm>) -> Response {
    let to = if f.back.starts_with("/admin/users") { f.back.clone() } else { "/admin/users".to_string() };
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
                Some(true) => loc.tf("msg-user-disabled", &[("email", &u.email)]),
                Some(false) => loc.tf("msg-user-enabled", &[("email", &u.email)]),
                None => loc.tf("msg-user-role", &[("email", &u.email), ("role", loc.t(&format!("role-{}", u.role.as_str())))]),
            };
            back(&to, &[("notice", &what)])
        }
        Err(AccountError::InvalidToken) => back(&to, &[("error", "no-such-user")]),
        Err(AccountError::Invalid(fe)) => back(&to, &[("error", &fe.in_locale(loc))]),
        Err(AccountError::Store(e)) => server_error(e),
        Err(e) => back(&to, &[("error", &e.to_string())]),
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

async fn admin_user_create(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, axum::Extension(loc): axum::Extension<Locale>, Form(f): Form<UserCreateForm>) -> Response {
    let to = "/admin/users";
    let actor = match admin_actor(&caller, to) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let role = Role::parse(&f.role).unwrap_or(Role::Partner);
    let keep = [("new_email", f.email.as_str()), ("new_name", f.name.as_str()), ("new_role", role.as_str())];
    match app.desk.create_user(&actor, &f.email, &f.password, &f.name, role).await {
        Ok(u) => back(to, &[("notice", &loc.tf("msg-user-created", &[("email", &u.email), ("role", loc.t(&format!("role-{}", role.as_str())))]))]),
        Err(AccountError::Invalid(e)) => {
            let (key, message) = (format!("err.{}", e.field), e.in_locale(loc));
            let mut pairs: Vec<(&str, &str)> = keep.to_vec();
            pairs.push((key.as_str(), message.as_str()));
            back(to, &pairs)
        }
        Err(AccountError::EmailTaken) => {
            let mut pairs: Vec<(&str, &str)> = keep.to_vec();
            pairs.push(("err.email", loc.t("field-email-taken")));
            back(to, &pairs)
        }
        Err(AccountError::Store(e)) => server_error(e),
        Err(e) => back(to, &[("error", &e.to_string())]),
    }
}
