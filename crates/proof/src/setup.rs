//! A throw-away nudge installation: a small pack, a config pointing at a fake Bot API, and a
//! store pre-filled with learners whose nudge is due (much faster than enrolling them by chat).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use chrono::{DateTime, Utc};
use nudge::config::{Backend, StoreSettings};
use nudge::domain::{Learner, LearnerId, NextNudge, Progress, Status};
use nudge::i18n::Lang;
use nudge::store::{StorageExt, open};

/// The engine installations use (`--backend`; sled unless set): PostgreSQL takes its database
/// from `NUDGE_DATABASE_URL`, which must be empty at the start of a run.
static BACKEND: OnceLock<Backend> = OnceLock::new();

/// Makes every installation of this run use `backend`.
pub fn use_backend(backend: Backend) {
    let _ = BACKEND.set(backend);
}

/// The engine installations use.
pub fn backend() -> Backend {
    BACKEND.get().copied().unwrap_or_default()
}

/// The database of the installation being run, when the run chose one (a fresh database a
/// round); else `NUDGE_DATABASE_URL`'s.
static DATABASE: Mutex<Option<String>> = Mutex::new(None);

/// Makes the installations from now on use the database at `url`.
pub fn use_database(url: &str) {
    *DATABASE.lock().unwrap_or_else(PoisonError::into_inner) = Some(url.to_owned());
}

/// The database URL installations use now, if the run chose one.
pub fn chosen_database() -> Option<String> {
    DATABASE.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Opens the store of the installation whose store path is `path`, in this run's engine.
pub fn open_store(path: &Path) -> anyhow::Result<std::sync::Arc<dyn nudge::store::Storage>> {
    let settings = StoreSettings { backend: backend(), path: path.to_owned(), retention_days: None };
    let chosen = chosen_database();
    let url = open::database_url(|key| match key {
        "NUDGE_DATABASE_URL" if chosen.is_some() => chosen.clone(),
        _ => std::env::var(key).ok(),
    });
    Ok(open::open_blocking(&settings, url.as_ref(), || "in use by another process".to_owned())?)
}

/// The invite of the test cohort.
pub const INVITE: &str = "PROOF";
/// A lesson with HTML specials and a quiz; the quiz's right answer is "Ask".
pub const LESSON: &str = "+++\nid = \"listen\"\ntitle = \"Listen first\"\n+++\nQ&A: listen <first>, then act.\n\n## Quiz\nWhat comes first?\n- [x] Ask\n- [ ] Sell\n> Asking shows what the customer needs.\n";

/// Paths of an installation.
pub struct Install {
    /// Holds everything; removed when dropped.
    pub dir: tempfile::TempDir,
    /// The config file.
    pub config: PathBuf,
    /// The store directory.
    pub store: PathBuf,
}

/// Cohort settings for the tests: slots every `every_seconds`, no quiet hours.
pub struct Cohort<'a> {
    /// The cron expression.
    pub schedule: &'a str,
    /// Messages per second overall (0: no limit).
    pub per_second: u32,
    /// Messages per second per chat (0: no limit).
    pub per_chat: u32,
}

/// Writes a pack and a config for the fake at `api_url`.
pub fn install(api_url: &str, cohort: &Cohort<'_>) -> anyhow::Result<Install> {
    let dir = tempfile::tempdir()?;
    let pack = dir.path().join("content/demo");
    std::fs::create_dir_all(&pack)?;
    std::fs::write(
        pack.join("pack.toml"),
        "title = \"Proof\"\nlanguage = \"en\"\ndescription = \"Load and crash tests.\"\n",
    )?;
    std::fs::write(pack.join("01-listen.md"), LESSON)?;
    let store = dir.path().join("store");
    let config = dir.path().join("nudge.toml");
    std::fs::write(
        &config,
        format!(
            "[telegram]\napi_url = \"{api_url}\"\nmessages_per_second = {}\nmessages_per_chat_per_second = {}\n\n[store]\nbackend = \"{}\"\npath = \"{}\"\n\n[content]\ndir = \"{}\"\n\n[[cohorts]]\nid = \"proof\"\npack = \"demo\"\ninvite = \"{INVITE}\"\nschedule = \"{}\"\ntimezone = \"UTC\"\nlanguage = \"en\"\nquiet_hours = \"none\"\nmax_messages_per_day = 20\n",
            cohort.per_second,
            cohort.per_chat,
            backend().name(),
            store.display(),
            dir.path().join("content").display(),
            cohort.schedule,
        ),
    )?;
    Ok(Install { dir, config, store })
}

/// Adds learners `ids` to the store, each with a nudge due at `due`.
pub fn enrol(store_path: &Path, ids: std::ops::Range<i64>, due: DateTime<Utc>) -> anyhow::Result<()> {
    let store = open_store(store_path)?;
    let next = NextNudge { at: due, slot: due.format("%Y-%m-%dT%H:%M:%S").to_string() };
    for id in ids.map(LearnerId::new) {
        store.with_learner(id, |tx| {
            tx.set_agenda(None, Some(&next))?;
            tx.put_learner(&learner(id, &next, due))
        })?;
    }
    store.flush_blocking()?;
    Ok(())
}

fn learner(id: LearnerId, next: &NextNudge, now: DateTime<Utc>) -> Learner {
    Learner {
        id,
        cohort: "proof".to_owned(),
        name: format!("L{id}"),
        lang: Lang::En,
        status: Status::Active,
        enrolled_at: now,
        progress: Progress::default(),
        prefs: Default::default(),
        next_nudge: Some(next.clone()),
        pending_move: None,
        notice_version: nudge::domain::PRIVACY_NOTICE,
        team: Default::default(),
    }
}
