//! `pstn-lake`: land Microsoft Teams PSTN and Direct Routing call logs into a Parquet lake and
//! report on them. `main` only dispatches; each subcommand is a module with `Args` and `run`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod alloc;
mod common;
#[cfg(feature = "delta")]
mod convert;
mod ddl;
#[cfg(feature = "query")]
mod deliver;
#[cfg(feature = "query")]
mod demo;
#[cfg(all(feature = "query", feature = "delta"))]
mod history;
mod ingest;
#[cfg(feature = "delta")]
mod optimize;
mod purge;
mod rebuild;
#[cfg(feature = "query")]
mod report;
#[cfg(feature = "query")]
mod run;
#[cfg(feature = "query")]
mod schema;
#[cfg(feature = "query")]
mod shell;
mod simulate;
#[cfg(feature = "query")]
mod sql;
mod sync;
#[cfg(feature = "delta")]
mod vacuum;

/// Land Microsoft Teams PSTN and Direct Routing call logs into a Parquet lake and report on them.
#[derive(Debug, Parser)]
#[command(name = "pstn-lake", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// More of pstn-lake's own log output (-v: debug, -vv: trace); other crates (DataFusion,
    /// HTTP) log only warnings. RUST_LOG overrides it (RUST_LOG=datafusion=debug).
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
    /// List the commits of a Delta lake's tables: the versions `--as-of` reads.
    #[cfg(all(feature = "query", feature = "delta"))]
    History(history::Args),
    /// Delete the data files of a Delta lake that replaced versions no longer need.
    #[cfg(feature = "delta")]
    Vacuum(vacuum::Args),
    /// Compact the days of a Delta lake that hold many small files.
    #[cfg(feature = "delta")]
    Optimize(optimize::Args),
    /// Make a Parquet lake a Delta lake in place (`--to delta`), without rewriting data files.
    #[cfg(feature = "delta")]
    Convert(convert::Args),
    /// Fetch call logs from Microsoft Graph into the lake, day by day (incremental and resumable).
    Sync(sync::Args),
    /// Land the tables again from the raw archive kept by `sync --keep-raw` (no Graph calls).
    Rebuild(rebuild::Args),
    /// Delete every day before a date (retention): rows, raw pages and quarantined rows.
    Purge(purge::Args),
    /// Serve a local, deterministic Microsoft Graph (or write its pages to files).
    Simulate(simulate::Args),
    /// Print a commented configuration file for `pstn-lake run` (`pstn-lake init > pstn-lake.toml`).
    #[cfg(feature = "query")]
    Init(run::InitArgs),
    /// Run unattended from a config file: sync, then the reports due, delivery, alerts and
    /// retention (for cron, systemd timers, Kubernetes CronJobs; a repeated run sends nothing twice).
    #[cfg(feature = "query")]
    Run(run::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sync(_) => alloc::tune_for_sync(),
        #[cfg(feature = "query")]
        Command::Run(_) => alloc::tune_for_sync(),
        Command::Ingest(_) => alloc::tune_for_ingest(),
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
            Command::Report(args) => report::run(args, &ui).await,
            #[cfg(feature = "query")]
            Command::Sql(args) => sql::run(args).await,
            #[cfg(feature = "query")]
            Command::Shell(args) => shell::run(args).await,
            Command::Ddl(args) => ddl::run(args, &ui).await,
            #[cfg(feature = "query")]
            Command::Schema(args) => schema::run(args).await,
            #[cfg(all(feature = "query", feature = "delta"))]
            Command::History(args) => history::run(args).await,
            #[cfg(feature = "delta")]
            Command::Vacuum(args) => vacuum::run(args, &ui).await,
            #[cfg(feature = "delta")]
            Command::Optimize(args) => optimize::run(args, &ui).await,
            #[cfg(feature = "delta")]
            Command::Convert(args) => convert::run(args, &ui).await,
            Command::Sync(args) => sync::run(args, &ui).await,
            Command::Rebuild(args) => rebuild::run(args, &ui).await,
            Command::Purge(args) => purge::run(args, &ui).await,
            Command::Simulate(args) => simulate::run(args, &ui).await,
            #[cfg(feature = "query")]
            Command::Init(args) => run::init(args),
            #[cfg(feature = "query")]
            Command::Run(args) => run::run(args, &ui).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if common::is_broken_pipe(&e) => ExitCode::SUCCESS,
        #[cfg(feature = "query")]
        Err(e) if e.downcast_ref::<run::StepFailed>().is_some() => {
            eprintln!("error: {}", common::message(&e));
            ExitCode::from(e.downcast_ref::<run::StepFailed>().map_or(1, |s| s.code))
        }
        Err(e) if e.downcast_ref::<common::RowsQuarantined>().is_some() => {
            eprintln!("error: {}", common::message(&e));
            ExitCode::from(common::QUARANTINED_EXIT_CODE)
        }
        Err(e) if e.downcast_ref::<common::TablesSkipped>().is_some() => {
            eprintln!("error: {}", common::message(&e));
            ExitCode::from(common::PARTIAL_EXIT_CODE)
        }
        Err(e) if e.downcast_ref::<common::Interrupted>().is_some() => {
            eprintln!("{}", common::message(&e));
            ExitCode::from(common::interrupted_exit_code())
        }
        Err(e) => {
            eprintln!("error: {}", common::message(&e));
            ExitCode::FAILURE
        }
    }
}
