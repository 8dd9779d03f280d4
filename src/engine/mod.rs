//! The learning engine, as pure decisions: given a learner's state, the pack, the cohort's
//! policy and the time, what changes and what to send.
//!
//! `planner` decides a scheduled slot (reviews, follow-ups, the lesson); `session` walks a
//! lesson's steps as the learner answers; `srs` keeps the spaced-repetition memory (FSRS). No
//! I/O here: the service loads and stores, the renderer turns drafts into messages.

pub mod answers;
pub mod planner;
pub mod session;
pub mod srs;

use crate::domain::{ItemId, OutMessage, Purpose};
pub use planner::{SlotContext, plan_slot};
pub use session::{advance, after_quiz, after_reflection};

/// Something to send, before it has a delivery number.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// What it is for (stored with the delivery).
    pub purpose: Purpose,
    /// What to render.
    pub body: DraftBody,
}

/// What a draft renders to.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftBody {
    /// A lesson text.
    Lesson {
        /// Lesson id.
        lesson: String,
    },
    /// A quiz question (with buttons that carry the delivery number).
    Quiz {
        /// Item id.
        item: ItemId,
        /// Asked again for spaced repetition.
        review: bool,
    },
    /// Question `question` of a reflection.
    Reflect {
        /// Item id.
        item: ItemId,
        /// 0-based question in the chain.
        question: usize,
        /// Asked again at a later slot because it was not answered.
        reminder: bool,
    },
    /// A practice assignment.
    Practice {
        /// Item id.
        item: ItemId,
    },
    /// "How did it go?" for a practice assignment.
    PracticeCheck {
        /// Item id.
        item: ItemId,
    },
    /// A note about the learner's progress through the pack.
    Milestone(Milestone),
    /// A text file (a data export, a report).
    Document {
        /// The name the learner sees.
        file_name: String,
        /// Telegram HTML shown under the file.
        caption: String,
        /// The file's content.
        content: String,
    },
    /// A finished message (replies).
    Message(OutMessage),
    /// New content for a message sent before.
    Edit {
        /// Telegram's id of the message.
        message_id: i64,
        /// The new content.
        message: OutMessage,
    },
}

/// Progress worth telling the learner about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    /// The last lesson was sent: from now on, reviews only.
    PackFinished,
    /// Every quiz of the pack is mastered.
    AllMastered,
}

/// The drafts one decision produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// To send, in order.
    pub drafts: Vec<Draft>,
    /// Index in `drafts` of the prompt the learner's state now waits on; the service puts its
    /// delivery number into `progress.waiting`.
    pub waiting_on: Option<usize>,
}

impl Outcome {
    /// Adds a reply message.
    pub fn reply(&mut self, message: OutMessage) {
        self.drafts.push(Draft { purpose: Purpose::Reply, body: DraftBody::Message(message) });
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
