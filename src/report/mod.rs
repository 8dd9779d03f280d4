//! Engagement reports: cohort figures computed from records as they stream by, and their formats
//! (terminal table, CSV, JSON, one self-contained HTML file).
//!
//! Pure: records in, figures out; no I/O and no clock (`now` is an option). Reports exist to
//! coach teams and fix content, never to police people: every figure is a cohort aggregate, any
//! breakdown covering fewer than `min_group` learners is hidden, reflection texts appear only when
//! their author shared them (and then without name or id), and per-learner rows exist only when
//! the config asks for them, pseudonymised unless names are asked for too.

mod builder;
#[cfg(test)]
mod confidence_tests;
mod csv;
mod dates;
mod finish;
pub(crate) mod format;
pub mod from_store;
pub mod html;
mod median;
mod options;
mod pseudonym;
mod seqset;
mod svg;
pub mod synthetic;
mod tally;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub(crate) use builder::ReportBuilder;
pub use format::{csv, csv_by_item, csv_by_learner, csv_by_lesson, json, table, table_in};
pub use html::{html, html_in};
pub use options::{CohortInfo, PerLearner, ReportOptions};

use crate::domain::{Answer, Delivery, ItemId, Learner};

/// The smallest group a figure may describe unless the config says otherwise.
pub(crate) const DEFAULT_MIN_GROUP: usize = 5;

/// The whole report: what every format shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The `now` the report was made at, so readers can judge how fresh it is.
    pub generated_at: DateTime<Utc>,
    /// First day (UTC) of activity counted, when the period is limited.
    pub since: Option<NaiveDate>,
    /// Last day (UTC) of activity counted, when the period is limited.
    pub until: Option<NaiveDate>,
    /// The moment "active in the last 7 days" looks back from: `now`, or the end of `until`.
    pub active_as_of: DateTime<Utc>,
    /// The smallest group a figure may describe; smaller groups are hidden.
    pub min_group: usize,
    /// One entry per cohort asked for, in the order asked.
    pub cohorts: Vec<CohortReport>,
}

/// One cohort: its name always, its figures only when the group is large enough.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortReport {
    /// Cohort id from the config.
    pub cohort: String,
    /// Title of the cohort's pack, to say what was taught.
    pub pack_title: Option<String>,
    /// The figures, or why they are hidden.
    pub figures: Guarded<CohortFigures>,
}

/// A figure (or a group of figures) that is shown only when it covers enough learners.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Guarded<T> {
    /// Covers at least `min_group` learners (or none at all, which identifies no one).
    Shown(T),
    /// Covers too few learners: shown as a marker with the reason.
    Hidden(Suppressed),
}

/// The marker that replaces figures about too few learners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// Always true: lets JSON readers test for the marker.
    pub suppressed: bool,
    /// Why, in words every format shows.
    pub reason: String,
}

/// Everything known about one cohort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortFigures {
    /// The cohort at a glance.
    pub totals: Totals,
    /// Per lesson in pack order, then lessons that left the pack: where content works and
    /// where learners stop.
    pub lessons: Vec<LessonRow>,
    /// Per ISO week, oldest first: the trend.
    pub weeks: Vec<WeekRow>,
    /// Quiz items most often answered wrong on the first try, hardest first: the most answers
    /// wrong that learners were sure of (misconceptions), then the lowest first-try accuracy.
    /// For L&D and the leads' digest.
    pub hardest_items: Vec<HardItem>,
    /// Per quiz item, in pack order, then items that left the pack: its first tries and how
    /// many of them were confidently wrong.
    pub items: Vec<ItemRow>,
    /// How many learners were active on how many days: buckets, never individuals.
    pub days_active: Vec<DaysActiveBucket>,
    /// Reflection answers their authors chose to share, per question, without names.
    pub shared_reflections: Vec<SharedReflections>,
    /// One row per learner, only when the config turns per-learner rows on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learners: Option<Vec<LearnerRow>>,
}

/// A share such as a response rate, with the counts it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Rate {
    /// How many counted (answered, right).
    pub count: u64,
    /// Out of how many.
    pub out_of: u64,
    /// `count / out_of`, `None` when there is nothing to divide.
    pub ratio: Option<f64>,
}

/// The cohort at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Learners in the cohort (enrolled by the end of the period).
    pub learners_enrolled: u64,
    /// Of those, the learners who answered anything in the 7 days before `active_as_of`: never
    /// more than `learners_enrolled` (a learner who moved to another cohort counts there only).
    pub learners_active: u64,
    /// Lessons, quizzes, reflections, practice assignments and check-ins Telegram accepted.
    pub prompts_sent: u64,
    /// Answerable prompts (quiz, reflection, practice check-in) answered, of those sent.
    pub response_rate: Rate,
    /// Median seconds from prompt to first answer; approximate (within about 5 %).
    pub median_seconds_to_answer: Option<u64>,
    /// Quiz answers right on the first try: is the content clear?
    pub quiz_first_try: Rate,
    /// Quiz answers right on spaced reviews: is it remembered?
    pub quiz_retention: Rate,
    /// The recall FSRS predicted for those reviews, on average: near `quiz_retention` when the
    /// spacing model fits this team. `None` without reviews.
    pub predicted_recall: Option<f64>,
    /// The recall the reviews aim at (`target_retention` in the config).
    pub target_retention: f64,
    /// Reflection questions answered.
    pub reflections_answered: u64,
    /// Answers to "how did your practice go?".
    pub practice: PracticeCheckIns,
    /// Of the learners enrolled, those who answered anything in the 7 days before the last 7:
    /// the leads' digest compares the weeks. Not in the report's formats.
    #[serde(skip)]
    pub learners_active_week_before: u64,
    /// Distinct learners on the roster who answered a practice check-in: the digest shows
    /// practice outcomes only when they are enough. Not in the report's formats.
    #[serde(skip)]
    pub learners_checked_in: u64,
}

/// Answers to practice check-ins, by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PracticeCheckIns {
    /// "Did it."
    pub done: u64,
    /// "Did some of it."
    pub partly: u64,
    /// "Not yet."
    pub not_yet: u64,
}

/// One lesson's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LessonRow {
    /// Lesson id, stable across content edits.
    pub lesson_id: String,
    /// Lesson title from the pack (the id when the lesson left the pack).
    pub title: String,
    /// True when the lesson is no longer in the pack.
    pub retired: bool,
    /// The figures, hidden when fewer than `min_group` learners got the lesson.
    pub figures: Guarded<LessonFigures>,
}

/// What happened around one lesson.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LessonFigures {
    /// Learners who got the lesson text.
    pub learners_reached: u64,
    /// First-try quiz answers on this lesson's items.
    pub quiz_first_try: Rate,
    /// Reflection questions of this lesson answered.
    pub reflections_answered: u64,
    /// Learners for whom this is the furthest lesson and who have been quiet for 7 days.
    pub stopped_here: u64,
}

/// One ISO week's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekRow {
    /// ISO week label such as `2026-W48`.
    pub week: String,
    /// The Monday the week starts on.
    pub starts: NaiveDate,
    /// The figures, hidden when 1 to `min_group - 1` learners were active that week.
    pub figures: Guarded<WeekFigures>,
}

/// What happened in one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekFigures {
    /// Learners who answered anything that week in this cohort, including those who have
    /// moved to another cohort since: a past week keeps the answers given in it.
    pub learners_active: u64,
    /// Prompts sent that week.
    pub prompts_sent: u64,
    /// Answerable prompts sent that week that were answered.
    pub response_rate: Rate,
    /// First-try quiz answers that week.
    pub quiz_first_try: Rate,
    /// Spaced-review quiz answers that week.
    pub quiz_retention: Rate,
    /// The recall predicted for that week's reviews, on average; `None` without reviews.
    pub predicted_recall: Option<f64>,
}

/// A quiz item many learners get wrong on the first try.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HardItem {
    /// Item id, `<lesson>/<local id>`.
    pub item_id: ItemId,
    /// The question as plain text (the id when the item left the pack).
    pub question: String,
    /// True when the item is no longer in the pack.
    pub retired: bool,
    /// Distinct learners who answered it on the first try.
    pub learners: u64,
    /// First-try answers right.
    pub quiz_first_try: Rate,
    /// The wrong option chosen most, which points at the misunderstanding.
    pub common_wrong_answer: Option<String>,
    /// The number (from 1) of that option when the pack no longer names it, so that a page in
    /// another language can say "option 2" in its own words; `common_wrong_answer` then holds
    /// the English words.
    #[serde(skip)]
    pub unnamed_wrong_option: Option<usize>,
    /// First-try answers wrong that the learner was sure of, out of those rated "sure" or
    /// "not sure": a misconception held with confidence, what a lead coaches on.
    pub confidently_wrong: Rate,
    /// First-try answers without a confidence: not asked (the cohort has it off) or not given.
    pub confidence_not_given: u64,
}

/// One quiz item's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemRow {
    /// Item id, `<lesson>/<local id>`.
    pub item_id: ItemId,
    /// Title of the item's lesson (its id when the lesson left the pack).
    pub lesson: String,
    /// The question as plain text (the id when the item left the pack).
    pub question: String,
    /// True when the item is no longer in the pack.
    pub retired: bool,
    /// The figures, hidden when 1 to `min_group - 1` learners answered it on the first try.
    pub figures: Guarded<ItemFigures>,
}

/// First tries on one quiz item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemFigures {
    /// Distinct learners who answered it on the first try.
    pub learners: u64,
    /// First-try answers right.
    pub quiz_first_try: Rate,
    /// First-try answers wrong that the learner was sure of, out of those rated.
    pub confidently_wrong: Rate,
    /// First-try answers without a confidence.
    pub confidence_not_given: u64,
}

/// Learners active on a range of distinct days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaysActiveBucket {
    /// The range as people read it: `0`, `2–3`, `15+`.
    pub label: String,
    /// Fewest days in the bucket.
    pub min_days: u64,
    /// Most days in the bucket; `None` for the open-ended last one.
    pub max_days: Option<u64>,
    /// Learners in the bucket; hidden when 1 to `min_group - 1`.
    pub learners: Guarded<u64>,
}

/// Shared answers to one reflection question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedReflections {
    /// Item id of the reflection.
    pub item_id: ItemId,
    /// Title of the reflection's lesson: context for the question.
    pub lesson: String,
    /// 0-based question in the reflection's chain.
    pub question_index: usize,
    /// The question as plain text (the item id when it left the pack).
    pub question: String,
    /// The shared answers, sorted alphabetically so that no order links answers to a person.
    pub answers: Vec<String>,
}

/// One learner's row (only with `reports.per_learner = true`); sorted by name, never by score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnerRow {
    /// Pseudonym (`L-1a2b3c4d`) or, when names are asked for, the learner's first name.
    pub learner: String,
    /// Distinct lessons the learner got.
    pub lessons_reached: u64,
    /// Answers of any kind.
    pub answers: u64,
    /// First-try quiz answers right.
    pub quiz_first_try: Rate,
    /// Distinct UTC dates with an answer.
    pub days_active: u64,
}

impl Rate {
    /// The share `count / out_of`.
    pub fn new(count: u64, out_of: u64) -> Self {
        let ratio = (out_of > 0).then(|| count as f64 / out_of as f64);
        Self { count, out_of, ratio }
    }
}

impl<T> Guarded<T> {
    /// The figures when shown.
    pub(crate) fn shown(&self) -> Option<&T> {
        match self {
            Self::Shown(figures) => Some(figures),
            Self::Hidden(_) => None,
        }
    }
}

impl Suppressed {
    /// The marker for groups smaller than `min_group`.
    pub(crate) fn fewer_than(min_group: usize) -> Self {
        Self { suppressed: true, reason: suppression_reason(min_group) }
    }
}

/// The sentence every format shows in place of hidden figures, in English (the HTML page and the
/// CSV say it in the reader's language).
pub(crate) fn suppression_reason(min_group: usize) -> String {
    crate::i18n::fill_html(crate::i18n::Lang::En, "report.hidden", &[("min", &min_group.to_string())])
}

/// Feeds records (learners first, then deliveries, then answers) through a [`ReportBuilder`].
pub fn build<L, D, A>(
    options: ReportOptions,
    learners: impl IntoIterator<Item = L>,
    deliveries: impl IntoIterator<Item = D>,
    answers: impl IntoIterator<Item = A>,
) -> Report
where
    L: Borrow<Learner>,
    D: Borrow<Delivery>,
    A: Borrow<Answer>,
{
    let mut builder = ReportBuilder::new(options);
    learners.into_iter().for_each(|learner| builder.learner(learner.borrow()));
    deliveries.into_iter().for_each(|delivery| builder.delivery(delivery.borrow()));
    answers.into_iter().for_each(|answer| builder.answer(answer.borrow()));
    builder.finish()
}
