pub mod components;
pub mod home;
pub mod layout;
pub mod listing;
pub mod not_found;
pub mod product;
pub mod seo;
