//! The learning engine, as pure decisions: given a learner's state, the pack, the cohort's
//! policy and the time, what changes and what to send.
//!
//! `planner` decides a scheduled slot (reviews, follow-ups, the lesson); `session` walks a
//! lesson's steps as the learner answers; `answers` says what follows an answer; `srs` keeps the
//! spaced-repetition memory (FSRS); `team` fits the weekly team question and the colleagues'
//! message into a learner's slots; `apply` numbers a decision's drafts and gives the learner the
//! state that hangs on those numbers. No I/O here: the service loads and stores, the renderer
//! turns drafts into messages.

pub mod answers;
mod apply;
pub(crate) mod planner;
pub(crate) mod session;
pub mod srs;
pub(crate) mod team;

use chrono::{DateTime, Utc};

use crate::domain::{OutMessage, Outgoing, Purpose};
pub(crate) use apply::apply;
pub use planner::{NewLessons, SlotContext, plan_slot};

/// Something to send, before it has a delivery number: what it is for, and what rendering needs
/// beyond that.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// What it is for: stored with the delivery, and for pack content all the renderer needs.
    pub purpose: Purpose,
    /// What rendering needs beyond the purpose; never stored.
    pub extra: Extra,
    /// Set on a prompt that holds up the lesson until it is answered (a first quiz, a
    /// reflection question): [`apply()`] makes it the learner's waiting state, under this draft's
    /// delivery number.
    pub wait: Option<Wait>,
}

/// What a prompt's waiting state holds besides its delivery number, which only [`apply()`] knows
/// (the item and the kind of answer come from the draft's purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// When the learner started to owe the answer (a reminder keeps the first time).
    pub since: DateTime<Utc>,
    /// True for a reminder: the question is not brought up again.
    pub reminded: bool,
}

impl Wait {
    /// A wait that starts at `since`, not yet reminded.
    pub fn new(since: DateTime<Utc>) -> Self {
        Self { since, reminded: false }
    }
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
    /// A reply the service wrote itself: a message, an edit of one sent before, or a file.
    Ready(Outgoing),
}

impl Draft {
    /// Pack content (a lesson, quiz, reflection, practice or its check-in), named by `purpose`.
    pub(crate) fn content(purpose: Purpose) -> Self {
        Self { purpose, extra: Extra::None, wait: None }
    }

    /// A note about the learner's progress through the pack.
    pub(crate) fn milestone(milestone: Milestone) -> Self {
        Self { purpose: Purpose::Milestone, extra: Extra::Milestone(milestone), wait: None }
    }

    /// A finished reply message.
    pub(crate) fn message(message: OutMessage) -> Self {
        Self { purpose: Purpose::Reply, extra: Extra::Ready(Outgoing::Send { message }), wait: None }
    }

    /// New content for message `message_id`, sent before.
    pub(crate) fn edit(message_id: i64, message: OutMessage) -> Self {
        Self { purpose: Purpose::Reply, extra: Extra::Ready(Outgoing::Edit { message_id, message }), wait: None }
    }

    /// A text file sent as a reply.
    pub(crate) fn document(file_name: String, caption: String, content: String) -> Self {
        Self {
            purpose: Purpose::Reply,
            extra: Extra::Ready(Outgoing::Document { file_name, caption, content }),
            wait: None,
        }
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

/// The drafts one decision produced, for [`apply()`] to number.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// To send, in order.
    pub drafts: Vec<Draft>,
}

impl Outcome {
    /// Adds a reply message.
    pub(crate) fn reply(&mut self, message: OutMessage) {
        self.drafts.push(Draft::message(message));
    }

    /// True when a prompt in it holds up the lesson.
    pub(crate) fn waits(&self) -> bool {
        self.drafts.iter().any(|draft| draft.wait.is_some())
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
