//! The control socket's server: `<store path>.sock`, mode 0600, where the daemon answers
//! `nudge backup|report|tune|learner …|lead …` from its own open store (see `control` for the
//! protocol).
//! Local only, and only for the daemon's user (and root); never over the HTTP ops endpoint.
//!
//! Each connection is one request, served on a blocking thread (the store's API is blocking).
//! A backup in progress stops when the daemon shuts down; the client then says it is incomplete.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::control::admin::{has_records, lead_rows, learner_rows, remove_lead};
use crate::control::{BackupEnd, MAX_REQUEST_BYTES, Op, Outcome, Reply, Request};
use crate::domain::{LearnerId, OutMessage, Outgoing};
use crate::i18n::{Lang, fill};
use crate::render;
use crate::report::from_store::{render, report_from_store, report_language, report_zone};
use crate::service::{ChatMenu, Service, goodbye};
use crate::telegram::intake::send_direct;
use crate::telegram::{TelegramClient, menu};

/// How long the daemon waits for a client's request line.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a backup waits for a client that stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound control socket, ready to serve.
pub(crate) struct ControlSocket {
    listener: tokio::net::UnixListener,
    path: PathBuf,
    /// The daemon's user (the socket's owner): the only one allowed in, besides root.
    owner: u32,
    /// Which file is ours, so shutdown never removes a socket another daemon put there since.
    inode: u64,
}

/// Binds the socket at `path`, mode 0600 before it appears there: bound under a temporary
/// name, restricted, then renamed into place. A stale socket (connect fails: its daemon is
/// gone) is replaced; a live one or another kind of file is left alone and refused.
pub(crate) fn bind(path: &Path) -> anyhow::Result<ControlSocket> {
    // sled makes its directory; with PostgreSQL nothing else does (`[store] path` is then
    // only where the socket goes).
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot make the directory {}", parent.display()))?;
    }
    clear_stale(path)?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".{}.new", std::process::id()));
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let listener = std::os::unix::net::UnixListener::bind(&partial)
        .with_context(|| format!("cannot listen on {}", partial.display()))?;
    let placed = std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&partial, path));
    if let Err(error) = placed {
        let _ = std::fs::remove_file(&partial);
        return Err(error).with_context(|| format!("cannot put the control socket at {}", path.display()));
    }
    listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(listener)?;
    let metadata = std::fs::metadata(path)?;
    Ok(ControlSocket { listener, path: path.to_owned(), owner: metadata.uid(), inode: metadata.ino() })
}

fn clear_stale(path: &Path) -> anyhow::Result<()> {
    let metadata = match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.with_context(|| format!("cannot look at {}", path.display()))?,
    };
    if !metadata.file_type().is_socket() {
        anyhow::bail!("{} is in the way and is not a socket: move it elsewhere", path.display());
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        anyhow::bail!("another process already answers on {}", path.display());
    }
    std::fs::remove_file(path).with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    tracing::info!(path = %path.display(), "replaced a stale control socket");
    Ok(())
}

impl ControlSocket {
    /// Removes the socket file if it is still ours.
    fn remove(&self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|metadata| metadata.ino() == self.inode);
        if ours && let Err(error) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %error, "cannot remove the control socket");
        }
    }
}

/// The last message to someone whose records an admin erased (a learner forgotten, a lead
/// removed), sent without being recorded, and the menu their chat gets back.
struct Farewell {
    chat: LearnerId,
    message: OutMessage,
    menu: Option<ChatMenu>,
}

/// What a connection needs.
#[derive(Clone)]
struct Control {
    service: Arc<Service>,
    client: Arc<TelegramClient>,
    owner: u32,
}

/// Answers requests until `cancel` fires, then removes the socket.
pub(crate) async fn serve(
    socket: ControlSocket,
    service: Arc<Service>,
    client: Arc<TelegramClient>,
    tracker: TaskTracker,
    cancel: CancellationToken,
) {
    tracing::info!(path = %socket.path.display(), "control socket listening");
    let control = Control { service, client, owner: socket.owner };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = socket.listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tracker.spawn(connection(stream, control.clone(), cancel.clone()));
                }
                Err(error) => {
                    tracing::warn!(error = %error, "control socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    socket.remove();
}

async fn connection(stream: tokio::net::UnixStream, control: Control, cancel: CancellationToken) {
    let allowed = stream.peer_cred().is_ok_and(|peer| peer.uid() == control.owner || peer.uid() == 0);
    let stream = match stream.into_std().and_then(|stream| stream.set_nonblocking(false).map(|()| stream)) {
        Ok(stream) => stream,
        Err(error) => return tracing::warn!(error = %error, "control socket: cannot use a connection"),
    };
    let service = control.service.clone();
    let served = tokio::task::spawn_blocking(move || answer(stream, allowed, &service, &cancel)).await;
    match served {
        Ok(Ok(Some(farewell))) => {
            if let Some(chat_menu) = farewell.menu {
                menu::set_for_chat(&control.client, farewell.chat.get(), chat_menu).await;
            }
            send_direct(control.client, farewell.chat, vec![Outgoing::Send { message: farewell.message }]).await
        }
        Ok(Ok(None)) => {}
        Ok(Err(error)) => tracing::warn!(error = %format!("{error:#}"), "control request failed"),
        Err(error) => tracing::error!(error = %error, "control request stopped"),
    }
}

/// Reads one request and answers it. Returns the farewell to send after an erasure.
fn answer(
    stream: std::os::unix::net::UnixStream,
    allowed: bool,
    service: &Service,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<Farewell>> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut out = &stream;
    if !allowed {
        write_line(&mut out, &Reply::error("only the daemon's user may use its control socket"))?;
        return Ok(None);
    }
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST_BYTES)).read_line(&mut line).context("no request")?;
    let request = match Request::parse(&line) {
        Ok(request) => request,
        Err(refusal) => {
            write_line(&mut out, &Reply::error(refusal))?;
            return Ok(None);
        }
    };
    tracing::info!(request = ?request.op, "control request");
    if let Op::Backup {} = request.op {
        stream_backup(service, &stream, cancel)?;
        return Ok(None);
    }
    let (reply, erased) = match run(service, &request.op, crate::clock::now()) {
        Ok((data, erased)) => (Reply::ok(data), erased),
        Err(error) => (Reply::error(format!("{error:#}")), None),
    };
    write_line(&mut out, &reply)?;
    Ok(erased)
}

/// Runs a request other than a backup: its reply data, and the farewell to whom was erased.
fn run(service: &Service, op: &Op, now: DateTime<Utc>) -> anyhow::Result<(serde_json::Value, Option<Farewell>)> {
    let store = &**service.store();
    let data = match op {
        Op::Backup {} => anyhow::bail!("a backup is streamed, not answered"),
        Op::Report { request, format, by, language } => {
            let (library, settings) = (service.library(), service.settings());
            let report = report_from_store(store, settings, &library, request, || store.report_key(), now)?;
            let cohort = request.cohort.as_deref();
            let lang = language.unwrap_or_else(|| report_language(settings, cohort));
            serde_json::Value::String(render(&report, *format, *by, lang, report_zone(settings, cohort)))
        }
        Op::Tune { pack } => {
            let reports = crate::tune::from_store::tune(store, service.settings(), pack.as_deref(), now)?;
            service.reload_parameters();
            serde_json::to_value(reports)?
        }
        Op::List { cohort } => serde_json::to_value(learner_rows(store, cohort.as_deref())?)?,
        Op::Export { id } => serde_json::to_value(store.export(*id)?)?,
        Op::Forget { id } => {
            if !has_records(store, *id)? {
                anyhow::bail!("there is nothing stored about learner {id}");
            }
            let lang = service.erase_learner(*id, Lang::En)?;
            store.flush_blocking()?;
            let farewell = Farewell { chat: *id, message: goodbye(lang), menu: None };
            return Ok((serde_json::json!({ "erased": id }), Some(farewell)));
        }
        Op::Leads {} => serde_json::to_value(lead_rows(store)?)?,
        Op::RemoveLead { id } => {
            let Some(lead) = remove_lead(store, *id)? else { anyhow::bail!("there is no team lead with id {id}") };
            tracing::info!(lead = id.get(), "an admin removed a team lead");
            let message = render::text(fill(lead.lang, "lead.removed", &[("cohort", &lead.cohorts.join(", "))]));
            let menu = ChatMenu { lang: lead.lang, admin: service.is_admin(*id), lead: false };
            let farewell = Farewell { chat: *id, message, menu: Some(menu) };
            return Ok((serde_json::json!({ "removed": id }), Some(farewell)));
        }
    };
    Ok((data, None))
}

/// The reply, the backup's lines, and a [`BackupEnd`] line.
fn stream_backup(
    service: &Service,
    stream: &std::os::unix::net::UnixStream,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, UntilCancelled { stream, cancel });
    write_line(&mut out, &Reply::ok(serde_json::Value::Null))?;
    let started = std::time::Instant::now();
    match service.store().backup(&mut out) {
        Ok(records) => {
            write_line(&mut out, &BackupEnd { end: Outcome::Ok(records.into()) })?;
            out.flush()?;
            tracing::info!(records, ms = started.elapsed().as_millis() as u64, "backup streamed");
        }
        Err(error) => {
            drop(out);
            let reason = match cancel.is_cancelled() {
                true => "the daemon is shutting down".to_owned(),
                false => format!("the backup failed: {error}"),
            };
            // After a line the failure may have cut short, so the end line stands alone.
            let mut out = stream;
            out.write_all(b"\n")?;
            write_line(&mut out, &BackupEnd { end: Outcome::Error(reason) })?;
        }
    }
    Ok(())
}

/// The socket, until the daemon shuts down: then writes fail, which stops a backup.
struct UntilCancelled<'a> {
    stream: &'a std::os::unix::net::UnixStream,
    cancel: &'a CancellationToken,
}

impl Write for UntilCancelled<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(std::io::Error::other("the daemon is shutting down"));
        }
        self.stream.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sockets_directory_is_made_when_it_is_missing() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("data/nudge.sled.sock");
        let socket = bind(&path).expect("bound");
        let mode = std::fs::metadata(&path).expect("the socket").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(socket);
    }
}
