//! Several instances on one database (PostgreSQL): Telegram allows one getUpdates consumer per
//! token, so only the holder of the poll lease polls, and a standby takes over when it stops.

use std::time::{Duration, Instant};

use fake_telegram::TgUser;
use nudge::telemetry::metrics::Metrics;

use crate::engine::on_postgres;
use crate::helpers::{TestOptions, spawn_app, spawn_app_with};

/// The bound on a takeover: the 10 s.
const TAKEOVER: Duration = Duration::from_secs(10);

/// Waits until `cond` holds for `metrics`, for at most `within`; false if it never did.
async fn until(metrics: &Metrics, within: Duration, cond: impl Fn(&Metrics) -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !cond(metrics) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_polls_and_a_standby_takes_over_when_it_stops() {
    if !on_postgres() {
        eprintln!("on PostgreSQL only: a sled store is one process's");
        return;
    }
    let first = spawn_app().await;
    assert!(until(&first.metrics, TAKEOVER, |m| m.polling.get() == 1).await, "the first instance polls");
    let shared = first.dir.as_ref().expect("dir").path().to_owned();
    let second = spawn_app_with(TestOptions {
        fake: Some(first.fake.clone()),
        database_of: Some(shared),
        ..TestOptions::default()
    })
    .await;
    let refused_twice = until(&second.metrics, TAKEOVER, |m| m.poll_lease_refused.get() >= 2).await;
    assert!(refused_twice, "the second instance asked for the lease and was refused");
    assert_eq!(second.metrics.polling.get(), 0, "the second instance stands by");

    let learner = TgUser::new(42);
    first.enrol(&learner).await;
    assert_eq!(second.metrics.updates.get(), 0, "only the holder took the update");
    assert_eq!(first.fake.stats().sent_409, 0, "never two getUpdates at once");

    let (_dir, _fake) = first.stop().await;
    let stopped = Instant::now();
    assert!(until(&second.metrics, TAKEOVER, |m| m.polling.get() == 1).await, "the second instance took over");
    let took = stopped.elapsed();
    second.learner_says(&learner, "/help");
    let replies = second.messages(learner.id, 3).await;
    assert!(replies[2].plain_text.contains("/pause"), "the help came from the instance that took over: {replies:?}");
    assert_eq!(second.metrics.updates.get(), 1, "the second instance took the /help");
    eprintln!("took over {} ms after the holder stopped", took.as_millis());
    second.stop().await;
}
