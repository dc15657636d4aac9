//! Users and partners: search, change role, disable or enable, create accounts.
use leptos::prelude::*;

use super::fns::{admin_users, AdminUserList};
use super::products::Pager;
use super::{admin_page, q, query_string, Flash};
use crate::domain::user::Role;
use crate::ui::account::{use_user, Field};

#[component]
pub fn UsersPage() -> impl IntoView {
    let key = (q("q"), q("page").parse::<u64>().unwrap_or(1));
    let data = Resource::new(move || key.clone(), |(search, page)| admin_users(search, page));
    admin_page("Users", "Loading users…", data, |r| view! { <UserList list=r/> }.into_any())
}

#[component]
fn UserList(list: AdminUserList) -> impl IntoView {
    let search = q("q");
    let here = {
        let qs = query_string();
        if qs.is_empty() { "/admin/users".to_string() } else { format!("/admin/users?{}", qs) }
    };
    let me = use_user().get_untracked().and_then(|r| r.ok()).flatten().map(|u| u.id).unwrap_or_default();
    let new_role = q("new_role");
    view! {
        <div class="admin-head"><h1>"Users and partners"</h1></div>
        <Flash/>
        <form method="get" action="/admin/users" class="filter-bar" role="search">
            <input type="search" name="q" value=search.clone() placeholder="Name or e-mail" aria-label="Search users"/>
            <button type="submit" class="button">"Search"</button>
            {(!search.is_empty()).then(|| view! { <a href="/admin/users" class="link-button">"Clear"</a> })}
        </form>
        {if list.items.is_empty() {
            view! { <section class="empty-state"><h2>"No user matches"</h2><p class="muted">"Search by part of a name or e-mail."</p></section> }.into_any()
        } else {
            view! {
                <table class="data users-table">
                    <thead><tr><th>"Name"</th><th>"E-mail"</th><th>"Since"</th><th>"Role"</th><th>"Access"</th></tr></thead>
                    <tbody>
                        {list.items.into_iter().map(|r| {
                            let u = r.user;
                            let myself = u.id == me;
                            view! {
                                <tr class:disabled-user=r.disabled data-email=u.email.clone()>
                                    <td>{u.name.clone()}{myself.then(|| view! { <span class="chip">"you"</span> })}</td>
                                    <td>{u.email.clone()}</td>
                                    <td class="muted">{r.created_at.format("%Y-%m-%d").to_string()}</td>
                                    <td>
                                        <form method="post" action="/admin/users/update" class="inline-form">
                                            <input type="hidden" name="user_id" value=u.id.clone()/>
                                            <input type="hidden" name="back" value=here.clone()/>
                                            <select name="role" aria-label=format!("Role of {}", u.email) disabled=myself>
                                                {Role::ALL.iter().map(|role| view! { <option value=role.as_str() selected=*role == u.role>{role.as_str()}</option> }).collect_view()}
                                            </select>
                                            <button type="submit" class="button small" disabled=myself>"Change"</button>
                                        </form>
                                    </td>
                                    <td>
                                        <form method="post" action="/admin/users/update" class="inline-form"
                                            onsubmit=(!r.disabled).then(|| format!("return confirm('Disable {}? They are signed out everywhere and cannot sign in.')", u.email.replace('\'', "")))>
                                            <input type="hidden" name="user_id" value=u.id.clone()/>
                                            <input type="hidden" name="back" value=here.clone()/>
                                            <input type="hidden" name="access" value=if r.disabled { "enable" } else { "disable" }/>
                                            {if r.disabled { view! { <span class="status cancelled">"disabled"</span> }.into_any() } else { view! { <span class="status delivered">"active"</span> }.into_any() }}
                                            <button type="submit" class="button small" class:danger=!r.disabled disabled=myself>{if r.disabled { "Enable" } else { "Disable" }}</button>
                                        </form>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <Pager page=list.page per_page=list.per_page total=list.total base=query_string() path="/admin/users"/>
            }.into_any()
        }}
        <div class="panel narrow" id="new-account">
            <h2>"New account"</h2>
            <p class="hint">"Partners use the API with their own e-mail and password (POST /api/v1/auth/token)."</p>
            <form method="post" action="/admin/users/create" class="stack">
                <Field name="email" label="E-mail" kind="email" value=q("new_email") error=q("err.email") autocomplete="off"/>
                <Field name="name" label="Name" value=q("new_name") error=q("err.name") autocomplete="off"/>
                <Field name="password" label="Password" kind="password" error=q("err.password") autocomplete="new-password" hint="At least 10 characters."/>
                <div class="field">
                    <label for="f-role">"Role"</label>
                    <select id="f-role" name="role">
                        {Role::ALL.iter().map(|role| view! { <option value=role.as_str() selected=if new_role.is_empty() { *role == Role::Partner } else { new_role == role.as_str() }>{role.as_str()}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="button primary">"Create account"</button>
            </form>
        </div>
    }
}
