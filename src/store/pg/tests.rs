//! Tests of the PostgreSQL engine on a real server (`NUDGE_TEST_DATABASE_URL`, a fresh database
//! each): the contract every engine passes, then what is PostgreSQL's own: migrations and the
//! schema version, the constraints, erasure seen from SQL, backups across engines, secrets.

use super::testdb::{self, TestDb};
use super::*;
use crate::store::contract::{self, busy_lead, busy_learner};
use crate::store::{StorageExt, Store};
use crate::testkit::{at, id};

/// A database of its own, connected again and again.
struct PgOpener(TestDb);

impl PgOpener {
    fn new() -> Self {
        Self(TestDb::create().expect("a test server (checked by skip_unless)"))
    }
}

impl contract::Opener for PgOpener {
    fn open(&self) -> Box<dyn Storage> {
        Box::new(PgStore::connect(&self.0.url).expect("the database connects"))
    }
}

/// True when a test server is configured (one loud line on stderr when not).
fn server_configured() -> bool {
    testdb::server().is_some()
}

mod pg_contract {
    crate::store::contract::store_contract!(super::PgOpener::new, skip_unless: super::server_configured);
}

/// A raw client on the test database, off any tokio runtime (the tests are plain threads).
fn sql(db: &TestDb) -> postgres::Client {
    postgres::Client::connect(&db.url, postgres::NoTls).expect("a raw connection")
}

#[test]
fn a_database_of_a_newer_schema_is_refused_with_a_sentence() {
    let Some(db) = TestDb::create() else { return };
    drop(PgStore::connect(&db.url).expect("first connect"));
    sql(&db).execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')", &[]).expect("insert");
    let error = PgStore::connect(&db.url).err().expect("refused");
    assert!(matches!(error, StoreError::DatabaseSchema { found: 99, known: SCHEMA_VERSION_KNOWN }), "{error:?}");
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

const SCHEMA_VERSION_KNOWN: u32 = SCHEMA_VERSION as u32;

#[test]
fn migrations_are_applied_once_and_a_reconnect_changes_nothing() {
    let Some(db) = TestDb::create() else { return };
    let store = PgStore::connect(&db.url).expect("connect");
    store.set_update_offset(7).expect("offset");
    drop(store);
    let store = PgStore::connect(&db.url).expect("reconnect");
    assert_eq!(store.update_offset().expect("offset"), 7, "nothing was dropped or made again");
    let rows = sql(&db).query("SELECT version, name FROM schema_migrations ORDER BY version", &[]).expect("query");
    let applied: Vec<(i32, String)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(applied, vec![(1, "init".to_owned()), (2, "webhook_updates".to_owned())]);
}

#[test]
fn a_database_of_schema_1_gets_the_webhook_table_at_connect() {
    let Some(db) = TestDb::create() else { return };
    let mut client = sql(&db);
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (
                 version    integer     PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );
             INSERT INTO schema_migrations (version, name) VALUES (1, 'init');",
        )
        .expect("the bookkeeping of schema 1");
    client.batch_execute(include_str!("../../../migrations/postgres/0001_init.sql")).expect("schema 1");
    client.execute("INSERT INTO update_offset (value) VALUES (5)", &[]).expect("a record of schema 1");
    let store = PgStore::connect(&db.url).expect("connect");
    let latest: i32 = client.query_one("SELECT max(version) FROM schema_migrations", &[]).expect("version").get(0);
    assert_eq!((latest, store.update_offset().expect("offset")), (2, 5), "migrated, nothing lost");
    let claim =
        store.claim_update(crate::domain::UpdateId::new(1), at("2026-11-24T08:00:00Z"), chrono::Duration::seconds(60));
    assert_eq!(claim.expect("claim"), crate::store::UpdateClaim::Taken);
}

/// Two instances behind a load balancer, each with its own connections to one database, both
/// handed each of 100 new updates at once: one takes it, the other is told it is busy.
#[test]
fn two_instances_sharing_a_database_take_each_update_once() {
    use crate::store::UpdateClaim::{Busy, Taken};
    let Some(db) = TestDb::create() else { return };
    let instances = [PgStore::connect(&db.url).expect("first"), PgStore::connect(&db.url).expect("second")];
    let barrier = std::sync::Barrier::new(2);
    let (now, expiry) = (at("2026-11-24T08:00:00Z"), chrono::Duration::seconds(60));
    let race = |store: &PgStore| -> Vec<crate::store::UpdateClaim> {
        (1..=100)
            .map(|update| {
                barrier.wait();
                store.claim_update(crate::domain::UpdateId::new(update), now, expiry).expect("claim")
            })
            .collect()
    };
    let [first, second] = std::thread::scope(|scope| {
        instances.each_ref().map(|store| scope.spawn(move || race(store))).map(|handle| handle.join().expect("joined"))
    });
    let pairs: Vec<_> =
        first.iter().zip(&second).filter(|pair| !matches!(pair, (Taken, Busy) | (Busy, Taken))).collect();
    assert_eq!(pairs, Vec::<(&_, &_)>::new(), "one instance took each update");
}

#[test]
fn two_processes_connecting_at_once_both_find_the_schema() {
    let Some(db) = TestDb::create() else { return };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3).map(|_| scope.spawn(|| PgStore::connect(&db.url).map(drop))).collect();
        for handle in handles {
            handle.join().expect("joined").expect("connected");
        }
    });
}

#[test]
fn the_database_refuses_a_second_claim_of_a_slot() {
    let Some(db) = TestDb::create() else { return };
    drop(PgStore::connect(&db.url).expect("connect"));
    let mut client = sql(&db);
    let insert = "INSERT INTO slot_claims (learner, cohort, slot_key, claimed_at, record)
                  VALUES (1, 'desk', '2026-11-24T09:00:00', now(), '\"2026-11-24T08:00:00Z\"')";
    client.execute(insert, &[]).expect("the first claim");
    let error = client.execute(insert, &[]).expect_err("a second claim is refused");
    assert_eq!(error.code(), Some(&postgres::error::SqlState::UNIQUE_VIOLATION), "{error}");
}

#[test]
fn an_erased_learner_is_in_no_row_of_any_table() {
    let Some(db) = TestDb::create() else { return };
    let store = PgStore::connect(&db.url).expect("connect");
    busy_learner(&store, id(1));
    busy_learner(&store, id(2));
    busy_lead(&store, id(3));
    let secret_text = "my very private reflection";
    store
        .with_learner(id(1), |tx| {
            let mut answer = contract::answer(id(1), crate::testkit::seq(5));
            answer.kind =
                crate::domain::AnswerKind::Reflect { question: 1, text: secret_text.to_owned(), shared: false };
            tx.put_answer(&answer)
        })
        .expect("a reflection");
    let mut client = sql(&db);
    assert!(mentions(&mut client, &["Learner1", secret_text]) > 0, "the probe finds the learner before");

    store.erase(id(1)).expect("erased");
    store.erase(id(3)).expect("lead erased");
    assert_eq!(mentions(&mut client, &["Learner1", secret_text, "Lead3", "what 1 did"]), 0);
    assert_eq!(rows_naming(&mut client, &[1, 3]), Vec::<String>::new());
    assert!(mentions(&mut client, &["Learner2"]) > 0, "the other learner stays");
}

/// Every table of the schema, by name.
fn tables(client: &mut postgres::Client) -> Vec<String> {
    let rows = client
        .query(
            "SELECT table_name FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .expect("tables");
    rows.iter().map(|row| row.get(0)).collect()
}

/// How many rows of any table hold one of `needles` anywhere in their text.
fn mentions(client: &mut postgres::Client, needles: &[&str]) -> i64 {
    let mut found = 0;
    for table in tables(client) {
        for needle in needles {
            let sql = format!("SELECT count(*) FROM {table} AS t WHERE strpos(t::text, $1) > 0");
            found += client.query_one(&sql, &[needle]).expect("scan").get::<_, i64>(0);
        }
    }
    found
}

/// The tables with a row whose learner-naming column (`learner`, `id`) is one of `ids`.
fn rows_naming(client: &mut postgres::Client, ids: &[i64]) -> Vec<String> {
    let mut named = Vec::new();
    for table in tables(client) {
        let columns = client
            .query(
                "SELECT column_name FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name IN ('learner', 'id')",
                &[&table],
            )
            .expect("columns");
        for column in columns.iter().map(|row| row.get::<_, String>(0)) {
            let sql = format!("SELECT count(*) FROM {table} WHERE {column} = ANY($1)");
            if client.query_one(&sql, &[&ids]).expect("scan").get::<_, i64>(0) > 0 {
                named.push(table.clone());
            }
        }
    }
    named
}

/// A store of each engine's with every kind of record.
fn fill(store: &dyn Storage) {
    busy_learner(store, id(1));
    busy_learner(store, id(2));
    busy_lead(store, id(3));
    store.set_update_offset(42).expect("offset");
    store.report_key().expect("key");
    let tuning = crate::domain::PackTuning {
        weights: Some(vec![0.25; 21]),
        fitted_on: 1_200,
        reviews: 2_500,
        at: at("2026-11-30T03:00:00Z"),
    };
    store.put_tuning("customer-focus", &tuning).expect("tuning");
    let state = crate::domain::CohortState { last_digest: Some(at("2026-11-30T07:00:00Z")), ..Default::default() };
    store.put_cohort_state("desk", &state).expect("cohort");
}

fn backup_of(store: &dyn Storage) -> Vec<u8> {
    let mut out = Vec::new();
    store.backup(&mut out).expect("backup");
    out
}

#[test]
fn a_sled_backup_restored_into_postgres_backs_up_byte_for_byte() {
    let Some(db) = TestDb::create() else { return };
    let sled = Store::temporary().expect("sled");
    fill(&sled);
    let from_sled = backup_of(&sled);
    let pg = PgStore::connect(&db.url).expect("connect");
    let records = pg.restore(&mut from_sled.as_slice()).expect("restored");
    assert_eq!(records, from_sled.split(|&byte| byte == b'\n').filter(|line| !line.is_empty()).count() - 1);
    let from_pg = backup_of(&pg);
    assert_eq!(String::from_utf8_lossy(&from_pg), String::from_utf8_lossy(&from_sled));
    assert_eq!(pg.verify().expect("verify"), sled.verify().expect("verify"));
}

#[test]
fn a_postgres_backup_restored_into_sled_backs_up_byte_for_byte() {
    let Some(db) = TestDb::create() else { return };
    let pg = PgStore::connect(&db.url).expect("connect");
    fill(&pg);
    let from_pg = backup_of(&pg);
    let sled = Store::temporary().expect("sled");
    sled.restore(&mut from_pg.as_slice()).expect("restored");
    assert_eq!(String::from_utf8_lossy(&backup_of(&sled)), String::from_utf8_lossy(&from_pg));
}

#[test]
fn a_damaged_backup_leaves_the_database_empty() {
    let Some(db) = TestDb::create() else { return };
    let sled = Store::temporary().expect("sled");
    fill(&sled);
    let mut text = backup_of(&sled);
    text.extend_from_slice(b"{\"tree\":\"nonsense\",\"key\":\"00\",\"value\":1}\n");
    let pg = PgStore::connect(&db.url).expect("connect");
    assert!(pg.restore(&mut text.as_slice()).is_err());
    assert_eq!((pg.n_learners(), pg.n_pending(), pg.n_agenda()), (0, 0, 0));
    assert_eq!(pg.leads().count() + pg.exchanges().count(), 0, "nothing of it stayed");
}

#[test]
fn a_password_is_never_in_a_connection_error() {
    let Some(server) = testdb::server() else { return };
    let password = "s3cr3t-PASSWORD-xyz";
    // The server answers (its database is missing) while the URL holds the password; the test
    // server trusts its users, so a wrong password alone would be let in.
    let missing = server.replacen("nudge@", &format!("nudge:{password}@"), 1);
    let missing =
        format!("{}/no_such_database_{password}", missing.rsplit_once('/').map_or(&*missing, |(head, _)| head));
    let refused = PgStore::connect(&missing).err().expect("the database is missing");
    // And no server at all.
    let unreachable = format!("postgres://nudge:{password}@127.0.0.1:1/postgres?connect_timeout=2");
    let absent = PgStore::connect(&unreachable).err().expect("no server there");
    for error in [refused, absent] {
        let text = format!("{error} | {error:?}");
        assert!(!text.contains(password), "{text}");
        assert!(text.contains("cannot connect to PostgreSQL at 127.0.0.1:"), "the sentence names the server: {text}");
    }
}

#[test]
fn a_pass_over_every_exchange_pages_through_them_in_order() {
    let Some(db) = TestDb::create() else { return };
    let store = PgStore::connect(&db.url).expect("connect");
    let per_learner = 1_100;
    for learner in [id(1), id(2)] {
        store
            .with_learner(learner, |tx| {
                for number in 1..=per_learner {
                    tx.put_delivery(&contract::delivery(learner, crate::testkit::seq(number)))?;
                }
                tx.put_answer(&contract::answer(learner, crate::testkit::seq(per_learner)))
            })
            .expect("deliveries");
    }
    let exchanges: Vec<Exchange> = store.exchanges().collect::<Result<_, _>>().expect("exchanges");
    let keys: Vec<(LearnerId, u64)> =
        exchanges.iter().filter_map(|e| e.delivery.as_ref()).map(|d| (d.learner, d.seq.get())).collect();
    let expected: Vec<(LearnerId, u64)> =
        [id(1), id(2)].into_iter().flat_map(|learner| (1..=per_learner).map(move |n| (learner, n))).collect();
    assert_eq!(keys, expected);
    assert_eq!(store.answers().count(), 2, "each answer with its delivery, once");
    assert_eq!(store.n_pending(), 2 * per_learner as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_serves_tokio_workers_without_blocking_a_runtime() {
    let Some(db) = TestDb::create() else { return };
    let store = std::sync::Arc::new(PgStore::connect(&db.url).expect("connect"));
    let tasks: Vec<_> = (1..=4)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { busy_learner(&*store, id(n)) })
        })
        .collect();
    for task in tasks {
        task.await.expect("a task");
    }
    assert_eq!(store.n_learners(), 4);
    store.flush().await.expect("flush");
}

#[tokio::test]
async fn the_store_serves_a_current_thread_runtime() {
    let Some(db) = TestDb::create() else { return };
    let store = PgStore::connect(&db.url).expect("connect");
    busy_learner(&store, id(1));
    assert_eq!(store.pending().expect("pending").len(), 1);
}

#[test]
fn a_sled_message_id_whose_delivery_is_gone_is_left_out_of_a_restore() {
    let Some(db) = TestDb::create() else { return };
    let sled = Store::temporary().expect("sled");
    fill(&sled);
    let mut text = backup_of(&sled);
    let hex = |bytes: &[u8]| bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>();
    let key = hex(&crate::store::keys::message(id(1), 99));
    let line = format!("{{\"tree\":\"messages\",\"key\":\"{key}\",\"raw\":\"{}\"}}\n", hex(&77u64.to_be_bytes()));
    text.extend_from_slice(line.as_bytes());
    let pg = PgStore::connect(&db.url).expect("connect");
    pg.restore(&mut text.as_slice()).expect("restored without the dangling id");
    let found = pg.with_learner(id(1), |tx| Ok(tx.delivery_of_message(99)?.is_some())).expect("read");
    assert!(!found);
    assert_eq!(pg.n_learners(), 2);
}

#[test]
fn a_serialization_failure_runs_the_transaction_again() {
    let Some(db) = TestDb::create() else { return };
    let store = PgStore::connect(&db.url).expect("connect");
    // A trigger that fails the first write with SQLSTATE 40001, as a conflict would (the
    // sequence is not rolled back, so the second attempt passes).
    sql(&db)
        .batch_execute(
            "CREATE SEQUENCE attempts;
             CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF nextval('attempts') = 1 THEN
                     RAISE EXCEPTION 'try again' USING ERRCODE = '40001';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER fail_once BEFORE INSERT ON learners FOR EACH ROW EXECUTE FUNCTION fail_once();",
        )
        .expect("the trigger");
    let runs = std::cell::Cell::new(0);
    store
        .with_learner(id(1), |tx| {
            runs.set(runs.get() + 1);
            tx.put_learner(&crate::testkit::learner(id(1)))
        })
        .expect("the second attempt commits");
    assert_eq!(runs.get(), 2);
    assert_eq!(store.n_learners(), 1);
}

/// A sled store whose learner 1 has more deliveries, answers and message ids than a batch.
fn filled_past_a_batch() -> Store {
    let sled = Store::temporary().expect("sled");
    fill(&sled);
    let learner = id(1);
    sled.with_learner(learner, |tx| {
        for number in 100..100 + super::batch::BATCH_ROWS as u64 + 10 {
            tx.put_delivery(&contract::delivery(learner, crate::testkit::seq(number)))?;
            tx.put_answer(&contract::answer(learner, crate::testkit::seq(number)))?;
            if number % 2 == 0 {
                let sent =
                    crate::domain::DeliveryState::Sent { message_id: number as i64, at: at("2026-11-24T08:01:00Z") };
                tx.finish_delivery(crate::testkit::seq(number), sent)?;
            }
        }
        Ok(())
    })
    .expect("many deliveries");
    sled
}

#[test]
fn a_backup_of_more_records_than_a_batch_restores_byte_for_byte() {
    let Some(db) = TestDb::create() else { return };
    let sled = filled_past_a_batch();
    let from_sled = backup_of(&sled);
    let pg = PgStore::connect(&db.url).expect("connect");
    pg.restore(&mut from_sled.as_slice()).expect("restored");
    assert_eq!(String::from_utf8_lossy(&backup_of(&pg)), String::from_utf8_lossy(&from_sled));
    assert_eq!(pg.n_pending(), sled.n_pending());
    let next = std::cell::Cell::new(0);
    pg.with_learner(id(9), |tx| {
        next.set(tx.next_seq()?.get());
        Ok(())
    })
    .expect("a number");
    assert_eq!(next.get(), 100 + super::batch::BATCH_ROWS as u64 + 10, "past the last restored");
}

#[test]
fn records_out_of_order_or_twice_restore_as_into_sled() {
    let Some(db) = TestDb::create() else { return };
    let sled = Store::temporary().expect("sled");
    fill(&sled);
    let text = String::from_utf8(backup_of(&sled)).expect("text");
    let (header, body) = text.split_once('\n').expect("a header");
    // Every tree backwards (message ids after their deliveries, as a backup has them), and the
    // first learner again at the end, renamed: the last of a record wins.
    let (messages, mut lines): (Vec<&str>, Vec<&str>) =
        body.lines().rev().partition(|line| line.starts_with("{\"tree\":\"messages\""));
    lines.extend(messages);
    let learner = body.lines().find(|line| line.starts_with("{\"tree\":\"learners\"")).expect("a learner");
    let renamed = learner.replacen("\"name\":\"", "\"name\":\"Renamed ", 1);
    assert_ne!(renamed, learner);
    let shuffled = format!("{header}\n{}\n{renamed}\n", lines.join("\n"));
    let sled = Store::temporary().expect("sled");
    sled.restore(&mut shuffled.as_bytes()).expect("into sled");
    let pg = PgStore::connect(&db.url).expect("connect");
    pg.restore(&mut shuffled.as_bytes()).expect("into postgres");
    assert_eq!(String::from_utf8_lossy(&backup_of(&pg)), String::from_utf8_lossy(&backup_of(&sled)));
}

#[test]
fn a_restore_into_a_database_with_records_is_refused_and_changes_nothing() {
    let Some(db) = TestDb::create() else { return };
    let pg = PgStore::connect(&db.url).expect("connect");
    busy_learner(&pg, id(7));
    let before = backup_of(&pg);
    let sled = Store::temporary().expect("sled");
    fill(&sled);
    let error = pg.restore(&mut backup_of(&sled).as_slice()).expect_err("refused");
    assert!(matches!(error, BackupError::NotEmpty), "{error:?}");
    assert_eq!(backup_of(&pg), before);
}

#[test]
fn a_session_connected_again_prepares_its_statements_again() {
    let Some(db) = TestDb::create() else { return };
    let store = PgStore::connect(&db.url).expect("connect");
    busy_learner(&store, id(1));
    assert!(store.learner(id(1)).expect("read").is_some(), "the statements are prepared");
    sql(&db)
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .expect("the sessions end");
    // The first use of a lost session fails; the session made in its place works.
    let reads: Vec<bool> = (0..2 * CONNECTIONS).map(|_| store.learner(id(1)).is_ok_and(|l| l.is_some())).collect();
    assert!(reads[CONNECTIONS..].iter().all(|&ok| ok), "{reads:?}");
}

#[test]
fn a_write_the_server_refuses_fails_its_transaction_and_keeps_none_of_it() {
    let Some(db) = TestDb::create() else { return };
    let store = PgStore::connect(&db.url).expect("connect");
    // Writes are held back until the commit; the server refusing the last one must still fail
    // the whole transaction, keep none of its writes, and leave every session usable.
    sql(&db)
        .batch_execute(
            "CREATE FUNCTION refuse_answers() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 RAISE EXCEPTION 'answers are refused here' USING ERRCODE = '23514';
             END $$;
             CREATE TRIGGER refuse_answers BEFORE INSERT ON answers FOR EACH ROW EXECUTE FUNCTION refuse_answers();",
        )
        .expect("the trigger");
    let error = store
        .with_learner(id(1), |tx| {
            tx.put_learner(&crate::testkit::learner(id(1)))?;
            tx.put_delivery(&contract::delivery(id(1), crate::testkit::seq(4)))?;
            tx.put_answer(&contract::answer(id(1), crate::testkit::seq(4)))
        })
        .expect_err("the refused answer fails the transaction");
    assert!(error.to_string().contains("answers are refused here"), "{error}");
    assert_eq!((store.n_learners(), store.n_pending()), (0, 0), "nothing of it was kept");
    sql(&db).batch_execute("DROP TRIGGER refuse_answers ON answers").expect("drop the trigger");
    for learner in 1..=2 * CONNECTIONS as i64 {
        busy_learner(&store, id(learner));
    }
    assert_eq!(store.n_learners(), 2 * CONNECTIONS);
}

/// Runs `work` on a runtime of its own, as the poller's lease runs on the daemon's.
fn on_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(work)
}

/// Asks for `lease` every 20 ms for up to 2 s; whether it was taken.
async fn taken_within_two_seconds(lease: &mut dyn crate::store::lease::Lease) -> bool {
    for _ in 0..100 {
        if lease.take().await.expect("asked") {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

#[test]
fn one_instance_holds_the_active_lease_and_another_takes_it_when_the_holder_lets_go() {
    let Some(db) = TestDb::create() else { return };
    let (first, second) = (PgStore::connect(&db.url).expect("first"), PgStore::connect(&db.url).expect("second"));
    on_runtime(async {
        let mut holder = first.active_lease();
        let mut standby = second.active_lease();
        assert!(holder.take().await.expect("asked"), "a free lease is taken");
        assert!(holder.take().await.expect("asked"), "and still held at the next check");
        assert!(!standby.take().await.expect("asked"), "a held lease is refused");
        assert!(!standby.take().await.expect("asked"), "and refused again");
        drop(holder);
        let taken = taken_within_two_seconds(standby.as_mut()).await;
        assert!(taken, "the standby takes the lease once the holder's connection ends");
    });
}

#[test]
fn a_holder_whose_session_the_server_ended_finds_out_and_stands_by() {
    let Some(db) = TestDb::create() else { return };
    let (first, second) = (PgStore::connect(&db.url).expect("first"), PgStore::connect(&db.url).expect("second"));
    on_runtime(async {
        let mut holder = first.active_lease();
        let mut standby = second.active_lease();
        assert!(holder.take().await.expect("asked"));
        let db_url = db.url.clone();
        let ended = tokio::task::spawn_blocking(move || {
            let terminate = "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = 'nudge active lease' AND datname = current_database()) t";
            sql_at(&db_url).query_one(terminate, &[]).expect("terminate").get::<_, i64>(0)
        })
        .await
        .expect("the terminating thread");
        assert_eq!(ended, 1, "one session held the lease");
        let taken = taken_within_two_seconds(standby.as_mut()).await;
        assert!(taken, "the standby takes the lease the server let go of");
        assert!(!holder.take().await.expect("asked"), "the old holder checks, finds it gone, and stands by");
    });
}

/// A raw client on `url`.
fn sql_at(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("a raw connection")
}
