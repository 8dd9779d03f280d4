//! The reduced webhook crash test CI runs on PostgreSQL (a test binary of its own: the engine
//! and database a run uses are process-wide): every instance takes the updates the fake posts
//! through the proof's round-robin balancer, and the active one is killed each round.
#![cfg(feature = "postgres")]

use nudge_proof::crash::{CrashOptions, TAKEOVER_BOUND, run};
use nudge_proof::daemon::nudge_binary;

/// 2 instances in webhook mode, 3 rounds killing the active one, 100 learners, 20 answering (4
/// of them after the kill, while the killed instance's port refuses).
#[test]
fn behind_a_balancer_no_update_is_lost_or_handled_twice() {
    if nudge::store::pg::testdb::server().is_none() {
        return;
    }
    nudge_proof::setup::use_backend(nudge::config::Backend::Postgres);
    let options = CrashOptions {
        rounds: 3,
        learners: 100,
        answering: 20,
        binary: nudge_binary(None).unwrap(),
        seed: 13,
        instances: 2,
        webhook: true,
    };
    let rounds = run(&options, |idx, round| eprintln!("round {idx}: {round:?}")).unwrap();
    assert_eq!(rounds.len(), 4);
    assert_eq!((rounds[0].duplicates, rounds[0].handled_twice), (0, 0), "the control round repeats nothing");
    assert_eq!(rounds[0].taken_over_in, None, "nobody was killed in the control round");
    assert_eq!(rounds[0].press_answers, 20, "every press was answered once, as the check of twice sees");
    for round in &rounds[1..] {
        assert!(round.passed(), "{round:?}");
        let took = round.taken_over_in.expect("a standby took over");
        assert!(took <= TAKEOVER_BOUND, "{round:?}");
        let balanced = round.balanced.expect("the balancer's counts");
        assert!(balanced.second_tries > 0, "presses made after the kill met the dead port: {round:?}");
    }
    for round in &rounds {
        assert_eq!((round.missing_prompts, round.lost_answers, round.double_answers), (0, 0, 0), "{round:?}");
        assert_eq!(round.confirmed, 20, "every press was confirmed in the end");
        let balanced = round.balanced.expect("the balancer's counts");
        assert!(balanced.forwarded >= 20, "every press went through the balancer: {round:?}");
        assert_eq!(round.conflicts, 0, "no instance polled: {round:?}");
    }
}

/// `--webhook` needs several instances.
#[test]
fn webhook_with_one_instance_is_refused() {
    let options = CrashOptions {
        rounds: 1,
        learners: 1,
        answering: 0,
        binary: "nudge".into(),
        seed: 1,
        instances: 1,
        webhook: true,
    };
    let error = run(&options, |_, _| {}).expect_err("refused").to_string();
    assert!(error.contains("--instances 2 or more"), "{error}");
}
