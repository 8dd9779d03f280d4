//! Fitting each pack's FSRS weights as its review log grows: ten minutes after start (once the
//! start-up catch-up is sent) and then every day, a pack whose log first reached the minimum, or
//! doubled since its last fit, is fitted on a blocking thread; weights that were saved schedule
//! its items from the next answer on. `nudge tune` fits at once, through the control socket.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service::Service;
use crate::tune::from_store::{Outcome, PackReport, TuneError, refit_due};

/// Time from start to the first check: the slots missed while the daemon was down go first.
const FIRST_AFTER: Duration = Duration::from_secs(10 * 60);
/// Time between checks.
const EVERY: Duration = Duration::from_secs(24 * 3600);

/// Checks until `cancel` fires.
pub async fn run(service: Arc<Service>, cancel: CancellationToken) {
    let mut wait = FIRST_AFTER;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = EVERY;
        let checking = service.clone();
        match tokio::task::spawn_blocking(move || check(&checking)).await {
            Ok(Ok(reports)) => reports.iter().for_each(log),
            Ok(Err(error)) => tracing::error!(error = %error, "fitting the packs' FSRS weights failed"),
            Err(error) => tracing::error!(error = %error, "fitting the packs' FSRS weights stopped"),
        }
    }
}

/// Fits what is due; the service takes up weights that were saved.
fn check(service: &Service) -> Result<Vec<PackReport>, TuneError> {
    let reports = refit_due(&**service.store(), service.settings(), crate::clock::now())?;
    if reports.iter().any(|report| matches!(report.outcome, Outcome::Fitted { saved: true, .. })) {
        service.reload_parameters();
    }
    Ok(reports)
}

fn log(report: &PackReport) {
    if let Outcome::Fitted { old_log_loss, new_log_loss, saved, .. } = report.outcome {
        tracing::info!(
            pack = %report.pack,
            reviews = report.reviews,
            learners = report.learners,
            old_log_loss,
            new_log_loss,
            saved,
            "fitted the pack's FSRS weights to its review log (held-out log loss, old and new)"
        );
    }
}
