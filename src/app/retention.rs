//! Keeping no more than needed: a sweep, at start and every six hours, that deletes answers
//! and sent messages older than `[store] retention_days`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service::Service;

/// Time between sweeps.
const EVERY: Duration = Duration::from_secs(6 * 3600);

/// Sweeps until `cancel` fires; does nothing when retention is off.
pub async fn run(service: Arc<Service>, cancel: CancellationToken) {
    let Some(days) = service.settings().store.retention_days else { return };
    loop {
        let before = crate::clock::now() - chrono::Duration::days(i64::from(days));
        let store = service.store().clone();
        match tokio::task::spawn_blocking(move || store.prune(before)).await {
            Ok(Ok(pruned)) if pruned.answers + pruned.deliveries > 0 => {
                tracing::info!(
                    answers = pruned.answers,
                    messages = pruned.deliveries,
                    days,
                    "deleted records past the retention period"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::error!(error = %error, "the retention sweep failed"),
            Err(error) => tracing::error!(error = %error, "the retention sweep stopped"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
