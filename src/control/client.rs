//! The CLI's side of the control socket: finds the daemon that holds a store and asks it.
//! Blocking, like the rest of the one-shot commands.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use super::{BackupEnd, Op, Outcome, Reply, Request, VERSION, socket_path};

/// How long the CLI waits for the daemon between two reads (a big report takes seconds).
const READ_TIMEOUT: Duration = Duration::from_secs(600);

/// A connection to the running daemon.
pub(crate) struct Daemon {
    stream: UnixStream,
    path: PathBuf,
}

/// The daemon that holds the store at `store`, or `None` when none runs: no socket, or one
/// nobody answers on (a daemon that crashed leaves its socket behind).
pub(crate) fn connect(store: &Path) -> anyhow::Result<Option<Daemon>> {
    let path = socket_path(store);
    match UnixStream::connect(&path) {
        Ok(stream) => {
            stream.set_read_timeout(Some(READ_TIMEOUT))?;
            Ok(Some(Daemon { stream, path }))
        }
        Err(error) if matches!(error.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
            Ok(None)
        }
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => anyhow::bail!(
            "the running daemon's socket {} is not yours: run this command as the daemon's user",
            path.display()
        ),
        Err(error) => Err(error).with_context(|| format!("cannot reach the running daemon at {}", path.display())),
    }
}

impl Daemon {
    /// Asks for `op` and returns the reply's data, or the daemon's refusal as the error.
    pub(crate) fn ask(self, op: Op) -> anyhow::Result<serde_json::Value> {
        let (data, _) = self.request(op)?;
        Ok(data)
    }

    /// Streams a backup into `out`; returns the number of records. Fails unless the daemon's
    /// last line says the backup is complete.
    pub(crate) fn backup(self, out: &mut impl Write) -> anyhow::Result<usize> {
        let (_, mut reader) = self.request(Op::Backup {})?;
        let mut held: Option<Vec<u8>> = None;
        let mut lines = 0;
        loop {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line).context("the connection to the daemon broke")? == 0 {
                break;
            }
            // The last line is the end line, not part of the backup: write each line once the next one is in.
            if let Some(previous) = held.replace(line) {
                out.write_all(&previous)?;
                lines += 1;
            }
        }
        let end = held.and_then(|line| serde_json::from_slice::<BackupEnd>(&line).ok());
        let records = match end.map(|end| end.end) {
            Some(Outcome::Ok(records)) => records.as_u64().unwrap_or(u64::MAX),
            Some(Outcome::Error(reason)) => anyhow::bail!("the daemon could not finish the backup: {reason}"),
            None => anyhow::bail!("the daemon stopped before the backup was complete"),
        };
        if u64::try_from(lines).ok() != records.checked_add(1) {
            anyhow::bail!("the backup arrived incomplete ({lines} lines for {records} records)");
        }
        out.flush()?;
        Ok(lines - 1)
    }

    /// Sends `op` and reads the reply line; the reader holds whatever follows.
    fn request(self, op: Op) -> anyhow::Result<(serde_json::Value, BufReader<UnixStream>)> {
        let path = self.path.display().to_string();
        let mut line = serde_json::to_string(&Request::new(op))?;
        line.push('\n');
        (&self.stream).write_all(line.as_bytes()).with_context(|| format!("cannot write to the daemon at {path}"))?;
        let mut reader = BufReader::new(self.stream);
        let mut answer = String::new();
        reader.read_line(&mut answer).with_context(|| format!("no answer from the daemon at {path}"))?;
        let reply: Reply = serde_json::from_str(&answer)
            .with_context(|| format!("the daemon at {path} answered what this nudge cannot read (another version?)"))?;
        if reply.v != VERSION {
            anyhow::bail!("the daemon at {path} speaks control protocol {}, this nudge {VERSION}", reply.v);
        }
        match reply.outcome {
            Outcome::Ok(data) => Ok((data, reader)),
            Outcome::Error(reason) => Err(anyhow::anyhow!(reason)),
        }
    }
}
