//! Finding one learner's next nudge (`schedule::agenda::next_due`) on schedules from every three
//! seconds to monthly, with and without a preferred time, and a schedule that never reaches a
//! learner (the worst case, which `check` refuses). The agenda is recomputed after every nudge
//! and command, and for every learner when the config changes, so it must not grow with density.

use chrono::{DateTime, NaiveTime, Utc};
use divan::Bencher;
use nudge::schedule::agenda::{Timing, next_due};
use nudge::schedule::cron::CronSpec;
use nudge::schedule::policy::Policy;

fn main() {
    divan::main();
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T08:00:00.250Z").map(|at| at.with_timezone(&Utc)).unwrap_or_default()
}

const SCHEDULES: [&str; 5] = ["*/3 * * * * *", "*/2 * * * *", "0 9 * * Mon-Fri", "0 9 1 * *", "*/3 * 22-23 * * *"];

#[divan::bench(args = SCHEDULES)]
fn next_due_on_the_cohort_times(bencher: Bencher, schedule: &str) {
    bench(bencher, schedule, None);
}

#[divan::bench(args = SCHEDULES)]
fn next_due_at_a_preferred_time(bencher: Bencher, schedule: &str) {
    bench(bencher, schedule, NaiveTime::from_hms_opt(8, 30, 0));
}

fn bench(bencher: Bencher, schedule: &str, preferred: Option<NaiveTime>) {
    let Ok(schedule) = CronSpec::parse(schedule) else { return };
    let policy = Policy::default();
    let timing = Timing {
        schedule: &schedule,
        cohort_tz: chrono_tz::Europe::Amsterdam,
        policy: &policy,
        learner_tz: chrono_tz::Europe::London,
        preferred,
    };
    bencher.bench(|| next_due(divan::black_box(&timing), divan::black_box(now())));
}
