use super::*;
use crate::model::{Step, WaitKind};
use crate::testkit::{LESSON_ONE, LESSON_TWO, at, demo_pack, learner, pack};

fn bodies(outcome: &Outcome) -> Vec<String> {
    outcome
        .drafts
        .iter()
        .map(|draft| match &draft.body {
            DraftBody::Lesson { lesson } => format!("lesson {lesson}"),
            DraftBody::Quiz { item, .. } => format!("quiz {item}"),
            DraftBody::Reflect { item, question } => format!("reflect {item} {question}"),
            DraftBody::Practice { item } => format!("practice {item}"),
            DraftBody::Message(_) => "message".to_owned(),
            DraftBody::Edit { .. } => "edit".to_owned(),
        })
        .collect()
}

#[test]
fn a_slot_sends_the_next_lesson_and_its_first_question() {
    let pack = demo_pack();
    let mut learner = learner(1);
    let outcome = slot_nudge(&mut learner, &pack, at("2026-11-24T08:00:00Z"));
    assert_eq!(bodies(&outcome), ["lesson one", "quiz one/quiz"]);
    assert_eq!(outcome.waiting_on, Some(1));
    assert_eq!(
        learner.progress.waiting.as_ref().unwrap().kind,
        WaitKind::Quiz
    );
    assert_eq!(learner.progress.lessons_started, ["one"]);
}

#[test]
fn answers_move_through_the_lesson_at_the_learners_pace() {
    let pack = demo_pack();
    let now = at("2026-11-24T08:00:00Z");
    let mut learner = learner(1);
    slot_nudge(&mut learner, &pack, now);
    let after_quiz = after_quiz(&mut learner, &pack, now);
    assert_eq!(bodies(&after_quiz), ["reflect one/reflect 0"]);
    let second = after_reflection(&mut learner, &pack, "one/reflect", 0, now);
    assert_eq!(bodies(&second), ["reflect one/reflect 1"]);
    assert_eq!(
        learner.progress.waiting.as_ref().unwrap().kind,
        WaitKind::Reflect { question: 1 }
    );
    let rest = after_reflection(&mut learner, &pack, "one/reflect", 1, now);
    assert_eq!(bodies(&rest), ["practice one/practice"]);
    assert!(
        learner.progress.waiting.is_none(),
        "practice needs no immediate answer"
    );
    assert!(learner.progress.queue.is_empty());
}

#[test]
fn an_unanswered_lesson_continues_at_the_next_slot() {
    let pack = demo_pack();
    let mut learner = learner(1);
    slot_nudge(&mut learner, &pack, at("2026-11-24T08:00:00Z"));
    let next = slot_nudge(&mut learner, &pack, at("2026-11-25T08:00:00Z"));
    assert_eq!(bodies(&next), ["reflect one/reflect 0"]);
}

#[test]
fn the_next_lesson_starts_when_the_previous_is_done() {
    let pack = demo_pack();
    let mut learner = learner(1);
    learner.progress.lessons_started = vec!["one".to_owned()];
    let outcome = slot_nudge(&mut learner, &pack, at("2026-11-24T08:00:00Z"));
    assert_eq!(bodies(&outcome), ["lesson two", "quiz two/quiz"]);
}

#[test]
fn a_finished_pack_sends_nothing() {
    let pack = demo_pack();
    let mut learner = learner(1);
    learner.progress.lessons_started = vec!["one".to_owned(), "two".to_owned()];
    assert!(
        slot_nudge(&mut learner, &pack, at("2026-11-24T08:00:00Z"))
            .drafts
            .is_empty()
    );
}

#[test]
fn retired_items_are_skipped_not_fatal() {
    let pack = pack(&[LESSON_TWO]);
    let mut learner = learner(1);
    learner.progress.queue = vec![
        Step::Item {
            item: "gone/quiz".to_owned(),
        },
        Step::Lesson {
            lesson: "gone".to_owned(),
        },
    ];
    let outcome = slot_nudge(&mut learner, &pack, at("2026-11-24T08:00:00Z"));
    assert!(outcome.drafts.is_empty());
    assert!(learner.progress.queue.is_empty());
    let next = slot_nudge(&mut learner, &pack, at("2026-11-25T08:00:00Z"));
    assert_eq!(bodies(&next), ["lesson two", "quiz two/quiz"]);
}

#[test]
fn a_quiz_records_its_right_option_in_the_purpose() {
    let pack = pack(&[LESSON_ONE]);
    let mut learner = learner(1);
    let outcome = slot_nudge(&mut learner, &pack, at("2026-11-24T08:00:00Z"));
    assert_eq!(
        outcome.drafts[1].purpose,
        crate::model::Purpose::Quiz {
            item: "one/quiz".to_owned(),
            correct: 1
        }
    );
}
