//! `/withdrawal`: the right of withdrawal (OUG 34/2014). The standard
//! withdrawal form of its annex 2, with the seller's identity filled in (to
//! print, or copy into an e-mail), and the same online: the order's number
//! and e-mail ask to return it (`web::orders::withdrawal`, a plain form post).
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::ui::fns::{get_shop_legal, SellerIdentity};
use crate::ui::orders::fields::{described_by, FieldShell, TextField};
use crate::ui::{message, use_locale};

fn q(key: &str) -> String {
    use_query_map().get_untracked().get(key).unwrap_or_default()
}

/// A message from the address (`?notice=…`, `err.<field>=…`), in the page's language.
fn qm(key: &str) -> String {
    message(use_locale(), &q(key))
}

#[component]
pub fn WithdrawalPage() -> impl IntoView {
    let loc = use_locale();
    let legal = Resource::new(|| (), |_| get_shop_legal());
    view! {
        <Title text=loc.t("withdrawal-title")/>
        <div class="withdrawal stack">
            <h1>{loc.t("withdrawal-title")}</h1>
            <p>{loc.t("withdrawal-intro")}</p>
            <p class="muted">{loc.t("withdrawal-account-hint")}" "<a href=loc.href("/account/orders")>{loc.t("your-orders")}</a></p>
            <WithdrawalOnline/>
            <Suspense fallback=move || view! { <p class="loading">{loc.t("loading")}</p> }>
                {move || Suspend::new(async move {
                    // the form stays usable when the identity cannot be read: the blanks are left to fill
                    let seller = legal.await.ok().and_then(|l| l.seller).unwrap_or_default();
                    view! { <ModelForm seller/> }
                })}
            </Suspense>
        </div>
    }
}

/// The online form: the order's number and e-mail, an IBAN for an order paid
/// cash on delivery, and a message; answered with the same words whether or
/// not the order exists.
#[component]
fn WithdrawalOnline() -> impl IntoView {
    let loc = use_locale();
    let notice = qm("notice");
    let error = qm("error");
    let message_error = qm("err.message");
    let has_message_error = !message_error.is_empty();
    view! {
        <section class="panel stack no-print" aria-labelledby="withdrawal-online-heading" data-testid="withdrawal-online">
            <h2 id="withdrawal-online-heading">{loc.t("withdrawal-online-title")}</h2>
            {(!notice.is_empty()).then(|| view! { <p class="notice" role="status" data-testid="withdrawal-sent">{notice}</p> })}
            {(!error.is_empty()).then(|| view! { <p class="alert" role="alert">{error}</p> })}
            <form method="post" action=loc.href("/withdrawal") class="stack withdrawal-form">
                <div class="field-pair">
                    <TextField name="number" label=loc.t("withdrawal-number") value=q("number") error=qm("err.number") hint=loc.t("withdrawal-number-hint") autocomplete="off" required=true maxlength=20/>
                    <TextField name="email" label=loc.t("withdrawal-email") value=q("email") error=qm("err.email") kind="email" autocomplete="email" required=true maxlength=254/>
                </div>
                <TextField name="iban" label=loc.t("withdrawal-iban") value=q("iban") error=qm("err.iban") hint=loc.t("withdrawal-iban-hint") autocomplete="off" maxlength=42/>
                <FieldShell id="f-message" label=loc.t("withdrawal-message") error=message_error>
                    <textarea id="f-message" name="message" rows="3" maxlength="1000" aria-invalid=has_message_error.to_string()
                        aria-describedby=described_by("f-message", false, has_message_error)>{q("message")}</textarea>
                </FieldShell>
                <p><button type="submit" class="button primary">{loc.t("withdrawal-submit")}</button></p>
            </form>
        </section>
    }
}

/// The model form of OUG 34/2014 annex 2 (to print or copy), addressed to the seller.
#[component]
fn ModelForm(seller: SellerIdentity) -> impl IntoView {
    let loc = use_locale();
    let to = [seller.name.as_str(), seller.address.as_str(), seller.email.as_str()].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(", ");
    let blank = "……………………………………";
    view! {
        <section class="panel stack model-form" aria-labelledby="model-form-heading" data-testid="withdrawal-model">
            <h2 id="model-form-heading">{loc.t("withdrawal-model-title")}</h2>
            <p class="muted">{loc.t("withdrawal-model-note")}</p>
            <ul class="model-lines">
                <li data-testid="withdrawal-seller">{loc.t("withdrawal-model-to")}" "<strong>{if to.is_empty() { blank.to_string() } else { to }}</strong></li>
                <li>{loc.t("withdrawal-model-body")}" "{blank}</li>
                <li>{loc.t("withdrawal-model-dates")}" "{blank}</li>
                <li>{loc.t("withdrawal-model-name")}" "{blank}</li>
                <li>{loc.t("withdrawal-model-address")}" "{blank}</li>
                <li>{loc.t("withdrawal-model-signature")}" "{blank}</li>
                <li>{loc.t("withdrawal-model-date")}" "{blank}</li>
            </ul>
        </section>
    }
}
