//! Cart, checkout, order confirmation and order history. Every action is a
//! plain form post (see `web.rs`), so all of it works without JavaScript.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::domain::money::format_minor;
use crate::domain::order::{CartView, Order, COUNTRIES};
use crate::ui::fns::{get_cart, get_checkout, get_guest_order, get_my_order, get_my_orders, PageError};
use crate::ui::shop::components::{flatten, ErrorPanel};

fn q(key: &str) -> String {
    use_query_map().get_untracked().get(key).unwrap_or_default()
}

fn options_text(options: &std::collections::BTreeMap<String, String>) -> String {
    options.iter().map(|(k, v)| format!("{}: {v}", crate::ui::shop::listing::attr_label(k))).collect::<Vec<_>>().join(" · ")
}

/// Sends an anonymous visitor to sign in, then back.
fn sign_in_view(next: &'static str) -> AnyView {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect(&format!("/login?next={next}"));
    view! { <section class="auth-card"><h1>"Please sign in"</h1><p><a class="button primary" href=format!("/login?next={next}")>"Sign in"</a></p></section> }.into_any()
}

#[component]
pub fn CartPage() -> impl IntoView {
    let cart = Resource::new(|| (), |_| get_cart());
    view! {
        <Title text="Your cart"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading your cart…"</p> }>
            {move || Suspend::new(async move {
                match flatten(cart.await) {
                    Ok(c) => view! { <CartDetail cart=c/> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CartDetail(cart: CartView) -> impl IntoView {
    let error = q("error");
    if cart.lines.is_empty() {
        return view! {
            <section class="empty-state">
                <h1>"Your cart is empty"</h1>
                <p>"Find something you like — it will wait here for you."</p>
                <a class="button primary" href="/products?sort=popular">"Browse best sellers"</a>
            </section>
        }
        .into_any();
    }
    let count = cart.item_count;
    view! {
        <h1>"Your cart"</h1>
        {(!error.is_empty()).then(|| view! { <p class="alert" role="alert">{error}</p> })}
        <div class="cart-layout">
            <ul class="cart-lines">
                {cart.lines.into_iter().map(|l| {
                    let low = l.available < l.quantity;
                    view! {
                        <li class="cart-line" data-sku=l.sku.clone()>
                            <a href=format!("/p/{}", l.slug) class="cart-thumb" tabindex="-1" aria-hidden="true">{l.image_url.clone().map(|src| view! { <img src=src alt="" width="96" height="96"/> })}</a>
                            <div class="cart-info">
                                <a href=format!("/p/{}", l.slug) class="cart-name">{l.name.clone()}</a>
                                <p class="muted">{options_text(&l.options)}</p>
                                <p class="muted">"Unit price " {l.unit_price.format()}</p>
                                {low.then(|| view! { <p class="field-error">{format!("Only {} left — lower the quantity to order.", l.available)}</p> })}
                            </div>
                            <form method="post" action="/cart/update" class="qty-form">
                                <input type="hidden" name="sku" value=l.sku.clone()/>
                                <label class="visually-hidden" for=format!("qty-{}", l.sku)>"Quantity"</label>
                                <input id=format!("qty-{}", l.sku) type="number" name="quantity" min="0" max="99" value=l.quantity.to_string() class="qty"/>
                                <button type="submit" class="button small">"Update"</button>
                            </form>
                            <form method="post" action="/cart/remove">
                                <input type="hidden" name="sku" value=l.sku.clone()/>
                                <button type="submit" class="link-button" aria-label=format!("Remove {}", l.name)>"Remove"</button>
                            </form>
                            <strong class="line-total">{l.line_total.format()}</strong>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <aside class="summary panel">
                <h2>"Summary"</h2>
                <p class="summary-row"><span>{format!("Items ({count})")}</span><strong data-testid="cart-subtotal">{cart.subtotal.format()}</strong></p>
                <p class="muted">"Prices include VAT. Shipping is calculated at checkout."</p>
                <a class="button primary wide" href="/checkout">"Checkout"</a>
            </aside>
        </div>
    }
    .into_any()
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_checkout());
    view! {
        <Title text="Checkout"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(d) if d.cart.lines.is_empty() => view! {
                        <section class="empty-state"><h1>"Your cart is empty"</h1><a class="button primary" href="/products">"Continue shopping"</a></section>
                    }.into_any(),
                    Ok(d) => view! { <Checkout data=d/> }.into_any(),
                    Err(PageError::SignInRequired) => sign_in_view("/checkout"),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AddressField(
    name: &'static str,
    label: &'static str,
    #[prop(optional)] default: String,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] kind: Option<&'static str>,
) -> impl IntoView {
    let error = q(&format!("err.{name}"));
    let value = { let v = q(name); if v.is_empty() { default } else { v } };
    let id = format!("f-{name}");
    let has_error = !error.is_empty();
    view! {
        <div class="field" class:invalid=has_error>
            <label for=id.clone()>{label}</label>
            <input id=id.clone() type=kind.unwrap_or("text") name=name value=value autocomplete=autocomplete aria-invalid=has_error.to_string()
                aria-describedby=has_error.then(|| format!("{id}-error")) required/>
            {has_error.then(|| view! { <p class="field-error" id=format!("{id}-error") role="alert">{error}</p> })}
        </div>
    }
}

#[component]
fn Checkout(data: crate::ui::fns::CheckoutData) -> impl IntoView {
    let chosen = { let m = q("shipping_method"); if m.is_empty() { "standard".to_string() } else { m } };
    let country = { let c = q("country"); if c.is_empty() { "RO".to_string() } else { c } };
    let country_error = q("err.country");
    let general = q("error");
    let choices = data.choices.clone();
    let standard = choices.iter().find(|c| c.method.as_str() == chosen).or(choices.first()).map(|c| c.totals);
    view! {
        <h1>"Checkout"</h1>
        {(!general.is_empty()).then(|| view! { <p class="alert" role="alert">{general}</p> })}
        <form method="post" action="/checkout" class="checkout-layout">
            <input type="hidden" name="idempotency_key" value=data.idempotency_key.clone()/>
            <div class="stack">
                {data.user.is_none().then(|| view! {
                    <section class="panel stack" data-testid="guest-contact">
                        <h2>"Contact"</h2>
                        <p class="muted">"No account needed: we send the order's confirmation to this address. "
                            <a href="/login?next=/checkout">"Have an account? Sign in"</a></p>
                        <AddressField name="email" label="E-mail" autocomplete="email" kind="email"/>
                    </section>
                })}
                <section class="panel stack">
                    <h2>"Shipping address"</h2>
                    <AddressField name="name" label="Full name" default=data.user.as_ref().map(|u| u.name.clone()).unwrap_or_default() autocomplete="name"/>
                    <AddressField name="street" label="Street and number" autocomplete="street-address"/>
                    <div class="field-row">
                        <AddressField name="postal_code" label="Postal code" autocomplete="postal-code"/>
                        <AddressField name="city" label="City" autocomplete="address-level2"/>
                    </div>
                    <div class="field" class:invalid=!country_error.is_empty()>
                        <label for="f-country">"Country"</label>
                        <select id="f-country" name="country" autocomplete="country">
                            {COUNTRIES.iter().map(|(code, name)| view! { <option value=*code selected=*code == country>{*name}</option> }).collect_view()}
                        </select>
                        {(!country_error.is_empty()).then(|| view! { <p class="field-error" role="alert">{country_error.clone()}</p> })}
                    </div>
                    <AddressField name="phone" label="Phone (for the courier)" autocomplete="tel"/>
                </section>
                <section class="panel stack">
                    <h2>"Delivery"</h2>
                    {choices.into_iter().map(|c| {
                        let value = c.method.as_str();
                        let price = if c.totals.shipping == 0 { "Free".to_string() } else { format_minor(c.totals.shipping, "EUR") };
                        view! {
                            <label class="choice">
                                <input type="radio" name="shipping_method" value=value checked=value == chosen/>
                                <span>{c.label.clone()}</span>
                                <strong>{price}</strong>
                            </label>
                        }
                    }).collect_view()}
                    <p class="muted">{format!("Standard delivery is free for orders over {}.", format_minor(data.free_shipping_over, "EUR"))}</p>
                </section>
                <section class="panel">
                    <h2>"Payment"</h2>
                    <label class="choice"><input type="radio" name="payment" value="pay_on_delivery" checked=true/><span>"Pay on delivery (cash or card to the courier)"</span></label>
                    <p class="muted">"Online payments are coming soon."</p>
                </section>
            </div>
            <aside class="summary panel">
                <h2>"Order summary"</h2>
                <ul class="summary-lines">
                    {data.cart.lines.iter().map(|l| view! {
                        <li><span>{format!("{} × {}", l.quantity, l.name)}<small class="muted">{options_text(&l.options)}</small></span><span>{l.line_total.format()}</span></li>
                    }).collect_view()}
                </ul>
                {standard.map(|t| view! {
                    <p class="summary-row"><span>"Subtotal"</span><span>{format_minor(t.subtotal, "EUR")}</span></p>
                    <p class="summary-row"><span>"Shipping"</span><span>{if t.shipping == 0 { "Free".to_string() } else { format_minor(t.shipping, "EUR") }}</span></p>
                    <p class="summary-row total"><span>"Total"</span><strong data-testid="checkout-total">{format_minor(t.total, "EUR")}</strong></p>
                    <p class="summary-row muted"><span>{format!("incl. VAT {}%", data.vat_percent)}</span><span>{format_minor(t.vat, "EUR")}</span></p>
                })}
                <p class="muted small">"Totals are recomputed on our side when you place the order."</p>
                <button type="submit" class="button primary wide">"Place order"</button>
            </aside>
        </form>
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let page = q("page").parse::<u64>().unwrap_or(1);
    let data = Resource::new(move || page, get_my_orders);
    view! {
        <Title text="Your orders"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(p) if p.orders.is_empty() => view! {
                        <section class="empty-state"><h1>"No orders yet"</h1><p>"When you place an order it shows up here."</p><a class="button primary" href="/products">"Start shopping"</a></section>
                    }.into_any(),
                    Ok(p) => {
                        let pages = p.total.div_ceil(p.per_page).max(1);
                        view! {
                            <h1>"Your orders"</h1>
                            <table class="data orders">
                                <thead><tr><th>"Order"</th><th>"Date"</th><th>"Status"</th><th>"Items"</th><th>"Total"</th></tr></thead>
                                <tbody>
                                    {p.orders.into_iter().map(|o| view! {
                                        <tr>
                                            <td><a href=format!("/account/orders/{}", o.id) data-testid="order-link">{o.number.clone()}</a></td>
                                            <td>{o.created_at.format("%d %b %Y").to_string()}</td>
                                            <td><span class=format!("status {}", o.status.as_str())>{o.status.label()}</span></td>
                                            <td>{o.lines.iter().map(|l| l.quantity).sum::<i64>()}</td>
                                            <td>{o.total.format()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(pages > 1).then(|| view! {
                                <nav class="pagination">
                                    {(1..=pages).map(|n| if n == p.page {
                                        view! { <span class="page-link current" aria-current="page">{n}</span> }.into_any()
                                    } else {
                                        view! { <a class="page-link" href=format!("/account/orders?page={n}")>{n}</a> }.into_any()
                                    }).collect_view()}
                                </nav>
                            })}
                        }.into_any()
                    }
                    Err(PageError::SignInRequired) => sign_in_view("/account/orders"),
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
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(o) => view! { <OrderDetail order=o/> }.into_any(),
                    Err(PageError::SignInRequired) => sign_in_view("/account/orders"),
                    Err(e) => view! { <Title text="Order not found"/><ErrorPanel error=e back_href="/account/orders"/> }.into_any(),
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
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(o) => {
                        let token = q("token");
                        view! { <OrderDetail order=o guest_token=token/> }.into_any()
                    }
                    Err(e) => view! { <Title text="Order not found"/><ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// On a guest's confirmation: an account with the order's e-mail, in one step.
#[component]
fn ClaimOrder(order: Order, token: String) -> impl IntoView {
    let error = q("err.password");
    let has_error = !error.is_empty();
    view! {
        <section class="panel stack claim" data-testid="claim-order">
            <h2>"Keep track of your orders"</h2>
            <p>"Create an account for " <strong>{order.guest_email.clone().unwrap_or_default()}</strong> " with a password, and this order will be in it."</p>
            <form method="post" action="/orders/claim" class="stack">
                <input type="hidden" name="order_id" value=order.id.clone()/>
                <input type="hidden" name="token" value=token/>
                <div class="field" class:invalid=has_error>
                    <label for="f-claim-password">"Password (at least 10 characters)"</label>
                    <input id="f-claim-password" type="password" name="password" autocomplete="new-password" minlength="10" required
                        aria-invalid=has_error.to_string() aria-describedby=has_error.then_some("f-claim-password-error")/>
                    {has_error.then(|| view! { <p class="field-error" id="f-claim-password-error" role="alert">{error}</p> })}
                </div>
                <button type="submit" class="button primary">"Create my account"</button>
            </form>
        </section>
    }
}

#[component]
fn OrderDetail(order: Order, #[prop(optional)] guest_token: Option<String>) -> impl IntoView {
    let placed = q("placed") == "1";
    let notice = q("notice");
    let error = q("error");
    let guest = guest_token.is_some();
    let cancellable = !guest && order.status.can_become(crate::domain::order::OrderStatus::Cancelled);
    let claim = guest_token.filter(|_| placed).map(|token| view! { <ClaimOrder order=order.clone() token/> });
    let a = order.shipping_address.clone();
    view! {
        <Title text=format!("Order {}", order.number)/>
        {placed.then(|| view! {
            <section class="confirmation" role="status">
                <h1>"Thank you! Your order is placed."</h1>
                <p>"Order number " <strong data-testid="order-number">{order.number.clone()}</strong> ". You pay on delivery."</p>
                {guest.then(|| view! { <p>"Keep this page's address: it is the link to your order."</p> })}
            </section>
        })}
        {claim}
        {(!notice.is_empty()).then(|| view! { <p class="notice" role="status">{notice}</p> })}
        {(!error.is_empty()).then(|| view! { <p class="alert" role="alert">{error}</p> })}
        <div class="order-head">
            <h2>"Order " {order.number.clone()}</h2>
            <span class=format!("status {}", order.status.as_str()) data-testid="order-status">{order.status.label()}</span>
        </div>
        <div class="checkout-layout">
            <section class="panel">
                <table class="data">
                    <thead><tr><th>"Item"</th><th>"Qty"</th><th>"Price"</th><th>"Total"</th></tr></thead>
                    <tbody>
                        {order.lines.iter().map(|l| view! {
                            <tr><td><a href=format!("/p/{}", l.slug)>{l.name.clone()}</a><br/><small class="muted">{options_text(&l.options)}" · "{l.sku.clone()}</small></td>
                            <td>{l.quantity}</td><td>{l.unit_price.format()}</td><td>{l.line_total.format()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <h3>"History"</h3>
                <ol class="history">
                    {order.visible_history().into_iter().map(|h| view! { <li>{h.status.label()}" — "{h.at.format("%d %b %Y %H:%M UTC").to_string()}</li> }).collect_view()}
                </ol>
            </section>
            <aside class="summary panel">
                <p class="summary-row"><span>"Subtotal"</span><span>{order.subtotal.format()}</span></p>
                <p class="summary-row"><span>"Shipping"</span><span>{order.shipping.format()}</span></p>
                <p class="summary-row total"><span>"Total"</span><strong>{order.total.format()}</strong></p>
                <p class="summary-row muted"><span>"incl. VAT"</span><span>{order.vat.format()}</span></p>
                <h3>"Delivery to"</h3>
                <address>{a.name}<br/>{a.street}<br/>{a.postal_code}" "{a.city}<br/>{a.country}<br/>{a.phone}</address>
                {cancellable.then(|| view! {
                    <form method="post" action="/orders/cancel" onsubmit="return confirm('Cancel this order?')">
                        <input type="hidden" name="order_id" value=order.id.clone()/>
                        <button type="submit" class="button">"Cancel order"</button>
                    </form>
                })}
            </aside>
        </div>
        {(!guest).then(|| view! { <p><a href="/account/orders">"← All orders"</a></p> })}
    }
}
