//! Turning the counts into the report: per-learner sets folded into cohort figures, texts looked
//! up in the packs, and every group smaller than `min_group` hidden.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::builder::ReportBuilder;
use super::dates::{date_of, monday_of, week_label, within_last_week};
use super::options::ReportOptions;
use super::pseudonym::pseudonym;
use super::tally::{CohortTally, ItemTally, LearnerTally};
use super::{
    CohortFigures, CohortReport, DaysActiveBucket, Guarded, HardItem, ItemFigures, ItemRow, LearnerRow, LessonFigures,
    LessonRow, Rate, Report, SharedReflections, Suppressed, Totals, WeekFigures, WeekRow,
};
use crate::domain::LearnerId;
use crate::i18n::{Lang, fill_html};

/// How many hardest items a report lists.
const HARDEST_ITEMS: usize = 5;

/// The days-active buckets: label, fewest and most days.
const DAY_BUCKETS: [(&str, u64, Option<u64>); 6] = [
    ("0", 0, Some(0)),
    ("1", 1, Some(1)),
    ("2–3", 2, Some(3)),
    ("4–7", 4, Some(7)),
    ("8–14", 8, Some(14)),
    ("15+", 15, None),
];

/// What the learners of one cohort add up to.
#[derive(Default)]
struct LearnerSums {
    /// Learners on the roster who answered in the last 7 days: never more than the roster.
    active: u64,
    /// Learners on the roster who answered in the 7 days before those.
    active_week_before: u64,
    /// Learners on the roster who answered a practice check-in.
    checked_in: u64,
    /// Roster learners per [`DAY_BUCKETS`] entry.
    day_buckets: [u64; DAY_BUCKETS.len()],
    /// Per-learner rows, when asked for.
    rows: Vec<LearnerRow>,
}

impl ReportBuilder {
    /// Turns the counts into the report.
    pub(crate) fn finish(self) -> Report {
        report(self)
    }
}

/// The finished report.
pub(crate) fn report(builder: ReportBuilder) -> Report {
    let ReportBuilder { options, period: _, reference, mut cohorts, learners, .. } = builder;
    let mut sums: Vec<LearnerSums> = cohorts.iter().map(|_| LearnerSums::default()).collect();
    for (&(cohort_idx, learner_id), learner) in &learners {
        let (Some(cohort), Some(sum)) = (cohorts.get_mut(cohort_idx), sums.get_mut(cohort_idx)) else { continue };
        fold_learner(cohort, sum, learner, learner_id, &options, reference);
    }
    let cohorts = cohorts.into_iter().zip(sums).map(|(cohort, sum)| cohort_report(cohort, sum, &options)).collect();
    Report {
        generated_at: options.now,
        since: options.since,
        until: options.until,
        active_as_of: reference,
        min_group: options.min_group,
        cohorts,
    }
}

/// Adds one learner to the cohort's distinct-learner figures.
fn fold_learner(
    cohort: &mut CohortTally,
    sum: &mut LearnerSums,
    learner: &LearnerTally,
    learner_id: LearnerId,
    options: &ReportOptions,
    reference: DateTime<Utc>,
) {
    let mut weeks: Vec<i32> = learner.answer_days.iter().map(|&day| monday_of(day)).collect();
    weeks.dedup();
    for monday in weeks {
        cohort.week(monday).learners_active += 1;
    }
    // Someone who moved to another cohort keeps their past weeks here, but "active now" is
    // about the roster: counting them would show more learners active than enrolled.
    if !learner.on_roster {
        return;
    }
    let recently_active = learner.last_answer.is_some_and(|at| within_last_week(at, reference));
    sum.active += u64::from(recently_active);
    sum.active_week_before += u64::from(learner.active_week_before);
    sum.checked_in += u64::from(learner.checked_in);
    let days = learner.answer_days.len() as u64;
    if let Some(bucket) = DAY_BUCKETS.iter().position(|&(_, _, most)| most.is_none_or(|most| days <= most)) {
        sum.day_buckets[bucket] += 1;
    }
    if let Some(furthest) = &learner.furthest
        && !learner.finished
        && !recently_active
        && !within_last_week(furthest.sent_at, reference)
    {
        cohort.catalogue.lessons[furthest.lesson].stopped_here += 1;
    }
    if let Some(per_learner) = &options.per_learner {
        let label = if per_learner.names { learner.name.clone() } else { pseudonym(&per_learner.key, learner_id) };
        sum.rows.push(LearnerRow {
            learner: label,
            lessons_reached: learner.lessons_reached(),
            answers: learner.answers,
            quiz_first_try: learner.first_try.rate(),
            days_active: days,
        });
    }
}

/// One cohort's report, hidden entirely when its roster is smaller than `min_group` (an empty
/// roster identifies no one, so its zeros are shown).
fn cohort_report(mut cohort: CohortTally, mut sum: LearnerSums, options: &ReportOptions) -> CohortReport {
    let pack_title = cohort.info.pack.as_ref().map(|pack| pack.title.clone());
    let id = cohort.info.id.clone();
    if cohort.roster > 0 && (cohort.roster as usize) < options.min_group {
        return CohortReport {
            cohort: id,
            pack_title,
            figures: Guarded::Hidden(Suppressed::fewer_than(options.min_group)),
        };
    }
    let min_group = options.min_group;
    sum.rows.sort_by(|a, b| a.learner.cmp(&b.learner));
    let figures = CohortFigures {
        totals: totals(&cohort, &sum),
        lessons: lesson_rows(&cohort, min_group),
        weeks: week_rows(&cohort, min_group),
        hardest_items: hardest_items(&cohort, min_group),
        items: item_rows(&cohort, min_group),
        days_active: days_active(&sum, min_group),
        shared_reflections: shared_reflections(std::mem::take(&mut cohort.shared), &cohort),
        learners: options.per_learner.is_some().then_some(sum.rows),
    };
    CohortReport { cohort: id, pack_title, figures: Guarded::Shown(figures) }
}

/// Shown unless it covers 1 to `min_group - 1` learners (none identifies no one).
fn guard<T>(learners: u64, min_group: usize, figures: impl FnOnce() -> T) -> Guarded<T> {
    if learners > 0 && (learners as usize) < min_group {
        Guarded::Hidden(Suppressed::fewer_than(min_group))
    } else {
        Guarded::Shown(figures())
    }
}

fn totals(cohort: &CohortTally, sum: &LearnerSums) -> Totals {
    Totals {
        learners_enrolled: cohort.roster,
        learners_active: sum.active,
        prompts_sent: cohort.prompts_sent,
        response_rate: super::Rate::new(cohort.answered, cohort.answerable_sent),
        median_seconds_to_answer: cohort.to_answer.median().map(|seconds| seconds.round() as u64),
        quiz_first_try: cohort.first_try.rate(),
        quiz_retention: cohort.review.rate(),
        predicted_recall: cohort.predicted.mean(),
        target_retention: cohort.info.target_retention,
        reflections_answered: cohort.reflections,
        practice: cohort.practice,
        learners_active_week_before: sum.active_week_before,
        learners_checked_in: sum.checked_in,
    }
}

fn lesson_rows(cohort: &CohortTally, min_group: usize) -> Vec<LessonRow> {
    let lessons = &cohort.catalogue.lessons;
    lessons
        .iter()
        .map(|lesson| LessonRow {
            lesson_id: lesson.id.clone(),
            title: lesson.title.clone(),
            retired: lesson.retired,
            figures: guard(lesson.covered, min_group, || LessonFigures {
                learners_reached: lesson.reached,
                quiz_first_try: lesson.first_try.rate(),
                reflections_answered: lesson.reflections,
                stopped_here: lesson.stopped_here,
            }),
        })
        .collect()
}

fn week_rows(cohort: &CohortTally, min_group: usize) -> Vec<WeekRow> {
    cohort
        .weeks
        .iter()
        .map(|(&monday, week)| WeekRow {
            week: week_label(monday),
            starts: date_of(monday),
            figures: guard(week.learners_active, min_group, || WeekFigures {
                learners_active: week.learners_active,
                prompts_sent: week.prompts_sent,
                response_rate: super::Rate::new(week.answered, week.answerable_sent),
                quiz_first_try: week.first_try.rate(),
                quiz_retention: week.review.rate(),
                predicted_recall: week.predicted.mean(),
            }),
        })
        .collect()
}

/// Quiz items with enough learners: the most first tries wrong that learners were sure of
/// first (a shared misconception), then the lowest first-try accuracy.
fn hardest_items(cohort: &CohortTally, min_group: usize) -> Vec<HardItem> {
    let mut candidates: Vec<&ItemTally> = cohort
        .catalogue
        .items
        .iter()
        .filter(|item| item.first_try.total > 0 && item.learners as usize >= min_group)
        .collect();
    candidates.sort_by(|a, b| {
        let (a_ratio, b_ratio) = (a.first_try.rate().ratio.unwrap_or(1.0), b.first_try.rate().ratio.unwrap_or(1.0));
        b.confidently_wrong
            .cmp(&a.confidently_wrong)
            .then_with(|| a_ratio.total_cmp(&b_ratio))
            .then_with(|| a.id.cmp(&b.id))
    });
    candidates.into_iter().take(HARDEST_ITEMS).map(|item| hard_item(cohort, item)).collect()
}

/// Every quiz item of the pack, then retired ones with first tries, each hidden when 1 to
/// `min_group - 1` learners answered it.
fn item_rows(cohort: &CohortTally, min_group: usize) -> Vec<ItemRow> {
    let pack = cohort.info.pack.as_ref();
    cohort
        .catalogue
        .items
        .iter()
        .filter_map(|item| {
            let quiz = pack.and_then(|pack| pack.item(&item.id)).and_then(|(_, item)| item.as_quiz());
            if quiz.is_none() && item.first_try.total == 0 {
                return None;
            }
            let lesson = cohort.catalogue.lessons.get(item.lesson).map_or_else(String::new, |l| l.title.clone());
            Some(ItemRow {
                item_id: item.id.clone(),
                lesson,
                question: quiz.map_or_else(|| item.id.to_string(), |quiz| quiz.question.plain.clone()),
                retired: item.retired,
                figures: guard(item.learners, min_group, || ItemFigures {
                    learners: item.learners,
                    quiz_first_try: item.first_try.rate(),
                    confidently_wrong: confidently_wrong(item),
                    confidence_not_given: item.first_try.total.saturating_sub(item.rated),
                }),
            })
        })
        .collect()
}

fn confidently_wrong(item: &ItemTally) -> Rate {
    Rate::new(item.confidently_wrong, item.rated)
}

fn hard_item(cohort: &CohortTally, item: &ItemTally) -> HardItem {
    let quiz = cohort.info.pack.as_ref().and_then(|pack| pack.item(&item.id)).and_then(|(_, item)| item.as_quiz());
    let question = quiz.map_or_else(|| item.id.to_string(), |quiz| quiz.question.plain.clone());
    let wrong_choice = item.most_chosen_wrong();
    let named = wrong_choice.and_then(|choice| quiz.and_then(|quiz| quiz.options.get(choice)).cloned());
    let unnamed_wrong_option = if named.is_none() { wrong_choice.map(|choice| choice + 1) } else { None };
    let common_wrong_answer = named.or_else(|| unnamed_wrong_option.map(|number| option_words(Lang::En, number)));
    HardItem {
        item_id: item.id.clone(),
        question,
        retired: item.retired,
        learners: item.learners,
        quiz_first_try: item.first_try.rate(),
        common_wrong_answer,
        unnamed_wrong_option,
        confidently_wrong: confidently_wrong(item),
        confidence_not_given: item.first_try.total.saturating_sub(item.rated),
    }
}

/// `option 2`: a quiz option the pack no longer names, in `lang` (not yet escaped).
pub(crate) fn option_words(lang: Lang, number: usize) -> String {
    fill_html(lang, "report_charts.option", &[("number", &number.to_string())])
}

fn days_active(sum: &LearnerSums, min_group: usize) -> Vec<DaysActiveBucket> {
    DAY_BUCKETS
        .iter()
        .zip(sum.day_buckets)
        .map(|(&(label, min_days, max_days), learners)| DaysActiveBucket {
            label: label.to_owned(),
            min_days,
            max_days,
            learners: guard(learners, min_group, || learners),
        })
        .collect()
}

/// Shared answers per question, in pack order, each list sorted so order links no answers.
fn shared_reflections(shared: BTreeMap<(usize, usize), Vec<String>>, cohort: &CohortTally) -> Vec<SharedReflections> {
    shared
        .into_iter()
        .filter_map(|((item_idx, question_index), mut answers)| {
            let item = cohort.catalogue.items.get(item_idx)?;
            let item_id = item.id.clone();
            let lesson = cohort.catalogue.lessons.get(item.lesson).map_or_else(String::new, |l| l.title.clone());
            answers.sort();
            let question = cohort
                .info
                .pack
                .as_ref()
                .and_then(|pack| pack.item(&item_id))
                .and_then(|(_, item)| item.as_reflect())
                .and_then(|reflect| reflect.questions.get(question_index))
                .map_or_else(|| item_id.to_string(), |question| question.plain.clone());
            Some(SharedReflections { item_id, lesson, question_index, question, answers })
        })
        .collect()
}
