//! The only code that touches sled: a fixed set of trees, their key layouts, their values
//! (compact binary records for deliveries and answers, JSON for the rest), and the schema
//! version checked (and migrated) at open.
//!
//! Trees (never one per learner):
//! - `meta`: schema version, Telegram update offset, scheduler cursors;
//! - `learners`: learner id → [`Learner`];
//! - `deliveries`: learner id ‖ seq → [`Exchange`]: a [`Delivery`] (every message sent or to
//!   send) with the [`Answer`]s to it, as one compact record (see `records`);
//! - `slots`: learner id ‖ slot key → seq (at most one nudge per learner and slot);
//! - `outbox`: learner id ‖ seq → nothing, for deliveries still pending;
//! - `agenda`: due time ‖ learner id → [`NextNudge`] (each learner's next scheduled nudge);
//! - `messages`: learner id ‖ Telegram message id → seq (which delivery a reply refers to).
//!
//! Every per-learner key starts with the learner id, so erasing a learner is a prefix scan;
//! the one exception is the agenda, ordered by due time for the scheduler, whose single entry
//! for a learner is the one their record names (`Learner::next_nudge`).
//! Writes that belong together go through [`Store::with_learner`], one sled transaction.

mod backup;
mod counts;
mod keys;
mod migrate;
mod privacy;
mod records;
mod tx;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;

use crate::domain::{Answer, Delivery, DeliverySeq, DeliveryState, Learner, LearnerId, NextNudge, Purpose, Status};
pub use backup::BackupError;
pub use privacy::{LearnerExport, Pruned};
pub use records::Exchange;
pub use tx::{LearnerTx, TxError};

/// sled's page cache: enough for the hot records, small enough for a small VM (sled's own
/// default is 1 GiB). sled counts serialized bytes, so the heap it takes is about twice this
/// (heaptrack: 74 MB of pages at a start with 100,000 learners and 32 MB here). 16 MB kept
/// every speed figure and took the daemon with 100,000 learners from about 100 to 86–90 MB.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// The layout version this build reads and writes. Version 1 kept deliveries and answers as
/// JSON; version 2 keyed the outbox by delivery number alone. Older stores are migrated when
/// opened.
pub const SCHEMA_VERSION: u32 = 3;

const SCHEMA_KEY: &[u8] = b"schema_version";
const OFFSET_KEY: &[u8] = b"update_offset";
const REPORT_KEY: &[u8] = b"report_key";

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
    pub fn is_locked(&self) -> bool {
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

/// Handle to the embedded database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    path: PathBuf,
    meta: sled::Tree,
    learners: sled::Tree,
    deliveries: sled::Tree,
    slots: sled::Tree,
    outbox: sled::Tree,
    agenda: sled::Tree,
    messages: sled::Tree,
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
        Self::from_db(db, path)
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
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Self::from_db(db, Path::new(":memory:"))
    }

    fn from_db(db: sled::Db, path: &Path) -> Result<Self, StoreError> {
        let store = Self {
            meta: db.open_tree("meta")?,
            learners: db.open_tree("learners")?,
            deliveries: db.open_tree("deliveries")?,
            slots: db.open_tree("slots")?,
            outbox: db.open_tree("outbox")?,
            agenda: db.open_tree("agenda")?,
            messages: db.open_tree("messages")?,
            counts: Default::default(),
            barrier: Default::default(),
            path: path.to_owned(),
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
                self.migrate_from_v2()
            }
            Some(2) => self.migrate_from_v2(),
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

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes every write so far durable (sled otherwise loses the last ~500 ms on a crash).
    pub async fn flush(&self) -> Result<(), StoreError> {
        // sled's own `flush_async` can wait for its background flusher indefinitely; a blocking
        // flush on the blocking pool always completes.
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|error| StoreError::Task(format!("the flush stopped before it finished ({error})")))??;
        Ok(())
    }

    /// `flush` for code that is not async.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Runs `work` as one transaction over everything that belongs to learner `id`.
    ///
    /// `work` may run more than once when another writer touched the same keys, so it must be
    /// free of side effects outside the transaction. For a learner being erased `work` does not
    /// run and the result is `T::default()` (nothing to send, nothing changed): the erasure's
    /// mark is read inside the transaction, so a use case that began before the mark is retried
    /// after it and then does nothing either.
    pub fn with_learner<T: Default>(
        &self,
        id: LearnerId,
        work: impl Fn(&LearnerTx<'_>) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        self.transaction(id, |tx| {
            if tx.is_being_erased()? {
                tracing::debug!(learner = id.get(), "the learner is being erased; nothing done");
                return Ok(T::default());
            }
            work(tx)
        })
    }

    /// One transaction over learner `id`'s trees, erasing or not.
    fn transaction<T>(
        &self,
        id: LearnerId,
        work: impl Fn(&LearnerTx<'_>) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let trees = (&self.learners, &self.deliveries, &self.slots, &self.outbox, &self.agenda, &self.messages);
        let _writing = self.writing();
        let (value, delta) = trees
            .transaction(|(learners, deliveries, slots, outbox, agenda, messages)| {
                let tx = LearnerTx::new(id, [learners, deliveries, slots, outbox, agenda, messages]);
                work(&tx).map(|value| (value, tx.delta())).map_err(TxError::into_sled)
            })
            .map_err(TxError::from_sled)?;
        self.counts.apply(delta);
        Ok(value)
    }

    /// Held while learners' records change (shared by every writer).
    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.barrier.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Held while a backup reads the store: every write waits until it is done.
    fn frozen(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.barrier.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The learner with id `id`.
    pub fn learner(&self, id: LearnerId) -> Result<Option<Learner>, StoreError> {
        decode_opt("learners", self.learners.get(keys::learner(id))?)
    }

    /// Every learner, in id order.
    pub fn learners(&self) -> impl Iterator<Item = Result<Learner, StoreError>> + '_ {
        self.learners.iter().map(|entry| decode("learners", &entry?.1))
    }

    /// Number of learners (a running count: cheap).
    pub fn n_learners(&self) -> usize {
        self.counts.learners()
    }

    /// Delivery `seq` of learner `learner`.
    pub fn delivery(&self, learner: LearnerId, seq: DeliverySeq) -> Result<Option<Delivery>, StoreError> {
        Ok(self.stored_exchange(&keys::delivery(learner, seq))?.and_then(|exchange| exchange.delivery))
    }

    /// The exchange stored under a `deliveries` key, if any.
    fn stored_exchange(&self, key: &[u8]) -> Result<Option<Exchange>, StoreError> {
        self.deliveries.get(key)?.map(|bytes| records::decode_exchange(key, &bytes)).transpose()
    }

    /// Every delivery with its answers, grouped by learner, in delivery order: one pass over
    /// the store for reports.
    pub fn exchanges(&self) -> impl Iterator<Item = Result<Exchange, StoreError>> + '_ {
        self.deliveries.iter().map(|entry| {
            let (key, value) = entry?;
            records::decode_exchange(&key, &value)
        })
    }

    /// Every delivery, grouped by learner.
    pub fn deliveries(&self) -> impl Iterator<Item = Result<Delivery, StoreError>> + '_ {
        self.exchanges().filter_map(|exchange| exchange.map(|exchange| exchange.delivery).transpose())
    }

    /// Every answer, grouped by learner.
    pub fn answers(&self) -> impl Iterator<Item = Result<Answer, StoreError>> + '_ {
        self.exchanges().flat_map(|exchange| match exchange {
            Ok(exchange) => exchange.answers.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(error) => vec![Err(error)],
        })
    }

    /// Deliveries still waiting to be sent, by learner, each learner's oldest first.
    pub fn pending(&self) -> Result<Vec<(LearnerId, DeliverySeq)>, StoreError> {
        self.outbox.iter().keys().map(|key| keys::read_outbox(&key?)).collect()
    }

    /// Learner `id`'s deliveries still waiting to be sent, oldest first.
    pub fn pending_for(&self, id: LearnerId) -> Result<Vec<DeliverySeq>, StoreError> {
        self.outbox.scan_prefix(keys::learner(id)).keys().map(|key| Ok(keys::read_outbox(&key?)?.1)).collect()
    }

    /// Number of deliveries waiting to be sent (a running count: cheap).
    pub fn n_pending(&self) -> usize {
        self.counts.pending()
    }

    /// Records that Telegram accepted delivery `seq` as message `message_id`.
    pub fn mark_sent(
        &self,
        learner: LearnerId,
        seq: DeliverySeq,
        message_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.finish_delivery(learner, seq, DeliveryState::Sent { message_id, at })
    }

    /// Records that delivery `seq` was given up on. A spaced review that never reached the
    /// learner is opened again in the same transaction: an unanswered review is not re-sent
    /// while it is out, so one that is not out must not count as out.
    pub fn mark_failed(
        &self,
        learner: LearnerId,
        seq: DeliverySeq,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let state = DeliveryState::Failed { reason: reason.to_owned(), at };
        self.with_learner(learner, |tx| {
            let review = tx.delivery(seq)?.and_then(|delivery| match delivery.purpose {
                Purpose::Quiz { item, review: true, .. } => Some(item),
                _ => None,
            });
            tx.finish_delivery(seq, state.clone())?;
            let Some(item) = review else { return Ok(()) };
            if let Some(mut record) = tx.learner()?
                && let Some(memory) = record.progress.memory.get_mut(&item)
                && memory.asked.take().is_some()
            {
                tx.put_learner(&record)?;
            }
            Ok(())
        })
    }

    fn finish_delivery(&self, learner: LearnerId, seq: DeliverySeq, state: DeliveryState) -> Result<(), StoreError> {
        self.with_learner(learner, |tx| {
            tx.finish_delivery(seq, state.clone())?;
            Ok(())
        })
    }

    /// Marks the learner inactive (Telegram refuses their chat) and fails what is pending for
    /// them, in one transaction. Returns the deliveries failed.
    pub fn deactivate(
        &self,
        learner: LearnerId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<DeliverySeq>, StoreError> {
        let pending = self.pending_for(learner)?;
        self.with_learner(learner, |tx| {
            if let Some(mut record) = tx.learner()? {
                record.status = Status::Inactive { reason: reason.to_owned(), since: at };
                tx.set_agenda(record.next_nudge.as_ref(), None)?;
                record.next_nudge = None;
                tx.put_learner(&record)?;
            }
            for &seq in &pending {
                let state = DeliveryState::Failed { reason: reason.to_owned(), at };
                tx.finish_delivery(seq, state)?;
            }
            Ok(pending.clone())
        })
    }

    /// Agenda entries due at or before `now`, earliest first, at most `limit`.
    pub fn due_agenda(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<(LearnerId, NextNudge)>, StoreError> {
        self.due_agenda_after(None, now, limit)
    }

    /// [`Store::due_agenda`] past the entry `after` (the last of the previous page), so a scan
    /// of the due entries can step over ones it leaves in place.
    pub fn due_agenda_after(
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

    /// When the earliest agenda entry is due.
    pub fn first_agenda(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.agenda.first()? {
            Some((_, value)) => Ok(Some(decode::<NextNudge>("agenda", &value)?.at)),
            None => Ok(None),
        }
    }

    /// True when the agenda holds `next` for learner `id`.
    pub fn has_agenda(&self, next: &NextNudge, id: LearnerId) -> bool {
        self.agenda.contains_key(keys::agenda(next.at, id)).unwrap_or(false)
    }

    /// Number of learners with a nudge scheduled (a running count: cheap).
    pub fn n_agenda(&self) -> usize {
        self.counts.agenda()
    }

    /// The Telegram update offset to ask for next.
    pub fn update_offset(&self) -> Result<i64, StoreError> {
        Ok(self.get_meta::<i64>(OFFSET_KEY)?.unwrap_or(0))
    }

    /// Records the next update offset (durable with the next flush).
    pub fn set_update_offset(&self, offset: i64) -> Result<(), StoreError> {
        self.set_meta(OFFSET_KEY, &offset)
    }

    /// The last instant the scheduler finished for `cohort`.
    pub fn cursor(&self, cohort: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.get_meta(&keys::cursor(cohort))
    }

    /// Records that the scheduler finished `cohort` up to `at`.
    pub fn set_cursor(&self, cohort: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_meta(&keys::cursor(cohort), &at)
    }

    /// The secret key of report pseudonyms: made from the OS's randomness on first use and kept,
    /// so a learner's pseudonym is the same in every report and nobody can compute it without
    /// the store.
    pub fn report_key(&self) -> Result<Vec<u8>, StoreError> {
        if let Some(key) = self.get_meta::<Vec<u8>>(REPORT_KEY)? {
            return Ok(key);
        }
        let mut key = vec![0u8; 32];
        getrandom::getrandom(&mut key).map_err(|error| StoreError::Randomness(error.to_string()))?;
        self.set_meta(REPORT_KEY, &key)?;
        Ok(key)
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
        for (_, tree) in self.trees() {
            for entry in tree.iter() {
                let (key, value) = entry?;
                total += (key.len() + value.len()) as u64;
            }
        }
        Ok(total)
    }

    /// Bytes on disk, for figures.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
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
