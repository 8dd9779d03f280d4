use super::*;
use crate::model::{DeliveryState, OutMessage, Outgoing, Purpose};
use crate::testkit::{at, learner};

fn delivery(learner: LearnerId, seq: DeliverySeq) -> Delivery {
    Delivery {
        seq,
        learner,
        cohort: "desk".to_owned(),
        created: at("2026-11-24T08:00:00Z"),
        slot: None,
        purpose: Purpose::Reply,
        state: DeliveryState::Pending,
        outgoing: Some(Outgoing::Send { message: OutMessage { html: "hi".to_owned(), buttons: Vec::new() } }),
    }
}

fn add_delivery(store: &Store, learner: LearnerId) -> DeliverySeq {
    store
        .with_learner(learner, |tx| {
            let seq = tx.next_seq()?;
            tx.put_delivery(&delivery(learner, seq))?;
            Ok(seq)
        })
        .unwrap()
}

#[test]
fn a_slot_can_be_claimed_once_per_learner() {
    let store = Store::temporary().unwrap();
    let claim = |id| {
        store.with_learner(id, |tx| tx.claim_slot("desk", "2026-11-24T09:00:00", at("2026-11-24T08:00:00Z"))).unwrap()
    };
    assert!(claim(1));
    assert!(!claim(1));
    assert!(claim(2), "another learner has their own claim");
}

#[test]
fn pending_deliveries_leave_the_outbox_when_sent() {
    let store = Store::temporary().unwrap();
    let first = add_delivery(&store, 1);
    let second = add_delivery(&store, 1);
    assert_eq!(store.pending().unwrap(), vec![(1, first), (1, second)]);
    store.mark_sent(1, first, 77, at("2026-11-24T08:00:01Z")).unwrap();
    assert_eq!(store.pending().unwrap(), vec![(1, second)]);
    let sent = store.delivery(1, first).unwrap().unwrap();
    assert!(matches!(sent.state, DeliveryState::Sent { message_id: 77, .. }));
    assert!(sent.outgoing.is_none(), "the payload is dropped once sent");
}

#[test]
fn deactivating_fails_what_is_pending_for_that_learner_only() {
    let store = Store::temporary().unwrap();
    store.with_learner(1, |tx| tx.put_learner(&learner(1))).unwrap();
    let mine = add_delivery(&store, 1);
    let other = add_delivery(&store, 2);
    let failed = store.deactivate(1, "blocked", at("2026-11-24T08:00:00Z")).unwrap();
    assert_eq!(failed, vec![mine]);
    assert_eq!(store.pending().unwrap(), vec![(2, other)]);
    assert!(matches!(store.learner(1).unwrap().unwrap().status, Status::Inactive { .. }));
}

#[test]
fn a_store_from_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open(&path).unwrap();
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
    store.learners.insert(keys::learner(5), &b"not json"[..]).unwrap();
    assert!(matches!(store.learner(5), Err(StoreError::Corrupt { tree: "learners", .. })));
    assert!(store.learners().any(|learner| learner.is_err()));
}

#[test]
fn writes_survive_reopening_after_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let store = Store::open(&path).unwrap();
        store.with_learner(3, |tx| tx.put_learner(&learner(3))).unwrap();
        store.set_update_offset(42).unwrap();
        store.flush_blocking().unwrap();
    }
    let store = Store::open_when_free(&path).unwrap();
    assert_eq!(store.learner(3).unwrap().unwrap().id, 3);
    assert_eq!(store.update_offset().unwrap(), 42);
}

fn answer(learner: LearnerId, delivery: DeliverySeq) -> Answer {
    Answer {
        learner,
        cohort: "desk".to_owned(),
        delivery,
        item: "greet/quiz".to_owned(),
        at: at("2026-11-24T08:03:00Z"),
        prompt_sent_at: Some(at("2026-11-24T08:00:01Z")),
        kind: crate::model::AnswerKind::Quiz { choice: 1, correct: true, review: false },
    }
}

/// A store as schema 1 left it: JSON deliveries, and JSON answers in a tree of their own
/// (one of them outliving its delivery, deleted by the retention period).
fn schema_1_store(path: &Path) {
    let store = Store::open(path).unwrap();
    store.set_meta(SCHEMA_KEY, &1u32).unwrap();
    let v1_answers = store.db.open_tree("answers").unwrap();
    for learner in [1, 2] {
        let sent = DeliveryState::Sent { message_id: 9, at: at("2026-11-24T08:00:01Z") };
        let record = Delivery { state: sent, outgoing: None, ..delivery(learner, 4) };
        store.deliveries.insert(keys::delivery(learner, 4), encode(&record)).unwrap();
        v1_answers.insert(keys::answer(learner, 4, 0), encode(&answer(learner, 4))).unwrap();
    }
    v1_answers.insert(keys::answer(2, 3, 0), encode(&answer(2, 3))).unwrap();
    store.deliveries.insert(keys::delivery(3, 5), encode(&delivery(3, 5))).unwrap();
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
    vec![answer(1, 4), answer(2, 3), answer(2, 4)]
}

#[test]
fn a_schema_1_store_is_migrated_to_compact_records_when_opened() {
    let (_dir, path) = schema_1_store_dir();
    let store = Store::open_when_free(&path).unwrap();
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(store.answers().collect::<Result<Vec<_>, _>>().unwrap(), migrated_answers());
    assert_eq!(store.delivery(3, 5).unwrap(), Some(delivery(3, 5)), "a pending delivery keeps its payload");
    assert_eq!(store.deliveries().count(), 3);
    assert_eq!(store.delivery(2, 3).unwrap(), None, "an answer that outlived its delivery stays alone");
    let compact = store.deliveries.get(keys::delivery(1, 4)).unwrap().unwrap();
    assert!(compact.len() < 60 && compact[0] != b'{', "{} bytes", compact.len());
    assert!(!store.db.tree_names().contains(&sled::IVec::from("answers")), "the old tree is gone");
}

#[test]
fn an_interrupted_migration_runs_again_over_records_already_rewritten() {
    let (_dir, path) = schema_1_store_dir();
    let store = Store::open_when_free(&path).unwrap();
    // As if the migration died after moving an answer but before removing it from the old tree.
    store.set_meta(SCHEMA_KEY, &1u32).unwrap();
    store.db.open_tree("answers").unwrap().insert(keys::answer(2, 4, 0), encode(&answer(2, 4))).unwrap();
    store.check_schema().unwrap();
    assert_eq!(store.answers().collect::<Result<Vec<_>, _>>().unwrap(), migrated_answers());
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
}

#[test]
fn a_damaged_record_stops_a_migration_and_leaves_the_version_alone() {
    let (_dir, path) = schema_1_store_dir();
    {
        let store = Store::open(&path).unwrap();
        store.set_meta(SCHEMA_KEY, &1u32).unwrap();
        store.db.open_tree("answers").unwrap().insert(keys::answer(9, 1, 0), &b"{\"learner\": 9, \"coh"[..]).unwrap();
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
        String::from_utf8(out).unwrap().replacen("\"schema\":2", "\"schema\":1", 1)
    };
    assert!(backup.starts_with("{\"nudge_backup\":1,\"schema\":1}"));
    let store = Store::open(&dir.path().join("new")).unwrap();
    store.restore(backup.as_bytes()).unwrap();
    assert_eq!(store.get_meta::<u32>(SCHEMA_KEY).unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(store.answers().collect::<Result<Vec<_>, _>>().unwrap(), migrated_answers());
    assert!(backup.contains("\"item\":\"greet/quiz\""), "answers are readable JSON in a backup");
}

#[test]
fn a_damaged_compact_record_is_found_by_verify() {
    let store = Store::temporary().unwrap();
    let seq = add_delivery(&store, 1);
    assert_eq!(store.verify().unwrap(), 1);
    store.deliveries.insert(keys::delivery(1, seq), &[3, b'd', b'e'][..]).unwrap();
    assert!(matches!(store.verify(), Err(StoreError::Corrupt { tree: "deliveries", .. })));
}
