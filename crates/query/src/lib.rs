//! SQL over a pstn-lake with DataFusion: every lake table registered as a Hive-partitioned Parquet
//! listing (`call_date` prunes days), a catalog of reports from `sql/` (this crate's folder), read-only ad-hoc SQL, and
//! output as a terminal table, CSV, JSON, NDJSON, Markdown or Parquet.
//!
//! ```no_run
//! # async fn demo() -> pstn_lake_query::Result<()> {
//! use pstn_lake_query::{LakeSession, ReportParams, report};
//! let lake = pstn_lake_sink::Lake::open("./lake")?;
//! let session = LakeSession::open(&lake, &[]).await?;
//! let (schema, batches) = session.run_report(&report("charges-by-country")?, &ReportParams::default()).await?;
//! pstn_lake_query::write(&mut std::io::stdout(), pstn_lake_query::Format::Table, &schema, &batches)?;
//! # Ok(()) }
//! ```

mod catalog;
mod chart;
mod error;
mod format;
mod html;
mod mapping;
mod params;
#[cfg(test)]
mod python;
mod session;
mod sql_error;

pub use catalog::{ChartKind, ChartSpec, Report, report, reports};
pub use chart::{
    Chart, ChartFormat, DEFAULT_WIDTH, MAX_BARS, MAX_POINTS, PANEL_HEIGHT, chart_spec, chart_title,
    date_range, render_chart,
};
pub use error::{Error, Result};
pub use format::{Format, write, write_parquet};
pub use html::{HtmlPage, applicable_params, escape as html_escape};
pub use mapping::{MAPPING_TABLE, read_mapping};
pub use params::{BY, Param, ReportParams};
pub use session::{AsOf, LakeSession, PARTITION_COLUMN};
