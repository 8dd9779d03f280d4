//! Restoring a backup (`store/backup.rs` reads its lines) into an empty database: one
//! transaction, so a damaged backup leaves the database as empty as it was. The rows are
//! buffered per table and written in batches (`batch.rs`) while the next ones are read; the
//! outbox is rebuilt from the pending deliveries and the delivery numbers moved past every
//! number restored.

use std::io::BufRead;

use chrono::{DateTime, Utc};

use super::PgStore;
use super::batch::{AgendaRow, Batch, MessageRow, Pipeline, SlotRow};
use super::errors::Failure;
use super::pool::{Checkout, Session};
use super::rows::{self, AnswerRow, DeliveryRow, LeadRow, LearnerRow, NoteRow, parse};
use crate::domain::{Delivery, Learner, NextNudge, PackTuning};
use crate::store::backup::{Restored, read_backup};
use crate::store::{BackupError, OFFSET_KEY, REPORT_KEY, SCHEMA_KEY, StoreError, TUNING_PREFIX, encode, keys, records};

impl PgStore {
    /// Restores a backup into this database, which must be empty ([`crate::store::Storage::restore`]).
    pub(super) fn restore_from(&self, input: &mut dyn BufRead) -> Result<usize, BackupError> {
        let connection = self.pool.checkout()?;
        connection.set_in_transaction(true);
        connection.run(|client| Ok(client.batch_execute("BEGIN")?))?;
        let restored = restore_in(&connection, input)
            .and_then(|records| Ok(connection.run(|client| Ok(client.batch_execute("COMMIT")?)).map(|()| records)?));
        if restored.is_err() {
            connection.run(|client| Ok(client.batch_execute("ROLLBACK")?))?;
        }
        connection.set_in_transaction(false);
        restored
    }
}

/// Restores every line of `input` in the transaction open on `connection`.
fn restore_in(connection: &Checkout<'_>, input: &mut dyn BufRead) -> Result<usize, BackupError> {
    if !connection.run(is_empty)? {
        return Err(BackupError::NotEmpty);
    }
    let mut restoring = Restoring::new(connection);
    let records = read_backup(input, &mut |restored| restoring.take(restored))?;
    restoring.finish()?;
    Ok(records)
}

/// True when no table of learners' records has a row.
fn is_empty(client: &mut Session) -> Result<bool, Failure> {
    let sql = "SELECT NOT EXISTS (SELECT 1 FROM learners) AND NOT EXISTS (SELECT 1 FROM leads)
         AND NOT EXISTS (SELECT 1 FROM deliveries) AND NOT EXISTS (SELECT 1 FROM answers)
         AND NOT EXISTS (SELECT 1 FROM slot_claims) AND NOT EXISTS (SELECT 1 FROM agenda)
         AND NOT EXISTS (SELECT 1 FROM messages) AND NOT EXISTS (SELECT 1 FROM notes)
         AND NOT EXISTS (SELECT 1 FROM cohort_states)";
    Ok(client.query_one(sql, &[])?.try_get(0)?)
}

/// A restore under way: each table's rows not yet sent, and the job in flight.
struct Restoring<'a, 'pool> {
    pipeline: Pipeline<'a, 'pool>,
    learners: Batch<LearnerRow>,
    leads: Batch<LeadRow>,
    notes: Batch<NoteRow>,
    deliveries: Batch<DeliveryRow>,
    answers: Batch<AnswerRow>,
    slots: Batch<SlotRow>,
    agenda: Batch<AgendaRow>,
    messages: Batch<MessageRow>,
}

impl<'a, 'pool> Restoring<'a, 'pool> {
    fn new(connection: &'a Checkout<'pool>) -> Self {
        Self {
            pipeline: Pipeline::new(connection),
            learners: Batch::default(),
            leads: Batch::default(),
            notes: Batch::default(),
            deliveries: Batch::default(),
            answers: Batch::default(),
            slots: Batch::default(),
            agenda: Batch::default(),
            messages: Batch::default(),
        }
    }

    /// Takes one record of a backup; false for a tree this engine does not know.
    fn take(&mut self, restored: Restored) -> Result<bool, BackupError> {
        match restored {
            Restored::Delivery(key, delivery) => {
                let (learner, seq) = keys::read_pair(&key, "deliveries")?;
                let delivery = rows::normal_delivery(learner, &Delivery { seq, learner, ..delivery })?;
                self.deliveries.push(&mut self.pipeline, DeliveryRow::new(learner, &delivery)?)?;
            }
            Restored::Answer(key, answer) => {
                let (learner, seq) = keys::read_pair(&key, "answers")?;
                let row = AnswerRow::new(&rows::normal_answer(learner, seq, &answer)?)?;
                self.answers.push(&mut self.pipeline, row)?;
            }
            Restored::Stored { tree, key, value } => return self.take_stored(&tree, key, value),
        }
        Ok(true)
    }

    /// Takes a record given as sled's tree, key and value.
    fn take_stored(&mut self, tree: &str, key: Vec<u8>, value: Vec<u8>) -> Result<bool, BackupError> {
        let pipeline = &mut self.pipeline;
        match tree {
            "meta" => restore_meta(pipeline, key, value)?,
            "learners" => {
                let id = keys::read_learner(&key, "learners")?;
                let record = text("learners", value)?;
                let row = LearnerRow::new(id, &parse::<Learner>("learners", &record)?, record);
                self.learners.push(pipeline, row)?;
            }
            "leads" => {
                let id = keys::read_learner(&key, "leads")?;
                let record = text("leads", value)?;
                self.leads.push(pipeline, LeadRow::new(id, &parse("leads", &record)?, record))?;
            }
            "notes" => {
                let (learner, seq) = keys::read_pair(&key, "notes")?;
                let record = text("notes", value)?;
                self.notes.push(pipeline, NoteRow::new(learner, seq, &parse("notes", &record)?, record))?;
            }
            "cohorts" => {
                let (cohort, record) = (text("cohorts", key)?, text("cohorts", value)?);
                parse::<crate::domain::CohortState>("cohorts", &record)?;
                pipeline.submit(move |client| rows::put_cohort_state(client, &cohort, &record))?;
            }
            "slots" => self.slots.push(pipeline, slot_row(key, value)?)?,
            "agenda" => {
                let due = keys::read_u64(&key, "agenda")? as i64;
                let learner = keys::read_learner(key.get(8..).unwrap_or_default(), "agenda")?.get();
                let record = text("agenda", value)?;
                parse::<NextNudge>("agenda", &record)?;
                self.agenda.push(pipeline, AgendaRow { learner, due, record })?;
            }
            "messages" => self.take_message(&key, &value)?,
            "deliveries" => self.take_exchange(&key, &value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Takes a message id; the deliveries taken before it are written first, so that it is
    /// kept when its delivery came earlier in the backup.
    fn take_message(&mut self, key: &[u8], value: &[u8]) -> Result<(), BackupError> {
        let learner = keys::read_learner(key, "messages")?.get();
        let message_id = keys::read_u64(key.get(8..).unwrap_or_default(), "messages")? as i64;
        let seq = rows::seq_sql(keys::read_seq(value, "messages")?);
        let row = MessageRow { learner, message_id, seq };
        if self.messages.writes_with(&row) {
            self.deliveries.flush(&mut self.pipeline)?;
        }
        Ok(self.messages.push(&mut self.pipeline, row)?)
    }

    /// Takes an exchange in sled's compact encoding: its delivery and its answers.
    fn take_exchange(&mut self, key: &[u8], value: &[u8]) -> Result<(), BackupError> {
        let (learner, _) = keys::read_pair(key, "deliveries")?;
        let exchange = records::decode_exchange(key, value)?;
        if let Some(delivery) = &exchange.delivery {
            self.deliveries.push(&mut self.pipeline, DeliveryRow::new(learner, delivery)?)?;
        }
        for answer in &exchange.answers {
            self.answers.push(&mut self.pipeline, AnswerRow::new(answer)?)?;
        }
        Ok(())
    }

    /// Writes what is left, rebuilds the outbox, moves the delivery numbers past every number
    /// restored, and waits for it all.
    fn finish(mut self) -> Result<(), Failure> {
        let pipeline = &mut self.pipeline;
        self.learners.flush(pipeline)?;
        self.leads.flush(pipeline)?;
        self.notes.flush(pipeline)?;
        self.answers.flush(pipeline)?;
        self.slots.flush(pipeline)?;
        self.agenda.flush(pipeline)?;
        self.deliveries.flush(pipeline)?;
        self.messages.flush(pipeline)?;
        pipeline.submit(|client| {
            client.batch_execute(
                "INSERT INTO outbox (learner, seq) SELECT learner, seq FROM deliveries WHERE state = 'pending'
                     ON CONFLICT DO NOTHING;
                 SELECT setval('delivery_numbers', greatest(
                     (SELECT max(seq) FROM deliveries), (SELECT max(seq) FROM answers), (SELECT max(seq) FROM notes),
                     (SELECT last_value FROM delivery_numbers)))",
            )?;
            Ok(())
        })?;
        pipeline.wait()
    }
}

/// `bytes` as text, or the sentence of a damaged record of `tree`.
fn text(tree: &'static str, bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt { tree, reason: "a record that is not text".to_owned() })
}

/// A slot claim given as sled's key (learner ‖ cohort ‖ `@` ‖ slot key) and value.
fn slot_row(key: Vec<u8>, value: Vec<u8>) -> Result<SlotRow, StoreError> {
    let learner = keys::read_learner(&key, "slots")?.get();
    let rest = text("slots", key.get(8..).unwrap_or_default().to_vec())?;
    let Some((cohort, slot_key)) = rest.split_once('@') else {
        return Err(StoreError::Corrupt { tree: "slots", reason: "a key without `@`".to_owned() });
    };
    let (cohort, slot_key) = (cohort.to_owned(), slot_key.to_owned());
    let claimed_at = serde_json::from_slice::<DateTime<Utc>>(&value).ok();
    Ok(SlotRow { key, learner, cohort, slot_key, claimed_at, record: text("slots", value)? })
}

/// Writes a `meta` record: the known keys into their tables when their bytes come back the
/// same from there, everything else as bytes into `meta`.
fn restore_meta(pipeline: &mut Pipeline<'_, '_>, key: Vec<u8>, value: Vec<u8>) -> Result<(), Failure> {
    let same = |bytes: Result<Vec<u8>, StoreError>| bytes.is_ok_and(|bytes| bytes == value);
    if key == SCHEMA_KEY {
        return Ok(());
    }
    if key == OFFSET_KEY
        && let Ok(offset) = serde_json::from_slice::<i64>(&value)
        && same(encode(&offset))
    {
        return pipeline.submit(move |client| {
            client.execute(
                "INSERT INTO update_offset (value) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET value = EXCLUDED.value",
                &[&offset],
            )?;
            Ok(())
        });
    }
    if key == REPORT_KEY
        && let Ok(report_key) = serde_json::from_slice::<Vec<u8>>(&value)
        && !report_key.is_empty()
        && same(encode(&report_key))
    {
        return pipeline.submit(move |client| {
            client.execute(
                "INSERT INTO report_key (key) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET key = EXCLUDED.key",
                &[&report_key],
            )?;
            Ok(())
        });
    }
    if let Some(pack) = key.strip_prefix(TUNING_PREFIX.as_bytes()).and_then(|pack| std::str::from_utf8(pack).ok())
        && let Ok(record) = std::str::from_utf8(&value)
        && let Ok(tuning) = serde_json::from_str::<PackTuning>(record)
    {
        let (pack, record) = (pack.to_owned(), record.to_owned());
        return pipeline.submit(move |client| rows::put_tuning(client, &pack, &tuning, &record));
    }
    pipeline.submit(move |client| {
        client.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )?;
        Ok(())
    })
}
