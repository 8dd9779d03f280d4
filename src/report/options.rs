//! What a report is asked to cover, shared by the builder, its tallies and the finish: the
//! cohorts (with their packs), the period, the group size below which figures are hidden, and
//! how per-learner rows name learners.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::DEFAULT_MIN_GROUP;
use crate::content::Pack;
use crate::engine::srs;

/// What to report on and how much to show.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Cohorts to report, in the order to show them (the config's order).
    pub cohorts: Vec<CohortInfo>,
    /// First UTC date of activity to count; `None` counts from the start.
    pub since: Option<NaiveDate>,
    /// Last UTC date of activity to count; `None` counts up to now.
    pub until: Option<NaiveDate>,
    /// The report's moment: "active in the last 7 days" counts back from it (or from the end of
    /// `until` if earlier). Passed in because the report never reads a clock.
    pub now: DateTime<Utc>,
    /// Any group of fewer learners than this is hidden, so that no figure is about a person.
    pub min_group: usize,
    /// Per-learner rows; `None` unless the config sets `reports.per_learner = true`.
    pub per_learner: Option<PerLearner>,
}

/// A cohort to report.
#[derive(Debug, Clone)]
pub struct CohortInfo {
    /// Cohort id from the config; records carry it.
    pub id: String,
    /// The cohort's pack, for lesson order, titles, quiz questions and options.
    pub pack: Option<Arc<Pack>>,
    /// The recall the cohort's reviews aim at (`target_retention`): the replay of each
    /// learner's reviews uses it, and reports set predicted recall against it.
    pub target_retention: f64,
    /// The FSRS weights the pack's quizzes are scheduled with (fitted, or FSRS-6's defaults):
    /// the replay schedules with them, so the recall it predicts is the daemon's.
    pub weights: srs::Parameters,
}

/// How per-learner rows name learners.
#[derive(Debug, Clone)]
pub struct PerLearner {
    /// Secret key for pseudonyms (HMAC-SHA256 of the learner id): the same key gives the same
    /// pseudonym in every report; without it nobody can link a pseudonym to an id.
    pub key: Vec<u8>,
    /// Show first names instead of pseudonyms (the admin asked for names explicitly).
    pub names: bool,
}

impl ReportOptions {
    /// Options for `cohorts` at `now`: whole history, default group size, no per-learner rows.
    pub fn new(cohorts: Vec<CohortInfo>, now: DateTime<Utc>) -> Self {
        Self { cohorts, since: None, until: None, now, min_group: DEFAULT_MIN_GROUP, per_learner: None }
    }
}
