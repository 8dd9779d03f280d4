//! What became of a delivery, as the sender records it: sent, given up on, or refused with the
//! whole chat. Each is one transaction of the learner's, over any store engine.

use chrono::{DateTime, Utc};

use crate::domain::{DeliverySeq, DeliveryState, ItemId, Learner, LearnerId, Purpose, Status};
use crate::store::{Storage, StorageExt, StoreError};

/// Records that Telegram accepted delivery `seq` as message `message_id`.
pub(crate) fn mark_sent(
    store: &dyn Storage,
    learner: LearnerId,
    seq: DeliverySeq,
    message_id: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.with_learner(learner, |tx| tx.finish_delivery(seq, DeliveryState::Sent { message_id, at }))
}

/// Records that delivery `seq` was given up on. A spaced review that never reached the learner
/// is opened again in the same transaction: an unanswered review is not re-sent while it is
/// out, so one that is not out must not count as out.
pub(crate) fn mark_failed(
    store: &dyn Storage,
    learner: LearnerId,
    seq: DeliverySeq,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.with_learner(learner, |tx| {
        let review = tx.delivery(seq)?.and_then(|delivery| match delivery.purpose {
            Purpose::Quiz { item, review: true, .. } => Some(item),
            _ => None,
        });
        tx.finish_delivery(seq, DeliveryState::Failed { reason: reason.to_owned(), at })?;
        let Some(item) = review else { return Ok(()) };
        if let Some(mut record) = tx.learner()?
            && reopen_review(&mut record, &item)
        {
            tx.put_learner(&record)?;
        }
        Ok(())
    })
}

/// Marks review `item` as not out (its delivery failed); false if it was not out anyway.
fn reopen_review(learner: &mut Learner, item: &ItemId) -> bool {
    learner.progress.memory.get_mut(item).is_some_and(|memory| memory.asked.take().is_some())
}

/// Marks the learner inactive (Telegram refuses their chat) and fails what is pending for them,
/// in one transaction. Returns the deliveries failed.
pub(crate) fn deactivate(
    store: &dyn Storage,
    learner: LearnerId,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Vec<DeliverySeq>, StoreError> {
    let pending = store.pending_for(learner)?;
    store.with_learner(learner, |tx| {
        if let Some(mut record) = tx.learner()? {
            record.status = Status::Inactive { reason: reason.to_owned(), since: at };
            tx.set_agenda(record.next_nudge.as_ref(), None)?;
            record.next_nudge = None;
            tx.put_learner(&record)?;
        }
        for &seq in &pending {
            tx.finish_delivery(seq, DeliveryState::Failed { reason: reason.to_owned(), at })?;
        }
        Ok(pending.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Delivery, Memory};
    use crate::store::Store;
    use crate::testkit::{at, id, item, learner, seq};

    /// The contract suite's pending delivery, as a quiz (a review when `review`).
    fn quiz(learner: LearnerId, seq: DeliverySeq, review: bool) -> Delivery {
        let purpose = Purpose::Quiz { item: item("greet/quiz"), correct: 1, review };
        Delivery { purpose, outgoing: None, ..crate::store::contract::delivery(learner, seq) }
    }

    /// Learner `id` with quiz `greet/quiz` out as a review since `asked`, and delivery `seq`.
    fn asked_learner(store: &dyn Storage, id: LearnerId, delivery: Delivery) {
        let memory = Memory {
            due: at("2026-11-24T08:00:00Z"),
            stability: 3.0,
            difficulty: 5.0,
            reps: 2,
            lapses: 0,
            last_review: at("2026-11-20T08:00:00Z"),
            elapsed_days: 4,
            scheduled_days: 4,
            state: crate::domain::CardState::Review,
            asked: Some(at("2026-11-24T08:00:00Z")),
        };
        let mut record = learner(id);
        record.progress.memory.insert(item("greet/quiz"), memory);
        store
            .with_learner(id, |tx| {
                tx.put_learner(&record)?;
                tx.put_delivery(&delivery)
            })
            .expect("written");
    }

    fn asked(store: &dyn Storage, id: LearnerId) -> Option<DateTime<Utc>> {
        store.learner(id).expect("read").expect("enrolled").progress.memory[&item("greet/quiz")].asked
    }

    #[test]
    fn a_review_whose_delivery_failed_is_no_longer_out() {
        let store = Store::temporary().expect("store");
        asked_learner(&store, id(1), quiz(id(1), seq(4), true));
        mark_failed(&store, id(1), seq(4), "retries ran out", at("2026-11-24T08:01:00Z")).expect("recorded");
        assert_eq!(asked(&store, id(1)), None, "the review can be sent again");
        let failed = DeliveryState::Failed { reason: "retries ran out".to_owned(), at: at("2026-11-24T08:01:00Z") };
        assert_eq!(store.delivery(id(1), seq(4)).expect("read").map(|d| d.state), Some(failed));
        assert_eq!(store.pending().expect("pending"), Vec::new());
    }

    #[test]
    fn a_failed_first_quiz_or_a_sent_review_leaves_the_review_out() {
        let store = Store::temporary().expect("store");
        asked_learner(&store, id(1), quiz(id(1), seq(4), false));
        mark_failed(&store, id(1), seq(4), "retries ran out", at("2026-11-24T08:01:00Z")).expect("recorded");
        assert_eq!(asked(&store, id(1)), Some(at("2026-11-24T08:00:00Z")));
        asked_learner(&store, id(2), quiz(id(2), seq(5), true));
        mark_sent(&store, id(2), seq(5), 77, at("2026-11-24T08:01:00Z")).expect("recorded");
        assert_eq!(asked(&store, id(2)), Some(at("2026-11-24T08:00:00Z")));
    }

    #[test]
    fn deactivating_fails_what_is_pending_for_that_learner_only() {
        let store = Store::temporary().expect("store");
        asked_learner(&store, id(1), quiz(id(1), seq(4), false));
        asked_learner(&store, id(2), quiz(id(2), seq(5), false));
        let failed = deactivate(&store, id(1), "blocked", at("2026-11-24T08:00:00Z")).expect("deactivated");
        assert_eq!(failed, vec![seq(4)]);
        assert_eq!(store.pending().expect("pending"), vec![(id(2), seq(5))]);
        let status = store.learner(id(1)).expect("read").map(|learner| learner.status);
        assert_eq!(status, Some(Status::Inactive { reason: "blocked".to_owned(), since: at("2026-11-24T08:00:00Z") }));
    }
}
