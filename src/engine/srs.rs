//! Spaced repetition with FSRS-6 (via `fsrs`, open-spaced-repetition's own implementation, the
//! same model its optimizer fits, so a pack's fitted weights schedule its items: see `tune`):
//! a right answer pushes the next review out by a growing interval, a wrong one brings the item
//! back the next day. Days, not minutes: nudges come at slots, so short-term learning steps are
//! off, and so is fuzz, which keeps the schedule reproducible. One deliberate change to FSRS's
//! own scheduling: after a wrong answer the item is due again the next day at the latest (FSRS
//! alone may wait two), because re-asking soon is the point of a wrong answer in a daily nudge.

use chrono::{DateTime, Utc};
use fsrs::{FSRS, MemoryState, NextStates};

use crate::domain::{AnswerKind, CardState, Confidence, Memory};

/// An item counts as mastered once its memory lasts this long (days until recall drops to the
/// target): from then on it is not asked again.
pub(crate) const MASTERED_STABILITY_DAYS: f64 = 30.0;
/// The longest interval between two reviews.
const MAX_INTERVAL_DAYS: i64 = 365;
/// The forgetting curve's decay, as FSRS bounds it (`fsrs` clips the 21st weight to this).
const DECAY_RANGE: std::ops::RangeInclusive<f32> = 0.1..=0.8;

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

    /// The grade a recorded answer gives its item, for fitting a pack's weights; `None` for
    /// anything but a quiz. Scheduling grades the same way (a right answer rated "not sure" is
    /// Hard, one never rated Good), so the log a pack is fitted on says what the scheduler saw.
    pub fn of_answer(kind: &AnswerKind) -> Option<Self> {
        match kind {
            AnswerKind::Quiz { correct, confidence, .. } => {
                Some(confidence.map_or(Self::of(*correct), |confidence| Self::rated(*correct, confidence)))
            }
            _ => None,
        }
    }

    /// FSRS's rating: 1 again, 2 hard, 3 good (4, easy, is never given).
    pub fn rating(self) -> u32 {
        match self {
            Self::Again => 1,
            Self::Hard => 2,
            Self::Good => 3,
        }
    }
}

/// FSRS-6's 21 weights: its defaults (fitted by its authors on many people's reviews), or a
/// pack's own, fitted on its learners' answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parameters {
    weights: [f32; 21],
}

impl Default for Parameters {
    fn default() -> Self {
        Self { weights: fsrs::DEFAULT_PARAMETERS }
    }
}

impl Parameters {
    /// The weights `weights` (21 finite numbers FSRS accepts); `None` for anything else (a
    /// record from another version, a fit gone wrong).
    pub fn new(weights: &[f32]) -> Option<Self> {
        let weights: [f32; 21] = weights.try_into().ok()?;
        let usable = weights.iter().all(|weight| weight.is_finite()) && FSRS::new(&weights).is_ok();
        usable.then_some(Self { weights })
    }

    /// The 21 weights, in FSRS's order.
    pub fn weights(&self) -> &[f32; 21] {
        &self.weights
    }

    /// FSRS's model with these weights.
    pub(crate) fn model(&self) -> FSRS {
        FSRS::new(&self.weights).unwrap_or_default()
    }

    /// The forgetting curve's decay (FSRS-6 fits it; FSRS-5 had 0.5 for everyone).
    pub(crate) fn decay(&self) -> f32 {
        self.weights[20].clamp(*DECAY_RANGE.start(), *DECAY_RANGE.end())
    }

    /// The chance of recalling a memory of `stability` days after `elapsed_days` days.
    pub fn recall(&self, stability: f64, elapsed_days: f64) -> f64 {
        let state = MemoryState { stability: stability.max(0.01) as f32, difficulty: 5.0 };
        f64::from(fsrs::current_retrievability(state, elapsed_days.max(0.0) as f32, self.decay()))
    }
}

/// How one pack's quizzes are scheduled for one cohort: the pack's weights and the cohort's
/// recall target.
#[derive(Debug, Clone)]
pub struct Scheduler {
    parameters: Parameters,
    model: FSRS,
    retention: f64,
}

impl Default for Scheduler {
    /// FSRS-6's default weights, aiming at 90 % recall.
    fn default() -> Self {
        Self::new(Parameters::default(), 0.9)
    }
}

impl Scheduler {
    /// Schedules with `parameters`, aiming at `retention` (0.7 to 0.97) recall at each review.
    pub fn new(parameters: Parameters, retention: f64) -> Self {
        Self { parameters, model: parameters.model(), retention }
    }

    /// The weights in use.
    pub fn parameters(&self) -> &Parameters {
        &self.parameters
    }

    /// The memory after an answer graded `grade` at `now`, its stability and difficulty as
    /// their shortest decimals (what records keep).
    pub fn review(&self, memory: Option<&Memory>, grade: Grade, now: DateTime<Utc>) -> Memory {
        self.step(memory, grade, now, widen)
    }

    /// [`Self::review`] for a replay that keeps nothing (a report's): FSRS's values widened
    /// as they are, skipping the decimal, which costs more than FSRS's step. FSRS reads both
    /// back as the same `f32`, so a replay schedules as the daemon did.
    pub fn replay(&self, memory: Option<&Memory>, grade: Grade, now: DateTime<Utc>) -> Memory {
        self.step(memory, grade, now, f64::from)
    }

    /// The memory after an answer, FSRS's `f32` values widened by `widen`.
    fn step(&self, memory: Option<&Memory>, grade: Grade, now: DateTime<Utc>, widen: fn(f32) -> f64) -> Memory {
        let elapsed_days = memory.map_or(0, |memory| elapsed_days(memory.last_review, now));
        let state = memory
            .map(|memory| MemoryState { stability: memory.stability as f32, difficulty: memory.difficulty as f32 });
        let states = self.next_states(state, elapsed_days);
        let next = match grade {
            Grade::Again => states.again.memory,
            Grade::Hard => states.hard.memory,
            Grade::Good => states.good.memory,
        };
        let scheduled_days = intervals(&states)[grade as usize];
        let lapsed = grade == Grade::Again && memory.is_some_and(|memory| memory.state != CardState::New);
        Memory {
            due: now + chrono::Duration::days(scheduled_days),
            stability: widen(next.stability),
            difficulty: widen(next.difficulty),
            reps: memory.map_or(0, |memory| memory.reps).saturating_add(1),
            lapses: memory.map_or(0, |memory| memory.lapses).saturating_add(u32::from(lapsed)),
            last_review: now,
            elapsed_days: i64::from(elapsed_days),
            scheduled_days,
            state: CardState::Review,
            asked: None,
        }
    }

    /// FSRS's next states from `state` (a new card for `None`). A stored state FSRS refuses
    /// (not finite) starts the card afresh rather than stopping the answer.
    fn next_states(&self, state: Option<MemoryState>, elapsed_days: u32) -> NextStates {
        let desired = self.retention as f32;
        self.model
            .next_states(state, desired, elapsed_days)
            .or_else(|_| self.model.next_states(None, desired, 0))
            .or_else(|_| FSRS::default().next_states(None, desired, 0))
            .expect("FSRS's default weights give a new card finite states")
    }
}

/// Days until the next review for again, hard and good, in whole days from 1 to a year, each
/// longer than the one before (as FSRS's own scheduler orders them), and again capped at the
/// next day.
fn intervals(states: &NextStates) -> [i64; 3] {
    let days = |interval: f32| (f64::from(interval).round() as i64).clamp(1, MAX_INTERVAL_DAYS);
    let again = days(states.again.interval).min(days(states.hard.interval));
    let hard = days(states.hard.interval).max(again + 1);
    let good = days(states.good.interval).max(hard + 1);
    [again.min(1), hard.min(MAX_INTERVAL_DAYS), good.min(MAX_INTERVAL_DAYS)]
}

/// One item's answers (when, and how graded; oldest first) as FSRS reads them: each rating with
/// the whole days since the answer before (0 for the first). Fitting and the schema 4 migration
/// read histories this way, as the scheduler counts days.
pub fn fsrs_reviews(answers: &[(DateTime<Utc>, Grade)]) -> Vec<fsrs::FSRSReview> {
    let mut previous = None;
    answers
        .iter()
        .map(|&(at, grade)| {
            let delta_t = previous.map_or(0, |before| elapsed_days(before, at));
            previous = Some(at);
            fsrs::FSRSReview { rating: grade.rating(), delta_t }
        })
        .collect()
}

/// The stability and difficulty FSRS with `parameters` gives an item after `answers` (oldest
/// first); `None` without answers or when FSRS finds no finite state.
pub fn state_after(answers: &[(DateTime<Utc>, Grade)], parameters: &Parameters) -> Option<(f64, f64)> {
    if answers.is_empty() {
        return None;
    }
    let item = fsrs::FSRSItem { reviews: fsrs_reviews(answers) };
    let state = parameters.model().memory_state(item, None).ok()?;
    Some((widen(state.stability), widen(state.difficulty)))
}

/// Whole days from `from` to `to`, rounded: reviews come at daily slots and are answered a few
/// minutes before or after the time of the day before. Scheduling and fitting count alike.
pub fn elapsed_days(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let seconds = (to - from).num_seconds().max(0);
    u32::try_from((seconds + 43_200) / 86_400).unwrap_or(u32::MAX)
}

/// An `f32` from FSRS as the `f64` with the same shortest decimal, so a record says 2.3065,
/// not 2.306499958038330. Written on the stack: a report replays every review through here.
fn widen(value: f32) -> f64 {
    use std::fmt::Write as _;
    let mut decimal = StackText::default();
    match write!(decimal, "{value}") {
        Ok(()) => decimal.as_str().parse().unwrap_or(f64::from(value)),
        Err(_) => f64::from(value),
    }
}

/// A short text on the stack (a number's decimal); writing more than it holds fails.
#[derive(Default)]
struct StackText {
    bytes: [u8; 32],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.len + text.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The chance the learner recalls the item at `now`, by the FSRS forgetting curve of
/// `parameters`.
pub(crate) fn retrievability(memory: &Memory, parameters: &Parameters, now: DateTime<Utc>) -> f64 {
    let elapsed_days = (now - memory.last_review).num_seconds().max(0) as f64 / 86_400.0;
    parameters.recall(memory.stability, elapsed_days)
}

/// True once the item is learned well enough to stop asking.
pub(crate) fn is_mastered(memory: &Memory) -> bool {
    memory.stability >= MASTERED_STABILITY_DAYS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::at;

    fn days_until_due(memory: &Memory, from: DateTime<Utc>) -> i64 {
        (memory.due - from).num_days()
    }

    fn review(memory: Option<&Memory>, grade: Grade, retention: f64, now: DateTime<Utc>) -> Memory {
        Scheduler::new(Parameters::default(), retention).review(memory, grade, now)
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
        assert_eq!(intervals, [3, 14, 57, 196, 365], "FSRS-6's default intervals after right answers");
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
    fn a_wrong_first_answer_is_no_lapse() {
        let first = review(None, Grade::Again, 0.9, at("2026-01-05T09:00:00Z"));
        assert_eq!((first.reps, first.lapses, first.scheduled_days), (1, 0, 1));
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
        let defaults = Parameters::default();
        assert!((retrievability(&memory, &defaults, now) - 1.0).abs() < 1e-9);
        let at_due = retrievability(&memory, &defaults, memory.due);
        assert!((0.85..0.95).contains(&at_due), "{at_due}");
    }

    #[test]
    fn a_replay_schedules_every_review_as_the_daemon_did() {
        let scheduler = Scheduler::default();
        let grades = [Grade::Good, Grade::Again, Grade::Hard, Grade::Good, Grade::Good, Grade::Again, Grade::Good];
        let (mut kept, mut replayed): (Option<Memory>, Option<Memory>) = (None, None);
        let mut now = at("2026-01-05T09:00:00Z");
        for grade in grades {
            let next_kept = scheduler.review(kept.as_ref(), grade, now);
            let next_replayed = scheduler.replay(replayed.as_ref(), grade, now);
            assert_eq!(
                (next_kept.due, next_kept.reps, next_kept.lapses),
                (next_replayed.due, next_replayed.reps, next_replayed.lapses)
            );
            assert_eq!(next_kept.stability as f32, next_replayed.stability as f32, "FSRS reads both as one f32");
            assert_eq!(next_kept.difficulty as f32, next_replayed.difficulty as f32);
            now = next_kept.due + chrono::Duration::hours(2);
            (kept, replayed) = (Some(next_kept), Some(next_replayed));
        }
    }

    #[test]
    fn widening_keeps_the_shortest_decimal_and_falls_back_for_long_ones() {
        assert_eq!(widen(2.3065), 2.3065);
        assert_eq!(widen(0.1), 0.1);
        assert_eq!(widen(1e-40), f64::from(1e-40f32), "too long a decimal for the stack: the plain widening");
    }

    #[test]
    fn days_are_counted_to_the_nearest_whole_day() {
        let from = at("2026-01-05T09:04:00Z");
        for (to, days) in [("2026-01-06T08:58:00Z", 1), ("2026-01-05T20:00:00Z", 0), ("2026-01-08T09:30:00Z", 3)] {
            assert_eq!(elapsed_days(from, at(to)), days, "{to}");
        }
        assert_eq!(elapsed_days(at("2026-01-06T08:58:00Z"), from), 0, "never negative");
    }

    #[test]
    fn the_state_after_a_history_is_the_state_the_scheduler_reaches() {
        let mut memory = None;
        let mut answers = Vec::new();
        let mut now = at("2026-01-05T09:00:00Z");
        for grade in [Grade::Good, Grade::Good, Grade::Again, Grade::Good] {
            let next = review(memory.as_ref(), grade, 0.9, now);
            answers.push((now, grade));
            now = next.due + chrono::Duration::minutes(7);
            memory = Some(next);
        }
        let memory = memory.expect("answered");
        assert_eq!(state_after(&answers, &Parameters::default()), Some((memory.stability, memory.difficulty)));
        assert_eq!(state_after(&[], &Parameters::default()), None);
    }

    #[test]
    fn weights_are_checked_once_where_they_come_in() {
        assert_eq!(Parameters::new(&fsrs::DEFAULT_PARAMETERS), Some(Parameters::default()));
        assert_eq!(Parameters::new(&fsrs::DEFAULT_PARAMETERS[..19]), None, "FSRS-5's 19 weights are not FSRS-6's");
        let mut broken = fsrs::DEFAULT_PARAMETERS;
        broken[3] = f32::NAN;
        assert_eq!(Parameters::new(&broken), None);
    }

    #[test]
    fn a_stored_stability_reads_as_a_short_decimal() {
        let memory = review(None, Grade::Good, 0.9, at("2026-01-05T09:00:00Z"));
        assert_eq!(memory.stability, 2.3065);
    }
}
