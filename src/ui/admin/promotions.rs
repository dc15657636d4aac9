//! `/admin/promotions`: coupon codes and automatic promotions, with their
//! redemptions and the revenue of the orders that used them; one form
//! creates a promotion or edits the one chosen (`?id=…`).
use leptos::prelude::*;

use super::fns::{admin_promotions, PromotionsView};
use super::{admin_page, q, query_string, Flash};
use crate::domain::money::to_decimal;
use crate::domain::promotion::{PromoKind, Promotion, PromotionReport, Scope};
use crate::i18n::Locale;

#[component]
pub fn PromotionsPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_promotions);
    admin_page("admin-promotions", "loading", data, |v| view! { <PromotionsBody v=v/> }.into_any())
}

fn discount_text(loc: Locale, p: &Promotion) -> String {
    match p.kind {
        PromoKind::Percent => format!("−{} %", p.value),
        PromoKind::Fixed => format!("−{}", loc.money(p.value, crate::domain::money::shop_currency())),
        PromoKind::FreeShipping => loc.t("free-shipping").to_string(),
    }
}

fn scope_text(loc: Locale, p: &Promotion) -> String {
    match p.applies_to.scope {
        Scope::Order => loc.t("admin-promo-scope-order").to_string(),
        Scope::Products => loc.tf("admin-promo-scope-products-n", &[("n", &p.applies_to.ids.len().to_string())]),
        Scope::Categories => p.applies_to.ids.join(", "),
    }
}

/// Live, scheduled, ended or paused, as of `now`.
fn state(loc: Locale, p: &Promotion, now: chrono::DateTime<chrono::Utc>) -> (&'static str, String) {
    let key = if !p.active {
        "paused"
    } else if p.starts_at.is_some_and(|s| now < s) {
        "scheduled"
    } else if p.ends_at.is_some_and(|e| now >= e) {
        "ended"
    } else {
        "live"
    };
    (key, loc.t(&format!("admin-promo-state-{key}")).to_string())
}

fn when(p: &Promotion) -> String {
    let f = |d: Option<chrono::DateTime<chrono::Utc>>| d.map(|d| d.format("%Y-%m-%d %H:%M").to_string());
    match (f(p.starts_at), f(p.ends_at)) {
        (None, None) => "—".into(),
        (Some(s), None) => format!("{s} →"),
        (None, Some(e)) => format!("→ {e}"),
        (Some(s), Some(e)) => format!("{s} → {e}"),
    }
}

#[component]
fn PromotionsBody(v: PromotionsView) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let now = v.now;
    let table = if v.items.is_empty() {
        view! {
            <section class="empty-state">
                <h2>{loc.t("admin-promo-none")}</h2>
                <p class="muted">{loc.t("admin-promo-intro")}</p>
            </section>
        }
        .into_any()
    } else {
        view! {
            <div class="table-scroll">
            <table class="data promotions">
                <thead><tr>
                    <th>{loc.t("admin-promo-name")}</th><th>{loc.t("coupon-code")}</th><th>{loc.t("discount")}</th><th>{loc.t("admin-promo-applies")}</th>
                    <th>{loc.t("admin-promo-when")}</th><th>{loc.t("admin-promo-uses")}</th><th>{loc.t("admin-promo-revenue")}</th><th>{loc.t("status")}</th><th></th>
                </tr></thead>
                <tbody>
                    {v.items.iter().map(|r| row(loc, r, now)).collect_view()}
                </tbody>
            </table>
            </div>
        }
        .into_any()
    };
    view! {
        <div class="admin-head"><h1>{loc.t("admin-promotions")}</h1></div>
        <Flash/>
        {table}
        <PromotionForm editing=v.editing.clone()/>
    }
}

fn row(loc: Locale, r: &PromotionReport, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let p = &r.promotion;
    let (key, label) = state(loc, p, now);
    let limit = p.usage_limit.map(|l| format!(" / {l}")).unwrap_or_default();
    let per = p.per_customer_limit.map(|l| loc.tf("admin-promo-per-customer", &[("n", &l.to_string())]));
    let id = p.id.clone();
    let toggle = if p.active { ("0", "admin-promo-pause") } else { ("1", "admin-promo-resume") };
    view! {
        <tr data-testid="promotion-row">
            <td><strong>{p.name.clone()}</strong></td>
            <td>{match &p.code { Some(c) => view! { <code>{c.clone()}</code> }.into_any(), None => view! { <span class="muted">{loc.t("admin-promo-automatic")}</span> }.into_any() }}</td>
            <td>{discount_text(loc, p)}{(p.min_subtotal_cents > 0).then(|| view! { <br/><span class="small-text muted">{loc.tf("admin-promo-min-short", &[("amount", &loc.money(p.min_subtotal_cents, crate::domain::money::shop_currency()))])}</span> })}</td>
            <td class="wrap">{scope_text(loc, p)}</td>
            <td class="small-text">{when(p)}</td>
            <td data-testid="promotion-uses">{format!("{}{limit}", r.redemptions)}{per.map(|t| view! { <br/><span class="small-text muted">{t}</span> })}</td>
            <td data-testid="promotion-revenue">{loc.money(r.revenue_cents, crate::domain::money::shop_currency())}</td>
            <td><span class=format!("status promo-{key}")>{label}</span></td>
            <td>
                <div class="row-actions">
                    <a href=loc.href(&format!("/admin/promotions?id={}#promotion-form", id)) class="button small">{loc.t("edit")}</a>
                    <form method="post" action="/admin/promotions/active">
                        <input type="hidden" name="id" value=id.clone()/>
                        <input type="hidden" name="active" value=toggle.0/>
                        <button type="submit" class="button small">{loc.t(toggle.1)}</button>
                    </form>
                </div>
            </td>
        </tr>
    }
}

/// A value typed before a refused post, else the promotion's, else `default`.
fn kept(name: &str, current: Option<String>, default: &str) -> String {
    let typed = q(name);
    if !typed.is_empty() || !q("refused").is_empty() {
        return typed;
    }
    current.unwrap_or_else(|| default.to_string())
}

#[component]
fn Field(name: &'static str, label: String, value: String, #[prop(optional)] hint: Option<String>, #[prop(optional)] kind: Option<&'static str>) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let error = crate::ui::message(loc, &q(&format!("err.{name}")));
    let id = format!("promo-{}", name.replace('.', "-"));
    let has_error = !error.is_empty();
    view! {
        <div class="field" class:invalid=has_error>
            <label for=id.clone()>{label}</label>
            <input id=id.clone() name=name value=value type=kind.unwrap_or("text") aria-invalid=has_error.to_string() aria-describedby=has_error.then(|| format!("{id}-error"))/>
            {hint.map(|h| view! { <p class="small-text muted">{h}</p> })}
            {has_error.then(|| view! { <p class="field-error" id=format!("{id}-error") role="alert">{error}</p> })}
        </div>
    }
}

#[component]
fn PromotionForm(editing: Option<Promotion>) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let e = editing.clone();
    let get = move |f: fn(&Promotion) -> String| e.as_ref().map(f);
    let kind = kept("kind", get(|p| p.kind.as_str().to_string()), "percent");
    let scope = kept("scope", get(|p| p.applies_to.scope.as_str().to_string()), "order");
    let value = kept(
        "value",
        get(|p| match p.kind {
            PromoKind::Fixed => to_decimal(p.value),
            PromoKind::Percent => p.value.to_string(),
            PromoKind::FreeShipping => String::new(),
        }),
        "",
    );
    let date = |d: Option<chrono::DateTime<chrono::Utc>>| -> String { d.map(|d| d.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default() };
    let active = if q("refused").is_empty() { editing.as_ref().map(|p| p.active).unwrap_or(true) } else { q("active") == "1" };
    let title = if editing.is_some() { loc.t("admin-promo-edit") } else { loc.t("admin-promo-new") };
    let select_error = |name: &str| crate::ui::message(loc, &q(&format!("err.{name}")));
    view! {
        <section class="panel stack" id="promotion-form">
            <h2>{title}</h2>
            <form method="post" action="/admin/promotions/save" class="stack promo-form">
                {editing.as_ref().map(|p| view! { <input type="hidden" name="id" value=p.id.clone()/> })}
                <Field name="name" label=loc.t("admin-promo-name").to_string() value=kept("name", get(|p| p.name.clone()), "")/>
                <Field name="code" label=loc.t("coupon-code").to_string() value=kept("code", get(|p| p.code.clone().unwrap_or_default()), "") hint=loc.t("admin-promo-code-hint").to_string()/>
                <div class="field-row">
                    <div class="field">
                        <label for="promo-kind">{loc.t("admin-promo-kind")}</label>
                        <select id="promo-kind" name="kind">
                            {[("percent", "admin-promo-kind-percent"), ("fixed", "admin-promo-kind-fixed"), ("free_shipping", "free-shipping")].into_iter().map(|(k, label)| view! {
                                <option value=k selected=kind == k>{loc.t(label)}</option>
                            }).collect_view()}
                        </select>
                        {(!select_error("kind").is_empty()).then(|| view! { <p class="field-error" role="alert">{select_error("kind")}</p> })}
                    </div>
                    <Field name="value" label=loc.t("admin-promo-value").to_string() value=value hint=loc.t("admin-promo-value-hint").to_string()/>
                </div>
                <div class="field-row">
                    <div class="field">
                        <label for="promo-scope">{loc.t("admin-promo-applies")}</label>
                        <select id="promo-scope" name="scope">
                            {[("order", "admin-promo-scope-order"), ("products", "admin-promo-scope-products"), ("categories", "admin-promo-scope-categories")].into_iter().map(|(k, label)| view! {
                                <option value=k selected=scope == k>{loc.t(label)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <Field name="applies_to.ids" label=loc.t("admin-promo-ids").to_string() value=kept("applies_to.ids", get(|p| p.applies_to.ids.join(", ")), "") hint=loc.t("admin-promo-ids-hint").to_string()/>
                </div>
                <Field name="min_subtotal_cents" label=loc.t("admin-promo-min").to_string() value=kept("min_subtotal_cents", get(|p| if p.min_subtotal_cents > 0 { to_decimal(p.min_subtotal_cents) } else { String::new() }), "")/>
                <div class="field-row">
                    <Field name="starts_at" kind="datetime-local" label=loc.t("admin-promo-starts").to_string() value=kept("starts_at", editing.as_ref().map(|p| date(p.starts_at)), "")/>
                    <Field name="ends_at" kind="datetime-local" label=loc.t("admin-promo-ends").to_string() value=kept("ends_at", editing.as_ref().map(|p| date(p.ends_at)), "") hint=loc.t("admin-promo-utc").to_string()/>
                </div>
                <div class="field-row">
                    <Field name="usage_limit" kind="number" label=loc.t("admin-promo-usage-limit").to_string() value=kept("usage_limit", get(|p| p.usage_limit.map(|l| l.to_string()).unwrap_or_default()), "")/>
                    <Field name="per_customer_limit" kind="number" label=loc.t("admin-promo-per-limit").to_string() value=kept("per_customer_limit", get(|p| p.per_customer_limit.map(|l| l.to_string()).unwrap_or_default()), "")/>
                </div>
                <label class="choice"><input type="checkbox" name="active" value="1" checked=active/><span>{loc.t("admin-promo-active")}</span></label>
                <div class="actions">
                    <button type="submit" class="button primary">{loc.t("save")}</button>
                    {editing.is_some().then(|| view! { <a href=loc.href("/admin/promotions") class="link-button">{loc.t("cancel")}</a> })}
                </div>
            </form>
        </section>
    }
}
