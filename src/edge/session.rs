//! Browser sessions: signing a browser in, and the cart a browser is
//! shopping with (the account's when signed in, else the session's own).
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::caller::{Caller, SESSION_SINCE_KEY, SESSION_USER_KEY};
use crate::domain::user::User;
use crate::services::orders::{guest_cart, user_cart};
use crate::state::AppState;

pub const SESSION_CART_KEY: &str = "cart_id";
/// A webhook secret the panel shows once, right after it was made: `(endpoint id, secret)`.
pub const NEW_WEBHOOK_SECRET: &str = "new_webhook_secret";

/// The cart of this browser: the user's when signed in, else the session's guest cart.
pub async fn browser_cart(caller: &Caller, session: &Session, create: bool) -> Result<Option<String>, Response> {
    if let Some(p) = &caller.0 {
        return Ok(Some(user_cart(&p.user.id)));
    }
    match session.get::<String>(SESSION_CART_KEY).await.map_err(server_error)? {
        Some(id) => Ok(Some(guest_cart(&id))),
        None if create => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            session.insert(SESSION_CART_KEY, &id).await.map_err(server_error)?;
            Ok(Some(guest_cart(&id)))
        }
        None => Ok(None),
    }
}

/// After sign-in the guest cart joins the user's cart.
pub async fn merge_guest_cart(app: &AppState, session: &Session, user: &User) {
    if let Ok(Some(id)) = session.remove::<String>(SESSION_CART_KEY).await {
        if let Err(e) = app.carts.merge(&guest_cart(&id), &user_cart(&user.id)).await {
            tracing::warn!(error = %e, "could not merge the guest cart");
        }
    }
}

/// A failure on our side, answered plainly (logged with its cause).
pub fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "form post");
    (StatusCode::SERVICE_UNAVAILABLE, "Something went wrong on our side; please try again.").into_response()
}

/// Starts a signed-in session with a fresh id (no session fixation).
pub async fn sign_in(session: &Session, user: &User) -> Result<(), Response> {
    session.cycle_id().await.map_err(server_error)?;
    session.insert(SESSION_USER_KEY, &user.id).await.map_err(server_error)?;
    session.insert(SESSION_SINCE_KEY, chrono::Utc::now().timestamp_millis()).await.map_err(server_error)?;
    Ok(())
}
