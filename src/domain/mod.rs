//! Pure business rules: no IO, no framework, no driver imports.
//! Compiled for both the server and the WASM client.
pub mod address;
pub mod audit;
pub mod billing;
pub mod category;
pub mod dashboard;
pub mod import;
pub mod invoice;
pub mod money;
pub mod order;
pub mod outbox;
pub mod patch;
pub mod payment;
pub mod pricing;
pub mod product;
pub mod promotion;
pub mod returns;
pub mod query;
pub mod recommend;
#[cfg(feature = "ssr")]
pub mod records;
pub mod seo;
pub mod text;
pub mod user;
pub mod withdrawal;
pub mod variants;

#[cfg(test)]
mod purity_test;
