//! Load, in one process with the fake: a fan-out of one slot to many learners (limits off, or
//! at Telegram's pace), answer ingestion (a steady stream and a queued burst), and how soon a
//! reply goes out again after Telegram failed it with a 500.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use fake_telegram::{FakeTelegram, Limits as FakeLimits, TgUser};
use nudge::app::{App, AppOptions, Scheduler};
use nudge::config::{Limits, Settings};
use nudge::service::Service;
use nudge::telemetry::metrics::Metrics;
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::percentile;
use crate::setup::{Cohort, Install, enrol, install};

/// A daemon running in this process against an in-process fake.
struct Harness {
    fake: FakeTelegram,
    service: Arc<Service>,
    scheduler: Scheduler,
    metrics: Arc<Metrics>,
    stop: oneshot::Sender<()>,
    daemon: JoinHandle<anyhow::Result<()>>,
    /// Further instances on the same database (PostgreSQL), standing by.
    others: Vec<Instance>,
    /// Whether the further instances' schedulers plan the slot too (else they only stand by,
    /// as deployed).
    all_plan: bool,
    _install: Install,
}

/// A further instance: its scheduler, to tick it as the first's is ticked.
struct Instance {
    scheduler: Scheduler,
    stop: oneshot::Sender<()>,
    daemon: JoinHandle<anyhow::Result<()>>,
}

async fn harness(learners: usize, limits: Limits) -> anyhow::Result<Harness> {
    let fake = FakeTelegram::start();
    let cohort =
        Cohort { schedule: "0 9 * * *", per_second: limits.global_per_second, per_chat: limits.per_chat_per_second };
    let install = install(&fake.api_url(), &cohort)?;
    enrol(&install.store, 1..learners as i64 + 1, Utc::now())?;
    let settings = Settings::load(&install.config)?;
    let options = AppOptions { limits: Some(limits), run_scheduler: false, ..AppOptions::default() };
    let app = App::build(settings, SecretString::from("1:load"), options).await?;
    let (service, scheduler, metrics) = (app.service(), app.scheduler(), app.metrics());
    let (stop, stopped) = oneshot::channel::<()>();
    let daemon = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    Ok(Harness {
        fake,
        service,
        scheduler,
        metrics,
        stop,
        daemon,
        others: Vec::new(),
        all_plan: false,
        _install: install,
    })
}

/// Starts instance number `n` (from 2) of the harness's installation on the same database: its
/// own control socket, the same config otherwise. It stands by: the first holds the lease.
async fn another_instance(harness: &Harness, n: usize, limits: Limits) -> anyhow::Result<Instance> {
    let mut settings = Settings::load(&harness._install.config)?;
    settings.store.path = harness._install.dir.path().join(format!("store-{n}"));
    let options = AppOptions { limits: Some(limits), run_scheduler: false, ..AppOptions::default() };
    let app = App::build(settings, SecretString::from("1:load"), options).await?;
    let scheduler = app.scheduler();
    let (stop, stopped) = oneshot::channel::<()>();
    let daemon = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    Ok(Instance { scheduler, stop, daemon })
}

impl Harness {
    async fn shutdown(self) -> anyhow::Result<()> {
        for other in self.others {
            let _ = other.stop.send(());
            other.daemon.await??;
        }
        let _ = self.stop.send(());
        self.daemon.await?
    }

    /// Nudges everyone and waits until every message is sent and recorded.
    async fn fan_out(&self, learners: usize) -> anyhow::Result<Duration> {
        Ok(self.timed_fan_out(learners).await?.1)
    }

    /// [`Harness::fan_out`], also saying how long planning took (every scheduler's tick).
    async fn timed_fan_out(&self, learners: usize) -> anyhow::Result<(Duration, Duration)> {
        let started = Instant::now();
        let now = Utc::now();
        let planners = if self.all_plan { self.others.as_slice() } else { &[] };
        let ticks: Vec<_> = planners
            .iter()
            .map(|other| {
                let scheduler = other.scheduler.clone();
                tokio::spawn(async move { scheduler.tick(now).await })
            })
            .collect();
        let mut nudged = self.scheduler.tick(now).await?;
        for tick in ticks {
            nudged += tick.await??;
        }
        let planned = started.elapsed();
        anyhow::ensure!(nudged == learners, "{nudged} of {learners} learners were nudged");
        while self.metrics.prompts_sent.get() < 2 * learners as u64 || self.service.store().n_pending() > 0 {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(3600), "the fan-out did not finish");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok((planned, started.elapsed()))
    }
}

/// The fan-out figures.
#[derive(Debug, Clone)]
pub struct Fanout {
    /// Learners nudged.
    pub learners: usize,
    /// Messages sent (lesson and quiz each).
    pub messages: u64,
    /// From the slot to the last message recorded as sent.
    pub elapsed: Duration,
    /// From the slot to the last learner planned (and handed to the sender).
    pub planned: Duration,
    /// 429s the fake answered.
    pub too_many_requests: u64,
    /// Calls over the fake's enforced limits.
    pub rate_violations: u64,
}

impl Fanout {
    /// Learners nudged per second, end to end.
    pub fn nudges_per_second(&self) -> f64 {
        self.learners as f64 / self.elapsed.as_secs_f64()
    }

    /// Messages per second.
    pub fn messages_per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
}

/// Nudges `learners` learners in one slot: planning, sending and recording. With `instances`
/// above 1 (PostgreSQL), as many daemons share the database, standing by; with `all_plan`
/// every one's scheduler plans the slot at once (a learner's slot is claimed once). The active
/// one sends it all.
pub fn fanout(learners: usize, limits: Limits, instances: usize, all_plan: bool) -> anyhow::Result<Fanout> {
    runtime()?.block_on(async {
        let mut harness = harness(learners, limits).await?;
        harness.all_plan = all_plan;
        for n in 2..=instances {
            let other = another_instance(&harness, n, limits).await?;
            harness.others.push(other);
        }
        if limits != Limits::NONE {
            harness.fake.enforce_limits(Some(FakeLimits {
                global_per_second: limits.global_per_second,
                per_chat_per_second: limits.per_chat_per_second,
            }));
        }
        let (planned, elapsed) = harness.timed_fan_out(learners).await?;
        let stats = harness.fake.stats();
        let result = Fanout {
            learners,
            messages: harness.metrics.prompts_sent.get(),
            elapsed,
            planned,
            too_many_requests: stats.sent_429,
            rate_violations: stats.rate_violations,
        };
        harness.shutdown().await?;
        Ok(result)
    })
}

/// Answer ingestion figures.
#[derive(Debug, Clone, Default)]
pub struct Ingest {
    /// Answers pushed.
    pub answers: usize,
    /// Answers found in the store afterwards.
    pub recorded: usize,
    /// For a burst: from the burst to the last answer confirmed (so durable).
    pub drained_in: Duration,
    /// For a steady stream: update to reply (the button press answered), median and p99, ms.
    pub latency_ms: (f64, f64),
}

/// `learners` answers queued at once; how long until all are durably recorded.
pub fn burst(learners: usize) -> anyhow::Result<Ingest> {
    runtime()?.block_on(async {
        let harness = harness(learners, Limits::NONE).await?;
        harness.fan_out(learners).await?;
        let quizzes = quizzes(&harness.fake, learners);
        let started = Instant::now();
        let mut last = 0;
        for (learner, message_id, data) in &quizzes {
            last = harness.fake.user_presses(&TgUser::new(*learner), *message_id, data);
        }
        while harness.fake.confirmed_update_id().unwrap_or(0) < last {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(120), "the burst did not drain");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let drained_in = started.elapsed();
        let recorded = harness.service.store().answers().count();
        harness.shutdown().await?;
        Ok(Ingest { answers: quizzes.len(), recorded, drained_in, ..Ingest::default() })
    })
}

/// `rate` answers a second for `seconds`; the time from each update to its reply.
pub fn steady(rate: u32, seconds: u32) -> anyhow::Result<Ingest> {
    let learners = (rate * seconds) as usize;
    runtime()?.block_on(async {
        let harness = harness(learners, Limits::NONE).await?;
        harness.fan_out(learners).await?;
        let quizzes = quizzes(&harness.fake, learners);
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
        let started = Instant::now();
        let mut pressed_at = Vec::with_capacity(learners);
        for (idx, (learner, message_id, data)) in quizzes.iter().enumerate() {
            tokio::time::sleep_until((started + interval * idx as u32).into()).await;
            harness.fake.user_presses(&TgUser::new(*learner), *message_id, data);
            pressed_at.push(Instant::now());
        }
        let answered = |fake: &FakeTelegram| fake.stats().calls("answerCallbackQuery") as usize >= learners;
        harness.fake.wait_until(Duration::from_secs(60), answered).await;
        let mut latencies = reply_latencies(&harness.fake, &pressed_at);
        let recorded = harness.service.store().answers().count();
        harness.shutdown().await?;
        let median = percentile(&mut latencies, 50.0);
        Ok(Ingest {
            answers: learners,
            recorded,
            latency_ms: (median, percentile(&mut latencies, 99.0)),
            ..Ingest::default()
        })
    })
}

/// How soon a reply went out again after a 500, over several rounds.
#[derive(Debug, Clone, Default)]
pub struct ReplyRetry {
    /// From the 500 to the retry that delivered the reply, each round (the fake's clock).
    pub retried_after: Vec<Duration>,
    /// The client's first backoff: the retry is due this long after the 500.
    pub backoff: Duration,
}

/// One learner asks for `/help` `rounds` times; each time the fake answers the reply's first
/// `sendMessage` with a 500. Measures when the retry arrives, with the default retry policy.
pub fn reply_retry(rounds: usize) -> anyhow::Result<ReplyRetry> {
    runtime()?.block_on(async {
        let harness = harness(1, Limits::NONE).await?;
        let learner = TgUser::new(1);
        for round in 1..=rounds {
            harness.fake.fail_next("sendMessage", fake_telegram::Fault::ServerError(500));
            harness.fake.user_sends(&learner, "/help");
            let replied = harness.fake.wait_for_sent(learner.id, round, Duration::from_secs(60)).await;
            anyhow::ensure!(replied.len() == round, "reply {round} did not arrive within a minute");
        }
        let calls: Vec<_> = harness.fake.requests().into_iter().filter(|r| r.method == "sendMessage").collect();
        let retried_after = calls
            .windows(2)
            .filter(|pair| pair[0].status == 500 && pair[1].status == 200)
            .map(|pair| pair[1].at.saturating_duration_since(pair[0].at))
            .collect();
        harness.shutdown().await?;
        Ok(ReplyRetry { retried_after, backoff: nudge::telegram::RetryPolicy::default().first_backoff })
    })
}

/// The quiz of every learner: (learner, message id, data of the first button).
fn quizzes(fake: &FakeTelegram, learners: usize) -> Vec<(i64, i64, String)> {
    (1..=learners as i64)
        .filter_map(|learner| {
            let quiz = fake.sent_to(learner).into_iter().find(|m| !m.buttons.is_empty())?;
            let data = quiz.all_buttons().first()?.callback_data.clone()?;
            Some((learner, quiz.message_id, data))
        })
        .collect()
}

/// Milliseconds from each press to the `answerCallbackQuery` for it (the fake numbers callback
/// queries in press order).
fn reply_latencies(fake: &FakeTelegram, pressed_at: &[Instant]) -> Vec<f64> {
    let base = 4_000_000_000_000_000_000u64;
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "answerCallbackQuery")
        .filter_map(|r| {
            let id: u64 = r.params["callback_query_id"].as_str()?.parse().ok()?;
            let pressed = pressed_at.get(usize::try_from(id.checked_sub(base + 1)?).ok()?)?;
            Some(r.at.saturating_duration_since(*pressed).as_secs_f64() * 1000.0)
        })
        .collect()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}
