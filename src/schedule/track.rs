//! Onboarding tracks: a programme that runs from each learner's own first day instead of the
//! cohort's calendar. Lesson n goes out on track day `days[n]` (day 0 is the day the learner
//! joined), at the track's time in the learner's zone. Pure.
//!
//! A track reaches learners through a daily slot at its time (the same agenda search as a
//! cron schedule, so `/time`, zones, quiet hours and days off work alike); the slot brings
//! reviews and follow-ups every allowed day, and the lessons the track has released by then.
//! Someone who joins after that time gets one catch-up nudge the same day ([`catch_up_due`]).

use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::agenda::{Due, Timing, next_due, resolve};
use super::cron::{CronSpec, Slot};

/// The days of a track without `days`: the first week densely, then weekly-ish to day 28.
pub(crate) const DEFAULT_DAYS: [u32; 9] = [0, 1, 2, 4, 7, 10, 14, 21, 28];
/// The time of a track without `time`.
pub(crate) const DEFAULT_TIME: &str = "09:00";
/// The gap between lessons past the end of a `days` list with a single entry.
const SINGLE_DAY_GAP: u32 = 1;

/// A cohort's onboarding track: on which day after joining each lesson goes out, and when.
#[derive(Debug, Clone)]
pub struct Track {
    days: Vec<u32>,
    time: NaiveTime,
    daily: CronSpec,
}

impl Track {
    /// A track with lessons on `days` (strictly increasing) at `time`.
    pub fn new(days: Vec<u32>, time: NaiveTime) -> Result<Self, String> {
        if days.is_empty() {
            return Err("is empty: give the day of each lesson, e.g. `[0, 1, 2, 4, 7]`".to_owned());
        }
        if let Some(pair) = days.windows(2).find(|pair| pair[1] <= pair[0]) {
            return Err(format!(
                "must increase: day {} comes after day {}; give each lesson a later day than the one before",
                pair[1], pair[0]
            ));
        }
        let daily = CronSpec::parse(&time.format("%-M %-H * * *").to_string())?;
        Ok(Self { days, time, daily })
    }

    /// The days as configured.
    pub fn days(&self) -> &[u32] {
        &self.days
    }

    /// The time of day lessons go out (a learner's `/time` overrides it).
    pub fn time(&self) -> NaiveTime {
        self.time
    }

    /// The track's daily slot as a schedule: every day at its time. It is the cohort's
    /// `schedule` for everything that searches slots (the agenda, `/time`, `check`).
    pub(crate) fn daily_schedule(&self) -> &CronSpec {
        &self.daily
    }

    /// The track day of lesson `index` (0-based): `days[index]`, and past the end of `days` the
    /// last gap again and again (one day if `days` has a single entry).
    pub fn lesson_day(&self, index: usize) -> u32 {
        if let Some(day) = self.days.get(index) {
            return *day;
        }
        let last = self.days.len() - 1;
        let gap = if last == 0 { SINGLE_DAY_GAP } else { self.days[last] - self.days[last - 1] };
        let beyond = u32::try_from(index - last).unwrap_or(u32::MAX);
        self.days[last].saturating_add(gap.saturating_mul(beyond))
    }

    /// How many of a pack's `n_lessons` the track has released by track day `day`: the lessons
    /// whose day has come.
    pub fn released(&self, day: i64, n_lessons: usize) -> usize {
        (0..n_lessons).take_while(|&index| i64::from(self.lesson_day(index)) <= day).count()
    }

    /// How many of `n_lessons` are due at local time `local` on track day `day`, for a learner
    /// whose lessons come at `time` (the track's, or their own): a day's lessons are due from
    /// that time on, so before it only the days before count. A catch-up at the end of the
    /// night's quiet hours brings day 0's lesson, not day 1's too.
    pub fn due(&self, day: i64, local: NaiveTime, time: NaiveTime, n_lessons: usize) -> usize {
        let day = if local < time { day - 1 } else { day };
        self.released(day, n_lessons)
    }

    /// The day of the last of `n_lessons`: how long the track is.
    pub fn length(&self, n_lessons: usize) -> u32 {
        self.lesson_day(n_lessons.saturating_sub(1))
    }
}

/// The catch-up nudge of a learner who joined at `joined`, after the track's time that day
/// (their day 0; at that very instant counts as after, as the agenda looks for what comes after
/// it), or in quiet hours: the first allowed moment strictly after `after`, if that comes before
/// their first daily slot. `None` when the daily slot of day 0 still reaches them, or comes as
/// early. Its slot is keyed by its own time, so it is claimed once.
pub fn catch_up_due(timing: &Timing<'_>, joined: DateTime<Utc>, after: DateTime<Utc>) -> Option<Due> {
    let first_daily = next_due(timing, joined);
    let join_date = joined.with_timezone(&timing.learner_tz).date_naive();
    let on_day_zero =
        first_daily.as_ref().is_some_and(|due| due.at.with_timezone(&timing.learner_tz).date_naive() == join_date);
    if on_day_zero {
        return None;
    }
    let from = (after + Duration::seconds(1)).max(joined);
    let local = from.with_timezone(&timing.learner_tz).naive_local();
    let allowed = timing.policy.next_allowed(local)?;
    let at = if allowed == local { from } else { resolve(timing.learner_tz, allowed)? };
    // In another zone than the cohort's, the end of the quiet hours (or of a day off) can be
    // the track's time on the cohort's clock: the key of a daily slot, which would then find
    // its slot claimed. A second later the catch-up has a key of its own.
    let is_daily_key = |at: DateTime<Utc>| {
        let local = at.with_timezone(&timing.cohort_tz).naive_local();
        timing.schedule.next_after(timing.cohort_tz, at - Duration::seconds(1)).is_some_and(|slot| slot.local == local)
    };
    let at = if is_daily_key(at) { at + Duration::seconds(1) } else { at };
    if first_daily.as_ref().is_some_and(|due| due.at <= at) {
        return None;
    }
    let local = at.with_timezone(&timing.cohort_tz).naive_local();
    Some(Due { at, slot: Slot { at, local } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::policy::Policy;
    use crate::testkit::at;
    use chrono_tz::Europe::Amsterdam;

    fn nine() -> NaiveTime {
        NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    }

    #[test]
    fn days_must_increase_and_the_last_gap_repeats() {
        assert!(Track::new(vec![], nine()).unwrap_err().contains("empty"));
        assert!(Track::new(vec![0, 2, 2], nine()).unwrap_err().contains("day 2 comes after day 2"));
        let track = Track::new(vec![0, 1, 4], nine()).unwrap();
        let days: Vec<u32> = (0..6).map(|index| track.lesson_day(index)).collect();
        assert_eq!(days, [0, 1, 4, 7, 10, 13]);
        let single = Track::new(vec![3], nine()).unwrap();
        assert_eq!((0..3).map(|index| single.lesson_day(index)).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(track.released(-1, 5), 0);
        assert_eq!(track.released(0, 5), 1);
        assert_eq!(track.released(6, 5), 3);
        assert_eq!(track.released(100, 5), 5);
        let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        assert_eq!(track.due(1, eight, nine(), 5), 1, "day 1's lesson is due from 09:00");
        assert_eq!(track.due(1, nine(), nine(), 5), 2);
        assert_eq!(track.length(5), 10);
        assert_eq!(track.daily_schedule().as_str(), "0 9 * * *");
    }

    fn timing<'a>(track: &'a Track, policy: &'a Policy) -> Timing<'a> {
        Timing {
            schedule: track.daily_schedule(),
            cohort_tz: Amsterdam,
            policy,
            learner_tz: Amsterdam,
            preferred: None,
        }
    }

    #[test]
    fn joining_after_the_time_brings_a_catch_up_that_day() {
        let (track, policy) = (Track::new(DEFAULT_DAYS.to_vec(), nine()).unwrap(), Policy::default());
        let joined = at("2026-12-03T13:00:00Z"); // a Thursday, 14:00 in Amsterdam
        let due = catch_up_due(&timing(&track, &policy), joined, joined).unwrap();
        assert_eq!(due.at, at("2026-12-03T13:00:01Z"));
    }

    #[test]
    fn joining_before_the_time_waits_for_it_and_quiet_hours_push_the_catch_up() {
        let (track, policy) = (Track::new(DEFAULT_DAYS.to_vec(), nine()).unwrap(), Policy::default());
        let early = at("2026-12-03T06:30:00Z"); // 07:30: the 09:00 slot is still to come today
        assert_eq!(catch_up_due(&timing(&track, &policy), early, early), None);
        let late = at("2026-12-03T21:30:00Z"); // 22:30, quiet until 07:00
        let due = catch_up_due(&timing(&track, &policy), late, late).unwrap();
        assert_eq!(due.at, at("2026-12-04T06:00:00Z"), "07:00 the next morning, before its 09:00 slot");
        let late_start =
            Policy { quiet_hours: crate::schedule::policy::QuietHours::parse("21:00-09:00").ok(), ..policy };
        assert_eq!(catch_up_due(&timing(&track, &late_start), late, late), None, "quiet until the daily slot itself");
    }
}
