//! Counters for operations: what `/metrics` exposes and the logs summarise. Atomics only, so
//! any task can count without locks.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A number that only grows.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
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
    pub(crate) fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One Prometheus sample: name, help, type, value.
type Sample<'a> = (&'a str, &'a str, &'a str, f64);

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
    /// Learners' batches of messages queued or being sent (the sender's view).
    pub queue_length: Gauge,
    /// Agenda entries parked after failing every try (the scheduler).
    pub parked_nudges: Counter,
    /// Learners' batches parked after their delivery task panicked every try (the sender).
    pub parked_deliveries: Counter,
    /// Updates skipped after failing every try (the poller).
    pub parked_updates: Counter,
    /// 1 while this instance holds the active lease (polls, sends, schedules), 0 while it
    /// stands by.
    pub active: Gauge,
    /// Tries of a standby instance to take the active lease while another held it.
    pub lease_refused: Counter,
    /// Webhook requests refused for a wrong or missing secret token.
    pub webhook_refused: Counter,
    /// Updates Telegram posted again after they were handled (or while they were).
    pub webhook_duplicates: Counter,
    /// In webhook mode: 1 while Telegram's webhook is this config's `webhook_url` (as last
    /// checked), 0 while it is not, -1 until this instance has asked (a standby does not).
    pub webhook_registered: Gauge,
}

impl Metrics {
    /// The counters and the store's gauges in Prometheus text format.
    pub(crate) fn prometheus(&self, learners: usize, pending: usize, scheduled: usize) -> String {
        let samples: [Sample<'_>; 16] = [
            (
                "nudge_messages_sent_total",
                "Messages and files Telegram accepted.",
                "counter",
                self.messages_sent.get() as f64,
            ),
            (
                "nudge_prompts_sent_total",
                "Lessons, quizzes, reflections and practice sent.",
                "counter",
                self.prompts_sent.get() as f64,
            ),
            ("nudge_answers_total", "Answers recorded.", "counter", self.answers.get() as f64),
            ("nudge_send_failures_total", "Messages given up on.", "counter", self.send_failures.get() as f64),
            ("nudge_rate_limited_total", "429 answers from Telegram.", "counter", self.rate_limited.get() as f64),
            (
                "nudge_call_errors_total",
                "Telegram calls that failed and were retried.",
                "counter",
                self.call_errors.get() as f64,
            ),
            ("nudge_updates_total", "Updates received from Telegram.", "counter", self.updates.get() as f64),
            (
                "nudge_queue_length",
                "Learners' batches of messages queued or being sent (sender's view).",
                "gauge",
                self.queue_length.get() as f64,
            ),
            ("nudge_outbox_pending", "Messages recorded as pending in the store.", "gauge", pending as f64),
            ("nudge_learners", "Learners in the store.", "gauge", learners as f64),
            ("nudge_nudges_scheduled", "Learners with a next nudge scheduled.", "gauge", scheduled as f64),
            (
                "nudge_active",
                "1 while this instance is the one that polls, sends and schedules; 0 while it stands by.",
                "gauge",
                self.active.get() as f64,
            ),
            (
                "nudge_lease_refused_total",
                "Tries to take the active lease while another instance held it.",
                "counter",
                self.lease_refused.get() as f64,
            ),
            (
                "nudge_webhook_refused_total",
                "Webhook requests refused for a wrong or missing secret token.",
                "counter",
                self.webhook_refused.get() as f64,
            ),
            (
                "nudge_webhook_duplicates_total",
                "Updates Telegram posted again after or while they were handled.",
                "counter",
                self.webhook_duplicates.get() as f64,
            ),
            (
                "nudge_webhook_registered",
                "In webhook mode: 1 while Telegram's webhook is this config's webhook_url (the active instance checks every 5 minutes), 0 while it is not, -1 before a check.",
                "gauge",
                self.webhook_registered.get() as f64,
            ),
        ];
        let mut out = String::new();
        for (name, help, kind, value) in samples {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
        }
        out.push_str("# HELP nudge_parked_total Work given up on after failing every retry, by kind.\n");
        out.push_str("# TYPE nudge_parked_total counter\n");
        let parked =
            [("nudge", &self.parked_nudges), ("delivery", &self.parked_deliveries), ("update", &self.parked_updates)];
        for (kind, counter) in parked {
            out.push_str(&format!("nudge_parked_total{{kind=\"{kind}\"}} {}\n", counter.get()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_help_type_and_value() {
        let metrics = Metrics::default();
        metrics.answers.add(3);
        let text = metrics.prometheus(10, 2, 9);
        assert!(text.contains("# TYPE nudge_answers_total counter\nnudge_answers_total 3\n"), "{text}");
        assert!(text.contains("nudge_outbox_pending 2\n"));
        metrics.parked_nudges.inc();
        let text = metrics.prometheus(10, 2, 9);
        assert!(
            text.contains("nudge_parked_total{kind=\"nudge\"} 1\nnudge_parked_total{kind=\"delivery\"} 0\n"),
            "{text}"
        );
    }
}
