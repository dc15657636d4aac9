use leptos::prelude::*;

/// Links to the pages of a list, keeping every other query parameter.
#[component]
pub fn Pager(page: u64, per_page: u64, total: u64, base: String, path: &'static str) -> impl IntoView {
    let pages = total.div_ceil(per_page.max(1)).max(1);
    if pages <= 1 {
        return ().into_any();
    }
    let href = move |p: u64| {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(base.as_bytes()).filter(|(k, _)| k != "page" && k != "notice" && k != "error").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        if p > 1 {
            s.append_pair("page", &p.to_string());
        }
        let qs = s.finish();
        if qs.is_empty() { path.to_string() } else { format!("{path}?{qs}") }
    };
    let near: Vec<u64> = (1..=pages).filter(|p| *p == 1 || *p == pages || p.abs_diff(page) <= 2).collect();
    view! {
        <nav class="pagination" aria-label=crate::ui::use_locale().t("admin-a-pages")>
            {(page > 1).then(|| view! { <a class="page-link" rel="prev" href=href(page - 1)>{crate::ui::use_locale().t("admin-previous")}</a> })}
            {near.windows(2).map(|w| w[1]).fold(vec![near[0]], |mut acc, p| { acc.push(p); acc }).into_iter().enumerate().map(|(i, p)| {
                let gap = i > 0 && p > near[i - 1] + 1;
                view! {
                    {gap.then(|| view! { <span class="gap">"…"</span> })}
                    <a class="page-link" class:current=p == page aria-current=(p == page).then_some("page") href=href(p)>{p}</a>
                }
            }).collect_view()}
            {(page < pages).then(|| view! { <a class="page-link" rel="next" href=href(page + 1)>{crate::ui::use_locale().t("admin-next")}</a> })}
            <span class="muted">{crate::ui::use_locale().tf("admin-in-all", &[("total", &total.to_string())])}</span>
        </nav>
    }
    .into_any()
}

