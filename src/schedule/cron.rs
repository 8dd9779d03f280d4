//! Cron schedules as people write them, and the slots they produce in a time zone.
//!
//! Built on `croner` rather than `cron`: croner accepts the usual 5 fields (and 6 with seconds
//! first), numbers weekdays like every crontab (`1-5` is Monday to Friday, 0 and 7 are Sunday),
//! knows day names, and handles DST as people expect: a time in the spring gap runs right after
//! the gap, a fixed time in the autumn overlap runs once. On top of that every slot is keyed by
//! its wall-clock time, so even an interval schedule cannot produce the same slot twice.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// The most slots `slots_between` returns: a schedule firing every second over a long outage
/// must not build a huge list.
const MAX_SLOTS: usize = 10_000;

/// How far back `latest_between` looks, step by step, in seconds: a minute, an hour, a day, a
/// week and a day, a month, a year, five years.
const LOOKBACK_SECONDS: [i64; 7] = [60, 3_600, 86_400, 8 * 86_400, 32 * 86_400, 367 * 86_400, 5 * 366 * 86_400];

/// A parsed cron schedule.
#[derive(Debug, Clone)]
pub struct CronSpec {
    text: String,
    cron: Cron,
}

/// One firing of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// When it fires.
    pub at: DateTime<Utc>,
    /// The wall-clock time in the schedule's zone.
    pub local: NaiveDateTime,
}

impl Slot {
    /// A stable key for this slot: its wall-clock time, so the two passes through an autumn
    /// overlap share one key.
    pub(crate) fn key(&self) -> String {
        self.local.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

impl CronSpec {
    /// Parses a 5-field (`min hour dom month dow`) or 6-field (seconds first) expression.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let n_fields = trimmed.split_whitespace().count();
        if !trimmed.starts_with('@') && !(5..=6).contains(&n_fields) {
            return Err(format!(
                "`{trimmed}` has {n_fields} fields; write 5 (minute hour day-of-month month weekday, e.g. `0 9 * * Mon-Fri`) or 6 with seconds first"
            ));
        }
        let cron = CronParser::builder().seconds(Seconds::Optional).build().parse(trimmed).map_err(|error| {
            format!("`{trimmed}` is not a cron schedule ({error}); e.g. `0 9 * * Mon-Fri` is 09:00 on weekdays")
        })?;
        let spec = Self { text: trimmed.to_owned(), cron };
        let reference = Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default().into());
        match spec.next_after(chrono_tz::UTC, reference) {
            Some(_) => Ok(spec),
            None => Err(format!("`{trimmed}` never fires (check the day and month fields)")),
        }
    }

    /// The expression as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The first slot strictly after `after`.
    pub(crate) fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<Slot> {
        // Slots fall on whole seconds, so the first one after `after` is the first one after
        // its whole second; flooring keeps a fraction from being rounded past a slot.
        let whole = after.with_nanosecond(0).unwrap_or(after);
        let start = whole.with_timezone(&tz);
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        Some(Slot { at: next.with_timezone(&Utc), local: next.naive_local() })
    }

    /// The latest slot in `(after, until]`, or up to `until` (at most five years back) without
    /// `after`: the one slot a weekly job catches up after downtime, however many it missed.
    /// Looks back in growing steps, so a dense schedule costs no more than a sparse one.
    pub(crate) fn latest_between(&self, tz: Tz, after: Option<DateTime<Utc>>, until: DateTime<Utc>) -> Option<Slot> {
        for seconds in LOOKBACK_SECONDS {
            let back = until - chrono::TimeDelta::seconds(seconds);
            let from = after.map_or(back, |after| after.max(back));
            if let Some(mut latest) = self.slots_between(tz, from, until).pop() {
                // More slots than `slots_between` lists: walk on to the last one.
                while let Some(next) = self.next_after(tz, latest.at).filter(|next| next.at <= until) {
                    latest = next;
                }
                return Some(latest);
            }
            if from > back {
                return None;
            }
        }
        None
    }

    /// Every slot in `(after, until]`, oldest first, each wall-clock time once, at most
    /// [`MAX_SLOTS`].
    pub(crate) fn slots_between(&self, tz: Tz, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Slot> {
        let mut slots: Vec<Slot> = Vec::new();
        let mut cursor = after;
        while let Some(slot) = self.next_after(tz, cursor) {
            if slot.at > until || slots.len() >= MAX_SLOTS {
                break;
            }
            cursor = slot.at;
            if !slots.iter().any(|seen| seen.local == slot.local) {
                slots.push(slot);
            }
        }
        slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};
    use chrono_tz::Europe::Amsterdam;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn spec(text: &str) -> CronSpec {
        CronSpec::parse(text).unwrap()
    }

    #[test]
    fn five_fields_with_day_names_mean_weekdays() {
        let slots =
            spec("0 9 * * Mon-Fri").slots_between(Amsterdam, utc("2026-11-20T00:00:00Z"), utc("2026-11-27T00:00:00Z"));
        let days: Vec<Weekday> = slots.iter().map(|slot| slot.local.weekday()).collect();
        assert_eq!(days, [Weekday::Fri, Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu]);
        assert!(slots.iter().all(|slot| slot.local.hour() == 9));
        assert_eq!(slots[0].at, utc("2026-11-20T08:00:00Z"));
    }

    #[test]
    fn numeric_weekdays_are_posix_style() {
        let a = spec("0 9 * * 1-5").slots_between(Amsterdam, utc("2026-11-20T00:00:00Z"), utc("2026-11-27T00:00:00Z"));
        let b =
            spec("0 9 * * mon-fri").slots_between(Amsterdam, utc("2026-11-20T00:00:00Z"), utc("2026-11-27T00:00:00Z"));
        assert_eq!(a, b);
    }

    #[test]
    fn six_fields_put_seconds_first() {
        let slot = spec("30 0 9 * * *").next_after(Amsterdam, utc("2026-11-20T00:00:00Z")).unwrap();
        assert_eq!(slot.local.second(), 30);
        assert_eq!(slot.local.hour(), 9);
    }

    #[test]
    fn spring_gap_time_still_fires_that_day() {
        // 2027-03-28: clocks jump from 02:00 to 03:00 in Amsterdam.
        let slots =
            spec("30 2 * * *").slots_between(Amsterdam, utc("2027-03-27T12:00:00Z"), utc("2027-03-29T12:00:00Z"));
        assert_eq!(slots.len(), 2, "{slots:?}");
        assert_eq!(slots[0].local.date(), NaiveDate::from_ymd_opt(2027, 3, 28).unwrap());
    }

    #[test]
    fn autumn_overlap_fires_once_for_a_fixed_time() {
        // 2026-10-25: clocks fall back from 03:00 to 02:00 in Amsterdam; 02:30 happens twice.
        let slots =
            spec("30 2 * * *").slots_between(Amsterdam, utc("2026-10-24T12:00:00Z"), utc("2026-10-25T12:00:00Z"));
        assert_eq!(slots.len(), 1, "{slots:?}");
    }

    #[test]
    fn autumn_overlap_never_repeats_a_wall_clock_slot() {
        let slots =
            spec("*/30 * * * *").slots_between(Amsterdam, utc("2026-10-24T23:00:00Z"), utc("2026-10-25T03:00:00Z"));
        let mut keys: Vec<String> = slots.iter().map(Slot::key).collect();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "a wall-clock slot repeated");
    }

    #[test]
    fn the_latest_slot_is_caught_up_once_after_downtime() {
        let weekly = spec("0 8 * * Mon");
        let check = |after: Option<&str>, until: &str| {
            weekly.latest_between(Amsterdam, after.map(utc), utc(until)).map(|slot| slot.key())
        };
        // Three Mondays missed (Nov 30, Dec 7, Dec 14): only the last one is due.
        assert_eq!(check(Some("2026-11-23T07:00:00Z"), "2026-12-16T12:00:00Z").as_deref(), Some("2026-12-14T08:00:00"));
        assert_eq!(check(Some("2026-12-14T07:00:00Z"), "2026-12-16T12:00:00Z"), None, "handled already");
        assert_eq!(check(None, "2026-12-16T12:00:00Z").as_deref(), Some("2026-12-14T08:00:00"), "never handled");
        assert_eq!(check(None, "2026-12-14T06:59:59Z").as_deref(), Some("2026-12-07T08:00:00"), "to the second");
        assert_eq!(check(None, "2026-12-14T07:00:00Z").as_deref(), Some("2026-12-14T08:00:00"), "the slot itself");
        let dense = spec("*/2 * * * * *");
        let latest = dense.latest_between(Amsterdam, Some(utc("2026-12-01T00:00:00Z")), utc("2026-12-16T12:00:03Z"));
        assert_eq!(latest.map(|slot| slot.at), Some(utc("2026-12-16T12:00:02Z")));
    }

    #[test]
    fn more_slots_than_listed_still_find_the_latest() {
        let busy_first = spec("* * * 1 * *");
        let latest = busy_first.latest_between(Amsterdam, None, utc("2026-12-05T12:00:00Z"));
        assert_eq!(latest.map(|slot| slot.key()).as_deref(), Some("2026-12-01T23:59:59"));
    }

    #[test]
    fn explains_bad_expressions() {
        assert!(CronSpec::parse("0 9 * *").unwrap_err().contains("has 4 fields"));
        assert!(CronSpec::parse("0 25 * * *").unwrap_err().contains("is not a cron schedule"));
        assert!(CronSpec::parse("0 9 31 2 *").unwrap_err().contains("never fires"));
    }
}
