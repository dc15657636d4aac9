//! Leptos pages and components (compiled for the server and the browser).
pub mod account;
// the panel's islands are in the admin client only, never in the shoppers' one
#[cfg(any(feature = "ssr", feature = "admin-client"))]
pub mod admin;
pub mod fns;
pub mod orders;
pub mod shop;
pub mod withdrawal;

use leptos::prelude::*;

use crate::i18n::Locale;

#[cfg(feature = "ssr")]
pub use app::{shell, App};

/// The language of the page being rendered: on the server from the request
/// (see `server::language`), in the browser from the address.
pub fn current_locale() -> Locale {
    #[cfg(feature = "ssr")]
    return use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Locale>().copied()).unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    return Locale::split_path(&window().location().pathname().unwrap_or_default()).0;
}

/// The page's language (provided by [`App`]).
pub fn use_locale() -> Locale {
    use_context::<Locale>().unwrap_or_else(current_locale)
}

/// A message carried in a redirect's query (`?error=…`, `?notice=…`,
/// `err.<field>=…`): a short code such as `login-throttled` or
/// `only-available:3` is looked up in the catalogue (`msg-<code>`, the part
/// after `:` as `{ $n }`), a catalogue key with plain values
/// (`field-max-chars|max=100`, see `i18n::link_message`) is said in the
/// page's language; any other text says nothing, so a link cannot make the
/// shop display words of its own.
pub fn message(loc: Locale, text: &str) -> String {
    let (code, arg) = text.split_once(':').unwrap_or((text, ""));
    let key = format!("msg-{code}");
    let is_code = !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    match arg.parse::<i64>() {
        Ok(n) if is_code && !loc.t(&format!("{key}-other")).is_empty() => loc.tn(&key, n, &[]),
        _ if is_code && arg.is_empty() && !loc.t(&key).is_empty() => loc.t(&key).to_string(),
        // a catalogue key with plain values; anything else (free text) is not shown
        _ => loc.linked(text).unwrap_or_default(),
    }
}

/// An `onsubmit` that asks before a form does something that cannot be undone
/// (the question is a JSON string literal, so any text is safe in it).
pub fn confirm_script(question: &str) -> String {
    format!("return confirm({})", serde_json::Value::String(question.to_string()))
}

/// The page shell and the router: rendered on the server only (in islands
/// mode the browser hydrates islands, never the whole app).
#[cfg(feature = "ssr")]
mod app {
    use leptos::prelude::*;
    use leptos_meta::{provide_meta_context, MetaTags, Title};
    use leptos_router::components::{Route, Router, Routes};
    use leptos_router::{path, SsrMode};

    use super::shop::home::HomePage;
    use super::shop::layout::{Footer, Header};
    use super::shop::listing::ListingPage;
    use super::shop::not_found::NotFound;
    use super::shop::product::ProductPage;
    use super::{account, admin, current_locale, fns, orders, shop};

/// The stylesheet's URL (hashed in release builds; the shell is rendered on the server only).
fn stylesheet_href() -> String {
    crate::edge::site::stylesheet_href()
}

/// Loads the WASM client when the browser is idle (see `server::hydration_script`).
fn hydration_script() -> String {
    crate::edge::site::hydration_script()
}

pub fn shell(_options: LeptosOptions) -> impl IntoView {
    // islands: nothing outside an `#[island]` is hydrated, so no resource of
    // the page is serialized into it (what `HydrationScripts` does; our own
    // loader replaces it). The category tree alone was 12 kB of every page.
    if let Some(sc) = Owner::current_shared_context() {
        sc.set_is_hydrating(false);
    }
    let locale = current_locale();
    view! {
        <!DOCTYPE html>
        <html lang=locale.code() data-currency=crate::domain::money::shop_currency() data-free-delivery-over=shop::free_delivery_over().to_string()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href=stylesheet_href()/>
                <script>"document.documentElement.classList.add('js')"</script>
                <script type="module">{hydration_script()}</script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let locale = current_locale();
    provide_context(locale);
    let categories = Resource::new(|| (), |_| fns::get_categories());
    provide_context(categories);
    let user: account::UserResource = Resource::new(|| (), |_| fns::current_user());
    provide_context(user);

    view! {
        <Title formatter=|text: String| if text.is_empty() { "Vitrina".to_string() } else { format!("{text} · Vitrina") }/>
        // the server sees English paths without their /en (see `server::router`)
        <Router>
            <Header/>
            <main class="page">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/products") view=ListingPage ssr=SsrMode::Async/>
                    <Route path=path!("/c/*path") view=ListingPage ssr=SsrMode::Async/>
                    <Route path=path!("/p/:slug") view=ProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=account::LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/register") view=account::RegisterPage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=account::ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/reset-password") view=account::ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=account::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=admin::AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products") view=admin::products::ProductListPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products/new") view=admin::products::ProductNewPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products/:id") view=admin::products::ProductEditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders") view=admin::orders::OrderListPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders/:id") view=admin::orders::OrderDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=admin::users::UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/import") view=admin::import::ImportPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=admin::audit::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/outbox") view=admin::outbox::OutboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/webhooks") view=admin::outbox::WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/promotions") view=admin::promotions::PromotionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/documents") view=admin::documents::DocumentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/invoicing") view=admin::documents::InvoicingPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/returns") view=admin::documents::ReturnsPage ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view=orders::CartPage ssr=SsrMode::Async/>
                    <Route path=path!("/checkout") view=orders::CheckoutPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/orders") view=orders::OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/orders/:id") view=orders::OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=orders::GuestOrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/withdrawal") view=super::withdrawal::WithdrawalPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <Footer/>
        </Router>
    }
}

}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    // the catalogue keys the pages build from domain values (`status-placed`, `sort-newest`, …)
    #[test]
    fn dynamic_keys_are_in_the_catalogue() {
        use crate::domain::order::{OrderStatus, ShippingMethod};
        use crate::domain::query::Sort;
        let mut keys: Vec<String> = Sort::ALL.iter().map(|s| format!("sort-{}", s.as_str())).collect();
        keys.extend([OrderStatus::Pending].iter().chain(OrderStatus::VISIBLE.iter()).map(|s| format!("status-{}", s.as_str())));
        keys.extend([ShippingMethod::Standard, ShippingMethod::Express].iter().map(|m| format!("shipping-{}", m.as_str())));
        keys.extend(crate::domain::order::COUNTRIES.iter().map(|(c, _)| format!("country-{c}")));
        keys.extend(crate::domain::user::Role::ALL.iter().map(|r| format!("role-{}", r.as_str())));
        keys.extend(crate::domain::product::ProductStatus::ALL.iter().map(|s| format!("pstatus-{}", s.as_str())));
        keys.extend(["text", "number", "yesno", "list"].iter().map(|k| format!("admin-kind-{k}")));
        keys.extend(crate::domain::payment::PaymentMethod::ALL.iter().map(|m| format!("payment-method-{}", m.as_str())));
        use crate::domain::payment::PaymentStatus as P;
        let statuses = [P::Pending, P::Authorized, P::Paid, P::Failed, P::Expired, P::Refunded, P::PartiallyRefunded, P::Voided];
        keys.extend(statuses.iter().map(|s| format!("payment-status-{}", s.as_str())));
        for k in ["event", "mail", "webhook"] {
            keys.push(format!("admin-outbox-kind-{k}"));
        }
        for s in ["pending", "sent", "dead"] {
            keys.push(format!("admin-outbox-status-{s}"));
            keys.push(format!("admin-outbox-none-{s}"));
        }
        keys.extend(crate::ui::admin::audit::ACTIONS.iter().map(|(a, _)| format!("audit-{}", a.replace('.', "-"))));
        for l in crate::i18n::Locale::ALL {
            for k in &keys {
                assert!(!l.t(k).is_empty(), "{k} missing in {}", l.code());
            }
        }
    }
}
