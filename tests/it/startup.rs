//! Start-up when Telegram is not there yet: the daemon keeps trying with a growing wait, stops
//! promptly when asked, says so in one sentence when the token is refused, and never prints
//! the token or colour codes into a pipe.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_telegram::{FakeTelegram, Fault, TgUser};

use nudge::telegram::RetryPolicy;

use crate::helpers::{TestOptions, WAIT, spawn_app_with};

/// A token shaped like BotFather's, so both teloxide's redaction and nudge's are exercised.
const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
const SECRET: &str = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

#[tokio::test]
async fn the_daemon_keeps_trying_until_telegram_answers_and_then_starts() {
    let fake = FakeTelegram::start();
    for _ in 0..3 {
        fake.fail_next("getMe", Fault::Delay(Duration::from_secs(1)));
    }
    // A 5xx would do too, but teloxide waits 10 s after each; a call that times out is as
    // passing and quicker.
    let retry = RetryPolicy { call_timeout: Duration::from_millis(500), ..RetryPolicy::default() };
    let app = spawn_app_with(TestOptions { fake: Some(fake.clone()), retry, ..Default::default() }).await;
    let answered = fake.wait_until(WAIT, |fake| fake.stats().calls("getMe") == 4).await;
    assert!(answered, "three calls timed out, the fourth was answered: {}", fake.stats().calls("getMe"));
    let learner = TgUser::new(41);
    app.enrol(&learner).await;
    app.stop().await;
}

/// `nudge serve` from the repository, with its store in `dir` and Telegram at `api_url`.
fn serve(dir: &std::path::Path, api_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["serve", "--config", "config/nudge.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NUDGE_TELEGRAM_TOKEN", TOKEN)
        .env("NUDGE_TELEGRAM_API_URL", api_url)
        .env("NUDGE_STORE_PATH", dir.join("store"))
        .env_remove("NUDGE_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Forwards the child's stderr line by line.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits until the child exits, at most `limit`.
fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

#[test]
fn an_unreachable_telegram_is_retried_with_a_growing_wait_and_shutdown_stops_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve(dir.path(), &format!("http://{closed}"));
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !seen.iter().any(|line: &String| line.contains("attempt=2")) && Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(100)) {
            seen.push(line);
        }
    }
    let retries: Vec<&String> = seen.iter().filter(|line| line.contains("retrying")).collect();
    assert_eq!(retries.len(), 2, "{seen:#?}");
    assert!(
        retries[0].contains("WARN") && retries[0].contains("attempt=1") && retries[0].contains("delay=1s"),
        "{seen:#?}"
    );
    assert!(retries[1].contains("attempt=2") && retries[1].contains("delay=2s"), "{seen:#?}");
    let asked = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let status = exit_within(&mut child, Duration::from_secs(5)).expect("the daemon stops when asked");
    assert!(status.success(), "{status}");
    // Less than the 2 s wait it was in, with room for a busy machine to end a process.
    assert!(asked.elapsed() < Duration::from_millis(1900), "it stopped in the middle of its 2 s wait");
    seen.extend(lines.try_iter());
    let all = seen.join("\n");
    assert!(!all.contains(SECRET), "the token leaked: {all}");
    assert!(!all.contains('\u{1b}'), "colour codes in a pipe: {all}");
}

#[test]
fn a_refused_token_stops_the_start_with_one_sentence() {
    let fake = FakeTelegram::start();
    fake.fail_next("getMe", Fault::Unauthorized);
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve(dir.path(), &fake.api_url());
    let status = exit_within(&mut child, WAIT).expect("the daemon exits");
    let lines: Vec<String> = lines_of(&mut child).iter().collect();
    let errors: Vec<&String> = lines.iter().filter(|line| line.starts_with("error:")).collect();
    assert_eq!(status.code(), Some(1), "{lines:#?}");
    assert_eq!(errors.len(), 1, "{lines:#?}");
    assert!(errors[0].contains("does not accept the bot token: set NUDGE_TELEGRAM_TOKEN"), "{lines:#?}");
    assert!(!lines.iter().any(|line| line.contains("retrying") || line.contains(SECRET)), "{lines:#?}");
    assert_eq!(fake.stats().calls("getMe"), 1);
}
