//! One learner's unit of work in sled: the [`LearnerTx`] reads and writes inside a single sled
//! transaction over the per-learner trees, and the mapping of sled's transaction errors.

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

use std::cell::Cell;

use chrono::{DateTime, Utc};

use super::counts::Delta;
use super::{Exchange, LearnerTx, StoreError, TxError, decode_opt, encode, keys, records};
use crate::domain::{Answer, Delivery, DeliverySeq, DeliveryState, Lead, Learner, LearnerId, NextNudge, Note};

impl From<UnabortableTransactionError> for TxError {
    fn from(error: UnabortableTransactionError) -> Self {
        match error {
            UnabortableTransactionError::Conflict => Self::Conflict,
            UnabortableTransactionError::Storage(error) => Self::Abort(StoreError::Sled(error)),
        }
    }
}

/// What sled's transaction loop makes of a failed step: a conflict runs the work again.
pub(super) fn into_sled(error: TxError) -> ConflictableTransactionError<StoreError> {
    match error {
        TxError::Conflict => ConflictableTransactionError::Conflict,
        TxError::Abort(error) => ConflictableTransactionError::Abort(error),
    }
}

/// The error of a transaction sled gave up on.
pub(super) fn from_sled(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => StoreError::Sled(error),
    }
}

/// The trees of one learner's transaction.
pub(super) struct SledTx<'a> {
    id: LearnerId,
    /// What this attempt changed in the counted trees, applied when it commits.
    delta: Cell<Delta>,
    learners: &'a TransactionalTree,
    deliveries: &'a TransactionalTree,
    slots: &'a TransactionalTree,
    outbox: &'a TransactionalTree,
    agenda: &'a TransactionalTree,
    messages: &'a TransactionalTree,
    leads: &'a TransactionalTree,
    notes: &'a TransactionalTree,
}

impl<'a> SledTx<'a> {
    /// `trees`: learners, deliveries, slots, outbox, agenda, messages, leads, notes.
    pub(super) fn new(id: LearnerId, trees: [&'a TransactionalTree; 8]) -> Self {
        let [learners, deliveries, slots, outbox, agenda, messages, leads, notes] = trees;
        let delta = Cell::new(Delta::default());
        Self { id, delta, learners, deliveries, slots, outbox, agenda, messages, leads, notes }
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

    /// Delivery `seq` of this learner with its answers.
    fn exchange(&self, seq: DeliverySeq) -> Result<Option<Exchange>, TxError> {
        let key = keys::delivery(self.id, seq);
        Ok(self.deliveries.get(key)?.map(|bytes| records::decode_exchange(&key, &bytes)).transpose()?)
    }

    fn put_exchange(&self, seq: DeliverySeq, exchange: &Exchange) -> Result<(), TxError> {
        self.deliveries.insert(&keys::delivery(self.id, seq), records::encode_exchange(exchange)?)?;
        Ok(())
    }

    /// Keeps the outbox in step with a delivery: pending deliveries are in it.
    fn file_in_outbox(&self, seq: DeliverySeq, pending: bool) -> Result<(), TxError> {
        let key = keys::outbox(self.id, seq);
        let before = if pending { self.outbox.insert(&key, &[])? } else { self.outbox.remove(&key)? };
        self.count(|delta| delta.pending += Delta::change(before.is_some(), pending));
        Ok(())
    }
}

impl LearnerTx for SledTx<'_> {
    fn learner_id(&self) -> LearnerId {
        self.id
    }

    fn learner(&self) -> Result<Option<Learner>, TxError> {
        Ok(decode_opt("learners", self.learners.get(keys::learner(self.id))?)?)
    }

    fn lead(&self) -> Result<Option<Lead>, TxError> {
        Ok(decode_opt("leads", self.leads.get(keys::lead(self.id))?)?)
    }

    fn put_lead(&self, lead: &Lead) -> Result<(), TxError> {
        self.leads.insert(&keys::lead(self.id), encode(lead)?)?;
        Ok(())
    }

    fn remove_lead(&self) -> Result<(), TxError> {
        self.leads.remove(&keys::lead(self.id))?;
        Ok(())
    }

    fn note(&self, seq: DeliverySeq) -> Result<Option<Note>, TxError> {
        Ok(decode_opt("notes", self.notes.get(keys::note(self.id, seq))?)?)
    }

    fn put_note(&self, note: &Note) -> Result<(), TxError> {
        self.notes.insert(&keys::note(self.id, note.delivery), encode(note)?)?;
        Ok(())
    }

    fn remove_note(&self, seq: DeliverySeq) -> Result<(), TxError> {
        self.notes.remove(&keys::note(self.id, seq))?;
        Ok(())
    }

    fn put_learner(&self, learner: &Learner) -> Result<(), TxError> {
        let before = self.learners.insert(&keys::learner(self.id), encode(learner)?)?;
        self.count(|delta| delta.learners += Delta::change(before.is_some(), true));
        Ok(())
    }

    fn claim_slot(&self, cohort: &str, slot_key: &str, now: DateTime<Utc>) -> Result<bool, TxError> {
        let key = keys::slot(self.id, cohort, slot_key);
        if self.slots.get(&key)?.is_some() {
            return Ok(false);
        }
        self.slots.insert(key, encode(&now)?)?;
        Ok(true)
    }

    fn next_seq(&self) -> Result<DeliverySeq, TxError> {
        Ok(DeliverySeq::new(self.deliveries.generate_id().map_err(StoreError::Sled)? + 1))
    }

    fn delivery(&self, seq: DeliverySeq) -> Result<Option<Delivery>, TxError> {
        Ok(self.exchange(seq)?.and_then(|exchange| exchange.delivery))
    }

    fn put_delivery(&self, delivery: &Delivery) -> Result<(), TxError> {
        let mut exchange = self.exchange(delivery.seq)?.unwrap_or_default();
        exchange.delivery = Some(delivery.clone());
        self.put_exchange(delivery.seq, &exchange)?;
        self.file_in_outbox(delivery.seq, delivery.state == DeliveryState::Pending)
    }

    fn finish_delivery(&self, seq: DeliverySeq, state: DeliveryState) -> Result<(), TxError> {
        // One read and one write of the record: this runs for every message sent.
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

    fn answer(&self, seq: DeliverySeq, part: u32) -> Result<Option<Answer>, TxError> {
        Ok(self.exchange(seq)?.and_then(|exchange| exchange.answer(part).cloned()))
    }

    fn put_answer(&self, answer: &Answer) -> Result<(), TxError> {
        let mut exchange = self.exchange(answer.delivery)?.unwrap_or_default();
        exchange.put_answer(answer.clone());
        self.put_exchange(answer.delivery, &exchange)
    }

    fn prune_exchange(&self, seq: DeliverySeq, before: DateTime<Utc>) -> Result<(usize, bool), TxError> {
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

    fn delivery_of_message(&self, message_id: i64) -> Result<Option<DeliverySeq>, TxError> {
        match self.messages.get(keys::message(self.id, message_id))? {
            Some(bytes) => Ok(Some(keys::read_seq(&bytes, "messages")?)),
            None => Ok(None),
        }
    }

    fn set_agenda(&self, old: Option<&NextNudge>, new: Option<&NextNudge>) -> Result<(), TxError> {
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
