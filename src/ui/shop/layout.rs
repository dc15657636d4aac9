use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::domain::category::CategoryNode;
use crate::ui::fns::PageResult;

pub type CategoriesResource = Resource<Result<PageResult<Vec<CategoryNode>>, ServerFnError>>;

/// The category tree loaded once by the app (empty while loading or on error).
pub fn use_categories() -> impl Fn() -> Vec<CategoryNode> + Copy {
    let res = expect_context::<CategoriesResource>();
    move || res.get().and_then(|r| r.ok()).and_then(|r| r.ok()).unwrap_or_default()
}

#[component]
pub fn Header() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let categories = expect_context::<CategoriesResource>();
    let query = use_query_map();
    let q = query.read_untracked().get("q").unwrap_or_default();
    view! {
        <header class="site-header">
            <div class="header-inner">
                <a href=loc.href("/") class="logo">
                    <span class="logo-mark">"V"</span>
                    <span class="logo-text">"Vitrina"</span>
                </a>
                <SearchBox q/>
                <AccountLink/>
                <LanguageSwitch/>
                <CartLink/>
            </div>
            <nav class="category-nav" aria-label=loc.t("nav-categories")>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let tree = categories.await.ok().and_then(|r| r.ok()).unwrap_or_default();
                        view! {
                            <ul>
                                <li><a href=loc.href("/products")>{loc.t("all-products")}</a></li>
                                {tree.into_iter().map(|c| view! {
                                    <li><a href=loc.href(&format!("/c/{}", c.path))>{c.name}</a></li>
                                }).collect_view()}
                            </ul>
                        }
                    })}
                </Suspense>
            </nav>
        </header>
    }
}

/// The header's search box. Without JavaScript it is a plain GET form to
/// the results page; with it, typing shows products and categories as you
/// type (a WAI-ARIA combobox: arrows move, Enter opens, Escape closes).
/// An island: the only part of the header that runs in the browser.
#[island]
fn SearchBox(q: String) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let typed = RwSignal::new(String::new());
    let active = RwSignal::new(None::<usize>);
    let open = RwSignal::new(false);
    let found = LocalResource::new(move || {
        let t = typed.get();
        async move {
            if t.trim().chars().count() < 2 {
                return None;
            }
            crate::ui::fns::suggest(t).await.ok().and_then(|r| r.ok())
        }
    });
    // (label, link) of every option, in the order shown
    let options = move || -> Vec<(String, String, bool)> {
        let Some(Some(s)) = found.get() else { return Vec::new() };
        let cats = s.categories.into_iter().map(|c| (c.name, loc.href(&format!("/c/{}", c.path)), true));
        let products = s.products.into_iter().map(|p| (p.name, loc.href(&format!("/p/{}", p.slug)), false));
        cats.chain(products).collect()
    };
    let expanded = move || open.get() && !options().is_empty();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let n = options().len();
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                open.set(true);
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Escape" => {
                open.set(false);
                active.set(None);
            }
            "Enter" => {
                if let (true, Some(i)) = (expanded(), active.get()) {
                    if let Some((_, href, _)) = options().get(i) {
                        ev.prevent_default();
                        open.set(false);
                        let _ = window().location().set_href(href);
                    }
                }
            }
            _ => {}
        }
    };
    view! {
        <div class="search-box">
            <form method="get" action=loc.href("/products") class="search" role="search">
                <label class="visually-hidden" for="search-q">{loc.t("search-label")}</label>
                <input id="search-q" type="search" name="q" placeholder=loc.t("search-placeholder") value=q autocomplete="off" maxlength="200"
                    role="combobox" aria-autocomplete="list" aria-controls="search-suggestions" aria-expanded=move || expanded().to_string()
                    aria-activedescendant=move || active.get().filter(|_| expanded()).map(|i| format!("suggestion-{i}"))
                    on:input=move |ev| { typed.set(event_target_value(&ev)); active.set(None); open.set(true); }
                    on:focus=move |_| open.set(true)
                    on:blur=move |_| open.set(false)
                    on:keydown=on_key/>
                <button type="submit" aria-label=loc.t("search-button")>
                    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><circle cx="11" cy="11" r="7" fill="none" stroke="currentColor" stroke-width="2"/><path d="M20 20l-4-4" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>
                </button>
            </form>
            <ul id="search-suggestions" class="suggestions" role="listbox" aria-label=loc.t("search-suggestions") hidden=move || !expanded()
                on:mousedown=|ev| ev.prevent_default()>
                {move || options().into_iter().enumerate().map(|(i, (label, href, is_category))| {
                    let href_click = href.clone();
                    view! {
                        <li id=format!("suggestion-{i}") role="option" class:active=move || active.get() == Some(i) aria-selected=move || (active.get() == Some(i)).to_string()>
                            <a href=href_click on:click=move |_| open.set(false)>
                                {is_category.then(|| view! { <span class="suggestion-kind">{loc.t("search-kind-category")}</span> })}
                                {label}
                            </a>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let legal = Resource::new(|| (), |_| crate::ui::fns::get_shop_legal());
    view! {
        <footer class="site-footer">
            <div class="footer-inner">
                <p><strong>"Vitrina"</strong>" — "{loc.t("footer-tagline")}" "{crate::ui::shop::delivery_promise(loc)}</p>
                <p><a href="/api/docs">{loc.t("footer-partner-api")}</a></p>
            </div>
            <Suspense fallback=move || view! { <FooterLegal legal=Default::default()/> }>
                {move || Suspend::new(async move {
                    // the footer stands without the identity: the links stay, ANPC's at its usual address
                    let legal = legal.await.unwrap_or_default();
                    view! { <FooterLegal legal/> }
                })}
            </Suspense>
        </footer>
    }
}

/// ANPC's page on alternative dispute resolution, when the shop's own setting cannot be read.
const ANPC_SAL: &str = "https://anpc.ro/ce-este-sal/";

/// The trader's identity and the consumer's links the law asks for: the
/// withdrawal form, ANPC's dispute resolution (SAL) and the EU's (SOL) when set.
#[component]
fn FooterLegal(legal: crate::ui::fns::ShopLegal) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let sal = if legal.sal_url.is_empty() { ANPC_SAL.to_string() } else { legal.sal_url };
    let identity = legal.seller.filter(|s| !s.name.is_empty()).map(|s| {
        let facts: Vec<String> = [
            (!s.tax_id.is_empty()).then(|| format!("{} {}", loc.t("legal-tax-id"), s.tax_id)),
            (!s.reg_com.is_empty()).then(|| format!("{} {}", loc.t("legal-reg-com"), s.reg_com)),
            (!s.address.is_empty()).then(|| s.address.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        view! {
            <p class="legal-identity" data-testid="footer-seller">
                <strong>{s.name.clone()}</strong>
                {facts.into_iter().map(|f| view! { <span class="sep" aria-hidden="true">" · "</span><span>{f}</span> }).collect_view()}
                {(!s.email.is_empty()).then(|| view! { <span class="sep" aria-hidden="true">" · "</span><a href=format!("mailto:{}", s.email)>{s.email.clone()}</a> })}
            </p>
        }
    });
    view! {
        <div class="footer-legal">
            {identity}
            <ul class="legal-links">
                <li><a href=loc.href("/withdrawal") data-testid="footer-withdrawal">{loc.t("legal-withdrawal-form")}</a></li>
                <li><a href=sal rel="external noopener">{loc.t("legal-anpc-sal")}</a></li>
                {legal.sol_url.map(|url| view! { <li><a href=url rel="external noopener">{loc.t("legal-eu-sol")}</a></li> })}
            </ul>
        </div>
    }
}

#[component]
fn AccountLink() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let user = crate::ui::account::use_user();
    // sign-in returns to the page it was opened from
    let location = leptos_router::hooks::use_location();
    let (pathname, search) = (location.pathname, location.search);
    let login_href = move || {
        let here = here_bare(&pathname.get(), &search.get());
        if here == "/" || here.starts_with("/login") || here.starts_with("/register") {
            loc.href("/login")
        } else {
            loc.href(&format!("/login?next={}", form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>()))
        }
    };
    view! {
        <Suspense fallback=move || view! { <a class="account-link" href=loc.href("/login")>{loc.t("sign-in")}</a> }>
            {move || Suspend::new(async move {
                match user.await.ok().flatten() {
                    Some(u) => view! {
                        {(u.role == crate::domain::user::Role::Admin).then(|| view! { <a class="account-link" href=loc.href("/admin") data-testid="admin-link">{loc.t("admin-link")}</a> })}
                        <a class="account-link signed-in" href=loc.href("/account") data-testid="account-link">{loc.tf("hi-name", &[("name", u.name.split_whitespace().next().unwrap_or(""))])}</a>
                    }.into_any(),
                    None => view! { <a class="account-link" href=login_href data-testid="account-link">{loc.t("sign-in")}</a> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CartLink() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let cart = Resource::new(|| (), |_| crate::ui::fns::get_cart());
    view! {
        <a class="cart-link" href=loc.href("/cart")>
            <span class="visually-hidden">{loc.t("cart-items-label")}" "</span>
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M3 4h2l2.4 10.2a1 1 0 0 0 1 .8h8.9a1 1 0 0 0 1-.8L20 7H6" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/><circle cx="9" cy="19" r="1.5" fill="currentColor"/><circle cx="17" cy="19" r="1.5" fill="currentColor"/></svg>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let n = cart.await.ok().and_then(|r| r.ok()).map(|c| c.item_count).unwrap_or(0);
                    view! { <span class="cart-count" class:empty=n == 0 data-testid="cart-count">{n}</span> }
                })}
            </Suspense>
        </a>
    }
}

/// A link to this page in the other language (a full load: the choice is
/// remembered in a cookie, and the client router serves one language).
#[component]
fn LanguageSwitch() -> impl IntoView {
    let loc = crate::ui::use_locale();
    let location = leptos_router::hooks::use_location();
    let (pathname, search) = (location.pathname, location.search);
    let other = if loc == crate::i18n::Locale::Ro { crate::i18n::Locale::En } else { crate::i18n::Locale::Ro };
    let href = move || {
        let here = here_bare(&pathname.get(), &search.get());
        format!("/lang/{}?next={}", other.code(), form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>())
    };
    view! {
        <a class="lang-link" href=href rel="external nofollow" hreflang=other.code() lang=other.code() title=other.name()>
            <span aria-hidden="true">{other.code().to_uppercase()}</span>
            <span class="visually-hidden">{other.name()}</span>
        </a>
    }
}

/// The current path and query, without the language prefix (`/products?q=x`).
pub(crate) fn here_bare(path: &str, search: &str) -> String {
    let bare = crate::i18n::Locale::split_path(path).1;
    match search.trim_start_matches('?') {
        "" => bare.to_string(),
        q => format!("{bare}?{q}"),
    }
}
