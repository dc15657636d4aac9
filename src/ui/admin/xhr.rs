//! XMLHttpRequest from the browser: unlike `fetch`, it reports upload progress.
use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

pub enum Body {
    Form(web_sys::FormData),
    /// A file sent as the whole body, with its content type.
    Blob(web_sys::Blob, &'static str),
}

/// Sends a request; `on_progress` gets 0.0–1.0 while the body goes up and
/// `on_done` gets the status (0 when the connection failed) and the body text.
pub fn send(method: &str, url: &str, body: Body, on_progress: impl Fn(f64) + 'static, on_done: impl FnOnce(u16, String) + 'static) -> Result<(), String> {
    let js = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let xhr = web_sys::XmlHttpRequest::new().map_err(js)?;
    xhr.open_with_async(method, url, true).map_err(js)?;
    xhr.set_request_header("Accept", "application/json").map_err(js)?;
    if let Ok(upload) = xhr.upload() {
        let progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                on_progress(e.loaded() / e.total());
            }
        });
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        progress.forget();
    }
    let done = Rc::new(RefCell::new(Some(on_done)));
    let me = xhr.clone();
    let finished = Closure::<dyn FnMut()>::new(move || {
        let status = me.status().unwrap_or(0);
        let text = me.response_text().ok().flatten().unwrap_or_default();
        if let Some(f) = done.borrow_mut().take() {
            f(status, text);
        }
    });
    xhr.set_onloadend(Some(finished.as_ref().unchecked_ref()));
    finished.forget();
    match body {
        Body::Form(f) => xhr.send_with_opt_form_data(Some(&f)),
        Body::Blob(b, content_type) => {
            xhr.set_request_header("Content-Type", content_type).map_err(js)?;
            xhr.send_with_opt_blob(Some(&b))
        }
    }
    .map_err(js)
}
