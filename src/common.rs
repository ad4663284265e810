//! What several subcommands share: the lake argument, dates, logging, terminal output.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use chrono::NaiveDate;

use pstn_lake_sink::Lake;

/// `--lake`, shared by every command that reads or writes a lake.
#[derive(Debug, Clone, clap::Args)]
pub struct LakeArg {
    /// The lake: a folder, or a file://, s3://, az://, abfss:// or gs:// URL.
    #[arg(long, env = "PSTN_LAKE", default_value = "./lake")]
    pub lake: String,
}

impl LakeArg {
    /// Opens the lake.
    pub fn open(&self) -> Result<Lake> {
        Lake::open(&self.lake).with_context(|| format!("cannot open the lake `{}`", self.lake))
    }
}

/// `--from` / `--to`: a UTC day.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date: use YYYY-MM-DD (a UTC day)"))
}

/// The schema of every known table, for the query session.
#[cfg(feature = "query")]
pub fn known_tables() -> Vec<(String, arrow::datatypes::SchemaRef)> {
    pstn_lake_fetch::Table::ALL
        .iter()
        .map(|t| (t.name().to_owned(), t.schema()))
        .collect()
}

/// Logs go to stderr; `-v`/`-q` pick the level and `RUST_LOG` overrides both.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The error chain as one line of causes, `a: b: c`, leaving out a cause whose text an outer one
/// already shows (object_store and reqwest errors repeat their sources in their own text).
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Whether an error chain ends in a broken pipe (`pstn-lake sql … | head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.to_string().contains("Broken pipe")
    })
}

/// Progress and summaries on stderr: progress only on a terminal, summaries unless `--quiet`.
pub struct Ui {
    quiet: bool,
    terminal: bool,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Ui {
            quiet,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// A progress spinner, or a hidden one when stderr is not a terminal.
    pub fn progress(&self, what: &str) -> indicatif::ProgressBar {
        if self.quiet || !self.terminal {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {prefix} {msg}")
                .expect("valid template"),
        );
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    /// A progress bar of `len` steps, or a hidden one when stderr is not a terminal.
    pub fn bar(&self, len: u64, unit: &str) -> indicatif::ProgressBar {
        if self.quiet || !self.terminal {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(len);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}"
            ))
            .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    }

    /// A summary line on stderr.
    pub fn summary(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}
