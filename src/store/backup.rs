//! Portable backups: the whole store as JSON lines (a header, then one line per record with
//! its tree, key and value), restored exactly into an empty store. Deliveries and answers are
//! written as the JSON of their model records (an answer on a line of its own, tree `answers`),
//! not as their compact bytes, so a backup reads the same whatever the store's schema (backups
//! of schema 1 restore too). Also the start-up check
//! that every record can be read.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::{Exchange, SCHEMA_KEY, SCHEMA_VERSION, Storage, Store, StoreError, decode, encode, keys, records};
use crate::domain::{Answer, CohortState, Delivery, DeliveryState, Lead, Learner, LearnerId, NextNudge, Note};

/// Schema versions whose backups this build restores.
const RESTORABLE_SCHEMAS: [u32; 4] = [1, 2, 3, SCHEMA_VERSION];

/// The first line of a backup.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    nudge_backup: u32,
    schema: u32,
}

/// One record: its tree, its key (hex), and its value as JSON, or as hex when the value is
/// not JSON (index entries, damaged records), so a restore writes back exactly the same bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    tree: String,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
}

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not a nudge backup, or was damaged.
    #[error("line {line} of the backup cannot be read ({reason})")]
    Format {
        /// 1-based line.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// Restoring would mix two stores.
    #[error("the store is not empty: restore into a new, empty store path")]
    NotEmpty,
}

impl Store {
    pub(super) fn trees(&self) -> [(&'static str, &sled::Tree); 10] {
        [
            ("meta", &self.meta),
            ("learners", &self.learners),
            ("deliveries", &self.deliveries),
            ("slots", &self.slots),
            ("outbox", &self.outbox),
            ("agenda", &self.agenda),
            ("messages", &self.messages),
            ("leads", &self.leads),
            ("notes", &self.notes),
            ("cohorts", &self.cohorts),
        ]
    }

    /// Writes every record to `out` ([`Storage::backup`]); returns the number of records,
    /// running `between` in the middle of reading each learner (for tests). The outbox is left
    /// out: it is an index of the pending deliveries, rebuilt from them by a restore.
    ///
    /// Safe while the daemon runs: each learner's records are read in one go while writes wait
    /// (a few keys, microseconds), so every learner is in the backup as they were at one moment,
    /// with every answer confirmed before the backup began, and nobody waits for the whole run.
    pub(super) fn backup_with(&self, out: &mut dyn Write, between: impl Fn(LearnerId)) -> Result<usize, BackupError> {
        write_header(out)?;
        let mut records = 0;
        for (name, tree) in [("meta", &self.meta), ("cohorts", &self.cohorts)] {
            for entry in tree.iter() {
                let (key, value) = entry.map_err(StoreError::from)?;
                records += write_stored(out, name, &key, &value)?;
            }
        }
        for id in self.backup_ids()? {
            for (tree, key, value) in self.learner_snapshot(id, &between)? {
                records += write_stored(out, tree, &key, &value)?;
            }
        }
        out.flush()?;
        Ok(records)
    }

    /// Every learner id with a record or a delivery: the learners, then a skip-scan over the
    /// deliveries' learner prefixes (one seek per learner).
    fn backup_ids(&self) -> Result<Vec<LearnerId>, StoreError> {
        let mut ids = std::collections::BTreeSet::new();
        for key in self.learners.iter().keys() {
            ids.insert(keys::read_learner(&key?, "learners")?);
        }
        for key in self.leads.iter().keys() {
            ids.insert(keys::read_learner(&key?, "leads")?);
        }
        let mut from = 0u64;
        while let Some(entry) = self.deliveries.range(from.to_be_bytes()..).next() {
            let owner = keys::read_u64(&entry?.0, "deliveries")?;
            ids.insert(LearnerId::new(owner as i64));
            let Some(next) = owner.checked_add(1) else { break };
            from = next;
        }
        Ok(ids.into_iter().collect())
    }

    /// Learner `id`'s records (record, agenda entry, deliveries, slot claims, message ids), read
    /// while writes wait and handed back before anything is written out, so a slow reader of the
    /// backup never holds the daemon up.
    fn learner_snapshot(
        &self,
        id: LearnerId,
        between: &impl Fn(LearnerId),
    ) -> Result<Vec<(&'static str, sled::IVec, sled::IVec)>, StoreError> {
        let _frozen = self.frozen();
        let prefix = keys::learner(id);
        let mut records = Vec::new();
        if let Some(value) = self.learners.get(prefix)? {
            let next = decode::<Learner>("learners", &value).ok().and_then(|learner| learner.next_nudge);
            records.push(("learners", sled::IVec::from(&prefix[..]), value));
            if let Some(next) = next {
                let key = keys::agenda(next.at, id);
                if let Some(entry) = self.agenda.get(key)? {
                    records.push(("agenda", sled::IVec::from(&key[..]), entry));
                }
            }
        }
        if let Some(value) = self.leads.get(prefix)? {
            records.push(("leads", sled::IVec::from(&prefix[..]), value));
        }
        between(id);
        let trees = [
            ("deliveries", &self.deliveries),
            ("slots", &self.slots),
            ("messages", &self.messages),
            ("notes", &self.notes),
        ];
        for (name, tree) in trees {
            for entry in tree.scan_prefix(prefix) {
                let (key, value) = entry?;
                records.push((name, key, value));
            }
        }
        Ok(records)
    }

    /// Restores a backup into this store ([`Storage::restore`]), which must be empty; returns
    /// the number of records. A backup that turns out damaged halfway leaves the store as empty
    /// as it was.
    pub(super) fn restore_from(&self, input: &mut dyn BufRead) -> Result<usize, BackupError> {
        if self.trees().iter().any(|(name, tree)| *name != "meta" && !tree.is_empty()) {
            return Err(BackupError::NotEmpty);
        }
        let meta_before: Vec<sled::IVec> =
            self.meta.iter().keys().collect::<Result<_, _>>().map_err(StoreError::from)?;
        let restored = self.restore_records(input);
        if restored.is_err() {
            self.undo_restore(&meta_before)?;
        }
        self.recount();
        restored
    }

    /// Empties what a failed restore wrote: every tree but the meta keys that were there before.
    fn undo_restore(&self, meta_before: &[sled::IVec]) -> Result<(), StoreError> {
        for (name, tree) in self.trees() {
            if name != "meta" {
                tree.clear()?;
            }
        }
        for key in self.meta.iter().keys() {
            let key = key?;
            if !meta_before.contains(&key) {
                self.meta.remove(key)?;
            }
        }
        self.flush_blocking()
    }

    fn restore_records(&self, input: &mut dyn BufRead) -> Result<usize, BackupError> {
        let records = read_backup(input, &mut |restored| self.restore_one(restored))?;
        self.rebuild_outbox()?;
        self.advance_delivery_counter()?;
        self.flush_blocking()?;
        Ok(records)
    }

    /// Moves the delivery counter past every number the restored deliveries and notes use: a
    /// new store's counter starts at 0, and a number handed out twice would put a new message
    /// in the place of an old one, with the old one's answers. sled's counter only counts up,
    /// so it is drawn until it passes the highest (a few milliseconds per million numbers).
    fn advance_delivery_counter(&self) -> Result<(), StoreError> {
        let mut highest = 0;
        for (tree, name) in [(&self.deliveries, "deliveries"), (&self.notes, "notes")] {
            for key in tree.iter().keys() {
                highest = highest.max(keys::read_pair(&key?, name)?.1.get());
            }
        }
        while self.db.generate_id()? < highest {}
        Ok(())
    }

    /// Writes one record of a backup into its tree; false when no tree has its name.
    fn restore_one(&self, restored: Restored) -> Result<bool, BackupError> {
        match restored {
            Restored::Delivery(key, delivery) => {
                self.change_exchange(&key, move |exchange| exchange.delivery = Some(delivery))?;
            }
            Restored::Answer(key, answer) => self.change_exchange(&key, move |exchange| exchange.put_answer(answer))?,
            Restored::Stored { tree, key, value } => {
                let Some((_, tree)) = self.trees().into_iter().find(|(name, _)| *name == tree) else {
                    return Ok(false);
                };
                tree.insert(key, value).map_err(StoreError::from)?;
            }
        }
        Ok(true)
    }

    /// Files every pending delivery in the outbox.
    fn rebuild_outbox(&self) -> Result<(), StoreError> {
        for exchange in self.exchanges() {
            if let Some(delivery) = exchange?.delivery.filter(|delivery| delivery.state == DeliveryState::Pending) {
                self.outbox.insert(keys::outbox(delivery.learner, delivery.seq), &[])?;
            }
        }
        Ok(())
    }

    /// Reads every record once ([`Storage::verify`]): a damaged store is found at start-up, not
    /// halfway through a day. Returns the number of records checked.
    pub(super) fn verify_records(&self) -> Result<usize, StoreError> {
        let mut checked = 0;
        for entry in self.learners.iter() {
            decode::<Learner>("learners", &entry?.1)?;
            checked += 1;
        }
        for exchange in self.exchanges() {
            exchange?;
            checked += 1;
        }
        for entry in self.agenda.iter() {
            decode::<NextNudge>("agenda", &entry?.1)?;
            checked += 1;
        }
        for entry in self.leads.iter() {
            decode::<Lead>("leads", &entry?.1)?;
            checked += 1;
        }
        for entry in self.notes.iter() {
            decode::<Note>("notes", &entry?.1)?;
            checked += 1;
        }
        for entry in self.cohorts.iter() {
            decode::<CohortState>("cohorts", &entry?.1)?;
            checked += 1;
        }
        Ok(checked)
    }
}

/// One record of a backup as an engine writes it back: deliveries and answers as model records
/// (with the key of the exchange they belong to: learner ‖ seq), every other record as sled's
/// tree name, key and value bytes (the schema version already made this build's).
pub(super) enum Restored {
    /// A delivery (tree `deliveries`, model JSON).
    Delivery(Vec<u8>, Delivery),
    /// An answer (tree `answers`), which joins its delivery's exchange.
    Answer(Vec<u8>, Answer),
    /// Any other record, in sled's layout.
    Stored {
        /// The sled tree.
        tree: String,
        /// The sled key.
        key: Vec<u8>,
        /// The sled value.
        value: Vec<u8>,
    },
}

/// Reads a backup line by line, handing each record to `restore` (which returns false for a
/// tree it does not know); returns the number of records. The outbox lines of old backups are
/// skipped: an engine rebuilds its outbox from the pending deliveries.
pub(super) fn read_backup(
    input: &mut dyn BufRead,
    restore: &mut dyn FnMut(Restored) -> Result<bool, BackupError>,
) -> Result<usize, BackupError> {
    let mut lines = input.lines();
    let header: Header = parse_line(lines.next().transpose()?.as_deref(), 1)?;
    if header.nudge_backup != 1 || !RESTORABLE_SCHEMAS.contains(&header.schema) {
        return Err(BackupError::Format {
            line: 1,
            reason: format!("schema {} where {SCHEMA_VERSION} is expected", header.schema),
        });
    }
    let mut records = 0;
    for (idx, line) in lines.enumerate() {
        let record: Record = parse_line(Some(&line?), idx + 2)?;
        let format = |reason: String| BackupError::Format { line: idx + 2, reason };
        let restored = match exchange_part(&record).map_err(format)? {
            Some(part) => part,
            // Backups of schema 1 and 2 hold the outbox in an older layout; it is rebuilt.
            None if record.tree == "outbox" => continue,
            None => stored_record(record).map_err(format)?,
        };
        let tree = match &restored {
            Restored::Stored { tree, .. } => tree.clone(),
            _ => String::new(),
        };
        if !restore(restored)? {
            return Err(format(format!("unknown tree `{tree}` or bad key")));
        }
        records += 1;
    }
    Ok(records)
}

/// A delivery or an answer given as JSON, with the key of its exchange; `None` for other records.
fn exchange_part(record: &Record) -> Result<Option<Restored>, String> {
    if record.tree != "deliveries" && record.tree != "answers" {
        return Ok(None);
    }
    let (Some(json), Some(key)) = (&record.value, unhex(&record.key)) else {
        return match record.tree.as_str() {
            "answers" => Err("an answer must be JSON".to_owned()),
            _ => Ok(None),
        };
    };
    let invalid = |error: serde_json::Error| format!("not a {} record: {error}", record.tree);
    let exchange_key = key.get(..16).ok_or("a key shorter than 16 bytes")?.to_vec();
    Ok(Some(match record.tree.as_str() {
        "deliveries" => Restored::Delivery(exchange_key, Delivery::deserialize(json).map_err(invalid)?),
        _ => Restored::Answer(exchange_key, Answer::deserialize(json).map_err(invalid)?),
    }))
}

/// Any other record as sled's bytes: JSON values written back compact, `raw` ones from hex.
fn stored_record(record: Record) -> Result<Restored, String> {
    let Some(key) = unhex(&record.key) else {
        return Err(format!("unknown tree `{}` or bad key", record.tree));
    };
    let value = match (&record.value, &record.raw) {
        _ if record.tree == "meta" && key == SCHEMA_KEY => {
            encode(&SCHEMA_VERSION).map_err(|error| error.to_string())?
        }
        (Some(json), None) => serde_json::to_vec(json).unwrap_or_default(),
        (None, Some(raw)) => unhex(raw).ok_or("bad hex value")?,
        _ => return Err("a record needs `value` or `raw`".to_owned()),
    };
    Ok(Restored::Stored { tree: record.tree, key, value })
}

/// Writes the first line of a backup.
pub(super) fn write_header(out: &mut dyn Write) -> Result<(), BackupError> {
    serde_json::to_writer(&mut *out, &Header { nudge_backup: 1, schema: SCHEMA_VERSION })
        .map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Writes the lines of a record stored as sled's `tree`, `key` and `value` bytes; returns how
/// many.
pub(super) fn write_stored(out: &mut dyn Write, tree: &str, key: &[u8], value: &[u8]) -> Result<usize, BackupError> {
    write_records(out, backup_records(tree, key, value))
}

/// Writes the lines of an exchange stored under sled key `key` (learner ‖ seq); returns how many.
#[cfg(feature = "postgres")]
pub(super) fn write_exchange(out: &mut dyn Write, key: &[u8], exchange: Exchange) -> Result<usize, BackupError> {
    write_records(out, exchange_records(key, exchange))
}

/// The backup lines of one stored record: a delivery record becomes a line for the delivery
/// and one per answer, each as model JSON; other records their value as JSON when it writes
/// back to the same bytes. Anything else (index entries, damaged records) is written as hex.
fn backup_records(tree: &str, key: &[u8], value: &[u8]) -> Vec<Record> {
    let raw = || vec![Record { tree: tree.to_owned(), key: hex(key), value: None, raw: Some(hex(value)) }];
    if tree == "deliveries" {
        return match records::decode_exchange(key, value) {
            Ok(exchange) => exchange_records(key, exchange),
            Err(_) => raw(),
        };
    }
    match serde_json::from_slice::<serde_json::Value>(value) {
        Ok(json) if serde_json::to_vec(&json).is_ok_and(|bytes| bytes == value) => {
            vec![Record { tree: tree.to_owned(), key: hex(key), value: Some(json), raw: None }]
        }
        _ => raw(),
    }
}

/// Writes `records` as lines; returns how many.
fn write_records(out: &mut dyn Write, records: Vec<Record>) -> Result<usize, BackupError> {
    for record in &records {
        serde_json::to_writer(&mut *out, record).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    Ok(records.len())
}

fn exchange_records(key: &[u8], exchange: Exchange) -> Vec<Record> {
    let json = |tree: &str, key: &[u8], value: serde_json::Result<serde_json::Value>| Record {
        tree: tree.to_owned(),
        key: hex(key),
        value: value.ok(),
        raw: None,
    };
    let mut lines: Vec<Record> =
        exchange.delivery.iter().map(|delivery| json("deliveries", key, serde_json::to_value(delivery))).collect();
    for answer in &exchange.answers {
        let answer_key = keys::answer(answer.learner, answer.delivery, answer.part());
        lines.push(json("answers", &answer_key, serde_json::to_value(answer)));
    }
    lines
}

fn parse_line<T: serde::de::DeserializeOwned>(line: Option<&str>, number: usize) -> Result<T, BackupError> {
    let line = line.ok_or(BackupError::Format { line: number, reason: "the file is empty".to_owned() })?;
    serde_json::from_str(line).map_err(|error| BackupError::Format { line: number, reason: error.to_string() })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|idx| u8::from_str_radix(text.get(idx..idx + 2)?, 16).ok()).collect()
}
