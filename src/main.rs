//! The `nudge` binary: parse the command line, run it, turn errors into one sentence and an
//! exit code.

use std::process::ExitCode;

use clap::Parser;
use nudge::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
