//! Builder tests on small hand-made record sets: each figure, the privacy rules, the formats.

use std::sync::Arc;

use chrono::NaiveDate;

use super::pseudonym::pseudonym;
use super::*;
use crate::domain::{AnswerKind, DeliverySeq, DeliveryState, LearnerId, PracticeOutcome, Purpose};
use crate::i18n::Lang;
use crate::testkit::{at, demo_pack, item, learner};

/// Thursday 10 December 2026, noon UTC: the report's `now`.
const NOW: &str = "2026-12-10T12:00:00Z";

/// Records in the making, fed to the builder in store order.
#[derive(Default)]
pub(super) struct Records {
    learners: Vec<Learner>,
    deliveries: Vec<Delivery>,
    answers: Vec<Answer>,
}

impl Records {
    /// Learners `ids` in cohort `cohort`.
    pub(super) fn enrol(mut self, cohort: &str, ids: impl IntoIterator<Item = i64>) -> Self {
        for id in ids {
            let mut enrolled = learner(LearnerId::new(id));
            enrolled.cohort = cohort.to_owned();
            self.learners.push(enrolled);
        }
        self
    }

    /// A sent delivery to learner number `learner`; returns its seq.
    pub(super) fn send(&mut self, learner: i64, purpose: Purpose, when: &str) -> DeliverySeq {
        let seq = DeliverySeq::new(self.deliveries.len() as u64 + 100);
        let cohort = self.cohort_of(learner);
        let state = DeliveryState::Sent { message_id: seq.get() as i64, at: at(when) };
        let learner = LearnerId::new(learner);
        let delivery = Delivery { seq, learner, cohort, created: at(when), slot: None, purpose, state, outgoing: None };
        self.deliveries.push(delivery);
        seq
    }

    pub(super) fn answer(&mut self, learner: i64, delivery: DeliverySeq, id: &str, when: &str, kind: AnswerKind) {
        let prompt_sent_at = self.deliveries.iter().find(|d| d.seq == delivery).and_then(|d| match d.state {
            DeliveryState::Sent { at, .. } => Some(at),
            _ => None,
        });
        let cohort = self.cohort_of(learner);
        let (learner, item) = (LearnerId::new(learner), item(id));
        self.answers.push(Answer { learner, cohort, delivery, item, at: at(when), prompt_sent_at, kind });
    }

    /// A quiz sent at `sent` and answered at `answered` with option `choice` (`review` for a
    /// spaced repetition).
    pub(super) fn quiz(&mut self, learner: i64, id: &str, sent: &str, answered: &str, choice: usize, review: bool) {
        let correct_option = if id.starts_with("one/") { 1 } else { 0 };
        let purpose = Purpose::Quiz { item: item(id), correct: correct_option, review };
        let seq = self.send(learner, purpose, sent);
        let kind = AnswerKind::Quiz { choice, correct: choice == correct_option, review, confidence: None };
        self.answer(learner, seq, id, answered, kind);
    }

    fn reflect(&mut self, learner: i64, question: usize, when: &str, text: &str, shared: bool) {
        let purpose = Purpose::Reflect { item: item("one/reflect"), question };
        let seq = self.send(learner, purpose, when);
        let kind = AnswerKind::Reflect { question, text: text.to_owned(), shared };
        self.answer(learner, seq, "one/reflect", when, kind);
    }

    fn lesson(&mut self, learner: i64, lesson: &str, when: &str) {
        self.send(learner, Purpose::Lesson { lesson: lesson.to_owned() }, when);
    }

    fn cohort_of(&self, learner: i64) -> String {
        self.learners.iter().find(|l| l.id.get() == learner).map_or("desk".to_owned(), |l| l.cohort.clone())
    }

    /// The report, records fed in store key order.
    pub(super) fn report(mut self, options: ReportOptions) -> Report {
        self.deliveries.sort_by_key(|d| (d.learner, d.seq));
        self.answers.sort_by_key(|a| (a.learner, a.delivery, a.part()));
        build(options, &self.learners, &self.deliveries, &self.answers)
    }
}

pub(super) fn options(cohorts: &[&str]) -> ReportOptions {
    let pack = Arc::new(demo_pack());
    let cohorts = cohorts
        .iter()
        .map(|id| CohortInfo {
            id: (*id).to_owned(),
            pack: Some(pack.clone()),
            target_retention: 0.9,
            weights: Default::default(),
        })
        .collect();
    ReportOptions::new(cohorts, at(NOW))
}

pub(super) fn figures(report: &Report, cohort: usize) -> &CohortFigures {
    report.cohorts[cohort].figures.shown().expect("figures shown")
}

/// Six learners in `desk`.
pub(super) fn desk() -> Records {
    Records::default().enrol("desk", 1..=6)
}

fn check_totals(records: Records, expected: Totals) {
    let report = records.report(options(&["desk"]));
    assert_eq!(figures(&report, 0).totals, expected);
}

fn totals(learners_enrolled: u64) -> Totals {
    Totals {
        learners_enrolled,
        learners_active: 0,
        prompts_sent: 0,
        response_rate: Rate::new(0, 0),
        median_seconds_to_answer: None,
        quiz_first_try: Rate::new(0, 0),
        quiz_retention: Rate::new(0, 0),
        predicted_recall: None,
        target_retention: 0.9,
        reflections_answered: 0,
        practice: PracticeCheckIns::default(),
        learners_active_week_before: 0,
        learners_checked_in: 0,
    }
}

#[test]
fn the_week_before_and_practice_check_ins_count_distinct_learners() {
    let mut records = desk();
    records.quiz(1, "one/quiz", "2026-12-08T08:00:00Z", "2026-12-08T08:01:00Z", 1, true);
    records.quiz(2, "one/quiz", "2026-12-01T08:00:00Z", "2026-12-01T08:01:00Z", 1, true);
    records.quiz(3, "one/quiz", "2026-11-20T08:00:00Z", "2026-11-20T08:01:00Z", 1, true);
    for (learner, when) in [(4, "2026-12-01T09:00:00Z"), (4, "2026-12-02T09:00:00Z"), (5, "2026-12-08T09:00:00Z")] {
        let check = records.send(learner, Purpose::PracticeCheck { item: item("one/practice") }, when);
        records.answer(learner, check, "one/practice", when, AnswerKind::Practice { outcome: PracticeOutcome::Done });
    }
    let report = records.report(options(&["desk"]));
    let totals = &figures(&report, 0).totals;
    assert_eq!((totals.learners_active, totals.learners_active_week_before, totals.learners_checked_in), (2, 2, 2));
}

#[test]
fn a_cohort_without_activity_shows_zeros_and_no_rates() {
    check_totals(desk(), totals(6));
}

#[test]
fn a_cohort_nobody_joined_yet_shows_zeros_rather_than_a_privacy_note() {
    check_totals(Records::default(), totals(0));
}

#[test]
fn totals_count_prompts_responses_accuracy_and_time_to_answer() {
    let mut records = desk();
    records.lesson(1, "one", "2026-12-07T08:00:00Z");
    records.send(1, Purpose::Practice { item: item("one/practice") }, "2026-12-07T08:00:00Z");
    records.send(1, Purpose::Reply, "2026-12-07T08:00:00Z");
    records.send(1, Purpose::Milestone, "2026-12-07T08:00:00Z");
    records.quiz(1, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    records.quiz(2, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:03:00Z", 0, false);
    records.quiz(3, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:02:00Z", 1, true);
    records.send(4, Purpose::Quiz { item: item("one/quiz"), correct: 1, review: false }, "2026-12-07T08:00:00Z");
    let check = records.send(5, Purpose::PracticeCheck { item: item("one/practice") }, "2026-12-01T08:00:00Z");
    let outcome = AnswerKind::Practice { outcome: PracticeOutcome::Partly };
    records.answer(5, check, "one/practice", "2026-12-01T09:00:00Z", outcome);
    let note = AnswerKind::PracticeNote { text: "went ok".to_owned() };
    records.answer(5, check, "one/practice", "2026-12-01T09:05:00Z", note);
    check_totals(
        records,
        Totals {
            learners_active: 3,
            prompts_sent: 7,
            response_rate: Rate::new(4, 5),
            // Exact: 120 s (of 60, 120, 180 and 3600); the histogram is within 5 %.
            median_seconds_to_answer: Some(123),
            quiz_first_try: Rate::new(1, 2),
            quiz_retention: Rate::new(1, 1),
            practice: PracticeCheckIns { done: 0, partly: 1, not_yet: 0 },
            learners_active_week_before: 1,
            learners_checked_in: 1,
            ..totals(6)
        },
    );
}

#[test]
fn reflections_count_each_question_once_and_pending_or_failed_prompts_are_not_sent() {
    let mut records = desk();
    records.reflect(1, 0, "2026-12-08T08:00:00Z", "first", false);
    records.reflect(1, 1, "2026-12-08T08:00:00Z", "second", false);
    let repeated = records.answers[1].clone();
    records.answers.push(repeated);
    for state in [DeliveryState::Pending, DeliveryState::Failed { reason: "gone".to_owned(), at: at(NOW) }] {
        records.send(2, Purpose::Quiz { item: item("one/quiz"), correct: 1, review: false }, NOW);
        records.deliveries.last_mut().expect("just sent").state = state;
    }
    let report = records.report(options(&["desk"]));
    let totals = &figures(&report, 0).totals;
    assert_eq!((totals.reflections_answered, totals.prompts_sent, totals.response_rate), (2, 2, Rate::new(2, 2)));
}

#[test]
fn median_time_to_answer_stays_within_five_percent_on_skewed_data() {
    let mut records = desk();
    let answered = ["2026-12-07T08:00:30Z", "2026-12-07T08:00:40Z", "2026-12-07T08:00:50Z", "2026-12-09T08:00:00Z"];
    for (learner, when) in (1..).zip(answered) {
        records.quiz(learner, "one/quiz", "2026-12-07T08:00:00Z", when, 1, false);
    }
    records.quiz(5, "two/quiz", "2026-12-07T08:00:00Z", "2026-12-10T08:00:00Z", 0, false);
    let report = records.report(options(&["desk"]));
    let median = figures(&report, 0).totals.median_seconds_to_answer.expect("a median") as f64;
    assert!((median - 50.0).abs() / 50.0 <= 0.05, "median {median}, exact 50");
}

#[test]
fn lessons_follow_pack_order_with_retired_lessons_last_and_count_where_learners_stop() {
    let mut records = desk();
    for learner in 1..=6 {
        records.lesson(learner, "one", "2026-11-23T08:00:00Z");
    }
    for learner in 1..=5 {
        records.lesson(learner, "two", "2026-11-24T08:00:00Z");
        records.quiz(learner, "two/quiz", "2026-11-24T08:00:00Z", "2026-11-24T08:05:00Z", learner as usize % 2, false);
    }
    records.lesson(1, "old", "2026-11-20T08:00:00Z");
    records.quiz(6, "one/quiz", "2026-12-09T08:00:00Z", "2026-12-09T08:01:00Z", 1, false);
    records.learners[4].progress.finished_at = Some(at("2026-11-24T08:00:00Z"));
    let report = records.report(options(&["desk"]));
    let rows: Vec<_> = figures(&report, 0)
        .lessons
        .iter()
        .map(|row| {
            let shown = row.figures.shown().map(|f| (f.learners_reached, f.quiz_first_try, f.stopped_here));
            (row.lesson_id.as_str(), row.retired, shown)
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("one", false, Some((6, Rate::new(1, 1), 0))),
            ("two", false, Some((5, Rate::new(2, 5), 4))),
            ("old", true, None),
        ],
        "learner 5 finished the pack and learner 6 is active: neither stopped; one learner got `old`"
    );
}

#[test]
fn weeks_are_iso_weeks_across_the_new_year_and_small_weeks_are_hidden() {
    let mut records = desk();
    for learner in 1..=5 {
        records.quiz(learner, "one/quiz", "2026-12-31T08:00:00Z", "2027-01-03T20:00:00Z", 1, false);
        records.quiz(learner, "one/quiz", "2027-01-04T08:00:00Z", "2027-01-04T09:00:00Z", 0, true);
    }
    records.quiz(6, "one/quiz", "2027-01-11T08:00:00Z", "2027-01-11T09:00:00Z", 1, false);
    let mut options = options(&["desk"]);
    options.now = at("2027-01-12T12:00:00Z");
    let report = records.report(options);
    let weeks: Vec<_> = figures(&report, 0)
        .weeks
        .iter()
        .map(|row| {
            let shown = row
                .figures
                .shown()
                .map(|f| (f.learners_active, f.prompts_sent, f.response_rate, f.quiz_first_try, f.quiz_retention));
            (row.week.as_str(), shown)
        })
        .collect();
    assert_eq!(
        weeks,
        [
            ("2026-W53", Some((5, 5, Rate::new(5, 5), Rate::new(5, 5), Rate::new(0, 0)))),
            ("2027-W01", Some((5, 5, Rate::new(5, 5), Rate::new(0, 0), Rate::new(0, 5)))),
            ("2027-W02", None),
        ]
    );
    assert_eq!(figures(&report, 0).weeks[0].starts, NaiveDate::from_ymd_opt(2026, 12, 28).expect("date"));
}

#[test]
fn hardest_items_need_enough_learners_and_name_the_most_chosen_wrong_answer() {
    let mut records = desk();
    for learner in 1..=6 {
        let choice = if learner <= 4 { 0 } else { 1 };
        records.quiz(learner, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:10:00Z", choice, false);
        records.quiz(learner, "two/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:10:00Z", 0, false);
    }
    for learner in 1..=4 {
        records.quiz(learner, "gone/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:10:00Z", 3, false);
    }
    let report = records.report(options(&["desk"]));
    let items: Vec<_> = figures(&report, 0)
        .hardest_items
        .iter()
        .map(|item| (item.question.as_str(), item.learners, item.quiz_first_try, item.common_wrong_answer.as_deref()))
        .collect();
    assert_eq!(items, [("Pick?", 6, Rate::new(2, 6), Some("wrong")), ("Again?", 6, Rate::new(6, 6), None)]);
}

#[test]
fn days_active_is_a_distribution_with_small_buckets_hidden() {
    let mut records = Records::default().enrol("desk", 1..=8);
    for learner in 1..=5 {
        for day in 1..=3 {
            let when = format!("2026-12-0{day}T08:00:00Z");
            records.quiz(learner, "one/quiz", &when, &when, 1, true);
        }
    }
    records.quiz(6, "one/quiz", "2026-12-01T08:00:00Z", "2026-12-01T08:00:00Z", 1, true);
    let report = records.report(options(&["desk"]));
    let buckets: Vec<(&str, Option<u64>)> =
        figures(&report, 0).days_active.iter().map(|b| (b.label.as_str(), b.learners.shown().copied())).collect();
    assert_eq!(
        buckets,
        [("0", None), ("1", None), ("2–3", Some(5)), ("4–7", Some(0)), ("8–14", Some(0)), ("15+", Some(0))]
    );
}

#[test]
fn a_cohort_under_min_group_shows_only_the_privacy_note_in_every_format() {
    let mut records = desk().enrol("tiny", 10..=13);
    records.quiz(10, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    let report = records.report(options(&["desk", "tiny"]));
    let Guarded::Hidden(marker) = &report.cohorts[1].figures else { panic!("tiny is hidden") };
    assert_eq!(marker.reason, "fewer than 5 learners: figures hidden to protect privacy");
    for (format, text) in all_formats(&report).into_iter().filter(|(format, _)| *format != "csv by learner") {
        assert!(text.contains("fewer than 5 learners: figures hidden to protect privacy"), "{format}");
        assert!(text.contains("tiny"), "{format}");
    }
    assert!(json(&report).contains("\"suppressed\": true"));
}

#[test]
fn the_privacy_note_and_the_period_are_in_the_readers_language() {
    let mut records = desk().enrol("tiny", 10..=13);
    records.quiz(10, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    let mut asked = options(&["desk", "tiny"]);
    asked.since = NaiveDate::from_ymd_opt(2026, 11, 1);
    let report = records.report(asked);
    let page = html_in(&report, Lang::Nl, chrono_tz::UTC);
    assert!(
        page.contains(
            "<p class=\"privacy\">minder dan 5 deelnemers: cijfers verborgen om de privacy te beschermen</p>"
        )
    );
    assert!(page.contains("activiteit van 2026-11-01 t/m nu"), "{page}");
    assert!(!page.contains("fewer than") && !page.contains(" to now"), "{page}");
    let danish = csv_by_lesson(&report, Lang::Da);
    assert!(danish.contains("færre end 5 deltagere: tallene er skjult for at beskytte privatlivet"), "{danish}");
}

#[test]
fn unshared_reflection_texts_never_appear_and_shared_ones_appear_without_names() {
    let mut records = desk();
    records.learners[0].name = "Annelies".to_owned();
    records.reflect(1, 0, "2026-12-08T08:00:00Z", "SECRET-thought of learner one", false);
    records.reflect(2, 0, "2026-12-08T08:00:00Z", "Zebra: we <b>share</b> & learn", true);
    records.reflect(1, 1, "2026-12-08T08:00:00Z", "Apples, shared by one", true);
    let note = AnswerKind::PracticeNote { text: "SECRET-practice note".to_owned() };
    let check = records.send(3, Purpose::PracticeCheck { item: item("one/practice") }, NOW);
    records.answer(3, check, "one/practice", NOW, note);
    let report = records.report(options(&["desk"]));
    let shared: Vec<_> = figures(&report, 0)
        .shared_reflections
        .iter()
        .map(|q| (q.question.as_str(), q.answers.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    assert_eq!(
        shared,
        [("First?", vec!["Zebra: we <b>share</b> & learn"]), ("Second?", vec!["Apples, shared by one"])]
    );
    for (format, text) in all_formats(&report) {
        assert!(!text.contains("SECRET"), "{format} leaks an unshared text");
        assert!(!text.contains("Annelies") && !text.contains("Learner1"), "{format} names a learner");
        if !format.starts_with("csv") {
            assert!(text.contains("Apples, shared by one"), "{format}: shared texts are in every format but CSV");
        }
    }
    assert!(html(&report).contains("Zebra: we &lt;b&gt;share&lt;/b&gt; &amp; learn"));
}

#[test]
fn per_learner_rows_are_absent_by_default_and_pseudonymous_when_asked() {
    let mut records = desk();
    records.lesson(2, "one", "2026-12-07T08:00:00Z");
    records.quiz(2, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-08T08:00:00Z", 1, false);
    records.quiz(2, "two/quiz", "2026-12-07T08:00:00Z", "2026-12-09T08:00:00Z", 1, false);
    let mut asked = options(&["desk"]);
    asked.per_learner = Some(PerLearner { key: b"k1".to_vec(), names: false });
    let report = records.report(asked);
    let rows = figures(&report, 0).learners.as_ref().expect("rows asked for");
    let names: Vec<&str> = rows.iter().map(|row| row.learner.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by pseudonym, never by score");
    let two = rows.iter().find(|row| row.learner == pseudonym(b"k1", LearnerId::new(2))).expect("learner 2's row");
    assert_eq!((two.lessons_reached, two.answers, two.quiz_first_try, two.days_active), (1, 2, Rate::new(1, 2), 2));
    assert!(figures(&desk().report(options(&["desk"])), 0).learners.is_none());
}

#[test]
fn per_learner_rows_show_first_names_only_when_names_are_asked_for() {
    let mut asked = options(&["desk"]);
    asked.per_learner = Some(PerLearner { key: b"k1".to_vec(), names: true });
    let report = desk().report(asked);
    let names: Vec<String> = figures(&report, 0).learners.iter().flatten().map(|row| row.learner.clone()).collect();
    assert_eq!(names, ["Learner1", "Learner2", "Learner3", "Learner4", "Learner5", "Learner6"]);
}

#[test]
fn the_period_filters_by_utc_date_and_moves_the_active_window() {
    let mut records = desk();
    records.quiz(1, "one/quiz", "2026-11-30T23:59:00Z", "2026-11-30T23:59:30Z", 1, false);
    records.quiz(2, "one/quiz", "2026-12-01T00:00:00Z", "2026-12-01T00:01:00Z", 1, false);
    records.quiz(3, "one/quiz", "2026-12-03T23:00:00Z", "2026-12-03T23:59:59Z", 0, false);
    records.quiz(4, "one/quiz", "2026-12-04T00:00:00Z", "2026-12-04T00:01:00Z", 0, false);
    let mut limited = options(&["desk"]);
    (limited.since, limited.until) = (NaiveDate::from_ymd_opt(2026, 12, 1), NaiveDate::from_ymd_opt(2026, 12, 3));
    let report = records.report(limited);
    assert_eq!(report.active_as_of, at("2026-12-04T00:00:00Z"));
    let totals = &figures(&report, 0).totals;
    assert_eq!((totals.prompts_sent, totals.quiz_first_try, totals.learners_active), (2, Rate::new(1, 2), 2));
}

#[test]
fn a_learner_who_moved_counts_as_active_in_the_new_cohort_only_and_never_beyond_the_roster() {
    let mut records = Records::default().enrol("desk", 1..=9).enrol("sales", 20..=24);
    for id in 1..=9 {
        records.quiz(id, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    }
    if let Some(mover) = records.learners.iter_mut().find(|learner| learner.id == LearnerId::new(9)) {
        mover.cohort = "sales".to_owned();
    }
    let report = records.report(options(&["desk", "sales"]));
    let (desk, sales) = (&figures(&report, 0).totals, &figures(&report, 1).totals);
    assert_eq!((desk.learners_active, desk.learners_enrolled), (8, 8));
    assert_eq!((sales.learners_active, sales.learners_enrolled), (0, 6));
    let desk_week = figures(&report, 0).weeks.iter().find_map(|week| week.figures.shown()).expect("a week");
    assert_eq!(desk_week.learners_active, 9, "the past week keeps the mover's answers");
}

#[test]
fn records_of_other_cohorts_and_learners_without_a_cohort_are_ignored() {
    let mut records = desk().enrol("", [50]).enrol("other", 60..=66);
    records.quiz(60, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    records.quiz(50, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    let report = records.report(options(&["desk"]));
    assert_eq!(report.cohorts.len(), 1);
    assert_eq!(figures(&report, 0).totals, totals(6));
}

#[test]
fn the_table_aligns_numbers_and_shows_percentages_and_dashes() {
    let mut records = desk();
    records.quiz(1, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    let text = table(&records.report(options(&["desk"])));
    let header = text.lines().find(|line| line.starts_with("cohort")).expect("totals header");
    let row = text.lines().find(|line| line.starts_with("desk ")).expect("desk row");
    assert!(row.contains("100 %") && row.contains('–'), "{row}");
    let learners_end = header.find("learners").expect("column") + "learners".len();
    assert_eq!(&row[learners_end - 1..learners_end], "6", "right-aligned:\n{header}\n{row}");
}

/// Desk: five learners answer a quiz in W49 and in W50 (one of them wrong in W50), one more
/// in W48 alone; tiny: two learners, hidden.
fn csv_records() -> Report {
    let mut records = desk().enrol("tiny", 10..=11);
    records.quiz(6, "one/quiz", "2026-11-24T08:00:00Z", "2026-11-24T08:01:00Z", 1, false);
    for learner in 1..=5 {
        records.quiz(learner, "one/quiz", "2026-11-30T08:00:00Z", "2026-11-30T08:01:00Z", 1, false);
        let choice = usize::from(learner == 5);
        records.quiz(learner, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1 - choice, true);
    }
    records.report(options(&["desk", "tiny"]))
}

#[test]
fn csv_has_one_row_per_cohort_and_week_with_plain_numbers_and_headers_in_words() {
    let text = csv(&csv_records(), Lang::En);
    let hidden = "fewer than 5 learners: figures hidden to protect privacy";
    let expected = [
        "\u{feff}Cohort,Pack,Week (ISO),Week starts (date),Active learners,Prompts sent,Questions answered,Questions sent,Response rate (%),Quiz answers right first try,Quiz answers first try,Right first try (%),Review answers right,Review answers,Right on review (%),Predicted recall on review (%),Note",
        &format!("desk,Demo pack,2026-W48,2026-11-23,,,,,,,,,,,,,{hidden}"),
        "desk,Demo pack,2026-W49,2026-11-30,5,5,5,5,100.0,5,5,100.0,0,0,,,",
        // The reviews a week after the first tries: FSRS-6 expected 80.8 % recall, 80 % came.
        "desk,Demo pack,2026-W50,2026-12-07,5,5,5,5,100.0,0,0,,4,5,80.0,80.8,",
        &format!("tiny,Demo pack,,,,,,,,,,,,,,,{hidden}"),
    ];
    assert_eq!(text, expected.map(|line| format!("{line}\r\n")).concat());
    assert!(records_fields(&text).iter().all(|&fields| fields == 17), "{text}");
}

#[test]
fn csv_by_lesson_has_one_row_per_cohort_and_lesson() {
    let text = csv_by_lesson(&csv_records(), Lang::En);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\u{feff}Cohort,Pack,Lesson number,Lesson id,Lesson,Retired,Learners reached,Quiz answers right first try,Quiz answers first try,Right first try (%),Reflections answered,Stopped here (learners),Note"
    );
    assert_eq!(lines[1], "desk,Demo pack,1,one,One & only,no,0,6,6,100.0,0,0,");
    assert!(lines.iter().any(|line| line.starts_with("tiny,Demo pack,,,,,,,,,,,fewer than 5 learners")), "{text}");
    assert!(records_fields(&text).iter().all(|&fields| fields == 13), "{text}");
}

#[test]
fn csv_quotes_texts_and_has_learner_rows_only_when_asked() {
    let mut records = desk();
    records.learners[0].name = "Annelies, \"Ann\"".to_owned();
    records.quiz(1, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    let mut asked = options(&["desk"]);
    asked.per_learner = Some(PerLearner { key: b"k1".to_vec(), names: true });
    let text = csv_by_learner(&records.report(asked), Lang::En);
    assert!(text.contains("\r\ndesk,\"Annelies, \"\"Ann\"\"\",0,1,1,1,100.0,1\r\n"), "{text}");
    let header_only = csv_by_learner(&desk().report(options(&["desk"])), Lang::En);
    assert_eq!(header_only.lines().count(), 1, "{header_only}");
}

#[test]
fn json_holds_the_whole_report() {
    let report = desk().report(options(&["desk"]));
    let value: serde_json::Value = serde_json::from_str(&json(&report)).expect("valid JSON");
    assert_eq!(value["cohorts"][0]["figures"]["totals"]["learners_enrolled"], 6);
    assert_eq!(value["min_group"], 5);
}

/// Fields per record of an RFC 4180 text (commas outside quotes, records ending in CRLF).
fn records_fields(text: &str) -> Vec<usize> {
    let (mut counts, mut fields, mut quoted) = (Vec::new(), 1, false);
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => fields += 1,
            '\r' if !quoted && chars.peek() == Some(&'\n') => {
                chars.next();
                counts.push(fields);
                fields = 1;
            }
            _ => {}
        }
    }
    counts
}

pub(super) fn all_formats(report: &Report) -> [(&'static str, String); 7] {
    [
        ("table", table(report)),
        ("csv", csv(report, Lang::En)),
        ("csv by lesson", csv_by_lesson(report, Lang::En)),
        ("csv by item", csv_by_item(report, Lang::En)),
        ("csv by learner", csv_by_learner(report, Lang::En)),
        ("json", json(report)),
        ("html", html(report)),
    ]
}

#[test]
fn without_a_pack_lessons_are_listed_as_they_come_and_none_is_retired() {
    let mut records = desk();
    records.lesson(1, "two", "2026-12-07T08:00:00Z");
    records.lesson(1, "one", "2026-12-08T08:00:00Z");
    let report = records.report(ReportOptions::new(
        vec![CohortInfo { id: "desk".to_owned(), pack: None, target_retention: 0.9, weights: Default::default() }],
        at(NOW),
    ));
    let lessons: Vec<(&str, bool)> =
        figures(&report, 0).lessons.iter().map(|row| (row.title.as_str(), row.retired)).collect();
    assert_eq!(lessons, [("two", false), ("one", false)]);
}

#[test]
fn html_is_one_accessible_page_with_charts_only_for_shown_cohorts() {
    let mut records = desk().enrol("tiny", 10..=11);
    records.quiz(1, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    for week in ["2026-11-23", "2026-11-30", "2026-12-07"] {
        for learner in 1..=6 {
            records.quiz(learner, "one/quiz", &format!("{week}T08:00:00Z"), &format!("{week}T08:01:00Z"), 0, false);
        }
    }
    let page = html(&records.report(options(&["desk", "tiny"])));
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert_eq!(page.matches("<svg").count(), 2, "activity and accuracy for desk only; nobody stopped");
    assert_eq!(page.matches("role=\"img\"").count(), 2);
    assert_eq!(page.matches("<title id=").count(), 2);
    assert!(page.contains("No learner has been quiet for 7 days yet."));
    assert!(page.contains("<th scope=\"col\">Lesson</th>"));
    assert!(page.contains("<p class=\"privacy\">fewer than 5 learners: figures hidden to protect privacy</p>"));
    assert!(page.contains("One &amp; only"), "lesson titles are escaped");
    assert!(!page.contains("<script") && !page.contains("http"), "no scripts, no links");
}

#[test]
fn fewer_than_three_weeks_are_said_in_words_instead_of_charted() {
    let mut records = desk();
    for learner in 1..=5 {
        records.quiz(learner, "one/quiz", "2026-12-07T08:00:00Z", "2026-12-07T08:01:00Z", 1, false);
    }
    let page = html(&records.report(options(&["desk"])));
    assert_eq!(page.matches("<svg").count(), 0, "two dots say nothing");
    assert!(page.contains("Trend charts appear from 3 weeks with activity on."), "{page}");
    assert!(
        page.contains(
            "<p class=\"figure\">2026-W50: 5 learners answered; 100 % of the questions sent were answered (5 of 5).</p>"
        ),
        "{page}"
    );
    assert!(page.contains("Quiz answers right on the first try: 100 % (5 of 5); on spaced reviews: – (0 of 0)."));
}

#[test]
fn chart_values_and_axes_carry_their_units() {
    let mut records = desk();
    for week in ["2026-11-23", "2026-11-30", "2026-12-07"] {
        for learner in 1..=6 {
            let choice = usize::from(learner > 3);
            records.quiz(
                learner,
                "one/quiz",
                &format!("{week}T08:00:00Z"),
                &format!("{week}T08:01:00Z"),
                choice,
                false,
            );
        }
    }
    let page = html(&records.report(options(&["desk"])));
    assert_eq!(page.matches("<svg").count(), 2);
    assert!(page.contains(">50 %</text>"), "bar values with %: {page}");
    assert!(page.contains(">Answers right (%)</text>") && page.contains(">Response rate (%)</text>"));
    assert!(page.contains(">100 %</text>"), "percent axis ticks");
    assert!(!page.contains("px\""), "no fixed pixel widths");
}
