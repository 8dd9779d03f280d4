//! Confidence-rated quiz answers through the service: the first tap records the answer and asks
//! "how sure?" in place, the second gives the verdict and the rest of the lesson, a "not sure"
//! on a right answer grades it Hard, and a second tap that is late, forged or repeated changes
//! nothing. With `confidence = false` one tap does it all, as before.

use std::path::Path;

use chrono::Duration;

use super::*;
use crate::domain::{AnswerKind, Confidence, Memory, NextNudge, Outgoing};
use crate::engine::srs::{self, Grade};
use crate::store::Store;
use crate::testkit::{at, demo_pack, id, item, library, person};

/// The test cohort (weekdays at 09:00 in Amsterdam), with `extra` cohort keys.
fn service_with(extra: &str) -> Service {
    let config = format!(
        "[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"JOIN\"\nschedule = \"0 9 * * Mon-Fri\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\n{extra}\n"
    );
    let settings = Settings::parse(&config, Path::new("test.toml")).unwrap();
    Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings), library(demo_pack()))
}

/// The quiz message's Telegram id in these tests.
const QUIZ_MESSAGE: i64 = 10;

/// Tuesday 24 November 2026, 09:00 in Amsterdam: the learners' first slot.
fn first_slot() -> DateTime<Utc> {
    at("2026-11-24T08:00:00Z")
}

/// Five minutes after the first slot: when the learners answer.
fn answered_at() -> DateTime<Utc> {
    first_slot() + Duration::minutes(5)
}

fn press_at(service: &Service, learner: i64, data: &str, now: DateTime<Utc>) -> Handled {
    let incoming = Incoming::Press {
        from: person(id(learner)),
        query_id: "q".to_owned(),
        message_id: Some(QUIZ_MESSAGE),
        data: data.to_owned(),
    };
    service.handle(&incoming, now).unwrap()
}

fn outgoing(service: &Service, learner: i64, seq: DeliverySeq) -> Outgoing {
    service.store().delivery(id(learner), seq).unwrap().unwrap().outgoing.unwrap()
}

fn html(service: &Service, learner: i64, seq: DeliverySeq) -> String {
    match outgoing(service, learner, seq) {
        Outgoing::Send { message } | Outgoing::Edit { message, .. } => message.html,
        Outgoing::Document { caption, .. } => caption,
    }
}

fn buttons(service: &Service, learner: i64, seq: DeliverySeq) -> Vec<(String, String)> {
    match outgoing(service, learner, seq) {
        Outgoing::Send { message } | Outgoing::Edit { message, .. } => {
            message.buttons.concat().into_iter().map(|button| (button.label, button.data)).collect()
        }
        Outgoing::Document { .. } => Vec::new(),
    }
}

fn learner(service: &Service, n: i64) -> Learner {
    service.store().learner(id(n)).unwrap().unwrap()
}

fn quiz_memory(service: &Service, n: i64) -> Memory {
    learner(service, n).progress.memory[&item("one/quiz")].clone()
}

fn answers(service: &Service) -> Vec<AnswerKind> {
    service.store().answers().map(|answer| answer.unwrap().kind).collect()
}

/// Learner `n` joins on Monday and gets the first slot: the lesson and its quiz. Returns the
/// quiz's delivery.
fn nudged(service: &Service, n: i64) -> DeliverySeq {
    service.handle(&Incoming::from_text(person(id(n)), "/start JOIN", None), at("2026-11-23T09:00:00Z")).unwrap();
    let next = learner(service, n).next_nudge.unwrap();
    assert_eq!(next.at, first_slot());
    let sent = service.nudge_due(id(n), &next, next.at).unwrap();
    assert_eq!(sent.len(), 2, "the lesson and its quiz");
    sent[1]
}

/// The data of option `option` ("wrong" is 0, "right" is 1) of quiz `quiz`.
fn option(quiz: DeliverySeq, option: usize) -> String {
    format!("q:{quiz}:{option}")
}

fn confidence(quiz: DeliverySeq, sure: bool) -> String {
    format!("c:{quiz}:{}", if sure { "y" } else { "n" })
}

#[test]
fn the_first_tap_records_the_answer_and_asks_how_sure_in_the_same_message() {
    let service = service_with("");
    let quiz = nudged(&service, 7);

    let first = press_at(&service, 7, &option(quiz, 1), answered_at());

    assert!(first.recorded_answer);
    assert_eq!(first.toast, None, "no verdict before the confidence");
    assert_eq!(first.to_send.len(), 1, "only the quiz message, edited");
    let Outgoing::Edit { message_id, message } = outgoing(&service, 7, first.to_send[0]) else {
        panic!("the quiz is edited in place")
    };
    assert_eq!(message_id, QUIZ_MESSAGE);
    assert!(message.html.contains("Pick?\n\nYour answer: right\n\nHow sure are you?"), "{}", message.html);
    assert!(!message.html.contains("Right!") && !message.html.contains("Because."), "{}", message.html);
    let labels: Vec<(String, String)> =
        message.buttons.concat().into_iter().map(|button| (button.label, button.data)).collect();
    assert_eq!(labels, [("Sure".to_owned(), confidence(quiz, true)), ("Not sure".to_owned(), confidence(quiz, false))]);
    assert_eq!(answers(&service), [AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: None }]);
    let after = learner(&service, 7);
    assert_eq!(
        after.progress.memory[&item("one/quiz")],
        srs::Scheduler::default().review(None, Grade::Good, answered_at())
    );
    assert_eq!(after.progress.waiting.map(|waiting| waiting.delivery), Some(quiz), "the lesson waits on the quiz");
    assert_eq!(after.progress.confidence.len(), 1);
    assert_eq!(
        press_at(&service, 7, &option(quiz, 0), answered_at()).toast.as_deref(),
        Some("You already answered this one.")
    );
}

#[test]
fn sure_brings_the_verdict_and_the_rest_of_the_lesson() {
    let service = service_with("");
    let quiz = nudged(&service, 7);
    press_at(&service, 7, &option(quiz, 1), answered_at());
    let graded = quiz_memory(&service, 7);

    let second = press_at(&service, 7, &confidence(quiz, true), answered_at() + Duration::seconds(3));

    assert_eq!(second.toast.as_deref(), Some("✅ Right!"));
    assert!(!second.recorded_answer, "the answer was counted at the first tap");
    assert_eq!(second.to_send.len(), 2, "the verdict and the reflection");
    let verdict = html(&service, 7, second.to_send[0]);
    assert!(verdict.contains("Your answer: right\n✅ Right!") && verdict.ends_with("Because."), "{verdict}");
    assert!(buttons(&service, 7, second.to_send[0]).is_empty(), "no buttons left");
    assert!(html(&service, 7, second.to_send[1]).contains("Think."));
    let sure = Some(Confidence::Sure);
    assert_eq!(answers(&service), [AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: sure }]);
    assert_eq!(quiz_memory(&service, 7), graded, "sure and right stays Good");
    assert!(learner(&service, 7).progress.confidence.is_empty());
}

#[test]
fn not_sure_on_a_right_answer_grades_it_hard_so_it_comes_back_sooner() {
    let service = service_with("");
    let (sure, unsure) = (nudged(&service, 7), nudged(&service, 8));
    for (n, quiz) in [(7, sure), (8, unsure)] {
        press_at(&service, n, &option(quiz, 1), answered_at());
    }
    press_at(&service, 7, &confidence(sure, true), answered_at() + Duration::seconds(3));

    let second = press_at(&service, 8, &confidence(unsure, false), answered_at() + Duration::minutes(1));

    assert_eq!(second.toast.as_deref(), Some("✅ Right!"));
    let verdict = html(&service, 8, second.to_send[0]);
    assert!(verdict.contains("You weren't sure, so it will come back a little sooner."), "{verdict}");
    let (sure_memory, unsure_memory) = (quiz_memory(&service, 7), quiz_memory(&service, 8));
    assert_eq!(
        unsure_memory,
        srs::Scheduler::default().review(None, Grade::Hard, answered_at()),
        "from before the first tap, at its time"
    );
    assert!(unsure_memory.due < sure_memory.due, "{} < {}", unsure_memory.due, sure_memory.due);
    let not_sure = Some(Confidence::NotSure);
    let kinds = answers(&service);
    assert!(kinds.contains(&AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: not_sure }));
    assert!(html(&service, 8, second.to_send[1]).contains("Think."), "the lesson goes on");
}

#[test]
fn a_wrong_answer_stays_again_however_sure_and_a_sure_one_is_told_to_look_again() {
    let service = service_with("");
    let (sure, unsure) = (nudged(&service, 7), nudged(&service, 8));
    for (n, quiz, is_sure) in [(7, sure, true), (8, unsure, false)] {
        press_at(&service, n, &option(quiz, 0), answered_at());
        let second = press_at(&service, n, &confidence(quiz, is_sure), answered_at());
        assert_eq!(second.toast.as_deref(), Some("❌ Not quite"));
        let verdict = html(&service, n, second.to_send[0]);
        assert_eq!(verdict.contains("You were sure of this one"), is_sure, "{verdict}");
    }
    let again = srs::Scheduler::default().review(None, Grade::Again, answered_at());
    assert_eq!((quiz_memory(&service, 7), quiz_memory(&service, 8)), (again.clone(), again));
}

#[test]
fn a_confidence_that_never_comes_keeps_the_graded_answer_and_the_lesson_goes_on_at_the_next_slot() {
    let service = service_with("");
    let quiz = nudged(&service, 7);
    press_at(&service, 7, &option(quiz, 1), answered_at());
    let next = learner(&service, 7).next_nudge.unwrap();
    assert_eq!(next.at, at("2026-11-25T08:00:00Z"), "Wednesday's slot");

    let slot = service.nudge_due(id(7), &next, next.at).unwrap();

    assert_eq!(slot.len(), 1, "the rest of the lesson: its reflection question");
    assert!(html(&service, 7, slot[0]).contains("Think."));
    assert_eq!(answers(&service), [AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: None }]);
    assert_eq!(
        quiz_memory(&service, 7),
        srs::Scheduler::default().review(None, Grade::Good, answered_at()),
        "graded Good"
    );
    assert!(learner(&service, 7).progress.confidence.is_empty(), "the slot moved the learner on");
    let before = learner(&service, 7);
    let late = press_at(&service, 7, &confidence(quiz, false), next.at + Duration::minutes(1));
    assert_eq!(late.toast.as_deref(), Some("Your answer is saved. It's too late to say how sure you were."));
    assert!(late.to_send.is_empty());
    assert_eq!(learner(&service, 7), before, "a late tap changes nothing");
    assert_eq!(answers(&service), [AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: None }]);
}

#[test]
fn a_wrong_answer_whose_confidence_never_comes_is_graded_again_and_asked_the_next_day() {
    let service = service_with("");
    let quiz = nudged(&service, 7);
    press_at(&service, 7, &option(quiz, 0), answered_at());
    let next = learner(&service, 7).next_nudge.unwrap();
    service.nudge_due(id(7), &next, next.at).unwrap();
    assert_eq!(quiz_memory(&service, 7), srs::Scheduler::default().review(None, Grade::Again, answered_at()));
    assert!(quiz_memory(&service, 7).due <= answered_at() + Duration::days(1));
}

#[test]
fn forged_stale_and_repeated_confidence_taps_change_nothing() {
    let service = service_with("");
    let quiz = nudged(&service, 7);
    nudged(&service, 8);
    let lesson = DeliverySeq::new(quiz.get() - 1);
    let unchanged = |service: &Service, what: &str, data: &str, toast: &str| {
        let before = (learner(service, 7), answers(service));
        let handled = press_at(service, 7, data, answered_at());
        assert_eq!(handled.toast.as_deref(), Some(toast), "{what}");
        assert!(handled.to_send.is_empty() && !handled.recorded_answer, "{what}");
        assert_eq!((learner(service, 7), answers(service)), before, "{what}");
    };
    let stale = "This button no longer works.";
    unchanged(&service, "a confidence before any answer", &confidence(quiz, true), stale);
    unchanged(&service, "a delivery that is no quiz", &confidence(lesson, true), stale);
    unchanged(&service, "a delivery that does not exist", "c:999999:y", stale);
    unchanged(&service, "malformed data", "c:1:maybe", stale);

    press_at(&service, 7, &option(quiz, 1), answered_at());
    let someone_else = press_at(&service, 8, &confidence(quiz, true), answered_at());
    assert!(someone_else.to_send.is_empty() && someone_else.toast.is_some(), "learner 8 has no answer there");
    assert_eq!(learner(&service, 7).progress.confidence.len(), 1, "learner 7's answer still waits");
    press_at(&service, 7, &confidence(quiz, true), answered_at());
    let already = "You already answered this one.";
    unchanged(&service, "a second tap on the same button", &confidence(quiz, true), already);
    unchanged(&service, "the other button after all", &confidence(quiz, false), already);
}

#[test]
fn a_review_asks_how_sure_too_and_not_sure_grades_it_again_from_before_the_review() {
    let service = service_with("");
    let quiz = nudged(&service, 7);
    press_at(&service, 7, &option(quiz, 1), answered_at());
    press_at(&service, 7, &confidence(quiz, true), answered_at());
    let learned = quiz_memory(&service, 7);
    let (review, slot) = first_review(&service, 7);

    let first = press_at(&service, 7, &option(review, 1), slot + Duration::minutes(2));
    assert!(html(&service, 7, first.to_send[0]).contains("How sure are you?"));
    let second = press_at(&service, 7, &confidence(review, false), slot + Duration::minutes(3));

    assert_eq!(second.to_send.len(), 1, "the verdict: a review holds up no lesson");
    assert!(html(&service, 7, second.to_send[0]).contains("Review"));
    assert_eq!(
        quiz_memory(&service, 7),
        srs::Scheduler::default().review(Some(&learned), Grade::Hard, slot + Duration::minutes(2))
    );
    let rated: Vec<_> =
        answers(&service).into_iter().filter(|kind| matches!(kind, AnswerKind::Quiz { review: true, .. })).collect();
    assert_eq!(
        rated,
        [AnswerKind::Quiz { choice: 1, correct: true, review: true, confidence: Some(Confidence::NotSure) }]
    );
}

/// Runs learner `n`'s slots until one sends a review of the quiz; returns it and its slot.
fn first_review(service: &Service, n: i64) -> (DeliverySeq, DateTime<Utc>) {
    for _ in 0..10 {
        let next: NextNudge = learner(service, n).next_nudge.unwrap();
        for seq in service.nudge_due(id(n), &next, next.at).unwrap() {
            let purpose = service.store().delivery(id(n), seq).unwrap().unwrap().purpose;
            if matches!(purpose, Purpose::Quiz { review: true, .. }) {
                return (seq, next.at);
            }
        }
    }
    panic!("no review in ten slots")
}

#[test]
fn with_confidence_off_one_tap_gives_the_verdict_and_the_rest_of_the_lesson() {
    let service = service_with("confidence = false");
    let quiz = nudged(&service, 7);

    let handled = press_at(&service, 7, &option(quiz, 1), answered_at());

    assert_eq!(handled.toast.as_deref(), Some("✅ Right!"));
    assert!(handled.recorded_answer);
    assert_eq!(handled.to_send.len(), 2, "the verdict and the reflection");
    let verdict = html(&service, 7, handled.to_send[0]);
    assert!(verdict.contains("✅ Right!") && !verdict.contains("How sure"), "{verdict}");
    assert!(html(&service, 7, handled.to_send[1]).contains("Think."));
    assert_eq!(answers(&service), [AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: None }]);
    assert!(learner(&service, 7).progress.confidence.is_empty());
    assert_eq!(quiz_memory(&service, 7), srs::Scheduler::default().review(None, Grade::Good, answered_at()));
}

#[test]
fn on_a_dense_schedule_a_confidence_after_the_next_slot_still_counts_and_repeats_nothing() {
    let config = "[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"JOIN\"\nschedule = \"*/20 * * * * *\"\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\nquiet_hours = \"none\"\nmax_messages_per_day = 20\n";
    let settings = Settings::parse(config, Path::new("test.toml")).unwrap();
    let service = Service::new(Arc::new(Store::temporary().unwrap()), Arc::new(settings), library(demo_pack()));
    let joined = at("2026-11-24T08:00:05Z");
    service.handle(&Incoming::from_text(person(id(7)), "/start JOIN", None), joined).unwrap();
    let first = learner(&service, 7).next_nudge.unwrap();
    let quiz = service.nudge_due(id(7), &first, first.at).unwrap()[1];
    let tapped = first.at + Duration::seconds(5);
    press_at(&service, 7, &option(quiz, 1), tapped);
    let next = learner(&service, 7).next_nudge.unwrap();
    assert_eq!(next.at - first.at, Duration::seconds(20));
    let slot = service.nudge_due(id(7), &next, next.at).unwrap();
    assert_eq!(slot.len(), 1, "the slot goes on with the lesson: its reflection question");

    let rated = press_at(&service, 7, &confidence(quiz, false), next.at + Duration::seconds(10));

    assert_eq!(rated.to_send.len(), 1, "the verdict only; the lesson went on already");
    assert!(matches!(outgoing(&service, 7, rated.to_send[0]), Outgoing::Edit { .. }));
    let expected = srs::Scheduler::default().review(None, Grade::Hard, tapped);
    assert_eq!(quiz_memory(&service, 7), expected, "not sure: graded Hard from before the first tap");
}
