//! The Outbox (pending, sent and dead messages with their attempts; the
//! embedded mode's mailbox) and the partners' Webhooks with their delivery logs.
use leptos::prelude::*;

use super::fns::{admin_outbox, admin_webhooks, OutboxView, WebhooksView};
use super::{admin_page, q, query_string, Flash, Pager};
use crate::domain::outbox::{EntryKind, EntryStatus, OutboxEntry, WEBHOOK_EVENTS};
use crate::ui::account::Field;

#[component]
pub fn OutboxPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_outbox);
    admin_page("admin-outbox", "loading", data, |v| view! { <OutboxBody v=v/> }.into_any())
}

fn when(e: &OutboxEntry) -> String {
    e.created_at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// An entry's tries, newest last: when, outcome, latency, the answer.
#[component]
fn Attempts(entry: OutboxEntry) -> impl IntoView {
    let loc = crate::ui::use_locale();
    if entry.log.is_empty() {
        return view! { <span class="muted">{loc.t("admin-outbox-not-tried")}</span> }.into_any();
    }
    let last = entry.log.last().map(|a| a.note.clone()).unwrap_or_default();
    view! {
        <details class="diff">
            <summary>{loc.tn("admin-outbox-attempts", entry.attempts as i64, &[])}" · "<span class="small-text">{last.chars().take(80).collect::<String>()}</span></summary>
            <table class="data compact">
                <thead><tr><th>{loc.t("admin-when-utc")}</th><th>{loc.t("admin-outbox-result")}</th><th>"HTTP"</th><th>"ms"</th><th>{loc.t("admin-outbox-answer")}</th></tr></thead>
                <tbody>
                    {entry.log.iter().map(|a| view! {
                        <tr>
                            <td class="nowrap">{a.at.format("%H:%M:%S").to_string()}</td>
                            <td>{if a.ok { loc.t("admin-outbox-ok") } else { loc.t("admin-outbox-failed") }}</td>
                            <td>{a.status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                            <td>{a.latency_ms}</td>
                            <td><code class="wrap">{a.note.clone()}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
    .into_any()
}

/// "Send again" for what can be sent again: a dead entry, a pending one now, a delivered webhook (replay).
fn retry_button(e: &OutboxEntry, back: String) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let label = match (e.status, e.kind) {
        (EntryStatus::Sent, EntryKind::Webhook) => Some("admin-outbox-replay"),
        (EntryStatus::Sent, _) => None,
        (EntryStatus::Dead, _) => Some("admin-outbox-retry"),
        (EntryStatus::Pending, _) => Some("admin-outbox-send-now"),
    };
    label.map(|l| {
        view! {
            <form method="post" action="/admin/outbox/retry" class="inline">
                <input type="hidden" name="id" value=e.id.clone()/>
                <input type="hidden" name="back" value=back/>
                <button type="submit" class="button small">{loc.t(l)}</button>
            </form>
        }
    })
}

#[component]
fn OutboxBody(v: OutboxView) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let count = |k: &str| v.counts.get(k).copied().unwrap_or(0);
    let tab = |key: &'static str, label: &'static str, n: Option<u64>| {
        let current = v.tab == key;
        view! {
            <a href=loc.href(&format!("/admin/outbox?tab={key}")) class="tab" class:current=current aria-current=current.then_some("page")>
                {loc.t(label)}{n.map(|n| format!(" ({n})"))}
            </a>
        }
    };
    let back = format!("/admin/outbox?{}", query_string());
    let body = if v.tab == "mailbox" {
        match v.mailbox.clone() {
            None => view! { <section class="empty-state"><h2>{loc.t("admin-mailbox-smtp")}</h2><p class="muted">{loc.t("admin-mailbox-smtp-hint")}</p></section> }.into_any(),
            Some(mails) if mails.is_empty() => view! { <section class="empty-state"><h2>{loc.t("admin-mailbox-empty")}</h2><p class="muted">{loc.t("admin-mailbox-hint")}</p></section> }.into_any(),
            Some(mails) => view! {
                <p class="muted">{loc.t("admin-mailbox-hint")}</p>
                <ul class="mailbox">
                    {mails.into_iter().map(|m| view! {
                        <li>
                            <details>
                                <summary><strong>{m.subject.clone()}</strong>" · "{m.to.clone()}" · "<span class="muted small-text">{m.date.clone()}</span></summary>
                                <pre class="mail-text">{m.text.clone()}</pre>
                                <p class="small-text muted">{m.file.clone()}</p>
                            </details>
                        </li>
                    }).collect_view()}
                </ul>
            }
            .into_any(),
        }
    } else if v.items.is_empty() {
        view! { <section class="empty-state"><h2>{loc.t(&format!("admin-outbox-none-{}", v.tab))}</h2><p class="muted">{loc.t("admin-outbox-intro")}</p></section> }.into_any()
    } else {
        view! {
            <div class="table-scroll">
            <table class="data outbox-table">
                <thead><tr><th>{loc.t("admin-when-utc")}</th><th>{loc.t("admin-outbox-what")}</th><th>{loc.t("admin-outbox-to")}</th><th>{loc.t("admin-outbox-tries")}</th><th></th></tr></thead>
                <tbody>
                    {v.items.iter().map(|e| {
                        let next = (e.status == EntryStatus::Pending && e.attempts > 0).then(|| e.next_at.format("%H:%M:%S").to_string());
                        let to = match e.kind {
                            EntryKind::Webhook => v.endpoints.get(&e.target).cloned().unwrap_or_else(|| e.target.clone()),
                            _ => e.target.clone(),
                        };
                        view! {
                            <tr>
                                <td class="nowrap">{when(e)}</td>
                                <td>
                                    <span class="small-text muted">{loc.t(&format!("admin-outbox-kind-{}", e.kind.as_str()))}</span><br/>
                                    <code>{e.topic.clone()}</code><br/>
                                    <span class="small-text muted ellipsis" title=e.id.clone()>{e.id.clone()}</span>
                                </td>
                                <td class="ellipsis" title=to.clone()>{to.clone()}</td>
                                <td>
                                    <Attempts entry=e.clone()/>
                                    {next.map(|t| view! { <span class="small-text muted">{loc.tf("admin-outbox-next", &[("time", &t)])}</span> })}
                                </td>
                                <td>{retry_button(e, back.clone())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            <Pager page=v.page per_page=v.per_page total=v.total base=query_string() path="/admin/outbox"/>
        }
        .into_any()
    };
    view! {
        <div class="admin-head"><h1>{loc.t("admin-outbox")}</h1><a href=loc.href("/admin/webhooks") class="link-button">{loc.t("admin-webhooks")}</a></div>
        <Flash/>
        <nav class="tabs" aria-label=loc.t("admin-outbox")>
            {tab("pending", "admin-outbox-pending", Some(count("pending")))}
            {tab("sent", "admin-outbox-sent", Some(count("sent")))}
            {tab("dead", "admin-outbox-dead", Some(count("dead")))}
            {v.mailbox.is_some().then(|| tab("mailbox", "admin-mailbox", None))}
        </nav>
        {body}
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_webhooks);
    admin_page("admin-webhooks", "loading", data, |v| view! { <WebhooksBody v=v/> }.into_any())
}

#[component]
fn WebhooksBody(v: WebhooksView) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let secret = v.new_secret.clone().map(|(id, secret)| {
        view! {
            <section class="notice secret-once" role="status">
                <p><strong>{loc.t("admin-webhook-secret-once")}</strong></p>
                <p><code data-testid="webhook-secret" class="wrap">{secret}</code></p>
                <p class="small-text muted">{id}</p>
            </section>
        }
    });
    let endpoints = if v.endpoints.is_empty() {
        view! { <section class="empty-state"><h2>{loc.t("admin-webhooks-none")}</h2><p class="muted">{loc.t("admin-webhooks-intro")}</p></section> }.into_any()
    } else {
        view! {
            <div class="table-scroll">
            <table class="data">
                <thead><tr><th>"URL"</th><th>{loc.t("admin-webhook-events")}</th><th>{loc.t("status")}</th><th></th></tr></thead>
                <tbody>
                    {v.endpoints.iter().map(|e| {
                        let mut state = if e.enabled { loc.t("admin-webhook-enabled").to_string() } else { format!("{} — {}", loc.t("admin-webhook-disabled"), e.disabled_reason.clone().unwrap_or_default()) };
                        if let (true, Some(since)) = (e.enabled, e.failing_since) {
                            state = format!("{state} · {}", loc.tf("admin-webhook-failing-since", &[("time", &since.format("%Y-%m-%d %H:%M").to_string())]));
                        }
                        view! {
                            <tr>
                                <td class="wrap"><code>{e.url.clone()}</code>{(!e.description.is_empty()).then(|| view! { <br/><span class="small-text muted">{e.description.clone()}</span> })}</td>
                                <td>{e.events.join(", ")}</td>
                                <td>{state}</td>
                                <td><a href=loc.href(&format!("/admin/webhooks?id={}", e.id))>{loc.t("admin-webhook-deliveries")}</a></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        }
        .into_any()
    };
    let selected = v.selected.clone().map(|ep| {
        let id = ep.id.clone();
        let action = move |name: &'static str, label: &'static str| {
            view! {
                <form method="post" action="/admin/webhooks/change" class="inline">
                    <input type="hidden" name="id" value=id.clone()/>
                    <input type="hidden" name="action" value=name/>
                    <button type="submit" class="button small">{loc.t(label)}</button>
                </form>
            }
        };
        let back = format!("/admin/webhooks?{}", query_string());
        view! {
            <section class="panel">
                <h2>{loc.t("admin-webhook-deliveries")}": "<code class="wrap">{ep.url.clone()}</code></h2>
                <div class="actions">
                    {if ep.enabled { action("disable", "admin-webhook-disable").into_any() } else { action("enable", "admin-webhook-enable").into_any() }}
                    {action("rotate", "admin-webhook-rotate")}
                    <details class="confirm">
                        <summary class="button small danger">{loc.t("admin-webhook-delete")}</summary>
                        <p>{loc.t("admin-webhook-delete-confirm")}</p>
                        {action("delete", "admin-webhook-delete-yes")}
                    </details>
                </div>
                {if v.deliveries.is_empty() {
                    view! { <p class="muted">{loc.t("admin-webhook-no-deliveries")}</p> }.into_any()
                } else {
                    view! {
                        <div class="table-scroll">
                        <table class="data outbox-table">
                            <thead><tr><th>{loc.t("admin-when-utc")}</th><th>{loc.t("admin-outbox-what")}</th><th>{loc.t("status")}</th><th>{loc.t("admin-outbox-tries")}</th><th></th></tr></thead>
                            <tbody>
                                {v.deliveries.iter().map(|e| view! {
                                    <tr>
                                        <td class="nowrap">{when(e)}</td>
                                        <td><code>{e.topic.clone()}</code><br/><span class="small-text muted ellipsis" title=e.id.clone()>{e.id.clone()}</span></td>
                                        <td>{loc.t(&format!("admin-outbox-status-{}", e.status.as_str()))}</td>
                                        <td><Attempts entry=e.clone()/></td>
                                        <td>{retry_button(e, back.clone())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                        <Pager page=v.page per_page=v.per_page total=v.total base=query_string() path="/admin/webhooks"/>
                    }
                    .into_any()
                }}
            </section>
        }
    });
    let url_error = crate::ui::message(loc, &q("err.url"));
    let events_error = crate::ui::message(loc, &q("err.events"));
    view! {
        <div class="admin-head"><h1>{loc.t("admin-webhooks")}</h1><a href=loc.href("/admin/outbox") class="link-button">{loc.t("admin-outbox")}</a></div>
        <Flash/>
        {secret}
        {endpoints}
        {selected}
        <section class="panel">
            <h2>{loc.t("admin-webhook-new")}</h2>
            <p class="muted">{loc.t("admin-webhooks-intro")}</p>
            <form method="post" action="/admin/webhooks/create" class="stack">
                <Field name="url" label="URL (https://…)" kind="url" value=q("url") error=url_error autocomplete="off"/>
                <fieldset>
                    <legend>{loc.t("admin-webhook-events")}</legend>
                    <label class="inline"><input type="checkbox" name="events" value="order.*"/>" order.* "<span class="muted small-text">{loc.t("admin-webhook-all-orders")}</span></label>
                    {WEBHOOK_EVENTS.iter().map(|e| view! { <label class="inline"><input type="checkbox" name="events" value=*e/>" "{*e}</label> }).collect_view()}
                    {(!events_error.is_empty()).then(|| view! { <p class="field-error">{events_error.clone()}</p> })}
                </fieldset>
                <Field name="description" label=loc.t("admin-webhook-description") value=q("description") error=crate::ui::message(loc, &q("err.description")) autocomplete="off" optional=true/>
                <button type="submit" class="button">{loc.t("admin-webhook-create")}</button>
            </form>
        </section>
    }
}
