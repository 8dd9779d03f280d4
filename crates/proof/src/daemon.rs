//! The real `nudge` binary as a child process: start, stop with SIGTERM, kill with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The bot token every daemon of the proof runs with (the fake accepts any).
pub const TOKEN: &str = "1:proof";

/// A running daemon.
pub struct Daemon {
    child: Child,
}

/// The `nudge` binary next to the running executable (target/<profile>/nudge), unless given.
pub fn nudge_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    for _ in 0..2 {
        let candidate = dir.join("nudge");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    anyhow::bail!(
        "cannot find the nudge binary next to {}: build it (`cargo build --release`) or pass --nudge",
        exe.display()
    )
}

impl Daemon {
    /// Starts `nudge serve --config <config>`; logs go to `log`.
    pub fn start(binary: &Path, config: &Path, log: &Path) -> anyhow::Result<Self> {
        Self::start_with_env(binary, config, log, &[])
    }

    /// [`Daemon::start`] with these environment variables set too.
    pub fn start_with_env(binary: &Path, config: &Path, log: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        let mut command = Command::new(binary);
        if let Some(url) = crate::setup::chosen_database() {
            command.env("NUDGE_DATABASE_URL", url);
        }
        let child = command
            .args(["serve", "--config"])
            .arg(config)
            .env("NUDGE_TELEGRAM_TOKEN", TOKEN)
            .env("RUST_LOG", "nudge=info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Self { child })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status()?;
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait()? {
                anyhow::ensure!(status.success(), "the daemon exited with {status}");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        anyhow::bail!("the daemon did not stop within 15 s of SIGTERM")
    }
}
