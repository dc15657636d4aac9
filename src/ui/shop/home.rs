use leptos::prelude::*;
use leptos_meta::Title;

use super::components::{flatten, ErrorPanel, ProductGrid, Shelf};
use super::layout::use_categories;
use super::seo::PageMeta;
use crate::ui::fns::get_home;

#[component]
pub fn HomePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_home());
    let categories = use_categories();
    let loc = crate::ui::use_locale();
    let promise = crate::ui::shop::delivery_promise(loc);
    view! {
        <Title text=loc.t("home-title")/>
        <PageMeta title="Vitrina" description=format!("{} {promise} {}", loc.t("home-description"), loc.t("cash-on-delivery")) path="/"/>
        <section class="hero">
            <div>
                <h1>{loc.t("home-hero")}</h1>
                <p>{loc.t("home-hero-text")}" "{promise.clone()}</p>
                <a href=loc.href("/products?sort=popular") class="button primary">{loc.t("home-best-sellers")}</a>
            </div>
        </section>
        <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
            {move || Suspend::new(async move {
                let result = flatten(data.await);
                let cats = categories();
                match result {
                    Ok(home) => view! {
                        <section class="category-tiles">
                            <h2>{loc.t("home-by-category")}</h2>
                            <ul>
                                {cats.into_iter().map(|c| view! {
                                    <li><a href=loc.href(&format!("/c/{}", c.path))>
                                        <span class="tile-name">{c.name}</span>
                                        <span class="tile-count">{loc.tn("products-count", c.product_count as i64, &[])}</span>
                                    </a></li>
                                }).collect_view()}
                            </ul>
                        </section>
                        <Shelf title=loc.t("rec-trending").to_string() items=home.trending.items class="trending" see_all=loc.href("/products?sort=popular")/>
                        <section class="shelf">
                            <div class="shelf-head"><h2>{loc.t("home-new")}</h2><a href=loc.href("/products?sort=newest")>{loc.t("see-all")}</a></div>
                            <ProductGrid items=home.newest.items/>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
