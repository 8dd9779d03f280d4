//! Backups in the sled engine's line format (`store/backup.rs` writes and reads the lines): the
//! rows are turned back into sled's trees, keys and values, in sled's order, so a backup of
//! either engine restores into the other and backs up again byte for byte. A backup reads one
//! snapshot (REPEATABLE READ) while writes go on (restoring is `restore.rs`). Also the start-up
//! check that every record can be read.

use std::collections::BTreeMap;
use std::io::Write;

use super::errors::Failure;
use super::pool::{Checkout, Session};
use super::rows::{self, parse, seq_of};
use super::{PAGE, PgStore, pages};
use crate::domain::{Learner, LearnerId, NextNudge};
use crate::store::backup::{write_exchange, write_header, write_stored};
use crate::store::{
    BackupError, OFFSET_KEY, REPORT_KEY, SCHEMA_KEY, SCHEMA_VERSION, Storage, StoreError, TUNING_PREFIX, decode,
    encode, keys,
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
            Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, tokio_postgres::Error>>()?)
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
        Ok(rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?)
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
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, tokio_postgres::Error>>()?)
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
fn meta_entries(client: &mut Session) -> Result<Vec<Entry>, Failure> {
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
fn learner_rows(client: &mut Session, ids: &[i64]) -> Result<BTreeMap<i64, LearnerRows>, Failure> {
    let mut found: BTreeMap<i64, LearnerRows> = ids.iter().map(|&id| (id, LearnerRows::default())).collect();
    let mut each =
        |sql: &str,
         fill: &mut dyn FnMut(&mut LearnerRows, &tokio_postgres::Row) -> Result<(), tokio_postgres::Error>| {
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
