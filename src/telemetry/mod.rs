//! Telemetry: logs and counters. Logs go to stderr as text or JSON through `tracing`, with
//! teloxide's `log` records bridged in. Default filter `nudge=info,teloxide=warn`; `RUST_LOG`
//! overrides it with `target=level` directives (`nudge=debug,sled=info`, or a bare level): the
//! `Targets` filter, which needs no regex engine in the build. Text is coloured only on a
//! terminal and when `NO_COLOR` is not set, so files, pipes and journald get plain lines.

pub mod metrics;

use std::io::IsTerminal as _;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber; `default_filter` applies when `RUST_LOG` is unset.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = filter_from(std::env::var("RUST_LOG").ok().as_deref(), default_filter);
    let colour = use_colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR"));
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(colour);
    let result = match format {
        LogFormat::Text => builder.with_target(false).finish().with(filter).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).finish().with(filter).try_init(),
    };
    if result.is_err() {
        eprintln!("logging was already set up");
    }
}

/// The filter `RUST_LOG` asks for, else `default_filter`; a `RUST_LOG` that does not parse is
/// said on stderr (logging is not up yet) and the default applies.
fn filter_from(rust_log: Option<&str>, default_filter: &str) -> Targets {
    if let Some(directives) = rust_log.filter(|text| !text.trim().is_empty()) {
        match directives.parse::<Targets>() {
            Ok(filter) => return filter,
            Err(error) => eprintln!(
                "RUST_LOG `{directives}` is not understood ({error}); write `target=level` pairs such as `nudge=debug`. Using `{default_filter}`."
            ),
        }
    }
    default_filter.parse().unwrap_or_default()
}

/// Whether log lines get ANSI colours: only when they go to a terminal (logs are written to
/// stderr, so that is the stream that counts) and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
fn use_colour(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_takes_target_level_pairs_and_a_bad_one_falls_back_to_the_default() {
        use tracing::Level;
        let filter = filter_from(Some("trace,sled=info"), "nudge=info");
        assert!(filter.would_enable("nudge::app", &Level::TRACE));
        assert!(!filter.would_enable("sled::tree", &Level::DEBUG));
        let fallback = filter_from(Some("nudge=loud"), "nudge=info,teloxide=warn");
        assert!(
            fallback.would_enable("nudge::app", &Level::INFO) && !fallback.would_enable("nudge::app", &Level::DEBUG)
        );
        assert!(!fallback.would_enable("teloxide::bot", &Level::INFO));
        assert!(filter_from(None, "nudge=info").would_enable("nudge", &Level::INFO));
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("".into())));
        assert!(!use_colour(true, Some("1".into())));
        assert!(!use_colour(false, None));
    }
}
