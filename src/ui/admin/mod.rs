//! `/admin`: admins only (checked on the server by `fns::require`).
use leptos::prelude::*;
use leptos_meta::Title;

use crate::ui::fns::admin_overview;
use crate::ui::shop::components::{flatten, ErrorPanel};

#[component]
pub fn AdminPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| admin_overview());
    view! {
        <Title text="Admin"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match flatten(data.await) {
                    Ok(o) => view! {
                        <section class="admin">
                            <h1>"Admin"</h1>
                            <div class="stats">
                                <div class="stat"><span class="stat-value">{o.products}</span><span class="stat-label">"products"</span></div>
                                <div class="stat"><span class="stat-value">{o.users}</span><span class="stat-label">"users"</span></div>
                            </div>
                            <h2>"Newest accounts"</h2>
                            <table class="data">
                                <thead><tr><th>"Name"</th><th>"E-mail"</th><th>"Role"</th></tr></thead>
                                <tbody>
                                    {o.latest_users.into_iter().map(|u| view! { <tr><td>{u.name}</td><td>{u.email}</td><td>{u.role.as_str()}</td></tr> }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }.into_any(),
                    Err(crate::ui::fns::PageError::SignInRequired) => {
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect("/login?next=/admin");
                        view! { <section class="auth-card"><h1>"Please sign in"</h1><p><a class="button primary" href="/login?next=/admin">"Sign in"</a></p></section> }.into_any()
                    }
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
