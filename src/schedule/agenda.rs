//! When a learner's next nudge is due: the cohort's next slot, moved to the learner's preferred
//! time and time zone, skipping quiet hours and days off. Pure. The same search serves the
//! cohort's team-question schedule, whose slots have claim keys of their own
//! ([`team_slot_key`]).
//!
//! A slot keeps its identity (the cohort's wall-clock key) wherever it is moved, so the
//! once-per-slot claim holds however a learner sets their time.
//!
//! The next slot is found by jumping, not by walking slot after slot: a slot that lies before
//! `after`, in quiet hours or on a day off tells how far the learner's wall clock must move,
//! and the search continues from the cohort slot that lands there. The work is a few steps per
//! calendar day, whatever the density of the schedule (every three seconds or once a month).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::cron::{CronSpec, Slot};
use super::policy::Policy;

/// How far ahead a learner's next nudge is looked for: past every cycle a 5- or 6-field cron
/// expression has (the longest is a yearly date such as 29 February, every four years).
pub(crate) const HORIZON_DAYS: i64 = 4 * 366 + 7;

/// How far before `after` a cohort slot may lie and still reach the learner after it: a
/// preferred time moves a slot by less than a day, a learner's time zone by at most 26 hours.
const LOOKBACK: Duration = Duration::days(3);

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

/// The learner's first nudge strictly after `after`: the first cohort slot whose personal time
/// (see [`personal_time`]) is later than `after` and allowed by the policy. `None` when the
/// schedule has no such slot within [`HORIZON_DAYS`], which `check` refuses for a cohort and
/// `/time` refuses for a learner.
pub fn next_due(timing: &Timing<'_>, after: DateTime<Utc>) -> Option<Due> {
    let horizon = after + Duration::days(HORIZON_DAYS);
    let after_wall = after.with_timezone(&timing.learner_tz).naive_local();
    let mut cursor = after - LOOKBACK;
    loop {
        let slot = timing.schedule.next_after(timing.cohort_tz, cursor)?;
        if slot.at > horizon {
            return None;
        }
        let shift = shift_on(timing, &slot);
        let wall = slot.local + shift;
        let wanted = match resolve(timing.learner_tz, wall) {
            Some(at) if at > after => {
                let local = at.with_timezone(&timing.learner_tz).naive_local();
                match timing.policy.next_allowed(local) {
                    Some(allowed) if allowed == local => return Some(Due { at, slot }),
                    Some(allowed) => Wanted::From(allowed),
                    None => return None,
                }
            }
            Some(_) => Wanted::After(after_wall),
            None => Wanted::After(wall),
        };
        cursor = jump(timing, &slot, shift, wanted);
    }
}

/// Where on the learner's wall clock the next candidate must land.
#[derive(Debug, Clone, Copy)]
enum Wanted {
    /// Strictly later than this (the slot was not after `after`).
    After(NaiveDateTime),
    /// At this time or later (the slot fell in quiet hours or on a day off).
    From(NaiveDateTime),
}

/// The instant after which the next candidate slot is looked for: the cohort wall-clock time
/// that lands where `wanted` says, but no later than the end of `slot`'s day (the next day may
/// have another shift) and never before `slot` itself, so every step makes progress.
fn jump(timing: &Timing<'_>, slot: &Slot, shift: Duration, wanted: Wanted) -> DateTime<Utc> {
    let (wall, inclusive) = match wanted {
        Wanted::After(wall) => (wall - shift, false),
        Wanted::From(wall) => (wall - shift, true),
    };
    let next_day = slot.local.date().succ_opt().map(|date| date.and_time(NaiveTime::MIN));
    let (wall, inclusive) = match next_day {
        Some(next_day) if wall >= next_day => (next_day, true),
        _ => (wall, inclusive),
    };
    let cursor = not_after(timing.cohort_tz, wall).map(|at| if inclusive { at - Duration::seconds(1) } else { at });
    cursor.map_or(slot.at, |cursor| cursor.max(slot.at))
}

/// An instant no later than the first one whose wall clock in `tz` reaches `wall`: `wall`
/// itself (the earlier pass in an autumn overlap), or, for a time in a spring gap, up to a
/// minute before the gap, so that a search from it skips no slot after the gap. ([`resolve`]
/// moves a gap time past the gap by whole half hours, which is right for when a slot reaches a
/// learner but would skip the slots at the start of the gap's far side.)
fn not_after(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=180).find_map(|minutes| match tz.from_local_datetime(&(wall - Duration::minutes(minutes))) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => None,
    })
}

/// What starts the claim key of a team-question slot, so that it never equals a regular slot's
/// key (a team question at the same wall-clock time as a nudge is claimed on its own).
pub(crate) const TEAM_SLOT_PREFIX: &str = "team:";

/// The claim key of `slot` of the team-question schedule.
pub(crate) fn team_slot_key(slot: &Slot) -> String {
    format!("{TEAM_SLOT_PREFIX}{}", slot.key())
}

/// True when `key` names a slot of the team-question schedule.
pub(crate) fn is_team_slot_key(key: &str) -> bool {
    key.starts_with(TEAM_SLOT_PREFIX)
}

/// The learner's first slot at `at` or later (where [`next_due`] looks strictly after): what
/// else is due at the moment an agenda entry falls due.
pub(crate) fn due_from(timing: &Timing<'_>, at: DateTime<Utc>) -> Option<Due> {
    next_due(timing, at - Duration::milliseconds(1))
}

/// When `slot` reaches this learner: at their preferred time on the slot's date (later slots
/// of that day keep their distance from the first), else at the slot's wall-clock time, in the
/// learner's time zone.
#[cfg(test)]
pub(crate) fn personal_time(timing: &Timing<'_>, slot: &Slot) -> Option<DateTime<Utc>> {
    resolve(timing.learner_tz, slot.local + shift_on(timing, slot))
}

/// How far the learner's preferred time moves the slots of `slot`'s day: from the day's first
/// cohort slot to the preferred time. Zero without a preferred time.
fn shift_on(timing: &Timing<'_>, slot: &Slot) -> Duration {
    let Some(preferred) = timing.preferred else { return Duration::zero() };
    let date = slot.local.date();
    let first = first_slot_of_day(timing, date).unwrap_or(slot.local);
    date.and_time(preferred) - first
}

fn first_slot_of_day(timing: &Timing<'_>, date: NaiveDate) -> Option<NaiveDateTime> {
    let midnight = resolve(timing.cohort_tz, date.and_time(NaiveTime::MIN))?;
    let first = timing.schedule.next_after(timing.cohort_tz, midnight - Duration::seconds(1))?;
    (first.local.date() == date).then_some(first.local)
}

/// True when the schedule's next day with a slot has more than one: then `/time` moves the
/// start of the learner's day of nudges, not a single nudge.
pub(crate) fn several_slots_a_day(schedule: &CronSpec, tz: Tz, after: DateTime<Utc>) -> bool {
    let Some(first) = schedule.next_after(tz, after) else { return false };
    schedule.next_after(tz, first.at).is_some_and(|second| second.local.date() == first.local.date())
}

/// A wall-clock time in `tz` as an instant: the earlier one in an autumn overlap, the first
/// minute after a spring gap.
pub(crate) fn resolve(tz: Tz, wall_clock: NaiveDateTime) -> Option<DateTime<Utc>> {
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
