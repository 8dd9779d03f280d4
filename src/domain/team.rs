//! The team loop's records: leads (who coach a cohort from its digest), notes (ideas and
//! answers to the weekly team question, the learner's own unless shared) and each cohort's
//! team state (what its leads were offered, what went to colleagues).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DeliverySeq, LearnerId};
use crate::i18n::Lang;

/// A team lead: joined with a cohort's `lead_invite`, gets its weekly digest and may ask for
/// its report. Never enrolled as a learner: one Telegram user is a lead or a learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Telegram user id (= private chat id), the same id space as learners'.
    pub id: LearnerId,
    /// First name from Telegram, for greetings and for admins' `nudge lead list`.
    pub name: String,
    /// Language of the bot's texts and the digest for this lead.
    pub lang: Lang,
    /// The cohorts this lead leads, in the order joined.
    pub cohorts: Vec<String>,
    /// When the lead first joined.
    pub joined_at: DateTime<Utc>,
}

/// Something a learner wrote for their team: an idea for the leads, or an answer to the
/// weekly team question. Personal data: exported with `/mydata`, erased with `/forget`, pruned
/// with retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Who wrote it (never shown to leads or colleagues).
    pub learner: LearnerId,
    /// The delivery it belongs to: the question answered, or the acknowledgement of an idea.
    pub delivery: DeliverySeq,
    /// The learner's cohort when it was written.
    pub cohort: String,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// What it is.
    pub kind: NoteKind,
    /// The text as the learner wrote it.
    pub text: String,
    /// The learner chose to share it with the team, without their name (ideas always go to
    /// the leads, without a name).
    #[serde(default)]
    pub shared: bool,
}

/// What a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// `/idea`: an idea, a barrier or a need, for the leads' next digest.
    Idea,
    /// An answer to the weekly team question.
    TeamAnswer,
}

/// What the team loop remembers about one cohort.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CohortState {
    /// The last digest slot handled: ideas and shared answers after it go in the next one.
    #[serde(default)]
    pub last_digest: Option<DateTime<Utc>>,
    /// Lessons whose `## Team` question the leads were offered, oldest first.
    #[serde(default)]
    pub standups_offered: Vec<String>,
    /// The "from your colleagues" message waiting for each learner's next regular slot.
    #[serde(default)]
    pub colleagues: Option<ColleaguesEdition>,
}

/// One week's "from your colleagues" message: references, not copies, so that an answer
/// erased before the message goes out is not in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColleaguesEdition {
    /// When it was made (at a digest slot); learners get it at their next regular slot.
    pub made_at: DateTime<Utc>,
    /// The shared answers it quotes: (author, delivery), most recent first.
    pub answers: Vec<(LearnerId, DeliverySeq)>,
}
