//! An onboarding track through the real daemon and the fake Bot API: a new hire who joins in
//! the afternoon gets lesson 1 at once, their next nudge the next morning at the track's time, and
//! `/progress` says which day of the track they are on.

use chrono::{Duration, Timelike, Utc};
use fake_telegram::TgUser;

use crate::helpers::{TestApp, TestOptions, spawn_app_with, texts};

/// A fixed-offset zone in which it is mid-afternoon now (15:xx), so the test means the same
/// whenever it runs: joining after the track's 09:00 and outside the quiet hours.
fn afternoon_zone() -> (String, i64) {
    let mut offset = 15 - i64::from(Utc::now().hour());
    if offset < -12 {
        offset += 24;
    } else if offset > 14 {
        offset -= 24;
    }
    // `Etc/GMT-3` is three hours ahead of UTC: the sign is the other way round.
    let zone = match offset {
        0 => "Etc/GMT".to_owned(),
        ahead if ahead > 0 => format!("Etc/GMT-{ahead}"),
        behind => format!("Etc/GMT+{}", -behind),
    };
    (zone, offset)
}

async fn track_app(zone: &str) -> TestApp {
    spawn_app_with(TestOptions {
        track: Some("track = \"onboarding\"\ndays = [0, 1]\ntime = \"09:00\"".to_owned()),
        timezone: zone.to_owned(),
        ..TestOptions::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_hire_who_joins_in_the_afternoon_gets_lesson_1_at_once_and_the_next_nudge_at_nine_next_morning() {
    let (zone, offset) = afternoon_zone();
    let app = track_app(&zone).await;
    let sam = TgUser::new(42);
    let joined = Utc::now();
    app.enrol(&sam).await;

    let catch_up = app.next_nudge(42);
    assert!(catch_up > joined && catch_up <= Utc::now() + Duration::seconds(2), "at once: {catch_up}");
    assert_eq!(app.tick_at(catch_up).await, 1);
    let sent = app.messages(42, 4).await;
    assert!(sent[2].plain_text.contains("What for?"), "lesson 1 the same afternoon: {:#?}", texts(&sent));

    let tomorrow_nine = {
        let local = (catch_up + Duration::hours(offset)).date_naive() + Duration::days(1);
        local.and_hms_opt(9, 0, 0).expect("09:00").and_utc() - Duration::hours(offset)
    };
    assert_eq!(app.next_nudge(42), tomorrow_nine, "day 1 at the track's time, in the cohort's zone");
    assert_eq!(app.tick_at(tomorrow_nine).await, 1);
    // The quiz of lesson 1 was never answered: the rest of lesson 1 comes first (its
    // reflection waits for an answer), lesson 2 after it.
    let sent = app.messages(42, 5).await;
    assert!(sent[4].plain_text.contains("Think of your week"), "{:#?}", texts(&sent));

    app.learner_says(&sam, "/progress");
    let progress = app.messages(42, 6).await.remove(5);
    assert!(progress.plain_text.contains("Your track: day 0 of 1"), "today is still day 0: {}", progress.plain_text);
}
