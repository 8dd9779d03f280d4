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
use crate::content::Pack;
use crate::content::problem::Summary;
use crate::i18n::Lang;
use crate::report;
use crate::reporting::{ReportRequest, report_from_store, report_language, report_zone};
use crate::simulate::{SimOptions, simulate};
use crate::store::Store;
use crate::telemetry::{self, LogFormat};
use std::sync::Arc;

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
    /// Write the whole store to FILE as JSON lines (works while the daemon runs).
    Backup {
        /// Where to write the backup.
        file: PathBuf,
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Restore a backup made with `nudge backup` into a new, empty store (daemon stopped).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// A learner's data rights, for admins: export or erase everything about one learner.
    Learner {
        /// What to do.
        #[command(subcommand)]
        action: LearnerAction,
    },
    /// Print every message of a pack as the learner will see it, in order.
    Preview {
        /// The pack directory.
        pack: PathBuf,
        /// Language of the bot's own texts [default: the pack's language].
        #[arg(long)]
        language: Option<String>,
    },
    /// Play a pack in the terminal as a learner (a throw-away store; nothing is sent).
    Try {
        /// The pack directory.
        pack: PathBuf,
        /// Language of the bot's own texts and the tool's [default: the pack's language].
        #[arg(long, value_parser = parse_language)]
        language: Option<Lang>,
        /// The first name the bot greets you with [default: "colleague" in that language].
        #[arg(long)]
        name: Option<String>,
    },
    /// Run the real planner on a virtual clock with simulated learners and print the load.
    Simulate {
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// The cohort to simulate [default: the first in the config].
        #[arg(long)]
        cohort: Option<String>,
        /// Number of days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Number of simulated learners.
        #[arg(long, default_value_t = 100)]
        learners: u32,
        /// Chance of a right first answer (reviews follow the predicted recall).
        #[arg(long, default_value_t = 0.8)]
        accuracy: f64,
        /// Seed of the random answers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First day (YYYY-MM-DD) [default: today].
        #[arg(long)]
        start: Option<NaiveDate>,
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
        /// Only activity on or after this date (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<NaiveDate>,
        /// Only activity on or before this date (YYYY-MM-DD, UTC).
        #[arg(long)]
        until: Option<NaiveDate>,
        /// First names instead of pseudonyms in per-learner rows (needs `reports.per_learner`).
        #[arg(long)]
        names: bool,
        /// Language of the HTML report: nl, en or da [default: the cohort's with --cohort,
        /// else en].
        #[arg(long, value_parser = parse_language)]
        language: Option<Lang>,
    },
}

/// `nudge learner …`.
#[derive(Debug, Subcommand)]
pub enum LearnerAction {
    /// Print everything stored about learner ID (their Telegram user id) as JSON.
    Export {
        /// The learner's Telegram user id.
        id: i64,
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Erase every record of learner ID (stop the daemon first).
    Forget {
        /// The learner's Telegram user id.
        id: i64,
        /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
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
    /// Comma-separated values for a spreadsheet: one section per table.
    Csv,
    /// One self-contained web page with charts, readable offline.
    Html,
}

/// Log filter of the one-shot commands: warnings, and the one-time store migration (which may
/// take a while on a big store, so people see why the command is quiet).
const CLI_LOG_FILTER: &str = "warn,nudge::store::migrate=info";

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if !matches!(cli.command, Command::Serve { .. }) {
        telemetry::init(cli.log_format, CLI_LOG_FILTER);
    }
    match cli.command {
        Command::Serve { config } => {
            telemetry::init(cli.log_format, "nudge=info,teloxide=warn");
            serve(config)
        }
        Command::Check { paths, config, format, deny_warnings } => run_check(paths, config, format, deny_warnings),
        Command::Report { config, cohort, format, out, since, until, names, language } => {
            run_report(config, ReportRequest { cohort, since, until, names }, format, out, language)
        }
        Command::Backup { file, config } => run_backup(&file, config),
        Command::Restore { file, config } => run_restore(&file, config),
        Command::Learner { action } => run_learner(action),
        Command::Preview { pack, language } => {
            let pack = load_one_pack(&pack)?;
            let lang = match language {
                Some(code) => Lang::parse(&code)
                    .with_context(|| format!("`{code}` is not a language nudge speaks (nl, en, da)"))?,
                None => pack.language,
            };
            print!("{}", crate::preview::preview(&pack, lang));
            Ok(ExitCode::SUCCESS)
        }
        Command::Try { pack, language, name } => {
            let pack = load_one_pack(&pack)?;
            let stdin = std::io::stdin();
            let player = crate::play::Player { lang: language, name };
            crate::play::play(pack, player, stdin.lock(), &mut std::io::stdout(), Utc::now())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate { config, cohort, days, learners, accuracy, seed, start } => run_simulate(
            config,
            cohort,
            SimOptions { days, learners, accuracy, seed, start: start.unwrap_or_else(|| Utc::now().date_naive()) },
        ),
    }
}

fn store_path(config: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    Ok(Settings::load(&config::config_path(config))?.store.path)
}

/// Opens the store for reading (a copy if the daemon holds it), saying so on stderr.
fn store_for_reading(path: &std::path::Path) -> anyhow::Result<(Store, Option<tempfile::TempDir>)> {
    let (store, copy) =
        Store::open_for_reading(path).with_context(|| format!("cannot open the store at {}", path.display()))?;
    if copy.is_some() {
        eprintln!("note: the daemon is running; reading a copy of the store taken now");
    }
    Ok((store, copy))
}

/// Opens the store for writing; the daemon must not be running.
fn store_for_writing(path: &std::path::Path) -> anyhow::Result<Store> {
    Store::open(path).with_context(|| format!("cannot open the store at {} (stop the daemon first)", path.display()))
}

fn run_backup(file: &std::path::Path, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let (store, _copy) = store_for_reading(&store_path(config)?)?;
    // Written to a temporary file beside the target and renamed when complete: a failed backup
    // never replaces a good one, and the temporary file is removed when dropped.
    let dir = file.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut partial =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut writer = std::io::BufWriter::new(partial.as_file_mut());
    let records = store.backup(&mut writer).with_context(|| format!("the backup to {} failed", file.display()))?;
    drop(writer);
    partial.as_file().sync_all()?;
    partial.persist(file).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!("backed up {records} records to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

fn run_restore(file: &std::path::Path, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let input = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let path = store_path(config)?;
    let store = store_for_writing(&path)?;
    let records = store.restore(std::io::BufReader::new(input))?;
    eprintln!("restored {records} records into {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn run_learner(action: LearnerAction) -> anyhow::Result<ExitCode> {
    match action {
        LearnerAction::Export { id, config, out } => {
            let (store, _copy) = store_for_reading(&store_path(config)?)?;
            let text = serde_json::to_string_pretty(&store.export(id)?)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => println!("{text}"),
            }
        }
        LearnerAction::Forget { id, config, yes } => {
            let store = store_for_writing(&store_path(config)?)?;
            if store.learner(id)?.is_none() && store.export(id)?.messages.is_empty() {
                anyhow::bail!("there is nothing stored about learner {id}");
            }
            if !yes && !confirm(&format!("Erase everything stored about learner {id}? This cannot be undone. [y/N] "))?
            {
                eprintln!("nothing was erased");
                return Ok(ExitCode::FAILURE);
            }
            store.erase(id)?;
            store.flush_blocking()?;
            eprintln!("erased every record of learner {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes" | "j" | "ja"))
}

/// Loads one pack for `preview` and `try`; with errors, prints them and fails.
fn load_one_pack(path: &std::path::Path) -> anyhow::Result<Arc<Pack>> {
    let loaded = check::load_paths(&[path.to_owned()]);
    if loaded.has_errors() {
        for problem in loaded.problems.iter().filter(|problem| problem.is_error()) {
            eprintln!("{problem}");
        }
        anyhow::bail!("{} has errors: fix them first (see `nudge check`)", path.display());
    }
    loaded
        .packs
        .into_iter()
        .next()
        .with_context(|| format!("{} is not a pack directory (it has no pack.toml)", path.display()))
}

fn run_simulate(config: Option<PathBuf>, cohort: Option<String>, options: SimOptions) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&options.accuracy) {
        anyhow::bail!("--accuracy is a share from 0 to 1 (0.8 means 80 % right first answers)");
    }
    if options.days == 0 || options.days > 3650 || options.learners == 0 || options.learners > 1_000_000 {
        anyhow::bail!("--days takes 1 to 3650 and --learners 1 to 1000000");
    }
    let settings = Settings::load(&config::config_path(config))?;
    let cohort = match &cohort {
        Some(id) => settings
            .cohort(id)
            .with_context(|| format!("there is no cohort `{id}` in {}", settings.source.display()))?,
        None => settings.cohorts.first().with_context(|| format!("{} has no cohorts", settings.source.display()))?,
    };
    let loaded = check::load_checked(&settings.content.dir);
    let library = loaded.library();
    let pack = library
        .pack(&cohort.pack)
        .with_context(|| format!("the pack `{}` is missing or has errors: run `nudge check`", cohort.pack))?;
    let report = simulate(cohort, pack, options);
    let header = format!(
        "Simulation of cohort `{}`: pack “{}” ({} lessons, {} quizzes), {} learners, {} days from {}, first answers right {:.0} %.\nSchedule `{}` ({}), at most {} scheduled messages a day, {} reviews a slot, target recall {:.0} %.",
        cohort.id,
        pack.title,
        pack.lessons.len(),
        pack.n_quizzes(),
        options.learners,
        options.days,
        options.start,
        options.accuracy * 100.0,
        cohort.schedule.as_str(),
        cohort.timezone.name(),
        cohort.policy.max_messages_per_day,
        cohort.policy.max_reviews_per_slot,
        cohort.policy.target_retention * 100.0
    );
    print!("{}", crate::simulate::table(&report, &header, pack.language));
    Ok(ExitCode::SUCCESS)
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&config::config_path(config))?;
    let token = config::token_from_env()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shutdown = shutdown_signal();
        let app = App::build(settings, token, AppOptions::default()).await?;
        app.run(shutdown).await
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
    request: ReportRequest,
    format: ReportFormat,
    out: Option<PathBuf>,
    language: Option<Lang>,
) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&config::config_path(config))?;
    let lang = language.unwrap_or_else(|| report_language(&settings, request.cohort.as_deref()));
    let tz = report_zone(&settings, request.cohort.as_deref());
    let (store, _copy) = store_for_reading(&settings.store.path)?;
    let loaded = check::load_checked(&settings.content.dir);
    let report = report_from_store(&store, &settings, &loaded.library(), &request, || store.report_key(), Utc::now())?;
    let text = match format {
        ReportFormat::Table => report::table(&report),
        ReportFormat::Json => report::json(&report),
        ReportFormat::Csv => report::csv(&report),
        ReportFormat::Html => report::html_in(&report, lang, tz),
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

/// Reads `--language`: one of the languages nudge speaks.
fn parse_language(code: &str) -> Result<Lang, String> {
    Lang::parse(code).ok_or_else(|| format!("`{code}` is not a language nudge speaks (nl, en, da)"))
}
