//! The command line: subcommands, their flags, and what each runs. Errors come back as
//! `anyhow` with context; `main` prints them as one sentence. The commands on the store
//! (backup, restore, report, tune, learner, lead) are in `data.rs`.

mod data;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::app::{App, AppOptions, shutdown_signal};
use crate::authoring::check;
use crate::authoring::simulate::{SimOptions, simulate};
use crate::config::{self, Settings};
use crate::content::Pack;
use crate::content::problem::Summary;
use crate::domain::LearnerId;
use crate::i18n::{Lang, fill, tr};
pub(crate) use crate::report::from_store::ReportFormat;
use crate::report::from_store::{CsvRows, ReportRequest};
use crate::telemetry::{self, LogFormat};
use std::sync::Arc;

/// nudge: bite-sized lessons, spaced-repetition quizzes, reflection and practice for teams,
/// delivered over Telegram.
#[derive(Debug, Parser)]
#[command(name = "nudge", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file [default: $NUDGE_CONFIG or config/nudge.toml]; before or after the
    /// subcommand.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
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
    Serve {},
    /// Check content packs (and the config): every problem as path:line:col.
    Check {
        /// Content directories, pack directories or lesson files [default: the configured content dir].
        paths: Vec<PathBuf>,
        /// Output for people or for tools.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Write the whole store to FILE as JSON lines (while the daemon runs, it streams them).
    Backup {
        /// Where to write the backup.
        file: PathBuf,
    },
    /// Restore a backup made with `nudge backup` into a new, empty store (daemon stopped).
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Fit each pack's FSRS weights to its learners' answers and keep them if they predict
    /// held-out learners better than the weights in use (while the daemon runs, it fits).
    Tune {
        /// Only this pack [default: every pack a cohort follows].
        #[arg(long)]
        pack: Option<String>,
    },
    /// Learners' data, for admins: list them, export or erase everything about one learner.
    Learner {
        /// What to do.
        #[command(subcommand)]
        action: LearnerAction,
    },
    /// Team leads, for admins: list them, or remove one (a leaked lead invite, a lead who left).
    Lead {
        /// What to do.
        #[command(subcommand)]
        action: LeadAction,
    },
    /// Telegram's webhook for this bot (`[telegram] mode = "webhook"`): register or remove it
    /// once, from a deploy step, not at every start.
    Webhook {
        /// What to do.
        #[command(subcommand)]
        action: WebhookAction,
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
        /// A pack directory to simulate; without --config or --cohort it needs no config and
        /// uses the default schedule and policy [default: the cohort's pack].
        pack: Option<PathBuf>,
        /// The cohort to simulate [default: the first in the config, or with PACK the first
        /// that follows it].
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
        /// Language of the tool's texts [default: the pack's language].
        #[arg(long, value_parser = parse_language)]
        language: Option<Lang>,
    },
    /// Engagement report per cohort, from the store.
    Report {
        /// Only this cohort.
        #[arg(long)]
        cohort: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Rows of the CSV: one per cohort and week, lesson, quiz item, or learner (needs
        /// `reports.per_learner`).
        #[arg(long, value_enum, default_value_t = CsvRows::Week)]
        by: CsvRows,
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

/// `nudge learner …`: all of them work while the daemon runs (through its socket) and without it.
#[derive(Debug, Subcommand)]
pub enum LearnerAction {
    /// List the learners (id, first name, cohort, status), to find the id for export or forget.
    List {
        /// Only this cohort.
        #[arg(long)]
        cohort: Option<String>,
        /// Output for people or for tools.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Print everything stored about learner ID (their Telegram user id) as JSON.
    Export {
        /// The learner's Telegram user id.
        id: LearnerId,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Erase every record of learner ID (a running daemon sends them the goodbye of `/forget`).
    Forget {
        /// The learner's Telegram user id.
        id: LearnerId,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// `nudge lead …`: both work while the daemon runs (through its socket) and without it.
#[derive(Debug, Subcommand)]
pub enum LeadAction {
    /// List the team leads (id, first name, cohorts, when they joined).
    List {
        /// Output for people or for tools.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Remove lead ID (their Telegram user id): their records are erased and a running daemon
    /// tells them. Change the cohort's `lead_invite` too if the code leaked.
    Remove {
        /// The lead's Telegram user id.
        id: LearnerId,
    },
}

/// `nudge webhook …`: talks to Telegram with the token in `NUDGE_TELEGRAM_TOKEN`.
#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Ask Telegram to post this bot's updates to `[telegram] webhook_url`, with the secret
    /// token in `NUDGE_WEBHOOK_SECRET`.
    Set {},
    /// Remove the webhook: updates wait for long polling again (`mode = "polling"`).
    Delete {},
}

/// Output of `nudge check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Diagnostics with source lines, then a summary.
    Text,
    /// One JSON document with every problem.
    Json,
}

/// Output of `nudge learner list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A plain table.
    Table,
    /// A JSON array of `{id, first_name, cohort, status}`.
    Json,
}

/// Log filter of the one-shot commands: warnings, and the one-time store migration (which may
/// take a while on a big store, so people see why the command is quiet).
const CLI_LOG_FILTER: &str = "warn,nudge::store::migrate=info";

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if !matches!(cli.command, Command::Serve {}) {
        telemetry::init(cli.log_format, CLI_LOG_FILTER);
    }
    let config = cli.config;
    match cli.command {
        Command::Serve {} => {
            telemetry::init(cli.log_format, "nudge=info,teloxide=warn");
            serve(config)
        }
        Command::Check { paths, format, deny_warnings } => run_check(paths, config, format, deny_warnings),
        Command::Report { cohort, format, by, out, since, until, names, language } => data::run_report(
            config,
            ReportRequest { cohort, since, until, names, aggregates_only: false },
            (format, by),
            out,
            language,
        ),
        Command::Backup { file } => data::run_backup(&file, config),
        Command::Restore { file } => data::run_restore(&file, config),
        Command::Tune { pack } => data::run_tune(config, pack),
        Command::Learner { action } => data::run_learner(action, config),
        Command::Lead { action } => data::run_lead(action, config),
        Command::Webhook { action } => webhook::run(action, config),
        Command::Preview { pack, language } => {
            let pack = load_one_pack(&pack)?;
            let lang = match language {
                Some(code) => Lang::parse(&code)
                    .with_context(|| format!("`{code}` is not a language nudge speaks (nl, en, da)"))?,
                None => pack.language,
            };
            let settings = preview_settings(config)?;
            let track = settings.as_ref().and_then(|settings| {
                let cohort = settings.cohorts.iter().find(|cohort| cohort.pack == pack.id && cohort.track.is_some())?;
                Some(crate::authoring::preview::OnTrack {
                    cohort: &cohort.id,
                    file: &settings.source,
                    track: cohort.track.as_ref()?,
                })
            });
            print!("{}", crate::authoring::preview::preview(&pack, lang, track.as_ref()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Try { pack, language, name } => {
            let pack = load_one_pack(&pack)?;
            let stdin = std::io::stdin();
            let player = crate::authoring::play::Player { lang: language, name };
            crate::authoring::play::play(pack, player, stdin.lock(), &mut std::io::stdout(), Utc::now())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate { pack, cohort, days, learners, accuracy, seed, start, language } => run_simulate(
            (pack, config, cohort),
            SimOptions { days, learners, accuracy, seed, start: start.unwrap_or_else(|| Utc::now().date_naive()) },
            language,
        ),
    }
}

/// The settings `preview` shows a track's days from: the config named by `--config` or
/// `NUDGE_CONFIG` (which must read), else the default one if there is one. A cohort with
/// problems is left out, as `check` would report it.
fn preview_settings(flag: Option<PathBuf>) -> anyhow::Result<Option<Settings>> {
    let named = flag.is_some() || std::env::var_os("NUDGE_CONFIG").is_some();
    let path = config::config_path(flag);
    if !named && !path.exists() {
        return Ok(None);
    }
    Ok(Some(Settings::load_checked(&path)?.0))
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

fn run_simulate(
    (pack_dir, config, cohort): (Option<PathBuf>, Option<PathBuf>, Option<String>),
    options: SimOptions,
    language: Option<Lang>,
) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&options.accuracy) {
        anyhow::bail!("--accuracy is a share from 0 to 1 (0.8 means 80 % right first answers)");
    }
    if options.days == 0 || options.days > 3650 || options.learners == 0 || options.learners > 1_000_000 {
        anyhow::bail!("--days takes 1 to 3650 and --learners 1 to 1000000");
    }
    let (cohort, origin, pack) = match pack_dir {
        Some(dir) if config.is_none() && cohort.is_none() => {
            let pack = load_one_pack(&dir)?;
            let cohort = crate::authoring::simulate::default_cohort(&pack).map_err(|why| anyhow::anyhow!(why))?;
            (cohort, tr(language.unwrap_or(pack.language), "tools.simulate_defaults").to_owned(), pack)
        }
        Some(dir) => {
            let pack = load_one_pack(&dir)?;
            let settings = Settings::load(&config::config_path(config))?;
            let cohort = pick_cohort(&settings, cohort.as_deref(), Some(&pack.id))?.clone();
            let origin = simulated_cohort(language.unwrap_or(pack.language), &cohort.id, &settings);
            (cohort.clone(), origin, pack)
        }
        None => {
            let settings = Settings::load(&config::config_path(config))?;
            let cohort = pick_cohort(&settings, cohort.as_deref(), None)?.clone();
            let library = check::load_checked(&settings.content.dir).library();
            let pack = library
                .pack(&cohort.pack)
                .with_context(|| format!("the pack `{}` is missing or has errors: run `nudge check`", cohort.pack))?
                .clone();
            let origin = simulated_cohort(language.unwrap_or(pack.language), &cohort.id, &settings);
            (cohort.clone(), origin, pack)
        }
    };
    let report = simulate(&cohort, &pack, options);
    let lang = language.unwrap_or(pack.language);
    let header = crate::authoring::simulate::header(&cohort, &origin, &pack, &options, lang);
    print!("{}", crate::authoring::simulate::table(&report, &header, lang));
    Ok(ExitCode::SUCCESS)
}

/// "Cohort `x` in nudge.toml", in `lang`.
fn simulated_cohort(lang: Lang, cohort: &str, settings: &Settings) -> String {
    fill(lang, "tools.simulate_cohort", &[("cohort", cohort), ("file", &settings.source.display().to_string())])
}

/// The cohort `--cohort` names, else the first that follows `pack_id` (when given), else the
/// first in the config.
fn pick_cohort<'a>(
    settings: &'a Settings,
    id: Option<&str>,
    pack_id: Option<&str>,
) -> anyhow::Result<&'a config::Cohort> {
    let source = settings.source.display();
    match (id, pack_id) {
        (Some(id), _) => settings.cohort(id).with_context(|| format!("there is no cohort `{id}` in {source}")),
        (None, Some(pack_id)) => settings.cohorts.iter().find(|cohort| cohort.pack == pack_id).with_context(|| {
            format!("no cohort in {source} follows pack `{pack_id}`: name one with --cohort, or leave out --config")
        }),
        (None, None) => settings.cohorts.first().with_context(|| format!("{source} has no cohorts")),
    }
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&config::config_path(config))?;
    let token = config::token_from_env()?;
    if let Some(clock) = crate::clock::install_from_env()? {
        tracing::warn!("{clock}");
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let app = tokio::select! {
            app = App::build(settings, token, AppOptions::default()) => app?,
            () = &mut shutdown => {
                tracing::info!("stopped before start");
                return Ok(());
            }
        };
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
    let (settings, config_problems) = if paths.is_empty() || config.is_some() {
        let (settings, problems) = Settings::load_checked(&config_path)?;
        (Some(settings), problems)
    } else {
        (None, Vec::new())
    };
    let paths = match (&settings, paths.is_empty()) {
        (Some(settings), true) => vec![settings.content.dir.clone()],
        _ => paths,
    };
    let mut loaded = check::load_paths(&paths);
    if let Some(settings) = &settings {
        loaded.problems.extend(check::check_cohorts(settings, &loaded));
    }
    loaded.problems.extend(config_problems);
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
/// Reads `--language`: one of the languages nudge speaks.
fn parse_language(code: &str) -> Result<Lang, String> {
    Lang::parse(code).ok_or_else(|| format!("`{code}` is not a language nudge speaks (nl, en, da)"))
}
