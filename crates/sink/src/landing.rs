//! Landing a stream of batches that may cover many days, in any order, with bounded memory.
//!
//! Batches are split by day and held in memory. A day that has not received rows for a while (with
//! Graph pages in order: a day that is complete), or any day once the held rows pass the memory
//! budget, is handed to a background encoder thread. It merges the day's rows (unique keys, sorted)
//! and encodes them as the lake file they will become, into a local temporary folder. Encoding so
//! overlaps decoding, and what waits for the commit is compressed Parquet, not Arrow.
//!
//! Nothing is written to any table before [`Landing::commit`]. There a day encoded once, with
//! nothing else for it, is put in place as it is when the lake does not hold the day yet (a new
//! day); any other day (encoded in several parts, or already in the lake) is read back and merged
//! with [`write_day`].
//!
//! For a lake on the local file system the spool is a folder under `<lake>/_pstn_lake/spool/`, on
//! the lake's own file system, so a new day is put in place by a rename instead of being written a
//! second time; other lakes spool to the system's temporary folder and upload at the commit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};

use crate::day::{EncodedDay, decode_parquet, encode_into, merge, write_new_day_encoded};
use crate::lake::SPOOL_DIR;
use crate::{DayCommit, Lake, Result, STATE_DIR, TableSpec, split_by_day, write_day};

/// Default bytes of decoded rows held in memory before days are handed to the encoder early.
pub const DEFAULT_MEMORY_BUDGET: usize = 128 * 1024 * 1024;

/// A held day that has received no rows during this many pushes is handed to the encoder.
const IDLE_PUSHES: u64 = 8;

/// Collects rows for a table, then writes every day they touch.
pub struct Landing {
    lake: Lake,
    spec: TableSpec,
    days: BTreeMap<NaiveDate, DayBuffer>,
    held_bytes: usize,
    budget: usize,
    rows: usize,
    pushes: u64,
    concurrency: usize,
    encoder: Option<Encoder>,
}

#[derive(Default)]
struct DayBuffer {
    /// Rows held in memory, in the order they were pushed.
    batches: Vec<RecordBatch>,
    bytes: usize,
    /// Encoded parts, in the order their rows were pushed (filled in as the encoder finishes).
    parts: Vec<Option<Part>>,
    last_push: u64,
    /// Rows pushed for the day, duplicates included.
    rows_in: usize,
}

/// One encoded part of a day: merged rows as a lake file in the local spool.
struct Part {
    path: PathBuf,
    /// Whether the spool is inside the (local) lake, so the part can be renamed into place.
    in_lake: bool,
    rows: usize,
}

/// A background thread that merges and encodes days into a local temporary folder.
struct Encoder {
    spool: Spool,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<(NaiveDate, usize, Result<Part>)>,
    thread: Option<JoinHandle<()>>,
    sequence: u64,
}

struct Job {
    day: NaiveDate,
    slot: usize,
    batches: Vec<RecordBatch>,
    path: PathBuf,
    in_lake: bool,
}

/// The temporary folder of one landing's encoded parts (removed with everything in it when the
/// landing ends, whether it committed or failed).
struct Spool {
    dir: Option<tempfile::TempDir>,
    /// Whether the folder is inside a local lake (on the lake's file system).
    in_lake: bool,
}

impl Spool {
    /// A folder under `<lake>/_pstn_lake/spool/` for a local lake (falling back to the system's
    /// temporary folder if it cannot be made there), else in the system's temporary folder.
    fn create(lake: &Lake) -> Result<Spool> {
        if let Some(root) = lake.folder() {
            let parent = root.join(STATE_DIR).join(SPOOL_DIR);
            let dir = std::fs::create_dir_all(&parent).and_then(|()| {
                tempfile::Builder::new()
                    .prefix("ingest-")
                    .tempdir_in(&parent)
            });
            if let Ok(dir) = dir {
                return Ok(Spool {
                    dir: Some(dir),
                    in_lake: true,
                });
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("pstn-lake-spool-")
            .tempdir()?;
        Ok(Spool {
            dir: Some(dir),
            in_lake: false,
        })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.as_ref().expect("open until dropped").path()
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let parent = dir.path().parent().map(std::path::Path::to_owned);
            drop(dir);
            // `spool/` itself goes too once no landing uses it (this fails while one does).
            if self.in_lake
                && let Some(parent) = parent
            {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

impl Encoder {
    fn start(spec: TableSpec, lake: &Lake) -> Result<Encoder> {
        let spool = Spool::create(lake)?;
        // No queue: handing a day over waits while the previous one is being encoded, which
        // bounds memory to the day being encoded plus the days being collected.
        let (jobs, inbox) = sync_channel::<Job>(0);
        let (outbox, done) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("pstn-lake-encode".into())
            .spawn(move || {
                for job in inbox {
                    let part = encode_part(&spec, job.day, job.batches, job.path, job.in_lake);
                    if outbox.send((job.day, job.slot, part)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Encoder {
            spool,
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            sequence: 0,
        })
    }

    /// Stops taking jobs and waits for the queued ones to finish.
    fn finish(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Merges one day's rows and encodes them into `path`.
fn encode_part(
    spec: &TableSpec,
    day: NaiveDate,
    batches: Vec<RecordBatch>,
    path: PathBuf,
    in_lake: bool,
) -> Result<Part> {
    let merged = merge(spec, batches)?;
    let rows = merged.iter().map(RecordBatch::num_rows).sum();
    let name = format!("{}/{}", spec.name, crate::day_folder(day));
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    let file = encode_into(spec, merged, &name, file)?
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    if in_lake {
        // The part will be renamed into the lake, fsynced first (see `crate::local`): its bytes
        // start for the disk now, on a thread of their own while the next day is encoded, so
        // the commit's fsync finds little left to do. (Best effort: the commit's fsync is what
        // makes the file durable.)
        let _ = std::thread::Builder::new()
            .name("pstn-lake-fsync".into())
            .spawn(move || file.sync_data());
    }
    Ok(Part {
        path,
        in_lake,
        rows,
    })
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
    /// Days that could not be put in place as encoded (several parts, or already in the lake) and
    /// were read back and merged.
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
            days: BTreeMap::new(),
            held_bytes: 0,
            budget: DEFAULT_MEMORY_BUDGET,
            rows: 0,
            pushes: 0,
            concurrency: 2,
            encoder: None,
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
            let buffer = self.days.entry(day).or_default();
            buffer.bytes += bytes;
            buffer.rows_in += part.num_rows();
            buffer.batches.push(part);
            buffer.last_push = self.pushes;
        }
        self.collect_parts(false)?;
        // Days that stopped receiving rows are complete as far as we can tell: encode them now.
        let idle: Vec<NaiveDate> = self
            .days
            .iter()
            .filter(|(_, b)| !b.batches.is_empty() && b.last_push + IDLE_PUSHES <= self.pushes)
            .map(|(d, _)| *d)
            .collect();
        for day in idle {
            self.hand_over(day)?;
        }
        // Past the budget, the biggest held days go too, even if more rows for them may come.
        while self.held_bytes > self.budget {
            let Some(day) = self
                .days
                .iter()
                .filter(|(_, b)| !b.batches.is_empty())
                .max_by_key(|(_, b)| b.bytes)
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
        let buffer = self.days.get_mut(&day).expect("held");
        let batches = std::mem::take(&mut buffer.batches);
        self.held_bytes -= std::mem::take(&mut buffer.bytes);
        encoder.sequence += 1;
        let name = format!("{day}-{}.parquet", encoder.sequence);
        let job = Job {
            day,
            slot: buffer.parts.len(),
            batches,
            path: encoder.spool.path().join(&name),
            in_lake: encoder.spool.in_lake,
        };
        buffer.parts.push(None);
        let sent = encoder.jobs.as_ref().expect("open").send(job);
        if sent.is_err() {
            // The thread ended early: only a panic does that. Its result says more, if any.
            self.collect_parts(true)?;
            return Err(std::io::Error::other("the encoder thread stopped").into());
        }
        Ok(())
    }

    /// Files the parts the encoder has finished (all of them, waiting, when `wait`); the first
    /// failed part is the error.
    fn collect_parts(&mut self, wait: bool) -> Result<()> {
        let Some(encoder) = self.encoder.as_mut() else {
            return Ok(());
        };
        if wait {
            encoder.finish();
        }
        loop {
            let (day, slot, part) = match encoder.done.try_recv() {
                Ok(done) => done,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return Ok(()),
            };
            let buffer = self.days.get_mut(&day).expect("a day with a part");
            buffer.parts[slot] = Some(part?);
        }
    }

    /// Encodes every day still held and waits for the encoder: what [`Landing::commit`] does
    /// first, for callers that want to know when only writing the lake is left.
    pub fn finish_encoding(&mut self) -> Result<()> {
        // Every held day becomes a part, so each day commits the same way.
        let held: Vec<NaiveDate> = self
            .days
            .iter()
            .filter(|(_, b)| !b.batches.is_empty())
            .map(|(d, _)| *d)
            .collect();
        for day in held {
            self.hand_over(day)?;
        }
        self.collect_parts(true)
    }

    /// Writes every day that received rows (merging with what the lake holds), in day order.
    ///
    /// Each day is replaced atomically. If a day fails, the days before it stay written, the
    /// failing day and the days after it are unchanged, and the error says which day failed.
    pub async fn commit(mut self) -> Result<LandingSummary> {
        self.finish_encoding()?;
        let mut spooled_bytes = 0;
        for buffer in self.days.values() {
            for part in buffer.parts.iter().flatten() {
                spooled_bytes += std::fs::metadata(&part.path)?.len();
            }
        }
        let lake = &self.lake;
        let spec = &self.spec;
        let days = std::mem::take(&mut self.days);
        let written: Vec<(DayCommit, bool)> = futures::stream::iter(days)
            .map(|(day, buffer)| async move {
                let parts: Vec<Part> = buffer.parts.into_iter().flatten().collect();
                let (mut commit, merged) = commit_day(lake, spec, day, parts).await?;
                commit.rows_in = buffer.rows_in;
                Ok::<_, crate::Error>((commit, merged))
            })
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        let merged_days = written.iter().filter(|(_, merged)| *merged).count();
        let mut commits: Vec<DayCommit> = written.into_iter().map(|(c, _)| c).collect();
        commits.sort_by_key(|c| c.day);
        Ok(LandingSummary {
            days: commits,
            rows_in: self.rows,
            spooled_bytes,
            merged_days,
        })
    }
}

/// Writes one day from its encoded parts: a single part of a day the lake does not hold yet is put
/// in place as it is; otherwise the parts are read back and merged (later parts win). Says
/// whether it merged.
async fn commit_day(
    lake: &Lake,
    spec: &TableSpec,
    day: NaiveDate,
    parts: Vec<Part>,
) -> Result<(DayCommit, bool)> {
    if let [part] = parts.as_slice() {
        let encoded = if part.in_lake {
            // Spooled inside the lake: renamed into place.
            EncodedDay::Spooled {
                file: part.path.clone(),
                size: tokio::fs::metadata(&part.path).await?.len(),
            }
        } else {
            EncodedDay::Bytes(tokio::fs::read(&part.path).await?.into())
        };
        if let Some(commit) = write_new_day_encoded(lake, spec, day, encoded, part.rows).await? {
            return Ok((commit, false));
        }
    }
    let mut batches = Vec::new();
    for part in &parts {
        let bytes = tokio::fs::read(&part.path).await?;
        batches.extend(decode_parquet(
            spec,
            bytes.into(),
            &part.path.display().to_string(),
        )?);
    }
    Ok((write_day(lake, spec, day, batches).await?, true))
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
            assert!(!spool.exists(), "the spool is removed (commit: {commit})");
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
        assert!(!dir.path().join(STATE_DIR).join(SPOOL_DIR).exists());
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
            let summary = landing.commit().await.unwrap();
            assert_eq!(summary.rows_in, 6000);
            assert_eq!(summary.days.len(), 4);
            assert_eq!(summary.rows_after(), 5000);
            assert!(summary.spooled_bytes > 0);
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
