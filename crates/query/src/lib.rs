//! SQL over a pstn-lake with DataFusion: every lake table registered as a Hive-partitioned Parquet
//! listing (`call_date` prunes days), a catalog of reports from `sql/`, read-only ad-hoc SQL, and
//! output as a terminal table, CSV, JSON or Markdown.
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
mod error;
mod format;
mod session;

pub use catalog::{ChartKind, ChartSpec, Report, ReportParams, report, reports};
pub use error::{Error, Result};
pub use format::{Format, write};
pub use session::{LakeSession, PARTITION_COLUMN};
