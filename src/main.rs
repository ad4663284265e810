//! `pstn-lake`: land Microsoft Teams PSTN and Direct Routing call logs into a Parquet lake and
//! report on them. `main` only dispatches; each subcommand is a module with `Args` and `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod common;
mod ddl;
#[cfg(feature = "query")]
mod demo;
mod ingest;
mod rebuild;
#[cfg(feature = "query")]
mod report;
#[cfg(feature = "query")]
mod schema;
#[cfg(feature = "query")]
mod shell;
mod simulate;
#[cfg(feature = "query")]
mod sql;
mod sync;

/// Land Microsoft Teams PSTN and Direct Routing call logs into a Parquet lake and report on them.
#[derive(Debug, Parser)]
#[command(name = "pstn-lake", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    /// Only errors on stderr: no progress, no summary.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything on a simulated tenant: Graph simulator → local lake → charges report.
    #[cfg(feature = "query")]
    Demo(demo::Args),
    /// Land saved Graph call-log pages (files, folders of *.json, or - for stdin) into the lake.
    Ingest(ingest::Args),
    /// Run a report from the catalog (`--list` shows them).
    #[cfg(feature = "query")]
    Report(report::Args),
    /// Run a read-only SQL query over the lake's tables.
    #[cfg(feature = "query")]
    Sql(sql::Args),
    /// An interactive read-only SQL shell over the lake (statements from stdin when piped).
    #[cfg(feature = "query")]
    Shell(shell::Args),
    /// Print the statements that register the lake's tables in DuckDB, Spark, Trino or Athena.
    Ddl(ddl::Args),
    /// Show a table's columns, types and the Graph property each comes from.
    #[cfg(feature = "query")]
    Schema(schema::Args),
    /// Fetch call logs from Microsoft Graph into the lake, day by day (incremental and resumable).
    Sync(sync::Args),
    /// Land the tables again from the raw archive kept by `sync --keep-raw` (no Graph calls).
    Rebuild(rebuild::Args),
    /// Serve a local, deterministic Microsoft Graph (or write its pages to files).
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sync(_) => tune_allocator_for_sync(),
        Command::Ingest(_) => tune_allocator_for_ingest(),
        _ => {}
    }
    common::init_logging(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ui = common::Ui::new(cli.quiet);
    let result = runtime.block_on(async {
        match cli.command {
            #[cfg(feature = "query")]
            Command::Demo(args) => demo::run(args, &ui).await,
            Command::Ingest(args) => ingest::run(args, &ui).await,
            #[cfg(feature = "query")]
            Command::Report(args) => report::run(args).await,
            #[cfg(feature = "query")]
            Command::Sql(args) => sql::run(args).await,
            #[cfg(feature = "query")]
            Command::Shell(args) => shell::run(args).await,
            Command::Ddl(args) => ddl::run(args).await,
            #[cfg(feature = "query")]
            Command::Schema(args) => schema::run(args).await,
            Command::Sync(args) => sync::run(args, &ui).await,
            Command::Rebuild(args) => rebuild::run(args, &ui).await,
            Command::Simulate(args) => simulate::run(args, &ui).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if common::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<sync::Interrupted>().is_some() => {
            eprintln!("{}", common::message(&e));
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {}", common::message(&e));
            ExitCode::FAILURE
        }
    }
}

/// glibc's allocator, tuned for a sync. It gives each thread that allocates under contention an
/// arena of its own (up to eight per core) and keeps what is freed there for that arena; and after
/// a large block is freed it raises its mmap threshold, so later large buffers (Arrow columns,
/// Parquet pages) come from the arenas too and stay there when freed. A sync allocates large
/// buffers on many threads (the runtime's, and the blocking pool's that write and encode days), so
/// its peak RSS was about 2.5 times its heap. Two arenas and a fixed 1 MiB threshold (larger
/// blocks are mapped, and unmapped when freed) bring a 20-day sync from about 340 to about 130 MB
/// at no measured cost in wall time (BENCHMARKS.md, "Memory"). `MALLOC_ARENA_MAX` or
/// `MALLOC_MMAP_THRESHOLD_` set in the environment win. Called before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator_for_sync() {
    set_allocator(&[
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, 2),
        (
            "MALLOC_MMAP_THRESHOLD_",
            libc::M_MMAP_THRESHOLD,
            1024 * 1024,
        ),
    ]);
}

/// glibc's allocator, tuned for an ingest: decoding threads allocate each page's Arrow columns,
/// the encoder frees them, and by default glibc hands freed memory at the top of its heaps back to
/// the kernel, so the next pages fault it in again (about 65,000 page faults for 1 M rows).
/// Keeping up to 256 MiB (and growing heaps 64 MiB at a time, and mapping only blocks over 32 MiB)
/// saves about a tenth of those and 2-3% of the CPU, with the same peak RSS (BENCHMARKS.md,
/// "Landing"). Variables set in the environment win. Called before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator_for_ingest() {
    set_allocator(&[
        ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 32 << 20),
        ("MALLOC_TRIM_THRESHOLD_", libc::M_TRIM_THRESHOLD, 256 << 20),
        ("MALLOC_TOP_PAD_", libc::M_TOP_PAD, 64 << 20),
    ]);
}

/// Sets glibc allocator parameters (`mallopt`), each unless its environment variable is set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "mallopt is a plain C call that only sets an allocator parameter"
)]
fn set_allocator(settings: &[(&str, libc::c_int, libc::c_int)]) {
    for &(variable, parameter, value) in settings {
        if std::env::var_os(variable).is_none() {
            // SAFETY: `mallopt` takes two integers and changes a setting of the allocator; no
            // other thread runs yet.
            unsafe {
                libc::mallopt(parameter, value);
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator_for_sync() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator_for_ingest() {}
