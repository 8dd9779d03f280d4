//! Wiring and lifetime of the daemon: `App::build` does every fallible set-up (store, packs,
//! Telegram), `App::run` runs the poller, the sender and the scheduler until shutdown, then
//! lets them finish the write they are in and flushes the store. The control socket
//! (`control.rs`) answers the admin commands while it runs.

pub(crate) mod connect;
pub(crate) mod control;
pub mod digests;
pub(crate) mod ops;
pub(crate) mod reload;
pub(crate) mod retention;
pub mod scheduler;
mod standby;
pub(crate) mod tuning;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::authoring::check::load_checked;
use crate::config::Limits;
use crate::config::Settings;
use crate::config::UpdateMode;
use crate::service::Service;
use crate::store::open;
use crate::telegram::intake::{Intake, Role};
use crate::telegram::poller::Poller;
use crate::telegram::sender::{self, OutboxReceiver};
use crate::telegram::webhook;
use crate::telegram::{OutboxHandle, RetryPolicy, TelegramClient, outbox};
use crate::telemetry::metrics::Metrics;
pub use connect::ConnectBackoff;
pub use digests::Digests;
pub use scheduler::Scheduler;

/// How long shutdown waits for tasks to finish what they are doing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Knobs the tests turn; the daemon uses the defaults.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Message pacing; `None` takes it from the settings.
    pub limits: Option<Limits>,
    /// Retry behaviour for Telegram calls.
    pub retry: RetryPolicy,
    /// Whether the clock drives the scheduler (tests tick it by hand).
    pub run_scheduler: bool,
    /// Whether the clock drives the leads' digests (tests tick them by hand, or not).
    pub run_digests: bool,
    /// How often the content directory is checked for changes.
    pub reload_every: Duration,
    /// Waits between tries of the start-up check while Telegram cannot be reached.
    pub connect_backoff: ConnectBackoff,
    /// The PostgreSQL URL, for `[store] backend = "postgres"`: `NUDGE_DATABASE_URL` by default
    /// (tests give each daemon a database of its own).
    pub database_url: Option<SecretString>,
    /// The webhook's secret token, for `[telegram] mode = "webhook"`: `NUDGE_WEBHOOK_SECRET`
    /// by default.
    pub webhook_secret: Option<SecretString>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            limits: None,
            retry: RetryPolicy::default(),
            run_scheduler: true,
            run_digests: true,
            reload_every: Duration::from_secs(2),
            connect_backoff: ConnectBackoff::default(),
            database_url: open::database_url(|key| std::env::var(key).ok()),
            webhook_secret: std::env::var(crate::config::WEBHOOK_SECRET_VARIABLE).ok().map(SecretString::from),
        }
    }
}

/// A daemon ready to run.
pub struct App {
    service: Arc<Service>,
    client: Arc<TelegramClient>,
    metrics: Arc<Metrics>,
    outbox: OutboxHandle,
    receiver: OutboxReceiver,
    options: AppOptions,
    bot_username: String,
    content_seen: reload::Fingerprint,
    /// The control socket, bound at build so it answers as soon as the daemon runs; `None`
    /// when it could not be bound (logged: the daemon serves learners without it).
    control: Option<control::ControlSocket>,
    /// The webhook's listener and secret, bound at build, in webhook mode.
    webhook: Option<(webhook::WebhookListener, SecretString)>,
}

impl App {
    /// Opens the store, loads the packs and checks the connection to Telegram, retrying for as
    /// long as Telegram cannot be reached (see [`connect`]). Dropping the future stops it at
    /// once: that is how a shutdown during start-up is honoured.
    pub async fn build(settings: Settings, token: SecretString, options: AppOptions) -> anyhow::Result<Self> {
        let webhook = bind_webhook(&settings.telegram.updates, options.webhook_secret.as_ref()).await?;
        let url = options.database_url.clone();
        let named = open::describe(&settings.store, url.as_ref());
        let store = open::open_for_daemon(&settings.store, url, open::Retry::DAEMON).await?;
        let checked = store.verify().with_context(|| {
            format!("{named} is damaged; restore a backup (`nudge restore`) into a new, empty store")
        })?;
        tracing::debug!(records = checked, "store verified");
        store.report_key().context("cannot make the key of report pseudonyms")?;
        let content_seen = reload::fingerprint(&settings.content.dir);
        let loaded = load_checked(&settings.content.dir);
        let library = loaded.library();
        for problem in &loaded.problems {
            tracing::warn!("{}", problem.headline());
        }
        for cohort in &settings.cohorts {
            if library.pack(&cohort.pack).is_none() {
                anyhow::bail!(
                    "cohort `{}` follows pack `{}`, which is missing from {} or has errors: run `nudge check`",
                    cohort.id,
                    cohort.pack,
                    settings.content.dir.display()
                );
            }
        }
        let metrics = Arc::new(Metrics::default());
        if webhook.is_some() {
            metrics.webhook_registered.set(-1);
        }
        let limits = options.limits.unwrap_or(settings.telegram.limits);
        let client =
            TelegramClient::new(&token, settings.telegram.api_url.clone(), limits, options.retry, metrics.clone())?;
        let bot_username = connect::bot_username(&client, &settings.telegram.api_url, options.connect_backoff).await?;
        let control = bind_control(&settings.store.path);
        let service = Arc::new(Service::new(store, Arc::new(settings), library));
        let (outbox, receiver) = outbox();
        let client = Arc::new(client);
        Ok(Self { service, client, metrics, outbox, receiver, options, bot_username, content_seen, control, webhook })
    }

    /// The use cases, for tests.
    pub fn service(&self) -> Arc<Service> {
        self.service.clone()
    }

    /// The scheduler, so tests can `tick` it at a time of their choosing.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(self.service.clone(), self.outbox.clone(), self.metrics.clone())
    }

    /// The leads' digests, so tests can `tick` them at a time of their choosing.
    pub fn digests(&self) -> Digests {
        Digests::new(self.service.clone(), self.outbox.clone())
    }

    /// The daemon's counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Runs until `shutdown` resolves, then stops cleanly.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let store = self.service.store().clone();
        // What a standby does too: answer probes and admin commands, follow the content.
        if let Some(listen) = self.service.settings().http.listen {
            tracker.spawn(ops::serve(listen, self.service.clone(), self.metrics.clone(), cancel.clone()));
        }
        if let Some(socket) = self.control {
            let serving =
                control::serve(socket, self.service.clone(), self.client.clone(), tracker.clone(), cancel.clone());
            tracker.spawn(serving);
        }
        tracker.spawn(reload::run(self.service.clone(), self.content_seen, self.options.reload_every, cancel.clone()));
        let role = Role::default();
        let intake = Arc::new(Intake {
            service: self.service.clone(),
            client: self.client.clone(),
            outbox: self.outbox.clone(),
            metrics: self.metrics.clone(),
            inbound: Default::default(),
            tracker: tracker.clone(),
            role: role.clone(),
        });
        if let Some((listener, secret)) = self.webhook {
            tracker.spawn(webhook::serve(listener, intake.clone(), secret, cancel.clone()));
        }
        let mut shutdown = std::pin::pin!(shutdown);
        let mut lease = store.active_lease();
        tokio::select! {
            () = standby::until_active(lease.as_mut(), &role, &self.metrics) => {}
            () = &mut shutdown => {
                tracing::info!("shutting down while standing by");
                return stop(cancel, tracker, &*store, None).await;
            }
        }
        let requeued = sender::requeue_pending(&*store, &self.outbox)?;
        let rescheduled = self.service.rebuild_agenda(crate::clock::now())?;
        tracing::info!(bot = %self.bot_username, learners = store.n_learners(), requeued, rescheduled, "nudge is running");
        for cohort in &self.service.settings().cohorts {
            tracing::info!(cohort = %cohort.id, link = %format!("https://t.me/{}?start={}", self.bot_username, cohort.invite), "invite link");
        }
        let (client, admins) = (self.client.clone(), self.service.admin_menus());
        let menu_cancel = cancel.clone();
        tracker.spawn(async move {
            tokio::select! {
                _ = menu_cancel.cancelled() => {}
                _ = crate::telegram::menu::register(&client, &admins) => {}
            }
        });
        tracker.spawn(sender::run(
            self.receiver,
            store.clone(),
            self.client.clone(),
            self.metrics.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
        match &self.service.settings().telegram.updates {
            UpdateMode::Polling => {
                tracker.spawn(Poller { intake }.run(cancel.clone()));
            }
            UpdateMode::Webhook(settings) => {
                let (client, url, metrics) = (self.client.clone(), settings.url.clone(), self.metrics.clone());
                tracker.spawn(webhook::watch_registration(client, url, metrics, cancel.clone()));
            }
        }
        if self.options.run_scheduler {
            let scheduler = Scheduler::new(self.service.clone(), self.outbox.clone(), self.metrics.clone());
            tracker.spawn(scheduler.run(cancel.clone()));
        }
        if self.options.run_digests {
            tracker.spawn(Digests::new(self.service.clone(), self.outbox.clone()).run(cancel.clone()));
        }
        if self.service.settings().store.backend.shared_by_instances() {
            tracker.spawn(sender::sweep(store.clone(), self.outbox.clone(), cancel.clone()));
        }
        tracker.spawn(retention::run(self.service.clone(), cancel.clone()));
        tracker.spawn(tuning::run(self.service.clone(), cancel.clone()));
        let mut kept = tracker.spawn(standby::keep_active(lease, role, self.metrics.clone(), cancel.clone()));
        let lost = tokio::select! {
            () = &mut shutdown => None,
            kept = &mut kept => kept.ok().flatten(),
        };
        match &lost {
            Some(reason) => tracing::error!(reason = %reason, "stopping: only one instance may act at a time"),
            None => tracing::info!("shutting down"),
        }
        stop(cancel, tracker, &*store, lost).await
    }
}

/// Cancels every task, waits for them (a bounded time), flushes the store. Fails when the
/// daemon stops because it lost the active lease (`lost`), so that a supervisor starts it
/// again, as a standby.
async fn stop(
    cancel: CancellationToken,
    tracker: TaskTracker,
    store: &dyn crate::store::Storage,
    lost: Option<String>,
) -> anyhow::Result<()> {
    tracker.close();
    cancel.cancel();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
        tracing::warn!("some tasks did not stop in time");
    }
    store.flush().await.context("cannot flush the store at shutdown")?;
    tracing::info!(pending = store.n_pending(), "stopped; the store is flushed");
    match lost {
        Some(reason) => anyhow::bail!("stopped because {reason}; start it again to stand by"),
        None => Ok(()),
    }
}

/// In webhook mode, checks the secret token and binds the listener, so a daemon that could
/// never take an update does not start.
async fn bind_webhook(
    updates: &UpdateMode,
    secret: Option<&SecretString>,
) -> anyhow::Result<Option<(webhook::WebhookListener, SecretString)>> {
    let UpdateMode::Webhook(settings) = updates else { return Ok(None) };
    let secret = crate::config::webhook_secret(|_| secret.map(|secret| secret.expose_secret().to_owned()))?;
    Ok(Some((webhook::bind(settings.listen).await?, secret)))
}

/// Binds the control socket beside the store at `store`. A daemon that cannot is still of use
/// to learners, so it runs on and says what the admin commands will miss.
fn bind_control(store: &std::path::Path) -> Option<control::ControlSocket> {
    control::bind(&crate::control::socket_path(store))
        .map_err(|error| {
            let error = format!("{error:#}");
            tracing::error!(
                error,
                "no control socket: `nudge backup`, `report` and `learner` cannot reach this daemon"
            );
        })
        .ok()
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called, so
/// a signal during start-up is not lost: the daemon then stops as soon as it is built.
pub(crate) fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {}
                _ = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
