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

/// The router's state: Leptos options for SSR, the app's services for the
/// rest. One `Arc`: axum clones a route's state with its service on every
/// request, and `LeptosOptions` alone is a dozen strings.
#[derive(Clone)]
pub struct ServerState(std::sync::Arc<ServerParts>);

pub struct ServerParts {
    pub leptos_options: LeptosOptions,
    pub app: AppState,
}

impl ServerState {
    pub fn new(leptos_options: LeptosOptions, app: AppState) -> Self {
        Self(std::sync::Arc::new(ServerParts { leptos_options, app }))
    }
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.0.leptos_options.clone()
    }
}

impl FromRef<ServerState> for AppState {
    fn from_ref(state: &ServerState) -> Self {
        state.0.app.clone()
    }
}
