//! The compact on-disk form of deliveries and their answers (schema version 2): what grows with
//! every prompt and answer.
//!
//! A delivery and the answers to it are one record (an [`Exchange`]) under the delivery's key:
//! one sled entry per prompt instead of two, which is most of what a sled entry costs on disk.
//! Values are [postcard](https://docs.rs/postcard) (varints, no field names) and hold only what
//! the key and the delivery do not: learner and seq come from the key, and an answer's cohort,
//! item and prompt time are stored only when they differ from its delivery's. Times are whole
//! milliseconds. The payload of a pending delivery is kept as JSON (it is dropped once sent).
//! The model types stay plain serde for JSON (backups, exports).
//!
//! Variant order is part of the format: add variants at the end, never reorder.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{StoreError, keys};
use crate::domain::{
    Answer, AnswerKind, Confidence, Delivery, DeliverySeq, DeliveryState, ItemId, LearnerId, Outgoing, PracticeOutcome,
    Purpose,
};

/// Everything stored under one delivery key: the delivery (gone once the retention period
/// deleted it) and the learner's answers to it, by part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange {
    /// The message sent, or to send.
    pub delivery: Option<Delivery>,
    /// The answers to it, in part order.
    pub answers: Vec<Answer>,
}

impl Exchange {
    /// Records `answer`, replacing an earlier one to the same part.
    pub(crate) fn put_answer(&mut self, answer: Answer) {
        match self.answers.binary_search_by_key(&answer.part(), Answer::part) {
            Ok(idx) => self.answers[idx] = answer,
            Err(idx) => self.answers.insert(idx, answer),
        }
    }

    /// The answer to `part`, if any.
    pub(crate) fn answer(&self, part: u32) -> Option<&Answer> {
        self.answers.iter().find(|answer| answer.part() == part)
    }
}

#[derive(Serialize, Deserialize)]
struct ExchangeRecord<'a> {
    delivery: Option<DeliveryRecord<'a>>,
    answers: Vec<AnswerRecord<'a>>,
}

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
    TeamQuestion,
    Colleagues,
    // New variants go last: postcard stores the variant's index.
    Digest(Cow<'a, str>),
    LeadSwitch(Cow<'a, str>),
}

#[derive(Serialize, Deserialize)]
enum StateRecord<'a> {
    Pending,
    Sent { message_id: i64, at: i64 },
    Failed { reason: Cow<'a, str>, at: i64 },
}

/// An answer without its learner and delivery (the key) and, where they are the delivery's,
/// without its cohort, item and the prompt's sending time (`None`: as the delivery says).
#[derive(Serialize, Deserialize)]
struct AnswerRecord<'a> {
    at: i64,
    kind: KindRecord<'a>,
    cohort: Option<Cow<'a, str>>,
    item: Option<Cow<'a, str>>,
    prompt_sent_at: Option<Option<i64>>,
}

/// A quiz answer without a confidence keeps the `Quiz` record it always had (its bytes do not
/// change); one with a confidence is a `RatedQuiz` (schema 4).
#[derive(Serialize, Deserialize)]
enum KindRecord<'a> {
    Quiz { choice: usize, correct: bool, review: bool },
    Reflect { question: usize, text: Cow<'a, str>, shared: bool },
    Practice(OutcomeRecord),
    PracticeNote(Cow<'a, str>),
    // New variants go last: postcard stores the variant's index.
    RatedQuiz { choice: usize, correct: bool, review: bool, confidence: ConfidenceRecord },
}

#[derive(Serialize, Deserialize)]
enum ConfidenceRecord {
    Sure,
    NotSure,
}

#[derive(Serialize, Deserialize)]
enum OutcomeRecord {
    Done,
    Partly,
    NotYet,
}

const TREE: &str = "deliveries";

/// The stored bytes of `exchange`.
pub(crate) fn encode_exchange(exchange: &Exchange) -> Result<Vec<u8>, StoreError> {
    let delivery = exchange.delivery.as_ref();
    let record = ExchangeRecord {
        delivery: delivery.map(delivery_record),
        answers: exchange.answers.iter().map(|answer| answer_record(answer, delivery)).collect(),
    };
    to_bytes(&record)
}

/// The exchange stored under `key` (learner ‖ seq) as `bytes`.
pub(crate) fn decode_exchange(key: &[u8], bytes: &[u8]) -> Result<Exchange, StoreError> {
    let (learner, seq) = key_pair(key)?;
    let record: ExchangeRecord<'_> = from_bytes(bytes)?;
    let delivery = record.delivery.map(|delivery| delivery_from(delivery, learner, seq)).transpose()?;
    let answers = record
        .answers
        .into_iter()
        .map(|answer| answer_from(answer, delivery.as_ref(), learner, seq))
        .collect::<Result<_, _>>()?;
    Ok(Exchange { delivery, answers })
}

fn delivery_record(delivery: &Delivery) -> DeliveryRecord<'_> {
    DeliveryRecord {
        cohort: Cow::Borrowed(&delivery.cohort),
        created: millis(delivery.created),
        slot: delivery.slot.as_deref().map(Cow::Borrowed),
        purpose: purpose_record(&delivery.purpose),
        state: state_record(&delivery.state),
        outgoing: delivery.outgoing.as_ref().and_then(|outgoing| serde_json::to_string(outgoing).ok()),
    }
}

fn delivery_from(record: DeliveryRecord<'_>, learner: LearnerId, seq: DeliverySeq) -> Result<Delivery, StoreError> {
    let outgoing = match record.outgoing {
        Some(json) => Some(serde_json::from_str::<Outgoing>(&json).map_err(corrupt)?),
        None => None,
    };
    Ok(Delivery {
        seq,
        learner,
        cohort: record.cohort.into_owned(),
        created: time(record.created)?,
        slot: record.slot.map(Cow::into_owned),
        purpose: purpose(record.purpose)?,
        state: state(record.state)?,
        outgoing,
    })
}

fn answer_record<'a>(answer: &'a Answer, delivery: Option<&Delivery>) -> AnswerRecord<'a> {
    let unless_derived =
        |derived: Option<&str>, value: &'a str| (derived != Some(value)).then_some(Cow::Borrowed(value));
    let derived_item = delivery.and_then(|delivery| item_of(&delivery.purpose)).map(ItemId::as_str);
    let sent_at = delivery.map(|delivery| delivery.state.sent_at().map(millis));
    let prompt_sent_at = answer.prompt_sent_at.map(millis);
    AnswerRecord {
        at: millis(answer.at),
        kind: kind_record(&answer.kind),
        cohort: unless_derived(delivery.map(|delivery| delivery.cohort.as_str()), &answer.cohort),
        item: unless_derived(derived_item, answer.item.as_str()),
        prompt_sent_at: (sent_at != Some(prompt_sent_at)).then_some(prompt_sent_at),
    }
}

fn answer_from(
    record: AnswerRecord<'_>,
    delivery: Option<&Delivery>,
    learner: LearnerId,
    seq: DeliverySeq,
) -> Result<Answer, StoreError> {
    let missing = |field: &str| corrupt(format!("answer to {seq} without its {field} nor a delivery to take it from"));
    let cohort = match record.cohort {
        Some(cohort) => cohort.into_owned(),
        None => delivery.map(|delivery| delivery.cohort.clone()).ok_or_else(|| missing("cohort"))?,
    };
    let item = match record.item {
        Some(item) => item_id(&item)?,
        None => delivery.and_then(|delivery| item_of(&delivery.purpose)).cloned().ok_or_else(|| missing("item"))?,
    };
    let prompt_sent_at = match record.prompt_sent_at {
        Some(at) => at.map(time).transpose()?,
        None => delivery.ok_or_else(|| missing("prompt time"))?.state.sent_at(),
    };
    Ok(Answer { learner, cohort, delivery: seq, item, at: time(record.at)?, prompt_sent_at, kind: kind(record.kind) })
}

/// The item a delivery asks about, if any (a lesson text is about no item: no answer to one
/// takes its item from it).
fn item_of(purpose: &Purpose) -> Option<&ItemId> {
    match purpose {
        Purpose::Quiz { item, .. }
        | Purpose::Reflect { item, .. }
        | Purpose::Practice { item }
        | Purpose::PracticeCheck { item } => Some(item),
        Purpose::Lesson { .. }
        | Purpose::Milestone
        | Purpose::Reply
        | Purpose::TeamQuestion
        | Purpose::Colleagues
        | Purpose::Digest { .. }
        | Purpose::LeadSwitch { .. } => None,
    }
}

fn item_id(text: &str) -> Result<ItemId, StoreError> {
    ItemId::parse(text).ok_or_else(|| corrupt(format!("`{text}` is not an item id")))
}

fn purpose_record(purpose: &Purpose) -> PurposeRecord<'_> {
    match purpose {
        Purpose::Lesson { lesson } => PurposeRecord::Lesson(Cow::Borrowed(lesson)),
        Purpose::Quiz { item, correct, review } => {
            PurposeRecord::Quiz { item: Cow::Borrowed(item.as_str()), correct: *correct, review: *review }
        }
        Purpose::Reflect { item, question } => {
            PurposeRecord::Reflect { item: Cow::Borrowed(item.as_str()), question: *question }
        }
        Purpose::Practice { item } => PurposeRecord::Practice(Cow::Borrowed(item.as_str())),
        Purpose::PracticeCheck { item } => PurposeRecord::PracticeCheck(Cow::Borrowed(item.as_str())),
        Purpose::Milestone => PurposeRecord::Milestone,
        Purpose::Reply => PurposeRecord::Reply,
        Purpose::TeamQuestion => PurposeRecord::TeamQuestion,
        Purpose::Colleagues => PurposeRecord::Colleagues,
        Purpose::Digest { cohort } => PurposeRecord::Digest(Cow::Borrowed(cohort)),
        Purpose::LeadSwitch { cohort } => PurposeRecord::LeadSwitch(Cow::Borrowed(cohort)),
    }
}

fn purpose(record: PurposeRecord<'_>) -> Result<Purpose, StoreError> {
    Ok(match record {
        PurposeRecord::Lesson(lesson) => Purpose::Lesson { lesson: lesson.into_owned() },
        PurposeRecord::Quiz { item, correct, review } => Purpose::Quiz { item: item_id(&item)?, correct, review },
        PurposeRecord::Reflect { item, question } => Purpose::Reflect { item: item_id(&item)?, question },
        PurposeRecord::Practice(item) => Purpose::Practice { item: item_id(&item)? },
        PurposeRecord::PracticeCheck(item) => Purpose::PracticeCheck { item: item_id(&item)? },
        PurposeRecord::Milestone => Purpose::Milestone,
        PurposeRecord::Reply => Purpose::Reply,
        PurposeRecord::TeamQuestion => Purpose::TeamQuestion,
        PurposeRecord::Colleagues => Purpose::Colleagues,
        PurposeRecord::Digest(cohort) => Purpose::Digest { cohort: cohort.into_owned() },
        PurposeRecord::LeadSwitch(cohort) => Purpose::LeadSwitch { cohort: cohort.into_owned() },
    })
}

fn state_record(state: &DeliveryState) -> StateRecord<'_> {
    match state {
        DeliveryState::Pending => StateRecord::Pending,
        DeliveryState::Sent { message_id, at } => StateRecord::Sent { message_id: *message_id, at: millis(*at) },
        DeliveryState::Failed { reason, at } => StateRecord::Failed { reason: Cow::Borrowed(reason), at: millis(*at) },
    }
}

fn state(record: StateRecord<'_>) -> Result<DeliveryState, StoreError> {
    Ok(match record {
        StateRecord::Pending => DeliveryState::Pending,
        StateRecord::Sent { message_id, at } => DeliveryState::Sent { message_id, at: time(at)? },
        StateRecord::Failed { reason, at } => DeliveryState::Failed { reason: reason.into_owned(), at: time(at)? },
    })
}

fn kind_record(kind: &AnswerKind) -> KindRecord<'_> {
    match kind {
        AnswerKind::Quiz { choice, correct, review, confidence: None } => {
            KindRecord::Quiz { choice: *choice, correct: *correct, review: *review }
        }
        AnswerKind::Quiz { choice, correct, review, confidence: Some(confidence) } => KindRecord::RatedQuiz {
            choice: *choice,
            correct: *correct,
            review: *review,
            confidence: match confidence {
                Confidence::Sure => ConfidenceRecord::Sure,
                Confidence::NotSure => ConfidenceRecord::NotSure,
            },
        },
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
        KindRecord::Quiz { choice, correct, review } => AnswerKind::Quiz { choice, correct, review, confidence: None },
        KindRecord::RatedQuiz { choice, correct, review, confidence } => AnswerKind::Quiz {
            choice,
            correct,
            review,
            confidence: Some(match confidence {
                ConfidenceRecord::Sure => Confidence::Sure,
                ConfidenceRecord::NotSure => Confidence::NotSure,
            }),
        },
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
fn key_pair(key: &[u8]) -> Result<(LearnerId, DeliverySeq), StoreError> {
    keys::read_pair(key, TREE)
}

/// Milliseconds since 1970: what the store keeps of a time.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(millis: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| corrupt(format!("time {millis} out of range")))
}

fn to_bytes(record: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(record).map_err(|error| StoreError::Encode(error.to_string()))
}

fn from_bytes<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StoreError> {
    match postcard::take_from_bytes(bytes) {
        Ok((record, [])) => Ok(record),
        Ok((_, rest)) => Err(corrupt(format!("{} bytes after the record", rest.len()))),
        Err(error) => Err(corrupt(error)),
    }
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt { tree: TREE, reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OutMessage;
    use crate::testkit::item;

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    fn quiz_delivery() -> Delivery {
        Delivery {
            seq: DeliverySeq::new(7),
            learner: LearnerId::new(42),
            cohort: "focus-2026".to_owned(),
            created: at(1_790_000_000_123),
            slot: Some("2026-09-21T09:00".to_owned()),
            purpose: Purpose::Quiz { item: item("greet/quiz"), correct: 2, review: true },
            state: DeliveryState::Sent { message_id: 991, at: at(1_790_000_000_456) },
            outgoing: None,
        }
    }

    fn quiz_answer() -> Answer {
        Answer {
            learner: LearnerId::new(42),
            cohort: "focus-2026".to_owned(),
            delivery: DeliverySeq::new(7),
            item: item("greet/quiz"),
            at: at(1_790_000_100_000),
            prompt_sent_at: Some(at(1_790_000_000_456)),
            kind: AnswerKind::Quiz { choice: 1, correct: false, review: true, confidence: None },
        }
    }

    fn round_trip(exchange: &Exchange) -> Exchange {
        decode_exchange(&keys::delivery(LearnerId::new(42), DeliverySeq::new(7)), &encode_exchange(exchange).unwrap())
            .unwrap()
    }

    #[test]
    fn a_delivery_and_its_answer_share_one_small_record() {
        let exchange = Exchange { delivery: Some(quiz_delivery()), answers: vec![quiz_answer()] };
        assert_eq!(round_trip(&exchange), exchange);
        let bytes = encode_exchange(&exchange).unwrap();
        // As JSON the two records took over 450 bytes.
        assert!(bytes.len() < 80, "{} bytes", bytes.len());
        let alone = encode_exchange(&Exchange { delivery: Some(quiz_delivery()), answers: Vec::new() }).unwrap();
        assert!(bytes.len() - alone.len() < 16, "the answer repeats nothing of its delivery");
    }

    #[test]
    fn every_kind_of_delivery_round_trips() {
        let pending = Delivery {
            slot: None,
            purpose: Purpose::Reply,
            state: DeliveryState::Pending,
            outgoing: Some(Outgoing::Send {
                message: OutMessage { html: "<b>Hi</b> &amp; welcome".to_owned(), buttons: Vec::new() },
            }),
            ..quiz_delivery()
        };
        let failed = Delivery {
            purpose: Purpose::Reflect { item: item("greet/reflect"), question: 1 },
            state: DeliveryState::Failed { reason: "blocked by the user".to_owned(), at: at(5) },
            ..quiz_delivery()
        };
        let lesson = Delivery { purpose: Purpose::Lesson { lesson: "greet".to_owned() }, ..quiz_delivery() };
        let digest = Delivery {
            slot: Some("digest@2026-11-30T08:00:00".to_owned()),
            purpose: Purpose::Digest { cohort: "desk".to_owned() },
            ..quiz_delivery()
        };
        let switch = Delivery { purpose: Purpose::LeadSwitch { cohort: "sales".to_owned() }, ..quiz_delivery() };
        let team = [Purpose::Milestone, Purpose::TeamQuestion, Purpose::Colleagues]
            .map(|purpose| Delivery { purpose, ..quiz_delivery() });
        for delivery in [pending, failed, lesson, digest, switch].into_iter().chain(team) {
            let exchange = Exchange { delivery: Some(delivery), answers: Vec::new() };
            assert_eq!(round_trip(&exchange), exchange);
        }
    }

    #[test]
    fn answers_that_differ_from_their_delivery_or_outlive_it_keep_their_own_fields() {
        let moved = Answer { cohort: "other-team".to_owned(), prompt_sent_at: None, ..quiz_answer() };
        let practice = Answer {
            item: item("greet/practice"),
            kind: AnswerKind::PracticeNote { text: "Called back ✓".to_owned() },
            ..quiz_answer()
        };
        let exchange = Exchange { delivery: Some(quiz_delivery()), answers: vec![moved.clone(), practice.clone()] };
        assert_eq!(round_trip(&exchange), exchange);
        let orphans = Exchange { delivery: None, answers: vec![moved, practice] };
        assert_eq!(round_trip(&orphans), orphans, "answers kept after the retention period deleted the prompt");
    }

    #[test]
    fn a_rated_quiz_answer_keeps_its_confidence_and_an_unrated_one_its_old_bytes() {
        let unrated = Exchange { delivery: Some(quiz_delivery()), answers: vec![quiz_answer()] };
        let unrated_bytes = encode_exchange(&unrated).unwrap();
        for confidence in [Confidence::Sure, Confidence::NotSure] {
            let kind = AnswerKind::Quiz { choice: 1, correct: false, review: true, confidence: Some(confidence) };
            let rated = Exchange { delivery: Some(quiz_delivery()), answers: vec![Answer { kind, ..quiz_answer() }] };
            assert_eq!(round_trip(&rated), rated);
            let bytes = encode_exchange(&rated).unwrap();
            assert_eq!(bytes.len(), unrated_bytes.len() + 1, "one byte more: the confidence");
        }
    }

    #[test]
    fn a_second_answer_to_the_same_part_replaces_the_first() {
        let mut exchange = Exchange { delivery: Some(quiz_delivery()), answers: vec![quiz_answer()] };
        let again = Answer {
            kind: AnswerKind::Quiz { choice: 2, correct: true, review: true, confidence: None },
            ..quiz_answer()
        };
        exchange.put_answer(again.clone());
        assert_eq!(exchange.answers, vec![again]);
    }

    #[test]
    fn damaged_records_and_keys_are_reported_not_panicked_on() {
        let bytes =
            encode_exchange(&Exchange { delivery: Some(quiz_delivery()), answers: vec![quiz_answer()] }).unwrap();
        let key = keys::delivery(LearnerId::new(42), DeliverySeq::new(7));
        let damaged = |key: &[u8], bytes: &[u8]| matches!(decode_exchange(key, bytes), Err(StoreError::Corrupt { .. }));
        assert!(damaged(&key, &bytes[..bytes.len() / 2]));
        assert!(damaged(&key, &[bytes.as_slice(), b"x"].concat()));
        assert!(damaged(&key[..4], &bytes));
        assert!(damaged(&key, b"{\"learner\":1}"));
        // An answer that relies on a delivery the record does not hold.
        let mut orphan =
            encode_exchange(&Exchange { delivery: Some(quiz_delivery()), answers: vec![quiz_answer()] }).unwrap();
        orphan[0] = 0;
        assert!(damaged(&key, &orphan));
    }
}
