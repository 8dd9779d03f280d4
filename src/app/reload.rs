//! Hot reload of content packs: on SIGHUP, and whenever a file under the content directory
//! changes (a cheap poll of names, sizes and times, which also works on container volumes
//! where file-change events do not arrive).
//!
//! A pack that loads without errors replaces the running version from the next nudge on; a
//! pack with errors is logged with its diagnostics and the last good version keeps serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::check::load_checked;
use crate::content::Library;
use crate::service::Service;

/// A summary of the content directory that changes whenever a file does.
pub type Fingerprint = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

/// Watches the content directory and reloads changed packs until `cancel` fires. `seen` is the
/// state the running packs were loaded from, taken before loading them, so no change slips by.
pub async fn run(service: Arc<Service>, mut seen: Fingerprint, every: Duration, cancel: CancellationToken) {
    let dir = service.settings().content.dir.clone();
    let mut hangup = hangup_signal();
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
        reload(&service, &dir);
    }
}

/// Loads the packs again and swaps in those without errors.
pub fn reload(service: &Service, dir: &Path) {
    let loaded = load_checked(dir);
    let fresh = loaded.library();
    let current = service.library();
    let mut next = Library { packs: current.packs.clone() };
    for pack in &loaded.packs {
        match fresh.pack(&pack.id) {
            Some(good) => {
                next.packs.insert(pack.id.clone(), good.clone());
                tracing::info!(pack = %pack.id, lessons = good.lessons.len(), "pack reloaded");
            }
            None => {
                for problem in loaded.problems.iter().filter(|p| p.path.starts_with(&pack.dir)) {
                    tracing::warn!(pack = %pack.id, "{}", problem.headline());
                }
                tracing::warn!(pack = %pack.id, "the changed pack has errors; the last good version keeps serving");
            }
        }
    }
    log_unreadable_packs(&loaded);
    service.set_library(next);
}

/// Logs errors of packs that could not be read at all (a broken `pack.toml`): the packs in
/// use keep serving, and the author needs to know why the change did not arrive.
fn log_unreadable_packs(loaded: &crate::content::Loaded) {
    let unreadable: Vec<_> = loaded
        .problems
        .iter()
        .filter(|problem| problem.severity == crate::content::problem::Severity::Error)
        .filter(|problem| !loaded.packs.iter().any(|pack| problem.path.starts_with(&pack.dir)))
        .collect();
    for problem in &unreadable {
        tracing::warn!("{}", problem.headline());
    }
    if !unreadable.is_empty() {
        tracing::warn!("a changed pack cannot be read; the packs in use keep serving");
    }
}

/// The fingerprint of `dir` now.
pub fn fingerprint(dir: &Path) -> Fingerprint {
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
