//! What the PostgreSQL engine makes of the driver's errors: a conflict (serialization failure,
//! deadlock) runs a transaction again, everything else becomes a [`StoreError`] in our own
//! words. Connection errors never carry the URL or its password.

use crate::store::{StoreError, TxError};

/// SQLSTATE of a serialization failure.
const SERIALIZATION_FAILURE: &str = "40001";
/// SQLSTATE of a deadlock the server broke.
const DEADLOCK: &str = "40P01";

/// Why a database step failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server rolled back for another writer: run the transaction again.
    Conflict,
    /// Anything else.
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        match error.code().map(tokio_postgres::error::SqlState::code) {
            Some(SERIALIZATION_FAILURE | DEADLOCK) => Self::Conflict,
            _ => Self::Store(database_error(&error)),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<Failure> for TxError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Conflict => Self::Conflict,
            Failure::Store(error) => Self::Abort(error),
        }
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Conflict => Self::Database("another writer got in the way; try again".to_owned()),
            Failure::Store(error) => error,
        }
    }
}

/// A failed statement in a sentence: the server's message (never the URL: statements do not
/// carry it), or the driver's when the server sent none.
pub(super) fn database_error(error: &tokio_postgres::Error) -> StoreError {
    let reason = match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None if error.is_closed() => "the connection to the server was lost".to_owned(),
        None => error.to_string(),
    };
    StoreError::Database(format!("PostgreSQL refused a statement: {reason}"))
}

/// A failed connection in a sentence naming the server and user but never the password, which
/// is scrubbed from the driver's text too in case it is echoed there.
pub(super) fn connect_error(
    config: &tokio_postgres::Config,
    error: &tokio_postgres::Error,
    secret: Option<&str>,
) -> StoreError {
    let reason = match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    };
    let sentence = format!(
        "cannot connect to PostgreSQL at {} as `{}` ({reason}); check the database URL and that the server runs",
        server_of(config),
        config.get_user().unwrap_or("the default user"),
    );
    StoreError::Database(scrub(&sentence, secret))
}

/// `host:port/dbname` of a parsed URL, for messages.
pub(super) fn server_of(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or("(default)"))
}

/// `text` with every occurrence of `secret` replaced.
pub(super) fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "***"),
        _ => text.to_owned(),
    }
}

impl From<Failure> for crate::store::BackupError {
    fn from(failure: Failure) -> Self {
        Self::Store(failure.into())
    }
}
