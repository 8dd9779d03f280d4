//! Standing by, and staying the active instance. With several instances on one database only
//! the holder of the store's active lease acts (on sled the lease is always held): a standby
//! asks for it every [`RETRY`], and the active one checks it as often. An active instance that
//! finds another holding the lease stops, with an error so that its supervisor starts it again
//! as a standby: two instances acting at once would send twice.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::lease::Lease;
use crate::telegram::intake::Role;
use crate::telemetry::metrics::Metrics;

/// How often a standby asks for the lease, and the active instance checks it. It bounds a
/// takeover after the holder stops or dies.
pub(crate) const RETRY: Duration = Duration::from_secs(2);

/// Waits until this instance holds `lease`. Says once that it stands by, and once when the
/// database cannot be asked; says when it takes over.
pub(super) async fn until_active(lease: &mut dyn Lease, role: &Role, metrics: &Metrics) {
    let (mut said_waiting, mut said_failing) = (false, false);
    loop {
        match lease.take().await {
            Ok(true) => {
                if said_waiting || said_failing {
                    tracing::info!(
                        "this instance holds the active lease now: it sends, schedules and, with long polling, polls"
                    );
                }
                return record_role(true, role, metrics);
            }
            Ok(false) => {
                metrics.lease_refused.inc();
                if !said_waiting {
                    tracing::info!(
                        "another nudge instance on this database is active; this one stands by and takes over when it stops"
                    );
                }
                said_waiting = true;
            }
            Err(error) => {
                if !said_failing {
                    tracing::error!(error = %error, "cannot ask the database for the active lease; standing by until it can");
                }
                said_failing = true;
            }
        }
        record_role(false, role, metrics);
        tokio::time::sleep(RETRY).await;
    }
}

/// Checks `lease` every [`RETRY`] until `cancel` fires (then `None`). Returns why this instance
/// must stop when another instance holds the lease. While the database cannot be asked it
/// carries on (its work fails on its own and says so) and asks again.
pub(super) async fn keep_active(
    mut lease: Box<dyn Lease>,
    role: Role,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> Option<String> {
    let mut said_failing = false;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return None,
            _ = tokio::time::sleep(RETRY) => {}
        }
        match lease.take().await {
            Ok(true) => said_failing = false,
            Ok(false) => {
                record_role(false, &role, &metrics);
                return Some("another instance holds the active lease".to_owned());
            }
            Err(error) => {
                if !said_failing {
                    tracing::warn!(error = %error, "cannot check the active lease; carrying on and asking again");
                }
                said_failing = true;
            }
        }
    }
}

/// Records whether this instance is the active one, for the code that hands replies on
/// (`role`) and for probes (`nudge_active`, `/healthz`): one state, said in both places at once.
fn record_role(active: bool, role: &Role, metrics: &Metrics) {
    role.set_active(active);
    metrics.active.set(i64::from(active));
}
