//! A product's images in the editor: uploads with progress, order, delete.

use leptos::prelude::*;

use crate::ui::admin::fns::{admin_set_images, SaveOutcome};
use crate::domain::product::Image;
#[cfg(feature = "hydrate")]
use crate::domain::product::Product;
use crate::ui::shop::components::flatten;


#[derive(Clone)]
struct Upload {
    id: u32,
    name: String,
    preview: String,
    progress: RwSignal<f64>,
    /// `None` while uploading, `Some(Ok)` when stored, `Some(Err(message))` when refused.
    done: RwSignal<Option<Result<(), String>>>,
}

/// The message of a refused upload: the field's problem, else the detail.
pub fn problem_message(loc: crate::i18n::Locale, status: u16, body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct FieldProblem {
        message: String,
    }
    #[derive(serde::Deserialize)]
    struct Problem {
        #[serde(default)]
        detail: String,
        #[serde(default)]
        errors: Vec<FieldProblem>,
    }
    match serde_json::from_str::<Problem>(body) {
        Ok(p) => match p.errors.first() {
            Some(e) => loc.tf("admin-upload-file-refused", &[("message", &e.message)]),
            None if !p.detail.is_empty() => p.detail,
            None => loc.tf("admin-upload-refused", &[("status", &status.to_string())]),
        },
        Err(_) if status == 0 => loc.t("admin-upload-connection-lost").into(),
        Err(_) => loc.tf("admin-upload-server-answered", &[("status", &status.to_string())]),
    }
}

#[component]
pub(super) fn ImageManager(product_id: String, images: Vec<Image>) -> impl IntoView {
    let images = RwSignal::new(images);
    let uploads: RwSignal<Vec<Upload>> = RwSignal::new(vec![]);
    let dirty = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    let counter = StoredValue::new(0u32);
    #[cfg(feature = "hydrate")]
    let pid = product_id.clone();
    let on_files = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input: web_sys::HtmlInputElement = event_target(&_ev);
            let Some(files) = input.files() else { return };
            for i in 0..files.length() {
                let Some(file) = files.get(i) else { continue };
                let id = counter.get_value();
                counter.set_value(id + 1);
                let up = Upload {
                    id,
                    name: file.name(),
                    preview: web_sys::Url::create_object_url_with_blob(&file).unwrap_or_default(),
                    progress: RwSignal::new(0.0),
                    done: RwSignal::new(None),
                };
                uploads.update(|u| u.push(up.clone()));
                let form = web_sys::FormData::new().expect("FormData");
                let _ = form.append_with_blob_and_filename("file", file.unchecked_ref(), &file.name());
                let progress = up.progress;
                let done = up.done;
                let sent = crate::ui::admin::xhr::send(
                    "POST",
                    &format!("/api/v1/admin/products/{}/images", pid),
                    crate::ui::admin::xhr::Body::Form(form),
                    move |f| progress.set(f),
                    move |status, body| {
                        if status == 200 {
                            progress.set(1.0);
                            match serde_json::from_str::<Product>(&body) {
                                Ok(p) => {
                                    images.set(p.images);
                                    done.set(Some(Ok(())));
                                }
                                Err(_) => done.set(Some(Err(crate::ui::use_locale().t("admin-upload-unreadable").into()))),
                            }
                        } else {
                            done.set(Some(Err(problem_message(crate::ui::use_locale(), status, &body))));
                        }
                    },
                );
                if let Err(e) = sent {
                    up.done.set(Some(Err(e)));
                }
            }
            input.set_value("");
        }
    };
    let move_by = move |i: usize, delta: isize| {
        images.update(|v| {
            let j = i as isize + delta;
            if j >= 0 && (j as usize) < v.len() {
                v.swap(i, j as usize);
            }
        });
        dirty.set(true);
    };
    let pid2 = product_id.clone();
    let save = move |_| {
        let id = pid2.clone();
        let list = images.get_untracked();
        leptos::task::spawn_local(async move {
            match flatten(admin_set_images(id, list).await) {
                Ok(SaveOutcome::Saved(p)) => {
                    images.set(p.images);
                    dirty.set(false);
                    message.set(crate::ui::use_locale().t("admin-images-saved").into());
                }
                Ok(SaveOutcome::Refused(es)) => message.set(es.first().map(|e| e.message.clone()).unwrap_or_default()),
                Err(e) => message.set(crate::ui::use_locale().tf("admin-err-save-images", &[("error", &format!("{e:?}"))])),
            }
        });
    };
    view! {
        <div class="panel images-panel" id="images">
            <h2>{crate::ui::use_locale().t("admin-images")}</h2>
            <p class="hint">{crate::ui::use_locale().t("admin-jpeg-png-webp-or-avif-up")}</p>
            {move || (!message.get().is_empty()).then(|| view! { <p class="notice" role="status">{message.get()}</p> })}
            <ul class="image-list">
                {move || {
                    let list = images.get();
                    let n = list.len();
                    if n == 0 {
                        return view! { <li class="muted empty-images">{crate::ui::use_locale().t("admin-no-images-yet-shoppers-see-a")}</li> }.into_any();
                    }
                    list.into_iter().enumerate().map(|(i, img)| view! {
                        <li class="image-item">
                            <img src=img.thumb_url.clone().unwrap_or(img.url.clone()) alt=img.alt.clone() width="96" height="96"/>
                            <div class="image-meta">
                                <label class="small-text">{crate::ui::use_locale().t("admin-alt-text")}" " <input class="image-alt" prop:value=img.alt.clone() on:input=move |ev| { let v = event_target_value(&ev); images.update(|l| if let Some(x) = l.get_mut(i) { x.alt = v }); dirty.set(true); }/></label>
                                <div class="image-actions">
                                    {(i == 0).then(|| view! { <span class="chip">{crate::ui::use_locale().t("admin-main-image")}</span> })}
                                    <button type="button" class="link-button" disabled=i == 0 aria-label=crate::ui::use_locale().t("admin-a-move-up") on:click=move |_| move_by(i, -1)>"↑"</button>
                                    <button type="button" class="link-button" disabled=i + 1 == n aria-label=crate::ui::use_locale().t("admin-a-move-down") on:click=move |_| move_by(i, 1)>"↓"</button>
                                    <button type="button" class="link-button danger-text" on:click=move |_| {
                                        #[cfg(feature = "hydrate")]
                                        if !window().confirm_with_message(crate::ui::use_locale().t("admin-remove-image-confirm")).unwrap_or(false) { return; }
                                        images.update(|l| { l.remove(i); });
                                        dirty.set(true);
                                    }>{crate::ui::use_locale().t("admin-remove")}</button>
                                </div>
                            </div>
                        </li>
                    }).collect_view().into_any()
                }}
            </ul>
            {move || dirty.get().then(|| view! { <p><button type="button" class="button primary small" on:click=save.clone()>{crate::ui::use_locale().t("admin-save-image-order-and-texts")}</button></p> })}
            <div class="uploader">
                <label class="button" for="image-files">{crate::ui::use_locale().t("admin-upload-images")}</label>
                <input id="image-files" class="visually-hidden" type="file" multiple accept="image/jpeg,image/png,image/webp,image/avif" on:change=on_files/>
                <noscript><p class="hint">{crate::ui::use_locale().t("admin-upload-needs-js")}</p></noscript>
            </div>
            <ul class="upload-list">
                <For each=move || uploads.get() key=|u| u.id children=move |u: Upload| view! {
                    <li class="upload" class:failed=move || matches!(u.done.get(), Some(Err(_)))>
                        <img src=u.preview.clone() alt="" width="48" height="48"/>
                        <div class="upload-body">
                            <span class="upload-name">{u.name.clone()}</span>
                            <progress max="1" prop:value=move || u.progress.get()></progress>
                            <span class="upload-state" role="status">{move || match u.done.get() {
                                None => crate::ui::use_locale().tf("admin-uploading", &[("percent", &format!("{:.0}", u.progress.get() * 100.0))]),
                                Some(Ok(())) => crate::ui::use_locale().t("admin-uploaded").to_string(),
                                Some(Err(m)) => m,
                            }}</span>
                        </div>
                    </li>
                }/>
            </ul>
        </div>
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_refusals_are_readable() {
        let body = r#"{"type":"x","title":"Invalid field","status":422,"detail":"file: is not a JPEG","errors":[{"field":"file","message":"is not a JPEG, PNG, WebP or AVIF image"}]}"#;
        assert_eq!(problem_message(crate::i18n::Locale::En, 422, body), "The file is not a JPEG, PNG, WebP or AVIF image");
        assert_eq!(problem_message(crate::i18n::Locale::En, 0, ""), "The connection was lost; try again.");
        assert_eq!(problem_message(crate::i18n::Locale::Ro, 0, ""), "Conexiunea s-a întrerupt; încearcă din nou.");
    }
}
