//! The fast reading gives what `rows::parse` gives, for every kind of record, for records in
//! other forms and for damaged ones.

use super::*;
use crate::domain::{Button, OutMessage, Outgoing};
use crate::testkit::{at, item};

/// `text` read both ways: the same value, or an error both ways with the same words.
fn check_delivery(text: &str) {
    let expected = parse::<Delivery>("deliveries", text).map_err(|error| error.to_string());
    assert_eq!(delivery(text).map_err(|error| error.to_string()), expected, "{text}");
}

fn check_answer(text: &str) {
    let expected = parse::<Answer>("answers", text).map_err(|error| error.to_string());
    assert_eq!(answer(text).map_err(|error| error.to_string()), expected, "{text}");
}

/// `text` cut short at every character and changed at every byte reads as `parse` reads it.
fn check_damage(text: &str, check: fn(&str)) {
    for (at, _) in text.char_indices().skip(1) {
        check(&text[..at]);
        for insert in [" ", "0", "\\", "\"", "x"] {
            check(&format!("{}{insert}{}", &text[..at], &text[at..]));
        }
    }
    check(&format!(" {text}"));
    check(&format!("{text} "));
}

fn sent() -> Delivery {
    Delivery {
        seq: DeliverySeq::new(7),
        learner: LearnerId::new(42),
        cohort: "team-1".to_owned(),
        created: at("2026-09-30T16:40:54.800Z"),
        slot: Some("2026-09-30T16:40:54".to_owned()),
        purpose: Purpose::Quiz { item: item("lesson-0/quiz"), correct: 1, review: true },
        state: DeliveryState::Sent { message_id: 2, at: at("2026-09-30T16:40:54.800Z") },
        outgoing: None,
    }
}

fn quiz() -> Answer {
    Answer {
        learner: LearnerId::new(42),
        cohort: "team-1".to_owned(),
        delivery: DeliverySeq::new(7),
        item: item("lesson-0/quiz"),
        at: at("2026-09-30T16:44:54.800Z"),
        prompt_sent_at: Some(at("2026-09-30T16:40:54Z")),
        kind: AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: None },
    }
}

#[test]
fn every_kind_of_delivery_reads_as_parse_reads_it() {
    let message = OutMessage {
        html: "<b>Hi</b> \"you\" \\ ✓".to_owned(),
        buttons: vec![vec![Button { label: "Yes".to_owned(), data: "q:1".to_owned() }]],
    };
    let purposes = [
        Purpose::Lesson { lesson: "greet".to_owned() },
        Purpose::Quiz { item: item("greet/quiz"), correct: 2, review: false },
        Purpose::Reflect { item: item("greet/reflect"), question: 3 },
        Purpose::Practice { item: item("greet/practice") },
        Purpose::PracticeCheck { item: item("greet/practice") },
        Purpose::Milestone,
        Purpose::Reply,
        Purpose::TeamQuestion,
        Purpose::Colleagues,
        Purpose::Digest { cohort: "desk".to_owned() },
        Purpose::LeadSwitch { cohort: "sales".to_owned() },
    ];
    let states = [
        (DeliveryState::Pending, Some(Outgoing::Send { message: message.clone() })),
        (DeliveryState::Pending, Some(Outgoing::Edit { message_id: 9, message })),
        (DeliveryState::Failed { reason: "blocked by the user".to_owned(), at: at("2026-10-01T00:00:00Z") }, None),
        (sent().state, None),
    ];
    for purpose in purposes {
        for (state, outgoing) in states.clone() {
            let delivery = Delivery { purpose: purpose.clone(), state, outgoing, slot: None, ..sent() };
            let text = serde_json::to_string(&delivery).unwrap();
            let fast = fast_delivery(&text);
            assert_eq!(fast.as_ref(), delivery.outgoing.is_none().then_some(&delivery), "{text}");
            check_delivery(&text);
        }
    }
}

#[test]
fn every_kind_of_answer_reads_as_parse_reads_it() {
    let kinds = [
        quiz().kind,
        AnswerKind::Quiz { choice: 0, correct: false, review: true, confidence: Some(Confidence::NotSure) },
        AnswerKind::Quiz { choice: 3, correct: true, review: true, confidence: Some(Confidence::Sure) },
        AnswerKind::Reflect { question: 2, text: "Line one\nand \"two\" ✓".to_owned(), shared: true },
        AnswerKind::Practice { outcome: PracticeOutcome::Done },
        AnswerKind::Practice { outcome: PracticeOutcome::Partly },
        AnswerKind::Practice { outcome: PracticeOutcome::NotYet },
        AnswerKind::PracticeNote { text: "Called back".to_owned() },
    ];
    for kind in kinds {
        for prompt_sent_at in [None, quiz().prompt_sent_at] {
            let answer = Answer { kind: kind.clone(), prompt_sent_at, ..quiz() };
            let text = serde_json::to_string(&answer).unwrap();
            let escaped = matches!(&answer.kind, AnswerKind::Reflect { .. });
            assert_eq!(fast_answer(&text).as_ref(), (!escaped).then_some(&answer), "{text}");
            check_answer(&text);
        }
    }
}

#[test]
fn times_in_other_forms_read_as_chrono_reads_them() {
    let times = [
        "2026-09-30T18:44:54.8+02:00",
        "2026-09-30T16:44:54.123456789Z",
        "2026-09-30t16:44:54z",
        "2026-09-30 16:44:54.800Z",
        "2026-06-30T23:59:60.500Z",
        "2026-02-30T16:44:54.800Z",
        "2026-09-30T24:00:00.000Z",
        "2026-09-30T16:44:54.80xZ",
        "+2026-09-30T16:44:54Z",
        "yesterday",
    ];
    for time in times {
        check_answer(&format!(
            r#"{{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"{time}","prompt_sent_at":null,
                "kind":{{"kind":"practice","outcome":"done"}}}}"#
        ));
    }
}

#[test]
fn odd_and_damaged_records_read_as_parse_reads_them() {
    let answers = [
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","kind":{"kind":"quiz","choice":1,"correct":true}}"#,
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","prompt_sent_at":null,"kind":{"choice":1,"kind":"quiz","correct":true,"text":7}}"#,
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","prompt_sent_at":null,"kind":{"kind":"quiz","choice":1,"correct":true,"review":null}}"#,
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","prompt_sent_at":null,"kind":{"kind":"quiz","correct":true}}"#,
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","prompt_sent_at":null,"kind":{"kind":"guess"}}"#,
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"ab","at":"2026-09-30T16:44:54Z","prompt_sent_at":null,"kind":{"kind":"practice_note","text":"x"}}"#,
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","extra":1,"kind":{"kind":"practice_note","text":"x"}}"#,
        r#"{"learner":1,"cohort":"c","cohort":"d","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","kind":{"kind":"practice_note","text":"x"}}"#,
        r#"{"learner":1,"cohort":"c","delivery":-1,"item":"a/b","at":"2026-09-30T16:44:54Z","kind":{"kind":"practice_note","text":"x"}}"#,
        r#"{"learner":1,"cohort":"c","delivery":1,"item":"a/b","at":"2026-09-30T16:44:54Z","kind":{"kind":"practice_note","text":"x"}} x"#,
        "not json",
    ];
    for text in answers {
        check_answer(text);
    }
    let deliveries = [
        r#"{"seq":1,"learner":1,"cohort":"c","created":"2026-09-30T16:40:54.800Z","purpose":{"purpose":"milestone","item":5},"state":{"state":"pending"}}"#,
        r#"{"seq":1,"learner":1,"cohort":"c","created":"2026-09-30T16:40:54.800Z","purpose":{"purpose":"quiz","item":"a/b","correct":1},"state":{"state":"sent","message_id":2}}"#,
        r#"{"seq":1,"learner":1,"cohort":"c","created":"2026-09-30T16:40:54.800Z","purpose":{"purpose":"lesson","lesson":null},"state":{"state":"pending"}}"#,
        r#"{"seq":1,"learner":1,"cohort":"c","created":"2026-09-30T16:40:54.800Z","slot":null,"purpose":{"purpose":"reply"},"state":{"state":"failed","reason":"x","at":"2026-09-30T16:40:54Z"},"outgoing":null}"#,
        r#"{"seq":1,"learner":1,"cohort":"c","created":"2026-09-30T16:40:54.800Z","purpose":{"purpose":"reply"},"state":{"state":"gone"}}"#,
    ];
    for text in deliveries {
        check_delivery(text);
    }
}

#[test]
fn records_cut_short_or_changed_anywhere_read_as_parse_reads_them() {
    let reflect = AnswerKind::Reflect { question: 2, text: "Plain".to_owned(), shared: true };
    let rated = AnswerKind::Quiz { choice: 0, correct: false, review: true, confidence: Some(Confidence::NotSure) };
    for answer in [quiz(), Answer { kind: reflect, ..quiz() }, Answer { kind: rated, prompt_sent_at: None, ..quiz() }] {
        check_damage(&serde_json::to_string(&answer).unwrap(), check_answer);
    }
    let failed = DeliveryState::Failed { reason: "blocked".to_owned(), at: at("2026-10-01T00:00:00Z") };
    for delivery in [sent(), Delivery { state: failed, slot: None, purpose: Purpose::Milestone, ..sent() }] {
        check_damage(&serde_json::to_string(&delivery).unwrap(), check_delivery);
    }
}

#[test]
fn numbers_at_their_limits_read_as_parse_reads_them() {
    for learner in
        ["-9223372036854775808", "-9223372036854775809", "9223372036854775807", "9223372036854775808", "-0", "00", "-"]
    {
        check_answer(&format!(
            r#"{{"learner":{learner},"cohort":"c","delivery":18446744073709551615,"item":"a/b","at":"2026-09-30T16:44:54Z","prompt_sent_at":null,"kind":{{"kind":"practice","outcome":"done"}}}}"#
        ));
    }
    check_answer(
        r#"{"learner":1,"cohort":"c","delivery":18446744073709551616,"item":"a/b","at":"2026-09-30T16:44:54Z","prompt_sent_at":null,"kind":{"kind":"practice","outcome":"done"}}"#,
    );
}
