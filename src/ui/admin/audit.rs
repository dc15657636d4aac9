//! The audit log: who did what, when, with before / after, filterable.
use leptos::prelude::*;

use super::fns::{admin_audit, AuditList};
use super::Pager;
use super::{admin_page, q, query_string};

#[component]
pub fn AuditPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_audit);
    admin_page("admin-audit-log", "loading", data, |r| view! { <AuditView list=r/> }.into_any())
}

pub(crate) const ACTIONS: [(&str, &str); 8] = [
    ("product", "Products (all)"),
    ("product.create", "Product created"),
    ("product.update", "Product changed"),
    ("product.delete", "Product deleted"),
    ("product.archive", "Product archived"),
    ("order", "Orders"),
    ("user", "Users"),
    ("products.import", "CSV imports"),
];

#[component]
fn AuditView(list: AuditList) -> impl IntoView {
    let (actor, action, target, from, to) = (q("actor"), q("action"), q("target"), q("from"), q("to"));
    let filtered = [&actor, &action, &target, &from, &to].iter().any(|s| !s.is_empty());
    view! {
        <div class="admin-head"><h1>{crate::ui::use_locale().t("admin-audit-log")}</h1></div>
        <form method="get" action=crate::ui::use_locale().href("/admin/audit") class="filter-bar">
            <input type="search" name="actor" value=actor placeholder=crate::ui::use_locale().t("admin-a-admin-e-mail") aria-label=crate::ui::use_locale().t("admin-a-admin-e-mail")/>
            <select name="action" aria-label=crate::ui::use_locale().t("admin-a-action")>
                <option value="">{crate::ui::use_locale().t("admin-any-action")}</option>
                {ACTIONS.iter().map(|(v, l)| view! { <option value=*v selected=action == *v>{match crate::ui::use_locale().t(&format!("audit-{}", v.replace('.', "-"))) { "" => *l, t => t }}</option> }).collect_view()}
            </select>
            <input type="search" name="target" value=target placeholder=crate::ui::use_locale().t("admin-a-product-order-or-user-id") aria-label=crate::ui::use_locale().t("admin-a-target-id")/>
            <label class="inline">{crate::ui::use_locale().t("admin-from")}" " <input type="date" name="from" value=from/></label>
            <label class="inline">{crate::ui::use_locale().t("admin-to")}" " <input type="date" name="to" value=to/></label>
            <button type="submit" class="button">{crate::ui::use_locale().t("admin-filter")}</button>
            {filtered.then(|| view! { <a href=crate::ui::use_locale().href("/admin/audit") class="link-button">{crate::ui::use_locale().t("admin-clear")}</a> })}
        </form>
        {if list.items.is_empty() {
            view! { <section class="empty-state"><h2>{crate::ui::use_locale().t(if filtered { "admin-nothing-matches" } else { "admin-nothing-recorded" })}</h2><p class="muted">{crate::ui::use_locale().t("admin-every-change-made-in-the-panel")}</p></section> }.into_any()
        } else {
            view! {
                <table class="data audit-table">
                    <thead><tr><th>{crate::ui::use_locale().t("admin-when-utc")}</th><th>{crate::ui::use_locale().t("admin-who")}</th><th>{crate::ui::use_locale().t("admin-action")}</th><th>{crate::ui::use_locale().t("admin-what")}</th></tr></thead>
                    <tbody>
                        {list.items.into_iter().map(|e| {
                            let link = if e.action.starts_with("product.") { Some(format!("/admin/products/{}", e.target)) } else if e.action.starts_with("order.") { Some(format!("/admin/orders/{}", e.target)) } else { None };
                            let has_diff = e.before.is_some() || e.after.is_some();
                            view! {
                                <tr>
                                    <td class="nowrap">{e.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                    <td>{e.actor_email.clone()}</td>
                                    <td><code>{e.action.clone()}</code></td>
                                    <td>
                                        {e.summary.clone()}
                                        {link.map(|href| view! { " " <a href=href class="small-text">{crate::ui::use_locale().t("admin-open")}</a> })}
                                        {has_diff.then(|| view! {
                                            <details class="diff">
                                                <summary>{crate::ui::use_locale().t("admin-before-after")}</summary>
                                                <div class="diff-cols">
                                                    <pre>{e.before.as_deref().map(pretty).unwrap_or_else(|| "—".into())}</pre>
                                                    <pre>{e.after.as_deref().map(pretty).unwrap_or_else(|| "—".into())}</pre>
                                                </div>
                                            </details>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Pager page=list.page per_page=list.per_page total=list.total base=query_string() path="/admin/audit"/>
            }.into_any()
        }}
    }
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json).and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or_else(|_| json.to_string())
}
