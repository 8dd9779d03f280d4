//! Calendar arithmetic for reports: UTC day numbers, ISO weeks and the reporting period.
//!
//! Days are counted as `i32` (days since 1 January of year 1) so that per-learner sets of days
//! stay small; weeks are named by their Monday.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// Which records count: UTC dates from `since` to `until`, both included.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
}

impl Period {
    /// The period between two optional dates.
    pub fn new(since: Option<NaiveDate>, until: Option<NaiveDate>) -> Self {
        Self { since, until }
    }

    /// True when `at` falls on a day inside the period.
    pub(crate) fn contains(&self, at: DateTime<Utc>) -> bool {
        let date = at.date_naive();
        self.since.is_none_or(|since| date >= since) && self.until.is_none_or(|until| date <= until)
    }

    /// True when someone enrolled at `at` belongs to the period's roster (joined by its end).
    pub(crate) fn enrolled_by_end(&self, at: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| at.date_naive() <= until)
    }

    /// The moment "the last 7 days" counts back from: `now`, or the end of `until` if earlier.
    pub(crate) fn reference(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let end_of_until = self.until.and_then(|until| until.succ_opt()).map(|next| next.and_time(Default::default()));
        match end_of_until {
            Some(end) => now.min(end.and_utc()),
            None => now,
        }
    }
}

/// The day number of `at`'s UTC date.
pub(crate) fn day_number(at: DateTime<Utc>) -> i32 {
    at.date_naive().num_days_from_ce()
}

/// The day number of the Monday of the ISO week holding day `day`.
pub(crate) fn monday_of(day: i32) -> i32 {
    day - (day - 1).rem_euclid(7)
}

/// The date of day number `day` (a far past date for numbers chrono cannot represent).
pub(crate) fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).unwrap_or(NaiveDate::MIN)
}

/// ISO week label such as `2026-W53` for the week starting on Monday `monday`.
pub(crate) fn week_label(monday: i32) -> String {
    let week = date_of(monday).iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// True when `at` lies in the 7 days up to and including `reference`.
pub(crate) fn within_last_week(at: DateTime<Utc>, reference: DateTime<Utc>) -> bool {
    at <= reference && at > reference - Duration::days(7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::at;

    fn check_week(time: &str, expected_label: &str, expected_monday: &str) {
        let monday = monday_of(day_number(at(time)));
        assert_eq!(week_label(monday), expected_label, "{time}");
        assert_eq!(date_of(monday).to_string(), expected_monday, "{time}");
    }

    #[test]
    fn weeks_start_on_monday_and_follow_iso_years_across_new_year() {
        check_week("2026-11-23T08:00:00Z", "2026-W48", "2026-11-23");
        check_week("2026-11-29T23:59:59Z", "2026-W48", "2026-11-23");
        check_week("2026-11-30T00:00:00Z", "2026-W49", "2026-11-30");
        check_week("2026-12-31T12:00:00Z", "2026-W53", "2026-12-28");
        check_week("2027-01-03T12:00:00Z", "2026-W53", "2026-12-28");
        check_week("2027-01-04T12:00:00Z", "2027-W01", "2027-01-04");
        check_week("2024-12-30T12:00:00Z", "2025-W01", "2024-12-30");
    }

    #[test]
    fn period_includes_both_ends_and_caps_the_reference_at_the_end_of_until() {
        let period = Period::new(NaiveDate::from_ymd_opt(2026, 12, 1), NaiveDate::from_ymd_opt(2026, 12, 7));
        assert!(!period.contains(at("2026-11-30T23:59:59Z")));
        assert!(period.contains(at("2026-12-01T00:00:00Z")));
        assert!(period.contains(at("2026-12-07T23:59:59Z")));
        assert!(!period.contains(at("2026-12-08T00:00:00Z")));
        assert_eq!(period.reference(at("2027-01-01T00:00:00Z")), at("2026-12-08T00:00:00Z"));
        assert_eq!(period.reference(at("2026-12-03T10:00:00Z")), at("2026-12-03T10:00:00Z"));
    }
}
