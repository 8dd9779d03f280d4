use super::*;
use crate::model::{AnswerKind, Outgoing};
use crate::schedule::cron::Slot;
use crate::testkit::{at, demo_pack, library, person, settings};

fn service() -> Service {
    Service::new(
        Store::temporary().unwrap(),
        Arc::new(settings()),
        library(demo_pack()),
    )
}

fn now() -> DateTime<Utc> {
    at("2026-11-24T08:00:00Z")
}

fn say(service: &Service, id: i64, text: &str) -> Handled {
    service
        .handle(&Incoming::from_text(person(id), text, None), now())
        .unwrap()
}

fn press(service: &Service, id: i64, data: &str, message_id: i64) -> Handled {
    let incoming = Incoming::Press {
        from: person(id),
        query_id: "q".to_owned(),
        message_id: Some(message_id),
        data: data.to_owned(),
    };
    service.handle(&incoming, now()).unwrap()
}

/// The text of delivery `seq` (sends and edits alike).
fn html(service: &Service, id: i64, seq: DeliverySeq) -> String {
    match service
        .store()
        .delivery(id, seq)
        .unwrap()
        .unwrap()
        .outgoing
        .unwrap()
    {
        Outgoing::Send { message } | Outgoing::Edit { message, .. } => message.html,
    }
}

fn slot(key_time: &str) -> Slot {
    let at = at(key_time);
    Slot {
        at,
        local: at.naive_utc(),
    }
}

/// Enrols learner `id` and sends them the first slot; returns the slot's deliveries.
fn enrolled_and_nudged(service: &Service, id: i64) -> Vec<DeliverySeq> {
    say(service, id, "/start JOIN");
    let cohort = service.settings().cohort("desk").unwrap().clone();
    let batches = service
        .run_slot(&cohort, &slot("2026-11-24T08:00:00Z"), &[id], now())
        .unwrap();
    batches.into_iter().flat_map(|batch| batch.seqs).collect()
}

fn quiz_data(service: &Service, id: i64, seq: DeliverySeq, option: usize) -> String {
    match service
        .store()
        .delivery(id, seq)
        .unwrap()
        .unwrap()
        .outgoing
        .unwrap()
    {
        Outgoing::Send { message } => message.buttons[option][0].data.clone(),
        Outgoing::Edit { .. } => panic!("not a quiz"),
    }
}

#[test]
fn start_with_a_known_invite_enrols_and_welcomes() {
    let service = service();
    let handled = say(&service, 7, "/start JOIN");
    let learner = service.store().learner(7).unwrap().unwrap();
    assert_eq!(learner.cohort, "desk");
    assert_eq!(handled.to_send.len(), 2, "welcome and privacy notice");
    assert!(html(&service, 7, handled.to_send[0]).contains("Demo pack"));
}

#[test]
fn start_with_a_wrong_or_missing_invite_is_refused_kindly() {
    let service = service();
    let wrong = say(&service, 7, "/start NOPE");
    assert!(html(&service, 7, wrong.to_send[0]).contains("I don't know the invite code “NOPE”"));
    let missing = say(&service, 8, "/start");
    assert!(html(&service, 8, missing.to_send[0]).contains("followed by your invite code"));
    assert!(service.store().learner(7).unwrap().is_none());
    assert!(service.store().learner(8).unwrap().is_none());
}

#[test]
fn a_slot_nudges_each_learner_once() {
    let service = service();
    let first = enrolled_and_nudged(&service, 7);
    assert_eq!(first.len(), 2, "lesson and quiz");
    assert!(html(&service, 7, first[0]).contains("One &amp; only"));
    assert!(html(&service, 7, first[0]).contains("Body of &lt;one&gt;."));
    let cohort = service.settings().cohort("desk").unwrap().clone();
    let again = service
        .run_slot(&cohort, &slot("2026-11-24T08:00:00Z"), &[7], now())
        .unwrap();
    assert!(again.is_empty(), "the same slot twice sends nothing");
}

#[test]
fn a_quiz_press_is_recorded_once_and_gets_a_verdict() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    let right = quiz_data(&service, 7, seqs[1], 1);
    let handled = press(&service, 7, &right, 10);
    assert_eq!(handled.toast.as_deref(), Some("✅ Right!"));
    assert!(handled.recorded_answer);
    let edit = html(&service, 7, handled.to_send[0]);
    assert!(
        edit.contains("Your answer: right") && edit.contains("Because."),
        "{edit}"
    );
    assert!(
        html(&service, 7, handled.to_send[1]).contains("Think."),
        "the reflection follows"
    );
    let again = press(&service, 7, &right, 10);
    assert_eq!(
        again.toast.as_deref(),
        Some("You already answered this one.")
    );
    assert!(again.to_send.is_empty());
    let answers: Vec<_> = service.store().answers().collect::<Result<_, _>>().unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers[0].kind,
        AnswerKind::Quiz {
            choice: 1,
            correct: true
        }
    );
}

#[test]
fn a_press_on_someone_elses_quiz_or_forged_data_changes_nothing() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    say(&service, 8, "/start JOIN");
    let data = quiz_data(&service, 7, seqs[1], 0);
    assert_eq!(
        press(&service, 8, &data, 10).toast.as_deref(),
        Some("This button no longer works.")
    );
    for forged in ["q:999999:0", "q:1:x", "drop table", &"x".repeat(300)] {
        let handled = press(&service, 7, forged, 10);
        assert!(
            handled.to_send.is_empty() && !handled.recorded_answer,
            "{forged}"
        );
    }
    assert_eq!(service.store().answers().count(), 0);
}

#[test]
fn reflection_answers_are_recorded_and_the_chain_continues() {
    let service = service();
    let seqs = enrolled_and_nudged(&service, 7);
    press(&service, 7, &quiz_data(&service, 7, seqs[1], 0), 10);
    let first = say(&service, 7, "I listen more");
    assert!(first.recorded_answer);
    assert!(html(&service, 7, first.to_send[0]).contains("Thanks, noted."));
    assert!(html(&service, 7, first.to_send[1]).contains("Second?"));
    let second = say(&service, 7, "at the desk");
    assert!(
        html(&service, 7, second.to_send[1]).contains("Do it."),
        "practice follows the chain"
    );
    let texts: Vec<String> = service
        .store()
        .answers()
        .filter_map(|answer| match answer.unwrap().kind {
            AnswerKind::Reflect { text, .. } => Some(text),
            AnswerKind::Quiz { .. } => None,
        })
        .collect();
    assert_eq!(texts, ["I listen more", "at the desk"]);
}

#[test]
fn text_without_an_open_question_gets_a_hint() {
    let service = service();
    say(&service, 7, "/start JOIN");
    let handled = say(&service, 7, "hello?");
    assert!(!handled.recorded_answer);
    assert!(html(&service, 7, handled.to_send[0]).contains("not waiting for an answer"));
    let stranger = say(&service, 9, "hello?");
    assert!(html(&service, 9, stranger.to_send[0]).contains("haven't joined"));
}

#[test]
fn inactive_learners_are_not_nudged_until_they_start_again() {
    let service = service();
    say(&service, 7, "/start JOIN");
    service.store().deactivate(7, "blocked", now()).unwrap();
    let cohort = service.settings().cohort("desk").unwrap().clone();
    assert!(service.slot_members(&cohort, now()).unwrap().is_empty());
    let back = say(&service, 7, "/start");
    assert!(html(&service, 7, back.to_send[0]).contains("Welcome back"));
    assert_eq!(service.slot_members(&cohort, now()).unwrap(), vec![7]);
}
