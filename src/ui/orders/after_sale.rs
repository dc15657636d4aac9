//! After the sale, on an order's page: its invoice and credit notes, and the
//! right of withdrawal (OUG 34/2014): the returns asked for, and a form to
//! ask for one while the 14 days after delivery last. Plain form posts
//! (`web::orders`), so they work without JavaScript.
use leptos::prelude::*;

use super::fields::{described_by, FieldShell, TextField};
use super::{options_text, q};
use crate::domain::order::{Order, OrderLine};
use crate::domain::payment::PaymentMethod;
use crate::domain::returns::{Return, ReturnStatus};
use crate::ui::fns::{OrderDocument, ReturnWindow};
use crate::ui::{message, use_locale};

/// A field's message from the address (`err.<name>`), in the page's language.
fn field_error(name: &str) -> String {
    message(use_locale(), &q(&format!("err.{name}")))
}

/// The order's invoice and credit notes, each with its PDF.
#[component]
pub(super) fn Documents(documents: Option<Vec<OrderDocument>>) -> impl IntoView {
    let loc = use_locale();
    let body = match documents {
        None => view! { <p class="muted">{loc.t("documents-unavailable")}</p> }.into_any(),
        Some(docs) if docs.is_empty() => view! { <p class="muted" data-testid="documents-empty">{loc.t("documents-empty")}</p> }.into_any(),
        Some(docs) => view! {
            <div class="table-scroll">
                <table class="data compact documents-table">
                    <thead><tr>
                        <th scope="col">{loc.t("document")}</th><th scope="col">{loc.t("date")}</th>
                        <th scope="col" class="num">{loc.t("total")}</th><th scope="col"><span class="visually-hidden">{loc.t("document-file")}</span></th>
                    </tr></thead>
                    <tbody>
                        {docs.into_iter().map(|d| {
                            let kind = loc.t(&format!("doc-kind-{}", d.kind.as_str()));
                            let label = loc.tf("document-pdf-label", &[("kind", kind), ("number", &d.number)]);
                            view! {
                                <tr data-testid="document-row">
                                    <td>{kind}<br/><span class="muted small-text nowrap">{d.number.clone()}</span></td>
                                    <td class="nowrap">{loc.date(&d.issued_at)}</td>
                                    <td class="num nowrap">{loc.money(d.total_cents, &d.currency)}</td>
                                    <td><a class="button small" href=d.pdf download=format!("{}.pdf", d.number) aria-label=label>"PDF"</a></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any(),
    };
    view! {
        <section class="panel stack documents" data-testid="documents" aria-labelledby="documents-heading">
            <h2 id="documents-heading">{loc.t("documents-title")}</h2>
            {body}
        </section>
    }
}

/// Returning products: the returns asked for, whether more may be asked
/// (and if not, why), and the form.
#[component]
pub(super) fn Returns(order: Order, window: ReturnWindow, #[prop(default = None)] guest_token: Option<String>) -> impl IntoView {
    let loc = use_locale();
    if window == ReturnWindow::Closed && order.returns.is_empty() {
        return ().into_any();
    }
    let returnable: Vec<(OrderLine, i64)> = order.lines.iter().map(|l| (l.clone(), order.returnable(&l.sku))).filter(|(_, n)| *n > 0).collect();
    let open = matches!(window, ReturnWindow::Open { .. });
    let status_line = match window {
        ReturnWindow::Open { .. } if returnable.is_empty() => loc.t("returns-all-returned").to_string(),
        ReturnWindow::Open { until: Some(d) } => loc.tf("returns-open-until", &[("date", &loc.date(&d))]),
        ReturnWindow::Open { until: None } => loc.t("returns-open-shipped").to_string(),
        ReturnWindow::NotShipped => loc.t("returns-not-shipped").to_string(),
        ReturnWindow::Passed { ended: Some(d) } => loc.tf("returns-passed-on", &[("date", &loc.date(&d))]),
        ReturnWindow::Passed { ended: None } => loc.t("returns-passed").to_string(),
        ReturnWindow::Closed => String::new(),
    };
    let form = (open && !returnable.is_empty()).then(|| view! { <ReturnForm order=order.clone() returnable guest_token/> });
    view! {
        <section class="panel stack returns" id="returns" data-testid="returns" aria-labelledby="returns-heading">
            <h2 id="returns-heading">{loc.t("returns-title")}</h2>
            {(!order.returns.is_empty()).then(|| view! {
                <ul class="return-list">
                    {order.returns.iter().rev().map(|r| view! { <ReturnItem order=order.clone() ret=r.clone()/> }).collect_view()}
                </ul>
            })}
            {(!status_line.is_empty()).then(|| view! { <p class=if open { "" } else { "muted" } data-testid="returns-window">{status_line}</p> })}
            {form}
        </section>
    }
    .into_any()
}

/// One return asked for: what, where it stands, and by when the money comes back.
#[component]
fn ReturnItem(order: Order, ret: Return) -> impl IntoView {
    let loc = use_locale();
    let status = ret.status.as_str();
    let name_of = |sku: &str| order.lines.iter().find(|l| l.sku == sku).map(|l| l.name.clone()).unwrap_or_else(|| sku.to_string());
    let what_next = match ret.status {
        ReturnStatus::Requested | ReturnStatus::Approved | ReturnStatus::Received => {
            format!("{} {}", loc.t(&format!("return-next-{status}")), loc.tf("return-refund-due", &[("date", &loc.date(&ret.refund_due))]))
        }
        ReturnStatus::Refunded => {
            let on = ret.refunded_at.map(|d| loc.date(&d)).unwrap_or_default();
            loc.tf("return-refunded", &[("amount", &loc.money(ret.refund_cents, &order.currency)), ("date", &on)])
        }
        ReturnStatus::Rejected => loc.tf("return-rejected", &[("note", &ret.note)]),
    };
    view! {
        <li class="return-item" data-testid="return-item">
            <p class="return-head">
                <strong>{loc.tf("return-asked-on", &[("date", &loc.date(&ret.requested_at))])}</strong>
                <span class=format!("status return-{status}")>{loc.t(&format!("return-status-{status}"))}</span>
            </p>
            <ul class="return-units">
                {ret.lines.iter().map(|l| view! { <li>{format!("{} × {}", l.quantity, name_of(&l.sku))}</li> }).collect_view()}
            </ul>
            <p class="muted small">{what_next}</p>
        </li>
    }
}

/// The form asking to return units: how many of each line, why (optional),
/// and for an order paid cash on delivery the IBAN the money goes back to.
#[component]
fn ReturnForm(order: Order, returnable: Vec<(OrderLine, i64)>, guest_token: Option<String>) -> impl IntoView {
    let loc = use_locale();
    let cod = order.payment.method == PaymentMethod::Cod;
    // the refusals that are not one field's: the 14 days, nothing chosen
    let refusals: Vec<String> = ["order", "lines"].iter().map(|f| field_error(f)).filter(|m| !m.is_empty()).collect();
    let reason_error = field_error("reason");
    let has_reason_error = !reason_error.is_empty();
    view! {
        <form method="post" action=loc.href("/orders/return") class="stack return-form" data-testid="return-form">
            <input type="hidden" name="order_id" value=order.id.clone()/>
            {guest_token.map(|t| view! { <input type="hidden" name="token" value=t/> })}
            {refusals.into_iter().map(|m| view! { <p class="alert" role="alert">{m}</p> }).collect_view()}
            <fieldset class="return-lines">
                <legend>{loc.t("returns-what")}</legend>
                {returnable.into_iter().enumerate().map(|(i, (line, max))| view! { <ReturnQuantity index=i line max/> }).collect_view()}
            </fieldset>
            <FieldShell id="f-reason" label=loc.t("returns-reason") error=reason_error>
                <textarea id="f-reason" name="reason" rows="3" maxlength="1000" aria-invalid=has_reason_error.to_string()
                    aria-describedby=described_by("f-reason", false, has_reason_error)>{q("reason")}</textarea>
            </FieldShell>
            {cod.then(|| view! {
                <TextField name="iban" label=loc.t("returns-iban") value=q("iban") error=field_error("iban") hint=loc.t("returns-iban-hint") autocomplete="off" required=true maxlength=42/>
            })}
            <p class="hint">{loc.t("returns-how")}</p>
            <p><button type="submit" class="button primary">{loc.t("returns-submit")}</button></p>
        </form>
    }
}

/// How many units of one line go back (0 to what is still returnable).
#[component]
fn ReturnQuantity(index: usize, line: OrderLine, max: i64) -> impl IntoView {
    let loc = use_locale();
    let name = format!("qty_{}", line.sku);
    let id = format!("f-return-qty-{index}");
    let error = field_error(&name);
    let has_error = !error.is_empty();
    let typed = q(&name);
    let value = if typed.is_empty() { "0".to_string() } else { typed };
    let options = options_text(loc, &line.options);
    let label = if options.is_empty() { line.name.clone() } else { format!("{} ({options})", line.name) };
    view! {
        <FieldShell id=id.clone() label error hint=loc.tf("returns-qty-hint", &[("max", &max.to_string())]) class="return-line">
            <input id=id.clone() type="number" name=name value=value min="0" max=max.to_string() step="1" inputmode="numeric" class="qty"
                aria-invalid=has_error.to_string() aria-describedby=described_by(&id, true, has_error)/>
        </FieldShell>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    // the catalogue keys these sections build from domain values
    #[test]
    fn return_and_document_keys_are_in_both_catalogues() {
        use crate::domain::returns::ReturnStatus as S;
        let mut keys = Vec::new();
        for s in [S::Requested, S::Approved, S::Received, S::Refunded, S::Rejected] {
            keys.push(format!("return-status-{}", s.as_str()));
        }
        for s in [S::Requested, S::Approved, S::Received] {
            keys.push(format!("return-next-{}", s.as_str()));
        }
        for k in [crate::domain::invoice::DocKind::Invoice, crate::domain::invoice::DocKind::CreditNote] {
            keys.push(format!("doc-kind-{}", k.as_str()));
        }
        for l in crate::i18n::Locale::ALL {
            for k in &keys {
                assert!(!l.t(k).is_empty(), "{k} missing in {}", l.code());
            }
        }
    }
}
