//! One learner's transaction in PostgreSQL: `BEGIN`, `pg_advisory_xact_lock(learner)` (one
//! transaction per learner at a time, also before the learner has a row), then the
//! [`LearnerTx`] calls on the connection checked out for the whole transaction, under READ
//! COMMITTED. Writes wait on the caller's side and go with the next read (or the commit) as
//! one job, which the session sends in one round trip. A serialization failure or deadlock
//! runs the work again.

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use super::errors::Failure;
use super::pool::{Checkout, Session};
use super::rows::{self, AnswerRow, DeliveryRow, LeadRow, LearnerRow, NoteRow, json, parse, seq_of, seq_sql};
use crate::domain::{Answer, Delivery, DeliverySeq, DeliveryState, Lead, Learner, LearnerId, NextNudge, Note};
use crate::store::{LearnerTx, StoreError, TxError};

/// Runs `work` in learner `id`'s transaction on `connection`, again on a conflict.
pub(super) fn transact(
    connection: &Checkout<'_>,
    id: LearnerId,
    work: &mut dyn FnMut(&dyn LearnerTx) -> Result<(), TxError>,
) -> Result<(), StoreError> {
    loop {
        connection.set_in_transaction(true);
        let tx = PgTx::begin(id, connection);
        let outcome = work(&tx).map_err(Failure::from).and_then(|()| tx.run(|client| Ok(client.commit()?)));
        let outcome = match outcome {
            Ok(()) => Ok(Ok(())),
            // A failed COMMIT has ended the transaction already; ROLLBACK then only warns.
            Err(failure) => connection.run(|client| Ok(client.rollback()?)).map(|()| Err(failure)),
        };
        connection.set_in_transaction(false);
        match outcome? {
            Ok(()) => return Ok(()),
            Err(Failure::Conflict) => tracing::debug!(learner = id.get(), "a conflict; the transaction runs again"),
            Err(Failure::Store(error)) => return Err(error),
        }
    }
}

impl From<TxError> for Failure {
    fn from(error: TxError) -> Self {
        match error {
            TxError::Conflict => Self::Conflict,
            TxError::Abort(error) => Self::Store(error),
        }
    }
}

/// A step of a transaction that needs no answer, kept until the next one that does.
type Deferred = Box<dyn FnOnce(&mut Session) -> Result<(), Failure> + Send>;

/// The learner and the connection of one transaction, and the steps not sent yet.
struct PgTx<'a, 'pool> {
    id: LearnerId,
    connection: &'a Checkout<'pool>,
    /// Writes (and at first `BEGIN` and the lock) kept on the caller's side: they go to the
    /// connection's thread with the next step that waits for an answer, as one job, and the
    /// session sends them on with it in one round trip.
    deferred: RefCell<Vec<Deferred>>,
    /// The learner's record once read or written: under their lock only this transaction
    /// changes it, so it is read from the server once.
    learner: RefCell<Option<Option<Learner>>>,
}

impl<'a, 'pool> PgTx<'a, 'pool> {
    /// Learner `id`'s transaction on `connection`: `BEGIN` and the learner's lock, deferred.
    fn begin(id: LearnerId, connection: &'a Checkout<'pool>) -> Self {
        let learner = id.get();
        let tx = Self { id, connection, deferred: RefCell::new(Vec::new()), learner: RefCell::new(None) };
        tx.defer(move |client| {
            client.begin_holding("BEGIN ISOLATION LEVEL READ COMMITTED");
            let statement = client.prepared("SELECT pg_advisory_xact_lock($1)")?;
            client.write(&statement, &[&learner])
        });
        tx
    }

    /// Keeps `job`, which answers nothing, for the next step that waits.
    fn defer(&self, job: impl FnOnce(&mut Session) -> Result<(), Failure> + Send + 'static) {
        self.deferred.borrow_mut().push(Box::new(job));
    }

    /// [`Self::defer`] for a `LearnerTx` write.
    fn write(&self, job: impl FnOnce(&mut Session) -> Result<(), Failure> + Send + 'static) -> Result<(), TxError> {
        self.defer(job);
        Ok(())
    }

    /// Runs the deferred steps and then `job` on the transaction's connection, as one job.
    fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, Failure> {
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        self.connection.run(move |client| {
            for step in deferred {
                step(client)?;
            }
            job(client)
        })
    }

    /// [`Self::run`] for a `LearnerTx` read.
    fn read<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, TxError> {
        Ok(self.run(job)?)
    }

    /// The record JSON of the row `sql` selects for this learner (`$1`) and `seq` (`$2`).
    fn record(&self, sql: &'static str, seq: Option<i64>) -> Result<Option<String>, TxError> {
        let learner = self.id.get();
        self.read(move |client| {
            let statement = client.prepared(sql)?;
            let row = match seq {
                Some(seq) => client.query_opt(&statement, &[&learner, &seq])?,
                None => client.query_opt(&statement, &[&learner])?,
            };
            Ok(row.map(|row| row.try_get::<_, String>(0)).transpose()?)
        })
    }
}

impl LearnerTx for PgTx<'_, '_> {
    fn learner_id(&self) -> LearnerId {
        self.id
    }

    fn learner(&self) -> Result<Option<Learner>, TxError> {
        if let Some(known) = self.learner.borrow().as_ref() {
            return Ok(known.clone());
        }
        let record = self.record("SELECT record::text FROM learners WHERE id = $1", None)?;
        let learner: Option<Learner> = record.map(|text| parse("learners", &text)).transpose()?;
        *self.learner.borrow_mut() = Some(learner.clone());
        Ok(learner)
    }

    fn lead(&self) -> Result<Option<Lead>, TxError> {
        let record = self.record("SELECT record::text FROM leads WHERE id = $1", None)?;
        Ok(record.map(|text| parse("leads", &text)).transpose()?)
    }

    fn put_lead(&self, lead: &Lead) -> Result<(), TxError> {
        let row = LeadRow::new(self.id, lead, json(lead)?);
        self.write(move |client| row.put(client))
    }

    fn remove_lead(&self) -> Result<(), TxError> {
        let learner = self.id.get();
        self.write(move |client| execute(client, "DELETE FROM leads WHERE id = $1", &[&learner]))
    }

    fn note(&self, seq: DeliverySeq) -> Result<Option<Note>, TxError> {
        let sql = "SELECT record::text FROM notes WHERE learner = $1 AND seq = $2";
        Ok(self.record(sql, Some(seq_sql(seq)))?.map(|text| parse("notes", &text)).transpose()?)
    }

    fn put_note(&self, note: &Note) -> Result<(), TxError> {
        let row = NoteRow::new(self.id, note.delivery, note, json(note)?);
        self.write(move |client| row.put(client))
    }

    fn remove_note(&self, seq: DeliverySeq) -> Result<(), TxError> {
        let (learner, seq) = (self.id.get(), seq_sql(seq));
        self.write(move |client| {
            execute(client, "DELETE FROM notes WHERE learner = $1 AND seq = $2", &[&learner, &seq])
        })
    }

    fn put_learner(&self, learner: &Learner) -> Result<(), TxError> {
        let row = LearnerRow::new(self.id, learner, json(learner)?);
        *self.learner.borrow_mut() = Some(Some(learner.clone()));
        self.write(move |client| row.put(client))
    }

    fn claim_slot(&self, cohort: &str, slot_key: &str, now: DateTime<Utc>) -> Result<bool, TxError> {
        let (learner, cohort, slot_key, record) = (self.id.get(), cohort.to_owned(), slot_key.to_owned(), json(&now)?);
        self.read(move |client| rows::claim_slot(client, learner, &cohort, &slot_key, Some(now), &record))
    }

    fn next_seq(&self) -> Result<DeliverySeq, TxError> {
        self.read(|client| {
            let statement = client.prepared("SELECT nextval('delivery_numbers')")?;
            Ok(seq_of(client.query_one(&statement, &[])?.try_get(0)?))
        })
    }

    fn delivery(&self, seq: DeliverySeq) -> Result<Option<Delivery>, TxError> {
        let sql = "SELECT record::text FROM deliveries WHERE learner = $1 AND seq = $2";
        Ok(self.record(sql, Some(seq_sql(seq)))?.map(|text| parse("deliveries", &text)).transpose()?)
    }

    fn put_delivery(&self, delivery: &Delivery) -> Result<(), TxError> {
        let row = DeliveryRow::new(self.id, &rows::normal_delivery(self.id, delivery)?)?;
        self.write(move |client| row.put(client))
    }

    fn finish_delivery(&self, seq: DeliverySeq, state: DeliveryState) -> Result<(), TxError> {
        let Some(mut delivery) = LearnerTx::delivery(self, seq)? else {
            let (learner, seq) = (self.id.get(), seq_sql(seq));
            return self.write(move |client| {
                execute(client, "DELETE FROM outbox WHERE learner = $1 AND seq = $2", &[&learner, &seq])
            });
        };
        if let DeliveryState::Sent { message_id, .. } = state {
            delivery.outgoing = None;
            let (learner, seq) = (self.id.get(), seq_sql(seq));
            self.write(move |client| rows::put_message(client, learner, message_id, seq))?;
        }
        delivery.state = state;
        self.put_delivery(&delivery)
    }

    fn answer(&self, seq: DeliverySeq, part: u32) -> Result<Option<Answer>, TxError> {
        let (learner, seq, part) = (self.id.get(), seq_sql(seq), i64::from(part));
        let record = self.read(move |client| {
            let sql = "SELECT record::text FROM answers WHERE learner = $1 AND seq = $2 AND part = $3";
            let statement = client.prepared(sql)?;
            let row = client.query_opt(&statement, &[&learner, &seq, &part])?;
            Ok(row.map(|row| row.try_get::<_, String>(0)).transpose()?)
        })?;
        Ok(record.map(|text| parse("answers", &text)).transpose()?)
    }

    fn put_answer(&self, answer: &Answer) -> Result<(), TxError> {
        let row = AnswerRow::new(&rows::normal_answer(self.id, answer.delivery, answer)?)?;
        self.write(move |client| row.put(client))
    }

    fn prune_exchange(&self, seq: DeliverySeq, before: DateTime<Utc>) -> Result<(usize, bool), TxError> {
        let (learner, seq) = (self.id.get(), seq_sql(seq));
        self.read(move |client| {
            let statement = client.prepared("DELETE FROM answers WHERE learner = $1 AND seq = $2 AND at < $3")?;
            let answers = client.execute(&statement, &[&learner, &seq, &before])?;
            // The outbox entry and the message ids pointing at it go with the delivery (ON DELETE
            // CASCADE); like sled, so does the id of the message it became, wherever it points.
            let statement = client.prepared(
                "DELETE FROM deliveries WHERE learner = $1 AND seq = $2 AND finished_at < $3 RETURNING message_id",
            )?;
            let deleted = client.query_opt(&statement, &[&learner, &seq, &before])?;
            let Some(deleted) = deleted else { return Ok((answers as usize, false)) };
            if let Some(message_id) = deleted.try_get::<_, Option<i64>>(0)? {
                let sql = "DELETE FROM messages WHERE learner = $1 AND message_id = $2";
                execute(client, sql, &[&learner, &message_id])?;
            }
            Ok((answers as usize, true))
        })
    }

    fn delivery_of_message(&self, message_id: i64) -> Result<Option<DeliverySeq>, TxError> {
        let learner = self.id.get();
        self.read(move |client| {
            let sql = "SELECT seq FROM messages WHERE learner = $1 AND message_id = $2";
            let statement = client.prepared(sql)?;
            let row = client.query_opt(&statement, &[&learner, &message_id])?;
            Ok(row.map(|row| row.try_get::<_, i64>(0).map(seq_of)).transpose()?)
        })
    }

    fn set_agenda(&self, old: Option<&NextNudge>, new: Option<&NextNudge>) -> Result<(), TxError> {
        let learner = self.id.get();
        if let Some(old) = old {
            let due = rows::due_of(old.at);
            self.write(move |client| {
                let sql = "DELETE FROM agenda WHERE learner = $1 AND due = $2";
                execute(client, sql, &[&learner, &due])
            })?;
        }
        if let Some(new) = new {
            let (due, record) = (rows::due_of(new.at), json(new)?);
            self.write(move |client| rows::put_agenda(client, learner, due, &record))?;
        }
        Ok(())
    }
}

/// Runs statement `sql`, prepared once per session, with `params`; held back in a transaction.
fn execute(client: &mut Session, sql: &'static str, params: &[rows::Param<'_>]) -> Result<(), Failure> {
    let statement = client.prepared(sql)?;
    client.write(&statement, params)
}
