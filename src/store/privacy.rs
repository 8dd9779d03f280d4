//! The learner's data rights and data minimisation: everything about one learner as an export,
//! erasing every record of a learner, and deleting what is older than the retention period.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::counts::Delta;
use super::{Exchange, Storage, StorageExt, Store, StoreError, decode, decode_opt, keys, records};
use crate::domain::{Answer, Delivery, DeliverySeq, DeliveryState, Lead, Learner, LearnerId, Note, Status};

/// Everything stored about one learner.
#[derive(Debug, Serialize)]
pub struct LearnerExport {
    /// The learner record (progress, preferences), if enrolled.
    pub learner: Option<Learner>,
    /// The lead record, if they are a team lead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead: Option<Lead>,
    /// Their ideas and answers to the team question, shared or not.
    pub team_notes: Vec<Note>,
    /// Every message sent to them or waiting to be sent.
    pub messages: Vec<Delivery>,
    /// Every answer they gave.
    pub answers: Vec<Answer>,
}

/// What a retention sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Answers deleted.
    pub answers: usize,
    /// Deliveries deleted (sent or failed, never pending).
    pub deliveries: usize,
    /// Ideas and team answers deleted.
    pub notes: usize,
}

impl Store {
    /// Everything stored about learner `id` ([`Storage::export`]).
    pub(super) fn export_learner(&self, id: LearnerId) -> Result<LearnerExport, StoreError> {
        let (mut messages, mut answers) = (Vec::new(), Vec::new());
        for entry in self.deliveries.scan_prefix(keys::learner(id)) {
            let (key, value) = entry?;
            let exchange = records::decode_exchange(&key, &value)?;
            messages.extend(exchange.delivery);
            answers.extend(exchange.answers);
        }
        let mut team_notes = Vec::new();
        for entry in self.notes.scan_prefix(keys::learner(id)) {
            team_notes.push(decode("notes", &entry?.1)?);
        }
        Ok(LearnerExport { learner: self.learner(id)?, lead: Storage::lead(self, id)?, team_notes, messages, answers })
    }

    /// Erases every record of learner `id` in every tree ([`Storage::erase`]), safely while
    /// the daemon runs, running `between` after the mark and before the records go (for tests
    /// that interleave other work with an erasure):
    ///
    /// 1. one transaction marks the learner `Erasing` and takes them off the agenda; from then
    ///    on every use case leaves them alone (see [`StorageExt::with_learner`]), so nothing new
    ///    is written for them;
    /// 2. their deliveries, outbox entries, slot claims and message ids go, by prefix;
    /// 3. the learner record goes last, so an erasure a crash interrupted is found by its mark
    ///    and finished at the next open.
    pub(super) fn erase_with(&self, id: LearnerId, between: impl FnOnce()) -> Result<(), StoreError> {
        self.mark_erasing(id)?;
        between();
        // Shared with other writers, so a backup sees a learner either marked with all their
        // records or gone.
        let _writing = self.writing();
        let prefix = keys::learner(id);
        for tree in [&self.deliveries, &self.outbox, &self.slots, &self.messages, &self.notes, &self.leads] {
            for key in tree.scan_prefix(prefix).keys() {
                let removed = tree.remove(key?)?;
                if removed.is_some() && std::ptr::eq(tree, &self.outbox) {
                    self.counts.apply(Delta { pending: -1, ..Delta::default() });
                }
            }
        }
        if self.learners.remove(prefix)?.is_some() {
            self.counts.apply(Delta { learners: -1, ..Delta::default() });
        }
        Ok(())
    }

    fn mark_erasing(&self, id: LearnerId) -> Result<(), StoreError> {
        self.transact(id, &mut |tx| {
            let Some(mut learner) = tx.learner()? else { return Ok(()) };
            tx.set_agenda(learner.next_nudge.as_ref(), None)?;
            learner.next_nudge = None;
            if !matches!(learner.status, Status::Erasing { .. }) {
                learner.status = Status::Erasing { since: crate::clock::now() };
            }
            tx.put_learner(&learner)
        })
    }

    /// Finishes the erasures a crash interrupted; returns how many there were.
    pub(super) fn finish_erasures(&self) -> Result<usize, StoreError> {
        let erasing: Vec<LearnerId> = self
            .learners()
            .filter_map(Result::ok)
            .filter(|learner| matches!(learner.status, Status::Erasing { .. }))
            .map(|learner| learner.id)
            .collect();
        for &id in &erasing {
            tracing::info!(learner = id.get(), "finishing an erasure that was interrupted");
            self.erase(id)?;
        }
        Ok(erasing.len())
    }

    /// Deletes answers and finished deliveries from before `before` (the retention period,
    /// [`Storage::prune`]), with the indexes that pointed at them, running `between` before
    /// each exchange is changed (for tests). An answer given after its delivery's time keeps
    /// what it needs of the delivery (cohort, item) in its own record. Each exchange is changed
    /// in its learner's transaction, so an answer written meanwhile is kept.
    pub(super) fn prune_with(
        &self,
        before: DateTime<Utc>,
        between: impl Fn(LearnerId, DeliverySeq),
    ) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        for entry in self.deliveries.iter() {
            let (key, value) = entry?;
            if !has_expired(&records::decode_exchange(&key, &value)?, before) {
                continue;
            }
            let (learner, seq) = keys::read_outbox(&key)?;
            between(learner, seq);
            let (answers, delivery) = self.with_learner(learner, |tx| tx.prune_exchange(seq, before))?;
            pruned.answers += answers;
            pruned.deliveries += usize::from(delivery);
        }
        for entry in self.slots.iter() {
            let (key, value) = entry?;
            let claimed: Option<DateTime<Utc>> = decode_opt("slots", Some(value)).unwrap_or(None);
            if claimed.is_some_and(|claimed| claimed < before) {
                self.slots.remove(key)?;
            }
        }
        pruned.notes = self.prune_notes(before)?;
        Ok(pruned)
    }
}

impl Store {
    /// Deletes ideas and team answers written before `before`, each in its learner's
    /// transaction; returns how many went.
    fn prune_notes(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut expired = Vec::new();
        for note in self.notes() {
            let note = note?;
            if note.at < before {
                expired.push((note.learner, note.delivery));
            }
        }
        for &(learner, seq) in &expired {
            self.with_learner(learner, |tx| tx.remove_note(seq))?;
        }
        Ok(expired.len())
    }
}

/// True when the exchange holds an answer, or a finished delivery, from before `before`.
fn has_expired(exchange: &Exchange, before: DateTime<Utc>) -> bool {
    exchange.answers.iter().any(|answer| answer.at < before)
        || exchange.delivery.as_ref().and_then(finished_at).is_some_and(|at| at < before)
}

/// When a delivery was sent or given up on; `None` while pending.
pub(super) fn finished_at(delivery: &Delivery) -> Option<DateTime<Utc>> {
    match delivery.state {
        DeliveryState::Sent { at, .. } | DeliveryState::Failed { at, .. } => Some(at),
        DeliveryState::Pending => None,
    }
}
