//! An answer: what a learner pressed or wrote in reply to a prompt.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DeliverySeq, ItemId, LearnerId};

/// Something a learner answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Who answered.
    pub learner: LearnerId,
    /// The learner's cohort at the time, for reports.
    pub cohort: String,
    /// The prompt answered.
    pub delivery: DeliverySeq,
    /// The item answered.
    pub item: ItemId,
    /// When the answer arrived.
    pub at: DateTime<Utc>,
    /// When the prompt was sent, for time-to-answer figures.
    pub prompt_sent_at: Option<DateTime<Utc>>,
    /// The answer itself.
    pub kind: AnswerKind,
}

/// The content of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnswerKind {
    /// A quiz button press.
    Quiz {
        /// The option chosen (0-based).
        choice: usize,
        /// Whether it was the right one.
        correct: bool,
        /// A spaced-repetition review (not the first try).
        #[serde(default)]
        review: bool,
        /// How sure the learner said they were (the second tap); `None` when it was not asked
        /// (the cohort has it off) or never came. Not written while `None`, so older records
        /// keep their bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<Confidence>,
    },
    /// A free-text reflection.
    Reflect {
        /// Which question of the chain.
        question: usize,
        /// What the learner wrote: personal data, in reports only when `shared`.
        text: String,
        /// The learner chose to share this answer with their team (without their name).
        #[serde(default)]
        shared: bool,
    },
    /// How a practice assignment went.
    Practice {
        /// Done, partly or not yet.
        outcome: PracticeOutcome,
    },
    /// A free-text note on a practice assignment.
    PracticeNote {
        /// What the learner wrote.
        text: String,
    },
}

/// How sure a learner was of a quiz answer: a confidently held wrong answer is a misconception
/// to coach on, a lucky guess is not mastery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// "Sure".
    Sure,
    /// "Not sure".
    NotSure,
}

/// The learner's answer to "how did your practice go?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PracticeOutcome {
    /// Did it.
    Done,
    /// Did some of it.
    Partly,
    /// Not yet.
    NotYet,
}

impl Answer {
    /// The sub-key that makes an answer unique within its delivery (reflection question).
    pub(crate) fn part(&self) -> u32 {
        match &self.kind {
            AnswerKind::Quiz { .. } | AnswerKind::Practice { .. } => 0,
            AnswerKind::PracticeNote { .. } => 1,
            AnswerKind::Reflect { question, .. } => u32::try_from(*question).unwrap_or(u32::MAX),
        }
    }
}
