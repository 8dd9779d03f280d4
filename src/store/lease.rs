//! The poll lease. Telegram allows one `getUpdates` consumer per bot token, so when several
//! instances share one database only the holder of this lease polls; the others stand by and
//! take it over when the holder stops. A sled store is one process's (its files are locked),
//! so there the lease is always held. PostgreSQL's is a session advisory lock (`pg/lease.rs`).

use std::future::Future;
use std::pin::Pin;

use super::StoreError;

/// What [`PollLease::take`] returns.
pub type Taking<'a> = Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>>;

/// A claim on polling Telegram, kept by the poller for as long as it runs.
pub trait PollLease: Send {
    /// Takes the lease if it is free, or checks that this instance still holds it: true while
    /// it does, false while another instance holds it. An error says why the database could
    /// not be asked; the poller then polls no more until the lease is taken again.
    fn take(&mut self) -> Taking<'_>;
}

/// The lease of an engine that only one process can open: always held.
pub struct SoleProcess;

impl PollLease for SoleProcess {
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
