//! Turns the TOML text into typed settings, collecting a problem (`path:line:col` and the key)
//! for every bad value and going on with the next, so `nudge check` reports them all at once.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::webhook::RawUpdateMode;
use super::*;
use crate::content::toml_error::plain_message;
use crate::schedule::agenda::{Timing, next_due};
use crate::schedule::policy::{QuietHours, parse_weekday};
use crate::schedule::track::{DEFAULT_DAYS as DEFAULT_TRACK_DAYS, DEFAULT_TIME as DEFAULT_TRACK_TIME};
use crate::text::{is_slug, line_col};
use chrono::NaiveTime;

/// Longest `goal` or `team_question`, in characters: both are one sentence on a phone.
const MAX_TEAM_TEXT_CHARS: usize = 300;
/// The last day a track's `days` may name: ten years after joining.
const MAX_TRACK_DAY: u32 = 3650;

/// The settings in `text` (from `source`) and every problem found in them, in file order.
pub(super) fn check(text: &str, source: &Path) -> (Settings, Vec<Problem>) {
    let mut validator = Validator { text, source, problems: Vec::new() };
    let raw = validator.raw_settings();
    let settings = validator.settings(raw);
    let mut problems = validator.problems;
    problems.sort_by_key(|problem| (problem.line, problem.col));
    (settings, problems)
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
    mode: Option<Spanned<String>>,
    webhook_url: Option<Spanned<String>>,
    webhook_listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    backend: Option<Spanned<String>>,
    /// Refused with a sentence of its own: the URL holds a password.
    url: Option<Spanned<toml::Value>>,
    /// Refused as `url` is.
    database_url: Option<Spanned<toml::Value>>,
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
    schedule: Option<Spanned<String>>,
    track: Option<Spanned<String>>,
    days: Option<Spanned<Vec<Spanned<i64>>>>,
    time: Option<Spanned<String>>,
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
    confidence: Option<bool>,
}

/// Turns raw values into typed settings, collecting a problem (file, position, key) for every
/// bad value and going on with the next.
pub(super) struct Validator<'a> {
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
        let backend = self.backend(&raw.store);
        let retention_days = self.retention(raw.store.retention_days);
        let listen = self.listen(raw.http.listen);
        let updates = self.update_mode(
            RawUpdateMode {
                mode: raw.telegram.mode.as_ref(),
                url: raw.telegram.webhook_url.as_ref(),
                listen: raw.telegram.webhook_listen.as_ref(),
            },
            listen,
        );
        let cohorts = self.cohorts(raw.cohorts);
        Settings {
            source: self.source.to_owned(),
            telegram: TelegramSettings {
                api_url: api_url
                    .unwrap_or_else(|| reqwest::Url::parse("https://api.telegram.org").expect("a valid URL")),
                admins: raw.telegram.admins,
                updates,
                limits: Limits {
                    global_per_second: raw.telegram.messages_per_second.unwrap_or(Limits::TELEGRAM.global_per_second),
                    per_chat_per_second: raw
                        .telegram
                        .messages_per_chat_per_second
                        .unwrap_or(Limits::TELEGRAM.per_chat_per_second),
                },
            },
            store: StoreSettings {
                backend,
                path: raw.store.path.unwrap_or_else(|| PathBuf::from("data/nudge.sled")),
                retention_days,
            },
            reports: ReportSettings { per_learner: raw.reports.per_learner },
            http: HttpSettings { listen },
            content: ContentSettings { dir: raw.content.dir.unwrap_or_else(|| PathBuf::from("content")) },
            cohorts,
        }
    }

    /// `[store] backend`; a database URL written in the file is refused (it holds a password:
    /// it comes from `NUDGE_DATABASE_URL` only) without echoing it.
    fn backend(&mut self, store: &RawStore) -> Backend {
        for (key, value) in [("url", &store.url), ("database_url", &store.database_url)] {
            if let Some(value) = value {
                let why = "the database URL holds a password, so nudge reads it only from the environment variable NUDGE_DATABASE_URL; remove it from the file";
                self.error(value, &format!("store.{key}"), why);
            }
        }
        let Some(backend) = &store.backend else { return Backend::Sled };
        match backend.get_ref().as_str() {
            "sled" => Backend::Sled,
            "postgres" => Backend::Postgres,
            other => {
                let message = format!("`{other}` is not a store engine: write `sled` (the default) or `postgres`");
                self.error(backend, "store.backend", &message);
                Backend::Sled
            }
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
        let rhythm = self.rhythm(idx, &raw);
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
        if let (Some((schedule, track)), Some(timezone), Some(policy)) = (&rhythm, timezone, &policy)
            && let Err(why) = reaches_learners(schedule, timezone, policy)
        {
            match (&raw.schedule, track, &raw.time) {
                (Some(spanned), _, _) => self.error(spanned, &key("schedule"), &why),
                (None, Some(track), Some(time)) => {
                    self.error(time, &key("time"), &track_unreachable(track, policy));
                }
                (None, Some(track), None) => {
                    self.error(&raw.id, &key("time"), &track_unreachable_default(track, policy))
                }
                (None, None, _) => {}
            }
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
            schedule: rhythm.as_ref()?.0.clone(),
            track: rhythm?.1,
            timezone: timezone?,
            language: language?,
            team: team?,
            confidence: raw.confidence.unwrap_or(true),
        })
    }

    /// The cohort's rhythm: its `schedule`, or its track and the track's daily slot. Exactly
    /// one of the two; `days` and `time` belong to a track.
    fn rhythm(&mut self, idx: usize, raw: &RawCohort) -> Option<(CronSpec, Option<Track>)> {
        let key = |name: &str| format!("cohorts[{idx}].{name}");
        match (&raw.schedule, &raw.track) {
            (Some(schedule), None) => {
                for (name, value) in
                    [("days", raw.days.as_ref().map(Spanned::span)), ("time", raw.time.as_ref().map(Spanned::span))]
                {
                    if let Some(span) = value {
                        let why = "belongs to a track (`track = \"onboarding\"`); a cohort on a `schedule` has no days or time of its own";
                        self.error_at(span.start, &key(name), why);
                    }
                }
                CronSpec::parse(schedule.get_ref())
                    .map_err(|why| self.error(schedule, &key("schedule"), &why))
                    .ok()
                    .map(|spec| (spec, None))
            }
            (Some(_), Some(track)) => {
                let why = "a cohort follows either a `schedule` (the same dates for everyone) or a `track` (days after each learner joined), not both: remove one";
                self.error(track, &key("track"), why);
                None
            }
            (None, Some(track)) => {
                self.track(idx, raw, track).map(|track| (track.daily_schedule().clone(), Some(track)))
            }
            (None, None) => {
                let why = "has no `schedule` (a cron expression such as `0 9 * * Mon-Fri`) and no `track = \"onboarding\"`: give it one of the two";
                self.error(&raw.id, &format!("cohorts[{idx}]"), why);
                None
            }
        }
    }

    /// A cohort's onboarding track: `track = "onboarding"`, `days` and `time` (both optional).
    fn track(&mut self, idx: usize, raw: &RawCohort, track: &Spanned<String>) -> Option<Track> {
        let key = |name: &str| format!("cohorts[{idx}].{name}");
        let n_problems = self.problems.len();
        if track.get_ref() != "onboarding" {
            let why = format!(
                "`{}` is not a track: the one kind is `onboarding` (lessons on days after each learner joined)",
                track.get_ref()
            );
            self.error(track, &key("track"), &why);
        }
        let days = match &raw.days {
            None => DEFAULT_TRACK_DAYS.to_vec(),
            Some(days) => self.track_days(days, &key("days")),
        };
        let time = match &raw.time {
            None => NaiveTime::parse_from_str(DEFAULT_TRACK_TIME, "%H:%M").ok(),
            Some(time) => NaiveTime::parse_from_str(time.get_ref().trim(), "%H:%M")
                .map_err(|_| {
                    self.error(
                        time,
                        &key("time"),
                        &format!("`{}` is not a time of day; write it as `09:00`", time.get_ref()),
                    )
                })
                .ok(),
        };
        if self.problems.len() > n_problems {
            return None;
        }
        Track::new(days, time?)
            .map_err(|why| match &raw.days {
                Some(days) => self.error(days, &key("days"), &why),
                None => self.error(track, &key("track"), &why),
            })
            .ok()
    }

    /// The `days` of a track, each a whole number of days from 0 (the day of joining) up.
    fn track_days(&mut self, days: &Spanned<Vec<Spanned<i64>>>, key: &str) -> Vec<u32> {
        let mut valid: Vec<u32> = Vec::with_capacity(days.get_ref().len());
        for day in days.get_ref() {
            match u32::try_from(*day.get_ref()).ok().filter(|day| *day <= MAX_TRACK_DAY) {
                Some(number) => match valid.last() {
                    Some(&before) if number <= before => {
                        let why = format!(
                            "day {number} comes after day {before}: the days must increase, one lesson per day at most"
                        );
                        self.error(day, key, &why);
                    }
                    _ => valid.push(number),
                },
                None => self.error(
                    day,
                    key,
                    &format!(
                        "`{}` is not a day of the track: give days from 0 (the day a learner joins) to {MAX_TRACK_DAY}",
                        day.get_ref()
                    ),
                ),
            }
        }
        valid
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
    pub(super) fn error<T>(&mut self, value: &Spanned<T>, key: &str, why: &str) {
        self.error_at(value.span().start, key, why);
    }

    /// Records an error at byte `offset` of the text, naming `key`.
    pub(super) fn error_at(&mut self, offset: usize, key: &str, why: &str) {
        let (line, col) = line_col(self.text, offset);
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

/// Why a track's time reaches nobody (the same search as for a schedule, in the track's words).
fn track_unreachable(track: &Track, policy: &Policy) -> String {
    format!("`{}` never reaches a learner: {}", track.time().format("%H:%M"), blocked_because(track, policy))
}

/// Why the default track time reaches nobody.
fn track_unreachable_default(track: &Track, policy: &Policy) -> String {
    format!(
        "the default time `{DEFAULT_TRACK_TIME}` never reaches a learner: {}; or set `time`",
        blocked_because(track, policy)
    )
}

/// What keeps a track's time from every learner: the quiet hours, or a week of days off.
fn blocked_because(track: &Track, policy: &Policy) -> String {
    match policy.quiet_hours.filter(|quiet| quiet.contains(track.time())) {
        Some(quiet) => {
            format!("it falls in the quiet hours ({quiet}); choose a time outside them, or change `quiet_hours`")
        }
        None => "every day is a day off; remove one from `days_off`".to_owned(),
    }
}

pub(super) fn parse_api_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{text}` must start with https:// (or http:// for a local server)"));
    }
    Ok(url)
}

fn is_invite(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
