//! Invoices, credit notes and e-Factura in the panel: the documents with
//! their e-Factura state (and a filter for what ANAF has not accepted), the
//! seller's identity and the e-Factura token, returns and their deadlines.
use leptos::prelude::*;

use super::fns::{admin_documents, admin_invoicing, admin_returns, DocumentsData, InvoicingData, AdminReturnRow};
use super::{admin_page, q, query_string, Flash, Pager};
use crate::domain::invoice::{DocKind, Document, EfacturaState, EfacturaStatus, SellerSource};
use crate::domain::order::{Order, RO_COUNTIES};
use crate::domain::returns::{Return, ReturnStatus};

/// Where a document's file is served.
pub fn file_url(doc: &Document, ext: &str) -> String {
    format!("/api/v1/documents/{}.{ext}", doc.id)
}

/// A document's e-Factura state as a badge.
#[component]
pub fn EfacturaBadge(state: EfacturaState) -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! { <span class=format!("status efactura-{}", state.as_str()) data-efactura-state=state.as_str()>{loc.t(&format!("efactura-state-{}", state.as_str()))}</span> }
}

/// Whether e-Factura is on, its token, and what is late: the top of the documents pages.
#[component]
pub fn EfacturaBanner(status: EfacturaStatus) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let on = status.configured();
    let expires = status.refresh_expires_at.map(|t| loc.date(&t)).unwrap_or_default();
    view! {
        <div class="efactura-banner" data-efactura=if on { "on" } else { "off" } data-testid="efactura-banner">
            {if on {
                view! { <p class="notice" role="status">{loc.tf("admin-efactura-on", &[("env", &status.environment), ("date", &expires)])}</p> }.into_any()
            } else if status.client {
                view! { <p class="alert" role="status">{loc.t("admin-efactura-no-token")}" "<a href=loc.href("/admin/invoicing")>{loc.t("admin-invoicing")}</a></p> }.into_any()
            } else {
                view! { <p class="alert" role="status">{loc.t("admin-efactura-off")}</p> }.into_any()
            }}
            {(on && status.token_warning).then(|| view! {
                <p class="alert" role="alert">{loc.tf("admin-efactura-token-warning", &[("date", &expires)])}" "{status.token_error.clone().unwrap_or_default()}" "<a href=loc.href("/admin/invoicing")>{loc.t("admin-efactura-paste-token")}</a></p>
            })}
            {(status.late > 0).then(|| view! {
                <p class="alert" role="alert" data-testid="efactura-late">{loc.tf("admin-efactura-late", &[("count", &status.late.to_string())])}" "<a href=loc.href("/admin/documents?efactura=not_accepted")>{loc.t("admin-efactura-see")}</a></p>
            })}
        </div>
    }
}

/// Documents as a table: number, kind, order, date, total, e-Factura (with ANAF's errors), files.
#[component]
pub fn DocumentTable(docs: Vec<Document>, show_order: bool) -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! {
        <div class="table-scroll">
        <table class="data documents-table">
            <thead><tr>
                <th>{loc.t("admin-doc-number")}</th>
                {show_order.then(|| view! { <th>{loc.t("admin-order")}</th> })}
                <th>{loc.t("admin-doc-date")}</th>
                <th class="num">{loc.t("admin-total")}</th>
                <th>{loc.t("admin-efactura")}</th>
                <th>{loc.t("admin-doc-files")}</th>
            </tr></thead>
            <tbody>
                {docs.into_iter().map(|d| {
                    let kind = loc.t(&format!("doc-kind-{}", d.kind.as_str()));
                    let refused = d.efactura.state == EfacturaState::Rejected;
                    view! {
                        <tr data-document=d.id.clone()>
                            <td><strong>{d.full_number()}</strong><br/><span class="muted small-text">{kind}{d.invoice.as_ref().map(|i| format!(" · {} {}", loc.t("admin-doc-corrects"), i.number))}{(d.version > 0).then(|| format!(" · v{}", d.version + 1))}</span></td>
                            {show_order.then(|| view! { <td><a href=loc.href(&format!("/admin/orders/{}", d.order_id))>{d.order_number.clone()}</a><br/><span class="muted small-text">{d.buyer.name.clone()}</span></td> })}
                            <td>{loc.date_time(&d.issued_at)}</td>
                            <td class="num">{loc.money(if d.kind == DocKind::CreditNote { -d.total_cents } else { d.total_cents }, &d.currency)}</td>
                            <td>
                                <EfacturaBadge state=d.efactura.state/>
                                {d.efactura.upload_id.clone().map(|u| view! { <br/><span class="muted small-text">{loc.t("admin-efactura-upload")}" "{u}</span> })}
                                {(!d.efactura.errors.is_empty()).then(|| view! {
                                    <ul class="efactura-errors" data-testid="efactura-errors">{d.efactura.errors.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
                                })}
                                {refused.then(|| view! {
                                    <form method="post" action=loc.href("/admin/documents/regenerate") onsubmit=crate::ui::confirm_script(&loc.tf("admin-regenerate-confirm", &[("number", &d.full_number())]))>
                                        <input type="hidden" name="document_id" value=d.id.clone()/>
                                        <input type="hidden" name="back" value=crate::ui::shop::layout::here_bare(&leptos_router::hooks::use_location().pathname.get_untracked(), &leptos_router::hooks::use_location().search.get_untracked())/>
                                        <button type="submit" class="button small">{loc.t("admin-regenerate")}</button>
                                    </form>
                                })}
                            </td>
                            <td class="nowrap"><a href=file_url(&d, "pdf") target="_blank" rel="noopener">"PDF"</a>" · "<a href=file_url(&d, "xml") download>"XML"</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
pub fn DocumentsPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_documents);
    admin_page("admin-documents", "loading", data, |d| view! { <DocumentList d=d/> }.into_any())
}

#[component]
fn DocumentList(d: DocumentsData) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let filter = q("efactura");
    let option = |value: &'static str, label: &'static str| view! { <option value=value selected=filter == value>{loc.t(label)}</option> };
    view! {
        <div class="admin-head">
            <h1>{loc.t("admin-documents")}</h1>
            <a class="button" href=loc.href("/admin/invoicing")>{loc.t("admin-invoicing")}</a>
        </div>
        <Flash/>
        <EfacturaBanner status=d.efactura.clone()/>
        <form method="get" action=loc.href("/admin/documents") class="filter-bar">
            <label class="inline" for="f-efactura">{loc.t("admin-efactura")}</label>
            <select id="f-efactura" name="efactura">
                {option("", "admin-efactura-any")}
                {option("not_accepted", "admin-efactura-not-accepted")}
                {EfacturaState::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=filter == s.as_str()>{loc.t(&format!("efactura-state-{}", s.as_str()))}</option> }).collect_view()}
            </select>
            <button type="submit" class="button">{loc.t("admin-filter")}</button>
            {(!filter.is_empty()).then(|| view! { <a href=loc.href("/admin/documents") class="link-button">{loc.t("admin-clear")}</a> })}
        </form>
        {if d.items.is_empty() {
            view! { <section class="empty-state"><h2>{loc.t(if filter.is_empty() { "admin-no-documents" } else { "admin-no-document-matches" })}</h2><p class="muted">{loc.t("admin-documents-appear")}</p></section> }.into_any()
        } else {
            view! {
                <DocumentTable docs=d.items.clone() show_order=true/>
                <Pager page=d.page per_page=d.per_page total=d.total base=query_string() path="/admin/documents"/>
            }.into_any()
        }}
    }
}

#[component]
pub fn InvoicingPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_invoicing());
    admin_page("admin-invoicing", "loading", data, |d| view! { <InvoicingSettings d=d/> }.into_any())
}

/// One text input of the seller form, with its error under it.
#[component]
fn SellerField(name: &'static str, label: &'static str, value: String, #[prop(optional)] required: bool, #[prop(optional)] hint: &'static str) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let id = format!("f-seller-{name}");
    let err = crate::ui::message(loc, &q(&format!("err.{name}")));
    let kept = q(name);
    let value = if kept.is_empty() { value } else { kept };
    view! {
        <div class="field">
            <label for=id.clone()>{loc.t(label)}</label>
            <input id=id name=name value=value required=required aria-invalid=(!err.is_empty()).then_some("true")/>
            {(!hint.is_empty()).then(|| view! { <p class="hint">{loc.t(hint)}</p> })}
            {(!err.is_empty()).then(|| view! { <p class="field-error" role="alert">{err}</p> })}
        </div>
    }
}

#[component]
fn InvoicingSettings(d: InvoicingData) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let s = d.seller.clone();
    let county = s.county.clone();
    let sector = s.sector;
    let county_err = crate::ui::message(loc, &q("err.county"));
    view! {
        <div class="admin-head"><h1>{loc.t("admin-invoicing")}</h1><a class="button" href=loc.href("/admin/documents")>{loc.t("admin-documents")}</a></div>
        <Flash/>
        <EfacturaBanner status=d.efactura.clone()/>
        <div class="dash-grid">
            <form method="post" action=loc.href("/admin/invoicing/seller") class="panel stack" data-testid="seller-form">
                <h2>{loc.t("admin-seller")}</h2>
                {match d.source {
                    SellerSource::Demo => view! { <p class="alert" role="status">{loc.t("admin-seller-demo")}</p> }.into_any(),
                    SellerSource::Config => view! { <p class="muted">{loc.t("admin-seller-config")}</p> }.into_any(),
                    SellerSource::Panel => view! { <p class="muted">{loc.t("admin-seller-panel")}</p> }.into_any(),
                }}
                <SellerField name="name" label="admin-seller-name" value=s.name.clone() required=true/>
                <SellerField name="cui" label="admin-seller-cui" value=s.cui.clone() required=true hint="admin-seller-cui-hint"/>
                <SellerField name="reg_com" label="admin-seller-reg-com" value=s.reg_com.clone()/>
                <SellerField name="street" label="admin-seller-street" value=s.street.clone() required=true/>
                <SellerField name="city" label="admin-seller-city" value=s.city.clone() required=true/>
                <div class="field">
                    <label for="f-seller-county">{loc.t("county")}</label>
                    <select id="f-seller-county" name="county" required>
                        <option value="">{loc.t("county-choose")}</option>
                        {RO_COUNTIES.iter().map(|(code, name)| view! { <option value=*code selected=county == *code>{*name}</option> }).collect_view()}
                    </select>
                    {(!county_err.is_empty()).then(|| view! { <p class="field-error" role="alert">{county_err}</p> })}
                </div>
                <div class="field">
                    <label for="f-seller-sector">{loc.t("sector")}</label>
                    <select id="f-seller-sector" name="sector">
                        <option value="">"—"</option>
                        {(1..=6u8).map(|n| view! { <option value=n.to_string() selected=sector == Some(n)>{n}</option> }).collect_view()}
                    </select>
                    <p class="hint">{loc.t("admin-seller-sector-hint")}</p>
                </div>
                <SellerField name="postal_code" label="admin-seller-postal-code" value=s.postal_code.clone()/>
                <SellerField name="iban" label="admin-seller-iban" value=s.iban.clone()/>
                <SellerField name="bank" label="admin-seller-bank" value=s.bank.clone()/>
                <SellerField name="email" label="admin-seller-email" value=s.email.clone()/>
                <SellerField name="phone" label="admin-seller-phone" value=s.phone.clone()/>
                <SellerField name="capital" label="admin-seller-capital" value=s.capital.clone()/>
                <label class="inline"><input type="checkbox" name="vat_payer" value="true" checked=s.vat_payer/>" "{loc.t("admin-seller-vat-payer")}</label>
                <p class="muted">{loc.tf("admin-series", &[("series", &d.series)])}</p>
                <button type="submit" class="button primary">{loc.t("admin-save")}</button>
            </form>
            <form method="post" action=loc.href("/admin/invoicing/token") class="panel stack" data-testid="token-form">
                <h2>"e-Factura"</h2>
                <p class="muted">{loc.t("admin-efactura-token-explain")}</p>
                <div class="field">
                    <label for="f-token">{loc.t("admin-efactura-token")}</label>
                    <textarea id="f-token" name="refresh_token" rows="4" required autocomplete="off"></textarea>
                    {(!q("err.refresh_token").is_empty()).then(|| view! { <p class="field-error" role="alert">{crate::ui::message(loc, &q("err.refresh_token"))}</p> })}
                </div>
                <button type="submit" class="button primary" disabled=!d.efactura.client>{loc.t("admin-efactura-save-token")}</button>
                {(!d.efactura.client).then(|| view! { <p class="hint">{loc.t("admin-efactura-off")}</p> })}
            </form>
        </div>
    }
}

#[component]
pub fn ReturnsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_returns());
    admin_page("admin-returns", "loading", data, |rows| view! { <ReturnList rows=rows/> }.into_any())
}

#[component]
fn ReturnList(rows: Vec<AdminReturnRow>) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let now = chrono::Utc::now();
    view! {
        <div class="admin-head"><h1>{loc.t("admin-returns")}</h1></div>
        <Flash/>
        {if rows.is_empty() {
            view! { <section class="empty-state"><h2>{loc.t("admin-no-returns")}</h2><p class="muted">{loc.t("admin-returns-appear")}</p></section> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                <table class="data">
                    <thead><tr><th>{loc.t("admin-order")}</th><th>{loc.t("admin-return")}</th><th>{loc.t("admin-status")}</th><th>{loc.t("admin-return-requested-at")}</th><th>{loc.t("admin-return-refund-due")}</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|r| {
                            let late = r.ret.refund_due < now;
                            let soon = !late && r.ret.refund_due - now < chrono::Duration::days(3);
                            let units: i64 = r.ret.lines.iter().map(|l| l.quantity).sum();
                            view! {
                                <tr>
                                    <td><a class="strong" href=loc.href(&format!("/admin/orders/{}#returns", r.order_id))>{r.order_number.clone()}</a><br/><span class="muted small-text">{loc.t(&format!("payment-method-{}", r.payment_method))}</span></td>
                                    <td>{r.ret.id.clone()}" · "{loc.tf("admin-return-units", &[("count", &units.to_string())])}{(!r.ret.reason.is_empty()).then(|| view! { <br/><span class="muted small-text">{r.ret.reason.clone()}</span> })}</td>
                                    <td><ReturnBadge status=r.ret.status/></td>
                                    <td>{loc.date_time(&r.ret.requested_at)}</td>
                                    <td class:overdue=late class:due-soon=soon>{loc.date(&r.ret.refund_due)}{late.then(|| view! { " " <strong>{loc.t("admin-return-late")}</strong> })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any()
        }}
    }
}

#[component]
fn ReturnBadge(status: ReturnStatus) -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! { <span class=format!("status return-{}", status.as_str())>{loc.t(&format!("admin-return-status-{}", status.as_str()))}</span> }
}

/// A return on the admin's order page, with the step it is at.
#[component]
fn ReturnPanel(order: Order, ret: Return) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let name = |sku: &str| order.lines.iter().find(|l| l.sku == sku).map(|l| l.name.clone()).unwrap_or_else(|| sku.to_string());
    let hidden = view! { <input type="hidden" name="order_id" value=order.id.clone()/><input type="hidden" name="return_id" value=ret.id.clone()/> };
    let cod = order.payment.method == crate::domain::payment::PaymentMethod::Cod;
    let step = |action: &'static str, label: &'static str, danger: bool| {
        view! {
            <form method="post" action=loc.href("/admin/orders/returns") class="inline-form">
                <input type="hidden" name="order_id" value=order.id.clone()/><input type="hidden" name="return_id" value=ret.id.clone()/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" class="button" class:danger=danger class:primary=!danger>{loc.t(label)}</button>
            </form>
        }
    };
    view! {
        <div class="return-card stack" data-return=ret.id.clone()>
            <p><strong>{ret.id.clone()}</strong>" " <ReturnBadge status=ret.status/>" · "{loc.t("admin-return-requested-at")}" "{loc.date_time(&ret.requested_at)}
                {ret.is_open().then(|| view! { " · " {loc.t("admin-return-refund-due")}" " <strong>{loc.date(&ret.refund_due)}</strong> })}</p>
            {(!ret.reason.is_empty()).then(|| view! { <p class="muted">"„"{ret.reason.clone()}"”"</p> })}
            {(!ret.note.is_empty()).then(|| view! { <p class="muted">{loc.t("admin-return-note")}": "{ret.note.clone()}</p> })}
            <ul>
                {ret.lines.iter().map(|l| view! {
                    <li>{name(&l.sku)}" × "{l.quantity}{(l.received > 0).then(|| format!(" · {} {}", loc.t("admin-return-received"), l.received))}{(!l.condition.is_empty()).then(|| format!(" ({})", l.condition))}</li>
                }).collect_view()}
            </ul>
            {(ret.refund_cents > 0).then(|| view! { <p>{loc.t("admin-return-refunded")}" "{loc.money(ret.refund_cents, &order.currency)}{ret.iban.clone().map(|i| format!(" → {i}"))}</p> })}
            {match ret.status {
                ReturnStatus::Requested => view! { <div class="actions">{step("approve", "admin-return-approve", false)}</div> }.into_any(),
                _ => ().into_any(),
            }}
            {matches!(ret.status, ReturnStatus::Requested | ReturnStatus::Approved).then(|| view! {
                <form method="post" action=loc.href("/admin/orders/returns") class="stack">
                    {hidden}
                    <input type="hidden" name="action" value="receive"/>
                    <p class="strong">{loc.t("admin-return-what-arrived")}</p>
                    {ret.lines.iter().map(|l| {
                        let qid = format!("f-{}-q-{}", ret.id, l.sku);
                        let cid = format!("f-{}-c-{}", ret.id, l.sku);
                        view! {
                            <div class="field-row">
                                <label for=qid.clone()>{name(&l.sku)}</label>
                                <input id=qid name=format!("qty_{}", l.sku) type="number" min="0" max=l.quantity.to_string() value=l.quantity.to_string() inputmode="numeric" class="qty"/>
                                <input id=cid.clone() name=format!("cond_{}", l.sku) placeholder=loc.t("admin-return-condition") aria-label=loc.t("admin-return-condition")/>
                            </div>
                        }
                    }).collect_view()}
                    <button type="submit" class="button primary">{loc.t("admin-return-receive")}</button>
                </form>
                <form method="post" action=loc.href("/admin/orders/returns") class="stack" onsubmit=crate::ui::confirm_script(loc.t("admin-return-reject-confirm"))>
                    <input type="hidden" name="order_id" value=order.id.clone()/><input type="hidden" name="return_id" value=ret.id.clone()/>
                    <input type="hidden" name="action" value="reject"/>
                    <div class="field"><label for=format!("f-{}-note", ret.id)>{loc.t("admin-return-reject-why")}</label><input id=format!("f-{}-note", ret.id) name="note" maxlength="1000"/></div>
                    <button type="submit" class="button danger">{loc.t("admin-return-reject")}</button>
                </form>
            })}
            {(ret.status == ReturnStatus::Received).then(|| view! {
                <form method="post" action=loc.href("/admin/orders/returns") class="stack" onsubmit=crate::ui::confirm_script(loc.t("admin-return-refund-confirm"))>
                    <input type="hidden" name="order_id" value=order.id.clone()/><input type="hidden" name="return_id" value=ret.id.clone()/>
                    <input type="hidden" name="action" value="refund"/>
                    <p>{loc.tf("admin-return-refund-amount", &[("amount", &loc.money(order.return_value(&ret.id), &order.currency))])}</p>
                    {cod.then(|| view! {
                        <div class="field"><label for=format!("f-{}-iban", ret.id)>{loc.t("admin-return-iban")}</label><input id=format!("f-{}-iban", ret.id) name="iban" value=ret.iban.clone().unwrap_or_default() autocomplete="off"/></div>
                    })}
                    <button type="submit" class="button primary">{loc.t(if cod { "admin-return-refund-iban" } else { "admin-return-refund-card" })}</button>
                </form>
            })}
        </div>
    }
}

/// The order page's returns.
#[component]
pub fn OrderReturns(order: Order) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let returns = order.returns.clone();
    (!returns.is_empty()).then(|| view! {
        <div class="panel stack" id="returns" data-testid="admin-returns">
            <h2>{loc.t("admin-returns")}</h2>
            {returns.into_iter().map(|r| view! { <ReturnPanel order=order.clone() ret=r/> }).collect_view()}
        </div>
    })
}

/// The order page's documents.
#[component]
pub fn OrderDocuments(docs: Vec<Document>) -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! {
        <div class="panel" data-testid="admin-documents">
            <h2>{loc.t("admin-documents")}</h2>
            {if docs.is_empty() {
                view! { <p class="muted">{loc.t("admin-order-no-documents")}</p> }.into_any()
            } else {
                view! { <DocumentTable docs=docs show_order=false/> }.into_any()
            }}
        </div>
    }
}
