//! The control socket's protocol: how `nudge backup|report|tune|learner …|lead …` ask the running daemon
//! to read or change its store, so they work without stopping it and see what it sees.
//!
//! One JSON request line, one JSON reply line; a backup's reply is followed by the backup's own
//! lines and a last line saying whether it is complete. The server is `app/control.rs`, the
//! client `client.rs`. Knows nothing of sled: the admin commands themselves live in `admin.rs`,
//! over the `Storage` interface, and run in the daemon or (daemon stopped) in the CLI alike.

pub(crate) mod admin;
pub(crate) mod client;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::LearnerId;
use crate::report::from_store::{CsvRows, ReportFormat, ReportRequest};

/// The protocol version; a request with another one is refused by name.
pub(crate) const VERSION: u32 = 1;

/// Longest request line the daemon reads.
pub(crate) const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// The socket of the daemon that holds the store at `store`: beside it, `<store path>.sock`.
pub(crate) fn socket_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".sock");
    PathBuf::from(name)
}

/// One request line: `{"v":1,"op":"…", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Request {
    /// Protocol version, [`VERSION`].
    pub v: u32,
    /// What to do.
    #[serde(flatten)]
    pub op: Op,
}

/// What an admin asks the daemon for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Op {
    /// The whole store as backup lines (`Storage::backup`), streamed after the reply.
    Backup {},
    /// A report rendered in `format` from the daemon's store, settings and packs.
    Report {
        /// Cohort, period, names.
        request: ReportRequest,
        /// How the text looks.
        format: ReportFormat,
        /// What a CSV row is about.
        #[serde(default)]
        by: CsvRows,
        /// The reader's language; the cohort's (or English) when not given.
        #[serde(default)]
        language: Option<crate::i18n::Lang>,
    },
    /// The learners, optionally of one cohort.
    List {
        /// Only this cohort.
        #[serde(default)]
        cohort: Option<String>,
    },
    /// Everything stored about one learner.
    Export {
        /// The learner's Telegram user id.
        id: LearnerId,
    },
    /// Erase one learner, as `/forget` in the chat does (goodbye included).
    Forget {
        /// The learner's Telegram user id.
        id: LearnerId,
    },
    /// Fit the FSRS weights of one pack (or of every pack a cohort follows) now, and schedule with
    /// the ones that predict held-out learners better.
    Tune {
        /// Only this pack.
        #[serde(default)]
        pack: Option<String>,
    },
    /// The team leads.
    Leads {},
    /// Remove one team lead: their records are erased and they are told in Telegram.
    RemoveLead {
        /// The lead's Telegram user id.
        id: LearnerId,
    },
}

impl Request {
    /// A request for `op` in this version of the protocol.
    pub fn new(op: Op) -> Self {
        Self { v: VERSION, op }
    }

    /// Reads one request line; the error is the sentence to send back.
    pub fn parse(line: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Envelope {
            v: Option<u32>,
            op: Option<String>,
        }
        let envelope: Envelope =
            serde_json::from_str(line).map_err(|error| format!("the request is not a JSON object: {error}"))?;
        match envelope.v {
            Some(VERSION) => {}
            Some(other) => return Err(format!("this daemon speaks control protocol {VERSION}, not {other}")),
            None => return Err("the request has no protocol version `v`".to_owned()),
        }
        let op = envelope.op.unwrap_or_default();
        serde_json::from_str(line).map_err(|error| match KNOWN_OPS.contains(&op.as_str()) {
            true => format!("the `{op}` request is malformed: {error}"),
            false => format!("unknown request `{op}`; this daemon knows {}", KNOWN_OPS.join(", ")),
        })
    }
}

const KNOWN_OPS: [&str; 8] = ["backup", "report", "tune", "list", "export", "forget", "leads", "remove_lead"];

/// The reply line to every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// Protocol version, [`VERSION`].
    pub v: u32,
    /// The answer, or why there is none.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A reply's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done; what it produced (for a backup: nothing, the lines follow).
    Ok(serde_json::Value),
    /// Refused or failed: one sentence for the admin.
    Error(String),
}

impl Reply {
    /// A successful reply carrying `data`.
    pub(crate) fn ok(data: serde_json::Value) -> Self {
        Self { v: VERSION, outcome: Outcome::Ok(data) }
    }

    /// A refusal or failure.
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self { v: VERSION, outcome: Outcome::Error(message.into()) }
    }
}

/// The last line of a backup stream: without it the backup is incomplete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BackupEnd {
    /// Records written, or why the backup stopped.
    pub end: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Result<Op, &str>) {
        let parsed = Request::parse(line).map(|request| request.op);
        match (parsed, expected) {
            (Ok(op), Ok(expected)) => assert_eq!(op, expected),
            (Err(error), Err(expected)) => assert!(error.contains(expected), "{error}"),
            (parsed, expected) => panic!("{line}: got {parsed:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn requests_parse_and_unknown_ones_are_refused_by_name() {
        check(r#"{"v":1,"op":"backup"}"#, Ok(Op::Backup {}));
        check(r#"{"v":1,"op":"list"}"#, Ok(Op::List { cohort: None }));
        check(r#"{"v":1,"op":"list","cohort":"desk"}"#, Ok(Op::List { cohort: Some("desk".to_owned()) }));
        check(r#"{"v":1,"op":"forget","id":42}"#, Ok(Op::Forget { id: LearnerId::new(42) }));
        check(r#"{"v":1,"op":"leads"}"#, Ok(Op::Leads {}));
        check(r#"{"v":1,"op":"tune"}"#, Ok(Op::Tune { pack: None }));
        check(r#"{"v":1,"op":"tune","pack":"demo"}"#, Ok(Op::Tune { pack: Some("demo".to_owned()) }));
        check(r#"{"v":1,"op":"remove_lead","id":7}"#, Ok(Op::RemoveLead { id: LearnerId::new(7) }));
        check(r#"{"v":1,"op":"remove_lead"}"#, Err("the `remove_lead` request is malformed"));
        check(r#"{"v":1,"op":"drop_tables"}"#, Err("unknown request `drop_tables`"));
        check(r#"{"v":1}"#, Err("unknown request ``"));
        check(r#"{"v":1,"op":"forget","id":"all"}"#, Err("the `forget` request is malformed"));
        check(r#"{"v":2,"op":"backup"}"#, Err("control protocol 1, not 2"));
        check(r#"{"op":"backup"}"#, Err("no protocol version"));
        check("backup", Err("not a JSON object"));
    }

    #[test]
    fn requests_and_replies_round_trip() {
        let request = Request::new(Op::Report {
            request: ReportRequest::default(),
            format: ReportFormat::Csv,
            by: CsvRows::Lesson,
            language: Some(crate::i18n::Lang::Da),
        });
        let line = serde_json::to_string(&request).expect("JSON");
        assert_eq!(Request::parse(&line), Ok(request));
        let reply = Reply::error("no");
        assert_eq!(serde_json::to_string(&reply).expect("JSON"), r#"{"v":1,"error":"no"}"#);
        let end: BackupEnd = serde_json::from_str(r#"{"end":{"ok":12}}"#).expect("JSON");
        assert_eq!(end.end, Outcome::Ok(12.into()));
    }

    #[test]
    fn the_socket_sits_beside_the_store() {
        assert_eq!(socket_path(Path::new("data/nudge.sled")), Path::new("data/nudge.sled.sock"));
    }
}
