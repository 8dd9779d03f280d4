//! `nudge-proof`: the reliability suite and load measurements, with figures to paste into
//! docs/benchmarks.md. See `nudge-proof --help`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nudge::config::{Backend, Limits};
use nudge_proof::{crash, daemon, footprint, load, soak};

#[global_allocator]
static ALLOC: nudge_proof::CountingAlloc = nudge_proof::CountingAlloc;

/// Proof under crash, fault and load.
#[derive(Parser)]
#[command(name = "nudge-proof", version, about)]
struct Cli {
    /// The nudge binary [default: next to this one].
    #[arg(long, global = true)]
    nudge: Option<PathBuf>,
    /// The store engine: `sled`, or `postgres` on the (empty) database in NUDGE_DATABASE_URL.
    #[arg(long, global = true, default_value = "sled", value_parser = ["sled", "postgres"])]
    backend: String,
    #[command(subcommand)]
    command: Test,
}

#[derive(Subcommand)]
enum Test {
    /// Kill -9 the daemon during fan-outs and check that nothing is lost or repeated.
    Crash {
        #[arg(long, default_value_t = 30)]
        rounds: usize,
        #[arg(long, default_value_t = 1000)]
        learners: usize,
        #[arg(long, default_value_t = 200)]
        answering: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Daemons on one database (needs --backend postgres and a server in
        /// NUDGE_TEST_DATABASE_URL); the active one is killed each round.
        #[arg(long, default_value_t = 1)]
        instances: usize,
        /// Every instance in webhook mode behind a round-robin load balancer the proof runs
        /// (needs --instances 2 or more).
        #[arg(long)]
        webhook: bool,
    },
    /// Run with a share of all Telegram calls failing.
    Soak {
        #[arg(long, default_value_t = 180)]
        seconds: u64,
        /// Wall seconds between slots; each slot is a virtual day. The default load (100
        /// learners every 10 s, about 23 calls a second) fits what the daemon sends while 10 %
        /// of calls fail and every 429 pauses it for a second (about 35 calls a second), so the
        /// outbox keeps up, as it does between real daily slots.
        #[arg(long, default_value_t = 10)]
        slot_seconds: u64,
        #[arg(long, default_value_t = 100)]
        learners: usize,
        #[arg(long, default_value_t = 0.1)]
        fault_rate: f64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Fan one slot out to many learners.
    Fanout {
        #[arg(long, default_value_t = 10_000)]
        learners: usize,
        /// Messages a second overall (0: no limit); one a second per chat when set.
        #[arg(long, default_value_t = 0)]
        limit: u32,
        /// Daemons on the one database (PostgreSQL only); the first is active, the others
        /// stand by.
        #[arg(long, default_value_t = 1)]
        instances: usize,
        /// Every instance's scheduler plans the slot, not only the active one's.
        #[arg(long)]
        all_plan: bool,
    },
    /// Answers: a steady stream (`--rate`, `--seconds`) or a queued burst (`--burst`).
    Ingest {
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u32,
        #[arg(long)]
        burst: Option<usize>,
    },
    /// A reply whose first `sendMessage` fails with a 500: when its retry goes out.
    Retry {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Daemon memory with many learners enrolled.
    Memory {
        #[arg(long, default_value_t = 100_000)]
        learners: usize,
    },
    /// `/healthz` and `/metrics` with many learners enrolled.
    Probe {
        #[arg(long, default_value_t = 100_000)]
        learners: usize,
        #[arg(long, default_value_t = 50)]
        rounds: usize,
    },
    /// Fill a store at PATH with realistic records (cohorts `team-0` … `team-9`), to time
    /// `nudge report` or `nudge backup` over it by hand, or to try `nudge tune` (the quiz answers
    /// follow a forgetting curve that FSRS-6's defaults do not fit).
    Populate {
        path: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        learners: usize,
        #[arg(long, default_value_t = 1_000_000)]
        answers: usize,
    },
    /// Store size per million answers, and `nudge report` over it.
    Store {
        #[arg(long, default_value_t = 10_000)]
        learners: usize,
        #[arg(long, default_value_t = 1_000_000)]
        answers: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let backend = if cli.backend == "postgres" { Backend::Postgres } else { Backend::Sled };
    nudge_proof::setup::use_backend(backend);
    // In-process runs (fan-out, ingestion, soak) log to stderr when RUST_LOG asks for it.
    if std::env::var_os("RUST_LOG").is_some() {
        nudge::telemetry::init(nudge::telemetry::LogFormat::Text, "warn");
    }
    let binary = || daemon::nudge_binary(cli.nudge.clone());
    match cli.command {
        Test::Crash { rounds, learners, answering, seed, instances, webhook } => {
            let options =
                crash::CrashOptions { rounds, learners, answering, binary: binary()?, seed, instances, webhook };
            let results =
                crash::run(&options, |idx, round| println!("round {idx:>2}: {round:?} passed={}", round.passed()))?;
            let failed = results.iter().filter(|round| !round.passed()).count();
            let duplicates: usize = results.iter().map(|round| round.duplicates).sum();
            println!(
                "{} rounds, {failed} failed, {duplicates} duplicate lessons in all, bound {} a kill",
                results.len(),
                crash::IN_FLIGHT_BOUND
            );
            anyhow::ensure!(failed == 0, "{failed} rounds failed");
        }
        Test::Soak { seconds, slot_seconds, learners, fault_rate, seed } => {
            let result = soak::run(soak::SoakOptions {
                duration: Duration::from_secs(seconds),
                slot_every: Duration::from_secs(slot_seconds),
                learners,
                fault_rate,
                seed,
            })?;
            println!("{result:#?}\npassed: {}", result.passed());
            anyhow::ensure!(result.passed(), "the soak failed");
        }
        Test::Fanout { learners, limit, instances, all_plan } => {
            let limits =
                if limit == 0 { Limits::NONE } else { Limits { global_per_second: limit, per_chat_per_second: 1 } };
            let result = load::fanout(learners, limits, instances, all_plan)?;
            println!(
                "{} learners, {} messages in {:.2} s (planned in {:.2} s): {:.0} nudges/s, {:.1} messages/s ({:.1} % of the limit), {} 429s, {} rate violations",
                result.learners,
                result.messages,
                result.elapsed.as_secs_f64(),
                result.planned.as_secs_f64(),
                result.nudges_per_second(),
                result.messages_per_second(),
                if limit == 0 { 0.0 } else { result.messages_per_second() / f64::from(limit) * 100.0 },
                result.too_many_requests,
                result.rate_violations
            );
        }
        Test::Ingest { rate, seconds, burst } => {
            let result = match burst {
                Some(answers) => load::burst(answers)?,
                None => load::steady(rate, seconds)?,
            };
            println!("{result:#?}");
        }
        Test::Retry { rounds } => {
            let result = load::reply_retry(rounds)?;
            let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
            let after: Vec<String> = result.retried_after.iter().map(|d| format!("{:.0}", ms(d))).collect();
            let late: Vec<String> =
                result.retried_after.iter().map(|d| format!("{:.0}", ms(d) - ms(&result.backoff))).collect();
            println!(
                "{} replies failed once with a 500: retried after {} ms; backoff {:.0} ms, so {} ms after its end",
                result.retried_after.len(),
                after.join(", "),
                ms(&result.backoff),
                late.join(", ")
            );
        }
        Test::Probe { learners, rounds } => {
            let mut times = nudge_proof::probe::run(&binary()?, learners, rounds)?;
            let spread = |values: &mut Vec<f64>| {
                let (min, median, max) = (
                    nudge_proof::percentile(values, 0.0),
                    nudge_proof::percentile(values, 50.0),
                    nudge_proof::percentile(values, 100.0),
                );
                format!("min {min:.2} ms, median {median:.2} ms, max {max:.2} ms")
            };
            println!("{learners} learners, {rounds} rounds each");
            println!("GET /healthz: {}", spread(&mut times.healthz_ms));
            println!("GET /metrics: {}", spread(&mut times.metrics_ms));
            println!(
                "len() of learners + outbox + agenda (what a probe did before): {}",
                spread(&mut times.len_walks_ms)
            );
        }
        Test::Populate { path, learners, answers } => {
            let size = footprint::populate(&path, learners, answers)?;
            println!("{size:?}");
        }
        Test::Memory { learners } => {
            let [(rss, peak), (again, again_peak)] = footprint::daemon_memory(&binary()?, learners)?;
            println!(
                "{learners} learners: first start (everyone rescheduled) RSS {rss:.1} MB, peak {peak:.1} MB; restart RSS {again:.1} MB, peak {again_peak:.1} MB"
            );
        }
        Test::Store { learners, answers } => {
            let (elapsed, peak, size) = footprint::report(&binary()?, learners, answers)?;
            println!(
                "{} answers: store {:.1} MB ({:.0} bytes an answer; keys and values {:.0} bytes an answer; written in {:.1} s); nudge report took {:.2} s, peak {peak:.1} MB",
                size.answers,
                size.bytes as f64 / 1e6,
                size.bytes as f64 / size.answers.max(1) as f64,
                size.live as f64 / size.answers.max(1) as f64,
                size.written_in.as_secs_f64(),
                elapsed.as_secs_f64()
            );
        }
    }
    Ok(())
}
