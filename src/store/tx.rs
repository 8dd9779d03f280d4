//! One learner's unit of work: reads and writes inside a single sled transaction.

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

use std::cell::Cell;

use chrono::{DateTime, Utc};

use super::counts::Delta;
use super::{Exchange, StoreError, decode_opt, encode, keys, records};
use crate::domain::{Answer, Delivery, DeliverySeq, DeliveryState, Learner, LearnerId, NextNudge};

/// Why a transaction step failed; pass it on with `?`.
#[derive(Debug)]
pub struct TxError(ConflictableTransactionError<StoreError>);

impl From<UnabortableTransactionError> for TxError {
    fn from(error: UnabortableTransactionError) -> Self {
        Self(error.into())
    }
}

impl From<StoreError> for TxError {
    fn from(error: StoreError) -> Self {
        Self(ConflictableTransactionError::Abort(error))
    }
}

impl TxError {
    pub(super) fn into_sled(self) -> ConflictableTransactionError<StoreError> {
        self.0
    }

    pub(super) fn from_sled(error: TransactionError<StoreError>) -> StoreError {
        match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => StoreError::Sled(error),
        }
    }
}

/// The trees of one learner's transaction.
pub struct LearnerTx<'a> {
    id: LearnerId,
    /// What this attempt changed in the counted trees, applied when it commits.
    delta: Cell<Delta>,
    learners: &'a TransactionalTree,
    deliveries: &'a TransactionalTree,
    slots: &'a TransactionalTree,
    outbox: &'a TransactionalTree,
    agenda: &'a TransactionalTree,
    messages: &'a TransactionalTree,
}

impl<'a> LearnerTx<'a> {
    /// `trees`: learners, deliveries, slots, outbox, agenda, messages.
    pub(super) fn new(id: LearnerId, trees: [&'a TransactionalTree; 6]) -> Self {
        let [learners, deliveries, slots, outbox, agenda, messages] = trees;
        Self { id, delta: Cell::new(Delta::default()), learners, deliveries, slots, outbox, agenda, messages }
    }

    /// What this transaction changed in the counted trees.
    pub(super) fn delta(&self) -> Delta {
        self.delta.get()
    }

    fn count(&self, change: impl FnOnce(&mut Delta)) {
        let mut delta = self.delta.get();
        change(&mut delta);
        self.delta.set(delta);
    }

    /// The learner this transaction is about.
    pub fn learner_id(&self) -> LearnerId {
        self.id
    }

    /// The learner record, if enrolled.
    pub fn learner(&self) -> Result<Option<Learner>, TxError> {
        Ok(decode_opt("learners", self.learners.get(keys::learner(self.id))?)?)
    }

    /// True when the learner is marked for erasure.
    pub(super) fn is_being_erased(&self) -> Result<bool, TxError> {
        Ok(self.learner()?.is_some_and(|learner| matches!(learner.status, crate::domain::Status::Erasing { .. })))
    }

    /// Writes the learner record.
    pub fn put_learner(&self, learner: &Learner) -> Result<(), TxError> {
        let before = self.learners.insert(&keys::learner(self.id), encode(learner)?)?;
        self.count(|delta| delta.learners += Delta::change(before.is_some(), true));
        Ok(())
    }

    /// Claims slot `slot_key` of `cohort` for this learner at `now`; false if it was claimed
    /// before. The claim time lets the retention sweep delete old claims.
    pub fn claim_slot(&self, cohort: &str, slot_key: &str, now: DateTime<Utc>) -> Result<bool, TxError> {
        let key = keys::slot(self.id, cohort, slot_key);
        if self.slots.get(&key)?.is_some() {
            return Ok(false);
        }
        self.slots.insert(key, encode(&now)?)?;
        Ok(true)
    }

    /// A fresh delivery number.
    pub fn next_seq(&self) -> Result<DeliverySeq, TxError> {
        Ok(DeliverySeq::new(self.deliveries.generate_id().map_err(StoreError::Sled)? + 1))
    }

    /// Delivery `seq` of this learner.
    pub fn delivery(&self, seq: DeliverySeq) -> Result<Option<Delivery>, TxError> {
        Ok(self.exchange(seq)?.and_then(|exchange| exchange.delivery))
    }

    /// Delivery `seq` of this learner with its answers.
    fn exchange(&self, seq: DeliverySeq) -> Result<Option<Exchange>, TxError> {
        let key = keys::delivery(self.id, seq);
        Ok(self.deliveries.get(key)?.map(|bytes| records::decode_exchange(&key, &bytes)).transpose()?)
    }

    fn put_exchange(&self, seq: DeliverySeq, exchange: &Exchange) -> Result<(), TxError> {
        self.deliveries.insert(&keys::delivery(self.id, seq), records::encode_exchange(exchange)?)?;
        Ok(())
    }

    /// Writes a delivery (keeping the answers to it); a pending one is put in the outbox.
    pub fn put_delivery(&self, delivery: &Delivery) -> Result<(), TxError> {
        let mut exchange = self.exchange(delivery.seq)?.unwrap_or_default();
        exchange.delivery = Some(delivery.clone());
        self.put_exchange(delivery.seq, &exchange)?;
        self.file_in_outbox(delivery.seq, delivery.state == DeliveryState::Pending)
    }

    /// Moves a delivery out of the outbox into `state`, dropping its payload once sent: one
    /// read and one write of its record (this runs for every message sent).
    pub fn finish_delivery(&self, seq: DeliverySeq, state: DeliveryState) -> Result<(), TxError> {
        let mut exchange = self.exchange(seq)?.unwrap_or_default();
        let Some(delivery) = exchange.delivery.as_mut() else {
            let before = self.outbox.remove(&keys::outbox(self.id, seq))?;
            self.count(|delta| delta.pending += Delta::change(before.is_some(), false));
            return Ok(());
        };
        if let DeliveryState::Sent { message_id, .. } = state {
            delivery.outgoing = None;
            self.messages.insert(&keys::message(self.id, message_id), &seq.get().to_be_bytes())?;
        }
        let pending = state == DeliveryState::Pending;
        delivery.state = state;
        self.put_exchange(seq, &exchange)?;
        self.file_in_outbox(seq, pending)
    }

    /// Keeps the outbox in step with a delivery: pending deliveries are in it.
    fn file_in_outbox(&self, seq: DeliverySeq, pending: bool) -> Result<(), TxError> {
        let key = keys::outbox(self.id, seq);
        let before = if pending { self.outbox.insert(&key, &[])? } else { self.outbox.remove(&key)? };
        self.count(|delta| delta.pending += Delta::change(before.is_some(), pending));
        Ok(())
    }

    /// The answer recorded for `part` of delivery `seq`, if any.
    pub fn answer(&self, seq: DeliverySeq, part: u32) -> Result<Option<Answer>, TxError> {
        Ok(self.exchange(seq)?.and_then(|exchange| exchange.answer(part).cloned()))
    }

    /// Records an answer with its delivery (replacing an earlier answer to the same part).
    pub fn put_answer(&self, answer: &Answer) -> Result<(), TxError> {
        let mut exchange = self.exchange(answer.delivery)?.unwrap_or_default();
        exchange.put_answer(answer.clone());
        self.put_exchange(answer.delivery, &exchange)
    }

    /// Drops the answers to delivery `seq` from before `before`, and the delivery itself if it
    /// finished before then (with the message id that pointed at it). Returns the answers
    /// dropped and whether the delivery went.
    pub fn prune_exchange(&self, seq: DeliverySeq, before: DateTime<Utc>) -> Result<(usize, bool), TxError> {
        let Some(mut exchange) = self.exchange(seq)? else { return Ok((0, false)) };
        let answers_before = exchange.answers.len();
        exchange.answers.retain(|answer| answer.at >= before);
        let answers = answers_before - exchange.answers.len();
        let expired = exchange.delivery.as_ref().and_then(super::privacy::finished_at).is_some_and(|at| at < before);
        if expired {
            if let Some(DeliveryState::Sent { message_id, .. }) = exchange.delivery.as_ref().map(|d| &d.state) {
                self.messages.remove(&keys::message(self.id, *message_id))?;
            }
            exchange.delivery = None;
        }
        if exchange.delivery.is_none() && exchange.answers.is_empty() {
            self.deliveries.remove(&keys::delivery(self.id, seq))?;
        } else if expired || answers > 0 {
            self.put_exchange(seq, &exchange)?;
        }
        Ok((answers, expired))
    }

    /// The delivery that became Telegram message `message_id` in this learner's chat.
    pub fn delivery_of_message(&self, message_id: i64) -> Result<Option<DeliverySeq>, TxError> {
        match self.messages.get(keys::message(self.id, message_id))? {
            Some(bytes) => Ok(Some(keys::read_seq(&bytes, "messages")?)),
            None => Ok(None),
        }
    }

    /// Moves the learner's agenda entry from `old` to `new` (either may be absent).
    pub fn set_agenda(&self, old: Option<&NextNudge>, new: Option<&NextNudge>) -> Result<(), TxError> {
        if let Some(old) = old {
            let before = self.agenda.remove(&keys::agenda(old.at, self.id))?;
            self.count(|delta| delta.agenda += Delta::change(before.is_some(), false));
        }
        if let Some(new) = new {
            let before = self.agenda.insert(&keys::agenda(new.at, self.id), encode(new)?)?;
            self.count(|delta| delta.agenda += Delta::change(before.is_some(), true));
        }
        Ok(())
    }
}
