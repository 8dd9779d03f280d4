//! Planning one slot for 100,000 learners with the real planner and the example pack
//! (target: under 200 ms on a 2-core machine, allocations flat per learner).

use chrono::{DateTime, Duration, Utc};
use divan::{AllocProfiler, Bencher};
use nudge::authoring::check::load_checked;
use nudge::content::Pack;
use nudge::domain::{Learner, LearnerId, Progress, Status, Step};
use nudge::engine::{SlotContext, plan_slot, srs};
use nudge::i18n::Lang;
use nudge::schedule::policy::Policy;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const LEARNERS: usize = 100_000;

fn main() {
    divan::main();
}

fn pack() -> std::sync::Arc<Pack> {
    let loaded = load_checked(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/content")));
    loaded.library().pack("customer-focus").cloned().expect("the example pack loads")
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z").map(|at| at.with_timezone(&Utc)).unwrap_or_default()
}

/// Learners spread over the pack: some new, some mid-lesson, some with reviews due.
fn learners(pack: &Pack) -> Vec<Learner> {
    (0..LEARNERS)
        .map(|idx| {
            let started = idx % (pack.lessons.len() + 1);
            let mut progress = Progress::default();
            for lesson in pack.lessons.iter().take(started) {
                progress.lessons_started.push(lesson.id.clone());
                for item in lesson.items.iter().filter(|item| item.as_quiz().is_some()) {
                    let mut memory =
                        srs::Scheduler::default().review(None, srs::Grade::of(idx % 3 != 0), now() - Duration::days(5));
                    memory.due = now() - Duration::hours((idx % 48) as i64 - 24);
                    progress.memory.insert(item.id.clone(), memory);
                }
            }
            if idx % 4 == 1 && started < pack.lessons.len() {
                let lesson = &pack.lessons[started];
                progress.lessons_started.push(lesson.id.clone());
                progress.queue = lesson.items.iter().map(|item| Step::Item { item: item.id.clone() }).collect();
            }
            Learner {
                id: LearnerId::new(idx as i64 + 1),
                cohort: "bench".to_owned(),
                name: String::new(),
                lang: Lang::En,
                status: Status::Active,
                enrolled_at: now() - Duration::days(30),
                progress,
                prefs: Default::default(),
                next_nudge: None,
                pending_move: None,
                notice_version: nudge::domain::PRIVACY_NOTICE,
                team: Default::default(),
            }
        })
        .collect()
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn plan_one_slot_for_100k_learners(bencher: Bencher) {
    let pack = pack();
    let policy = Policy::default();
    let template = learners(&pack);
    bencher.with_inputs(|| template.clone()).bench_local_refs(|learners| {
        let ctx = SlotContext {
            pack: &pack,
            policy: &policy,
            tz: chrono_tz::Europe::Amsterdam,
            now: now(),
            lessons: nudge::engine::NewLessons::OnePerSlot,
        };
        let mut drafts = 0;
        for learner in learners.iter_mut() {
            drafts += plan_slot(learner, &ctx).drafts.len();
        }
        drafts
    });
}
