//! Languages of the interface: Romanian (the default, at `/…`) and English
//! (at `/en/…`). Every interface string comes from a message catalogue in
//! `locales/<code>.ftl` (the plain-message subset of Fluent: `key = text`
//! with `{ $name }` placeholders; plural forms are sibling keys ending in
//! `-one`, `-few` and `-other`, chosen by the CLDR rules of each language).
//! Prices and dates are written the way each language writes them.
use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    Ro,
    En,
}

const RO_FTL: &str = include_str!("../locales/ro.ftl");
const EN_FTL: &str = include_str!("../locales/en.ftl");

/// Paths that are pages (and so exist once per language); everything else
/// (the API, assets, media, health checks) has one address.
pub fn is_page_path(path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or("");
    const NOT_PAGES: [&str; 9] = ["/api/", "/pkg/", "/media/", "/healthz", "/readyz", "/metrics", "/sitemap", "/robots.txt", "/lang/"];
    path.starts_with('/') && !path.starts_with("//") && !NOT_PAGES.iter().any(|p| path.starts_with(p)) && !path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Ro, Locale::En];

    /// The BCP 47 tag (`ro`, `en`), also the `lang` attribute of pages.
    pub fn code(self) -> &'static str {
        match self {
            Locale::Ro => "ro",
            Locale::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Locale> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ro" => Some(Locale::Ro),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The name of the language in that language (for the switcher).
    pub fn name(self) -> &'static str {
        match self {
            Locale::Ro => "Română",
            Locale::En => "English",
        }
    }

    /// The URL prefix of the language: none for Romanian, `/en` for English.
    pub fn prefix(self) -> &'static str {
        match self {
            Locale::Ro => "",
            Locale::En => "/en",
        }
    }

    /// The language a path is in, and the path without its prefix.
    pub fn split_path(path: &str) -> (Locale, &str) {
        match path.strip_prefix("/en") {
            Some("") => (Locale::En, "/"),
            Some(rest) if rest.starts_with('/') => (Locale::En, rest),
            _ => (Locale::Ro, path),
        }
    }

    /// A page path (with its query) in this language: `/p/x` → `/en/p/x`.
    /// Paths that are not pages, or already carry a language, are left alone.
    pub fn href(self, path: &str) -> String {
        let (_, bare) = Locale::split_path(path);
        if !is_page_path(bare) {
            return path.to_string();
        }
        match (self, bare) {
            (Locale::Ro, _) => bare.to_string(),
            (Locale::En, "/") => "/en".to_string(),
            (Locale::En, _) if bare.starts_with("/?") => format!("/en{}", &bare[1..]),
            (Locale::En, _) => format!("/en{bare}"),
        }
    }

    /// The language a browser prefers among ours (`Accept-Language`, by q).
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (i, part) in header.split(',').enumerate() {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("").trim();
            let q = bits.find_map(|b| b.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok())).unwrap_or(1.0);
            let Some(locale) = Locale::from_code(tag.split('-').next().unwrap_or("")) else { continue };
            if q <= 0.0 {
                continue;
            }
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, locale));
            }
        }
        best.map(|(_, _, l)| l)
    }

    fn catalogue(self) -> &'static HashMap<&'static str, &'static str> {
        static RO: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
        static EN: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
        match self {
            Locale::Ro => RO.get_or_init(|| parse_catalogue(RO_FTL)),
            Locale::En => EN.get_or_init(|| parse_catalogue(EN_FTL)),
        }
    }

    /// The message `key` (the other language's, then the key itself, when missing:
    /// a test keeps both catalogues complete).
    pub fn t(self, key: &str) -> &'static str {
        if let Some(m) = self.catalogue().get(key) {
            return m;
        }
        let other = if self == Locale::Ro { Locale::En } else { Locale::Ro };
        other.catalogue().get(key).copied().unwrap_or("")
    }

    /// The message `key` with its `{ $name }` placeholders filled.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.t(key), args)
    }

    /// A message kept as its key and values (field and query errors, which
    /// are worded where they are shown): `tf` with owned values.
    pub fn say(self, key: &str, args: &[(String, String)]) -> String {
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.tf(key, &args)
    }

    /// The plural form of `key` for `n` (`key-one`, `key-few` or `key-other`),
    /// with `{ $n }` and the other placeholders filled.
    pub fn tn(self, key: &str, n: i64, args: &[(&str, &str)]) -> String {
        let form = self.plural(n);
        let msg = self.catalogue().get(format!("{key}-{form}").as_str()).copied().unwrap_or_else(|| self.t(&format!("{key}-other")));
        let n_text = n.to_string();
        let mut all = vec![("n", n_text.as_str())];
        all.extend_from_slice(args);
        fill(msg, &all)
    }

    /// CLDR plural category of an integer.
    pub fn plural(self, n: i64) -> &'static str {
        let n = n.unsigned_abs();
        match self {
            Locale::En => if n == 1 { "one" } else { "other" },
            Locale::Ro => {
                if n == 1 {
                    "one"
                } else if n == 0 || (1..=19).contains(&(n % 100)) {
                    "few"
                } else {
                    "other"
                }
            }
        }
    }

    /// A number with two decimals, grouped the language's way:
    /// `1.299,99` in Romanian, `1,299.99` in English.
    pub fn decimal(self, minor: i64) -> String {
        let (group, point) = match self {
            Locale::Ro => ('.', ','),
            Locale::En => (',', '.'),
        };
        let abs = minor.unsigned_abs();
        let digits = (abs / 100).to_string();
        let mut out = String::with_capacity(digits.len() + 5);
        if minor < 0 {
            out.push('-');
        }
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(group);
            }
            out.push(ch);
        }
        out.push(point);
        out.push_str(&format!("{:02}", abs % 100));
        out
    }

    /// A price: `1.299,99 lei` in Romanian, `RON 1,299.99` in English
    /// (other currencies by their symbol: `19,99 €`, `€19.99`).
    pub fn money(self, minor: i64, currency: &str) -> String {
        let number = self.decimal(minor);
        match (self, currency) {
            (Locale::Ro, "RON") => format!("{number} lei"),
            (Locale::Ro, c) => format!("{number} {}", symbol(c)),
            (Locale::En, "RON") => format!("RON {number}"),
            (Locale::En, c) if symbol(c) != c => format!("{}{number}", symbol(c)),
            (Locale::En, c) => format!("{c} {number}"),
        }
    }

    /// A whole-unit price for labels such as price filters: `250 lei`, `RON 250`
    /// (cents shown only when there are some).
    pub fn money_short(self, minor: i64, currency: &str) -> String {
        let full = self.money(minor, currency);
        if minor % 100 != 0 {
            return full;
        }
        let zeros = match self {
            Locale::Ro => ",00",
            Locale::En => ".00",
        };
        full.replacen(zeros, "", 1)
    }

    /// A file size: `830 KB`, `12,4 MB` (Romanian decimal comma), `1.2 GB`.
    pub fn bytes(self, n: u64) -> String {
        let (value, unit) = match n {
            n if n >= 1_000_000_000 => (n as f64 / 1e9, "GB"),
            n if n >= 1_000_000 => (n as f64 / 1e6, "MB"),
            n if n >= 1_000 => (n as f64 / 1e3, "KB"),
            n => return format!("{n} B"),
        };
        let text = if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.1}") };
        match self {
            Locale::Ro => format!("{} {unit}", text.replace('.', ",")),
            Locale::En => format!("{text} {unit}"),
        }
    }

    /// A date as `dd.mm.yyyy`.
    pub fn date<D: chrono::Datelike>(self, d: &D) -> String {
        format!("{:02}.{:02}.{}", d.day(), d.month(), d.year())
    }

    /// A date and time as `dd.mm.yyyy HH:MM`.
    pub fn date_time<D: chrono::Datelike + chrono::Timelike>(self, d: &D) -> String {
        format!("{} {:02}:{:02}", self.date(d), d.hour(), d.minute())
    }
}

fn symbol(currency: &str) -> &str {
    match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        other => other,
    }
}

fn fill(msg: &str, args: &[(&str, &str)]) -> String {
    let mut out = msg.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{ ${name} }}"), value);
    }
    out
}

/// Reads `key = text` lines; `#` starts a comment line.
fn parse_catalogue(src: &'static str) -> HashMap<&'static str, &'static str> {
    src.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = ").map(|(k, v)| (k.trim(), v.trim())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// The keys and the placeholders of a catalogue (for the completeness tests).
pub fn catalogue_shape(locale: Locale) -> Vec<(&'static str, Vec<String>)> {
    let mut out: Vec<_> = locale
        .catalogue()
        .iter()
        .map(|(k, v)| {
            let mut names: Vec<String> = v.match_indices("{ $").filter_map(|(i, _)| v[i + 3..].split_once(" }").map(|(n, _)| n.to_string())).collect();
            names.sort();
            names.dedup();
            (*k, names)
        })
        .collect();
    out.sort();
    out
}

// ------------------------------------------------------------------ messages in links

/// Kinds of catalogue keys a link may name (`?error=`, `?notice=`, `err.<field>=`).
const LINKABLE: [&str; 4] = ["msg-", "field-", "err-", "query-"];

/// A value a link may carry into a message: short and plain (a number, a
/// SKU, an order number, an e-mail address, a status), never a sentence.
fn plain_value(v: &str) -> bool {
    !v.is_empty() && v.len() <= 80 && v.chars().all(|c| c.is_ascii_alphanumeric() || "@._+-:,".contains(c))
}

/// A message for a link: a catalogue key and its values, `key|name=value|…`.
/// Form posts answer with a redirect carrying such codes, never words, so a
/// link cannot make the shop say what it likes. A value that is not plain
/// gives the generic `err-try-again` instead of the message.
pub fn link_message(key: &str, args: &[(String, String)]) -> String {
    debug_assert!(LINKABLE.iter().any(|p| key.starts_with(p)) && !Locale::En.t(key).is_empty(), "{key} cannot travel in a link");
    if !args.iter().all(|(k, v)| plain_value(k) && plain_value(v)) {
        return "err-try-again".to_string();
    }
    std::iter::once(key.to_string()).chain(args.iter().map(|(k, v)| format!("{k}={v}"))).collect::<Vec<_>>().join("|")
}

impl Locale {
    /// The words of a message that came in a link (see [`link_message`]):
    /// a catalogue key of a linkable kind with plain values, where a value
    /// that names a status or a role (`status-shipped`) is said in words.
    /// Anything else, free text above all, says nothing.
    pub fn linked(self, text: &str) -> Option<String> {
        let mut parts = text.split('|');
        let key = parts.next()?;
        if !LINKABLE.iter().any(|p| key.starts_with(p)) || self.t(key).is_empty() {
            return None;
        }
        let mut args = Vec::new();
        for part in parts {
            let (k, v) = part.split_once('=')?;
            if !plain_value(k) || !plain_value(v) {
                return None;
            }
            let named = self.t(&format!("{k}-{v}"));
            args.push((k.to_string(), if named.is_empty() { v.to_string() } else { named.to_string() }));
        }
        let said = self.say(key, &args);
        (!said.contains("{ $")).then_some(said)
    }
}

#[cfg(feature = "ssr")]
tokio::task_local! {
    /// The language of the request being answered (set by `server::language`),
    /// for what is worded far from the handler: the API's problem+json.
    pub static REQUEST_LOCALE: Locale;
}

/// The language of the request being answered; English outside a request.
#[cfg(feature = "ssr")]
pub fn request_locale() -> Locale {
    REQUEST_LOCALE.try_with(|l| *l).unwrap_or(Locale::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_codes_never_words() {
        let code = link_message("msg-order-now", &[("number".into(), "VT-000042".into()), ("status".into(), "shipped".into())]);
        assert_eq!(code, "msg-order-now|number=VT-000042|status=shipped");
        let ro = Locale::Ro.linked(&code).unwrap();
        assert!(ro.contains("VT-000042") && ro.contains(Locale::Ro.t("status-shipped")), "{ro}");
        assert_eq!(Locale::En.linked("field-max-chars|max=100").as_deref(), Some(Locale::En.tf("field-max-chars", &[("max", "100")]).as_str()));
        // free text, an unknown key, a key of another kind, a sentence as a value: nothing is said
        for text in ["Call 0800 123 456 for your refund", "msg-no-such-message", "home-title", "field-max-chars|max=call us now", "field-max-chars|max=1|x"] {
            assert_eq!(Locale::Ro.linked(text), None, "{text}");
        }
        assert_eq!(Locale::En.linked("field-max-chars"), None, "a message whose values are missing is not said");
        assert_eq!(link_message("err-conflict", &[("detail".into(), "slug \"x\" is used".into())]), "err-try-again");
        assert!(Locale::Ro.linked("err-try-again").is_some());
    }

    #[test]
    fn both_catalogues_have_the_same_messages_and_placeholders() {
        // plural forms differ by language (Romanian has a "few"): compare messages by their base key
        let shape = |l: Locale| -> std::collections::BTreeMap<String, Vec<String>> {
            catalogue_shape(l)
                .into_iter()
                .map(|(k, names)| {
                    let base = ["-one", "-few", "-other"].iter().find_map(|s| k.strip_suffix(s)).unwrap_or(k);
                    (base.to_string(), names)
                })
                .collect()
        };
        let (ro, en) = (shape(Locale::Ro), shape(Locale::En));
        let only_ro: Vec<_> = ro.keys().filter(|k| !en.contains_key(*k)).collect();
        let only_en: Vec<_> = en.keys().filter(|k| !ro.contains_key(*k)).collect();
        assert!(only_ro.is_empty() && only_en.is_empty(), "only in ro: {only_ro:?}; only in en: {only_en:?}");
        for (k, names) in &ro {
            assert_eq!(Some(names), en.get(k), "placeholders of {k}");
        }
        for l in Locale::ALL {
            for (k, _) in catalogue_shape(l).iter().filter(|(k, _)| k.ends_with("-one")) {
                let base = k.trim_end_matches("-one");
                assert!(!l.t(&format!("{base}-other")).is_empty(), "{k} has no -other form in {}", l.code());
            }
        }
        assert!(ro.len() > 50, "the catalogue was read ({} messages)", ro.len());
        for (l, src) in [(Locale::Ro, RO_FTL), (Locale::En, EN_FTL)] {
            let lines = src.lines().filter(|x| !x.trim_start().starts_with('#') && x.contains(" = ")).count();
            assert_eq!(lines, l.catalogue().len(), "a key is written twice in locales/{}.ftl", l.code());
        }
    }

    #[test]
    fn every_key_the_code_uses_is_in_the_catalogue() {
        // t("…"), tf("…", …) and tn("…", …) calls with a literal key, anywhere in src/
        let mut missing = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("i18n.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // and field messages: FieldError::coded("field-…", …), the address's "field-enter-…"
                for call in [".t(\"", ".tf(\"", ".tn(\"", "::coded(\"", "\"field-enter-"] {
                    for (i, _) in text.match_indices(call) {
                        let rest = text[i + call.len()..].split('"').next().unwrap();
                        let key = if call == "\"field-enter-" { format!("field-enter-{rest}") } else { rest.to_string() };
                        let key = key.as_str();
                        let known = if call == ".tn(\"" { Locale::Ro.catalogue().contains_key(format!("{key}-other").as_str()) } else { Locale::Ro.catalogue().contains_key(key) };
                        if !known {
                            missing.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys missing from locales/ro.ftl: {missing:#?}");
    }

    #[test]
    fn prices_the_romanian_and_the_english_way() {
        assert_eq!(Locale::Ro.money(129_999, "RON"), "1.299,99 lei");
        assert_eq!(Locale::En.money(129_999, "RON"), "RON 1,299.99");
        assert_eq!(Locale::Ro.money(5, "RON"), "0,05 lei");
        assert_eq!(Locale::Ro.money(-123_456_789, "EUR"), "-1.234.567,89 €");
        assert_eq!(Locale::En.money(1999, "EUR"), "€19.99");
        assert_eq!(Locale::Ro.money_short(25_000, "RON"), "250 lei");
        assert_eq!(Locale::En.money_short(25_050, "RON"), "RON 250.50");
    }

    #[test]
    fn dates_as_day_month_year() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(Locale::Ro.date(&d), "07.03.2026");
        assert_eq!(Locale::En.date_time(&d.and_hms_opt(9, 5, 0).unwrap()), "07.03.2026 09:05");
    }

    #[test]
    fn romanian_plurals_have_three_forms() {
        assert_eq!(Locale::Ro.plural(1), "one");
        assert_eq!(Locale::Ro.plural(0), "few");
        assert_eq!(Locale::Ro.plural(19), "few");
        assert_eq!(Locale::Ro.plural(20), "other");
        assert_eq!(Locale::Ro.plural(101), "few");
        assert_eq!(Locale::Ro.plural(120), "other");
        assert_eq!(Locale::En.plural(0), "other");
        assert_eq!(Locale::Ro.tn("products-count", 20, &[]), "20 de produse");
        assert_eq!(Locale::Ro.tn("products-count", 3, &[]), "3 produse");
        assert_eq!(Locale::En.tn("products-count", 1, &[]), "1 product");
    }

    #[test]
    fn paths_carry_the_language() {
        assert_eq!(Locale::split_path("/en/p/x"), (Locale::En, "/p/x"));
        assert_eq!(Locale::split_path("/en"), (Locale::En, "/"));
        assert_eq!(Locale::split_path("/entry"), (Locale::Ro, "/entry"));
        assert_eq!(Locale::En.href("/products?q=a"), "/en/products?q=a");
        assert_eq!(Locale::En.href("/"), "/en");
        assert_eq!(Locale::En.href("/en/cart"), "/en/cart");
        assert_eq!(Locale::Ro.href("/en/cart"), "/cart");
        assert_eq!(Locale::En.href("/api/docs"), "/api/docs");
        assert_eq!(Locale::En.href("/pkg/vitrina.css"), "/pkg/vitrina.css");
        assert_eq!(Locale::En.href("/login?email=a%40b.ro"), "/en/login?email=a%40b.ro");
    }

    #[test]
    fn accept_language_picks_ours_by_quality() {
        assert_eq!(Locale::from_accept_language("en-US,en;q=0.9"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("de-DE, ro;q=0.8, en;q=0.5"), Some(Locale::Ro));
        assert_eq!(Locale::from_accept_language("en;q=0.4, ro-RO"), Some(Locale::Ro));
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language("en;q=0"), None);
    }
}
