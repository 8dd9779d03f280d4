//! Webhook updates in the sled engine: which Telegram updates were claimed, when, and whether
//! they were handled, so a webhook handles each update once ([`UpdateClaim`]). Tree
//! `webhook_updates`: the update id (8 bytes, big-endian) → 17 bytes, the claim time in
//! microseconds since 1970 (big-endian `i64`), `1` when handled, else `0`, and the claimer:
//! the number this opening of the store drew (big-endian `u64`). sled serves one process, so
//! a claim another opening made is a dead process's, taken over at once.
//!
//! Every change is a compare-and-swap, tried again when another caller changed the record in
//! between, so of callers racing for one update exactly one takes it (sled serves one
//! process). The records hold no personal data and stay out of backups, exports and erasure.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, UpdateClaim};
use crate::domain::UpdateId;

/// The tree's name.
pub(super) const TREE: &str = "webhook_updates";

/// One update's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    /// When the current claim was made, in microseconds since 1970.
    claimed_at: i64,
    /// True once the update was handled.
    done: bool,
    /// The opening of the store that claimed it ([`Store::incarnation`]).
    claimer: u64,
}

impl Record {
    /// The record's 17 bytes.
    fn encode(self) -> [u8; 17] {
        let mut bytes = [0; 17];
        bytes[..8].copy_from_slice(&self.claimed_at.to_be_bytes());
        bytes[8] = u8::from(self.done);
        bytes[9..].copy_from_slice(&self.claimer.to_be_bytes());
        bytes
    }

    /// Reads the 17 bytes [`Record::encode`] writes.
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt {
            tree: TREE,
            reason: format!("an update record {bytes:02x?} where 17 bytes, the ninth 0 or 1, were expected"),
        };
        let (claimed_at, rest) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let (done, claimer) = match rest.split_first() {
            Some((done @ (0 | 1), claimer)) => (*done == 1, <[u8; 8]>::try_from(claimer).map_err(|_| corrupt())?),
            _ => return Err(corrupt()),
        };
        Ok(Self { claimed_at: i64::from_be_bytes(*claimed_at), done, claimer: u64::from_be_bytes(claimer) })
    }
}

/// The key of update `id`.
pub(super) fn key(id: UpdateId) -> [u8; 8] {
    (id.get() as u64).to_be_bytes()
}

/// Microseconds since 1970, as records keep times (and PostgreSQL's `timestamptz`).
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The latest claim time that has expired at `now`: a claim made at or before it may be taken
/// over. Kept between 1970 and `now`, whatever `expiry` is, so every engine can compare with it.
pub(super) fn expired_since(now: DateTime<Utc>, expiry: chrono::Duration) -> DateTime<Utc> {
    now.checked_sub_signed(expiry).unwrap_or(DateTime::UNIX_EPOCH).min(now).max(DateTime::UNIX_EPOCH)
}

/// What a change makes of an update's record.
enum Step<T> {
    /// Leave the record as it is and answer `T`.
    Keep(T),
    /// Write this record (`None`: delete it), then answer `T`.
    Write(Option<Record>, T),
}

impl Store {
    /// [`super::Storage::claim_update`].
    pub(super) fn claim_update_record(
        &self,
        id: UpdateId,
        now: DateTime<Utc>,
        expiry: chrono::Duration,
    ) -> Result<UpdateClaim, StoreError> {
        let expired = micros(expired_since(now, expiry));
        let me = self.incarnation;
        self.change_update(id, |record| match record {
            Some(record) if record.done => Step::Keep(UpdateClaim::Done),
            Some(record) if record.claimed_at > expired && record.claimer == me => Step::Keep(UpdateClaim::Busy),
            _ => Step::Write(Some(Record { claimed_at: micros(now), done: false, claimer: me }), UpdateClaim::Taken),
        })
    }

    /// [`super::Storage::finish_update`]: the claim time stays, or is `now` for an update
    /// never claimed.
    pub(super) fn finish_update_record(&self, id: UpdateId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.change_update(id, |record| match record {
            Some(record) if record.done => Step::Keep(()),
            Some(record) => Step::Write(Some(Record { done: true, ..record }), ()),
            None => Step::Write(Some(Record { claimed_at: micros(now), done: true, claimer: self.incarnation }), ()),
        })
    }

    /// [`super::Storage::release_update`]: deletes the record unless it was handled.
    pub(super) fn release_update_record(&self, id: UpdateId) -> Result<(), StoreError> {
        self.change_update(id, |record| match record {
            Some(record) if !record.done => Step::Write(None, ()),
            _ => Step::Keep(()),
        })
    }

    /// [`super::Storage::prune_updates`]. A record claimed again while the sweep runs is left
    /// alone (its claim is new); a damaged one goes too, whatever its age, since it would
    /// otherwise fail every claim of its update.
    pub(super) fn prune_update_records(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let before = micros(before);
        let mut pruned = 0;
        for entry in self.updates.iter() {
            let (key, value) = entry?;
            match Record::decode(&value) {
                Ok(record) if record.claimed_at >= before => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "a damaged webhook update record is deleted"),
            }
            if self.updates.compare_and_swap(&key, Some(&value), None::<Vec<u8>>)?.is_ok() {
                pruned += 1;
            }
        }
        Ok(pruned)
    }

    /// Applies `decide` to update `id`'s record (`None` when there is none) by compare-and-swap,
    /// deciding again on what another caller wrote meanwhile; returns what the step that stuck
    /// answered.
    fn change_update<T>(&self, id: UpdateId, decide: impl Fn(Option<Record>) -> Step<T>) -> Result<T, StoreError> {
        let key = key(id);
        let mut current = self.updates.get(key)?;
        loop {
            let record = current.as_deref().map(Record::decode).transpose()?;
            let (new, answer) = match decide(record) {
                Step::Keep(answer) => return Ok(answer),
                Step::Write(new, answer) => (new, answer),
            };
            match self.updates.compare_and_swap(key, current, new.map(|record| record.encode().to_vec()))? {
                Ok(()) => return Ok(answer),
                Err(conflict) => current = conflict.current,
            }
        }
    }
}
