//! Every schedule the config accepts nudges, and `/time`, `/pause` and `/resume` on a dense
//! schedule keep the learner nudged and say the real next time.

use chrono::{Duration, Utc};
use fake_telegram::TgUser;
use nudge::domain::LearnerId;

use crate::helpers::{TestApp, TestOptions, spawn_app_with, texts};

async fn dense_app(schedule: &str) -> TestApp {
    spawn_app_with(TestOptions {
        schedule: schedule.to_owned(),
        cohort_extra: "quiet_hours = \"none\"\n".to_owned(),
        ..TestOptions::default()
    })
    .await
}

/// The next nudge as the learner reads it: hours and minutes in the cohort's zone.
fn clock_time(at: chrono::DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Amsterdam).format("%H:%M").to_string()
}

/// Waits until every delivery is out, then returns exactly what chat `id` received.
async fn all_sent_to(app: &TestApp, id: i64) -> Vec<fake_telegram::BotMessage> {
    app.eventually("the outbox is empty", |service| service.store().pending().is_ok_and(|pending| pending.is_empty()))
        .await;
    app.fake.sent_to(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_of_every_three_seconds_nudges_every_three_seconds() {
    let app = dense_app("*/3 * * * * *").await;
    let ann = TgUser::new(42);
    let before = Utc::now();
    app.enrol(&ann).await;

    let due = app.next_nudge(42);
    assert!(due > before && due <= Utc::now() + Duration::seconds(3), "due {due}, enrolled at {before}");
    assert_eq!(app.tick_at(due).await, 1);
    let sent = all_sent_to(&app, 42).await;
    assert_eq!(sent.len(), 4, "welcome, privacy notice, lesson, quiz: {:#?}", texts(&sent));
    assert_eq!(app.next_nudge(42) - due, Duration::seconds(3), "the next slot, three seconds on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_of_every_twenty_seconds_nudges() {
    let app = dense_app("*/20 * * * * *").await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    let due = app.next_nudge(42);
    assert!(due <= Utc::now() + Duration::seconds(20), "due {due}");
    assert_eq!(app.tick_at(due).await, 1);
    assert_eq!(all_sent_to(&app, 42).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_demo_keeps_nudging_a_learner_who_sets_a_time() {
    let app = dense_app("*/2 * * * *").await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;

    app.learner_says(&ann, "/time 08:30");
    let reply = app.messages(42, 3).await.remove(2);
    let due = app.next_nudge(42);
    assert!(due <= Utc::now() + Duration::minutes(2), "every two minutes, shifted: due {due}");
    assert!(reply.plain_text.contains("start at 08:30 (Europe/Amsterdam)"), "{}", reply.plain_text);
    assert!(reply.plain_text.contains(&clock_time(due)), "the reply names the real next time: {}", reply.plain_text);
    assert!(!reply.plain_text.contains("soon"), "{}", reply.plain_text);

    assert_eq!(app.tick_at(due).await, 1);
    assert_eq!(all_sent_to(&app, 42).await.len(), 5, "the lesson and its quiz follow the reply");
    assert!(app.next_nudge(42) > due, "and the learner stays on the agenda");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_in_the_middle_of_a_programme_say_the_real_next_time() {
    let app = dense_app("*/20 * * * * *").await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    assert_eq!(app.tick_at(app.next_nudge(42)).await, 1);
    assert_eq!(all_sent_to(&app, 42).await.len(), 4);

    app.learner_says(&ann, "/pause");
    app.messages(42, 5).await;
    app.eventually("no nudge while paused", |service| {
        service.store().learner(LearnerId::new(42)).ok().flatten().is_some_and(|learner| learner.next_nudge.is_none())
    })
    .await;

    app.learner_says(&ann, "/resume");
    let reply = app.messages(42, 6).await.remove(5);
    let due = app.next_nudge(42);
    assert!(due <= Utc::now() + Duration::seconds(20), "due {due}");
    assert!(reply.plain_text.contains(&clock_time(due)), "{}", reply.plain_text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_learner_who_sets_a_time_is_told_the_nudges_wait_for_resume() {
    let app = dense_app("*/20 * * * * *").await;
    let ann = TgUser::new(42);
    app.enrol(&ann).await;
    app.learner_says(&ann, "/pause");
    app.messages(42, 3).await;
    app.learner_says(&ann, "/time 08:30");
    let reply = app.messages(42, 4).await.remove(3);
    assert!(reply.plain_text.ends_with("Next one: after you send /resume."), "{}", reply.plain_text);
}
