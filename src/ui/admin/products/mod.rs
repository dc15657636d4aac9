//! Products: the list with search, status and category filters, and the
//! editor (attributes editor, variant matrix, images with upload progress).
//!
//! `list` (the product list), `editor` (the editor island: fields,
//! attributes, the variant matrix) and `images` (uploads with progress,
//! order, delete).
pub mod editor;
pub mod images;
pub mod list;

pub use editor::{ProductEditPage, ProductNewPage};
pub use list::ProductListPage;

use leptos::prelude::*;

use crate::domain::category::CategoryNode;

fn flatten_categories(nodes: &[CategoryNode], out: &mut Vec<(String, String)>, depth: usize) {
    for n in nodes {
        out.push((n.path.clone(), format!("{}{}", "  ".repeat(depth), n.name)));
        flatten_categories(&n.children, out, depth + 1);
    }
}

pub(super) fn category_options() -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(r) = use_context::<Resource<Result<crate::ui::fns::PageResult<Vec<CategoryNode>>, ServerFnError>>>() {
        if let Some(Ok(Ok(tree))) = r.get_untracked() {
            flatten_categories(&tree, &mut out, 0);
        }
    }
    out
}

