//! Engagement figures per cohort, computed from records (pure: data in, figures out), and
//! their formats. Aggregates only: no figure names or ranks a person.

pub mod format;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{Answer, AnswerKind, Delivery, DeliveryState, Learner};

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// One entry per cohort, in id order.
    pub cohorts: Vec<CohortFigures>,
}

/// The figures of one cohort.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CohortFigures {
    /// Cohort id.
    pub cohort: String,
    /// Learners who joined.
    pub learners_enrolled: usize,
    /// Prompts (lessons, quizzes, reflections, practice) Telegram accepted.
    pub prompts_sent: usize,
    /// Quiz questions answered.
    pub quiz_answers: usize,
    /// Share of quiz answers that were right (0 to 1), `None` without answers.
    pub quiz_correct_share: Option<f64>,
    /// Reflection questions answered.
    pub reflections_answered: usize,
}

/// Counts the figures per cohort; `cohorts` lists cohorts to show even without activity.
pub fn compute(
    cohorts: &[String],
    learners: impl IntoIterator<Item = Learner>,
    deliveries: impl IntoIterator<Item = Delivery>,
    answers: impl IntoIterator<Item = Answer>,
    now: DateTime<Utc>,
) -> Report {
    let mut figures: BTreeMap<String, CohortFigures> = cohorts
        .iter()
        .map(|id| (id.clone(), CohortFigures { cohort: id.clone(), ..CohortFigures::default() }))
        .collect();
    for learner in learners {
        entry(&mut figures, &learner.cohort).learners_enrolled += 1;
    }
    for delivery in deliveries {
        if delivery.purpose.is_prompt()
            && matches!(delivery.state, DeliveryState::Sent { .. })
            && !delivery.cohort.is_empty()
        {
            entry(&mut figures, &delivery.cohort).prompts_sent += 1;
        }
    }
    let mut correct: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_reflections = HashSet::new();
    for answer in answers {
        match answer.kind {
            AnswerKind::Quiz { correct: right, .. } => {
                entry(&mut figures, &answer.cohort).quiz_answers += 1;
                *correct.entry(answer.cohort.clone()).or_default() += usize::from(right);
            }
            AnswerKind::Practice { .. } | AnswerKind::PracticeNote { .. } => {}
            AnswerKind::Reflect { question, .. } => {
                if seen_reflections.insert((answer.learner, answer.delivery, question)) {
                    entry(&mut figures, &answer.cohort).reflections_answered += 1;
                }
            }
        }
    }
    for (id, figure) in &mut figures {
        if figure.quiz_answers > 0 {
            figure.quiz_correct_share = Some(correct.get(id).copied().unwrap_or(0) as f64 / figure.quiz_answers as f64);
        }
    }
    Report { generated_at: now, cohorts: figures.into_values().filter(|f| !f.cohort.is_empty()).collect() }
}

fn entry<'a>(figures: &'a mut BTreeMap<String, CohortFigures>, id: &str) -> &'a mut CohortFigures {
    figures.entry(id.to_owned()).or_insert_with(|| CohortFigures { cohort: id.to_owned(), ..CohortFigures::default() })
}
