use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::components::{flatten, ErrorPanel, ProductGrid};
use super::layout::use_categories;
use super::seo::PageMeta;
use crate::ui::fns::get_home;

#[component]
pub fn HomePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_home());
    let categories = use_categories();
    view! {
        <Title text="Shop clothing, shoes, electronics, home and books"/>
        <PageMeta title="Vitrina" description="Vitrina — clothing, shoes, electronics, home and books from brands you love. Free delivery over €50, 30-day returns, cash on delivery." path="/"/>
        <section class="hero">
            <div>
                <h1>"Everything you need, delivered fast."</h1>
                <p>"Thousands of products from brands you love. Free delivery over €50."</p>
                <A href="/products?sort=popular" attr:class="button primary">"Shop best sellers"</A>
            </div>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let result = flatten(data.await);
                let cats = categories();
                match result {
                    Ok(home) => view! {
                        <section class="category-tiles">
                            <h2>"Shop by category"</h2>
                            <ul>
                                {cats.into_iter().map(|c| view! {
                                    <li><A href=format!("/c/{}", c.path)>
                                        <span class="tile-name">{c.name}</span>
                                        <span class="tile-count">{format!("{} products", c.product_count)}</span>
                                    </A></li>
                                }).collect_view()}
                            </ul>
                        </section>
                        <section class="shelf">
                            <div class="shelf-head"><h2>"Popular right now"</h2><A href="/products?sort=popular">"See all"</A></div>
                            <ProductGrid items=home.popular.items/>
                        </section>
                        <section class="shelf">
                            <div class="shelf-head"><h2>"New arrivals"</h2><A href="/products?sort=newest">"See all"</A></div>
                            <ProductGrid items=home.newest.items/>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
