//! A cohort's pacing rules: how many messages a day, how many reviews a slot, quiet hours and
//! days off, and the recall the spaced repetition aims for. Pure values and checks.

use chrono::{Datelike, NaiveDateTime, NaiveTime, Weekday};

/// When nudges may not arrive, in the learner's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Start of the quiet period.
    pub start: NaiveTime,
    /// End of the quiet period (may be earlier than `start`: the period spans midnight).
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `21:00-07:00`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a time range; write it as `21:00-07:00`");
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let time = |part: &str| NaiveTime::parse_from_str(part.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err(format!("`{text}` is empty: start and end are the same"));
        }
        Ok(Self { start, end })
    }

    /// True when `time` falls in the quiet period (start included, end excluded).
    pub(crate) fn contains(&self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

impl QuietHours {
    /// The first end of the quiet period after `local`, which lies inside it.
    fn end_after(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let today = local.date().and_time(self.end);
        if today > local { Some(today) } else { Some(local.date().succ_opt()?.and_time(self.end)) }
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

/// How a cohort's nudges are paced.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Most scheduled messages per learner per local day.
    pub max_messages_per_day: u32,
    /// Most spaced-repetition reviews in one slot.
    pub max_reviews_per_slot: u32,
    /// No nudges in this period (learner's local time).
    pub quiet_hours: Option<QuietHours>,
    /// No nudges on these days (learner's local date).
    pub days_off: Vec<Weekday>,
    /// The chance of recall at which a quiz comes back (FSRS desired retention).
    pub target_retention: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_messages_per_day: 3,
            max_reviews_per_slot: 2,
            quiet_hours: QuietHours::parse("21:00-07:00").ok(),
            days_off: Vec::new(),
            target_retention: 0.9,
        }
    }
}

impl Policy {
    /// True when a nudge may arrive at local time `local`.
    pub(crate) fn allows(&self, local: NaiveDateTime) -> bool {
        let quiet = self.quiet_hours.is_some_and(|quiet| quiet.contains(local.time()));
        !quiet && !self.days_off.contains(&local.weekday())
    }

    /// The first local time at or after `local` at which a nudge may arrive: past the quiet
    /// hours and the days off. `None` when no time ever is (every day is a day off).
    pub(crate) fn next_allowed(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut at = local;
        // Each step ends a quiet period or a day off; a week of both is fourteen steps.
        for _ in 0..16 {
            if self.days_off.contains(&at.weekday()) {
                at = at.date().succ_opt()?.and_time(NaiveTime::MIN);
            } else if let Some(quiet) = self.quiet_hours.filter(|quiet| quiet.contains(at.time())) {
                at = quiet.end_after(at)?;
            } else {
                return Some(at);
            }
        }
        None
    }
}

/// Parses a day name (`mon`, `Monday`, `ma`, `man`, …) into a weekday.
pub(crate) fn parse_weekday(text: &str) -> Option<Weekday> {
    let lower = text.trim().to_lowercase();
    let prefix: String = lower.chars().take(2).collect();
    let english = lower.parse::<Weekday>().ok();
    english.or(match prefix.as_str() {
        "ma" => Some(Weekday::Mon),
        "di" | "ti" => Some(Weekday::Tue),
        "wo" | "on" => Some(Weekday::Wed),
        "do" | "to" => Some(Weekday::Thu),
        "vr" | "fr" => Some(Weekday::Fri),
        "za" | "lø" => Some(Weekday::Sat),
        "zo" | "sø" => Some(Weekday::Sun),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn quiet_hours_may_span_midnight() {
        let quiet = QuietHours::parse("21:00-07:00").unwrap();
        assert!(quiet.contains(NaiveTime::from_hms_opt(23, 0, 0).unwrap()));
        assert!(quiet.contains(NaiveTime::from_hms_opt(6, 59, 0).unwrap()));
        assert!(!quiet.contains(NaiveTime::from_hms_opt(7, 0, 0).unwrap()));
        let lunch = QuietHours::parse("12:00-13:00").unwrap();
        assert!(lunch.contains(NaiveTime::from_hms_opt(12, 30, 0).unwrap()));
        assert!(!lunch.contains(NaiveTime::from_hms_opt(13, 30, 0).unwrap()));
    }

    #[test]
    fn bad_ranges_are_explained() {
        assert!(QuietHours::parse("9-5").unwrap_err().contains("21:00-07:00"));
        assert!(QuietHours::parse("09:00-09:00").unwrap_err().contains("empty"));
    }

    #[test]
    fn policy_blocks_quiet_hours_and_days_off() {
        let policy = Policy { days_off: vec![Weekday::Sat, Weekday::Sun], ..Policy::default() };
        assert!(policy.allows(local("2026-11-24 09:00")));
        assert!(!policy.allows(local("2026-11-24 22:00")));
        assert!(!policy.allows(local("2026-11-28 09:00")), "Saturday");
    }

    #[test]
    fn the_next_allowed_time_skips_quiet_hours_and_days_off() {
        let policy = Policy { days_off: vec![Weekday::Sat, Weekday::Sun], ..Policy::default() };
        let check =
            |from: &str, expected: &str| assert_eq!(policy.next_allowed(local(from)), Some(local(expected)), "{from}");
        check("2026-11-24 09:00", "2026-11-24 09:00");
        check("2026-11-24 22:00", "2026-11-25 07:00");
        check("2026-11-25 03:00", "2026-11-25 07:00");
        check("2026-11-27 21:00", "2026-11-30 07:00");
        check("2026-11-28 12:00", "2026-11-30 07:00");
        let never =
            Policy { days_off: (0..7).map(|day| Weekday::try_from(day).unwrap()).collect(), ..Policy::default() };
        assert_eq!(never.next_allowed(local("2026-11-24 09:00")), None);
    }

    #[test]
    fn weekdays_in_three_languages() {
        assert_eq!(parse_weekday("Sat"), Some(Weekday::Sat));
        assert_eq!(parse_weekday("zaterdag"), Some(Weekday::Sat));
        assert_eq!(parse_weekday("lørdag"), Some(Weekday::Sat));
        assert_eq!(parse_weekday("xyz"), None);
    }
}
