//! The control socket: `nudge backup` and `nudge learner …` while the daemon runs go through
//! it (a backup holds every answer confirmed before it began; forget says goodbye), the socket
//! is 0600 and gone after a clean stop, a stale one is replaced, and without a daemon the
//! commands open the store themselves.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_telegram::TgUser;
use nudge::domain::{AnswerKind, LearnerId};
use nudge::store::Store;

use crate::helpers::{TestOptions, WAIT, nudge, nudge_async, spawn_app, spawn_app_with};

const ANN: i64 = 424_242;
const BOB: i64 = 434_343;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Restores `backup` with `nudge restore` into a new store and returns the learners with a
/// quiz answer in it.
fn quiz_answers_in(backup: &Path, restored: &Path, config: &Path) -> Vec<i64> {
    // On PostgreSQL `restored` names a new, empty database of its own.
    let output = Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(["restore", &backup.display().to_string(), "--config", &config.display().to_string()])
        .env_remove("NUDGE_CONFIG")
        .env("NUDGE_STORE_PATH", restored.join("store"))
        .envs(crate::engine::command_env(restored))
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "nudge restore: {}", stderr(&output));
    let store = crate::engine::open_store(restored);
    store.verify().expect("the restored store reads back");
    store
        .answers()
        .map(|answer| answer.expect("an answer"))
        .filter(|answer| matches!(answer.kind, AnswerKind::Quiz { .. }))
        .map(|answer| answer.learner.get())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_taken_while_learners_answer_hold_every_confirmed_answer() {
    let app = spawn_app().await;
    let learners: Vec<TgUser> = (0..20).map(|idx| TgUser::new(7000 + idx)).collect();
    for learner in &learners {
        app.enrol(learner).await;
    }
    app.tick_at(learners.iter().map(|learner| app.next_nudge(learner.id)).max().expect("learners")).await;
    let mut quizzes = Vec::new();
    for learner in &learners {
        let sent = app.messages(learner.id, 4).await;
        let quiz = sent.iter().rev().find(|message| message.button("Fewer repeat calls").is_some()).expect("a quiz");
        let data = quiz.button("Fewer repeat calls").and_then(|button| button.callback_data.clone()).expect("data");
        quizzes.push((learner.clone(), quiz.message_id, data));
    }
    let pressed: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let (fake, presses) = (app.fake.clone(), pressed.clone());
    let presser = tokio::spawn(async move {
        for (learner, message_id, data) in quizzes {
            let update = fake.user_presses(&learner, message_id, &data);
            presses.lock().expect("presses").push((learner.id, update));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let (config, root) = (app.config_file(), app.dir.as_ref().expect("dir").path().to_owned());

    let mut checked = Vec::new();
    for round in 0..5 {
        tokio::time::sleep(Duration::from_millis(70)).await;
        let confirmed = app.fake.confirmed_update_id().unwrap_or(0);
        let must_hold: BTreeSet<i64> =
            pressed.lock().expect("presses").iter().filter(|(_, update)| *update <= confirmed).map(|p| p.0).collect();
        let file = root.join(format!("backup-{round}.jsonl"));
        let output = nudge_async(&["backup", file.to_str().expect("UTF-8")], &config).await;
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stderr(&output).contains("from the running daemon"), "{}", stderr(&output));
        let pressed_by_now: BTreeSet<i64> = pressed.lock().expect("presses").iter().map(|p| p.0).collect();

        let answered = quiz_answers_in(&file, &root.join(format!("restored-{round}")), &config);
        let answered_set: BTreeSet<i64> = answered.iter().copied().collect();
        assert_eq!(answered.len(), answered_set.len(), "one answer per press");
        let missing: Vec<_> = must_hold.difference(&answered_set).collect();
        assert!(missing.is_empty(), "backup {round} lacks confirmed answers of {missing:?}");
        assert!(answered_set.is_subset(&pressed_by_now), "backup {round} holds answers nobody gave");
        checked.push(must_hold.len());
    }
    presser.await.expect("the presses");
    let last = pressed.lock().expect("presses").last().map(|p| p.1).expect("presses");
    app.confirmed(last).await;
    let file = root.join("backup-last.jsonl");
    let output = nudge_async(&["backup", file.to_str().expect("UTF-8")], &config).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(quiz_answers_in(&file, &root.join("restored-last"), &config).len(), learners.len());
    assert!(checked.iter().any(|&n| n > 0 && n < learners.len()), "some backups ran mid-stream: {checked:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_list_export_and_forget_work_through_the_socket_while_the_daemon_runs() {
    let app = spawn_app().await;
    let (ann, bob) = (TgUser::new(ANN), TgUser::new(BOB));
    app.enrol(&ann).await;
    app.enrol(&bob).await;
    let socket = std::fs::metadata(app.socket()).expect("the control socket");
    assert!(socket.file_type().is_socket());
    assert_eq!(socket.permissions().mode() & 0o777, 0o600);
    let config = app.config_file();

    let listed = nudge_async(&["learner", "list"], &config).await;
    assert!(listed.status.success(), "{}", stderr(&listed));
    let table = stdout(&listed);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.lines().any(|line| line.starts_with(&format!("{ANN}  Learner {ANN}  desk")) && line.ends_with("active")),
        "{table}"
    );
    let json = nudge_async(&["learner", "list", "--format", "json", "--cohort", "desk"], &config).await;
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");

    let exported = nudge_async(&["learner", "export", &ANN.to_string()], &config).await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    let export: serde_json::Value = serde_json::from_slice(&exported.stdout).expect("JSON");
    assert_eq!(export["learner"]["id"], ANN);
    assert!(!export["messages"].as_array().expect("messages").is_empty());

    let forgot = nudge_async(&["learner", "forget", &ANN.to_string(), "--yes"], &config).await;
    assert!(forgot.status.success(), "{}", stderr(&forgot));
    let store = app.service.store();
    assert!(store.learner(LearnerId::new(ANN)).expect("store").is_none());
    assert!(store.export(LearnerId::new(ANN)).expect("store").messages.is_empty());
    assert_eq!(store.n_agenda(), 1, "only Bob's next nudge is left");
    let goodbye = app.fake.wait_until(WAIT, |fake| {
        fake.sent_to(ANN).iter().any(|message| message.plain_text.contains("everything I kept about you is erased"))
    });
    assert!(goodbye.await, "Ann gets the goodbye /forget sends");
    let again = nudge_async(&["learner", "forget", &ANN.to_string(), "--yes"], &config).await;
    assert!(!again.status.success());
    assert_eq!(stderr(&again).trim(), format!("error: there is nothing stored about learner {ANN}"));
    assert!(store.learner(LearnerId::new(BOB)).expect("store").is_some(), "Bob is untouched");

    let socket = app.socket();
    app.stop().await;
    assert!(!socket.exists(), "a clean stop removes the socket");
}

/// Sends `line` to the socket at `path` and returns the reply line.
fn raw_request(path: &Path, line: &str) -> serde_json::Value {
    let mut stream = UnixStream::connect(path).expect("connect");
    stream.write_all(line.as_bytes()).expect("write");
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).expect("read");
    serde_json::from_str(&reply).expect("a JSON reply")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_requests_and_other_versions_are_refused() {
    let app = spawn_app().await;
    let socket = app.socket();
    let replies = tokio::task::spawn_blocking(move || {
        [r#"{"v":1,"op":"drop_tables"}"#, r#"{"v":9,"op":"list"}"#, "hello"]
            .map(|line| raw_request(&socket, &format!("{line}\n")))
    })
    .await
    .expect("requests");
    assert!(
        replies[0]["error"].as_str().is_some_and(|e| e.starts_with("unknown request `drop_tables`")),
        "{}",
        replies[0]
    );
    assert!(replies[1]["error"].as_str().is_some_and(|e| e.contains("protocol 1, not 9")), "{}", replies[1]);
    assert!(replies[2]["error"].as_str().is_some_and(|e| e.contains("not a JSON object")), "{}", replies[2]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_daemon_the_commands_open_the_store_and_a_stale_socket_is_replaced() {
    let app = spawn_app().await;
    app.enrol(&TgUser::new(ANN)).await;
    let (config, socket) = (app.config_file(), app.socket());
    let (dir, fake) = app.stop().await;
    crate::engine::wait_for_release(dir.path());

    // A daemon that crashed leaves its socket behind: nobody answers on it.
    drop(UnixListener::bind(&socket).expect("a stale socket"));
    let listed = nudge_async(&["learner", "list"], &config).await;
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(stdout(&listed).contains(&format!("Learner {ANN}")), "{}", stdout(&listed));
    let file = dir.path().join("offline.jsonl");
    let backup = nudge_async(&["backup", file.to_str().expect("UTF-8")], &config).await;
    assert!(backup.status.success() && !stderr(&backup).contains("daemon"), "{}", stderr(&backup));

    let app = spawn_app_with(TestOptions { dir: Some(dir), fake: Some(fake), ..TestOptions::default() }).await;
    let exported = nudge_async(&["learner", "export", &ANN.to_string()], &config).await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    let mode = std::fs::metadata(&socket).expect("the new socket").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    app.stop().await;
}

#[test]
fn a_store_held_by_a_daemon_without_a_socket_is_named_in_one_sentence() {
    if crate::engine::sled_only("sled's lock") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().display();
    let config = dir.path().join("nudge.toml");
    let text = format!(
        "[telegram]\napi_url = \"http://127.0.0.1:9\"\n\n[store]\npath = \"{root}/store\"\n\n[content]\ndir = \"{root}/content\"\n\n[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"JOIN\"\nschedule = \"0 9 * * *\"\ntimezone = \"UTC\"\nlanguage = \"en\"\n"
    );
    std::fs::write(&config, text).expect("config");
    let _held = Store::open(&dir.path().join("store")).expect("the store");
    for args in [&["learner", "list"][..], &["learner", "forget", "7", "--yes"], &["backup", "out.jsonl"]] {
        let output = nudge(args, &config);
        assert!(!output.status.success());
        let message = stderr(&output);
        assert_eq!(message.trim().lines().count(), 1, "{message}");
        assert!(message.contains("is in use by a process that does not answer on"), "{message}");
        assert!(!message.contains("Os {"), "{message}");
    }
}
