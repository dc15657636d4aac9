//! Use cases. They depend on `ports` only.
pub mod catalog;
pub mod demo;
