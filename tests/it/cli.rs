//! The real binary, as users run it: every problem as one clear sentence, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn nudge(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(args)
        .current_dir(dir)
        .env_remove("NUDGE_TELEGRAM_TOKEN")
        .env_remove("NUDGE_CONFIG")
        .output()
        .expect("the binary runs")
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn the_example_packs_pass_check_without_warnings() {
    let output = nudge(&["check", "--deny-warnings"], repo());
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(text(&output).trim(), "0 errors, 0 warnings in 39 lessons");
}

#[test]
fn check_reports_every_problem_with_its_position_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("broken");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(pack.join("pack.toml"), "title = \"B\"\nlanguage = \"en\"\ndescription = \"x\"\n").unwrap();
    std::fs::write(pack.join("01-a.md"), "+++\ntitle = \"A\"\n+++\n## Quiz\nQ?\n- [ ] a\n- [ ] b\n").unwrap();
    std::fs::write(pack.join("02-b.md"), "no front matter\n").unwrap();
    let output = nudge(&["check", "broken"], dir.path());
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("broken/01-a.md:6:1: error: no option is marked right"), "{out}");
    assert!(out.contains("broken/02-b.md:1:1: error: no `+++` front matter"), "{out}");
    assert!(out.contains("6 | - [ ] a\n  | ^"), "the source line and a caret: {out}");
    assert!(out.trim_end().ends_with("2 errors, 0 warnings in 2 lessons"), "{out}");
    let json = nudge(&["check", "broken", "--format", "json"], dir.path());
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    assert_eq!(document["summary"]["errors"], 2);
    assert_eq!(document["problems"][0]["line"], 6);
}

#[test]
fn every_subcommand_has_help() {
    for command in ["serve", "check", "report", "preview", "try", "simulate", "lead"] {
        let output = nudge(&[command, "--help"], repo());
        assert!(output.status.success(), "{command}: {}", text(&output));
        assert!(text(&output).contains("Usage: nudge"), "{command}");
    }
}

#[test]
fn serve_without_a_token_says_so_in_one_sentence() {
    let output = nudge(&["serve"], repo());
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        out.starts_with("error: the bot token is missing: set the environment variable NUDGE_TELEGRAM_TOKEN"),
        "{out}"
    );
    assert!(!out.contains("panicked") && !out.contains("backtrace"), "{out}");
}

#[test]
fn a_bad_config_value_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(repo().join("config/nudge.toml"))
        .unwrap()
        .replace("Europe/Copenhagen", "Europe/Kopenhagen");
    std::fs::write(dir.path().join("bad.toml"), config).unwrap();
    let output = nudge(&["check", "--config", "bad.toml"], dir.path());
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(out.contains("bad.toml:") && out.contains("`cohorts[2].timezone`"), "{out}");
}

#[test]
fn preview_and_try_show_a_pack_as_a_learner_sees_it() {
    let preview = nudge(&["preview", "content/klantgericht-team"], repo());
    assert!(preview.status.success());
    assert!(text(&preview).contains("Les 1 van 10"), "{}", text(&preview));
    let mut child = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["try", "content/customer-focus"])
        .current_dir(repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"2\n1\nSelling more\n/progress\n/quit\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("What for?") && out.contains("How sure are you?"), "{out}");
    assert!(out.contains("✅ Right!") && out.contains("Thanks, noted."), "{out}");
}

/// `nudge try PACK ARGS…` with `input` on standard input; returns everything it printed.
fn try_pack(args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .arg("try")
        .args(args)
        .current_dir(repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    use std::io::Write as _;
    child.stdin.take().expect("stdin").write_all(input).expect("input");
    let output = child.wait_with_output().expect("output");
    assert!(output.status.success(), "{}", text(&output));
    text(&output)
}

#[test]
fn the_authoring_tools_speak_the_packs_language_or_the_one_asked_for() {
    let danish = try_pack(&["content/hvad-er-der-i-det"], b"/quit\n");
    assert!(danish.starts_with("Du prøver “"), "{danish}");
    assert!(danish.contains("Velkommen, kollega!"), "{danish}");
    let weekdays = nudge::i18n::tr(nudge::i18n::Lang::Da, "time.weekdays");
    assert!(weekdays.split(',').any(|day| danish.contains(&format!("⏩ {day} "))), "{danish}");
    let english = try_pack(&["content/hvad-er-der-i-det", "--language", "en", "--name", "Ann"], b"/quit\n");
    assert!(english.starts_with("Trying “") && english.contains("Welcome, Ann!"), "{english}");
    let preview = nudge(&["preview", "content/hvad-er-der-i-det"], repo());
    let out = text(&preview);
    assert!(out.contains("efter et rigtigt svar bliver beskeden:") && out.contains(" dage senere:"), "{out}");
    assert!(!out.contains("days later") && !out.contains("after a right answer"), "{out}");
}

#[test]
fn simulate_prints_a_day_by_day_table() {
    let output = nudge(&["simulate", "--days", "5", "--learners", "10", "--start", "2026-11-23"], repo());
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("  1  Mon 23-11"), "{out}");
    let bad = nudge(&["simulate", "--accuracy", "1.5"], repo());
    assert!(text(&bad).contains("--accuracy is a share from 0 to 1"));
}

#[test]
fn check_on_a_folder_with_pack_toml_txt_fails_and_says_to_rename_it() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("my-pack");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(pack.join("pack.toml.txt"), "title = \"T\"\nlanguage = \"en\"\n").unwrap();
    std::fs::write(pack.join("01-a.md"), "+++\ntitle = \"A\"\n+++\nText.\n").unwrap();
    let output = nudge(&["check", "my-pack"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "my-pack/pack.toml.txt:1:1: error: the folder `my-pack` is not a pack: it has `pack.toml.txt` but no \
         `pack.toml`: rename `pack.toml.txt` to `pack.toml` (Notepad adds `.txt`: save with \"Save as type: All files\")\n\
         \x20 |\n1 | title = \"T\"\n  | ^\n\n1 error, 0 warnings in 1 lesson\n"
    );
}

#[test]
fn check_reports_a_broken_pack_toml_and_the_lessons_mistakes_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("my-pack");
    std::fs::create_dir_all(&pack).unwrap();
    std::fs::write(pack.join("pack.toml"), "title = \"T\"\nlanguage = en\n").unwrap();
    std::fs::write(pack.join("01-a.md"), "+++\ntitle = \"A\"\n+++\n## Quiz\nQ?\n- [ ] a\n- [ ] b\n").unwrap();
    let output = nudge(&["check", "my-pack"], dir.path());
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("my-pack/pack.toml:2:12: error: a text value must be between double quotes"), "{out}");
    assert!(out.contains("my-pack/01-a.md:6:1: error: no option is marked right"), "{out}");
    assert!(out.trim_end().ends_with("2 errors, 0 warnings in 1 lesson"), "{out}");
}

#[test]
fn check_reports_every_config_problem_and_still_checks_the_packs() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(repo().join("config/nudge.toml"))
        .unwrap()
        .replace("30 8 * * Mon,Wed,Fri", "30 8 * * Mon,Wed,Fry")
        .replace("Europe/Copenhagen", "Europe/Kopenhagen")
        .replace("dir = \"content\"", &format!("dir = {:?}", repo().join("content").display().to_string()));
    // The lines of the two mistakes, wherever comments above them put them.
    let line_of = |needle: &str| config.lines().position(|line| line.contains(needle)).expect("in the config") + 1;
    let (schedule, zone) = (line_of("Mon,Wed,Fry"), line_of("Europe/Kopenhagen"));
    std::fs::write(dir.path().join("bad.toml"), &config).unwrap();
    let output = nudge(&["check", "--config", "bad.toml"], dir.path());
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("bad.toml:{schedule}:12: error: `cohorts[1].schedule`: `30 8 * * Mon,Wed,Fry` is not")),
        "{out}"
    );
    assert!(
        out.contains(&format!("bad.toml:{zone}:12: error: `cohorts[2].timezone`: not an IANA time zone name")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{zone} | timezone = \"Europe/Kopenhagen\"\n   |            ^")),
        "with the line and a caret: {out}"
    );
    assert!(out.trim_end().ends_with("2 errors, 0 warnings in 39 lessons"), "the packs are checked too: {out}");
    let serve = nudge(&["serve", "--config", "bad.toml"], dir.path());
    let out = text(&serve);
    assert_eq!(serve.status.code(), Some(1), "{out}");
    assert!(
        out.starts_with(&format!(
            "error: the configuration has 2 problems:\n  bad.toml:{schedule}:12: `cohorts[1].schedule`"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("\n  bad.toml:{zone}:12: `cohorts[2].timezone`")), "{out}");
}

#[test]
fn simulate_runs_an_authors_pack_without_a_config_and_prints_the_policy_it_used() {
    let dir = tempfile::tempdir().unwrap();
    let pack = repo().join("content/customer-focus");
    let args = ["simulate", pack.to_str().unwrap(), "--days", "5", "--learners", "10", "--start", "2026-11-23"];
    let output = nudge(&args, dir.path());
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains(
            "No config: the default schedule and policy (--config uses a cohort's own):\n  schedule          \
             `0 9 * * Mon-Fri` (Europe/Amsterdam)\n  daily cap         at most 3 scheduled messages a learner a day \
             (replies to answers come on top)\n"
        ),
        "{out}"
    );
    assert!(out.contains("  1  Mon 23-11"), "{out}");
    assert!(out.contains("answers behind the mean"), "{out}");
}

#[test]
fn simulate_speaks_the_packs_language_or_the_one_asked_for() {
    let danish = nudge(&["simulate", "content/hvad-er-der-i-det", "--days", "3", "--learners", "5"], repo());
    let out = text(&danish);
    assert!(danish.status.success(), "{out}");
    assert!(out.starts_with("Simulering af pakken “Hvad er der i det for mig?”"), "{out}");
    for english in ["Simulation", "schedule", "daily cap", "quiet hours", "after a wrong answer", "Days until"] {
        assert!(!out.contains(english), "{english:?} in {out}");
    }
    let english =
        nudge(&["simulate", "content/hvad-er-der-i-det", "--days", "3", "--learners", "5", "--language", "en"], repo());
    let out = text(&english);
    assert!(out.starts_with("Simulation of pack “Hvad er der i det for mig?”"), "{out}");
    assert!(out.contains("  daily cap ") && out.contains("after a wrong answer"), "{out}");
}

#[test]
fn the_config_flag_works_before_or_after_the_subcommand() {
    for args in [["--config", "config/demo.toml", "check"], ["check", "--config", "config/demo.toml"]] {
        let output = nudge(&args, repo());
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        assert_eq!(text(&output).trim(), "0 errors, 0 warnings in 39 lessons", "{args:?}");
    }
    let missing = nudge(&["--config", "no/such.toml", "check"], repo());
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("no/such.toml"), "{}", text(&missing));
}

#[test]
fn the_two_instance_example_configs_check_clean_and_take_updates_by_webhook() {
    for config in ["config/two-instances/a.toml", "config/two-instances/b.toml"] {
        let output = nudge(&["check", "--config", config], repo());
        assert!(output.status.success(), "{config}: {}", text(&output));
        assert_eq!(text(&output).trim(), "0 errors, 0 warnings in 39 lessons", "{config}");
        let settings = nudge::config::Settings::load(&repo().join(config)).expect("the example loads");
        assert!(matches!(settings.telegram.updates, nudge::config::UpdateMode::Webhook(_)), "{config}");
    }
}
