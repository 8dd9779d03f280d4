//! A learner: enrolment, status, preferences and progress through the pack (what the bot waits
//! for, spaced-repetition memory, practice follow-ups), the privacy notice they have seen, and
//! their part of the team loop (the weekly team question, the colleagues' message).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DeliverySeq, ItemId, LearnerId};
use crate::i18n::Lang;

/// Someone enrolled in a cohort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learner {
    /// Telegram user id.
    pub id: LearnerId,
    /// The cohort the learner joined with their invite.
    pub cohort: String,
    /// First name from Telegram, for greetings (and reports only with `--names`).
    pub name: String,
    /// Language of the bot's own texts for this learner.
    pub lang: Lang,
    /// Whether nudges go out to this learner.
    pub status: Status,
    /// When the learner first joined.
    pub enrolled_at: DateTime<Utc>,
    /// Where the learner is in the pack.
    #[serde(default)]
    pub progress: Progress,
    /// The learner's own choices (time, time zone).
    #[serde(default)]
    pub prefs: Prefs,
    /// When the learner's next nudge is due (mirrors their entry in the store's agenda).
    #[serde(default)]
    pub next_nudge: Option<NextNudge>,
    /// A move to another cohort asked for with a second `/start <invite>` and not confirmed
    /// yet: nothing changes until the learner presses "yes". Absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_move: Option<PendingMove>,
    /// The version of the privacy notice the learner has seen: 0 for records from before the
    /// team loop (they get [`PRIVACY_NOTICE`] with their next message), [`PRIVACY_NOTICE`] from
    /// enrolment on. Not written while 0, so a record from before keeps its bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub notice_version: u32,
    /// Where the learner is in the team loop: the team question open or waiting, the
    /// colleagues' message they had. Absent in older records.
    #[serde(default, skip_serializing_if = "LearnerTeam::is_empty")]
    pub team: LearnerTeam,
}

fn is_zero(number: &u32) -> bool {
    *number == 0
}

/// The privacy notice in use: it says what a team lead sees (aggregates of at least five,
/// shared texts and ideas without names). Learners who saw an older one get it once more.
pub const PRIVACY_NOTICE: u32 = 1;

/// A learner's part of the team loop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerTeam {
    /// The team question sent last and not answered yet: free text goes to it while it is the
    /// newest open question (see `engine::session::text_target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<TeamAsked>,
    /// A team-question slot reached while the daily cap was full: the question goes at the
    /// learner's next regular slot with room, unless a newer slot replaces it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<TeamSlot>,
    /// When the newest "from your colleagues" edition this learner was dealt was made (sent,
    /// or found with too few answers left): an edition is never sent twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colleagues: Option<DateTime<Utc>>,
}

impl LearnerTeam {
    /// True when there is nothing to keep (older records have no team state).
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A team question that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamAsked {
    /// The delivery that asked it (the answer's note is keyed by it).
    pub delivery: DeliverySeq,
    /// When it was asked.
    pub asked_at: DateTime<Utc>,
}

/// One slot of a cohort's team-question schedule, as it reached a learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSlot {
    /// The slot's claim key (`team:` and the wall-clock key).
    pub slot: String,
    /// When it reached the learner.
    pub at: DateTime<Utc>,
}

/// A cohort move waiting for the learner's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMove {
    /// The cohort the invite belongs to.
    pub cohort: String,
    /// The number the question's buttons carry: a press with another number (an older
    /// question, forged data) finds nothing.
    pub nonce: u64,
}

/// What a learner chose with `/time`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// Preferred time of day for nudges, in the learner's time zone.
    #[serde(default)]
    pub time: Option<NaiveTime>,
    /// The learner's IANA time zone, if not the cohort's.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A learner's next scheduled nudge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextNudge {
    /// When it is due.
    pub at: DateTime<Utc>,
    /// The cohort slot it belongs to (its wall-clock key), for the once-per-slot claim.
    pub slot: String,
}

/// Whether a learner gets nudges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Gets nudges on the cohort's schedule.
    Active,
    /// Chose a break; nudges resume at `until` (or on `/resume`).
    Paused {
        /// When the pause ends by itself, if it does.
        until: Option<DateTime<Utc>>,
    },
    /// Telegram refused delivery (blocked the bot, account gone): never messaged again until
    /// they send `/start` again.
    Inactive {
        /// Telegram's reason, for admins.
        reason: String,
        /// When it happened.
        since: DateTime<Utc>,
    },
    /// Asked to be forgotten; their records are being erased. From this mark on, no use case
    /// touches the learner, and an erasure interrupted by a crash is finished at the next open.
    Erasing {
        /// When the erasure began.
        since: DateTime<Utc>,
    },
}

/// Where a learner is in the pack and what the bot waits for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Lessons started, in the order the learner got them.
    #[serde(default)]
    pub lessons_started: Vec<String>,
    /// What is left of the current lesson, sent in order.
    #[serde(default)]
    pub queue: Vec<Step>,
    /// The prompt the bot waits on before sending the rest of the queue.
    #[serde(default)]
    pub waiting: Option<Waiting>,
    /// Questions answered in free text that are still open, oldest first.
    #[serde(default)]
    pub open: Vec<OpenQuestion>,
    /// Spaced-repetition memory per quiz item seen.
    #[serde(default)]
    pub memory: BTreeMap<ItemId, Memory>,
    /// Practice assignments waiting for their "how did it go?".
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
    /// When the learner got the last lesson of the pack (from then on: reviews only).
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// When every quiz of the pack was mastered.
    #[serde(default)]
    pub mastered_at: Option<DateTime<Utc>>,
    /// Scheduled messages sent on the learner's current local day (the daily cap).
    #[serde(default)]
    pub today: Option<DayCount>,
    /// Local dates on which the learner answered something (for `/progress`), newest last.
    #[serde(default)]
    pub active_days: Vec<NaiveDate>,
    /// Where the learner's onboarding track stands, in a cohort with a `track`. Absent in other
    /// cohorts and in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<TrackClock>,
    /// Quiz answers whose "how sure were you?" is asked and not given yet, oldest first: what a
    /// "not sure" needs to grade the answer again. Dropped at the learner's next slot and when
    /// the item is answered again. Absent in older records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confidence: Vec<PendingConfidence>,
}

/// A quiz answer recorded at the first tap, waiting for the learner to say how sure they were.
/// It is graded already as if nothing were asked, so nothing is lost if the second tap never
/// comes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingConfidence {
    /// The delivery that carried the quiz (its confidence buttons carry it too).
    pub delivery: DeliverySeq,
    /// The item answered.
    pub item: ItemId,
    /// When the first tap came: the memory's `last_review` while nothing touched it since.
    pub answered_at: DateTime<Utc>,
    /// The item's memory before the first tap (`None` for a first answer ever), to grade it
    /// again from there.
    pub before: Option<Memory>,
}

/// A learner's own clock on an onboarding track: which day of it they are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackClock {
    /// When they joined the track (the catch-up nudge of day 0 is reckoned from it).
    pub joined: DateTime<Utc>,
    /// Their day 0: the local date they joined, moved on by every day they paused.
    pub day0: NaiveDate,
    /// The local date their current pause began, while they are paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_on: Option<NaiveDate>,
    /// True once a lesson slot of theirs was claimed: from then on no catch-up nudge.
    #[serde(default)]
    pub started: bool,
}

impl TrackClock {
    /// The clock of someone who joins at `joined`, on local date `today`.
    pub fn new(joined: DateTime<Utc>, today: NaiveDate) -> Self {
        Self { joined, day0: today, paused_on: None, started: false }
    }

    /// The track day on local date `today` (0 on the day they joined); it stands still while
    /// they are paused.
    pub fn day(&self, today: NaiveDate) -> i64 {
        let today = self.paused_on.map_or(today, |paused_on| paused_on.min(today));
        (today - self.day0).num_days()
    }

    /// A pause begins on local date `today` (a pause already running keeps its start).
    pub fn pause(&mut self, today: NaiveDate) {
        self.paused_on.get_or_insert(today);
    }

    /// The pause ends on local date `today`: the rest of the track moves on by the days it
    /// lasted.
    pub fn resume(&mut self, today: NaiveDate) {
        if let Some(paused_on) = self.paused_on.take() {
            self.day0 += chrono::Duration::days((today - paused_on).num_days().max(0));
        }
    }
}

/// Scheduled messages sent on one local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// The learner's local date.
    pub date: NaiveDate,
    /// Messages sent by slots that day.
    pub messages: u32,
}

/// A question waiting for a free-text answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenQuestion {
    /// The delivery that asked it.
    pub delivery: DeliverySeq,
    /// The item it belongs to.
    pub item: ItemId,
    /// What the answer is.
    pub kind: OpenKind,
    /// When it was asked.
    pub asked_at: DateTime<Utc>,
}

/// What a free-text answer answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpenKind {
    /// Question `question` of a reflection.
    Reflect {
        /// 0-based question in the chain.
        question: usize,
    },
    /// A note on how a practice assignment went.
    PracticeNote,
}

/// The spaced-repetition state of one quiz for one learner (FSRS card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// When it should be asked again.
    pub due: DateTime<Utc>,
    /// Days until recall drops to 90 %.
    pub stability: f64,
    /// How hard the item is for this learner (1 to 10).
    pub difficulty: f64,
    /// Answers so far.
    pub reps: u32,
    /// Wrong answers after it had been learned.
    pub lapses: u32,
    /// When it was last answered.
    pub last_review: DateTime<Utc>,
    /// Days between the last two answers.
    #[serde(default)]
    pub elapsed_days: i64,
    /// Days the last answer scheduled.
    #[serde(default)]
    pub scheduled_days: i64,
    /// Where the card is in FSRS's cycle.
    #[serde(default)]
    pub state: CardState,
    /// When it was last sent as a review that is not answered yet.
    #[serde(default)]
    pub asked: Option<DateTime<Utc>>,
}

/// Where a quiz is in FSRS's cycle. Stored as its number (0 new, 1 learning, 2 review,
/// 3 relearning), as the records always held it; another number is a decode error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum CardState {
    /// Never answered.
    #[default]
    New,
    /// Answered, still being learned.
    Learning,
    /// Learned: asked again at growing intervals.
    Review,
    /// Forgotten after it had been learned.
    Relearning,
}

impl From<CardState> for u8 {
    fn from(state: CardState) -> Self {
        match state {
            CardState::New => 0,
            CardState::Learning => 1,
            CardState::Review => 2,
            CardState::Relearning => 3,
        }
    }
}

impl TryFrom<u8> for CardState {
    type Error = String;

    fn try_from(number: u8) -> Result<Self, Self::Error> {
        match number {
            0 => Ok(Self::New),
            1 => Ok(Self::Learning),
            2 => Ok(Self::Review),
            3 => Ok(Self::Relearning),
            _ => Err(format!("no card state {number} (0 to 3)")),
        }
    }
}

/// A practice assignment to follow up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The practice item.
    pub item: ItemId,
    /// When to ask how it went.
    pub due: DateTime<Utc>,
}

/// One thing to send as part of a lesson.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The lesson text.
    Lesson {
        /// Lesson id.
        lesson: String,
    },
    /// A quiz, reflection or practice item of the lesson.
    Item {
        /// Item id.
        item: ItemId,
    },
}

/// A prompt the learner has not answered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// The delivery that carried the prompt.
    pub delivery: DeliverySeq,
    /// The item it asks about.
    pub item: ItemId,
    /// What kind of answer it expects.
    pub kind: WaitKind,
    /// When it was created.
    pub since: DateTime<Utc>,
    /// True once the learner was reminded of it at a later slot.
    #[serde(default)]
    pub reminded: bool,
}

/// The kind of answer a prompt expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitKind {
    /// A button press on a quiz.
    Quiz,
    /// Free text answering question `question` of a reflection.
    Reflect {
        /// 0-based question in the reflection's chain.
        question: usize,
    },
}
