//! The exact bytes nudge stores and backs up, pinned as literals: a learner record (JSON), a
//! delivery with its answers (postcard) and the lines of a backup. A change to the model types
//! that changes any of them breaks every store and backup already out there.

use std::collections::BTreeMap;

use super::records::{decode_exchange, encode_exchange};
use super::*;
use crate::domain::{
    Answer, AnswerKind, CardState, DayCount, DeliveryState, FollowUp, Memory, OpenKind, OpenQuestion, OutMessage,
    Outgoing, Progress, Purpose, Step, WaitKind, Waiting,
};
use crate::testkit::{at, item, learner};

fn memory(state: CardState, asked: Option<&str>) -> Memory {
    Memory {
        due: at("2026-11-30T09:00:00Z"),
        stability: 4.5,
        difficulty: 6.25,
        reps: 3,
        lapses: 1,
        last_review: at("2026-11-24T09:00:00Z"),
        elapsed_days: 2,
        scheduled_days: 6,
        state,
        asked: asked.map(at),
    }
}

/// A learner in the middle of a lesson, with every part of the progress filled in, as stored
/// before the team loop.
fn busy_record() -> Learner {
    let progress = Progress {
        lessons_started: vec!["one".to_owned(), "two".to_owned()],
        queue: vec![Step::Item { item: item("two/reflect") }, Step::Lesson { lesson: "three".to_owned() }],
        waiting: Some(Waiting {
            delivery: DeliverySeq::new(12),
            item: item("two/quiz"),
            kind: WaitKind::Quiz,
            since: at("2026-11-25T09:00:00Z"),
            reminded: true,
        }),
        open: vec![OpenQuestion {
            delivery: DeliverySeq::new(9),
            item: item("one/reflect"),
            kind: OpenKind::Reflect { question: 1 },
            asked_at: at("2026-11-24T09:01:00Z"),
        }],
        memory: BTreeMap::from([
            (item("one/quiz"), memory(CardState::Review, None)),
            (item("one/quiz-2"), memory(CardState::Relearning, Some("2026-11-25T09:00:00Z"))),
        ]),
        follow_ups: vec![FollowUp { item: item("one/practice"), due: at("2026-11-26T09:00:00Z") }],
        finished_at: None,
        mastered_at: None,
        today: Some(DayCount { date: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(), messages: 2 }),
        active_days: vec![chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()],
        track: None,
        confidence: Vec::new(),
    };
    // Every record from before the team loop has seen no notice that says what a lead sees.
    Learner { progress, notice_version: 0, ..learner(LearnerId::new(42)) }
}

const LEARNER_JSON: &str = r#"{"id":42,"cohort":"desk","name":"Learner42","lang":"en","status":{"state":"active"},"enrolled_at":"2026-11-23T08:00:00Z","progress":{"lessons_started":["one","two"],"queue":[{"step":"item","item":"two/reflect"},{"step":"lesson","lesson":"three"}],"waiting":{"delivery":12,"item":"two/quiz","kind":{"kind":"quiz"},"since":"2026-11-25T09:00:00Z","reminded":true},"open":[{"delivery":9,"item":"one/reflect","kind":{"kind":"reflect","question":1},"asked_at":"2026-11-24T09:01:00Z"}],"memory":{"one/quiz":{"due":"2026-11-30T09:00:00Z","stability":4.5,"difficulty":6.25,"reps":3,"lapses":1,"last_review":"2026-11-24T09:00:00Z","elapsed_days":2,"scheduled_days":6,"state":2,"asked":null},"one/quiz-2":{"due":"2026-11-30T09:00:00Z","stability":4.5,"difficulty":6.25,"reps":3,"lapses":1,"last_review":"2026-11-24T09:00:00Z","elapsed_days":2,"scheduled_days":6,"state":3,"asked":"2026-11-25T09:00:00Z"}},"follow_ups":[{"item":"one/practice","due":"2026-11-26T09:00:00Z"}],"finished_at":null,"mastered_at":null,"today":{"date":"2026-11-25","messages":2},"active_days":["2026-11-24"]},"prefs":{"time":null,"timezone":null},"next_nudge":null}"#;

#[test]
fn a_learner_record_keeps_its_exact_json() {
    let bytes = encode(&busy_record()).unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), LEARNER_JSON);
    assert_eq!(decode::<Learner>("learners", LEARNER_JSON.as_bytes()).unwrap(), busy_record());
}

#[test]
fn the_team_loop_adds_to_a_learner_record_only_what_it_has() {
    use crate::domain::{LearnerTeam, PRIVACY_NOTICE, TeamAsked, TeamSlot};
    let fresh = Learner { notice_version: PRIVACY_NOTICE, ..busy_record() };
    let json = String::from_utf8(encode(&fresh).unwrap()).unwrap();
    assert_eq!(json, LEARNER_JSON.replace(r#""next_nudge":null}"#, r#""next_nudge":null,"notice_version":1}"#));
    let team = LearnerTeam {
        open: Some(TeamAsked { delivery: DeliverySeq::new(20), asked_at: at("2026-11-27T13:00:00Z") }),
        waiting: Some(TeamSlot { slot: "team:2026-11-27T14:00:00".to_owned(), at: at("2026-11-27T13:00:00Z") }),
        colleagues: Some(at("2026-11-30T07:00:00Z")),
    };
    let busy = Learner { team, ..fresh };
    assert_eq!(decode::<Learner>("learners", &encode(&busy).unwrap()).unwrap(), busy);
}

#[test]
fn an_unknown_card_state_or_a_malformed_item_id_is_a_damaged_record_not_a_panic() {
    for (good, bad) in [(r#""state":2"#, r#""state":7"#), (r#""one/quiz":"#, r#""one-quiz":"#)] {
        let damaged = LEARNER_JSON.replace(good, bad);
        assert!(matches!(decode::<Learner>("learners", damaged.as_bytes()), Err(StoreError::Corrupt { .. })), "{bad}");
    }
}

fn quiz_delivery() -> Delivery {
    Delivery {
        seq: DeliverySeq::new(12),
        learner: LearnerId::new(42),
        cohort: "desk".to_owned(),
        created: at("2026-11-25T09:00:00Z"),
        slot: Some("2026-11-25T10:00".to_owned()),
        purpose: Purpose::Quiz { item: item("two/quiz"), correct: 1, review: true },
        state: DeliveryState::Sent { message_id: 77, at: at("2026-11-25T09:00:01Z") },
        outgoing: None,
    }
}

fn answers() -> Vec<Answer> {
    let answer = |id: &str, kind| Answer {
        learner: LearnerId::new(42),
        cohort: "desk".to_owned(),
        delivery: DeliverySeq::new(12),
        item: item(id),
        at: at("2026-11-25T09:03:00Z"),
        prompt_sent_at: Some(at("2026-11-25T09:00:01Z")),
        kind,
    };
    vec![
        answer("two/quiz", AnswerKind::Quiz { choice: 0, correct: false, review: true, confidence: None }),
        answer("one/practice", AnswerKind::PracticeNote { text: "done".to_owned() }),
    ]
}

fn pending_reflect() -> Delivery {
    Delivery {
        seq: DeliverySeq::new(13),
        slot: None,
        purpose: Purpose::Reflect { item: item("two/reflect"), question: 0 },
        state: DeliveryState::Pending,
        outgoing: Some(Outgoing::Send { message: OutMessage { html: "<b>Think</b>".to_owned(), buttons: Vec::new() } }),
        ..quiz_delivery()
    }
}

fn lesson_and_practice_check() -> [Delivery; 2] {
    let lesson = Delivery {
        seq: DeliverySeq::new(11),
        purpose: Purpose::Lesson { lesson: "two".to_owned() },
        ..quiz_delivery()
    };
    let check = Delivery {
        seq: DeliverySeq::new(14),
        purpose: Purpose::PracticeCheck { item: item("one/practice") },
        ..quiz_delivery()
    };
    [lesson, check]
}

/// The quiz with its answers, the pending reflection, the lesson, and the practice check with
/// its answer.
fn exchanges() -> [Exchange; 4] {
    let [lesson, check] = lesson_and_practice_check();
    let outcome = Answer {
        delivery: DeliverySeq::new(14),
        item: item("one/practice"),
        kind: AnswerKind::Practice { outcome: crate::domain::PracticeOutcome::Partly },
        ..answers()[0].clone()
    };
    [
        Exchange { delivery: Some(quiz_delivery()), answers: answers() },
        Exchange { delivery: Some(pending_reflect()), answers: Vec::new() },
        Exchange { delivery: Some(lesson), answers: Vec::new() },
        Exchange { delivery: Some(check), answers: vec![outcome] },
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

const EXCHANGES: [&str; 4] = [
    "01046465736b80aaf79ec2680110323032362d31312d32355431303a3030010874776f2f7175697a0101019a01d0b9f79ec2680002c0a68d9fc26800000001000000c0a68d9fc2680304646f6e6500010c6f6e652f707261637469636500",
    "01046465736b80aaf79ec26800020b74776f2f7265666c6563740000012f7b226f70223a2273656e64222c226d657373616765223a7b2268746d6c223a223c623e5468696e6b3c2f623e227d7d00",
    "01046465736b80aaf79ec2680110323032362d31312d32355431303a3030000374776f019a01d0b9f79ec2680000",
    "01046465736b80aaf79ec2680110323032362d31312d32355431303a3030040c6f6e652f7072616374696365019a01d0b9f79ec2680001c0a68d9fc2680201000000",
];

#[test]
fn a_delivery_and_its_answers_keep_their_exact_record() {
    for (exchange, expected) in exchanges().into_iter().zip(EXCHANGES) {
        let bytes = encode_exchange(&exchange).unwrap();
        let seq = exchange.delivery.as_ref().expect("every pinned exchange has its delivery").seq;
        assert_eq!(decode_exchange(&keys::delivery(LearnerId::new(42), seq), &bytes).unwrap(), exchange);
        assert_eq!(hex(&bytes), expected);
    }
}

/// The quiz exchange with its answer rated "not sure" (schema 4): the unrated answer's bytes
/// with the record kind and the confidence after it.
const RATED_EXCHANGE: &str = "01046465736b80aaf79ec2680110323032362d31312d32355431303a3030010874776f2f7175697a0101019a01d0b9f79ec2680001c0a68d9fc2680400000101000000";

#[test]
fn a_rated_quiz_answer_keeps_its_exact_record() {
    let kind = AnswerKind::Quiz {
        choice: 0,
        correct: false,
        review: true,
        confidence: Some(crate::domain::Confidence::NotSure),
    };
    let exchange = Exchange { delivery: Some(quiz_delivery()), answers: vec![Answer { kind, ..answers()[0].clone() }] };
    let bytes = encode_exchange(&exchange).unwrap();
    assert_eq!(decode_exchange(&keys::delivery(LearnerId::new(42), DeliverySeq::new(12)), &bytes).unwrap(), exchange);
    assert_eq!(hex(&bytes), RATED_EXCHANGE);
}

#[test]
fn an_answer_waiting_for_its_confidence_adds_to_a_learner_record_only_what_it_has() {
    let mut waiting = busy_record();
    waiting.progress.confidence = vec![crate::domain::PendingConfidence {
        delivery: DeliverySeq::new(12),
        item: item("two/quiz"),
        answered_at: at("2026-11-25T09:03:00Z"),
        before: Some(memory(CardState::Review, None)),
    }];
    let json = String::from_utf8(encode(&waiting).unwrap()).unwrap();
    assert!(json.contains(r#""active_days":["2026-11-24"],"confidence":[{"delivery":12,"item":"two/quiz""#), "{json}");
    assert_eq!(decode::<Learner>("learners", json.as_bytes()).unwrap(), waiting);
}

const BACKUP_LINES: [&str; 11] = [
    // Schema 4 only added a record kind (rated quiz answers) and schema 5 only recomputed memory
    // states (FSRS-6): every line below kept its bytes.
    r#"{"nudge_backup":1,"schema":5}"#,
    r#"{"tree":"learners","key":"000000000000002a","value":{"id":42,"cohort":"desk","name":"Learner42","lang":"en","status":{"state":"active"},"enrolled_at":"2026-11-23T08:00:00Z","progress":{"lessons_started":["one","two"],"queue":[{"step":"item","item":"two/reflect"},{"step":"lesson","lesson":"three"}],"waiting":{"delivery":12,"item":"two/quiz","kind":{"kind":"quiz"},"since":"2026-11-25T09:00:00Z","reminded":true},"open":[{"delivery":9,"item":"one/reflect","kind":{"kind":"reflect","question":1},"asked_at":"2026-11-24T09:01:00Z"}],"memory":{"one/quiz":{"due":"2026-11-30T09:00:00Z","stability":4.5,"difficulty":6.25,"reps":3,"lapses":1,"last_review":"2026-11-24T09:00:00Z","elapsed_days":2,"scheduled_days":6,"state":2,"asked":null},"one/quiz-2":{"due":"2026-11-30T09:00:00Z","stability":4.5,"difficulty":6.25,"reps":3,"lapses":1,"last_review":"2026-11-24T09:00:00Z","elapsed_days":2,"scheduled_days":6,"state":3,"asked":"2026-11-25T09:00:00Z"}},"follow_ups":[{"item":"one/practice","due":"2026-11-26T09:00:00Z"}],"finished_at":null,"mastered_at":null,"today":{"date":"2026-11-25","messages":2},"active_days":["2026-11-24"]},"prefs":{"time":null,"timezone":null},"next_nudge":{"at":"2026-11-26T09:00:00Z","slot":"2026-11-26T10:00"}}}"#,
    r#"{"tree":"agenda","key":"000000006b07f510000000000000002a","value":{"at":"2026-11-26T09:00:00Z","slot":"2026-11-26T10:00"}}"#,
    r#"{"tree":"deliveries","key":"000000000000002a000000000000000b","value":{"seq":11,"learner":42,"cohort":"desk","created":"2026-11-25T09:00:00Z","slot":"2026-11-25T10:00","purpose":{"purpose":"lesson","lesson":"two"},"state":{"state":"sent","message_id":77,"at":"2026-11-25T09:00:01Z"},"outgoing":null}}"#,
    r#"{"tree":"deliveries","key":"000000000000002a000000000000000c","value":{"seq":12,"learner":42,"cohort":"desk","created":"2026-11-25T09:00:00Z","slot":"2026-11-25T10:00","purpose":{"purpose":"quiz","item":"two/quiz","correct":1,"review":true},"state":{"state":"sent","message_id":77,"at":"2026-11-25T09:00:01Z"},"outgoing":null}}"#,
    r#"{"tree":"answers","key":"000000000000002a000000000000000c00000000","value":{"learner":42,"cohort":"desk","delivery":12,"item":"two/quiz","at":"2026-11-25T09:03:00Z","prompt_sent_at":"2026-11-25T09:00:01Z","kind":{"kind":"quiz","choice":0,"correct":false,"review":true}}}"#,
    r#"{"tree":"answers","key":"000000000000002a000000000000000c00000001","value":{"learner":42,"cohort":"desk","delivery":12,"item":"one/practice","at":"2026-11-25T09:03:00Z","prompt_sent_at":"2026-11-25T09:00:01Z","kind":{"kind":"practice_note","text":"done"}}}"#,
    r#"{"tree":"deliveries","key":"000000000000002a000000000000000d","value":{"seq":13,"learner":42,"cohort":"desk","created":"2026-11-25T09:00:00Z","slot":null,"purpose":{"purpose":"reflect","item":"two/reflect","question":0},"state":{"state":"pending"},"outgoing":{"op":"send","message":{"html":"<b>Think</b>"}}}}"#,
    r#"{"tree":"deliveries","key":"000000000000002a000000000000000e","value":{"seq":14,"learner":42,"cohort":"desk","created":"2026-11-25T09:00:00Z","slot":"2026-11-25T10:00","purpose":{"purpose":"practice_check","item":"one/practice"},"state":{"state":"sent","message_id":77,"at":"2026-11-25T09:00:01Z"},"outgoing":null}}"#,
    r#"{"tree":"answers","key":"000000000000002a000000000000000e00000000","value":{"learner":42,"cohort":"desk","delivery":14,"item":"one/practice","at":"2026-11-25T09:03:00Z","prompt_sent_at":"2026-11-25T09:00:01Z","kind":{"kind":"practice","outcome":"partly"}}}"#,
    r#"{"tree":"slots","key":"000000000000002a6465736b40323032362d31312d32355431303a3030","value":"2026-11-25T09:00:00Z"}"#,
];

#[test]
fn a_backup_keeps_its_exact_lines() {
    let store = Store::temporary().unwrap();
    store
        .with_learner(LearnerId::new(42), |tx| {
            let next = NextNudge { at: at("2026-11-26T09:00:00Z"), slot: "2026-11-26T10:00".to_owned() };
            tx.put_learner(&Learner { next_nudge: Some(next.clone()), ..busy_record() })?;
            tx.set_agenda(None, Some(&next))?;
            tx.claim_slot("desk", "2026-11-25T10:00", at("2026-11-25T09:00:00Z"))?;
            for exchange in exchanges() {
                tx.put_delivery(exchange.delivery.as_ref().expect("every pinned exchange has its delivery"))?;
                for answer in &exchange.answers {
                    tx.put_answer(answer)?;
                }
            }
            Ok(())
        })
        .unwrap();
    let text = backup_text(&store);
    assert_eq!(lines_but_meta(&text), BACKUP_LINES);
    let restored = Store::temporary().unwrap();
    restored.restore(&mut text.as_bytes()).unwrap();
    assert_eq!(lines_but_meta(&backup_text(&restored)), BACKUP_LINES, "a restore reads every line back");
}

/// A webhook update's record: the update id, big-endian, → the claim time in microseconds since
/// 1970, big-endian, 1 once handled (0 before), and the claimer (this opening's number).
#[test]
fn a_webhook_update_record_keeps_its_exact_bytes() {
    let store = Store::temporary().unwrap();
    let update = crate::domain::UpdateId::new(5);
    let claim = store.claim_update(update, at("2026-11-24T08:00:00Z"), chrono::Duration::seconds(60)).unwrap();
    assert_eq!(claim, UpdateClaim::Taken);
    let stored = |store: &Store| store.updates.get(5u64.to_be_bytes()).unwrap().map(|value| value.to_vec());
    let record = |done: u8| {
        let mut bytes = vec![0x00, 0x06, 0x61, 0x01, 0x18, 0xd9, 0x00, 0x00, done];
        bytes.extend(store.incarnation.to_be_bytes());
        bytes
    };
    assert_eq!(stored(&store), Some(record(0)));
    store.finish_update(update, at("2026-11-24T08:00:30Z")).unwrap();
    assert_eq!(stored(&store), Some(record(1)), "the claim time stays");
}

fn backup_text(store: &Store) -> String {
    let mut out = Vec::new();
    store.backup(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn lines_but_meta(text: &str) -> Vec<&str> {
    text.lines().filter(|line| !line.contains(r#""tree":"meta""#)).collect()
}
