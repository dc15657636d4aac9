//! Users and partners: search, change role, disable or enable, create accounts.
use leptos::prelude::*;

use super::fns::{admin_users, AdminUserList};
use super::Pager;
use super::{admin_page, q, query_string, Flash};
use crate::domain::user::Role;
use crate::ui::account::{use_user, Field};

#[component]
pub fn UsersPage() -> impl IntoView {
    let key = (q("q"), q("page").parse::<u64>().unwrap_or(1));
    let data = Resource::new(move || key.clone(), |(search, page)| admin_users(search, page));
    admin_page("admin-users-and-partners", "loading", data, |r| view! { <UserList list=r/> }.into_any())
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
        <div class="admin-head"><h1>{crate::ui::use_locale().t("admin-users-and-partners")}</h1></div>
        <Flash/>
        <form method="get" action=crate::ui::use_locale().href("/admin/users") class="filter-bar" role="search">
            <input type="search" name="q" value=search.clone() placeholder=crate::ui::use_locale().t("admin-a-name-or-e-mail") aria-label=crate::ui::use_locale().t("admin-a-search-users")/>
            <button type="submit" class="button">{crate::ui::use_locale().t("admin-search")}</button>
            {(!search.is_empty()).then(|| view! { <a href=crate::ui::use_locale().href("/admin/users") class="link-button">{crate::ui::use_locale().t("admin-clear")}</a> })}
        </form>
        {if list.items.is_empty() {
            view! { <section class="empty-state"><h2>{crate::ui::use_locale().t("admin-no-user-matches")}</h2><p class="muted">{crate::ui::use_locale().t("admin-search-by-part-of-a-name")}</p></section> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                <table class="data users-table">
                    <thead><tr><th>{crate::ui::use_locale().t("admin-name")}</th><th>{crate::ui::use_locale().t("admin-e-mail")}</th><th>{crate::ui::use_locale().t("admin-since")}</th><th>{crate::ui::use_locale().t("admin-role")}</th><th>{crate::ui::use_locale().t("admin-access")}</th></tr></thead>
                    <tbody>
                        {list.items.into_iter().map(|r| {
                            let u = r.user;
                            let myself = u.id == me;
                            view! {
                                <tr class:disabled-user=r.disabled data-email=u.email.clone()>
                                    <td>{u.name.clone()}{myself.then(|| view! { <span class="chip">{crate::ui::use_locale().t("admin-you")}</span> })}</td>
                                    <td>{u.email.clone()}</td>
                                    <td class="muted">{r.created_at.format("%Y-%m-%d").to_string()}</td>
                                    <td>
                                        <form method="post" action=crate::ui::use_locale().href("/admin/users/update") class="inline-form">
                                            <input type="hidden" name="user_id" value=u.id.clone()/>
                                            <input type="hidden" name="back" value=here.clone()/>
                                            <select name="role" aria-label=crate::ui::use_locale().tf("admin-role-of", &[("email", &u.email)]) disabled=myself>
                                                {Role::ALL.iter().map(|role| view! { <option value=role.as_str() selected=*role == u.role>{crate::ui::use_locale().t(&format!("role-{}", role.as_str()))}</option> }).collect_view()}
                                            </select>
                                            <button type="submit" class="button small" disabled=myself>{crate::ui::use_locale().t("admin-change")}</button>
                                        </form>
                                    </td>
                                    <td>
                                        <form method="post" action=crate::ui::use_locale().href("/admin/users/update") class="inline-form"
                                            onsubmit=(!r.disabled).then(|| crate::ui::confirm_script(&crate::ui::use_locale().tf("admin-disable-confirm", &[("email", &u.email)])))>
                                            <input type="hidden" name="user_id" value=u.id.clone()/>
                                            <input type="hidden" name="back" value=here.clone()/>
                                            <input type="hidden" name="access" value=if r.disabled { "enable" } else { "disable" }/>
                                            {if r.disabled { view! { <span class="status cancelled">{crate::ui::use_locale().t("admin-disabled")}</span> }.into_any() } else { view! { <span class="status delivered">{crate::ui::use_locale().t("admin-active")}</span> }.into_any() }}
                                            <button type="submit" class="button small" class:danger=!r.disabled disabled=myself>{crate::ui::use_locale().t(if r.disabled { "admin-enable" } else { "admin-disable" })}</button>
                                        </form>
                                        <div class="user-data">
                                            <a class="button small" href=format!("/api/v1/admin/users/{}/export", u.id) download="">{crate::ui::use_locale().t("admin-export-data")}</a>
                                            {(u.role == Role::Customer).then(|| view! {
                                                <details class="confirm">
                                                    <summary class="button small danger">{crate::ui::use_locale().t("admin-erase")}</summary>
                                                    <form method="post" action=crate::ui::use_locale().href("/admin/users/erase")>
                                                        <p>{crate::ui::use_locale().tf("admin-erase-confirm", &[("email", &u.email)])}</p>
                                                        <input type="hidden" name="user_id" value=u.id.clone()/>
                                                        <input type="hidden" name="back" value=here.clone()/>
                                                        <button type="submit" class="button small danger">{crate::ui::use_locale().t("admin-erase-yes")}</button>
                                                    </form>
                                                </details>
                                            })}
                                        </div>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
                <Pager page=list.page per_page=list.per_page total=list.total base=query_string() path="/admin/users"/>
            }.into_any()
        }}
        <div class="panel narrow" id="new-account">
            <h2>{crate::ui::use_locale().t("admin-new-account")}</h2>
            <p class="hint">{crate::ui::use_locale().t("admin-partners-use-the-api-with-their")}</p>
            <form method="post" action=crate::ui::use_locale().href("/admin/users/create") class="stack">
                <Field name="email" label="E-mail" kind="email" value=q("new_email") error=crate::ui::message(crate::ui::use_locale(), &q("err.email")) autocomplete="off"/>
                <Field name="name" label=crate::ui::use_locale().t("name") value=q("new_name") error=crate::ui::message(crate::ui::use_locale(), &q("err.name")) autocomplete="off"/>
                <Field name="password" label=crate::ui::use_locale().t("password") kind="password" error=crate::ui::message(crate::ui::use_locale(), &q("err.password")) autocomplete="new-password" hint=crate::ui::use_locale().t("password-hint-short")/>
                <div class="field">
                    <label for="f-role">{crate::ui::use_locale().t("admin-role")}</label>
                    <select id="f-role" name="role">
                        {Role::ALL.iter().map(|role| view! { <option value=role.as_str() selected=if new_role.is_empty() { *role == Role::Partner } else { new_role == role.as_str() }>{crate::ui::use_locale().t(&format!("role-{}", role.as_str()))}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="button primary">{crate::ui::use_locale().t("admin-create-account")}</button>
            </form>
        </div>
    }
}
