//! The compact on-disk form of deliveries and answers (schema version 2), the two trees that
//! grow with every prompt and answer.
//!
//! Values are [postcard](https://docs.rs/postcard) (varints, no field names) and hold only what
//! the key does not: a delivery's learner and seq, and an answer's learner and delivery, come
//! from the key. Times are whole milliseconds. The payload of a pending delivery is kept as JSON,
//! since it is dropped once sent. The model types stay plain serde for JSON (backups, exports).
//!
//! Variant order is part of the format: add variants at the end, never reorder.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{StoreError, keys};
use crate::model::{
    Answer, AnswerKind, Delivery, DeliverySeq, DeliveryState, LearnerId, Outgoing, PracticeOutcome, Purpose,
};

/// A delivery without its learner and seq (they are the key).
#[derive(Serialize, Deserialize)]
struct DeliveryRecord<'a> {
    cohort: Cow<'a, str>,
    created: i64,
    slot: Option<Cow<'a, str>>,
    purpose: PurposeRecord<'a>,
    state: StateRecord<'a>,
    /// [`Outgoing`] as JSON, while pending.
    outgoing: Option<String>,
}

#[derive(Serialize, Deserialize)]
enum PurposeRecord<'a> {
    Lesson(Cow<'a, str>),
    Quiz { item: Cow<'a, str>, correct: usize, review: bool },
    Reflect { item: Cow<'a, str>, question: usize },
    Practice(Cow<'a, str>),
    PracticeCheck(Cow<'a, str>),
    Milestone,
    Reply,
}

#[derive(Serialize, Deserialize)]
enum StateRecord<'a> {
    Pending,
    Sent { message_id: i64, at: i64 },
    Failed { reason: Cow<'a, str>, at: i64 },
}

/// An answer without its learner and delivery (they are the key).
#[derive(Serialize, Deserialize)]
struct AnswerRecord<'a> {
    cohort: Cow<'a, str>,
    item: Cow<'a, str>,
    at: i64,
    prompt_sent_at: Option<i64>,
    kind: KindRecord<'a>,
}

#[derive(Serialize, Deserialize)]
enum KindRecord<'a> {
    Quiz { choice: usize, correct: bool, review: bool },
    Reflect { question: usize, text: Cow<'a, str>, shared: bool },
    Practice(OutcomeRecord),
    PracticeNote(Cow<'a, str>),
}

#[derive(Serialize, Deserialize)]
enum OutcomeRecord {
    Done,
    Partly,
    NotYet,
}

/// The stored bytes of `delivery`.
pub fn encode_delivery(delivery: &Delivery) -> Vec<u8> {
    let record = DeliveryRecord {
        cohort: Cow::Borrowed(&delivery.cohort),
        created: millis(delivery.created),
        slot: delivery.slot.as_deref().map(Cow::Borrowed),
        purpose: purpose_record(&delivery.purpose),
        state: state_record(&delivery.state),
        outgoing: delivery.outgoing.as_ref().and_then(|outgoing| serde_json::to_string(outgoing).ok()),
    };
    to_bytes(&record)
}

/// The delivery stored under `key` (learner ‖ seq) as `bytes`.
pub fn decode_delivery(key: &[u8], bytes: &[u8]) -> Result<Delivery, StoreError> {
    const TREE: &str = "deliveries";
    let (learner, seq) = key_pair(key, TREE)?;
    let record: DeliveryRecord<'_> = from_bytes(TREE, bytes)?;
    let outgoing = match record.outgoing {
        Some(json) => Some(serde_json::from_str::<Outgoing>(&json).map_err(|error| corrupt(TREE, error))?),
        None => None,
    };
    Ok(Delivery {
        seq,
        learner,
        cohort: record.cohort.into_owned(),
        created: time(TREE, record.created)?,
        slot: record.slot.map(Cow::into_owned),
        purpose: purpose(record.purpose),
        state: state(TREE, record.state)?,
        outgoing,
    })
}

/// The stored bytes of `answer`.
pub fn encode_answer(answer: &Answer) -> Vec<u8> {
    let record = AnswerRecord {
        cohort: Cow::Borrowed(&answer.cohort),
        item: Cow::Borrowed(&answer.item),
        at: millis(answer.at),
        prompt_sent_at: answer.prompt_sent_at.map(millis),
        kind: kind_record(&answer.kind),
    };
    to_bytes(&record)
}

/// The answer stored under `key` (learner ‖ delivery ‖ part) as `bytes`.
pub fn decode_answer(key: &[u8], bytes: &[u8]) -> Result<Answer, StoreError> {
    const TREE: &str = "answers";
    let (learner, delivery) = key_pair(key, TREE)?;
    let record: AnswerRecord<'_> = from_bytes(TREE, bytes)?;
    Ok(Answer {
        learner,
        cohort: record.cohort.into_owned(),
        delivery,
        item: record.item.into_owned(),
        at: time(TREE, record.at)?,
        prompt_sent_at: record.prompt_sent_at.map(|at| time(TREE, at)).transpose()?,
        kind: kind(record.kind),
    })
}

fn purpose_record(purpose: &Purpose) -> PurposeRecord<'_> {
    match purpose {
        Purpose::Lesson { lesson } => PurposeRecord::Lesson(Cow::Borrowed(lesson)),
        Purpose::Quiz { item, correct, review } => {
            PurposeRecord::Quiz { item: Cow::Borrowed(item), correct: *correct, review: *review }
        }
        Purpose::Reflect { item, question } => {
            PurposeRecord::Reflect { item: Cow::Borrowed(item), question: *question }
        }
        Purpose::Practice { item } => PurposeRecord::Practice(Cow::Borrowed(item)),
        Purpose::PracticeCheck { item } => PurposeRecord::PracticeCheck(Cow::Borrowed(item)),
        Purpose::Milestone => PurposeRecord::Milestone,
        Purpose::Reply => PurposeRecord::Reply,
    }
}

fn purpose(record: PurposeRecord<'_>) -> Purpose {
    match record {
        PurposeRecord::Lesson(lesson) => Purpose::Lesson { lesson: lesson.into_owned() },
        PurposeRecord::Quiz { item, correct, review } => Purpose::Quiz { item: item.into_owned(), correct, review },
        PurposeRecord::Reflect { item, question } => Purpose::Reflect { item: item.into_owned(), question },
        PurposeRecord::Practice(item) => Purpose::Practice { item: item.into_owned() },
        PurposeRecord::PracticeCheck(item) => Purpose::PracticeCheck { item: item.into_owned() },
        PurposeRecord::Milestone => Purpose::Milestone,
        PurposeRecord::Reply => Purpose::Reply,
    }
}

fn state_record(state: &DeliveryState) -> StateRecord<'_> {
    match state {
        DeliveryState::Pending => StateRecord::Pending,
        DeliveryState::Sent { message_id, at } => StateRecord::Sent { message_id: *message_id, at: millis(*at) },
        DeliveryState::Failed { reason, at } => StateRecord::Failed { reason: Cow::Borrowed(reason), at: millis(*at) },
    }
}

fn state(tree: &'static str, record: StateRecord<'_>) -> Result<DeliveryState, StoreError> {
    Ok(match record {
        StateRecord::Pending => DeliveryState::Pending,
        StateRecord::Sent { message_id, at } => DeliveryState::Sent { message_id, at: time(tree, at)? },
        StateRecord::Failed { reason, at } => {
            DeliveryState::Failed { reason: reason.into_owned(), at: time(tree, at)? }
        }
    })
}

fn kind_record(kind: &AnswerKind) -> KindRecord<'_> {
    match kind {
        AnswerKind::Quiz { choice, correct, review } => {
            KindRecord::Quiz { choice: *choice, correct: *correct, review: *review }
        }
        AnswerKind::Reflect { question, text, shared } => {
            KindRecord::Reflect { question: *question, text: Cow::Borrowed(text), shared: *shared }
        }
        AnswerKind::Practice { outcome } => KindRecord::Practice(match outcome {
            PracticeOutcome::Done => OutcomeRecord::Done,
            PracticeOutcome::Partly => OutcomeRecord::Partly,
            PracticeOutcome::NotYet => OutcomeRecord::NotYet,
        }),
        AnswerKind::PracticeNote { text } => KindRecord::PracticeNote(Cow::Borrowed(text)),
    }
}

fn kind(record: KindRecord<'_>) -> AnswerKind {
    match record {
        KindRecord::Quiz { choice, correct, review } => AnswerKind::Quiz { choice, correct, review },
        KindRecord::Reflect { question, text, shared } => {
            AnswerKind::Reflect { question, text: text.into_owned(), shared }
        }
        KindRecord::Practice(outcome) => AnswerKind::Practice {
            outcome: match outcome {
                OutcomeRecord::Done => PracticeOutcome::Done,
                OutcomeRecord::Partly => PracticeOutcome::Partly,
                OutcomeRecord::NotYet => PracticeOutcome::NotYet,
            },
        },
        KindRecord::PracticeNote(text) => AnswerKind::PracticeNote { text: text.into_owned() },
    }
}

/// The learner and the sequence number a delivery or answer key starts with.
fn key_pair(key: &[u8], tree: &'static str) -> Result<(LearnerId, DeliverySeq), StoreError> {
    let seq = key.get(8..).ok_or_else(|| corrupt(tree, "a key shorter than 16 bytes"))?;
    Ok((keys::read_i64(key, tree)?, keys::read_u64(seq, tree)?))
}

/// Milliseconds since 1970: what the store keeps of a time.
pub fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(tree: &'static str, millis: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| corrupt(tree, format!("time {millis} out of range")))
}

fn to_bytes(record: &impl Serialize) -> Vec<u8> {
    // Our records have no maps and no unsized sequences, so postcard cannot fail on them.
    postcard::to_allocvec(record).unwrap_or_default()
}

fn from_bytes<'a, T: Deserialize<'a>>(tree: &'static str, bytes: &'a [u8]) -> Result<T, StoreError> {
    match postcard::take_from_bytes(bytes) {
        Ok((record, [])) => Ok(record),
        Ok((_, rest)) => Err(corrupt(tree, format!("{} bytes after the record", rest.len()))),
        Err(error) => Err(corrupt(tree, error)),
    }
}

fn corrupt(tree: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt { tree, reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OutMessage;

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    fn deliveries() -> Vec<Delivery> {
        let base = Delivery {
            seq: 7,
            learner: 42,
            cohort: "focus-2026".to_owned(),
            created: at(1_790_000_000_123),
            slot: Some("2026-09-21T09:00".to_owned()),
            purpose: Purpose::Quiz { item: "greet/quiz".to_owned(), correct: 2, review: true },
            state: DeliveryState::Sent { message_id: 991, at: at(1_790_000_000_456) },
            outgoing: None,
        };
        let pending = Delivery {
            slot: None,
            purpose: Purpose::Reply,
            state: DeliveryState::Pending,
            outgoing: Some(Outgoing::Send {
                message: OutMessage { html: "<b>Hi</b> &amp; welcome".to_owned(), buttons: Vec::new() },
            }),
            ..base.clone()
        };
        let failed = Delivery {
            purpose: Purpose::Reflect { item: "greet/reflect".to_owned(), question: 1 },
            state: DeliveryState::Failed { reason: "blocked by the user".to_owned(), at: at(5) },
            ..base.clone()
        };
        vec![base, pending, failed]
    }

    #[test]
    fn deliveries_round_trip_through_their_key_and_record() {
        for delivery in deliveries() {
            let key = keys::delivery(delivery.learner, delivery.seq);
            let bytes = encode_delivery(&delivery);
            assert_eq!(decode_delivery(&key, &bytes).unwrap(), delivery);
        }
    }

    #[test]
    fn answers_round_trip_and_stay_small() {
        let answer = Answer {
            learner: 42,
            cohort: "focus-2026".to_owned(),
            delivery: 7,
            item: "greet/quiz".to_owned(),
            at: at(1_790_000_100_000),
            prompt_sent_at: Some(at(1_790_000_000_456)),
            kind: AnswerKind::Quiz { choice: 1, correct: false, review: false },
        };
        let bytes = encode_answer(&answer);
        assert_eq!(decode_answer(&keys::answer(42, 7, 0), &bytes).unwrap(), answer);
        // JSON of the same answer is over 200 bytes.
        assert!(bytes.len() < 50, "{} bytes", bytes.len());
        let note = Answer { kind: AnswerKind::PracticeNote { text: "Called back ✓".to_owned() }, ..answer };
        assert_eq!(decode_answer(&keys::answer(42, 7, 1), &encode_answer(&note)).unwrap(), note);
    }

    #[test]
    fn damaged_records_and_keys_are_reported_not_panicked_on() {
        let delivery = &deliveries()[0];
        let bytes = encode_delivery(delivery);
        let key = keys::delivery(42, 7);
        assert!(matches!(decode_delivery(&key, &bytes[..bytes.len() / 2]), Err(StoreError::Corrupt { .. })));
        assert!(matches!(decode_delivery(&key[..4], &bytes), Err(StoreError::Corrupt { .. })));
        assert!(matches!(decode_answer(&key, b"{\"learner\":1}"), Err(StoreError::Corrupt { .. })));
    }
}
