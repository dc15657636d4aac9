use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A category path such as `clothing/t-shirts`: segments of `[a-z0-9-]`.
pub struct CategoryPath;

impl CategoryPath {
    pub fn is_valid(path: &str) -> bool {
        !path.is_empty()
            && path.len() <= 200
            && path.split('/').all(|seg| {
                !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
    }

    /// `a/b/c` → `["a", "a/b", "a/b/c"]`.
    pub fn ancestors_and_self(path: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut acc = String::new();
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(seg);
            out.push(acc.clone());
        }
        out
    }

    pub fn parent(path: &str) -> Option<&str> {
        path.rsplit_once('/').map(|(p, _)| p)
    }

    pub fn last_segment(path: &str) -> &str {
        path.rsplit('/').next().unwrap_or(path)
    }

    /// A readable name from the last segment: `t-shirts` → `T-shirts`.
    pub fn default_name(path: &str) -> String {
        let seg = Self::last_segment(path).replace('-', " ");
        let mut c = seg.chars();
        match c.next() {
            Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
            None => String::new(),
        }
    }
}

/// A category as stored: its path and display name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub path: String,
    pub name: String,
}

/// A node of the category tree the API and navigation show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CategoryNode {
    pub slug: String,
    pub name: String,
    pub path: String,
    /// Active products in this category and its descendants.
    pub product_count: u64,
    #[cfg_attr(feature = "ssr", schema(no_recursion))]
    pub children: Vec<CategoryNode>,
}

/// Builds the tree from named categories and per-path counts of active
/// products (a product counts for its own path only; the tree rolls up).
/// Paths that have products but no stored category get a default name.
pub fn build_tree(categories: &[Category], counts: &[(String, u64)]) -> Vec<CategoryNode> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for c in categories {
        for p in CategoryPath::ancestors_and_self(&c.path) {
            names.entry(p.clone()).or_insert_with(|| CategoryPath::default_name(&p));
        }
        names.insert(c.path.clone(), c.name.clone());
    }
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for (path, n) in counts {
        for p in CategoryPath::ancestors_and_self(path) {
            names.entry(p.clone()).or_insert_with(|| CategoryPath::default_name(&p));
            *totals.entry(p).or_default() += n;
        }
    }
    fn children_of(parent: Option<&str>, names: &BTreeMap<String, String>, totals: &BTreeMap<String, u64>) -> Vec<CategoryNode> {
        names
            .iter()
            .filter(|(path, _)| CategoryPath::parent(path) == parent)
            .map(|(path, name)| CategoryNode {
                slug: CategoryPath::last_segment(path).to_string(),
                name: name.clone(),
                path: path.clone(),
                product_count: totals.get(path).copied().unwrap_or(0),
                children: children_of(Some(path), names, totals),
            })
            .collect()
    }
    children_of(None, &names, &totals)
}

/// Finds a node by path in a tree.
pub fn find_node<'a>(tree: &'a [CategoryNode], path: &str) -> Option<&'a CategoryNode> {
    for node in tree {
        if node.path == path {
            return Some(node);
        }
        if path.starts_with(&format!("{}/", node.path)) {
            return find_node(&node.children, path);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_paths() {
        assert!(CategoryPath::is_valid("clothing/t-shirts"));
        assert!(!CategoryPath::is_valid("Clothing"));
        assert!(!CategoryPath::is_valid("a//b"));
        assert!(!CategoryPath::is_valid("$where"));
        assert!(!CategoryPath::is_valid(""));
    }

    #[test]
    fn tree_rolls_counts_up() {
        let cats = vec![
            Category { path: "clothing".into(), name: "Clothing".into() },
            Category { path: "clothing/t-shirts".into(), name: "T-Shirts".into() },
            Category { path: "clothing/jeans".into(), name: "Jeans".into() },
        ];
        let counts = vec![("clothing/t-shirts".to_string(), 3), ("clothing/jeans".to_string(), 2), ("books/novels".to_string(), 1)];
        let tree = build_tree(&cats, &counts);
        let clothing = find_node(&tree, "clothing").unwrap();
        assert_eq!(clothing.product_count, 5);
        assert_eq!(clothing.children.len(), 2);
        assert_eq!(find_node(&tree, "clothing/t-shirts").unwrap().name, "T-Shirts");
        assert_eq!(find_node(&tree, "books").unwrap().product_count, 1);
        assert_eq!(find_node(&tree, "books/novels").unwrap().name, "Novels");
    }
}
