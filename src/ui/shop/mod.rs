pub mod components;
pub mod home;
pub mod layout;
pub mod listing;
pub mod not_found;
pub mod product;
pub mod seo;

use crate::i18n::Locale;

/// The threshold of free standard delivery (minor units), as the server is
/// configured; the shell writes it on `<html>` for the browser.
pub fn free_delivery_over() -> i64 {
    #[cfg(feature = "ssr")]
    return leptos::prelude::use_context::<crate::state::AppState>().map(|a| a.config.rules.pricing.free_standard_over).unwrap_or_else(|| crate::domain::order::PricingRules::default().free_standard_over);
    #[cfg(not(feature = "ssr"))]
    return leptos::prelude::document()
        .document_element()
        .and_then(|e| e.get_attribute("data-free-delivery-over"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| crate::domain::order::PricingRules::default().free_standard_over);
}

/// "Free delivery over 250 lei · 30-day returns", in the page's language.
pub fn delivery_promise(loc: Locale) -> String {
    loc.tf("delivery-promise", &[("amount", &loc.money_short(free_delivery_over(), crate::domain::money::shop_currency()))])
}
