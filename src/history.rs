//! `pstn-lake history`: the commits of a Delta lake's tables (version, time, operation, the days
//! each replaced, the rows they hold), newest first: the versions `--as-of` reads.

use std::sync::Arc;

use anyhow::{Result, bail};
use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use pstn_lake_fetch::Table;
use pstn_lake_query::Format;
use pstn_lake_sink::TableFormat;

use crate::common::LakeArg;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table (default: every table).
    pub table: Option<Table>,

    /// At most this many commits per table, newest first.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Output format: table, csv, json, ndjson or markdown.
    #[arg(long, default_value = "table")]
    pub format: Format,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args) -> Result<()> {
    let lake = args.lake.open_existing().await?;
    if lake.table_format().await? != TableFormat::Delta {
        bail!(
            "{} holds Parquet tables, which keep no history: each day is replaced in place \
             (a lake created with `--table-format delta` keeps its versions)",
            lake.url()
        );
    }
    let tables = match args.table {
        Some(t) => vec![t],
        None => Table::ALL.to_vec(),
    };
    let mut columns: (Vec<String>, Vec<u64>, Vec<Option<String>>, Vec<String>) = Default::default();
    let mut days = Vec::new();
    let mut rows = Vec::new();
    let mut engines = Vec::new();
    for table in tables {
        for commit in pstn_lake_sink::history(&lake, table.name(), args.limit).await? {
            columns.0.push(table.name().to_owned());
            columns.1.push(commit.version);
            columns.2.push(commit.time.map(|t| t.to_rfc3339()));
            columns.3.push(commit.operation);
            days.push(commit.predicate);
            rows.push(commit.rows);
            engines.push(commit.engine);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("time", DataType::Utf8, true),
        Field::new("operation", DataType::Utf8, false),
        Field::new("days", DataType::Utf8, true),
        Field::new("rows", DataType::UInt64, true),
        Field::new("engine", DataType::Utf8, true),
    ]));
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(columns.0)),
        Arc::new(UInt64Array::from(columns.1)),
        Arc::new(StringArray::from(columns.2)),
        Arc::new(StringArray::from(columns.3)),
        Arc::new(StringArray::from(days)),
        Arc::new(UInt64Array::from(rows)),
        Arc::new(StringArray::from(engines)),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
    crate::common::to_stdout(|out| Ok(pstn_lake_query::write(out, args.format, &schema, &[batch])?))
}
