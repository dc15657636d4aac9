//! Text normalisation shared by indexing and querying.

/// Lower-cased alphanumeric words of a text.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// Tokens stored for a word so that a search matches whole words, simple
/// plurals and prefixes of at least three letters (type-ahead).
pub fn index_tokens(word: &str, out: &mut std::collections::BTreeSet<String>) {
    out.insert(word.to_string());
    let chars: Vec<char> = word.chars().collect();
    for n in 3..chars.len() {
        out.insert(chars[..n].iter().collect());
    }
}

/// The token a query word must match: plurals fold onto their singular,
/// which `index_tokens` stores as a prefix of the plural.
pub fn query_token(word: &str) -> String {
    let n = word.chars().count();
    if n > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// Lower-cases and folds Romanian (and common Western European) diacritics
/// to ASCII: `Ștofă` and `stofa` are the same word to a shopper.
pub fn fold(word: &str) -> String {
    word.chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'ă' | 'â' | 'á' | 'à' | 'ä' | 'ã' | 'å' => 'a',
            'î' | 'í' | 'ì' | 'ï' => 'i',
            'ș' | 'ş' => 's',
            'ț' | 'ţ' => 't',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'ö' | 'ó' | 'ò' | 'ô' | 'õ' => 'o',
            'ü' | 'ú' | 'ù' | 'û' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// A path on this site to send a browser to, or `None`. Browsers drop tabs
/// and line breaks from URLs and read `\` as `/`, so `/\t/evil.example`
/// or `/\\evil.example` would become the protocol-relative
/// `//evil.example`: the value is cleaned the way a browser would read it,
/// then must be a single-slash path.
pub fn local_path(next: &str) -> Option<String> {
    let cleaned: String = next.chars().filter(|c| !c.is_control()).map(|c| if c == '\\' { '/' } else { c }).collect();
    let ok = cleaned.starts_with('/') && !cleaned.starts_with("//") && cleaned.len() < 500 && !cleaned.contains(char::is_whitespace);
    ok.then_some(cleaned)
}

/// URL-friendly slug: lowercase ascii letters and digits separated by '-'.
/// `text` with every e-mail address in it replaced by `<address>`: what a
/// log line may say about a failed mail (logs outlive an erasure, so they
/// never name a recipient).
pub fn mask_addresses(text: &str) -> String {
    let is_part = |c: char| c.is_alphanumeric() || "._%+-".contains(c);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let start = out.chars().rev().take_while(|c| is_part(*c)).count();
            let end = chars[i + 1..].iter().take_while(|c| is_part(**c)).count();
            if start > 0 && end > 0 && chars[i + 1..i + 1 + end].contains(&'.') {
                let keep = out.chars().count() - start;
                out = out.chars().take(keep).collect();
                out.push_str("<address>");
                i += 1 + end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars() {
        let c = deunicode_char(c);
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn deunicode_char(c: char) -> char {
    match c {
        'ă' | 'â' | 'á' | 'à' | 'ä' | 'Ă' | 'Â' | 'Á' | 'À' | 'Ä' => 'a',
        'î' | 'í' | 'Î' | 'Í' => 'i',
        'ș' | 'ş' | 'Ș' | 'Ş' => 's',
        'ț' | 'ţ' | 'Ț' | 'Ţ' => 't',
        'é' | 'è' | 'ë' | 'É' => 'e',
        'ö' | 'ó' | 'Ö' => 'o',
        'ü' | 'ú' | 'Ü' => 'u',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_masked_in_log_text() {
        assert_eq!(mask_addresses("550 5.1.1 <Ana.Pop+x@mail.example.ro>: Recipient rejected"), "550 5.1.1 <<address>>: Recipient rejected");
        assert_eq!(mask_addresses("smtp → ana@x.ro, bob@y.com"), "smtp → <address>, <address>");
        assert_eq!(mask_addresses("user@localhost and @ alone"), "user@localhost and @ alone");
    }

    use super::*;
    #[test]
    fn words_split_and_lowercase() {
        assert_eq!(words("Acme T-Shirt, Red!"), vec!["acme", "t", "shirt", "red"]);
    }
    #[test]
    fn plural_query_matches_singular_prefix() {
        let mut toks = Default::default();
        index_tokens("laptop", &mut toks);
        assert!(toks.contains("lap"));
        assert!(toks.contains(&query_token("laptops")) || query_token("laptops") == "laptop");
        assert_eq!(query_token("glass"), "glass");
    }
    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/account").as_deref(), Some("/account"));
        assert_eq!(local_path("/products?q=a&page=2").as_deref(), Some("/products?q=a&page=2"));
        for bad in ["//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "\\/evil.example", "https://evil.example", "evil.example", "/ /x", ""] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("  Ștefan's  T-Shirt (Red) "), "stefan-s-t-shirt-red");
        assert_eq!(slugify("--"), "");
    }
}
