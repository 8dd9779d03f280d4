//! Receiving updates without losing any: our own getUpdates loop.
//!
//! teloxide's stock polling confirms a batch (by asking for the next offset) before its handlers
//! finish. Here each batch is handled first, its effects and the next offset are written to the
//! store and flushed, and only then are replies sent and the next batch requested, which is
//! what confirms the previous one to Telegram. A crash at any point loses nothing Telegram
//! considers delivered: unconfirmed updates simply come again.

use std::sync::Arc;
use std::time::Duration;

use teloxide::types::Update;
use tokio_util::sync::CancellationToken;

use super::client::SendError;
use super::intake::Intake;

/// How long one getUpdates call waits for news.
const LONG_POLL: Duration = Duration::from_secs(25);
/// Tries before an update that keeps failing is skipped (logged as an error).
pub(crate) const MAX_TRIES_PER_UPDATE: u32 = 3;

/// The getUpdates loop around the intake.
pub(crate) struct Poller {
    /// What handles each update.
    pub intake: Arc<Intake>,
}

impl Poller {
    /// Polls until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let mut failures = 0u32;
        let mut poison: Option<(i32, u32)> = None;
        loop {
            let offset = match self.intake.service.store().update_offset() {
                Ok(offset) => i32::try_from(offset).unwrap_or(0),
                Err(error) => {
                    tracing::error!(error = %error, "cannot read the update offset; stopping the poller");
                    return;
                }
            };
            tracing::trace!(offset, "getUpdates");
            let updates = tokio::select! {
                _ = cancel.cancelled() => return,
                updates = self.intake.client.updates(offset, LONG_POLL) => updates,
            };
            tracing::trace!(n = updates.as_ref().map_or(0, Vec::len), "getUpdates returned");
            match updates {
                Ok(updates) => {
                    failures = 0;
                    self.process(updates, &mut poison).await;
                }
                Err(error) => {
                    failures += 1;
                    let wait = Duration::from_millis(500 * u64::from(failures.min(20)));
                    log_poll_error(&error, wait);
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Handles a batch, makes it durable, then replies.
    async fn process(&self, updates: Vec<Update>, poison: &mut Option<(i32, u32)>) {
        let Some(last) = updates.last() else { return };
        let started = std::time::Instant::now();
        let mut next_offset = last.id.as_offset();
        let mut effects = Vec::with_capacity(updates.len());
        for update in &updates {
            match self.intake.handle(update) {
                Ok(effect) => effects.extend(effect),
                Err(error) => {
                    let id = i32::try_from(update.id.0).unwrap_or(i32::MAX);
                    if record_failure(poison, id) {
                        self.intake.metrics.parked_updates.inc();
                        tracing::error!(update = id, error = %error, "an update keeps failing; skipping it");
                        continue;
                    }
                    tracing::error!(update = id, error = %error, "cannot record an update; it will be fetched again");
                    next_offset = id;
                    break;
                }
            }
        }
        let handled = started.elapsed();
        let durable = self.make_durable(next_offset).await;
        tracing::debug!(
            updates = updates.len(),
            handled_ms = handled.as_secs_f64() * 1000.0,
            flushed_ms = (started.elapsed() - handled).as_secs_f64() * 1000.0,
            "batch recorded"
        );
        if let Err(error) = durable {
            tracing::error!(error = %error, "cannot make answers durable; they will be fetched again");
            return;
        }
        self.intake.reply(effects);
    }

    async fn make_durable(&self, next_offset: i32) -> Result<(), crate::store::StoreError> {
        let store = self.intake.service.store();
        store.set_update_offset(i64::from(next_offset))?;
        store.flush().await
    }
}

/// Counts a failure of update `id`; true once it failed too often to keep trying.
pub(crate) fn record_failure<Id: PartialEq>(poison: &mut Option<(Id, u32)>, id: Id) -> bool {
    let tries = match poison {
        Some((seen, tries)) if *seen == id => *tries + 1,
        _ => 1,
    };
    *poison = Some((id, tries));
    tries >= MAX_TRIES_PER_UPDATE
}

fn log_poll_error(error: &SendError, wait: Duration) {
    let retry_in_ms = wait.as_millis() as u64;
    match error {
        SendError::Transient(_) => tracing::warn!(error = %error, retry_in_ms, "getUpdates failed"),
        _ if error.to_string().contains("webhook is active") => tracing::error!(
            error = %error,
            retry_in_ms,
            "getUpdates refused: a webhook is set for this bot; run `nudge webhook delete`, or set `mode = \"webhook\"` in [telegram]"
        ),
        _ => tracing::error!(
            error = %error,
            retry_in_ms,
            "getUpdates refused (is another instance running, or the token revoked?)"
        ),
    }
}
