//! Orders: the list with status, date and customer filters; the detail with
//! its history and the transitions the state machine allows.
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::fns::{admin_order, admin_orders, AdminOrderList, AdminOrderRow};
use super::Pager;
use super::{admin_page, q, query_string, Flash};
use crate::domain::order::OrderStatus;

#[component]
pub fn OrderListPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_orders);
    admin_page("admin-orders", "loading", data, |r| view! { <OrderList list=r/> }.into_any())
}

#[component]
fn OrderList(list: AdminOrderList) -> impl IntoView {
    let (status, from, to, email) = (q("status"), q("from"), q("to"), q("email"));
    let filtered = [&status, &from, &to, &email].iter().any(|s| !s.is_empty());
    let export = format!("/api/v1/admin/export/orders.csv?{}", query_string());
    view! {
        <div class="admin-head">
            <h1>{crate::ui::use_locale().t("admin-orders")}</h1>
            <a class="button" href=export download>{crate::ui::use_locale().t("admin-export-csv")}</a>
        </div>
        <Flash/>
        <form method="get" action=crate::ui::use_locale().href("/admin/orders") class="filter-bar">
            <select name="status" aria-label=crate::ui::use_locale().t("admin-a-status")>
                <option value="">{crate::ui::use_locale().t("admin-any-status")}</option>
                {OrderStatus::VISIBLE.iter().map(|s| view! { <option value=s.as_str() selected=status == s.as_str()>{crate::ui::use_locale().t(&format!("status-{}", s.as_str()))}</option> }).collect_view()}
            </select>
            <label class="inline">{crate::ui::use_locale().t("admin-from")}" " <input type="date" name="from" value=from/></label>
            <label class="inline">{crate::ui::use_locale().t("admin-to")}" " <input type="date" name="to" value=to/></label>
            <input type="search" name="email" value=email placeholder=crate::ui::use_locale().t("admin-a-customer-e-mail") aria-label=crate::ui::use_locale().t("admin-a-customer-e-mail")/>
            <button type="submit" class="button">{crate::ui::use_locale().t("admin-filter")}</button>
            {filtered.then(|| view! { <a href=crate::ui::use_locale().href("/admin/orders") class="link-button">{crate::ui::use_locale().t("admin-clear")}</a> })}
        </form>
        {if list.items.is_empty() {
            view! { <section class="empty-state"><h2>{crate::ui::use_locale().t(if filtered { "admin-no-order-matches" } else { "no-orders" })}</h2><p class="muted">{crate::ui::use_locale().t("admin-orders-appear-here-as-soon-as")}</p></section> }.into_any()
        } else {
            view! {
                <table class="data orders-table">
                    <thead><tr><th>{crate::ui::use_locale().t("admin-order")}</th><th>{crate::ui::use_locale().t("admin-placed")}</th><th>{crate::ui::use_locale().t("admin-customer")}</th><th>{crate::ui::use_locale().t("admin-items")}</th><th>{crate::ui::use_locale().t("admin-status")}</th><th class="num">{crate::ui::use_locale().t("admin-total")}</th></tr></thead>
                    <tbody>
                        {list.items.iter().map(|r| {
                            let o = &r.order;
                            let items: i64 = o.lines.iter().map(|l| l.quantity).sum();
                            view! {
                                <tr>
                                    <td><a class="strong" href=crate::ui::use_locale().href(&format!("/admin/orders/{}", o.id))>{o.number.clone()}</a></td>
                                    <td>{o.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                    <td>{r.customer_email.clone()}{r.guest.then(|| format!(" ({})", crate::ui::use_locale().t("admin-guest")))}<br/><span class="muted small-text">{o.shipping_address.name.clone()}</span></td>
                                    <td>{items}</td>
                                    <td><span class=format!("status {}", o.status.as_str())>{crate::ui::use_locale().t(&format!("status-{}", o.status.as_str()))}</span></td>
                                    <td class="num">{crate::ui::use_locale().price(&o.total)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Pager page=list.page per_page=list.per_page total=list.total base=query_string() path="/admin/orders"/>
            }.into_any()
        }}
    }
}

#[component]
pub fn OrderDetailPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(move || params.with(|p| p.get("id").unwrap_or_default()), admin_order);
    admin_page("admin-order", "loading", data, |r| view! { <OrderDetail row=r/> }.into_any())
}

fn action_label(s: OrderStatus) -> &'static str {
    crate::ui::use_locale().t(match s {
        OrderStatus::Confirmed => "admin-do-confirm",
        OrderStatus::Shipped => "admin-do-ship",
        OrderStatus::Delivered => "admin-do-deliver",
        OrderStatus::Cancelled => "admin-do-cancel",
        _ => "admin-do-set",
    })
}

#[component]
fn OrderDetail(row: AdminOrderRow) -> impl IntoView {
    let o = row.order;
    // paying and expiring have their own ways (the payment panel, the sweep)
    let next: Vec<OrderStatus> = OrderStatus::VISIBLE.into_iter().filter(|s| o.status.can_become(*s) && !matches!(s, OrderStatus::Placed | OrderStatus::Expired)).collect();
    let payment = o.payment.clone();
    let loc = crate::ui::use_locale();
    let refundable = payment.amount_cents - payment.refunded_cents;
    let can_refund = matches!(payment.status, crate::domain::payment::PaymentStatus::Paid | crate::domain::payment::PaymentStatus::PartiallyRefunded) && refundable > 0;
    let a = o.shipping_address.clone();
    view! {
        <div class="admin-head">
            <h1>{crate::ui::use_locale().t("admin-order")}" " {o.number.clone()}</h1>
            <span class=format!("status big {}", o.status.as_str())>{crate::ui::use_locale().t(&format!("status-{}", o.status.as_str()))}</span>
        </div>
        <Flash/>
        <div class="dash-grid">
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-customer")}</h2>
                <p>{row.customer_email.clone()}{row.guest.then(|| format!(" ({})", crate::ui::use_locale().t("admin-guest")))}</p>
                <p class="muted">{a.name.clone()}<br/>{a.street.clone()}<br/>{format!("{} {}", a.postal_code, a.city)}<br/>{a.country.clone()}<br/>{a.phone.clone()}</p>
                <p class="muted">{crate::ui::use_locale().tf("admin-shipping-payment", &[("shipping", crate::ui::use_locale().t(&format!("shipping-{}", o.shipping_method.as_str()))), ("payment", crate::ui::use_locale().t(&format!("payment-method-{}", o.payment.method.as_str())))])}</p>
            </div>
            <div class="panel stack" data-testid="admin-payment">
                <h2>{loc.t("payment")}</h2>
                <p>{loc.t(&format!("payment-method-{}", payment.method.as_str()))}" · "
                    <span class=format!("payment {}", payment.status.as_str())>{loc.t(&format!("payment-status-{}", payment.status.as_str()))}</span></p>
                <p class="muted">{loc.money(payment.amount_cents, &payment.currency)}
                    {(payment.refunded_cents > 0).then(|| format!(" · {}", loc.tf("payment-refunded", &[("amount", &loc.money(payment.refunded_cents, &payment.currency))])))}</p>
                {(!payment.refunds.is_empty()).then(|| view! {
                    <ul class="refunds" data-testid="refunds">
                        {payment.refunds.iter().map(|r| view! {
                            <li>
                                {format!("{} · {} · ", loc.date_time(&r.at), loc.money(r.amount_cents, &payment.currency))}
                                <span class=format!("refund {}", r.status.as_str())>{loc.t(&format!("refund-status-{}", r.status.as_str()))}</span>
                                {(!r.reason.is_empty()).then(|| format!(" · {}", r.reason))}
                            </li>
                        }).collect_view()}
                    </ul>
                })}
                {payment.provider_reference.clone().map(|r| view! { <p class="muted">{loc.t("admin-provider-reference")}" "<code>{r}</code></p> })}
                {payment.failure.clone().map(|f| view! { <p class="muted">{loc.t("admin-last-failure")}" "{f}</p> })}
                {(can_refund && o.status == OrderStatus::Cancelled).then(|| view! {
                    <p class="alert" role="status" data-testid="refund-due">{loc.tf("admin-refund-due", &[("amount", &loc.money(refundable, &payment.currency))])}</p>
                })}
                {(o.status == OrderStatus::AwaitingPayment).then(|| view! {
                    <form method="post" action=loc.href("/admin/orders/paid") onsubmit=crate::ui::confirm_script(&loc.tf("admin-confirm-mark-paid", &[("number", &o.number)]))>
                        <input type="hidden" name="order_id" value=o.id.clone()/>
                        <button type="submit" class="button primary">{loc.t("admin-mark-paid")}</button>
                    </form>
                })}
                {can_refund.then(|| view! {
                    <form method="post" action=loc.href("/admin/orders/refund") class="stack" onsubmit=crate::ui::confirm_script(loc.t("admin-confirm-refund"))>
                        <input type="hidden" name="order_id" value=o.id.clone()/>
                        <div class="field">
                            <label for="f-refund-amount">{loc.t("admin-refund-amount")}</label>
                            <input id="f-refund-amount" name="amount" inputmode="decimal" required value=crate::domain::money::to_decimal(refundable)/>
                        </div>
                        <div class="field">
                            <label for="f-refund-reason">{loc.t("admin-refund-reason")}</label>
                            <input id="f-refund-reason" name="reason" maxlength="500"/>
                        </div>
                        <button type="submit" class="button danger">{loc.t("admin-refund")}</button>
                    </form>
                })}
            </div>
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-history")}</h2>
                <ol class="history">
                    {o.history.iter().map(|h| view! { <li><span class=format!("status {}", h.status.as_str())>{crate::ui::use_locale().t(&format!("status-{}", h.status.as_str()))}</span>" "{h.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</li> }).collect_view()}
                </ol>
            </div>
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-next-step")}</h2>
                {if next.is_empty() {
                    view! { <p class="muted">{crate::ui::use_locale().t("admin-this-order-is-finished-no-further")}</p> }.into_any()
                } else {
                    view! {
                        <div class="stack">
                            {next.into_iter().map(|s| {
                                let cancel = s == OrderStatus::Cancelled;
                                view! {
                                    <form method="post" action=crate::ui::use_locale().href("/admin/orders/status") onsubmit=cancel.then(|| crate::ui::confirm_script(&crate::ui::use_locale().t(if can_refund { "admin-cancel-paid-order-confirm" } else { "admin-cancel-order-confirm" })))>
                                        <input type="hidden" name="order_id" value=o.id.clone()/>
                                        <input type="hidden" name="status" value=s.as_str()/>
                                        <button type="submit" class="button" class:primary=!cancel class:danger=cancel>{action_label(s)}</button>
                                    </form>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any()
                }}
            </div>
        </div>
        <div class="panel">
            <h2>{crate::ui::use_locale().t("admin-items")}</h2>
            <div class="table-scroll">
            <table class="data">
                <thead><tr><th>{crate::ui::use_locale().t("admin-product")}</th><th>{crate::ui::use_locale().t("admin-sku")}</th><th class="num">{crate::ui::use_locale().t("admin-unit")}</th><th class="num">{crate::ui::use_locale().t("admin-qty")}</th><th class="num">{crate::ui::use_locale().t("admin-total")}</th></tr></thead>
                <tbody>
                    {o.lines.iter().map(|l| view! {
                        <tr>
                            <td><a href=crate::ui::use_locale().href(&format!("/admin/products/{}", l.product_id))>{l.name.clone()}</a><br/><span class="muted small-text">{l.options.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(" · ")}</span></td>
                            <td class="muted">{l.sku.clone()}</td>
                            <td class="num">{crate::ui::use_locale().price(&l.unit_price)}</td>
                            <td class="num">{l.quantity}</td>
                            <td class="num">{crate::ui::use_locale().price(&l.line_total)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
                <tfoot>
                    <tr><td colspan="4">{crate::ui::use_locale().t("admin-subtotal")}</td><td class="num">{crate::ui::use_locale().price(&o.subtotal)}</td></tr>
                    <tr><td colspan="4">{crate::ui::use_locale().t("admin-shipping")}</td><td class="num">{crate::ui::use_locale().price(&o.shipping)}</td></tr>
                    <tr><td colspan="4">{crate::ui::use_locale().t("admin-of-which-vat")}" ("{o.vat_percent}" %)"</td><td class="num">{crate::ui::use_locale().price(&o.vat)}</td></tr>
                    <tr class="strong"><td colspan="4">{crate::ui::use_locale().t("admin-total")}</td><td class="num">{crate::ui::use_locale().price(&o.total)}</td></tr>
                </tfoot>
            </table>
            </div>
        </div>
        <super::documents::OrderDocuments docs=row.documents.clone()/>
        <super::documents::OrderReturns order=o.clone()/>
        <p><a href=crate::ui::use_locale().href("/admin/orders") class="link-button">{crate::ui::use_locale().t("admin-all-orders")}</a>" · "<a href=crate::ui::use_locale().href(&format!("/admin/audit?target={}", o.id)) class="link-button">{crate::ui::use_locale().t("admin-audit-trail")}</a></p>
    }
}
