//! Reports of a product CSV import (dry run or real).
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineError {
    /// 1-based line of the CSV file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    /// Products in the file.
    pub products: u64,
    pub creates: u64,
    pub updates: u64,
    /// Every problem found; when there is any, nothing is written.
    pub errors: Vec<LineError>,
    /// True when the products were written.
    pub applied: bool,
}
