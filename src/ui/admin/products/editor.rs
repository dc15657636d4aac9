//! The product editor, an island: fields, typed attributes, the variant
//! matrix (combinations and SKUs from `domain::variants`), and the images.
use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::ui::admin::fns::{admin_delete_product, admin_product, admin_save_product, SaveOutcome};
use crate::ui::admin::{admin_page, q};
use crate::domain::money::{parse_decimal, to_decimal, Money};
use crate::domain::product::{format_number, AttrValue, Product, ProductInput, ProductStatus, Variant};
use crate::domain::text::slugify;
use crate::domain::user::FieldError;
use crate::ui::shop::components::flatten;

use super::category_options;
use super::images::ImageManager;
use crate::domain::variants::{combinations, sku_for};

#[derive(Clone, Copy)]
struct AttrRow {
    id: u32,
    key: RwSignal<String>,
    kind: RwSignal<String>,
    value: RwSignal<String>,
}

#[derive(Clone, Copy)]
struct AxisRow {
    id: u32,
    name: RwSignal<String>,
    values: RwSignal<String>,
}

#[derive(Clone)]
struct VariantRow {
    id: u32,
    options: BTreeMap<String, String>,
    sku: RwSignal<String>,
    price: RwSignal<String>,
    stock: RwSignal<String>,
}

fn attr_row(id: u32, key: &str, value: Option<&AttrValue>) -> AttrRow {
    let (kind, text) = match value {
        Some(AttrValue::Bool(b)) => ("yesno", if *b { "yes" } else { "no" }.to_string()),
        Some(AttrValue::Number(n)) => ("number", format_number(*n)),
        Some(AttrValue::List(items)) => ("list", items.join(", ")),
        Some(AttrValue::Text(t)) => ("text", t.clone()),
        None => ("text", String::new()),
    };
    AttrRow { id, key: RwSignal::new(key.to_string()), kind: RwSignal::new(kind.to_string()), value: RwSignal::new(text) }
}

fn variant_row(id: u32, v: &Variant) -> VariantRow {
    VariantRow { id, options: v.options.clone(), sku: RwSignal::new(v.sku.clone()), price: RwSignal::new(to_decimal(v.price.amount)), stock: RwSignal::new(v.stock.to_string()) }
}

fn attr_value(loc: crate::i18n::Locale, kind: &str, text: &str) -> Result<AttrValue, String> {
    let t = text.trim();
    match kind {
        "number" => t.replace(',', ".").parse::<f64>().ok().filter(|n| n.is_finite()).map(AttrValue::Number).ok_or_else(|| loc.tf("admin-err-not-a-number", &[("text", t)])),
        "yesno" => match t {
            "yes" | "true" => Ok(AttrValue::Bool(true)),
            "no" | "false" => Ok(AttrValue::Bool(false)),
            _ => Err(loc.t("admin-err-yes-no").into()),
        },
        "list" => Ok(AttrValue::List(t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())),
        _ => Ok(AttrValue::Text(t.to_string())),
    }
}

#[component]
pub fn ProductNewPage() -> impl IntoView {
    // the guard runs on the server before the empty editor is shown
    let data = Resource::new(|| (), |_| crate::ui::admin::fns::admin_check());
    admin_page("admin-new-product", "loading", data, |_| view! { <ProductEditor product=None categories=category_paths() notice=q("notice")/> }.into_any())
}

#[component]
pub fn ProductEditPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(move || params.with(|p| p.get("id").unwrap_or_default()), admin_product);
    admin_page("admin-edit-product", "loading", data, |p| {
        let id = p.id.clone();
        view! { <ProductEditor product=Some(p) categories=category_paths() notice=q("notice")/><RecommendationSettings id/> }.into_any()
    })
}

/// Pinned complements and the exclusion switch: a plain form (works without
/// JavaScript), below the editor; what the job computed is listed beside it.
#[component]
fn RecommendationSettings(id: String) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let data = Resource::new({
        let id = id.clone();
        move || id.clone()
    }, crate::ui::admin::fns::admin_product_recs);
    view! {
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || {
                let id = id.clone();
                Suspend::new(async move {
                    let Ok(Ok(r)) = data.await else { return ().into_any() };
                    let notice = crate::ui::message(loc, &q("rec_notice"));
                    let pinned = if q("err.pinned").is_empty() { r.pinned.clone() } else { q("pinned") };
                    view! {
                        <section class="panel rec-settings" id="recommendations">
                            <h2>{loc.t("admin-recommendations")}</h2>
                            {(!notice.is_empty()).then(|| view! { <p class="notice" role="status">{notice}</p> })}
                            <form method="post" action="/admin/products/recommendations" class="stack">
                                <input type="hidden" name="id" value=id/>
                                <crate::ui::account::Field name="pinned" label=loc.t("admin-rec-pinned") value=pinned error=crate::ui::message(loc, &q("err.pinned")) hint=loc.t("admin-rec-pinned-hint") autocomplete="off" optional=true/>
                                <label class="inline"><input type="checkbox" name="excluded" value="1" checked=r.excluded/>" "{loc.t("admin-rec-excluded")}</label>
                                <button type="submit" class="button">{loc.t("admin-rec-save")}</button>
                            </form>
                            <h3>{loc.t("admin-rec-computed")}</h3>
                            {if r.computed.is_empty() {
                                view! { <p class="muted">{loc.t("admin-rec-none")}</p> }.into_any()
                            } else {
                                view! {
                                    <ol class="rec-computed">
                                        {r.computed.into_iter().take(10).map(|p| view! { <li><a href=format!("/admin/products/{}", p.id)>{p.name}</a>" "<span class="muted">{p.slug}</span></li> }).collect_view()}
                                    </ol>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}

fn category_paths() -> Vec<String> {
    category_options().into_iter().map(|(path, _)| path).collect()
}

/// The editor runs in the browser (an island): what it needs from the page
/// (the product, the known category paths, a notice) comes in its props.
#[island]
fn ProductEditor(product: Option<Product>, categories: Vec<String>, notice: String) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let next_id = StoredValue::new(1000u32);
    let fresh = move || {
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        id
    };
    let existing_id = product.as_ref().map(|p| p.id.clone()).unwrap_or_default();
    let is_edit = product.is_some();
    // the stock each SKU had when the editor loaded: a changed number is a
    // compare-and-set against it, an unchanged one leaves the stock alone
    let stock_of = |p: &Product| p.variants.iter().map(|v| (v.sku.clone(), v.stock)).collect::<BTreeMap<String, i64>>();
    let loaded_stock = RwSignal::new(product.as_ref().map(stock_of).unwrap_or_default());
    let p = product.clone();
    let name = RwSignal::new(p.as_ref().map(|p| p.name.clone()).unwrap_or_default());
    let slug = RwSignal::new(p.as_ref().map(|p| p.slug.clone()).unwrap_or_default());
    let description = RwSignal::new(p.as_ref().map(|p| p.description.clone()).unwrap_or_default());
    let brand = RwSignal::new(p.as_ref().map(|p| p.brand.clone()).unwrap_or_default());
    let category = RwSignal::new(p.as_ref().map(|p| p.category.clone()).unwrap_or_default());
    let status = RwSignal::new(p.as_ref().map(|p| p.status.as_str().to_string()).unwrap_or_else(|| "draft".into()));
    let vat_rate = RwSignal::new(p.as_ref().map(|p| p.vat_rate).unwrap_or_else(crate::domain::product::standard_vat_rate).to_string());
    let vat_exemption = RwSignal::new(p.as_ref().and_then(|p| p.vat_exemption.clone()).unwrap_or_default());
    let attrs = RwSignal::new(match &p {
        Some(p) => p.attributes.iter().enumerate().map(|(i, (k, v))| attr_row(i as u32, k, Some(v))).collect::<Vec<_>>(),
        None => vec![attr_row(0, "", None)],
    });
    // option axes in first-seen order, with their values in first-seen order
    let mut axis_list: Vec<(String, Vec<String>)> = Vec::new();
    for v in p.iter().flat_map(|p| &p.variants) {
        for (k, val) in &v.options {
            match axis_list.iter_mut().find(|(n, _)| n == k) {
                Some((_, vals)) => {
                    if !vals.contains(val) {
                        vals.push(val.clone())
                    }
                }
                None => axis_list.push((k.clone(), vec![val.clone()])),
            }
        }
    }
    let axes = RwSignal::new(axis_list.iter().enumerate().map(|(i, (n, vals))| AxisRow { id: 500 + i as u32, name: RwSignal::new(n.clone()), values: RwSignal::new(vals.join(", ")) }).collect::<Vec<_>>());
    let variants = RwSignal::new(match &p {
        Some(p) => p.variants.iter().enumerate().map(|(i, v)| variant_row(700 + i as u32, v)).collect::<Vec<_>>(),
        None => vec![variant_row(700, &Variant { sku: String::new(), options: BTreeMap::new(), price: Money::shop(0), stock: 0 })],
    });
    let default_price = RwSignal::new(p.as_ref().and_then(|p| p.variants.first()).map(|v| to_decimal(v.price.amount)).unwrap_or_default());
    let errors: RwSignal<Vec<FieldError>> = RwSignal::new(vec![]);
    let saved = RwSignal::new(crate::ui::message(loc, &notice));
    let saving = RwSignal::new(false);
    let err = move |field: String| move || errors.with(|es| es.iter().find(|e| e.field == field).map(|e| e.message.clone()));

    let base_sku = move || {
        let s = if slug.get().is_empty() { slugify(&name.get()) } else { slug.get() };
        let s: String = s.to_uppercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(24).collect();
        if s.is_empty() { "SKU".to_string() } else { s.trim_end_matches('-').to_string() }
    };
    let generate = move |_| {
        let axes_now: Vec<(String, Vec<String>)> = axes
            .get()
            .iter()
            .map(|a| (slugify(&a.name.get()).replace('-', "_"), a.values.get().split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect::<Vec<_>>()))
            .filter(|(n, vals)| !n.is_empty() && !vals.is_empty())
            .collect();
        let current = variants.get();
        let base = base_sku();
        let price = default_price.get();
        let rows = combinations(&axes_now)
            .into_iter()
            .map(|options| match current.iter().find(|r| r.options == options) {
                Some(r) => r.clone(),
                None => VariantRow {
                    id: fresh(),
                    sku: RwSignal::new(sku_for(&base, &options, &axes_now)),
                    options,
                    price: RwSignal::new(price.clone()),
                    stock: RwSignal::new("0".into()),
                },
            })
            .collect();
        variants.set(rows);
    };

    let build = move || -> Result<ProductInput, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut attributes = BTreeMap::new();
        for a in attrs.get() {
            let key = a.key.get().trim().to_string();
            let value = a.value.get();
            if key.is_empty() && value.trim().is_empty() {
                continue;
            }
            if key.is_empty() {
                problems.push(FieldError::new(&format!("attr.{}", a.id), loc.t("admin-err-attr-name")));
                continue;
            }
            match attr_value(loc, &a.kind.get(), &value) {
                Ok(v) => {
                    attributes.insert(key, v);
                }
                Err(m) => problems.push(FieldError::new(&format!("attributes.{key}"), m)),
            }
        }
        let mut vs = Vec::new();
        for (i, r) in variants.get().iter().enumerate() {
            let price = parse_decimal(&r.price.get());
            if price.is_none() {
                problems.push(FieldError::new(&format!("variants.{i}.price"), loc.t("admin-err-price")));
            }
            let stock = r.stock.get().trim().parse::<i64>().ok().filter(|s| *s >= 0);
            if stock.is_none() {
                problems.push(FieldError::new(&format!("variants.{i}.stock"), loc.t("admin-err-stock")));
            }
            vs.push(Variant { sku: r.sku.get(), options: r.options.clone(), price: Money::shop(price.unwrap_or(0)), stock: stock.unwrap_or(0) });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let slug_text = slug.get().trim().to_string();
        Ok(ProductInput {
            name: name.get(),
            slug: (!slug_text.is_empty()).then_some(slug_text),
            description: description.get(),
            brand: brand.get(),
            category: category.get(),
            status: ProductStatus::parse(&status.get()).unwrap_or_default(),
            attributes,
            variants: vs,
            stock_expected: is_edit.then(|| loaded_stock.get()),
            vat_rate: vat_rate.get().parse().unwrap_or_else(|_| crate::domain::product::standard_vat_rate()),
            vat_exemption: Some(vat_exemption.get()).filter(|r| !r.trim().is_empty()),
        })
    };
    let id_for_save = existing_id.clone();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(String::new());
        let input = match build() {
            Ok(i) => i,
            Err(problems) => {
                errors.set(problems);
                return;
            }
        };
        errors.set(vec![]);
        saving.set(true);
        let id = id_for_save.clone();
        leptos::task::spawn_local(async move {
            let result = admin_save_product(id.clone(), input).await;
            saving.set(false);
            match flatten(result) {
                Ok(SaveOutcome::Saved(p)) => {
                    if id.is_empty() {
                        let _ = window().location().set_href(&loc.href(&format!("/admin/products/{}?notice=product-created", p.id)));
                    } else {
                        slug.set(p.slug.clone());
                        // show the stock as saved (orders may have moved it) and expect it next time
                        let now = stock_of(&p);
                        for row in variants.get_untracked() {
                            if let Some(n) = now.get(&row.sku.get_untracked()) {
                                row.stock.set(n.to_string());
                            }
                        }
                        loaded_stock.set(now);
                        saved.set(loc.tf("admin-saved", &[("time", &p.updated_at.format("%H:%M:%S").to_string())]));
                    }
                }
                Ok(SaveOutcome::Refused(es)) => errors.set(es),
                Err(e) => errors.set(vec![FieldError::new("form", loc.tf("admin-err-save", &[("error", &format!("{e:?}"))]))]),
            }
        });
    };
    let id_for_delete = existing_id.clone();
    let delete = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let ok = window().confirm_with_message(&crate::ui::use_locale().tf("admin-delete-confirm", &[("name", &name.get_untracked())])).unwrap_or(false);
            if !ok {
                return;
            }
        }
        let id = id_for_delete.clone();
        leptos::task::spawn_local(async move {
            match flatten(admin_delete_product(id).await) {
                Ok(what) => {
                    let _ = window().location().set_href(&loc.href(&format!("/admin/products?notice=product-{what}")));
                }
                Err(e) => errors.set(vec![FieldError::new("form", loc.tf("admin-err-delete", &[("error", &format!("{e:?}"))]))]),
            }
        });
    };
    let is_new = existing_id.is_empty();
    let preview_slug = move || if slug.get().trim().is_empty() { slugify(&name.get()) } else { slug.get() };
    let form_error = err("form".into());
    let variants_error = err("variants".into());
    let images = product.as_ref().map(|p| p.images.clone()).unwrap_or_default();
    view! {
        <div class="admin-head">
            <h1>{if is_new { crate::ui::use_locale().t("admin-new-product").to_string() } else { product.as_ref().map(|p| p.name.clone()).unwrap_or_default() }}</h1>
            {(!is_new).then(|| view! { <a class="button" href=move || format!("/p/{}", slug.get()) target="_blank">{crate::ui::use_locale().t("admin-view-in-shop")}</a> })}
        </div>
        {move || (!saved.get().is_empty()).then(|| view! { <p class="notice" role="status">{saved.get()}</p> })}
        {move || (!errors.get().is_empty()).then(|| view! { <p class="alert" role="alert">{crate::ui::use_locale().tn("admin-nothing-saved", errors.get().len() as i64, &[])}</p> })}
        {move || form_error().map(|m| view! { <p class="alert" role="alert">{m}</p> })}
        <noscript><p class="alert">{crate::ui::use_locale().t("admin-editor-needs-js")}</p></noscript>
        <form class="editor" on:submit=save novalidate>
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-basics")}</h2>
                <div class="grid-2">
                    <EditField label=crate::ui::use_locale().t("name") field="name" value=name errors=errors/>
                    <div class="field" class:invalid=move || err("slug".into())().is_some()>
                        <label for="f-slug">{crate::ui::use_locale().t("admin-slug")}</label>
                        <input id="f-slug" name="slug" prop:value=move || slug.get() on:input=move |ev| slug.set(event_target_value(&ev)) placeholder=crate::ui::use_locale().t("admin-a-generated-from-the-name")/>
                        <p class="hint">{move || format!("/p/{}", preview_slug())}</p>
                        {move || err("slug".into())().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    </div>
                    <EditField label=crate::ui::use_locale().t("brand") field="brand" value=brand errors=errors/>
                    <div class="field" class:invalid=move || err("category".into())().is_some()>
                        <label for="f-category">{crate::ui::use_locale().t("admin-category")}</label>
                        <input id="f-category" name="category" list="category-paths" prop:value=move || category.get() on:input=move |ev| category.set(event_target_value(&ev)) placeholder=crate::ui::use_locale().t("admin-a-e-g-clothing-t-shirts")/>
                        <datalist id="category-paths">{categories.into_iter().map(|path| view! { <option value=path/> }).collect_view()}</datalist>
                        <p class="hint">{crate::ui::use_locale().t("admin-a-new-path-creates-the-category")}</p>
                        {move || err("category".into())().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    </div>
                    <div class="field">
                        <label for="f-status">{crate::ui::use_locale().t("admin-status")}</label>
                        <select id="f-status" name="status" on:change=move |ev| status.set(event_target_value(&ev))>
                            {ProductStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=move || status.get() == s.as_str()>{crate::ui::use_locale().t(&format!("pstatus-{}", s.as_str()))}</option> }).collect_view()}
                        </select>
                        <p class="hint">{crate::ui::use_locale().t("admin-only-active-products-are-in-the")}</p>
                    </div>
                    <div class="field" class:invalid=move || err("vat_rate".into())().is_some()>
                        <label for="f-vat-rate">{crate::ui::use_locale().t("admin-vat-rate")}</label>
                        <select id="f-vat-rate" name="vat_rate" on:change=move |ev| vat_rate.set(event_target_value(&ev))>
                            {crate::domain::product::VAT_RATES.iter().map(|r| view! { <option value=r.to_string() selected=move || vat_rate.get() == r.to_string()>{crate::ui::use_locale().t(&format!("admin-vat-rate-{r}"))}</option> }).collect_view()}
                        </select>
                        <p class="hint">{crate::ui::use_locale().t("admin-vat-rate-hint")}</p>
                        {move || err("vat_rate".into())().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    </div>
                    {move || (vat_rate.get() == "0").then(|| view! {
                        <div class="field" class:invalid=move || err("vat_exemption".into())().is_some()>
                            <label for="f-vat-exemption">{crate::ui::use_locale().t("admin-vat-exemption")}</label>
                            <input id="f-vat-exemption" name="vat_exemption" maxlength="300" prop:value=move || vat_exemption.get() on:input=move |ev| vat_exemption.set(event_target_value(&ev)) placeholder=crate::ui::use_locale().t("admin-vat-exemption-placeholder")/>
                            {move || err("vat_exemption".into())().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                        </div>
                    })}
                </div>
                <div class="field" class:invalid=move || err("description".into())().is_some()>
                    <label for="f-description">{crate::ui::use_locale().t("admin-description")}</label>
                    <textarea id="f-description" name="description" rows="4" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                    {move || err("description".into())().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                </div>
            </div>

            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-attributes")}</h2>
                <p class="hint">{crate::ui::use_locale().t("admin-any-facts-shoppers-can-filter-by")}</p>
                <table class="data rows attrs-table">
                    <thead><tr><th>{crate::ui::use_locale().t("admin-name")}</th><th>{crate::ui::use_locale().t("admin-type")}</th><th>{crate::ui::use_locale().t("admin-value")}</th><th></th></tr></thead>
                    <tbody>
                        <For each=move || attrs.get() key=|a| a.id children=move |a: AttrRow| {
                            let field = move || format!("attributes.{}", a.key.get().trim());
                            let message = move || errors.with(|es| es.iter().find(|e| e.field == field() || e.field == format!("attr.{}", a.id)).map(|e| e.message.clone()));
                            view! {
                                <tr class:invalid=move || message().is_some()>
                                    <td><input class="attr-key" aria-label=crate::ui::use_locale().t("admin-a-attribute-name") placeholder=crate::ui::use_locale().t("admin-a-e-g-material") prop:value=move || a.key.get() on:input=move |ev| a.key.set(event_target_value(&ev).to_lowercase().replace([' ', '-'], "_"))/></td>
                                    <td>
                                        <select class="attr-kind" aria-label=crate::ui::use_locale().t("admin-a-type") on:change=move |ev| a.kind.set(event_target_value(&ev))>
                                            {["text", "number", "yesno", "list"].into_iter().map(|v| view! { <option value=v selected=move || a.kind.get() == v>{crate::ui::use_locale().t(&format!("admin-kind-{v}"))}</option> }).collect_view()}
                                        </select>
                                    </td>
                                    <td>
                                        {move || if a.kind.get() == "yesno" {
                                            view! {
                                                <select class="attr-value" aria-label=crate::ui::use_locale().t("admin-a-value") on:change=move |ev| a.value.set(event_target_value(&ev))>
                                                    <option value="">"—"</option>
                                                    <option value="yes" selected=move || a.value.get() == "yes">{crate::ui::use_locale().t("admin-yes")}</option>
                                                    <option value="no" selected=move || a.value.get() == "no">{crate::ui::use_locale().t("admin-no")}</option>
                                                </select>
                                            }.into_any()
                                        } else {
                                            let ph = if a.kind.get() == "list" { "comma, separated, values" } else if a.kind.get() == "number" { "e.g. 15.6" } else { "e.g. cotton" };
                                            view! { <input class="attr-value" aria-label=crate::ui::use_locale().t("admin-a-value") placeholder=ph prop:value=move || a.value.get() on:input=move |ev| a.value.set(event_target_value(&ev))/> }.into_any()
                                        }}
                                        {move || message().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                                    </td>
                                    <td><button type="button" class="link-button" aria-label=crate::ui::use_locale().t("admin-a-remove-attribute") on:click=move |_| attrs.update(|v| v.retain(|x| x.id != a.id))>{crate::ui::use_locale().t("admin-remove")}</button></td>
                                </tr>
                            }
                        }/>
                    </tbody>
                </table>
                <button type="button" class="button small" on:click=move |_| { let id = fresh(); attrs.update(|v| v.push(attr_row(id, "", None))) }>{crate::ui::use_locale().t("admin-add-attribute")}</button>
            </div>

            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-variants")}</h2>
                <p class="hint">{crate::ui::use_locale().t("admin-options-such-as-size-and-colour")}</p>
                <div class="axes">
                    <For each=move || axes.get() key=|a| a.id children=move |a: AxisRow| view! {
                        <div class="axis-row">
                            <input class="axis-name" aria-label=crate::ui::use_locale().t("admin-a-option-name") placeholder=crate::ui::use_locale().t("admin-a-e-g-size") prop:value=move || a.name.get() on:input=move |ev| a.name.set(event_target_value(&ev).to_lowercase())/>
                            <input class="axis-values" aria-label=crate::ui::use_locale().t("admin-a-option-values") placeholder=crate::ui::use_locale().t("admin-a-e-g-s-m-l") prop:value=move || a.values.get() on:input=move |ev| a.values.set(event_target_value(&ev))/>
                            <button type="button" class="link-button" on:click=move |_| axes.update(|v| v.retain(|x| x.id != a.id))>{crate::ui::use_locale().t("admin-remove")}</button>
                        </div>
                    }/>
                </div>
                <div class="axis-actions">
                    <button type="button" class="button small" on:click=move |_| { let id = fresh(); axes.update(|v| v.push(AxisRow { id, name: RwSignal::new(String::new()), values: RwSignal::new(String::new()) })) }>{crate::ui::use_locale().t("admin-add-option")}</button>
                    <label class="inline">{crate::ui::use_locale().t("admin-price-for-new-variants")}" " <input class="default-price" size="8" placeholder="19.99" prop:value=move || default_price.get() on:input=move |ev| default_price.set(event_target_value(&ev))/></label>
                    <button type="button" class="button small primary" on:click=generate>{crate::ui::use_locale().t("admin-generate-variants")}</button>
                </div>
                {move || variants_error().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                <table class="data rows variants-table">
                    <thead><tr><th>{crate::ui::use_locale().t("admin-options")}</th><th>{crate::ui::use_locale().t("admin-sku")}</th><th>{format!("Price ({})", crate::domain::money::shop_currency())}</th><th>{crate::ui::use_locale().t("admin-stock")}</th><th></th></tr></thead>
                    <tbody>
                        {move || variants.get().into_iter().enumerate().map(|(i, r)| {
                            let e = move |f: &'static str| move || errors.with(|es| es.iter().find(|e| e.field == format!("variants.{i}.{f}") || (f == "price" && e.field == format!("variants.{i}.price.currency"))).map(|e| e.message.clone()));
                            let opts = if r.options.is_empty() { "—".to_string() } else { r.options.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(" · ") };
                            let id = r.id;
                            view! {
                                <tr class="variant-row">
                                    <td class="muted">{opts}{move || e("options")().map(|m| view! { <p class="field-error">{m}</p> })}</td>
                                    <td><input class="variant-sku" aria-label=crate::ui::use_locale().t("admin-a-sku") prop:value=move || r.sku.get() on:input=move |ev| r.sku.set(event_target_value(&ev))/>{move || e("sku")().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}</td>
                                    <td><input class="variant-price" aria-label=crate::ui::use_locale().t("admin-a-price") inputmode="decimal" prop:value=move || r.price.get() on:input=move |ev| r.price.set(event_target_value(&ev))/>{move || e("price")().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}</td>
                                    <td><input class="variant-stock" aria-label=crate::ui::use_locale().t("admin-a-stock") inputmode="numeric" prop:value=move || r.stock.get() on:input=move |ev| r.stock.set(event_target_value(&ev))/>{move || e("stock")().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}</td>
                                    <td><button type="button" class="link-button" on:click=move |_| variants.update(|v| v.retain(|x| x.id != id))>{crate::ui::use_locale().t("admin-remove")}</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>

            <div class="editor-actions">
                <button type="submit" class="button primary" disabled=move || saving.get()>{move || loc.t(if saving.get() { "admin-saving" } else if is_new { "admin-create-product" } else { "admin-save-changes" })}</button>
                <a href=crate::ui::use_locale().href("/admin/products") class="link-button">{crate::ui::use_locale().t("admin-back-to-products")}</a>
                {(!is_new).then(|| view! { <button type="button" class="button danger" on:click=delete>{crate::ui::use_locale().t("admin-delete")}</button> })}
            </div>
        </form>
        {(!is_new).then(|| view! { <ImageManager product_id=existing_id.clone() images=images/> })}
    }
}

#[component]
fn EditField(label: &'static str, field: &'static str, value: RwSignal<String>, errors: RwSignal<Vec<FieldError>>) -> impl IntoView {
    let message = move || errors.with(|es| es.iter().find(|e| e.field == field).map(|e| e.message.clone()));
    let id = format!("f-{field}");
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id name=field prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            {move || message().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
        </div>
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_attribute_values() {
        let en = crate::i18n::Locale::En;
        assert_eq!(attr_value(en, "number", "15,6"), Ok(AttrValue::Number(15.6)));
        assert_eq!(attr_value(en, "number", "big"), Err("\"big\" is not a number".into()));
        assert_eq!(attr_value(en, "yesno", "yes"), Ok(AttrValue::Bool(true)));
        assert_eq!(attr_value(en, "list", "a, b,,c"), Ok(AttrValue::List(vec!["a".into(), "b".into(), "c".into()])));
    }
}
