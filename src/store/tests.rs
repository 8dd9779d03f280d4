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
