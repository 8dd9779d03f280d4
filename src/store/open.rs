//! Opening the engine `[store] backend` names: sled at `[store] path`, or PostgreSQL at the URL
//! in `NUDGE_DATABASE_URL` (the environment only: it holds a password). A database that cannot
//! be reached at start is retried with backoff; what is logged or returned names the database
//! by host, port and name, never by its URL, and any error text is scrubbed of the password.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{Storage, Store, StoreError};
use crate::config::{Backend, StoreSettings};

/// The environment variable holding the PostgreSQL URL.
pub const DATABASE_URL_VAR: &str = "NUDGE_DATABASE_URL";

/// Why a store could not be opened, in a sentence that names the store and never the password.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `backend = "postgres"` in a nudge built without the `postgres` feature.
    #[error(
        "`[store] backend = \"postgres\"`, but this nudge was built without PostgreSQL: build it with `cargo build --release --features postgres` (or use `backend = \"sled\"`)"
    )]
    NotBuilt,
    /// `backend = "postgres"` without `NUDGE_DATABASE_URL`.
    #[error(
        "`[store] backend = \"postgres\"` needs the environment variable {DATABASE_URL_VAR} (postgres://user:password@host:5432/database); nudge reads it only from the environment"
    )]
    NoUrl,
    /// Another process holds the sled store at this path.
    #[error("the store at {path} is {hint}")]
    SledLocked {
        /// The store's directory.
        path: String,
        /// Who holds it, and what to do.
        hint: String,
    },
    /// The sled store at this path could not be opened.
    #[error("cannot open the store at {path} ({hint}): {error}")]
    Sled {
        /// The store's directory.
        path: String,
        /// What to do about it.
        hint: String,
        /// sled's error.
        error: StoreError,
    },
    /// The PostgreSQL database could not be opened (after the retries, where there were any).
    #[error("{error}")]
    Postgres {
        /// Host, port and name of the database.
        database: String,
        /// What went wrong, naming the database, scrubbed of the password.
        error: String,
    },
}

/// How often and how long to try a database that cannot be reached.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// The wait after the first failure; it doubles up to `max`.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts in all; `None` tries for as long as it takes (the daemon).
    pub attempts: Option<u32>,
}

impl Retry {
    /// The daemon's: for as long as it takes, every minute at most (a shutdown stops it).
    pub const DAEMON: Retry = Retry { first: Duration::from_secs(1), max: Duration::from_secs(60), attempts: None };
    /// A command's: four attempts over about seven seconds, then the error.
    pub const COMMAND: Retry = Retry { first: Duration::from_secs(1), max: Duration::from_secs(4), attempts: Some(4) };

    /// The wait after failure number `attempt` (1 for the first).
    fn delay(&self, attempt: u32) -> Duration {
        crate::clock::doubling_wait(self.first, self.max, attempt)
    }
}

/// The PostgreSQL URL from `env`, if set and not empty.
pub fn database_url(env: impl Fn(&str) -> Option<String>) -> Option<SecretString> {
    env(DATABASE_URL_VAR).filter(|url| !url.trim().is_empty()).map(SecretString::from)
}

/// Opens the store `settings` name, for a command that runs once: sled at once, PostgreSQL
/// with [`Retry::COMMAND`]. `locked` words the error for a sled store another process holds.
pub fn open_blocking(
    settings: &StoreSettings,
    url: Option<&SecretString>,
    locked: impl FnOnce() -> String,
) -> Result<Arc<dyn Storage>, OpenError> {
    match settings.backend {
        Backend::Sled => {
            let path = &settings.path;
            let store = Store::open(path).map_err(|error| sled_error(path, error, locked))?;
            Ok(Arc::new(store))
        }
        Backend::Postgres => {
            let url = postgres_url(url)?;
            let mut attempt = 0;
            loop {
                match connect(url) {
                    Ok(store) => return Ok(store),
                    Err(failed) => {
                        attempt += 1;
                        let Some(delay) = retry_after(Retry::COMMAND, attempt, &failed) else {
                            return Err(failed.error);
                        };
                        eprintln!("{}; trying again in {} s", failed.error, delay.as_secs());
                        std::thread::sleep(delay);
                    }
                }
            }
        }
    }
}

/// Opens the store `settings` name, for the daemon: sled waiting for a previous process to
/// let go of it, PostgreSQL retried with `retry` (each retry logged). Dropping the future
/// stops the retries: that is how a shutdown during start-up is honoured.
pub async fn open_for_daemon(
    settings: &StoreSettings,
    url: Option<SecretString>,
    retry: Retry,
) -> Result<Arc<dyn Storage>, OpenError> {
    match settings.backend {
        Backend::Sled => {
            let path = settings.path.clone();
            let opened = tokio::task::spawn_blocking(move || Store::open_when_free(&path))
                .await
                .unwrap_or_else(|error| Err(StoreError::Task(error.to_string())));
            let store = opened.map_err(|error| {
                sled_error(&settings.path, error, || "in use: another nudge is running on it".to_owned())
            })?;
            Ok(Arc::new(store))
        }
        Backend::Postgres => {
            let url = postgres_url(url)?;
            let mut attempt = 0;
            loop {
                let trying = url.clone();
                let connected = tokio::task::spawn_blocking(move || connect(&trying)).await.unwrap_or_else(|error| {
                    Err(Failed { error: postgres_error(&url, &error.to_string()), lasting: true })
                });
                match connected {
                    Ok(store) => {
                        if attempt > 0 {
                            tracing::info!(attempts = attempt + 1, database = %database_label(&url), "PostgreSQL is reachable");
                        }
                        return Ok(store);
                    }
                    Err(failed) => {
                        attempt += 1;
                        let Some(delay) = retry_after(retry, attempt, &failed) else { return Err(failed.error) };
                        tracing::warn!(attempt, delay = ?delay, error = %failed.error, "cannot open the PostgreSQL database at start; retrying");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
    }
}

/// The store `settings` name, for messages: "the store at data/nudge.sled" or "the PostgreSQL
/// database db:5432/nudge".
pub fn describe(settings: &StoreSettings, url: Option<&SecretString>) -> String {
    match (settings.backend, url) {
        (Backend::Sled, _) => format!("the store at {}", settings.path.display()),
        (Backend::Postgres, Some(url)) => format!("the PostgreSQL database {}", database_label(url)),
        (Backend::Postgres, None) => "the PostgreSQL database".to_owned(),
    }
}

/// Why the sled store at `path` did not open: held by another process (`locked` words it), or
/// not readable.
fn sled_error(path: &std::path::Path, error: StoreError, locked: impl FnOnce() -> String) -> OpenError {
    let path = path.display().to_string();
    match error.is_locked() {
        true => OpenError::SledLocked { path, hint: locked() },
        false => OpenError::Sled { path, hint: DAMAGED_HINT.to_owned(), error },
    }
}

const DAMAGED_HINT: &str = "if it is damaged, restore a backup (`nudge restore`) into a new store path";

/// A failed attempt at the database, and whether waiting can help.
#[derive(Debug)]
struct Failed {
    error: OpenError,
    /// True when another attempt would fail the same way (a schema this nudge cannot read).
    lasting: bool,
}

/// One attempt at the database at `url`.
#[cfg(feature = "postgres")]
fn connect(url: &SecretString) -> Result<Arc<dyn Storage>, Failed> {
    match super::PgStore::connect(url.expose_secret()) {
        Ok(store) => Ok(Arc::new(store)),
        Err(error) => Err(Failed {
            lasting: matches!(error, StoreError::Schema { .. } | StoreError::DatabaseSchema { .. }),
            error: postgres_error(url, &error.to_string()),
        }),
    }
}

/// The database URL, when this nudge has PostgreSQL built in and the environment gives one.
fn postgres_url<U>(url: Option<U>) -> Result<U, OpenError> {
    if cfg!(not(feature = "postgres")) {
        return Err(OpenError::NotBuilt);
    }
    url.ok_or(OpenError::NoUrl)
}

/// Without the engine built in, every attempt fails the same way.
#[cfg(not(feature = "postgres"))]
fn connect(_url: &SecretString) -> Result<Arc<dyn Storage>, Failed> {
    Err(Failed { error: OpenError::NotBuilt, lasting: true })
}

/// `text` (an engine's error) as an [`OpenError`] that names the database once and never its
/// password.
fn postgres_error(url: &SecretString, text: &str) -> OpenError {
    let database = database_label(url);
    let text = scrub(text, url);
    let error = match text.contains(&database) {
        true => text,
        false => format!("cannot open the PostgreSQL database {database}: {text}"),
    };
    OpenError::Postgres { database, error }
}

/// The wait before attempt `attempt + 1`, or `None` when waiting will not help or the
/// attempts are used up.
fn retry_after(retry: Retry, attempt: u32, failed: &Failed) -> Option<Duration> {
    let used_up = retry.attempts.is_some_and(|attempts| attempt >= attempts);
    (!failed.lasting && !used_up).then(|| retry.delay(attempt))
}

/// The database's host, port and name, for messages: `db.example.org:5432/nudge`, never the
/// user's password (nor the user, nor the query's settings).
pub fn database_label(url: &SecretString) -> String {
    let url = url.expose_secret();
    let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) else {
        return "given in NUDGE_DATABASE_URL (key=value form)".to_owned();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if host.is_empty() { "localhost" } else { host };
    match database {
        "" => host.to_owned(),
        database => format!("{host}/{database}"),
    }
}

/// `text` with the password of `url` (and the whole URL) replaced by `***`, in case a driver's
/// message quotes either.
fn scrub(text: &str, url: &SecretString) -> String {
    let url = url.expose_secret();
    let mut scrubbed = text.replace(url, "***");
    if let Some(password) = password_of(url).filter(|password| password.len() >= 3) {
        scrubbed = scrubbed.replace(password, "***");
    }
    scrubbed
}

/// The password in a `postgres://user:password@host/…` URL, or in a `password=…` setting.
fn password_of(url: &str) -> Option<&str> {
    if let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")) {
        let authority = rest.split(['/', '?', '#']).next()?;
        let (credentials, _) = authority.rsplit_once('@')?;
        return credentials.split_once(':').map(|(_, password)| password);
    }
    url.split_whitespace().find_map(|setting| setting.strip_prefix("password="))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(url: &str) -> SecretString {
        SecretString::from(url.to_owned())
    }

    #[test]
    fn a_database_is_named_by_host_port_and_name_only() {
        let cases = [
            ("postgres://nudge:s3cret@db.example.org:5432/nudge?sslmode=require", "db.example.org:5432/nudge"),
            ("postgresql://nudge@127.0.0.1:5433/postgres", "127.0.0.1:5433/postgres"),
            ("postgres://db", "db"),
            ("postgres:///nudge", "localhost/nudge"),
            ("host=db user=nudge password=s3cret", "given in NUDGE_DATABASE_URL (key=value form)"),
        ];
        for (url, label) in cases {
            assert_eq!(database_label(&secret(url)), label, "{url}");
        }
    }

    #[test]
    fn error_texts_lose_the_password_and_the_url() {
        let url = secret("postgres://nudge:s3cret@db:5432/nudge");
        let text = "password authentication failed for s3cret at postgres://nudge:s3cret@db:5432/nudge";
        assert_eq!(scrub(text, &url), "password authentication failed for *** at ***");
        let settings = secret("host=db password=hunter22 user=nudge");
        assert_eq!(scrub("bad password hunter22", &settings), "bad password ***");
    }

    #[test]
    fn without_the_variable_postgres_says_what_to_set() {
        assert!(database_url(|_| None).is_none());
        assert!(database_url(|_| Some("  ".to_owned())).is_none(), "empty counts as unset");
        let message = OpenError::NoUrl.to_string();
        assert!(message.contains("NUDGE_DATABASE_URL"), "{message}");
    }

    #[test]
    fn a_command_tries_four_times_and_a_schema_it_cannot_read_once() {
        let failed = |lasting| Failed {
            error: OpenError::Postgres { database: "db".to_owned(), error: "connection refused".to_owned() },
            lasting,
        };
        let down = failed(false);
        let waits: Vec<_> = (1..=4).map(|attempt| retry_after(Retry::COMMAND, attempt, &down)).collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(waits, [secs(1), secs(2), secs(4), None]);
        assert_eq!(retry_after(Retry::DAEMON, 1, &failed(true)), None, "a schema it cannot read fails at once");
        assert_eq!(retry_after(Retry::DAEMON, 40, &down), secs(60), "the daemon goes on");
    }
}
