//! The rows of each table: a record's typed columns (keys, times, what psql readers look for)
//! beside its `record` JSON, which is what the engine reads back. Deliveries and answers are
//! first passed through the sled engine's compact encoding, so that they read back exactly as
//! sled gives them (times to the millisecond, learner and number from the key).

use super::pool::Session;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::types::{ToSql, Type};

use super::errors::Failure;
use crate::domain::{Answer, Delivery, DeliverySeq, Lead, Learner, LearnerId, Note, PackTuning, Status};
use crate::store::{Exchange, StoreError, keys, records};

pub(super) use super::delivery_rows::{AnswerRow, DeliveryRow};

/// `value` as the JSON text the sled engine stores.
pub(super) fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Encode(error.to_string()))
}

/// The record JSON of a row of `table`.
pub(super) fn parse<T: DeserializeOwned>(table: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt { tree: table, reason: error.to_string() })
}

/// The string in field `field` of `value`'s JSON (the tag of an internally tagged enum).
pub(super) fn tag<T: Serialize>(value: &T, field: &str) -> Option<String> {
    serde_json::to_value(value).ok()?.get(field)?.as_str().map(str::to_owned)
}

/// A delivery number as the bigint it is stored as (numbers past `i64::MAX` are refused by
/// the tables' checks).
pub(super) fn seq_sql(seq: DeliverySeq) -> i64 {
    seq.get() as i64
}

/// A stored delivery number.
pub(super) fn seq_of(value: i64) -> DeliverySeq {
    DeliverySeq::new(value as u64)
}

/// `delivery` as the sled engine reads it back after storing it for `learner`.
pub(super) fn normal_delivery(learner: LearnerId, delivery: &Delivery) -> Result<Delivery, StoreError> {
    let exchange = Exchange { delivery: Some(delivery.clone()), answers: Vec::new() };
    let key = keys::delivery(learner, delivery.seq);
    let decoded = records::decode_exchange(&key, &records::encode_exchange(&exchange)?)?;
    decoded.delivery.ok_or_else(|| StoreError::Encode("a delivery vanished in its encoding".to_owned()))
}

/// `answer` as the sled engine reads it back after storing it with delivery `seq` of `learner`.
pub(super) fn normal_answer(learner: LearnerId, seq: DeliverySeq, answer: &Answer) -> Result<Answer, StoreError> {
    let exchange = Exchange { delivery: None, answers: vec![answer.clone()] };
    let key = keys::delivery(learner, seq);
    let decoded = records::decode_exchange(&key, &records::encode_exchange(&exchange)?)?;
    decoded
        .answers
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Encode("an answer vanished in its encoding".to_owned()))
}

/// A statement parameter or a `COPY` value.
pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// A row of `learners`.
pub(super) struct LearnerRow {
    id: i64,
    cohort: String,
    name: String,
    status: String,
    erasing_since: Option<DateTime<Utc>>,
    enrolled_at: DateTime<Utc>,
    record: String,
}

impl LearnerRow {
    /// The row of `learner` under id `id`, whose JSON is `record`.
    pub(super) fn new(id: LearnerId, learner: &Learner, record: String) -> Self {
        let erasing_since = match learner.status {
            Status::Erasing { since } => Some(since),
            _ => None,
        };
        Self {
            id: id.get(),
            cohort: learner.cohort.clone(),
            name: learner.name.clone(),
            status: tag(&learner.status, "state").unwrap_or_default(),
            erasing_since,
            enrolled_at: learner.enrolled_at,
            record,
        }
    }

    /// Writes rows in the order of [`Self::params`] (`record` as text: json's binary form is its text).
    pub(super) const COPY: &'static str =
        "COPY learners (id, cohort, name, status, erasing_since, enrolled_at, record) FROM STDIN (FORMAT binary)";
    /// The types of the columns [`Self::COPY`] names.
    pub(super) const TYPES: [Type; 7] =
        [Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TIMESTAMPTZ, Type::TIMESTAMPTZ, Type::TEXT];

    /// The row's primary key.
    pub(super) fn key(&self) -> i64 {
        self.id
    }

    /// The columns, in the order of the statements.
    pub(super) fn params(&self) -> [Param<'_>; 7] {
        [&self.id, &self.cohort, &self.name, &self.status, &self.erasing_since, &self.enrolled_at, &self.record]
    }

    /// Inserts or replaces the row.
    pub(super) fn put(&self, client: &mut Session) -> Result<(), Failure> {
        let statement = client.prepared(
            "INSERT INTO learners (id, cohort, name, status, erasing_since, enrolled_at, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::json)
             ON CONFLICT (id) DO UPDATE SET cohort = EXCLUDED.cohort, name = EXCLUDED.name,
                 status = EXCLUDED.status, erasing_since = EXCLUDED.erasing_since,
                 enrolled_at = EXCLUDED.enrolled_at, record = EXCLUDED.record",
        )?;
        client.write(&statement, &self.params())?;
        Ok(())
    }
}

/// A row of `leads`.
pub(super) struct LeadRow {
    id: i64,
    name: String,
    joined_at: DateTime<Utc>,
    record: String,
}

impl LeadRow {
    /// The row of `lead` under id `id`, whose JSON is `record`.
    pub(super) fn new(id: LearnerId, lead: &Lead, record: String) -> Self {
        Self { id: id.get(), name: lead.name.clone(), joined_at: lead.joined_at, record }
    }

    /// Writes rows in the order of [`Self::params`].
    pub(super) const COPY: &'static str = "COPY leads (id, name, joined_at, record) FROM STDIN (FORMAT binary)";
    /// The types of the columns [`Self::COPY`] names.
    pub(super) const TYPES: [Type; 4] = [Type::INT8, Type::TEXT, Type::TIMESTAMPTZ, Type::TEXT];

    /// The row's primary key.
    pub(super) fn key(&self) -> i64 {
        self.id
    }

    /// The columns, in the order of the statements.
    pub(super) fn params(&self) -> [Param<'_>; 4] {
        [&self.id, &self.name, &self.joined_at, &self.record]
    }

    /// Inserts or replaces the row.
    pub(super) fn put(&self, client: &mut Session) -> Result<(), Failure> {
        let statement = client.prepared(
            "INSERT INTO leads (id, name, joined_at, record) VALUES ($1, $2, $3, $4::text::json)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, joined_at = EXCLUDED.joined_at,
                 record = EXCLUDED.record",
        )?;
        client.write(&statement, &self.params())?;
        Ok(())
    }
}

/// A row of `notes`.
pub(super) struct NoteRow {
    learner: i64,
    seq: i64,
    cohort: String,
    at: DateTime<Utc>,
    kind: String,
    text: String,
    shared: bool,
    record: String,
}

impl NoteRow {
    /// The row of `note`, learner `learner`'s note of delivery `seq`, whose JSON is `record`.
    pub(super) fn new(learner: LearnerId, seq: DeliverySeq, note: &Note, record: String) -> Self {
        Self {
            learner: learner.get(),
            seq: seq_sql(seq),
            cohort: note.cohort.clone(),
            at: note.at,
            kind: serde_json::to_value(note.kind)
                .ok()
                .and_then(|kind| kind.as_str().map(str::to_owned))
                .unwrap_or_default(),
            text: note.text.clone(),
            shared: note.shared,
            record,
        }
    }

    /// Writes rows in the order of [`Self::params`].
    pub(super) const COPY: &'static str =
        "COPY notes (learner, seq, cohort, at, kind, text, shared, record) FROM STDIN (FORMAT binary)";
    /// The types of the columns [`Self::COPY`] names.
    pub(super) const TYPES: [Type; 8] =
        [Type::INT8, Type::INT8, Type::TEXT, Type::TIMESTAMPTZ, Type::TEXT, Type::TEXT, Type::BOOL, Type::TEXT];

    /// The row's primary key.
    pub(super) fn key(&self) -> (i64, i64) {
        (self.learner, self.seq)
    }

    /// The columns, in the order of the statements.
    pub(super) fn params(&self) -> [Param<'_>; 8] {
        [&self.learner, &self.seq, &self.cohort, &self.at, &self.kind, &self.text, &self.shared, &self.record]
    }

    /// Inserts or replaces the row.
    pub(super) fn put(&self, client: &mut Session) -> Result<(), Failure> {
        let statement = client.prepared(
            "INSERT INTO notes (learner, seq, cohort, at, kind, text, shared, record)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::json)
             ON CONFLICT (learner, seq) DO UPDATE SET cohort = EXCLUDED.cohort, at = EXCLUDED.at,
                 kind = EXCLUDED.kind, text = EXCLUDED.text, shared = EXCLUDED.shared, record = EXCLUDED.record",
        )?;
        client.write(&statement, &self.params())?;
        Ok(())
    }
}

/// Inserts or replaces pack `pack`'s tuning row, whose JSON is `record`.
pub(super) fn put_tuning(client: &mut Session, pack: &str, tuning: &PackTuning, record: &str) -> Result<(), Failure> {
    let (fitted_on, reviews) = (tuning.fitted_on as i64, tuning.reviews as i64);
    let statement = client.prepared(
        "INSERT INTO pack_tuning (pack, fitted_on, reviews, fitted_at, record) VALUES ($1, $2, $3, $4, $5::text::json)
         ON CONFLICT (pack) DO UPDATE SET fitted_on = EXCLUDED.fitted_on, reviews = EXCLUDED.reviews,
             fitted_at = EXCLUDED.fitted_at, record = EXCLUDED.record",
    )?;
    client.write(&statement, &[&pack, &fitted_on, &reviews, &tuning.at, &record])?;
    Ok(())
}

/// Inserts or replaces cohort `cohort`'s team state, whose JSON is `record`.
pub(super) fn put_cohort_state(client: &mut Session, cohort: &str, record: &str) -> Result<(), Failure> {
    let statement = client.prepared(
        "INSERT INTO cohort_states (cohort, record) VALUES ($1, $2::text::json)
         ON CONFLICT (cohort) DO UPDATE SET record = EXCLUDED.record",
    )?;
    client.write(&statement, &[&cohort, &record])?;
    Ok(())
}

/// Claims slot `slot_key` of `cohort` for `learner`; false if it was claimed before. `record`
/// is the claim time as sled's JSON; `claimed_at` that time, if it is one.
pub(super) fn claim_slot(
    client: &mut Session,
    learner: i64,
    cohort: &str,
    slot_key: &str,
    claimed_at: Option<DateTime<Utc>>,
    record: &str,
) -> Result<bool, Failure> {
    let statement = client.prepared("INSERT INTO slot_claims (learner, cohort, slot_key, claimed_at, record) VALUES ($1, $2, $3, $4, $5::text::json)
         ON CONFLICT DO NOTHING")?;
    let inserted = client.execute(&statement, &[&learner, &cohort, &slot_key, &claimed_at, &record])?;
    Ok(inserted == 1)
}

/// Inserts or replaces `learner`'s agenda entry: due at `due` (seconds), as JSON `record`.
pub(super) fn put_agenda(client: &mut Session, learner: i64, due: i64, record: &str) -> Result<(), Failure> {
    let statement = client.prepared(
        "INSERT INTO agenda (learner, due, record) VALUES ($1, $2, $3::text::json)
         ON CONFLICT (learner) DO UPDATE SET due = EXCLUDED.due, record = EXCLUDED.record",
    )?;
    client.write(&statement, &[&learner, &due, &record])?;
    Ok(())
}

/// The agenda's due time for `at`: whole seconds since 1970, as the sled engine's key has it.
pub(super) fn due_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().max(0)
}

/// Records that Telegram message `message_id` in `learner`'s chat is delivery `seq`.
pub(super) fn put_message(client: &mut Session, learner: i64, message_id: i64, seq: i64) -> Result<(), Failure> {
    let statement = client.prepared(
        "INSERT INTO messages (learner, message_id, seq) VALUES ($1, $2, $3)
         ON CONFLICT (learner, message_id) DO UPDATE SET seq = EXCLUDED.seq",
    )?;
    client.write(&statement, &[&learner, &message_id, &seq])?;
    Ok(())
}
