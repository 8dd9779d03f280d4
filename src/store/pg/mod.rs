//! The PostgreSQL engine ([`PgStore`]): the same records and guarantees as the sled engine, in
//! tables with real keys and constraints (`migrations/postgres/`), for a deployment that wants
//! a server database. Knows nothing of the service; connecting again after a failure at start is
//! the caller's (`store/open.rs`).
//!
//! **Threads.** `Storage` is synchronous and called from tokio workers as well as plain
//! threads, and the blocking `postgres` client panics inside a tokio runtime. So no caller
//! touches a client: [`pool`] keeps a few std threads outside any runtime, each owning one
//! connection, and a caller sends them boxed jobs and blocks on a std channel for the reply
//! (never on a runtime). A learner transaction checks one connection out for its whole length.
//!
//! **Locking.** A learner transaction is `BEGIN` (READ COMMITTED), then
//! `pg_advisory_xact_lock(learner id)`: one transaction per learner at a time, across
//! processes too, even before the learner has a row; the work runs again on SQLSTATE
//! 40001/40P01. Migrations take a two-key advisory lock, a key space of their own.
//!
//! **Records.** Each row has typed key columns (primary and foreign keys, the slot claim's
//! uniqueness) and readable columns beside `record`, the exact JSON the sled engine stores, so a
//! backup from either engine restores into the other and backs up again byte for byte.
//! Deliveries and answers pass through sled's compact encoding first, so they read back
//! exactly as sled's do.
//!
//! **Counts** (`n_learners`, `n_pending`, `n_agenda`) are `count(*)` queries: right across
//! processes, an index-only scan each.
//!
//! **Webhook updates** (`updates`) are claimed in one statement (`INSERT … ON CONFLICT DO
//! UPDATE … WHERE` the claim expired), so one instance of several takes each update.
//!
//! **Reading everything** (`learners()`, `exchanges()`, …) goes by keyset pages of
//! [`PAGE`] rows, so a report streams a million answers without loading them. `exchanges()`
//! reads deliveries and answers on a thread each, a page ahead of the caller, and decodes
//! their JSON with a reader of its own (`decode`) that gives what serde gives.

mod backup;
mod batch;
mod decode;
mod delivery_rows;
mod errors;
mod lease;
mod pages;
mod pool;
mod privacy;
mod restore;
mod rows;
mod schema;
mod session;
mod stream;
#[doc(hidden)]
pub mod testdb;
#[cfg(test)]
mod tests;
mod tx;
mod updates;

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use self::errors::{Failure, server_of};
use self::pool::{Dialer, Pool, Session};
use self::rows::{json, parse, seq_of, seq_sql};
use super::{
    BackupError, Exchange, Flushing, LearnerExport, LearnerTx, Pruned, Storage, StoreError, TxError, UpdateClaim,
};
use crate::domain::{
    CohortState, Delivery, DeliverySeq, Lead, Learner, LearnerId, NextNudge, Note, PackTuning, UpdateId,
};

#[cfg(test)]
use schema::LATEST as SCHEMA_VERSION;

/// Connections kept open: enough for the sender's parallel learners and a report at once.
const CONNECTIONS: usize = 4;

/// Rows per page when reading a whole table.
const PAGE: i64 = 1_000;

/// Rows per page of deliveries or answers in a pass over every exchange: fewer round trips
/// for a report over a million answers, still a few megabytes at most.
const EXCHANGE_PAGE: i64 = 5_000;

/// The PostgreSQL engine: a pool of connections to one database.
pub struct PgStore {
    pool: Arc<Pool>,
    /// How to reach the server, for the active lease's connection of its own.
    dialer: Dialer,
}

impl PgStore {
    /// Connects to the database at `url` (a `postgres://` URL or key=value string), applies
    /// the migrations it lacks and finishes erasures a crash interrupted. Blocking. TLS goes
    /// through rustls with the webpki roots when the URL's `sslmode` asks for it. No error
    /// names the password.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|_| {
            StoreError::Database(
                "the database URL cannot be read: write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE".to_owned(),
            )
        })?;
        let secret = config.get_password().map(|password| String::from_utf8_lossy(password).into_owned());
        let dialer = Dialer { config, tls: tls()?, secret };
        let pool = Pool::open(&dialer, CONNECTIONS)?;
        pool.run(schema::migrate)?;
        let store = Self { pool: Arc::new(pool), dialer: dialer.clone() };
        store.finish_erasures()?;
        let server = errors::scrub(&server_of(&dialer.config), dialer.secret.as_deref());
        tracing::info!(server = %server, "connected to PostgreSQL");
        Ok(store)
    }

    /// Runs one job on a connection of its own.
    fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, StoreError> {
        Ok(self.pool.run(job)?)
    }

    /// The record JSON in the first column of the row `sql` selects with `key`.
    fn record<K: tokio_postgres::types::ToSql + Sync + Send + 'static>(
        &self,
        sql: &'static str,
        key: K,
    ) -> Result<Option<String>, StoreError> {
        self.run(move |client| {
            let statement = client.prepared(sql)?;
            Ok(client.query_opt(&statement, &[&key])?.map(|row| row.try_get(0)).transpose()?)
        })
    }

    /// A count for the probes; a failure is logged and counts as nothing.
    fn count(&self, sql: &'static str) -> usize {
        match self.run(move |client| {
            let statement = client.prepared(sql)?;
            Ok(client.query_one(&statement, &[])?.try_get::<_, i64>(0)?)
        }) {
            Ok(count) => count.max(0) as usize,
            Err(error) => {
                tracing::warn!(error = %error, "a count failed");
                0
            }
        }
    }
}

/// rustls with the webpki roots (no OpenSSL).
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| StoreError::Database(format!("TLS could not be set up ({error})")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl Storage for PgStore {
    fn transact(
        &self,
        id: LearnerId,
        work: &mut dyn FnMut(&dyn LearnerTx) -> Result<(), TxError>,
    ) -> Result<(), StoreError> {
        tx::transact(&self.pool.checkout()?, id, work)
    }

    fn learner(&self, id: LearnerId) -> Result<Option<Learner>, StoreError> {
        let record = self.record("SELECT record::text FROM learners WHERE id = $1", id.get())?;
        record.map(|text| parse("learners", &text)).transpose()
    }

    fn learners(&self) -> Box<dyn Iterator<Item = Result<Learner, StoreError>> + '_> {
        Box::new(pages::records(
            self,
            "SELECT id, record::text FROM learners WHERE id > $1 ORDER BY id LIMIT $2",
            "learners",
        ))
    }

    fn lead(&self, id: LearnerId) -> Result<Option<Lead>, StoreError> {
        let record = self.record("SELECT record::text FROM leads WHERE id = $1", id.get())?;
        record.map(|text| parse("leads", &text)).transpose()
    }

    fn leads(&self) -> Box<dyn Iterator<Item = Result<Lead, StoreError>> + '_> {
        Box::new(pages::records(self, "SELECT id, record::text FROM leads WHERE id > $1 ORDER BY id LIMIT $2", "leads"))
    }

    fn notes(&self) -> Box<dyn Iterator<Item = Result<Note, StoreError>> + '_> {
        Box::new(pages::notes(self))
    }

    fn cohort_state(&self, cohort: &str) -> Result<CohortState, StoreError> {
        let record = self.record("SELECT record::text FROM cohort_states WHERE cohort = $1", cohort.to_owned())?;
        Ok(record.map(|text| parse("cohort_states", &text)).transpose()?.unwrap_or_default())
    }

    fn put_cohort_state(&self, cohort: &str, state: &CohortState) -> Result<(), StoreError> {
        let (cohort, record) = (cohort.to_owned(), json(state)?);
        self.run(move |client| rows::put_cohort_state(client, &cohort, &record))
    }

    fn tuning(&self, pack: &str) -> Result<Option<PackTuning>, StoreError> {
        let record = self.record("SELECT record::text FROM pack_tuning WHERE pack = $1", pack.to_owned())?;
        record.map(|text| parse("pack_tuning", &text)).transpose()
    }

    fn put_tuning(&self, pack: &str, tuning: &PackTuning) -> Result<(), StoreError> {
        let (pack, tuning, record) = (pack.to_owned(), tuning.clone(), json(tuning)?);
        self.run(move |client| rows::put_tuning(client, &pack, &tuning, &record))
    }

    fn active_lease(&self) -> Box<dyn crate::store::lease::Lease> {
        Box::new(lease::PgLease::new(self.dialer.clone()))
    }

    fn parallelism(&self) -> usize {
        // One planner per connection; more would only queue for a connection.
        CONNECTIONS
    }

    fn n_learners(&self) -> usize {
        self.count("SELECT count(*) FROM learners")
    }

    fn delivery(&self, learner: LearnerId, seq: DeliverySeq) -> Result<Option<Delivery>, StoreError> {
        let (learner, seq) = (learner.get(), seq_sql(seq));
        let record = self.run(move |client| {
            let statement = client.prepared("SELECT record::text FROM deliveries WHERE learner = $1 AND seq = $2")?;
            Ok(client.query_opt(&statement, &[&learner, &seq])?.map(|row| row.try_get::<_, String>(0)).transpose()?)
        })?;
        record.map(|text| parse("deliveries", &text)).transpose()
    }

    fn delivery_to_send(
        &self,
        learner: LearnerId,
        seq: DeliverySeq,
    ) -> Result<Option<(Delivery, Option<Learner>)>, StoreError> {
        let (learner, seq) = (learner.get(), seq_sql(seq));
        let records: Option<(String, Option<String>)> = self.run(move |client| {
            let statement = client.prepared(
                "SELECT d.record::text, l.record::text FROM deliveries d LEFT JOIN learners l ON l.id = d.learner
                 WHERE d.learner = $1 AND d.seq = $2",
            )?;
            let row = client.query_opt(&statement, &[&learner, &seq])?;
            Ok(row.map(|row| Ok::<_, tokio_postgres::Error>((row.try_get(0)?, row.try_get(1)?))).transpose()?)
        })?;
        let Some((delivery, learner)) = records else { return Ok(None) };
        let learner = learner.map(|text| parse("learners", &text)).transpose()?;
        Ok(Some((parse("deliveries", &delivery)?, learner)))
    }

    fn exchanges(&self) -> Box<dyn Iterator<Item = Result<Exchange, StoreError>> + '_> {
        Box::new(pages::exchanges(self, None))
    }

    fn pending(&self) -> Result<Vec<(LearnerId, DeliverySeq)>, StoreError> {
        self.run(|client| {
            let statement = client.prepared("SELECT learner, seq FROM outbox ORDER BY learner, seq")?;
            let rows = client.query(&statement, &[])?;
            rows.iter()
                .map(|row| Ok((LearnerId::new(row.try_get(0)?), seq_of(row.try_get(1)?))))
                .collect::<Result<_, tokio_postgres::Error>>()
                .map_err(Failure::from)
        })
    }

    fn pending_for(&self, id: LearnerId) -> Result<Vec<DeliverySeq>, StoreError> {
        let learner = id.get();
        self.run(move |client| {
            let statement = client.prepared("SELECT seq FROM outbox WHERE learner = $1 ORDER BY seq")?;
            let rows = client.query(&statement, &[&learner])?;
            rows.iter()
                .map(|row| Ok(seq_of(row.try_get(0)?)))
                .collect::<Result<_, tokio_postgres::Error>>()
                .map_err(Failure::from)
        })
    }

    fn n_pending(&self) -> usize {
        self.count("SELECT count(*) FROM outbox")
    }

    fn due_agenda_after(
        &self,
        after: Option<(LearnerId, &NextNudge)>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(LearnerId, NextNudge)>, StoreError> {
        let (after_due, after_learner) = match after {
            Some((id, next)) => (rows::due_of(next.at), id.get()),
            None => (-1, i64::MIN),
        };
        let (now, limit) = (rows::due_of(now), i64::try_from(limit).unwrap_or(i64::MAX));
        let found: Vec<(i64, String)> = self.run(move |client| {
            let statement = client.prepared(
                "SELECT learner, record::text FROM agenda WHERE due <= $1 AND (due, learner) > ($2, $3)
                 ORDER BY due, learner LIMIT $4",
            )?;
            let rows = client.query(&statement, &[&now, &after_due, &after_learner, &limit])?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, tokio_postgres::Error>>()
                .map_err(Failure::from)
        })?;
        found.into_iter().map(|(id, text)| Ok((LearnerId::new(id), parse("agenda", &text)?))).collect()
    }

    fn has_agenda(&self, next: &NextNudge, id: LearnerId) -> bool {
        let (learner, due) = (id.get(), rows::due_of(next.at));
        self.run(move |client| {
            let statement = client.prepared("SELECT EXISTS (SELECT 1 FROM agenda WHERE learner = $1 AND due = $2)")?;
            Ok(client.query_one(&statement, &[&learner, &due])?.try_get::<_, bool>(0)?)
        })
        .unwrap_or(false)
    }

    fn n_agenda(&self) -> usize {
        self.count("SELECT count(*) FROM agenda")
    }

    fn update_offset(&self) -> Result<i64, StoreError> {
        self.run(|client| {
            let row = client.query_opt("SELECT value FROM update_offset", &[])?;
            Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
        })
    }

    fn set_update_offset(&self, offset: i64) -> Result<(), StoreError> {
        self.run(move |client| {
            client.execute(
                "INSERT INTO update_offset (value) VALUES ($1)
                 ON CONFLICT (singleton) DO UPDATE SET value = EXCLUDED.value",
                &[&offset],
            )?;
            Ok(())
        })
    }

    fn claim_update(
        &self,
        id: UpdateId,
        now: DateTime<Utc>,
        expiry: chrono::Duration,
    ) -> Result<UpdateClaim, StoreError> {
        self.claim_update_row(id, now, expiry)
    }

    fn finish_update(&self, id: UpdateId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.finish_update_row(id, now)
    }

    fn release_update(&self, id: UpdateId) -> Result<(), StoreError> {
        self.release_update_row(id)
    }

    fn prune_updates(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.prune_update_rows(before)
    }

    fn report_key(&self) -> Result<Vec<u8>, StoreError> {
        let read = |store: &Self| {
            store.run(|client| {
                Ok(client.query_opt("SELECT key FROM report_key", &[])?.map(|row| row.try_get(0)).transpose()?)
            })
        };
        if let Some(key) = read(self)? {
            return Ok(key);
        }
        let mut key = vec![0u8; 32];
        getrandom::getrandom(&mut key).map_err(|error| StoreError::Randomness(error.to_string()))?;
        // Two processes making one at once keep the first: both read that one back.
        self.run(move |client| {
            client.execute("INSERT INTO report_key (key) VALUES ($1) ON CONFLICT DO NOTHING", &[&key])?;
            Ok(())
        })?;
        read(self)?.ok_or_else(|| StoreError::Database("the report key vanished as it was made".to_owned()))
    }

    fn export(&self, id: LearnerId) -> Result<LearnerExport, StoreError> {
        self.export_learner(id)
    }

    fn erase(&self, id: LearnerId) -> Result<(), StoreError> {
        self.erase_learner(id)
    }

    fn prune(&self, before: DateTime<Utc>) -> Result<Pruned, StoreError> {
        self.prune_before(before)
    }

    fn backup(&self, out: &mut dyn std::io::Write) -> Result<usize, BackupError> {
        self.backup_to(out)
    }

    fn restore(&self, input: &mut dyn std::io::BufRead) -> Result<usize, BackupError> {
        self.restore_from(input)
    }

    fn verify(&self) -> Result<usize, StoreError> {
        self.verify_records()
    }

    /// A committed transaction is durable already (the server's WAL): nothing to do.
    fn flush(&self) -> Flushing<'_> {
        Box::pin(async { Ok(()) })
    }

    fn flush_blocking(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
