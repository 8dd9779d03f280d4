//! The clock-driven part of the daemon: sends each learner's nudge when their agenda entry is
//! due. `tick(now)` is one step, so tests drive it with any time they like.
//!
//! The agenda holds one entry per learner (their next nudge); after a nudge the next one is
//! entered. After downtime every overdue entry fires once: missed slots collapse into one nudge
//! per learner, and the once-per-slot claim in the store keeps restarts from nudging twice.
//! An entry that cannot be nudged (a record that fails to decode, say) is retried a few times on
//! its own backoff and then parked; everyone due after it is nudged meanwhile.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::domain::{LearnerId, NextNudge};
use crate::service::{Batch, Service};
use crate::store::StoreError;
use crate::telegram::OutboxHandle;
use crate::telemetry::metrics::Metrics;

/// Learners nudged per chunk: each chunk is made durable and handed to the sender before the
/// next one is planned, so sending starts early in a large fan-out.
const CHUNK: usize = 256;
/// Longest sleep between checks, so a changed clock is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Longest sleep on a store several instances share: another instance may have moved a
/// learner's next nudge (a `/time` or a join it took by webhook) without waking this one.
const MAX_SLEEP_SHARED: Duration = Duration::from_secs(2);
/// Tries of one agenda entry that keeps failing before it is parked (logged as an error and left
/// alone until the next start), like an update that keeps failing in the poller.
const MAX_TRIES_PER_ENTRY: u32 = 3;
/// Wait after an entry's first failure; doubles with each further one.
const FIRST_RETRY: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Sends nudges as they fall due.
#[derive(Clone)]
pub struct Scheduler {
    service: Arc<Service>,
    outbox: OutboxHandle,
    metrics: Arc<Metrics>,
    /// Agenda entries that failed, so one bad record is retried on its own backoff and then
    /// parked instead of holding up everyone due after it.
    failing: Arc<Mutex<HashMap<LearnerId, Failing>>>,
}

/// An agenda entry that failed to nudge.
struct Failing {
    /// The entry that failed; a changed entry (new slot, new time) starts afresh.
    next: NextNudge,
    tries: u32,
    /// Left alone until then; `None` once parked.
    retry_at: Option<DateTime<Utc>>,
}

/// What one learner's nudge came to.
enum Nudged {
    Sent(Option<Batch>),
    Failed(String),
}

impl Scheduler {
    /// A scheduler sending through `outbox`.
    pub fn new(service: Arc<Service>, outbox: OutboxHandle, metrics: Arc<Metrics>) -> Self {
        Self { service, outbox, metrics, failing: Arc::default() }
    }

    /// Sends every nudge due at or before `now`; returns the number of learners nudged. An entry
    /// that fails is retried at a later tick, up to [`MAX_TRIES_PER_ENTRY`] times, then parked.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut nudged = 0;
        let mut after: Option<(LearnerId, NextNudge)> = None;
        loop {
            let page =
                self.service.store().due_agenda_after(after.as_ref().map(|(id, next)| (*id, next)), now, CHUNK)?;
            let Some(last) = page.last().cloned() else {
                return Ok(nudged);
            };
            after = Some(last);
            let due: Vec<_> = page.into_iter().filter(|(learner, next)| !self.waits(*learner, next, now)).collect();
            nudged += self.nudge_chunk(due, now).await?;
        }
    }

    /// True while `learner`'s entry `next` backs off after a failure, or is parked.
    fn waits(&self, learner: LearnerId, next: &NextNudge, now: DateTime<Utc>) -> bool {
        let failing = self.failing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failing.get(&learner).is_some_and(|entry| entry.next == *next && entry.retry_at.is_none_or(|at| at > now))
    }

    async fn nudge_chunk(&self, due: Vec<(LearnerId, NextNudge)>, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let parts = self.service.store().parallelism().max(1);
        let per_part = due.len().div_ceil(parts).max(1);
        let mut planning = Vec::with_capacity(parts);
        let mut due = due.into_iter();
        loop {
            let part: Vec<_> = due.by_ref().take(per_part).collect();
            if part.is_empty() {
                break;
            }
            let service = self.service.clone();
            planning.push(tokio::task::spawn_blocking(move || plan(&service, part, now)));
        }
        let mut planned = Vec::new();
        for part in planning {
            let part = part.await.map_err(|error| StoreError::Corrupt {
                tree: "agenda",
                reason: format!("planning stopped: {error}"),
            })?;
            planned.extend(part);
        }
        self.service.store().flush().await?;
        let mut n = 0;
        for (learner, next, nudged) in planned {
            match nudged {
                Nudged::Sent(batch) => {
                    self.succeeded(learner);
                    if let Some(batch) = batch {
                        n += 1;
                        self.outbox.bulk(batch);
                    }
                }
                Nudged::Failed(error) => self.failed(learner, next, &error, now),
            }
        }
        Ok(n)
    }

    fn succeeded(&self, learner: LearnerId) {
        let mut failing = self.failing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failing.remove(&learner);
    }

    /// Counts a failure of `learner`'s entry `next`: a later retry, or parked after the last try.
    fn failed(&self, learner: LearnerId, next: NextNudge, error: &str, now: DateTime<Utc>) {
        let mut failing = self.failing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let tries = failing.get(&learner).filter(|entry| entry.next == next).map_or(0, |entry| entry.tries) + 1;
        let retry_at = (tries < MAX_TRIES_PER_ENTRY).then(|| now + FIRST_RETRY * 2i32.pow(tries - 1));
        match retry_at {
            Some(at) => {
                tracing::warn!(learner = learner.get(), tries, error = %error, retry_at = %at, "cannot nudge a learner; retrying later")
            }
            None => {
                tracing::error!(learner = learner.get(), tries, error = %error, "a learner's nudge keeps failing; parking it until the next start");
                self.metrics.parked_nudges.inc();
            }
        }
        failing.insert(learner, Failing { next, tries, retry_at });
    }

    /// When the scheduler should look again: the earliest entry that is not backing off or
    /// parked, or the earliest retry.
    fn next_wake(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (skipped, retry) = {
            let failing = self.failing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (failing.len(), failing.values().filter_map(|entry| entry.retry_at).min())
        };
        let store = self.service.store();
        let first = store.due_agenda(DateTime::<Utc>::MAX_UTC, skipped + 1).ok().and_then(|entries| {
            entries.into_iter().find(|(learner, next)| !self.waits(*learner, next, now)).map(|(_, next)| next.at)
        });
        [first, retry].into_iter().flatten().min()
    }

    /// Ticks whenever a nudge falls due until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let shared = self.service.settings().store.backend.shared_by_instances();
        let max_sleep = if shared { MAX_SLEEP_SHARED } else { MAX_SLEEP };
        loop {
            match self.tick(crate::clock::now()).await {
                Ok(0) => {}
                Ok(nudged) => tracing::info!(learners = nudged, "nudged"),
                Err(error) => tracing::error!(error = %error, "the scheduler could not nudge; retrying shortly"),
            }
            let wait = self.next_wake(crate::clock::now()).map_or(max_sleep, |at| {
                crate::clock::real_wait((at - crate::clock::now()).to_std().unwrap_or_default())
            });
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.service.agenda_changed().notified() => {}
                _ = tokio::time::sleep(wait.min(max_sleep) + Duration::from_millis(5)) => {}
            }
        }
    }
}

/// Plans the nudges of `due` one learner after another, each on its own (a failure or a panic
/// is that learner's alone).
fn plan(
    service: &Service,
    due: Vec<(LearnerId, NextNudge)>,
    now: DateTime<Utc>,
) -> Vec<(LearnerId, NextNudge, Nudged)> {
    due.into_iter()
        .map(|(learner, next)| {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| service.nudge_due(learner, &next, now)));
            let nudged = match outcome {
                Ok(Ok(seqs)) => Nudged::Sent((!seqs.is_empty()).then_some(Batch { learner, seqs })),
                Ok(Err(error)) => Nudged::Failed(error.to_string()),
                Err(_) => Nudged::Failed("planning the nudge panicked".to_owned()),
            };
            (learner, next, nudged)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Incoming;
    use crate::store::Store;
    use crate::telegram::outbox;
    use crate::testkit::{at, demo_pack, id, library, person, settings};

    /// A service with learners `ids` enrolled, and its sled store (for writes no use case makes).
    fn enrolled(ids: &[LearnerId]) -> (Arc<Service>, Store) {
        let store = Store::temporary().expect("a store");
        let service = Service::new(Arc::new(store.clone()), Arc::new(settings()), library(demo_pack()));
        for &id in ids {
            let start = Incoming::from_text(person(id), "/start JOIN", None);
            service.handle(&start, at("2026-11-23T09:00:00Z")).expect("enrolled");
        }
        (Arc::new(service), store)
    }

    fn due(service: &Service, id: LearnerId) -> NextNudge {
        service.store().learner(id).ok().flatten().and_then(|learner| learner.next_nudge).expect("a nudge is due")
    }

    #[tokio::test]
    async fn a_record_that_fails_to_decode_is_retried_then_parked_and_the_others_are_nudged() {
        let (service, store) = enrolled(&[id(1), id(2), id(3)]);
        let (handle, mut receiver) = outbox();
        let metrics = Arc::new(Metrics::default());
        let scheduler = Scheduler::new(service.clone(), handle, metrics.clone());
        let stuck = due(&service, id(2));
        let now = [1, 2, 3].map(|n| due(&service, id(n)).at).into_iter().max().expect("three learners");
        store.put_raw_learner(id(2), b"not a learner").expect("written");

        assert_eq!(scheduler.tick(now).await.expect("the tick goes on past learner 2"), 2);
        let handed: Vec<LearnerId> = receiver.drain_bulk().iter().map(|batch| batch.learner).collect();
        assert_eq!(handed, [1, 3].map(LearnerId::new), "both committed batches reach the sender");
        assert_eq!(scheduler.tick(now).await.expect("tick"), 0, "learner 2 backs off");
        assert!(scheduler.next_wake(now).is_some_and(|at| at > now), "no wake-up for an entry that backs off");

        scheduler.tick(now + FIRST_RETRY).await.expect("second try");
        assert_eq!(metrics.parked_nudges.get(), 0);
        scheduler.tick(now + FIRST_RETRY * 3).await.expect("third try");
        assert_eq!(metrics.parked_nudges.get(), 1, "parked after the third try");
        scheduler.tick(now + chrono::TimeDelta::hours(1)).await.expect("tick");
        assert_eq!(metrics.parked_nudges.get(), 1, "a parked entry is left alone");
        assert!(
            service.store().has_agenda(&stuck, LearnerId::new(2)),
            "parked, not dropped: the next start tries again"
        );
        assert!(receiver.drain_bulk().is_empty());
        assert!(
            scheduler.next_wake(now + chrono::TimeDelta::hours(1)).is_some_and(|at| at > stuck.at),
            "the parked entry wakes nobody"
        );
    }
}
