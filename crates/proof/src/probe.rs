//! The operational probes with many learners: `GET /healthz` and `GET /metrics` timed against
//! the real daemon, and, for comparison, what the probes did before they kept running counts:
//! sled's `len()` of the learners, outbox and agenda trees, which walks each tree.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use fake_telegram::FakeTelegram;

use crate::daemon::Daemon;
use crate::setup::{Cohort, enrol, install};

/// Milliseconds per probe: (healthz, metrics, the three `len()` walks the old probes made).
#[derive(Debug)]
pub struct ProbeTimes {
    /// `GET /healthz`, each round.
    pub healthz_ms: Vec<f64>,
    /// `GET /metrics`, each round.
    pub metrics_ms: Vec<f64>,
    /// `len()` of learners, outbox and agenda on the same store, each round.
    pub len_walks_ms: Vec<f64>,
}

/// Times `rounds` probes of each kind with `learners` enrolled.
pub fn run(binary: &Path, learners: usize, rounds: usize) -> anyhow::Result<ProbeTimes> {
    let fake = FakeTelegram::start();
    let install = install(&fake.api_url(), &Cohort { schedule: "0 9 * * *", per_second: 30, per_chat: 1 })?;
    let port = free_port()?;
    let mut config = std::fs::read_to_string(&install.config)?;
    config.push_str(&format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&install.config, config)?;
    enrol(&install.store, 1..learners as i64 + 1, Utc::now() + chrono::Duration::days(1))?;
    let log = install.dir.path().join("daemon.log");
    let daemon = Daemon::start(binary, &install.config, &log)?;
    let started = Instant::now();
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("nudge is running") {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(300), "the daemon did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut times = ProbeTimes { healthz_ms: Vec::new(), metrics_ms: Vec::new(), len_walks_ms: Vec::new() };
    for _ in 0..rounds {
        times.healthz_ms.push(timed_get(port, "/healthz")?);
        times.metrics_ms.push(timed_get(port, "/metrics")?);
    }
    daemon.stop()?;
    let db = sled::open(&install.store)?;
    let trees = [db.open_tree("learners")?, db.open_tree("outbox")?, db.open_tree("agenda")?];
    for _ in 0..rounds {
        let started = Instant::now();
        let total: usize = trees.iter().map(sled::Tree::len).sum();
        std::hint::black_box(total);
        times.len_walks_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(times)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One HTTP/1.0 GET on a fresh connection, timed from connect to the last byte, in ms.
fn timed_get(port: u16, path: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    anyhow::ensure!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"), "{path}: {response}");
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}
