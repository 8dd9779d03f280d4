//! Hot reload of content packs: on SIGHUP, and whenever a file under the content directory
//! changes (a cheap poll of names, sizes and times, which also works on container volumes
//! where file-change events do not arrive).
//!
//! A pack that loads without errors replaces the running version from the next nudge on; a
//! pack with errors is logged with its diagnostics and the last good version keeps serving.
//! The log speaks of a pack only when what was loaded from it differs from last time: touching
//! a file, or editing another pack, says nothing about this one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::authoring::check::load_checked;
use crate::content::{Library, Loaded, Pack};
use crate::service::Service;

/// A summary of the content directory that changes whenever a file does.
pub(crate) type Fingerprint = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

/// Watches the content directory and reloads changed packs until `cancel` fires. `seen` is the
/// state the running packs were loaded from, taken before loading them, so no change slips by.
pub async fn run(service: Arc<Service>, mut seen: Fingerprint, every: Duration, cancel: CancellationToken) {
    let dir = service.settings().content.dir.clone();
    let mut hangup = hangup_signal();
    let mut reloader = Reloader::default();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {
                let now = fingerprint(&dir);
                if now == seen {
                    continue;
                }
                seen = now;
            }
            _ = next_hangup(&mut hangup) => {
                tracing::info!("SIGHUP: reloading the content packs");
                seen = fingerprint(&dir);
            }
        }
        reloader.reload(&service, &dir);
    }
}

/// What one reload did, pack by pack (what the log says, for tests).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Reloaded {
    /// Packs whose content changed and that now serve in the new version.
    pub changed: Vec<String>,
    /// Packs whose changed version has errors; the last good version keeps serving.
    pub refused: Vec<String>,
}

/// Reloads packs and remembers what it last said about broken ones, so that a pack with
/// errors is reported once per change rather than at every reload.
#[derive(Debug, Default)]
pub(crate) struct Reloader {
    /// Per pack with errors: the version that was refused and its problems.
    refused: HashMap<String, (Pack, Vec<String>)>,
    /// The problems of packs that could not be read at all, as last logged.
    unreadable: Vec<String>,
}

impl Reloader {
    /// Loads the packs again, swaps in those without errors and logs what changed.
    pub(crate) fn reload(&mut self, service: &Service, dir: &Path) -> Reloaded {
        let loaded = load_checked(dir);
        let fresh = loaded.library();
        let current = service.library();
        let mut next = Library { packs: current.packs.clone() };
        let mut reloaded = Reloaded::default();
        for pack in &loaded.packs {
            match fresh.pack(&pack.id) {
                Some(good) => {
                    self.refused.remove(&pack.id);
                    if current.pack(&pack.id) != Some(good) {
                        next.packs.insert(pack.id.clone(), good.clone());
                        tracing::info!(pack = %pack.id, lessons = good.lessons.len(), "pack reloaded");
                        reloaded.changed.push(pack.id.clone());
                    }
                }
                None => {
                    if self.refuse(pack, &loaded) {
                        reloaded.refused.push(pack.id.clone());
                    }
                }
            }
        }
        self.log_unreadable_packs(&loaded);
        service.set_library(next);
        reloaded
    }

    /// Logs the problems of `pack` unless this very version was reported before; true if
    /// it logged.
    fn refuse(&mut self, pack: &Pack, loaded: &Loaded) -> bool {
        let problems: Vec<String> =
            loaded.problems.iter().filter(|p| p.path.starts_with(&pack.dir)).map(|p| p.headline()).collect();
        let seen = (pack.clone(), problems);
        if self.refused.get(&pack.id) == Some(&seen) {
            return false;
        }
        for problem in &seen.1 {
            tracing::warn!(pack = %pack.id, "{problem}");
        }
        tracing::warn!(pack = %pack.id, "the changed pack has errors; the last good version keeps serving");
        self.refused.insert(pack.id.clone(), seen);
        true
    }

    /// Logs errors of packs that could not be read at all (a broken `pack.toml`), once per
    /// change: the packs in use keep serving, and the author needs to know why the change did
    /// not arrive.
    fn log_unreadable_packs(&mut self, loaded: &Loaded) {
        let unreadable: Vec<String> = loaded
            .problems
            .iter()
            .filter(|problem| problem.severity == crate::content::problem::Severity::Error)
            .filter(|problem| !loaded.packs.iter().any(|pack| problem.path.starts_with(&pack.dir)))
            .map(|problem| problem.headline())
            .collect();
        if unreadable == self.unreadable {
            return;
        }
        for problem in &unreadable {
            tracing::warn!("{problem}");
        }
        if !unreadable.is_empty() {
            tracing::warn!("a changed pack cannot be read; the packs in use keep serving");
        }
        self.unreadable = unreadable;
    }
}

/// The fingerprint of `dir` now.
pub(crate) fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files = Fingerprint::new();
    collect(dir, 0, &mut files);
    files
}

fn collect(dir: &Path, depth: usize, files: &mut Fingerprint) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() && depth < 2 {
            collect(&path, depth + 1, files);
        } else if meta.is_file() {
            files.insert(path, (meta.len(), meta.modified().ok()));
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {}

#[cfg(unix)]
async fn next_hangup(hangup: &mut Hangup) {
    match hangup {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::settings;

    const LESSON: &str = "+++\nid = \"one\"\ntitle = \"One\"\n+++\nA short text.\n";

    fn write_pack(dir: &Path, id: &str, lesson: &str) {
        let pack = dir.join(id);
        std::fs::create_dir_all(&pack).unwrap();
        std::fs::write(pack.join("pack.toml"), "title = \"T\"\nlanguage = \"en\"\ndescription = \"D.\"\n").unwrap();
        std::fs::write(pack.join("01-one.md"), lesson).unwrap();
    }

    fn check(reloaded: Reloaded, changed: &[&str], refused: &[&str]) {
        assert_eq!(
            reloaded,
            Reloaded {
                changed: changed.iter().map(|id| (*id).to_owned()).collect(),
                refused: refused.iter().map(|id| (*id).to_owned()).collect(),
            }
        );
    }

    #[test]
    fn only_packs_whose_content_changed_are_reported_once_per_change() {
        let dir = tempfile::tempdir().unwrap();
        write_pack(dir.path(), "a", LESSON);
        write_pack(dir.path(), "b", LESSON);
        let service = Service::new(
            Arc::new(crate::store::Store::temporary().unwrap()),
            Arc::new(settings()),
            load_checked(dir.path()).library(),
        );
        let mut reloader = Reloader::default();
        check(reloader.reload(&service, dir.path()), &[], &[]);

        write_pack(dir.path(), "a", &LESSON.replace("A short", "A new"));
        check(reloader.reload(&service, dir.path()), &["a"], &[]);
        check(reloader.reload(&service, dir.path()), &[], &[]);

        let broken = format!("{LESSON}\n## Quiz\nQ?\n- [ ] a\n- [ ] b\n");
        write_pack(dir.path(), "b", &broken);
        check(reloader.reload(&service, dir.path()), &[], &["b"]);
        check(reloader.reload(&service, dir.path()), &[], &[]);
        write_pack(dir.path(), "b", &broken.replace("A short text.", "A short text.\n\nMore."));
        check(reloader.reload(&service, dir.path()), &[], &["b"]);
        write_pack(dir.path(), "b", LESSON);
        check(reloader.reload(&service, dir.path()), &[], &[]);
    }
}
