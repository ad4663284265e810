//! `pstn-lake optimize`: compact the days of a Delta lake that hold many small files (the work
//! is [`pstn_lake_pipeline::maintain::optimize`]).

use anyhow::Result;
use chrono::NaiveDate;

use crate::common::{LakeArg, Ui, parse_date};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "pstn-lake's own commits leave one file a day; days get more files from \
other engines' appends. The replaced files stay for `vacuum` (and `--as-of`)."
)]
pub struct Args {
    /// First day (UTC, YYYY-MM-DD) to compact, inclusive (default: every day).
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Last day (UTC, YYYY-MM-DD) to compact, inclusive.
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let lake = args.lake.open_existing().await?;
    let done = pstn_lake_pipeline::maintain::optimize(&lake, args.from, args.to).await?;
    for (table, optimized) in done {
        ui.summary(format_args!(
            "{table}: {} days compacted, {} files into {}",
            optimized.days, optimized.files_removed, optimized.files_added
        ));
    }
    Ok(())
}
