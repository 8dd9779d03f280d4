//! The active lease on PostgreSQL: a session advisory lock, taken on a connection of its own.
//! The server lets go of it when that connection ends, so an instance that stops, or dies and
//! has its socket closed by the kernel, hands the lease on at once; one whose host vanishes
//! does within about 10 s, by the keepalives this session asks the server to send. A standby
//! keeps its connection and asks again at each try.

use std::time::Duration;

use tokio_postgres::Client;

use super::errors::database_error;
use super::pool::Dialer;
use crate::store::StoreError;
use crate::store::lease::{Lease, Taking};

/// The lock's key, in the two-number key space, which never meets the one-number keys that
/// lock learners: "nudg" and 1 for the active instance.
const KEY: (i32, i32) = (0x6e75_6467, 1);

/// How long a check of the lease may take before the connection counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Set on the lease's session: the server probes a silent client after 3 s, every 2 s, and
/// drops it (and the lock) after 3 unanswered probes.
const KEEPALIVES: &str = "SET application_name = 'nudge active lease'; SET tcp_keepalives_idle = 3; \
     SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3";

/// An active lease held, or asked for, on a session of its own.
pub(super) struct PgLease {
    dialer: Dialer,
    session: Option<Client>,
    held: bool,
}

impl PgLease {
    /// A lease not yet asked for.
    pub(super) fn new(dialer: Dialer) -> Self {
        Self { dialer, session: None, held: false }
    }

    async fn take_now(&mut self) -> Result<bool, StoreError> {
        if self.held {
            if self.still_held().await {
                return Ok(true);
            }
            tracing::warn!("the active lease's database connection ended; asking for the lease again");
            self.held = false;
            self.session = None;
        }
        let session = match self.session.take().filter(|session| !session.is_closed()) {
            Some(session) => session,
            None => self.connect().await?,
        };
        let asked = session.query_one("SELECT pg_try_advisory_lock($1, $2)", &[&KEY.0, &KEY.1]).await;
        let taken = asked.and_then(|row| row.try_get::<_, bool>(0)).map_err(|error| database_error(&error))?;
        self.session = Some(session);
        self.held = taken;
        Ok(taken)
    }

    /// Whether the server still counts this session as the lock's holder.
    async fn still_held(&self) -> bool {
        let Some(session) = &self.session else { return false };
        let check = session.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() \
             AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2 AND granted)",
            &[&KEY.0, &KEY.1],
        );
        match tokio::time::timeout(CHECK_TIMEOUT, check).await {
            Ok(Ok(row)) => row.try_get::<_, bool>(0).unwrap_or(false),
            _ => false,
        }
    }

    /// A session of the lease's own, with the keepalives set.
    async fn connect(&self) -> Result<Client, StoreError> {
        let client = self.dialer.client().await?;
        client.batch_execute(KEEPALIVES).await.map_err(|error| database_error(&error))?;
        Ok(client)
    }
}

impl Lease for PgLease {
    fn take(&mut self) -> Taking<'_> {
        Box::pin(self.take_now())
    }
}
