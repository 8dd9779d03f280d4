//! Fault injection (queued, blocked chats, seeded random) and sliding-window rate limits.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::error::ApiError;
use crate::{Fault, Limits};

/// What goes wrong with calls, and the rate windows.
pub struct Faults {
    /// (lowercase method or "*", fault), oldest first.
    pub queue: Vec<(String, Fault)>,
    pub blocked: HashSet<i64>,
    pub limits: Option<Limits>,
    pub random_delay: Duration,
    /// Arrival jitter forgiven: calls are counted in a window this much shorter than a second.
    pub jitter: Duration,
    random_rate: f64,
    rng: fastrand::Rng,
    global: VecDeque<Instant>,
    per_chat: HashMap<i64, VecDeque<Instant>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            queue: Vec::new(),
            blocked: HashSet::new(),
            limits: None,
            random_delay: Duration::from_secs(20),
            jitter: Duration::ZERO,
            random_rate: 0.0,
            rng: fastrand::Rng::with_seed(1),
            global: VecDeque::new(),
            per_chat: HashMap::new(),
        }
    }
}

/// Calls that send or edit messages: the ones rate limits count.
pub fn is_limited(method: &str) -> bool {
    (method.starts_with("send") && method != "sendChatAction") || method.starts_with("edit")
}

impl Faults {
    pub fn set_random(&mut self, rate: f64, seed: u64) {
        self.random_rate = rate;
        self.rng = fastrand::Rng::with_seed(seed);
    }

    /// A uniform value in [0, 1), from the seeded generator.
    fn next_f64(&mut self) -> f64 {
        self.rng.f64()
    }

    /// The fault for this call, if any, and whether it is a rate violation. Checked in order:
    /// queued faults, blocked chat, random faults, rate limits (only admitted calls count).
    pub fn decide(&mut self, method: &str, chat: Option<i64>) -> Option<(Fault, bool)> {
        let lower = method.to_ascii_lowercase();
        let queued = self.queue.iter().position(|(m, _)| *m == lower || (m == "*" && method != "getUpdates"));
        if let Some(i) = queued {
            return Some((self.queue.remove(i).1, false));
        }
        if chat.is_some_and(|c| self.blocked.contains(&c)) {
            return Some((Fault::Forbidden, false));
        }
        if method != "getUpdates" && self.random_rate > 0.0 && self.next_f64() < self.random_rate {
            let fault = match (self.next_f64() * 3.0) as u32 {
                0 => Fault::RetryAfter(1),
                1 => Fault::ServerError(502),
                _ => Fault::Delay(self.random_delay),
            };
            return Some((fault, false));
        }
        match self.limits {
            Some(limits) if is_limited(method) => self.admit(limits, chat).then_some((Fault::RetryAfter(1), true)),
            _ => None,
        }
    }

    /// Counts the call in the windows; true if it exceeds a limit (then it is not counted).
    fn admit(&mut self, limits: Limits, chat: Option<i64>) -> bool {
        let now = Instant::now();
        let window = Duration::from_secs(1).saturating_sub(self.jitter);
        let prune = |w: &mut VecDeque<Instant>| {
            while w.front().is_some_and(|t| now.duration_since(*t) >= window) {
                w.pop_front();
            }
        };
        prune(&mut self.global);
        if self.global.len() >= limits.global_per_second as usize {
            return true;
        }
        if let Some(c) = chat {
            let w = self.per_chat.entry(c).or_default();
            prune(w);
            if w.len() >= limits.per_chat_per_second as usize {
                return true;
            }
            w.push_back(now);
        }
        self.global.push_back(now);
        false
    }
}

/// The error reply of a fault (`Delay` is not an error: it yields 500 if asked).
pub fn fault_error(fault: &Fault) -> ApiError {
    match fault {
        Fault::RetryAfter(n) => {
            ApiError { code: 429, description: format!("Too Many Requests: retry after {n}"), retry_after: Some(*n) }
        }
        Fault::ServerError(code) => {
            let text = match code {
                500 => "Internal Server Error",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                _ => "Server Error",
            };
            ApiError::new(*code, text)
        }
        Fault::Forbidden => ApiError::new(403, "Forbidden: bot was blocked by the user"),
        Fault::Unauthorized => ApiError::new(401, "Unauthorized"),
        Fault::ChatNotFound => ApiError::bad("chat not found"),
        Fault::BadRequest(text) => ApiError::bad(text.strip_prefix("Bad Request: ").unwrap_or(text)),
        Fault::Delay(_) => ApiError::new(500, "Internal Server Error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_is_seeded_and_uniform_enough() {
        let mut a = Faults::default();
        a.set_random(0.5, 7);
        let mut b = Faults::default();
        b.set_random(0.5, 7);
        let xs: Vec<f64> = (0..1000).map(|_| a.next_f64()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        assert_eq!(xs[..10], (0..10).map(|_| b.next_f64()).collect::<Vec<_>>()[..]);
        let below = xs.iter().filter(|x| **x < 0.5).count();
        assert!((400..600).contains(&below), "{below}");
    }
}
