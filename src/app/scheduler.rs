//! The clock-driven part of the daemon: wakes at each cohort's next slot and nudges its
//! learners. `tick(now)` is one step, so tests drive it with any time they like.
//!
//! Slots missed while the daemon was down collapse into one nudge (the latest slot); each
//! learner is claimed per slot in the store, so a restart never nudges anyone twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::Cohort;
use crate::model::LearnerId;
use crate::service::Service;
use crate::store::StoreError;
use crate::telegram::OutboxHandle;

/// Learners planned per chunk: each chunk is made durable and handed to the sender before the
/// next one is planned, so sending starts early in a large fan-out.
const CHUNK: usize = 500;
/// Longest sleep between checks, so a changed clock or config is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Nudges cohorts on their schedules.
#[derive(Clone)]
pub struct Scheduler {
    service: Arc<Service>,
    outbox: OutboxHandle,
}

impl Scheduler {
    /// A scheduler sending through `outbox`.
    pub fn new(service: Arc<Service>, outbox: OutboxHandle) -> Self {
        Self { service, outbox }
    }

    /// Nudges every cohort with a slot due in `(cursor, now]`; returns the learners nudged.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut nudged = 0;
        for cohort in &self.service.settings().cohorts {
            nudged += self.tick_cohort(cohort, now).await?;
        }
        Ok(nudged)
    }

    async fn tick_cohort(&self, cohort: &Cohort, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let store = self.service.store();
        let Some(cursor) = store.cursor(&cohort.id)? else {
            store.set_cursor(&cohort.id, now)?;
            return Ok(0);
        };
        let slots = cohort.schedule.slots_between(cohort.timezone, cursor, now);
        let mut nudged = 0;
        if let Some(slot) = slots.last() {
            if slots.len() > 1 {
                tracing::info!(cohort = %cohort.id, missed = slots.len() - 1, "slots were missed while down; sending one nudge for them");
            }
            let members = self.service.slot_members(cohort, now)?;
            tracing::info!(cohort = %cohort.id, slot = %slot.key(), learners = members.len(), "nudging");
            for chunk in members.chunks(CHUNK) {
                nudged += self.nudge_chunk(cohort, slot, chunk.to_vec(), now).await?;
            }
        }
        store.set_cursor(&cohort.id, now)?;
        Ok(nudged)
    }

    async fn nudge_chunk(
        &self,
        cohort: &Cohort,
        slot: &crate::schedule::cron::Slot,
        chunk: Vec<LearnerId>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let service = self.service.clone();
        let (cohort, slot) = (cohort.clone(), slot.clone());
        let batches =
            tokio::task::spawn_blocking(move || service.run_slot(&cohort, &slot, &chunk, now))
                .await
                .map_err(|error| StoreError::Corrupt {
                    tree: "learners",
                    reason: format!("planning stopped: {error}"),
                })??;
        self.service.store().flush().await?;
        let n = batches.len();
        for batch in batches {
            self.outbox.bulk(batch);
        }
        Ok(n)
    }

    /// When the next slot of any cohort comes after `now`.
    pub fn next_wake(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.service
            .settings()
            .cohorts
            .iter()
            .filter_map(|cohort| cohort.schedule.next_after(cohort.timezone, now))
            .map(|slot| slot.at)
            .min()
    }

    /// Ticks at every slot until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let now = Utc::now();
            if let Err(error) = self.tick(now).await {
                tracing::error!(error = %error, "the scheduler could not nudge; retrying at the next wake-up");
            }
            let wake = self.next_wake(now).map_or(MAX_SLEEP, |at| {
                (at - Utc::now()).to_std().unwrap_or_default()
            });
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wake.min(MAX_SLEEP) + Duration::from_millis(5)) => {}
            }
        }
    }
}
