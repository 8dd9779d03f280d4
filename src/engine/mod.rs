//! The learning conversation, as pure decisions: given a learner's state, the pack and the
//! time, what changes and what to send.
//!
//! A lesson is a queue of steps (text, quizzes, reflection, practice). A scheduled slot sends
//! steps until one that needs an answer; the learner's answer sends the next ones, at their own
//! pace. No I/O here: the service loads and stores, the renderer turns drafts into messages.

use chrono::{DateTime, Utc};

use crate::content::{ItemKind, Pack};
use crate::model::{Learner, OutMessage, Purpose, Step, WaitKind, Waiting};

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
        item: String,
        /// Asked again for spaced repetition.
        review: bool,
    },
    /// Question `question` of a reflection.
    Reflect {
        /// Item id.
        item: String,
        /// 0-based question in the chain.
        question: usize,
    },
    /// A practice assignment.
    Practice {
        /// Item id.
        item: String,
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
        self.drafts.push(Draft {
            purpose: Purpose::Reply,
            body: DraftBody::Message(message),
        });
    }
}

/// The nudge for a scheduled slot: the rest of the current lesson if the learner has not
/// finished it, else the next lesson. Empty when the pack is done.
pub fn slot_nudge(learner: &mut Learner, pack: &Pack, now: DateTime<Utc>) -> Outcome {
    learner.progress.waiting = None;
    if learner.progress.queue.is_empty() {
        start_next_lesson(learner, pack);
    }
    advance(learner, pack, now)
}

/// Queues the steps of the first lesson the learner has not started.
fn start_next_lesson(learner: &mut Learner, pack: &Pack) -> bool {
    let started = &learner.progress.lessons_started;
    let Some(lesson) = pack
        .lessons
        .iter()
        .find(|lesson| !started.contains(&lesson.id))
    else {
        return false;
    };
    learner.progress.lessons_started.push(lesson.id.clone());
    learner.progress.queue.push(Step::Lesson {
        lesson: lesson.id.clone(),
    });
    for item in &lesson.items {
        learner.progress.queue.push(Step::Item {
            item: item.id.clone(),
        });
    }
    true
}

/// Sends queued steps until one needs an answer. Steps whose content was removed from the pack
/// are skipped (retired), never an error.
pub fn advance(learner: &mut Learner, pack: &Pack, now: DateTime<Utc>) -> Outcome {
    let mut outcome = Outcome::default();
    while !learner.progress.queue.is_empty() {
        let step = learner.progress.queue.remove(0);
        match step {
            Step::Lesson { lesson } => {
                if pack.lesson(&lesson).is_some() {
                    outcome.drafts.push(Draft {
                        purpose: Purpose::Lesson {
                            lesson: lesson.clone(),
                        },
                        body: DraftBody::Lesson { lesson },
                    });
                }
            }
            Step::Item { item } => {
                if let Some(waiting) = item_draft(pack, &item, now, &mut outcome) {
                    learner.progress.waiting = Some(waiting);
                    outcome.waiting_on = Some(outcome.drafts.len() - 1);
                    return outcome;
                }
            }
        }
    }
    outcome
}

/// Adds the draft for item `item_id`; returns what the learner then owes, if anything.
fn item_draft(
    pack: &Pack,
    item_id: &str,
    now: DateTime<Utc>,
    outcome: &mut Outcome,
) -> Option<Waiting> {
    let (_, item) = pack.item(item_id)?;
    let item_id = item_id.to_owned();
    let waiting = |kind| Waiting {
        delivery: 0,
        item: item_id.clone(),
        kind,
        since: now,
    };
    match &item.kind {
        ItemKind::Quiz(quiz) => {
            outcome.drafts.push(Draft {
                purpose: Purpose::Quiz {
                    item: item_id.clone(),
                    correct: quiz.correct,
                },
                body: DraftBody::Quiz {
                    item: item_id.clone(),
                    review: false,
                },
            });
            Some(waiting(WaitKind::Quiz))
        }
        ItemKind::Reflect(_) => {
            outcome.drafts.push(reflect_draft(&item_id, 0));
            Some(waiting(WaitKind::Reflect { question: 0 }))
        }
        ItemKind::Practice(_) => {
            outcome.drafts.push(Draft {
                purpose: Purpose::Practice {
                    item: item_id.clone(),
                },
                body: DraftBody::Practice { item: item_id },
            });
            None
        }
    }
}

fn reflect_draft(item: &str, question: usize) -> Draft {
    Draft {
        purpose: Purpose::Reflect {
            item: item.to_owned(),
            question,
        },
        body: DraftBody::Reflect {
            item: item.to_owned(),
            question,
        },
    }
}

/// After a reflection answer: the next question of the chain, else the rest of the lesson.
pub fn after_reflection(
    learner: &mut Learner,
    pack: &Pack,
    item_id: &str,
    question: usize,
    now: DateTime<Utc>,
) -> Outcome {
    let n_questions = pack
        .item(item_id)
        .and_then(|(_, item)| item.as_reflect())
        .map_or(0, |reflect| reflect.questions.len());
    if question + 1 < n_questions {
        learner.progress.waiting = Some(Waiting {
            delivery: 0,
            item: item_id.to_owned(),
            kind: WaitKind::Reflect {
                question: question + 1,
            },
            since: now,
        });
        return Outcome {
            drafts: vec![reflect_draft(item_id, question + 1)],
            waiting_on: Some(0),
        };
    }
    learner.progress.waiting = None;
    advance(learner, pack, now)
}

/// After the quiz the learner was waiting on is answered: the rest of the lesson.
pub fn after_quiz(learner: &mut Learner, pack: &Pack, now: DateTime<Utc>) -> Outcome {
    learner.progress.waiting = None;
    advance(learner, pack, now)
}

#[cfg(test)]
mod tests;
