//! Moving a store written by an older nudge to the current schema, in place, at open.
//!
//! Schema 1 → 2 rewrites every delivery and answer from JSON to its compact record. Each record
//! is rewritten under its own key, and the schema version changes only after everything is
//! flushed, so a migration that is interrupted (a crash, a full disk) simply runs again: records
//! already rewritten are recognised and left alone.

use super::{SCHEMA_KEY, SCHEMA_VERSION, Store, StoreError, decode, records};
use crate::model::{Answer, Delivery};

impl Store {
    /// Rewrites a schema 1 store as schema 2.
    pub(super) fn migrate_from_v1(&self) -> Result<(), StoreError> {
        tracing::info!(
            deliveries = self.deliveries.len(),
            answers = self.answers.len(),
            "moving the store to schema {SCHEMA_VERSION} (compact records); this runs once"
        );
        let started = std::time::Instant::now();
        let mut rewritten = 0;
        for entry in self.deliveries.iter() {
            let (key, value) = entry?;
            match decode::<Delivery>("deliveries", &value) {
                Ok(delivery) => {
                    self.deliveries.insert(key, records::encode_delivery(&delivery))?;
                    rewritten += 1;
                }
                // Not JSON: fine if an interrupted migration already rewrote it.
                Err(error) => _ = records::decode_delivery(&key, &value).map_err(|_| error)?,
            }
        }
        for entry in self.answers.iter() {
            let (key, value) = entry?;
            match decode::<Answer>("answers", &value) {
                Ok(answer) => {
                    self.answers.insert(key, records::encode_answer(&answer))?;
                    rewritten += 1;
                }
                Err(error) => _ = records::decode_answer(&key, &value).map_err(|_| error)?,
            }
        }
        self.flush_blocking()?;
        self.set_meta(SCHEMA_KEY, &SCHEMA_VERSION)?;
        self.flush_blocking()?;
        tracing::info!(rewritten, seconds = started.elapsed().as_secs_f64(), "the store is on schema {SCHEMA_VERSION}");
        Ok(())
    }
}
