//! The frame of a form field on the shopper's forms: its label, the control
//! (an input, a select, a textarea), a hint and the field's error under it.
use leptos::prelude::*;

/// The `aria-describedby` of control `id`: its hint and its error, when shown.
pub(crate) fn described_by(id: &str, hint: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [(hint, "hint"), (error, "error")].iter().filter(|(shown, _)| *shown).map(|(_, what)| format!("{id}-{what}")).collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A labelled control (`children`, whose id is `id`; it sets its own
/// `aria-describedby` with [`described_by`]), its hint and its error.
#[component]
pub(crate) fn FieldShell(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    #[prop(optional, into)] error: String,
    #[prop(optional, into)] hint: String,
    /// More classes for the field (`county-field`, `return-line`…).
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    let has_error = !error.is_empty();
    let classes = if class.is_empty() { "field".to_string() } else { format!("field {class}") };
    view! {
        <div class=classes class:invalid=has_error>
            <label for=id.clone()>{label}</label>
            {children()}
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=format!("{id}-hint")>{hint}</p> })}
            {has_error.then(|| view! { <p class="field-error" id=format!("{id}-error") role="alert">{error}</p> })}
        </div>
    }
}

/// A labelled one-line input named `name` (id `f-<name>`).
#[component]
pub(crate) fn TextField(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(optional, into)] value: String,
    #[prop(optional, into)] error: String,
    #[prop(optional, into)] hint: String,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] maxlength: Option<u32>,
) -> impl IntoView {
    let id = format!("f-{name}");
    let has_error = !error.is_empty();
    let described = described_by(&id, !hint.is_empty(), has_error);
    view! {
        <FieldShell id=id.clone() label error hint>
            <input id=id type=kind name=name value=value autocomplete=autocomplete required=required maxlength=maxlength.map(|n| n.to_string())
                aria-invalid=has_error.to_string() aria-describedby=described/>
        </FieldShell>
    }
}
