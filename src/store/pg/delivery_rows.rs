//! The rows of `deliveries` and `answers`: the readable columns of each message sent and each
//! answer given (state, times, purpose, the item, the choice, how sure) beside the `record`
//! JSON the engine reads back. The other tables' rows are in `rows.rs`.

use super::pool::Session;
use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;

use super::errors::Failure;
use super::rows::{Param, json, seq_sql, tag};
use crate::domain::{Answer, AnswerKind, Confidence, Delivery, DeliveryState, LearnerId};
use crate::store::StoreError;

/// A row of `deliveries`.
pub(super) struct DeliveryRow {
    learner: i64,
    seq: i64,
    cohort: String,
    created: DateTime<Utc>,
    slot: Option<String>,
    purpose: String,
    item: Option<String>,
    state: String,
    message_id: Option<i64>,
    finished_at: Option<DateTime<Utc>>,
    record: String,
}

impl DeliveryRow {
    /// The row of `delivery` (already [`normal_delivery`]) of learner `learner`.
    pub(super) fn new(learner: LearnerId, delivery: &Delivery) -> Result<Self, StoreError> {
        let purpose = serde_json::to_value(&delivery.purpose).unwrap_or_default();
        let (message_id, finished_at) = match delivery.state {
            DeliveryState::Pending => (None, None),
            DeliveryState::Sent { message_id, at } => (Some(message_id), Some(at)),
            DeliveryState::Failed { at, .. } => (None, Some(at)),
        };
        Ok(Self {
            learner: learner.get(),
            seq: seq_sql(delivery.seq),
            cohort: delivery.cohort.clone(),
            created: delivery.created,
            slot: delivery.slot.clone(),
            purpose: purpose.get("purpose").and_then(|tag| tag.as_str()).unwrap_or_default().to_owned(),
            item: purpose.get("item").and_then(|item| item.as_str()).map(str::to_owned),
            state: tag(&delivery.state, "state").unwrap_or_default(),
            message_id,
            finished_at,
            record: json(delivery)?,
        })
    }

    /// Writes rows in the order of [`Self::params`] (the outbox is left to the caller).
    pub(super) const COPY: &'static str = "COPY deliveries (learner, seq, cohort, created, slot, purpose, item, state,
         message_id, finished_at, record) FROM STDIN (FORMAT binary)";
    /// The types of the columns [`Self::COPY`] names.
    pub(super) const TYPES: [Type; 11] = [
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::TIMESTAMPTZ,
        Type::TEXT,
    ];

    /// The row's primary key.
    pub(super) fn key(&self) -> (i64, i64) {
        (self.learner, self.seq)
    }

    /// The columns, in the order of the statements.
    pub(super) fn params(&self) -> [Param<'_>; 11] {
        [
            &self.learner,
            &self.seq,
            &self.cohort,
            &self.created,
            &self.slot,
            &self.purpose,
            &self.item,
            &self.state,
            &self.message_id,
            &self.finished_at,
            &self.record,
        ]
    }

    /// Inserts or replaces the row, and files it in the outbox while pending.
    pub(super) fn put(&self, client: &mut Session) -> Result<(), Failure> {
        let statement = client.prepared(
            "INSERT INTO deliveries (learner, seq, cohort, created, slot, purpose, item, state, message_id,
                 finished_at, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text::json)
             ON CONFLICT (learner, seq) DO UPDATE SET cohort = EXCLUDED.cohort, created = EXCLUDED.created,
                 slot = EXCLUDED.slot, purpose = EXCLUDED.purpose, item = EXCLUDED.item, state = EXCLUDED.state,
                 message_id = EXCLUDED.message_id, finished_at = EXCLUDED.finished_at, record = EXCLUDED.record",
        )?;
        client.write(&statement, &self.params())?;
        if self.state == "pending" {
            let statement =
                client.prepared("INSERT INTO outbox (learner, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING")?;
            client.write(&statement, &[&self.learner, &self.seq])?;
        } else {
            let statement = client.prepared("DELETE FROM outbox WHERE learner = $1 AND seq = $2")?;
            client.write(&statement, &[&self.learner, &self.seq])?;
        }
        Ok(())
    }
}

/// A row of `answers`: the readable columns of each kind of answer beside the record.
pub(super) struct AnswerRow {
    learner: i64,
    seq: i64,
    part: i64,
    cohort: String,
    item: String,
    at: DateTime<Utc>,
    kind: &'static str,
    choice: Option<i32>,
    correct: Option<bool>,
    review: Option<bool>,
    confidence: Option<&'static str>,
    question: Option<i32>,
    outcome: Option<String>,
    text: Option<String>,
    shared: Option<bool>,
    record: String,
}

impl AnswerRow {
    /// The row of `answer` (already [`normal_answer`]).
    pub(super) fn new(answer: &Answer) -> Result<Self, StoreError> {
        let int = |value: usize| i32::try_from(value).ok();
        let mut row = Self {
            learner: answer.learner.get(),
            seq: seq_sql(answer.delivery),
            part: i64::from(answer.part()),
            cohort: answer.cohort.clone(),
            item: answer.item.as_str().to_owned(),
            at: answer.at,
            kind: "quiz",
            choice: None,
            correct: None,
            review: None,
            confidence: None,
            question: None,
            outcome: None,
            text: None,
            shared: None,
            record: json(answer)?,
        };
        match &answer.kind {
            AnswerKind::Quiz { choice, correct, review, confidence } => {
                (row.choice, row.correct, row.review) = (int(*choice), Some(*correct), Some(*review));
                row.confidence = confidence.map(|confidence| match confidence {
                    Confidence::Sure => "sure",
                    Confidence::NotSure => "not_sure",
                });
            }
            AnswerKind::Reflect { question, text, shared } => {
                row.kind = "reflect";
                (row.question, row.text, row.shared) = (int(*question), Some(text.clone()), Some(*shared));
            }
            AnswerKind::Practice { outcome } => {
                row.kind = "practice";
                row.outcome = serde_json::to_value(outcome).ok().and_then(|value| value.as_str().map(str::to_owned));
            }
            AnswerKind::PracticeNote { text } => (row.kind, row.text) = ("practice_note", Some(text.clone())),
        }
        Ok(row)
    }

    /// Writes rows in the order of [`Self::params`].
    pub(super) const COPY: &'static str = "COPY answers (learner, seq, part, cohort, item, at, kind, choice, correct,
         review, confidence, question, outcome, text, shared, record) FROM STDIN (FORMAT binary)";
    /// The types of the columns [`Self::COPY`] names.
    pub(super) const TYPES: [Type; 16] = [
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::INT4,
        Type::BOOL,
        Type::BOOL,
        Type::TEXT,
        Type::INT4,
        Type::TEXT,
        Type::TEXT,
        Type::BOOL,
        Type::TEXT,
    ];

    /// The row's primary key.
    pub(super) fn key(&self) -> (i64, i64, i64) {
        (self.learner, self.seq, self.part)
    }

    /// The columns, in the order of the statements.
    pub(super) fn params(&self) -> [Param<'_>; 16] {
        [
            &self.learner,
            &self.seq,
            &self.part,
            &self.cohort,
            &self.item,
            &self.at,
            &self.kind,
            &self.choice,
            &self.correct,
            &self.review,
            &self.confidence,
            &self.question,
            &self.outcome,
            &self.text,
            &self.shared,
            &self.record,
        ]
    }

    /// Inserts or replaces the row.
    pub(super) fn put(&self, client: &mut Session) -> Result<(), Failure> {
        let statement = client.prepared(
            "INSERT INTO answers (learner, seq, part, cohort, item, at, kind, choice, correct, review, confidence,
                 question, outcome, text, shared, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::text::json)
             ON CONFLICT (learner, seq, part) DO UPDATE SET cohort = EXCLUDED.cohort, item = EXCLUDED.item,
                 at = EXCLUDED.at, kind = EXCLUDED.kind, choice = EXCLUDED.choice, correct = EXCLUDED.correct,
                 review = EXCLUDED.review, confidence = EXCLUDED.confidence, question = EXCLUDED.question,
                 outcome = EXCLUDED.outcome, text = EXCLUDED.text, shared = EXCLUDED.shared,
                 record = EXCLUDED.record",
        )?;
        client.write(&statement, &self.params())?;
        Ok(())
    }
}
