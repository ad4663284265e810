//! Landing a stream of batches that may cover many days, in any order, with bounded memory.
//!
//! Batches are split by day and held in memory. A day that has not received rows for a while (with
//! Graph pages in order: a day that is complete), or any day once the held rows pass the memory
//! budget, is handed to a background encoder thread, which pushes the rows to the day's
//! [`DayWriter`] and has it write them as a part. Encoding so overlaps decoding, and what waits
//! for the commit is compressed Parquet, not Arrow.
//!
//! Nothing is written to any table before [`Landing::commit`], which commits each day's writer:
//! the one rule of [`DayWriter::commit`] decides whether the day is put in place as encoded or
//! merged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};

use crate::day_writer::Spool;
use crate::lake::SPOOL_DIR;
use crate::{
    DayCommit, DayWriter, EncodeSlots, Lake, Result, STATE_DIR, TableFormat, TableSpec,
    split_by_day,
};

/// Default bytes of decoded rows held in memory before days are handed to the encoder early.
pub const DEFAULT_MEMORY_BUDGET: usize = 128 * 1024 * 1024;

/// A held day that has received no rows during this many pushes is handed to the encoder.
const IDLE_PUSHES: u64 = 8;

/// Collects rows for a table, then writes every day they touch.
pub struct Landing {
    lake: Lake,
    spec: TableSpec,
    /// Rows held in memory, by day.
    held: BTreeMap<NaiveDate, Held>,
    held_bytes: usize,
    budget: usize,
    rows: usize,
    pushes: u64,
    concurrency: usize,
    encoder: Option<Encoder>,
    /// The days' writers, once the encoder has finished.
    writers: BTreeMap<NaiveDate, DayWriter>,
}

#[derive(Default)]
struct Held {
    /// Rows held in memory, in the order they were pushed.
    batches: Vec<RecordBatch>,
    bytes: usize,
    last_push: u64,
}

/// A background thread that owns the days' writers and has them encode the rows handed over.
struct Encoder {
    jobs: Option<SyncSender<(NaiveDate, Vec<RecordBatch>)>>,
    thread: Option<JoinHandle<Result<BTreeMap<NaiveDate, DayWriter>>>>,
}

impl Encoder {
    fn start(spec: TableSpec, lake: &Lake) -> Result<Encoder> {
        let spool = Arc::new(Spool::create(lake)?);
        // No queue: handing a day over waits while the previous one is being encoded, which
        // bounds memory to the day being encoded plus the days being collected.
        let (jobs, inbox) = sync_channel::<(NaiveDate, Vec<RecordBatch>)>(0);
        let thread = std::thread::Builder::new()
            .name("pstn-lake-encode".into())
            .spawn(move || {
                // The only encoder of this landing: one slot.
                let slots = EncodeSlots::new(1);
                let mut writers = BTreeMap::new();
                for (day, batches) in inbox {
                    let writer = writers.entry(day).or_insert_with(|| {
                        DayWriter::in_spool(
                            Arc::clone(&spool),
                            &spec,
                            day,
                            slots.clone(),
                            usize::MAX,
                        )
                    });
                    for batch in batches {
                        writer.push(batch)?;
                    }
                    writer.end_part()?;
                }
                Ok(writers)
            })?;
        Ok(Encoder {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Stops taking jobs, waits for the queued ones and gives back the writers (or the first
    /// error).
    fn finish(&mut self) -> Result<BTreeMap<NaiveDate, DayWriter>> {
        self.jobs = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(writers)) => writers,
            Some(Err(_)) => Err(std::io::Error::other("the encoder thread panicked").into()),
            None => Ok(BTreeMap::new()),
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// What a landing wrote.
#[derive(Debug, Clone, Default)]
pub struct LandingSummary {
    /// One entry per day written, in day order.
    pub days: Vec<DayCommit>,
    /// Rows handed in.
    pub rows_in: usize,
    /// Bytes of encoded days kept in the local temporary folder until the commit.
    pub spooled_bytes: u64,
    /// Days that could not be put in place as encoded (rows out of order, or a day the lake
    /// holds) and were read back and merged.
    pub merged_days: usize,
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
            held: BTreeMap::new(),
            held_bytes: 0,
            budget: DEFAULT_MEMORY_BUDGET,
            rows: 0,
            pushes: 0,
            concurrency: 2,
            encoder: None,
            writers: BTreeMap::new(),
        }
    }

    /// Bytes of rows to hold in memory before days are handed to the encoder early.
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    /// Days written at once by [`Landing::commit`].
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

    /// Adds rows (of any days). Nothing is written to the lake until [`Landing::commit`]; this
    /// may wait for the encoder when it is behind (that is what bounds memory).
    pub fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows();
        self.pushes += 1;
        for (day, part) in split_by_day(&self.spec, batch)? {
            let bytes = part.get_array_memory_size();
            self.held_bytes += bytes;
            let held = self.held.entry(day).or_default();
            held.bytes += bytes;
            held.batches.push(part);
            held.last_push = self.pushes;
        }
        // Days that stopped receiving rows are complete as far as we can tell: encode them now.
        let idle: Vec<NaiveDate> = self
            .held
            .iter()
            .filter(|(_, h)| !h.batches.is_empty() && h.last_push + IDLE_PUSHES <= self.pushes)
            .map(|(d, _)| *d)
            .collect();
        for day in idle {
            self.hand_over(day)?;
        }
        // Past the budget, the biggest held days go too, even if more rows for them may come.
        while self.held_bytes > self.budget {
            let Some(day) = self
                .held
                .iter()
                .filter(|(_, h)| !h.batches.is_empty())
                .max_by_key(|(_, h)| h.bytes)
                .map(|(d, _)| *d)
            else {
                break;
            };
            self.hand_over(day)?;
        }
        Ok(())
    }

    /// Gives a day's held rows to the encoder as the day's next part.
    fn hand_over(&mut self, day: NaiveDate) -> Result<()> {
        if self.encoder.is_none() {
            self.encoder = Some(Encoder::start(self.spec.clone(), &self.lake)?);
        }
        let encoder = self.encoder.as_mut().expect("started");
        let held = self.held.get_mut(&day).expect("held");
        let batches = std::mem::take(&mut held.batches);
        self.held_bytes -= std::mem::take(&mut held.bytes);
        let sent = encoder.jobs.as_ref().expect("open").send((day, batches));
        if sent.is_err() {
            // The thread stopped early: its result says why.
            encoder.finish()?;
            return Err(std::io::Error::other("the encoder thread stopped").into());
        }
        Ok(())
    }

    /// Encodes every day still held and waits for the encoder: what [`Landing::commit`] does
    /// first, for callers that want to know when only writing the lake is left.
    pub fn finish_encoding(&mut self) -> Result<()> {
        let held: Vec<NaiveDate> = self
            .held
            .iter()
            .filter(|(_, h)| !h.batches.is_empty())
            .map(|(d, _)| *d)
            .collect();
        for day in held {
            self.hand_over(day)?;
        }
        if let Some(mut encoder) = self.encoder.take() {
            self.writers = encoder.finish()?;
        }
        Ok(())
    }

    /// Writes every day that received rows (merging with what the lake holds), in day order.
    ///
    /// Each day is replaced atomically. If a day fails, the days before it stay written, the
    /// failing day and the days after it are unchanged, and the error says which day failed.
    pub async fn commit(mut self) -> Result<LandingSummary> {
        self.finish_encoding()?;
        let writers = std::mem::take(&mut self.writers);
        let spooled_bytes = writers.values().map(DayWriter::spooled_bytes).sum();
        let lake = &self.lake;
        let mut days: Vec<DayCommit> = match lake.table_format().await? {
            TableFormat::Parquet => {
                futures::stream::iter(writers.into_values())
                    .map(|writer| writer.commit(lake))
                    .buffered(self.concurrency)
                    .try_collect()
                    .await?
            }
            TableFormat::Delta => commit_delta(lake, &self.spec, writers).await?,
        };
        days.sort_by_key(|c| c.day);
        Ok(LandingSummary {
            merged_days: days.iter().filter(|c| c.merged).count(),
            days,
            rows_in: self.rows,
            spooled_bytes,
        })
    }
}

/// Commits the days to a Delta table, as one transaction (see `crate::delta`).
#[cfg(feature = "delta")]
async fn commit_delta(
    lake: &Lake,
    spec: &TableSpec,
    writers: BTreeMap<NaiveDate, DayWriter>,
) -> Result<Vec<DayCommit>> {
    let mut days = Vec::new();
    for writer in writers.into_values() {
        days.extend(writer.into_spooled().await?);
    }
    crate::delta::commit(lake, spec, days).await
}

#[cfg(not(feature = "delta"))]
async fn commit_delta(
    lake: &Lake,
    _: &TableSpec,
    _: BTreeMap<NaiveDate, DayWriter>,
) -> Result<Vec<DayCommit>> {
    Err(crate::Error::NoDelta {
        url: lake.url().to_string(),
    })
}

/// A landing's spool folder older than this is a crashed writer's leftover and is removed.
const STALE_SPOOL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Removes what crashed writers left in a local lake's spool: files on their way into place
/// (`put-*`: written only under the lake's OS lock, so the caller, which holds it, is the only
/// writer that can be using one) and landings' folders older than [`STALE_SPOOL`] (a landing
/// spools before it takes the lock, so a recent one may belong to a live process).
pub(crate) async fn remove_spool(lake: &Lake) {
    let Some(folder) = lake.folder() else {
        return;
    };
    let spool = folder.join(STATE_DIR).join(SPOOL_DIR);
    let Ok(entries) = std::fs::read_dir(&spool) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(crate::local::PUT_PREFIX) {
            let _ = std::fs::remove_file(&path);
        } else if entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_SPOOL)
        {
            let _ = std::fs::remove_dir_all(&path);
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

    /// Every file under `dir`, as paths relative to it.
    fn files_under(dir: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn a_local_lake_spools_inside_itself_and_renames_new_days_into_place() {
        let (dir, lake) = temp_lake();
        let spool = dir.path().join(STATE_DIR).join(SPOOL_DIR);
        for commit in [false, true] {
            // A budget of one byte hands each push's days to the encoder at once; the encoder
            // takes a job only when it has finished the one before, so after the second push the
            // first push's day is encoded in the spool.
            let mut landing = Landing::new(lake.clone(), spec()).with_memory_budget(1);
            landing.push(&batch("a", 100, 1)).unwrap();
            landing.push(&batch("b", 100, 1)).unwrap();
            let spooled = files_under(&spool);
            assert!(
                !spooled.is_empty() && spooled.iter().all(|f| f.ends_with(".parquet")),
                "{spooled:?}"
            );
            assert!(
                files_under(dir.path())
                    .iter()
                    .all(|f| f.starts_with(STATE_DIR)),
                "nothing in a table before the commit"
            );
            if commit {
                let summary = landing.commit().await.unwrap();
                assert_eq!(summary.rows_after(), 200);
            } else {
                drop(landing);
            }
            assert!(
                files_under(&spool).is_empty(),
                "the landing's spool is removed (commit: {commit})"
            );
        }
        // One part for a new day: renamed, not merged; the lake file is the encoded part.
        let (dir, lake) = temp_lake();
        let mut landing = Landing::new(lake.clone(), spec());
        landing.push(&batch("c", 500, 2)).unwrap();
        let summary = landing.commit().await.unwrap();
        assert_eq!(summary.merged_days, 0);
        assert_eq!(summary.rows_after(), 500);
        for day in &summary.days {
            let file = dir.path().join(
                lake.day_file(&spec().name, day.day)
                    .as_ref()
                    .trim_start_matches(lake.root().as_ref())
                    .trim_start_matches('/'),
            );
            assert_eq!(std::fs::metadata(&file).unwrap().len(), day.bytes);
        }
        assert!(files_under(&dir.path().join(STATE_DIR).join(SPOOL_DIR)).is_empty());
    }

    #[tokio::test]
    async fn a_day_that_stops_receiving_rows_goes_to_the_encoder_before_the_end() {
        // Rows of the first day, then pushes of the second day only, then more rows of the first
        // day. Eight pushes without rows hand the first day to the encoder (well within the
        // memory budget), so its later rows are a second part, merged with the first at commit;
        // after seven it is still held, and its rows are encoded once.
        for (idle_pushes, merged_days) in [(7, 0), (8, 1)] {
            let (_dir, lake) = temp_lake();
            let mut landing = Landing::new(lake.clone(), spec());
            landing.push(&batch("early", 10, 1)).unwrap();
            for push in 0..idle_pushes {
                let rows = batch(&format!("second-{push}"), 2, 2).slice(1, 1);
                landing.push(&rows).unwrap();
            }
            landing.push(&batch("late", 10, 1)).unwrap();
            let summary = landing.commit().await.unwrap();
            assert_eq!(summary.days.len(), 2);
            assert_eq!(
                summary.merged_days, merged_days,
                "{idle_pushes} idle pushes"
            );
            assert_eq!(summary.rows_after(), 20 + idle_pushes);
        }
    }

    #[tokio::test]
    async fn days_encoded_in_parts_and_whole_all_land() {
        for budget in [1, usize::MAX] {
            let (_dir, lake) = temp_lake();
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
            assert_eq!(landing.rows(), 6000);
            let summary = landing.commit().await.unwrap();
            assert_eq!(summary.rows_in, 6000);
            assert_eq!(summary.days.len(), 4);
            assert_eq!(summary.rows_after(), 5000);
            assert!(summary.spooled_bytes > 1024, "{}", summary.spooled_bytes);
            // Within the budget each day is encoded once and put in place as it is; at a budget
            // of one byte every push hands its days over, so each day has several parts to merge.
            assert_eq!(summary.merged_days, if budget == 1 { 4 } else { 0 });
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

            // The same rows again (a re-run): every day is in the lake now, so each is merged
            // with what it holds, and nothing is doubled.
            let mut again = Landing::new(lake.clone(), spec()).with_memory_budget(budget);
            for part in 0..5 {
                again.push(&batch(&format!("p{part}"), 1000, 4)).unwrap();
            }
            let summary = again.commit().await.unwrap();
            assert_eq!(summary.merged_days, 4);
            assert_eq!(summary.rows_after(), 5000);
        }
    }
}
