//! Landing a stream of batches that may cover many days, in any order, with bounded memory.
//!
//! Batches are split by day and held in memory up to a budget; past it, held rows are spilled to
//! Arrow IPC files in a local temporary folder, one per day. [`Landing::commit`] then writes the
//! days one after another (two at a time), so memory grows with one day's rows, not the input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::time::{Duration, SystemTime};

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use crate::error::arrow;
use crate::{DayCommit, Lake, Result, TableSpec, split_by_day, write_day};

/// Default bytes of decoded rows held in memory before spilling to local disk.
pub const DEFAULT_MEMORY_BUDGET: usize = 128 * 1024 * 1024;

/// Staging objects older than this are leftovers of a crashed writer and are removed.
const STALE_STAGING: Duration = Duration::from_secs(6 * 3600);

/// Collects rows for a table, then writes every day they touch.
pub struct Landing {
    lake: Lake,
    spec: TableSpec,
    days: BTreeMap<NaiveDate, DayBuffer>,
    held_bytes: usize,
    budget: usize,
    spool: Option<tempfile::TempDir>,
    rows: usize,
    concurrency: usize,
}

#[derive(Default)]
struct DayBuffer {
    batches: Vec<RecordBatch>,
    spill: Option<(std::path::PathBuf, StreamWriter<BufWriter<File>>)>,
}

/// What a landing wrote.
#[derive(Debug, Clone, Default)]
pub struct LandingSummary {
    /// One entry per day written, in day order.
    pub days: Vec<DayCommit>,
    /// Rows handed in.
    pub rows_in: usize,
    /// Bytes spilled to local disk while collecting (0 when everything fit the memory budget).
    pub spilled_bytes: u64,
}

impl LandingSummary {
    /// Rows the written days hold now.
    pub fn rows_after(&self) -> usize {
        self.days.iter().map(|d| d.rows_after).sum()
    }
}

impl Landing {
    /// A landing into `lake` for the table `spec`.
    pub fn new(lake: Lake, spec: TableSpec) -> Self {
        Landing {
            lake,
            spec,
            days: BTreeMap::new(),
            held_bytes: 0,
            budget: DEFAULT_MEMORY_BUDGET,
            spool: None,
            rows: 0,
            concurrency: 2,
        }
    }

    /// Bytes of rows to hold in memory before spilling to local disk.
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    /// Days written at once by [`Landing::commit`] (each day is one Parquet encoder).
    pub fn with_concurrency(mut self, days: usize) -> Self {
        self.concurrency = days.max(1);
        self
    }

    /// The table being landed.
    pub fn spec(&self) -> &TableSpec {
        &self.spec
    }

    /// Rows handed in so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds rows (of any days). Nothing is written to the lake until [`Landing::commit`].
    pub fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows();
        for (day, part) in split_by_day(&self.spec, batch)? {
            self.held_bytes += part.get_array_memory_size();
            self.days.entry(day).or_default().batches.push(part);
        }
        if self.held_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        if self.spool.is_none() {
            self.spool = Some(
                tempfile::Builder::new()
                    .prefix("pstn-lake-spool-")
                    .tempdir()?,
            );
        }
        let dir = self.spool.as_ref().expect("created").path().to_owned();
        for (day, buffer) in &mut self.days {
            if buffer.batches.is_empty() {
                continue;
            }
            if buffer.spill.is_none() {
                let path = dir.join(format!("{day}.arrows"));
                let writer =
                    StreamWriter::try_new(BufWriter::new(File::create(&path)?), &self.spec.schema)
                        .map_err(arrow("spilling to disk"))?;
                buffer.spill = Some((path, writer));
            }
            let (_, writer) = buffer.spill.as_mut().expect("created");
            for batch in buffer.batches.drain(..) {
                writer.write(&batch).map_err(arrow("spilling to disk"))?;
            }
        }
        self.held_bytes = 0;
        Ok(())
    }

    /// Writes every day that received rows (merging with what the lake holds), in day order.
    ///
    /// Each day is replaced atomically. If a day fails, the days before it stay written, the
    /// failing day and the days after it are unchanged, and the error says which day failed.
    pub async fn commit(mut self) -> Result<LandingSummary> {
        let spilled_bytes = self.finish_spill()?;
        self.remove_stale_staging().await;
        let lake = &self.lake;
        let spec = &self.spec;
        let days = std::mem::take(&mut self.days);
        let mut commits: Vec<DayCommit> = futures::stream::iter(days)
            .map(|(day, buffer)| async move {
                let mut batches = Vec::new();
                if let Some((path, _)) = &buffer.spill {
                    let reader = StreamReader::try_new(BufReader::new(File::open(path)?), None)
                        .map_err(arrow("reading spilled rows"))?;
                    for batch in reader {
                        batches.push(batch.map_err(arrow("reading spilled rows"))?);
                    }
                }
                batches.extend(buffer.batches);
                write_day(lake, spec, day, batches).await
            })
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        commits.sort_by_key(|c| c.day);
        Ok(LandingSummary {
            days: commits,
            rows_in: self.rows,
            spilled_bytes,
        })
    }

    fn finish_spill(&mut self) -> Result<u64> {
        let mut bytes = 0;
        for buffer in self.days.values_mut() {
            if let Some((path, writer)) = &mut buffer.spill {
                writer.finish().map_err(arrow("spilling to disk"))?;
                bytes += std::fs::metadata(path)?.len();
            }
        }
        Ok(bytes)
    }

    /// Removes staging objects left by writers that crashed hours ago (never recent ones: another
    /// writer that does not use the lake lock may be using them).
    async fn remove_stale_staging(&self) {
        remove_staging(&self.lake, Some(STALE_STAGING)).await;
    }
}

/// Removes staging objects (older than `older_than`, or all): leftovers of crashed writers.
pub(crate) async fn remove_staging(lake: &Lake, older_than: Option<Duration>) {
    let prefix = lake.state_path("staging");
    let Ok(objects) = lake
        .store()
        .list(Some(&prefix))
        .try_collect::<Vec<_>>()
        .await
    else {
        return;
    };
    let now = SystemTime::now();
    for object in objects {
        let modified: SystemTime = object.last_modified.into();
        let age = now.duration_since(modified).unwrap_or_default();
        if older_than.is_none_or(|limit| age > limit) {
            let _ = lake.store().delete(&object.location).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, Int64Array, StringArray, TimestampMicrosecondArray};

    use super::*;
    use crate::read_day;
    use crate::test_util::{spec, temp_lake};

    /// `rows` rows spread over `days` days, ids `prefix-i`.
    fn batch(prefix: &str, rows: i64, days: i64) -> RecordBatch {
        let day = 86_400_000_000i64;
        RecordBatch::try_new(
            spec().schema,
            vec![
                Arc::new(StringArray::from(
                    (0..rows)
                        .map(|i| format!("{prefix}-{i}"))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(
                    TimestampMicrosecondArray::from(
                        (0..rows).map(|i| (i % days) * day + i).collect::<Vec<_>>(),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from((0..rows).collect::<Vec<_>>())),
            ],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn rows_beyond_the_budget_spill_to_disk_and_all_land() {
        let (_dir, lake) = temp_lake();
        for budget in [1, usize::MAX] {
            let mut landing = Landing::new(lake.clone(), spec()).with_memory_budget(budget);
            for part in 0..5 {
                landing.push(&batch(&format!("p{part}"), 1000, 4)).unwrap();
            }
            // Re-pushing part 0 with other values: the later rows win.
            let mut again = batch("p0", 1000, 4);
            let n: Vec<i64> = (0..1000).map(|i| -i).collect();
            again = RecordBatch::try_new(
                spec().schema,
                vec![
                    Arc::clone(again.column(0)),
                    Arc::clone(again.column(1)),
                    Arc::new(Int64Array::from(n)),
                ],
            )
            .unwrap();
            landing.push(&again).unwrap();
            let summary = landing.commit().await.unwrap();
            assert_eq!(summary.rows_in, 6000);
            assert_eq!(summary.days.len(), 4);
            assert_eq!(summary.rows_after(), 5000);
            assert_eq!(summary.spilled_bytes > 0, budget == 1, "budget {budget}");
            let day = summary.days[0].day;
            let rows = read_day(&lake, &spec(), day).await.unwrap();
            let values: i64 = rows
                .iter()
                .flat_map(|b| {
                    let ids = b.column(0).as_string::<i32>().clone();
                    let n = b
                        .column(2)
                        .as_primitive::<arrow::datatypes::Int64Type>()
                        .clone();
                    (0..b.num_rows())
                        .filter(move |&i| ids.value(i).starts_with("p0-"))
                        .map(move |i| n.value(i))
                        .collect::<Vec<_>>()
                })
                .sum();
            assert!(values <= 0, "the re-pushed p0 rows won: {values}");
        }
    }
}
