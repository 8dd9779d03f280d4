//! Fitting the packs of a store: each pack's review log read from the answers (those of every
//! cohort that follows the pack), fitted, and the new weights saved only when they predict the
//! held-out learners better. Also when to fit again: once the log has doubled since the last
//! fit. The one file of `tune` with I/O.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Card, Fit, FitError, MIN_LEARNERS, MIN_REVIEWS, ReviewLog, fit};
use crate::config::Settings;
use crate::domain::{Answer, ItemId, LearnerId, PackTuning};
use crate::engine::srs::{self, Grade, Parameters};
use crate::store::{Storage, StoreError};

/// What tuning one pack came to: `nudge tune` prints it, the daemon logs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackReport {
    /// The pack.
    pub pack: String,
    /// Reviews in its log.
    pub reviews: u64,
    /// Learners in its log.
    pub learners: usize,
    /// Fitted or not, and what came of it.
    pub outcome: Outcome,
}

/// How tuning a pack ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Too few reviews or learners: nothing was fitted, the weights in use stay.
    TooFew {
        /// Reviews the weights in use were fitted on (`None`: FSRS-6's defaults).
        in_use_fitted_on: Option<u64>,
    },
    /// Fitted; `saved` says whether the new weights replaced the old.
    Fitted {
        /// The weights in use before.
        old: Vec<f32>,
        /// Reviews the old weights were fitted on (`None`: FSRS-6's defaults).
        old_fitted_on: Option<u64>,
        /// The weights fitted now.
        new: Vec<f32>,
        /// Learners held out of the fit.
        held_out_learners: usize,
        /// Their reviews, on which the log losses are measured.
        held_out_reviews: u64,
        /// Mean log loss of the old weights on the held-out reviews.
        old_log_loss: f64,
        /// The same for the new weights.
        new_log_loss: f64,
        /// True when the new weights were saved (they predicted better).
        saved: bool,
    },
}

/// Why a pack could not be tuned.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--pack` names a pack no cohort follows.
    #[error("no cohort in {config} follows a pack `{pack}`; the packs in use are: {known}")]
    UnknownPack {
        /// The pack asked for.
        pack: String,
        /// The config file.
        config: String,
        /// The packs the cohorts follow.
        known: String,
    },
    /// FSRS's optimizer failed.
    #[error("fitting pack `{pack}` failed: {reason}")]
    Optimizer {
        /// The pack.
        pack: String,
        /// What FSRS said.
        reason: String,
    },
}

/// Fits pack `only`, or every pack a cohort follows, now; saves each fit that is better.
pub fn tune(
    store: &dyn Storage,
    settings: &Settings,
    only: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<PackReport>, TuneError> {
    let packs = packs_in_use(settings);
    if let Some(pack) = only
        && !packs.contains(pack)
    {
        let known = packs.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
        return Err(TuneError::UnknownPack {
            pack: pack.to_owned(),
            config: settings.source.display().to_string(),
            known,
        });
    }
    let mut reports = Vec::new();
    for pack in packs.iter().filter(|pack| only.is_none_or(|only| only == pack.as_str())) {
        reports.push(tune_pack(store, settings, pack, now)?);
    }
    Ok(reports)
}

/// Fits every pack whose log reached [`MIN_REVIEWS`] and doubled since its last fit (the
/// daemon's daily check); returns what each fit came to.
pub fn refit_due(store: &dyn Storage, settings: &Settings, now: DateTime<Utc>) -> Result<Vec<PackReport>, TuneError> {
    let counts = review_counts(store, settings)?;
    let mut reports = Vec::new();
    for (pack, (reviews, learners)) in counts {
        let last = store.tuning(&pack)?;
        if is_due(last.as_ref(), reviews, learners) {
            reports.push(tune_pack(store, settings, &pack, now)?);
        }
    }
    Ok(reports)
}

/// True when a pack with `reviews` reviews by `learners` learners should be fitted, its last
/// fit (if any) having been on `last.reviews`.
fn is_due(last: Option<&PackTuning>, reviews: u64, learners: usize) -> bool {
    let enough = reviews >= MIN_REVIEWS && learners >= MIN_LEARNERS;
    enough && last.is_none_or(|last| reviews >= last.reviews.saturating_mul(2))
}

fn tune_pack(
    store: &dyn Storage,
    settings: &Settings,
    pack: &str,
    now: DateTime<Utc>,
) -> Result<PackReport, TuneError> {
    let log = review_log(store, settings, pack)?;
    let last = store.tuning(pack)?;
    let in_use =
        last.as_ref().and_then(|last| Some((last.weights.as_deref().and_then(Parameters::new)?, last.fitted_on)));
    let old = in_use.map_or_else(Parameters::default, |(parameters, _)| parameters);
    let old_fitted_on = in_use.map(|(_, fitted_on)| fitted_on);
    let report =
        |outcome| PackReport { pack: pack.to_owned(), reviews: log.n_reviews(), learners: log.n_learners(), outcome };
    let fitted: Fit = match fit(&log, &old) {
        Ok(fitted) => fitted,
        Err(FitError::TooFew { .. }) => return Ok(report(Outcome::TooFew { in_use_fitted_on: old_fitted_on })),
        Err(FitError::Optimizer(reason)) => return Err(TuneError::Optimizer { pack: pack.to_owned(), reason }),
    };
    let saved = fitted.is_better();
    let tuning = PackTuning {
        weights: match saved {
            true => Some(fitted.new.weights().to_vec()),
            false => in_use.map(|(parameters, _)| parameters.weights().to_vec()),
        },
        fitted_on: if saved { fitted.reviews } else { old_fitted_on.unwrap_or(0) },
        reviews: fitted.reviews,
        at: now,
    };
    store.put_tuning(pack, &tuning)?;
    Ok(report(Outcome::Fitted {
        old: old.weights().to_vec(),
        old_fitted_on,
        new: fitted.new.weights().to_vec(),
        held_out_learners: fitted.held_out_learners,
        held_out_reviews: fitted.held_out_reviews,
        old_log_loss: fitted.old_log_loss,
        new_log_loss: fitted.new_log_loss,
        saved,
    }))
}

/// The packs the cohorts follow, each once.
fn packs_in_use(settings: &Settings) -> BTreeSet<String> {
    settings.cohorts.iter().map(|cohort| cohort.pack.clone()).collect()
}

/// Pack `pack`'s review log: the quiz answers of every learner, given in any cohort that
/// follows it (a cohort no longer in the config is no pack's).
pub fn review_log(store: &dyn Storage, settings: &Settings, pack: &str) -> Result<ReviewLog, StoreError> {
    let mut log = ReviewLog::default();
    let mut learner_cards: BTreeMap<ItemId, Card> = BTreeMap::new();
    let mut current = None;
    for_each_graded(store, settings, |answer_pack, answer, grade| {
        if current != Some(answer.learner) {
            log.cards.extend(std::mem::take(&mut learner_cards).into_values());
            current = Some(answer.learner);
        }
        if answer_pack == pack {
            let card = learner_cards
                .entry(answer.item.clone())
                .or_insert_with(|| Card { learner: answer.learner, answers: Vec::new() });
            card.answers.push((answer.at, grade));
        }
    })?;
    log.cards.extend(learner_cards.into_values());
    for card in &mut log.cards {
        card.answers.sort_by_key(|(at, _)| *at);
    }
    log.cards.retain(|card| !card.answers.is_empty());
    Ok(log)
}

/// Reviews and learners per pack, in one pass that holds one learner's items at a time (the
/// daily check). Answers are taken in delivery order, which is their order in time.
fn review_counts(store: &dyn Storage, settings: &Settings) -> Result<BTreeMap<String, (u64, usize)>, StoreError> {
    let mut counts: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut last_answer: BTreeMap<(String, ItemId), DateTime<Utc>> = BTreeMap::new();
    let mut current: Option<LearnerId> = None;
    for_each_graded(store, settings, |pack, answer, _| {
        if current != Some(answer.learner) {
            last_answer.clear();
            current = Some(answer.learner);
        }
        let new_learner = !last_answer.keys().any(|(seen, _)| seen == pack);
        let (reviews, learners) = counts.entry(pack.to_owned()).or_default();
        *learners += usize::from(new_learner);
        let before = last_answer.insert((pack.to_owned(), answer.item.clone()), answer.at);
        *reviews += u64::from(before.is_some_and(|before| srs::elapsed_days(before, answer.at) > 0));
    })?;
    Ok(counts)
}

/// Calls `each` with the pack, the answer and its grade for every graded answer of the store
/// (learner by learner) given in a cohort of the config.
fn for_each_graded(
    store: &dyn Storage,
    settings: &Settings,
    mut each: impl FnMut(&str, &Answer, Grade),
) -> Result<(), StoreError> {
    for answer in store.answers() {
        let answer = answer?;
        let Some(grade) = Grade::of_answer(&answer.kind) else { continue };
        let Some(cohort) = settings.cohort(&answer.cohort) else { continue };
        each(&cohort.pack, &answer, grade);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AnswerKind, DeliverySeq};
    use crate::store::{StorageExt, Store};
    use crate::testkit::{at, settings};
    use crate::tune::synthetic::{Learners, forgetful};

    /// A store whose cohort `desk` (pack `demo`) has `learners` learners answering for `days`
    /// days as [`forgetful`] learners do; a reflection in between, and learner 0 in a cohort
    /// the config no longer has.
    fn store_with(learners: u64, days: u32) -> Store {
        let store = Store::temporary().unwrap();
        let group = Learners::following(forgetful(), 5);
        for learner in 0..=learners {
            let id = LearnerId::new(learner as i64);
            let answers = group.answers(learner, at("2026-01-05T00:00:00Z"), days);
            store
                .with_learner(id, |tx| {
                    for (idx, answer) in answers.iter().enumerate() {
                        let kind = AnswerKind::Quiz {
                            choice: 0,
                            correct: answer.grade != Grade::Again,
                            review: answer.review,
                            confidence: (answer.grade == Grade::Hard).then_some(crate::domain::Confidence::NotSure),
                        };
                        tx.put_answer(&Answer {
                            learner: id,
                            cohort: if learner == 0 { "gone".to_owned() } else { "desk".to_owned() },
                            delivery: DeliverySeq::new(2 * idx as u64 + 1),
                            item: ItemId::new(&format!("lesson-{}", answer.item), "quiz").unwrap(),
                            at: answer.at,
                            prompt_sent_at: None,
                            kind,
                        })?;
                        tx.put_answer(&Answer {
                            delivery: DeliverySeq::new(2 * idx as u64 + 2),
                            kind: AnswerKind::Reflect { question: 0, text: "so".to_owned(), shared: false },
                            ..tx.answer(DeliverySeq::new(2 * idx as u64 + 1), 0)?.expect("just put")
                        })?;
                    }
                    Ok(())
                })
                .unwrap();
        }
        store
    }

    #[test]
    fn the_log_holds_the_quiz_answers_of_the_packs_cohorts_per_learner_and_item() {
        let store = store_with(3, 40);
        let log = review_log(&store, &settings(), "demo").unwrap();
        let expected = Learners::following(forgetful(), 5).review_log(3, at("2026-01-05T00:00:00Z"), 40);
        let sorted = |log: &ReviewLog| {
            let mut cards: Vec<_> = log.cards.iter().map(|card| (card.learner, card.answers.clone())).collect();
            cards.sort_by_key(|(learner, answers)| (*learner, answers[0].0));
            cards
        };
        assert_eq!(
            sorted(&log),
            sorted(&expected),
            "learner 0's cohort follows no pack now; reflections are no reviews"
        );
        assert_eq!(review_counts(&store, &settings()).unwrap()["demo"], (log.n_reviews(), 3));
        assert!(review_log(&store, &settings(), "other").unwrap().cards.is_empty());
    }

    #[test]
    fn a_pack_with_too_few_reviews_keeps_the_defaults_and_nothing_is_written() {
        let store = store_with(5, 30);
        let reports = tune(&store, &settings(), None, at("2026-03-01T03:00:00Z")).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].outcome, Outcome::TooFew { in_use_fitted_on: None });
        assert_eq!(store.tuning("demo").unwrap(), None);
        assert!(refit_due(&store, &settings(), at("2026-03-01T03:00:00Z")).unwrap().is_empty());
    }

    #[test]
    fn a_better_fit_is_saved_and_the_next_waits_until_the_log_has_doubled() {
        let store = store_with(60, 120);
        let now = at("2026-05-01T03:00:00Z");
        let [report] = <[PackReport; 1]>::try_from(refit_due(&store, &settings(), now).unwrap()).unwrap();
        let Outcome::Fitted { saved, old_fitted_on, old, new, old_log_loss, new_log_loss, .. } = &report.outcome else {
            panic!("{report:?}")
        };
        assert!(*saved && new_log_loss < old_log_loss, "{report:?}");
        assert_eq!((old_fitted_on, old.as_slice()), (&None, &fsrs::DEFAULT_PARAMETERS[..]));
        let tuning = store.tuning("demo").unwrap().unwrap();
        assert_eq!(
            tuning,
            PackTuning { weights: Some(new.clone()), fitted_on: report.reviews, reviews: report.reviews, at: now }
        );
        assert!(refit_due(&store, &settings(), now).unwrap().is_empty(), "the log has not doubled");

        // `nudge tune` fits at once, against the weights now in use.
        let [again] = <[PackReport; 1]>::try_from(tune(&store, &settings(), Some("demo"), now).unwrap()).unwrap();
        let Outcome::Fitted { old, old_fitted_on, saved, .. } = &again.outcome else { panic!("{again:?}") };
        assert_eq!((old, *old_fitted_on), (new, Some(report.reviews)));
        if !saved {
            assert_eq!(store.tuning("demo").unwrap().unwrap().weights.as_ref(), Some(new), "the old ones stay");
        }
    }

    #[test]
    fn a_log_that_doubled_is_due_again() {
        let last = PackTuning { weights: None, fitted_on: 0, reviews: 1_500, at: at("2026-05-01T03:00:00Z") };
        let due = |reviews, learners| is_due(Some(&last), reviews, learners);
        assert!(!due(2_999, 40) && due(3_000, 40) && !due(3_000, 9));
        assert!(is_due(None, MIN_REVIEWS, MIN_LEARNERS) && !is_due(None, MIN_REVIEWS - 1, 40));
    }

    #[test]
    fn a_pack_no_cohort_follows_is_refused_by_name() {
        let store = Store::temporary().unwrap();
        let error = tune(&store, &settings(), Some("sales"), at("2026-05-01T03:00:00Z")).unwrap_err();
        assert_eq!(error.to_string(), "no cohort in test.toml follows a pack `sales`; the packs in use are: demo");
    }
}
