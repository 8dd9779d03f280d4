//! Tests of the sled engine: the contract every engine passes (`contract.rs`), then what is
//! sled's own: schema versions and migrations, compact records, the lock, `verify`, the running
//! counts, and the interleavings its erasure, retention and backups are built for.

use super::contract::{answer, busy_learner, delivery};
use super::*;
use crate::domain::{Answer, DeliveryState, Status};
use crate::testkit::{at, id, learner, seq};

/// A sled store in a temporary directory, opened again and again.
struct SledOpener(tempfile::TempDir);

impl SledOpener {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("a temporary directory"))
    }
}

impl contract::Opener for SledOpener {
    fn open(&self) -> Box<dyn Storage> {
        Box::new(Store::open_when_free(&self.0.path().join("store")).expect("the store opens"))
    }
}

mod sled_contract {
    crate::store::contract::store_contract!(super::SledOpener::new);
}

fn add_delivery(store: &Store, learner: LearnerId) -> DeliverySeq {
    store
        .with_learner(learner, |tx| {
            let seq = tx.next_seq()?;
            tx.put_delivery(&delivery(learner, seq))?;
            Ok(Some(seq))
        })
        .unwrap()
        .expect("the learner is not being erased")
}

#[test]
fn a_store_from_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open_when_free(&path).unwrap();
        store.set_meta(SCHEMA_KEY, &99u32).unwrap();
        store.flush_blocking().unwrap();
    }
    match Store::open_when_free(&path) {
        Err(StoreError::Schema { found: 99, expected }) => assert_eq!(expected, SCHEMA_VERSION),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("opened a store of another schema version"),
    }
}

#[test]
fn an_unreadable_record_is_reported_not_swallowed() {
    let store = Store::temporary().unwrap();
    store.learners.insert(keys::learner(LearnerId::new(5)), &b"not json"[..]).unwrap();
    assert!(matches!(store.learner(LearnerId::new(5)), Err(StoreError::Corrupt { tree: "learners", .. })));
    assert!(store.learners().any(|learner| learner.is_err()));
}

/// A store as schema 1 left it: JSON deliveries, and JSON answers in a tree of their own
/// (one of them outliving its delivery, deleted by the retention period).
fn schema_1_store(path: &Path) {
    let store = Store::open(path).unwrap();
    store.set_meta(SCHEMA_KEY, &1u32).unwrap();
    let v1_answers = store.db.open_tree("answers").unwrap();
    for learner in [1, 2].map(LearnerId::new) {
        let sent = DeliveryState::Sent { message_id: 9, at: at("2026-11-24T08:00:01Z") };
        let record = Delivery { state: sent, outgoing: None, ..delivery(learner, DeliverySeq::new(4)) };
        store.deliveries.insert(keys::delivery(learner, DeliverySeq::new(4)), encode(&record).unwrap()).unwrap();
        v1_answers
            .insert(
                keys::answer(learner, DeliverySeq::new(4), 0),
                encode(&answer(learner, DeliverySeq::new(4))).unwrap(),
            )
            .unwrap();
    }
    v1_answers
        .insert(
            keys::answer(LearnerId::new(2), DeliverySeq::new(3), 0),
            encode(&answer(LearnerId::new(2), DeliverySeq::new(3))).unwrap(),
        )
        .unwrap();
    store
        .deliveries
        .insert(
            keys::delivery(LearnerId::new(3), DeliverySeq::new(5)),
            encode(&delivery(LearnerId::new(3), DeliverySeq::new(5))).unwrap(),
        )
        .unwrap();
    store.flush_blocking().unwrap();
}

/// A temporary directory holding a schema 1 store, and the store's path.
fn schema_1_store_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    schema_1_store(&path);
    (dir, path)
}

fn migrated_answers() -> Vec<Answer> {
    vec![
        answer(LearnerId::new(1), DeliverySeq::new(4)),
        answer(LearnerId::new(2), DeliverySeq::new(3)),
        answer(LearnerId::new(2), DeliverySeq::new(4)),
    ]
}

#[test]
fn a_schema_1_store_is_migrated_to_compact_records_when_opened() {
    let (_dir, path) = schema_1_store_dir();
    let store = Store::open_when_free(&path).unwrap();
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(store.answers().collect::<Result<Vec<_>, _>>().unwrap(), migrated_answers());
    assert_eq!(
        store.delivery(LearnerId::new(3), DeliverySeq::new(5)).unwrap(),
        Some(delivery(LearnerId::new(3), DeliverySeq::new(5))),
        "a pending delivery keeps its payload"
    );
    assert_eq!(store.deliveries().count(), 3);
    assert_eq!(
        store.delivery(LearnerId::new(2), DeliverySeq::new(3)).unwrap(),
        None,
        "an answer that outlived its delivery stays alone"
    );
    let compact = store.deliveries.get(keys::delivery(LearnerId::new(1), DeliverySeq::new(4))).unwrap().unwrap();
    assert!(compact.len() < 60 && compact[0] != b'{', "{} bytes", compact.len());
    assert!(!store.db.tree_names().contains(&sled::IVec::from("answers")), "the old tree is gone");
}

#[test]
fn an_interrupted_migration_runs_again_over_records_already_rewritten() {
    let (_dir, path) = schema_1_store_dir();
    let store = Store::open_when_free(&path).unwrap();
    // As if the migration died after moving an answer but before removing it from the old tree.
    store.set_meta(SCHEMA_KEY, &1u32).unwrap();
    store
        .db
        .open_tree("answers")
        .unwrap()
        .insert(
            keys::answer(LearnerId::new(2), DeliverySeq::new(4), 0),
            encode(&answer(LearnerId::new(2), DeliverySeq::new(4))).unwrap(),
        )
        .unwrap();
    store.check_schema().unwrap();
    assert_eq!(store.answers().collect::<Result<Vec<_>, _>>().unwrap(), migrated_answers());
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
}

#[test]
fn a_damaged_record_stops_a_migration_and_leaves_the_version_alone() {
    let (_dir, path) = schema_1_store_dir();
    {
        let store = Store::open_when_free(&path).unwrap();
        store.set_meta(SCHEMA_KEY, &1u32).unwrap();
        store
            .db
            .open_tree("answers")
            .unwrap()
            .insert(keys::answer(LearnerId::new(9), DeliverySeq::new(1), 0), &b"{\"learner\": 9, \"coh"[..])
            .unwrap();
        store.flush_blocking().unwrap();
    }
    assert!(matches!(Store::open_when_free(&path), Err(StoreError::Corrupt { tree: "answers", .. })));
}

#[test]
fn a_schema_1_backup_restores_into_compact_records() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old");
    schema_1_store(&old);
    // The backup a schema 1 nudge wrote: the same lines, with the old version in the header.
    let backup = {
        let store = Store::open_when_free(&old).unwrap();
        let mut out = Vec::new();
        store.backup(&mut out).unwrap();
        String::from_utf8(out).unwrap().replacen(&format!("\"schema\":{SCHEMA_VERSION}"), "\"schema\":1", 1)
    };
    assert!(backup.starts_with("{\"nudge_backup\":1,\"schema\":1}"));
    let store = Store::open(&dir.path().join("new")).unwrap();
    store.restore(&mut backup.as_bytes()).unwrap();
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(store.answers().collect::<Result<Vec<_>, _>>().unwrap(), migrated_answers());
    assert!(backup.contains("\"item\":\"greet/quiz\""), "answers are readable JSON in a backup");
}

#[test]
fn a_damaged_compact_record_is_found_by_verify() {
    let store = Store::temporary().unwrap();
    let seq = add_delivery(&store, LearnerId::new(1));
    assert_eq!(store.verify().unwrap(), 1);
    store.deliveries.insert(keys::delivery(LearnerId::new(1), seq), &[3, b'd', b'e'][..]).unwrap();
    assert!(matches!(store.verify(), Err(StoreError::Corrupt { tree: "deliveries", .. })));
}

/// A webhook update record that cannot be read fails its claims, not silently taken, and the
/// sweep deletes it whatever its age.
#[test]
fn a_damaged_webhook_update_record_fails_its_claim_and_is_swept() {
    let store = Store::temporary().unwrap();
    let (update, now) = (crate::domain::UpdateId::new(1), at("2026-11-24T08:00:00Z"));
    store.updates.insert(updates::key(update), &[1, 2, 3][..]).unwrap();
    let claim = store.claim_update(update, now, chrono::Duration::seconds(60));
    assert!(matches!(claim, Err(StoreError::Corrupt { tree: "webhook_updates", .. })), "{claim:?}");
    assert_eq!(store.updates.get(updates::key(update)).unwrap().as_deref(), Some(&[1, 2, 3][..]), "left as it was");
    assert_eq!(store.prune_updates(now - chrono::Duration::days(1)).unwrap(), 1);
    assert_eq!(store.claim_update(update, now, chrono::Duration::seconds(60)).unwrap(), UpdateClaim::Taken);
}

/// Every key that names learner `id`, in every tree (the agenda by its learner part).
fn keys_of(store: &Store, id: LearnerId) -> Vec<(&'static str, Vec<u8>)> {
    let prefix = keys::learner(id);
    let mut found = Vec::new();
    for (name, tree) in store.trees() {
        for key in tree.iter().keys() {
            let key = key.unwrap();
            let names_learner = match name {
                "agenda" => key.get(8..16) == Some(&prefix[..]),
                "meta" => false,
                _ => key.starts_with(&prefix),
            };
            if names_learner {
                found.push((name, key.to_vec()));
            }
        }
    }
    found
}

/// sled's erasure is several steps (mark, delete by prefix, record last): a use case between
/// them writes nothing, and no key of the learner is left in any tree.
#[test]
fn a_nudge_landing_in_the_middle_of_an_erasure_writes_nothing() {
    let store = Store::temporary().unwrap();
    let next = busy_learner(&store, id(1));
    busy_learner(&store, id(2));
    assert_eq!(keys_of(&store, id(1)).len(), 8, "{:?}", keys_of(&store, id(1)));

    store
        .erase_with(LearnerId::new(1), || {
            // What `nudge_due` does for a learner: a new pending prompt, the next agenda entry.
            let sent = store
                .with_learner(LearnerId::new(1), |tx| {
                    tx.put_delivery(&delivery(LearnerId::new(1), DeliverySeq::new(6)))?;
                    tx.set_agenda(None, Some(&NextNudge { at: next.at + chrono::Duration::days(1), ..next.clone() }))?;
                    Ok(vec![DeliverySeq::new(6)])
                })
                .unwrap();
            assert_eq!(sent, Vec::<DeliverySeq>::new(), "a learner being erased gets nothing");
        })
        .unwrap();

    assert_eq!(keys_of(&store, id(1)), Vec::new(), "nothing of learner 1 is left");
    assert_eq!(keys_of(&store, id(2)).len(), 8, "the other learner is untouched");
}

#[test]
fn an_answer_written_while_retention_runs_is_kept() {
    let store = Store::temporary().unwrap();
    busy_learner(&store, LearnerId::new(1));
    let fresh = Answer { at: at("2026-12-30T10:00:00Z"), ..answer(LearnerId::new(1), DeliverySeq::new(4)) };
    let fresh = Answer {
        kind: crate::domain::AnswerKind::Quiz { choice: 0, correct: false, review: true, confidence: None },
        ..fresh
    };
    let reflect = Answer {
        kind: crate::domain::AnswerKind::Reflect { question: 1, text: "late".to_owned(), shared: false },
        ..fresh.clone()
    };
    let pruned = store
        .prune_with(at("2026-12-01T00:00:00Z"), |learner, seq| {
            if (learner, seq) == (LearnerId::new(1), DeliverySeq::new(4)) {
                store.with_learner(LearnerId::new(1), |tx| tx.put_answer(&reflect)).unwrap();
            }
        })
        .unwrap();
    assert_eq!(pruned, Pruned { answers: 1, deliveries: 1, notes: 1 }, "the old answer, the sent delivery, the note");
    let kept: Vec<Answer> = store.answers().collect::<Result<_, _>>().unwrap();
    assert_eq!(kept, vec![reflect], "the answer written meanwhile survives");
}

#[test]
fn a_schema_2_outbox_is_keyed_by_learner_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open_when_free(&path).unwrap();
        add_delivery(&store, LearnerId::new(7));
        store.outbox.clear().unwrap();
        store.outbox.insert(3u64.to_be_bytes(), &keys::learner(LearnerId::new(7))).unwrap();
        store.set_meta(SCHEMA_KEY, &2u32).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = Store::open_when_free(&path).unwrap();
    assert_eq!(store.pending().unwrap(), vec![(LearnerId::new(7), DeliverySeq::new(3))]);
    assert_eq!(store.pending_for(LearnerId::new(7)).unwrap(), vec![DeliverySeq::new(3)]);
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    store.migrate_from_v2().unwrap();
    assert_eq!(
        store.pending().unwrap(),
        vec![(LearnerId::new(7), DeliverySeq::new(3))],
        "running it again changes nothing"
    );
}

#[test]
fn a_schema_3_store_is_marked_schema_4_and_reads_as_it_was() {
    // 3 → 4 rewrites nothing; 4 → 5 finds no memory to recompute here.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let seq = {
        let store = Store::open_when_free(&path).unwrap();
        let seq = add_delivery(&store, LearnerId::new(7));
        store.set_meta(SCHEMA_KEY, &3u32).unwrap();
        store.flush_blocking().unwrap();
        seq
    };
    let store = Store::open_when_free(&path).unwrap();
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(store.delivery(LearnerId::new(7), seq).unwrap(), Some(delivery(LearnerId::new(7), seq)));
}

#[test]
fn the_running_counts_agree_with_the_trees() {
    let check = |store: &Store, what: &str| {
        let counted = (store.n_learners(), store.n_pending(), store.n_agenda());
        assert_eq!(counted, (store.learners.len(), store.outbox.len(), store.agenda.len()), "after {what}");
    };
    let store = Store::temporary().unwrap();
    busy_learner(&store, LearnerId::new(1));
    busy_learner(&store, LearnerId::new(2));
    check(&store, "two learners");
    assert_eq!((store.n_learners(), store.n_pending(), store.n_agenda()), (2, 2, 2));
    add_delivery(&store, LearnerId::new(3));
    check(&store, "a delivery without a learner");
    let sent = DeliveryState::Sent { message_id: 10, at: at("2026-11-24T08:00:02Z") };
    store.with_learner(id(1), |tx| tx.finish_delivery(seq(4), sent.clone())).unwrap();
    check(&store, "a send");
    store
        .with_learner(id(2), |tx| {
            let record = tx.learner()?.unwrap_or_else(|| learner(id(2)));
            tx.set_agenda(record.next_nudge.as_ref(), None)?;
            let status = Status::Inactive { reason: "blocked".to_owned(), since: at("2026-11-24T08:00:03Z") };
            tx.put_learner(&Learner { status, next_nudge: None, ..record })?;
            tx.finish_delivery(
                seq(4),
                DeliveryState::Failed { reason: "blocked".to_owned(), at: at("2026-11-24T08:00:03Z") },
            )
        })
        .unwrap();
    check(&store, "a deactivation");
    store.erase(LearnerId::new(1)).unwrap();
    store.erase(LearnerId::new(3)).unwrap();
    check(&store, "two erasures");
    let mut backup = Vec::new();
    busy_learner(&store, LearnerId::new(4));
    store.backup(&mut backup).unwrap();
    let restored = Store::temporary().unwrap();
    restored.restore(&mut backup.as_slice()).unwrap();
    check(&restored, "a restore");
    assert_eq!(
        restored.pending().unwrap(),
        vec![(LearnerId::new(4), DeliverySeq::new(4))],
        "the outbox is rebuilt from the pending delivery"
    );
}

/// A backup's output that stops at its first write until told to go on.
struct Gate {
    started: std::sync::mpsc::Sender<()>,
    go: std::sync::mpsc::Receiver<()>,
    out: Vec<u8>,
    held: bool,
}

impl std::io::Write for Gate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.held {
            self.held = true;
            let _ = self.started.send(());
            let _ = self.go.recv();
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_backup_reads_each_learner_at_one_moment() {
    let store = Store::temporary().unwrap();
    busy_learner(&store, LearnerId::new(1));
    let writer = std::sync::Mutex::new(None);
    let mut out = Vec::new();
    store
        .backup_with(&mut out, |id| {
            // Between reading learner 1's record and their deliveries, a use case changes both.
            let changing = store.clone();
            let handle = std::thread::spawn(move || {
                changing
                    .with_learner(id, |tx| {
                        let mut record = tx.learner()?.unwrap_or_else(|| learner(id));
                        record.name = "Changed".to_owned();
                        tx.put_learner(&record)?;
                        tx.put_delivery(&delivery(id, DeliverySeq::new(6)))
                    })
                    .unwrap()
            });
            let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
            while !handle.is_finished() && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
            assert!(!handle.is_finished(), "a write went through while the learner was being read");
            *writer.lock().unwrap() = Some(handle);
        })
        .unwrap();
    writer.lock().unwrap().take().unwrap().join().unwrap();
    let restored = Store::temporary().unwrap();
    restored.restore(&mut out.as_slice()).unwrap();
    assert_eq!(restored.learner(id(1)).unwrap().unwrap().name, learner(id(1)).name, "the record as it was");
    assert_eq!(restored.delivery(id(1), seq(6)).unwrap(), None, "and the deliveries as they were with it");
    assert_eq!(store.delivery(id(1), seq(6)).unwrap().map(|d| d.seq), Some(seq(6)), "the write happened after");
}

#[test]
fn writes_go_on_while_a_backup_runs() {
    let store = Store::temporary().unwrap();
    busy_learner(&store, LearnerId::new(1));
    let (started, backup_started) = std::sync::mpsc::channel();
    let (go, gate_go) = std::sync::mpsc::channel();
    let backing_up = store.clone();
    let backup = std::thread::spawn(move || {
        let mut gate = Gate { started, go: gate_go, out: Vec::new(), held: false };
        backing_up.backup(&mut gate).unwrap();
    });
    backup_started.recv().unwrap();
    let (done, written) = std::sync::mpsc::channel();
    let writing = store.clone();
    std::thread::spawn(move || {
        writing.with_learner(LearnerId::new(2), |tx| tx.put_learner(&learner(LearnerId::new(2)))).unwrap();
        let _ = done.send(());
    });
    let went_through = written.recv_timeout(std::time::Duration::from_secs(10));
    go.send(()).unwrap();
    backup.join().unwrap();
    assert!(went_through.is_ok(), "a write waited for the whole backup");
}

#[test]
fn a_stopped_task_or_missing_randomness_is_not_called_a_damaged_store() {
    for error in [StoreError::Task("cancelled".to_owned()), StoreError::Randomness("no entropy".to_owned())] {
        let text = error.to_string();
        assert!(!text.contains("restore a backup") && !text.contains("cannot be read"), "{text}");
    }
    assert!(StoreError::Task("cancelled".to_owned()).to_string().contains("did not finish"));
}

#[test]
fn a_store_another_handle_holds_is_reported_as_locked_without_reading_error_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let _held = Store::open(&path).unwrap();
    let again = Store::open(&path);
    assert!(matches!(again, Err(StoreError::Locked)), "{:?}", again.err());
    assert!(again.err().is_some_and(|error| error.is_locked()));
}

/// Learner 7 as a schema `schema` nudge (3 or 4: FSRS-5, `rs-fsrs` 1.2.1) left them:
/// `greet/quiz` answered right, right, wrong, right (the last rated "not sure" on schema 4),
/// with the state rs-fsrs computed and every answer kept; `greet/quiz-2` answered twice, the
/// first answer pruned by retention.
fn fsrs_5_store(path: &std::path::Path, schema: u32) {
    use crate::domain::{AnswerKind, CardState, Confidence, Memory};
    let store = Store::open_when_free(path).unwrap();
    let fsrs5 = |due: &str, stability: f64, difficulty: f64, reps: u32, lapses: u32, last: &str| Memory {
        due: at(due),
        stability,
        difficulty,
        reps,
        lapses,
        last_review: at(last),
        elapsed_days: 1,
        scheduled_days: 4,
        state: CardState::Review,
        asked: None,
    };
    let mut learner = learner(id(7));
    learner.progress.memory.insert(
        crate::testkit::item("greet/quiz"),
        fsrs5("2026-01-24T09:00:00Z", 4.312971483810743, 7.206935479956727, 4, 1, "2026-01-20T09:00:00Z"),
    );
    learner.progress.memory.insert(
        crate::testkit::item("greet/quiz-2"),
        fsrs5("2026-01-19T09:00:00Z", 11.388439207533409, 5.267035550345074, 2, 0, "2026-01-08T09:00:00Z"),
    );
    store.learners.insert(keys::learner(id(7)), encode(&learner).unwrap()).unwrap();
    let answers = [
        ("greet/quiz", "2026-01-05T09:00:00Z", true),
        ("greet/quiz", "2026-01-08T09:00:00Z", true),
        ("greet/quiz", "2026-01-19T09:00:00Z", false),
        ("greet/quiz", "2026-01-20T09:00:00Z", true),
        ("greet/quiz-2", "2026-01-08T09:05:00Z", true),
    ];
    for (idx, (item, when, correct)) in answers.into_iter().enumerate() {
        let seq = seq(idx as u64 + 1);
        let answer = Answer {
            item: crate::testkit::item(item),
            at: at(when),
            kind: AnswerKind::Quiz {
                choice: 0,
                correct,
                review: idx > 0,
                confidence: (schema == 4 && idx == 3).then_some(Confidence::NotSure),
            },
            ..answer(id(7), seq)
        };
        store.change_exchange(&keys::delivery(id(7), seq), |exchange| exchange.put_answer(answer)).unwrap();
    }
    store.set_meta(SCHEMA_KEY, &schema).unwrap();
    store.flush_blocking().unwrap();
}

#[test]
fn a_schema_4_store_gets_fsrs_6_states_from_the_answers_it_kept_confidence_included() {
    use crate::engine::srs::{Grade, Parameters, state_after};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    fsrs_5_store(&path, 4);
    let store = Store::open_when_free(&path).unwrap();
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    let whole = store.learner(id(7)).unwrap().unwrap().progress.memory[&crate::testkit::item("greet/quiz")].clone();
    let history = [
        (at("2026-01-05T09:00:00Z"), Grade::Good),
        (at("2026-01-08T09:00:00Z"), Grade::Good),
        (at("2026-01-19T09:00:00Z"), Grade::Again),
        (at("2026-01-20T09:00:00Z"), Grade::Hard),
    ];
    assert_eq!(Some((whole.stability, whole.difficulty)), state_after(&history, &Parameters::default()));
}

#[test]
fn a_schema_3_store_gets_fsrs_6_states_from_the_answers_it_kept() {
    use crate::engine::srs::{Grade, Parameters, Scheduler, state_after};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    fsrs_5_store(&path, 3);
    let store = Store::open_when_free(&path).unwrap();
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    let learner = store.learner(id(7)).unwrap().unwrap();
    let [whole, pruned] =
        ["greet/quiz", "greet/quiz-2"].map(|item| learner.progress.memory[&crate::testkit::item(item)].clone());

    let history = [
        (at("2026-01-05T09:00:00Z"), Grade::Good),
        (at("2026-01-08T09:00:00Z"), Grade::Good),
        (at("2026-01-19T09:00:00Z"), Grade::Again),
        (at("2026-01-20T09:00:00Z"), Grade::Good),
    ];
    let fsrs6 = state_after(&history, &Parameters::default()).unwrap();
    assert_eq!((whole.stability, whole.difficulty), fsrs6, "FSRS-6's state after the same four answers");
    assert_ne!((whole.stability, whole.difficulty), (4.312971483810743, 7.206935479956727));
    assert_eq!((whole.due, whole.reps, whole.lapses), (at("2026-01-24T09:00:00Z"), 4, 1), "the rest stays");
    let kept =
        (pruned.stability - 11.388439207533409).abs() < 1e-9 && (pruned.difficulty - 5.267035550345074).abs() < 1e-9;
    assert!(kept, "kept, as an answer is gone: {pruned:?}");

    // The next review goes on from there with FSRS-6.
    let next = Scheduler::default().review(Some(&whole), Grade::Good, whole.due);
    assert!(next.stability > whole.stability && next.due > whole.due + chrono::Duration::days(4), "{next:?}");
    drop(store);
    let again = Store::open_when_free(&path).unwrap();
    assert_eq!(again.learner(id(7)).unwrap().unwrap(), learner, "opened again, nothing changes");
}
