//! Text analysis shared by the index and by anything that must agree with
//! it (the plain-scan matcher the differential test compares against):
//! words are lower-cased, diacritics folded (ș ş → s, ț ţ → t, ă â → a,
//! î → i …), stemmed with Snowball's Romanian and English stemmers, and
//! compared with a bounded Damerau (optimal string alignment) distance for
//! typo tolerance.
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use crate::domain::product::Product;
use crate::domain::text;

/// Where a word was found, most important first. Ranking weighs a match in
/// the name above the brand, above the category, above everything else.
pub const FIELDS: usize = 4;
pub const FIELD_WEIGHTS: [f32; FIELDS] = [8.0, 4.0, 2.0, 1.0];

/// How a query word matched a product word, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchKind {
    Exact = 0,
    Stem = 1,
    Prefix = 2,
    Fuzzy = 3,
}
pub const MATCH_FACTORS: [f32; 4] = [1.0, 0.9, 0.7, 0.5];

pub use crate::domain::text::fold;

fn stemmers() -> &'static (Stemmer, Stemmer) {
    static S: OnceLock<(Stemmer, Stemmer)> = OnceLock::new();
    S.get_or_init(|| (Stemmer::create(Algorithm::Romanian), Stemmer::create(Algorithm::English)))
}

/// Romanian stemming wants the comma-below letters; old texts use cedillas.
fn ro_normal(word: &str) -> String {
    word.chars().map(|c| match c {
        'ş' => 'ș',
        'ţ' => 'ț',
        c => c,
    }).collect()
}

/// The stems of a (lower-cased) word: Romanian and English, folded.
pub fn stems(word: &str) -> [String; 2] {
    let (ro, en) = stemmers();
    let folded = fold(word);
    [fold(&ro.stem(&ro_normal(word))), en.stem(&folded).into_owned()]
}

/// One analysed word: its folded form and its stems.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub folded: String,
    pub stems: [String; 2],
}

pub fn analyse(word: &str) -> Term {
    Term { folded: fold(word), stems: stems(word) }
}

/// The words of a query, analysed (at most 12, duplicates removed).
pub fn query_terms(q: &str) -> Vec<Term> {
    let mut seen = std::collections::BTreeSet::new();
    text::words(q).into_iter().filter(|w| seen.insert(fold(w))).take(12).map(|w| analyse(&w)).collect()
}

/// The words of each field of a product: name, brand, category, then the
/// description, attribute values, variant options and SKUs.
pub fn product_fields(p: &Product) -> [Vec<String>; FIELDS] {
    let mut other = text::words(&p.description);
    for v in p.attributes.values() {
        for value in v.facet_values() {
            other.extend(text::words(&value));
        }
    }
    for variant in &p.variants {
        other.extend(text::words(&variant.sku));
        for v in variant.options.values() {
            other.extend(text::words(v));
        }
    }
    [text::words(&p.name), text::words(&p.brand), text::words(&p.category.replace('/', " ")), other]
}

/// Edits a query word may be away from a product word: none below 5
/// letters, one from 5, two from 9.
pub fn allowed_edits(word: &str) -> usize {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Which characters a word has (a-z and 0-9 as bits): `max` edits change
/// at most `2 × max` bits, so most words are ruled out by one XOR and a
/// popcount before any distance is computed.
pub fn letter_mask(word: &str) -> u64 {
    word.chars().fold(0u64, |m, c| match c {
        'a'..='z' => m | 1 << (c as u32 - 'a' as u32),
        '0'..='9' => m | 1 << (26 + c as u32 - '0' as u32),
        _ => m | 1 << 63,
    })
}

/// Typos are forgiven in words, not in numbers (`16` is not `18`, a code is not another code).
pub fn typo_tolerant(word: &str) -> bool {
    word.chars().any(char::is_alphabetic)
}

/// Shortest prefix a query word must have to match longer words (type-ahead).
pub const MIN_PREFIX: usize = 2;

/// Optimal string alignment distance (a transposition is one edit), or
/// `None` when it exceeds `max`.
pub fn edit_distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let (n, m) = (a.len(), b.len());
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[m] <= max).then_some(prev[m])
}

/// How a query term matches one product word, if it does (the plain
/// definition the index implements with postings).
pub fn match_kind(query: &Term, word: &str) -> Option<MatchKind> {
    let t = analyse(word);
    if t.folded == query.folded {
        return Some(MatchKind::Exact);
    }
    if query.stems.iter().any(|s| !s.is_empty() && t.stems.contains(s)) {
        return Some(MatchKind::Stem);
    }
    if query.folded.chars().count() >= MIN_PREFIX && t.folded.starts_with(&query.folded) {
        return Some(MatchKind::Prefix);
    }
    let max = allowed_edits(&query.folded);
    if max > 0 && typo_tolerant(&query.folded) && typo_tolerant(&t.folded) && edit_distance_within(&query.folded, &t.folded, max).is_some() {
        return Some(MatchKind::Fuzzy);
    }
    None
}

/// The relevance of a product for a query, by plain scan: `None` unless every
/// query word matches some word of the product; otherwise the sum, over the
/// query words, of the best field weight × match factor.
pub fn plain_score(fields: &[Vec<String>; FIELDS], terms: &[Term]) -> Option<f32> {
    let mut total = 0.0;
    for term in terms {
        let mut best: Option<f32> = None;
        for (f, words) in fields.iter().enumerate() {
            for w in words {
                if let Some(kind) = match_kind(term, w) {
                    let s = FIELD_WEIGHTS[f] * MATCH_FACTORS[kind as usize];
                    best = Some(best.map_or(s, |b: f32| b.max(s)));
                }
            }
        }
        total += best?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_romanian_diacritics_both_forms() {
        assert_eq!(fold("Ștofă"), "stofa");
        assert_eq!(fold("ştofă"), "stofa");
        assert_eq!(fold("ÎNCĂLȚĂMINTE"), "incaltaminte");
        assert_eq!(fold("Ţesătură"), "tesatura");
    }

    #[test]
    fn romanian_word_forms_share_a_stem() {
        let shared = |a: &str, b: &str| {
            let (x, y) = (stems(a), stems(b));
            x.iter().any(|s| y.contains(s))
        };
        assert!(shared("pantofi", "pantof"), "{:?} {:?}", stems("pantofi"), stems("pantof"));
        assert!(shared("rochii", "rochie"), "{:?} {:?}", stems("rochii"), stems("rochie"));
        assert!(shared("stofa", "ștofă"));
        assert!(shared("jeans", "jean") || match_kind(&analyse("jeans"), "jean").is_some());
        assert!(shared("shirts", "shirt"));
        assert!(!shared("laptop", "lampa"));
    }

    #[test]
    fn typos_within_the_allowed_edits() {
        assert_eq!(edit_distance_within("jaens", "jeans", 1), Some(1), "a transposition is one edit");
        assert_eq!(edit_distance_within("lapotp", "laptop", 1), Some(1));
        assert_eq!(edit_distance_within("kitten", "sitting", 2), None, "three edits");
        assert_eq!(edit_distance_within("abc", "abc", 0), Some(0));
        assert_eq!(allowed_edits("jean"), 0);
        assert_eq!(allowed_edits("jaens"), 1);
        assert_eq!(allowed_edits("headphnoes"), 2);
        assert_eq!(match_kind(&analyse("jaens"), "Jeans"), Some(MatchKind::Fuzzy));
        assert_eq!(match_kind(&analyse("tee"), "tea"), None, "short words need to be exact");
        assert_eq!(match_kind(&analyse("123456"), "123457"), None, "numbers are not typos");
        let (q, w) = (letter_mask("jaens"), letter_mask("jeans"));
        assert_eq!((q ^ w).count_ones(), 0, "a transposition keeps the letters");
        assert!((letter_mask("laptop") ^ letter_mask("123456")).count_ones() > 2);
    }

    #[test]
    fn kinds_in_order_of_quality() {
        assert_eq!(match_kind(&analyse("rochie"), "Rochie"), Some(MatchKind::Exact));
        assert_eq!(match_kind(&analyse("rochii"), "Rochie"), Some(MatchKind::Stem));
        assert_eq!(match_kind(&analyse("lapt"), "laptop"), Some(MatchKind::Prefix));
        assert_eq!(match_kind(&analyse("x"), "xbox"), None, "one letter is no prefix");
    }

    #[test]
    fn name_matches_rank_above_description_matches() {
        let terms = query_terms("shirt");
        let in_name = [vec!["shirt".to_string()], vec![], vec![], vec![]];
        let in_desc = [vec!["mug".to_string()], vec![], vec![], vec!["shirt".to_string()]];
        assert!(plain_score(&in_name, &terms).unwrap() > plain_score(&in_desc, &terms).unwrap());
        assert_eq!(plain_score(&in_name, &query_terms("shirt mug")), None, "every word must match");
    }
}
