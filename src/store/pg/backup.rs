//! Backups in the sled engine's line format (`store/backup.rs` writes and reads the lines): the
//! rows are turned back into sled's trees, keys and values, in sled's order, so a backup of
//! either engine restores into the other and backs up again byte for byte. A backup reads one
//! snapshot (REPEATABLE READ) while writes go on; a restore is one transaction, so a damaged
//! backup leaves the database as empty as it was. Also the start-up check that every record
//! can be read.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};

use super::errors::Failure;
use super::pool::Checkout;
use super::rows::{self, AnswerRow, DeliveryRow, LeadRow, LearnerRow, NoteRow, parse, seq_of};
use super::{PAGE, PgStore, pages};
use crate::domain::{Learner, LearnerId, NextNudge, PackTuning};
use crate::store::backup::{Restored, read_backup, write_exchange, write_header, write_stored};
use crate::store::{
    BackupError, OFFSET_KEY, REPORT_KEY, SCHEMA_KEY, SCHEMA_VERSION, Storage, StoreError, TUNING_PREFIX, decode,
    encode, keys, records,
};

/// A sled key and value.
type Entry = (Vec<u8>, Vec<u8>);

/// A learner's rows, as sled's tree, key and value bytes, in sled's order (the exchanges
/// apart: they are written from the model).
#[derive(Default)]
struct LearnerRows {
    learner: Option<Vec<u8>>,
    agenda: Option<(i64, Vec<u8>)>,
    lead: Option<Vec<u8>>,
    deliveries: Vec<(i64, i64, String)>,
    answers: Vec<(i64, i64, String)>,
    slots: Vec<Entry>,
    messages: Vec<Entry>,
    notes: Vec<Entry>,
}

impl PgStore {
    /// Writes every record to `out` ([`Storage::backup`]) from one snapshot of the database.
    pub(super) fn backup_to(&self, out: &mut dyn Write) -> Result<usize, BackupError> {
        let connection = self.pool.checkout()?;
        connection.set_in_transaction(true);
        connection.run(|client| Ok(client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?))?;
        let written = backup_snapshot(&connection, out);
        connection.run(|client| Ok(client.batch_execute("COMMIT")?))?;
        connection.set_in_transaction(false);
        written
    }

    /// Restores a backup into this database, which must be empty ([`Storage::restore`]).
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

    /// Reads every record once ([`Storage::verify`]); returns how many.
    pub(super) fn verify_records(&self) -> Result<usize, StoreError> {
        let mut checked = 0;
        for learner in self.learners() {
            learner?;
            checked += 1;
        }
        for exchange in self.exchanges() {
            exchange?;
            checked += 1;
        }
        let agenda = "SELECT learner, record::text FROM agenda WHERE learner > $1 ORDER BY learner LIMIT $2";
        for next in pages::records::<NextNudge>(self, agenda, "agenda") {
            next?;
            checked += 1;
        }
        for lead in self.leads() {
            lead?;
            checked += 1;
        }
        for note in self.notes() {
            note?;
            checked += 1;
        }
        let cohorts: Vec<String> = self.run(|client| {
            let rows = client.query("SELECT record::text FROM cohort_states", &[])?;
            Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, postgres::Error>>()?)
        })?;
        for text in &cohorts {
            parse::<crate::domain::CohortState>("cohort_states", text)?;
            checked += 1;
        }
        Ok(checked)
    }
}

/// The backup lines of the snapshot open on `connection`.
fn backup_snapshot(connection: &Checkout<'_>, out: &mut dyn Write) -> Result<usize, BackupError> {
    write_header(out)?;
    let mut records = 0;
    for (key, value) in connection.run(meta_entries)? {
        records += write_stored(out, "meta", &key, &value)?;
    }
    let cohorts: Vec<(String, String)> = connection.run(|client| {
        let rows = client.query("SELECT cohort, record::text FROM cohort_states ORDER BY cohort COLLATE \"C\"", &[])?;
        Ok(rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<Result<_, postgres::Error>>()?)
    })?;
    for (cohort, record) in cohorts {
        records += write_stored(out, "cohorts", cohort.as_bytes(), record.as_bytes())?;
    }
    let ids: Vec<i64> = connection.run(|client| {
        let rows = client.query(
            "SELECT id FROM learners UNION SELECT id FROM leads UNION SELECT learner FROM deliveries
             UNION SELECT learner FROM answers ORDER BY 1",
            &[],
        )?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, postgres::Error>>()?)
    })?;
    for chunk in ids.chunks(PAGE as usize) {
        let chunk = chunk.to_vec();
        let mut rows = connection.run(move |client| learner_rows(client, &chunk))?;
        for (id, learner) in std::mem::take(&mut rows) {
            records += write_learner(out, LearnerId::new(id), learner)?;
        }
    }
    out.flush()?;
    Ok(records)
}

/// sled's `meta` tree as it would hold what these tables do, in key order.
fn meta_entries(client: &mut postgres::Client) -> Result<Vec<Entry>, Failure> {
    let mut meta = BTreeMap::new();
    meta.insert(SCHEMA_KEY.to_vec(), encode(&SCHEMA_VERSION)?);
    if let Some(row) = client.query_opt("SELECT value FROM update_offset", &[])? {
        meta.insert(OFFSET_KEY.to_vec(), encode(&row.try_get::<_, i64>(0)?)?);
    }
    if let Some(row) = client.query_opt("SELECT key FROM report_key", &[])? {
        meta.insert(REPORT_KEY.to_vec(), encode(&row.try_get::<_, Vec<u8>>(0)?)?);
    }
    for row in client.query("SELECT pack, record::text FROM pack_tuning", &[])? {
        let (pack, record): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        meta.insert(format!("{TUNING_PREFIX}{pack}").into_bytes(), record.into_bytes());
    }
    for row in client.query("SELECT key, value FROM meta", &[])? {
        meta.insert(row.try_get(0)?, row.try_get(1)?);
    }
    Ok(meta.into_iter().collect())
}

/// The rows of learners `ids`, by learner.
fn learner_rows(client: &mut postgres::Client, ids: &[i64]) -> Result<BTreeMap<i64, LearnerRows>, Failure> {
    let mut found: BTreeMap<i64, LearnerRows> = ids.iter().map(|&id| (id, LearnerRows::default())).collect();
    let mut each =
        |sql: &str, fill: &mut dyn FnMut(&mut LearnerRows, &postgres::Row) -> Result<(), postgres::Error>| {
            for row in client.query(sql, &[&ids])? {
                if let Some(rows) = found.get_mut(&row.try_get::<_, i64>(0)?) {
                    fill(rows, &row)?;
                }
            }
            Ok::<_, Failure>(())
        };
    each("SELECT id, record::text FROM learners WHERE id = ANY($1)", &mut |rows, row| {
        rows.learner = Some(row.try_get::<_, String>(1)?.into_bytes());
        Ok(())
    })?;
    each("SELECT learner, due, record::text FROM agenda WHERE learner = ANY($1)", &mut |rows, row| {
        rows.agenda = Some((row.try_get(1)?, row.try_get::<_, String>(2)?.into_bytes()));
        Ok(())
    })?;
    each("SELECT id, record::text FROM leads WHERE id = ANY($1)", &mut |rows, row| {
        rows.lead = Some(row.try_get::<_, String>(1)?.into_bytes());
        Ok(())
    })?;
    each(
        "SELECT learner, seq, record::text FROM deliveries WHERE learner = ANY($1) ORDER BY learner, seq",
        &mut |rows, row| {
            rows.deliveries.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
            Ok(())
        },
    )?;
    each(
        "SELECT learner, seq, record::text FROM answers WHERE learner = ANY($1) ORDER BY learner, seq, part",
        &mut |rows, row| {
            rows.answers.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
            Ok(())
        },
    )?;
    each(
        "SELECT learner, cohort, slot_key, record::text FROM slot_claims WHERE learner = ANY($1)
         ORDER BY learner, (cohort || '@' || slot_key) COLLATE \"C\"",
        &mut |rows, row| {
            let id = LearnerId::new(row.try_get(0)?);
            let key = keys::slot(id, row.try_get(1)?, row.try_get(2)?);
            rows.slots.push((key, row.try_get::<_, String>(3)?.into_bytes()));
            Ok(())
        },
    )?;
    // sled orders message ids as unsigned numbers.
    each(
        "SELECT learner, message_id, seq FROM messages WHERE learner = ANY($1)
         ORDER BY learner, message_id < 0, message_id",
        &mut |rows, row| {
            let key = keys::message(LearnerId::new(row.try_get(0)?), row.try_get(1)?);
            rows.messages.push((key.to_vec(), seq_of(row.try_get(2)?).get().to_be_bytes().to_vec()));
            Ok(())
        },
    )?;
    each(
        "SELECT learner, seq, record::text FROM notes WHERE learner = ANY($1) ORDER BY learner, seq",
        &mut |rows, row| {
            let key = keys::note(LearnerId::new(row.try_get(0)?), seq_of(row.try_get(1)?));
            rows.notes.push((key.to_vec(), row.try_get::<_, String>(2)?.into_bytes()));
            Ok(())
        },
    )?;
    Ok(found)
}

/// Writes one learner's lines in the sled engine's order; returns how many.
fn write_learner(out: &mut dyn Write, id: LearnerId, rows: LearnerRows) -> Result<usize, BackupError> {
    let mut records = 0;
    let key = keys::learner(id);
    if let Some(value) = &rows.learner {
        records += write_stored(out, "learners", &key, value)?;
        let next = decode::<Learner>("learners", value).ok().and_then(|learner| learner.next_nudge);
        if let (Some(next), Some((due, entry))) = (next, &rows.agenda)
            && rows::due_of(next.at) == *due
        {
            records += write_stored(out, "agenda", &keys::agenda(next.at, id), entry)?;
        }
    }
    if let Some(value) = &rows.lead {
        records += write_stored(out, "leads", &key, value)?;
    }
    for exchange in pages::merge(rows.deliveries, rows.answers)? {
        let seq = exchange.delivery.as_ref().map(|d| d.seq).or_else(|| exchange.answers.first().map(|a| a.delivery));
        let Some(seq) = seq else { continue };
        records += write_exchange(out, &keys::delivery(id, seq), exchange)?;
    }
    for (tree, entries) in [("slots", &rows.slots), ("messages", &rows.messages), ("notes", &rows.notes)] {
        for (key, value) in entries {
            records += write_stored(out, tree, key, value)?;
        }
    }
    Ok(records)
}

/// Restores every line of `input` in the transaction open on `connection`.
fn restore_in(connection: &Checkout<'_>, input: &mut dyn BufRead) -> Result<usize, BackupError> {
    let empty: bool = connection.run(|client| {
        let sql = "SELECT NOT EXISTS (SELECT 1 FROM learners) AND NOT EXISTS (SELECT 1 FROM leads)
             AND NOT EXISTS (SELECT 1 FROM deliveries) AND NOT EXISTS (SELECT 1 FROM answers)
             AND NOT EXISTS (SELECT 1 FROM slot_claims) AND NOT EXISTS (SELECT 1 FROM agenda)
             AND NOT EXISTS (SELECT 1 FROM messages) AND NOT EXISTS (SELECT 1 FROM notes)
             AND NOT EXISTS (SELECT 1 FROM cohort_states)";
        Ok(client.query_one(sql, &[])?.try_get(0)?)
    })?;
    if !empty {
        return Err(BackupError::NotEmpty);
    }
    let records = read_backup(input, &mut |restored| restore_one(connection, restored))?;
    connection.run(|client| {
        client.batch_execute(
            "INSERT INTO outbox (learner, seq) SELECT learner, seq FROM deliveries WHERE state = 'pending'
                 ON CONFLICT DO NOTHING;
             SELECT setval('delivery_numbers', greatest(
                 (SELECT max(seq) FROM deliveries), (SELECT max(seq) FROM answers), (SELECT max(seq) FROM notes),
                 (SELECT last_value FROM delivery_numbers)))",
        )?;
        Ok(())
    })?;
    Ok(records)
}

/// Writes one record of a backup; false for a tree this engine does not know.
fn restore_one(connection: &Checkout<'_>, restored: Restored) -> Result<bool, BackupError> {
    match restored {
        Restored::Delivery(key, delivery) => {
            let (learner, seq) = keys::read_pair(&key, "deliveries")?;
            let row = DeliveryRow::new(
                learner,
                &rows::normal_delivery(learner, &crate::domain::Delivery { seq, learner, ..delivery })?,
            )?;
            connection.run(move |client| row.put(client))?;
        }
        Restored::Answer(key, answer) => {
            let (learner, seq) = keys::read_pair(&key, "answers")?;
            let row = AnswerRow::new(&rows::normal_answer(learner, seq, &answer)?)?;
            connection.run(move |client| row.put(client))?;
        }
        Restored::Stored { tree, key, value } => return restore_stored(connection, &tree, key, value),
    }
    Ok(true)
}

/// `bytes` as text, or the sentence of a damaged record of `tree`.
fn text(tree: &'static str, bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt { tree, reason: "a record that is not text".to_owned() })
}

/// Writes a record given as sled's tree, key and value into its table.
fn restore_stored(connection: &Checkout<'_>, tree: &str, key: Vec<u8>, value: Vec<u8>) -> Result<bool, BackupError> {
    match tree {
        "meta" => restore_meta(connection, key, value)?,
        "learners" => {
            let id = keys::read_learner(&key, "learners")?;
            let record = text("learners", value)?;
            let row = LearnerRow::new(id, &parse::<Learner>("learners", &record)?, record);
            connection.run(move |client| row.put(client))?;
        }
        "leads" => {
            let id = keys::read_learner(&key, "leads")?;
            let record = text("leads", value)?;
            let row = LeadRow::new(id, &parse("leads", &record)?, record);
            connection.run(move |client| row.put(client))?;
        }
        "notes" => {
            let (learner, seq) = keys::read_pair(&key, "notes")?;
            let record = text("notes", value)?;
            let row = NoteRow::new(learner, seq, &parse("notes", &record)?, record);
            connection.run(move |client| row.put(client))?;
        }
        "cohorts" => {
            let (cohort, record) = (text("cohorts", key)?, text("cohorts", value)?);
            parse::<crate::domain::CohortState>("cohorts", &record)?;
            connection.run(move |client| rows::put_cohort_state(client, &cohort, &record))?;
        }
        "slots" => {
            let learner = keys::read_learner(&key, "slots")?.get();
            let rest = text("slots", key.get(8..).unwrap_or_default().to_vec())?;
            let Some((cohort, slot_key)) = rest.split_once('@') else {
                return Err(StoreError::Corrupt { tree: "slots", reason: "a key without `@`".to_owned() }.into());
            };
            let (cohort, slot_key) = (cohort.to_owned(), slot_key.to_owned());
            let claimed_at = serde_json::from_slice::<DateTime<Utc>>(&value).ok();
            let record = text("slots", value)?;
            connection.run(move |client| rows::claim_slot(client, learner, &cohort, &slot_key, claimed_at, &record))?;
        }
        "agenda" => {
            let due = keys::read_u64(&key, "agenda")? as i64;
            let learner = keys::read_learner(key.get(8..).unwrap_or_default(), "agenda")?.get();
            let record = text("agenda", value)?;
            parse::<NextNudge>("agenda", &record)?;
            connection.run(move |client| rows::put_agenda(client, learner, due, &record))?;
        }
        "messages" => {
            let learner = keys::read_learner(&key, "messages")?.get();
            let message_id = keys::read_u64(key.get(8..).unwrap_or_default(), "messages")? as i64;
            let seq = rows::seq_sql(keys::read_seq(&value, "messages")?);
            let kept = connection.run(move |client| {
                let sql = "SELECT EXISTS (SELECT 1 FROM deliveries WHERE learner = $1 AND seq = $2)";
                if !client.query_one(sql, &[&learner, &seq])?.try_get::<_, bool>(0)? {
                    return Ok(false);
                }
                rows::put_message(client, learner, message_id, seq).map(|()| true)
            })?;
            if !kept {
                // sled can keep a message id whose delivery retention took (the delivery had become
                // another message since); the tables' foreign key cannot.
                tracing::warn!(learner, message_id, "a message id of a delivery no longer stored was left out");
            }
        }
        "deliveries" => {
            let (learner, _) = keys::read_pair(&key, "deliveries")?;
            let exchange = records::decode_exchange(&key, &value)?;
            let mut rows_of = Vec::new();
            if let Some(delivery) = &exchange.delivery {
                rows_of.push(Row::Delivery(DeliveryRow::new(learner, delivery)?));
            }
            for answer in &exchange.answers {
                rows_of.push(Row::Answer(AnswerRow::new(answer)?));
            }
            connection.run(move |client| {
                rows_of.iter().try_for_each(|row| match row {
                    Row::Delivery(row) => row.put(client),
                    Row::Answer(row) => row.put(client),
                })
            })?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// A delivery or an answer row of a compact exchange record.
enum Row {
    Delivery(DeliveryRow),
    Answer(AnswerRow),
}

/// Writes a `meta` record: the known keys into their tables when their bytes come back the
/// same from there, everything else as bytes into `meta`.
fn restore_meta(connection: &Checkout<'_>, key: Vec<u8>, value: Vec<u8>) -> Result<(), StoreError> {
    let same = |bytes: Result<Vec<u8>, StoreError>| bytes.is_ok_and(|bytes| bytes == value);
    if key == SCHEMA_KEY {
        return Ok(());
    }
    if key == OFFSET_KEY
        && let Ok(offset) = serde_json::from_slice::<i64>(&value)
        && same(encode(&offset))
    {
        return Ok(connection.run(move |client| {
            client.execute(
                "INSERT INTO update_offset (value) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET value = EXCLUDED.value",
                &[&offset],
            )?;
            Ok(())
        })?);
    }
    if key == REPORT_KEY
        && let Ok(report_key) = serde_json::from_slice::<Vec<u8>>(&value)
        && !report_key.is_empty()
        && same(encode(&report_key))
    {
        return Ok(connection.run(move |client| {
            client.execute(
                "INSERT INTO report_key (key) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET key = EXCLUDED.key",
                &[&report_key],
            )?;
            Ok(())
        })?);
    }
    if let Some(pack) = key.strip_prefix(TUNING_PREFIX.as_bytes()).and_then(|pack| std::str::from_utf8(pack).ok())
        && let Ok(record) = std::str::from_utf8(&value)
        && let Ok(tuning) = serde_json::from_str::<PackTuning>(record)
    {
        let (pack, record) = (pack.to_owned(), record.to_owned());
        return Ok(connection.run(move |client| rows::put_tuning(client, &pack, &tuning, &record))?);
    }
    Ok(connection.run(move |client| {
        client.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )?;
        Ok(())
    })?)
}
