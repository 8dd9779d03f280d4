//! The commands on the store: `backup`, `restore`, `report`, `tune`, `learner list|export|forget`
//! and `lead list|remove`.
//! While the daemon runs they ask it over its control socket (`control::client`), so they need
//! no downtime and read the store the daemon holds; otherwise they open the store directly.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::{LeadAction, LearnerAction, ListFormat};
use crate::authoring::check;
use crate::config::{self, Settings, StoreSettings};
use crate::control::admin::{self, LeadRow, LearnerRow};
use crate::control::{Op, client, socket_path};
use crate::domain::LearnerId;
use crate::i18n::Lang;
use crate::report::from_store::{
    CsvRows, ReportFormat, ReportRequest, render, report_from_store, report_language, report_zone,
};
use crate::store::{Storage, open};
use crate::tune::{self, from_store::Outcome, from_store::PackReport};

fn settings(config: Option<PathBuf>) -> anyhow::Result<Settings> {
    Settings::load(&config::config_path(config))
}

/// Opens the store `[store]` names when no daemon answers for it. A sled store another process
/// holds without a socket (a daemon older than this nudge) is said so in one sentence.
fn open_store(store: &StoreSettings) -> anyhow::Result<Arc<dyn Storage>> {
    let url = open::database_url(|key| std::env::var(key).ok());
    let socket = socket_path(&store.path);
    let opened = open::open_blocking(store, url.as_ref(), || {
        format!(
            "in use by a process that does not answer on {} (a nudge older than this one?): stop it or upgrade it, then try again",
            socket.display()
        )
    })?;
    Ok(opened)
}

/// The store `[store]` names, for messages.
fn store_name(store: &StoreSettings) -> String {
    open::describe(store, open::database_url(|key| std::env::var(key).ok()).as_ref())
}

pub(super) fn run_backup(file: &Path, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let store = settings(config)?.store;
    let daemon = client::connect(&store.path)?;
    let from_daemon = daemon.is_some();
    let records = write_atomically(file, |out| match daemon {
        Some(daemon) => daemon.backup(out),
        None => Ok(open_store(&store)?.backup(out)?),
    })
    .with_context(|| format!("the backup to {} failed", file.display()))?;
    match from_daemon {
        true => eprintln!("backed up {records} records from the running daemon to {}", file.display()),
        false => eprintln!("backed up {records} records to {}", file.display()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `file` through a temporary file beside it, renamed when complete: a failed backup
/// never replaces a good one, and the temporary file is removed when dropped.
fn write_atomically<T>(
    file: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = file.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut partial =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut writer = std::io::BufWriter::new(partial.as_file_mut());
    let written = write(&mut writer)?;
    writer.into_inner().map_err(|error| error.into_error())?;
    partial.as_file().sync_all()?;
    partial.persist(file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(written)
}

pub(super) fn run_restore(file: &Path, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let input = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store_settings = settings(config)?.store;
    if client::connect(&store_settings.path)?.is_some() {
        let name = store_name(&store_settings);
        anyhow::bail!("a daemon is running on {name}: restore into a new, empty store");
    }
    let store = open_store(&store_settings)?;
    let records = store.restore(&mut std::io::BufReader::new(input))?;
    eprintln!("restored {records} records into {}", store_name(&store_settings));
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run_report(
    config: Option<PathBuf>,
    request: ReportRequest,
    (format, by): (ReportFormat, CsvRows),
    out: Option<PathBuf>,
    language: Option<Lang>,
) -> anyhow::Result<ExitCode> {
    let settings = settings(config)?;
    if by == CsvRows::Learner && !settings.reports.per_learner {
        anyhow::bail!("rows per learner need `reports.per_learner = true` in {}", settings.source.display());
    }
    let text = match client::connect(&settings.store.path)? {
        Some(daemon) => {
            let data = daemon.ask(Op::Report { request, format, by, language })?;
            data.as_str().context("the daemon sent a report this nudge cannot read")?.to_owned()
        }
        None => {
            let store = open_store(&settings.store)?;
            let library = check::load_checked(&settings.content.dir).library();
            let report =
                report_from_store(&*store, &settings, &library, &request, || store.report_key(), crate::clock::now())?;
            let cohort = request.cohort.as_deref();
            let lang = language.unwrap_or_else(|| report_language(&settings, cohort));
            render(&report, format, by, lang, report_zone(&settings, cohort))
        }
    };
    match out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote the report to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Fits the packs' FSRS weights (one pack with `--pack`) and prints what came of it. A running
/// daemon fits on its own store and schedules with weights it saved at once.
pub(super) fn run_tune(config: Option<PathBuf>, pack: Option<String>) -> anyhow::Result<ExitCode> {
    let settings = settings(config)?;
    let (reports, by_daemon): (Vec<PackReport>, bool) = match client::connect(&settings.store.path)? {
        Some(daemon) => {
            let data = daemon.ask(Op::Tune { pack })?;
            (serde_json::from_value(data).context("the daemon sent a fit this nudge cannot read")?, true)
        }
        None => {
            let store = open_store(&settings.store)?;
            let reports = tune::from_store::tune(&*store, &settings, pack.as_deref(), crate::clock::now())?;
            store.flush_blocking()?;
            (reports, false)
        }
    };
    print!("{}", tune::render(&reports));
    let saved = reports.iter().any(|report| matches!(report.outcome, Outcome::Fitted { saved: true, .. }));
    match (saved, by_daemon) {
        (true, true) => eprintln!("the running daemon fitted them and schedules with the saved weights now"),
        (true, false) => eprintln!("the daemon schedules with the saved weights from its next start"),
        (false, _) => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run_learner(action: LearnerAction, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match action {
        LearnerAction::List { cohort, format } => list(&settings(config)?, cohort, format),
        LearnerAction::Export { id, out } => {
            let text = serde_json::to_string_pretty(&export(&settings(config)?.store, id)?)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        LearnerAction::Forget { id, yes } => forget(&settings(config)?.store, id, yes),
    }
}

fn list(settings: &Settings, cohort: Option<String>, format: ListFormat) -> anyhow::Result<ExitCode> {
    let rows: Vec<LearnerRow> = match client::connect(&settings.store.path)? {
        Some(daemon) => serde_json::from_value(daemon.ask(Op::List { cohort: cohort.clone() })?)
            .context("the daemon sent a list this nudge cannot read")?,
        None => admin::learner_rows(&*open_store(&settings.store)?, cohort.as_deref())?,
    };
    if let Some(wanted) = &cohort
        && rows.is_empty()
        && settings.cohort(wanted).is_none()
    {
        let known = settings.cohorts.iter().map(|cohort| cohort.id.as_str()).collect::<Vec<_>>().join(", ");
        anyhow::bail!("there is no cohort `{wanted}` in {}; the cohorts are: {known}", settings.source.display());
    }
    match format {
        ListFormat::Table => print!("{}", admin::table(&rows)),
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything stored about learner `id`, as JSON.
fn export(store: &StoreSettings, id: LearnerId) -> anyhow::Result<serde_json::Value> {
    match client::connect(&store.path)? {
        Some(daemon) => daemon.ask(Op::Export { id }),
        None => Ok(serde_json::to_value(open_store(store)?.export(id)?)?),
    }
}

fn forget(store_settings: &StoreSettings, id: LearnerId, yes: bool) -> anyhow::Result<ExitCode> {
    let stored = export(store_settings, id)?;
    let has_messages = stored["messages"].as_array().is_some_and(|messages| !messages.is_empty());
    if stored["learner"].is_null() && !has_messages {
        anyhow::bail!("there is nothing stored about learner {id}");
    }
    if !yes && !confirm(&format!("Erase everything stored about learner {id}? This cannot be undone. [y/N] "))? {
        eprintln!("nothing was erased");
        return Ok(ExitCode::FAILURE);
    }
    match client::connect(&store_settings.path)? {
        Some(daemon) => {
            daemon.ask(Op::Forget { id })?;
            eprintln!("erased every record of learner {id}; the daemon says goodbye to them");
        }
        None => {
            let store = open_store(store_settings)?;
            store.erase(id)?;
            store.flush_blocking()?;
            eprintln!("erased every record of learner {id} (the daemon is not running, so no goodbye was sent)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run_lead(action: LeadAction, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let store = settings(config)?.store;
    let path = store.path.clone();
    match action {
        LeadAction::List { format } => {
            let rows: Vec<LeadRow> = match client::connect(&path)? {
                Some(daemon) => serde_json::from_value(daemon.ask(Op::Leads {})?)
                    .context("the daemon sent a list this nudge cannot read")?,
                None => admin::lead_rows(&*open_store(&store)?)?,
            };
            match format {
                ListFormat::Table => print!("{}", admin::lead_table(&rows)),
                ListFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
            }
        }
        LeadAction::Remove { id } => match client::connect(&path)? {
            Some(daemon) => {
                daemon.ask(Op::RemoveLead { id })?;
                eprintln!("removed team lead {id} and erased their records; the daemon tells them");
            }
            None => {
                if admin::remove_lead(&*open_store(&store)?, id)?.is_none() {
                    anyhow::bail!("there is no team lead with id {id}");
                }
                eprintln!(
                    "removed team lead {id} and erased their records (the daemon is not running, so they were not told)"
                );
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes" | "j" | "ja"))
}
