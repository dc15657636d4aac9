//! What a search engine or a link preview reads from a page: description,
//! canonical link, robots, Open Graph tags and schema.org JSON-LD.
use leptos::prelude::*;
use leptos_meta::{Link, Meta};

use crate::domain::seo::{absolute, meta_description, script_json};

/// The shop's origin: on the server `VITRINA_PUBLIC_URL` or the request's
/// host; in the browser the page's own origin.
pub fn site_origin() -> String {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<axum::http::request::Parts>();
        match (use_context::<crate::state::AppState>(), parts) {
            (Some(app), Some(parts)) => crate::edge::site::request_origin(&app.config, &parts.headers),
            (Some(app), None) => app.config.public_url.clone().unwrap_or_default(),
            _ => String::new(),
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        window().location().origin().unwrap_or_default()
    }
}

/// Head tags of an indexable page. `path` is the canonical path (no query
/// unless it names a distinct page).
#[component]
pub fn PageMeta(
    #[prop(into)] title: String,
    #[prop(into)] description: String,
    #[prop(into)] path: String,
    #[prop(optional)] noindex: bool,
    #[prop(optional, into)] og_type: Option<String>,
    #[prop(default = None)] image: Option<String>,
    #[prop(optional)] json_ld: Vec<serde_json::Value>,
) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let origin = site_origin();
    let url = absolute(&origin, &loc.href(&path));
    let alternates: Vec<(&'static str, String)> = crate::i18n::Locale::ALL
        .into_iter()
        .map(|l| (l.code(), absolute(&origin, &l.href(&path))))
        .chain(std::iter::once(("x-default", absolute(&origin, &crate::i18n::Locale::Ro.href(&path)))))
        .collect();
    let description = meta_description(&description);
    let image = image.map(|i| if i.starts_with("http") { i } else { absolute(&origin, &i) });
    view! {
        <Meta name="description" content=description.clone()/>
        <Link rel="canonical" href=url.clone()/>
        {alternates.into_iter().map(|(lang, href)| view! { <Link rel="alternate" hreflang=lang href=href/> }).collect_view()}
        <Meta property="og:locale" content=if loc == crate::i18n::Locale::Ro { "ro_RO" } else { "en_GB" }/>
        {noindex.then(|| view! { <Meta name="robots" content="noindex, follow"/> })}
        <Meta property="og:site_name" content="Vitrina"/>
        <Meta property="og:title" content=title/>
        <Meta property="og:description" content=description/>
        <Meta property="og:type" content=og_type.unwrap_or_else(|| "website".into())/>
        <Meta property="og:url" content=url/>
        {image.map(|i| view! { <Meta property="og:image" content=i/> })}
        {json_ld.into_iter().map(|v| view! { <script type="application/ld+json" inner_html=script_json(&v)></script> }).collect_view()}
    }
}
