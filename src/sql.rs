//! `pstn-lake sql`: a read-only SQL query over the lake.

use anyhow::{Context, Result};
use pstn_lake_query::{Format, LakeSession};

use crate::common::{LakeArg, known_tables};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The query: SELECT, WITH, EXPLAIN, DESCRIBE or SHOW. Tables: pstn_calls,
    /// direct_routing_calls (and any other table folder in the lake); `call_date` is the day.
    pub query: String,

    /// Output format: table, csv, json or markdown.
    #[arg(long, default_value = "table")]
    pub format: Format,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args) -> Result<()> {
    let lake = args.lake.open()?;
    lake.check().await?;
    let session = LakeSession::open(&lake, &known_tables())
        .await
        .context("cannot open the lake for queries")?;
    let df = session
        .query(&args.query)
        .await
        .context("the query was refused")?;
    let schema = df.schema().inner().clone();
    let batches = df.collect().await.context("the query failed")?;
    let mut out = std::io::stdout().lock();
    pstn_lake_query::write(&mut out, args.format, &schema, &batches)?;
    Ok(())
}
