//! The connection check at start-up: `getMe` until Telegram answers, waiting longer after each
//! failure (a network that comes up after the daemon is normal on a VM that just booted). A
//! refused token stops the start at once: waiting will not fix it. Shutdown during the wait is
//! the caller's: dropping the future stops it at once.

use std::time::Duration;

use crate::telegram::{SendError, TelegramClient};

/// How long to wait between tries of the start-up check: `first`, doubling, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectBackoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// The longest wait, so a daemon that waited a long time still starts soon after Telegram
    /// is back.
    pub max: Duration,
}

impl Default for ConnectBackoff {
    fn default() -> Self {
        Self { first: Duration::from_secs(1), max: Duration::from_secs(60) }
    }
}

impl ConnectBackoff {
    /// The wait after failure number `attempt` (1 for the first).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        crate::clock::doubling_wait(self.first, self.max, attempt)
    }
}

/// The bot's username once Telegram answers `getMe`; retries passing failures for as long as
/// it takes, logging each retry. Fails at once when the token is refused or Telegram rejects
/// the call; the error never contains the token.
pub(crate) async fn bot_username(
    client: &TelegramClient,
    api_url: &reqwest::Url,
    backoff: ConnectBackoff,
) -> anyhow::Result<String> {
    let mut attempt = 0;
    loop {
        match client.username().await {
            Ok(username) => {
                if attempt > 0 {
                    tracing::info!(attempts = attempt + 1, "Telegram is reachable");
                }
                return Ok(username);
            }
            Err(SendError::Unauthorized) => anyhow::bail!(
                "Telegram at {api_url} does not accept the bot token: set NUDGE_TELEGRAM_TOKEN to the token BotFather gave the bot"
            ),
            Err(SendError::Transient(why)) => {
                attempt += 1;
                let delay = backoff.delay(attempt);
                tracing::warn!(attempt, delay = ?delay, error = %why, "cannot reach Telegram at start; retrying");
                tokio::time::sleep(delay).await;
            }
            Err(error) => anyhow::bail!("Telegram at {api_url} refused the start-up check: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_cap() {
        let backoff = ConnectBackoff::default();
        let waits: Vec<u64> = (1..=9).map(|attempt| backoff.delay(attempt).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(60));
    }
}
