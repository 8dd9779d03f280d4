//! Store safety: `nudge backup` and `nudge restore` round-trip a store exactly, a damaged
//! backup leaves the new store empty, and a damaged store stops the daemon with a clear message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fake_telegram::TgUser;

use crate::helpers::{open_sled_when_free, spawn_app};

type Dump = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>;

fn nudge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nudge"))
        .args(args)
        .env("NUDGE_TELEGRAM_TOKEN", "123456:STORE-SAFETY")
        .env_remove("NUDGE_CONFIG")
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A config whose store is `dir/<name>`.
fn config(dir: &Path, name: &str) -> PathBuf {
    let root = dir.display();
    let text = format!(
        "[telegram]\napi_url = \"http://127.0.0.1:9\"\n\n[store]\npath = \"{root}/{name}\"\n\n[content]\ndir = \"{root}/content\"\n\n[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"JOIN\"\nschedule = \"0 9 * * *\"\ntimezone = \"UTC\"\nlanguage = \"en\"\n"
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("config");
    path
}

/// Every tree, key and value of the sled database at `path`.
fn dump(path: &Path) -> Dump {
    let db = open_sled_when_free(path);
    db.tree_names()
        .into_iter()
        .map(|name| {
            let tree = db.open_tree(&name).expect("tree");
            let records = tree.iter().map(|entry| entry.expect("record")).map(|(k, v)| (k.to_vec(), v.to_vec()));
            (name.to_vec(), records.collect())
        })
        .collect()
}

/// A store with real records: learners enrolled, a slot sent, answers given.
async fn lived_in_store() -> tempfile::TempDir {
    let app = spawn_app().await;
    let (ann, bob) = (TgUser::new(41), TgUser::new(42));
    app.enrol(&ann).await;
    app.enrol(&bob).await;
    app.tick_at(app.next_nudge(41).max(app.next_nudge(42))).await;
    app.messages(41, 4).await;
    app.answer_quiz(&ann, "Fewer repeat calls", "Sure").await;
    app.messages(41, 5).await;
    app.learner_says(&ann, "Less & more <b>notes</b>");
    app.messages(41, 7).await;
    let (dir, _fake) = app.stop().await;
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_round_trip_a_store_exactly() {
    if crate::engine::sled_only("sled's trees byte for byte") {
        return;
    }
    let dir = lived_in_store().await;
    let (original, copy) = (config(dir.path(), "store"), config(dir.path(), "restored"));
    let file = dir.path().join("backup.jsonl");
    let file_arg = file.to_str().expect("UTF-8");
    let backed_up = nudge(&["backup", file_arg, "--config", original.to_str().expect("UTF-8")]);
    assert!(backed_up.status.success(), "{}", stderr(&backed_up));
    assert!(stderr(&backed_up).contains("backed up"), "{}", stderr(&backed_up));
    let text = std::fs::read_to_string(&file).expect("the backup");
    assert!(text.lines().count() > 10, "one line per record");
    assert!(text.contains("Less & more <b>notes</b>"), "values stay readable JSON");

    let restored = nudge(&["restore", file_arg, "--config", copy.to_str().expect("UTF-8")]);
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert_eq!(dump(&dir.path().join("store")), dump(&dir.path().join("restored")), "every byte comes back");

    let again = nudge(&["restore", file_arg, "--config", copy.to_str().expect("UTF-8")]);
    assert!(!again.status.success() && stderr(&again).contains("not empty"), "{}", stderr(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_backup_is_refused_and_leaves_the_new_store_empty() {
    if crate::engine::sled_only("a restore into a sled store left empty") {
        return;
    }
    let dir = lived_in_store().await;
    let original = config(dir.path(), "store");
    let file = dir.path().join("backup.jsonl");
    let file_arg = file.to_str().expect("UTF-8");
    assert!(nudge(&["backup", file_arg, "--config", original.to_str().expect("UTF-8")]).status.success());
    let text = std::fs::read_to_string(&file).expect("the backup");
    let mut lines: Vec<&str> = text.lines().collect();
    let middle = lines.len() / 2;
    let cut = &lines[middle][..lines[middle].len() / 2];
    lines[middle] = cut;
    std::fs::write(&file, lines.join("\n")).expect("damage");

    let copy = config(dir.path(), "restored");
    let output = nudge(&["restore", file_arg, "--config", copy.to_str().expect("UTF-8")]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains(&format!("line {} of the backup cannot be read", middle + 1)), "{message}");
    let left: usize = dump(&dir.path().join("restored"))
        .iter()
        .filter(|(name, _)| name.as_slice() != b"meta")
        .map(|(_, t)| t.len())
        .sum();
    assert_eq!(left, 0, "nothing half-restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_record_stops_the_daemon_with_a_clear_message() {
    if crate::engine::sled_only("a damaged sled record") {
        return;
    }
    let dir = lived_in_store().await;
    {
        let db = open_sled_when_free(&dir.path().join("store"));
        let learners = db.open_tree("learners").expect("tree");
        let (key, _) = learners.iter().next().expect("a learner").expect("record");
        learners.insert(key, &b"{\"id\": 41, \"cohort\": tru"[..]).expect("damage");
        db.flush().expect("flush");
    }
    let config = config(dir.path(), "store");
    let output = nudge(&["serve", "--config", config.to_str().expect("UTF-8")]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("is damaged") && message.contains("nudge restore"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn an_unreadable_store_stops_the_daemon_with_a_clear_message() {
    if crate::engine::sled_only("unreadable sled files") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).expect("dir");
    std::fs::write(store.join("conf"), b"\xff\x00 not a sled config \x07").expect("garbage");
    std::fs::write(store.join("db"), vec![0xA5; 4096]).expect("garbage");
    let config = config(dir.path(), "store");
    let output = nudge(&["serve", "--config", config.to_str().expect("UTF-8")]);
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains("cannot open the store at"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

/// Moving a deployment between engines: `nudge backup` from sled, `nudge restore` into an empty
/// PostgreSQL database, a backup from there is the same file byte for byte, and restoring that
/// into a new sled store gives back every byte of the first. The answers are rows a person can
/// query. Runs in the sled pass, whenever a PostgreSQL server is at hand.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_moves_from_sled_to_postgres_and_back_exactly() {
    if crate::engine::on_postgres() {
        return;
    }
    let Some(database) = nudge::store::pg::testdb::TestDb::create() else { return };
    let dir = lived_in_store().await;
    let (sled, back) = (config(dir.path(), "store"), config(dir.path(), "back"));
    let postgres = dir.path().join("postgres.toml");
    let text =
        std::fs::read_to_string(&sled).expect("config").replace("[store]\n", "[store]\nbackend = \"postgres\"\n");
    std::fs::write(&postgres, text).expect("config");
    let with_database = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nudge"))
            .args(args)
            .env_remove("NUDGE_CONFIG")
            .env("NUDGE_DATABASE_URL", &database.url)
            .output()
            .expect("the binary runs")
    };
    let (from_sled, from_postgres) = (dir.path().join("sled.jsonl"), dir.path().join("postgres.jsonl"));
    let arg = |path: &Path| path.to_str().expect("UTF-8").to_owned();

    let out = nudge(&["backup", &arg(&from_sled), "--config", &arg(&sled)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = with_database(&["restore", &arg(&from_sled), "--config", &arg(&postgres)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("into the PostgreSQL database"), "{}", stderr(&out));
    let out = with_database(&["backup", &arg(&from_postgres), "--config", &arg(&postgres)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (first, second) = (std::fs::read(&from_sled).expect("backup"), std::fs::read(&from_postgres).expect("backup"));
    assert!(first == second, "PostgreSQL gives back the sled backup byte for byte");
    let again = with_database(&["restore", &arg(&from_sled), "--config", &arg(&postgres)]);
    assert!(!again.status.success() && stderr(&again).contains("not empty"), "{}", stderr(&again));

    let out = nudge(&["restore", &arg(&from_postgres), "--config", &arg(&back)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dump(&dir.path().join("store")), dump(&dir.path().join("back")), "every byte comes back to sled");

    let url = database.url.clone();
    let quiz_answers = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("the database");
        let row = client
            .query_one("SELECT count(*) FROM answers WHERE kind = 'quiz' AND correct AND learner = 41", &[])
            .expect("the answers table");
        row.get::<_, i64>(0)
    })
    .join()
    .expect("the query");
    assert_eq!(quiz_answers, 1, "learner 41's right quiz answer is a row in `answers`");
}
