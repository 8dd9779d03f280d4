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

use crate::domain::{OutMessage, Purpose};
pub use planner::{SlotContext, plan_slot};
pub use session::{advance, after_quiz, after_reflection};

/// Something to send, before it has a delivery number: what it is for, and what rendering needs
/// beyond that.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// What it is for: stored with the delivery, and for pack content all the renderer needs.
    pub purpose: Purpose,
    /// What rendering needs beyond the purpose; never stored.
    pub extra: Extra,
}

/// What a draft's rendering needs beyond its purpose.
#[derive(Debug, Clone, PartialEq)]
pub enum Extra {
    /// Nothing: the purpose names the pack content to render.
    None,
    /// A reflection question asked again at a later slot because it was not answered.
    Reminder,
    /// Which note about the learner's progress (`Purpose::Milestone`).
    Milestone(Milestone),
    /// A finished message (a reply).
    Message(OutMessage),
    /// New content for a message sent before (a reply).
    Edit {
        /// Telegram's id of the message.
        message_id: i64,
        /// The new content.
        message: OutMessage,
    },
    /// A text file (a data export; a reply).
    Document {
        /// The name the learner sees.
        file_name: String,
        /// Telegram HTML shown under the file.
        caption: String,
        /// The file's content.
        content: String,
    },
}

impl Draft {
    /// Pack content (a lesson, quiz, reflection, practice or its check-in), named by `purpose`.
    pub fn content(purpose: Purpose) -> Self {
        Self { purpose, extra: Extra::None }
    }

    /// A note about the learner's progress through the pack.
    pub fn milestone(milestone: Milestone) -> Self {
        Self { purpose: Purpose::Milestone, extra: Extra::Milestone(milestone) }
    }

    /// A finished reply message.
    pub fn message(message: OutMessage) -> Self {
        Self { purpose: Purpose::Reply, extra: Extra::Message(message) }
    }

    /// New content for message `message_id`, sent before.
    pub fn edit(message_id: i64, message: OutMessage) -> Self {
        Self { purpose: Purpose::Reply, extra: Extra::Edit { message_id, message } }
    }

    /// A text file sent as a reply.
    pub fn document(file_name: String, caption: String, content: String) -> Self {
        Self { purpose: Purpose::Reply, extra: Extra::Document { file_name, caption, content } }
    }
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
        self.drafts.push(Draft::message(message));
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
