//! The fit itself, pure: whole learners held out, FSRS-6 fitted on the others with `fsrs`'s
//! optimizer, and the log loss of the old and the new weights on the held-out learners' reviews.

use fsrs::{ComputeParametersInput, FSRSItem, compute_parameters};

use super::{Card, ReviewLog};
use crate::domain::LearnerId;
use crate::engine::srs::Parameters;

/// Fewest reviews (see [`Card::n_reviews`]) a pack's log needs before it is fitted: below this
/// a fit follows the noise, and FSRS-6's defaults (fitted on many people) predict better.
pub const MIN_REVIEWS: u64 = 1_000;
/// Fewest learners a pack's log needs: a fifth of them are held out, and a held-out share of one
/// or two people says little.
pub const MIN_LEARNERS: usize = 10;
/// How much lower the new weights' held-out log loss must be for them to be kept: 1 %. When
/// FSRS-6's defaults already fit the learners, a fit on a small log still beats them on the
/// held-out learners now and then by chance (by 0.05 to 1.4 % on simulated logs of 1,000 to
/// 3,000 reviews), and such weights predict new learners slightly worse; where the defaults do
/// not fit, fits on as many reviews gained 1.9 to 17 %.
pub const MIN_GAIN: f64 = 0.01;
/// One learner in this many is held out.
const HOLD_OUT_EVERY: usize = 5;
/// Predictions are kept this far from 0 and 1, so one confident miss does not dominate the loss.
const CLAMP: f64 = 1e-4;

/// What fitting a pack's log found.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Reviews in the whole log.
    pub reviews: u64,
    /// Learners in the whole log.
    pub learners: usize,
    /// Learners held out of the fit to judge it.
    pub held_out_learners: usize,
    /// Their reviews, on which both log losses are measured.
    pub held_out_reviews: u64,
    /// The weights in use before.
    pub old: Parameters,
    /// The weights fitted on the other learners.
    pub new: Parameters,
    /// Mean log loss of the old weights' predictions on the held-out reviews.
    pub old_log_loss: f64,
    /// The same for the new weights.
    pub new_log_loss: f64,
}

impl Fit {
    /// True when the new weights predict the held-out learners better, by [`MIN_GAIN`] at
    /// least: only then are they kept.
    pub fn is_better(&self) -> bool {
        self.new_log_loss < self.old_log_loss * (1.0 - MIN_GAIN)
    }
}

/// Why a log was not fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Too little data: the weights in use stay.
    #[error(
        "{reviews} reviews by {learners} learners are too few to fit (at least {MIN_REVIEWS} reviews by {MIN_LEARNERS} learners)"
    )]
    TooFew {
        /// Reviews in the log.
        reviews: u64,
        /// Learners in the log.
        learners: usize,
    },
    /// FSRS's optimizer failed or gave weights it would not schedule with.
    #[error("FSRS's optimizer failed: {0}")]
    Optimizer(String),
}

/// Fits FSRS-6 to `log`, holding out one learner in five (the same ones for the same learners),
/// and compares the fitted weights with `old` on the held-out learners.
pub fn fit(log: &ReviewLog, old: &Parameters) -> Result<Fit, FitError> {
    let (reviews, learners) = (log.n_reviews(), log.n_learners());
    if reviews < MIN_REVIEWS || learners < MIN_LEARNERS {
        return Err(FitError::TooFew { reviews, learners });
    }
    let held_out = held_out(log);
    let (test, train): (Vec<&Card>, Vec<&Card>) =
        log.cards.iter().partition(|card| held_out.binary_search(&card.learner).is_ok());
    let (train_set, card_ids) = training_items(&train);
    let weights = compute_parameters(ComputeParametersInput {
        train_set,
        card_ids: Some(card_ids),
        // Without it FSRS freezes the first stabilities at a first guess made with the default
        // decay. nudge never asks twice a day, so the same-day weights it also fits go unused.
        enable_short_term: true,
        ..ComputeParametersInput::default()
    })
    .map_err(|error| FitError::Optimizer(error.to_string()))?;
    let new = Parameters::new(&weights)
        .ok_or_else(|| FitError::Optimizer(format!("it returned weights FSRS cannot use: {weights:?}")))?;
    let (old_log_loss, held_out_reviews) = log_loss(&test, old);
    let (new_log_loss, _) = log_loss(&test, &new);
    Ok(Fit {
        reviews,
        learners,
        held_out_learners: held_out.len(),
        held_out_reviews,
        old: *old,
        new,
        old_log_loss,
        new_log_loss,
    })
}

/// The learners held out, sorted: every fifth by a hash of their id, so the choice is spread
/// over the log, the same in every run, and never the newest or oldest learners.
pub(super) fn held_out(log: &ReviewLog) -> Vec<LearnerId> {
    let mut learners: Vec<LearnerId> = log.cards.iter().map(|card| card.learner).collect();
    learners.sort_unstable();
    learners.dedup();
    learners.sort_by_key(|learner| mix(learner.get() as u64));
    let mut held: Vec<LearnerId> = learners.into_iter().step_by(HOLD_OUT_EVERY).collect();
    held.sort_unstable();
    held
}

/// SplitMix64's finaliser: a stable hash of a learner id.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What FSRS's optimizer trains on: for every review, the card's history up to and including it,
/// oldest review first (the optimizer weighs recent ones more), with the card each belongs to.
fn training_items(cards: &[&Card]) -> (Vec<FSRSItem>, Vec<i64>) {
    let mut items = Vec::new();
    for (card_id, card) in cards.iter().enumerate() {
        let reviews = card.reviews();
        for (idx, review) in reviews.iter().enumerate().skip(1) {
            if review.delta_t > 0 {
                items.push((card.answers[idx].0, card_id as i64, FSRSItem { reviews: reviews[..=idx].to_vec() }));
            }
        }
    }
    items.sort_by_key(|(at, card_id, _)| (*at, *card_id));
    items.into_iter().map(|(_, card_id, item)| (item, card_id)).unzip()
}

/// Mean log loss of `parameters`' predicted recall on every review of `cards` (each predicted
/// from the card's history before it), and how many reviews that was.
pub fn log_loss(cards: &[&Card], parameters: &Parameters) -> (f64, u64) {
    let model = parameters.model();
    let (mut total, mut count) = (0.0, 0u64);
    for card in cards {
        let reviews = card.reviews();
        let Ok(states) = model.historical_memory_states(FSRSItem { reviews: reviews.clone() }, None) else { continue };
        for (idx, review) in reviews.iter().enumerate().skip(1) {
            if review.delta_t == 0 {
                continue;
            }
            let recall = parameters.recall(f64::from(states[idx - 1].stability), f64::from(review.delta_t));
            let recall = recall.clamp(CLAMP, 1.0 - CLAMP);
            total -= if review.rating > 1 { recall.ln() } else { (1.0 - recall).ln() };
            count += 1;
        }
    }
    (if count == 0 { f64::NAN } else { total / count as f64 }, count)
}
