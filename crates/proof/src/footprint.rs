//! Footprint: the daemon's memory with many learners, the store's size per million answers,
//! and `nudge report` over such a store (time and memory).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fake_telegram::FakeTelegram;
use nudge::domain::{
    Answer, AnswerKind, Delivery, DeliverySeq, DeliveryState, ItemId, Learner, LearnerId, Progress, Purpose, Status,
};
use nudge::engine::srs::Grade;
use nudge::i18n::Lang;
use nudge::store::{Storage, StorageExt, Store};
use nudge::tune::synthetic;

use crate::daemon::Daemon;
use crate::setup::{Cohort, enrol, install};

/// Resident memory of the daemon with `learners` enrolled, in MB: (RSS, peak) at the first start,
/// which reschedules every learner (the made-up agenda does not match the cohort's schedule,
/// as after a schedule change), then (RSS, peak) at a restart, the everyday case.
pub fn daemon_memory(binary: &Path, learners: usize) -> anyhow::Result<[(f64, f64); 2]> {
    let fake = FakeTelegram::start();
    let install = install(&fake.api_url(), &Cohort { schedule: "0 9 * * *", per_second: 30, per_chat: 1 })?;
    enrol(&install.store, 1..learners as i64 + 1, Utc::now() + chrono::Duration::days(1))?;
    let first = run_and_measure(binary, &install.config, &install.dir.path().join("first.log"))?;
    let restart = run_and_measure(binary, &install.config, &install.dir.path().join("restart.log"))?;
    Ok([first, restart])
}

fn run_and_measure(binary: &Path, config: &Path, log: &Path) -> anyhow::Result<(f64, f64)> {
    let daemon = Daemon::start(binary, config, log)?;
    let started = Instant::now();
    while !std::fs::read_to_string(log).unwrap_or_default().contains("nudge is running") {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(300), "the daemon did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    let memory = crate::memory_mb(daemon.pid()).unwrap_or((0.0, 0.0));
    daemon.stop()?;
    Ok(memory)
}

/// Bytes on disk for a store with `learners` learners and `answers` answers (and a sent
/// delivery for each answer, as in real use).
#[derive(Debug, Clone)]
pub struct StoreSize {
    /// Answers written.
    pub answers: usize,
    /// The store directory's size in bytes.
    pub bytes: u64,
    /// Bytes of the keys and values themselves.
    pub live: u64,
    /// Time to write it all.
    pub written_in: Duration,
}

/// Fills a store at `path` with realistic records: per learner, `answers / learners` prompts
/// with their answers, four quizzes in five and one reflection, in cohorts `team-0` … `team-9`.
/// The quizzes are the ones nudge would have asked (FSRS-6's defaults schedule them) and are
/// answered right with the chance FSRS gives learners who remember by
/// [`synthetic::forgetful`]'s weights, so `nudge tune` has a forgetting curve to find.
pub fn populate(path: &Path, learners: usize, answers: usize) -> anyhow::Result<StoreSize> {
    let started = Instant::now();
    let store = Store::open(path)?;
    let per_learner = answers / learners.max(1);
    let quizzes = per_learner - per_learner / 5;
    let group = synthetic::Learners {
        items: (quizzes / 4).max(1),
        ..synthetic::Learners::following(synthetic::forgetful(), 11)
    };
    let now = Utc::now();
    for id in (1..=learners as i64).map(LearnerId::new) {
        let history = quiz_history(&group, id, quizzes, now);
        store.with_learner(id, |tx| {
            tx.put_learner(&learner(id, now))?;
            let mut history = history.iter();
            let mut last = now - chrono::Duration::days(1);
            for seq in 1..=per_learner as u64 {
                let quiz = if seq.is_multiple_of(5) { None } else { history.next() };
                let at = quiz.map_or(last + chrono::Duration::seconds(30), |quiz| quiz.at);
                let (delivery, answer) = exchange(id, seq, at, quiz);
                tx.put_delivery(&delivery)?;
                tx.put_answer(&answer)?;
                last = at;
            }
            Ok(())
        })?;
    }
    store.flush_blocking()?;
    let live = store.live_bytes()?;
    drop(store);
    Ok(StoreSize { answers: learners * per_learner, bytes: dir_size(path), live, written_in: started.elapsed() })
}

fn learner(id: LearnerId, now: DateTime<Utc>) -> Learner {
    Learner {
        id,
        cohort: format!("team-{}", id.get() % 10),
        name: format!("Learner {id}"),
        lang: Lang::Nl,
        status: Status::Active,
        enrolled_at: now,
        progress: Progress::default(),
        prefs: Default::default(),
        next_nudge: None,
        pending_move: None,
        notice_version: nudge::domain::PRIVACY_NOTICE,
        team: Default::default(),
    }
}

/// Learner `id`'s first `quizzes` quiz answers (the schedule runs two years at most), moved
/// so that the last came four minutes before `now`.
fn quiz_history(
    group: &synthetic::Learners,
    id: LearnerId,
    quizzes: usize,
    now: DateTime<Utc>,
) -> Vec<synthetic::Answer> {
    let start = now - chrono::Duration::days(730);
    let mut history = group.answers(id.get() as u64, start, 730);
    history.truncate(quizzes);
    if let Some(last) = history.last().map(|answer| answer.at) {
        let shift = now - chrono::Duration::minutes(4) - last;
        history.iter_mut().for_each(|answer| answer.at += shift);
    }
    history
}

/// A prompt and the answer four minutes after it: a quiz answered as `quiz` says, or (without
/// one) a reflection.
fn exchange(learner: LearnerId, seq: u64, at: DateTime<Utc>, quiz: Option<&synthetic::Answer>) -> (Delivery, Answer) {
    let lesson = quiz.map_or(seq % 10, |quiz| quiz.item as u64);
    let item = ItemId::new(&format!("lesson-{lesson}"), "quiz").expect("a lesson id and a local id make an item id");
    let cohort = format!("team-{}", learner.get() % 10);
    let at = at - chrono::Duration::minutes(4);
    let purpose = match quiz {
        None => Purpose::Reflect { item: item.clone(), question: 0 },
        Some(quiz) => Purpose::Quiz { item: item.clone(), correct: 1, review: quiz.review },
    };
    let delivery = Delivery {
        seq: DeliverySeq::new(seq),
        learner,
        cohort: cohort.clone(),
        created: at,
        slot: Some(at.format("%Y-%m-%dT%H:%M:%S").to_string()),
        purpose,
        state: DeliveryState::Sent { message_id: seq as i64 * 2, at },
        outgoing: None,
    };
    let kind = match quiz {
        None => AnswerKind::Reflect {
            question: 0,
            text: "Ik vraag eerst door voordat ik iets aanbied.".to_owned(),
            shared: false,
        },
        Some(quiz) => {
            let correct = quiz.grade == Grade::Good;
            AnswerKind::Quiz {
                choice: if correct { 1 } else { (seq % 2) as usize * 2 },
                correct,
                review: quiz.review,
                confidence: None,
            }
        }
    };
    let answer = Answer {
        learner,
        cohort,
        delivery: DeliverySeq::new(seq),
        item,
        at: at + chrono::Duration::minutes(4),
        prompt_sent_at: Some(at),
        kind,
    };
    (delivery, answer)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `nudge report` over a store of `learners` learners and `answers` answers: wall time and peak
/// memory (MB), and the store's size.
pub fn report(binary: &Path, learners: usize, answers: usize) -> anyhow::Result<(Duration, f64, StoreSize)> {
    let fake = FakeTelegram::start();
    let install = install(&fake.api_url(), &Cohort { schedule: "0 9 * * *", per_second: 30, per_chat: 1 })?;
    let config = std::fs::read_to_string(&install.config)?;
    let teams: String = (0..10)
        .map(|team| format!("\n[[cohorts]]\nid = \"team-{team}\"\npack = \"demo\"\ninvite = \"T{team}\"\nschedule = \"0 9 * * *\"\ntimezone = \"UTC\"\nlanguage = \"en\"\n"))
        .collect();
    std::fs::write(&install.config, format!("{config}{teams}"))?;
    let size = populate(&install.store, learners, answers)?;
    let out: PathBuf = install.dir.path().join("report.txt");
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["report", "--config"])
        .arg(&install.config)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut peak: f64 = 0.0;
    while child.try_wait()?.is_none() {
        if let Some((_, high)) = crate::memory_mb(child.id()) {
            peak = peak.max(high);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "nudge report failed");
    anyhow::ensure!(std::fs::metadata(&out)?.len() > 0, "the report is empty");
    Ok((elapsed, peak, size))
}
