//! The active lease. Several instances may share one database, but only the holder of this
//! lease acts: it polls Telegram (which allows one `getUpdates` consumer per bot token), sends,
//! and runs the scheduler, the digests and the upkeep. The others stand by and take the lease
//! over when the holder stops or dies, so every guarantee of one process holds with several.
//! A sled store is one process's (its files are locked), so there the lease is always held.
//! PostgreSQL's is a session advisory lock (`pg/lease.rs`).

use std::future::Future;
use std::pin::Pin;

use super::StoreError;

/// What [`Lease::take`] returns.
pub type Taking<'a> = Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>>;

/// A claim on being the instance that acts, kept for as long as the daemon runs.
pub trait Lease: Send {
    /// Takes the lease if it is free, or checks that this instance still holds it: true while
    /// it does, false while another instance holds it. An error says why the database could
    /// not be asked.
    fn take(&mut self) -> Taking<'_>;
}

/// The lease of an engine that only one process can open: always held.
pub struct SoleProcess;

impl Lease for SoleProcess {
    fn take(&mut self) -> Taking<'_> {
        Box::pin(async { Ok(true) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_only_one_process_opens_always_holds_the_lease() {
        let mut lease = SoleProcess;
        assert!(lease.take().await.expect("no database to ask"));
        assert!(lease.take().await.expect("no database to ask"), "still held at the next check");
    }
}
