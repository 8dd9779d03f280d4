//! Applying a decision to a learner: the one place drafts get their delivery numbers and the
//! learner the state that hangs on them (what the lesson waits on, which free-text questions are
//! open). The daemon, `simulate` and the property tests all go through it.
//!
//! Pure: the numbers come from the caller (the store's transaction in the daemon, a counter
//! elsewhere).

use chrono::{DateTime, Utc};

use super::{Draft, Outcome, session};
use crate::domain::{DeliverySeq, Learner, OpenKind, Purpose, WaitKind, Waiting};

/// A draft with its delivery number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Numbered {
    /// The delivery that carries it (quiz buttons carry it too).
    pub seq: DeliverySeq,
    /// What to render and record.
    pub draft: Draft,
}

/// Numbers `outcome`'s drafts in order and applies them to `learner` at `now`: a prompt that
/// holds up the lesson becomes their waiting state (the last one, if several do), and a
/// reflection question or the team question is opened for free-text answers, each under its
/// own delivery number.
///
/// `number` is asked for each draft's number in turn and may render and record the draft right
/// there: the daemon does, so the further parts of a long text get the numbers right after their
/// first and a restart sends them in order. Its first error stops the walk and is returned; the
/// drafts before it are applied.
pub(crate) fn apply<E>(
    learner: &mut Learner,
    outcome: Outcome,
    now: DateTime<Utc>,
    mut number: impl FnMut(&Draft) -> Result<DeliverySeq, E>,
) -> Result<Vec<Numbered>, E> {
    let mut numbered = Vec::with_capacity(outcome.drafts.len());
    for draft in outcome.drafts {
        let seq = number(&draft)?;
        if let Some(waiting) = waiting_on(&draft, seq) {
            learner.progress.waiting = Some(waiting);
        }
        match &draft.purpose {
            Purpose::Reflect { item, question } => {
                session::open_question(learner, seq, item, OpenKind::Reflect { question: *question }, now);
            }
            Purpose::TeamQuestion => session::open_team_question(learner, seq, now),
            _ => {}
        }
        numbered.push(Numbered { seq, draft });
    }
    Ok(numbered)
}

/// The waiting state `draft` leaves under delivery `seq`, if it holds up the lesson. Only a quiz
/// and a reflection question expect an answer the lesson waits for.
fn waiting_on(draft: &Draft, seq: DeliverySeq) -> Option<Waiting> {
    let wait = draft.wait?;
    let (item, kind) = match &draft.purpose {
        Purpose::Quiz { item, .. } => (item, WaitKind::Quiz),
        Purpose::Reflect { item, question } => (item, WaitKind::Reflect { question: *question }),
        Purpose::Lesson { .. }
        | Purpose::Practice { .. }
        | Purpose::PracticeCheck { .. }
        | Purpose::Milestone
        | Purpose::Reply
        | Purpose::TeamQuestion
        | Purpose::Colleagues
        | Purpose::Digest { .. }
        | Purpose::LeadSwitch { .. } => return None,
    };
    Some(Waiting { delivery: seq, item: item.clone(), kind, since: wait.since, reminded: wait.reminded })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::domain::OpenQuestion;
    use crate::engine::{SlotContext, Wait, answers, plan_slot};
    use crate::render;
    use crate::schedule::policy::Policy;
    use crate::testkit::{at, demo_pack, id, item, learner, seq};

    /// A source that skips numbers, so a waiting state that followed a draft's index or its
    /// neighbour would show.
    fn every_tenth(start: DeliverySeq) -> impl FnMut(&Draft) -> Result<DeliverySeq, Infallible> {
        let mut next = start;
        move |_| {
            next = DeliverySeq::new(next.get() + 10);
            Ok(next)
        }
    }

    fn quiz(item: &str, since: DateTime<Utc>) -> Draft {
        let purpose = Purpose::Quiz { item: crate::testkit::item(item), correct: 0, review: false };
        Draft { wait: Some(Wait::new(since)), ..Draft::content(purpose) }
    }

    #[test]
    fn the_learner_waits_on_the_delivery_that_carries_the_prompt() {
        let now = at("2026-11-24T08:00:00Z");
        let mut learner = learner(id(1));
        let practice = Draft::content(Purpose::Practice { item: item("one/practice") });
        let outcome =
            Outcome { drafts: vec![Draft::message(render::text("ok".to_owned())), quiz("one/quiz", now), practice] };
        let Ok(numbered) = apply(&mut learner, outcome, now, every_tenth(seq(100)));
        let seqs: Vec<DeliverySeq> = numbered.iter().map(|numbered| numbered.seq).collect();
        assert_eq!(seqs, [seq(110), seq(120), seq(130)]);
        let expected =
            Waiting { delivery: seq(120), item: item("one/quiz"), kind: WaitKind::Quiz, since: now, reminded: false };
        assert_eq!(learner.progress.waiting, Some(expected));
    }

    #[test]
    fn a_reflection_question_waits_and_is_open_under_its_own_number() {
        let since = at("2026-11-23T08:00:00Z");
        let now = at("2026-11-24T08:00:00Z");
        let mut learner = learner(id(1));
        let purpose = Purpose::Reflect { item: item("one/reflect"), question: 1 };
        let reminder = Draft { wait: Some(Wait { since, reminded: true }), ..Draft::content(purpose) };
        let outcome = Outcome { drafts: vec![Draft::message(render::text("ok".to_owned())), reminder] };
        let Ok(_) = apply(&mut learner, outcome, now, every_tenth(seq(0)));
        let waiting = learner.progress.waiting.clone().unwrap();
        assert_eq!((waiting.delivery, waiting.since, waiting.reminded), (seq(20), since, true));
        let open = OpenQuestion {
            delivery: seq(20),
            item: item("one/reflect"),
            kind: OpenKind::Reflect { question: 1 },
            asked_at: now,
        };
        assert_eq!(learner.progress.open, [open]);
    }

    #[test]
    fn drafts_that_hold_nothing_up_leave_the_waiting_state_alone() {
        let now = at("2026-11-24T08:00:00Z");
        let mut learner = learner(id(1));
        let Ok(_) = apply(&mut learner, Outcome { drafts: vec![quiz("one/quiz", now)] }, now, every_tenth(seq(0)));
        let review = Draft::content(Purpose::Quiz { item: item("two/quiz"), correct: 0, review: true });
        let Ok(_) = apply(&mut learner, Outcome { drafts: vec![review] }, now, every_tenth(seq(50)));
        assert_eq!(learner.progress.waiting.map(|waiting| waiting.delivery), Some(seq(10)));
    }

    #[test]
    fn an_error_from_the_number_source_stops_the_walk() {
        let now = at("2026-11-24T08:00:00Z");
        let mut learner = learner(id(1));
        let outcome = Outcome { drafts: vec![quiz("one/quiz", now)] };
        let result = apply(&mut learner, outcome, now, |_| Err("store full"));
        assert_eq!(result, Err("store full"));
        assert!(learner.progress.waiting.is_none());
    }

    #[test]
    fn the_answer_to_the_numbered_quiz_moves_the_lesson_on_and_another_number_does_not() {
        let pack = demo_pack();
        let now = at("2026-11-24T08:00:00Z");
        let mut learner = learner(id(1));
        let ctx = SlotContext {
            pack: &pack,
            policy: &Policy::default(),
            tz: chrono_tz::Europe::Amsterdam,
            now,
            lessons: crate::engine::NewLessons::OnePerSlot,
        };
        let outcome = plan_slot(&mut learner, &ctx);
        let Ok(numbered) = apply(&mut learner, outcome, now, every_tenth(seq(0)));
        let quiz = numbered.iter().find(|numbered| numbered.draft.wait.is_some()).map(|numbered| numbered.seq);
        assert_eq!(quiz, Some(seq(20)), "the lesson text is 10, its quiz 20");
        let mut other = learner.clone();
        let stale =
            answers::quiz_answered(&mut other, Some(&pack), &item("one/quiz"), seq(10), true, &Default::default(), now);
        assert!(stale.drafts.is_empty(), "an answer on another delivery holds the lesson");
        let next = answers::quiz_answered(
            &mut learner,
            Some(&pack),
            &item("one/quiz"),
            seq(20),
            true,
            &Default::default(),
            now,
        );
        assert!(next.waits(), "the reflection comes next and waits in turn");
    }
}
