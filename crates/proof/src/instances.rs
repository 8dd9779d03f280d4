//! The crash test with several instances on one PostgreSQL database: the first daemon is the
//! active one, the others stand by; the active one is killed with SIGKILL during the fan-out
//! and started again (it then stands by). A standby must take over, send what the killed one
//! left, and take the answers, with nothing lost and duplicates within the sends in flight.
//! In webhook mode every instance takes updates: the fake posts them to an in-process
//! round-robin balancer ([`Balancer`]) in front of the instances' `webhook_listen` ports, and a
//! fifth of the presses wait for the kill, so the balancer must pass some over the dead port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use fake_telegram::FakeTelegram;

use crate::balancer::{Balancer, free_port};
use crate::crash::{CrashOptions, Presser, Round, TAKEOVER_BOUND, check, count_lessons, pump, tail, wait};
use crate::daemon::{self, Daemon};
use crate::setup::{self, Cohort, enrol, install};

/// What a daemon's log says when it is active, stands by, or took over.
const ACTIVE: &str = "nudge is running";
const STANDING_BY: &str = "this one stands by";
const TOOK_OVER: &str = "holds the active lease now";
/// The webhook's secret token, the same for every instance.
const SECRET: &str = "proof-webhook-secret";

/// One round: `options.instances` daemons on a fresh database, the active one killed after
/// `kill_after` (none in the control round).
pub(crate) fn round(options: &CrashOptions, kill_after: Option<Duration>) -> anyhow::Result<Round> {
    let _database = fresh_database()?;
    anyhow::ensure!(setup::backend() == nudge::config::Backend::Postgres, "--instances needs --backend postgres");
    let fake = FakeTelegram::start();
    let install = install(&fake.api_url(), &Cohort { schedule: "*/5 * * * * *", per_second: 0, per_chat: 0 })?;
    let ids = 1..(options.learners as i64 + 1);
    enrol(&install.store, ids.clone(), Utc::now())?;
    let webhook = options.webhook.then(|| Webhook::start(options.instances)).transpose()?;
    let configs = instance_configs(&install.config, options.instances, webhook.as_ref())?;
    let logs: Vec<PathBuf> =
        (0..options.instances).map(|n| install.dir.path().join(format!("daemon-{n}.log"))).collect();
    let env: &[(&str, &str)] = if webhook.is_some() { &[("NUDGE_WEBHOOK_SECRET", SECRET)] } else { &[] };
    let start = |n: usize| Daemon::start_with_env(&options.binary, &configs[n], &logs[n], env);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut daemons = vec![start(0)?];
    await_line(&logs[0], ACTIVE, deadline)?;
    for (n, log) in logs.iter().enumerate().skip(1) {
        daemons.push(start(n)?);
        await_line(log, STANDING_BY, deadline)?;
    }
    if let Some(webhook) = &webhook {
        register_webhook(&fake, &webhook.balancer.url())?;
    }
    let mut presser = presser(options, webhook.is_some() && kill_after.is_some());
    wait(deadline, |_| Ok(count_lessons(&fake) > 0), &mut presser, &fake)?;
    let started = Instant::now();
    let mut result = Round { killed_after: kill_after, ..Round::default() };
    if let Some(after) = kill_after {
        pump(&mut presser, &fake, after);
        daemons.remove(0).kill()?;
        let killed = Instant::now();
        presser.release();
        let took_over = |_: &Presser| Ok(logs[1..].iter().any(|log| says(log, TOOK_OVER)));
        wait(killed + TAKEOVER_BOUND * 3, took_over, &mut presser, &fake)?;
        result.taken_over_in = Some(killed.elapsed());
        daemons.insert(0, start(0)?);
    }
    let everyone = |fake: &FakeTelegram| count_lessons(fake) >= options.learners;
    wait(deadline, |presser| Ok(everyone(&fake) && presser.pressed.len() >= options.answering), &mut presser, &fake)?;
    wait(deadline, |_| Ok(fake.pending_updates() == 0), &mut presser, &fake)?;
    result.settled_in = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    for (daemon, log) in daemons.into_iter().zip(&logs).rev() {
        daemon.stop().map_err(|error| anyhow::anyhow!("{error}; daemon log: {}", tail(log)))?;
    }
    check(&install.store, &fake, &presser, ids, &mut result)?;
    let stats = fake.stats();
    result.conflicts = stats.sent_409;
    if let Some(webhook) = &webhook {
        result.balanced = Some(webhook.balancer.counts());
        result.webhook_failures = stats.webhook_failures;
    }
    Ok(result)
}

/// The presser of a round. In webhook mode with a kill, a fifth of the presses wait for the
/// kill, so that some are posted while the killed instance's port refuses and the balancer must
/// pass them to another instance.
fn presser(options: &CrashOptions, hold_back: bool) -> Presser {
    match hold_back {
        true => Presser::holding_back(options.answering, options.answering.div_ceil(5)),
        false => Presser::new(options.answering),
    }
}

/// A fresh database for the round, which the installation and its daemons use; dropped with
/// the guard.
#[cfg(feature = "postgres")]
fn fresh_database() -> anyhow::Result<nudge::store::pg::testdb::TestDb> {
    let database = nudge::store::pg::testdb::TestDb::create().ok_or_else(|| {
        anyhow::anyhow!("--instances needs a PostgreSQL server in NUDGE_TEST_DATABASE_URL (a fresh database a round)")
    })?;
    setup::use_database(&database.url);
    Ok(database)
}

/// Without the engine there is no database to share.
#[cfg(not(feature = "postgres"))]
fn fresh_database() -> anyhow::Result<std::convert::Infallible> {
    anyhow::bail!("--instances needs nudge-proof built with `--features postgres`")
}

/// Webhook mode: the balancer and the port each instance takes its posts on.
struct Webhook {
    balancer: Balancer,
    listens: Vec<SocketAddr>,
}

impl Webhook {
    /// Picks a free port for each of `instances` and starts the balancer in front of them.
    fn start(instances: usize) -> anyhow::Result<Self> {
        let listens = (0..instances)
            .map(|_| Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { balancer: Balancer::start(listens.clone())?, listens })
    }

    /// The `[telegram]` lines of instance `n`.
    fn lines(&self, n: usize) -> String {
        format!(
            "mode = \"webhook\"\nwebhook_url = \"{}\"\nwebhook_listen = \"{}\"\n",
            self.balancer.url(),
            self.listens[n]
        )
    }
}

/// What `nudge webhook set` does in a deploy step: tells the fake to post to `url` with the
/// secret.
fn register_webhook(fake: &FakeTelegram, url: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let endpoint = format!("{}/bot{}/setWebhook", fake.api_url(), daemon::TOKEN);
    let body = serde_json::json!({ "url": url, "secret_token": SECRET }).to_string();
    let status = runtime.block_on(async {
        let request = reqwest::Client::builder().no_proxy().build()?.post(endpoint);
        let request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        anyhow::Ok(request.send().await?.status())
    })?;
    anyhow::ensure!(status.is_success(), "setWebhook answered {status}");
    Ok(())
}

/// The config of each instance: the same but for the store path, where the control socket goes,
/// and in webhook mode the webhook lines.
fn instance_configs(config: &Path, instances: usize, webhook: Option<&Webhook>) -> anyhow::Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(config)?;
    let dir = config.parent().unwrap_or(Path::new("."));
    (0..instances)
        .map(|n| {
            let mut own = text.replace("/store\"", &format!("/store-{n}\""));
            if let Some(webhook) = webhook {
                own = own.replacen("[telegram]\n", &format!("[telegram]\n{}", webhook.lines(n)), 1);
            }
            let path = dir.join(format!("nudge-{n}.toml"));
            std::fs::write(&path, own)?;
            Ok(path)
        })
        .collect()
}

/// Waits until `log` holds `line`.
fn await_line(log: &Path, line: &str, deadline: Instant) -> anyhow::Result<()> {
    while !says(log, line) {
        anyhow::ensure!(Instant::now() < deadline, "{} never said {line:?}: {}", log.display(), tail(log));
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Whether `log` holds `line` yet.
fn says(log: &Path, line: &str) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| text.contains(line))
}
