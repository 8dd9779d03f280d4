//! Placeholder for the PostgreSQL engine (being written on its own branch).

use super::{Store, StoreError};

/// The PostgreSQL engine (a placeholder).
pub type PgStore = Store;

impl Store {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(_url: &str) -> Result<Store, StoreError> {
        Err(StoreError::Task("PostgreSQL is not built in yet".to_owned()))
    }
}
