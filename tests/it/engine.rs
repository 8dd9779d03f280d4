//! The store engine the daemon-level tests run on: sled, or PostgreSQL when
//! `NUDGE_TEST_ENGINE=postgres` (`.ci/run` runs the whole suite a second time that way, on the
//! throw-away server in `NUDGE_TEST_DATABASE_URL`). Each test directory gets a database of its
//! own, kept for as long as the test runs (restarts included) and dropped with the server.

use std::path::Path;
use std::sync::Arc;

use nudge::config::Backend;
use nudge::store::{Storage, Store};

/// The engine of this run.
pub fn engine() -> Backend {
    match std::env::var("NUDGE_TEST_ENGINE").as_deref() {
        Ok("postgres") if cfg!(feature = "postgres") => Backend::Postgres,
        Ok("postgres") => panic!("NUDGE_TEST_ENGINE=postgres needs the tests built with `--features postgres`"),
        _ => Backend::Sled,
    }
}

/// True when this run is on PostgreSQL.
pub fn on_postgres() -> bool {
    engine() == Backend::Postgres
}

/// For a test of sled's own files: true (after one line saying so) when the run is on
/// PostgreSQL, where the test does not apply.
pub fn sled_only(what: &str) -> bool {
    if on_postgres() {
        eprintln!("not on PostgreSQL: {what} (a test of sled's files)");
    }
    on_postgres()
}

pub use postgres_only::*;

/// The `[store]` lines of a config for the test in `dir`.
pub fn store_section(dir: &Path) -> String {
    format!("[store]\nbackend = \"{}\"\npath = \"{}/store\"\n", engine().name(), dir.display())
}

/// The store of the test in `dir`, opened directly (no daemon holds it, or is about to let go:
/// a sled store is waited for).
pub fn open_store(dir: &Path) -> Arc<dyn Storage> {
    match engine() {
        Backend::Sled => Arc::new(Store::open_when_free(&dir.join("store")).expect("the store opens")),
        Backend::Postgres => open_database(dir),
    }
}

/// Waits for a stopped daemon's last blocking tasks to let go of its store (sled's lock; a
/// database has none).
pub fn wait_for_release(dir: &Path) {
    if engine() == Backend::Sled {
        drop(crate::helpers::open_sled_when_free(&dir.join("store")));
    }
}

/// Environment for a `nudge` command run on the test in `dir`: the database URL on PostgreSQL.
pub fn command_env(dir: &Path) -> Vec<(&'static str, String)> {
    match engine() {
        Backend::Sled => Vec::new(),
        Backend::Postgres => vec![("NUDGE_DATABASE_URL", database_of(dir))],
    }
}

/// The parts that need the PostgreSQL engine built in; without it the run is never on
/// PostgreSQL ([`engine`] says so), and these are never called.
#[cfg(feature = "postgres")]
mod postgres_only {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, OnceLock};

    use nudge::store::pg::testdb::TestDb;
    use nudge::store::{PgStore, Storage};

    /// The databases made so far, by the test directory they belong to.
    fn databases() -> &'static Mutex<HashMap<PathBuf, TestDb>> {
        static DATABASES: OnceLock<Mutex<HashMap<PathBuf, TestDb>>> = OnceLock::new();
        DATABASES.get_or_init(Default::default)
    }

    /// The URL of the database of the test whose files are in `dir`, made at the first call.
    ///
    /// # Panics
    ///
    /// When the run is on PostgreSQL without a server to make it on.
    pub fn database_of(dir: &Path) -> String {
        let mut databases = databases().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let db = databases.entry(dir.to_owned()).or_insert_with(|| {
            TestDb::create().expect("NUDGE_TEST_ENGINE=postgres needs a server in NUDGE_TEST_DATABASE_URL")
        });
        db.url.clone()
    }

    /// The test's database, opened directly.
    pub fn open_database(dir: &Path) -> Arc<dyn Storage> {
        let url = database_of(dir);
        let connect = move || PgStore::connect(&url).expect("the test database opens");
        // Off the caller's runtime thread, as the engine asks.
        Arc::new(std::thread::spawn(connect).join().expect("the connecting thread"))
    }

    /// A raw session holding the lease; dropped on a thread of its own, since the blocking
    /// client may not be dropped on a runtime's thread.
    struct Seized(Option<postgres::Client>);

    impl Drop for Seized {
        fn drop(&mut self) {
            if let Some(client) = self.0.take() {
                let _ = std::thread::spawn(move || drop(client)).join();
            }
        }
    }

    /// Takes the active lease from the instance that holds it on the test's database: ends its
    /// session from the server's side (as when the network between them breaks) and holds the
    /// lease on a session of the test's, until the returned guard is dropped. Returns how many
    /// sessions were ended, and the guard.
    pub fn seize_the_lease(dir: &Path) -> (i64, Box<dyn std::any::Any + Send>) {
        let url = database_of(dir);
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("the test database");
            let terminate = "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = 'nudge active lease' AND datname = current_database() \
                             AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 \
                             AND granted)) t";
            let ended = client.query_one(terminate, &[]).expect("terminate").get::<_, i64>(0);
            // The lease's key (`store/pg/lease.rs`); waits until the ended session lets go.
            client.execute("SELECT pg_advisory_lock(1853187175, 1)", &[]).expect("the lease");
            (ended, Box::new(Seized(Some(client))) as Box<dyn std::any::Any + Send>)
        })
        .join()
        .expect("the seizing thread")
    }

    /// What [`rows_mentioning`] found.
    pub struct Scan {
        /// Rows read, in every table.
        pub scanned: usize,
        /// `table: row` for every row whose text holds one of the needles.
        pub mentions: Vec<String>,
    }

    /// Every row of every table of the test's database, as PostgreSQL writes a row as text, searched
    /// for `needles` (a learner's id, something they wrote): a black-box look at what an erasure
    /// left, whatever the tables are.
    pub fn rows_mentioning(dir: &Path, needles: &[&str]) -> Scan {
        let url = database_of(dir);
        let needles: Vec<String> = needles.iter().map(|needle| (*needle).to_owned()).collect();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("the test database");
            let tables = client
                .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", &[])
                .expect("the tables");
            let mut scan = Scan { scanned: 0, mentions: Vec::new() };
            for table in tables.iter().map(|row| row.get::<_, String>(0)) {
                let rows = client.query(&format!("SELECT t::text FROM \"{table}\" t"), &[]).expect("the rows");
                for text in rows.iter().map(|row| row.get::<_, String>(0)) {
                    scan.scanned += 1;
                    if needles.iter().any(|needle| text.contains(needle.as_str())) {
                        scan.mentions.push(format!("{table}: {text}"));
                    }
                }
            }
            assert!(tables.len() >= 10, "the schema's tables were found: {}", tables.len());
            scan
        })
        .join()
        .expect("the scanning thread")
    }
}

#[cfg(not(feature = "postgres"))]
mod postgres_only {
    use std::path::Path;
    use std::sync::Arc;

    use nudge::store::Storage;

    const NOT_BUILT: &str = "the tests were built without `--features postgres`";

    /// Never called without the engine ([`super::engine`] is never PostgreSQL).
    pub fn database_of(_dir: &Path) -> String {
        panic!("{NOT_BUILT}")
    }

    /// Never called without the engine.
    pub fn open_database(_dir: &Path) -> Arc<dyn Storage> {
        panic!("{NOT_BUILT}")
    }

    /// Never called without the engine.
    pub fn seize_the_lease(_dir: &Path) -> (i64, Box<dyn std::any::Any + Send>) {
        panic!("{NOT_BUILT}")
    }

    /// What `rows_mentioning` found.
    pub struct Scan {
        /// Rows read.
        pub scanned: usize,
        /// Rows holding a needle.
        pub mentions: Vec<String>,
    }

    /// Never called without the engine.
    pub fn rows_mentioning(_dir: &Path, _needles: &[&str]) -> Scan {
        panic!("{NOT_BUILT}")
    }
}
