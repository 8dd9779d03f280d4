//! Operations: `/healthz` and `/metrics`, JSON logs, and a bot token that never shows up in
//! any log line or error, proven with a canary token through the real binary.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use fake_telegram::{FakeTelegram, Fault, TgUser};

use crate::helpers::{TestOptions, spawn_app_with};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_answer_on_the_configured_address() {
    let port = free_port();
    let config_extra = format!("[http]\nlisten = \"127.0.0.1:{port}\"\n");
    let app = spawn_app_with(TestOptions { config_extra, ..TestOptions::default() }).await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    app.tick_at(app.next_nudge(42)).await;
    app.messages(42, 4).await;
    app.answer_quiz(&ann, "Fewer repeat calls", "Sure").await;
    app.messages(42, 5).await;
    app.eventually("the answer is counted", |_| app.metrics.answers.get() == 1).await;

    let base = format!("http://127.0.0.1:{port}");
    let mut health = None;
    for _ in 0..50 {
        if let Ok(response) = reqwest::get(format!("{base}/healthz")).await {
            health = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let health = health.expect("/healthz answers");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\nlearners 1\npending 0\nrole active\n");
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("nudge_answers_total 1\n"), "{metrics}");
    assert!(metrics.contains("# TYPE nudge_prompts_sent_total counter"), "{metrics}");
    assert!(metrics.contains("nudge_rate_limited_total 0\n"), "{metrics}");
    assert!(metrics.contains("nudge_active 1\n"), "the only instance is the active one: {metrics}");
    app.stop().await;
}

#[test]
fn the_token_never_appears_in_logs_or_errors() {
    const CANARY: &str = "424242:CANARY-SECRET-TOKEN-dont-log-me";
    let fake = FakeTelegram::start();
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/nudge.toml"))
        .unwrap()
        .replace("https://api.telegram.org", &fake.api_url())
        .replace("data/nudge.sled", &dir.path().join("store").display().to_string())
        .replace("dir = \"content\"", &format!("dir = \"{}/content\"", env!("CARGO_MANIFEST_DIR")));
    std::fs::write(dir.path().join("nudge.toml"), config).unwrap();
    fake.random_faults(0.5, 3);
    fake.set_fault_delay(Duration::from_millis(100));
    for _ in 0..3 {
        fake.fail_next("getUpdates", Fault::ServerError(502));
    }
    fake.user_sends(&TgUser::new(5), "/start focus-2026");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["serve", "--config", "nudge.toml", "--log-format", "json"])
        .current_dir(dir.path())
        .env("NUDGE_TELEGRAM_TOKEN", CANARY)
        .env("RUST_LOG", "trace,sled=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The daemon worked through the faults: the learner was welcomed (and privacy-noticed).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while fake.sent_to(5).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fake.sent_to(5).len(), 2, "the learner was welcomed through the faults");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    child.stdout.take().unwrap().read_to_string(&mut logs).unwrap();
    let tail: Vec<&str> = logs.lines().rev().take(15).collect();
    assert!(status.success(), "the daemon stops cleanly on SIGTERM ({status}): {tail:#?}");
    assert!(logs.lines().count() > 10, "trace logging ran: {logs}");
    assert!(logs.lines().all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()), "every line is JSON");
    assert!(!logs.contains("CANARY-SECRET") && !logs.contains("424242:"), "the token leaked:\n{logs}");

    let mut unreachable = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["serve", "--config", "nudge.toml", "--log-format", "json"])
        .current_dir(dir.path())
        .env("NUDGE_TELEGRAM_TOKEN", CANARY)
        .env("NUDGE_TELEGRAM_API_URL", "http://127.0.0.1:9")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = unreachable.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok);
    let retry = lines.by_ref().find(|line| line.contains("retrying")).expect("a retry is logged");
    let _ = Command::new("kill").args(["-TERM", &unreachable.id().to_string()]).status();
    let status = unreachable.wait().unwrap();
    let rest: Vec<String> = lines.collect();
    assert!(status.success(), "SIGTERM while waiting for Telegram stops cleanly: {rest:#?}");
    assert!(retry.contains("\"attempt\":1") && retry.contains("network"), "{retry}");
    for line in std::iter::once(&retry).chain(&rest) {
        assert!(!line.contains("CANARY-SECRET") && !line.contains("424242:"), "the token leaked: {line}");
    }
}

/// The PostgreSQL URL's password through the real binary: a database that does not answer is
/// retried at start with backoff, and neither the daemon's log lines nor a command's error show
/// the password; they name host, port and database (and the user, to check it against).
#[cfg(feature = "postgres")]
#[test]
fn the_database_password_never_appears_while_postgres_cannot_be_reached() {
    const URL: &str = "postgres://nudge-user:PG-CANARY-pw@127.0.0.1:9/nudge";
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/nudge.toml"))
        .unwrap()
        .replace("path = \"data/nudge.sled\"", "backend = \"postgres\"\npath = \"store\"")
        .replace("dir = \"content\"", &format!("dir = \"{}/content\"", env!("CARGO_MANIFEST_DIR")));
    assert!(config.contains("backend = \"postgres\""), "the example config has a `[store] path` to replace");
    std::fs::write(dir.path().join("nudge.toml"), config).unwrap();
    let leaks = |line: &str| line.contains("PG-CANARY") || line.contains("postgres://");

    let mut daemon = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["serve", "--config", "nudge.toml", "--log-format", "json"])
        .current_dir(dir.path())
        .env("NUDGE_TELEGRAM_TOKEN", "1:test")
        .env("NUDGE_DATABASE_URL", URL)
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = daemon.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok);
    let mut retries = Vec::new();
    for line in lines.by_ref() {
        assert!(!leaks(&line), "the password leaked: {line}");
        if line.contains("retrying") {
            retries.push(line);
            if retries.len() == 2 {
                break;
            }
        }
    }
    let _ = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status();
    let status = daemon.wait().unwrap();
    let rest: Vec<String> = lines.collect();
    assert!(status.success(), "SIGTERM while waiting for the database stops cleanly: {rest:#?}");
    assert_eq!(retries.len(), 2, "two retries were logged before the stop: {rest:#?}");
    assert!(retries[0].contains("\"attempt\":1") && retries[1].contains("\"attempt\":2"), "{retries:#?}");
    assert!(retries[0].contains("127.0.0.1:9/nudge"), "the database is named by host and name: {}", retries[0]);
    for line in retries.iter().chain(&rest) {
        assert!(!leaks(line), "the password leaked: {line}");
    }

    let report = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["report", "--config", "nudge.toml"])
        .current_dir(dir.path())
        .env("NUDGE_DATABASE_URL", URL)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(!report.status.success());
    assert!(stderr.contains("127.0.0.1:9/nudge") && stderr.contains("cannot connect"), "{stderr}");
    assert_eq!(stderr.matches("trying again").count(), 3, "four attempts: {stderr}");
    assert!(!leaks(&stderr), "the password leaked: {stderr}");

    let without = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["report", "--config", "nudge.toml"])
        .current_dir(dir.path())
        .env_remove("NUDGE_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(
        !without.status.success() && stderr.contains("needs the environment variable NUDGE_DATABASE_URL"),
        "{stderr}"
    );
}

/// A nudge built without PostgreSQL says so by name when the config asks for it, instead of
/// trying a server it cannot talk to.
#[cfg(not(feature = "postgres"))]
#[test]
fn a_nudge_without_postgres_says_so_when_the_config_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/nudge.toml"))
        .unwrap()
        .replace("path = \"data/nudge.sled\"", "backend = \"postgres\"\npath = \"store\"")
        .replace("dir = \"content\"", &format!("dir = \"{}/content\"", env!("CARGO_MANIFEST_DIR")));
    std::fs::write(dir.path().join("nudge.toml"), config).unwrap();
    let report = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["report", "--config", "nudge.toml"])
        .current_dir(dir.path())
        .env("NUDGE_DATABASE_URL", "postgres://nudge:pw@127.0.0.1:9/nudge")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(!report.status.success());
    assert!(stderr.contains("built without PostgreSQL") && stderr.contains("--features postgres"), "{stderr}");
    assert_eq!(stderr.matches("trying again").count(), 0, "no server is tried: {stderr}");
}
