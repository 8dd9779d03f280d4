//! Fitting FSRS to a pack's own learners: the review log of everyone who learns the pack (every
//! quiz answer, graded as the scheduler grades it) in, FSRS-6 weights out, kept only when they
//! predict learners the fit never saw better than the weights in use (by 1 % at least).
//!
//! `fit.rs` is pure (a log and the weights in use in, a [`Fit`] out): it holds out whole
//! learners, fits with `fsrs`'s optimizer on the rest, and compares the log loss of both sets
//! of weights on the held-out learners' reviews. `synthetic.rs` makes logs of learners who
//! remember by known weights (tests, benchmarks, `nudge-proof populate`). `from_store.rs` is
//! the one file with I/O: the log from the store, the fit saved or not, when to fit again.
//! `render.rs` writes what `nudge tune` prints. Knows nothing of Telegram; memory states already
//! stored are not recomputed with new weights (they apply from each item's next review on).

mod fit;
pub mod from_store;
mod render;
pub mod synthetic;

use chrono::{DateTime, Utc};

use crate::domain::LearnerId;
use crate::engine::srs::{self, Grade};
pub use fit::{Fit, FitError, MIN_GAIN, MIN_LEARNERS, MIN_REVIEWS, fit, log_loss};
pub use render::render;

/// One learner's answers to one quiz item, oldest first: the history FSRS learns from.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// Whose answers: learners are held out whole.
    pub learner: LearnerId,
    /// When each answer came and how it was graded, oldest first.
    pub answers: Vec<(DateTime<Utc>, Grade)>,
}

impl Card {
    /// The card as FSRS reads it: each answer's rating and the whole days since the one before
    /// (0 for the first), counted as the scheduler counts them.
    fn reviews(&self) -> Vec<fsrs::FSRSReview> {
        srs::fsrs_reviews(&self.answers)
    }

    /// Answers FSRS can learn from: each after the first that came a day or more after the one
    /// before (what the fit predicts).
    pub fn n_reviews(&self) -> u64 {
        self.answers.windows(2).filter(|pair| srs::elapsed_days(pair[0].0, pair[1].0) > 0).count() as u64
    }
}

/// A pack's review log: every card of every learner of the cohorts that follow it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewLog {
    /// One per learner and quiz item.
    pub cards: Vec<Card>,
}

impl ReviewLog {
    /// Reviews FSRS can learn from (see [`Card::n_reviews`]).
    pub fn n_reviews(&self) -> u64 {
        self.cards.iter().map(Card::n_reviews).sum()
    }

    /// Learners with at least one card.
    pub fn n_learners(&self) -> usize {
        let mut learners: Vec<LearnerId> = self.cards.iter().map(|card| card.learner).collect();
        learners.sort_unstable();
        learners.dedup();
        learners.len()
    }
}

#[cfg(test)]
mod tests;
