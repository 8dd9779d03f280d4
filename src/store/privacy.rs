//! The learner's data rights and data minimisation: everything about one learner as an export,
//! erasing every record of a learner, and deleting what is older than the retention period.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, StoreError, decode_opt, keys, records};
use crate::model::{Answer, Delivery, DeliveryState, Learner, LearnerId};

/// Everything stored about one learner.
#[derive(Debug, Serialize)]
pub struct LearnerExport {
    /// The learner record (progress, preferences), if enrolled.
    pub learner: Option<Learner>,
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
}

impl Store {
    /// Everything stored about learner `id`.
    pub fn export(&self, id: LearnerId) -> Result<LearnerExport, StoreError> {
        let prefix = keys::learner(id);
        let messages = self
            .deliveries
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                records::decode_delivery(&key, &value)
            })
            .collect::<Result<_, _>>()?;
        let answers = self
            .answers
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                records::decode_answer(&key, &value)
            })
            .collect::<Result<_, _>>()?;
        Ok(LearnerExport { learner: self.learner(id)?, messages, answers })
    }

    /// Erases every record of learner `id` in every tree. The learner record goes last, so an
    /// interrupted erasure can simply be run again.
    pub fn erase(&self, id: LearnerId) -> Result<(), StoreError> {
        let prefix = keys::learner(id);
        for entry in self.agenda.iter() {
            let (key, _) = entry?;
            if key.get(8..) == Some(&prefix[..]) {
                self.agenda.remove(key)?;
            }
        }
        for entry in self.deliveries.scan_prefix(prefix) {
            let (key, _) = entry?;
            self.outbox.remove(keys::outbox(keys::read_u64(&key[8..], "deliveries")?))?;
            self.deliveries.remove(key)?;
        }
        for tree in [&self.slots, &self.answers, &self.messages] {
            for entry in tree.scan_prefix(prefix) {
                tree.remove(entry?.0)?;
            }
        }
        self.learners.remove(prefix)?;
        Ok(())
    }

    /// Deletes answers and finished deliveries from before `before` (the retention period),
    /// with the indexes that pointed at them.
    pub fn prune(&self, before: DateTime<Utc>) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        for entry in self.answers.iter() {
            let (key, value) = entry?;
            let answer = records::decode_answer(&key, &value)?;
            if answer.at < before {
                self.answers.remove(key)?;
                pruned.answers += 1;
            }
        }
        for entry in self.deliveries.iter() {
            let (key, value) = entry?;
            let delivery = records::decode_delivery(&key, &value)?;
            let finished_at = match delivery.state {
                DeliveryState::Sent { at, .. } | DeliveryState::Failed { at, .. } => at,
                DeliveryState::Pending => continue,
            };
            if finished_at < before {
                if let DeliveryState::Sent { message_id, .. } = delivery.state {
                    self.messages.remove(keys::message(delivery.learner, message_id))?;
                }
                self.deliveries.remove(key)?;
                pruned.deliveries += 1;
            }
        }
        for entry in self.slots.iter() {
            let (key, value) = entry?;
            let claimed: Option<DateTime<Utc>> = decode_opt("slots", Some(value)).unwrap_or(None);
            if claimed.is_some_and(|claimed| claimed < before) {
                self.slots.remove(key)?;
            }
        }
        Ok(pruned)
    }
}
