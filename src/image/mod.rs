//! Images: references, the store, archives and import.

pub mod archive;
pub mod changes;
pub mod config;
pub mod import;
pub mod reference;
pub mod store;
