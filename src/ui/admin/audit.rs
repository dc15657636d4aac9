//! The audit log: who did what, when, with before / after, filterable.
use leptos::prelude::*;

use super::fns::{admin_audit, AuditList};
use super::products::Pager;
use super::{admin_page, q, query_string};

#[component]
pub fn AuditPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_audit);
    admin_page("Audit log", "Loading the audit log…", data, |r| view! { <AuditView list=r/> }.into_any())
}

const ACTIONS: [(&str, &str); 8] = [
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
        <div class="admin-head"><h1>"Audit log"</h1></div>
        <form method="get" action="/admin/audit" class="filter-bar">
            <input type="search" name="actor" value=actor placeholder="Admin e-mail" aria-label="Admin e-mail"/>
            <select name="action" aria-label="Action">
                <option value="">"Any action"</option>
                {ACTIONS.iter().map(|(v, l)| view! { <option value=*v selected=action == *v>{*l}</option> }).collect_view()}
            </select>
            <input type="search" name="target" value=target placeholder="Product, order or user id" aria-label="Target id"/>
            <label class="inline">"From " <input type="date" name="from" value=from/></label>
            <label class="inline">"To " <input type="date" name="to" value=to/></label>
            <button type="submit" class="button">"Filter"</button>
            {filtered.then(|| view! { <a href="/admin/audit" class="link-button">"Clear"</a> })}
        </form>
        {if list.items.is_empty() {
            view! { <section class="empty-state"><h2>{if filtered { "Nothing matches these filters" } else { "Nothing recorded yet" }}</h2><p class="muted">"Every change made in the panel or through the admin API is listed here."</p></section> }.into_any()
        } else {
            view! {
                <table class="data audit-table">
                    <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"Action"</th><th>"What"</th></tr></thead>
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
                                        {link.map(|href| view! { " " <a href=href class="small-text">"open"</a> })}
                                        {has_diff.then(|| view! {
                                            <details class="diff">
                                                <summary>"Before / after"</summary>
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
