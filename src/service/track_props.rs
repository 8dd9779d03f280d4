//! Property tests of onboarding tracks through the real service: a learner joins a cohort on a
//! track (random zones, the learner's own or the cohort's, a join instant at any time of day over
//! two years and around DST changes, days off, quiet hours, `days`, `time`, daily cap), pauses
//! and resumes, may set their own `/time` mid-programme, and answers every prompt at once or only
//! some, late; their agenda is run forward (`next_nudge`, `nudge_due` at its time, the answers
//! to what arrived) until every lesson went out and a week more. Then what the store recorded
//! is held against the contract, in the learner's local time:
//!
//! 1. every lesson goes out exactly once, in pack order;
//! 2. nothing scheduled goes out on a day off, in quiet hours or during a pause;
//! 3. scheduled messages per local day stay within `max_messages_per_day`;
//! 4. no lesson goes out before its track day (day 0 the local date of joining, moved on by the
//!    days of each pause);
//! 5. no lesson goes out later than it may: on each allowed day from its track day on until it
//!    goes out, the daily cap had no room for it. Checked on the day of joining for everyone
//!    (after `time`: the catch-up, as soon as quiet hours allow), and on every later day for the
//!    learner who answers at once (for the others an unanswered prompt may hold a lesson up);
//! 6. what a regular slot sends goes out at the learner's time (the track's, or their `/time`);
//! 7. reviews come only after the quiz was answered, a practice's check-in once and only its
//!    days after the practice.
//!
//! "Scheduled" is what the daily cap counts: what a slot sends (lesson, quiz, review, reflection,
//! practice, check-in, milestone, team question), and a new lesson an answer starts
//! (`continue_track`), with its first steps. The rest of a lesson after an answer, and the
//! replies, are the learner's own pace and are not. The deterministic cases, and the regression
//! tests of what these properties found, are in `track_tests.rs`.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::{Service, deliveries};
use crate::chat::Incoming;
use crate::config::Settings;
use crate::content::Pack;
use crate::domain::{AnswerKind, Delivery, DeliverySeq, ItemId, LearnerId, Outgoing, Purpose};
use crate::store::Store;
use crate::testkit::{ZONES, library, pack, person};

/// The pack: lessons with a quiz, a reflection chain, no items, a practice and a quiz, two
/// quizzes, a reflection and a practice, a practice alone, a quiz and a reflection.
const LESSONS: [&str; 10] = [
    "+++\nid = \"l01\"\ntitle = \"One\"\n+++\nWelcome.\n\n## Quiz\nPick?\n- [ ] no\n- [x] yes\n> Yes.\n",
    "+++\nid = \"l02\"\ntitle = \"Two\"\n+++\nLook back.\n\n## Reflect\nThink.\n1. What went well?\n2. What next?\n",
    "+++\nid = \"l03\"\ntitle = \"Three\"\n+++\nJust read this.\n",
    "+++\nid = \"l04\"\ntitle = \"Four\"\n+++\nTry it.\n\n## Practice {days=2}\nDo it twice.\n\n## Quiz\nDone?\n- [x] a\n- [ ] b\n- [ ] c\n> A.\n",
    "+++\nid = \"l05\"\ntitle = \"Five\"\n+++\nTwo questions.\n\n## Quiz\nFirst?\n- [ ] a\n- [x] b\n> B.\n\n## Quiz\nSecond?\n- [x] a\n- [ ] b\n> A.\n",
    "+++\nid = \"l06\"\ntitle = \"Six\"\n+++\nAnother text only.\n",
    "+++\nid = \"l07\"\ntitle = \"Seven\"\n+++\nReflect, then practise.\n\n## Reflect\nWhat did you notice?\n\n## Practice {days=3}\nAsk a colleague.\n",
    "+++\nid = \"l08\"\ntitle = \"Eight\"\n+++\nA quiz.\n\n## Quiz\nWhich?\n- [ ] a\n- [ ] b\n- [x] c\n> C.\n",
    "+++\nid = \"l09\"\ntitle = \"Nine\"\n+++\nPractise tomorrow.\n\n## Practice {days=1}\nDo it once.\n",
    "+++\nid = \"l10\"\ntitle = \"Ten\"\n+++\nThe end.\n\n## Quiz\nLast?\n- [x] yes\n- [ ] no\n> Yes.\n\n## Reflect\nWhat will you keep?\n",
];

/// Days around which clocks change in [`ZONES`]: Europe, the US, Australia, New Zealand's
/// Chatham Islands.
const DST_DATES: [(i32, u32, u32); 14] = [
    (2026, 3, 29),
    (2026, 10, 25),
    (2027, 3, 28),
    (2027, 10, 31),
    (2026, 3, 8),
    (2026, 11, 1),
    (2027, 3, 14),
    (2027, 11, 7),
    (2026, 4, 5),
    (2026, 10, 4),
    (2027, 4, 4),
    (2027, 10, 3),
    (2026, 9, 27),
    (2027, 9, 26),
];

/// Quiet hours: as the config writes them (`None`: the key left out, the default 21:00-07:00).
const QUIET: [Option<&str>; 5] = [Some("none"), None, Some("12:00-13:00"), Some("18:00-09:00"), Some("22:30-06:15")];

const WEEKDAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// At most this many steps (agenda entries, answers, commands) per learner: a bug that keeps the
/// agenda busy fails the case instead of hanging it.
const MAX_STEPS: usize = 5_000;

/// The cohort's invite.
const INVITE: &str = "HIRE";

/// A quiet period, start included and end excluded (it may span midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quiet {
    start: NaiveTime,
    end: NaiveTime,
}

impl Quiet {
    fn parse(text: Option<&str>) -> Option<Self> {
        let text = text.unwrap_or("21:00-07:00");
        let (start, end) = text.split_once('-')?;
        let time = |part: &str| NaiveTime::parse_from_str(part, "%H:%M").ok();
        Some(Self { start: time(start)?, end: time(end)? })
    }

    fn contains(self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

/// One `/pause N`: how long after the previous pause ended (or the learner joined) it starts,
/// for how many days, and whether `/resume` ends it early (at this share of it, in percent).
#[derive(Debug, Clone)]
struct PausePlan {
    after: Duration,
    days: u32,
    resume_at_percent: Option<u32>,
}

#[derive(Debug, Clone)]
struct Case {
    cohort_zone: Tz,
    /// The learner's own zone, set with `/time` right after joining.
    learner_zone: Option<Tz>,
    /// Index into [`QUIET`].
    quiet: usize,
    days_off: Vec<Weekday>,
    days: Vec<u32>,
    time: NaiveTime,
    cap: u32,
    team_question: (Weekday, NaiveTime),
    join: DateTime<Utc>,
    /// Answers every prompt at once; otherwise some, late.
    eager: bool,
    /// Drives the learner's choices (which prompts, which options, how late).
    seed: u64,
    /// A `/time HH:MM` this long after joining.
    time_change: Option<(Duration, NaiveTime)>,
    pauses: Vec<PausePlan>,
}

impl Case {
    fn quiet(&self) -> Option<Quiet> {
        Quiet::parse(QUIET[self.quiet])
    }

    fn allows(&self, local: NaiveDateTime) -> bool {
        !self.days_off.contains(&local.weekday()) && self.quiet().is_none_or(|quiet| !quiet.contains(local.time()))
    }

    /// The learner's zone from the moment they joined.
    fn zone(&self) -> Tz {
        self.learner_zone.unwrap_or(self.cohort_zone)
    }

    fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.zone()).naive_local()
    }

    /// The track day of lesson `index`: `days[index]`, past the end the last gap again.
    fn lesson_day(&self, index: usize) -> i64 {
        let days: Vec<i64> = self.days.iter().map(|&day| i64::from(day)).collect();
        let last = days.len() - 1;
        match days.get(index) {
            Some(&day) => day,
            None => {
                let gap = if last == 0 { 1 } else { days[last] - days[last - 1] };
                days[last] + gap * i64::try_from(index - last).unwrap_or(i64::MAX / 4)
            }
        }
    }

    fn config(&self) -> String {
        let days: Vec<String> = self.days.iter().map(u32::to_string).collect();
        let days_off: Vec<String> = self.days_off.iter().map(|day| format!("\"{day}\"")).collect();
        let quiet = QUIET[self.quiet].map(|text| format!("quiet_hours = \"{text}\"\n")).unwrap_or_default();
        let (team_day, team_time) = self.team_question;
        format!(
            "[[cohorts]]\nid = \"hires\"\npack = \"demo\"\ninvite = \"{INVITE}\"\ntrack = \"onboarding\"\ndays = [{}]\ntime = \"{}\"\ntimezone = \"{}\"\nlanguage = \"en\"\nmax_messages_per_day = {}\n{quiet}days_off = [{}]\nteam_question_schedule = \"{} * * {team_day}\"\n",
            days.join(", "),
            self.time.format("%H:%M"),
            self.cohort_zone.name(),
            self.cap,
            days_off.join(", "),
            team_time.format("%-M %-H"),
        )
    }
}

/// A time of day outside the quiet hours, and far enough from their start (and from midnight)
/// that a learner who answers at once is done before them: from `minutes` on, in quarter hours.
fn allowed_time(minutes: u32, quiet: Option<Quiet>) -> NaiveTime {
    let fits = |time: NaiveTime| {
        let soon = time + Duration::minutes(15);
        let quiet_soon = quiet.is_some_and(|quiet| quiet.contains(time) || quiet.contains(soon));
        !quiet_soon && soon > time
    };
    let mut time = NaiveTime::from_hms_opt(minutes / 60 % 24, minutes % 60, 0).unwrap_or_default();
    for _ in 0..96 {
        if fits(time) {
            return time;
        }
        time += Duration::minutes(15);
    }
    time
}

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

fn join_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let day = prop_oneof![
        (0..DST_DATES.len(), 0i64..4).prop_map(|(index, before)| {
            let (year, month, day) = DST_DATES[index];
            date(year, month, day) - Duration::days(before)
        }),
        (0i64..730).prop_map(|offset| date(2026, 1, 1) + Duration::days(offset)),
    ];
    (day, 0i64..86_400, 1i64..1_000).prop_map(|(day, second, milli)| {
        day.and_time(NaiveTime::MIN).and_utc() + Duration::seconds(second) + Duration::milliseconds(milli)
    })
}

fn track_days() -> impl Strategy<Value = Vec<u32>> {
    (prop_oneof![3 => Just(0u32), 1 => 1u32..4], prop::collection::vec(1u32..=5, 0..12)).prop_map(|(first, gaps)| {
        let mut days = vec![first];
        for gap in gaps {
            days.push(days[days.len() - 1] + gap);
        }
        days
    })
}

fn pauses() -> impl Strategy<Value = Vec<PausePlan>> {
    let pause = (0i64..10 * 86_400, 1u32..=6, prop::option::of(0u32..100)).prop_map(|(after, days, resume)| {
        PausePlan { after: Duration::seconds(after), days, resume_at_percent: resume }
    });
    prop::collection::vec(pause, 0..=3)
}

fn case() -> impl Strategy<Value = Case> {
    (
        (0..ZONES.len(), prop::option::of(0..ZONES.len()), 0..QUIET.len()),
        (prop::sample::subsequence(WEEKDAYS.to_vec(), 0..=3), track_days(), 0u32..1_440, 2u32..=4),
        (0usize..7, 0u32..1_440, join_instant()),
        (any::<bool>(), any::<u64>(), prop::option::of((0i64..30 * 86_400, 0u32..1_440)), pauses()),
    )
        .prop_map(|(zones, rhythm, team, learner)| {
            let (cohort_zone, learner_zone, quiet) = zones;
            let (days_off, days, time, cap) = rhythm;
            let (team_day, team_time, join) = team;
            let (eager, seed, time_change, pauses) = learner;
            let quiet_hours = Quiet::parse(QUIET[quiet]);
            let allowed_days: Vec<Weekday> = WEEKDAYS.iter().copied().filter(|day| !days_off.contains(day)).collect();
            Case {
                cohort_zone: ZONES[cohort_zone],
                learner_zone: learner_zone.map(|zone| ZONES[zone]),
                quiet,
                time: allowed_time(time, quiet_hours),
                cap,
                team_question: (allowed_days[team_day % allowed_days.len()], allowed_time(team_time, quiet_hours)),
                days_off,
                days,
                join,
                eager,
                seed,
                time_change: time_change
                    .map(|(after, minutes)| (Duration::seconds(after), allowed_time(minutes, quiet_hours))),
                pauses,
            }
        })
}

/// SplitMix64: the learner's choices, from the case's seed.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[usize::try_from(self.next() % from.len() as u64).unwrap_or(0)]
    }
}

/// What the learner does in the chat.
#[derive(Debug, Clone)]
enum Act {
    Say(String),
    Press { data: String, message_id: i64 },
    Reply { text: String, message_id: i64 },
}

/// A pause as it happened: from the `/pause` to the `/resume`, or to the end it was given.
#[derive(Debug, Clone, Copy)]
struct Paused {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// One learner's run through their track.
struct Run<'a> {
    case: &'a Case,
    service: Service,
    id: LearnerId,
    n_lessons: usize,
    /// How many lessons went out, the last one when.
    lessons_out: usize,
    last_lesson: DateTime<Utc>,
    now: DateTime<Utc>,
    choices: Choices,
    /// Commands still to come, in time order.
    script: VecDeque<(DateTime<Utc>, Act)>,
    /// Answers still to come, by time (and order given).
    answers: BTreeMap<(DateTime<Utc>, u64), Act>,
    n_answers: u64,
    /// Pauses still to plan after the one under way ends.
    pause_plans: VecDeque<PausePlan>,
    /// Pauses that began.
    paused: Vec<Paused>,
    /// When the learner's time changed (a `/time` that was taken), and to what.
    times: Vec<(DateTime<Utc>, NaiveTime)>,
    steps: usize,
}

impl<'a> Run<'a> {
    fn new(case: &'a Case) -> Result<Self, TestCaseError> {
        let settings = Settings::parse(&case.config(), Path::new("nudge.toml"))
            .map_err(|error| TestCaseError::fail(format!("{error}\n{}", case.config())))?;
        let pack = lessons();
        let n_lessons = pack.lessons.len();
        let store = Store::temporary().map_err(|error| TestCaseError::fail(error.to_string()))?;
        let service = Service::new(Arc::new(store), Arc::new(settings), library(pack));
        let mut script = VecDeque::from([(case.join, Act::Say(format!("/start {INVITE}")))]);
        if let Some(zone) = case.learner_zone {
            script.push_back((case.join, Act::Say(format!("/time {} {}", case.time.format("%H:%M"), zone.name()))));
        }
        let mut run = Run {
            case,
            service,
            id: LearnerId::new(1),
            n_lessons,
            lessons_out: 0,
            last_lesson: case.join,
            now: case.join - Duration::milliseconds(1),
            choices: Choices(case.seed),
            script,
            answers: BTreeMap::new(),
            n_answers: 0,
            pause_plans: case.pauses.iter().cloned().collect(),
            paused: Vec::new(),
            times: vec![(case.join, case.time)],
            steps: 0,
        };
        if let Some((after, time)) = case.time_change {
            run.add_script(case.join + after, Act::Say(format!("/time {}", time.format("%H:%M"))));
        }
        run.plan_pause(case.join);
        Ok(run)
    }

    fn add_script(&mut self, at: DateTime<Utc>, act: Act) {
        let position = self.script.iter().position(|(when, _)| *when > at).unwrap_or(self.script.len());
        self.script.insert(position, (at, act));
    }

    /// Puts the next planned pause in the script, from the end of the one before (`from`).
    fn plan_pause(&mut self, from: DateTime<Utc>) {
        if let Some(plan) = self.pause_plans.front() {
            let at = from + plan.after;
            let days = plan.days;
            self.add_script(at, Act::Say(format!("/pause {days}")));
        }
    }

    fn fail(&self, why: impl std::fmt::Display) -> TestCaseError {
        TestCaseError::fail(format!("{why}\n{}", self.story()))
    }

    /// Every delivery of the learner, in order, in their local time: what a failure shows.
    fn story(&self) -> String {
        let mut lines = vec![self.case.config()];
        lines.push(format!(
            "joined {} ({} local), pauses {:?}, times {:?}",
            self.case.join,
            self.case.local(self.case.join),
            self.paused.iter().map(|p| (self.case.local(p.from), self.case.local(p.until))).collect::<Vec<_>>(),
            self.times
        ));
        let deliveries = self.deliveries();
        let scheduled = scheduled_seqs(&deliveries);
        for delivery in deliveries {
            let local = self.case.local(delivery.created);
            lines.push(format!(
                "  #{} {} {} {:?} {:?}",
                delivery.seq,
                local.format("%a %Y-%m-%d %H:%M:%S%.3f"),
                delivery.slot.as_deref().unwrap_or("-"),
                delivery.purpose,
                scheduled.contains(&delivery.seq),
            ));
        }
        lines.join("\n")
    }

    fn deliveries(&self) -> Vec<Delivery> {
        let mut all: Vec<Delivery> = self
            .service
            .store()
            .deliveries()
            .filter_map(Result::ok)
            .filter(|delivery| delivery.learner == self.id)
            .collect();
        all.sort_by_key(|delivery| delivery.seq);
        all
    }

    /// Moves the clock to `at`, a little later if something already happened then (so that
    /// what each event records has an instant of its own).
    fn tick(&mut self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.now = at.max(self.now + Duration::milliseconds(1));
        self.now
    }

    /// Runs the learner's agenda and what they do until every lesson went out and a week more.
    fn run(&mut self) -> Result<(), TestCaseError> {
        let pause_days: i64 = self.case.pauses.iter().map(|pause| i64::from(pause.days) + 10).sum();
        let deadline = self.case.join + Duration::days(self.case.lesson_day(self.n_lessons - 1) + pause_days + 60);
        loop {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(self.fail(format!("still running after {MAX_STEPS} steps, at {}", self.now)));
            }
            if self.lessons_out >= self.n_lessons && self.now > self.last_lesson + Duration::days(7) {
                return Ok(());
            }
            if self.now > deadline {
                let out = self.lessons_out;
                return Err(self.fail(format!("only {out} of {} lessons went out by {deadline}", self.n_lessons)));
            }
            let learner = self.service.store().learner(self.id).map_err(|error| self.fail(error))?;
            let agenda = learner.as_ref().and_then(|learner| learner.next_nudge.clone());
            let script_at = self.script.front().map(|(at, _)| *at);
            let answer_at = self.answers.keys().next().map(|(at, _)| *at);
            let agenda_at = agenda.as_ref().map(|next| next.at);
            let earliest = [script_at, agenda_at, answer_at].into_iter().flatten().min();
            match earliest {
                None => return Err(self.fail(format!("nothing more happens after {}", self.now))),
                Some(at) if Some(at) == script_at => {
                    if let Some((at, act)) = self.script.pop_front() {
                        self.act(at, &act)?;
                    }
                }
                Some(at) if Some(at) == agenda_at => {
                    let Some(next) = agenda else { continue };
                    let now = self.tick(at);
                    let seqs = self.service.nudge_due(self.id, &next, now).map_err(|error| self.fail(error))?;
                    self.received(&seqs)?;
                }
                Some(_) => {
                    if let Some((_, act)) = self.answers.pop_first() {
                        let at = answer_at.unwrap_or(self.now);
                        self.act(at, &act)?;
                    }
                }
            }
        }
    }

    fn act(&mut self, at: DateTime<Utc>, act: &Act) -> Result<(), TestCaseError> {
        let now = self.tick(at);
        let from = person(self.id);
        let incoming = match act {
            Act::Say(text) => Incoming::from_text(from, text, None),
            Act::Press { data, message_id } => {
                Incoming::Press { from, query_id: "q".to_owned(), message_id: Some(*message_id), data: data.clone() }
            }
            Act::Reply { text, message_id } => Incoming::Text { from, text: text.clone(), reply_to: Some(*message_id) },
        };
        let handled = self.service.handle(&incoming, now).map_err(|error| self.fail(error))?;
        self.received(&handled.to_send)?;
        match act {
            Act::Say(text) if text.starts_with("/pause") => self.paused_now(now),
            Act::Say(text) if text == "/resume" => self.resumed_now(now),
            Act::Say(text) if text.starts_with("/time") => {
                let learner = self.service.store().learner(self.id).map_err(|error| self.fail(error))?;
                if let Some(time) = learner.and_then(|learner| learner.prefs.time)
                    && self.times.last().is_none_or(|(_, before)| *before != time)
                {
                    self.times.push((now, time));
                }
            }
            Act::Press { data, message_id } if data.starts_with("p:") => {
                if self.case.eager || self.choices.chance(50) {
                    let later = self.answer_delay();
                    self.answer(later, Act::Reply { text: "It went fine.".to_owned(), message_id: *message_id });
                }
            }
            Act::Say(_) | Act::Press { .. } | Act::Reply { .. } => {}
        }
        Ok(())
    }

    /// A `/pause N` was sent at `now`: the pause lasts N days, unless its plan ends it early.
    fn paused_now(&mut self, now: DateTime<Utc>) {
        let Some(plan) = self.pause_plans.pop_front() else { return };
        let full = Duration::days(i64::from(plan.days));
        let until = match plan.resume_at_percent {
            Some(percent) => {
                let resume = now + full * i32::try_from(percent).unwrap_or(0) / 100;
                self.add_script(resume, Act::Say("/resume".to_owned()));
                resume
            }
            None => {
                self.plan_pause(now + full);
                now + full
            }
        };
        self.paused.push(Paused { from: now, until });
    }

    /// A `/resume` was sent at `now`: the pause under way ends.
    fn resumed_now(&mut self, now: DateTime<Utc>) {
        if let Some(pause) = self.paused.last_mut() {
            pause.until = now;
        }
        self.plan_pause(now);
    }

    fn answer(&mut self, after: Duration, act: Act) {
        self.n_answers += 1;
        self.answers.insert((self.now + after, self.n_answers), act);
    }

    /// How long the learner takes to answer: a second when they answer at once, else from a
    /// minute to two days.
    fn answer_delay(&mut self) -> Duration {
        if self.case.eager {
            return Duration::seconds(1);
        }
        let minutes = self.choices.pick(&[1, 20, 90, 6 * 60, 14 * 60, 40 * 60]);
        Duration::minutes(minutes) + Duration::seconds(i64::try_from(self.choices.next() % 60).unwrap_or(0))
    }

    /// What the learner does with the deliveries `seqs` that reach them: the sender marks each
    /// sent (as Telegram message `seq`), and the learner answers the prompts among them.
    fn received(&mut self, seqs: &[DeliverySeq]) -> Result<(), TestCaseError> {
        for &seq in seqs {
            let delivery = self.service.store().delivery(self.id, seq).map_err(|error| self.fail(error))?;
            let Some(delivery) = delivery else { return Err(self.fail(format!("delivery {seq} is not stored"))) };
            let message_id = i64::try_from(seq.get()).unwrap_or(i64::MAX);
            let buttons: Vec<String> = match &delivery.outgoing {
                Some(Outgoing::Send { message } | Outgoing::Edit { message, .. }) => {
                    message.buttons.concat().into_iter().map(|b| b.data).collect()
                }
                _ => Vec::new(),
            };
            let edited = match &delivery.outgoing {
                Some(Outgoing::Edit { message_id, .. }) => Some(*message_id),
                _ => None,
            };
            if matches!(delivery.purpose, Purpose::Lesson { .. }) {
                self.lessons_out += 1;
                self.last_lesson = delivery.created;
            }
            let answers = self.case.eager || self.choices.chance(60);
            let act = match &delivery.purpose {
                Purpose::Quiz { .. } if answers => {
                    let options: Vec<&String> = buttons.iter().filter(|data| data.starts_with("q:")).collect();
                    let data = match &delivery.purpose {
                        Purpose::Quiz { correct, .. } if self.choices.chance(70) => {
                            options.iter().find(|data| data.ends_with(&format!(":{correct}"))).copied()
                        }
                        _ => options.get(usize::try_from(self.choices.next() % 8).unwrap_or(0)).copied(),
                    };
                    data.or(options.first().copied()).map(|data| Act::Press { data: data.clone(), message_id })
                }
                Purpose::Reflect { .. } if answers => Some(Act::Reply { text: "A thought.".to_owned(), message_id }),
                // The quiz edited to ask how sure: "sure" or "not sure" (or, unless eager, at
                // times never, so the lesson goes on at the next slot).
                Purpose::Reply if answers => {
                    let options: Vec<&String> = buttons.iter().filter(|data| data.starts_with("c:")).collect();
                    let pressed = self.choices.pick(&[0, 1]);
                    options
                        .get(pressed)
                        .zip(edited)
                        .map(|(data, message_id)| Act::Press { data: (*data).clone(), message_id })
                }
                Purpose::PracticeCheck { .. } if answers => {
                    let options: Vec<&String> = buttons.iter().filter(|data| data.starts_with("p:")).collect();
                    let pressed = self.choices.pick(&[0, 1, 2]);
                    options
                        .get(pressed)
                        .or(options.first())
                        .map(|data| Act::Press { data: (*data).clone(), message_id })
                }
                _ => None,
            };
            deliveries::mark_sent(&**self.service.store(), self.id, seq, message_id, self.now)
                .map_err(|error| self.fail(error))?;
            if let Some(act) = act {
                let later = self.answer_delay();
                self.answer(later, act);
            }
        }
        Ok(())
    }
}

fn lessons() -> Pack {
    pack(&LESSONS)
}

/// The deliveries the daily cap counts: what slots sent (but replies), and the new lessons an
/// answer started, from the first of them on (an answer's deliveries share its instant; the
/// rest of the lesson in hand comes before any new lesson).
fn scheduled_seqs(deliveries: &[Delivery]) -> Vec<DeliverySeq> {
    let mut scheduled = Vec::new();
    let mut answer_batches: BTreeMap<DateTime<Utc>, Vec<&Delivery>> = BTreeMap::new();
    for delivery in deliveries {
        match (&delivery.slot, &delivery.purpose) {
            (_, Purpose::Reply) => {}
            (Some(_), _) => scheduled.push(delivery.seq),
            (None, _) => answer_batches.entry(delivery.created).or_default().push(delivery),
        }
    }
    for batch in answer_batches.values() {
        let first_lesson = batch.iter().position(|delivery| matches!(delivery.purpose, Purpose::Lesson { .. }));
        if let Some(first) = first_lesson {
            scheduled.extend(batch[first..].iter().map(|delivery| delivery.seq));
        }
    }
    scheduled.sort();
    scheduled
}

/// The first instant `wall` reaches in `zone`: the earlier one in an autumn overlap, past a
/// spring gap by half hours.
fn first_instant(zone: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..5).find_map(|half_hours| match zone.from_local_datetime(&(wall + Duration::minutes(30 * half_hours))) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => None,
    })
}

/// What the run recorded, in the learner's terms.
struct Record<'a> {
    case: &'a Case,
    deliveries: Vec<Delivery>,
    scheduled: Vec<DeliverySeq>,
    paused: Vec<Paused>,
    times: Vec<(DateTime<Utc>, NaiveTime)>,
    lesson_ids: Vec<String>,
    lesson_items: Vec<usize>,
    /// Days until each practice's check-in.
    practice_days: BTreeMap<ItemId, i64>,
    /// The quiz answers: which item, when.
    quiz_answers: Vec<(ItemId, DateTime<Utc>)>,
}

impl Record<'_> {
    fn is_scheduled(&self, delivery: &Delivery) -> bool {
        self.scheduled.binary_search(&delivery.seq).is_ok()
    }

    fn date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.case.local(at).date()
    }

    /// Day 0: the learner's local date when they joined (in the zone they had then).
    fn day0(&self) -> NaiveDate {
        self.case.join.with_timezone(&self.case.cohort_zone).date_naive()
    }

    /// How far the pauses that ended before local date `before` moved the track on.
    fn shift_before(&self, before: NaiveDate) -> i64 {
        self.paused
            .iter()
            .filter(|pause| self.date(pause.until) < before)
            .map(|pause| (self.date(pause.until) - self.date(pause.from)).num_days())
            .sum()
    }

    /// How far the pauses that ended by `at` moved the track on.
    fn shift_by(&self, at: DateTime<Utc>) -> i64 {
        self.paused
            .iter()
            .filter(|pause| pause.until <= at)
            .map(|pause| (self.date(pause.until) - self.date(pause.from)).num_days())
            .sum()
    }

    /// The learner's time at `at`.
    fn time_at(&self, at: DateTime<Utc>) -> NaiveTime {
        self.times.iter().rev().find(|(from, _)| *from <= at).map_or(self.case.time, |(_, time)| *time)
    }

    fn scheduled_on(&self, day: NaiveDate) -> usize {
        self.deliveries.iter().filter(|d| self.is_scheduled(d) && self.date(d.created) == day).count()
    }

    fn lessons(&self) -> Vec<(String, DateTime<Utc>)> {
        self.deliveries
            .iter()
            .filter_map(|delivery| match &delivery.purpose {
                Purpose::Lesson { lesson } => Some((lesson.clone(), delivery.created)),
                _ => None,
            })
            .collect()
    }

    /// True when the learner is reached on local date `day`, the day they joined, after joining:
    /// by the day's slot still to come, or by the catch-up as soon as quiet hours allow.
    fn reached_on_join_day(&self, day: NaiveDate) -> bool {
        let join = self.case.join;
        let same_date_everywhere = join.with_timezone(&self.case.cohort_zone).date_naive() == day;
        let slot = first_instant(self.case.zone(), day.and_time(self.case.time));
        if !same_date_everywhere || self.case.days_off.contains(&day.weekday()) {
            return false;
        }
        if slot.is_some_and(|slot| slot > join) {
            return true;
        }
        let from = self.case.local(join + Duration::seconds(1));
        if from.date() != day {
            return false;
        }
        match self.case.quiet() {
            Some(quiet) if quiet.contains(from.time()) => quiet.end > from.time(),
            _ => true,
        }
    }

    /// True when nothing but the cap could keep lesson `index` from going out on local date
    /// `day`: an allowed day, no pause or `/time` on it, the lesson before went out by then,
    /// and (on the day of joining) the learner is reached after joining.
    fn lesson_could_go(&self, index: usize, day: NaiveDate, lessons: &[(String, DateTime<Utc>)]) -> bool {
        let join_day = self.date(self.case.join);
        let due = self.day0() + Duration::days(self.case.lesson_day(index) + self.shift_before(day));
        let quiet_day = self.case.days_off.contains(&day.weekday())
            || self.paused.iter().any(|pause| self.date(pause.from) <= day && day <= self.date(pause.until))
            || self.times.iter().skip(1).any(|(at, _)| self.date(*at) == day);
        let before_sent = index == 0 || lessons.get(index - 1).is_some_and(|(_, at)| self.date(*at) <= day);
        let reached = match day.cmp(&join_day) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => index == 0 && self.reached_on_join_day(day),
            std::cmp::Ordering::Greater => self.case.eager,
        };
        day >= due && !quiet_day && before_sent && reached
    }

    /// Every property, the first that fails with its reason.
    fn check(&self) -> Result<(), String> {
        self.each_lesson_once_in_order()?;
        self.scheduled_within_the_rules()?;
        self.lessons_on_their_days()?;
        self.slots_at_the_learners_time()?;
        self.reviews_and_check_ins_keep_their_spacing()
    }

    /// Property 1: every lesson of the pack went out exactly once, in pack order.
    fn each_lesson_once_in_order(&self) -> Result<(), String> {
        let lessons = self.lessons();
        let ids: Vec<&str> = lessons.iter().map(|(id, _)| id.as_str()).collect();
        let expected: Vec<&str> = self.lesson_ids.iter().map(String::as_str).collect();
        if ids != expected {
            return Err(format!("lessons went out as {ids:?}, not once each in pack order {expected:?}"));
        }
        Ok(())
    }

    /// Properties 2 and 3: nothing scheduled on a day off, in quiet hours or during a pause; no more
    /// scheduled messages a local day than the cap.
    fn scheduled_within_the_rules(&self) -> Result<(), String> {
        let mut per_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
        for delivery in self.deliveries.iter().filter(|d| self.is_scheduled(d)) {
            let (seq, purpose) = (delivery.seq, &delivery.purpose);
            let local = self.case.local(delivery.created);
            if !self.case.allows(local) {
                return Err(format!("#{seq} {purpose:?} went out at {local}, on a day off or in quiet hours"));
            }
            if let Some(pause) = self.paused.iter().find(|p| p.from <= delivery.created && delivery.created < p.until) {
                let (from, until) = (self.case.local(pause.from), self.case.local(pause.until));
                return Err(format!("#{seq} {purpose:?} went out at {local}, during the pause from {from} to {until}"));
            }
            let count = per_day.entry(local.date()).or_default();
            *count += 1;
            if *count > self.case.cap {
                return Err(format!("more than {} scheduled messages on {}", self.case.cap, local.date()));
            }
        }
        Ok(())
    }

    /// Properties 4 and 5: no lesson before its track day; and none later than the first day from then on
    /// when it could go and the cap had room for it (its text, and its first item if any).
    fn lessons_on_their_days(&self) -> Result<(), String> {
        let lessons = self.lessons();
        for (index, (lesson, at)) in lessons.iter().enumerate() {
            let day = self.date(*at);
            let track_day = (day - self.day0()).num_days() - self.shift_by(*at);
            let lesson_day = self.case.lesson_day(index);
            if track_day < lesson_day {
                return Err(format!(
                    "lesson {lesson} went out on {day}, track day {track_day}, before its day {lesson_day}"
                ));
            }
            let needed = if self.lesson_items[index] == 0 { 1 } else { 2 };
            let mut earlier = self.day0().min(self.date(self.case.join));
            while earlier < day {
                let used = self.scheduled_on(earlier);
                if self.lesson_could_go(index, earlier, &lessons) && used + needed <= self.case.cap as usize {
                    return Err(format!(
                        "lesson {lesson} was due on {earlier} and the cap had room ({used} of {} used), but it went out on {day}",
                        self.case.cap
                    ));
                }
                earlier += Duration::days(1);
            }
        }
        Ok(())
    }

    /// Property 6: what a regular slot sends goes out at the learner's time (the track's, or their
    /// `/time`), unless that time is in a spring gap that day; the day-0 catch-up (the first
    /// slot) and the team question's slots have times of their own.
    fn slots_at_the_learners_time(&self) -> Result<(), String> {
        let zone = self.case.zone();
        let first_slot = self.deliveries.iter().find(|d| d.slot.is_some()).map(|d| d.created);
        for delivery in &self.deliveries {
            let Some(slot) = &delivery.slot else { continue };
            if slot.starts_with("team:") || Some(delivery.created) == first_slot {
                continue;
            }
            let local = self.case.local(delivery.created);
            let time = self.time_at(delivery.created);
            let wall_exists = !matches!(zone.from_local_datetime(&local.date().and_time(time)), LocalResult::None);
            if wall_exists && local.time().format("%H:%M").to_string() != time.format("%H:%M").to_string() {
                return Err(format!(
                    "#{} {:?} went out at {local}, not at the learner's {time}",
                    delivery.seq, delivery.purpose
                ));
            }
        }
        Ok(())
    }
}

impl Record<'_> {
    /// Property 7: reviews and practice check-ins keep their own spacing: a review of a quiz only after
    /// it was answered, a practice's check-in (once) only its days after the practice.
    fn reviews_and_check_ins_keep_their_spacing(&self) -> Result<(), String> {
        let mut practices: BTreeMap<&ItemId, DateTime<Utc>> = BTreeMap::new();
        let mut checked: BTreeMap<&ItemId, usize> = BTreeMap::new();
        for delivery in &self.deliveries {
            let local = self.case.local(delivery.created);
            match &delivery.purpose {
                Purpose::Practice { item } => {
                    practices.insert(item, delivery.created);
                }
                Purpose::PracticeCheck { item } => {
                    let days = self.practice_days.get(item).copied().unwrap_or_default();
                    let given = practices.get(item).copied();
                    if given.is_none_or(|given| delivery.created < given + Duration::days(days)) {
                        return Err(format!(
                            "the check-in of {item} went out at {local}, before {days} days since the practice ({given:?})"
                        ));
                    }
                    let count = checked.entry(item).or_default();
                    *count += 1;
                    if *count > 1 {
                        return Err(format!("the check-in of {item} went out twice (again at {local})"));
                    }
                }
                Purpose::Quiz { item, review: true, .. } => {
                    let answered =
                        self.quiz_answers.iter().any(|(answered, at)| answered == item && *at < delivery.created);
                    if !answered {
                        return Err(format!("a review of {item} went out at {local}, before any answer to it"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let mut run = Run::new(case)?;
    run.run()?;
    let pack = lessons();
    let deliveries = run.deliveries();
    let record = Record {
        case,
        scheduled: scheduled_seqs(&deliveries),
        deliveries,
        paused: run.paused.clone(),
        times: run.times.clone(),
        lesson_ids: pack.lessons.iter().map(|lesson| lesson.id.clone()).collect(),
        lesson_items: pack.lessons.iter().map(|lesson| lesson.items.len()).collect(),
        practice_days: pack
            .items()
            .filter_map(|(_, item)| Some((item.id.clone(), i64::from(item.as_practice()?.follow_up_days))))
            .collect(),
        quiz_answers: run
            .service
            .store()
            .answers()
            .filter_map(Result::ok)
            .filter(|answer| matches!(answer.kind, AnswerKind::Quiz { .. }))
            .map(|answer| (answer.item, answer.at))
            .collect(),
    };
    record.check().map_err(|why| run.fail(why))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_lesson_goes_out_once_on_its_day_within_the_rules(case in case()) {
        run_case(&case)?;
    }
}
