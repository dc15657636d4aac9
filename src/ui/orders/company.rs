//! Checkout's "bill to a company" fields. Without JavaScript they are plain
//! inputs; in the browser (an island) "Fill from ANAF" looks the CUI up in
//! ANAF's register (`GET /api/v1/companies/{cui}`) and fills the company's
//! name and trade register number in. The register being down or not
//! knowing the CUI is said next to the field and never stops the order: the
//! shopper types the details in.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::fields::{described_by, FieldShell};

/// What a field held when the form came back, and its error (in the page's language).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Typed {
    pub value: String,
    pub error: String,
}

/// Where the lookup stands (the server renders it idle: the lookup runs in the browser).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Lookup {
    Idle,
    Busy,
    /// Filled in; the CUI now says whether the company pays VAT (`RO` prefix).
    Found { name: String, vat_payer: bool, cui: String },
    /// The typed CUI is empty or not a fiscal code.
    Refused(&'static str),
    NotFound,
    Down,
}

#[island]
pub fn CompanyFields(cui: Typed, company_name: Typed, reg_com: Typed) -> impl IntoView {
    let loc = crate::ui::use_locale();
    let cui_value = RwSignal::new(cui.value.clone());
    let name_value = RwSignal::new(company_name.value.clone());
    let reg_value = RwSignal::new(reg_com.value.clone());
    // the registered office ANAF gave: the invoice's billing address (gone when the CUI changes)
    let office = RwSignal::new(None::<crate::domain::order::Address>);
    let state = RwSignal::new(Lookup::Idle);
    // effects run in the browser only: the button works once the island is live
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));

    let fill = move |_: leptos::ev::MouseEvent| {
        let typed = cui_value.get_untracked();
        let Some(code) = crate::domain::billing::parse_cui(&typed) else {
            state.set(Lookup::Refused(if typed.trim().is_empty() { "field-cui-required" } else { "field-cui-invalid" }));
            return;
        };
        state.set(Lookup::Busy);
        #[cfg(feature = "hydrate")]
        {
            let url = format!("/api/v1/companies/{code}");
            let sent = get_text(&url, move |status, body| match (status, serde_json::from_str::<crate::domain::billing::CompanyInfo>(&body)) {
                (200, Ok(c)) => {
                    if !c.name.trim().is_empty() {
                        name_value.set(c.name.trim().to_string());
                    }
                    if !c.reg_com.trim().is_empty() {
                        reg_value.set(c.reg_com.trim().to_string());
                    }
                    office.set(Some(c.address.clone()).filter(|a| !a.street.trim().is_empty() && !a.city.trim().is_empty()));
                    // the checkout records a VAT payer by the RO before its code
                    let cui = if c.vat_payer { format!("RO{code}") } else { code.clone() };
                    cui_value.set(cui.clone());
                    state.set(Lookup::Found { name: c.name, vat_payer: c.vat_payer, cui });
                }
                (404, _) => state.set(Lookup::NotFound),
                (422, _) => state.set(Lookup::Refused("field-cui-invalid")),
                _ => state.set(Lookup::Down),
            });
            if sent.is_err() {
                state.set(Lookup::Down);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = code;
    };

    let said = move || match state.get() {
        Lookup::Idle => String::new(),
        Lookup::Busy => loc.t("anaf-looking").to_string(),
        Lookup::Found { name, vat_payer: true, cui } => loc.tf("anaf-found-vat", &[("name", &name), ("cui", &cui)]),
        Lookup::Found { name, vat_payer: false, .. } => loc.tf("anaf-found-no-vat", &[("name", &name)]),
        Lookup::Refused(key) => loc.t(key).to_string(),
        Lookup::NotFound => loc.t("anaf-not-found").to_string(),
        Lookup::Down => loc.t("anaf-down").to_string(),
    };
    let note_class = move || match state.get() {
        Lookup::Found { .. } => "lookup-note found",
        Lookup::Idle | Lookup::Busy => "lookup-note",
        _ => "lookup-note warn",
    };
    let cui_error = !cui.error.is_empty();
    let name_error = !company_name.error.is_empty();
    let reg_error = !reg_com.error.is_empty();
    view! {
        <FieldShell id="f-cui" label=loc.t("cui-label") error=cui.error.clone() hint=loc.t("cui-hint")>
            <div class="lookup-row">
                <input id="f-cui" name="cui" value=cui.value.clone() prop:value=move || cui_value.get() on:input=move |ev| {
                    cui_value.set(event_target_value(&ev));
                    office.set(None);
                }
                    autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="14"
                    aria-invalid=cui_error.to_string() aria-describedby=described_by("f-cui", true, cui_error)/>
                <button type="button" class="button small js-only" on:click=fill disabled=move || !live.get() || state.get() == Lookup::Busy
                    aria-describedby="f-cui-lookup" data-testid="anaf-fill">{loc.t("anaf-fill")}</button>
            </div>
            <p id="f-cui-lookup" class=note_class role="status" data-testid="anaf-note">{said}</p>
            <input type="hidden" name="billing_address" prop:value=move || office.get().and_then(|a| serde_json::to_string(&a).ok()).unwrap_or_default()/>
            {move || office.get().map(|a| {
                let region = crate::domain::order::county_name(&a.county).map(|n| match a.sector { Some(s) => format!("{n}, sector {s}"), None => n.to_string() }).unwrap_or_default();
                view! { <p class="hint" data-testid="anaf-office">{loc.t("anaf-office")}": "{[a.street.clone(), format!("{} {}", a.postal_code, a.city).trim().to_string(), region].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(", ")}</p> }
            })}
        </FieldShell>
        <FieldShell id="f-company_name" label=loc.t("company-name") error=company_name.error.clone()>
            <input id="f-company_name" name="company_name" value=company_name.value.clone() prop:value=move || name_value.get()
                on:input=move |ev| name_value.set(event_target_value(&ev)) autocomplete="organization" maxlength="200"
                aria-invalid=name_error.to_string() aria-describedby=described_by("f-company_name", false, name_error)/>
        </FieldShell>
        <FieldShell id="f-reg_com" label=loc.t("reg-com-label") error=reg_com.error.clone() hint=loc.t("reg-com-hint")>
            <input id="f-reg_com" name="reg_com" value=reg_com.value.clone() prop:value=move || reg_value.get()
                on:input=move |ev| reg_value.set(event_target_value(&ev)) autocomplete="off" maxlength="40"
                aria-invalid=reg_error.to_string() aria-describedby=described_by("f-reg_com", true, reg_error)/>
        </FieldShell>
    }
}

/// `GET url` as JSON; `on_done` gets the status (0 when the request failed
/// or took over 8 seconds) and the body. XMLHttpRequest: the browser API the
/// client already binds (see `Cargo.toml`'s web-sys features).
#[cfg(feature = "hydrate")]
fn get_text(url: &str, on_done: impl FnOnce(u16, String) + 'static) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let xhr = web_sys::XmlHttpRequest::new()?;
    xhr.open_with_async("GET", url, true)?;
    xhr.set_request_header("Accept", "application/json")?;
    xhr.set_timeout(8_000);
    let me = xhr.clone();
    // called once (load, error or timeout all end in `loadend`), then freed
    let done = Closure::once_into_js(move || {
        let status = me.status().unwrap_or(0);
        let text = me.response_text().ok().flatten().unwrap_or_default();
        on_done(status, text);
    });
    xhr.set_onloadend(Some(done.unchecked_ref()));
    xhr.send()
}
