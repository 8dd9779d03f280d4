//! Moving a store written by an older nudge to the current schema, in place, at open.
//!
//! Schema 4 → 5 moves scheduling from FSRS-5 (`rs-fsrs`) to FSRS-6 (`fsrs`): each memory state
//! is computed again from the learner's answers to the item with FSRS-6's default weights, as if
//! FSRS-6 had scheduled it from the start, when the store still holds every answer it came from
//! (as many quiz answers as the state's `reps`). Where retention pruned the first answers the
//! FSRS-5 state is kept: stability and difficulty mean the same in both. Due dates stay as they
//! were set. See ARCHITECTURE.md, "Dependencies and why".
//!
//! Schema 3 → 4 adds a record kind (a quiz answer with the learner's confidence) and rewrites
//! nothing: every schema 3 record is a schema 4 record. The number changes so that an older
//! build refuses the store by its version instead of calling a rated answer damaged.
//!
//! Schema 2 → 3 keys the outbox by learner ‖ seq instead of seq alone, so that everything a
//! learner has in it is found by prefix (erasure, deactivation).
//!
//! Schema 1 → 2 rewrites every delivery from JSON to its compact record and moves each answer
//! (schema 1 kept them in a tree of their own) into its delivery's record. Every step can be
//! repeated (a record already rewritten is recognised, an answer moved twice replaces itself),
//! and the schema version changes only after everything is flushed, so a migration that is
//! interrupted (a crash, a full disk) simply runs again at the next start.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Exchange, SCHEMA_KEY, SCHEMA_VERSION, Storage, Store, StoreError, decode, encode, keys, records};
use crate::domain::{Answer, Delivery, ItemId, Learner, LearnerId};
use crate::engine::srs::{self, Grade, Parameters};

/// One learner's graded quiz answers per item, oldest first.
type History = BTreeMap<ItemId, Vec<(DateTime<Utc>, Grade)>>;

/// Schema 1's tree of answers: learner ‖ delivery ‖ part → JSON answer.
const V1_ANSWERS: &str = "answers";

impl Store {
    /// Moves a schema 4 store's FSRS-5 memory states to FSRS-6. Recomputing gives the same
    /// states again, so an interrupted run simply runs again.
    pub(super) fn migrate_from_v4(&self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let defaults = Parameters::default();
        let (mut recomputed, mut kept) = (0usize, 0usize);
        for entry in self.learners.iter() {
            let (key, value) = entry?;
            let mut learner: Learner = decode("learners", &value)?;
            if learner.progress.memory.is_empty() {
                continue;
            }
            let history = self.quiz_history(learner.id)?;
            let recomputed_before = recomputed;
            for (item, memory) in &mut learner.progress.memory {
                let answers = history.get(item).map_or(&[][..], Vec::as_slice);
                match srs::state_after(answers, &defaults).filter(|_| answers.len() == memory.reps as usize) {
                    Some((stability, difficulty)) => {
                        (memory.stability, memory.difficulty) = (stability, difficulty);
                        recomputed += 1;
                    }
                    None => kept += 1,
                }
            }
            if recomputed > recomputed_before {
                self.learners.insert(key, encode(&learner)?)?;
            }
        }
        self.flush_blocking()?;
        self.set_meta(SCHEMA_KEY, &SCHEMA_VERSION)?;
        self.flush_blocking()?;
        tracing::info!(
            recomputed,
            kept,
            seconds = started.elapsed().as_secs_f64(),
            "the store is on schema {SCHEMA_VERSION}: memory states are FSRS-6's (recomputed from the answers where all of them are kept)"
        );
        Ok(())
    }

    /// Learner `id`'s quiz answers per item, oldest first, graded as the scheduler grades them.
    fn quiz_history(&self, id: LearnerId) -> Result<History, StoreError> {
        let mut history = History::new();
        for entry in self.deliveries.scan_prefix(keys::learner(id)) {
            let (key, value) = entry?;
            for answer in records::decode_exchange(&key, &value)?.answers {
                if let Some(grade) = Grade::of_answer(&answer.kind) {
                    history.entry(answer.item).or_default().push((answer.at, grade));
                }
            }
        }
        for answers in history.values_mut() {
            answers.sort_by_key(|(at, _)| *at);
        }
        Ok(history)
    }

    /// Re-keys a schema 2 outbox (seq → learner id) as schema 3 (learner id ‖ seq → nothing).
    /// An entry already re-keyed (16 bytes) is left as it is, so the step can be repeated.
    pub(super) fn migrate_from_v2(&self) -> Result<(), StoreError> {
        for entry in self.outbox.iter() {
            let (key, value) = entry?;
            if key.len() == 16 {
                continue;
            }
            let seq = keys::read_seq(&key, "outbox")?;
            let learner = keys::read_learner(&value, "outbox")?;
            self.outbox.insert(keys::outbox(learner, seq), &[])?;
            self.outbox.remove(key)?;
        }
        self.flush_blocking()?;
        self.set_meta(SCHEMA_KEY, &3u32)?;
        self.flush_blocking()?;
        tracing::info!("the store is on schema 3 (the outbox is keyed by learner)");
        Ok(())
    }

    /// Marks a schema 3 store as schema 4: nothing to rewrite (see the module's comment).
    pub(super) fn migrate_from_v3(&self) -> Result<(), StoreError> {
        self.set_meta(SCHEMA_KEY, &4u32)?;
        self.flush_blocking()?;
        tracing::info!("the store is on schema 4 (quiz answers may carry a confidence)");
        Ok(())
    }

    /// Rewrites a schema 1 store as schema 2.
    pub(super) fn migrate_from_v1(&self) -> Result<(), StoreError> {
        let answers = self.db.open_tree(V1_ANSWERS)?;
        tracing::info!(
            deliveries = self.deliveries.len(),
            answers = answers.len(),
            "moving the store to schema 2 (compact records); this runs once"
        );
        let started = std::time::Instant::now();
        for entry in self.deliveries.iter() {
            let (key, value) = entry?;
            match decode::<Delivery>("deliveries", &value) {
                Ok(delivery) => {
                    let exchange = Exchange { delivery: Some(delivery), answers: Vec::new() };
                    self.deliveries.insert(key, records::encode_exchange(&exchange)?)?;
                }
                // Not JSON: fine if an interrupted migration already rewrote it.
                Err(error) => _ = records::decode_exchange(&key, &value).map_err(|_| error)?,
            }
        }
        for entry in answers.iter() {
            let (key, value) = entry?;
            let answer: Answer = decode(V1_ANSWERS, &value)?;
            self.change_exchange(&keys::delivery(answer.learner, answer.delivery), |exchange| {
                exchange.put_answer(answer)
            })?;
            answers.remove(key)?;
        }
        self.flush_blocking()?;
        self.set_meta(SCHEMA_KEY, &2u32)?;
        self.db.drop_tree(V1_ANSWERS)?;
        self.flush_blocking()?;
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "the store is on schema 2");
        Ok(())
    }
}
