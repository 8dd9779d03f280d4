//! `nudge simulate`: the real planner and spaced repetition on a virtual clock, with simulated
//! learners, so L&D staff see the load a pack creates before it ships.
//!
//! Simulated learners are engaged: they answer every prompt at once. A first try is right with
//! the given accuracy; a review is right with the recall FSRS predicts at that moment, so
//! forgetting shows. Pure apart from the caller's output: no store, no clock, a seeded RNG.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::config::Cohort;
use crate::content::Pack;
use crate::engine::{DraftBody, Outcome, SlotContext, answers, plan_slot, session, srs};
use crate::i18n::{Lang, tr};
use crate::model::{Learner, OpenKind, OpenQuestion, Progress, Status};
use crate::schedule::agenda::resolve;

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub struct SimOptions {
    /// Number of virtual days.
    pub days: u32,
    /// Number of simulated learners.
    pub learners: u32,
    /// Chance of a right first answer.
    pub accuracy: f64,
    /// Seed of the random answers (same seed, same run).
    pub seed: u64,
    /// The first virtual day.
    pub start: NaiveDate,
}

/// Figures of one virtual day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayStats {
    /// The date (cohort time zone).
    pub date: Option<NaiveDate>,
    /// Scheduled messages per learner (what the daily cap limits): mean.
    pub nudges_mean: f64,
    /// Scheduled messages per learner: max.
    pub nudges_max: u32,
    /// All messages per learner, follow-ups to answers included: mean.
    pub messages_mean: f64,
    /// All messages per learner: max.
    pub messages_max: u32,
    /// Items (quiz, reflection, practice) presented for the first time, over all learners.
    pub new_items: u32,
    /// Spaced-repetition reviews asked, over all learners.
    pub reviews: u32,
    /// Share of quiz answers that were right.
    pub right_share: Option<f64>,
    /// Mean predicted recall over every quiz a learner has seen, at the end of the day.
    pub recall: Option<f64>,
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct SimReport {
    /// One entry per day.
    pub days: Vec<DayStats>,
    /// Mean days until the next review after n right answers in a row (n from 1).
    pub spacing_right: BTreeMap<u32, f64>,
    /// Mean days until the next review after a wrong answer.
    pub spacing_wrong: Option<f64>,
}

/// A tiny deterministic random number generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn chance(&mut self, p: f64) -> bool {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (value as f64 / (1u64 << 53) as f64) < p
    }
}

/// Per-day counters while a day runs.
#[derive(Default)]
struct Tally {
    nudges: Vec<u32>,
    messages: Vec<u32>,
    new_items: u32,
    reviews: u32,
    right: u32,
    answered: u32,
    /// Days until the next review, summed and counted, by streak of right answers (0: wrong).
    intervals: BTreeMap<u32, (f64, u32)>,
}

/// Runs the simulation of `cohort` following `pack`.
pub fn simulate(cohort: &Cohort, pack: &Pack, options: SimOptions) -> SimReport {
    let start = resolve(cohort.timezone, options.start.and_time(NaiveTime::MIN)).unwrap_or_default();
    let mut learners: Vec<Learner> = (0..options.learners).map(|idx| sim_learner(idx, cohort, start)).collect();
    let mut rng = Rng(options.seed.max(1));
    let mut seq = 0u64;
    let mut report = SimReport::default();
    let mut spacing: BTreeMap<u32, (f64, u32)> = BTreeMap::new();
    let mut streaks: HashMap<(i64, String), u32> = HashMap::new();
    for day in 0..options.days {
        let day_start = start + Duration::days(i64::from(day));
        let day_end = day_start + Duration::days(1) - Duration::seconds(1);
        let mut tally =
            Tally { nudges: vec![0; learners.len()], messages: vec![0; learners.len()], ..Tally::default() };
        for slot in cohort.schedule.slots_between(cohort.timezone, day_start - Duration::seconds(1), day_end) {
            for (idx, learner) in learners.iter_mut().enumerate() {
                let ctx = SlotContext { pack, policy: &cohort.policy, tz: cohort.timezone, now: slot.at };
                let outcome = plan_slot(learner, &ctx);
                tally.nudges[idx] += outcome.drafts.len() as u32;
                let mut run = Run {
                    pack,
                    retention: cohort.policy.target_retention,
                    accuracy: options.accuracy,
                    now: slot.at,
                    streaks: &mut streaks,
                };
                run.respond(learner, outcome, &mut seq, &mut rng, &mut tally, idx);
            }
        }
        for (streak, (sum, count)) in &tally.intervals {
            let entry = spacing.entry(*streak).or_default();
            entry.0 += sum;
            entry.1 += count;
        }
        report.days.push(day_stats(&tally, &learners, day_start.with_timezone(&cohort.timezone).date_naive(), day_end));
    }
    for (streak, (sum, count)) in spacing {
        let mean = sum / f64::from(count.max(1));
        match streak {
            0 => report.spacing_wrong = Some(mean),
            n => {
                report.spacing_right.insert(n, mean);
            }
        }
    }
    report
}

fn sim_learner(idx: u32, cohort: &Cohort, enrolled_at: DateTime<Utc>) -> Learner {
    Learner {
        id: i64::from(idx) + 1,
        cohort: cohort.id.clone(),
        name: format!("sim{idx}"),
        lang: Lang::En,
        status: Status::Active,
        enrolled_at,
        progress: Progress::default(),
        prefs: Default::default(),
        next_nudge: None,
        pending_move: None,
    }
}

/// How simulated learners answer, at one moment.
struct Run<'a> {
    pack: &'a Pack,
    retention: f64,
    accuracy: f64,
    now: DateTime<Utc>,
    /// Right answers in a row, per learner and quiz.
    streaks: &'a mut HashMap<(i64, String), u32>,
}

impl Run<'_> {
    /// Answers everything in `outcome` (and what the answers bring), counting as it goes.
    fn respond(
        &mut self,
        learner: &mut Learner,
        outcome: Outcome,
        seq: &mut u64,
        rng: &mut Rng,
        tally: &mut Tally,
        idx: usize,
    ) {
        let mut pending = vec![outcome];
        while let Some(outcome) = pending.pop() {
            let seqs: Vec<u64> = outcome
                .drafts
                .iter()
                .map(|_| {
                    *seq += 1;
                    *seq
                })
                .collect();
            if let (Some(at), Some(waiting)) = (outcome.waiting_on, learner.progress.waiting.as_mut()) {
                waiting.delivery = seqs[at];
            }
            tally.messages[idx] += outcome.drafts.len() as u32;
            for (draft, delivery) in outcome.drafts.iter().zip(seqs) {
                if let Some(next) = self.answer(learner, &draft.body, delivery, rng, tally) {
                    pending.push(next);
                }
            }
        }
    }

    fn answer(
        &mut self,
        learner: &mut Learner,
        body: &DraftBody,
        delivery: u64,
        rng: &mut Rng,
        tally: &mut Tally,
    ) -> Option<Outcome> {
        match body {
            DraftBody::Quiz { item, review } => {
                let chance = match (review, learner.progress.memory.get(item)) {
                    (true, Some(memory)) => srs::retrievability(memory, self.now),
                    _ => self.accuracy,
                };
                let right = rng.chance(chance);
                if *review {
                    tally.reviews += 1
                } else {
                    tally.new_items += 1
                }
                tally.answered += 1;
                tally.right += u32::from(right);
                let next =
                    answers::quiz_answered(learner, Some(self.pack), item, delivery, right, self.retention, self.now);
                let streak = self.streaks.entry((learner.id, item.clone())).or_default();
                *streak = if right { *streak + 1 } else { 0 };
                if let Some(memory) = learner.progress.memory.get(item) {
                    let entry = tally.intervals.entry(*streak).or_default();
                    entry.0 += (memory.due - self.now).num_seconds() as f64 / 86_400.0;
                    entry.1 += 1;
                }
                Some(next)
            }
            DraftBody::Reflect { item, question, reminder } => {
                if *question == 0 && !reminder {
                    tally.new_items += 1;
                }
                let kind = OpenKind::Reflect { question: *question };
                session::open_question(learner, delivery, item, kind, self.now);
                let open = OpenQuestion { delivery, item: item.clone(), kind, asked_at: self.now };
                Some(answers::question_answered(learner, Some(self.pack), &open, self.now))
            }
            DraftBody::Practice { .. } => {
                tally.new_items += 1;
                None
            }
            _ => None,
        }
    }
}

fn day_stats(tally: &Tally, learners: &[Learner], date: NaiveDate, end: DateTime<Utc>) -> DayStats {
    let n = tally.nudges.len().max(1) as f64;
    let recalls: Vec<f64> = learners
        .iter()
        .flat_map(|learner| learner.progress.memory.values().map(|memory| srs::retrievability(memory, end)))
        .collect();
    DayStats {
        date: Some(date),
        nudges_mean: tally.nudges.iter().sum::<u32>() as f64 / n,
        nudges_max: tally.nudges.iter().copied().max().unwrap_or(0),
        messages_mean: tally.messages.iter().sum::<u32>() as f64 / n,
        messages_max: tally.messages.iter().copied().max().unwrap_or(0),
        new_items: tally.new_items,
        reviews: tally.reviews,
        right_share: (tally.answered > 0).then(|| f64::from(tally.right) / f64::from(tally.answered)),
        recall: (!recalls.is_empty()).then(|| recalls.iter().sum::<f64>() / recalls.len() as f64),
    }
}

/// The report as a table for the terminal, its labels in `lang` (the pack's).
pub fn table(report: &SimReport, header: &str, lang: Lang) -> String {
    let mut out = format!("{header}\n\n");
    out.push_str("            scheduled/learner  all msgs/learner   new              right\n");
    out.push_str("day  date       mean  max         mean  max    items  reviews  answers  recall\n");
    for (idx, day) in report.days.iter().enumerate() {
        let date = day.date.map_or(String::new(), |date| date.format("%a %d-%m").to_string());
        let percent =
            |share: Option<f64>| share.map_or("   –".to_owned(), |share| format!("{:>3.0} %", share * 100.0));
        let _ = writeln!(
            out,
            "{:>3}  {date:<9}  {:>4.1}  {:>3}         {:>4.1}  {:>3}    {:>5}  {:>7}  {:>7}  {}",
            idx + 1,
            day.nudges_mean,
            day.nudges_max,
            day.messages_mean,
            day.messages_max,
            day.new_items,
            day.reviews,
            percent(day.right_share),
            day.recall.map_or("   –".to_owned(), |recall| format!("{recall:.2}")),
        );
    }
    let _ = writeln!(out, "\n{}", tr(lang, "tools.simulate_spacing"));
    let streaks: String = report.spacing_right.keys().take(4).map(|n| format!("{n:>6}")).collect();
    let days: String = report.spacing_right.values().take(4).map(|days| format!("{days:>6.1}")).collect();
    let (after_right, after_wrong) = (tr(lang, "tools.simulate_after_right"), tr(lang, "tools.simulate_after_wrong"));
    let width = after_right.chars().count().max(after_wrong.chars().count()) + 1;
    let _ = writeln!(out, "  {after_right:<width$}{streaks}");
    let _ = writeln!(out, "  {:<width$}{days}", "");
    let wrong = report.spacing_wrong.map_or("–".to_owned(), |days| format!("{days:.1}"));
    let _ = writeln!(out, "  {after_wrong:<width$}{wrong:>6}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{demo_pack, settings};

    fn options(days: u32, accuracy: f64) -> SimOptions {
        SimOptions { days, learners: 20, accuracy, seed: 7, start: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap() }
    }

    #[test]
    fn the_daily_cap_holds_for_scheduled_messages() {
        let settings = settings();
        let report = simulate(&settings.cohorts[0], &demo_pack(), options(30, 0.8));
        let cap = settings.cohorts[0].policy.max_messages_per_day;
        assert!(report.days.iter().all(|day| day.nudges_max <= cap));
        assert!(report.days.iter().any(|day| day.reviews > 0), "reviews happen");
    }

    #[test]
    fn right_answers_space_reviews_out_and_wrong_ones_bring_them_back() {
        let report = simulate(&settings().cohorts[0], &demo_pack(), options(60, 0.7));
        let right: Vec<f64> = report.spacing_right.values().copied().collect();
        assert!(right.len() >= 3, "{right:?}");
        assert!(right.windows(2).take(2).all(|pair| pair[1] > pair[0]), "{right:?}");
        assert!(report.spacing_wrong.is_some_and(|days| days <= 1.0), "{:?}", report.spacing_wrong);
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let a = simulate(&settings().cohorts[0], &demo_pack(), options(10, 0.8));
        let b = simulate(&settings().cohorts[0], &demo_pack(), options(10, 0.8));
        assert_eq!(a.days, b.days);
    }
}
