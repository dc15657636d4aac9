//! The HTTP layer the three doors share (the JSON API, the form posts, the
//! server functions): who is calling, limits and checks, the problem+json
//! error model, browser sessions and carts, query parameters, and what pages
//! need from the server. It depends on the services, never on a door.
pub mod caller;
pub mod documents;
pub mod params;
pub mod problem;
pub mod session;
pub mod site;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::state::AppState;

/// The router's state: Leptos options for SSR, the app's services for the rest.
#[derive(Clone, FromRef)]
pub struct ServerState {
    pub leptos_options: LeptosOptions,
    pub app: AppState,
}
