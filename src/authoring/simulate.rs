//! `nudge simulate`: the daemon's flow on a virtual clock, with simulated learners, so L&D staff
//! see the load a pack creates before it ships: nudges come when the agenda would bring them
//! (`agenda::next_due`), and the same planner, `engine::apply` and answer handling
//! (`engine::answers`) as the service's decide what they bring and what follows.
//!
//! Simulated learners are engaged: they answer every prompt at once. A first try is right with
//! the given accuracy; a review is right with the recall FSRS predicts at that moment, so
//! forgetting shows. Pure apart from the caller's output: no store, no clock, a seeded RNG.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::config::Cohort;
use crate::content::Pack;
use crate::domain::{DeliverySeq, ItemId, Learner, LearnerId, Progress, Purpose, Status, TrackClock};
use crate::engine::{Draft, Extra, NewLessons, Outcome, SlotContext, answers, apply, plan_slot, planner, session, srs};
use crate::i18n::{Lang, fill, tr};
use crate::schedule::agenda::{Due, Timing, next_due, resolve};
use crate::schedule::cron::CronSpec;
use crate::schedule::policy::Policy;
use crate::schedule::track::catch_up_due;

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SimOptions {
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
pub(crate) struct DayStats {
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
pub(crate) struct SimReport {
    /// One entry per day.
    pub days: Vec<DayStats>,
    /// Days until the next review after n right answers in a row (n from 1).
    pub spacing_right: BTreeMap<u32, Spacing>,
    /// Days until the next review after a wrong answer.
    pub spacing_wrong: Option<Spacing>,
    /// Number of virtual days, to tell which streaks the run was too short to reach fairly.
    pub n_days: u32,
    /// On a track: on which of their track days learners got the last lesson.
    pub track: Option<TrackFinish>,
}

/// When learners on a track got their last lesson.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TrackFinish {
    /// The track day of the pack's last lesson.
    pub planned: u32,
    /// The track day each learner who got every lesson got the last one on.
    pub finished: Vec<i64>,
    /// Learners simulated (those missing from `finished` did not get every lesson in the run).
    pub learners: usize,
}

/// Days until a quiz comes back, over the answers of one kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spacing {
    /// Mean days until the next review.
    pub mean_days: f64,
    /// Answers behind the mean: a mean over a handful says little.
    pub samples: u32,
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

/// Runs the simulation of `cohort` following `pack`. Each learner has their own agenda, as in
/// the daemon; on a schedule they all share the cohort's slots, on a track each one joins on a
/// day of their own (see [`join_time`]) and follows their own track days.
pub(crate) fn simulate(cohort: &Cohort, pack: &Pack, options: SimOptions) -> SimReport {
    let start = resolve(cohort.timezone, options.start.and_time(NaiveTime::MIN)).unwrap_or_default();
    let mut learners: Vec<Learner> = (0..options.learners)
        .map(|idx| sim_learner(idx, cohort, join_time(cohort, options.start, idx).unwrap_or(start)))
        .collect();
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut seq = DeliverySeq::new(0);
    let mut report = SimReport { n_days: options.days, ..SimReport::default() };
    let mut spacing: BTreeMap<u32, (f64, u32)> = BTreeMap::new();
    let mut streaks: HashMap<(LearnerId, ItemId), u32> = HashMap::new();
    let mut agenda = Agenda::new(cohort);
    // A simulated pack has no answers to fit: FSRS-6's default weights, as a new pack gets.
    let scheduler = srs::Scheduler::new(srs::Parameters::default(), cohort.policy.target_retention);
    // The first virtual day starts at its midnight, a slot at midnight included.
    let mut due: Vec<Option<Due>> = learners
        .iter()
        .map(|learner| agenda.next(learner, learner.enrolled_at.max(start) - Duration::seconds(1)))
        .collect();
    let mut finished_on: Vec<Option<i64>> = vec![None; learners.len()];
    for day in 0..options.days {
        let day_start = start + Duration::days(i64::from(day));
        let day_end = day_start + Duration::days(1) - Duration::seconds(1);
        let mut tally =
            Tally { nudges: vec![0; learners.len()], messages: vec![0; learners.len()], ..Tally::default() };
        while let Some((at, idx)) = earliest(&due, day_end) {
            let learner = &mut learners[idx];
            let lessons = agenda.lessons(learner, pack, at);
            if let Some(clock) = learner.progress.track.as_mut() {
                clock.started = true;
            }
            let ctx = SlotContext { pack, policy: &cohort.policy, tz: cohort.timezone, now: at, lessons };
            let outcome = plan_slot(learner, &ctx);
            tally.nudges[idx] += outcome.drafts.len() as u32;
            let mut run =
                Run { pack, cohort, scheduler: &scheduler, accuracy: options.accuracy, now: at, streaks: &mut streaks };
            run.respond(learner, outcome, &mut seq, &mut rng, &mut tally, idx);
            let all_started = pack.lessons.iter().all(|lesson| learner.progress.lessons_started.contains(&lesson.id));
            if finished_on[idx].is_none() && all_started {
                finished_on[idx] = learner.progress.track.map(|clock| clock.day(local_date(cohort, at)));
            }
            due[idx] = agenda.next(learner, at);
        }
        for (streak, (sum, count)) in &tally.intervals {
            let entry = spacing.entry(*streak).or_default();
            entry.0 += sum;
            entry.1 += count;
        }
        let joined = learners.iter().filter(|learner| learner.enrolled_at <= day_end).count();
        report.days.push(day_stats(
            &tally,
            &learners,
            joined,
            day_start.with_timezone(&cohort.timezone).date_naive(),
            day_end,
        ));
    }
    for (streak, (sum, count)) in spacing {
        let spacing = Spacing { mean_days: sum / f64::from(count.max(1)), samples: count };
        match streak {
            0 => report.spacing_wrong = Some(spacing),
            n => {
                report.spacing_right.insert(n, spacing);
            }
        }
    }
    report.track = cohort.track.as_ref().map(|track| TrackFinish {
        planned: track.length(pack.lessons.len()),
        finished: finished_on.iter().flatten().copied().collect(),
        learners: learners.len(),
    });
    report
}

/// When simulated learner `idx` joins: on a schedule, everyone at the start; on a track, one
/// learner a day over the first week (Monday's joiner, Tuesday's, …), at a time between 08:00
/// and 18:00 that differs from learner to learner, so some join before the track's time and
/// some after it.
fn join_time(cohort: &Cohort, first_day: NaiveDate, idx: u32) -> Option<DateTime<Utc>> {
    cohort.track.as_ref()?;
    let date = first_day + Duration::days(i64::from(idx % 7));
    let minutes = 8 * 60 + (idx * 137) % 600;
    resolve(cohort.timezone, date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes)))
}

/// The learner whose nudge comes first, by `until`: the earliest time, then the lowest index
/// (so learners sharing a slot go in order, as they always did).
fn earliest(due: &[Option<Due>], until: DateTime<Utc>) -> Option<(DateTime<Utc>, usize)> {
    due.iter()
        .enumerate()
        .filter_map(|(idx, due)| due.as_ref().filter(|due| due.at <= until).map(|due| (due.at, idx)))
        .min()
}

/// The learner's date at `at` (simulated learners live in the cohort's zone).
fn local_date(cohort: &Cohort, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&cohort.timezone).date_naive()
}

/// Each simulated learner's next nudge, found as the daemon finds it (`agenda::next_due`, and
/// on a track the day-0 catch-up). The cohort's next slot after a moment is the same for every
/// learner, so the last search is kept.
struct Agenda<'a> {
    cohort: &'a Cohort,
    last: Option<(DateTime<Utc>, Option<Due>)>,
}

impl<'a> Agenda<'a> {
    fn new(cohort: &'a Cohort) -> Self {
        Self { cohort, last: None }
    }

    fn timing(&self) -> Timing<'a> {
        Timing {
            schedule: &self.cohort.schedule,
            cohort_tz: self.cohort.timezone,
            policy: &self.cohort.policy,
            learner_tz: self.cohort.timezone,
            preferred: None,
        }
    }

    /// The learner's first nudge strictly after `after`.
    fn next(&mut self, learner: &Learner, after: DateTime<Utc>) -> Option<Due> {
        let regular = match &self.last {
            Some((when, due)) if *when == after => due.clone(),
            _ => {
                let due = next_due(&self.timing(), after);
                self.last = Some((after, due.clone()));
                due
            }
        };
        let clock = learner.progress.track.filter(|clock| !clock.started);
        let catch_up = clock.and_then(|clock| catch_up_due(&self.timing(), clock.joined, after));
        match (catch_up, regular) {
            (Some(catch_up), Some(regular)) if regular.at <= catch_up.at => Some(regular),
            (Some(catch_up), _) => Some(catch_up),
            (None, regular) => regular,
        }
    }

    /// Which new lessons a slot at `at` may start for the learner.
    fn lessons(&self, learner: &Learner, pack: &Pack, at: DateTime<Utc>) -> NewLessons {
        match (&self.cohort.track, learner.progress.track) {
            (Some(track), Some(clock)) => {
                let local = at.with_timezone(&self.cohort.timezone).naive_local();
                NewLessons::Released(track.due(clock.day(local.date()), local.time(), track.time(), pack.lessons.len()))
            }
            _ => NewLessons::OnePerSlot,
        }
    }
}

fn sim_learner(idx: u32, cohort: &Cohort, enrolled_at: DateTime<Utc>) -> Learner {
    let track = cohort.track.as_ref().map(|_| TrackClock::new(enrolled_at, local_date(cohort, enrolled_at)));
    Learner {
        id: LearnerId::new(i64::from(idx) + 1),
        cohort: cohort.id.clone(),
        name: format!("sim{idx}"),
        lang: Lang::En,
        status: Status::Active,
        enrolled_at,
        progress: Progress { track, ..Progress::default() },
        prefs: Default::default(),
        next_nudge: None,
        pending_move: None,
        notice_version: crate::domain::PRIVACY_NOTICE,
        team: Default::default(),
    }
}

/// How simulated learners answer, at one moment.
struct Run<'a> {
    pack: &'a Pack,
    cohort: &'a Cohort,
    scheduler: &'a srs::Scheduler,
    accuracy: f64,
    now: DateTime<Utc>,
    /// Right answers in a row, per learner and quiz.
    streaks: &'a mut HashMap<(LearnerId, ItemId), u32>,
}

impl Run<'_> {
    /// Applies `outcome` as the daemon does and answers everything in it (and what the answers
    /// bring), counting as it goes.
    fn respond(
        &mut self,
        learner: &mut Learner,
        outcome: Outcome,
        seq: &mut DeliverySeq,
        rng: &mut fastrand::Rng,
        tally: &mut Tally,
        idx: usize,
    ) {
        let mut pending = vec![outcome];
        while let Some(outcome) = pending.pop() {
            let fresh = |_: &Draft| {
                *seq = DeliverySeq::new(seq.get() + 1);
                Ok::<_, Infallible>(*seq)
            };
            let Ok(numbered) = apply(learner, outcome, self.now, fresh);
            tally.messages[idx] += numbered.len() as u32;
            for numbered in &numbered {
                if let Some(mut next) = self.answer(learner, &numbered.draft, numbered.seq, rng, tally) {
                    self.continue_track(learner, &mut next, tally, idx);
                    pending.push(next);
                }
            }
        }
    }

    /// On a track, what the daemon adds after an answer that finished a lesson: the next
    /// lessons released by today, counted against the cap.
    fn continue_track(&self, learner: &mut Learner, next: &mut Outcome, tally: &mut Tally, idx: usize) {
        let agenda = Agenda::new(self.cohort);
        let lessons = agenda.lessons(learner, self.pack, self.now);
        if lessons == NewLessons::OnePerSlot {
            return;
        }
        let ctx = SlotContext {
            pack: self.pack,
            policy: &self.cohort.policy,
            tz: self.cohort.timezone,
            now: self.now,
            lessons,
        };
        let more = planner::continue_track(learner, &ctx, next);
        tally.nudges[idx] += more.drafts.len() as u32;
        next.drafts.extend(more.drafts);
    }

    fn answer(
        &mut self,
        learner: &mut Learner,
        draft: &Draft,
        delivery: DeliverySeq,
        rng: &mut fastrand::Rng,
        tally: &mut Tally,
    ) -> Option<Outcome> {
        match &draft.purpose {
            Purpose::Quiz { item, review, .. } => {
                let chance = match (review, learner.progress.memory.get(item)) {
                    (true, Some(memory)) => srs::retrievability(memory, self.scheduler.parameters(), self.now),
                    _ => self.accuracy,
                };
                let right = rng.f64() < chance;
                if *review {
                    tally.reviews += 1
                } else {
                    tally.new_items += 1
                }
                tally.answered += 1;
                tally.right += u32::from(right);
                // Simulated learners are always sure of their answers (a right one is graded
                // Good, as with confidence off): the simulation shows the pack's pace, not how
                // much a "not sure" brings a review forward.
                let next =
                    answers::quiz_answered(learner, Some(self.pack), item, delivery, right, self.scheduler, self.now);
                let streak = self.streaks.entry((learner.id, item.clone())).or_default();
                *streak = if right { *streak + 1 } else { 0 };
                if let Some(memory) = learner.progress.memory.get(item) {
                    let entry = tally.intervals.entry(*streak).or_default();
                    entry.0 += (memory.due - self.now).num_seconds() as f64 / 86_400.0;
                    entry.1 += 1;
                }
                Some(next)
            }
            Purpose::Reflect { question, .. } => {
                if *question == 0 && draft.extra != Extra::Reminder {
                    tally.new_items += 1;
                }
                // A reply to the question, routed as the service does: to the question open under
                // its delivery.
                let open = session::question_for_text(learner, Some(delivery), self.now)?;
                Some(answers::question_answered(learner, Some(self.pack), &open, self.now))
            }
            Purpose::Practice { .. } => {
                tally.new_items += 1;
                None
            }
            Purpose::PracticeCheck { item } => {
                answers::practice_checked(learner, item, delivery, self.now);
                None
            }
            _ => None,
        }
    }
}

/// The day's figures; the means are over the `joined` learners who had joined by its end.
fn day_stats(tally: &Tally, learners: &[Learner], joined: usize, date: NaiveDate, end: DateTime<Utc>) -> DayStats {
    let n = joined.max(1) as f64;
    let recalls: Vec<f64> = learners
        .iter()
        .flat_map(|learner| {
            learner.progress.memory.values().map(|memory| srs::retrievability(memory, &srs::Parameters::default(), end))
        })
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

/// The schedule `nudge simulate PACK_DIR` uses without a config: 09:00 on weekdays.
pub(crate) const DEFAULT_SCHEDULE: &str = "0 9 * * Mon-Fri";
/// The time zone of that schedule.
pub(crate) const DEFAULT_TIMEZONE: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;

/// The cohort an author's pack is simulated with when there is no config: the default
/// schedule and the default policy (the ones a cohort gets without pacing keys).
pub(crate) fn default_cohort(pack: &Pack) -> Result<Cohort, String> {
    Ok(Cohort {
        team: crate::config::TeamSettings::default(),
        id: "default".to_owned(),
        pack: pack.id.clone(),
        invite: "simulate".to_owned(),
        schedule: CronSpec::parse(DEFAULT_SCHEDULE)?,
        track: None,
        timezone: DEFAULT_TIMEZONE,
        language: pack.language,
        policy: Policy::default(),
        confidence: true,
    })
}

/// The top of the output, in `lang` (the pack's unless asked otherwise): what was simulated,
/// and the schedule and policy it used. `origin` says where the cohort came from (a config
/// file, or the defaults).
pub(crate) fn header(cohort: &Cohort, origin: &str, pack: &Pack, options: &SimOptions, lang: Lang) -> String {
    let policy = &cohort.policy;
    let none = tr(lang, "tools.simulate_none");
    let quiet = policy.quiet_hours.map_or_else(|| none.to_owned(), |quiet| quiet.to_string());
    let days_off: Vec<String> = policy.days_off.iter().map(|day| short_weekday(lang, *day)).collect();
    let mut out = fill(
        lang,
        "tools.simulate_title",
        &[
            ("title", &pack.title),
            ("lessons", &pack.lessons.len().to_string()),
            ("quizzes", &pack.n_quizzes().to_string()),
            ("learners", &options.learners.to_string()),
            ("days", &options.days.to_string()),
            ("start", &options.start.to_string()),
            ("accuracy", &format!("{:.0}", options.accuracy * 100.0)),
        ],
    );
    let _ = writeln!(out, "\n{origin}:");
    let at_most = |n: u32| fill(lang, "tools.simulate_at_most", &[("n", &n.to_string())]);
    let rhythm = match &cohort.track {
        None => {
            vec![("tools.simulate_schedule", format!("`{}` ({})", cohort.schedule.as_str(), cohort.timezone.name()))]
        }
        Some(track) => {
            let days: Vec<String> = track.days().iter().map(ToString::to_string).collect();
            let time = track.time().format("%H:%M").to_string();
            let args = [("days", days.join(", ")), ("time", time), ("zone", cohort.timezone.name().to_owned())];
            let args: Vec<(&str, &str)> = args.iter().map(|(key, value)| (*key, value.as_str())).collect();
            vec![
                ("tools.simulate_track", fill(lang, "tools.simulate_track_value", &args)),
                ("tools.simulate_joins", tr(lang, "tools.simulate_joins_value").to_owned()),
            ]
        }
    };
    let rows = [
        rhythm,
        vec![
            (
                "tools.simulate_cap",
                fill(lang, "tools.simulate_cap_value", &[("n", &policy.max_messages_per_day.to_string())]),
            ),
            ("tools.simulate_reviews", at_most(policy.max_reviews_per_slot)),
            ("tools.simulate_quiet", quiet),
            ("tools.simulate_days_off", if days_off.is_empty() { none.to_owned() } else { days_off.join(", ") }),
            ("tools.simulate_recall", format!("{:.0} %", policy.target_retention * 100.0)),
        ],
    ]
    .concat();
    let width = rows.iter().map(|(key, _)| tr(lang, key).chars().count()).max().unwrap_or(0) + 2;
    let lines: Vec<String> = rows.iter().map(|(key, value)| format!("  {:<width$}{value}", tr(lang, key))).collect();
    out.push_str(&lines.join("\n"));
    out
}

/// A weekday as the catalogue abbreviates it (`Mon`, `ma`, `man`).
fn short_weekday(lang: Lang, day: chrono::Weekday) -> String {
    let names = tr(lang, "time.weekdays_short");
    names.split(',').nth(day.num_days_from_monday() as usize).unwrap_or_default().to_owned()
}

/// The report as a table for the terminal, its labels in `lang` (the pack's).
pub fn table(report: &SimReport, header: &str, lang: Lang) -> String {
    let mut out = format!("{header}\n\n");
    let _ = writeln!(out, "{}", tr(lang, "tools.simulate_head_top"));
    let _ = writeln!(out, "{}", tr(lang, "tools.simulate_head"));
    for (idx, day) in report.days.iter().enumerate() {
        let date = day.date.map_or(String::new(), |date| {
            format!("{} {}", short_weekday(lang, chrono::Datelike::weekday(&date)), date.format("%d-%m"))
        });
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
    let _ = writeln!(out, "\n{}", tr(lang, "tools.simulate_cap_note"));
    if let Some(track) = &report.track {
        let _ = writeln!(out, "\n{}", track_finish(track, report.n_days, lang));
    }
    out.push_str(&spacing_table(report, lang));
    out
}

/// When learners on a track got their last lesson, against the plan.
fn track_finish(track: &TrackFinish, n_days: u32, lang: Lang) -> String {
    let mut days = track.finished.clone();
    days.sort_unstable();
    let planned = track.planned.to_string();
    match (days.first(), days.last()) {
        (Some(earliest), Some(latest)) => fill(
            lang,
            "tools.simulate_track_finish",
            &[
                ("planned", &planned),
                ("n", &days.len().to_string()),
                ("learners", &track.learners.to_string()),
                ("earliest", &earliest.to_string()),
                ("latest", &latest.to_string()),
                ("median", &days[days.len() / 2].to_string()),
            ],
        ),
        _ => fill(lang, "tools.simulate_track_unfinished", &[("planned", &planned), ("days", &n_days.to_string())]),
    }
}

/// Days until a quiz comes back by streak, with the answers behind each mean, and a note when
/// the run was too short for a typical quiz to reach a streak.
fn spacing_table(report: &SimReport, lang: Lang) -> String {
    let mut out = format!("\n{}\n", tr(lang, "tools.simulate_spacing"));
    let shown: Vec<(u32, Spacing, bool)> = report
        .spacing_right
        .iter()
        .take(4)
        .map(|(&streak, &spacing)| (streak, spacing, typical_days_to_reach(report, streak) >= f64::from(report.n_days)))
        .collect();
    let streaks: String = shown.iter().map(|(n, _, _)| format!("{n:>7}")).collect();
    let days: String = shown
        .iter()
        .map(|(_, spacing, cut)| format!("{:>6.1}{}", spacing.mean_days, if *cut { "*" } else { " " }))
        .collect();
    let samples: String = shown.iter().map(|(_, spacing, _)| format!("{:>6} ", spacing.samples)).collect();
    let labels = [
        "tools.simulate_after_right",
        "tools.simulate_days_back",
        "tools.simulate_samples",
        "tools.simulate_after_wrong",
    ];
    let width = labels.iter().map(|key| tr(lang, key).chars().count()).max().unwrap_or(0) + 1;
    let _ = writeln!(out, "  {:<width$}{streaks}", tr(lang, labels[0]));
    let _ = writeln!(out, "  {:<width$}{days}", tr(lang, labels[1]));
    let _ = writeln!(out, "  {:<width$}{samples}", tr(lang, labels[2]));
    let wrong = report.spacing_wrong.map_or("     –".to_owned(), |spacing| format!("{:>6.1}", spacing.mean_days));
    let wrong_samples = report.spacing_wrong.map_or(0, |spacing| spacing.samples);
    let answers = fill(lang, "tools.simulate_answers", &[("n", &wrong_samples.to_string())]);
    let _ = writeln!(out, "  {:<width$}{wrong}  {answers}", tr(lang, labels[3]));
    if let Some((streak, _, _)) = shown.iter().find(|(_, _, cut)| *cut) {
        let need = format!("{:.0}", typical_days_to_reach(report, *streak));
        let args = [("need", need.as_str()), ("streak", &streak.to_string()), ("days", &report.n_days.to_string())];
        let _ = writeln!(out, "  {}", fill(lang, "tools.simulate_too_short", &args));
    }
    out
}

/// Days from a quiz's first answer to its `streak`-th right answer in a row, going by the
/// mean intervals of the streaks before it.
fn typical_days_to_reach(report: &SimReport, streak: u32) -> f64 {
    report.spacing_right.range(1..streak).map(|(_, spacing)| spacing.mean_days).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
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
        let right: Vec<f64> = report.spacing_right.values().map(|spacing| spacing.mean_days).collect();
        assert!(right.len() >= 3, "{right:?}");
        assert!(right.windows(2).take(2).all(|pair| pair[1] > pair[0]), "{right:?}");
        assert!(report.spacing_wrong.is_some_and(|wrong| wrong.mean_days <= 1.0), "{:?}", report.spacing_wrong);
    }

    #[test]
    fn the_spacing_table_shows_samples_and_marks_a_streak_the_run_is_too_short_for() {
        let spacing = |mean_days, samples| Spacing { mean_days, samples };
        let report = SimReport {
            spacing_right: BTreeMap::from([
                (1, spacing(3.3, 1302)),
                (2, spacing(12.9, 1096)),
                (3, spacing(36.1, 532)),
                (4, spacing(15.1, 22)),
            ]),
            spacing_wrong: Some(spacing(1.0, 535)),
            n_days: 30,
            ..SimReport::default()
        };
        assert_eq!(
            spacing_table(&report, Lang::En),
            "\nDays until a quiz comes back (mean):
  after this many right answers in a row       1      2      3      4
  days until it comes back                  3.3   12.9   36.1   15.1*
  answers behind the mean                  1302   1096    532     22 
  after a wrong answer                      1.0  (535 answers)
  * A typical quiz needs 52 days to be answered right 4 times in a row, more than the
    30 days simulated: only quizzes that came back sooner than usual count here, so this
    mean is too low. Simulate more days (--days) to see the real figure.
"
        );
    }

    #[test]
    fn a_dense_schedule_nudges_when_the_daemon_would_after_long_quiet_hours() {
        let mut cohort = settings().cohorts[0].clone();
        cohort.schedule = CronSpec::parse("*/5 * * * * *").unwrap();
        cohort.policy.quiet_hours = crate::schedule::policy::QuietHours::parse("00:00-15:00").ok();
        let report = simulate(&cohort, &demo_pack(), SimOptions { learners: 3, ..options(2, 0.8) });
        // 17,280 slots a day: the first 10,000 of them all fall in the quiet morning.
        assert!(report.days.iter().all(|day| day.nudges_max > 0 && day.new_items > 0), "{:?}", report.days);
    }

    #[test]
    fn a_track_runs_every_learner_from_their_own_first_day_to_the_last_lesson() {
        let config = "[[cohorts]]\nid = \"new\"\npack = \"demo\"\ninvite = \"NEW\"\ntrack = \"onboarding\"\ndays = [0, 3]\ntimezone = \"Europe/Amsterdam\"\nlanguage = \"en\"\ndays_off = [\"sat\", \"sun\"]\n";
        let settings = Settings::parse(config, std::path::Path::new("t.toml")).unwrap();
        let report = simulate(&settings.cohorts[0], &demo_pack(), SimOptions { learners: 7, ..options(14, 0.8) });
        let track = report.track.expect("a track run");
        assert_eq!((track.planned, track.learners), (3, 7));
        // One joiner a day from Monday: day 3 is Thursday, Friday, then Saturday and Sunday for
        // the Wednesday and Thursday joiners (both get lesson 2 on Monday: day 5 and day 4),
        // Monday for Friday's; the weekend joiners start on Monday and get it on their day 3.
        assert_eq!(track.finished, [3, 3, 5, 4, 3, 3, 3]);
        assert!(report.days.iter().all(|day| day.nudges_max <= 3));
        assert_eq!(
            report.days[0].new_items, 3,
            "Monday: only the Monday joiner (lesson 1: quiz, reflection, practice)"
        );
        let header = header(&settings.cohorts[0], "cohort", &demo_pack(), &options(14, 0.8), Lang::En);
        assert!(header.contains("lessons on days 0, 3 after joining, at 09:00 (Europe/Amsterdam)"), "{header}");
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let a = simulate(&settings().cohorts[0], &demo_pack(), options(10, 0.8));
        let b = simulate(&settings().cohorts[0], &demo_pack(), options(10, 0.8));
        assert_eq!(a.days, b.days);
    }
}
