use leptos::prelude::*;
use leptos_meta::Title;

use super::components::ErrorPanel;
use crate::ui::fns::PageError;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <Title text="Page not found"/>
        <ErrorPanel error=PageError::NotFound back_href="/"/>
    }
}
