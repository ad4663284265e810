//! What pstn-lake's commands do, as a library: plan the days to sync, fetch or read Graph pages,
//! decode them, land them in the lake, keep the raw archive and the sync state — each run ending
//! in a typed report ([`SyncReport`], [`IngestReport`], [`RebuildReport`]) that a caller prints
//! (`Display` gives the summary the CLI shows) or inspects.
//!
//! The pipeline never prints: a run reports its progress to a [`Progress`] ([`NoProgress`] shows
//! nothing). Errors are [`Error`] variants that name the table, day, input or lake.
//!
//! ```no_run
//! # async fn example() -> pstn_lake_pipeline::Result<()> {
//! use pstn_lake_pipeline::{IngestOptions, Input, Lake, NoProgress, ingest};
//!
//! let lake = Lake::open("./lake")?;
//! let inputs = Input::expand(&["data/samples".to_owned()])?;
//! let report = ingest(&lake, &inputs, &IngestOptions::default(), &NoProgress).await?;
//! println!("{report}");
//! for (table, landed) in &report.tables {
//!     println!("{table}: {} days written", landed.days.len());
//! }
//! # Ok(()) }
//! ```

mod check;
mod day;
mod days;
mod directory;
mod error;
mod ingest;
mod lake;
#[cfg(feature = "delta")]
pub mod maintain;
mod plan;
mod privacy;
mod progress;
mod purge;
mod rebuild;
mod spec;
mod sync;

pub use day::Quarantined;
pub use days::Days;
pub use error::{Error, Result};
pub use ingest::{
    DayWritten, IngestOptions, IngestReport, Input, TableIngested, decode_pages, ingest,
};
pub use plan::{FIRST_SYNC_DAYS, FirstSync, Plan, plan};
pub use privacy::{Privacy, check_pseudonymised_column, is_phone_number};
pub use progress::{DaySynced, NoProgress, Progress};
pub use pstn_lake_fetch::{ApiVersion, Credentials, GraphConfig, Table};
pub use pstn_lake_sink::{Lake, PrivacyKeys, Pseudonymiser, TableFormat};
pub use purge::{PurgeOptions, PurgeReport, Purged, purge};
pub use rebuild::{RebuildReport, rebuild};
pub use spec::table_spec;
pub use sync::{SkippedTable, SyncOptions, SyncReport, api_version, sync};
