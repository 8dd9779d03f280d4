//! The fault soak: a bounded run in which a share of all calls fail with 429, server errors or
//! time-outs. Checked at the end: every prompt was delivered, no call came during a
//! `retry_after` wait, memory stayed flat, and nothing is left stuck in the outbox.

use std::time::{Duration, Instant};

use chrono::Utc;
use fake_telegram::{FakeTelegram, TgUser};
use nudge::app::{App, AppOptions};
use nudge::config::{Limits, Settings};
use nudge::domain::DeliveryState;
use nudge::service::Service;
use nudge::telegram::RetryPolicy;
use secrecy::SecretString;

use crate::setup::{Cohort, enrol, install};

/// Slots after which memory is first measured: the store's cache has warmed up by then.
const BASELINE_SLOTS: usize = 8;

/// How long the fake holds a call to fault it with a time-out (past the client's 3 s).
const FAULT_DELAY: Duration = Duration::from_secs(4);

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct SoakOptions {
    /// How long to keep nudging.
    pub duration: Duration,
    /// Wall time between slots (each one a virtual day).
    pub slot_every: Duration,
    /// Learners.
    pub learners: usize,
    /// Share of calls that fail.
    pub fault_rate: f64,
    /// Seed of the faults.
    pub seed: u64,
}

/// What the soak found.
#[derive(Debug, Clone, Default)]
pub struct SoakResult {
    /// Slots run (one virtual day each).
    pub slots: usize,
    /// Prompts recorded in the store.
    pub prompts: usize,
    /// Prompts Telegram (the fake) accepted.
    pub delivered: usize,
    /// Prompts given up on (must be 0).
    pub failed: usize,
    /// Deliveries still pending at the end (must be 0).
    pub stuck: usize,
    /// Deliveries pending when the faults stopped: how far the outbox had fallen behind.
    pub backlog: usize,
    /// 429s and server errors the fake injected.
    pub faults: (u64, u64),
    /// Failed calls the daemon retried (server errors and time-outs).
    pub retried_calls: u64,
    /// Calls that arrived while a `retry_after` was running (must be 0).
    pub retry_after_ignored: usize,
    /// Resident memory after the first slots (caches warm) and at the end, in MB.
    pub rss_mb: (f64, f64),
    /// Heap in use at the same two moments, in MB (when `nudge-proof` counts allocations).
    pub heap_mb: (f64, f64),
    /// Heap and RSS in MB every ten slots, to see whether growth levels off.
    pub every_ten_slots: Vec<(f64, f64)>,
    /// Messages the fake still holds after the last slot (quizzes whose edit is on its way):
    /// part of the heap measured, not the daemon's.
    pub fake_messages_kept: usize,
}

impl SoakResult {
    /// True when every prompt was delivered, none is stuck, no `retry_after` was ignored, and
    /// the live heap grew by less than a fifth (plus 20 MB for caches warming up). The heap, not
    /// RSS, since RSS also holds what the allocator keeps after frees (reported alongside).
    pub fn passed(&self) -> bool {
        let flat = self.heap_mb.1 <= self.heap_mb.0 * 1.2 + 20.0;
        self.prompts > 0
            && self.delivered == self.prompts
            && self.failed == 0
            && self.stuck == 0
            && self.retry_after_ignored == 0
            && flat
    }
}

/// Runs the soak.
pub fn run(options: SoakOptions) -> anyhow::Result<SoakResult> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(soak(options))
}

async fn soak(options: SoakOptions) -> anyhow::Result<SoakResult> {
    let fake = FakeTelegram::start();
    let install = install(&fake.api_url(), &Cohort { schedule: "0 9 * * *", per_second: 0, per_chat: 0 })?;
    let start = Utc::now();
    enrol(&install.store, 1..options.learners as i64 + 1, start)?;
    let settings = Settings::load(&install.config)?;
    let retry = RetryPolicy {
        max_attempts: 12,
        first_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
        call_timeout: Duration::from_secs(3),
        max_retry_afters: 50,
    };
    let app_options = AppOptions { limits: Some(Limits::NONE), retry, run_scheduler: false, ..AppOptions::default() };
    let app = App::build(settings, SecretString::from("1:soak"), app_options).await?;
    fake.set_fault_delay(FAULT_DELAY);
    fake.random_faults(options.fault_rate, options.seed);
    let (service, scheduler, metrics) = (app.service(), app.scheduler(), app.metrics());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let mut result = SoakResult::default();
    let mut refused: Vec<Instant> = Vec::new();
    let began = Instant::now();
    let mut day = 0;
    let mut pressed = vec![0; options.learners + 1];
    while began.elapsed() < options.duration {
        scheduler.tick(start + chrono::Duration::days(day)).await?;
        result.slots += 1;
        day += 1;
        answer_quizzes(&fake, &mut pressed);
        tokio::time::sleep(options.slot_every).await;
        // The fake forgets checked calls and old messages, so the memory measured is the daemon's.
        check_waits(&fake, &mut refused, &mut result);
        forget_history(&fake);
        if result.slots % 10 == 0 {
            let rss = crate::memory_mb(std::process::id()).map_or(0.0, |(rss, _)| rss);
            result.every_ten_slots.push((crate::heap_mb(), rss));
        }
        if result.slots == BASELINE_SLOTS {
            result.rss_mb.0 = crate::memory_mb(std::process::id()).map_or(0.0, |(rss, _)| rss);
            result.heap_mb.0 = crate::heap_mb();
        }
    }
    result.fake_messages_kept = (1..=options.learners as i64).map(|learner| fake.sent_to(learner).len()).sum();
    fake.random_faults(0.0, 0);
    result.backlog = service.store().n_pending();
    drain(&fake, &service, &mut refused, &mut result).await;
    forget_history(&fake);
    result.rss_mb.1 = crate::memory_mb(std::process::id()).map_or(0.0, |(rss, _)| rss);
    result.heap_mb.1 = crate::heap_mb();
    result.retried_calls = metrics.call_errors.get();
    let _ = stop.send(());
    daemon.await??;
    // The store is free once every handle to it is gone.
    drop((service, scheduler, metrics));
    count(&install.store, &fake, &mut result)?;
    Ok(result)
}

/// Waits (up to two minutes) for the outbox to empty. Nobody presses buttons any more, so the
/// fake stops storing messages and calls are checked as they come: otherwise the fake would
/// hold every message of the backlog (about 5 KB each), and the memory measured at the end
/// would be mostly the fake's.
async fn drain(fake: &FakeTelegram, service: &Service, refused: &mut Vec<Instant>, result: &mut SoakResult) {
    fake.keep_sent_messages(false);
    let settle = Instant::now() + Duration::from_secs(120);
    while service.store().n_pending() > 0 && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(200)).await;
        check_waits(fake, refused, result);
    }
    check_waits(fake, refused, result);
}

/// Makes the fake forget checked calls and every message but quizzes still to be pressed: the
/// learners here press nothing else ("share with my team", practice check-ins), so the fake
/// would otherwise hold those for ever and its memory would count as the daemon's.
fn forget_history(fake: &FakeTelegram) {
    fake.forget_history_keeping(|message| {
        message
            .all_buttons()
            .iter()
            .any(|button| button.callback_data.as_deref().is_some_and(|data| data.starts_with("q:")))
    });
}

/// Learners press an answer on each new quiz, once, as people do (a quiz keeps its buttons
/// until the daemon's edit arrives). `pressed[learner]` is the last message pressed.
fn answer_quizzes(fake: &FakeTelegram, pressed: &mut [i64]) {
    for (learner, last) in pressed.iter_mut().enumerate().skip(1) {
        let seen = *last;
        for message in fake.sent_to(learner as i64).into_iter().filter(|message| message.message_id > seen) {
            if let Some(data) = message.all_buttons().first().and_then(|button| button.callback_data.clone())
                && data.starts_with("q:")
            {
                fake.user_presses(&TgUser::new(learner as i64), message.message_id, &data);
                *last = message.message_id;
            }
        }
    }
}

fn count(store_path: &std::path::Path, fake: &FakeTelegram, result: &mut SoakResult) -> anyhow::Result<()> {
    let store = nudge::store::Store::open(store_path)?;
    let store: &dyn nudge::store::Storage = &store;
    for delivery in store.deliveries().filter_map(Result::ok).filter(|d| d.purpose.is_prompt()) {
        result.prompts += 1;
        match delivery.state {
            DeliveryState::Sent { .. } => result.delivered += 1,
            DeliveryState::Failed { .. } => result.failed += 1,
            DeliveryState::Pending => result.stuck += 1,
        }
    }
    let stats = fake.stats();
    result.faults = (stats.sent_429, stats.sent_5xx);
    Ok(())
}

/// Checks the calls since the last check against the 429s of the last few seconds.
fn check_waits(fake: &FakeTelegram, refused: &mut Vec<Instant>, result: &mut SoakResult) {
    let requests = fake.take_requests();
    refused.extend(requests.iter().filter(|r| r.status == 429).map(|r| r.at));
    result.retry_after_ignored += ignored_waits(refused, &requests);
    // A call is recorded when the fake replies, up to the fault delay after it arrived: keep
    // the 429s that a call recorded later could still have arrived inside.
    refused.retain(|at| at.elapsed() < FAULT_DELAY + Duration::from_secs(2));
}

/// Calls that arrived well inside the second a 429 (retry_after 1) asked to wait; calls already
/// on their way when the 429 was sent are allowed for the first 150 ms. Arrival counts, not the
/// reply: a call the fake held back for a time-out arrived long before its reply.
fn ignored_waits(refused: &[Instant], requests: &[fake_telegram::RecordedRequest]) -> usize {
    requests
        .iter()
        .filter(|r| r.method != "getUpdates")
        .filter(|r| {
            refused.iter().any(|at| {
                r.arrived > *at
                    && r.arrived.duration_since(*at) > Duration::from_millis(150)
                    && r.arrived.duration_since(*at) < Duration::from_millis(900)
            })
        })
        .count()
}
