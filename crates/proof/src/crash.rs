//! The crash test: the real daemon fans a slot out to many learners while some of them answer,
//! is killed with SIGKILL at a random moment and restarted. Checked after every round: every
//! learner got the slot's lesson (or is recorded as failed), no answer the fake saw confirmed is
//! missing from the store, the store opens every time, and duplicates stay within the sends in
//! flight at the kill (none in the control round without a kill). With `instances` above one
//! (PostgreSQL), several daemons share the database and the active one is killed each round
//! (`instances.rs`); a standby must take over within [`TAKEOVER_BOUND`]. With `webhook` too, every
//! instance takes the updates the fake posts through an in-process balancer (`balancer.rs`), and
//! no update may be handled twice.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use fake_telegram::{FakeTelegram, TgUser};
use nudge::domain::{AnswerKind, DeliveryState, Purpose};

use crate::balancer::BalancerCounts;
use crate::daemon::Daemon;
use crate::setup::{Cohort, enrol, install};

/// Most sends the daemon has in flight at once (bulk learners plus replies): the bound on
/// duplicates after a kill.
pub const IN_FLIGHT_BOUND: usize = 64;

/// Updates a kill may leave handled twice in webhook mode: the fake posts one at a time, so at
/// most the one in flight at the kill.
pub const REHANDLED_BOUND: usize = 1;

/// The longest a standby may take to take over after the active instance is killed.
pub const TAKEOVER_BOUND: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone)]
pub struct CrashOptions {
    /// Rounds with a kill (a control round without one comes first).
    pub rounds: usize,
    /// Learners in the fan-out.
    pub learners: usize,
    /// Learners who answer their quiz.
    pub answering: usize,
    /// The `nudge` binary.
    pub binary: PathBuf,
    /// Seed of the kill moments.
    pub seed: u64,
    /// Daemons on one database (PostgreSQL, a fresh database a round from the server in
    /// `NUDGE_TEST_DATABASE_URL`); 1 for one daemon, killed and started again.
    pub instances: usize,
    /// Webhook mode behind a round-robin balancer instead of long polling (2 instances or more).
    pub webhook: bool,
}

/// The outcome of one round.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// `None` for the control round.
    pub killed_after: Option<Duration>,
    /// Learners who got the lesson.
    pub prompted: usize,
    /// Learners whose lesson is recorded as failed.
    pub failed: usize,
    /// Learners who got neither (must be 0).
    pub missing_prompts: usize,
    /// Lesson messages sent more than once.
    pub duplicates: usize,
    /// Quiz presses made.
    pub presses: usize,
    /// Presses the fake saw confirmed.
    pub confirmed: usize,
    /// Confirmed presses whose answer is not in the store (must be 0).
    pub lost_answers: usize,
    /// Time from the first lesson to every learner having it, after the restart.
    pub settled_in: Duration,
    /// With several instances: from the kill to a standby saying it took over.
    pub taken_over_in: Option<Duration>,
    /// getUpdates the fake ended with 409 (two polls at once; a killed poller's open call
    /// counts once when the next one starts).
    pub conflicts: u64,
    /// Quiz answers in the store beyond one per learner and quiz (each learner taps once; must
    /// be 0).
    pub double_answers: usize,
    /// Presses the daemons answered (`answerCallbackQuery`) more than once: updates handled
    /// twice. 0 without a kill; at most [`REHANDLED_BOUND`] a kill in webhook mode.
    pub handled_twice: usize,
    /// `answerCallbackQuery` calls the daemons made: one a handled press (a kill may lose one).
    pub press_answers: usize,
    /// In webhook mode, what the balancer did.
    pub balanced: Option<BalancerCounts>,
    /// In webhook mode, posts of the fake that did not get a 2xx (it posted them again).
    pub webhook_failures: u64,
}

impl Round {
    /// True when the round meets every requirement.
    pub fn passed(&self) -> bool {
        let duplicates_ok = match self.killed_after {
            None => self.duplicates == 0,
            Some(_) => self.duplicates <= IN_FLIGHT_BOUND,
        };
        let takeover_ok = self.taken_over_in.is_none_or(|took| took <= TAKEOVER_BOUND);
        self.missing_prompts == 0
            && self.lost_answers == 0
            && self.double_answers == 0
            && duplicates_ok
            && takeover_ok
            && self.rehandled_ok()
    }

    /// No update handled twice without a kill; in webhook mode at most [`REHANDLED_BOUND`] with
    /// one. (Long polling may handle the batch it got before a kill again: not bounded here.)
    fn rehandled_ok(&self) -> bool {
        match (self.killed_after, self.balanced) {
            (None, _) => self.handled_twice == 0,
            (Some(_), Some(_)) => self.handled_twice <= REHANDLED_BOUND,
            (Some(_), None) => true,
        }
    }
}

/// Runs the control round and `options.rounds` rounds with a kill.
pub fn run(options: &CrashOptions, mut report: impl FnMut(usize, &Round)) -> anyhow::Result<Vec<Round>> {
    anyhow::ensure!(
        !options.webhook || options.instances >= 2,
        "--webhook runs several instances behind a load balancer: give --instances 2 or more (and --backend postgres)"
    );
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut rounds = Vec::new();
    for idx in 0..=options.rounds {
        let kill = idx > 0;
        let kill_after = kill.then(|| Duration::from_millis(rng.u64(0..1500)));
        let round = match options.instances {
            0 | 1 => round(options, kill_after)?,
            _ => crate::instances::round(options, kill_after)?,
        };
        report(idx, &round);
        rounds.push(round);
    }
    Ok(rounds)
}

fn round(options: &CrashOptions, kill_after: Option<Duration>) -> anyhow::Result<Round> {
    let fake = FakeTelegram::start();
    let install = install(&fake.api_url(), &Cohort { schedule: "*/5 * * * * *", per_second: 0, per_chat: 0 })?;
    let ids = 1..(options.learners as i64 + 1);
    enrol(&install.store, ids.clone(), Utc::now())?;
    let log = install.dir.path().join("daemon.log");
    let mut daemon = Daemon::start(&options.binary, &install.config, &log)?;
    let mut presser = Presser::new(options.answering);
    let deadline = Instant::now() + Duration::from_secs(120);
    wait(deadline, |_| Ok(count_lessons(&fake) > 0), &mut presser, &fake)?;
    let started = Instant::now();
    let mut result = Round { killed_after: kill_after, ..Round::default() };
    if let Some(after) = kill_after {
        pump(&mut presser, &fake, after);
        daemon.kill()?;
        pump(&mut presser, &fake, Duration::from_millis(200));
        daemon = Daemon::start(&options.binary, &install.config, &log)?;
    }
    let everyone = |fake: &FakeTelegram| count_lessons(fake) >= options.learners;
    wait(deadline, |presser| Ok(everyone(&fake) && presser.pressed.len() >= options.answering), &mut presser, &fake)?;
    wait(deadline, |_| Ok(fake.pending_updates() == 0), &mut presser, &fake)?;
    result.settled_in = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    daemon.stop().map_err(|error| anyhow::anyhow!("{error}; daemon log: {}", tail(&log)))?;
    check(&install.store, &fake, &presser, ids, &mut result)?;
    Ok(result)
}

/// Presses the right answer on quizzes as they arrive, for the first `answering` learners;
/// those from `held_from` on wait for [`Presser::release`].
pub(crate) struct Presser {
    answering: usize,
    held_from: i64,
    pub(crate) pressed: HashMap<i64, (i64, u64)>,
}

impl Presser {
    pub(crate) fn new(answering: usize) -> Self {
        Self { answering, held_from: i64::MAX, pressed: HashMap::new() }
    }

    /// A presser whose last `held` learners press only once released.
    pub(crate) fn holding_back(answering: usize, held: usize) -> Self {
        let held_from = answering.saturating_sub(held) as i64 + 1;
        Self { held_from, ..Self::new(answering) }
    }

    /// Lets the held-back learners press.
    pub(crate) fn release(&mut self) {
        self.held_from = i64::MAX;
    }

    fn press_new_quizzes(&mut self, fake: &FakeTelegram) {
        for learner in 1..=self.answering as i64 {
            if learner >= self.held_from || self.pressed.contains_key(&learner) {
                continue;
            }
            let Some(quiz) = fake.sent_to(learner).into_iter().find(|message| message.button("Ask").is_some()) else {
                continue;
            };
            let Some(data) = quiz.button("Ask").and_then(|button| button.callback_data.clone()) else { continue };
            let seq = data.split(':').nth(1).and_then(|seq| seq.parse().ok()).unwrap_or(0);
            let update = fake.user_presses(&TgUser::new(learner), quiz.message_id, &data);
            self.pressed.insert(learner, (update, seq));
        }
    }
}

pub(crate) fn pump(presser: &mut Presser, fake: &FakeTelegram, for_how_long: Duration) {
    let until = Instant::now() + for_how_long;
    while Instant::now() < until {
        presser.press_new_quizzes(fake);
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn wait(
    deadline: Instant,
    mut done: impl FnMut(&Presser) -> anyhow::Result<bool>,
    presser: &mut Presser,
    fake: &FakeTelegram,
) -> anyhow::Result<()> {
    while !done(presser)? {
        anyhow::ensure!(Instant::now() < deadline, "the round did not settle in time");
        pump(presser, fake, Duration::from_millis(20));
    }
    Ok(())
}

pub(crate) fn count_lessons(fake: &FakeTelegram) -> usize {
    let lessons: HashSet<i64> =
        fake.all_sent().into_iter().filter(|m| m.plain_text.starts_with("📘")).map(|m| m.chat_id).collect();
    lessons.len()
}

pub(crate) fn check(
    store_path: &Path,
    fake: &FakeTelegram,
    presser: &Presser,
    ids: std::ops::Range<i64>,
    round: &mut Round,
) -> anyhow::Result<()> {
    let store = crate::setup::open_store(store_path)?;
    let mut lessons: HashMap<i64, usize> = HashMap::new();
    for message in fake.all_sent().into_iter().filter(|m| m.plain_text.starts_with("📘")) {
        *lessons.entry(message.chat_id).or_default() += 1;
    }
    let failed: HashSet<i64> = store
        .deliveries()
        .filter_map(Result::ok)
        .filter(|d| matches!(d.purpose, Purpose::Lesson { .. }) && matches!(d.state, DeliveryState::Failed { .. }))
        .map(|d| d.learner.get())
        .collect();
    for id in ids {
        match lessons.get(&id) {
            Some(count) => {
                round.prompted += 1;
                round.duplicates += count - 1;
            }
            None if failed.contains(&id) => round.failed += 1,
            None => round.missing_prompts += 1,
        }
    }
    let answered = tally(
        store
            .answers()
            .filter_map(Result::ok)
            .filter(|answer| matches!(answer.kind, AnswerKind::Quiz { .. }))
            .map(|answer| (answer.learner.get(), answer.delivery.get())),
    );
    round.double_answers = surplus(&answered);
    let press_answers = tally(press_answers(fake));
    round.press_answers = press_answers.values().sum();
    round.handled_twice = surplus(&press_answers);
    let confirmed_up_to = fake.confirmed_update_id().unwrap_or(0);
    round.presses = presser.pressed.len();
    for (learner, (update, seq)) in &presser.pressed {
        if *update <= confirmed_up_to {
            round.confirmed += 1;
            if !answered.contains_key(&(*learner, *seq)) {
                round.lost_answers += 1;
            }
        }
    }
    Ok(())
}

/// How often each key occurs.
fn tally<K: std::hash::Hash + Eq>(keys: impl IntoIterator<Item = K>) -> HashMap<K, usize> {
    let mut counts = HashMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// The occurrences beyond the first of every key.
fn surplus<K>(counts: &HashMap<K, usize>) -> usize {
    counts.values().map(|count| count.saturating_sub(1)).sum()
}

/// The callback query of every `answerCallbackQuery` the daemons made, answered or refused: a
/// press handled twice is answered twice.
fn press_answers(fake: &FakeTelegram) -> impl Iterator<Item = String> {
    let requests = fake.requests().into_iter().filter(|request| request.method == "answerCallbackQuery");
    requests.filter_map(|request| request.params.get("callback_query_id").map(ToString::to_string))
}

pub(crate) fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::{surplus, tally};

    #[test]
    fn a_second_answer_to_one_quiz_counts() {
        let once = tally([(1, 7), (2, 7), (1, 8)]);
        assert_eq!(surplus(&once), 0);
        let twice = tally([(1, 7), (2, 7), (1, 7), (1, 7)]);
        assert_eq!(surplus(&twice), 2, "learner 1 answered quiz 7 three times");
    }
}
