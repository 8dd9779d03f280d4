//! Synthetic records for benchmarks and demos: a pack, learners, deliveries and answers made up
//! deterministically and generated lazily, so measuring a report over a million answers does not
//! first hold a million answers in memory.
//!
//! `Workload::new(10_000, 1_000_000).report()` is the benchmark the report must pass (under 3 s
//! and 200 MB); a divan bench can call it as it is.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::{CohortInfo, ReportOptions};
#[cfg(test)]
use super::{Report, build};
use crate::content::markup::Rich;
use crate::content::{Item, ItemKind, Lesson, Pack, Practice, Quiz, Reflect};
use crate::domain::{
    Answer, AnswerKind, Confidence, Delivery, DeliverySeq, DeliveryState, ItemId, Learner, LearnerId, PracticeOutcome,
    Progress, Purpose, Status,
};
use crate::i18n::Lang;

/// Lessons in the synthetic pack.
const LESSONS: usize = 12;
/// Cohorts the learners are spread over.
const COHORTS: usize = 3;
/// Delivery numbers each learner may use (seq = learner number × this + offset).
const SEQS_PER_LEARNER: u64 = 1 << 20;

/// A made-up organisation: learners in a few cohorts, each answering about the same number of
/// prompts over several weeks.
#[derive(Debug, Clone)]
pub struct Workload {
    learners: usize,
    prompts_per_learner: usize,
    pack: Arc<Pack>,
    start: DateTime<Utc>,
}

impl Workload {
    /// `learners` learners giving about `answers` answers in all (one prompt in ten goes
    /// unanswered and two learners in five stop early).
    pub fn new(learners: usize, answers: usize) -> Self {
        let start = Utc.with_ymd_and_hms(2026, 11, 2, 7, 0, 0).single().unwrap_or_default();
        let prompts_per_learner = answers * 100 / (learners.max(1) * 70);
        Self { learners, prompts_per_learner, pack: Arc::new(pack()), start }
    }

    /// Report options: the three cohorts, `now` one day after the last activity.
    pub fn options(&self) -> ReportOptions {
        let cohorts = (0..COHORTS)
            .map(|idx| CohortInfo {
                id: cohort_id(idx),
                pack: Some(self.pack.clone()),
                target_retention: 0.9,
                weights: Default::default(),
            })
            .collect();
        let days = (self.prompts_per_learner / 3) as i64 + 1;
        ReportOptions::new(cohorts, self.start + Duration::days(days))
    }

    /// Builds the report from records generated on the fly.
    #[cfg(test)]
    pub(crate) fn report(&self) -> Report {
        build(self.options(), self.learners(), self.deliveries(), self.answers())
    }

    /// The learners, in store order.
    pub fn learners(&self) -> impl Iterator<Item = Learner> + '_ {
        (0..self.learners).map(|idx| Learner {
            id: learner_id(idx),
            cohort: cohort_id(idx % COHORTS),
            name: format!("Learner {idx}"),
            lang: Lang::En,
            status: Status::Active,
            enrolled_at: self.start,
            progress: Progress { finished_at: (!self.stops_early(idx)).then_some(self.start), ..Progress::default() },
            prefs: Default::default(),
            next_nudge: None,
            pending_move: None,
            notice_version: crate::domain::PRIVACY_NOTICE,
            team: Default::default(),
        })
    }

    /// Every delivery (lessons, prompts, replies), grouped by learner in seq order.
    pub fn deliveries(&self) -> impl Iterator<Item = Delivery> + '_ {
        (0..self.learners).flat_map(move |learner| {
            (0..self.steps(learner)).flat_map(move |step| {
                let plan = self.plan(learner, step);
                let lesson = (step == 0 || self.lesson_at(step) != self.lesson_at(step - 1))
                    .then(|| self.delivery(&plan, 0, Purpose::Lesson { lesson: lesson_id(plan.lesson) }));
                let prompt = self.delivery(&plan, 1, self.purpose(&plan));
                let reply = plan.answered.then(|| self.delivery(&plan, 2, Purpose::Reply));
                lesson.into_iter().chain([prompt]).chain(reply)
            })
        })
    }

    /// Every answer, grouped by learner in delivery order.
    pub fn answers(&self) -> impl Iterator<Item = Answer> + '_ {
        (0..self.learners).flat_map(move |learner| {
            (0..self.steps(learner)).map(move |step| self.plan(learner, step)).filter(|plan| plan.answered).map(
                |plan| Answer {
                    learner: learner_id(plan.learner),
                    cohort: cohort_id(plan.learner % COHORTS),
                    delivery: plan.seq(1),
                    item: self.item(&plan),
                    at: plan.sent + Duration::seconds(plan.delay_seconds),
                    prompt_sent_at: Some(plan.sent),
                    kind: plan.answer(),
                },
            )
        })
    }

    /// Prompts for one learner: two in five stop somewhere along the way, so drop-off shows.
    fn steps(&self, learner: usize) -> usize {
        let keep = 10 + mix(learner as u64, 7) % 80;
        if self.stops_early(learner) {
            self.prompts_per_learner * keep as usize / 100
        } else {
            self.prompts_per_learner
        }
    }

    /// The lesson a learner is in at `step`: the pack spread evenly over the prompts.
    fn lesson_at(&self, step: usize) -> usize {
        (step * LESSONS / self.prompts_per_learner.max(1)).min(LESSONS - 1)
    }

    fn stops_early(&self, learner: usize) -> bool {
        learner % 5 >= 3
    }

    fn plan(&self, learner: usize, step: usize) -> Plan {
        let noise = mix(learner as u64, step as u64);
        let day = (step / 3) as i64;
        let sent = self.start + Duration::days(day) + Duration::minutes((noise % 600) as i64);
        Plan {
            learner,
            step,
            lesson: self.lesson_at(step),
            sent,
            answered: !noise.is_multiple_of(10),
            delay_seconds: delay_seconds(noise >> 8),
            noise,
        }
    }

    fn purpose(&self, plan: &Plan) -> Purpose {
        let item = self.item(plan);
        match plan.step % 4 {
            0 => Purpose::Quiz { item, correct: 0, review: false },
            1 => Purpose::Reflect { item, question: 0 },
            2 => Purpose::Quiz { item, correct: 0, review: true },
            _ => Purpose::PracticeCheck { item },
        }
    }

    /// The item a prompt asks about: the lesson's quiz, reflection, quiz again, practice.
    fn item(&self, plan: &Plan) -> ItemId {
        let lesson = &self.pack.lessons[plan.lesson];
        lesson.items[[0, 1, 0, 2][plan.step % 4]].id.clone()
    }

    fn delivery(&self, plan: &Plan, offset: u64, purpose: Purpose) -> Delivery {
        Delivery {
            seq: plan.seq(offset),
            learner: learner_id(plan.learner),
            cohort: cohort_id(plan.learner % COHORTS),
            created: plan.sent,
            slot: None,
            purpose,
            state: DeliveryState::Sent { message_id: plan.seq(offset).get() as i64, at: plan.sent },
            outgoing: None,
        }
    }
}

/// One prompt of one learner, derived from a hash of (learner, step).
struct Plan {
    /// Learner number (0-based).
    learner: usize,
    /// Prompt number of this learner (0-based).
    step: usize,
    /// Lesson index in the pack.
    lesson: usize,
    /// When the prompt was sent.
    sent: DateTime<Utc>,
    /// Whether the learner answers it.
    answered: bool,
    /// How long the learner takes.
    delay_seconds: i64,
    /// The hash everything else is drawn from.
    noise: u64,
}

impl Plan {
    fn seq(&self, offset: u64) -> DeliverySeq {
        DeliverySeq::new(self.learner as u64 * SEQS_PER_LEARNER + self.step as u64 * 4 + offset)
    }

    fn answer(&self) -> AnswerKind {
        let roll = (self.noise >> 20) % 100;
        match self.step % 4 {
            0 | 2 => {
                let hard = 20 + 6 * self.lesson as u64;
                let choice = if roll < 100 - hard { 0 } else { 1 + (roll % 3) as usize };
                // Most say how sure they were; of the wrong ones, some were sure.
                let confidence = match (self.noise >> 40) % 10 {
                    0 | 1 => None,
                    2..=5 => Some(Confidence::Sure),
                    _ => Some(Confidence::NotSure),
                };
                AnswerKind::Quiz { choice, correct: choice == 0, review: self.step % 4 == 2, confidence }
            }
            1 => AnswerKind::Reflect { question: 0, text: format!("Reflection {}", self.noise % 97), shared: roll < 5 },
            _ => {
                let outcome =
                    [PracticeOutcome::Done, PracticeOutcome::Partly, PracticeOutcome::NotYet][(roll % 3) as usize];
                AnswerKind::Practice { outcome }
            }
        }
    }
}

/// A pack of [`LESSONS`] lessons, each with a quiz, a reflection and a practice assignment.
pub fn pack() -> Pack {
    let lessons = (0..LESSONS).map(|idx| Arc::new(lesson(idx))).collect();
    Pack {
        id: "feedback".to_owned(),
        title: "Giving feedback that lands".to_owned(),
        language: Lang::En,
        description: "Short lessons on feedback conversations.".to_owned(),
        dir: PathBuf::from("feedback"),
        lessons,
    }
}

fn lesson(idx: usize) -> Lesson {
    const TOPICS: [&str; LESSONS] = [
        "Why feedback matters",
        "Ask before you tell",
        "Describe, don't judge",
        "Timing",
        "Feedback in writing",
        "Receiving feedback",
        "Upward feedback",
        "Praise that helps",
        "Hard conversations",
        "Follow-up",
        "Feedback & culture",
        "Putting it together",
    ];
    let id = lesson_id(idx);
    let quiz = Quiz {
        question: Rich::plain(&format!("Which step comes first in \"{}\"?", TOPICS[idx])),
        options: vec!["Ask a question".to_owned(), "Give advice".to_owned(), "Wait".to_owned(), "Escalate".to_owned()],
        correct: 0,
        explanation: None,
    };
    let reflect = Reflect { intro: None, questions: vec![Rich::plain("When did this last happen to you?")] };
    let practice = Practice { task: Rich::plain("Try it once this week."), follow_up_days: 3 };
    let items = [
        ("quiz", ItemKind::Quiz(quiz), 5),
        ("reflect", ItemKind::Reflect(reflect), 12),
        ("practice", ItemKind::Practice(practice), 16),
    ]
    .into_iter()
    .filter_map(|(local, kind, line)| Some(Item { id: ItemId::new(&id, local)?, kind, line }))
    .collect();
    Lesson {
        id,
        title: TOPICS[idx].to_owned(),
        body: Rich::plain("Body."),
        items,
        team: None,
        path: PathBuf::from("lesson.md"),
        places: Default::default(),
    }
}

fn lesson_id(idx: usize) -> String {
    format!("l{:02}", idx + 1)
}

fn cohort_id(idx: usize) -> String {
    ["sales-north", "support-emea", "product"][idx % COHORTS].to_owned()
}

fn learner_id(idx: usize) -> LearnerId {
    LearnerId::new(1_000_000 + idx as i64)
}

/// Seconds from prompt to answer: 20 s to a day, most within minutes.
fn delay_seconds(noise: u64) -> i64 {
    let uniform = (noise % 10_000) as f64 / 10_000.0;
    (20.0 * 2f64.powf(12.0 * uniform * uniform)) as i64
}

/// SplitMix64 of two numbers: cheap, deterministic noise.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0x6A09_E667_F3BC_C909);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Peak resident memory of this process in MB (Linux), for the record.
    fn peak_rss_mb() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb / 1024)
    }

    #[test]
    fn a_million_answers_make_a_report_within_the_budget() {
        // Full size in release builds (`cargo test --release`); a tenth in debug builds.
        let target = if cfg!(debug_assertions) { 100_000 } else { 1_000_000 };
        let workload = Workload::new(10_000, target);
        let answers = workload.answers().count();
        assert!(answers >= target * 95 / 100, "{answers} answers generated");
        let started = Instant::now();
        let report = workload.report();
        let elapsed = started.elapsed();
        let answered: u64 =
            report.cohorts.iter().filter_map(|c| c.figures.shown()).map(|f| f.totals.response_rate.count).sum();
        println!(
            "report over {answers} generated answers ({answered} counted): {elapsed:?}, peak RSS {:?} MB",
            peak_rss_mb()
        );
        assert_eq!(answered as usize, answers, "every answer is the first to its prompt");
        if !cfg!(debug_assertions) {
            assert!(elapsed.as_secs_f64() < 3.0, "took {elapsed:?}");
        }
    }

    #[test]
    fn generated_records_come_in_store_order() {
        let workload = Workload::new(20, 400);
        let deliveries: Vec<(LearnerId, DeliverySeq)> = workload.deliveries().map(|d| (d.learner, d.seq)).collect();
        let answers: Vec<(LearnerId, DeliverySeq)> = workload.answers().map(|a| (a.learner, a.delivery)).collect();
        assert!(deliveries.is_sorted() && answers.is_sorted());
        assert!(answers.len() > 250 && deliveries.len() > answers.len());
    }
}
