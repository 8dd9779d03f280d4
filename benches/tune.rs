//! Fitting a pack's FSRS weights to 100,000 reviews (target: under 10 s on a 2-core machine):
//! the fit alone (`tune::fit`: held-out split, FSRS's optimizer, both log losses), and all of
//! `nudge tune` on a store holding them (reading the log from the answers, the fit, saving).

use chrono::{DateTime, Utc};
use divan::Bencher;
use nudge::domain::{Answer, AnswerKind, DeliverySeq, ItemId, LearnerId};
use nudge::engine::srs::{Grade, Parameters};
use nudge::store::{StorageExt, Store};
use nudge::tune::synthetic::{Learners, forgetful};
use nudge::tune::{ReviewLog, fit};

fn main() {
    divan::main();
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").map(|at| at.with_timezone(&Utc)).unwrap_or_default()
}

/// Learners who make about 100,000 reviews in a year.
const LEARNERS: u64 = 312;

/// About 100,000 reviews: [`LEARNERS`] learners who remember by [`forgetful`], over a year.
fn hundred_thousand_reviews() -> ReviewLog {
    let log = Learners::following(forgetful(), 1).review_log(LEARNERS, start(), 365);
    assert!((95_000..110_000).contains(&log.n_reviews()), "{} reviews", log.n_reviews());
    log
}

#[divan::bench(sample_count = 10)]
fn fit_100_000_reviews(bencher: Bencher) {
    let log = hundred_thousand_reviews();
    bencher.bench(|| fit(&log, &Parameters::default()).expect("fitted"));
}

#[divan::bench(sample_count = 10)]
fn tune_a_store_with_100_000_reviews(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    let group = Learners::following(forgetful(), 1);
    for learner in 1..=LEARNERS {
        let id = LearnerId::new(learner as i64);
        let answers = group.answers(learner, start(), 365);
        store
            .with_learner(id, |tx| {
                for (idx, answer) in answers.iter().enumerate() {
                    tx.put_answer(&Answer {
                        learner: id,
                        cohort: "desk".to_owned(),
                        delivery: DeliverySeq::new(idx as u64 + 1),
                        item: ItemId::new(&format!("lesson-{}", answer.item), "quiz").expect("item id"),
                        at: answer.at,
                        prompt_sent_at: None,
                        kind: AnswerKind::Quiz {
                            choice: 0,
                            correct: answer.grade == Grade::Good,
                            review: answer.review,
                            confidence: None,
                        },
                    })?;
                }
                Ok(())
            })
            .expect("answers");
    }
    let config = format!(
        "[store]\npath = \"{}\"\n\n[[cohorts]]\nid = \"desk\"\npack = \"demo\"\ninvite = \"D\"\nschedule = \"0 9 * * *\"\ntimezone = \"UTC\"\nlanguage = \"en\"\n",
        dir.path().join("store").display()
    );
    let settings = nudge::config::Settings::parse(&config, std::path::Path::new("nudge.toml")).expect("settings");
    bencher.bench(|| nudge::tune::from_store::tune(&store, &settings, None, start()).expect("tuned"));
}
