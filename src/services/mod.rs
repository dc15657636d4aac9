//! Use cases. They depend on `ports` only.
pub mod accounts;
pub mod admin;
pub mod audit;
pub mod backup_log;
pub mod csv_io;
pub mod digest;
pub mod catalog;
pub mod demo;
pub mod error;
pub mod limits;
pub mod notify;
pub mod orders;
pub mod payments;
pub mod privacy;
pub mod promotions;
pub mod recommend;
pub mod schema;
