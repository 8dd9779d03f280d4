//! What every store engine guarantees, written once as tests over [`Storage`]: one prompt per
//! learner and slot, nothing confirmed lost, the outbox in order, erasure that leaves nothing
//! behind, retention, each webhook update handled once. An engine runs them all with one line in its tests,
//! `store_contract!(MyOpener::new);`, where `MyOpener` implements [`Opener`]. Checks of one
//! engine's layout (keys, migrations, locks) stay with that engine.

use std::cell::Cell;

use chrono::{DateTime, Utc};

use super::{Exchange, LearnerTx, Pruned, Storage, StorageExt, StoreError, TxError, UpdateClaim};
use crate::domain::{
    Answer, AnswerKind, CohortState, ColleaguesEdition, Delivery, DeliverySeq, DeliveryState, Lead, Learner, LearnerId,
    NextNudge, Note, NoteKind, OutMessage, Outgoing, PackTuning, Purpose, Status, UpdateId,
};
use crate::testkit::{at, id, item, learner, seq};

/// Opens one store, again and again: what a restart of the daemon sees.
pub(crate) trait Opener {
    /// Opens the store: empty the first time, then holding what the handles before made
    /// durable. The handle opened before is dropped first.
    fn open(&self) -> Box<dyn Storage>;
}

/// A test per guarantee for the engine whose [`Opener`] `$new` makes (a fresh store each).
/// With `skip_unless: $ready`, each test returns at once when `$ready()` is false (an engine
/// whose server is not configured).
macro_rules! store_contract {
    ($new:expr) => {
        $crate::store::contract::store_contract!($new, skip_unless: || true);
    };
    ($new:expr, skip_unless: $ready:expr) => {
        $crate::store::contract::store_contract!(@each $new, $ready;
            a_slot_is_claimed_once_per_learner_also_after_reopening,
            what_a_transaction_committed_survives_a_flush_and_reopening,
            a_transaction_that_aborts_writes_nothing,
            a_rerun_transaction_keeps_only_its_last_attempt,
            use_cases_on_one_learner_at_once_lose_no_update,
            pending_deliveries_come_back_in_creation_order_and_leave_when_finished,
            erasure_leaves_nothing_of_the_learner_and_touches_no_one_else,
            a_use_case_on_a_learner_being_erased_does_nothing,
            an_erasure_a_crash_interrupted_is_finished_at_the_next_open,
            retention_drops_what_finished_before_the_cut_and_keeps_the_rest,
            the_team_loops_records_survive_reopening_and_a_backup,
            a_packs_fitted_weights_survive_reopening_and_a_backup,
            a_restored_store_numbers_new_deliveries_after_the_restored_ones,
            a_delivery_to_send_comes_with_its_learner,
            a_webhook_update_is_busy_until_its_claim_expires_and_done_once_finished,
            a_released_webhook_update_is_taken_again_at_once,
            pruning_webhook_updates_drops_exactly_those_claimed_before_the_cut,
            two_callers_racing_for_each_new_webhook_update_take_it_once,
            webhook_updates_stay_out_of_backups_and_restores,
            a_claim_left_by_a_closed_store_is_taken_over_at_once,
        );
    };
    (@each $new:expr, $ready:expr; $($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                if !($ready)() {
                    return;
                }
                $crate::store::contract::$test(&|| -> Box<dyn $crate::store::contract::Opener> {
                    Box::new(($new)())
                });
            }
        )*
    };
}
pub(crate) use store_contract;

/// Makes a fresh store (its own directory, database, …) for one test.
type NewStore<'a> = &'a dyn Fn() -> Box<dyn Opener>;

const SLOT: &str = "2026-11-24T09:00:00";
const MESSAGE: i64 = 9;

/// A pending reply to learner `learner`, numbered `seq`.
pub(crate) fn delivery(learner: LearnerId, seq: DeliverySeq) -> Delivery {
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

/// A right answer to the quiz sent as delivery `delivery`.
pub(crate) fn answer(learner: LearnerId, delivery: DeliverySeq) -> Answer {
    Answer {
        learner,
        cohort: "desk".to_owned(),
        delivery,
        item: item("greet/quiz"),
        at: at("2026-11-24T08:03:00Z"),
        prompt_sent_at: Some(at("2026-11-24T08:00:01Z")),
        kind: AnswerKind::Quiz { choice: 1, correct: true, review: false, confidence: None },
    }
}

fn sent(message_id: i64, at_text: &str) -> DeliveryState {
    DeliveryState::Sent { message_id, at: at(at_text) }
}

/// Learner `id` enrolled with something in every kind of record: an agenda entry, a claim of
/// [`SLOT`], a pending delivery (4) with an answer, and a sent one (5) that became [`MESSAGE`].
pub(crate) fn busy_learner(store: &dyn Storage, id: LearnerId) -> NextNudge {
    let next = NextNudge { at: at("2026-11-25T08:00:00Z"), slot: "2026-11-25T09:00:00".to_owned() };
    store
        .with_learner(id, |tx| {
            tx.put_learner(&Learner { next_nudge: Some(next.clone()), ..learner(id) })?;
            tx.set_agenda(None, Some(&next))?;
            tx.claim_slot("desk", SLOT, at("2026-11-24T08:00:00Z"))?;
            tx.put_delivery(&delivery(id, seq(4)))?;
            tx.put_answer(&answer(id, seq(4)))?;
            tx.put_delivery(&delivery(id, seq(5)))?;
            tx.finish_delivery(seq(5), sent(MESSAGE, "2026-11-24T08:00:01Z"))?;
            tx.put_note(&note(id, seq(5), "2026-11-24T09:00:00Z"))
        })
        .expect("a busy learner");
    next
}

/// A shared answer to the team question that learner `learner` gave on delivery `seq` at `when`.
pub(crate) fn note(learner: LearnerId, seq: DeliverySeq, when: &str) -> Note {
    Note {
        learner,
        delivery: seq,
        cohort: "desk".to_owned(),
        at: at(when),
        kind: NoteKind::TeamAnswer,
        text: format!("what {learner} did"),
        shared: true,
    }
}

/// Lead `id` of cohort `desk`, with a digest waiting to be sent to them.
pub(crate) fn busy_lead(store: &dyn Storage, id: LearnerId) {
    let lead = Lead {
        id,
        name: format!("Lead{id}"),
        lang: crate::i18n::Lang::En,
        cohorts: vec!["desk".to_owned()],
        joined_at: at("2026-11-20T08:00:00Z"),
    };
    store
        .with_learner(id, |tx| {
            tx.put_lead(&lead)?;
            tx.claim_slot("desk", "digest@2026-11-30T08:00:00", at("2026-11-30T07:00:00Z"))?;
            tx.put_delivery(&delivery(id, seq(7)))
        })
        .expect("a busy lead");
}

/// Runs `read` in a transaction of learner `id` that is then aborted, so it writes nothing.
fn probe<T>(store: &dyn Storage, id: LearnerId, read: impl Fn(&dyn LearnerTx) -> Result<T, TxError>) -> T {
    let mut seen = None;
    let result = store.transact(id, &mut |tx| {
        seen = Some(read(tx)?);
        Err(TxError::Abort(StoreError::Task("a probe".to_owned())))
    });
    assert!(matches!(result, Err(StoreError::Task(ref why)) if why == "a probe"), "{result:?}");
    seen.expect("the probe ran")
}

/// True when `slot` of `cohort` is claimed for learner `id`.
fn is_claimed(store: &dyn Storage, id: LearnerId, cohort: &str, slot: &str) -> bool {
    !probe(store, id, |tx| tx.claim_slot(cohort, slot, at("2026-11-24T08:00:00Z")))
}

/// Everything the interface shows of one learner.
#[derive(Clone, Debug, Default, PartialEq)]
struct Traces {
    learner: Option<Learner>,
    lead: Option<Lead>,
    notes: Vec<Note>,
    exchanges: Vec<Exchange>,
    pending: Vec<DeliverySeq>,
    agenda: Vec<NextNudge>,
    slot_claimed: bool,
    message: Option<DeliverySeq>,
    exported: (Option<Learner>, Vec<Delivery>, Vec<Answer>),
    exported_team: (Option<Lead>, Vec<Note>),
}

fn traces_of(store: &dyn Storage, id: LearnerId) -> Traces {
    let owner = |exchange: &Exchange| {
        exchange.delivery.as_ref().map(|d| d.learner).or_else(|| exchange.answers.first().map(|a| a.learner))
    };
    let export = store.export(id).expect("export");
    Traces {
        learner: store.learner(id).expect("learner"),
        lead: store.lead(id).expect("lead"),
        notes: store.notes().map(|n| n.expect("note")).filter(|n| n.learner == id).collect(),
        exchanges: store.exchanges().map(|e| e.expect("exchange")).filter(|e| owner(e) == Some(id)).collect(),
        pending: store.pending_for(id).expect("pending"),
        agenda: store
            .due_agenda(DateTime::<Utc>::MAX_UTC, usize::MAX)
            .expect("agenda")
            .into_iter()
            .filter_map(|(owner, next)| (owner == id).then_some(next))
            .collect(),
        slot_claimed: is_claimed(store, id, "desk", SLOT),
        message: probe(store, id, |tx| tx.delivery_of_message(MESSAGE)),
        exported: (export.learner, export.messages, export.answers),
        exported_team: (export.lead, export.team_notes),
    }
}

fn counts(store: &dyn Storage) -> (usize, usize, usize) {
    (store.n_learners(), store.n_pending(), store.n_agenda())
}

/// A second claim of the same slot fails, for as long as the store lives.
pub(crate) fn a_slot_is_claimed_once_per_learner_also_after_reopening(new_store: NewStore<'_>) {
    let opener = new_store();
    let claim = |store: &dyn Storage, id, cohort| {
        store.with_learner(id, |tx| tx.claim_slot(cohort, SLOT, at("2026-11-24T08:00:00Z"))).expect("claim")
    };
    let store = opener.open();
    assert!(claim(&*store, id(1), "desk"));
    assert!(!claim(&*store, id(1), "desk"), "a second claim fails");
    assert!(claim(&*store, id(2), "desk"), "another learner has their own claim");
    assert!(claim(&*store, id(1), "sales"), "and so has another cohort");
    store.flush_blocking().expect("flush");
    drop(store);
    let store = opener.open();
    assert!(!claim(&*store, id(1), "desk") && !claim(&*store, id(2), "desk") && !claim(&*store, id(1), "sales"));
}

/// What a committed transaction wrote is there after a flush and a restart, and so are the
/// update offset and the report key.
pub(crate) fn what_a_transaction_committed_survives_a_flush_and_reopening(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    let next = busy_learner(&*store, id(3));
    store.set_update_offset(42).expect("offset");
    let key = store.report_key().expect("key");
    let before = traces_of(&*store, id(3));
    store.flush_blocking().expect("flush");
    drop(store);

    let store = opener.open();
    assert_eq!(traces_of(&*store, id(3)), before);
    assert_eq!(before.learner.as_ref().map(|l| l.name.as_str()), Some("Learner3"));
    assert_eq!((before.pending, before.agenda, before.message), (vec![seq(4)], vec![next], Some(seq(5))));
    assert_eq!(
        store.delivery(id(3), seq(5)).expect("read").map(|d| d.state),
        Some(sent(MESSAGE, "2026-11-24T08:00:01Z"))
    );
    assert_eq!(store.answers().map(|a| a.expect("answer")).collect::<Vec<_>>(), vec![answer(id(3), seq(4))]);
    assert_eq!(counts(&*store), (1, 1, 1));
    assert_eq!(store.update_offset().expect("offset"), 42);
    assert_eq!((store.report_key().expect("key"), key.len()), (key, 32), "the same key, made once");
}

/// A transaction whose work fails leaves no trace, and its error comes back.
pub(crate) fn a_transaction_that_aborts_writes_nothing(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    let result = store.with_learner(id(1), |tx| {
        tx.put_learner(&learner(id(1)))?;
        tx.claim_slot("desk", SLOT, at("2026-11-24T08:00:00Z"))?;
        tx.put_delivery(&delivery(id(1), seq(4)))?;
        tx.set_agenda(None, Some(&NextNudge { at: at("2026-11-25T08:00:00Z"), slot: "s".to_owned() }))?;
        Err::<(), _>(TxError::Abort(StoreError::Encode("stop".to_owned())))
    });
    assert!(matches!(result, Err(StoreError::Encode(ref why)) if why == "stop"), "{result:?}");
    assert_eq!(traces_of(&*store, id(1)), Traces::default());
    assert_eq!(counts(&*store), (0, 0, 0));
}

/// Work the engine runs again keeps only what its last attempt wrote and returned.
pub(crate) fn a_rerun_transaction_keeps_only_its_last_attempt(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    let attempts = Cell::new(0);
    let first = NextNudge { at: at("2026-11-25T08:00:00Z"), slot: "first".to_owned() };
    let second = NextNudge { at: at("2026-11-26T08:00:00Z"), slot: "second".to_owned() };
    let returned = store
        .with_learner(id(1), |tx| {
            attempts.set(attempts.get() + 1);
            let (name, number, slot, next) = match attempts.get() {
                1 => ("first", 4, "one", &first),
                _ => ("second", 5, "two", &second),
            };
            tx.put_learner(&Learner { name: name.to_owned(), ..learner(id(1)) })?;
            tx.put_delivery(&delivery(id(1), seq(number)))?;
            tx.claim_slot("desk", slot, at("2026-11-24T08:00:00Z"))?;
            tx.set_agenda(None, Some(next))?;
            if attempts.get() == 1 {
                return Err(TxError::Conflict);
            }
            Ok(name)
        })
        .expect("the second attempt commits");
    assert_eq!((attempts.get(), returned), (2, "second"));
    assert_eq!(store.learner(id(1)).expect("read").map(|l| l.name), Some("second".to_owned()));
    assert_eq!(store.delivery(id(1), seq(4)).expect("read"), None);
    assert_eq!(store.pending_for(id(1)).expect("pending"), vec![seq(5)]);
    assert!(!is_claimed(&*store, id(1), "desk", "one") && is_claimed(&*store, id(1), "desk", "two"));
    assert_eq!(store.due_agenda(DateTime::<Utc>::MAX_UTC, 10).expect("agenda"), vec![(id(1), second)]);
    assert_eq!(counts(&*store), (1, 1, 1));
}

/// Use cases on one learner from two threads at once each see the other's writes: none is lost,
/// and every delivery gets its own number.
pub(crate) fn use_cases_on_one_learner_at_once_lose_no_update(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    store.with_learner(id(1), |tx| tx.put_learner(&Learner { name: String::new(), ..learner(id(1)) })).expect("enrol");
    let append = |store: &dyn Storage| {
        for _ in 0..25 {
            store
                .with_learner(id(1), |tx| {
                    let mut record = tx.learner()?.unwrap_or_else(|| learner(id(1)));
                    record.name.push('x');
                    tx.put_learner(&record)?;
                    tx.put_delivery(&delivery(id(1), tx.next_seq()?))
                })
                .expect("append");
        }
    };
    std::thread::scope(|scope| {
        scope.spawn(|| append(&*store));
        scope.spawn(|| append(&*store));
    });
    assert_eq!(store.learner(id(1)).expect("read").map(|l| l.name.len()), Some(50));
    let pending = store.pending_for(id(1)).expect("pending");
    assert_eq!(pending.len(), 50, "{pending:?}");
    assert!(pending.windows(2).all(|pair| pair[0] < pair[1]), "distinct numbers, oldest first: {pending:?}");
}

/// The outbox gives each learner's pending deliveries oldest first, learner by learner, keeps
/// them across a restart, and lets go of each once it is sent or failed.
pub(crate) fn pending_deliveries_come_back_in_creation_order_and_leave_when_finished(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    let add = |id| {
        store
            .with_learner(id, |tx| {
                let seq = tx.next_seq()?;
                tx.put_delivery(&delivery(id, seq))?;
                Ok(Some(seq))
            })
            .expect("a delivery")
            .expect("a number")
    };
    let (a1, b2, a3, b4, a5) = (add(id(1)), add(id(2)), add(id(1)), add(id(2)), add(id(1)));
    assert_eq!(
        store.pending().expect("pending"),
        vec![(id(1), a1), (id(1), a3), (id(1), a5), (id(2), b2), (id(2), b4)]
    );
    assert_eq!(store.n_pending(), 5);
    store.flush_blocking().expect("flush");
    drop(store);

    let store = opener.open();
    assert_eq!(store.pending_for(id(1)).expect("pending"), vec![a1, a3, a5], "the outbox is durable");
    store
        .with_learner(id(1), |tx| {
            tx.finish_delivery(a3, sent(77, "2026-11-24T08:00:01Z"))?;
            tx.finish_delivery(a5, DeliveryState::Failed { reason: "gone".to_owned(), at: at("2026-11-24T08:00:02Z") })
        })
        .expect("finished");
    assert_eq!(store.pending().expect("pending"), vec![(id(1), a1), (id(2), b2), (id(2), b4)]);
    assert_eq!(store.n_pending(), 3);
    let done = store.delivery(id(1), a3).expect("read").expect("kept");
    assert_eq!((done.state, done.outgoing), (sent(77, "2026-11-24T08:00:01Z"), None), "the payload goes once sent");
    assert_eq!(probe(&*store, id(1), |tx| tx.delivery_of_message(77)), Some(a3));
    assert_eq!(probe(&*store, id(2), |tx| tx.delivery_of_message(77)), None, "message ids are per chat");
}

/// An erased learner is gone from every record, the export and a backup (restored elsewhere);
/// the other learner is exactly as before, and the erasure is durable.
pub(crate) fn erasure_leaves_nothing_of_the_learner_and_touches_no_one_else(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    busy_learner(&*store, id(1));
    busy_learner(&*store, id(2));
    busy_lead(&*store, id(3));
    let other = traces_of(&*store, id(2));
    assert_ne!(traces_of(&*store, id(1)), Traces::default());
    assert_eq!(traces_of(&*store, id(1)).exported_team.1.len(), 1, "the note is exported");
    assert!(traces_of(&*store, id(3)).exported_team.0.is_some(), "the lead record is exported");

    store.erase(id(1)).expect("erased");
    store.erase(id(3)).expect("lead erased");
    assert_eq!(traces_of(&*store, id(1)), Traces::default());
    assert_eq!(traces_of(&*store, id(3)), Traces::default());
    assert!(!is_claimed(&*store, id(3), "desk", "digest@2026-11-30T08:00:00"), "a lead's claims go too");
    assert_eq!(traces_of(&*store, id(2)), other);
    assert_eq!(counts(&*store), (1, 1, 1));

    let mut backup = Vec::new();
    store.backup(&mut backup).expect("backup");
    let restored_opener = new_store();
    let restored = restored_opener.open();
    restored.restore(&mut backup.as_slice()).expect("restore");
    assert_eq!(traces_of(&*restored, id(1)), Traces::default(), "nothing of them in a backup");
    assert_eq!(traces_of(&*restored, id(2)), other);

    store.flush_blocking().expect("flush");
    drop(store);
    let store = opener.open();
    assert_eq!(traces_of(&*store, id(1)), Traces::default());
    assert_eq!(traces_of(&*store, id(2)), other);
}

/// Marks learner `id` `Erasing` and takes them off the agenda, as an erasure begins.
fn mark_erasing(store: &dyn Storage, id: LearnerId) {
    store
        .transact(id, &mut |tx| {
            let Some(record) = tx.learner()? else { return Ok(()) };
            tx.set_agenda(record.next_nudge.as_ref(), None)?;
            let status = Status::Erasing { since: at("2026-11-24T09:00:00Z") };
            tx.put_learner(&Learner { status, next_nudge: None, ..record })
        })
        .expect("marked");
}

/// From the erasure's mark on, a use case finds nothing to do and writes nothing.
pub(crate) fn a_use_case_on_a_learner_being_erased_does_nothing(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    let next = busy_learner(&*store, id(1));
    mark_erasing(&*store, id(1));
    let marked = traces_of(&*store, id(1));

    let sent = store
        .with_learner(id(1), |tx| {
            tx.put_delivery(&delivery(id(1), seq(6)))?;
            tx.set_agenda(None, Some(&NextNudge { at: next.at + chrono::Duration::days(1), ..next.clone() }))?;
            Ok(vec![seq(6)])
        })
        .expect("nothing done");
    assert_eq!(sent, Vec::<DeliverySeq>::new(), "a learner being erased gets nothing");
    assert_eq!(traces_of(&*store, id(1)), marked, "and nothing is written for them");
    assert_eq!(marked.pending, vec![seq(4)]);

    store.erase(id(1)).expect("erased");
    assert_eq!(traces_of(&*store, id(1)), Traces::default());
}

/// A learner found marked `Erasing` when the store opens is erased then.
pub(crate) fn an_erasure_a_crash_interrupted_is_finished_at_the_next_open(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    busy_learner(&*store, id(1));
    busy_learner(&*store, id(2));
    let other = traces_of(&*store, id(2));
    mark_erasing(&*store, id(1));
    store.flush_blocking().expect("flush");
    drop(store);

    let store = opener.open();
    assert_eq!(traces_of(&*store, id(1)), Traces::default());
    assert_eq!(traces_of(&*store, id(2)), other);
    assert_eq!(counts(&*store), (1, 1, 1));
}

/// Retention deletes answers and finished deliveries from before the cut (with their message
/// ids) and slot claims made before it; later ones and pending deliveries stay.
pub(crate) fn retention_drops_what_finished_before_the_cut_and_keeps_the_rest(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    let late = |seq, at_text| Answer { at: at(at_text), ..answer(id(1), seq) };
    let failed = DeliveryState::Failed { reason: "gone".to_owned(), at: at("2026-11-26T08:00:00Z") };
    store
        .with_learner(id(1), |tx| {
            tx.put_learner(&learner(id(1)))?;
            for number in 1..=5 {
                tx.put_delivery(&delivery(id(1), seq(number)))?;
            }
            tx.finish_delivery(seq(1), sent(11, "2026-11-24T08:00:01Z"))?;
            tx.put_answer(&answer(id(1), seq(1)))?;
            tx.finish_delivery(seq(2), sent(12, "2026-11-25T08:00:00Z"))?;
            tx.put_answer(&late(seq(2), "2026-12-05T08:00:00Z"))?;
            tx.finish_delivery(seq(3), sent(13, "2026-12-02T08:00:00Z"))?;
            tx.put_answer(&late(seq(3), "2026-12-02T08:05:00Z"))?;
            tx.finish_delivery(seq(5), failed.clone())?;
            tx.claim_slot("desk", SLOT, at("2026-11-24T08:00:00Z"))?;
            tx.claim_slot("desk", "2026-12-02T09:00:00", at("2026-12-02T08:00:00Z"))?;
            tx.put_note(&note(id(1), seq(2), "2026-11-25T09:00:00Z"))?;
            tx.put_note(&note(id(1), seq(3), "2026-12-02T09:00:00Z"))
        })
        .expect("written");

    let cut = at("2026-12-01T00:00:00Z");
    assert_eq!(store.prune(cut).expect("pruned"), Pruned { answers: 1, deliveries: 3, notes: 1 });
    let notes: Vec<Note> = store.notes().collect::<Result<_, _>>().expect("notes");
    assert_eq!(notes, vec![note(id(1), seq(3), "2026-12-02T09:00:00Z")], "the note from after the cut stays");
    let seqs: Vec<DeliverySeq> = store.deliveries().map(|d| d.expect("delivery").seq).collect();
    assert_eq!(seqs, vec![seq(3), seq(4)], "the one sent after the cut and the pending one");
    let answers: Vec<Answer> = store.answers().collect::<Result<_, _>>().expect("answers");
    assert_eq!(answers, vec![late(seq(2), "2026-12-05T08:00:00Z"), late(seq(3), "2026-12-02T08:05:00Z")]);
    assert_eq!(store.pending_for(id(1)).expect("pending"), vec![seq(4)]);
    let messages: Vec<Option<DeliverySeq>> =
        probe(&*store, id(1), |tx| [11, 12, 13].map(|id| tx.delivery_of_message(id)).into_iter().collect());
    assert_eq!(messages, vec![None, None, Some(seq(3))]);
    assert!(!is_claimed(&*store, id(1), "desk", SLOT), "the claim from before the cut went");
    assert!(is_claimed(&*store, id(1), "desk", "2026-12-02T09:00:00"));
    assert!(store.learner(id(1)).expect("read").is_some(), "the learner stays");
    assert_eq!(store.prune(cut).expect("pruned again"), Pruned::default(), "nothing more to drop");
}

/// Leads, notes and the cohorts' team state are kept like every other record: they survive a
/// reopening, and a backup restored into a fresh store holds them unchanged.
pub(crate) fn the_team_loops_records_survive_reopening_and_a_backup(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    busy_learner(&*store, id(1));
    busy_lead(&*store, id(3));
    let state = CohortState {
        last_digest: Some(at("2026-11-30T07:00:00Z")),
        standups_offered: vec!["third-call".to_owned()],
        colleagues: Some(ColleaguesEdition { made_at: at("2026-11-30T07:00:00Z"), answers: vec![(id(1), seq(5))] }),
    };
    store.put_cohort_state("desk", &state).expect("cohort state");
    assert_eq!(store.cohort_state("other").expect("read"), CohortState::default(), "a cohort never seen");
    let (learner, lead) = (traces_of(&*store, id(1)), traces_of(&*store, id(3)));
    store.flush_blocking().expect("flush");
    drop(store);

    let store = opener.open();
    assert_eq!((traces_of(&*store, id(1)), traces_of(&*store, id(3))), (learner.clone(), lead.clone()));
    assert_eq!(store.cohort_state("desk").expect("read"), state);
    let leads: Vec<Lead> = store.leads().collect::<Result<_, _>>().expect("leads");
    assert_eq!(leads.iter().map(|lead| lead.id).collect::<Vec<_>>(), vec![id(3)]);

    let mut backup = Vec::new();
    store.backup(&mut backup).expect("backup");
    let restored_opener = new_store();
    let restored = restored_opener.open();
    restored.restore(&mut backup.as_slice()).expect("restore");
    assert_eq!((traces_of(&*restored, id(1)), traces_of(&*restored, id(3))), (learner, lead));
    assert_eq!(restored.cohort_state("desk").expect("read"), state);
}

/// What fitting left for a pack is kept like any record, and a backup carries it: the answers it
/// was fitted on may be gone by the time a backup is restored.
pub(crate) fn a_packs_fitted_weights_survive_reopening_and_a_backup(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    assert_eq!(store.tuning("customer-focus").expect("read"), None, "never fitted");
    let tuning =
        PackTuning { weights: Some(vec![0.5; 21]), fitted_on: 1_200, reviews: 2_500, at: at("2026-11-30T03:00:00Z") };
    store.put_tuning("customer-focus", &tuning).expect("write");
    store.flush_blocking().expect("flush");
    drop(store);

    let store = opener.open();
    assert_eq!(store.tuning("customer-focus").expect("read"), Some(tuning.clone()));
    assert_eq!(store.tuning("customer").expect("read"), None, "another pack's");
    let mut backup = Vec::new();
    store.backup(&mut backup).expect("backup");
    let restored_opener = new_store();
    let restored = restored_opener.open();
    restored.restore(&mut backup.as_slice()).expect("restore");
    assert_eq!(restored.tuning("customer-focus").expect("read"), Some(tuning));
}

/// A store restored from a backup hands out delivery numbers above every restored one, also
/// after reopening: a new store's counter starts afresh, and a number used twice would put a
/// new message in the place of an old one and its answers.
pub(crate) fn a_restored_store_numbers_new_deliveries_after_the_restored_ones(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    let mut highest = seq(0);
    for _ in 0..5 {
        let numbered = store.with_learner(id(1), |tx| {
            let seq = tx.next_seq()?;
            tx.put_delivery(&delivery(id(1), seq))?;
            Ok(Some(seq))
        });
        highest = numbered.expect("a delivery").expect("numbered");
    }
    let mut backup = Vec::new();
    store.backup(&mut backup).expect("backup");
    let restored_opener = new_store();
    let restored = restored_opener.open();
    restored.restore(&mut backup.as_slice()).expect("restore");
    let next = restored.with_learner(id(1), |tx| tx.next_seq().map(Some)).expect("a number");
    assert!(next > Some(highest), "{next:?} comes after the restored {highest:?}");
    restored.flush_blocking().expect("flush");
    drop(restored);
    let reopened = restored_opener.open();
    let after = reopened.with_learner(id(1), |tx| tx.next_seq().map(Some)).expect("a number");
    assert!(after > next, "{after:?} comes after {next:?}, also after reopening");
}

/// The sender's read: a delivery with its learner's record, both as stored; nothing for a
/// delivery that is not there; the delivery alone for a learner without a record.
pub(crate) fn a_delivery_to_send_comes_with_its_learner(new_store: NewStore<'_>) {
    let opener = new_store();
    let store = opener.open();
    busy_learner(&*store, id(1));
    store.with_learner(id(2), |tx| tx.put_delivery(&delivery(id(2), seq(7)))).expect("a delivery without a learner");
    let (sent, record) = store.delivery_to_send(id(1), seq(5)).expect("read").expect("delivery 5");
    assert_eq!(Some(&sent), store.delivery(id(1), seq(5)).expect("read").as_ref());
    assert_eq!(record, store.learner(id(1)).expect("read"));
    assert!(record.is_some());
    assert_eq!(store.delivery_to_send(id(1), seq(6)).expect("read"), None);
    let (alone, nobody) = store.delivery_to_send(id(2), seq(7)).expect("read").expect("delivery 7");
    assert_eq!((alone.seq, nobody), (seq(7), None));
}

/// When the webhook tests' updates come in.
const WEBHOOK_START: &str = "2026-11-24T08:00:00Z";

/// Asks `store` to claim update `update` `seconds` after [`WEBHOOK_START`], claims expiring
/// after `expiry` seconds.
fn claim_at(store: &dyn Storage, update: i64, seconds: i64, expiry: i64) -> UpdateClaim {
    let now = at(WEBHOOK_START) + chrono::Duration::seconds(seconds);
    store.claim_update(UpdateId::new(update), now, chrono::Duration::seconds(expiry)).expect("claim")
}

/// Marks update `update` handled `seconds` after [`WEBHOOK_START`].
fn finish_at(store: &dyn Storage, update: i64, seconds: i64) {
    let now = at(WEBHOOK_START) + chrono::Duration::seconds(seconds);
    store.finish_update(UpdateId::new(update), now).expect("finish");
}

/// A new update is taken; while its claim is younger than the expiry it is busy, then it may be
/// taken over; once handled it is done for good, also after reopening.
pub(crate) fn a_webhook_update_is_busy_until_its_claim_expires_and_done_once_finished(new_store: NewStore<'_>) {
    use UpdateClaim::{Busy, Done, Taken};
    let opener = new_store();
    let store = opener.open();
    let claim = |store: &dyn Storage, update, seconds| claim_at(store, update, seconds, 60);
    assert_eq!(claim(&*store, 1, 0), Taken, "a new update");
    assert_eq!(claim(&*store, 1, 0), Busy, "claimed a moment ago");
    assert_eq!(claim(&*store, 1, 59), Busy, "within the expiry");
    assert_eq!(claim(&*store, 1, 60), Taken, "the claim expired: taken over");
    assert_eq!(claim(&*store, 1, 119), Busy, "the new claim counts from its own time");
    assert_eq!(claim(&*store, 2, 0), Taken, "another update is one of its own");
    finish_at(&*store, 1, 70);
    assert_eq!(claim(&*store, 1, 71), Done);
    assert_eq!(claim(&*store, 1, 86_400), Done, "also long after the expiry");
    finish_at(&*store, 3, 0);
    assert_eq!(claim(&*store, 3, 1), Done, "finishing an update never claimed records it handled");
    store.flush_blocking().expect("flush");
    drop(store);

    let store = opener.open();
    let claims = [claim(&*store, 1, 172_800), claim(&*store, 3, 2)];
    assert_eq!(claims, [Done, Done], "the records are durable");
}

/// A claim whose claimer is gone (the store was closed: its process died) is taken over at
/// once, within the expiry, so Telegram's next try after a crash is handled without waiting.
pub(crate) fn a_claim_left_by_a_closed_store_is_taken_over_at_once(new_store: NewStore<'_>) {
    use UpdateClaim::{Busy, Taken};
    let opener = new_store();
    let store = opener.open();
    assert_eq!(claim_at(&*store, 1, 0, 60), Taken);
    assert_eq!(claim_at(&*store, 1, 1, 60), Busy, "its claimer lives");
    store.flush_blocking().expect("flush");
    drop(store);
    let store = opener.open();
    // The server may take a moment to see a closed session's process end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut claim = claim_at(&*store, 1, 2, 60);
    while claim == Busy && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        claim = claim_at(&*store, 1, 2, 60);
    }
    assert_eq!(claim, Taken, "the claim of a store that is gone is taken within the expiry");
    assert_eq!(claim_at(&*store, 1, 3, 60), Busy, "and is this one's now");
}

/// A released claim is gone at once, so Telegram's next try is taken; releasing an update
/// nobody claimed does nothing, and a handled update stays handled.
pub(crate) fn a_released_webhook_update_is_taken_again_at_once(new_store: NewStore<'_>) {
    use UpdateClaim::{Busy, Done, Taken};
    let opener = new_store();
    let store = opener.open();
    assert_eq!(claim_at(&*store, 1, 0, 60), Taken);
    store.release_update(UpdateId::new(1)).expect("release");
    assert_eq!(claim_at(&*store, 1, 1, 60), Taken, "taken again, well within the expiry");
    assert_eq!(claim_at(&*store, 1, 2, 60), Busy);
    store.release_update(UpdateId::new(9)).expect("releasing an unknown update is fine");
    assert_eq!(claim_at(&*store, 9, 3, 60), Taken);
    finish_at(&*store, 1, 3);
    store.release_update(UpdateId::new(1)).expect("release");
    assert_eq!(claim_at(&*store, 1, 4, 60), Done, "a handled update stays handled");
}

/// The sweep deletes exactly the records claimed before the cut, handled or not, and counts
/// them; an update whose record went is new again.
pub(crate) fn pruning_webhook_updates_drops_exactly_those_claimed_before_the_cut(new_store: NewStore<'_>) {
    use UpdateClaim::{Busy, Done, Taken};
    let opener = new_store();
    let store = opener.open();
    let (hour, expiry) = (3_600, 3_600);
    assert_eq!(claim_at(&*store, 1, 0, expiry), Taken);
    finish_at(&*store, 1, 60);
    assert_eq!(claim_at(&*store, 2, hour, expiry), Taken);
    assert_eq!(claim_at(&*store, 3, 2 * hour, expiry), Taken);
    finish_at(&*store, 3, 2 * hour + 60);
    assert_eq!(claim_at(&*store, 4, 3 * hour, expiry), Taken);
    finish_at(&*store, 5, 2 * hour - 1);

    let cut = at(WEBHOOK_START) + chrono::Duration::seconds(2 * hour);
    assert_eq!(store.prune_updates(cut).expect("pruned"), 3, "updates 1, 2 and 5; 3 was claimed at the cut");
    let later = 2 * hour + 1_800;
    let claims = [1, 2, 3, 4, 5].map(|update| claim_at(&*store, update, later, expiry));
    assert_eq!(claims, [Taken, Taken, Done, Busy, Taken], "a pruned handled update is taken again");
    assert_eq!(store.prune_updates(cut).expect("pruned again"), 0, "nothing else was claimed before the cut");
}

/// Two callers claiming each of 100 new updates at the same moment: exactly one takes each, and
/// the other is told it is busy.
pub(crate) fn two_callers_racing_for_each_new_webhook_update_take_it_once(new_store: NewStore<'_>) {
    use UpdateClaim::{Busy, Taken};
    let opener = new_store();
    let store = opener.open();
    let barrier = std::sync::Barrier::new(2);
    let race = || -> Vec<UpdateClaim> {
        (1..=100)
            .map(|update| {
                barrier.wait();
                claim_at(&*store, update, 0, 60)
            })
            .collect()
    };
    let (first, second) = std::thread::scope(|scope| {
        let (first, second) = (scope.spawn(race), scope.spawn(race));
        (first.join().expect("the first caller"), second.join().expect("the second caller"))
    });
    let taken: Vec<usize> =
        first.iter().zip(&second).map(|(a, b)| usize::from(*a == Taken) + usize::from(*b == Taken)).collect();
    assert_eq!(taken, vec![1; 100], "{first:?} {second:?}");
    assert!(first.iter().chain(&second).all(|claim| matches!(claim, Taken | Busy)), "{first:?} {second:?}");
}

/// Webhook updates are nobody's data and no backup's: a backup is the same with them as
/// without, and a store holding only them still takes a restore and keeps them.
pub(crate) fn webhook_updates_stay_out_of_backups_and_restores(new_store: NewStore<'_>) {
    use UpdateClaim::{Busy, Taken};
    let opener = new_store();
    let store = opener.open();
    busy_learner(&*store, id(1));
    let mut without = Vec::new();
    store.backup(&mut without).expect("backup");
    assert_eq!(claim_at(&*store, 1, 0, 60), Taken);
    finish_at(&*store, 1, 1);
    assert_eq!(claim_at(&*store, 2, 0, 60), Taken);
    let mut backup = Vec::new();
    store.backup(&mut backup).expect("backup");
    assert_eq!(String::from_utf8_lossy(&backup), String::from_utf8_lossy(&without));

    let restored_opener = new_store();
    let restored = restored_opener.open();
    assert_eq!(claim_at(&*restored, 3, 0, 60), Taken);
    restored.restore(&mut backup.as_slice()).expect("a store with only update records is empty");
    assert!(restored.learner(id(1)).expect("read").is_some());
    let claims = [1, 3].map(|update| claim_at(&*restored, update, 2, 60));
    assert_eq!(claims, [Taken, Busy], "nothing came with the backup, and the store's own claim stayed");
}
