//! The lake writer of pstn-lake: any stream of Arrow record batches, landed as Hive-partitioned
//! Parquet (`<lake>/<table>/call_date=YYYY-MM-DD/data.parquet`) on any `object_store`.
//!
//! It knows nothing about Graph. A [`TableSpec`] says which column is the row key, which
//! timestamp columns place a row in its UTC day, and how to sort. Every day is written with three
//! guarantees:
//!
//! 1. **idempotent**: landing the same rows twice leaves one row per key;
//! 2. **atomic per day**: a day is one object, replaced in one step (a reader sees the old day or
//!    the new one, never a partial file or both);
//! 3. **merge**: landing part of a day keeps the day's other rows; new rows win by key.
//!
//! ```
//! # async fn demo(batch: arrow::array::RecordBatch) -> pstn_lake_sink::Result<()> {
//! use pstn_lake_sink::{Lake, Landing, TableSpec};
//! let lake = Lake::open("./lake")?;
//! let spec = TableSpec::new("pstn_calls", batch.schema(), "id", ["start_date_time"], "start_date_time");
//! let mut landing = Landing::new(lake, spec);
//! landing.push(&batch)?;
//! let summary = landing.commit().await?;
//! println!("{} days written", summary.days.len());
//! # Ok(()) }
//! ```

mod day;
mod day_writer;
#[cfg(feature = "delta")]
mod delta;
mod encode;
mod error;
mod format;
mod json_state;
mod lake;
mod landing;
mod local;
mod lock;
mod partition;
mod privacy;
mod purge;
mod quarantine;
mod raw;
mod run_log;
mod spec;
mod state;
#[cfg(test)]
mod test_util;

pub use chrono::NaiveDate;
pub(crate) use day::write_day;
pub use day::{DayCommit, read_day};
pub use day_writer::{DayWriter, EncodeSlots, PART_ROWS};
#[cfg(feature = "delta")]
pub use delta::{
    AsOf, Commit, Converted, Optimized, Vacuum, Vacuumed, convert, delta_schema, delta_table,
    history, optimize, vacuum,
};
#[cfg(feature = "delta")]
pub use deltalake;
pub use error::{Error, Result};
pub use format::TableFormat;
pub use lake::{
    DAY_FILE, Lake, PARTITION_COLUMN, SNAPSHOT_COLUMN, SNAPSHOT_TABLES, STATE_DIR, day_folder,
    partition_column,
};
pub use landing::{Landing, LandingSummary};
pub use lock::LakeLock;
pub use partition::{day_of_micros, split_by_day};
pub use privacy::{
    CALLING_CODES, MIN_KEY_BYTES, PRIVACY_RECORD, PrivacyKeys, PrivacySetting, Pseudonymiser,
    TOKEN_PREFIX, calling_code,
};
pub use purge::delete_days;
pub use quarantine::{
    QUARANTINE_DIR, quarantine_days, quarantine_path, remove_quarantine, store_quarantine,
};
pub use raw::{RAW_DIR, RawArchive, RawArchiveError, RawDay, RawPages, raw_days, read_raw};
pub use run_log::RunLog;
pub use spec::TableSpec;
pub use state::{SyncState, TableState};
