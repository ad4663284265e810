//! What several subcommands share: the lake argument, dates, logging, terminal output.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;

use pstn_lake_pipeline::{DaySynced, Progress, SyncReport};
use pstn_lake_sink::Lake;
use pstn_lake_text::shortened;
pub use pstn_lake_text::terminal_safe;

/// `--lake`, shared by every command that reads or writes a lake.
#[derive(Debug, Clone, clap::Args)]
pub struct LakeArg {
    /// The lake: a folder, or a file://, s3://, az://, abfss:// or gs:// URL (also read from
    /// PSTN_LAKE).
    ///
    /// Object stores are configured from their usual variables. S3 (s3://): AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, and for MinIO and other S3-compatible
    /// servers AWS_ENDPOINT_URL (with AWS_ALLOW_HTTP=true for plain HTTP). Azure (az://,
    /// abfss://): AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY
    /// or AZURE_STORAGE_CLIENT_ID/_SECRET/_TENANT_ID; AZURE_STORAGE_USE_EMULATOR=true for Azurite
    /// (the Graph app's AZURE_CLIENT_* credentials are never used for storage). Google Cloud
    /// Storage (gs://): GOOGLE_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS.
    #[arg(
        long,
        env = "PSTN_LAKE",
        default_value = "./lake",
        value_name = "DIR|URL"
    )]
    pub lake: String,
}

/// `--table-format`, for the commands that may create a lake.
#[derive(Debug, Clone, clap::Args)]
pub struct TableFormatArg {
    /// The table format of a new lake: parquet (Hive-partitioned Parquet, one file a day; the
    /// default) or delta (Delta Lake tables, which Fabric, Power BI, Databricks and Spark open as
    /// tables). It is recorded in the lake (`_pstn_lake/format.json`): later commands use it
    /// without being told, and a lake's format cannot be changed by naming another.
    #[arg(long, value_name = "parquet|delta")]
    pub table_format: Option<pstn_lake_sink::TableFormat>,
}

/// `--pseudonymise`/`--pseudonym-key-env`, for the commands that land rows (docs/privacy.md).
#[derive(Debug, Clone, clap::Args)]
pub struct PrivacyArg {
    /// Columns whose values are replaced at landing by keyed tokens (HMAC-SHA256: the same value
    /// always gives the same token; phone numbers keep their country calling code, `+44_tok_…`),
    /// comma-separated, in every table that has them: e.g. caller_number,callee_number,
    /// user_principal_name. Recorded in the lake (`_pstn_lake/privacy.json`) by its first rows:
    /// later commands pseudonymise without being told, and another setting is refused. It
    /// cannot be turned on for a lake that already holds rows. See docs/privacy.md for what it
    /// does and does not protect.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "COLUMN,…",
        requires = "pseudonym_key_env"
    )]
    pub pseudonymise: Vec<String>,

    /// The name of the environment variable that holds the pseudonymisation key (a long random
    /// secret, e.g. from `openssl rand -hex 32`; never the key itself on the command line).
    #[arg(long, value_name = "VAR", requires = "pseudonymise")]
    pub pseudonym_key_env: Option<String>,
}

impl PrivacyArg {
    /// The setting asked for, if any.
    pub fn privacy(&self) -> Result<Option<pstn_lake_pipeline::Privacy>> {
        let Some(key_env) = &self.pseudonym_key_env else {
            return Ok(None);
        };
        Ok(Some(pstn_lake_pipeline::Privacy::new(
            self.pseudonymise.iter().cloned(),
            key_env.clone(),
        )?))
    }
}

/// `--from`/`--to`: a range of UTC days, both ends inclusive and optional.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DayRange {
    /// First day (UTC, YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Last day (UTC, YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,
}

impl LakeArg {
    /// Opens the lake.
    pub fn open(&self) -> Result<Lake> {
        Lake::open(&self.lake).with_context(|| format!("cannot open the lake `{}`", self.lake))
    }

    /// Opens a lake that must already exist (for reading): a location that holds no lake (no
    /// table of pstn-lake's and no state) is an error naming it and the lakes nearby, rather than
    /// a lake with no rows (a mistyped `--lake` would otherwise give empty reports).
    pub async fn open_existing(&self) -> Result<Lake> {
        let lake = self.open()?;
        lake.check().await?;
        if is_lake(&lake).await? {
            return Ok(lake);
        }
        let Ok(path) = lake.url().to_file_path() else {
            bail!(
                "no lake here: `{}` holds no pstn-lake table and no sync state; pass --lake (or \
                 set PSTN_LAKE) to where `pstn-lake ingest`, `sync` or `demo` wrote",
                lake.url()
            );
        };
        let what = if path.is_dir() {
            "holds no pstn-lake table and no sync state"
        } else {
            "does not exist"
        };
        let nearby = nearby_lakes(&path).await;
        let hint = if nearby.is_empty() {
            String::new()
        } else {
            format!("; lakes nearby: {}", nearby.join(", "))
        };
        bail!(
            "no lake here: `{}` {what}; pass --lake (or set PSTN_LAKE) to the folder that \
             `pstn-lake ingest`, `sync` or `demo` wrote{hint}",
            path.display()
        )
    }
}

/// Whether `lake` holds a lake: a table of pstn-lake's, or a sync state that recorded something.
pub async fn is_lake(lake: &Lake) -> Result<bool> {
    let tables = lake.tables().await?;
    if pstn_lake_fetch::Table::ALL
        .iter()
        .any(|t| tables.iter().any(|name| name == t.name()))
    {
        return Ok(true);
    }
    Ok(!pstn_lake_sink::SyncState::load(lake).await?.is_empty())
}

/// Local lakes in the current folder and next to `path`, as the user would type them
/// (`./pstn-lake-demo`), at most a few.
async fn nearby_lakes(path: &Path) -> Vec<String> {
    let cwd = std::env::current_dir().ok();
    let mut places: Vec<PathBuf> = cwd.iter().cloned().collect();
    if let Some(parent) = path.parent()
        && Some(parent) != cwd.as_deref()
    {
        places.push(parent.to_owned());
    }
    let mut found = Vec::new();
    for place in places {
        let Ok(entries) = std::fs::read_dir(&place) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p != path)
            .take(200)
            .collect();
        dirs.sort();
        for dir in dirs {
            let Some(location) = dir.to_str() else {
                continue;
            };
            let Ok(lake) = Lake::open(location) else {
                continue;
            };
            if matches!(is_lake(&lake).await, Ok(true)) {
                found.push(
                    match cwd.as_deref().and_then(|c| dir.strip_prefix(c).ok()) {
                        Some(rel) => format!("./{}", rel.display()),
                        None => dir.display().to_string(),
                    },
                );
            }
            if found.len() == 5 {
                return found;
            }
        }
    }
    found
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

/// pstn-lake's own crates: what `-v` and `-vv` make verbose.
const OWN_CRATES: [&str; 5] = [
    "pstn_lake",
    "pstn_lake_fetch",
    "pstn_lake_sink",
    "pstn_lake_query",
    "pstn_lake_graph_sim",
];

/// The log filter of `-v`/`-q`: warnings from everything; with `-v` debug (`-vv` trace) from
/// pstn-lake's own crates only, never from DataFusion or other libraries (`RUST_LOG` for those).
pub fn log_filter(verbose: u8, quiet: bool) -> String {
    let own = match (quiet, verbose) {
        (true, _) => return "error".to_owned(),
        (false, 0) => return "warn".to_owned(),
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let mut filter = String::from("warn");
    for name in OWN_CRATES {
        filter.push_str(&format!(",{name}={own}"));
    }
    filter
}

/// Logs go to stderr, coloured only on a terminal; `-v`/`-q` pick the filter ([`log_filter`]) and
/// `RUST_LOG` overrides both.
pub fn init_logging(verbose: u8, quiet: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_filter(verbose, quiet)));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// The longest cause an error message shows whole: room for any message of pstn-lake's own or of
/// DataFusion's (the longest list a page's unknown properties or a query's valid fields), not for
/// a 50 MB value quoted from the data.
const MAX_CAUSE: usize = 4000;

/// The error chain as one line of causes, `a: b: c`. pstn-lake's own errors never repeat their
/// source in their text (the chain shows it once); the foreign errors that do (object_store,
/// Parquet, Arrow: their text already holds their causes) end the line, so nothing is said twice.
/// Errors quote values and file names from the data: the line is [`terminal_safe`], and a cause
/// longer than [`MAX_CAUSE`] bytes (one quoting a 50 MB value from a file) keeps only its ends.
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&shortened(&cause.to_string(), MAX_CAUSE));
        if holds_its_sources(cause) {
            break;
        }
    }
    terminal_safe(&out).into_owned()
}

/// Whether an error's text already holds its sources' text (see [`message`]).
fn holds_its_sources(e: &(dyn std::error::Error + 'static)) -> bool {
    e.is::<object_store::Error>()
        || e.is::<parquet::errors::ParquetError>()
        || e.is::<arrow::error::ArrowError>()
}

/// Whether an error chain holds a broken pipe (`pstn-lake sql … | head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Standard output that remembers a closed pipe. Some writers turn an I/O error into text (arrow's
/// CSV writer does); [`to_stdout`] gives the closed pipe back as a typed `io::Error`.
pub struct Stdout {
    out: std::io::BufWriter<std::io::Stdout>,
    closed: bool,
}

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.out.write(buf);
        self.closed |= is_closed(&written);
        written
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.out.flush();
        self.closed |= is_closed(&flushed);
        flushed
    }
}

fn is_closed<T>(result: &std::io::Result<T>) -> bool {
    result
        .as_ref()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs `write` on standard output and flushes it. A reader that went away (`| head`) ends it with
/// a typed broken pipe, whatever error the writer made of it; `main` treats that as success.
pub fn to_stdout<T>(write: impl FnOnce(&mut Stdout) -> Result<T>) -> Result<T> {
    let mut out = Stdout {
        out: std::io::BufWriter::new(std::io::stdout()),
        closed: false,
    };
    let written = write(&mut out);
    let flushed = std::io::Write::flush(&mut out);
    if out.closed {
        return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
    }
    let value = written?;
    flushed.context("writing to standard output failed")?;
    Ok(value)
}

/// Progress and summaries on stderr: progress only on a terminal, summaries unless `--quiet`.
pub struct Ui {
    quiet: bool,
    terminal: bool,
    /// The bar or spinner of the pipeline's run ([`Progress`]), once it has started.
    shown: Mutex<Option<indicatif::ProgressBar>>,
}

impl Ui {
    pub fn new(quiet: bool) -> Self {
        Ui {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            shown: Mutex::new(None),
        }
    }

    /// Shows `bar` as the pipeline run's progress, in place of the one shown so far.
    fn show(&self, bar: indicatif::ProgressBar) {
        if let Some(old) = self.shown.lock().expect("not poisoned").replace(bar) {
            old.finish_and_clear();
        }
    }

    /// Runs `work` on the pipeline run's progress, when it has started.
    fn shown(&self, work: impl FnOnce(&indicatif::ProgressBar)) {
        if let Some(bar) = self.shown.lock().expect("not poisoned").as_ref() {
            work(bar);
        }
    }

    /// Clears the pipeline run's progress (before its summary is printed).
    pub fn clear_progress(&self) {
        if let Some(bar) = self.shown.lock().expect("not poisoned").take() {
            bar.finish_and_clear();
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
        bar.set_prefix(terminal_safe(what).into_owned());
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

    /// A summary line on stderr ([`terminal_safe`]: summaries name lakes, files and tables).
    pub fn summary(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            // A summary names values from the data (a quarantined row's bad value, an unknown
            // property): each line is kept to MAX_CAUSE bytes, like an error's cause.
            let text = line.to_string();
            let lines: Vec<_> = text.split('\n').map(|l| shortened(l, MAX_CAUSE)).collect();
            eprintln!("{}", terminal_safe(&lines.join("\n")));
        }
    }
}

impl Progress for Ui {
    fn sync_planned(&self, plan: &pstn_lake_pipeline::Plan) {
        for first in &plan.first_syncs {
            self.summary(first);
        }
        self.show(self.bar(plan.jobs.len() as u64, "days"));
    }

    fn day_synced(&self, done: &DaySynced) {
        self.shown(|bar| {
            bar.inc(1);
            bar.set_message(format!(
                "{} rows ({:.0} rows/s), {} pages, {} throttled ({:.1} s waited)",
                done.fetched_rows,
                done.fetched_rows as f64 / done.elapsed.as_secs_f64().max(1e-3),
                done.pages,
                done.throttled,
                done.throttled_wait.as_secs_f64()
            ));
        });
    }

    fn inputs_decoded(&self, done: usize, inputs: usize, pages: usize) {
        if self.shown.lock().expect("not poisoned").is_none() {
            self.show(self.progress("ingest"));
        }
        self.shown(|bar| bar.set_message(format!("{done}/{inputs} files, {pages} pages")));
    }

    fn ingest_writing(&self) {
        self.shown(|bar| bar.set_message("writing days"));
    }

    fn rebuild_started(&self, table: pstn_lake_fetch::Table, days: usize) {
        self.show(self.bar(days as u64, &format!("{table} days")));
    }

    fn day_rebuilt(&self, _: pstn_lake_fetch::Table, _: NaiveDate) {
        self.shown(|bar| bar.inc(1));
    }
}

/// The run finished, but rows it fetched could not be landed and are in the lake's quarantine
/// (exit code [`QUARANTINED_EXIT_CODE`], so a scheduler alerts).
#[derive(Debug, thiserror::Error)]
#[error(
    "{rows} rows could not be landed and are kept in {lake}/_pstn_lake/quarantine/ (listed above); \
     the rest of their days landed. Once the cause is gone (a newer pstn-lake, or Graph serving the \
     rows again), `pstn-lake sync --refetch --from DAY --to DAY` (or `rebuild`) lands them and \
     empties the day's quarantine"
)]
pub struct RowsQuarantined {
    /// How many rows.
    pub rows: usize,
    /// The lake, as given.
    pub lake: String,
}

/// The exit code of a run that quarantined rows ([`RowsQuarantined`]).
pub const QUARANTINED_EXIT_CODE: u8 = 3;

impl RowsQuarantined {
    /// `Err` when `quarantined` is not empty.
    pub fn check(quarantined: &[pstn_lake_pipeline::Quarantined], lake: &str) -> Result<()> {
        if quarantined.is_empty() {
            return Ok(());
        }
        Err(RowsQuarantined {
            rows: quarantined.len(),
            lake: lake.trim_end_matches('/').to_owned(),
        }
        .into())
    }
}

/// A sync left out tables Graph refused, and landed the others (exit code
/// [`PARTIAL_EXIT_CODE`]).
#[derive(Debug, thiserror::Error)]
#[error("partial sync: Graph refused {} (named above); the other tables landed", tables.join(", "))]
pub struct TablesSkipped {
    /// The tables left out.
    pub tables: Vec<String>,
}

/// The exit code of a partial sync ([`TablesSkipped`]).
pub const PARTIAL_EXIT_CODE: u8 = 4;

impl TablesSkipped {
    /// `Err` when the sync left out tables.
    pub fn check(report: &SyncReport) -> Result<()> {
        if !report.is_partial() {
            return Ok(());
        }
        Err(TablesSkipped {
            tables: report
                .skipped_tables
                .keys()
                .map(|t| t.to_string())
                .collect(),
        }
        .into())
    }
}

/// The run was stopped by Ctrl-C (exit code 130) or SIGTERM (exit code 143).
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {0}")]
pub struct Interrupted(pub String);

/// Whether the stop came from SIGTERM rather than Ctrl-C (SIGINT).
static TERMINATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The exit code of an [`Interrupted`] run: 130 after Ctrl-C, 143 after SIGTERM (128 + the signal).
pub fn interrupted_exit_code() -> u8 {
    if TERMINATED.load(std::sync::atomic::Ordering::Relaxed) {
        143
    } else {
        130
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM (`kill`, `systemctl stop`, `docker stop`), or when
/// they cannot be watched: what stops a sync.
pub async fn ctrl_c() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => TERMINATED.store(true, std::sync::atomic::Ordering::Relaxed),
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A sync's outcome for the CLI: its progress cleared; when it stopped early, what it did so far
/// printed and a Ctrl-C made [`Interrupted`].
pub fn synced(outcome: pstn_lake_pipeline::Result<SyncReport>, ui: &Ui) -> Result<SyncReport> {
    ui.clear_progress();
    match outcome {
        Ok(report) => Ok(report),
        Err(pstn_lake_pipeline::Error::Stopped { so_far, source }) => {
            ui.summary(format!("stopped early; so far: {so_far}"));
            Err(match *source {
                pstn_lake_pipeline::Error::Interrupted => Interrupted(format!(
                    "{}: the days finished so far are committed; run the same command again to \
                     continue",
                    if interrupted_exit_code() == 143 {
                        "SIGTERM"
                    } else {
                        "Ctrl-C"
                    }
                ))
                .into(),
                e => e.into(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// `--as-of`, for the commands that read a lake.
#[cfg(feature = "query")]
#[derive(Debug, Clone, clap::Args)]
pub struct AsOfArg {
    /// Read a Delta lake's tables as an earlier commit left them: a table version (a whole
    /// number, as `pstn-lake history` lists them) or a time (RFC 3339, 2026-11-30T00:00:00Z: the
    /// last commit at or before it). A Parquet lake keeps no earlier versions.
    #[arg(long, value_name = "VERSION|TIME")]
    pub as_of: Option<pstn_lake_query::AsOf>,
}

#[cfg(feature = "query")]
impl AsOfArg {
    /// A session over the lake's tables, at `--as-of` when given.
    pub async fn session(&self, lake: &Lake) -> Result<pstn_lake_query::LakeSession> {
        pstn_lake_query::LakeSession::open_as_of(lake, &known_tables(), self.as_of)
            .await
            .context("cannot open the lake for queries")
    }
}

/// How `report` and `sql` write their result: `--format` and `--output`.
#[cfg(feature = "query")]
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format: table, csv, csv-raw, json (one array), ndjson (one object a line), markdown,
    /// or parquet. Default: table when standard output is a terminal, csv otherwise; with
    /// --output, the file's extension (.csv, .json, .ndjson, .jsonl, .md, .parquet). Decimals
    /// (money) keep every digit in all of them but table, which shows each currency's minor
    /// units; csv has no quoted numbers, no exponents and UTC times as YYYY-MM-DD HH:MM:SS
    /// (.ffffff when the time has microseconds).
    ///
    /// csv is for spreadsheets: a text cell starting with =, +, -, @, tab or carriage return (a
    /// formula to a spreadsheet) is written with a leading ' so it shows as text (+4121... too);
    /// numbers are never changed. csv-raw writes every cell as it is, for programs; parquet and
    /// json keep the types as well.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// Write the result to FILE instead of standard output (the file is replaced in one step).
    /// FILE.parquet writes Parquet: decimals stay decimals, timestamps stay timestamps.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

/// A text format, or Parquet.
#[cfg(feature = "query")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Table, CSV, JSON, NDJSON or Markdown.
    Text(pstn_lake_query::Format),
    /// One Parquet file.
    Parquet,
}

#[cfg(feature = "query")]
impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "parquet" => Ok(OutputFormat::Parquet),
            other => other.parse().map(OutputFormat::Text).map_err(|_| {
                format!(
                    "unknown format `{other}`: expected table, csv, csv-raw, json, ndjson, markdown or parquet"
                )
            }),
        }
    }
}

#[cfg(feature = "query")]
impl OutputArgs {
    /// The format to write: `--format`, else `--output`'s extension, else table on a terminal and
    /// csv otherwise.
    pub fn resolve(&self) -> Result<OutputFormat> {
        use pstn_lake_query::Format;
        if let Some(format) = self.format {
            return Ok(format);
        }
        let Some(path) = &self.output else {
            return Ok(OutputFormat::Text(if std::io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Csv
            }));
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        Ok(match ext.as_deref() {
            Some("parquet") => OutputFormat::Parquet,
            Some("csv") => OutputFormat::Text(Format::Csv),
            Some("json") => OutputFormat::Text(Format::Json),
            Some("ndjson" | "jsonl") => OutputFormat::Text(Format::Ndjson),
            Some("md" | "markdown") => OutputFormat::Text(Format::Markdown),
            Some("txt") => OutputFormat::Text(Format::Table),
            _ => anyhow::bail!(
                "cannot tell the format of `{}` from its name: add --format (csv, csv-raw, json, \
                 ndjson, markdown, parquet, table) or name the file .csv, .json, .ndjson, .md or \
                 .parquet",
                path.display()
            ),
        })
    }

    /// Writes the result to standard output or to `--output` (through a temporary file in the
    /// same folder, renamed into place, so the file is never half written).
    pub fn write(
        &self,
        schema: &arrow::datatypes::SchemaRef,
        batches: &[arrow::array::RecordBatch],
    ) -> Result<()> {
        let format = self.resolve()?;
        let Some(path) = &self.output else {
            return match format {
                OutputFormat::Parquet if std::io::stdout().is_terminal() => anyhow::bail!(
                    "Parquet is binary and standard output is a terminal: write it to a file \
                     with --output FILE.parquet"
                ),
                OutputFormat::Parquet => to_stdout(|out| {
                    pstn_lake_query::write_parquet(out, schema, batches)?;
                    Ok(())
                }),
                OutputFormat::Text(format) => to_stdout(|out| {
                    pstn_lake_query::write(out, format, schema, batches)?;
                    Ok(())
                }),
            };
        };
        write_file(path, "--output", |file| {
            match format {
                OutputFormat::Parquet => pstn_lake_query::write_parquet(&*file, schema, batches)?,
                OutputFormat::Text(format) => {
                    let mut out = std::io::BufWriter::new(&*file);
                    pstn_lake_query::write(&mut out, format, schema, batches)?;
                    std::io::Write::flush(&mut out)?;
                }
            }
            Ok(())
        })
    }
}

/// Writes `path` whole or not at all: into a new temporary file in the same folder (created
/// exclusively under a random name, so nothing planted there is followed or overwritten), flushed
/// to disk, then renamed over `path` (a symbolic link at `path` is replaced, never written
/// through). The one way `--output`, `--chart` and `--html` write their files; `what` names the
/// option in errors.
#[cfg(feature = "query")]
pub fn write_file(
    path: &std::path::Path,
    what: &str,
    write: impl FnOnce(&mut std::fs::File) -> Result<()>,
) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{what} `{}` is not a file name", path.display()))?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(folder)
        .with_context(|| format!("cannot create a file next to `{}`", path.display()))?;
    write(temp.as_file_mut())
        .and_then(|()| Ok(temp.as_file().sync_all()?))
        .with_context(|| format!("writing `{}` failed", path.display()))?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace `{}`", path.display()))?;
    Ok(())
}
