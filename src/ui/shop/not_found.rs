use leptos::prelude::*;
use leptos_meta::Title;

use super::components::ErrorPanel;
use crate::ui::fns::PageError;

#[component]
pub fn NotFound() -> impl IntoView {
    let loc = crate::ui::use_locale();
    view! {
        <Title text=loc.t("page-not-found")/>
        <ErrorPanel error=PageError::NotFound back_href="/"/>
    }
}
