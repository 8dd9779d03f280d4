//! `spawn_app()`: the real daemon, in-process, against a fake Bot API on 127.0.0.1, with its own
//! temporary content, config and store. A `TestApp` has verbs for what learners do and what
//! tests check.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_telegram::{BotMessage, FakeTelegram, TgUser};
use nudge::app::{App, AppOptions, ConnectBackoff, Digests, Scheduler};
use nudge::config::{Limits, Settings};
use nudge::domain::LearnerId;
use nudge::service::Service;
use nudge::telegram::RetryPolicy;
use nudge::telemetry::metrics::Metrics;
use secrecy::SecretString;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(10);
/// The invite of the test cohort.
pub const INVITE: &str = "JOIN";

/// A pack with one lesson that has every kind of item, and HTML specials in its text.
pub const LESSON_ONE: &str = "+++\nid = \"what-for\"\ntitle = \"What for?\"\n+++\nQ&A in <2 minutes> & more.\n\n## Quiz {#goal}\nWhich is a goal?\n- [ ] Be nice\n- [x] Fewer repeat calls\n> A goal you can measure.\n\n## Reflect\nThink of your week.\n1. What went well?\n2. What will you try?\n\n## Practice {days=2}\nAsk one customer what they need.\n";
/// A second lesson with a quiz only.
pub const LESSON_TWO: &str = "+++\nid = \"trust\"\ntitle = \"Trust\"\n+++\nHonest advice builds trust.\n\n## Quiz\nWhat builds trust?\n- [x] Honest advice\n- [ ] A discount\n> Honesty lasts.\n";

/// The `## Team` sections the English lessons get with [`TestOptions::team`]: stand-up questions
/// for the leads' digest.
pub const TEAM_QUESTIONS: [&str; 2] =
    ["How did we show a customer what it is for this week?", "Where did honest advice earn trust this week?"];

/// The Danish test pack's one lesson, for tests of which language each message is in.
pub const DANISH_LESSON: &str = "+++\nid = \"hvorfor\"\ntitle = \"Hvorfor?\"\n+++\nKunden kommer først.\n\n## Quiz {#maal}\nHvad er et mål?\n- [ ] At være sød\n- [x] Færre gentagne opkald\n> Et mål, du kan måle.\n\n## Reflect\nTænk på din uge.\n1. Hvad gik godt?\n\n## Practice {days=2}\nSpørg en kunde, hvad de har brug for.\n";

/// Choices for a test daemon.
pub struct TestOptions {
    /// An existing data directory (to restart a daemon on the same store).
    pub dir: Option<TempDir>,
    /// An existing fake (to keep its state across a restart).
    pub fake: Option<FakeTelegram>,
    /// Message pacing.
    pub limits: Limits,
    /// Extra TOML appended to the cohort.
    pub cohort_extra: String,
    /// Retries of Telegram calls (short time-outs keep fault tests fast).
    pub retry: RetryPolicy,
    /// Extra TOML appended to the config (its own tables).
    pub config_extra: String,
    /// The cohort's cron schedule.
    pub schedule: String,
    /// TOML that replaces the `schedule` line (an onboarding track's `track`, `days`, `time`).
    pub track: Option<String>,
    /// The cohort's time zone.
    pub timezone: String,
    /// The language of the cohort and its pack: "en" (the two English lessons) or "da" (one
    /// Danish lesson).
    pub language: &'static str,
    /// The cohort's `team_question_schedule`: by default [`distant_schedule`], so that a test
    /// that runs on a Friday is not met by the default Friday 14:00 question.
    pub team_question_schedule: String,
    /// Whether the clock drives the leads' digests (else tests tick them).
    pub run_digests: bool,
    /// Whether the English lessons end with a `## Team` section ([`TEAM_QUESTIONS`]).
    pub team: bool,
    /// On PostgreSQL, the test directory whose database this daemon shares (a second
    /// instance); its own directory otherwise.
    pub database_of: Option<std::path::PathBuf>,
    /// Extra TOML lines for the `[telegram]` section (a webhook's `mode`, `webhook_url`, …).
    pub telegram_extra: String,
}

/// The webhook secret every test daemon is given (used in webhook mode only).
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// A cron schedule no test reaches by walking its learners' agenda: 12:00 on the 15th of the
/// month half a year from now (tests move days ahead, not months).
pub fn distant_schedule() -> String {
    use chrono::Datelike;
    let month = (Utc::now().month0() + 6) % 12 + 1;
    format!("0 12 15 {month} *")
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            dir: None,
            fake: None,
            limits: Limits::NONE,
            cohort_extra: String::new(),
            retry: RetryPolicy::default(),
            config_extra: String::new(),
            schedule: "0 9 * * *".to_owned(),
            track: None,
            timezone: "Europe/Amsterdam".to_owned(),
            language: "en",
            team_question_schedule: distant_schedule(),
            run_digests: false,
            team: false,
            database_of: None,
            telegram_extra: String::new(),
        }
    }
}

/// A running daemon and its fake Telegram.
pub struct TestApp {
    /// The fake Bot API.
    pub fake: FakeTelegram,
    /// Content, config and store live here.
    pub dir: Option<TempDir>,
    /// The daemon's use cases (for looking into the store).
    pub service: Arc<Service>,
    /// To tick at chosen times.
    pub scheduler: Scheduler,
    /// To tick the leads' digests at chosen times.
    pub digests: Digests,
    /// The daemon's counters.
    pub metrics: Arc<Metrics>,
    /// The daemon's configuration, as TOML.
    pub config: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A daemon with a fresh store and fake.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

/// Logs to the test output when `RUST_LOG` is set (e.g. `RUST_LOG=nudge=debug`).
fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let filter: tracing_subscriber::filter::Targets =
            std::env::var("RUST_LOG").ok().and_then(|text| text.parse().ok()).unwrap_or_default();
        let _ = tracing_subscriber::fmt().with_test_writer().finish().with(filter).try_init();
    }
}

/// A daemon with `options`.
pub async fn spawn_app_with(options: TestOptions) -> TestApp {
    init_logs();
    let fake = options.fake.unwrap_or_else(FakeTelegram::start);
    let dir = options.dir.unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
    write_content(&dir.path().join("content/demo"), options.language, options.team);
    let cohort_extra = format!(
        "language = \"{}\"\nteam_question_schedule = \"{}\"\n{}",
        options.language, options.team_question_schedule, options.cohort_extra
    );
    let rhythm = options.track.clone().unwrap_or_else(|| format!("schedule = \"{}\"", options.schedule));
    let cohort_extra = format!("timezone = \"{}\"\n{cohort_extra}", options.timezone);
    let config = config_text(&fake, &dir, &rhythm, &cohort_extra).replacen(
        "admins = [1000]\n",
        &format!("admins = [1000]\n{}", options.telegram_extra),
        1,
    );
    let config = format!("{config}\n{}", options.config_extra);
    let settings = Settings::parse(&config, &dir.path().join("nudge.toml")).expect("test config parses");
    let app_options = AppOptions {
        limits: Some(options.limits),
        run_scheduler: false,
        run_digests: options.run_digests,
        retry: options.retry,
        reload_every: Duration::from_millis(100),
        connect_backoff: ConnectBackoff { first: Duration::from_millis(10), max: Duration::from_millis(40) },
        database_url: crate::engine::on_postgres().then(|| {
            SecretString::from(crate::engine::database_of(options.database_of.as_deref().unwrap_or(dir.path())))
        }),
        webhook_secret: Some(SecretString::from(WEBHOOK_SECRET)),
    };
    let app = App::build(settings, SecretString::from("123456:TEST-TOKEN"), app_options).await.expect("the app builds");
    let (service, scheduler, metrics, digests) = (app.service(), app.scheduler(), app.metrics(), app.digests());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    TestApp {
        fake,
        dir: Some(dir),
        service,
        scheduler,
        digests,
        metrics,
        config,
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

fn write_content(pack: &std::path::Path, language: &str, team: bool) {
    std::fs::create_dir_all(pack).expect("pack dir");
    if language == "da" {
        let toml = "title = \"Kundeservice\"\nlanguage = \"da\"\ndescription = \"En testpakke om kunder.\"\n";
        std::fs::write(pack.join("pack.toml"), toml).expect("pack.toml");
        std::fs::write(pack.join("01-hvorfor.md"), DANISH_LESSON).expect("lesson");
        return;
    }
    std::fs::write(pack.join("pack.toml"), "title = \"Demo\"\nlanguage = \"en\"\ndescription = \"A test pack.\"\n")
        .expect("pack.toml");
    let with_team = |lesson: &str, question: &str| match team {
        true => format!("{lesson}\n## Team\n{question}\n"),
        false => lesson.to_owned(),
    };
    std::fs::write(pack.join("01-what-for.md"), with_team(LESSON_ONE, TEAM_QUESTIONS[0])).expect("lesson");
    std::fs::write(pack.join("02-trust.md"), with_team(LESSON_TWO, TEAM_QUESTIONS[1])).expect("lesson");
}

fn config_text(fake: &FakeTelegram, dir: &TempDir, rhythm: &str, cohort_extra: &str) -> String {
    let root = dir.path().display();
    format!(
        "[telegram]\napi_url = \"{}\"\nadmins = [1000]\n\n{}\n[content]\ndir = \"{root}/content\"\n\n[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"{INVITE}\"\n{rhythm}\n{cohort_extra}\n",
        fake.api_url(),
        crate::engine::store_section(dir.path()),
    )
}

impl TestApp {
    /// Learner `id` sends `text`; returns the update id.
    pub fn learner_says(&self, user: &TgUser, text: &str) -> i64 {
        self.fake.user_sends(user, text)
    }

    /// Learner presses the button whose label contains `label` on their latest message that
    /// has it; returns the update id.
    pub fn press(&self, user: &TgUser, label: &str) -> i64 {
        let message = self
            .fake
            .sent_to(user.id)
            .into_iter()
            .rev()
            .find(|message| message.button(label).is_some())
            .unwrap_or_else(|| panic!("no button with {label:?} for {}", user.id));
        let data = message.button(label).and_then(|button| button.callback_data.clone()).expect("callback data");
        self.fake.user_presses(user, message.message_id, &data)
    }

    /// Learner answers a quiz in two taps: the option whose label contains `option` on their
    /// latest message that has it, then, once that message asks how sure they are, the button
    /// `confidence` ("Sure" or "Not sure", in the pack's language). Returns the second tap's
    /// update id.
    pub async fn answer_quiz(&self, user: &TgUser, option: &str, confidence: &str) -> i64 {
        let quiz = self.press(user, option);
        let asked =
            |fake: &FakeTelegram| fake.sent_to(user.id).iter().any(|message| message.button(confidence).is_some());
        assert!(self.fake.wait_until(WAIT, asked).await, "update {quiz}: no {confidence:?} button for {}", user.id);
        self.press(user, confidence)
    }

    /// Waits until chat `id` has `count` bot messages and nothing more is waiting in the outbox
    /// for them; returns them all, and fails on more than `count` (a duplicate, or a message the
    /// test did not expect) as on fewer.
    pub async fn messages(&self, id: i64, count: usize) -> Vec<BotMessage> {
        let messages = self.at_least(id, count).await;
        self.eventually("nothing more waits in the outbox", |service| {
            service.store().pending_for(LearnerId::new(id)).is_ok_and(|pending| pending.is_empty())
        })
        .await;
        let messages = if messages.len() == count { self.fake.sent_to(id) } else { messages };
        assert_eq!(messages.len(), count, "expected exactly {count} messages for {id}: {:#?}", texts(&messages));
        messages
    }

    /// Waits until chat `id` has at least `count` bot messages; returns them all (for tests
    /// where more may follow, such as a fan-out still running).
    pub async fn at_least(&self, id: i64, count: usize) -> Vec<BotMessage> {
        let messages = self.fake.wait_for_sent(id, count, WAIT).await;
        assert!(
            messages.len() >= count,
            "expected {count} messages for {id}, got {}: {:#?}",
            messages.len(),
            texts(&messages)
        );
        messages
    }

    /// Waits until update `update_id` is confirmed to Telegram (so its effects are durable).
    pub async fn confirmed(&self, update_id: i64) {
        let done =
            self.fake.wait_until(WAIT, |fake| fake.confirmed_update_id().is_some_and(|id| id >= update_id)).await;
        assert!(done, "update {update_id} was not confirmed");
    }

    /// When learner `id`'s next nudge is due.
    pub fn next_nudge(&self, id: i64) -> DateTime<Utc> {
        let learner = self.service.store().learner(LearnerId::new(id)).expect("store").expect("enrolled");
        learner.next_nudge.expect("a nudge is scheduled").at
    }

    /// Runs the leads' digests as if the clock said `at`; returns the leads who got one.
    pub async fn digest_at(&self, at: DateTime<Utc>) -> usize {
        self.digests.tick(at).await
    }

    /// Runs the scheduler as if the clock said `at`.
    pub async fn tick_at(&self, at: DateTime<Utc>) -> usize {
        self.scheduler.tick(at).await.expect("tick")
    }

    /// Enrols learner `id` and waits for the welcome.
    pub async fn enrol(&self, user: &TgUser) {
        let before = self.fake.sent_to(user.id).len();
        self.learner_says(user, &format!("/start {INVITE}"));
        self.messages(user.id, before + 2).await;
    }

    /// Learners `ids` enrol, get the first slot (lesson and quiz) and answer the quiz right;
    /// returns them once every reply is out (enough of a group for reports, which hide fewer
    /// than five).
    pub async fn learners_answer_the_first_quiz(&self, ids: std::ops::Range<i64>) -> Vec<TgUser> {
        let learners: Vec<TgUser> = ids.map(TgUser::new).collect();
        for learner in &learners {
            self.enrol(learner).await;
        }
        let due = learners.iter().map(|l| self.next_nudge(l.id)).max().expect("learners");
        self.tick_at(due).await;
        for learner in &learners {
            self.messages(learner.id, 4).await;
            self.answer_quiz(learner, "Fewer repeat calls", "Sure").await;
        }
        for learner in &learners {
            self.messages(learner.id, 5).await;
        }
        learners
    }

    /// Stops the daemon cleanly; returns its data directory and fake for a restart.
    pub async fn stop(mut self) -> (TempDir, FakeTelegram) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the daemon task").expect("the daemon stops cleanly");
        }
        let dir = self.dir.take().expect("dir");
        (dir, self.fake.clone())
    }

    /// Waits up to `within` for the daemon to stop by itself (no shutdown asked); its result,
    /// or `None` if it still runs.
    pub async fn stopped_by_itself(&mut self, within: Duration) -> Option<anyhow::Result<()>> {
        let task = self.task.as_mut().expect("the daemon task");
        let ended = tokio::time::timeout(within, task).await.ok()?;
        self.task = None;
        Some(ended.expect("the daemon task"))
    }

    /// Writes the daemon's configuration to `nudge.toml` in its directory, for the CLI.
    pub fn config_file(&self) -> std::path::PathBuf {
        let path = self.dir.as_ref().expect("dir").path().join("nudge.toml");
        std::fs::write(&path, &self.config).expect("config file");
        path
    }

    /// The daemon's control socket.
    pub fn socket(&self) -> std::path::PathBuf {
        self.dir.as_ref().expect("dir").path().join("store.sock")
    }

    /// The directory of the test pack.
    pub fn pack_dir(&self) -> std::path::PathBuf {
        self.dir.as_ref().expect("dir").path().join("content/demo")
    }

    /// Waits until `cond` holds for the daemon's state (e.g. a delivery recorded as sent).
    pub async fn eventually(&self, what: &str, cond: impl Fn(&Service) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !cond(&self.service) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The plain texts of `messages`, for failure output.
pub fn texts(messages: &[BotMessage]) -> Vec<String> {
    messages.iter().map(|message| message.plain_text.clone()).collect()
}

/// Opens the sled database at `path` directly, waiting up to `WAIT` for the stopped daemon's
/// last blocking tasks to let go of its lock.
pub fn open_sled_when_free(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(error) if std::time::Instant::now() < deadline => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("the store stays locked: {error}"),
        }
    }
}

/// Runs the `nudge` binary with `args` and `--config config`, with no store or config from the
/// environment.
pub fn nudge(args: &[&str], config: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("NUDGE_CONFIG")
        .env_remove("NUDGE_STORE_PATH")
        .envs(crate::engine::command_env(config.parent().unwrap_or(std::path::Path::new("."))))
        .output()
        .expect("the binary runs")
}

/// [`nudge`] off the async runtime's threads, so a daemon in this process keeps serving.
pub async fn nudge_async(args: &[&str], config: &std::path::Path) -> std::process::Output {
    let (args, config) = (args.iter().map(|&arg| arg.to_owned()).collect::<Vec<_>>(), config.to_owned());
    tokio::task::spawn_blocking(move || nudge(&args.iter().map(String::as_str).collect::<Vec<_>>(), &config))
        .await
        .expect("the command ran")
}
