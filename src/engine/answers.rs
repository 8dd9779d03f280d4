//! What an answer changes, as pure decisions: a quiz answer updates the item's memory and lets
//! the lesson go on if it was waiting on it (in two taps where the cohort asks how sure the
//! learner is: the answer, then the confidence); a reflection answer closes the question and
//! moves the chain or the lesson on; a practice check-in opens a question for a note on how it
//! went. Shared by the daemon and the simulator.

use chrono::{DateTime, Utc};

use super::srs::Grade;
use super::{Outcome, session, srs};
use crate::content::Pack;
use crate::domain::{Confidence, DeliverySeq, ItemId, Learner, OpenKind, OpenQuestion, PendingConfidence, WaitKind};

/// The most answers kept waiting for their confidence at once (a slot's reviews come together,
/// and each may be rated in any order); the oldest goes first.
const MAX_PENDING_CONFIDENCE: usize = 16;

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

/// The first of two taps, where the cohort asks how sure the learner is: the quiz answer on
/// delivery `seq` for `item` is graded at once as if nothing were asked (right Good, wrong
/// Again), so a confidence that never comes loses nothing, and kept waiting for its confidence
/// with the memory from before it. The lesson does not go on yet: it waits for the second tap
/// ([`confidence_given`]), or, if that never comes, goes on at the next slot as after any
/// unanswered quiz.
pub(crate) fn quiz_answered_awaiting_confidence(
    learner: &mut Learner,
    item: &ItemId,
    seq: DeliverySeq,
    correct: bool,
    scheduler: &srs::Scheduler,
    now: DateTime<Utc>,
) {
    let before = learner.progress.memory.get(item).cloned();
    let memory = scheduler.review(before.as_ref(), Grade::of(correct), now);
    learner.progress.memory.insert(item.clone(), memory);
    let pending = &mut learner.progress.confidence;
    pending.retain(|waiting| waiting.item != *item);
    pending.push(PendingConfidence { delivery: seq, item: item.clone(), answered_at: now, before });
    if pending.len() > MAX_PENDING_CONFIDENCE {
        pending.remove(0);
    }
}

/// The second tap: the learner was `confidence` of their answer (right if `correct`) to the
/// quiz on delivery `seq`. `None`, changing nothing, when that answer no longer waits for it:
/// rated already, the item answered or asked again since, or a slot of the learner's dropped it
/// after 12 hours. Else
/// a right answer they were not sure of is graded again as Hard, from the memory before the
/// first tap and at its time (sure stays Good, wrong stays Again), and the rest of the lesson
/// comes if it waited on this quiz.
pub(crate) fn confidence_given(
    learner: &mut Learner,
    pack: Option<&Pack>,
    seq: DeliverySeq,
    correct: bool,
    confidence: Confidence,
    scheduler: &srs::Scheduler,
    now: DateTime<Utc>,
) -> Option<Outcome> {
    let idx = learner.progress.confidence.iter().position(|waiting| waiting.delivery == seq)?;
    let pending = &learner.progress.confidence[idx];
    let untouched = learner
        .progress
        .memory
        .get(&pending.item)
        .is_some_and(|memory| memory.last_review == pending.answered_at && memory.asked.is_none());
    if !untouched {
        return None;
    }
    let pending = learner.progress.confidence.remove(idx);
    let grade = Grade::rated(correct, confidence);
    if grade != Grade::of(correct) {
        let memory = scheduler.review(pending.before.as_ref(), grade, pending.answered_at);
        learner.progress.memory.insert(pending.item.clone(), memory);
    }
    let waited = learner.progress.waiting.as_ref().is_some_and(|w| w.delivery == seq && w.kind == WaitKind::Quiz);
    Some(match (waited, pack) {
        (true, Some(pack)) => session::after_quiz(learner, pack, now),
        _ => Outcome::default(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{at, demo_pack, id, item, learner, seq};

    #[test]
    fn an_answer_waits_for_its_confidence_until_the_item_is_answered_again() {
        let mut learner = learner(id(7));
        let (quiz, now) = (item("one/quiz"), at("2026-11-24T08:05:00Z"));
        quiz_answered_awaiting_confidence(&mut learner, &quiz, seq(10), true, &srs::Scheduler::default(), now);
        let later = now + chrono::Duration::days(3);
        quiz_answered_awaiting_confidence(&mut learner, &quiz, seq(20), false, &srs::Scheduler::default(), later);
        let before = learner.clone();
        let stale =
            confidence_given(&mut learner, None, seq(10), true, Confidence::NotSure, &srs::Scheduler::default(), later);
        assert_eq!(stale, None, "the older answer's confidence is stale");
        assert_eq!(learner, before, "and changes nothing");
        assert!(
            confidence_given(&mut learner, None, seq(20), false, Confidence::Sure, &srs::Scheduler::default(), later)
                .is_some()
        );
        assert!(learner.progress.confidence.is_empty());
    }

    #[test]
    fn a_memory_touched_since_the_first_tap_is_not_graded_again() {
        let mut learner = learner(id(7));
        let (quiz, now) = (item("one/quiz"), at("2026-11-24T08:05:00Z"));
        quiz_answered_awaiting_confidence(&mut learner, &quiz, seq(10), true, &srs::Scheduler::default(), now);
        if let Some(memory) = learner.progress.memory.get_mut(&quiz) {
            memory.asked = Some(now + chrono::Duration::days(3));
        }
        let before = learner.clone();
        assert_eq!(
            confidence_given(&mut learner, None, seq(10), true, Confidence::NotSure, &srs::Scheduler::default(), now),
            None
        );
        assert_eq!(learner, before, "the review sent since keeps its state");
    }

    #[test]
    fn the_lesson_goes_on_only_at_the_confidence_and_only_if_it_waited_on_that_quiz() {
        let pack = demo_pack();
        let mut learner = learner(id(7));
        crate::engine::session::start_next_lesson(&mut learner, &pack);
        let now = at("2026-11-24T08:00:00Z");
        let sent = crate::engine::session::advance(&mut learner, &pack, now, usize::MAX);
        let numbered = crate::engine::apply(&mut learner, sent, now, |_| Ok::<_, ()>(seq(10))).unwrap();
        assert_eq!(numbered.len(), 2, "the lesson and its quiz");
        quiz_answered_awaiting_confidence(
            &mut learner,
            &item("one/quiz"),
            seq(10),
            true,
            &srs::Scheduler::default(),
            now,
        );
        assert!(learner.progress.waiting.is_some(), "the first tap leaves the lesson waiting");
        let rest = confidence_given(
            &mut learner,
            Some(&pack),
            seq(10),
            true,
            Confidence::Sure,
            &srs::Scheduler::default(),
            now,
        )
        .unwrap();
        assert!(matches!(rest.drafts[0].purpose, crate::domain::Purpose::Reflect { question: 0, .. }));
        assert_eq!(learner.progress.waiting, None, "the quiz holds up the lesson no more");
        let again = confidence_given(
            &mut learner,
            Some(&pack),
            seq(10),
            true,
            Confidence::Sure,
            &srs::Scheduler::default(),
            now,
        );
        assert_eq!(again, None, "a second confidence finds nothing to rate");
    }
}
