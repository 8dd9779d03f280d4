//! The records: the interface every store engine implements ([`Storage`], [`LearnerTx`], in
//! `storage.rs`, with the tests every engine must pass in `contract.rs`), and the sled engine,
//! the only code that touches sled: a fixed set of trees, their key layouts, their values
//! (compact binary records for deliveries and answers, JSON for the rest), and the schema
//! version checked (and migrated) at open.
//!
//! Trees (never one per learner):
//! - `meta`: schema version, Telegram update offset, scheduler cursors, the report key, and
//!   each pack's fitted FSRS weights (`tuning:` ‖ pack id → [`PackTuning`]);
//! - `learners`: learner id → [`Learner`];
//! - `deliveries`: learner id ‖ seq → [`Exchange`]: a [`Delivery`] (every message sent or to
//!   send) with the [`Answer`]s to it, as one compact record (see `records`);
//! - `slots`: learner id ‖ slot key → seq (at most one nudge per learner and slot);
//! - `outbox`: learner id ‖ seq → nothing, for deliveries still pending;
//! - `agenda`: due time ‖ learner id → [`NextNudge`] (each learner's next scheduled nudge);
//! - `messages`: learner id ‖ Telegram message id → seq (which delivery a reply refers to);
//! - `webhook_updates`: Telegram update id → when it was claimed and whether it was handled
//!   (see `updates`): no learner's data, so outside backups, exports and erasure.
//!
//! Every per-learner key starts with the learner id, so erasing a learner is a prefix scan;
//! the one exception is the agenda, ordered by due time for the scheduler, whose single entry
//! for a learner is the one their record names (`Learner::next_nudge`).
//! Writes that belong together go through [`StorageExt::with_learner`], one sled transaction.

mod backup;
#[cfg(test)]
pub(crate) mod contract;
mod counts;
mod keys;
pub mod lease;
mod migrate;
pub mod open;
#[cfg(feature = "postgres")]
pub mod pg;
mod privacy;
mod records;
mod storage;
mod tx;
mod updates;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;

use crate::domain::{
    CohortState, Delivery, DeliverySeq, Lead, Learner, LearnerId, NextNudge, Note, PackTuning, UpdateId,
};
pub(crate) use backup::BackupError;
#[cfg(feature = "postgres")]
pub use pg::PgStore;
pub(crate) use privacy::{LearnerExport, Pruned};
pub(crate) use records::Exchange;
pub use storage::{Flushing, LearnerTx, Storage, StorageExt, TxError, UpdateClaim};

/// sled's page cache: enough for the hot records, small enough for a small VM (sled's own
/// default is 1 GiB). sled counts serialized bytes, so the heap it takes is about twice this
/// (heaptrack: 74 MB of pages at a start with 100,000 learners and 32 MB here). 16 MB kept
/// every speed figure and took the daemon with 100,000 learners from about 100 to 86–90 MB.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// The layout version this build reads and writes. Version 1 kept deliveries and answers as
/// JSON; version 2 keyed the outbox by delivery number alone; version 3 had no rated quiz
/// answers (a record an older build cannot read, so it must refuse the store rather than call
/// it damaged); version 4's memory states were FSRS-5's (`rs-fsrs`), version 5's are FSRS-6's,
/// with each pack's fitted weights in `meta`. Older stores are migrated when opened; a build
/// older than the store refuses it.
pub(crate) const SCHEMA_VERSION: u32 = 5;

const SCHEMA_KEY: &[u8] = b"schema_version";
const OFFSET_KEY: &[u8] = b"update_offset";
const REPORT_KEY: &[u8] = b"report_key";
/// Prefix of the meta keys of packs' fitted FSRS weights.
const TUNING_PREFIX: &str = "tuning:";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled itself failed: I/O error or corruption it detected.
    #[error("the store failed: {0}")]
    Sled(sled::Error),
    /// A record could not be decoded: the store was damaged or written by another program.
    #[error("the store holds a record in `{tree}` that cannot be read ({reason}); restore a backup")]
    Corrupt {
        /// The tree holding the record.
        tree: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A blocking task of the store (a flush) stopped before it finished: the process is
    /// shutting down or the task panicked. The store itself is not damaged.
    #[error("a store task did not finish: {0}")]
    Task(String),
    /// The operating system gave no randomness for the report pseudonyms' key.
    #[error("the operating system gave no random bytes for the report key: {0}")]
    Randomness(String),
    /// A record could not be written as bytes (a bug in nudge, not a damaged store): nothing
    /// of it was stored.
    #[error("a record could not be encoded for the store: {0}")]
    Encode(String),
    /// Another process (or another handle in this one) has the store open.
    #[error("the store is in use by another process")]
    Locked,
    /// PostgreSQL failed or refused a statement, or cannot be reached (the sentence names the
    /// server, never the password).
    #[error("{0}")]
    Database(String),
    /// The PostgreSQL database was migrated by a newer nudge than this one.
    #[error(
        "the PostgreSQL database has schema version {found}, but this nudge knows versions up to {known}: run the newer nudge that migrated it, or restore a backup into an empty database"
    )]
    DatabaseSchema {
        /// Version in the database.
        found: u32,
        /// Newest version this build knows.
        known: u32,
    },
    /// The store was written by an incompatible version of nudge.
    #[error("the store has schema version {found}, but this nudge reads version {expected}")]
    Schema {
        /// Version in the store.
        found: u32,
        /// Version this build expects.
        expected: u32,
    },
}

// By hand rather than `#[from]`: the message already holds sled's, so it is not also a source
// (which would print it twice in an error chain).
impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        Self::Sled(error)
    }
}

impl StoreError {
    /// True when another process (or another handle in this one) holds the store.
    pub(crate) fn is_locked(&self) -> bool {
        matches!(self, Self::Locked)
    }
}

/// True when another handle holds sled's lock on the store at `path`: sled takes an exclusive
/// `flock` on its `db` file, and reports a held lock only as text, so it is tried here first.
fn held_elsewhere(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path.join("db")) else { return false };
    match fs2::FileExt::try_lock_exclusive(&file) {
        Ok(()) => {
            let _ = fs2::FileExt::unlock(&file);
            false
        }
        Err(error) => error.kind() == std::io::ErrorKind::WouldBlock || error.raw_os_error() == Some(11),
    }
}

/// The sled engine: a handle to the embedded database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    learners: sled::Tree,
    deliveries: sled::Tree,
    slots: sled::Tree,
    outbox: sled::Tree,
    agenda: sled::Tree,
    messages: sled::Tree,
    leads: sled::Tree,
    notes: sled::Tree,
    cohorts: sled::Tree,
    /// Webhook updates claimed and handled: not one of [`Store::trees`], which backups and
    /// restores go by.
    updates: sled::Tree,
    /// Drawn at each opening: marks the webhook claims this process makes, so a claim left by
    /// an earlier run (a crash) is taken over at once.
    incarnation: u64,
    counts: std::sync::Arc<counts::Counts>,
    /// Writes hold it shared, a backup holds it alone: a backup is a snapshot of one moment.
    barrier: std::sync::Arc<std::sync::RwLock<()>>,
}

impl Store {
    /// Opens (or creates) the store at `path` and checks its schema version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if held_elsewhere(path) {
            return Err(StoreError::Locked);
        }
        let db = sled::Config::new().path(path).cache_capacity(CACHE_BYTES).open()?;
        Self::from_db(db)
    }

    /// Opens the store like [`Store::open`], but waits up to two seconds while it is locked: a
    /// store dropped a moment ago (a restart in the same process, tests) keeps sled's lock until
    /// its background flusher lets go. A store another process holds is reported after that.
    pub fn open_when_free(path: &Path) -> Result<Self, StoreError> {
        for _ in 0..40 {
            match Self::open(path) {
                Err(error) if error.is_locked() => std::thread::sleep(std::time::Duration::from_millis(50)),
                other => return other,
            }
        }
        Self::open(path)
    }

    /// A throw-away store in memory (tests, `nudge try`).
    pub(crate) fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Self::from_db(db)
    }

    fn from_db(db: sled::Db) -> Result<Self, StoreError> {
        let store = Self {
            meta: db.open_tree("meta")?,
            learners: db.open_tree("learners")?,
            deliveries: db.open_tree("deliveries")?,
            slots: db.open_tree("slots")?,
            outbox: db.open_tree("outbox")?,
            agenda: db.open_tree("agenda")?,
            messages: db.open_tree("messages")?,
            leads: db.open_tree("leads")?,
            notes: db.open_tree("notes")?,
            cohorts: db.open_tree("cohorts")?,
            updates: db.open_tree(updates::TREE)?,
            incarnation: fastrand::u64(..),
            counts: Default::default(),
            barrier: Default::default(),
            db,
        };
        store.check_schema()?;
        store.recount();
        store.finish_erasures()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.get_meta::<u32>(SCHEMA_KEY)? {
            Some(found) if found == SCHEMA_VERSION => Ok(()),
            Some(1) => {
                self.migrate_from_v1()?;
                self.migrate_from_v2()?;
                self.migrate_from_v3()?;
                self.migrate_from_v4()
            }
            Some(2) => {
                self.migrate_from_v2()?;
                self.migrate_from_v3()?;
                self.migrate_from_v4()
            }
            Some(3) => {
                self.migrate_from_v3()?;
                self.migrate_from_v4()
            }
            Some(4) => self.migrate_from_v4(),
            Some(found) => Err(StoreError::Schema { found, expected: SCHEMA_VERSION }),
            None if self.learners.is_empty() && self.deliveries.is_empty() => {
                self.set_meta(SCHEMA_KEY, &SCHEMA_VERSION)?;
                Ok(())
            }
            None => Err(StoreError::Corrupt { tree: "meta", reason: "records without a schema version".to_owned() }),
        }
    }

    /// Counts the counted trees afresh (at open, after a restore): the one time `len()` runs.
    fn recount(&self) {
        self.counts.set(self.learners.len(), self.outbox.len(), self.agenda.len());
    }

    /// Held while learners' records change (shared by every writer).
    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.barrier.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Held while a backup reads the store: every write waits until it is done.
    fn frozen(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.barrier.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The exchange stored under a `deliveries` key, if any.
    fn stored_exchange(&self, key: &[u8]) -> Result<Option<Exchange>, StoreError> {
        self.deliveries.get(key)?.map(|bytes| records::decode_exchange(key, &bytes)).transpose()
    }

    fn get_meta<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        decode_opt("meta", self.meta.get(key)?)
    }

    fn set_meta<T: Serialize>(&self, key: &[u8], value: &T) -> Result<(), StoreError> {
        self.meta.insert(key, encode(value)?)?;
        Ok(())
    }

    /// Changes the exchange under `key` outside a learner transaction (restores, migrations).
    fn change_exchange(&self, key: &[u8], change: impl FnOnce(&mut Exchange)) -> Result<(), StoreError> {
        let mut exchange = self.stored_exchange(key)?.unwrap_or_default();
        change(&mut exchange);
        self.deliveries.insert(key, records::encode_exchange(&exchange)?)?;
        Ok(())
    }

    /// Bytes of every key and value, for figures (what the files would hold without sled's
    /// log overhead and garbage).
    pub fn live_bytes(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for tree in self.trees().map(|(_, tree)| tree).into_iter().chain([&self.updates]) {
            for entry in tree.iter() {
                let (key, value) = entry?;
                total += (key.len() + value.len()) as u64;
            }
        }
        Ok(total)
    }
}

impl Storage for Store {
    fn transact(
        &self,
        id: LearnerId,
        work: &mut dyn FnMut(&dyn LearnerTx) -> Result<(), TxError>,
    ) -> Result<(), StoreError> {
        let trees = (
            &self.learners,
            &self.deliveries,
            &self.slots,
            &self.outbox,
            &self.agenda,
            &self.messages,
            &self.leads,
            &self.notes,
        );
        let _writing = self.writing();
        // sled reruns its closure on a conflict, one attempt after the other, on this thread.
        let work = std::cell::RefCell::new(work);
        let delta = trees
            .transaction(|(learners, deliveries, slots, outbox, agenda, messages, leads, notes)| {
                let tx = tx::SledTx::new(id, [learners, deliveries, slots, outbox, agenda, messages, leads, notes]);
                let mut work = work.borrow_mut();
                (*work)(&tx).map(|()| tx.delta()).map_err(tx::into_sled)
            })
            .map_err(tx::from_sled)?;
        self.counts.apply(delta);
        Ok(())
    }

    fn learner(&self, id: LearnerId) -> Result<Option<Learner>, StoreError> {
        decode_opt("learners", self.learners.get(keys::learner(id))?)
    }

    fn learners(&self) -> Box<dyn Iterator<Item = Result<Learner, StoreError>> + '_> {
        Box::new(self.learners.iter().map(|entry| decode("learners", &entry?.1)))
    }

    fn lead(&self, id: LearnerId) -> Result<Option<Lead>, StoreError> {
        decode_opt("leads", self.leads.get(keys::lead(id))?)
    }

    fn leads(&self) -> Box<dyn Iterator<Item = Result<Lead, StoreError>> + '_> {
        Box::new(self.leads.iter().map(|entry| decode("leads", &entry?.1)))
    }

    fn notes(&self) -> Box<dyn Iterator<Item = Result<Note, StoreError>> + '_> {
        Box::new(self.notes.iter().map(|entry| decode("notes", &entry?.1)))
    }

    fn cohort_state(&self, cohort: &str) -> Result<CohortState, StoreError> {
        Ok(decode_opt("cohorts", self.cohorts.get(keys::cohort(cohort))?)?.unwrap_or_default())
    }

    fn put_cohort_state(&self, cohort: &str, state: &CohortState) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.cohorts.insert(keys::cohort(cohort), encode(state)?)?;
        Ok(())
    }

    fn tuning(&self, pack: &str) -> Result<Option<PackTuning>, StoreError> {
        self.get_meta(format!("{TUNING_PREFIX}{pack}").as_bytes())
    }

    fn put_tuning(&self, pack: &str, tuning: &PackTuning) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.set_meta(format!("{TUNING_PREFIX}{pack}").as_bytes(), tuning)
    }

    fn n_learners(&self) -> usize {
        self.counts.learners()
    }

    fn delivery(&self, learner: LearnerId, seq: DeliverySeq) -> Result<Option<Delivery>, StoreError> {
        Ok(self.stored_exchange(&keys::delivery(learner, seq))?.and_then(|exchange| exchange.delivery))
    }

    fn exchanges(&self) -> Box<dyn Iterator<Item = Result<Exchange, StoreError>> + '_> {
        Box::new(self.deliveries.iter().map(|entry| {
            let (key, value) = entry?;
            records::decode_exchange(&key, &value)
        }))
    }

    fn pending(&self) -> Result<Vec<(LearnerId, DeliverySeq)>, StoreError> {
        self.outbox.iter().keys().map(|key| keys::read_outbox(&key?)).collect()
    }

    fn pending_for(&self, id: LearnerId) -> Result<Vec<DeliverySeq>, StoreError> {
        self.outbox.scan_prefix(keys::learner(id)).keys().map(|key| Ok(keys::read_outbox(&key?)?.1)).collect()
    }

    fn n_pending(&self) -> usize {
        self.counts.pending()
    }

    fn due_agenda_after(
        &self,
        after: Option<(LearnerId, &NextNudge)>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(LearnerId, NextNudge)>, StoreError> {
        use std::ops::Bound;
        let mut upper = [0xFF; 16];
        upper[..8].copy_from_slice(&keys::agenda_time(now));
        let lower = match after {
            Some((id, next)) => Bound::Excluded(keys::agenda(next.at, id)),
            None => Bound::Unbounded,
        };
        let mut due = Vec::new();
        for entry in self.agenda.range((lower, Bound::Included(upper))).take(limit) {
            let (key, value) = entry?;
            due.push((keys::read_learner(key.get(8..).unwrap_or_default(), "agenda")?, decode("agenda", &value)?));
        }
        Ok(due)
    }

    fn has_agenda(&self, next: &NextNudge, id: LearnerId) -> bool {
        self.agenda.contains_key(keys::agenda(next.at, id)).unwrap_or(false)
    }

    fn n_agenda(&self) -> usize {
        self.counts.agenda()
    }

    fn update_offset(&self) -> Result<i64, StoreError> {
        Ok(self.get_meta::<i64>(OFFSET_KEY)?.unwrap_or(0))
    }

    fn set_update_offset(&self, offset: i64) -> Result<(), StoreError> {
        self.set_meta(OFFSET_KEY, &offset)
    }

    fn claim_update(
        &self,
        id: UpdateId,
        now: DateTime<Utc>,
        expiry: chrono::Duration,
    ) -> Result<UpdateClaim, StoreError> {
        self.claim_update_record(id, now, expiry)
    }

    fn finish_update(&self, id: UpdateId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.finish_update_record(id, now)
    }

    fn release_update(&self, id: UpdateId) -> Result<(), StoreError> {
        self.release_update_record(id)
    }

    fn prune_updates(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.prune_update_records(before)
    }

    fn report_key(&self) -> Result<Vec<u8>, StoreError> {
        if let Some(key) = self.get_meta::<Vec<u8>>(REPORT_KEY)? {
            return Ok(key);
        }
        let mut key = vec![0u8; 32];
        getrandom::getrandom(&mut key).map_err(|error| StoreError::Randomness(error.to_string()))?;
        self.set_meta(REPORT_KEY, &key)?;
        Ok(key)
    }

    fn export(&self, id: LearnerId) -> Result<LearnerExport, StoreError> {
        self.export_learner(id)
    }

    fn erase(&self, id: LearnerId) -> Result<(), StoreError> {
        self.erase_with(id, || {})
    }

    fn prune(&self, before: DateTime<Utc>) -> Result<Pruned, StoreError> {
        self.prune_with(before, |_, _| {})
    }

    fn backup(&self, out: &mut dyn std::io::Write) -> Result<usize, BackupError> {
        self.backup_with(out, |_| {})
    }

    fn restore(&self, input: &mut dyn std::io::BufRead) -> Result<usize, BackupError> {
        self.restore_from(input)
    }

    fn verify(&self) -> Result<usize, StoreError> {
        self.verify_records()
    }

    /// sled otherwise loses the last ~500 ms of writes on a crash.
    fn flush(&self) -> Flushing<'_> {
        // sled's own `flush_async` can wait for its background flusher indefinitely; a blocking
        // flush on the blocking pool always completes.
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || db.flush())
                .await
                .map_err(|error| StoreError::Task(format!("the flush stopped before it finished ({error})")))??;
            Ok(())
        })
    }

    fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|error| StoreError::Encode(error.to_string()))
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt { tree, reason: error.to_string() })
}

fn decode_opt<T: DeserializeOwned>(tree: &'static str, bytes: Option<sled::IVec>) -> Result<Option<T>, StoreError> {
    bytes.map(|bytes| decode(tree, &bytes)).transpose()
}

/// Test hook: writes `bytes` as learner `id`'s record, so tests can make one that fails to
/// decode (what a damaged store or a bug in a migration leaves behind).
#[cfg(test)]
impl Store {
    pub(crate) fn put_raw_learner(&self, id: LearnerId, bytes: &[u8]) -> Result<(), StoreError> {
        self.learners.insert(keys::learner(id), bytes)?;
        self.recount();
        Ok(())
    }
}

#[cfg(test)]
mod pinned;
#[cfg(test)]
mod tests;
