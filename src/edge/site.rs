//! What pages need from the HTTP side: the build's asset names, the script
//! that loads the browser client, the shop's public origin.
use axum::http::header;

use crate::config::Config;

/// Marks a body served as it was cached (`x-cache: hit`): the compression
/// layer keeps such bodies compressed.
pub const X_CACHE: header::HeaderName = header::HeaderName::from_static("x-cache");

/// The content hashes cargo-leptos gave the build's JS, WASM and CSS
/// (`hash.txt` next to the server binary, as Leptos reads it), if it hashed them.
pub fn asset_hashes() -> Option<&'static std::collections::HashMap<String, String>> {
    static HASHES: std::sync::OnceLock<Option<std::collections::HashMap<String, String>>> = std::sync::OnceLock::new();
    HASHES.get_or_init(|| read_hash_file(&std::env::var("LEPTOS_HASH_FILE_NAME").unwrap_or_else(|_| "hash.txt".into()))).as_ref()
}

/// The same for the admin panel's client (`hash-admin.txt`, see `scripts/lib.sh`).
fn admin_asset_hashes() -> Option<&'static std::collections::HashMap<String, String>> {
    static HASHES: std::sync::OnceLock<Option<std::collections::HashMap<String, String>>> = std::sync::OnceLock::new();
    HASHES.get_or_init(|| read_hash_file("hash-admin.txt")).as_ref()
}

fn read_hash_file(name: &str) -> Option<std::collections::HashMap<String, String>> {
    let file = std::env::current_exe().ok()?.parent()?.join(name);
    let text = std::fs::read_to_string(file).ok()?;
    let map: std::collections::HashMap<String, String> = text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    map.contains_key("wasm").then_some(map)
}

/// The JS and WASM file names (without `.js` / `.wasm`) of a client build.
fn client_files(output_name: &str, hashes: Option<&std::collections::HashMap<String, String>>) -> (String, String) {
    match hashes {
        Some(h) => (format!("{output_name}.{}", h.get("js").map(String::as_str).unwrap_or_default()), format!("{output_name}.{}", h["wasm"])),
        // cargo-leptos names the unhashed WASM after the output name; plain wasm-bindgen adds `_bg`
        None => (output_name.to_string(), if option_env!("LEPTOS_OUTPUT_NAME").is_some() { output_name.to_string() } else { format!("{output_name}_bg") }),
    }
}

/// `/pkg/vitrina.css`, or its hashed name.
pub fn stylesheet_href() -> String {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| match asset_hashes().and_then(|h| h.get("css")) {
        Some(hash) => format!("/pkg/vitrina.{hash}.css"),
        None => "/pkg/vitrina.css".into(),
    })
    .clone()
}

/// The module script that loads the WASM client. Every storefront page works
/// as plain HTML (links and forms), so the client is fetched and takes over
/// only when the shopper first interacts (pointer, touch, key, focus, wheel):
/// a visitor who only reads downloads no WASM, and the load never blocks the
/// main thread. The panel, which leans on the client, loads it when the
/// browser is idle. No preload hints: nothing competes with the first paint.
/// A listing's filters apply as soon as one changes, with no WASM at all (a
/// few lines of plain script; without JavaScript the form's button applies them).
pub fn hydration_script() -> String {
    // the same for every page of this build: worded once
    static SCRIPT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(loader_script).clone()
}

fn loader_script() -> String {
    let (js, wasm) = client_files("vitrina", asset_hashes());
    let (admin_js, admin_wasm) = client_files("vitrina-admin", admin_asset_hashes());
    // islands mode: after `hydrate()` sets the client up, each
    // `<leptos-island>` is handed to its exported function (islands are not nested here)
    format!(
        "let started = false;\n\
         const islands = async m => {{ for (const el of document.querySelectorAll('leptos-island')) {{ const f = m[el.dataset.component]; if (f) await f(el); }} document.body.setAttribute('data-hydrated', 'true'); }};\n\
         const load = (js, wasm) => () => {{ if (started) return; started = true; import(`/pkg/${{js}}.js`).then(m => m.default({{module_or_path: `/pkg/${{wasm}}.wasm`}}).then(() => {{ m.hydrate(); return islands(m); }})); }};\n\
         addEventListener('change', e => {{ const f = e.target.closest && e.target.closest('form#filters'); if (f) f.requestSubmit(); }});\n\
         if (/^(\\/en)?\\/admin(\\/|$)/.test(location.pathname)) {{ const hydrate = load('{admin_js}', '{admin_wasm}'); if ('requestIdleCallback' in window) requestIdleCallback(hydrate, {{timeout: 2000}}); else setTimeout(hydrate, 1); }}\n\
         else {{ const hydrate = load('{js}', '{wasm}'); for (const e of ['pointerdown', 'pointermove', 'touchstart', 'keydown', 'focusin', 'wheel']) addEventListener(e, hydrate, {{once: true, passive: true, capture: true}}); }}"
    )
}

/// The shop's origin for absolute links: `VITRINA_PUBLIC_URL`, else the
/// request's host (behind trusted proxies, with their scheme).
pub fn request_origin(config: &Config, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)));
    let host = host.map(str::to_string).unwrap_or_else(|| config.addr.to_string());
    let https = config.trusted_proxies > 0 && headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes() == b"https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

