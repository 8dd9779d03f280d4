//! One session with the server, owned by a connection thread: a `tokio-postgres` client driven
//! by a runtime of the thread's own, and the statements prepared on it.
//!
//! Inside a learner transaction the session *holds back* what needs no answer (`BEGIN`, the
//! learner's lock, every write) until the next statement whose answer the caller waits for, or
//! the commit. Those then go to the server together, in order, in one round trip (pipelined),
//! and the first failure among them is the step's failure. A transaction of a few reads and
//! many writes so costs a round trip per read and one to commit, not one per statement. Reads
//! still see the transaction's own writes: they are sent after them on the same session.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};
use tokio_postgres::{Client, Error, Row, Statement, ToStatement};

use super::errors::Failure;
use super::rows::Param;
use crate::store::StoreError;

/// A statement's parameter, encoded when it was held back.
#[derive(Debug)]
struct Encoded {
    /// The value in its wire form; `None` for NULL.
    bytes: Option<BytesMut>,
    /// The wire form's format.
    format: Format,
}

impl ToSql for Encoded {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.bytes {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, _: &Type) -> Format {
        self.format
    }
}

/// A statement held back until the next round trip.
enum Held {
    /// A statement without parameters (`BEGIN`).
    Simple(&'static str),
    /// A prepared statement and its encoded parameters.
    Prepared(Statement, Vec<Encoded>),
}

impl Held {
    /// Sends the statement when first polled and resolves when the server has answered it.
    fn run<'a>(&'a self, client: &'a Client) -> Pin<Box<dyn Future<Output = Result<(), Error>> + 'a>> {
        match self {
            Self::Simple(sql) => Box::pin(client.batch_execute(sql)),
            Self::Prepared(statement, params) => Box::pin(async move {
                let params = params.iter().map(|param| param as &(dyn ToSql + Sync));
                client.execute_raw(statement, params).await.map(|_| ())
            }),
        }
    }
}

/// One session: see the module's documentation.
pub(super) struct Session {
    runtime: tokio::runtime::Runtime,
    client: Client,
    statements: HashMap<&'static str, Statement>,
    held: Vec<Held>,
    /// True from [`Self::begin_holding`] to the commit or rollback.
    holding: bool,
}

impl Session {
    /// A session over `client`, whose connection runs on `runtime`.
    pub(super) fn new(runtime: tokio::runtime::Runtime, client: Client) -> Self {
        Self { runtime, client, statements: HashMap::new(), held: Vec::new(), holding: false }
    }

    /// `sql` prepared on this session: the first time with a round trip, then from the cache.
    pub(super) fn prepared(&mut self, sql: &'static str) -> Result<Statement, Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// `sql` prepared, not cached.
    pub(super) fn prepare(&mut self, sql: &str) -> Result<Statement, Error> {
        let Self { runtime, client, .. } = self;
        runtime.block_on(client.prepare(sql))
    }

    /// Opens a transaction with `begin` (a `BEGIN …` statement), held back like the writes
    /// that follow until [`Self::commit`] or [`Self::rollback`].
    pub(super) fn begin_holding(&mut self, begin: &'static str) {
        self.held.push(Held::Simple(begin));
        self.holding = true;
    }

    /// Runs `statement` with `params`, or holds it back inside a holding transaction; its
    /// failure then comes with the next round trip.
    pub(super) fn write(&mut self, statement: &Statement, params: &[Param<'_>]) -> Result<(), Failure> {
        if !self.holding {
            self.execute(statement, params)?;
            return Ok(());
        }
        let encoded = encode(statement, params)?;
        self.held.push(Held::Prepared(statement.clone(), encoded));
        Ok(())
    }

    /// Sends what is held back and `COMMIT` in one round trip.
    pub(super) fn commit(&mut self) -> Result<(), Error> {
        self.holding = false;
        self.batch_execute("COMMIT")
    }

    /// Ends the holding transaction, if one is open, without keeping anything: what was held
    /// back is dropped, and `ROLLBACK` sent unless the `BEGIN` itself was still held back.
    pub(super) fn rollback(&mut self) -> Result<(), Error> {
        let sent = self.holding && !matches!(self.held.first(), Some(Held::Simple(_)));
        self.held.clear();
        self.holding = false;
        if sent { self.batch_execute("ROLLBACK") } else { Ok(()) }
    }

    /// Runs `work` in a transaction of its own (statements sent one by one), committed when it
    /// succeeds and rolled back when it fails.
    pub(super) fn in_transaction<R, E: From<Error>>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<R, E>,
    ) -> Result<R, E> {
        self.batch_execute("BEGIN")?;
        match work(self) {
            Ok(value) => {
                self.batch_execute("COMMIT")?;
                Ok(value)
            }
            Err(error) => {
                let _ = self.batch_execute("ROLLBACK");
                Err(error)
            }
        }
    }

    /// Runs the statement(s) of `sql`, after what is held back.
    pub(super) fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.after_held(|client| client.batch_execute(sql))
    }

    /// Runs `query` and returns the number of rows it changed, after what is held back.
    pub(super) fn execute<T>(&mut self, query: &T, params: &[Param<'_>]) -> Result<u64, Error>
    where
        T: ?Sized + ToStatement + Sync,
    {
        self.after_held(|client| client.execute(query, params))
    }

    /// The rows `query` returns, after what is held back.
    pub(super) fn query<T>(&mut self, query: &T, params: &[Param<'_>]) -> Result<Vec<Row>, Error>
    where
        T: ?Sized + ToStatement + Sync,
    {
        self.after_held(|client| client.query(query, params))
    }

    /// The one row `query` returns, or `None`, after what is held back (more rows: an error).
    pub(super) fn query_opt<T>(&mut self, query: &T, params: &[Param<'_>]) -> Result<Option<Row>, Error>
    where
        T: ?Sized + ToStatement + Sync,
    {
        self.after_held(|client| client.query_opt(query, params))
    }

    /// The one row `query` returns, after what is held back (none or more: an error).
    pub(super) fn query_one<T>(&mut self, query: &T, params: &[Param<'_>]) -> Result<Row, Error>
    where
        T: ?Sized + ToStatement + Sync,
    {
        self.after_held(|client| client.query_one(query, params))
    }

    /// Writes `rows` with the binary `COPY … FROM STDIN` statement `sql` of columns `types`.
    pub(super) fn copy_in_binary<'r, const N: usize>(
        &mut self,
        sql: &str,
        types: &[Type],
        rows: impl Iterator<Item = [Param<'r>; N]>,
    ) -> Result<u64, Error> {
        let Self { runtime, client, .. } = self;
        runtime.block_on(async {
            let sink = client.copy_in(sql).await?;
            let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, types);
            let mut writer = std::pin::pin!(writer);
            for row in rows {
                writer.as_mut().write(&row).await?;
            }
            writer.finish().await
        })
    }

    /// True once the connection is gone.
    pub(super) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Sends what is held back and then the statement `last` makes, in one round trip, and
    /// waits for every answer in order; the first failure wins.
    fn after_held<'a, R, F>(&'a mut self, last: impl FnOnce(&'a Client) -> F) -> Result<R, Error>
    where
        F: Future<Output = Result<R, Error>> + 'a,
    {
        let held = std::mem::take(&mut self.held);
        let Self { runtime, client, .. } = self;
        let client: &'a Client = client;
        runtime.block_on(async move {
            let mut sent: Vec<Sent<'_, ()>> = held.iter().map(|held| Sent::Waiting(held.run(client))).collect();
            let mut last = Sent::Waiting(Box::pin(last(client)));
            // Polling each once sends its request; the server answers them in this order, and
            // they are awaited in it (each answer waits in its own channel until taken).
            std::future::poll_fn(|cx| {
                for future in &mut sent {
                    future.poll_once(cx);
                }
                last.poll_once(cx);
                Poll::Ready(())
            })
            .await;
            let mut failure = None;
            for future in sent {
                if let Err(error) = future.finish().await {
                    failure.get_or_insert(error);
                }
            }
            let result = last.finish().await;
            match failure {
                Some(error) => Err(error),
                None => result,
            }
        })
    }
}

/// A request on its way: its future, or its answer once it came.
enum Sent<'a, R> {
    Waiting(Pin<Box<dyn Future<Output = Result<R, Error>> + 'a>>),
    Done(Result<R, Error>),
}

impl<R> Sent<'_, R> {
    /// Polls the future once (which sends the request the first time), keeping its answer if
    /// it came.
    fn poll_once(&mut self, cx: &mut std::task::Context<'_>) {
        if let Self::Waiting(future) = self
            && let Poll::Ready(result) = future.as_mut().poll(cx)
        {
            *self = Self::Done(result);
        }
    }

    /// The answer, waited for.
    async fn finish(self) -> Result<R, Error> {
        match self {
            Self::Waiting(future) => future.await,
            Self::Done(result) => result,
        }
    }
}

/// `params` of `statement` in their wire form, as the driver would send them.
fn encode(statement: &Statement, params: &[Param<'_>]) -> Result<Vec<Encoded>, StoreError> {
    let types = statement.params();
    if types.len() != params.len() {
        let reason = format!("a statement takes {} parameters, not {}", types.len(), params.len());
        return Err(StoreError::Encode(reason));
    }
    params
        .iter()
        .zip(types)
        .map(|(param, ty)| {
            let mut bytes = BytesMut::new();
            let null = param.to_sql_checked(ty, &mut bytes).map_err(|error| StoreError::Encode(error.to_string()))?;
            let bytes = matches!(null, IsNull::No).then_some(bytes);
            Ok(Encoded { bytes, format: param.encode_format(ty) })
        })
        .collect()
}
