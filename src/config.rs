//! Settings: `config/nudge.toml`, then environment overrides, validated once into types.
//!
//! `Settings::parse` is pure (text in, settings or one clear sentence out); `Settings::load`
//! reads the file and applies `NUDGE_*` overrides. The bot token is not part of the file: it is
//! read from the environment into a [`SecretString`] that never prints itself.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use secrecy::SecretString;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::content::Problem;
use crate::content::toml_error::plain_message;
use crate::domain::LearnerId;
use crate::i18n::Lang;
use crate::schedule::agenda::{Timing, next_due};
use crate::schedule::cron::CronSpec;
use crate::schedule::policy::{Policy, QuietHours, parse_weekday};
use crate::text::{is_slug, line_col};

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
    /// Directory of the sled database.
    pub path: PathBuf,
    /// Answers and sent messages older than this many days are deleted; `None` keeps them.
    pub retention_days: Option<u32>,
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
    /// When nudges go out, in the cohort's time zone.
    pub schedule: CronSpec,
    /// The cohort's IANA time zone.
    pub timezone: chrono_tz::Tz,
    /// The language of the pack and the default language of the bot's own texts.
    pub language: Lang,
    /// Pacing: daily cap, reviews per slot, quiet hours, days off, target retention.
    pub policy: Policy,
    /// The team loop: leads, the goal, the digest and the weekly team question.
    pub team: TeamSettings,
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
/// Longest `goal` or `team_question`, in characters: both are one sentence on a phone.
const MAX_TEAM_TEXT_CHARS: usize = 300;

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
        let mut validator = Validator { text, source, problems: Vec::new() };
        let raw = validator.raw_settings();
        let settings = validator.settings(raw);
        let mut problems = validator.problems;
        problems.sort_by_key(|problem| (problem.line, problem.col));
        (settings, problems)
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

/// The file's sections, each read on its own so one bad section does not hide the others.
#[derive(Default)]
struct RawSettings {
    telegram: RawTelegram,
    store: RawStore,
    content: RawContent,
    /// With their index in the file, for messages (a cohort that did not read is left out).
    cohorts: Vec<(usize, RawCohort)>,
    reports: RawReports,
    http: RawHttp,
}

/// The sections a config may have, for the message about an unknown one.
const SECTIONS: &str = "`[telegram]`, `[store]`, `[content]`, `[[cohorts]]`, `[reports]` and `[http]`";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReports {
    #[serde(default)]
    per_learner: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    api_url: Option<Spanned<String>>,
    #[serde(default)]
    admins: Vec<LearnerId>,
    messages_per_second: Option<u32>,
    messages_per_chat_per_second: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: Option<PathBuf>,
    retention_days: Option<Spanned<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContent {
    dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCohort {
    id: Spanned<String>,
    pack: Spanned<String>,
    invite: Spanned<String>,
    schedule: Spanned<String>,
    timezone: Spanned<String>,
    language: Spanned<String>,
    max_messages_per_day: Option<Spanned<u32>>,
    max_reviews_per_slot: Option<Spanned<u32>>,
    quiet_hours: Option<Spanned<String>>,
    days_off: Option<Vec<Spanned<String>>>,
    target_retention: Option<Spanned<f64>>,
    lead_invite: Option<Spanned<String>>,
    goal: Option<Spanned<String>>,
    digest: Option<Spanned<String>>,
    team_question: Option<Spanned<String>>,
    team_question_schedule: Option<Spanned<String>>,
}

/// Turns raw values into typed settings, collecting a problem (file, position, key) for every
/// bad value and going on with the next.
struct Validator<'a> {
    text: &'a str,
    source: &'a Path,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    /// Reads the document section by section; a section or cohort that does not read is
    /// reported and left at its defaults.
    fn raw_settings(&mut self) -> RawSettings {
        let (root, syntax_errors) = DeTable::parse_recoverable(self.text);
        for error in &syntax_errors {
            self.toml_error(error, None);
        }
        let mut raw = RawSettings::default();
        for (key, value) in root.into_inner() {
            match key.get_ref().as_ref() {
                "telegram" => raw.telegram = self.section("telegram", value),
                "store" => raw.store = self.section("store", value),
                "content" => raw.content = self.section("content", value),
                "reports" => raw.reports = self.section("reports", value),
                "http" => raw.http = self.section("http", value),
                "cohorts" => raw.cohorts = self.raw_cohorts(value),
                other => {
                    let (line, col) = line_col(self.text, key.span().start);
                    let message = format!("unknown section `{other}` (check the spelling): the config has {SECTIONS}");
                    self.problems.push(Problem::error(self.source, line, col, message));
                }
            }
        }
        raw
    }

    fn section<T: serde::de::DeserializeOwned + Default>(&mut self, name: &str, value: Spanned<DeValue<'_>>) -> T {
        T::deserialize(ValueDeserializer::from(value)).unwrap_or_else(|error| {
            self.toml_error(&error, Some(&format!("[{name}]")));
            T::default()
        })
    }

    fn raw_cohorts(&mut self, value: Spanned<DeValue<'_>>) -> Vec<(usize, RawCohort)> {
        let span = value.span();
        let DeValue::Array(entries) = value.into_inner() else {
            let (line, col) = line_col(self.text, span.start);
            let message = "`cohorts`: write each cohort as a `[[cohorts]]` section";
            self.problems.push(Problem::error(self.source, line, col, message));
            return Vec::new();
        };
        let mut cohorts = Vec::new();
        for (idx, entry) in entries.into_iter().enumerate() {
            match RawCohort::deserialize(ValueDeserializer::from(entry)) {
                Ok(cohort) => cohorts.push((idx, cohort)),
                Err(error) => self.toml_error(&error, Some(&format!("cohorts[{idx}]"))),
            }
        }
        cohorts
    }

    fn toml_error(&mut self, error: &toml::de::Error, place: Option<&str>) {
        let (line, col) = line_col(self.text, error.span().map_or(0, |span| span.start));
        let plain = plain_message(error, self.text);
        let message = match place {
            Some(place) => format!("in `{place}`: {plain}"),
            None => plain,
        };
        self.problems.push(Problem::error(self.source, line, col, message));
    }

    fn settings(&mut self, raw: RawSettings) -> Settings {
        let api_url = raw
            .telegram
            .api_url
            .and_then(|url| parse_api_url(url.get_ref()).map_err(|why| self.error(&url, "telegram.api_url", &why)).ok())
            .or_else(|| parse_api_url(DEFAULT_API_URL).ok());
        let retention_days = self.retention(raw.store.retention_days);
        let listen = self.listen(raw.http.listen);
        let cohorts = self.cohorts(raw.cohorts);
        Settings {
            source: self.source.to_owned(),
            telegram: TelegramSettings {
                api_url: api_url
                    .unwrap_or_else(|| reqwest::Url::parse("https://api.telegram.org").expect("a valid URL")),
                admins: raw.telegram.admins,
                limits: Limits {
                    global_per_second: raw.telegram.messages_per_second.unwrap_or(Limits::TELEGRAM.global_per_second),
                    per_chat_per_second: raw
                        .telegram
                        .messages_per_chat_per_second
                        .unwrap_or(Limits::TELEGRAM.per_chat_per_second),
                },
            },
            store: StoreSettings {
                path: raw.store.path.unwrap_or_else(|| PathBuf::from("data/nudge.sled")),
                retention_days,
            },
            reports: ReportSettings { per_learner: raw.reports.per_learner },
            http: HttpSettings { listen },
            content: ContentSettings { dir: raw.content.dir.unwrap_or_else(|| PathBuf::from("content")) },
            cohorts,
        }
    }

    /// The cohorts without problems; ids and invites must be unique.
    fn cohorts(&mut self, raw: Vec<(usize, RawCohort)>) -> Vec<Cohort> {
        let mut cohorts = Vec::with_capacity(raw.len());
        let mut ids: Vec<(String, usize)> = Vec::new();
        let mut invites: Vec<(String, String)> = Vec::new();
        for (idx, cohort) in raw {
            let key = |name: &str| format!("cohorts[{idx}].{name}");
            if let Some((_, first)) = ids.iter().find(|(id, _)| id == cohort.id.get_ref()) {
                let why = format!(
                    "the id `{}` is also used by `cohorts[{first}]`; give each cohort its own id",
                    cohort.id.get_ref()
                );
                self.error(&cohort.id, &key("id"), &why);
            }
            let codes = std::iter::once(("invite", &cohort.invite))
                .chain(cohort.lead_invite.as_ref().map(|code| ("lead_invite", code)));
            for (name, code) in codes {
                if let Some((_, first)) = invites.iter().find(|(invite, _)| invite == code.get_ref()) {
                    let why = format!(
                        "the code `{}` is also used by `{first}`; give each cohort its own invite and lead invite",
                        code.get_ref()
                    );
                    self.error(code, &key(name), &why);
                }
                invites.push((code.get_ref().clone(), key(name)));
            }
            ids.push((cohort.id.get_ref().clone(), idx));
            cohorts.extend(self.cohort(idx, cohort));
        }
        cohorts
    }

    /// One cohort, or `None` after reporting every problem in it.
    fn cohort(&mut self, idx: usize, raw: RawCohort) -> Option<Cohort> {
        let key = |name: &str| format!("cohorts[{idx}].{name}");
        let n_problems = self.problems.len();
        if !is_slug(raw.id.get_ref()) {
            self.error(&raw.id, &key("id"), "use lowercase letters, digits and dashes");
        }
        if !is_slug(raw.pack.get_ref()) {
            self.error(&raw.pack, &key("pack"), "name a pack directory: lowercase letters, digits and dashes");
        }
        if !is_invite(raw.invite.get_ref()) {
            self.error(
                &raw.invite,
                &key("invite"),
                "use 1 to 64 letters, digits, `_` or `-` (what a t.me/<bot>?start= link can carry)",
            );
        }
        let schedule = CronSpec::parse(raw.schedule.get_ref())
            .map_err(|why| self.error(&raw.schedule, &key("schedule"), &why))
            .ok();
        let timezone = raw
            .timezone
            .get_ref()
            .parse::<chrono_tz::Tz>()
            .map_err(|_| {
                self.error(&raw.timezone, &key("timezone"), "not an IANA time zone name such as `Europe/Amsterdam`")
            })
            .ok();
        let language = Lang::parse(raw.language.get_ref());
        if language.is_none() {
            self.error(&raw.language, &key("language"), "supported languages are `nl`, `en` and `da`");
        }
        let policy = self.policy(idx, &raw);
        if let (Some(schedule), Some(timezone), Some(policy)) = (&schedule, timezone, &policy)
            && let Err(why) = reaches_learners(schedule, timezone, policy)
        {
            self.error(&raw.schedule, &key("schedule"), &why);
        }
        let team = self.team(idx, &raw, timezone, policy.as_ref());
        if self.problems.len() > n_problems {
            return None;
        }
        Some(Cohort {
            policy: policy?,
            id: raw.id.into_inner(),
            pack: raw.pack.into_inner(),
            invite: raw.invite.into_inner(),
            schedule: schedule?,
            timezone: timezone?,
            language: language?,
            team: team?,
        })
    }

    /// The cohort's team loop keys, defaults filled in.
    fn team(
        &mut self,
        idx: usize,
        raw: &RawCohort,
        timezone: Option<chrono_tz::Tz>,
        policy: Option<&Policy>,
    ) -> Option<TeamSettings> {
        let key = |name: &str| format!("cohorts[{idx}].{name}");
        let n_problems = self.problems.len();
        if let Some(code) = raw.lead_invite.as_ref().filter(|code| !is_invite(code.get_ref())) {
            self.error(
                code,
                &key("lead_invite"),
                "use 1 to 64 letters, digits, `_` or `-` (what a t.me/<bot>?start= link can carry)",
            );
        }
        let goal = self.team_text(raw.goal.as_ref(), &key("goal"));
        let question = self.team_text(raw.team_question.as_ref(), &key("team_question"));
        let digest = self.schedule_or(raw.digest.as_ref(), DEFAULT_DIGEST, &key("digest"));
        let question_schedule = self.schedule_or(
            raw.team_question_schedule.as_ref(),
            DEFAULT_TEAM_QUESTION_SCHEDULE,
            &key("team_question_schedule"),
        );
        if let (Some(schedule), Some(timezone), Some(policy)) = (&question_schedule, timezone, policy)
            && let Err(why) = reaches_learners(schedule, timezone, policy)
        {
            match &raw.team_question_schedule {
                Some(spanned) => self.error(spanned, &key("team_question_schedule"), &why),
                None => self.error(
                    &raw.id,
                    &key("team_question_schedule"),
                    &format!("the default {why}; set `team_question_schedule` to a time the team can be reached"),
                ),
            }
        }
        if self.problems.len() > n_problems {
            return None;
        }
        Some(TeamSettings {
            lead_invite: raw.lead_invite.as_ref().map(|code| code.get_ref().clone()),
            goal,
            digest: digest?,
            question,
            question_schedule: question_schedule?,
        })
    }

    /// A one-sentence team text (`goal`, `team_question`): trimmed, not empty, short.
    fn team_text(&mut self, text: Option<&Spanned<String>>, key: &str) -> Option<String> {
        let text = text?;
        let trimmed = text.get_ref().trim();
        let n_chars = trimmed.chars().count();
        if trimmed.is_empty() {
            self.error(text, key, "is empty: write one sentence, or remove the key");
        } else if n_chars > MAX_TEAM_TEXT_CHARS {
            self.error(
                text,
                key,
                &format!("is {n_chars} characters; keep it to one sentence of at most {MAX_TEAM_TEXT_CHARS}"),
            );
        }
        Some(trimmed.to_owned())
    }

    /// The schedule at `value`, or `default` when the key is absent.
    fn schedule_or(&mut self, value: Option<&Spanned<String>>, default: &str, key: &str) -> Option<CronSpec> {
        match value {
            Some(value) => CronSpec::parse(value.get_ref()).map_err(|why| self.error(value, key, &why)).ok(),
            None => CronSpec::parse(default).ok(),
        }
    }

    fn retention(&mut self, days: Option<Spanned<u32>>) -> Option<u32> {
        match days {
            None => Some(DEFAULT_RETENTION_DAYS),
            Some(days) if *days.get_ref() == 0 => None,
            Some(days) if *days.get_ref() < 30 => {
                self.error(&days, "store.retention_days", "keep answers at least 30 days (0 keeps them forever)");
                Some(DEFAULT_RETENTION_DAYS)
            }
            Some(days) => Some(days.into_inner()),
        }
    }

    fn listen(&mut self, listen: Option<Spanned<String>>) -> Option<std::net::SocketAddr> {
        let listen = listen?;
        listen
            .get_ref()
            .parse()
            .map_err(|_| self.error(&listen, "http.listen", "give an address and port such as `127.0.0.1:9184`"))
            .ok()
    }

    /// The cohort's pacing, or `None` after reporting every bad value in it.
    fn policy(&mut self, idx: usize, raw: &RawCohort) -> Option<Policy> {
        let key = |name: &str| format!("cohorts[{idx}].{name}");
        let n_problems = self.problems.len();
        let mut policy = Policy::default();
        if let Some(cap) = &raw.max_messages_per_day {
            if (1..=20).contains(cap.get_ref()) {
                policy.max_messages_per_day = *cap.get_ref();
            } else {
                self.error(cap, &key("max_messages_per_day"), "give a number from 1 to 20");
            }
        }
        if let Some(cap) = &raw.max_reviews_per_slot {
            if (1..=10).contains(cap.get_ref()) {
                policy.max_reviews_per_slot = *cap.get_ref();
            } else {
                self.error(cap, &key("max_reviews_per_slot"), "give a number from 1 to 10");
            }
        }
        if let Some(quiet) = &raw.quiet_hours {
            match quiet.get_ref().trim() {
                "" | "none" => policy.quiet_hours = None,
                text => match QuietHours::parse(text) {
                    Ok(hours) => policy.quiet_hours = Some(hours),
                    Err(why) => self.error(quiet, &key("quiet_hours"), &why),
                },
            }
        }
        if let Some(days) = &raw.days_off {
            policy.days_off.clear();
            for day in days {
                match parse_weekday(day.get_ref()) {
                    Some(weekday) => policy.days_off.push(weekday),
                    None => self.error(day, &key("days_off"), "name days like `sat` or `sunday`"),
                }
            }
        }
        if let Some(retention) = &raw.target_retention {
            if (0.7..=0.97).contains(retention.get_ref()) {
                policy.target_retention = *retention.get_ref();
            } else {
                self.error(
                    retention,
                    &key("target_retention"),
                    "give a share from 0.7 to 0.97 (0.9 means 90 % recall)",
                );
            }
        }
        (self.problems.len() == n_problems).then_some(policy)
    }

    /// Records an error at `value` naming `key`.
    fn error<T>(&mut self, value: &Spanned<T>, key: &str, why: &str) {
        let (line, col) = line_col(self.text, value.span().start);
        self.problems.push(Problem::error(self.source, line, col, format!("`{key}`: {why}")));
    }
}

/// Refuses a schedule that can never nudge anyone: every slot in the quiet hours or on a day
/// off. Cron expressions repeat within the agenda's horizon, so one reference date will do.
fn reaches_learners(schedule: &CronSpec, timezone: chrono_tz::Tz, policy: &Policy) -> Result<(), String> {
    let timing = Timing { schedule, cohort_tz: timezone, policy, learner_tz: timezone, preferred: None };
    let reference =
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default().and_time(chrono::NaiveTime::MIN).and_utc();
    if next_due(&timing, reference).is_some() {
        return Ok(());
    }
    let quiet = policy.quiet_hours.map_or_else(|| "none".to_owned(), |quiet| quiet.to_string());
    let days_off: Vec<String> = policy.days_off.iter().map(ToString::to_string).collect();
    Err(format!(
        "`{}` never reaches a learner: every slot falls in the quiet hours ({quiet}) or on a day off ({}); move the schedule, or change `quiet_hours` or `days_off`",
        schedule.as_str(),
        if days_off.is_empty() { "none".to_owned() } else { days_off.join(", ") }
    ))
}

fn parse_api_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{text}` must start with https:// (or http:// for a local server)"));
    }
    Ok(url)
}

fn is_invite(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[telegram]
api_url = "http://127.0.0.1:8081"
admins = [42]

[store]
path = "/tmp/store"

[content]
dir = "content"

[[cohorts]]
id = "desk"
pack = "customer-focus"
invite = "JOIN-1"
schedule = "0 9 * * Mon-Fri"
timezone = "Europe/Amsterdam"
language = "nl"
"#;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::parse(text, Path::new("nudge.toml"))
    }

    fn error_of(text: &str) -> String {
        format!("{:#}", parse(text).expect_err("should fail"))
    }

    #[test]
    fn parses_a_complete_file() {
        let settings = parse(GOOD).unwrap();
        assert_eq!(settings.telegram.admins, vec![LearnerId::new(42)]);
        assert_eq!(settings.cohorts[0].timezone, chrono_tz::Europe::Amsterdam);
        assert_eq!(settings.cohorts[0].language, Lang::Nl);
        assert_eq!(settings.store.path, PathBuf::from("/tmp/store"));
    }

    #[test]
    fn defaults_fill_missing_sections() {
        let settings = parse("").unwrap();
        assert_eq!(settings.telegram.api_url.as_str(), "https://api.telegram.org/");
        assert_eq!(settings.content.dir, PathBuf::from("content"));
        assert!(settings.cohorts.is_empty());
    }

    #[test]
    fn unknown_key_names_key_file_and_position() {
        let error = error_of("[store]\npaht = \"x\"\n");
        assert!(error.starts_with("nudge.toml:2:1:"), "{error}");
        assert!(error.contains("paht"), "{error}");
    }

    #[test]
    fn bad_timezone_names_the_key() {
        let error = error_of(&GOOD.replace("Europe/Amsterdam", "Europe/Amsterdm"));
        assert!(error.contains("`cohorts[0].timezone`"), "{error}");
        assert!(error.starts_with("nudge.toml:17:12:"), "{error}");
    }

    #[test]
    fn bad_schedule_names_the_key() {
        let error = error_of(&GOOD.replace("0 9 * * Mon-Fri", "every morning"));
        assert!(error.contains("`cohorts[0].schedule`"), "{error}");
    }

    #[test]
    fn a_schedule_that_never_reaches_a_learner_is_refused_by_name() {
        let good = GOOD.replace("0 9 * * Mon-Fri", "0 22 * * *");
        let error = error_of(&good);
        assert!(error.contains("`cohorts[0].schedule`"), "{error}");
        assert!(error.contains("`0 22 * * *` never reaches a learner"), "{error}");
        assert!(error.contains("21:00-07:00"), "{error}");
        let weekends = GOOD.replace("0 9 * * Mon-Fri", "0 9 * * Sat,Sun") + "days_off = [\"sat\", \"sun\"]\n";
        assert!(error_of(&weekends).contains("never reaches a learner"));
        let dense = GOOD.replace("0 9 * * Mon-Fri", "*/3 * * * * *");
        assert!(parse(&dense).is_ok(), "a schedule of every three seconds nudges");
        let quiet_night = GOOD.replace("0 9 * * Mon-Fri", "*/3 * 22-23 * * *");
        assert!(error_of(&quiet_night).contains("never reaches a learner"));
    }

    #[test]
    fn unsupported_language_is_refused() {
        let error = error_of(&GOOD.replace("\"nl\"", "\"fr\""));
        assert!(error.contains("`cohorts[0].language`"), "{error}");
    }

    #[test]
    fn the_team_loop_keys_are_optional_with_weekly_defaults() {
        let settings = parse(GOOD).unwrap();
        let team = &settings.cohorts[0].team;
        assert_eq!((team.lead_invite.as_deref(), team.goal.as_deref(), team.question.as_deref()), (None, None, None));
        assert_eq!((team.digest.as_str(), team.question_schedule.as_str()), ("0 8 * * Mon", "0 14 * * Fri"));
        let text = format!(
            "{GOOD}lead_invite = \"LEAD-1\"\ngoal = \"  Fewer repeat calls: from 10 % to 5 % by June \"\ndigest = \"0 7 * * Tue\"\nteam_question = \"What surprised a customer?\"\nteam_question_schedule = \"0 15 * * Thu\"\n"
        );
        let settings = parse(&text).unwrap();
        let team = &settings.cohorts[0].team;
        assert_eq!(team.goal.as_deref(), Some("Fewer repeat calls: from 10 % to 5 % by June"));
        assert_eq!((team.digest.as_str(), team.question_schedule.as_str()), ("0 7 * * Tue", "0 15 * * Thu"));
        assert_eq!(settings.cohort_by_lead_invite("LEAD-1").map(|c| c.id.as_str()), Some("desk"));
        assert!(settings.cohort_by_invite("LEAD-1").is_none(), "a lead invite does not enrol");
    }

    #[test]
    fn team_loop_mistakes_are_named() {
        let text = format!(
            "{GOOD}lead_invite = \"JOIN-1\"\ngoal = \" \"\ndigest = \"every monday\"\nquiet_hours = \"12:00-18:00\"\nteam_question_schedule = \"0 14 * * Fri\"\n"
        );
        let error = error_of(&text);
        for expected in [
            "`cohorts[0].lead_invite`: the code `JOIN-1` is also used by `cohorts[0].invite`",
            "`cohorts[0].goal`: is empty",
            "`cohorts[0].digest`:",
            "`cohorts[0].team_question_schedule`: `0 14 * * Fri` never reaches a learner",
        ] {
            assert!(error.contains(expected), "{expected} in:\n{error}");
        }
    }

    #[test]
    fn duplicate_invites_are_refused() {
        let twice = format!("{GOOD}{}", &GOOD[GOOD.find("[[cohorts]]").unwrap()..].replace("\"desk\"", "\"desk-2\""));
        assert!(
            error_of(&twice).contains("`cohorts[1].invite`: the code `JOIN-1` is also used by `cohorts[0].invite`")
        );
    }

    #[test]
    fn policy_fields_are_optional_and_validated() {
        let settings = parse(GOOD).unwrap();
        assert_eq!(settings.cohorts[0].policy, Policy::default());
        let custom = parse(&format!(
            "{GOOD}max_messages_per_day = 2\nquiet_hours = \"20:00-08:00\"\ndays_off = [\"sat\", \"zondag\"]\n"
        ))
        .unwrap();
        let policy = &custom.cohorts[0].policy;
        assert_eq!(policy.max_messages_per_day, 2);
        assert_eq!(policy.days_off, vec![chrono::Weekday::Sat, chrono::Weekday::Sun]);
        assert!(error_of(&format!("{GOOD}quiet_hours = \"late\"\n")).contains("`cohorts[0].quiet_hours`"));
        assert!(error_of(&format!("{GOOD}target_retention = 2.0\n")).contains("`cohorts[0].target_retention`"));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_position() {
        let two_typos =
            GOOD.replace("0 9 * * Mon-Fri", "0 9 * * Mon-Fry").replace("Europe/Amsterdam", "Europe/Amsterdm");
        let text = format!("{two_typos}\n[stroe]\npath = \"x\"\n\n[[cohorts]]\nid = \"b\"\n");
        let (settings, problems) = Settings::check(&text, Path::new("nudge.toml"));
        let got: Vec<String> = problems.iter().map(Problem::headline).collect();
        assert_eq!(
            got,
            [
                "nudge.toml:16:12: error: `cohorts[0].schedule`: `0 9 * * Mon-Fry` is not a cron schedule (Pattern contains illegal characters: CronPattern contains illegal character 'F' in part '1-FRY'); e.g. `0 9 * * Mon-Fri` is 09:00 on weekdays",
                "nudge.toml:17:12: error: `cohorts[0].timezone`: not an IANA time zone name such as `Europe/Amsterdam`",
                "nudge.toml:20:2: error: unknown section `stroe` (check the spelling): the config has `[telegram]`, `[store]`, `[content]`, `[[cohorts]]`, `[reports]` and `[http]`",
                "nudge.toml:23:1: error: in `cohorts[1]`: `pack` is missing: add a line such as `pack = \"…\"`",
            ]
        );
        assert!(settings.cohorts.is_empty(), "a cohort with a problem is left out");
        assert_eq!(settings.content.dir, PathBuf::from("content"), "the rest is still read");
        let error = error_of(&text);
        assert!(
            error.starts_with("the configuration has 4 problems:\n  nudge.toml:16:12: `cohorts[0].schedule`"),
            "{error}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut settings = parse(GOOD).unwrap();
        settings
            .apply_env(|key| match key {
                "NUDGE_TELEGRAM_API_URL" => Some("http://10.0.0.1:9000".to_owned()),
                "NUDGE_STORE_PATH" => Some("/var/lib/nudge".to_owned()),
                "NUDGE_HTTP_LISTEN" => Some("0.0.0.0:9184".to_owned()),
                _ => None,
            })
            .unwrap();
        assert_eq!(settings.telegram.api_url.as_str(), "http://10.0.0.1:9000/");
        assert_eq!(settings.store.path, PathBuf::from("/var/lib/nudge"));
        assert_eq!(settings.http.listen.map(|a| a.to_string()).as_deref(), Some("0.0.0.0:9184"));
        let bad = parse(GOOD).unwrap().apply_env(|key| (key == "NUDGE_HTTP_LISTEN").then(|| "everywhere".to_owned()));
        assert!(format!("{:#}", bad.unwrap_err()).contains("NUDGE_HTTP_LISTEN: `everywhere`"));
    }

    #[test]
    fn a_token_in_the_file_is_an_unknown_key() {
        let error = error_of("[telegram]\ntoken = \"123:abc\"\n");
        assert!(error.contains("token"), "{error}");
        assert!(!error.contains("123:abc"), "the token must not be echoed: {error}");
    }
}
