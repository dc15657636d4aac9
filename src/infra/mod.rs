//! Adapters (server only). Only `state.rs` picks among them.
pub mod argon2_hasher;
pub mod images_fs;
pub mod jwt;
pub mod limiter;
pub mod mail;
pub mod mail_templates;
pub mod sessions;
pub mod memory_cache;
pub mod mongo;
pub mod redis_cache;
pub mod s3_images;
pub mod search;
pub mod sqlite;
pub mod stripe;
pub mod thumbnails;
pub mod tiered_cache;
pub mod webhooks;
