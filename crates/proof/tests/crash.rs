//! The reduced crash test CI runs: 5 rounds with a kill, 100 learners, 20 of them answering.

use nudge_proof::crash::{CrashOptions, run};
use nudge_proof::daemon::nudge_binary;

#[test]
fn no_answer_is_lost_and_no_slot_repeats_beyond_the_sends_in_flight() {
    let options = CrashOptions {
        rounds: 5,
        learners: 100,
        answering: 20,
        binary: nudge_binary(None).unwrap(),
        seed: 11,
        instances: 1,
        webhook: false,
    };
    let rounds = run(&options, |idx, round| eprintln!("round {idx}: {round:?}")).unwrap();
    assert_eq!(rounds.len(), 6);
    assert_eq!(rounds[0].duplicates, 0, "the control round has no duplicates");
    for round in &rounds {
        assert!(round.passed(), "{round:?}");
        assert_eq!(round.missing_prompts, 0);
        assert_eq!(round.lost_answers, 0);
        assert_eq!(round.confirmed, 20, "every press was confirmed in the end");
    }
}
