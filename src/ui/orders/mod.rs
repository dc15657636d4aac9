//! Cart, checkout, order confirmation and order history. Every action is a
//! plain form post (see `web.rs`), so all of it works without JavaScript.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

mod after_sale;
mod company;
pub(crate) mod fields;

use crate::i18n::Locale;
use crate::ui::{message, use_locale};
use crate::domain::order::{CartView, Order, COUNTRIES, RO_COUNTIES};
use crate::ui::fns::{get_cart, get_checkout, get_guest_order, get_my_order, get_my_orders, PageError};
use crate::ui::shop::components::{flatten, ErrorPanel};
use fields::{described_by, FieldShell, TextField};

fn q(key: &str) -> String {
    use_query_map().get_untracked().get(key).unwrap_or_default()
}

fn options_text(loc: Locale, options: &std::collections::BTreeMap<String, String>) -> String {
    options.iter().map(|(k, v)| format!("{}: {v}", crate::ui::shop::listing::attr_label(loc, k))).collect::<Vec<_>>().join(" · ")
}

/// Sends an anonymous visitor to sign in, then back.
fn sign_in_view(loc: Locale, next: &'static str) -> AnyView {
    let to = loc.href(&format!("/login?next={next}"));
    #[cfg(feature = "ssr")]
    leptos_axum::redirect(&to);
    view! { <section class="auth-card"><h1>{loc.t("error-sign-in-title")}</h1><p><a class="button primary" href=to>{loc.t("sign-in")}</a></p></section> }.into_any()
}

/// A price in the page's language; "free" for nothing.
fn price_or_free(loc: Locale, minor: i64) -> String {
    if minor == 0 { loc.t("free").to_string() } else { loc.money(minor, crate::domain::money::shop_currency()) }
}

#[component]
pub fn CartPage() -> impl IntoView {
    let cart = Resource::new(|| (), |_| get_cart());
    let recs = Resource::new(|| (), |_| crate::ui::fns::get_cart_recs());
    let loc = use_locale();
    view! {
        <Title text=loc.t("your-cart")/>
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                match flatten(cart.await) {
                    Ok(c) => {
                        let title = loc.t(if c.lines.is_empty() { "rec-trending" } else { "rec-you-may-like" }).to_string();
                        let items = recs.await.unwrap_or_default();
                        view! { <CartDetail cart=c/><crate::ui::shop::components::Shelf title items class="cart-recs"/> }.into_any()
                    }
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CartDetail(cart: CartView) -> impl IntoView {
    let loc = use_locale();
    let error = message(loc, &q("error"));
    if cart.lines.is_empty() {
        return view! {
            <section class="empty-state">
                <h1>{loc.t("cart-empty")}</h1>
                <p>{loc.t("cart-empty-hint")}</p>
                <a class="button primary" href=loc.href("/products?sort=popular")>{loc.t("home-best-sellers")}</a>
            </section>
        }
        .into_any();
    }
    let count = cart.item_count;
    view! {
        <h1>{loc.t("your-cart")}</h1>
        {(!error.is_empty()).then(|| view! { <p class="alert" role="alert">{error}</p> })}
        <div class="cart-layout">
            <ul class="cart-lines">
                {cart.lines.into_iter().map(|l| {
                    let low = l.available < l.quantity;
                    view! {
                        <li class="cart-line" data-sku=l.sku.clone()>
                            <a href=loc.href(&format!("/p/{}", l.slug)) class="cart-thumb" tabindex="-1" aria-hidden="true">{l.image_url.clone().map(|src| view! { <img src=src alt="" width="96" height="96"/> })}</a>
                            <div class="cart-info">
                                <a href=loc.href(&format!("/p/{}", l.slug)) class="cart-name">{l.name.clone()}</a>
                                <p class="muted">{options_text(loc, &l.options)}</p>
                                <p class="muted">{loc.t("unit-price")}" "{loc.price(&l.unit_price)}</p>
                                {low.then(|| view! { <p class="field-error">{loc.tn("only-left-lower", l.available, &[])}</p> })}
                            </div>
                            <form method="post" action=loc.href("/cart/update") class="qty-form">
                                <input type="hidden" name="sku" value=l.sku.clone()/>
                                <label class="visually-hidden" for=format!("qty-{}", l.sku)>{loc.t("quantity")}</label>
                                <input id=format!("qty-{}", l.sku) type="number" name="quantity" min="0" max="99" value=l.quantity.to_string() class="qty"/>
                                <button type="submit" class="button small">{loc.t("update")}</button>
                            </form>
                            <form method="post" action=loc.href("/cart/remove")>
                                <input type="hidden" name="sku" value=l.sku.clone()/>
                                <button type="submit" class="link-button" aria-label=loc.tf("remove-item", &[("name", &l.name)])>{loc.t("remove")}</button>
                            </form>
                            <LineAmount total=l.line_total.amount discount=l.discount_cents/>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <aside class="summary panel">
                <h2>{loc.t("summary")}</h2>
                <p class="summary-row"><span>{loc.tf("items-count", &[("n", &count.to_string())])}</span><strong data-testid="cart-subtotal">{loc.price(&cart.subtotal)}</strong></p>
                <DiscountRows discounts=cart.discounts.clone()/>
                {(cart.discount.amount > 0).then(|| view! {
                    <p class="summary-row total"><span>{loc.t("total")}</span><strong data-testid="cart-total">{loc.price(&cart.total)}</strong></p>
                })}
                <CouponBox coupon=cart.coupon.clone() error=cart.coupon_error.clone()/>
                <p class="muted">{loc.t("cart-vat-note")}</p>
                <a class="button primary wide" href=loc.href("/checkout")>{loc.t("checkout")}</a>
            </aside>
        </div>
    }
    .into_any()
}

/// A line's amount; struck through beside what is left when a promotion takes part of it.
#[component]
fn LineAmount(total: i64, discount: i64) -> impl IntoView {
    let loc = use_locale();
    let currency = crate::domain::money::shop_currency();
    if discount <= 0 {
        return view! { <strong class="line-total">{loc.money(total, currency)}</strong> }.into_any();
    }
    view! {
        <span class="line-total discounted">
            <s class="muted"><span class="visually-hidden">{loc.t("regular-price")}" "</span>{loc.money(total, currency)}</s>
            <strong>{loc.money(total - discount, currency)}</strong>
        </span>
    }
    .into_any()
}

/// The promotions applied, one row each ("Black Friday (BF26) −50,00 lei").
#[component]
fn DiscountRows(discounts: Vec<crate::domain::promotion::AppliedDiscount>) -> impl IntoView {
    let loc = use_locale();
    let currency = crate::domain::money::shop_currency();
    discounts
        .into_iter()
        .map(|d| {
            let name = match &d.code { Some(c) => format!("{} ({c})", d.name), None => d.name.clone() };
            // the cart shows no shipping yet: free shipping is said, and counted at checkout
            let off = d.amount_cents - d.shipping_cents;
            let amount = if off > 0 { format!("−{}", loc.money(off, currency)) } else { loc.t("free-shipping").to_string() };
            view! {
                <p class="summary-row discount" data-testid="discount-row"><span>{name}</span><span>{amount}</span></p>
            }
        })
        .collect_view()
}

/// The coupon code: a field to enter one, or the one entered with a way to remove it.
#[component]
fn CouponBox(coupon: Option<String>, error: Option<crate::domain::user::FieldError>) -> impl IntoView {
    let loc = use_locale();
    let refused = message(loc, &q("coupon_error"));
    match coupon {
        Some(code) => {
            let stale = error.map(|e| e.in_locale(loc));
            view! {
                <form method="post" action=loc.href("/cart/coupon/remove") class="coupon applied" data-testid="coupon-applied">
                    <p><span>{loc.t("coupon")}": "</span><strong>{code}</strong></p>
                    {stale.map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    <button type="submit" class="link-button">{loc.t("remove")}</button>
                </form>
            }
            .into_any()
        }
        None => {
            let has_error = !refused.is_empty();
            view! {
                <form method="post" action=loc.href("/cart/coupon") class="coupon field" class:invalid=has_error>
                    <label for="f-coupon">{loc.t("coupon-code")}</label>
                    <div class="coupon-row">
                        <input id="f-coupon" name="code" value=q("code") autocomplete="off" autocapitalize="characters" maxlength="64"
                            aria-invalid=has_error.to_string() aria-describedby=has_error.then_some("f-coupon-error")/>
                        <button type="submit" class="button small">{loc.t("apply")}</button>
                    </div>
                    {has_error.then(|| view! { <p class="field-error" id="f-coupon-error" role="alert">{refused.clone()}</p> })}
                </form>
            }
            .into_any()
        }
    }
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_checkout());
    let loc = use_locale();
    view! {
        <Title text=loc.t("checkout")/>
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(d) if d.cart.lines.is_empty() => view! {
                        <section class="empty-state"><h1>{loc.t("cart-empty")}</h1><a class="button primary" href=loc.href("/products")>{loc.t("continue-shopping")}</a></section>
                    }.into_any(),
                    Ok(d) => view! { <Checkout data=d/> }.into_any(),
                    Err(PageError::SignInRequired) => sign_in_view(loc, "/checkout"),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A field's message from the address (`err.<name>`), in the page's language.
fn field_error(name: &str) -> String {
    message(use_locale(), &q(&format!("err.{name}")))
}

#[component]
fn AddressField(
    name: &'static str,
    label: &'static str,
    #[prop(optional)] default: String,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] kind: Option<&'static str>,
) -> impl IntoView {
    let value = { let v = q(name); if v.is_empty() { default } else { v } };
    view! { <TextField name label value error=field_error(name) kind=kind.unwrap_or("text") autocomplete required=true/> }
}

/// A `<select>` in a labelled field: `options` are (value, text), the first
/// one whose value is `chosen` selected.
#[component]
fn SelectField(
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    chosen: String,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] class: &'static str,
    #[prop(optional)] autocomplete: &'static str,
) -> impl IntoView {
    let error = field_error(name);
    let id = format!("f-{name}");
    let has_error = !error.is_empty();
    view! {
        <FieldShell id=id.clone() label error hint class>
            <select id=id.clone() name=name autocomplete=autocomplete aria-invalid=has_error.to_string() aria-describedby=described_by(&id, !hint.is_empty(), has_error)>
                {options.into_iter().map(|(value, text)| {
                    let selected = value == chosen;
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </FieldShell>
    }
}

/// A Romanian address's county (invoices name it) and, in Bucharest, its
/// sector. Where the browser can tell (`:has`, see the stylesheet) the
/// county shows for Romania only and the sector for Bucharest only; else
/// both show, the sector saying it is for Bucharest.
#[component]
fn CountyFields() -> impl IntoView {
    let loc = use_locale();
    let county = crate::domain::order::ro_county(&q("county")).unwrap_or("").to_string();
    let counties = std::iter::once((String::new(), loc.t("county-choose").to_string())).chain(RO_COUNTIES.iter().map(|(code, name)| (code.to_string(), name.to_string()))).collect();
    let sectors = std::iter::once((String::new(), loc.t("sector-choose").to_string())).chain((1..=6).map(|n| (n.to_string(), format!("{} {n}", loc.t("sector"))))).collect();
    view! {
        <div class="county-row ro-only">
            <SelectField name="county" label=loc.t("county") options=counties chosen=county class="county-field" autocomplete="address-level1"/>
            <SelectField name="sector" label=loc.t("sector") options=sectors chosen=q("sector") hint=loc.t("sector-hint") class="sector-field"/>
        </div>
    }
}

/// Who the invoice is for: the recipient as a person (the default) or a company by its CUI.
#[component]
fn BillingSection() -> impl IntoView {
    let loc = use_locale();
    let company = q("billing_type") == "company";
    let typed = |name: &str| company::Typed { value: q(name), error: field_error(name) };
    view! {
        <section class="panel stack billing" data-testid="billing">
            <h2 id="billing-heading">{loc.t("billing-title")}</h2>
            <div class="stack" role="radiogroup" aria-labelledby="billing-heading">
                <label class="choice">
                    <input type="radio" name="billing_type" value="person" checked=!company/>
                    <span>{loc.t("billing-person")}<small class="choice-hint">{loc.t("billing-person-hint")}</small></span>
                </label>
                <label class="choice">
                    <input type="radio" name="billing_type" value="company" checked=company data-testid="billing-company"/>
                    <span>{loc.t("billing-company")}<small class="choice-hint">{loc.t("billing-company-hint")}</small></span>
                </label>
            </div>
            <div class="stack company-fields">
                <p class="hint company-only">{loc.t("billing-company-only")}</p>
                <company::CompanyFields cui=typed("cui") company_name=typed("company_name") reg_com=typed("reg_com")/>
            </div>
        </section>
    }
}

#[component]
fn Checkout(data: crate::ui::fns::CheckoutData) -> impl IntoView {
    let loc = use_locale();
    let chosen = { let m = q("shipping_method"); if m.is_empty() { "standard".to_string() } else { m } };
    let country = { let c = q("country"); if c.is_empty() { "RO".to_string() } else { c } };
    let countries: Vec<(String, String)> = COUNTRIES.iter().map(|(code, name)| {
        let shown = match loc.t(&format!("country-{code}")) { "" => *name, n => n };
        (code.to_string(), shown.to_string())
    }).collect();
    let general = message(loc, &q("error"));
    let coupon_error = message(loc, &q("err.coupon"));
    let choices = data.choices.clone();
    let standard = choices.iter().find(|c| c.method.as_str() == chosen).or(choices.first()).map(|c| c.totals);
    view! {
        <h1>{loc.t("checkout")}</h1>
        {(!general.is_empty()).then(|| view! { <p class="alert" role="alert">{general}</p> })}
        {(!coupon_error.is_empty()).then(|| view! {
            <p class="alert" role="alert" data-testid="checkout-coupon-error">{coupon_error}" "<a href=loc.href("/cart")>{loc.t("back-to-cart")}</a></p>
        })}
        <form method="post" action=loc.href("/checkout") class="checkout-layout">
            <input type="hidden" name="idempotency_key" value=data.idempotency_key.clone()/>
            <div class="stack">
                {data.user.is_none().then(|| view! {
                    <section class="panel stack" data-testid="guest-contact">
                        <h2>{loc.t("contact")}</h2>
                        <p class="muted">{loc.t("guest-contact-note")}" "
                            <a href=loc.href("/login?next=/checkout")>{loc.t("have-account")}</a></p>
                        <AddressField name="email" label=loc.t("email") autocomplete="email" kind="email"/>
                    </section>
                })}
                <section class="panel stack address-fields">
                    <h2>{loc.t("shipping-address")}</h2>
                    <AddressField name="name" label=loc.t("full-name") default=data.user.as_ref().map(|u| u.name.clone()).unwrap_or_default() autocomplete="name"/>
                    <AddressField name="street" label=loc.t("street") autocomplete="street-address"/>
                    <div class="field-row">
                        <AddressField name="postal_code" label=loc.t("postal-code") autocomplete="postal-code"/>
                        <AddressField name="city" label=loc.t("city") autocomplete="address-level2"/>
                    </div>
                    <SelectField name="country" label=loc.t("country") options=countries chosen=country autocomplete="country"/>
                    <CountyFields/>
                    <AddressField name="phone" label=loc.t("phone") autocomplete="tel"/>
                </section>
                <BillingSection/>
                <section class="panel stack">
                    <h2>{loc.t("delivery")}</h2>
                    {choices.into_iter().map(|c| {
                        let value = c.method.as_str();
                        let price = price_or_free(loc, c.totals.shipping);
                        view! {
                            <label class="choice">
                                <input type="radio" name="shipping_method" value=value checked=value == chosen/>
                                <span>{loc.t(&format!("shipping-{value}"))}</span>
                                <strong>{price}</strong>
                            </label>
                        }
                    }).collect_view()}
                    <p class="muted">{loc.tf("free-standard-over", &[("amount", &loc.money(data.free_shipping_over, crate::domain::money::shop_currency()))])}</p>
                </section>
                <section class="panel stack" role="radiogroup" aria-labelledby="payment-heading">
                    <h2 id="payment-heading">{loc.t("payment")}</h2>
                    {
                        let wanted = q("payment_method");
                        let days = data.transfer_days.to_string();
                        data.payment_methods.iter().map(|m| {
                            let value = m.as_str();
                            let checked = if wanted.is_empty() { *m == crate::domain::payment::PaymentMethod::Cod } else { wanted == value };
                            let hint = match m {
                                crate::domain::payment::PaymentMethod::BankTransfer => loc.tf("payment-method-bank_transfer-hint", &[("days", &days)]),
                                crate::domain::payment::PaymentMethod::Card => loc.t("payment-method-card-hint").to_string(),
                                crate::domain::payment::PaymentMethod::Cod => loc.t("payment-method-cod-hint").to_string(),
                            };
                            view! {
                                <label class="choice">
                                    <input type="radio" name="payment_method" value=value checked=checked/>
                                    <span>{loc.t(&format!("payment-method-{value}"))}<small class="choice-hint">{hint}</small></span>
                                </label>
                            }
                        }).collect_view()
                    }
                    {(!message(loc, &q("err.payment_method")).is_empty()).then(|| view! { <p class="field-error" role="alert">{message(loc, &q("err.payment_method"))}</p> })}
                </section>
            </div>
            <aside class="summary panel">
                <h2>{loc.t("order-summary")}</h2>
                <ul class="summary-lines">
                    {data.cart.lines.iter().map(|l| view! {
                        <li><span>{format!("{} × {}", l.quantity, l.name)}<small class="muted">{options_text(loc, &l.options)}</small></span><LineAmount total=l.line_total.amount discount=l.discount_cents/></li>
                    }).collect_view()}
                </ul>
                {standard.map(|t| view! {
                    <p class="summary-row"><span>{loc.t("subtotal")}</span><span>{price_or_free(loc, t.subtotal)}</span></p>
                    <p class="summary-row"><span>{loc.t("shipping")}</span><span>{price_or_free(loc, t.shipping)}</span></p>
                    {(t.discount > 0).then(|| view! {
                        <p class="summary-row discount"><span>{loc.t("discount")}</span><span data-testid="checkout-discount">"−"{loc.money(t.discount, crate::domain::money::shop_currency())}</span></p>
                    })}
                    <p class="summary-row total"><span>{loc.t("total")}</span><strong data-testid="checkout-total">{loc.money(t.total, crate::domain::money::shop_currency())}</strong></p>
                    <p class="summary-row muted"><span>{loc.tf("incl-vat-percent", &[("percent", &data.vat_percent.to_string())])}</span><span>{loc.money(t.vat, crate::domain::money::shop_currency())}</span></p>
                })}
                {(!data.cart.discounts.is_empty()).then(|| view! {
                    <p class="muted small">{data.cart.discounts.iter().map(|d| match &d.code { Some(c) => format!("{} ({c})", d.name), None => d.name.clone() }).collect::<Vec<_>>().join(" · ")}</p>
                })}
                <p class="muted small">{loc.t("totals-recomputed")}</p>
                <button type="submit" class="button primary wide">{loc.t("place-order")}</button>
            </aside>
        </form>
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let page = q("page").parse::<u64>().unwrap_or(1);
    let data = Resource::new(move || page, get_my_orders);
    let loc = use_locale();
    view! {
        <Title text=loc.t("your-orders")/>
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(p) if p.orders.is_empty() => view! {
                        <section class="empty-state"><h1>{loc.t("no-orders")}</h1><p>{loc.t("no-orders-hint")}</p><a class="button primary" href=loc.href("/products")>{loc.t("start-shopping")}</a></section>
                    }.into_any(),
                    Ok(p) => {
                        let pages = p.total.div_ceil(p.per_page).max(1);
                        view! {
                            <h1>{loc.t("your-orders")}</h1>
                            <table class="data orders">
                                <thead><tr><th>{loc.t("order")}</th><th>{loc.t("date")}</th><th>{loc.t("status")}</th><th>{loc.t("items")}</th><th>{loc.t("total")}</th></tr></thead>
                                <tbody>
                                    {p.orders.into_iter().map(|o| view! {
                                        <tr>
                                            <td><a href=loc.href(&format!("/account/orders/{}", o.id)) data-testid="order-link">{o.number.clone()}</a></td>
                                            <td>{loc.date(&o.created_at)}</td>
                                            <td><span class=format!("status {}", o.status.as_str())>{loc.t(&format!("status-{}", o.status.as_str()))}</span></td>
                                            <td>{o.lines.iter().map(|l| l.quantity).sum::<i64>()}</td>
                                            <td>{loc.price(&o.total)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(pages > 1).then(|| view! {
                                <nav class="pagination" aria-label=loc.t("pages")>
                                    {(1..=pages).map(|n| if n == p.page {
                                        view! { <span class="page-link current" aria-current="page">{n}</span> }.into_any()
                                    } else {
                                        view! { <a class="page-link" href=loc.href(&format!("/account/orders?page={n}"))>{n}</a> }.into_any()
                                    }).collect_view()}
                                </nav>
                            })}
                        }.into_any()
                    }
                    Err(PageError::SignInRequired) => sign_in_view(loc, "/account/orders"),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new(id, get_my_order);
    let loc = use_locale();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(d) => view! { <OrderDetail order=d.order bank=d.bank pay_by=d.pay_by card=d.card documents=d.documents window=d.return_window/> }.into_any(),
                    Err(PageError::SignInRequired) => sign_in_view(loc, "/account/orders"),
                    Err(e) => view! { <Title text=loc.t("order-not-found")/><ErrorPanel error=e back_href="/account/orders"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/orders/<id>?token=…`: a guest's order, through the link it was given.
#[component]
pub fn GuestOrderPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || (params.read().get("id").unwrap_or_default(), use_query_map().read().get("token").unwrap_or_default());
    let data = Resource::new(key, |(id, token)| get_guest_order(id, token));
    let loc = use_locale();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(d) => {
                        let token = q("token");
                        view! { <OrderDetail order=d.order bank=d.bank pay_by=d.pay_by card=d.card documents=d.documents window=d.return_window guest_token=token/> }.into_any()
                    }
                    Err(e) => view! { <Title text=loc.t("order-not-found")/><ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// On a guest's confirmation: an account with the order's e-mail, in one step.
#[component]
fn ClaimOrder(order: Order, token: String) -> impl IntoView {
    let loc = use_locale();
    let error = message(loc, &q("err.password"));
    let has_error = !error.is_empty();
    view! {
        <section class="panel stack claim" data-testid="claim-order">
            <h2>{loc.t("claim-title")}</h2>
            <p>{loc.tf("claim-text", &[("email", &order.guest_email.clone().unwrap_or_default())])}</p>
            <form method="post" action=loc.href("/orders/claim") class="stack">
                <input type="hidden" name="order_id" value=order.id.clone()/>
                <input type="hidden" name="token" value=token/>
                <div class="field" class:invalid=has_error>
                    <label for="f-claim-password">{loc.t("password-new")}</label>
                    <input id="f-claim-password" type="password" name="password" autocomplete="new-password" minlength="10" required
                        aria-invalid=has_error.to_string() aria-describedby=has_error.then_some("f-claim-password-error")/>
                    {has_error.then(|| view! { <p class="field-error" id="f-claim-password-error" role="alert">{error}</p> })}
                </div>
                <button type="submit" class="button primary">{loc.t("claim-button")}</button>
            </form>
        </section>
    }
}

#[component]
fn OrderDetail(
    order: Order,
    #[prop(optional)] guest_token: Option<String>,
    #[prop(default = None)] bank: Option<crate::domain::payment::BankAccount>,
    #[prop(default = None)] pay_by: Option<chrono::DateTime<chrono::Utc>>,
    #[prop(default = None)] card: Option<crate::ui::fns::CardPayment>,
    #[prop(default = None)] documents: Option<Vec<crate::ui::fns::OrderDocument>>,
    #[prop(default = crate::ui::fns::ReturnWindow::Closed)] window: crate::ui::fns::ReturnWindow,
) -> impl IntoView {
    let loc = use_locale();
    let placed = q("placed") == "1";
    let notice = message(loc, &q("notice"));
    let error = message(loc, &q("error"));
    let guest = guest_token.is_some();
    let cancellable = !guest && order.status.can_become(crate::domain::order::OrderStatus::Cancelled);
    let paid_by_card = order.payment.method == crate::domain::payment::PaymentMethod::Card && order.payment.status == crate::domain::payment::PaymentStatus::Paid;
    let returns = view! { <after_sale::Returns order=order.clone() window guest_token=guest_token.clone()/> };
    let claim = guest_token.filter(|_| placed).map(|token| view! { <ClaimOrder order=order.clone() token/> });
    let a = order.shipping_address.clone();
    let region = crate::domain::invoice::printed_region(&a);
    view! {
        <Title text=loc.tf("order-number-title", &[("number", &order.number)])/>
        {placed.then(|| view! {
            <section class="confirmation" role="status">
                <h1>{loc.t("order-placed")}</h1>
                <p>{loc.t("order-number")}" " <strong data-testid="order-number">{order.number.clone()}</strong> ". "
                    {(order.payment.method == crate::domain::payment::PaymentMethod::Cod).then(|| loc.t("you-pay-on-delivery"))}</p>
                {guest.then(|| view! { <p>{loc.t("guest-keep-link")}</p> })}
            </section>
        })}
        {bank.map(|b| view! {
            <section class="panel stack bank-transfer" data-testid="bank-transfer">
                <h2>{loc.t("bank-transfer-title")}</h2>
                <p>{loc.tf("bank-transfer-text", &[("amount", &loc.price(&order.total)), ("until", &pay_by.map(|t| loc.date(&t)).unwrap_or_default())])}</p>
                <dl class="bank-details">
                    <dt>{loc.t("bank-beneficiary")}</dt><dd>{b.beneficiary}</dd>
                    <dt>{loc.t("bank-iban")}</dt><dd><code>{b.iban}</code></dd>
                    {(!b.bank.is_empty()).then(|| view! { <dt>{loc.t("bank-name")}</dt><dd>{b.bank.clone()}</dd> })}
                    <dt>{loc.t("bank-reference")}</dt><dd><code>{order.number.clone()}</code></dd>
                </dl>
            </section>
        })}
        {card.map(|c| view! { <CardPanel order=order.clone() card=c pay_by/> })}
        {(order.status == crate::domain::order::OrderStatus::AwaitingPayment && order.payment.method == crate::domain::payment::PaymentMethod::Card && q("paying") != "").then(|| view! {
            <p class="notice" role="status" data-refresh="1">{loc.t("card-confirming")}</p>
        })}
        {(order.status == crate::domain::order::OrderStatus::Expired).then(|| view! {
            <p class="alert" role="status" data-testid="order-expired">{loc.t("order-expired-text")}</p>
        })}
        {claim}
        {(!notice.is_empty()).then(|| view! { <p class="notice" role="status">{notice}</p> })}
        {(!error.is_empty()).then(|| view! { <p class="alert" role="alert">{error}</p> })}
        <div class="order-head">
            <h2>{loc.tf("order-number-title", &[("number", &order.number)])}</h2>
            <span class=format!("status {}", order.status.as_str()) data-testid="order-status">{loc.t(&format!("status-{}", order.status.as_str()))}</span>
        </div>
        <div class="checkout-layout">
            <section class="panel">
                <table class="data">
                    <thead><tr><th>{loc.t("item")}</th><th>{loc.t("qty")}</th><th>{loc.t("price")}</th><th>{loc.t("total")}</th></tr></thead>
                    <tbody>
                        {order.lines.iter().map(|l| view! {
                            <tr><td><a href=loc.href(&format!("/p/{}", l.slug))>{l.name.clone()}</a><br/><small class="muted">{options_text(loc, &l.options)}" · "{l.sku.clone()}</small></td>
                            <td>{l.quantity}</td><td>{loc.price(&l.unit_price)}</td><td><LineAmount total=l.line_total.amount discount=l.discount_cents/></td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <h3>{loc.t("history")}</h3>
                <ol class="history">
                    {order.visible_history().into_iter().map(|h| view! { <li>{loc.t(&format!("status-{}", h.status.as_str()))}" — "{loc.date_time(&h.at)}" UTC"</li> }).collect_view()}
                </ol>
            </section>
            <aside class="summary panel">
                <p class="summary-row"><span>{loc.t("subtotal")}</span><span>{loc.price(&order.subtotal)}</span></p>
                <p class="summary-row"><span>{loc.t("shipping")}</span><span>{loc.price(&order.shipping)}</span></p>
                {order.discounts.iter().filter(|d| d.amount_cents > 0).map(|d| {
                    let name = match &d.code { Some(c) => format!("{} ({c})", d.name), None => d.name.clone() };
                    view! { <p class="summary-row discount" data-testid="order-discount"><span>{name}</span><span>"−"{loc.money(d.amount_cents, &order.currency)}</span></p> }
                }).collect_view()}
                <p class="summary-row total"><span>{loc.t("total")}</span><strong>{loc.price(&order.total)}</strong></p>
                <p class="summary-row muted"><span>{loc.tf("incl-vat-percent", &[("percent", &order.vat_percent.to_string())])}</span><span>{loc.price(&order.vat)}</span></p>
                <p class="summary-row" data-testid="payment-status"><span>{loc.t(&format!("payment-method-{}", order.payment.method.as_str()))}</span>
                    <span class=format!("payment {}", order.payment.status.as_str())>{loc.t(&format!("payment-status-{}", order.payment.status.as_str()))}</span></p>
                {(order.payment.refunded_cents > 0).then(|| view! {
                    <p class="summary-row muted"><span>{loc.tf("payment-refunded", &[("amount", &loc.money(order.payment.refunded_cents, &order.payment.currency))])}</span></p>
                })}
                <h3>{loc.t("delivery-to")}</h3>
                <address>{a.name}<br/>{a.street}<br/>{a.postal_code}" "{a.city}<br/>{(!region.is_empty()).then(|| view! { {region.clone()}<br/> })}{a.country}<br/>{a.phone}</address>
                {cancellable.then(|| view! {
                    <form method="post" action=loc.href("/orders/cancel") onsubmit=crate::ui::confirm_script(loc.t(if paid_by_card { "cancel-confirm-card" } else { "cancel-confirm" }))>
                        <input type="hidden" name="order_id" value=order.id.clone()/>
                        <button type="submit" class="button">{loc.t("cancel-order")}</button>
                    </form>
                })}
            </aside>
        </div>
        <div class="after-sale">
            <after_sale::Documents documents/>
            {returns}
        </div>
        {(!guest).then(|| view! { <p><a href=loc.href("/account/orders")>"← "{loc.t("all-orders")}</a></p> })}
    }
}

/// Paying an order by card: the provider's card field (Stripe.js, loaded
/// by `/pay.js` from the configured address), 3-D Secure handled by the
/// provider's script, a declined card said plainly, the page refreshed
/// until the payment is confirmed.
#[component]
fn CardPanel(order: Order, card: crate::ui::fns::CardPayment, pay_by: Option<chrono::DateTime<chrono::Utc>>) -> impl IntoView {
    let loc = use_locale();
    let amount = loc.price(&order.total);
    let declined = order.payment.failure.is_some();
    view! {
        <section class="panel stack card-payment" data-testid="card-payment">
            <h2>{loc.t("card-title")}</h2>
            <p>{loc.tf("card-text", &[("amount", &amount), ("until", &pay_by.map(|t| loc.date_time(&t)).unwrap_or_default())])}</p>
            {declined.then(|| view! { <p class="alert" role="alert">{loc.t("card-declined")}</p> })}
            <form id="card-form" class="stack" data-key=card.publishable_key data-secret=card.client_secret data-script=card.script_url
                data-declined=loc.t("card-declined") data-failed=loc.t("card-failed") data-unavailable=loc.t("card-unavailable")>
                <p class="label" id="card-label">{loc.t("card-details")}</p>
                <div class="card-element" role="group" aria-labelledby="card-label"></div>
                <p class="field-error" role="alert" hidden></p>
                <button type="submit" class="button primary" disabled>{loc.tf("card-pay", &[("amount", &amount)])}</button>
            </form>
            // shown until /pay.js runs (a <noscript> would not hydrate)
            <p class="alert card-needs-js">{loc.t("card-needs-js")}</p>
            <script src="/pay.js" defer></script>
        </section>
    }
}
