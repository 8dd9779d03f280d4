//! Settings: `config/nudge.toml`, then environment overrides, validated once into types.
//!
//! `Settings::parse` is pure (text in, settings or one clear sentence out); `Settings::load`
//! reads the file and applies `NUDGE_*` overrides. The bot token is not part of the file: it is
//! read from the environment into a [`SecretString`] that never prints itself.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use secrecy::SecretString;

use crate::content::Problem;
use crate::domain::LearnerId;
use crate::i18n::Lang;
use crate::schedule::cron::CronSpec;
use crate::schedule::policy::Policy;
use crate::schedule::track::Track;

mod validate;
mod webhook;

pub use webhook::{SECRET_VARIABLE as WEBHOOK_SECRET_VARIABLE, UpdateMode, WebhookSettings, webhook_secret};

use validate::parse_api_url;

/// Where the configuration lives unless `--config` or `NUDGE_CONFIG` says otherwise.
pub(crate) const DEFAULT_CONFIG_PATH: &str = "config/nudge.toml";
/// How long answers are kept unless `[store] retention_days` says otherwise: a year of coaching.
pub(crate) const DEFAULT_RETENTION_DAYS: u32 = 365;
/// The public Bot API; tests and self-hosted Bot API servers override it.
pub(crate) const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// The whole validated configuration, handed out piece by piece to the components.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the settings came from, for messages.
    pub source: PathBuf,
    /// How to reach Telegram and who may use admin commands.
    pub telegram: TelegramSettings,
    /// Where the sled store lives.
    pub store: StoreSettings,
    /// Where the content packs live.
    pub content: ContentSettings,
    /// The groups of learners, each with its pack, invite and schedule.
    pub cohorts: Vec<Cohort>,
    /// What reports may show.
    pub reports: ReportSettings,
    /// The operations endpoints (`/healthz`, `/metrics`).
    pub http: HttpSettings,
}

/// What reports may show.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    /// Per-learner rows (under pseudonyms unless `--names`); off by default.
    pub per_learner: bool,
}

/// The operations endpoints.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Where `/healthz` and `/metrics` listen; off when absent.
    pub listen: Option<std::net::SocketAddr>,
}

/// The Telegram side of the settings.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    /// Base URL of the Bot API server (`/bot<token>/<method>` is appended).
    pub api_url: reqwest::Url,
    /// Telegram user ids allowed to use admin commands such as `/report`.
    pub admins: Vec<LearnerId>,
    /// Message pacing (raise for bots with higher limits; 0 turns a limit off).
    pub limits: Limits,
    /// Long polling or a webhook.
    pub updates: UpdateMode,
}

/// Message-rate limits; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages a second over all chats (Telegram: about 30).
    pub global_per_second: u32,
    /// Messages a second to one chat (Telegram: about 1).
    pub per_chat_per_second: u32,
}

impl Limits {
    /// Telegram's documented limits for bots.
    pub(crate) const TELEGRAM: Limits = Limits { global_per_second: 30, per_chat_per_second: 1 };
    /// No pacing at all (tests and benchmarks against a fake server).
    pub const NONE: Limits = Limits { global_per_second: 0, per_chat_per_second: 0 };
}

/// The store settings.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// Which engine keeps the records.
    pub backend: Backend,
    /// Directory of the sled database; with PostgreSQL only the control socket's place
    /// (`<path>.sock`).
    pub path: PathBuf,
    /// Answers and sent messages older than this many days are deleted; `None` keeps them.
    pub retention_days: Option<u32>,
}

/// The store engine: `[store] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The embedded sled database at `[store] path` (the default: one binary, no server).
    #[default]
    Sled,
    /// A PostgreSQL database, whose URL comes only from `NUDGE_DATABASE_URL`.
    Postgres,
}

impl Backend {
    /// The name `[store] backend` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sled => "sled",
            Self::Postgres => "postgres",
        }
    }

    /// Whether several instances may share this engine's records (PostgreSQL): then another
    /// instance may record deliveries and move agenda entries this one did not see happen.
    pub fn shared_by_instances(self) -> bool {
        self == Self::Postgres
    }
}

/// The content settings.
#[derive(Debug, Clone)]
pub struct ContentSettings {
    /// Directory holding one sub-directory per content pack.
    pub dir: PathBuf,
}

/// One cohort: a group of learners who follow one pack on one schedule.
#[derive(Debug, Clone)]
pub struct Cohort {
    /// Stable id, used in the store and in reports.
    pub id: String,
    /// The content pack this cohort follows (a directory name under the content dir).
    pub pack: String,
    /// The code learners send with `/start` to join.
    pub invite: String,
    /// When nudges go out, in the cohort's time zone; for a track, its daily slot.
    pub schedule: CronSpec,
    /// The onboarding track, if lessons follow each learner's first day rather than
    /// `schedule` (`track = "onboarding"`).
    pub track: Option<Track>,
    /// The cohort's IANA time zone.
    pub timezone: chrono_tz::Tz,
    /// The language of the pack and the default language of the bot's own texts.
    pub language: Lang,
    /// Pacing: daily cap, reviews per slot, quiet hours, days off, target retention.
    pub policy: Policy,
    /// The team loop: leads, the goal, the digest and the weekly team question.
    pub team: TeamSettings,
    /// Whether a quiz answer is followed by "sure / not sure" (`confidence`, default true): a
    /// confidently wrong answer is the misconception to coach on, a lucky guess no mastery.
    /// Off: one tap gives the verdict.
    pub confidence: bool,
}

/// A cohort's team loop (the "20" of 70-20-10): who its leads are, what it works towards, when
/// the leads get their digest and when the team gets its weekly question.
#[derive(Debug, Clone)]
pub struct TeamSettings {
    /// The code that makes whoever sends `/start <code>` a lead of the cohort; no leads without.
    pub lead_invite: Option<String>,
    /// The team's "what for?" in one sentence, shown in the welcome, `/progress` and the digest.
    pub goal: Option<String>,
    /// When the leads get their weekly digest, in the cohort's time zone.
    pub digest: CronSpec,
    /// The weekly question to every learner; `None`: the catalogue's, in the cohort's language.
    pub question: Option<String>,
    /// When the team question goes out, in the cohort's time zone (quiet hours and days off
    /// apply, as for every nudge).
    pub question_schedule: CronSpec,
}

impl Default for TeamSettings {
    /// No leads, no goal, the default digest and team question slots.
    fn default() -> Self {
        Self {
            lead_invite: None,
            goal: None,
            digest: CronSpec::parse(DEFAULT_DIGEST).expect("the default digest schedule parses"),
            question: None,
            question_schedule: CronSpec::parse(DEFAULT_TEAM_QUESTION_SCHEDULE)
                .expect("the default team question schedule parses"),
        }
    }
}

/// The digest's default slot: Monday 08:00.
pub(crate) const DEFAULT_DIGEST: &str = "0 8 * * Mon";
/// The team question's default slot: Friday 14:00.
pub(crate) const DEFAULT_TEAM_QUESTION_SCHEDULE: &str = "0 14 * * Fri";

impl Settings {
    /// Parses and validates settings from TOML text; `source` names the file in messages. Fails
    /// with every problem found, not only the first.
    pub fn parse(text: &str, source: &Path) -> Result<Self, ConfigError> {
        let (settings, problems) = Self::check(text, source);
        ConfigError::from_problems(problems).map_or(Ok(settings), Err)
    }

    /// Parses settings and finds every problem in them. The settings hold every value that is
    /// valid and defaults for the rest (a cohort with a problem is left out), so `nudge check`
    /// can go on to check the packs. Pure: text in, settings and problems out.
    pub fn check(text: &str, source: &Path) -> (Self, Vec<Problem>) {
        validate::check(text, source)
    }

    /// Reads the file at `path`, parses it and applies the environment overrides.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let (settings, problems) = Self::load_checked(path)?;
        match ConfigError::from_problems(problems) {
            Some(error) => Err(error.into()),
            None => Ok(settings),
        }
    }

    /// Like [`Settings::load`], but hands back the problems (with their source lines) instead
    /// of failing on them; only an unreadable file or a bad override is an error.
    pub fn load_checked(path: &Path) -> anyhow::Result<(Self, Vec<Problem>)> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the configuration file {}: create it (see config/nudge.toml in the repository) or pass --config",
                path.display()
            )
        })?;
        let (mut settings, problems) = Self::check(&text, path);
        settings.apply_env(|key| std::env::var(key).ok())?;
        Ok((settings, problems.into_iter().map(|problem| problem.with_source(&text)).collect()))
    }

    /// Applies `NUDGE_TELEGRAM_API_URL` and `NUDGE_STORE_PATH` from `env`.
    pub(crate) fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(url) = env("NUDGE_TELEGRAM_API_URL") {
            self.telegram.api_url = parse_api_url(&url)
                .map_err(|why| anyhow::anyhow!("environment variable NUDGE_TELEGRAM_API_URL: {why}"))?;
        }
        if let Some(path) = env("NUDGE_STORE_PATH") {
            self.store.path = PathBuf::from(path);
        }
        if let Some(listen) = env("NUDGE_HTTP_LISTEN") {
            let address = listen.parse().map_err(|_| {
                anyhow::anyhow!(
                    "environment variable NUDGE_HTTP_LISTEN: `{listen}` is not an address and port such as `0.0.0.0:9184`"
                )
            })?;
            self.http.listen = Some(address);
        }
        Ok(())
    }

    /// The cohort whose invite code is `invite`, if any.
    pub(crate) fn cohort_by_invite(&self, invite: &str) -> Option<&Cohort> {
        self.cohorts.iter().find(|cohort| cohort.invite == invite)
    }

    /// The cohort whose lead invite is `code`, if any.
    pub(crate) fn cohort_by_lead_invite(&self, code: &str) -> Option<&Cohort> {
        self.cohorts.iter().find(|cohort| cohort.team.lead_invite.as_deref() == Some(code))
    }

    /// The cohort with id `id`, if any.
    pub(crate) fn cohort(&self, id: &str) -> Option<&Cohort> {
        self.cohorts.iter().find(|cohort| cohort.id == id)
    }
}

/// Every problem of a configuration that cannot be used, so a start refused lists them all.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The problems, in file order; at least one is an error.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// The error for `problems`, if any of them is an error.
    fn from_problems(mut problems: Vec<Problem>) -> Option<Self> {
        problems.retain(Problem::is_error);
        (!problems.is_empty()).then_some(Self { problems })
    }
}

impl std::fmt::Display for ConfigError {
    /// One problem as `path:line:col: text`; several as a count, then one such line each.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |p: &Problem| format!("{}:{}:{}: {}", p.path.display(), p.line, p.col, p.message);
        match self.problems.as_slice() {
            [one] => f.write_str(&line(one)),
            all => {
                write!(f, "the configuration has {} problems:", all.len())?;
                all.iter().try_for_each(|problem| write!(f, "\n  {}", line(problem)))
            }
        }
    }
}

/// The configuration path: `--config`, else `NUDGE_CONFIG`, else the default.
pub(crate) fn config_path(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("NUDGE_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH))
}

/// Reads the bot token from `NUDGE_TELEGRAM_TOKEN`; the only place a token may come from.
pub(crate) fn token_from_env() -> anyhow::Result<SecretString> {
    match std::env::var("NUDGE_TELEGRAM_TOKEN") {
        Ok(token) if !token.trim().is_empty() => Ok(SecretString::from(token.trim().to_owned())),
        _ => anyhow::bail!(
            "the bot token is missing: set the environment variable NUDGE_TELEGRAM_TOKEN (ask @BotFather for one)"
        ),
    }
}

#[cfg(test)]
mod tests;
