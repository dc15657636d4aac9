use leptos::prelude::*;

use crate::domain::product::ProductSummary;
use crate::ui::fns::PageError;

#[component]
pub fn ProductCard(product: ProductSummary) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let href = loc.href(&format!("/p/{}", product.slug));
    let from = |p: &crate::domain::money::Money| {
        let price = loc.price(p);
        if product.variant_count > 1 { loc.tf("price-from", &[("price", &price)]) } else { price }
    };
    let price = match &product.sale_price {
        Some(sale) => view! {
            <s class="regular"><span class="visually-hidden">{loc.t("regular-price")}" "</span>{loc.price(&product.price)}</s>" "<strong class="sale-price">{from(sale)}</strong>
        }
        .into_any(),
        None => from(&product.price).into_any(),
    };
    view! {
        <li>
            <a href=href class="product-card">
                <div class="card-image">
                    {product.image_url.clone().map(|src| view! { <img src=src alt=product.name.clone() loading="lazy" width="300" height="300"/> })}
                    {(!product.in_stock).then(|| view! { <span class="badge sold-out">{loc.t("sold-out")}</span> })}
                </div>
                <div class="card-body">
                    <span class="card-brand">{product.brand.clone()}</span>
                    <h3 class="card-title">{product.name.clone()}</h3>
                    <span class="card-price">{price}</span>
                </div>
            </a>
            {product.single_sku.clone().filter(|_| product.in_stock).map(|sku| view! {
                <form method="post" action=loc.href("/cart/add") class="card-add">
                    <input type="hidden" name="sku" value=sku/>
                    <input type="hidden" name="quantity" value="1"/>
                    <input type="hidden" name="back" value=loc.href("/cart")/>
                    <button type="submit" class="button small">{loc.t("add-to-cart")}<span class="visually-hidden">": "{product.name.clone()}</span></button>
                </form>
            })}
        </li>
    }
}

#[component]
pub fn ProductGrid(items: Vec<ProductSummary>) -> impl IntoView {
    view! {
        <ul class="product-grid">
            {items.into_iter().map(|p| view! { <ProductCard product=p/> }).collect_view()}
        </ul>
    }
}

/// A titled row of product cards (recommendations); nothing when empty.
#[component]
pub fn Shelf(title: String, items: Vec<ProductSummary>, #[prop(optional)] class: &'static str, #[prop(optional, into)] see_all: Option<String>) -> impl IntoView {
    let loc = crate::ui::use_locale();
    (!items.is_empty()).then(|| {
        view! {
            <section class=format!("shelf {class}")>
                <div class="shelf-head"><h2>{title}</h2>{see_all.map(|href| view! { <a href=href>{loc.t("see-all")}</a> })}</div>
                <ProductGrid items/>
            </section>
        }
    })
}

/// A friendly explanation of why a page cannot be shown; sets the HTTP status.
#[component]
pub fn ErrorPanel(error: PageError, #[prop(optional, into)] back_href: Option<String>) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let (status, title, detail) = match &error {
        PageError::Invalid { param, message } => (400, loc.t("error-invalid-title").to_string(), format!("{param}: {message}")),
        PageError::NotFound => (404, loc.t("error-not-found-title").to_string(), loc.t("error-not-found").to_string()),
        PageError::Unavailable => (503, loc.t("error-unavailable-title").to_string(), loc.t("error-unavailable").to_string()),
        PageError::SignInRequired => (401, loc.t("error-sign-in-title").to_string(), loc.t("error-sign-in").to_string()),
        PageError::Forbidden => (403, loc.t("error-forbidden-title").to_string(), loc.t("error-forbidden").to_string()),
        PageError::Refused { message } => (409, loc.t("error-refused-title").to_string(), message.clone()),
    };
    crate::ui::fns::set_status(status);
    view! {
        <section class="error-panel" role="alert" data-status=status>
            <h1>{title}</h1>
            <p class="error-detail">{detail}</p>
            <p><a class="button" href=loc.href(&back_href.unwrap_or_else(|| "/products".into()))>{loc.t("back-to-shop")}</a></p>
        </section>
    }
}

/// Server function transport errors shown the same way as an unavailable store.
pub fn flatten<T>(r: Result<Result<T, PageError>, ServerFnError>) -> Result<T, PageError> {
    r.unwrap_or(Err(PageError::Unavailable))
}
