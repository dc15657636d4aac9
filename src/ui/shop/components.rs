use leptos::prelude::*;
use leptos_router::components::A;

use crate::domain::product::ProductSummary;
use crate::ui::fns::PageError;

#[component]
pub fn ProductCard(product: ProductSummary) -> impl IntoView {
    let href = format!("/p/{}", product.slug);
    let from = if product.variant_count > 1 { "from " } else { "" };
    view! {
        <li>
            <A href=href attr:class="product-card">
                <div class="card-image">
                    {product.image_url.clone().map(|src| view! { <img src=src alt=product.name.clone() loading="lazy" width="300" height="300"/> })}
                    {(!product.in_stock).then(|| view! { <span class="badge sold-out">"Sold out"</span> })}
                </div>
                <div class="card-body">
                    <span class="card-brand">{product.brand.clone()}</span>
                    <h3 class="card-title">{product.name.clone()}</h3>
                    <span class="card-price"><small>{from}</small>{product.price.format()}</span>
                </div>
            </A>
            {product.single_sku.clone().filter(|_| product.in_stock).map(|sku| view! {
                <form method="post" action="/cart/add" class="card-add">
                    <input type="hidden" name="sku" value=sku/>
                    <input type="hidden" name="quantity" value="1"/>
                    <input type="hidden" name="back" value="/cart"/>
                    <button type="submit" class="button small">"Add to cart"</button>
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

/// A friendly explanation of why a page cannot be shown; sets the HTTP status.
#[component]
pub fn ErrorPanel(error: PageError, #[prop(optional, into)] back_href: Option<String>) -> impl IntoView {
    let (status, title, detail) = match &error {
        PageError::Invalid { param, message } => (400, "We couldn't use that filter".to_string(), format!("{param}: {message}")),
        PageError::NotFound => (404, "Not found".to_string(), "We couldn't find what you were looking for.".to_string()),
        PageError::Unavailable => (503, "The shop is catching its breath".to_string(), "Our catalog is briefly unavailable. Please try again in a moment.".to_string()),
        PageError::SignInRequired => (401, "Please sign in".to_string(), "This page is for signed-in users.".to_string()),
        PageError::Forbidden => (403, "Not for your account".to_string(), "Your account may not open this page.".to_string()),
    };
    crate::ui::fns::set_status(status);
    view! {
        <section class="error-panel" role="alert" data-status=status>
            <h1>{title}</h1>
            <p class="error-detail">{detail}</p>
            <p><a class="button" href=back_href.unwrap_or_else(|| "/products".into())>"Back to the shop"</a></p>
        </section>
    }
}

/// Server function transport errors shown the same way as an unavailable store.
pub fn flatten<T>(r: Result<Result<T, PageError>, ServerFnError>) -> Result<T, PageError> {
    r.unwrap_or(Err(PageError::Unavailable))
}
