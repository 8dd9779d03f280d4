//! Key layouts: big-endian numbers so keys sort by learner, then by sequence.

use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{DeliverySeq, LearnerId};

/// `learners` key.
pub(crate) fn learner(id: LearnerId) -> [u8; 8] {
    (id.get() as u64).to_be_bytes()
}

/// `deliveries` key: learner ‖ seq.
pub(crate) fn delivery(learner_id: LearnerId, seq: DeliverySeq) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&learner(learner_id));
    key[8..].copy_from_slice(&seq.get().to_be_bytes());
    key
}

/// `slots` key: learner ‖ cohort ‖ `@` ‖ slot key.
pub(crate) fn slot(learner_id: LearnerId, cohort: &str, slot_key: &str) -> Vec<u8> {
    let mut key = learner(learner_id).to_vec();
    key.extend_from_slice(cohort.as_bytes());
    key.push(b'@');
    key.extend_from_slice(slot_key.as_bytes());
    key
}

/// `outbox` key: learner ‖ seq, the delivery's own key (schema 3; schema 2 keyed it by seq alone).
pub(crate) fn outbox(learner_id: LearnerId, seq: DeliverySeq) -> [u8; 16] {
    delivery(learner_id, seq)
}

/// `answers` key: learner ‖ delivery ‖ part.
pub(crate) fn answer(learner_id: LearnerId, delivery: DeliverySeq, part: u32) -> [u8; 20] {
    let mut key = [0; 20];
    key[..16].copy_from_slice(&self::delivery(learner_id, delivery));
    key[16..].copy_from_slice(&part.to_be_bytes());
    key
}

/// `agenda` key: due time (seconds since 1970) ‖ learner.
pub fn agenda(at: DateTime<Utc>, learner_id: LearnerId) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&agenda_time(at));
    key[8..].copy_from_slice(&learner(learner_id));
    key
}

/// The time part of an `agenda` key.
pub(crate) fn agenda_time(at: DateTime<Utc>) -> [u8; 8] {
    (at.timestamp().max(0) as u64).to_be_bytes()
}

/// `messages` key: learner ‖ Telegram message id.
pub(crate) fn message(learner_id: LearnerId, message_id: i64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&learner(learner_id));
    key[8..].copy_from_slice(&(message_id as u64).to_be_bytes());
    key
}

/// `leads` key: the lead's Telegram user id, laid out like a learner's.
pub(crate) fn lead(id: LearnerId) -> [u8; 8] {
    learner(id)
}

/// `notes` key: learner ‖ the delivery the note belongs to.
pub(crate) fn note(learner_id: LearnerId, seq: DeliverySeq) -> [u8; 16] {
    delivery(learner_id, seq)
}

/// `cohorts` key: the cohort id.
pub(crate) fn cohort(cohort: &str) -> Vec<u8> {
    cohort.as_bytes().to_vec()
}

/// Reads a big-endian u64 from the first 8 bytes.
pub(crate) fn read_u64(bytes: &[u8], tree: &'static str) -> Result<u64, StoreError> {
    let head: [u8; 8] = bytes.get(..8).and_then(|head| head.try_into().ok()).ok_or_else(|| StoreError::Corrupt {
        tree,
        reason: format!("a key or value of {} bytes where 8 were expected", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(head))
}

/// Reads a learner id written by [`learner`].
pub(crate) fn read_learner(bytes: &[u8], tree: &'static str) -> Result<LearnerId, StoreError> {
    read_u64(bytes, tree).map(|value| LearnerId::new(value as i64))
}

/// Reads a delivery number (a key's second half, or a `slots` or `messages` value).
pub(crate) fn read_seq(bytes: &[u8], tree: &'static str) -> Result<DeliverySeq, StoreError> {
    read_u64(bytes, tree).map(DeliverySeq::new)
}

/// The learner and delivery of a `deliveries` or `outbox` key.
pub(crate) fn read_pair(key: &[u8], tree: &'static str) -> Result<(LearnerId, DeliverySeq), StoreError> {
    let seq =
        key.get(8..).ok_or_else(|| StoreError::Corrupt { tree, reason: "a key shorter than 16 bytes".to_owned() })?;
    Ok((read_learner(key, tree)?, read_seq(seq, tree)?))
}

/// The learner and delivery of an `outbox` key.
pub(crate) fn read_outbox(key: &[u8]) -> Result<(LearnerId, DeliverySeq), StoreError> {
    read_pair(key, "outbox")
}
