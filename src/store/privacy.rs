//! The learner's data rights and data minimisation: everything about one learner as an export,
//! erasing every record of a learner, and deleting what is older than the retention period.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Exchange, Store, StoreError, decode_opt, keys, records};
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
        let (mut messages, mut answers) = (Vec::new(), Vec::new());
        for entry in self.deliveries.scan_prefix(keys::learner(id)) {
            let (key, value) = entry?;
            let exchange = records::decode_exchange(&key, &value)?;
            messages.extend(exchange.delivery);
            answers.extend(exchange.answers);
        }
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
        for tree in [&self.slots, &self.messages] {
            for entry in tree.scan_prefix(prefix) {
                tree.remove(entry?.0)?;
            }
        }
        self.learners.remove(prefix)?;
        Ok(())
    }

    /// Deletes answers and finished deliveries from before `before` (the retention period),
    /// with the indexes that pointed at them. An answer given after its delivery's time keeps
    /// what it needs of the delivery (cohort, item) in its own record.
    pub fn prune(&self, before: DateTime<Utc>) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        for entry in self.deliveries.iter() {
            let (key, value) = entry?;
            let mut exchange = records::decode_exchange(&key, &value)?;
            let answers_before = exchange.answers.len();
            exchange.answers.retain(|answer| answer.at >= before);
            pruned.answers += answers_before - exchange.answers.len();
            let delivery_pruned = self.prune_delivery(&mut exchange, before)?;
            pruned.deliveries += usize::from(delivery_pruned);
            if exchange.delivery.is_none() && exchange.answers.is_empty() {
                self.deliveries.remove(key)?;
            } else if delivery_pruned || exchange.answers.len() != answers_before {
                self.deliveries.insert(key, records::encode_exchange(&exchange))?;
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

    /// Drops the exchange's delivery if it finished before `before`; true if it did.
    fn prune_delivery(&self, exchange: &mut Exchange, before: DateTime<Utc>) -> Result<bool, StoreError> {
        let Some(delivery) = &exchange.delivery else { return Ok(false) };
        let finished_at = match delivery.state {
            DeliveryState::Sent { at, .. } | DeliveryState::Failed { at, .. } => at,
            DeliveryState::Pending => return Ok(false),
        };
        if finished_at >= before {
            return Ok(false);
        }
        if let DeliveryState::Sent { message_id, .. } = delivery.state {
            self.messages.remove(keys::message(delivery.learner, message_id))?;
        }
        exchange.delivery = None;
        Ok(true)
    }
}
