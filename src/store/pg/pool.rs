//! The connections: a few std threads, each owning one [`Session`] and running the jobs sent
//! to it. A session blocks on a tokio runtime of its own, which panics on a thread that is
//! already inside one, and `Storage` is called from tokio workers, so callers never touch a
//! session: they check a connection out, send it boxed jobs and block on a std channel for
//! each reply. A connection stays checked out for a whole learner transaction, so
//! `BEGIN … COMMIT` run on one session. Leaves SQL to the callers.

use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio_postgres_rustls::MakeRustlsConnect;

use super::errors::{Failure, connect_error};
pub(super) use super::session::Session;
use crate::store::StoreError;

/// What a connection's thread runs: a job gets the session, or `None` while it cannot connect.
type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// How the threads reach the server again after a connection was lost.
#[derive(Clone)]
pub(super) struct Dialer {
    /// The parsed URL (its password stays inside: never printed).
    pub config: tokio_postgres::Config,
    /// TLS through rustls, used when the server offers it (`sslmode`).
    pub tls: MakeRustlsConnect,
    /// The password, to scrub from the driver's error texts.
    pub secret: Option<String>,
}

impl Dialer {
    /// A new session, on a runtime of its own (the calling thread's).
    fn connect(&self) -> Result<Session, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| StoreError::Task(format!("a database thread could not start its runtime ({error})")))?;
        // The connection is driven whenever the session waits on the runtime.
        let client = runtime.block_on(self.client())?;
        Ok(Session::new(runtime, client))
    }

    /// A new client, its connection driven by a task on the calling runtime.
    pub(super) async fn client(&self) -> Result<tokio_postgres::Client, StoreError> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|error| connect_error(&self.config, &error, self.secret.as_deref()))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "a PostgreSQL connection ended");
            }
        });
        Ok(client)
    }
}

/// The state of one connection's thread.
pub(super) struct Worker {
    client: Option<Session>,
    dialer: Dialer,
}

impl Worker {
    /// The session, connected again first if it was lost (only between checkouts, never
    /// inside a transaction).
    fn reconnect_if_lost(&mut self) -> Result<(), StoreError> {
        if self.client.as_ref().is_some_and(|client| !client.is_closed()) {
            return Ok(());
        }
        self.client = None;
        self.client = Some(self.dialer.connect()?);
        Ok(())
    }
}

/// One connection: the sender of its thread's jobs.
struct Connection {
    jobs: mpsc::Sender<Job>,
    thread: JoinHandle<()>,
}

/// A fixed number of connections, each checked out by one caller at a time.
pub(super) struct Pool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Pool {
    /// Opens `size` connections, each on its own thread; fails (with a sentence free of the
    /// password) when the first cannot connect.
    pub(super) fn open(dialer: &Dialer, size: usize) -> Result<Self, StoreError> {
        let mut idle = Vec::with_capacity(size);
        for number in 0..size {
            let dialer = dialer.clone();
            let (jobs, inbox) = mpsc::channel::<Job>();
            let (connected, first) = mpsc::sync_channel(1);
            // Connected on its own thread: the blocking client may not start inside a runtime,
            // and the caller may be in one.
            let thread = std::thread::Builder::new()
                .name(format!("nudge-pg-{number}"))
                .spawn(move || {
                    let client = match dialer.connect() {
                        Ok(client) => client,
                        Err(error) => {
                            let _ = connected.send(Err(error));
                            return;
                        }
                    };
                    let _ = connected.send(Ok(()));
                    let mut worker = Worker { client: Some(client), dialer };
                    for job in inbox {
                        job(&mut worker);
                    }
                })
                .map_err(|error| StoreError::Task(format!("a database thread could not start ({error})")))?;
            let started =
                first.recv().unwrap_or_else(|_| Err(StoreError::Database("a database thread stopped".to_owned())));
            if let Err(error) = started {
                let _ = thread.join();
                return Err(error);
            }
            idle.push(Connection { jobs, thread });
        }
        Ok(Self { idle: Mutex::new(idle), returned: Condvar::new() })
    }

    /// A connection of its own until the checkout is dropped; waits while all are in use. A
    /// lost session is connected again with the checkout's first job.
    pub(super) fn checkout(&self) -> Result<Checkout<'_>, StoreError> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let connection = loop {
            match idle.pop() {
                Some(connection) => break connection,
                None => idle = self.returned.wait(idle).unwrap_or_else(PoisonError::into_inner),
            }
        };
        drop(idle);
        Ok(Checkout {
            pool: self,
            connection: Some(connection),
            in_transaction: Default::default(),
            fresh: true.into(),
        })
    }

    /// Runs one job on a connection of its own (a read or a write outside a transaction).
    pub(super) fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, Failure> {
        self.checkout()?.run(job)
    }
}

impl Drop for Pool {
    /// Closes every connection and waits for its thread, so a store opened again right after
    /// finds the server's sessions gone.
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(PoisonError::into_inner));
        for Connection { jobs, thread } in idle {
            drop(jobs);
            let _ = thread.join();
        }
    }
}

/// A connection checked out of the pool; goes back when dropped.
pub(super) struct Checkout<'a> {
    pool: &'a Pool,
    connection: Option<Connection>,
    /// True between `BEGIN` and its end: a checkout dropped then (a panic in the work) rolls
    /// back before the connection serves anyone else.
    in_transaction: std::cell::Cell<bool>,
    /// True until the first job: that one first connects again if the session was lost (never
    /// later, inside a transaction).
    fresh: std::cell::Cell<bool>,
}

impl Checkout<'_> {
    /// Notes whether a transaction is open on this connection.
    pub(super) fn set_in_transaction(&self, open: bool) {
        self.in_transaction.set(open);
    }

    /// Runs `job` on this connection's thread and waits for what it returns.
    pub(super) fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, Failure> {
        self.start(job)?.wait()?
    }

    /// Sends `job` to this connection's thread without waiting for it, so the caller can make
    /// the next one meanwhile; jobs run in the order they were sent.
    pub(super) fn start<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<R, Failure> + Send + 'static,
    ) -> Result<Reply<Result<R, Failure>>, StoreError> {
        let fresh = self.fresh.replace(false);
        self.start_on_worker(move |worker| {
            if fresh {
                worker.reconnect_if_lost()?;
            }
            match worker.client.as_mut() {
                Some(client) => job(client),
                None => Err(Failure::Store(StoreError::Database("the connection to PostgreSQL was lost".to_owned()))),
            }
        })
    }

    fn send<R: Send + 'static>(&self, job: impl FnOnce(&mut Worker) -> R + Send + 'static) -> Result<R, StoreError> {
        self.start_on_worker(job)?.wait()
    }

    fn start_on_worker<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Worker) -> R + Send + 'static,
    ) -> Result<Reply<R>, StoreError> {
        let connection = self.connection.as_ref().ok_or_else(thread_stopped)?;
        let (reply, answer) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |worker| {
            let _ = reply.send(job(worker));
        });
        connection.jobs.send(job).map_err(|_| thread_stopped())?;
        Ok(Reply { answer })
    }
}

/// What a job sent with [`Checkout::start`] will return.
pub(super) struct Reply<R> {
    answer: mpsc::Receiver<R>,
}

impl<R> Reply<R> {
    /// Waits for the job to finish.
    pub(super) fn wait(self) -> Result<R, StoreError> {
        self.answer.recv().map_err(|_| thread_stopped())
    }
}

/// The sentence for a connection thread that is gone.
fn thread_stopped() -> StoreError {
    StoreError::Database("a database thread stopped".to_owned())
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if self.in_transaction.get() {
            let _ = self.send(|worker| worker.client.as_mut().map(Session::rollback));
        }
        if let Some(connection) = self.connection.take() {
            self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).push(connection);
            self.pool.returned.notify_one();
        }
    }
}
