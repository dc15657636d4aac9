//! `/p/<slug>`: picture, price, availability, variant picker, attributes.
//! The picker's choices live in the URL (`?size=M&color=Red`), so it works
//! without JavaScript and every choice is a shareable link.
use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::components::{flatten, ErrorPanel, ProductGrid, Shelf};
use super::layout::use_categories;
use super::listing::{attr_label, breadcrumb_trail, Breadcrumbs};
use super::seo::{site_origin, PageMeta};
use crate::domain::seo::{breadcrumbs_json_ld, product_json_ld};
use crate::domain::product::ProductView;
use crate::ui::fns::{get_product, get_product_recs, ProductRecs};

/// The selection: options from the URL that exist on the product; when the
/// URL chooses nothing, the first variant in stock (or the first variant).
pub fn effective_selection(product: &ProductView, requested: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let axes = product.option_axes();
    let chosen: BTreeMap<String, String> = axes
        .iter()
        .filter_map(|(axis, values)| requested.get(axis).filter(|v| values.contains(v)).map(|v| (axis.clone(), v.clone())))
        .collect();
    if !chosen.is_empty() {
        return chosen;
    }
    product
        .variants
        .iter()
        .find(|v| v.available > 0)
        .or_else(|| product.variants.first())
        .map(|v| v.options.clone())
        .unwrap_or_default()
}

fn selection_href(loc: crate::i18n::Locale, slug: &str, selection: &BTreeMap<String, String>) -> String {
    let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(selection.iter()).finish();
    if qs.is_empty() {
        loc.href(&format!("/p/{slug}"))
    } else {
        loc.href(&format!("/p/{slug}?{qs}"))
    }
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let product = Resource::new(slug, get_product);
    // fetched beside the product, never before it (see `get_product_recs`)
    let recs = Resource::new(slug, get_product_recs);
    let loc = crate::ui::use_locale();
    view! {
        <Transition fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                match flatten(product.await) {
                    Ok(p) => {
                        let requested: BTreeMap<String, String> = query.get().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                        let recs = recs.await.unwrap_or_default();
                        view! { <ProductDetail product=p requested/><Recommended recs/> }.into_any()
                    }
                    Err(e) => view! { <Title text=loc.t("product-not-found")/><ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// "Frequently bought together" (with one button adding them all) and
/// "Similar products", below the product.
#[component]
fn Recommended(recs: ProductRecs) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let together = (!recs.together.is_empty()).then(|| {
        let n = recs.together.len() as i64;
        let total = crate::domain::money::Money::shop(recs.together.iter().map(|b| b.price.amount).sum());
        let skus = recs.together.iter().map(|b| b.sku.clone()).collect::<Vec<_>>().join(",");
        let chosen: Vec<(String, String)> = recs.together.iter().filter(|b| !b.options.is_empty()).map(|b| (b.product.name.clone(), b.options.clone())).collect();
        let items = recs.together.into_iter().map(|b| b.product).collect::<Vec<_>>();
        view! {
            <section class="shelf bought-together" aria-labelledby="bought-together">
                <div class="shelf-head"><h2 id="bought-together">{loc.t("rec-bought-together")}</h2></div>
                <ProductGrid items/>
                <form method="post" action=loc.href("/cart/add-all") class="bundle panel">
                    <input type="hidden" name="skus" value=skus/>
                    <p class="bundle-total">{loc.tn("rec-bundle-total", n, &[("price", &loc.price(&total))])}</p>
                    {(!chosen.is_empty()).then(|| view! {
                        <p class="muted bundle-variants">{chosen.into_iter().map(|(name, options)| format!("{name}: {options}")).collect::<Vec<_>>().join("; ")}</p>
                    })}
                    <button type="submit" class="button primary">{loc.tn("rec-add-all", n, &[])}</button>
                </form>
            </section>
        }
    });
    view! {
        {together}
        <Shelf title=loc.t("rec-similar").to_string() items=recs.similar class="similar"/>
    }
}

#[component]
fn ProductDetail(product: ProductView, requested: BTreeMap<String, String>) -> impl IntoView {
    let selection = effective_selection(&product, &requested);
    let axes = product.option_axes();
    let variant = product.find_variant(&selection).cloned();
    let loc = crate::ui::use_locale();
    let (regular, sale) = match &variant {
        Some(v) => (loc.price(&v.price), v.sale_price.as_ref().map(|s| loc.price(s))),
        None => (loc.tf("price-from", &[("price", &loc.price(&product.price))]), product.sale_price.as_ref().map(|s| loc.tf("price-from", &[("price", &loc.price(s))]))),
    };
    let price = match sale {
        Some(sale) => view! {
            <s class="regular" data-testid="regular-price"><span class="visually-hidden">{loc.t("regular-price")}" "</span>{regular}</s>" "<strong class="sale-price" data-testid="sale-price">{sale}</strong>
        }
        .into_any(),
        None => regular.into_any(),
    };
    let (availability, avail_class) = match &variant {
        Some(v) if v.available > 10 => (loc.t("in-stock").to_string(), "in-stock"),
        Some(v) if v.available > 0 => (loc.tn("only-left", v.available, &[]), "low-stock"),
        Some(_) => (loc.t("sold-out-option").to_string(), "sold-out"),
        None if axes.is_empty() => (loc.t("unavailable").to_string(), "sold-out"),
        None => (loc.t("combination-unavailable").to_string(), "sold-out"),
    };
    let tree = use_categories()();
    let crumbs = breadcrumb_trail(loc, &tree, Some(&product.category));
    let origin = site_origin();
    let json_ld = vec![product_json_ld(&origin, &product), breadcrumbs_json_ld(&origin, &crumbs)];
    let image = product.images.first().cloned();
    let slug = product.slug.clone();
    let description = product.description.clone();
    view! {
        <Title text=product.name.clone()/>
        <PageMeta title=product.name.clone() description=description.clone() path=format!("/p/{slug}") og_type="product" image=image.as_ref().map(|i| i.url.clone()) json_ld/>
        <Breadcrumbs crumbs/>
        <article class="product">
            <div class="gallery">
                {match image {
                    Some(img) => view! { <img src=img.url alt=if img.alt.is_empty() { product.name.clone() } else { img.alt } width="600" height="600"/> }.into_any(),
                    None => view! { <div class="no-image">{loc.t("no-picture")}</div> }.into_any(),
                }}
            </div>
            <div class="buy-box">
                <p class="product-brand">{product.brand.clone()}</p>
                <h1 class="product-title">{product.name.clone()}</h1>
                <p class="price">{price}<small>" "{loc.t("incl-vat")}</small></p>
                <p class=format!("availability {avail_class}")>{availability}</p>
                {(!axes.is_empty()).then(|| view! {
                    <nav class="variant-picker" aria-label=loc.t("options")>
                        {axes.into_iter().map(|(axis, values)| {
                            let current = selection.get(&axis).cloned();
                            view! {
                                <fieldset>
                                    <legend>{attr_label(loc, &axis)}{current.clone().map(|c| view! { <span class="chosen">": "{c}</span> })}</legend>
                                    <div class="options">
                                        {values.into_iter().map(|value| {
                                            let mut next = selection.clone();
                                            next.insert(axis.clone(), value.clone());
                                            let available = product.option_available(&selection, &axis, &value);
                                            let selected = current.as_deref() == Some(value.as_str());
                                            let class = format!("option{}{}", if selected { " selected" } else { "" }, if available { "" } else { " unavailable" });
                                            let title = if available { value.clone() } else { loc.tf("option-unavailable", &[("value", &value)]) };
                                            let label = value.clone();
                                            view! {
                                                <a href=selection_href(loc, &slug, &next) data-noscroll="true" class=class data-axis=axis.clone() data-value=value title=title aria-current=selected.then_some("true")>{label}</a>
                                            }
                                        }).collect_view()}
                                    </div>
                                </fieldset>
                            }
                        }).collect_view()}
                    </nav>
                })}
                <AddToCart variant=variant.clone() back=selection_href(loc, &slug, &selection)/>
                <p class="sku">{loc.t("sku")}": "<span data-testid="selected-sku">{variant.as_ref().map(|v| v.sku.clone()).unwrap_or_else(|| "—".into())}</span></p>
                <p class="delivery">{crate::ui::shop::delivery_promise(loc)}</p>
                <section class="description">
                    <h2>{loc.t("about-product")}</h2>
                    <p>{description}</p>
                </section>
                {(!product.attributes.is_empty()).then(|| view! {
                    <section class="specs">
                        <h2>{loc.t("specifications")}</h2>
                        <table class="attributes">
                            <tbody>
                                <tr><th scope="row">{loc.t("brand")}</th><td>{product.brand.clone()}</td></tr>
                                {product.attributes.iter().map(|(k, v)| view! { <tr><th scope="row">{attr_label(loc, k)}</th><td>{v.display()}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                })}
            </div>
        </article>
    }
}

/// The add-to-cart form of the chosen variant (a plain form post).
#[component]
fn AddToCart(variant: Option<crate::domain::product::VariantView>, back: String) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let query = use_query_map().get_untracked();
    let added = query.get("added");
    let error = query.get("cart_error");
    match variant {
        Some(v) if v.available > 0 => view! {
            <form method="post" action=loc.href("/cart/add") class="add-to-cart">
                <input type="hidden" name="sku" value=v.sku.clone()/>
                <input type="hidden" name="back" value=back/>
                <label for="qty">{loc.t("quantity")}</label>
                <input id="qty" type="number" name="quantity" value="1" min="1" max=v.available.min(99).to_string() class="qty"/>
                <button type="submit" class="button primary">{loc.t("add-to-cart")}</button>
            </form>
            {added.filter(|s| *s == v.sku).map(|_| view! { <p class="notice" role="status">{loc.t("added-to-cart")}" "<a href=loc.href("/cart")>{loc.t("view-cart")}</a></p> })}
            {error.map(|e| view! { <p class="alert" role="alert">{crate::ui::message(loc, &e)}</p> })}
        }
        .into_any(),
        _ => view! { <p class="muted">{loc.t("choose-available")}</p> }.into_any(),
    }
}
