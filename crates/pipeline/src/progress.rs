//! How a long run reports its progress: the pipeline never prints; the caller shows what it likes.

use std::time::Duration;

use chrono::NaiveDate;
use pstn_lake_fetch::Table;

use crate::Plan;

/// Receives a run's progress. Every method does nothing by default; [`NoProgress`] is the
/// implementation that shows nothing.
pub trait Progress: Send + Sync {
    /// A sync planned its (table, day) pairs; this comes before any request to Graph.
    fn sync_planned(&self, plan: &Plan) {
        let _ = plan;
    }

    /// A sync finished one (table, day) pair.
    fn day_synced(&self, done: &DaySynced) {
        let _ = done;
    }

    /// An ingest decoded and placed its inputs up to `done` of `inputs`, `pages` pages so far.
    fn inputs_decoded(&self, done: usize, inputs: usize, pages: usize) {
        let _ = (done, inputs, pages);
    }

    /// An ingest decoded and encoded everything and now writes its days to the lake (large,
    /// short-lived merge buffers from here on).
    fn ingest_writing(&self) {}

    /// A rebuild starts on `table`, which has `days` archived days in the range.
    fn rebuild_started(&self, table: Table, days: usize) {
        let _ = (table, days);
    }

    /// A rebuild finished one day.
    fn day_rebuilt(&self, table: Table, day: NaiveDate) {
        let _ = (table, day);
    }
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// One (table, day) pair a sync finished, with the run's counters so far.
#[derive(Debug, Clone)]
pub struct DaySynced {
    /// The table.
    pub table: Table,
    /// The day.
    pub day: NaiveDate,
    /// Rows of the day landed.
    pub rows: u64,
    /// Rows fetched so far in the run (every day, including rows of neighbouring days).
    pub fetched_rows: u64,
    /// Pages fetched so far.
    pub pages: u64,
    /// 429 answers so far.
    pub throttled: u64,
    /// Time waited because Graph throttled, so far.
    pub throttled_wait: Duration,
    /// Time since the sync started fetching.
    pub elapsed: Duration,
}
