//! `nudge report` as admins run it: every format from a real store, the filters, privacy by
//! default, and clear refusals.

use std::path::Path;
use std::process::{Command, Output};

use nudge::report::synthetic::Workload;
use nudge::store::StorageExt;

fn nudge(args: &[&str], config: &Path) -> Output {
    let mut all = vec!["report", "--config", config.to_str().expect("UTF-8 path")];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(all)
        .env_remove("NUDGE_TELEGRAM_TOKEN")
        .env_remove("NUDGE_CONFIG")
        .envs(crate::engine::command_env(config.parent().expect("the config's directory")))
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A config over a store filled with a made-up organisation of 30 learners in three cohorts,
/// active for two weeks.
fn organisation(per_learner: bool) -> (tempfile::TempDir, std::path::PathBuf) {
    organisation_answering(per_learner, 900)
}

/// [`organisation`] with about `answers` answers in all (3000 last seven weeks).
fn organisation_answering(per_learner: bool, answers: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::engine::open_store(dir.path());
    let work = Workload::new(30, answers);
    for learner in work.learners() {
        store.with_learner(learner.id, |tx| tx.put_learner(&learner)).expect("learner");
    }
    for delivery in work.deliveries() {
        store.with_learner(delivery.learner, |tx| tx.put_delivery(&delivery)).expect("delivery");
    }
    for answer in work.answers() {
        store.with_learner(answer.learner, |tx| tx.put_answer(&answer)).expect("answer");
    }
    store.flush_blocking().expect("flush");
    drop(store);
    std::fs::create_dir_all(dir.path().join("content")).expect("content dir");
    let root = dir.path().display();
    let cohorts: String = ["sales-north", "support-emea", "product"]
        .iter()
        .map(|id| {
            format!(
                "[[cohorts]]\nid = \"{id}\"\npack = \"none\"\ninvite = \"{id}-code\"\nschedule = \"0 9 * * *\"\ntimezone = \"UTC\"\nlanguage = \"en\"\n\n"
            )
        })
        .collect();
    let config = format!(
        "{}\n[content]\ndir = \"{root}/content\"\n\n[reports]\nper_learner = {per_learner}\n\n{cohorts}",
        crate::engine::store_section(dir.path())
    );
    let path = dir.path().join("nudge.toml");
    std::fs::write(&path, config).expect("config");
    (dir, path)
}

#[test]
fn every_format_shows_the_same_cohorts_and_no_names_by_default() {
    let (_dir, config) = organisation(false);
    let table = stdout(&nudge(&[], &config));
    assert!(table.contains("sales-north") && table.contains("support-emea"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&nudge(&["--format", "json"], &config))).expect("JSON");
    let cohorts = json["cohorts"].as_array().expect("cohorts");
    assert_eq!(cohorts.len(), 3);
    assert_eq!(cohorts[0]["figures"]["totals"]["learners_enrolled"], 10);
    assert!(cohorts[0]["figures"].get("learners").is_none(), "no per-learner rows by default");
    let csv = stdout(&nudge(&["--format", "csv"], &config));
    assert!(csv.starts_with("\u{feff}Cohort,Pack,Week (ISO),Week starts (date),Active learners,"), "{csv}");
    assert!(csv.lines().any(|line| line.starts_with("sales-north,,2026-W45,2026-11-02,")), "{csv}");
    let by_lesson = stdout(&nudge(&["--format", "csv", "--by", "lesson"], &config));
    assert!(by_lesson.starts_with("\u{feff}Cohort,Pack,Lesson number,Lesson id,Lesson,"), "{by_lesson}");
    assert!(by_lesson.lines().any(|line| line.starts_with("product,,1,l01,l01,no,")), "{by_lesson}");
    let by_item = stdout(&nudge(&["--format", "csv", "--by", "item"], &config));
    assert!(by_item.starts_with("\u{feff}Cohort,Pack,Item id,Lesson,Question,Retired,"), "{by_item}");
    assert!(by_item.lines().any(|line| line.starts_with("product,,l01/")), "{by_item}");
    let html = stdout(&nudge(&["--format", "html"], &config));
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
    for text in [&table, &csv, &by_lesson, &by_item, &html] {
        assert!(!text.contains("Learner 1"), "no names anywhere");
    }
}

#[test]
fn filters_narrow_the_cohorts_and_the_period() {
    let (dir, config) = organisation(false);
    let out = dir.path().join("report.json");
    let args = ["--format", "json", "--cohort", "product", "--since", "2026-11-09", "--until", "2026-11-15"];
    let mut with_out: Vec<&str> = args.to_vec();
    with_out.extend(["--out", out.to_str().expect("UTF-8")]);
    let output = nudge(&with_out, &config);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("the file")).expect("JSON");
    assert_eq!(json["since"], "2026-11-09");
    assert_eq!(json["until"], "2026-11-15");
    let cohorts = json["cohorts"].as_array().expect("cohorts");
    assert_eq!(cohorts.len(), 1);
    assert_eq!(cohorts[0]["cohort"], "product");
    let weeks = cohorts[0]["figures"]["weeks"].as_array().expect("weeks");
    assert!(weeks.len() <= 1, "one week asked for: {weeks:?}");
}

#[test]
fn per_learner_rows_are_pseudonymous_and_stable_unless_names_are_asked_for() {
    let (_dir, config) = organisation(true);
    let by_learner = ["--format", "csv", "--by", "learner"];
    let first = stdout(&nudge(&by_learner, &config));
    let again = stdout(&nudge(&by_learner, &config));
    assert_eq!(first, again, "the same pseudonyms every time");
    assert_eq!(first.lines().count(), 31, "a header and 30 learners:\n{first}");
    assert!(!first.contains("Learner 1"), "pseudonyms, not names");
    let named = stdout(&nudge(&["--format", "csv", "--by", "learner", "--names"], &config));
    assert!(named.contains("Learner 1"), "names when asked for");
}

#[test]
fn mistakes_get_one_clear_sentence() {
    let (_dir, config) = organisation(false);
    let cases: [(&[&str], &str); 4] = [
        (&["--format", "csv", "--by", "learner"], "rows per learner need `reports.per_learner = true`"),
        (&["--cohort", "nope"], "there is no cohort `nope`"),
        (&["--names"], "reports.per_learner = true"),
        (&["--since", "2026-12-01", "--until", "2026-11-01"], "the period is empty"),
    ];
    for (args, expected) in cases {
        let output = nudge(args, &config);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_html_report_speaks_the_language_asked_for() {
    let (_dir, config) = organisation(false);
    let danish = stdout(&nudge(&["--format", "html", "--language", "da"], &config));
    assert!(danish.starts_with("<!DOCTYPE html>\n<html lang=\"da\">"), "{danish}");
    assert!(danish.contains("<h1>Engagementrapport</h1>") && danish.contains("<h2>Alle grupper</h2>"), "{danish}");
    assert!(!danish.contains("Engagement report") && !danish.contains("All cohorts"), "{danish}");
    let english = stdout(&nudge(&["--format", "html"], &config));
    assert!(english.contains("<html lang=\"en\">") && english.contains("<h1>Engagement report</h1>"));
    let refused = nudge(&["--format", "html", "--language", "fr"], &config);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("`fr` is not a language nudge speaks"));
}

/// English labels of the charts and tables that a page in another language must not show.
const ENGLISH_LABELS: [&str; 10] = [
    "Active learners",
    "Response rate",
    "First try",
    "Lesson",
    "Learners",
    "Stopped here",
    "Per ISO week",
    "Answers right",
    "Days active",
    "Where learners stop",
];

#[test]
fn the_charts_tables_and_csv_headers_speak_the_language_asked_for() {
    let (_dir, config) = organisation_answering(false, 3000);
    let expected: [(&str, &[&str]); 2] = [
        (
            "nl",
            &[
                "<title id=\"activity-0-title\">Actieve deelnemers en respons per week</title>",
                ">Goede antwoorden (%)</text>",
                "<h3>Lessen</h3>",
                "<th scope=\"col\">Les</th><th scope=\"col\">Deelnemers</th>",
                "<caption>Per ISO-week, maandag tot en met zondag (UTC)",
            ],
        ),
        (
            "da",
            &[
                "<title id=\"activity-0-title\">Aktive deltagere og svarprocent pr. uge</title>",
                ">Rigtige svar (%)</text>",
                "<h3>Lektioner</h3>",
                "<th scope=\"col\">Lektion</th><th scope=\"col\">Deltagere</th>",
                "<caption>Pr. ISO-uge, mandag til søndag (UTC)",
            ],
        ),
    ];
    for (lang, texts) in expected {
        let page = stdout(&nudge(&["--format", "html", "--language", lang], &config));
        assert!(page.matches("<svg").count() >= 6, "three weeks and more are charted: {page}");
        assert!(!page.contains("option 2"), "{lang}: an option the pack does not name\n{page}");
        for text in texts {
            assert!(page.contains(text), "{lang}: {text}\n{page}");
        }
        for english in ENGLISH_LABELS {
            assert!(!page.contains(english), "{lang}: {english}\n{page}");
        }
    }
    let english = stdout(&nudge(&["--format", "html"], &config));
    assert!(ENGLISH_LABELS.iter().all(|label| english.contains(label)), "{english}");
    let danish = stdout(&nudge(&["--format", "csv", "--language", "da"], &config));
    assert!(danish.starts_with("\u{feff}Gruppe,Pakke,Uge (ISO),Ugen begynder (dato),Aktive deltagere,"), "{danish}");
    let by_lesson = stdout(&nudge(&["--format", "csv", "--by", "lesson", "--language", "da"], &config));
    assert!(by_lesson.starts_with("\u{feff}Gruppe,Pakke,Lektionsnummer,Lektions-id,Lektion,"), "{by_lesson}");
    assert!(by_lesson.lines().any(|line| line.starts_with("product,,1,l01,l01,nej,")), "{by_lesson}");
    let table = stdout(&nudge(&["--language", "da"], &config));
    assert!(table.starts_with("Engagementrapport, ") && table.contains("\nLektioner (hvor deltagerne stopper)\n"));
    assert!(table.contains("mulighed 2") && !table.contains("option 2"), "{table}");
    for english in ["Engagement report", "learners", "first try", "Weeks", "(none yet)"] {
        assert!(!table.contains(english), "{english}\n{table}");
    }
}
