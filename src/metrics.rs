//! Counters for operations: what `/metrics` exposes and the logs summarise. Atomics only, so
//! any task can count without locks.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A number that only grows.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A number that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// Adds `delta` (may be negative).
    pub fn add(&self, delta: i64) {
        self.0.fetch_add(delta, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Everything the daemon counts.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Messages (and documents) Telegram accepted.
    pub messages_sent: Counter,
    /// Prompts (lessons, quizzes, reflections, practice) delivered.
    pub prompts_sent: Counter,
    /// Answers recorded (quiz presses, reflections).
    pub answers: Counter,
    /// Deliveries given up on.
    pub send_failures: Counter,
    /// 429 answers from Telegram.
    pub rate_limited: Counter,
    /// Failed calls that were retried (network, 5xx, time-outs).
    pub call_errors: Counter,
    /// Updates received from Telegram.
    pub updates: Counter,
    /// Deliveries waiting to be sent.
    pub queue_length: Gauge,
}
