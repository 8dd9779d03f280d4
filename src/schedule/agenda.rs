//! When a learner's next nudge is due: the cohort's next slot, moved to the learner's preferred
//! time and time zone, skipping quiet hours and days off. Pure.
//!
//! A slot keeps its identity (the cohort's wall-clock key) wherever it is moved, so the
//! once-per-slot claim holds however a learner sets their time.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::cron::{CronSpec, Slot};
use super::policy::Policy;

/// Most cohort slots looked at before concluding that none fits (a year of daily slots).
const MAX_SLOTS: usize = 400;

/// What decides a learner's nudge times.
#[derive(Debug, Clone, Copy)]
pub struct Timing<'a> {
    /// The cohort's schedule.
    pub schedule: &'a CronSpec,
    /// The cohort's time zone (the schedule's wall clock).
    pub cohort_tz: Tz,
    /// Quiet hours and days off.
    pub policy: &'a Policy,
    /// The learner's time zone.
    pub learner_tz: Tz,
    /// The learner's preferred time of day, if they chose one.
    pub preferred: Option<NaiveTime>,
}

/// A learner's next nudge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// When it goes out.
    pub at: DateTime<Utc>,
    /// The cohort slot it belongs to.
    pub slot: Slot,
}

/// The learner's first nudge strictly after `after`.
pub fn next_due(timing: &Timing<'_>, after: DateTime<Utc>) -> Option<Due> {
    let mut cursor = after - lookback(timing);
    for _ in 0..MAX_SLOTS {
        let slot = timing.schedule.next_after(timing.cohort_tz, cursor)?;
        cursor = slot.at;
        let Some(at) = personal_time(timing, &slot) else { continue };
        if at <= after {
            continue;
        }
        if timing.policy.allows(at.with_timezone(&timing.learner_tz).naive_local()) {
            return Some(Due { at, slot });
        }
    }
    None
}

/// How far before `after` a slot may lie and still reach the learner after it. A preferred time
/// or another time zone can move a slot by up to a day either way; otherwise only a spring
/// DST gap moves it, by at most two hours. Looking back no further than needed keeps dense
/// schedules (a slot every few minutes) within the search.
fn lookback(timing: &Timing<'_>) -> Duration {
    if timing.preferred.is_none() && timing.learner_tz == timing.cohort_tz {
        Duration::hours(3)
    } else {
        Duration::days(2)
    }
}

/// When `slot` reaches this learner: at their preferred time on the slot's date (later slots
/// of that day keep their distance from the first), else at the slot's wall-clock time, in the
/// learner's time zone.
pub fn personal_time(timing: &Timing<'_>, slot: &Slot) -> Option<DateTime<Utc>> {
    let wall_clock = match timing.preferred {
        None => slot.local,
        Some(preferred) => {
            let first = first_slot_of_day(timing, slot.local.date()).unwrap_or(slot.local);
            slot.local.date().and_time(preferred) + (slot.local - first)
        }
    };
    resolve(timing.learner_tz, wall_clock)
}

fn first_slot_of_day(timing: &Timing<'_>, date: NaiveDate) -> Option<NaiveDateTime> {
    let midnight = resolve(timing.cohort_tz, date.and_time(NaiveTime::MIN))?;
    let first = timing.schedule.next_after(timing.cohort_tz, midnight - Duration::seconds(1))?;
    (first.local.date() == date).then_some(first.local)
}

/// A wall-clock time in `tz` as an instant: the earlier one in an autumn overlap, the first
/// minute after a spring gap.
pub fn resolve(tz: Tz, wall_clock: NaiveDateTime) -> Option<DateTime<Utc>> {
    for shift in [0, 30, 60, 90, 120] {
        match tz.from_local_datetime(&(wall_clock + Duration::minutes(shift))) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => return Some(at.with_timezone(&Utc)),
            LocalResult::None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::policy::QuietHours;
    use crate::testkit::at;
    use chrono::Timelike;
    use chrono_tz::Europe::{Amsterdam, London};

    fn weekdays_9() -> CronSpec {
        CronSpec::parse("0 9 * * Mon-Fri").unwrap()
    }

    fn timing<'a>(schedule: &'a CronSpec, policy: &'a Policy, learner_tz: Tz, preferred: Option<&str>) -> Timing<'a> {
        Timing {
            schedule,
            cohort_tz: Amsterdam,
            policy,
            learner_tz,
            preferred: preferred.map(|text| NaiveTime::parse_from_str(text, "%H:%M").unwrap()),
        }
    }

    #[test]
    fn without_preferences_the_nudge_is_the_cohort_slot() {
        let (schedule, policy) = (weekdays_9(), Policy::default());
        let due = next_due(&timing(&schedule, &policy, Amsterdam, None), at("2026-11-24T10:00:00Z")).unwrap();
        assert_eq!(due.at, at("2026-11-25T08:00:00Z"));
        assert_eq!(due.slot.key(), "2026-11-25T09:00:00");
    }

    #[test]
    fn a_dense_schedule_finds_the_next_minute() {
        let (schedule, policy) =
            (CronSpec::parse("*/2 * * * *").unwrap(), Policy { quiet_hours: None, ..Policy::default() });
        let due = next_due(&timing(&schedule, &policy, Amsterdam, None), at("2026-11-24T10:00:30Z")).unwrap();
        assert_eq!(due.at, at("2026-11-24T10:02:00Z"));
    }

    #[test]
    fn a_preferred_time_moves_the_nudge_within_the_slot_day() {
        let (schedule, policy) = (weekdays_9(), Policy::default());
        let due = next_due(&timing(&schedule, &policy, Amsterdam, Some("07:30")), at("2026-11-24T10:00:00Z")).unwrap();
        assert_eq!(due.at, at("2026-11-25T06:30:00Z"));
        assert_eq!(due.slot.key(), "2026-11-25T09:00:00", "still the cohort's slot of that day");
    }

    #[test]
    fn the_learners_time_zone_keeps_the_wall_clock() {
        let (schedule, policy) = (weekdays_9(), Policy::default());
        let due = next_due(&timing(&schedule, &policy, London, None), at("2026-11-24T10:00:00Z")).unwrap();
        assert_eq!(due.at.with_timezone(&London).hour(), 9);
    }

    #[test]
    fn quiet_hours_and_days_off_skip_slots() {
        let schedule = CronSpec::parse("0 22 * * *").unwrap();
        let policy = Policy::default();
        assert_eq!(
            next_due(&timing(&schedule, &policy, Amsterdam, None), at("2026-11-24T10:00:00Z")),
            None,
            "22:00 is always quiet"
        );
        let daily = CronSpec::parse("0 9 * * *").unwrap();
        let weekdays_only = Policy {
            days_off: vec![chrono::Weekday::Sat, chrono::Weekday::Sun],
            quiet_hours: Some(QuietHours::parse("21:00-07:00").unwrap()),
            ..Policy::default()
        };
        let due = next_due(&timing(&daily, &weekdays_only, Amsterdam, None), at("2026-11-27T10:00:00Z")).unwrap();
        assert_eq!(due.slot.key(), "2026-11-30T09:00:00", "Friday after 9 → Monday");
    }

    #[test]
    fn a_preferred_time_in_a_spring_gap_moves_past_it() {
        let resolved =
            resolve(Amsterdam, NaiveDateTime::parse_from_str("2027-03-28 02:30", "%Y-%m-%d %H:%M").unwrap()).unwrap();
        assert_eq!(resolved, at("2027-03-28T01:00:00Z"));
    }
}
