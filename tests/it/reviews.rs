//! Spaced reviews nobody answers: sent once, then they wait for their answer; nothing piles up.

use fake_telegram::TgUser;
use nudge::domain::{AnswerKind, Purpose};
use nudge::service::Service;

use crate::helpers::{spawn_app, texts};

fn reviews_recorded(service: &Service) -> usize {
    let deliveries = service.store().deliveries().filter_map(Result::ok);
    deliveries.filter(|delivery| matches!(delivery.purpose, Purpose::Quiz { review: true, .. })).count()
}

fn review_answers(service: &Service) -> usize {
    let answers = service.store().answers().filter_map(Result::ok);
    answers.filter(|answer| matches!(answer.kind, AnswerKind::Quiz { review: true, .. })).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_review_is_sent_exactly_once_over_two_weeks_and_counts_once() {
    let app = spawn_app().await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    app.tick_at(app.next_nudge(42)).await;
    app.messages(42, 4).await;
    let first_try = app.press(&ann, "Fewer repeat calls");
    app.confirmed(first_try).await;

    for _ in 0..14 {
        app.tick_at(app.next_nudge(42)).await;
        app.eventually("every nudge is sent", |service| service.store().pending().is_ok_and(|p| p.is_empty())).await;
    }

    assert_eq!(reviews_recorded(&app.service), 1, "one review, never re-sent while it waits");
    let sent = app.fake.sent_to(42);
    let shown: Vec<_> = sent.iter().filter(|message| message.plain_text.contains("Review")).collect();
    assert_eq!(shown.len(), 1, "{:?}", texts(&sent));
    assert_eq!(shown[0].button_labels(), ["Be nice", "Fewer repeat calls"], "its buttons stay live");

    let answer = app.fake.user_presses(&ann, shown[0].message_id, &review_data(shown[0]));
    app.confirmed(answer).await;
    let again = app.fake.user_presses(&ann, shown[0].message_id, &review_data(shown[0]));
    app.confirmed(again).await;
    assert_eq!(review_answers(&app.service), 1, "the review counts once");
    app.stop().await;
}

fn review_data(message: &fake_telegram::BotMessage) -> String {
    message.button("Fewer repeat calls").and_then(|button| button.callback_data.clone()).expect("callback data")
}
