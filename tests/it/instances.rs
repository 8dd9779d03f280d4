//! Several instances on one database (PostgreSQL): only the holder of the active lease polls,
//! sends and schedules; a standby takes over when it stops, and an active instance that finds
//! another holding the lease stops.

use std::time::{Duration, Instant};

use fake_telegram::{Limits as FakeLimits, TgUser};
use nudge::config::Limits;
use nudge::telemetry::metrics::Metrics;

use crate::engine::{on_postgres, seize_the_lease};
use crate::helpers::{INVITE, WEBHOOK_SECRET};
use crate::helpers::{TestApp, TestOptions, spawn_app, spawn_app_with};
use crate::ops::free_port;
use crate::webhook::{message_update, post, webhook_lines};

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

/// The body of `/healthz` on `port`, once it answers.
async fn health(port: u16) -> String {
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
            return response.text().await.expect("a body");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("/healthz on {port} never answered")
}

/// An active first instance and a second on its database that stands by, with its operations
/// endpoints on `port`.
async fn two_instances(port: u16) -> (TestApp, TestApp) {
    let first = spawn_app().await;
    assert!(until(&first.metrics, TAKEOVER, |m| m.active.get() == 1).await, "the first instance is active");
    let shared = first.dir.as_ref().expect("dir").path().to_owned();
    let config_extra = format!("[http]\nlisten = \"127.0.0.1:{port}\"\n");
    let options = TestOptions {
        fake: Some(first.fake.clone()),
        database_of: Some(shared),
        config_extra,
        ..TestOptions::default()
    };
    let second = spawn_app_with(options).await;
    let refused_twice = until(&second.metrics, TAKEOVER, |m| m.lease_refused.get() >= 2).await;
    assert!(refused_twice, "the second instance asked for the lease and was refused");
    assert_eq!(second.metrics.active.get(), 0, "the second instance stands by");
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_active_instance_acts_and_a_standby_takes_over_when_it_stops() {
    if !on_postgres() {
        eprintln!("on PostgreSQL only: a sled store is one process's");
        return;
    }
    let port = free_port();
    let (first, second) = two_instances(port).await;
    assert!(health(port).await.ends_with("role standby\n"), "the standby says so to probes");
    let learner = TgUser::new(42);
    first.enrol(&learner).await;
    assert_eq!(second.metrics.updates.get(), 0, "only the active instance took the update");
    assert_eq!(second.metrics.messages_sent.get(), 0, "and only it sent");
    assert_eq!(first.fake.stats().sent_409, 0, "never two getUpdates at once");

    let (_dir, _fake) = first.stop().await;
    let stopped = Instant::now();
    assert!(until(&second.metrics, TAKEOVER, |m| m.active.get() == 1).await, "the second instance took over");
    let took = stopped.elapsed();
    assert!(health(port).await.ends_with("role active\n"), "and says it is active now");
    second.learner_says(&learner, "/help");
    let replies = second.messages(learner.id, 3).await;
    assert!(replies[2].plain_text.contains("/pause"), "the help came: {replies:?}");
    assert_eq!(second.metrics.updates.get(), 1, "the instance that took over took the /help");
    assert_eq!(second.metrics.messages_sent.get(), 1, "and sent the reply");
    eprintln!("took over {} ms after the active instance stopped", took.as_millis());
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_instance_that_finds_another_holding_the_lease_stops_with_a_reason() {
    if !on_postgres() {
        eprintln!("on PostgreSQL only: a sled store is one process's");
        return;
    }
    let (mut first, second) = two_instances(free_port()).await;
    let (ended, seized) = seize_the_lease(first.dir.as_ref().expect("dir").path());
    assert_eq!(ended, 1, "the server ended the active instance's session");
    let stopped = first.stopped_by_itself(TAKEOVER).await.expect("the first instance stopped by itself");
    let error = stopped.expect_err("it stops with an error, so that a supervisor starts it again");
    assert!(format!("{error:#}").contains("another instance holds the active lease"), "{error:#}");
    assert_eq!(first.metrics.active.get(), 0, "it says it is no longer active");
    assert_eq!(second.metrics.active.get(), 0, "the second still stands by while the lease is held");
    drop(seized);
    assert!(until(&second.metrics, TAKEOVER, |m| m.active.get() == 1).await, "the standby takes the lease");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_load_balancer_every_instance_takes_updates_and_only_the_active_one_sends() {
    if !on_postgres() {
        eprintln!("on PostgreSQL only: a sled store is one process's");
        return;
    }
    let (port_one, port_two) = (free_port(), free_port());
    let first = spawn_app_with(TestOptions { telegram_extra: webhook_lines(port_one), ..TestOptions::default() }).await;
    assert!(until(&first.metrics, TAKEOVER, |m| m.active.get() == 1).await, "the first instance is active");
    let options = TestOptions {
        fake: Some(first.fake.clone()),
        database_of: Some(first.dir.as_ref().expect("dir").path().to_owned()),
        telegram_extra: webhook_lines(port_two),
        ..TestOptions::default()
    };
    let second = spawn_app_with(options).await;
    assert!(until(&second.metrics, TAKEOVER, |m| m.lease_refused.get() >= 1).await, "the second stands by");

    let join = message_update(1, 42, &format!("/start {INVITE}"));
    assert_eq!(post(port_two, &join, Some(WEBHOOK_SECRET)).await, 200, "the standby took the update");
    first.messages(42, 2).await;
    assert_eq!((first.metrics.updates.get(), second.metrics.updates.get()), (0, 1), "the standby handled it");
    assert_eq!((first.metrics.messages_sent.get(), second.metrics.messages_sent.get()), (2, 0), "the active sent");

    assert_eq!(post(port_one, &join, Some(WEBHOOK_SECRET)).await, 200, "Telegram's second try, at the other one");
    assert_eq!(first.metrics.webhook_duplicates.get(), 1, "is known as handled");
    assert_eq!(post(port_one, &message_update(2, 42, "/help"), Some(WEBHOOK_SECRET)).await, 200);
    first.messages(42, 3).await;

    let (_dir, _fake) = first.stop().await;
    assert!(until(&second.metrics, TAKEOVER, |m| m.active.get() == 1).await, "the second took over");
    assert_eq!(post(port_two, &message_update(3, 42, "/help"), Some(WEBHOOK_SECRET)).await, 200);
    second.messages(42, 4).await;
    assert_eq!(second.metrics.messages_sent.get(), 1, "the new active instance sends its own replies");
    assert_eq!(second.fake.stats().calls("getUpdates"), 0, "nobody polled");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_fanning_out_at_once_nudge_each_learner_once_within_one_rate_limit() {
    if !on_postgres() {
        eprintln!("on PostgreSQL only: a sled store is one process's");
        return;
    }
    let limits = Limits { global_per_second: 40, per_chat_per_second: 2 };
    let first = spawn_app_with(TestOptions { limits, ..TestOptions::default() }).await;
    assert!(until(&first.metrics, TAKEOVER, |m| m.active.get() == 1).await, "the first instance is active");
    let shared = first.dir.as_ref().expect("dir").path().to_owned();
    let mut others = Vec::new();
    for _ in 0..2 {
        let options = TestOptions {
            fake: Some(first.fake.clone()),
            database_of: Some(shared.clone()),
            limits,
            ..TestOptions::default()
        };
        let other = spawn_app_with(options).await;
        assert!(until(&other.metrics, TAKEOVER, |m| m.lease_refused.get() >= 1).await, "it stands by");
        others.push(other);
    }
    let learners: Vec<TgUser> = (100..120).map(TgUser::new).collect();
    for learner in &learners {
        first.enrol(learner).await;
    }
    // As in `telegram::a_fan_out_stays_within_the_limits`: 10 % and 200 ms of slack for a
    // loaded machine; three senders at 40 a second each would break it at once.
    first.fake.enforce_limits(Some(FakeLimits { global_per_second: 44, per_chat_per_second: 2 }));
    first.fake.forgive_jitter(Duration::from_millis(200));
    let due = learners.iter().map(|l| first.next_nudge(l.id)).max().expect("learners");
    let started = Instant::now();
    let (a, b, c) = tokio::join!(first.tick_at(due), others[0].tick_at(due), others[1].tick_at(due));
    assert_eq!(a + b + c, learners.len(), "each learner was nudged once, by whichever instance claimed them");
    for learner in &learners {
        first.messages(learner.id, 4).await;
    }
    let elapsed = started.elapsed();
    let stats = first.fake.stats();
    assert_eq!((stats.rate_violations, stats.sent_429), (0, 0), "no call went over the one limit");
    assert!(elapsed >= Duration::from_millis(900), "40 messages at 40/s are paced, took {elapsed:?}");
    let sent_by_others: u64 = others.iter().map(|other| other.metrics.messages_sent.get()).sum();
    assert_eq!(sent_by_others, 0, "only the active instance sends, so the limit holds in total");
    eprintln!("nudged by the three: {a}, {b}, {c}; {} ms", elapsed.as_millis());
    for other in others {
        other.stop().await;
    }
    first.stop().await;
}
