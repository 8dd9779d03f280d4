//! The clock-driven part of the daemon: sends each learner's nudge when their agenda entry is
//! due. `tick(now)` is one step, so tests drive it with any time they like.
//!
//! The agenda holds one entry per learner (their next nudge); after a nudge the next one is
//! entered. After downtime every overdue entry fires once: missed slots collapse into one nudge
//! per learner, and the once-per-slot claim in the store keeps restarts from nudging twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::model::{LearnerId, NextNudge};
use crate::service::{Batch, Service};
use crate::store::StoreError;
use crate::telegram::OutboxHandle;

/// Learners nudged per chunk: each chunk is made durable and handed to the sender before the
/// next one is planned, so sending starts early in a large fan-out.
const CHUNK: usize = 256;
/// Longest sleep between checks, so a changed clock is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Sends nudges as they fall due.
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

    /// Sends every nudge due at or before `now`; returns the number of learners nudged.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut nudged = 0;
        loop {
            let due = self.service.store().due_agenda(now, CHUNK)?;
            if due.is_empty() {
                return Ok(nudged);
            }
            nudged += self.nudge_chunk(due, now).await?;
        }
    }

    async fn nudge_chunk(&self, due: Vec<(LearnerId, NextNudge)>, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let service = self.service.clone();
        let batches = tokio::task::spawn_blocking(move || {
            let mut batches = Vec::with_capacity(due.len());
            for (learner, next) in due {
                let seqs = service.nudge_due(learner, &next, now)?;
                if !seqs.is_empty() {
                    batches.push(Batch { learner, seqs });
                }
            }
            Ok::<_, StoreError>(batches)
        })
        .await
        .map_err(|error| StoreError::Corrupt { tree: "agenda", reason: format!("planning stopped: {error}") })??;
        self.service.store().flush().await?;
        let n = batches.len();
        for batch in batches {
            self.outbox.bulk(batch);
        }
        Ok(n)
    }

    /// Ticks whenever a nudge falls due until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            match self.tick(Utc::now()).await {
                Ok(0) => {}
                Ok(nudged) => tracing::info!(learners = nudged, "nudged"),
                Err(error) => tracing::error!(error = %error, "the scheduler could not nudge; retrying shortly"),
            }
            let next = self.service.store().first_agenda().ok().flatten();
            let wait = next.map_or(MAX_SLEEP, |at| (at - Utc::now()).to_std().unwrap_or_default());
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.service.agenda_changed().notified() => {}
                _ = tokio::time::sleep(wait.min(MAX_SLEEP) + Duration::from_millis(5)) => {}
            }
        }
    }
}
