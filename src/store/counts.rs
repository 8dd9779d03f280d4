//! Running counts of learners, pending deliveries and agenda entries, so that `/healthz` and
//! `/metrics` cost the same with 100 learners or 100,000 (sled's `len()` walks a whole tree).
//! Counted once at open, then kept by every write that adds or removes such a key.

use std::sync::atomic::{AtomicI64, Ordering};

/// What one write (or one committed transaction) changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Delta {
    /// Learner records added (negative: removed).
    pub learners: i64,
    /// Outbox entries added.
    pub pending: i64,
    /// Agenda entries added.
    pub agenda: i64,
}

impl Delta {
    /// `+1`, `-1` or `0` for a write that found `before` and left `after` present.
    pub(crate) fn change(before: bool, after: bool) -> i64 {
        i64::from(after) - i64::from(before)
    }
}

/// The counts, shared by every clone of a store.
#[derive(Debug, Default)]
pub(super) struct Counts {
    learners: AtomicI64,
    pending: AtomicI64,
    agenda: AtomicI64,
}

impl Counts {
    /// Sets every count (at open, after a restore).
    pub(crate) fn set(&self, learners: usize, pending: usize, agenda: usize) {
        self.learners.store(learners as i64, Ordering::Relaxed);
        self.pending.store(pending as i64, Ordering::Relaxed);
        self.agenda.store(agenda as i64, Ordering::Relaxed);
    }

    /// Adds what a committed write changed.
    pub(crate) fn apply(&self, delta: Delta) {
        self.learners.fetch_add(delta.learners, Ordering::Relaxed);
        self.pending.fetch_add(delta.pending, Ordering::Relaxed);
        self.agenda.fetch_add(delta.agenda, Ordering::Relaxed);
    }

    /// Learner records.
    pub fn learners(&self) -> usize {
        self.learners.load(Ordering::Relaxed).max(0) as usize
    }

    /// Deliveries waiting to be sent.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed).max(0) as usize
    }

    /// Agenda entries.
    pub fn agenda(&self) -> usize {
        self.agenda.load(Ordering::Relaxed).max(0) as usize
    }
}
