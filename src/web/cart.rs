//! The cart and checkout forms: add, change, remove, place the order.
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{post, MethodRouter};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::edge::caller::Caller;
use crate::edge::session::{browser_cart, server_error, SESSION_CART_KEY};
use crate::domain::user::Access;
use crate::edge::ServerState;
use crate::domain::order::{Address, ShippingMethod};
use crate::services::orders::{OrderError, PlaceOrder};
use crate::i18n::link_message;
use crate::services::error::Failure;
use crate::state::AppState;

use super::{back, local_back, with_param};

/// The cart and checkout form routes (anyone: a guest has a cart too).
pub(super) fn routes() -> Vec<(&'static str, Access, MethodRouter<ServerState>)> {
    vec![
        ("/cart/add", Access::Public, post(cart_add)),
        ("/cart/add-all", Access::Public, post(cart_add_all)),
        ("/cart/update", Access::Public, post(cart_update)),
        ("/cart/remove", Access::Public, post(cart_remove)),
        ("/cart/coupon", Access::Public, post(coupon_apply)),
        ("/cart/coupon/remove", Access::Public, post(coupon_remove)),
        ("/checkout", Access::Public, post(checkout)),
    ]
}

/// What the cart page says about a refused line, as a code it words itself
/// (sold out, only n left, gone, or the failure's own message).
fn cart_message(e: OrderError) -> String {
    match e {
        OrderError::NotEnough { available: 0, .. } => "sold-out".into(),
        OrderError::NotEnough { available, .. } => format!("only-available:{available}"),
        OrderError::UnknownSku(_) => "no-longer-available".into(),
        other => {
            let f = Failure::from(other);
            match f.fields.first() {
                Some(e) if !e.code.is_empty() => link_message(&e.code, &e.args),
                _ => link_message(f.code, &f.args),
            }
        }
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

async fn cart_add(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<CartForm>) -> Response {
    let back = local_back(f.back.as_deref(), "/cart");
    let owner = match browser_cart(&caller, &session, true).await {
        Ok(Some(o)) => o,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(r) => return r,
    };
    match app.carts.add(&owner, f.sku.trim(), parse_qty(&f.quantity)).await {
        Ok(_) => Redirect::to(&with_param(&back, "added", f.sku.trim())).into_response(),
        Err(OrderError::Store(e)) => super::refused(e, &back),
        Err(e) => Redirect::to(&with_param(&back, "cart_error", &cart_message(e))).into_response(),
    }
}

#[derive(Deserialize)]
pub struct AddAllForm {
    /// SKUs separated by commas (one of each goes in the cart).
    #[serde(default)]
    skus: String,
}

/// "Add all to the cart" of a "frequently bought together" bundle: one of
/// each; what cannot be added (sold out meanwhile) is said on the cart page.
async fn cart_add_all(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<AddAllForm>) -> Response {
    let skus: Vec<&str> = f.skus.split(',').map(str::trim).filter(|s| !s.is_empty()).take(20).collect();
    if skus.is_empty() {
        return Redirect::to("/cart").into_response();
    }
    let owner = match browser_cart(&caller, &session, true).await {
        Ok(Some(o)) => o,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(r) => return r,
    };
    let mut refused = None;
    for sku in skus {
        match app.carts.add(&owner, sku, 1).await {
            Ok(_) => {}
            Err(OrderError::Store(e)) => return super::refused(e, "/cart"),
            Err(e) => refused = refused.or(Some((sku.to_string(), cart_message(e)))),
        }
    }
    match refused {
        Some((sku, message)) => back("/cart", &[("error", &message), ("sku", &sku)]),
        None => Redirect::to("/cart").into_response(),
    }
}

async fn cart_update(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<CartForm>) -> Response {
    let owner = match browser_cart(&caller, &session, false).await {
        Ok(Some(o)) => o,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(r) => return r,
    };
    let q = parse_qty(&f.quantity);
    let result = if q <= 0 { app.carts.remove(&owner, &f.sku).await } else { app.carts.set_quantity(&owner, &f.sku, q).await };
    match result {
        Ok(_) => Redirect::to("/cart").into_response(),
        Err(OrderError::Store(e)) => super::refused(e, "/cart"),
        Err(e) => back("/cart", &[("error", &cart_message(e)), ("sku", &f.sku)]),
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
pub struct CouponForm {
    #[serde(default)]
    code: String,
}

/// Enters a coupon code; a refused one is said next to the field, the code kept.
async fn coupon_apply(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<CouponForm>) -> Response {
    let owner = match browser_cart(&caller, &session, false).await {
        Ok(Some(o)) => o,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(r) => return r,
    };
    match app.carts.apply_coupon(&owner, &f.code).await {
        Ok(_) => Redirect::to("/cart?coupon=applied").into_response(),
        Err(OrderError::Store(e)) => super::refused(e, "/cart"),
        Err(e) => back("/cart", &[("coupon_error", &cart_message(e)), ("code", f.code.trim())]),
    }
}

async fn coupon_remove(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session) -> Response {
    if let Ok(Some(owner)) = browser_cart(&caller, &session, false).await {
        if let Err(OrderError::Store(e)) = app.carts.remove_coupon(&owner).await {
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
    /// ISO 3166-2:RO code of the county.
    #[serde(default)]
    county: String,
    /// Bucharest's sector, 1–6 (empty elsewhere).
    #[serde(default)]
    sector: String,
    /// `person` (the default) or `company`.
    #[serde(default)]
    billing_type: String,
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    cui: String,
    #[serde(default)]
    reg_com: String,
    /// The company's registered office as ANAF's register gave it (JSON; the shipping address when absent).
    #[serde(default)]
    billing_address: String,
    #[serde(default)]
    shipping_method: String,
    #[serde(default)]
    idempotency_key: String,
    /// `cod` (the default) or `bank_transfer`.
    #[serde(default)]
    payment_method: String,
    /// A guest's e-mail (checkout without an account).
    #[serde(default)]
    email: String,
}

async fn checkout(State(app): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, session: Session, Form(f): Form<CheckoutForm>) -> Response {
    let guest_cart_id = match &caller.0 {
        Some(_) => None,
        None => match session.get::<String>(SESSION_CART_KEY).await {
            Ok(Some(id)) => Some(id),
            Ok(None) => return Redirect::to("/cart").into_response(),
            Err(e) => return server_error(e),
        },
    };
    let address = Address {
        name: f.name.clone(),
        street: f.street.clone(),
        city: f.city.clone(),
        postal_code: f.postal_code.clone(),
        country: f.country.clone(),
        phone: f.phone.clone(),
        county: f.county.clone(),
        // an unreadable sector is no sector: the address check says so next to the field
        sector: f.sector.trim().parse().ok(),
    };
    let billing = (f.billing_type == "company").then(|| crate::domain::billing::Billing {
        kind: crate::domain::billing::BuyerKind::Company,
        company_name: f.company_name.clone(),
        cui: f.cui.clone(),
        reg_com: f.reg_com.clone(),
        address: serde_json::from_str::<Address>(&f.billing_address).ok(),
        ..Default::default()
    });
    let method = ShippingMethod::parse(&f.shipping_method).unwrap_or_default();
    let payment_method = match crate::domain::payment::PaymentMethod::from_input(Some(&f.payment_method)) {
        Ok(m) => m,
        Err(e) => return super::refused_fields(e, "/checkout", &[]),
    };
    let req = PlaceOrder { shipping_address: address, shipping_method: method, items: None, idempotency_key: f.idempotency_key.clone(), payment_method, coupon: None, billing };
    let keep: Vec<(&str, &str)> = vec![
        ("name", &f.name), ("street", &f.street), ("city", &f.city), ("postal_code", &f.postal_code), ("country", &f.country), ("phone", &f.phone),
        ("county", &f.county), ("sector", &f.sector), ("billing_type", &f.billing_type), ("company_name", &f.company_name), ("cui", &f.cui), ("reg_com", &f.reg_com),
        ("shipping_method", method.as_str()), ("email", &f.email), ("payment_method", &f.payment_method),
    ];
    let placed = match (&caller.0, &guest_cart_id) {
        (Some(p), _) => app.orders.place(&p.user, req).await,
        (None, Some(cart)) => app.orders.place_as_guest(cart, &f.email, req).await,
        (None, None) => return Redirect::to("/cart").into_response(),
    };
    match placed {
        Ok((order, _)) if order.guest_email.is_some() => Redirect::to(&format!("/orders/{}?token={}&placed=1", order.id, app.orders.guest_token(&order.id))).into_response(),
        Ok((order, _)) => Redirect::to(&format!("/account/orders/{}?placed=1", order.id)).into_response(),
        Err(OrderError::Short(lines)) => {
            let skus = lines.iter().map(|l| format!("{}:{}", l.sku, l.available)).collect::<Vec<_>>().join(",");
            back("/cart", &[("error", &link_message("msg-ran-out", &[("items".into(), skus)]))])
        }
        Err(OrderError::EmptyCart) => Redirect::to("/cart").into_response(),
        Err(e) => {
            // the form names the buyer's fields without their `billing.` prefix
            let mut f = super::renamed(e, "billing.company_name", "company_name");
            for (from, to) in [("billing.cui", "cui"), ("billing.reg_com", "reg_com")] {
                f = super::renamed(f, from, to);
            }
            super::refused_fields(f, "/checkout", &keep)
        }
    }
}

