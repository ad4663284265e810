//! `pstn-lake rebuild`: land the tables again from the raw archive (`sync --keep-raw`), without
//! calling Graph — how a schema change reaches data fetched before it (the work is
//! [`pstn_lake_pipeline::rebuild`]).

use anyhow::Result;
use pstn_lake_fetch::Table;
use pstn_lake_pipeline::Days;

use crate::common::{LakeArg, RowsQuarantined, Ui};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 done; 1 error; 3 done, but archived rows that could not be \
landed are in <lake>/_pstn_lake/quarantine/ (named in the summary)."
)]
pub struct Args {
    /// Tables to rebuild, comma-separated (default: every table with an archive).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<Table>,

    #[command(flatten)]
    pub range: crate::common::DayRange,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let lake = args.lake.open()?;
    let days = Days::default()
        .with_tables(args.tables.iter().copied())
        .with_from(args.range.from)
        .with_to(args.range.to);
    let outcome = pstn_lake_pipeline::rebuild(&lake, &days, ui).await;
    ui.clear_progress();
    let report = outcome?;
    ui.summary(&report);
    RowsQuarantined::check(&report.quarantined, &args.lake.lake)
}
