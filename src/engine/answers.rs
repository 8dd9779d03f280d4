//! What an answer changes, as pure decisions: a quiz answer updates the item's memory and lets
//! the lesson go on if it was waiting on it; a reflection answer closes the question and moves
//! the chain or the lesson on; a practice check-in opens a question for a note on how it went.
//! Shared by the daemon and the simulator.

use chrono::{DateTime, Utc};

use super::{Outcome, session, srs};
use crate::content::Pack;
use crate::domain::{DeliverySeq, ItemId, Learner, OpenKind, OpenQuestion, WaitKind};

/// A quiz answer on delivery `seq` for `item`: updates the memory (as `scheduler` schedules the
/// pack's items) and returns the rest of the lesson if the learner's state was waiting on this
/// quiz.
pub(crate) fn quiz_answered(
    learner: &mut Learner,
    pack: Option<&Pack>,
    item: &ItemId,
    seq: DeliverySeq,
    correct: bool,
    scheduler: &srs::Scheduler,
    now: DateTime<Utc>,
) -> Outcome {
    let memory = scheduler.review(learner.progress.memory.get(item), srs::Grade::of(correct), now);
    learner.progress.memory.insert(item.clone(), memory);
    let waited = learner.progress.waiting.as_ref().is_some_and(|w| w.delivery == seq && w.kind == WaitKind::Quiz);
    match (waited, pack) {
        (true, Some(pack)) => session::after_quiz(learner, pack, now),
        _ => Outcome::default(),
    }
}

/// A first free-text answer to `question`: closes it and returns what follows (the next
/// question of the chain, or the rest of the lesson) if the lesson was waiting on it.
pub(crate) fn question_answered(
    learner: &mut Learner,
    pack: Option<&Pack>,
    question: &OpenQuestion,
    now: DateTime<Utc>,
) -> Outcome {
    session::close_question(learner, question.delivery, question.kind);
    let waited = learner
        .progress
        .waiting
        .as_ref()
        .is_some_and(|w| w.delivery == question.delivery && matches!(w.kind, WaitKind::Reflect { .. }));
    match (waited, pack, question.kind) {
        (true, Some(pack), OpenKind::Reflect { question: number }) => {
            session::after_reflection(learner, pack, &question.item, number, now)
        }
        _ => Outcome::default(),
    }
}

/// A practice check-in ("how did it go?") answered on delivery `seq` for `item`: the learner may
/// add a note in free text, so that question is open now.
pub(crate) fn practice_checked(learner: &mut Learner, item: &ItemId, seq: DeliverySeq, now: DateTime<Utc>) {
    session::open_question(learner, seq, item, OpenKind::PracticeNote, now);
}
