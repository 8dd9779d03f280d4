//! The config's parsing and validation, from inline TOML.

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
    assert!(error_of(&twice).contains("`cohorts[1].invite`: the code `JOIN-1` is also used by `cohorts[0].invite`"));
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
    let two_typos = GOOD.replace("0 9 * * Mon-Fri", "0 9 * * Mon-Fry").replace("Europe/Amsterdam", "Europe/Amsterdm");
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

/// `GOOD` with its cohort's `schedule` line replaced by `rhythm`.
fn with_rhythm(rhythm: &str) -> String {
    GOOD.replace("schedule = \"0 9 * * Mon-Fri\"\n", rhythm)
}

#[test]
fn a_track_replaces_the_schedule_with_days_after_joining_at_a_time() {
    let settings = parse(&with_rhythm("track = \"onboarding\"\ndays = [0, 2, 5]\ntime = \"08:15\"\n")).unwrap();
    let track = settings.cohorts[0].track.as_ref().expect("a track");
    assert_eq!(track.days(), [0, 2, 5]);
    assert_eq!(track.time(), chrono::NaiveTime::from_hms_opt(8, 15, 0).unwrap());
    assert_eq!(settings.cohorts[0].schedule.as_str(), "15 8 * * *", "the daily slot the agenda searches");
    let defaults = parse(&with_rhythm("track = \"onboarding\"\n")).unwrap();
    let track = defaults.cohorts[0].track.as_ref().expect("a track");
    assert_eq!(track.days(), [0, 1, 2, 4, 7, 10, 14, 21, 28]);
    assert_eq!(track.time(), chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap());
}

#[test]
fn a_track_that_mixes_with_a_schedule_or_runs_backwards_is_refused_by_name() {
    let both = with_rhythm("schedule = \"0 9 * * *\"\ntrack = \"onboarding\"\n");
    assert_eq!(
        error_of(&both),
        "nudge.toml:17:9: `cohorts[0].track`: a cohort follows either a `schedule` (the same dates for everyone) or a `track` (days after each learner joined), not both: remove one"
    );
    let backwards = with_rhythm("track = \"onboarding\"\ndays = [0, 4, 2, -1]\ntime = \"25:00\"\n");
    assert_eq!(
        error_of(&backwards),
        "the configuration has 3 problems:\n  nudge.toml:17:15: `cohorts[0].days`: day 2 comes after day 4: the days must increase, one lesson per day at most\n  nudge.toml:17:18: `cohorts[0].days`: `-1` is not a day of the track: give days from 0 (the day a learner joins) to 3650\n  nudge.toml:18:8: `cohorts[0].time`: `25:00` is not a time of day; write it as `09:00`"
    );
    let quiet = with_rhythm("track = \"onboarding\"\ntime = \"06:30\"\n");
    assert!(
        error_of(&quiet)
            .contains("`cohorts[0].time`: `06:30` never reaches a learner: it falls in the quiet hours (21:00-07:00)")
    );
    let stray = with_rhythm("schedule = \"0 9 * * *\"\ndays = [0, 1]\n");
    assert!(error_of(&stray).contains("`cohorts[0].days`: belongs to a track"));
    let neither = with_rhythm("");
    assert!(error_of(&neither).contains("`cohorts[0]`: has no `schedule`"), "{}", error_of(&neither));
    let unknown = with_rhythm("track = \"induction\"\n");
    assert!(error_of(&unknown).contains("`induction` is not a track"));
}

#[test]
fn the_store_engine_is_sled_unless_the_file_says_postgres() {
    assert_eq!(parse(GOOD).unwrap().store.backend, Backend::Sled);
    let postgres = parse(&GOOD.replace("[store]\n", "[store]\nbackend = \"postgres\"\n")).unwrap();
    assert_eq!(postgres.store.backend, Backend::Postgres);
    let error = error_of(&GOOD.replace("[store]\n", "[store]\nbackend = \"postgresql\"\n"));
    assert!(error.starts_with("nudge.toml:7:11: `store.backend`: `postgresql` is not a store engine"), "{error}");
}

#[test]
fn a_database_url_in_the_file_is_refused_without_echoing_it() {
    for key in ["url", "database_url"] {
        let line = format!("[store]\nbackend = \"postgres\"\n{key} = \"postgres://nudge:s3cret@db/nudge\"\n");
        let error = error_of(&GOOD.replace("[store]\n", &line));
        assert!(error.contains(&format!("`store.{key}`")) && error.contains("NUDGE_DATABASE_URL"), "{error}");
        assert!(!error.contains("s3cret"), "the password must not be echoed: {error}");
    }
}

/// `GOOD` with `lines` added to its `[telegram]` section.
fn with_telegram(lines: &str) -> String {
    GOOD.replace("admins = [42]\n", &format!("admins = [42]\n{lines}"))
}

#[test]
fn updates_come_by_long_polling_unless_the_file_asks_for_a_webhook() {
    assert_eq!(parse(GOOD).unwrap().telegram.updates, UpdateMode::Polling);
    let webhook = with_telegram(
        "mode = \"webhook\"\nwebhook_url = \"https://nudge.example.org/telegram\"\nwebhook_listen = \"0.0.0.0:8443\"\n",
    );
    let UpdateMode::Webhook(settings) = parse(&webhook).unwrap().telegram.updates else {
        panic!("a webhook was asked for");
    };
    assert_eq!(settings.url.as_str(), "https://nudge.example.org/telegram");
    assert_eq!(settings.listen.to_string(), "0.0.0.0:8443");
}

#[test]
fn a_webhook_without_its_addresses_or_with_one_telegram_cannot_post_to_is_refused_by_name() {
    let cases = [
        ("mode = \"webhook\"\nwebhook_listen = \"0.0.0.0:8443\"\n", "a webhook needs `webhook_url`"),
        ("mode = \"webhook\"\nwebhook_url = \"https://a.example/t\"\n", "a webhook needs `webhook_listen`"),
        ("mode = \"hook\"\n", "`hook` is not a way to get updates"),
        ("webhook_url = \"https://a.example/t\"\n", "`telegram.webhook_url`: only a webhook uses it"),
        (
            "mode = \"webhook\"\nwebhook_url = \"http://a.example/t\"\nwebhook_listen = \"0.0.0.0:8443\"\n",
            "Telegram posts updates to https:// addresses only",
        ),
        (
            "mode = \"webhook\"\nwebhook_url = \"https://a.example:9000/t\"\nwebhook_listen = \"0.0.0.0:8443\"\n",
            "ports 443, 80, 88 and 8443 only, not 9000",
        ),
        (
            "mode = \"webhook\"\nwebhook_url = \"https://a.example/t\"\nwebhook_listen = \"everywhere\"\n",
            "`telegram.webhook_listen`: give an address and port",
        ),
    ];
    for (lines, expected) in cases {
        let error = error_of(&with_telegram(lines));
        assert!(error.contains(expected), "{lines}: {error}");
        assert!(error.contains("nudge.toml:"), "the problem has its place: {error}");
    }
}

#[test]
fn the_webhook_and_the_operations_endpoints_need_ports_of_their_own() {
    let text =
        with_telegram("mode = \"webhook\"\nwebhook_url = \"https://a.example/t\"\nwebhook_listen = \"0.0.0.0:9184\"\n")
            + "\n[http]\nlisten = \"127.0.0.1:9184\"\n";
    let error = error_of(&text);
    assert!(error.contains("need ports of their own"), "{error}");
}

#[test]
fn a_webhook_on_this_machine_may_use_plain_http_to_try_it_against_the_fake() {
    let text = with_telegram(
        "mode = \"webhook\"\nwebhook_url = \"http://127.0.0.1:8444/telegram\"\nwebhook_listen = \"127.0.0.1:8444\"\n",
    );
    assert!(matches!(parse(&text).unwrap().telegram.updates, UpdateMode::Webhook(_)));
}

#[test]
fn the_webhook_secret_comes_from_the_environment_in_telegrams_alphabet_and_is_never_echoed() {
    use secrecy::ExposeSecret as _;
    let secret = webhook_secret(|key| (key == "NUDGE_WEBHOOK_SECRET").then(|| "a-B_9".to_owned())).unwrap();
    assert_eq!(secret.expose_secret(), "a-B_9");
    let missing = format!("{:#}", webhook_secret(|_| None).unwrap_err());
    assert!(missing.contains("NUDGE_WEBHOOK_SECRET"), "{missing}");
    let bad = format!("{:#}", webhook_secret(|_| Some("has space!".to_owned())).unwrap_err());
    assert!(bad.contains("NUDGE_WEBHOOK_SECRET") && !bad.contains("has space"), "{bad}");
    let long = webhook_secret(|_| Some("x".repeat(257)));
    assert!(long.is_err(), "Telegram takes at most 256 characters");
}
