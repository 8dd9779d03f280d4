//! The daemon's clock: the system clock, or, for trying a programme by hand, a test clock set
//! with `NUDGE_TEST_CLOCK` that starts at a chosen instant and may run faster than real time
//! (`2026-12-03T13:00:00Z x3600`: an hour a second), so a month-long onboarding track can be
//! watched in minutes against `fake-telegram`. Never meant for production: the daemon says so
//! loudly at start.

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Utc};

/// The environment variable that sets a test clock.
pub(crate) const TEST_CLOCK_VAR: &str = "NUDGE_TEST_CLOCK";
/// The fastest a test clock may run: a day in about 8.6 seconds.
const MAX_SPEED: u32 = 10_000;

/// A clock that starts at `start` and runs `speed` times as fast as the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TestClock {
    start: DateTime<Utc>,
    speed: u32,
    began: Instant,
}

static TEST_CLOCK: OnceLock<TestClock> = OnceLock::new();

/// The current time: the test clock's if one is set, else the system's.
pub(crate) fn now() -> DateTime<Utc> {
    match TEST_CLOCK.get() {
        Some(clock) => {
            let elapsed = clock.began.elapsed().saturating_mul(clock.speed);
            clock.start + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
        }
        None => Utc::now(),
    }
}

/// How long to sleep for `ahead` to pass on the clock.
pub(crate) fn real_wait(ahead: std::time::Duration) -> std::time::Duration {
    match TEST_CLOCK.get() {
        Some(clock) => ahead / clock.speed.max(1),
        None => ahead,
    }
}

/// A wait that doubles from `first` with each failed try, up to `max`: the wait after failure
/// number `attempt` (1 for the first). Every retry loop of the daemon uses it.
pub(crate) fn doubling_wait(first: std::time::Duration, max: std::time::Duration, attempt: u32) -> std::time::Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
    first.saturating_mul(factor).min(max)
}

/// Sets the test clock from `NUDGE_TEST_CLOCK`, if set. Returns a description for the log, or
/// why the value is not a clock.
pub(crate) fn install_from_env() -> anyhow::Result<Option<String>> {
    let Ok(text) = std::env::var(TEST_CLOCK_VAR) else { return Ok(None) };
    let (start, speed) = parse(&text).map_err(|why| anyhow::anyhow!("environment variable {TEST_CLOCK_VAR}: {why}"))?;
    let clock = TestClock { start, speed, began: Instant::now() };
    if TEST_CLOCK.set(clock).is_err() {
        anyhow::bail!("the test clock is set already");
    }
    Ok(Some(format!(
        "test clock: it is {start} now, running {speed}× as fast as real time; never use this in production"
    )))
}

/// `2026-12-03T13:00:00Z` or `2026-12-03T13:00:00Z x3600`.
fn parse(text: &str) -> Result<(DateTime<Utc>, u32), String> {
    let mut parts = text.split_whitespace();
    let bad = || format!("`{text}` is not a start time and speed such as `2026-12-03T13:00:00Z x3600`");
    let start = parts.next().ok_or_else(bad)?;
    let start = DateTime::parse_from_rfc3339(start).map_err(|_| bad())?.with_timezone(&Utc);
    let speed = match parts.next() {
        None => 1,
        Some(speed) => speed.strip_prefix('x').and_then(|n| n.parse::<u32>().ok()).ok_or_else(bad)?,
    };
    if parts.next().is_some() || !(1..=MAX_SPEED).contains(&speed) {
        return Err(format!("{}; the speed goes from x1 to x{MAX_SPEED}", bad()));
    }
    Ok((start, speed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_waits_twice_as_long_each_time_up_to_its_cap() {
        let (first, max) = (std::time::Duration::from_secs(1), std::time::Duration::from_secs(60));
        let waits: Vec<u64> = (1..=8).map(|attempt| doubling_wait(first, max, attempt).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(doubling_wait(first, max, u32::MAX), max, "no overflow, however long it fails");
        assert_eq!(doubling_wait(first, max, 0), first, "attempt 0 counts as the first");
    }

    #[test]
    fn a_test_clock_names_its_start_and_speed() {
        let start = DateTime::parse_from_rfc3339("2026-12-03T13:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse("2026-12-03T13:00:00Z"), Ok((start, 1)));
        assert_eq!(parse(" 2026-12-03T13:00:00Z  x3600 "), Ok((start, 3600)));
        for bad in
            ["", "tomorrow", "2026-12-03T13:00:00Z 3600", "2026-12-03T13:00:00Z x0", "2026-12-03T13:00:00Z x99999"]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
