#![recursion_limit = "256"]
//! Vitrina: one Leptos crate compiled twice — the SSR server (`ssr`) and the
//! WASM client (`hydrate`).
pub mod domain;
pub mod i18n;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod cpu;
#[cfg(feature = "ssr")]
pub mod edge;
#[cfg(feature = "ssr")]
pub mod infra;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod ports;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod web;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // the shop's currency, as the server rendered it
    if let Some(code) = leptos::prelude::document().document_element().and_then(|e| e.get_attribute("data-currency")) {
        let _ = domain::money::set_shop_currency(&code);
    }
    // islands mode: pages are server-rendered HTML; the loader (see
    // `server::hydration_script`) then hydrates each `<leptos-island>`
    leptos::mount::hydrate_islands();
}
