//! Per-user limits on incoming messages: a flood from one user is dropped after a burst (with
//! one notice), so it costs nothing and never holds up other learners.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::LearnerId;

/// Messages one user may send in a burst.
const BURST: f64 = 20.0;
/// How fast the allowance refills, per second.
const REFILL_PER_SECOND: f64 = 1.0;

/// What to do with an incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Handle it.
    Accept,
    /// Drop it, but tell the user once that they are going too fast.
    DropWithNotice,
    /// Drop it silently.
    Drop,
}

/// Token buckets per user.
#[derive(Default)]
pub(crate) struct InboundLimiter {
    buckets: HashMap<LearnerId, Bucket>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
    warned: bool,
}

impl InboundLimiter {
    /// Decides about one message from `user` arriving at `now`.
    pub(crate) fn admit(&mut self, user: LearnerId, now: Instant) -> Admission {
        if self.buckets.len() > 100_000 {
            self.buckets.retain(|_, bucket| now.duration_since(bucket.updated) < Duration::from_secs(60));
        }
        let bucket = self.buckets.entry(user).or_insert(Bucket { tokens: BURST, updated: now, warned: false });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * REFILL_PER_SECOND;
        bucket.tokens = (bucket.tokens + refill).min(BURST);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            if bucket.tokens >= BURST / 2.0 {
                bucket.warned = false;
            }
            return Admission::Accept;
        }
        if bucket.warned {
            Admission::Drop
        } else {
            bucket.warned = true;
            Admission::DropWithNotice
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_accepted_then_dropped_with_one_notice() {
        let mut limiter = InboundLimiter::default();
        let now = Instant::now();
        let verdicts: Vec<Admission> = (0..100).map(|_| limiter.admit(LearnerId::new(7), now)).collect();
        assert_eq!(verdicts.iter().filter(|v| **v == Admission::Accept).count(), 20);
        assert_eq!(verdicts.iter().filter(|v| **v == Admission::DropWithNotice).count(), 1);
        assert_eq!(limiter.admit(LearnerId::new(8), now), Admission::Accept, "other users are not affected");
    }

    #[test]
    fn the_allowance_comes_back_with_time() {
        let mut limiter = InboundLimiter::default();
        let start = Instant::now();
        for _ in 0..25 {
            limiter.admit(LearnerId::new(7), start);
        }
        assert_eq!(limiter.admit(LearnerId::new(7), start + Duration::from_secs(5)), Admission::Accept);
    }
}
