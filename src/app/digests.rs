//! The team loop's clock: at each cohort's `digest` slot (a cron in the cohort's zone) the
//! leads get their digest and the week's "from your colleagues" edition is made
//! (`Service::digest_slot`). `tick(now)` is one step, so tests drive it with any time.
//!
//! Each cohort's state remembers the last slot handled; after downtime only the latest missed
//! slot is handled, once. A claim per lead and slot in the store keeps a restart (or a tick
//! that failed halfway) from sending any lead a second copy.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use anyhow::Context as _;

use crate::config::Cohort;
use crate::service::Service;
use crate::telegram::OutboxHandle;

/// Longest sleep between looks at the clock, so a changed clock is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Sends the leads' digests as their slots come.
#[derive(Clone)]
pub struct Digests {
    service: Arc<Service>,
    outbox: OutboxHandle,
}

impl Digests {
    /// Digests sent through `outbox`.
    pub fn new(service: Arc<Service>, outbox: OutboxHandle) -> Self {
        Self { service, outbox }
    }

    /// Handles every cohort whose digest slot has come by `now` and was not handled yet;
    /// returns the number of leads who got a digest. A cohort that fails is logged by name and
    /// tried again at the next tick; the others go on.
    pub async fn tick(&self, now: DateTime<Utc>) -> usize {
        let mut sent = 0;
        for cohort in &self.service.settings().cohorts {
            match self.cohort_tick(cohort, now).await {
                Ok(leads) => sent += leads,
                Err(error) => {
                    let error = format!("{error:#}");
                    tracing::error!(cohort = %cohort.id, error, "the leads' digest cannot be made; trying again shortly")
                }
            }
        }
        sent
    }

    async fn cohort_tick(&self, cohort: &Cohort, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let state = self.service.store().cohort_state(&cohort.id)?;
        let Some(slot) = cohort.team.digest.latest_between(cohort.timezone, state.last_digest, now) else {
            return Ok(0);
        };
        let key = slot.key();
        let (service, cohort) = (self.service.clone(), cohort.clone());
        let batches = tokio::task::spawn_blocking(move || service.digest_slot(&cohort, &slot, now))
            .await
            .context("the digest stopped")?
            .with_context(|| format!("slot {key}"))?;
        self.service.store().flush().await?;
        let leads = batches.len();
        for batch in batches {
            self.outbox.bulk(batch);
        }
        Ok(leads)
    }

    /// When the next digest slot of any cohort comes, after `now`.
    fn next_slot(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cohorts = &self.service.settings().cohorts;
        cohorts
            .iter()
            .filter_map(|cohort| cohort.team.digest.next_after(cohort.timezone, now))
            .map(|slot| slot.at)
            .min()
    }

    /// Ticks at every digest slot until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            let sent = self.tick(crate::clock::now()).await;
            if sent > 0 {
                tracing::info!(leads = sent, "digests sent");
            }
            let now = crate::clock::now();
            let wait = self
                .next_slot(now)
                .map_or(MAX_SLEEP, |at| crate::clock::real_wait((at - now).to_std().unwrap_or_default()));
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait.min(MAX_SLEEP) + Duration::from_millis(5)) => {}
            }
        }
    }
}
