//! Pacing of outgoing calls: at most N messages a second overall and M a second per chat, and a
//! pause for everyone after Telegram answers 429 with `retry_after`.
//!
//! Reservations are spaced evenly (no bursts) a little under the configured rate, so that
//! network jitter cannot push two calls into the same window on Telegram's side.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

pub(crate) use crate::config::Limits;

/// Share of the configured overall rate actually used: leaves room for jitter between our clock
/// and Telegram's counting.
const HEADROOM: f64 = 0.97;
/// The same for one chat, with more room: at 1 or 2 messages a second, 3 % is 15–30 ms, less
/// than a busy machine's jitter between sending a call and its arrival, which made a strict
/// one-second window see three messages of one chat (seen in CI). Replies are a little slower;
/// the overall rate, which fan-out throughput depends on, keeps its 3 %.
const CHAT_HEADROOM: f64 = 0.9;

/// Shared pacing state.
pub(crate) struct Limiter {
    global_interval: Option<Duration>,
    chat_interval: Option<Duration>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_global: Option<Instant>,
    next_per_chat: HashMap<i64, Instant>,
    paused_until: Option<Instant>,
}

/// The moment a reservation counts from: the slot it was due at when the caller woke a little
/// late (so timer lateness does not add up and slow the pace), else now (no catching up on
/// idle time in a burst).
fn cadence(due: Option<Instant>, now: Instant, interval: Duration) -> Instant {
    due.filter(|due| now.saturating_duration_since(*due) < interval).unwrap_or(now)
}

fn interval(per_second: u32, headroom: f64) -> Option<Duration> {
    (per_second > 0).then(|| Duration::from_secs_f64(1.0 / (f64::from(per_second) * headroom)))
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            global_interval: interval(limits.global_per_second, HEADROOM),
            chat_interval: interval(limits.per_chat_per_second, CHAT_HEADROOM),
            state: Mutex::new(State::default()),
        }
    }

    /// Waits until a message to `chat` may go out, and reserves its place.
    pub(crate) async fn acquire_message(&self, chat: i64) {
        loop {
            let wait = self.try_reserve(Some(chat)).await;
            match wait {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Waits out a 429 pause (for calls that are not messages, such as callback answers).
    pub(crate) async fn wait_unpaused(&self) {
        loop {
            let until = self.state.lock().await.paused_until;
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// Reserves a slot now if every limit allows it; else says how long to wait.
    async fn try_reserve(&self, chat: Option<i64>) -> Option<Duration> {
        let now = Instant::now();
        let mut state = self.state.lock().await;
        let chat_next = chat.and_then(|chat| state.next_per_chat.get(&chat).copied());
        let earliest = [state.paused_until, state.next_global, chat_next].into_iter().flatten().max().unwrap_or(now);
        if earliest > now {
            return Some(earliest - now);
        }
        if let Some(interval) = self.global_interval {
            state.next_global = Some(cadence(state.next_global, now, interval) + interval);
        }
        if let (Some(interval), Some(chat)) = (self.chat_interval, chat) {
            if state.next_per_chat.len() > 50_000 {
                state.next_per_chat.retain(|_, next| *next > now);
            }
            state.next_per_chat.insert(chat, cadence(chat_next, now, interval) + interval);
        }
        None
    }

    /// After a 429: nobody calls Telegram for `wait`.
    pub(crate) async fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.state.lock().await;
        state.paused_until = Some(state.paused_until.map_or(until, |current| current.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_messages_to_the_global_rate() {
        let limiter = Limiter::new(Limits { global_per_second: 10, per_chat_per_second: 0 });
        let start = Instant::now();
        for chat in 0..21 {
            limiter.acquire_message(chat).await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(2000), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(2200), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_messages_to_one_chat() {
        let limiter = Limiter::new(Limits { global_per_second: 0, per_chat_per_second: 1 });
        let start = Instant::now();
        limiter.acquire_message(7).await;
        limiter.acquire_message(8).await;
        assert!(start.elapsed() < Duration::from_millis(10), "other chats are not held up");
        limiter.acquire_message(7).await;
        assert!(start.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_call() {
        let limiter = Limiter::new(Limits::NONE);
        limiter.pause_for(Duration::from_secs(3)).await;
        let start = Instant::now();
        limiter.acquire_message(1).await;
        assert!(start.elapsed() >= Duration::from_secs(3));
        limiter.wait_unpaused().await;
    }
}
