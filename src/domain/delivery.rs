//! A delivery: one message (or edit) the bot sends, recorded before it is sent (the outbox).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DeliverySeq, ItemId, LearnerId};

/// One message (or edit) the bot sends: recorded as pending before it is sent, and as sent
/// (with Telegram's message id) after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Unique number; quiz buttons carry it.
    pub seq: DeliverySeq,
    /// Who gets it.
    pub learner: LearnerId,
    /// The learner's cohort when it was created, for reports.
    pub cohort: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// The scheduled slot that caused it; `None` for replies to the learner.
    pub slot: Option<String>,
    /// What it is for.
    pub purpose: Purpose,
    /// Pending, sent or failed.
    pub state: DeliveryState,
    /// What to send; dropped once sent, to keep the store small.
    pub outgoing: Option<Outgoing>,
}

/// What a delivery is for: reports count prompts by purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "snake_case")]
pub enum Purpose {
    /// A lesson text.
    Lesson {
        /// Lesson id.
        lesson: String,
    },
    /// A quiz question with buttons.
    Quiz {
        /// Item id.
        item: ItemId,
        /// The right option when it was sent, so later edits of the content cannot change
        /// the verdict on a press.
        correct: usize,
        /// Asked again for spaced repetition (not the first time).
        #[serde(default)]
        review: bool,
    },
    /// A reflection question.
    Reflect {
        /// Item id.
        item: ItemId,
        /// 0-based question in the chain.
        question: usize,
    },
    /// A practice assignment.
    Practice {
        /// Item id.
        item: ItemId,
    },
    /// "How did your practice go?", with buttons.
    PracticeCheck {
        /// Item id.
        item: ItemId,
    },
    /// The note at the end of a pack, or when everything is mastered.
    Milestone,
    /// A reply to something the learner did (verdict, acknowledgement, help).
    Reply,
    /// The weekly team question (answered in free text; the answer is a `Note`).
    TeamQuestion,
    /// "From your colleagues": answers the team shared, without names.
    Colleagues,
    /// A lead's digest of `cohort` (the weekly one or `/team`): a lead's, never a learner's
    /// prompt, so no report counts it.
    Digest {
        /// The cohort the digest is about.
        cohort: String,
    },
    /// "Become a lead of `cohort` instead?", asked a learner who sent its lead invite; its
    /// buttons carry this delivery's number, so only the learner who was asked can answer.
    LeadSwitch {
        /// The cohort whose lead invite the learner sent.
        cohort: String,
    },
}

impl Purpose {
    /// True for prompts the learner is nudged with (as opposed to replies, and to what goes to
    /// leads).
    pub fn is_prompt(&self) -> bool {
        !matches!(self, Self::Reply | Self::Digest { .. } | Self::LeadSwitch { .. })
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Recorded, not yet confirmed by Telegram.
    Pending,
    /// Telegram accepted it.
    Sent {
        /// Telegram's message id (for edits and button presses).
        message_id: i64,
        /// When Telegram accepted it.
        at: DateTime<Utc>,
    },
    /// Given up on: Telegram refused it, or retries ran out.
    Failed {
        /// Why, for admins.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DeliveryState {
    /// When Telegram accepted the message, if it did.
    pub(crate) fn sent_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Sent { at, .. } => Some(*at),
            Self::Pending | Self::Failed { .. } => None,
        }
    }
}

/// A message for Telegram, already rendered, independent of the Telegram library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutMessage {
    /// Telegram HTML.
    pub html: String,
    /// Inline keyboard rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<Button>>,
}

/// One inline button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// What the button shows.
    pub label: String,
    /// What Telegram sends back when pressed (at most 64 bytes).
    pub data: String,
}

/// A send or an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Outgoing {
    /// A new message.
    Send {
        /// The message.
        message: OutMessage,
    },
    /// Replace the text and buttons of a message sent before.
    Edit {
        /// Telegram's id of the message to edit.
        message_id: i64,
        /// The new content.
        message: OutMessage,
    },
    /// A text file (a data export, a report).
    Document {
        /// The name the learner sees.
        file_name: String,
        /// Telegram HTML shown under the file.
        caption: String,
        /// The file's content.
        content: String,
    },
}
