//! Webhook updates in PostgreSQL (table `webhook_updates`, migration 2): a claim is one
//! statement, so of callers racing for one update, in any process sharing the database,
//! exactly one takes it. The rows hold no personal data and stay out of backups, exports and
//! erasure.

use chrono::{DateTime, Utc};

use super::PgStore;
use crate::domain::UpdateId;
use crate::store::updates::expired_since;
use crate::store::{StoreError, UpdateClaim};

/// Inserts the claim, or takes over one that is not handled and either older than `$3` or
/// made on a session that is gone (its instance died: every session of a process ends with
/// it, so a `kill -9` frees its claims at once); then says whether it did and, if not, whether
/// the update was handled. The second column reads the statement's snapshot: a row another
/// caller inserted meanwhile is not in it, and that caller is still at it (busy).
const CLAIM: &str = "WITH taken AS (
         INSERT INTO webhook_updates AS u (update_id, claimed_at, claimer)
         VALUES ($1, $2, pg_backend_pid())
         ON CONFLICT (update_id) DO UPDATE SET claimed_at = EXCLUDED.claimed_at, claimer = EXCLUDED.claimer
             WHERE NOT u.done
               AND (u.claimed_at <= $3 OR NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = u.claimer))
         RETURNING true AS taken
     )
     SELECT coalesce((SELECT taken FROM taken), false),
            coalesce((SELECT done FROM webhook_updates WHERE update_id = $1), false)";

/// Marks the update handled, recording it at `$2` when it was never claimed.
const FINISH: &str = "INSERT INTO webhook_updates (update_id, claimed_at, done) VALUES ($1, $2, true)
     ON CONFLICT (update_id) DO UPDATE SET done = true";

/// Forgets a claim that was not handled.
const RELEASE: &str = "DELETE FROM webhook_updates WHERE update_id = $1 AND NOT done";

/// Deletes every record claimed before `$1`.
const PRUNE: &str = "DELETE FROM webhook_updates WHERE claimed_at < $1";

impl PgStore {
    /// [`crate::store::Storage::claim_update`].
    pub(super) fn claim_update_row(
        &self,
        id: UpdateId,
        now: DateTime<Utc>,
        expiry: chrono::Duration,
    ) -> Result<UpdateClaim, StoreError> {
        let (id, expired) = (id.get(), expired_since(now, expiry));
        let (taken, done): (bool, bool) = self.run(move |client| {
            let statement = client.prepared(CLAIM)?;
            let row = client.query_one(&statement, &[&id, &now, &expired])?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })?;
        Ok(match (taken, done) {
            (true, _) => UpdateClaim::Taken,
            (false, true) => UpdateClaim::Done,
            (false, false) => UpdateClaim::Busy,
        })
    }

    /// [`crate::store::Storage::finish_update`].
    pub(super) fn finish_update_row(&self, id: UpdateId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let id = id.get();
        self.run(move |client| {
            let statement = client.prepared(FINISH)?;
            client.execute(&statement, &[&id, &now])?;
            Ok(())
        })
    }

    /// [`crate::store::Storage::release_update`].
    pub(super) fn release_update_row(&self, id: UpdateId) -> Result<(), StoreError> {
        let id = id.get();
        self.run(move |client| {
            let statement = client.prepared(RELEASE)?;
            client.execute(&statement, &[&id])?;
            Ok(())
        })
    }

    /// [`crate::store::Storage::prune_updates`].
    pub(super) fn prune_update_rows(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let pruned = self.run(move |client| {
            let statement = client.prepared(PRUNE)?;
            Ok(client.execute(&statement, &[&before])?)
        })?;
        Ok(usize::try_from(pruned).unwrap_or(usize::MAX))
    }
}
