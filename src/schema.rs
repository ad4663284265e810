//! `pstn-lake schema`: the columns of the lake tables.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use pstn_lake_fetch::{EXTRA_PROPERTIES, Table, data_type, snake_case};
use pstn_lake_query::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table (default: every table).
    pub table: Option<Table>,

    /// Output format: table, csv, json or markdown.
    #[arg(long, default_value = "table")]
    pub format: Format,

    /// Show the columns of the tables as SQL over a lake sees them (its Parquet files, plus the
    /// `call_date` partition; strings are read as Utf8View) instead of pstn-lake's own schema.
    /// Also reads `PSTN_LAKE`.
    #[arg(long, env = "PSTN_LAKE")]
    pub lake: Option<String>,
}

/// The columns a lake's files hold, as DataFusion reads them: one result (one JSON document, one
/// CSV header) whose first column names each column's table.
async fn lake_schema(args: &Args, lake: &str) -> Result<()> {
    let lake = crate::common::LakeArg {
        lake: lake.to_owned(),
    }
    .open_existing()
    .await?;
    let session = pstn_lake_query::LakeSession::open(&lake, &crate::common::known_tables()).await?;
    let names: Vec<String> = match args.table {
        Some(t) => vec![t.name().to_owned()],
        None => session.tables().to_vec(),
    };
    let table_field = Field::new("table", DataType::Utf8, false);
    let mut schema = Arc::new(Schema::new(vec![table_field.clone()]));
    let mut batches = Vec::new();
    for name in names {
        // Table names come from the lake listing or the Table enum, never from free text.
        let df = session.query(&format!("DESCRIBE \"{name}\"")).await?;
        let mut fields = vec![table_field.clone()];
        fields.extend(df.schema().fields().iter().map(|f| f.as_ref().clone()));
        schema = Arc::new(Schema::new(fields));
        for batch in df.collect().await? {
            let table: ArrayRef =
                Arc::new(StringArray::from(vec![name.as_str(); batch.num_rows()]));
            let columns = std::iter::once(table).chain(batch.columns().iter().cloned());
            batches.push(RecordBatch::try_new(
                Arc::clone(&schema),
                columns.collect(),
            )?);
        }
    }
    crate::common::to_stdout(|out| Ok(pstn_lake_query::write(out, args.format, &schema, &batches)?))
}

pub async fn run(args: Args) -> Result<()> {
    if let Some(lake) = &args.lake {
        return lake_schema(&args, lake).await;
    }
    let tables = match args.table {
        Some(t) => vec![t],
        None => Table::ALL.to_vec(),
    };
    let mut cols: [Vec<String>; 6] = Default::default();
    for table in tables {
        let mut push = |column: String, ty: String, graph: &str, api: &str| {
            let note = note(table, &column).to_owned();
            for (v, c) in [
                table.name().to_owned(),
                column,
                ty,
                graph.to_owned(),
                api.to_owned(),
                note,
            ]
            .into_iter()
            .zip(cols.iter_mut())
            {
                c.push(v);
            }
        };
        for p in table.properties() {
            let api = if p.beta { "beta" } else { "v1.0, beta" };
            let graph = match (table, p.graph_name) {
                (Table::Users, name @ ("costCenter" | "division")) => {
                    format!("employeeOrgData.{name}")
                }
                (_, name) => name.to_owned(),
            };
            push(
                snake_case(p.graph_name),
                data_type(p.kind).to_string(),
                &graph,
                api,
            );
        }
        push(
            EXTRA_PROPERTIES.into(),
            DataType::Utf8.to_string(),
            "(unknown properties, JSON)",
            "",
        );
        for column in table.derived_columns() {
            let ty = table
                .schema()
                .field_with_name(column)
                .expect("a derived column is in the schema")
                .data_type()
                .to_string();
            let what = if column == pstn_lake_fetch::ROW_KEY {
                "(pstn-lake: the row's key, from its identifying values)"
            } else if column == pstn_lake_fetch::REMOVED {
                "(pstn-lake: why the user left the directory; @removed.reason, or missing)"
            } else {
                "(pstn-lake: the requested window)"
            };
            push(column.into(), ty, what, "");
        }
        push(
            pstn_lake_sink::partition_column(table.name()).into(),
            DataType::Date32.to_string(),
            if table.is_snapshot() {
                "(partition: UTC day of the snapshot)"
            } else {
                "(partition: UTC day of the call)"
            },
            "",
        );
    }
    let names = ["table", "column", "type", "graph_property", "api", "note"];
    let schema = Arc::new(Schema::new(
        names.map(|n| Field::new(n, DataType::Utf8, false)).to_vec(),
    ));
    let arrays: Vec<ArrayRef> = cols
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
    crate::common::to_stdout(|out| Ok(pstn_lake_query::write(out, args.format, &schema, &[batch])?))
}

/// What a column's values mean, where the name does not say it (empty otherwise).
fn note(table: Table, column: &str) -> &'static str {
    match (table, column) {
        (Table::PstnCalls, "call_type") => {
            "user_in/user_out: a user's; conf_in/conf_out: audio conferencing; \
             ucap_in/ucap_out: auto attendant or call queue; emergency"
        }
        (Table::DirectRoutingCalls, "call_type") => {
            "ByotIn/ByotOut: in/out through your SBC; ...UserForwarding, \
             ...UserTransfer: forwarded or transferred by a user"
        }
        (_, "charge" | "connection_charge" | "call_charge" | "total_call_charge") => {
            "in `currency`; sum only within one currency"
        }
        (_, "duration" | "total_call_seconds") => "seconds",
        (Table::SmsLogs, "sms_id") => "not unique: `id` is the key",
        (Table::PstnBlockedUsers, "user_block_mode") => "blocked, unblocked",
        (Table::PstnBlockedUsers, "row_key") => "remediation_id|user_id|block_date_time",
        (Table::PstnDialoutReport, "row_key") => {
            "user_id|usage_location|destination_context|currency (unique within its day)"
        }
        (Table::PstnDialoutReport, "from_date_time" | "to_date_time") => {
            "the UTC day the totals are for: [from, to)"
        }
        _ => "",
    }
}
