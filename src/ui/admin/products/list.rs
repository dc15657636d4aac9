//! The product list: search, filters, pages.

use leptos::prelude::*;

use crate::ui::admin::fns::admin_products;
use crate::ui::admin::{admin_page, q, query_string, Flash, Pager};
use crate::domain::product::ProductStatus;

use super::category_options;

#[component]
pub fn ProductListPage() -> impl IntoView {
    let qs = query_string();
    let data = Resource::new(move || qs.clone(), admin_products);
    admin_page("admin-products", "loading", data, |r| view! { <ProductList result=r/> }.into_any())
}

#[component]
fn ProductList(result: crate::domain::query::SearchResult) -> impl IntoView {
    let (search, status, category) = (q("q"), q("status"), q("category"));
    let filtered = !search.is_empty() || !status.is_empty() || !category.is_empty();
    let categories = category_options();
    view! {
        <div class="admin-head">
            <h1>{crate::ui::use_locale().t("admin-products")}</h1>
            <a class="button primary" href=crate::ui::use_locale().href("/admin/products/new")>{crate::ui::use_locale().t("admin-new-product")}</a>
        </div>
        <Flash/>
        <form method="get" action=crate::ui::use_locale().href("/admin/products") class="filter-bar" role="search">
            <input type="search" name="q" value=search placeholder=crate::ui::use_locale().t("admin-a-search-name-brand-attributes") aria-label=crate::ui::use_locale().t("admin-a-search-products")/>
            <select name="status" aria-label=crate::ui::use_locale().t("admin-a-status")>
                <option value="">{crate::ui::use_locale().t("admin-any-status")}</option>
                {ProductStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=status == s.as_str()>{crate::ui::use_locale().t(&format!("pstatus-{}", s.as_str()))}</option> }).collect_view()}
            </select>
            <select name="category" aria-label=crate::ui::use_locale().t("admin-a-category")>
                <option value="">{crate::ui::use_locale().t("admin-any-category")}</option>
                {categories.into_iter().map(|(path, label)| { let sel = path == category; view! { <option value=path selected=sel>{label}</option> } }).collect_view()}
            </select>
            <button type="submit" class="button">{crate::ui::use_locale().t("admin-filter")}</button>
            {filtered.then(|| view! { <a href=crate::ui::use_locale().href("/admin/products") class="link-button">{crate::ui::use_locale().t("admin-clear")}</a> })}
        </form>
        {if result.items.is_empty() {
            view! {
                <section class="empty-state">
                    <h2>{crate::ui::use_locale().t(if filtered { "admin-no-product-matches" } else { "admin-no-products-yet" })}</h2>
                    <p>{crate::ui::use_locale().t(if filtered { "admin-try-fewer-filters" } else { "admin-create-first" })}</p>
                    <a class="button primary" href=crate::ui::use_locale().href("/admin/products/new")>{crate::ui::use_locale().t("admin-new-product")}</a>
                </section>
            }.into_any()
        } else {
            view! {
                <table class="data products-table">
                    <thead><tr><th></th><th>{crate::ui::use_locale().t("admin-name")}</th><th>{crate::ui::use_locale().t("admin-category")}</th><th>{crate::ui::use_locale().t("admin-status")}</th><th class="num">{crate::ui::use_locale().t("admin-price")}</th><th>{crate::ui::use_locale().t("admin-stock")}</th></tr></thead>
                    <tbody>
                        {result.items.iter().map(|p| view! {
                            <tr>
                                <td class="thumb">{p.image_url.clone().map(|src| view! { <img src=src alt="" width="40" height="40"/> })}</td>
                                <td><a href=crate::ui::use_locale().href(&format!("/admin/products/{}", p.id)) class="strong">{p.name.clone()}</a><br/><span class="muted small-text">{p.brand.clone()}</span></td>
                                <td class="muted">{p.category.clone()}</td>
                                <td><span class=format!("status {}", p.status.as_str())>{crate::ui::use_locale().t(&format!("pstatus-{}", p.status.as_str()))}</span></td>
                                <td class="num">{crate::ui::use_locale().price(&p.price)}</td>
                                <td>{if p.in_stock { view! { <span>{crate::ui::use_locale().t("admin-in-stock")}</span> }.into_any() } else { view! { <span class="zero">{crate::ui::use_locale().t("admin-sold-out")}</span> }.into_any() }}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <Pager page=result.page as u64 per_page=result.per_page as u64 total=result.total base=query_string() path="/admin/products"/>
            }.into_any()
        }}
    }
}

