//! What survives a restart and what happens once: slots across restarts, the outbox after a
//! crash, repeated presses and updates, learners Telegram refuses.

use chrono::Utc;
use fake_telegram::TgUser;
use nudge::domain::{AnswerKind, Delivery, DeliveryState, LearnerId, OutMessage, Outgoing, Purpose, Status};
use nudge::store::StorageExt;

use crate::helpers::{TestOptions, WAIT, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_is_not_sent_twice_across_a_restart() {
    let app = spawn_app().await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    let due = app.next_nudge(42);
    app.tick_at(due).await;
    app.messages(42, 4).await;
    let (dir, fake) = app.stop().await;

    let app = spawn_app_with(TestOptions { dir: Some(dir), fake: Some(fake), ..TestOptions::default() }).await;
    // Whatever the start-up made of the agenda, the slot already sent is not sent again.
    app.tick_at(due).await;
    app.messages(42, 4).await;
    assert_eq!(app.fake.sent_to(42).len(), 4, "the slot's lesson and quiz went out once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_left_pending_by_a_crash_are_sent_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = crate::engine::open_store(dir.path());
        store
            .with_learner(LearnerId::new(42), |tx| {
                let seq = tx.next_seq()?;
                tx.put_delivery(&Delivery {
                    seq,
                    learner: LearnerId::new(42),
                    cohort: "desk".to_owned(),
                    created: Utc::now(),
                    slot: None,
                    purpose: Purpose::Reply,
                    state: DeliveryState::Pending,
                    outgoing: Some(Outgoing::Send {
                        message: OutMessage {
                            html: "left over <b>before the crash</b>".to_owned(),
                            buttons: Vec::new(),
                        },
                    }),
                })
            })
            .unwrap();
        store.flush_blocking().unwrap();
    }
    let app = spawn_app_with(TestOptions { dir: Some(dir), ..TestOptions::default() }).await;
    let sent = app.messages(42, 1).await;
    assert_eq!(sent[0].plain_text, "left over before the crash");
    app.eventually("the outbox is empty", |service| service.store().n_pending() == 0).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_press_and_a_repeated_update_record_one_answer() {
    let app = spawn_app().await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    app.tick_at(app.next_nudge(42)).await;
    let quiz = app.messages(42, 4).await[3].clone();
    let data = quiz.button("Be nice").and_then(|b| b.callback_data.clone()).unwrap();
    app.fake.user_presses(&ann, quiz.message_id, &data);
    let second = app.fake.user_presses(&ann, quiz.message_id, &data);
    app.confirmed(second).await;
    assert!(app.fake.wait_until(WAIT, |fake| fake.callback_answers().len() == 2).await);
    // The two presses are answered concurrently; sort the answers back into press order.
    let mut answered = app.fake.callback_answers();
    answered.sort_by_key(|a| a.callback_query_id.parse::<u64>().unwrap_or(u64::MAX));
    let toasts: Vec<Option<String>> = answered.into_iter().map(|a| a.text).collect();
    assert_eq!(toasts, [None, Some("You already answered this one.".to_owned())], "no verdict before the confidence");
    let answers: Vec<_> = app.service.store().answers().filter_map(Result::ok).collect();
    assert_eq!(answers.len(), 1);
    assert!(matches!(answers[0].kind, AnswerKind::Quiz { correct: false, .. }));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_who_blocks_the_bot_is_never_messaged_again_until_they_return() {
    let app = spawn_app().await;
    let (ann, bob) = (TgUser::new(42), TgUser::new(43));
    app.enrol(&ann).await;
    app.enrol(&bob).await;
    app.fake.block_chat(42);
    let due = app.next_nudge(42).max(app.next_nudge(43));
    app.tick_at(due).await;
    app.messages(43, 4).await;
    app.eventually("Ann is inactive", |service| {
        matches!(service.store().learner(LearnerId::new(42)).unwrap().unwrap().status, Status::Inactive { .. })
    })
    .await;
    let calls_to_ann = || app.fake.requests().iter().filter(|r| r.params["chat_id"] == 42).count();
    let before = calls_to_ann();
    assert_eq!(before, 3, "two welcome messages and one refused lesson; no retry");
    app.tick_at(due + chrono::Duration::days(3)).await;
    app.messages(43, 5).await;
    assert_eq!(calls_to_ann(), before, "nothing more for Ann");

    app.fake.unblock_chat(42);
    app.learner_says(&ann, "/start");
    let back = app.messages(42, 3).await;
    assert!(back[2].plain_text.contains("Welcome back"), "{}", back[2].plain_text);
    assert!(app.service.store().learner(LearnerId::new(42)).unwrap().unwrap().next_nudge.is_some());
    app.stop().await;
}
