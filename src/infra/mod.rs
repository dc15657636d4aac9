//! Adapters (server only). Only `state.rs` picks among them.
pub mod images_fs;
pub mod memory_cache;
pub mod mongo;
pub mod redis_cache;
pub mod sqlite;
