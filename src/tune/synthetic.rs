//! Made-up learners who remember by FSRS with known weights, scheduled as nudge schedules them:
//! to test that a fit finds the weights again, to time the fit, and to fill a store whose quiz
//! answers follow a forgetting curve (`nudge-proof populate`). Deterministic for a seed.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};

use super::{Card, ReviewLog};
use crate::domain::{LearnerId, Memory};
use crate::engine::srs::{self, Grade, Parameters, Scheduler};

/// Weights of learners who forget faster than FSRS-6's defaults assume, and whose memories grow
/// more slowly after a right answer: a workplace quiz a few times a week, not a flashcard deck
/// studied every day. The tests fit them again; `nudge-proof populate` answers by them.
pub fn forgetful() -> Parameters {
    let mut weights = fsrs::DEFAULT_PARAMETERS;
    weights[0] = 0.1; // first stability after a wrong answer
    weights[2] = 0.9; // first stability after a right answer
    weights[4] = 7.0; // first difficulty
    weights[8] = 1.3; // stability growth after a right answer
    weights[11] = 1.0; // stability kept after a wrong answer
    weights[20] = 0.3; // decay of the forgetting curve
    Parameters::new(&weights).unwrap_or_default()
}

/// A group of learners and how their days go.
#[derive(Debug, Clone)]
pub struct Learners {
    /// The weights their memories follow: each answer is right with the chance FSRS with these
    /// weights gives, and moves their memory as FSRS with these weights moves it.
    pub truth: Parameters,
    /// How their items are scheduled (nudge, with the weights in use).
    pub scheduler: Scheduler,
    /// Quiz items each learner gets, one a working day, each right after its lesson.
    pub items: usize,
    /// Chance that the first try, right after the lesson, is right.
    pub first_try: f64,
    /// Chance a learner misses a day's slot: their reviews wait for the next one.
    pub absent: f64,
    /// Reviews a slot brings at most (the cohort's `max_reviews_per_slot`).
    pub reviews_per_slot: usize,
    /// The seed of everyone's randomness.
    pub seed: u64,
}

impl Learners {
    /// Learners whose memories follow `truth`, scheduled with FSRS-6's defaults at 90 %, with
    /// 20 items each, as a new pack starts out.
    pub fn following(truth: Parameters, seed: u64) -> Self {
        Self {
            truth,
            scheduler: Scheduler::default(),
            items: 20,
            first_try: 0.8,
            absent: 0.25,
            reviews_per_slot: 2,
            seed,
        }
    }
}

/// One quiz answer of a simulated learner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// Which of the learner's items (0-based, in the order they came).
    pub item: usize,
    /// When it came.
    pub at: DateTime<Utc>,
    /// How it was graded.
    pub grade: Grade,
    /// False for the first try right after the lesson.
    pub review: bool,
}

/// One item as the scheduler and as the learner's real memory know it.
struct Item {
    scheduled: Memory,
    real: Memory,
}

impl Learners {
    /// Learner number `learner`'s answers over `days` days from `start`: a slot at 09:00 every
    /// working day, its reviews (those due, oldest due first, at most `reviews_per_slot`) and the
    /// next item's first try answered within the next two hours. Oldest first.
    pub fn answers(&self, learner: u64, start: DateTime<Utc>, days: u32) -> Vec<Answer> {
        let mut rng = fastrand::Rng::with_seed(self.seed ^ learner.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let real = Scheduler::new(self.truth, 0.9);
        let mut items: Vec<Item> = Vec::new();
        let mut answers = Vec::new();
        for day in 0..i64::from(days) {
            let slot = start + Duration::days(day) + Duration::hours(9);
            if matches!(slot.weekday(), Weekday::Sat | Weekday::Sun) || rng.f64() < self.absent {
                continue;
            }
            let mut at = slot + Duration::minutes(i64::from(rng.u32(0..110)));
            let mut due: Vec<usize> = (0..items.len()).filter(|&idx| items[idx].scheduled.due <= slot).collect();
            due.sort_by_key(|&idx| items[idx].scheduled.due);
            for idx in due.into_iter().take(self.reviews_per_slot) {
                let recall = srs::retrievability(&items[idx].real, &self.truth, at);
                let grade = Grade::of(rng.f64() < recall);
                let item = &mut items[idx];
                item.scheduled = self.scheduler.review(Some(&item.scheduled), grade, at);
                item.real = real.review(Some(&item.real), grade, at);
                answers.push(Answer { item: idx, at, grade, review: true });
                at += Duration::minutes(1);
            }
            if items.len() < self.items {
                let grade = Grade::of(rng.f64() < self.first_try);
                let scheduled = self.scheduler.review(None, grade, at);
                items.push(Item { scheduled, real: real.review(None, grade, at) });
                answers.push(Answer { item: items.len() - 1, at, grade, review: false });
            }
        }
        answers
    }

    /// The review log of learners 1 to `learners` over `days` days from `start`.
    pub fn review_log(&self, learners: u64, start: DateTime<Utc>, days: u32) -> ReviewLog {
        let mut cards = Vec::new();
        for learner in 1..=learners {
            let mut own: Vec<Card> = Vec::new();
            for answer in self.answers(learner, start, days) {
                if own.len() <= answer.item {
                    own.resize_with(answer.item + 1, || Card {
                        learner: LearnerId::new(learner as i64),
                        answers: Vec::new(),
                    });
                }
                own[answer.item].answers.push((answer.at, answer.grade));
            }
            cards.extend(own);
        }
        ReviewLog { cards }
    }
}
