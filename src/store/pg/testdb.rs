//! Test databases: a fresh database per test on the server `NUDGE_TEST_DATABASE_URL` names
//! (`.ci/run` starts one with `.ci/postgres`), dropped when the test ends. Without the
//! variable a test is skipped with one loud line, or fails when `NUDGE_REQUIRE_POSTGRES=1`.

/// A database of its own for one test; dropped (with its sessions) when this is.
pub struct TestDb {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

impl TestDb {
    /// A new empty database, or `None` (after one line on stderr) when no server is configured.
    ///
    /// # Panics
    ///
    /// When `NUDGE_REQUIRE_POSTGRES=1` and no server is configured, or the server refuses.
    pub fn create() -> Option<Self> {
        let admin_url = server()?;
        let name = format!("nudge_test_{:016x}", fastrand::u64(..));
        admin(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = url_of(&admin_url, &name);
        Some(Self { admin_url, name, url })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = &self.name;
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        // On a thread of its own: a test may drop this inside a tokio runtime.
        let admin_url = self.admin_url.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(mut client) = postgres::Client::connect(&admin_url, postgres::NoTls) {
                let _ = client.batch_execute(&sql);
            }
        })
        .join();
    }
}

/// The test server's URL, or `None` after one loud line on stderr when none is configured.
///
/// # Panics
///
/// When `NUDGE_REQUIRE_POSTGRES=1` and no server is configured.
pub fn server() -> Option<String> {
    let url = std::env::var("NUDGE_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty());
    if url.is_none() {
        assert!(
            std::env::var("NUDGE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "NUDGE_REQUIRE_POSTGRES=1 but NUDGE_TEST_DATABASE_URL is not set: start a server with .ci/postgres start DIR"
        );
        eprintln!("skipped: set NUDGE_TEST_DATABASE_URL (.ci/run starts a server)");
    }
    url
}

/// Runs `sql` on the server's admin database, off any tokio runtime.
fn admin(admin_url: &str, sql: &str) {
    let (admin_url, sql) = (admin_url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls).expect("the test server accepts us");
        client.batch_execute(&sql).expect("the test server runs the statement");
    })
    .join()
    .expect("the admin thread finished");
}

/// `admin_url` with its database replaced by `name`.
fn url_of(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let without_db = match base.rsplit_once('/') {
        Some((head, _)) if head.contains("://") && head.len() > head.find("://").unwrap_or(0) + 3 => head,
        _ => base,
    };
    format!("{without_db}/{name}{query}")
}
