//! Writing many rows at once, for a restore: rows are buffered per table and written
//! [`BATCH_ROWS`] at a time with one `COPY … FROM STDIN (FORMAT binary)` (or, for message ids,
//! one `INSERT … SELECT FROM unnest(…)`), while the caller reads the next batch from the backup
//! (one job in flight on the connection). Knows nothing of the backup format.

use chrono::{DateTime, Utc};
use tokio_postgres::types::Type;

use super::errors::Failure;
use super::pool::{Checkout, Reply, Session};
use super::rows::{self, AnswerRow, DeliveryRow, LeadRow, LearnerRow, NoteRow, Param};

/// Rows per round trip: big enough that the round trips do not count, small enough to keep a
/// few megabytes in memory.
pub(super) const BATCH_ROWS: usize = 5_000;

/// A row that is written a batch at a time.
pub(super) trait BatchRow: Send + Sized + 'static {
    /// The row's identity in its table; any order will do, though a backup in this order is
    /// written fastest.
    type Key: Ord;

    /// The row's identity.
    fn key(&self) -> Self::Key;

    /// Writes `rows`, whose keys are all different and new to the table.
    fn write_all(client: &mut Session, rows: &[Self]) -> Result<(), Failure>;

    /// Inserts or replaces one row.
    fn put(&self, client: &mut Session) -> Result<(), Failure>;
}

/// The jobs of a restore on its connection, one in flight while the next is being made.
pub(super) struct Pipeline<'a, 'pool> {
    connection: &'a Checkout<'pool>,
    in_flight: Option<Reply<Result<(), Failure>>>,
}

impl<'a, 'pool> Pipeline<'a, 'pool> {
    /// Jobs for `connection`.
    pub(super) fn new(connection: &'a Checkout<'pool>) -> Self {
        Self { connection, in_flight: None }
    }

    /// Waits for the job in flight, then sends `job`.
    pub(super) fn submit(
        &mut self,
        job: impl FnOnce(&mut Session) -> Result<(), Failure> + Send + 'static,
    ) -> Result<(), Failure> {
        self.wait()?;
        self.in_flight = Some(self.connection.start(job)?);
        Ok(())
    }

    /// Waits for the job in flight, if any, and returns how it went.
    pub(super) fn wait(&mut self) -> Result<(), Failure> {
        match self.in_flight.take() {
            Some(reply) => reply.wait()?,
            None => Ok(()),
        }
    }
}

/// One table's rows waiting to be written.
pub(super) struct Batch<R: BatchRow> {
    rows: Vec<R>,
    /// The greatest key taken so far: a row with a greater one cannot be in the table yet.
    last: Option<R::Key>,
}

impl<R: BatchRow> Default for Batch<R> {
    fn default() -> Self {
        Self { rows: Vec::new(), last: None }
    }
}

impl<R: BatchRow> Batch<R> {
    /// True when taking `row` writes rows (the batch is full, or `row` is written alone).
    pub(super) fn writes_with(&self, row: &R) -> bool {
        self.rows.len() + 1 >= BATCH_ROWS || !self.comes_after(row)
    }

    /// Takes `row`: into the batch when its key is greater than every key before it; otherwise
    /// (a backup out of order, a record in it twice) it is written alone after the batch, over
    /// any row with its key, as a restore record by record would.
    pub(super) fn push(&mut self, pipeline: &mut Pipeline<'_, '_>, row: R) -> Result<(), Failure> {
        if !self.comes_after(&row) {
            self.flush(pipeline)?;
            return pipeline.submit(move |client| row.put(client));
        }
        self.last = Some(row.key());
        self.rows.push(row);
        if self.rows.len() >= BATCH_ROWS {
            self.flush(pipeline)?;
        }
        Ok(())
    }

    /// Sends the rows taken so far.
    pub(super) fn flush(&mut self, pipeline: &mut Pipeline<'_, '_>) -> Result<(), Failure> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(BATCH_ROWS));
        pipeline.submit(move |client| R::write_all(client, &rows))
    }

    fn comes_after(&self, row: &R) -> bool {
        self.last.as_ref().is_none_or(|last| row.key() > *last)
    }
}

/// Writes `rows` with one binary `COPY` statement `copy` of columns of `types`.
fn copy<R, const N: usize>(
    client: &mut Session,
    copy: &str,
    types: &[Type; N],
    rows: &[R],
    params: impl Fn(&R) -> [Param<'_>; N],
) -> Result<(), Failure> {
    client.copy_in_binary(copy, types, rows.iter().map(params))?;
    Ok(())
}

/// Implements [`BatchRow`] for a row of `rows.rs` with `COPY`, `TYPES`, `key`, `params`, `put`.
macro_rules! copied_row {
    ($row:ty, $key:ty) => {
        impl BatchRow for $row {
            type Key = $key;

            fn key(&self) -> $key {
                <$row>::key(self)
            }

            fn write_all(client: &mut Session, rows: &[Self]) -> Result<(), Failure> {
                copy(client, Self::COPY, &Self::TYPES, rows, Self::params)
            }

            fn put(&self, client: &mut Session) -> Result<(), Failure> {
                <$row>::put(self, client)
            }
        }
    };
}

copied_row!(LearnerRow, i64);
copied_row!(LeadRow, i64);
copied_row!(NoteRow, (i64, i64));
copied_row!(DeliveryRow, (i64, i64));
copied_row!(AnswerRow, (i64, i64, i64));

/// A row of `slot_claims`.
pub(super) struct SlotRow {
    /// sled's key (learner ‖ cohort ‖ `@` ‖ slot key), the order of a backup.
    pub key: Vec<u8>,
    pub learner: i64,
    pub cohort: String,
    pub slot_key: String,
    pub claimed_at: Option<DateTime<Utc>>,
    pub record: String,
}

impl BatchRow for SlotRow {
    type Key = Vec<u8>;

    fn key(&self) -> Vec<u8> {
        self.key.clone()
    }

    fn write_all(client: &mut Session, rows: &[Self]) -> Result<(), Failure> {
        let sql = "COPY slot_claims (learner, cohort, slot_key, claimed_at, record) FROM STDIN (FORMAT binary)";
        let types = [Type::INT8, Type::TEXT, Type::TEXT, Type::TIMESTAMPTZ, Type::TEXT];
        copy(client, sql, &types, rows, |row| [&row.learner, &row.cohort, &row.slot_key, &row.claimed_at, &row.record])
    }

    fn put(&self, client: &mut Session) -> Result<(), Failure> {
        rows::claim_slot(client, self.learner, &self.cohort, &self.slot_key, self.claimed_at, &self.record).map(drop)
    }
}

/// A row of `agenda`.
pub(super) struct AgendaRow {
    pub learner: i64,
    /// Seconds since 1970.
    pub due: i64,
    pub record: String,
}

impl BatchRow for AgendaRow {
    type Key = i64;

    fn key(&self) -> i64 {
        self.learner
    }

    fn write_all(client: &mut Session, rows: &[Self]) -> Result<(), Failure> {
        let sql = "COPY agenda (learner, due, record) FROM STDIN (FORMAT binary)";
        copy(client, sql, &[Type::INT8, Type::INT8, Type::TEXT], rows, |row| [&row.learner, &row.due, &row.record])
    }

    fn put(&self, client: &mut Session) -> Result<(), Failure> {
        rows::put_agenda(client, self.learner, self.due, &self.record)
    }
}

/// A row of `messages`: written only when its delivery is stored already (the rows of the
/// deliveries before it must be written first).
pub(super) struct MessageRow {
    pub learner: i64,
    pub message_id: i64,
    pub seq: i64,
}

impl BatchRow for MessageRow {
    type Key = (i64, i64);

    fn key(&self) -> (i64, i64) {
        (self.learner, self.message_id)
    }

    fn write_all(client: &mut Session, rows: &[Self]) -> Result<(), Failure> {
        let column = |pick: fn(&Self) -> i64| rows.iter().map(pick).collect::<Vec<i64>>();
        let (learners, message_ids, seqs) =
            (column(|row| row.learner), column(|row| row.message_id), column(|row| row.seq));
        let left_out = client.query(
            "WITH batch AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS b (learner, message_id, seq)),
                 kept AS (INSERT INTO messages (learner, message_id, seq)
                     SELECT learner, message_id, seq FROM batch b
                     WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.learner = b.learner AND d.seq = b.seq))
             SELECT learner, message_id FROM batch b
             WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.learner = b.learner AND d.seq = b.seq)",
            &[&learners, &message_ids, &seqs],
        )?;
        for row in left_out {
            left_out_message(row.try_get(0)?, row.try_get(1)?);
        }
        Ok(())
    }

    fn put(&self, client: &mut Session) -> Result<(), Failure> {
        let sql = "SELECT EXISTS (SELECT 1 FROM deliveries WHERE learner = $1 AND seq = $2)";
        if !client.query_one(sql, &[&self.learner, &self.seq])?.try_get::<_, bool>(0)? {
            left_out_message(self.learner, self.message_id);
            return Ok(());
        }
        rows::put_message(client, self.learner, self.message_id, self.seq)
    }
}

/// sled can keep a message id whose delivery retention took (the delivery had become another
/// message since); the tables' foreign key cannot.
fn left_out_message(learner: i64, message_id: i64) {
    tracing::warn!(learner, message_id, "a message id of a delivery no longer stored was left out");
}
