//! Spaced repetition with FSRS (via `rs-fsrs`, the open-spaced-repetition implementation):
//! a right answer pushes the next review out by a growing interval, a wrong one brings the item
//! back the next day. Days, not minutes: nudges come at slots, so short-term learning steps are
//! off, and so is fuzz, which keeps the schedule reproducible. One deliberate change to FSRS's
//! own scheduling: after a wrong answer the item is due again the next day at the latest (FSRS
//! alone may wait two), because re-asking soon is the point of a wrong answer in a daily nudge.

use chrono::{DateTime, Utc};
use rs_fsrs::{Card, FSRS, Parameters, Rating, State};

use crate::domain::{CardState, Confidence, Memory};

/// An item counts as mastered once its memory lasts this long (days until recall drops to the
/// target): from then on it is not asked again.
pub(crate) const MASTERED_STABILITY_DAYS: f64 = 30.0;
/// The longest interval between two reviews.
const MAX_INTERVAL_DAYS: i32 = 365;

/// How well a quiz was answered, as FSRS grades it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// Wrong.
    Again,
    /// Right, but the learner was not sure.
    Hard,
    /// Right (and sure, or not asked).
    Good,
}

impl Grade {
    /// The grade of a right or wrong answer when no confidence was given.
    pub fn of(correct: bool) -> Self {
        if correct { Self::Good } else { Self::Again }
    }

    /// The grade of a right or wrong answer the learner said they were `confidence` of: wrong
    /// stays Again whatever they felt; right but not sure is Hard (the item comes back sooner).
    pub fn rated(correct: bool, confidence: Confidence) -> Self {
        match (correct, confidence) {
            (false, _) => Self::Again,
            (true, Confidence::NotSure) => Self::Hard,
            (true, Confidence::Sure) => Self::Good,
        }
    }
}

/// The memory after an answer graded `grade` at `now`, aiming at `retention`.
pub fn review(memory: Option<&Memory>, grade: Grade, retention: f64, now: DateTime<Utc>) -> Memory {
    let fsrs = FSRS::new(Parameters {
        request_retention: retention,
        maximum_interval: MAX_INTERVAL_DAYS,
        enable_short_term: false,
        enable_fuzz: false,
        ..Parameters::default()
    });
    let card = memory.map_or_else(|| new_card(now), to_card);
    let rating = match grade {
        Grade::Again => Rating::Again,
        Grade::Hard => Rating::Hard,
        Grade::Good => Rating::Good,
    };
    let mut memory = from_card(&fsrs.next(card, now, rating).card);
    if grade == Grade::Again {
        memory.due = memory.due.min(now + chrono::Duration::days(1));
        memory.scheduled_days = memory.scheduled_days.min(1);
    }
    memory
}

/// The chance the learner recalls the item at `now`, by the FSRS forgetting curve.
pub(crate) fn retrievability(memory: &Memory, now: DateTime<Utc>) -> f64 {
    let elapsed_days = (now - memory.last_review).num_seconds().max(0) as f64 / 86_400.0;
    Parameters::forgetting_curve(elapsed_days, memory.stability.max(0.01))
}

/// True once the item is learned well enough to stop asking.
pub(crate) fn is_mastered(memory: &Memory) -> bool {
    memory.stability >= MASTERED_STABILITY_DAYS
}

fn new_card(now: DateTime<Utc>) -> Card {
    Card { due: now, last_review: now, ..Card::default() }
}

fn to_card(memory: &Memory) -> Card {
    Card {
        due: memory.due,
        stability: memory.stability,
        difficulty: memory.difficulty,
        elapsed_days: memory.elapsed_days,
        scheduled_days: memory.scheduled_days,
        reps: i32::try_from(memory.reps).unwrap_or(i32::MAX),
        lapses: i32::try_from(memory.lapses).unwrap_or(i32::MAX),
        state: fsrs_state(memory.state),
        last_review: memory.last_review,
    }
}

fn from_card(card: &Card) -> Memory {
    Memory {
        due: card.due,
        stability: card.stability,
        difficulty: card.difficulty,
        reps: u32::try_from(card.reps).unwrap_or(0),
        lapses: u32::try_from(card.lapses).unwrap_or(0),
        last_review: card.last_review,
        elapsed_days: card.elapsed_days,
        scheduled_days: card.scheduled_days,
        state: card_state(card.state),
        asked: None,
    }
}

fn fsrs_state(state: CardState) -> State {
    match state {
        CardState::New => State::New,
        CardState::Learning => State::Learning,
        CardState::Review => State::Review,
        CardState::Relearning => State::Relearning,
    }
}

fn card_state(state: State) -> CardState {
    match state {
        State::New => CardState::New,
        State::Learning => CardState::Learning,
        State::Review => CardState::Review,
        State::Relearning => CardState::Relearning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::at;

    fn days_until_due(memory: &Memory, from: DateTime<Utc>) -> i64 {
        (memory.due - from).num_days()
    }

    #[test]
    fn right_answers_space_out_reviews() {
        let mut now = at("2026-01-05T09:00:00Z");
        let mut memory = review(None, Grade::Good, 0.9, now);
        let mut intervals = vec![days_until_due(&memory, now)];
        for _ in 0..4 {
            now = memory.due;
            memory = review(Some(&memory), Grade::Good, 0.9, now);
            intervals.push(days_until_due(&memory, now));
        }
        assert_eq!(intervals[0], 3, "FSRS's first interval after a right answer");
        assert!(intervals.windows(2).all(|pair| pair[1] > pair[0]), "{intervals:?}");
        assert!(is_mastered(&memory), "{intervals:?}");
    }

    #[test]
    fn a_wrong_answer_brings_the_item_back_the_next_day() {
        let now = at("2026-01-05T09:00:00Z");
        let learned = review(Some(&review(None, Grade::Good, 0.9, now)), Grade::Good, 0.9, at("2026-01-08T09:00:00Z"));
        let lapsed = review(Some(&learned), Grade::Again, 0.9, learned.due);
        assert_eq!(days_until_due(&lapsed, learned.due), 1);
        assert_eq!(lapsed.lapses, 1);
        assert!(lapsed.stability < learned.stability);
    }

    #[test]
    fn a_right_answer_the_learner_was_not_sure_of_comes_back_sooner() {
        let now = at("2026-01-05T09:00:00Z");
        let sure = review(Some(&review(None, Grade::Good, 0.9, now)), Grade::Good, 0.9, at("2026-01-08T09:00:00Z"));
        let unsure = review(Some(&review(None, Grade::Good, 0.9, now)), Grade::Hard, 0.9, at("2026-01-08T09:00:00Z"));
        assert!(unsure.due < sure.due, "{} < {}", unsure.due, sure.due);
        assert!(unsure.stability < sure.stability);
    }

    #[test]
    fn higher_retention_means_shorter_intervals() {
        let now = at("2026-01-05T09:00:00Z");
        let relaxed = review(Some(&review(None, Grade::Good, 0.8, now)), Grade::Good, 0.8, at("2026-01-09T09:00:00Z"));
        let strict = review(Some(&review(None, Grade::Good, 0.95, now)), Grade::Good, 0.95, at("2026-01-09T09:00:00Z"));
        assert!(days_until_due(&strict, strict.last_review) < days_until_due(&relaxed, relaxed.last_review));
    }

    #[test]
    fn recall_falls_to_the_target_at_the_due_date() {
        let now = at("2026-01-05T09:00:00Z");
        let memory = review(None, Grade::Good, 0.9, now);
        assert!((retrievability(&memory, now) - 1.0).abs() < 1e-9);
        let at_due = retrievability(&memory, memory.due);
        assert!((0.85..0.95).contains(&at_due), "{at_due}");
    }
}
