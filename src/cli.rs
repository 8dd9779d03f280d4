//! The command line: subcommands, their flags, and what each runs. Errors come back as
//! `anyhow` with context; `main` prints them as one sentence.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::app::{App, AppOptions, shutdown_signal};
use crate::check;
use crate::config::{self, Settings};
use crate::content::problem::Summary;
use crate::report;
use crate::store::Store;
use crate::telemetry::{self, LogFormat};

/// nudge: bite-sized lessons, spaced-repetition quizzes, reflection and practice for teams,
/// delivered over Telegram.
#[derive(Debug, Parser)]
#[command(name = "nudge", version, about, long_about = None)]
pub struct Cli {
    /// How log lines look.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: nudge learners on schedule and answer them over Telegram.
    Serve {
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check content packs (and the config): every problem as path:line:col.
    Check {
        /// Content directories, pack directories or lesson files [default: the configured content dir].
        paths: Vec<PathBuf>,
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output for people or for tools.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Engagement report per cohort, from the store.
    Report {
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Only this cohort.
        #[arg(long)]
        cohort: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only activity on or after this date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<NaiveDate>,
    },
}

/// Output of `nudge check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Diagnostics with source lines, then a summary.
    Text,
    /// One JSON document with every problem.
    Json,
}

/// Output of `nudge report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A readable table.
    Table,
    /// The same figures as JSON.
    Json,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            telemetry::init(cli.log_format, "nudge=info,teloxide=warn");
            serve(config)
        }
        Command::Check { paths, config, format, deny_warnings } => {
            telemetry::init(cli.log_format, "warn");
            run_check(paths, config, format, deny_warnings)
        }
        Command::Report { config, cohort, format, out, since: _ } => {
            telemetry::init(cli.log_format, "warn");
            run_report(config, cohort, format, out)
        }
    }
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&config::config_path(config))?;
    let token = config::token_from_env()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = App::build(settings, token, AppOptions::default()).await?;
        app.run(shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_check(
    paths: Vec<PathBuf>,
    config: Option<PathBuf>,
    format: CheckFormat,
    deny_warnings: bool,
) -> anyhow::Result<ExitCode> {
    let config_path = config::config_path(config.clone());
    let settings = if paths.is_empty() || config.is_some() { Some(Settings::load(&config_path)?) } else { None };
    let paths = match (&settings, paths.is_empty()) {
        (Some(settings), true) => vec![settings.content.dir.clone()],
        _ => paths,
    };
    let mut loaded = check::load_paths(&paths);
    if let Some(settings) = &settings {
        loaded.problems.extend(check::check_cohorts(settings, &loaded));
    }
    loaded.problems.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    let summary = Summary::of(&loaded.problems, loaded.n_lessons);
    match format {
        CheckFormat::Text => {
            for problem in &loaded.problems {
                println!("{problem}");
            }
            println!("{summary}");
        }
        CheckFormat::Json => {
            let document = serde_json::json!({ "problems": loaded.problems, "summary": summary });
            println!("{}", serde_json::to_string_pretty(&document)?);
        }
    }
    let failed = summary.errors > 0 || (deny_warnings && summary.warnings > 0);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn run_report(
    config: Option<PathBuf>,
    cohort: Option<String>,
    format: ReportFormat,
    out: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&config::config_path(config))?;
    let store = Store::open(&settings.store.path)
        .with_context(|| format!("cannot open the store at {}", settings.store.path.display()))?;
    let cohorts: Vec<String> = settings
        .cohorts
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| cohort.as_ref().is_none_or(|wanted| wanted == id))
        .collect();
    if let Some(wanted) = &cohort
        && cohorts.is_empty()
    {
        anyhow::bail!("there is no cohort `{wanted}` in {}", settings.source.display());
    }
    let keep = |id: &str| cohorts.iter().any(|c| c == id);
    let learners: Vec<_> = store.learners().collect::<Result<_, _>>()?;
    let deliveries: Vec<_> = store.deliveries().collect::<Result<_, _>>()?;
    let answers: Vec<_> = store.answers().collect::<Result<_, _>>()?;
    let report = report::compute(
        &cohorts,
        learners.into_iter().filter(|l| keep(&l.cohort)),
        deliveries.into_iter().filter(|d| keep(&d.cohort)),
        answers.into_iter().filter(|a| keep(&a.cohort)),
        Utc::now(),
    );
    let text = match format {
        ReportFormat::Table => report::format::table(&report),
        ReportFormat::Json => report::format::json(&report),
    };
    match out {
        Some(path) => std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
