//! The reduced multi-instance crash test CI runs on PostgreSQL (a test binary of its own: the
//! engine and database a run uses are process-wide).
#![cfg(feature = "postgres")]

use nudge_proof::crash::{CrashOptions, run};
use nudge_proof::daemon::nudge_binary;

/// The reduced multi-instance crash test CI runs on PostgreSQL: 2 instances, 3 rounds killing
/// the active one, 100 learners, 20 of them answering.
#[test]
fn with_two_instances_a_standby_takes_over_and_nothing_is_lost() {
    if nudge::store::pg::testdb::server().is_none() {
        return;
    }
    nudge_proof::setup::use_backend(nudge::config::Backend::Postgres);
    let options = CrashOptions {
        rounds: 3,
        learners: 100,
        answering: 20,
        binary: nudge_binary(None).unwrap(),
        seed: 11,
        instances: 2,
        webhook: false,
    };
    let rounds = run(&options, |idx, round| eprintln!("round {idx}: {round:?}")).unwrap();
    assert_eq!(rounds.len(), 4);
    assert_eq!(rounds[0].duplicates, 0, "the control round has no duplicates");
    assert_eq!(rounds[0].taken_over_in, None, "nobody was killed in the control round");
    for round in &rounds[1..] {
        assert!(round.passed(), "{round:?}");
        let took = round.taken_over_in.expect("a standby took over");
        assert!(took <= nudge_proof::crash::TAKEOVER_BOUND, "{round:?}");
    }
    for round in &rounds {
        assert_eq!((round.missing_prompts, round.lost_answers), (0, 0), "{round:?}");
        assert_eq!(round.confirmed, 20, "every press was confirmed in the end");
    }
}
