//! `pstn-lake optimize`: compact the days of a Delta lake that hold many small files (the work
//! is [`pstn_lake_pipeline::maintain::optimize`]).

use crate::common::{LakeArg, Ui};
use anyhow::Result;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "pstn-lake's own commits leave one file a day; days get more files from \
other engines' appends. The replaced files stay for `vacuum` (and `--as-of`)."
)]
pub struct Args {
    /// The days to compact (default: every day).
    #[command(flatten)]
    pub range: crate::common::DayRange,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let lake = args.lake.open_existing().await?;
    let done =
        pstn_lake_pipeline::maintain::optimize(&lake, args.range.from, args.range.to).await?;
    for (table, optimized) in done {
        ui.summary(format_args!(
            "{table}: {} days compacted, {} files into {}",
            optimized.days, optimized.files_removed, optimized.files_added
        ));
    }
    Ok(())
}
