//! The fit against learners who remember by known weights: it must find their memory again and
//! predict held-out learners better than FSRS-6's defaults.

use super::synthetic::{Learners, forgetful};
use super::*;
use crate::engine::srs::Parameters;
use crate::testkit::at;

/// The weights the simulated learners remember by.
fn truth() -> Parameters {
    let truth = forgetful();
    assert_ne!(truth, Parameters::default());
    truth
}

/// `learners` following [`truth`] for `days` days, scheduled with the defaults; half of them miss
/// any given day, so reviews come at many delays.
fn log(learners: u64, days: u32) -> ReviewLog {
    let group = Learners { absent: 0.5, ..Learners::following(truth(), 7) };
    group.review_log(learners, at("2026-01-05T00:00:00Z"), days)
}

fn held_out_cards(log: &ReviewLog) -> Vec<&Card> {
    let held = fit::held_out(log);
    log.cards.iter().filter(|card| held.binary_search(&card.learner).is_ok()).collect()
}

/// Mean absolute difference between the recall `a` and `b` predict for every review of `cards`.
fn recall_gap(cards: &[&Card], a: &Parameters, b: &Parameters) -> f64 {
    let (mut total, mut count) = (0.0, 0);
    for card in cards {
        let reviews = card.reviews();
        let item = fsrs::FSRSItem { reviews: reviews.clone() };
        let (Ok(states_a), Ok(states_b)) =
            (a.model().historical_memory_states(item.clone(), None), b.model().historical_memory_states(item, None))
        else {
            continue;
        };
        for (idx, review) in reviews.iter().enumerate().skip(1).filter(|(_, review)| review.delta_t > 0) {
            let days = f64::from(review.delta_t);
            let recall_a = a.recall(f64::from(states_a[idx - 1].stability), days);
            let recall_b = b.recall(f64::from(states_b[idx - 1].stability), days);
            total += (recall_a - recall_b).abs();
            count += 1;
        }
    }
    total / f64::from(count)
}

#[test]
fn a_fit_finds_the_learners_memory_again_and_beats_the_defaults_on_held_out_learners() {
    let log = log(1_000, 365);
    assert!(log.n_reviews() > 200_000, "{}", log.n_reviews());
    let fitted = fit(&log, &Parameters::default()).unwrap();
    let held = held_out_cards(&log);
    assert_eq!((fitted.held_out_learners, fitted.learners), (200, 1_000));

    let (truth_loss, _) = log_loss(&held, &truth());
    assert!(fitted.is_better(), "{} < {}", fitted.new_log_loss, fitted.old_log_loss);
    assert!(fitted.old_log_loss - fitted.new_log_loss > 0.05, "{fitted:?}");
    assert!(fitted.new_log_loss < truth_loss * 1.01, "within 1 % of the true weights' {truth_loss}: {fitted:?}");

    let gap = recall_gap(&held, &fitted.new, &truth());
    let defaults_gap = recall_gap(&held, &Parameters::default(), &truth());
    assert!(gap < 0.03 && defaults_gap > 0.1, "predicted recall off by {gap:.4} (the defaults by {defaults_gap:.4})");

    // The weights a log of right and wrong answers at daily slots pins down; the others (hard,
    // easy, same day, and the lapse weights that trade off against each other) it barely does.
    for (idx, tolerance) in [(2, 0.15), (8, 0.15), (9, 0.15), (10, 0.15), (6, 0.2), (20, 0.2), (4, 0.25), (11, 0.25)] {
        let (found, true_weight) = (fitted.new.weights()[idx], truth().weights()[idx]);
        let off = (found - true_weight).abs() / true_weight;
        assert!(off < tolerance, "w{idx}: {found} where {true_weight} is true ({:.0} % off)", off * 100.0);
    }
}

#[test]
fn a_small_log_is_not_fitted() {
    let log = log(12, 30);
    assert!(log.n_reviews() < MIN_REVIEWS, "{}", log.n_reviews());
    assert_eq!(fit(&log, &Parameters::default()), Err(FitError::TooFew { reviews: log.n_reviews(), learners: 12 }));
}

#[test]
fn whole_learners_are_held_out_one_in_five_the_same_every_time() {
    let log = log(50, 20);
    let held = fit::held_out(&log);
    assert_eq!(held.len(), 10);
    assert_eq!(held, fit::held_out(&ReviewLog { cards: log.cards.iter().rev().cloned().collect() }));
    assert!(held.windows(2).all(|pair| pair[0] < pair[1]));
}

#[test]
fn reviews_count_the_answers_a_day_or_more_after_the_one_before() {
    let card = Card {
        learner: crate::domain::LearnerId::new(1),
        answers: vec![
            (at("2026-01-05T09:00:00Z"), Grade::Again),
            (at("2026-01-06T08:50:00Z"), Grade::Good),
            (at("2026-01-06T09:30:00Z"), Grade::Good),
            (at("2026-01-09T09:00:00Z"), Grade::Good),
        ],
    };
    assert_eq!(card.n_reviews(), 2);
    let ratings: Vec<(u32, u32)> = card.reviews().iter().map(|review| (review.rating, review.delta_t)).collect();
    assert_eq!(ratings, [(1, 0), (3, 1), (3, 0), (3, 3)]);
}

#[test]
fn simulated_learners_remember_as_their_weights_say() {
    let group = Learners::following(truth(), 3);
    let answers = group.answers(1, at("2026-01-05T00:00:00Z"), 90);
    let first_tries = answers.iter().filter(|answer| !answer.review).count();
    assert_eq!(first_tries, group.items);
    assert!(answers.windows(2).all(|pair| pair[0].at < pair[1].at), "oldest first");
    let reviews: Vec<_> = answers.iter().filter(|answer| answer.review).collect();
    let right = reviews.iter().filter(|answer| answer.grade == Grade::Good).count() as f64 / reviews.len() as f64;
    assert!((0.5..0.85).contains(&right), "{right}: these learners forget faster than the schedule expects");
}

#[test]
fn new_weights_must_predict_one_percent_better_to_be_kept() {
    let fitted = |new_log_loss| Fit {
        reviews: 2_000,
        learners: 30,
        held_out_learners: 6,
        held_out_reviews: 400,
        old: Parameters::default(),
        new: truth(),
        old_log_loss: 0.5,
        new_log_loss,
    };
    assert!(fitted(0.49).is_better() && !fitted(0.496).is_better() && !fitted(0.51).is_better());
}
