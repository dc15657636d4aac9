//! The variant matrix: every combination of a product's option axes
//! (size × colour…) and a readable SKU for each.
use std::collections::BTreeMap;

use crate::domain::text::slugify;

/// Every combination of the axes' values (`[]` gives one empty combination).
pub fn combinations(axes: &[(String, Vec<String>)]) -> Vec<BTreeMap<String, String>> {
    let mut out = vec![BTreeMap::new()];
    for (name, values) in axes {
        out = out
            .into_iter()
            .flat_map(|base| {
                values.iter().map(move |v| {
                    let mut m = base.clone();
                    m.insert(name.clone(), v.clone());
                    m
                })
            })
            .collect();
    }
    out
}

/// A SKU for a combination: the product's base plus each value, e.g. `TEE-M-RED`.
pub fn sku_for(base: &str, options: &BTreeMap<String, String>, axes: &[(String, Vec<String>)]) -> String {
    let mut parts = vec![base.to_string()];
    for (name, _) in axes {
        if let Some(v) = options.get(name) {
            parts.push(slugify(v).to_uppercase());
        }
    }
    parts.join("-").chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_by_two_matrix_has_four_distinct_skus() {
        let axes = vec![("size".to_string(), vec!["S".to_string(), "M".to_string()]), ("color".to_string(), vec!["Red".to_string(), "Light Blue".to_string()])];
        let combos = combinations(&axes);
        assert_eq!(combos.len(), 4);
        let skus: std::collections::BTreeSet<String> = combos.iter().map(|c| sku_for("TEE", c, &axes)).collect();
        assert_eq!(skus.len(), 4);
        assert!(skus.contains("TEE-M-LIGHT-BLUE"), "{skus:?}");
        assert_eq!(combinations(&[]), vec![BTreeMap::new()]);
    }
}
