//! CSV: export products and orders; import products after a dry run that
//! lists every problem by line.
use leptos::prelude::*;

use super::admin_page;
use crate::domain::import::ImportReport;

#[component]
pub fn ImportPage() -> impl IntoView {
    // the guard runs on the server first
    let data = Resource::new(|| (), |_| super::fns::admin_check());
    admin_page("admin-import-and-export", "loading", data, |_| view! { <ImportView/> }.into_any())
}

/// Runs in the browser (an island): the file is sent with its progress.
#[island]
fn ImportView() -> impl IntoView {
    let file_name = RwSignal::new(String::new());
    let report: RwSignal<Option<ImportReport>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    let file: StoredValue<Option<web_sys::File>, leptos::prelude::LocalStorage> = StoredValue::new_local(None);
    let run = move |_dry_run: bool| {
        #[cfg(feature = "hydrate")]
        {
            let Some(f) = file.get_value() else {
                failure.set(crate::ui::use_locale().t("admin-choose-csv-first").into());
                return;
            };
            busy.set(true);
            failure.set(String::new());
            let sent = super::xhr::send(
                "POST",
                &format!("/api/v1/admin/import/products?dry_run={_dry_run}"),
                super::xhr::Body::Blob(f.into(), "text/csv"),
                |_| {},
                move |status, body| {
                    busy.set(false);
                    match (status, serde_json::from_str::<ImportReport>(&body)) {
                        (200, Ok(r)) => report.set(Some(r)),
                        _ => failure.set(super::products::images::problem_message(crate::ui::use_locale(), status, &body)),
                    }
                },
            );
            if let Err(e) = sent {
                busy.set(false);
                failure.set(e);
            }
        }
    };
    let on_file = move |_ev: leptos::ev::Event| {
        report.set(None);
        #[cfg(feature = "hydrate")]
        {
            let input: web_sys::HtmlInputElement = event_target(&_ev);
            let f = input.files().and_then(|l| l.get(0));
            file_name.set(f.as_ref().map(|f| f.name()).unwrap_or_default());
            file.set_value(f);
        }
    };
    view! {
        <h1>{crate::ui::use_locale().t("admin-import-and-export")}</h1>
        <div class="dash-grid">
            <div class="panel">
                <h2>{crate::ui::use_locale().t("admin-export")}</h2>
                <p class="hint">{crate::ui::use_locale().t("admin-one-row-per-variant-the-same")}</p>
                <p><a class="button" href="/api/v1/admin/export/products.csv" download>{crate::ui::use_locale().t("admin-products-csv")}</a></p>
                <p><a class="button" href="/api/v1/admin/export/orders.csv" download>{crate::ui::use_locale().t("admin-orders-csv")}</a></p>
            </div>
            <div class="panel import-panel">
                <h2>{crate::ui::use_locale().t("admin-import-products")}</h2>
                <p class="hint">{crate::ui::use_locale().t("admin-columns-product-id-slug-name-description")}</p>
                <label class="button" for="csv-file">{crate::ui::use_locale().t("admin-choose-a-csv-file")}</label>
                <input id="csv-file" class="visually-hidden" type="file" accept=".csv,text/csv" on:change=on_file/>
                <span class="muted">" "{move || file_name.get()}</span>
                <p>
                    <button type="button" class="button primary" disabled=move || busy.get() || file_name.get().is_empty() on:click=move |_| run(true)>{crate::ui::use_locale().t("admin-check-the-file-dry-run")}</button>
                </p>
                {move || (!failure.get().is_empty()).then(|| view! { <p class="alert" role="alert">{failure.get()}</p> })}
                {move || report.get().map(|r| {
                    let clean = r.errors.is_empty();
                    view! {
                        <div class="import-report" data-testid="import-report">
                            {if r.applied {
                                view! { <p class="notice" role="status">{crate::ui::use_locale().tf("admin-imported", &[("products", &r.products.to_string()), ("creates", &r.creates.to_string()), ("updates", &r.updates.to_string())])}</p> }.into_any()
                            } else if clean {
                                view! {
                                    <p class="notice" role="status">{crate::ui::use_locale().tf("admin-import-checked", &[("products", &r.products.to_string()), ("creates", &r.creates.to_string()), ("updates", &r.updates.to_string())])}</p>
                                    <button type="button" class="button primary" disabled=move || busy.get() on:click=move |_| run(false)>{crate::ui::use_locale().tf("admin-import-n", &[("products", &r.products.to_string())])}</button>
                                }.into_any()
                            } else {
                                view! {
                                    <p class="alert" role="alert">{format!("{} problem(s) found. Nothing was written; fix the file and check it again.", r.errors.len())}</p>
                                    <table class="data compact">
                                        <thead><tr><th>{crate::ui::use_locale().t("admin-line")}</th><th>{crate::ui::use_locale().t("admin-column")}</th><th>{crate::ui::use_locale().t("admin-problem")}</th></tr></thead>
                                        <tbody>
                                            {r.errors.iter().map(|e| view! { <tr><td>{e.line}</td><td><code>{e.field.clone()}</code></td><td>{e.message.clone()}</td></tr> }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </div>
                    }
                })}
            </div>
        </div>
    }
}
