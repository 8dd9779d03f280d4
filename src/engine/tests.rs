use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::Amsterdam;

use super::session::{after_quiz, after_reflection};
use super::*;
use crate::content::Pack;
use crate::domain::{DeliverySeq, Learner, Memory, Purpose, Step, WaitKind};
use crate::schedule::policy::Policy;
use crate::testkit::{LESSON_ONE, LESSON_TWO, at, demo_pack, id, item, learner, pack};

/// Tuesday 24 November 2026, 09:00 in Amsterdam.
const TUESDAY_9: &str = "2026-11-24T08:00:00Z";

fn bodies(outcome: &Outcome) -> Vec<String> {
    outcome
        .drafts
        .iter()
        .map(|draft| match (&draft.purpose, &draft.extra) {
            (_, Extra::Milestone(milestone)) => format!("{milestone:?}"),
            (_, Extra::Ready(Outgoing::Send { .. })) => "message".to_owned(),
            (_, Extra::Ready(Outgoing::Edit { .. })) => "edit".to_owned(),
            (_, Extra::Ready(Outgoing::Document { file_name, .. })) => format!("file {file_name}"),
            (Purpose::Lesson { lesson }, _) => format!("lesson {lesson}"),
            (Purpose::Quiz { item, review: false, .. }, _) => format!("quiz {item}"),
            (Purpose::Quiz { item, review: true, .. }, _) => format!("review {item}"),
            (Purpose::Reflect { item, question }, extra) => {
                format!("reflect {item} {question}{}", if *extra == Extra::Reminder { " again" } else { "" })
            }
            (Purpose::Practice { item }, _) => format!("practice {item}"),
            (Purpose::PracticeCheck { item }, _) => format!("check {item}"),
            (
                Purpose::Milestone
                | Purpose::Reply
                | Purpose::TeamQuestion
                | Purpose::Colleagues
                | Purpose::Digest { .. }
                | Purpose::LeadSwitch { .. },
                _,
            ) => {
                format!("{draft:?}")
            }
        })
        .collect()
}

/// Fresh delivery numbers, as the store hands them out.
fn fresh(_: &Draft) -> Result<DeliverySeq, Infallible> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Ok(DeliverySeq::new(NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// Applies `outcome` to `learner` as the daemon does, and returns it.
fn applied(learner: &mut Learner, outcome: Outcome, now: DateTime<Utc>) -> Outcome {
    let Ok(_) = apply(learner, outcome.clone(), now, fresh);
    outcome
}

fn plan(learner: &mut Learner, pack: &Pack, policy: &Policy, now: DateTime<Utc>) -> Outcome {
    let outcome =
        plan_slot(learner, &SlotContext { pack, policy, tz: Amsterdam, now, lessons: NewLessons::OnePerSlot });
    applied(learner, outcome, now)
}

fn slot(learner: &mut Learner, pack: &Pack, now: &str) -> Vec<String> {
    bodies(&plan(learner, pack, &Policy::default(), at(now)))
}

fn due_memory(due: DateTime<Utc>) -> Memory {
    let mut memory = srs::Scheduler::default().review(None, srs::Grade::Good, due - Duration::days(3));
    memory.due = due;
    memory
}

#[test]
fn a_slot_sends_the_next_lesson_and_its_first_question() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    let now = at(TUESDAY_9);
    let outcome = plan_slot(
        &mut learner,
        &SlotContext { pack: &pack, policy: &Policy::default(), tz: Amsterdam, now, lessons: NewLessons::OnePerSlot },
    );
    let Ok(numbered) = apply(&mut learner, outcome.clone(), now, fresh);
    assert_eq!(bodies(&outcome), ["lesson one", "quiz one/quiz"]);
    assert_eq!(learner.progress.waiting.as_ref().unwrap().delivery, numbered[1].seq);
    assert_eq!(learner.progress.waiting.as_ref().unwrap().kind, WaitKind::Quiz);
    assert_eq!(learner.progress.lessons_started, ["one"]);
}

#[test]
fn answers_move_through_the_lesson_at_the_learners_pace() {
    let pack = demo_pack();
    let now = at(TUESDAY_9);
    let mut learner = learner(id(1));
    plan(&mut learner, &pack, &Policy::default(), now);
    let next = after_quiz(&mut learner, &pack, now);
    assert_eq!(bodies(&applied(&mut learner, next, now)), ["reflect one/reflect 0"]);
    let next = after_reflection(&mut learner, &pack, &item("one/reflect"), 0, now);
    assert_eq!(bodies(&applied(&mut learner, next, now)), ["reflect one/reflect 1"]);
    assert_eq!(learner.progress.waiting.as_ref().unwrap().kind, WaitKind::Reflect { question: 1 });
    let next = after_reflection(&mut learner, &pack, &item("one/reflect"), 1, now);
    assert_eq!(bodies(&applied(&mut learner, next, now)), ["practice one/practice"]);
    assert!(learner.progress.waiting.is_none(), "practice needs no immediate answer");
    assert_eq!(learner.progress.follow_ups[0].due, now + Duration::days(2));
}

#[test]
fn an_unanswered_lesson_continues_at_the_next_slot() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    slot(&mut learner, &pack, TUESDAY_9);
    assert_eq!(slot(&mut learner, &pack, "2026-11-25T08:00:00Z"), ["reflect one/reflect 0"]);
}

#[test]
fn an_unanswered_reflection_is_asked_once_more_then_the_lesson_goes_on() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    slot(&mut learner, &pack, TUESDAY_9);
    slot(&mut learner, &pack, "2026-11-25T08:00:00Z");
    assert_eq!(slot(&mut learner, &pack, "2026-11-26T08:00:00Z"), ["reflect one/reflect 0 again"]);
    assert_eq!(
        slot(&mut learner, &pack, "2026-11-27T08:00:00Z"),
        ["practice one/practice", "lesson two", "quiz two/quiz"]
    );
}

#[test]
fn due_reviews_come_first_and_are_capped_per_slot() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    learner.progress.lessons_started = vec!["one".to_owned()];
    for id in ["one/quiz", "two/quiz"] {
        learner.progress.memory.insert(item(id), due_memory(at("2026-11-23T08:00:00Z")));
    }
    let policy = Policy { max_reviews_per_slot: 1, ..Policy::default() };
    let outcome = plan(&mut learner, &pack, &policy, at(TUESDAY_9));
    assert_eq!(bodies(&outcome), ["review one/quiz", "lesson two", "quiz two/quiz"]);
    assert!(learner.progress.memory[&item("one/quiz")].asked.is_some());
}

#[test]
fn a_review_sent_and_not_answered_waits_for_its_answer_and_is_not_sent_again() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    learner.progress.lessons_started = vec!["one".to_owned(), "two".to_owned()];
    learner.progress.memory.insert(item("one/quiz"), due_memory(at("2026-11-23T08:00:00Z")));
    assert_eq!(slot(&mut learner, &pack, TUESDAY_9)[0], "review one/quiz");
    for later in ["2026-11-24T12:00:00Z", "2026-11-25T08:00:00Z", "2026-12-08T08:00:00Z"] {
        assert!(slot(&mut learner, &pack, later).iter().all(|body| body != "review one/quiz"), "{later}");
    }
    assert!(learner.progress.memory[&item("one/quiz")].asked.is_some(), "still out, waiting");
}

#[test]
fn the_daily_cap_holds_across_slots() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    let policy = Policy { max_messages_per_day: 3, ..Policy::default() };
    let first = plan(&mut learner, &pack, &policy, at(TUESDAY_9));
    assert_eq!(first.drafts.len(), 2);
    let second = plan(&mut learner, &pack, &policy, at("2026-11-24T12:00:00Z"));
    assert_eq!(bodies(&second), ["reflect one/reflect 0"]);
    assert!(plan(&mut learner, &pack, &policy, at("2026-11-24T15:00:00Z")).drafts.is_empty(), "3 sent today");
    assert!(!plan(&mut learner, &pack, &policy, at("2026-11-25T08:00:00Z")).drafts.is_empty(), "a new day");
}

#[test]
fn nothing_in_quiet_hours_or_on_days_off() {
    let pack = demo_pack();
    let policy = Policy { days_off: vec![chrono::Weekday::Sat], ..Policy::default() };
    assert!(plan(&mut learner(id(1)), &pack, &policy, at("2026-11-24T21:30:00Z")).drafts.is_empty(), "22:30 local");
    assert!(plan(&mut learner(id(1)), &pack, &policy, at("2026-11-28T08:00:00Z")).drafts.is_empty(), "Saturday");
}

#[test]
fn a_new_lesson_waits_when_the_budget_cannot_fit_it() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    learner.progress.memory.insert(item("x/quiz"), due_memory(at("2026-11-23T08:00:00Z")));
    learner.progress.memory.insert(item("one/quiz"), due_memory(at("2026-11-23T08:00:00Z")));
    let policy = Policy { max_messages_per_day: 2, max_reviews_per_slot: 2, ..Policy::default() };
    let outcome = plan(&mut learner, &pack, &policy, at(TUESDAY_9));
    assert_eq!(bodies(&outcome), ["review one/quiz"], "one review left one slot, too few for a lesson");
    assert!(learner.progress.lessons_started.is_empty());
}

#[test]
fn practice_follow_ups_come_when_due() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    learner.progress.lessons_started = vec!["one".to_owned(), "two".to_owned()];
    learner.progress.finished_at = Some(at("2026-11-20T08:00:00Z"));
    learner
        .progress
        .follow_ups
        .push(crate::domain::FollowUp { item: item("one/practice"), due: at("2026-11-25T08:00:00Z") });
    assert!(slot(&mut learner, &pack, TUESDAY_9).is_empty());
    assert_eq!(slot(&mut learner, &pack, "2026-11-25T08:00:00Z"), ["check one/practice"]);
    assert!(learner.progress.follow_ups.is_empty());
}

#[test]
fn a_finished_pack_says_so_once_then_sends_reviews_only() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    learner.progress.lessons_started = vec!["one".to_owned(), "two".to_owned()];
    assert_eq!(slot(&mut learner, &pack, TUESDAY_9), ["PackFinished"]);
    assert!(slot(&mut learner, &pack, "2026-11-25T08:00:00Z").is_empty());
    learner.progress.memory.insert(item("two/quiz"), due_memory(at("2026-11-26T07:00:00Z")));
    assert_eq!(slot(&mut learner, &pack, "2026-11-26T08:00:00Z"), ["review two/quiz"]);
}

#[test]
fn mastering_every_quiz_is_celebrated_once() {
    let pack = demo_pack();
    let mut learner = learner(id(1));
    learner.progress.lessons_started = vec!["one".to_owned(), "two".to_owned()];
    learner.progress.finished_at = Some(at("2026-11-01T08:00:00Z"));
    for id in ["one/quiz", "two/quiz"] {
        let mut memory = due_memory(at("2027-01-01T08:00:00Z"));
        memory.stability = srs::MASTERED_STABILITY_DAYS + 1.0;
        learner.progress.memory.insert(item(id), memory);
    }
    assert_eq!(slot(&mut learner, &pack, TUESDAY_9), ["AllMastered"]);
    assert!(slot(&mut learner, &pack, "2026-11-25T08:00:00Z").is_empty());
}

#[test]
fn retired_items_are_skipped_not_fatal() {
    let pack = pack(&[LESSON_TWO]);
    let mut learner = learner(id(1));
    learner.progress.queue = vec![Step::Item { item: item("gone/quiz") }, Step::Lesson { lesson: "gone".to_owned() }];
    learner.progress.memory.insert(item("gone/quiz"), due_memory(at("2026-11-23T08:00:00Z")));
    assert_eq!(slot(&mut learner, &pack, TUESDAY_9), ["lesson two", "quiz two/quiz"], "gone items are skipped");
}

#[test]
fn a_quiz_records_its_right_option_in_the_purpose() {
    let pack = pack(&[LESSON_ONE]);
    let mut learner = learner(id(1));
    let outcome = plan(&mut learner, &pack, &Policy::default(), at(TUESDAY_9));
    assert_eq!(outcome.drafts[1].purpose, Purpose::Quiz { item: item("one/quiz"), correct: 1, review: false });
}

#[test]
fn free_text_answers_the_newest_open_question_unless_it_replies_to_another() {
    use super::session::{TextTarget, close_team_question, open_question, open_team_question, text_target};
    use crate::domain::OpenKind;
    let seq = crate::testkit::seq;
    let asked = at(TUESDAY_9);
    let hours = |n: i64| asked + Duration::hours(n);
    let mut learner = learner(id(1));
    open_question(&mut learner, seq(10), &item("one/reflect"), OpenKind::Reflect { question: 0 }, asked);
    let reflection = TextTarget::Item(learner.progress.open[0].clone());
    open_team_question(&mut learner, seq(20), hours(1));
    let team = TextTarget::Team { delivery: seq(20) };
    assert_eq!(text_target(&learner, None, hours(2)), Some(team.clone()), "the team question came last");
    assert_eq!(text_target(&learner, Some(reflection.clone()), hours(2)), Some(reflection.clone()), "a reply picks");
    open_question(&mut learner, seq(30), &item("one/reflect"), OpenKind::Reflect { question: 1 }, hours(3));
    let later = text_target(&learner, None, hours(4));
    assert_eq!(later.map(|target| target.delivery()), Some(seq(30)), "a reflection asked later wins");
    assert_eq!(text_target(&learner, Some(team.clone()), hours(4)), Some(team.clone()));
    assert_eq!(text_target(&learner, None, hours(40)), Some(team.clone()), "reflections close after 36 hours");
    assert_eq!(text_target(&learner, None, hours(1) + session::TEAM_OPEN_FOR), None, "the team question after 4 days");
    close_team_question(&mut learner, seq(20));
    assert_eq!(text_target(&learner, None, hours(5)).map(|target| target.delivery()), Some(seq(30)));
    assert_eq!(text_target(&learner, None, hours(40)), None);
}

#[test]
fn of_a_team_question_and_a_reflection_asked_at_once_the_later_delivery_is_answered() {
    use super::session::{TextTarget, open_question, open_team_question, text_target};
    use crate::domain::OpenKind;
    let seq = crate::testkit::seq;
    let now = at(TUESDAY_9);
    let mut learner = learner(id(1));
    open_team_question(&mut learner, seq(5), now);
    open_question(&mut learner, seq(6), &item("one/reflect"), OpenKind::Reflect { question: 0 }, now);
    assert_eq!(text_target(&learner, None, now).map(|target| target.delivery()), Some(seq(6)));
    let mut other = crate::testkit::learner(id(2));
    open_question(&mut other, seq(5), &item("one/reflect"), OpenKind::Reflect { question: 0 }, now);
    open_team_question(&mut other, seq(6), now);
    assert_eq!(text_target(&other, None, now), Some(TextTarget::Team { delivery: seq(6) }));
}
