//! The schema: numbered SQL files under `migrations/postgres/`, compiled in, applied at connect
//! in one transaction under an advisory lock (two processes starting at once take turns), and
//! recorded in `schema_migrations`. A database newer than this build is refused.

use super::pool::Session;

use super::errors::Failure;
use crate::store::StoreError;

/// Every migration this build knows, in order: (version, name, SQL).
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("../../../migrations/postgres/0001_init.sql")),
    (2, "webhook_updates", include_str!("../../../migrations/postgres/0002_webhook_updates.sql")),
];

/// The newest schema this build knows.
pub(crate) const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock of migrations: the two-key form, so it never meets a learner's lock
/// (`pg_advisory_xact_lock(bigint)`, a key space of its own).
const LOCK: &str = "SELECT pg_advisory_xact_lock(1853188199, 1)";

/// Brings the database to [`LATEST`]; returns the migrations applied.
pub(super) fn migrate(client: &mut Session) -> Result<usize, Failure> {
    client.in_transaction(migrate_locked)
}

/// [`migrate`] inside its transaction.
fn migrate_locked(tx: &mut Session) -> Result<usize, Failure> {
    tx.batch_execute(LOCK)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer     PRIMARY KEY,
             name       text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let found: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])?.get(0);
    if found > LATEST {
        return Err(Failure::Store(StoreError::DatabaseSchema { found: found as u32, known: LATEST as u32 }));
    }
    let mut applied = 0;
    for &(version, name, sql) in MIGRATIONS.iter().filter(|(version, ..)| *version > found) {
        tx.batch_execute(sql)?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[&version, &name])?;
        tracing::info!(version, name, "applied a PostgreSQL migration");
        applied += 1;
    }
    Ok(applied)
}
