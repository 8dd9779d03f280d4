//! What every store engine provides: the per-learner transaction ([`LearnerTx`]) and the store
//! around it ([`Storage`]). The service, the app, the control socket, reports and the Telegram
//! edge reach the records only through these traits; sled is one engine (`Store`), and
//! `contract.rs` holds the tests every engine must pass. Also what a webhook needs to handle
//! each Telegram update once ([`UpdateClaim`]). Knows nothing of sled.

use std::future::Future;
use std::io::{BufRead, Write};
use std::pin::Pin;

use chrono::{DateTime, Utc};

use super::{BackupError, Exchange, LearnerExport, Pruned, StoreError};
use crate::domain::{
    Answer, CohortState, Delivery, DeliverySeq, DeliveryState, Lead, Learner, LearnerId, NextNudge, Note, PackTuning,
    Status, UpdateId,
};

/// Why a step of a learner transaction failed; pass it on with `?`.
#[derive(Debug)]
pub enum TxError {
    /// Another writer changed the same records meanwhile: the engine rolls this attempt back
    /// and runs the work again.
    Conflict,
    /// The work failed: the engine rolls back and returns the error.
    Abort(StoreError),
}

impl From<StoreError> for TxError {
    fn from(error: StoreError) -> Self {
        Self::Abort(error)
    }
}

/// The reads and writes of one learner's transaction: what a use case needs of the records,
/// all of one learner (the agenda entry included), seen and changed at one moment.
pub trait LearnerTx {
    /// The learner this transaction is about.
    fn learner_id(&self) -> LearnerId;

    /// The learner record, if enrolled.
    fn learner(&self) -> Result<Option<Learner>, TxError>;

    /// The lead record, if this person is a team lead (then they have no learner record).
    fn lead(&self) -> Result<Option<Lead>, TxError>;

    /// Writes the lead record.
    fn put_lead(&self, lead: &Lead) -> Result<(), TxError>;

    /// Removes the lead record (the person is no lead any more).
    fn remove_lead(&self) -> Result<(), TxError>;

    /// The note (idea or team answer) that belongs to delivery `seq`.
    fn note(&self, seq: DeliverySeq) -> Result<Option<Note>, TxError>;

    /// Writes a note, keyed by its delivery.
    fn put_note(&self, note: &Note) -> Result<(), TxError>;

    /// Removes the note of delivery `seq` (retention).
    fn remove_note(&self, seq: DeliverySeq) -> Result<(), TxError>;

    /// True when the learner is marked for erasure: no use case may write for them.
    fn is_being_erased(&self) -> Result<bool, TxError> {
        Ok(self.learner()?.is_some_and(|learner| matches!(learner.status, Status::Erasing { .. })))
    }

    /// Writes the learner record.
    fn put_learner(&self, learner: &Learner) -> Result<(), TxError>;

    /// Claims slot `slot_key` of `cohort` for this learner at `now`; false if it was claimed
    /// before (a slot is sent at most once). The claim time lets retention delete old claims.
    fn claim_slot(&self, cohort: &str, slot_key: &str, now: DateTime<Utc>) -> Result<bool, TxError>;

    /// A fresh delivery number, above every number given before (numbers may be skipped).
    fn next_seq(&self) -> Result<DeliverySeq, TxError>;

    /// Delivery `seq` of this learner.
    fn delivery(&self, seq: DeliverySeq) -> Result<Option<Delivery>, TxError>;

    /// Writes a delivery (keeping the answers to it); a pending one is put in the outbox.
    fn put_delivery(&self, delivery: &Delivery) -> Result<(), TxError>;

    /// Moves a delivery out of the outbox into `state`, dropping its payload once sent and
    /// remembering which delivery the Telegram message is.
    fn finish_delivery(&self, seq: DeliverySeq, state: DeliveryState) -> Result<(), TxError>;

    /// The answer recorded for `part` of delivery `seq`, if any.
    fn answer(&self, seq: DeliverySeq, part: u32) -> Result<Option<Answer>, TxError>;

    /// Records an answer with its delivery (replacing an earlier answer to the same part).
    fn put_answer(&self, answer: &Answer) -> Result<(), TxError>;

    /// Drops the answers to delivery `seq` from before `before`, and the delivery itself if it
    /// finished before then (with the message id that pointed at it). Returns the answers
    /// dropped and whether the delivery went.
    fn prune_exchange(&self, seq: DeliverySeq, before: DateTime<Utc>) -> Result<(usize, bool), TxError>;

    /// The delivery that became Telegram message `message_id` in this learner's chat.
    fn delivery_of_message(&self, message_id: i64) -> Result<Option<DeliverySeq>, TxError>;

    /// Moves the learner's agenda entry from `old` to `new` (either may be absent).
    fn set_agenda(&self, old: Option<&NextNudge>, new: Option<&NextNudge>) -> Result<(), TxError>;
}

/// What the store says of a webhook update when asked to claim it ([`Storage::claim_update`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateClaim {
    /// Nobody handled it, or the claim of whoever started has expired or was left by a claimer
    /// that is gone (a closed store, an ended database session): the caller handles it now.
    Taken,
    /// It was handled before: answer Telegram 200 and do nothing.
    Done,
    /// Another caller that is still there claimed it less than `expiry` ago and may still be at
    /// it: answer 503 so Telegram retries later.
    Busy,
}

/// A flush under way (see [`Storage::flush`]).
pub type Flushing<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// Every record nudge keeps, behind one interface so that a second engine can serve them.
///
/// Reads outside a transaction see committed data; iterators go learner by learner, each
/// learner's deliveries in delivery order.
pub trait Storage: Send + Sync {
    /// Runs `work` as one transaction over everything of learner `id`, erasing or not; use
    /// [`StorageExt::with_learner`], which leaves a learner being erased alone.
    ///
    /// `work` may run more than once (on [`TxError::Conflict`]); only the last attempt's writes
    /// are kept, so it must have no effects outside the transaction.
    fn transact(
        &self,
        id: LearnerId,
        work: &mut dyn FnMut(&dyn LearnerTx) -> Result<(), TxError>,
    ) -> Result<(), StoreError>;

    /// The learner with id `id`.
    fn learner(&self, id: LearnerId) -> Result<Option<Learner>, StoreError>;

    /// Every learner, in id order.
    fn learners(&self) -> Box<dyn Iterator<Item = Result<Learner, StoreError>> + '_>;

    /// The lead with id `id`.
    fn lead(&self, id: LearnerId) -> Result<Option<Lead>, StoreError>;

    /// Every lead, in id order.
    fn leads(&self) -> Box<dyn Iterator<Item = Result<Lead, StoreError>> + '_>;

    /// Every note (ideas and team answers), grouped by learner: read weekly for the digests.
    fn notes(&self) -> Box<dyn Iterator<Item = Result<Note, StoreError>> + '_>;

    /// What the team loop remembers about `cohort` (the default for a cohort never seen).
    fn cohort_state(&self, cohort: &str) -> Result<CohortState, StoreError>;

    /// Replaces what the team loop remembers about `cohort`. Only the scheduler's cohort task
    /// writes it, one cohort at a time.
    fn put_cohort_state(&self, cohort: &str, state: &CohortState) -> Result<(), StoreError>;

    /// What fitting FSRS to pack `pack`'s answers left (its weights, when to fit again), if a
    /// fit ever ran. Read at every quiz answer: cheap.
    fn tuning(&self, pack: &str) -> Result<Option<PackTuning>, StoreError>;

    /// Replaces what fitting left for pack `pack`. Only the fit (`nudge tune`, the daemon's
    /// daily check) writes it; backups carry it, since the answers it came from may be gone.
    fn put_tuning(&self, pack: &str, tuning: &PackTuning) -> Result<(), StoreError>;

    /// How many learner transactions are worth running at once: 1 for an engine that spends
    /// its time computing (sled), more for one that spends it waiting on a server. The
    /// scheduler plans a slot's learners on this many threads.
    fn parallelism(&self) -> usize {
        1
    }

    /// The lease of the one instance that acts when several share the store; an engine only
    /// one process can open keeps the default, which is always held.
    fn active_lease(&self) -> Box<dyn super::lease::Lease> {
        Box::new(super::lease::SoleProcess)
    }

    /// Number of learners (cheap: the probes ask for it).
    fn n_learners(&self) -> usize;

    /// Delivery `seq` of learner `learner`.
    fn delivery(&self, learner: LearnerId, seq: DeliverySeq) -> Result<Option<Delivery>, StoreError>;

    /// Delivery `seq` of learner `learner` and the learner's record, for sending it; the
    /// delivery `None` when there is none (the learner is then not read). An engine with a
    /// server reads both in one round trip.
    fn delivery_to_send(
        &self,
        learner: LearnerId,
        seq: DeliverySeq,
    ) -> Result<Option<(Delivery, Option<Learner>)>, StoreError> {
        let Some(delivery) = self.delivery(learner, seq)? else { return Ok(None) };
        Ok(Some((delivery, self.learner(learner)?)))
    }

    /// Every delivery with its answers, grouped by learner, in delivery order: one pass over
    /// the store for reports.
    fn exchanges(&self) -> Box<dyn Iterator<Item = Result<Exchange, StoreError>> + '_>;

    /// Every delivery, grouped by learner.
    fn deliveries(&self) -> Box<dyn Iterator<Item = Result<Delivery, StoreError>> + '_> {
        Box::new(self.exchanges().filter_map(|exchange| exchange.map(|exchange| exchange.delivery).transpose()))
    }

    /// Every answer, grouped by learner.
    fn answers(&self) -> Box<dyn Iterator<Item = Result<Answer, StoreError>> + '_> {
        Box::new(self.exchanges().flat_map(|exchange| match exchange {
            Ok(exchange) => exchange.answers.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(error) => vec![Err(error)],
        }))
    }

    /// Deliveries still waiting to be sent, by learner, each learner's oldest first.
    fn pending(&self) -> Result<Vec<(LearnerId, DeliverySeq)>, StoreError>;

    /// Learner `id`'s deliveries still waiting to be sent, oldest first.
    fn pending_for(&self, id: LearnerId) -> Result<Vec<DeliverySeq>, StoreError>;

    /// Number of deliveries waiting to be sent (cheap).
    fn n_pending(&self) -> usize;

    /// Agenda entries due at or before `now` (to the second), earliest first, at most `limit`,
    /// past the entry `after` (the last of the previous page) when given.
    fn due_agenda_after(
        &self,
        after: Option<(LearnerId, &NextNudge)>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(LearnerId, NextNudge)>, StoreError>;

    /// Agenda entries due at or before `now`, earliest first, at most `limit`.
    fn due_agenda(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<(LearnerId, NextNudge)>, StoreError> {
        self.due_agenda_after(None, now, limit)
    }

    /// True when the agenda holds `next` for learner `id`.
    fn has_agenda(&self, next: &NextNudge, id: LearnerId) -> bool;

    /// Number of learners with a nudge scheduled (cheap).
    fn n_agenda(&self) -> usize;

    /// The Telegram update offset to ask for next.
    fn update_offset(&self) -> Result<i64, StoreError>;

    /// Records the next update offset (durable with the next flush).
    fn set_update_offset(&self, offset: i64) -> Result<(), StoreError>;

    /// Claims webhook update `id` at `now`, atomically: of callers racing for the same update
    /// (threads, or processes sharing a database) exactly one is told [`UpdateClaim::Taken`].
    /// A claim not finished within `expiry`, or whose claimer is gone, may be taken over; a
    /// finished update is [`UpdateClaim::Done`] until pruned. Durable with the next flush.
    fn claim_update(
        &self,
        id: UpdateId,
        now: DateTime<Utc>,
        expiry: chrono::Duration,
    ) -> Result<UpdateClaim, StoreError>;

    /// Marks a claimed update handled (durable with the next flush). An update never claimed is
    /// recorded as handled at `now`.
    fn finish_update(&self, id: UpdateId, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Forgets a claim whose handling failed, so Telegram's next try is [`UpdateClaim::Taken`]
    /// at once. An unknown update is fine; a handled one stays handled.
    fn release_update(&self, id: UpdateId) -> Result<(), StoreError>;

    /// Deletes the records of updates claimed before `before`, handled or not; returns how many.
    fn prune_updates(&self, before: DateTime<Utc>) -> Result<usize, StoreError>;

    /// The secret key of report pseudonyms: made from the OS's randomness on first use and
    /// kept, so a learner's pseudonym is the same in every report.
    fn report_key(&self) -> Result<Vec<u8>, StoreError>;

    /// Everything stored about learner `id`.
    fn export(&self, id: LearnerId) -> Result<LearnerExport, StoreError>;

    /// Erases every record of learner `id`, safely while use cases run: one that comes after
    /// the erasure began does nothing, and an erasure a crash interrupted is finished at open.
    fn erase(&self, id: LearnerId) -> Result<(), StoreError>;

    /// Deletes answers and finished deliveries from before `before`, with what pointed at them,
    /// and slot claims made before then. Pending deliveries stay.
    fn prune(&self, before: DateTime<Utc>) -> Result<Pruned, StoreError>;

    /// Writes every record to `out` as backup lines; returns the number of records. Each
    /// learner is in it as they were at one moment, and writes go on meanwhile.
    fn backup(&self, out: &mut dyn Write) -> Result<usize, BackupError>;

    /// Restores a backup into this store, which must be empty; returns the number of records.
    /// A backup that turns out damaged halfway leaves the store as empty as it was.
    fn restore(&self, input: &mut dyn BufRead) -> Result<usize, BackupError>;

    /// Reads every record once, so a damaged store is found at start-up; returns how many.
    fn verify(&self) -> Result<usize, StoreError>;

    /// Makes every write so far durable.
    fn flush(&self) -> Flushing<'_>;

    /// [`Storage::flush`] for code that is not async.
    fn flush_blocking(&self) -> Result<(), StoreError>;
}

/// Conveniences over [`Storage::transact`], for every engine.
pub trait StorageExt: Storage {
    /// Runs `work` as one transaction over everything that belongs to learner `id`, and returns
    /// what its last attempt returned.
    ///
    /// `work` may run more than once when another writer touched the same records, so it must
    /// be free of side effects outside the transaction. For a learner being erased `work` does
    /// not run and the result is `T::default()` (nothing to send, nothing changed): the
    /// erasure's mark is read inside the transaction, so a use case that began before the mark
    /// is retried after it and then does nothing either.
    fn with_learner<T: Default>(
        &self,
        id: LearnerId,
        work: impl Fn(&dyn LearnerTx) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let mut value = None;
        self.transact(id, &mut |tx| {
            value = None;
            if tx.is_being_erased()? {
                tracing::debug!(learner = id.get(), "the learner is being erased; nothing done");
                return Ok(());
            }
            value = Some(work(tx)?);
            Ok(())
        })?;
        Ok(value.unwrap_or_default())
    }
}

impl<S: Storage + ?Sized> StorageExt for S {}
