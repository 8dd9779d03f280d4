//! Property tests of `next_due` over random schedules (every three seconds to monthly), time
//! zones, preferred times, quiet hours, days off and dates around DST changes: every learner
//! whose cohort can be nudged always has a next nudge, and it is the one a slot-by-slot walk
//! finds.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::agenda::{Due, Timing, next_due, personal_time};
use super::cron::CronSpec;
use super::policy::{Policy, QuietHours};
use crate::testkit::{QUIET_HOURS, ZONES};

/// From every three seconds to once a month.
const SCHEDULES: [&str; 12] = [
    "*/3 * * * * *",
    "*/20 * * * * *",
    "0 */2 * * * *",
    "*/2 * * * *",
    "*/30 7-19 * * *",
    "0 9 * * *",
    "30 2 * * *",
    "0 8,13 * * Mon-Fri",
    "0 9 * * Sat,Sun",
    "15 10 * * Wed",
    "0 9 1 * *",
    "0 9 15 */2 *",
];

/// Days around which clocks change in the zones above, and ordinary days.
const DATES: [(i32, u32, u32); 8] = [
    (2026, 3, 29),
    (2026, 10, 25),
    (2026, 3, 8),
    (2026, 11, 1),
    (2026, 4, 5),
    (2026, 9, 27),
    (2027, 2, 28),
    (2026, 12, 1),
];

#[derive(Debug, Clone)]
struct Case {
    schedule: &'static str,
    cohort_tz: Tz,
    learner_tz: Tz,
    policy: Policy,
    preferred: Option<NaiveTime>,
    after: DateTime<Utc>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (0..SCHEDULES.len(), 0..ZONES.len(), 0..ZONES.len(), any::<bool>()),
        (0..QUIET_HOURS.len(), 0usize..3),
        prop::option::of((0u32..24, 0u32..4)),
        (0..DATES.len(), -2i64..3, 0i64..86_400, 0u32..1_000_000_000),
    )
        .prop_map(|((schedule, cohort_tz, learner_tz, same_zone), (quiet, days_off), preferred, when)| {
            let (date, day_shift, second, nano) = when;
            let (year, month, day) = DATES[date];
            let midnight = NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default().and_time(NaiveTime::MIN);
            Case {
                schedule: SCHEDULES[schedule],
                cohort_tz: ZONES[cohort_tz],
                learner_tz: if same_zone { ZONES[cohort_tz] } else { ZONES[learner_tz] },
                policy: Policy {
                    quiet_hours: QUIET_HOURS[quiet].and_then(|text| QuietHours::parse(text).ok()),
                    days_off: [vec![], vec![Weekday::Sat, Weekday::Sun], vec![Weekday::Wed]][days_off].clone(),
                    ..Policy::default()
                },
                preferred: preferred.and_then(|(hour, quarter)| NaiveTime::from_hms_opt(hour, quarter * 15, 0)),
                after: midnight.and_utc()
                    + Duration::days(day_shift)
                    + Duration::seconds(second)
                    + Duration::nanoseconds(i64::from(nano)),
            }
        })
}

/// The definition, walked slot by slot: the first cohort slot whose personal time is after
/// `after` and allowed. Slow for dense schedules, which is why the daemon does not do this.
fn walk(timing: &Timing<'_>, after: DateTime<Utc>) -> Option<Due> {
    let mut cursor = after - Duration::days(3);
    let until = after + Duration::days(200);
    while let Some(slot) = timing.schedule.next_after(timing.cohort_tz, cursor) {
        if slot.at > until {
            return None;
        }
        cursor = slot.at;
        let Some(at) = personal_time(timing, &slot) else { continue };
        if at > after && timing.policy.allows(at.with_timezone(&timing.learner_tz).naive_local()) {
            return Some(Due { at, slot });
        }
    }
    None
}

fn timing<'a>(case: &'a Case, schedule: &'a CronSpec, preferred: Option<NaiveTime>) -> Timing<'a> {
    Timing { schedule, cohort_tz: case.cohort_tz, policy: &case.policy, learner_tz: case.learner_tz, preferred }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_next_nudge_is_the_first_allowed_slot_after_now(case in case()) {
        let schedule = CronSpec::parse(case.schedule).map_err(TestCaseError::fail)?;
        let timing = timing(&case, &schedule, case.preferred);
        let expected = walk(&timing, case.after);
        let found = next_due(&timing, case.after);
        prop_assert_eq!(&found, &expected);
        if let Some(due) = found {
            prop_assert!(due.at > case.after);
        }
    }

    #[test]
    fn a_learner_whose_time_is_outside_quiet_hours_has_a_next_nudge_whenever_the_cohort_has(case in case()) {
        let schedule = CronSpec::parse(case.schedule).map_err(TestCaseError::fail)?;
        let cohort_fires = next_due(&timing(&case, &schedule, None), case.after).is_some();
        let preferred = case.preferred.filter(|time| case.policy.quiet_hours.is_none_or(|quiet| !quiet.contains(*time)));
        let mut after = case.after;
        for _ in 0..5 {
            let due = next_due(&timing(&case, &schedule, preferred), after);
            prop_assert!(due.is_some() || !cohort_fires, "no next nudge after {}", after);
            let Some(due) = due else { break };
            prop_assert!(due.at > after);
            after = due.at;
        }
    }
}

#[test]
fn a_jump_into_the_cohorts_spring_gap_skips_no_slot_after_it() {
    // London skips 01:00-02:00 on 2026-03-29. A learner in Amsterdam at 22:15 wants the slot
    // whose time lands after 23:30 their time: 01:15 London, inside the gap, so the first slot
    // after the gap (02:00:00) is the one; jumping to 02:15 skipped a quarter of an hour.
    let schedule = CronSpec::parse("*/3 * * * * *").unwrap_or_else(|error| panic!("{error}"));
    let policy = Policy { quiet_hours: None, ..Policy::default() };
    let timing = Timing {
        schedule: &schedule,
        cohort_tz: chrono_tz::Europe::London,
        policy: &policy,
        learner_tz: chrono_tz::Europe::Amsterdam,
        preferred: NaiveTime::from_hms_opt(22, 15, 0),
    };
    let after =
        NaiveDate::from_ymd_opt(2026, 3, 29).unwrap_or_default().and_hms_opt(21, 30, 0).unwrap_or_default().and_utc();
    let due = next_due(&timing, after).map(|due| due.slot.key());
    assert_eq!(due.as_deref(), Some("2026-03-29T02:00:00"));
    assert_eq!(next_due(&timing, after), walk(&timing, after));
}
