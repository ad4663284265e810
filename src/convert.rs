//! `pstn-lake convert --to delta`: make a Parquet lake a Delta lake in place, without rewriting
//! a data file (the work is [`pstn_lake_pipeline::maintain::convert`]).

use anyhow::{Result, bail};
use pstn_lake_sink::TableFormat;

use crate::common::{LakeArg, Ui};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each table gets a Delta log whose first commit adds its day files as \
they are. A conversion that stops halfway (the lake then refuses the tables not converted yet) is \
finished by running it again. Readers that open the lake as Parquet files (`ddl` views made \
before) should be registered again with `pstn-lake ddl`: after the next sync a day's replaced file \
stays until `vacuum`."
)]
pub struct Args {
    /// The format to convert to: delta.
    #[arg(long, value_name = "delta")]
    pub to: TableFormat,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    if args.to != TableFormat::Delta {
        bail!("`convert --to {}`: only `--to delta` is supported", args.to);
    }
    let lake = args.lake.open_existing().await?;
    for (table, converted) in pstn_lake_pipeline::maintain::convert(&lake).await? {
        match converted {
            Some(c) => ui.summary(format_args!(
                "{table}: now a Delta table ({} data files, none rewritten)",
                c.files
            )),
            None => ui.summary(format_args!("{table}: already a Delta table")),
        }
    }
    Ok(())
}
