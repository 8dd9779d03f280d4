//! The learner's data rights and retention in PostgreSQL: the export, erasure (one transaction
//! under the learner's lock that deletes their rows from every table, so it is atomic and a use
//! case after it finds nothing), erasures marked but not finished (by the sled engine's
//! two-step erasure, or a restore) finished at connect, and the retention sweep.

use chrono::{DateTime, Utc};

use super::errors::Failure;
use super::rows::seq_of;
use super::{PgStore, pages};
use crate::domain::LearnerId;
use crate::store::{LearnerExport, Pruned, Storage, StorageExt, StoreError};

/// Every table that holds rows of a learner, with the column naming them. `agenda` before
/// `learners` and `outbox`, `messages` before `deliveries`: the order foreign keys prefer.
const LEARNER_TABLES: [(&str, &str); 9] = [
    ("agenda", "learner"),
    ("outbox", "learner"),
    ("messages", "learner"),
    ("answers", "learner"),
    ("deliveries", "learner"),
    ("slot_claims", "learner"),
    ("notes", "learner"),
    ("leads", "id"),
    ("learners", "id"),
];

impl PgStore {
    /// Everything stored about learner `id` ([`Storage::export`]).
    pub(super) fn export_learner(&self, id: LearnerId) -> Result<LearnerExport, StoreError> {
        let (mut messages, mut answers) = (Vec::new(), Vec::new());
        for exchange in pages::exchanges(self, Some(id)) {
            let exchange = exchange?;
            messages.extend(exchange.delivery);
            answers.extend(exchange.answers);
        }
        let team_notes = self.notes_of(id)?;
        Ok(LearnerExport { learner: self.learner(id)?, lead: Storage::lead(self, id)?, team_notes, messages, answers })
    }

    fn notes_of(&self, id: LearnerId) -> Result<Vec<crate::domain::Note>, StoreError> {
        let learner = id.get();
        let texts: Vec<String> = self.run(move |client| {
            let rows = client.query("SELECT record::text FROM notes WHERE learner = $1 ORDER BY seq", &[&learner])?;
            Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, tokio_postgres::Error>>()?)
        })?;
        texts.iter().map(|text| super::rows::parse("notes", text)).collect()
    }

    /// Deletes every row of learner `id` in one transaction under their lock ([`Storage::erase`]).
    pub(super) fn erase_learner(&self, id: LearnerId) -> Result<(), StoreError> {
        let learner = id.get();
        self.run(move |client| {
            client.in_transaction(|tx| {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&learner])?;
                for (table, column) in LEARNER_TABLES {
                    tx.execute(&format!("DELETE FROM {table} WHERE {column} = $1"), &[&learner])?;
                }
                Ok::<_, Failure>(())
            })
        })?;
        tracing::debug!(learner, "erased");
        Ok(())
    }

    /// Finishes the erasures that were marked and not done; returns how many there were.
    pub(super) fn finish_erasures(&self) -> Result<usize, StoreError> {
        let marked: Vec<i64> = self.run(|client| {
            let rows = client.query("SELECT id FROM learners WHERE status = 'erasing' ORDER BY id", &[])?;
            Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, tokio_postgres::Error>>()?)
        })?;
        for &id in &marked {
            tracing::info!(learner = id, "finishing an erasure that was interrupted");
            self.erase_learner(LearnerId::new(id))?;
        }
        Ok(marked.len())
    }

    /// Deletes answers and finished deliveries from before `before`, with what pointed at
    /// them, each exchange in its learner's transaction; then slot claims made before then and
    /// notes written before then ([`Storage::prune`]).
    pub(super) fn prune_before(&self, before: DateTime<Utc>) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        let expired: Vec<(i64, i64)> = self.run(move |client| {
            let rows = client.query(
                "SELECT learner, seq FROM answers WHERE at < $1
                 UNION SELECT learner, seq FROM deliveries WHERE finished_at < $1
                 ORDER BY learner, seq",
                &[&before],
            )?;
            Ok(rows
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })?;
        for (learner, seq) in expired {
            let (answers, delivery) =
                self.with_learner(LearnerId::new(learner), |tx| tx.prune_exchange(seq_of(seq), before))?;
            pruned.answers += answers;
            pruned.deliveries += usize::from(delivery);
        }
        self.run(move |client| Ok(client.execute("DELETE FROM slot_claims WHERE claimed_at < $1", &[&before])?))?;
        pruned.notes = self.prune_notes(before)?;
        Ok(pruned)
    }

    /// Deletes notes written before `before`, each in its learner's transaction.
    fn prune_notes(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let expired: Vec<(i64, i64)> = self.run(move |client| {
            let rows =
                client.query("SELECT learner, seq FROM notes WHERE at < $1 ORDER BY learner, seq", &[&before])?;
            Ok(rows
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })?;
        for &(learner, seq) in &expired {
            self.with_learner(LearnerId::new(learner), |tx| tx.remove_note(seq_of(seq)))?;
        }
        Ok(expired.len())
    }
}
