//! `pstn-lake report`: run a report from the catalog in `sql/`.

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use pstn_lake_query::{Format, LakeSession, ReportParams};

use crate::common::{LakeArg, known_tables, parse_date};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report to run (see --list).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,

    /// List the reports with what each answers.
    #[arg(long)]
    pub list: bool,

    /// Print the report's SQL instead of running it.
    #[arg(long)]
    pub show_sql: bool,

    /// First day (UTC, YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Last day (UTC, YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,

    /// Output format: table, csv, json or markdown.
    #[arg(long, default_value = "table")]
    pub format: Format,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args) -> Result<()> {
    if args.list {
        for r in pstn_lake_query::reports() {
            println!("{:<26} {}", r.name, r.description);
        }
        return Ok(());
    }
    let name = args
        .name
        .as_deref()
        .expect("clap requires a name without --list");
    let report = pstn_lake_query::report(name)?;
    if args.show_sql {
        print!("{}", report.sql);
        return Ok(());
    }
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        bail!("--from {from} is after --to {to}");
    }
    let lake = args.lake.open()?;
    lake.check().await?;
    let session = LakeSession::open(&lake, &known_tables())
        .await
        .context("cannot open the lake for queries")?;
    let params = ReportParams {
        from: args.from,
        to: args.to,
        ..ReportParams::default()
    };
    let (schema, batches) = session
        .run_report(&report, &params)
        .await
        .with_context(|| format!("report {name} failed"))?;
    let mut out = std::io::stdout().lock();
    pstn_lake_query::write(&mut out, args.format, &schema, &batches)?;
    Ok(())
}
