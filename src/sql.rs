//! `pstn-lake sql`: a read-only SQL query over the lake.

use anyhow::Result;

use crate::common::{LakeArg, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The query: SELECT, WITH, EXPLAIN, DESCRIBE or SHOW. Tables: pstn_calls,
    /// direct_routing_calls (and any other table folder in the lake); `call_date` is the day.
    pub query: String,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub lake: LakeArg,

    #[command(flatten)]
    pub as_of: crate::common::AsOfArg,
}

pub async fn run(args: Args) -> Result<()> {
    args.output.resolve()?;
    let lake = args.lake.open_existing().await?;
    lake.check().await?;
    let session = args.as_of.session(&lake).await?;
    tracing::debug!(lake = %lake.url(), tables = ?session.tables(), "planning the query");
    let df = session.query(&args.query).await?;
    let planned = df.schema().inner().clone();
    let batches = session.execute(df).await?;
    tracing::debug!(
        rows = batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        "the query ran"
    );
    // The rows' own schema when there are rows (execution may pick Utf8View where the plan says Utf8).
    let schema = batches
        .first()
        .map_or(planned, arrow::array::RecordBatch::schema);
    args.output.write(&schema, &batches)
}
