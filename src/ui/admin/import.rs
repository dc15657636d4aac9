//! CSV: export products and orders; import products after a dry run that
//! lists every problem by line.
use leptos::prelude::*;

use super::admin_page;
use crate::domain::import::ImportReport;

#[component]
pub fn ImportPage() -> impl IntoView {
    // the guard runs on the server first
    let data = Resource::new(|| (), |_| super::fns::admin_check());
    admin_page("Import and export", "Loading…", data, |_| view! { <ImportView/> }.into_any())
}

#[component]
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
                failure.set("Choose a CSV file first.".into());
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
                        _ => failure.set(super::products::problem_message(status, &body)),
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
        <h1>"Import and export"</h1>
        <div class="dash-grid">
            <div class="panel">
                <h2>"Export"</h2>
                <p class="hint">"One row per variant; the same columns the import reads."</p>
                <p><a class="button" href="/api/v1/admin/export/products.csv" download>"Products (CSV)"</a></p>
                <p><a class="button" href="/api/v1/admin/export/orders.csv" download>"Orders (CSV)"</a></p>
            </div>
            <div class="panel import-panel">
                <h2>"Import products"</h2>
                <p class="hint">"Columns: product_id, slug, name, description, brand, category, status, attributes (JSON), sku, options (size=M; color=Red), price (19.99), stock. Rows with the same slug are variants of one product; a known slug or id updates that product."</p>
                <label class="button" for="csv-file">"Choose a CSV file…"</label>
                <input id="csv-file" class="visually-hidden" type="file" accept=".csv,text/csv" on:change=on_file/>
                <span class="muted">" "{move || file_name.get()}</span>
                <p>
                    <button type="button" class="button primary" disabled=move || busy.get() || file_name.get().is_empty() on:click=move |_| run(true)>"Check the file (dry run)"</button>
                </p>
                {move || (!failure.get().is_empty()).then(|| view! { <p class="alert" role="alert">{failure.get()}</p> })}
                {move || report.get().map(|r| {
                    let clean = r.errors.is_empty();
                    view! {
                        <div class="import-report" data-testid="import-report">
                            {if r.applied {
                                view! { <p class="notice" role="status">{format!("Imported {} products: {} new, {} updated.", r.products, r.creates, r.updates)}</p> }.into_any()
                            } else if clean {
                                view! {
                                    <p class="notice" role="status">{format!("The file is fine: {} products, {} new and {} to update. Nothing has been written yet.", r.products, r.creates, r.updates)}</p>
                                    <button type="button" class="button primary" disabled=move || busy.get() on:click=move |_| run(false)>{format!("Import {} products", r.products)}</button>
                                }.into_any()
                            } else {
                                view! {
                                    <p class="alert" role="alert">{format!("{} problem(s) found. Nothing was written; fix the file and check it again.", r.errors.len())}</p>
                                    <table class="data compact">
                                        <thead><tr><th>"Line"</th><th>"Column"</th><th>"Problem"</th></tr></thead>
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
