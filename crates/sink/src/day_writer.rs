//! The lake's one writer: rows of one day in, the day's file in place.
//!
//! Every landing goes through a [`DayWriter`]: `sync` (a writer per day being fetched), `ingest`
//! (through [`crate::Landing`], which decides when the rows it holds become parts) and `rebuild`.
//! It has one spool format, one order check and one rule for putting a day in place:
//!
//! - **Spool**: rows are encoded into *parts*, Parquet files (one row group each), in a local
//!   folder ([`Spool`]: inside a local lake, on the lake's own file system, else the system's
//!   temporary folder). A part is written once enough rows wait (or when the caller says so), so
//!   a day being fetched holds at most a part's rows in memory, and at most [`EncodeSlots`] parts
//!   are encoded at once in the run. The first part of a day has the lake's writer settings (it
//!   may be the day's file); later ones are only ever read back and are written for speed
//!   ([`spool_properties`]).
//! - **Order check**: while the rows come unique and in (sort column, key) order, which is how
//!   Graph returns a day, they need no merge: a day of one part is that part, and a day of
//!   several is their rows encoded again, one part at a time, into one row group (what the
//!   reports read fastest: docs/performance-notes.md, "One writer").
//! - **Putting in place**: a day the lake does not hold is put as it is (renamed on a local lake,
//!   one conditional PUT on an object store) when it came in one part (merged within the part)
//!   or in order; any other day (rows out of order across parts, or a day the lake holds, or got
//!   meanwhile) is read back from the parts and merged with what the lake holds by
//!   [`write_day`].
//!
//! Nothing reaches the lake before [`DayWriter::commit`].

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::day::{
    EncodedDay, OrderCheck, decode_parquet, encode_into, merge, spool_properties,
    write_new_day_encoded, writer_properties,
};
use crate::encode::ParallelWriter;
use crate::lake::SPOOL_DIR;
use crate::{DayCommit, Error, Lake, Result, STATE_DIR, TableSpec, write_day};

/// Rows of a day held in memory before they are encoded as a part, when the caller does not
/// decide (see [`DayWriter::new`]). About 4 MB of decoded beta PSTN rows: a sync holds at most
/// this much per day being fetched (measured in docs/performance-notes.md, "One writer").
pub const PART_ROWS: usize = 8 * 1024;

/// How many parts the [`DayWriter`]s sharing it encode at once (a setting of the run, not of the
/// process). Encoding uses both cores (see `ParallelWriter`) and an encoder holds a zstd context
/// and a page per column while it runs, so one at a time keeps memory to one encoder however many
/// days are being fetched.
#[derive(Debug, Clone)]
pub struct EncodeSlots(Arc<(Mutex<usize>, Condvar)>);

impl EncodeSlots {
    /// Slots for `parts` parts encoded at once (at least one).
    pub fn new(parts: usize) -> EncodeSlots {
        EncodeSlots(Arc::new((Mutex::new(parts.max(1)), Condvar::new())))
    }

    /// Waits for a free slot (a blocking wait: call it off the async threads).
    fn acquire(&self) -> Slot<'_> {
        let (free, freed) = &*self.0;
        let mut free = free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

/// A taken slot, given back when dropped.
struct Slot<'a>(&'a EncodeSlots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let (free, freed) = &*(self.0).0;
        *free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        freed.notify_one();
    }
}

/// The local folder of encoded parts (removed with everything in it when the last writer using it
/// ends, whether it committed or failed).
pub(crate) struct Spool {
    /// Removed when the spool is dropped: only this writer's folder goes, `spool/` itself stays,
    /// since other writers of the run (days committing at once, the sync state's durable writes)
    /// make their files in it at any moment. Declared first, so it goes before the owner lock is
    /// let go (fields drop in declaration order).
    dir: tempfile::TempDir,
    /// Whether the folder is inside a local lake (on the lake's file system).
    in_lake: bool,
    /// In the system's temporary folder: [`OWNER_FILE`], locked while this process lives.
    _owner: Option<File>,
}

/// The name prefix of a spool folder in the system's temporary folder.
const TMP_SPOOL_PREFIX: &str = "pstn-lake-spool-";

/// The file of a spool folder in the system's temporary folder that its process holds locked
/// (`flock`) while it lives: the kernel releases the lock when the process dies, however it
/// dies, so a later run that can take the lock knows the folder was abandoned.
const OWNER_FILE: &str = "owner.lock";

/// Removes the spool folders in `tmp` that a killed run left (a spool in a local lake is cleaned
/// up by the lake's next writer instead). A folder is abandoned when its owner lock can be taken;
/// one without an owner file yet is being created and is left alone.
fn remove_abandoned_spools(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TMP_SPOOL_PREFIX));
        if !ours || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Ok(owner) = File::open(path.join(OWNER_FILE))
            && owner.try_lock().is_ok()
        {
            tracing::debug!(folder = %path.display(), "removing a spool a killed run left");
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

impl Spool {
    /// A folder under `<lake>/_pstn_lake/spool/` for a local lake (falling back to the system's
    /// temporary folder if it cannot be made there), else in the system's temporary folder.
    pub(crate) fn create(lake: &Lake) -> Result<Spool> {
        if let Some(root) = lake.folder() {
            let parent = root.join(STATE_DIR).join(SPOOL_DIR);
            let dir = std::fs::create_dir_all(&parent).and_then(|()| {
                tempfile::Builder::new()
                    .prefix("write-")
                    .tempdir_in(&parent)
            });
            if let Ok(dir) = dir {
                return Ok(Spool {
                    dir,
                    in_lake: true,
                    _owner: None,
                });
            }
        }
        let tmp = std::env::temp_dir();
        // The spools killed runs left there go once a process (a sync makes a spool a day).
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| remove_abandoned_spools(&tmp));
        Self::in_temp(&tmp)
    }

    /// A folder in `tmp` (the system's temporary folder), owned by this process (see
    /// [`OWNER_FILE`]).
    fn in_temp(tmp: &Path) -> Result<Spool> {
        let dir = tempfile::Builder::new()
            .prefix(TMP_SPOOL_PREFIX)
            .tempdir_in(tmp)
            .map_err(Error::Spool)?;
        // Locked before it gets its name, so no other run ever sees it unlocked.
        let unnamed = dir.path().join(format!("{OWNER_FILE}.new"));
        let owner = File::create(&unnamed).map_err(Error::Spool)?;
        owner.lock().map_err(Error::Spool)?;
        std::fs::rename(&unnamed, dir.path().join(OWNER_FILE)).map_err(Error::Spool)?;
        Ok(Spool {
            dir,
            in_lake: false,
            _owner: Some(owner),
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// One encoded part of a day: a lake file of its rows in the spool.
struct Part {
    path: PathBuf,
    bytes: u64,
    /// Rows in the part (unique).
    rows: usize,
}

/// A day's parts, finished: what [`DayWriter::commit`] puts in place or merges.
pub(crate) enum Finished {
    /// The day's file, its size and its rows (unique and in order).
    Day(PathBuf, u64, usize),
    /// Parts to read back and merge with what the lake holds.
    Parts(Vec<PathBuf>),
}

/// A day's new rows encoded in the spool, waiting for their commit (the spool folder lives while
/// this does).
#[cfg(feature = "delta")]
pub(crate) struct SpooledDay {
    pub(crate) day: NaiveDate,
    /// Rows handed in for the day (before de-duplication).
    pub(crate) rows_in: usize,
    pub(crate) finished: Finished,
    _spool: Arc<Spool>,
}

/// One day of one table, written as its rows arrive (see the module documentation).
pub struct DayWriter {
    spec: TableSpec,
    day: NaiveDate,
    spool: Arc<Spool>,
    slots: EncodeSlots,
    /// Rows held before [`DayWriter::push`] writes a part by itself.
    part_rows: usize,
    /// Rows waiting to be encoded, in arrival order.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    parts: Vec<Part>,
    /// Whether every row so far is unique and in order (the writer's one order check).
    order: OrderCheck,
    in_order: bool,
    rows_in: usize,
}

impl DayWriter {
    /// A writer for `day` of the table `spec` in `lake`: every [`PART_ROWS`] rows become a part,
    /// encoded while no more than `slots` allow.
    pub fn new(
        lake: &Lake,
        spec: &TableSpec,
        day: NaiveDate,
        slots: &EncodeSlots,
    ) -> Result<DayWriter> {
        Ok(Self::in_spool(
            Arc::new(Spool::create(lake)?),
            spec,
            day,
            slots.clone(),
            PART_ROWS,
        ))
    }

    /// A writer whose parts go in `spool` (shared with other writers); a part is written every
    /// `part_rows` rows (`usize::MAX`: only when [`DayWriter::write_part`] is called).
    pub(crate) fn in_spool(
        spool: Arc<Spool>,
        spec: &TableSpec,
        day: NaiveDate,
        slots: EncodeSlots,
        part_rows: usize,
    ) -> DayWriter {
        DayWriter {
            spec: spec.clone(),
            day,
            spool,
            slots,
            part_rows,
            pending: Vec::new(),
            pending_rows: 0,
            parts: Vec::new(),
            order: OrderCheck::default(),
            in_order: true,
            rows_in: 0,
        }
    }

    /// Bytes of encoded parts in the spool so far.
    pub fn spooled_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    /// Adds rows of this day (see [`crate::split_by_day`]). Every [`PART_ROWS`] rows this
    /// encodes a part into a local file: call it from a blocking context.
    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows_in += batch.num_rows();
        if self.in_order && !self.order.extends(&self.spec, &batch) {
            // The day will be merged: the check's keys are no longer needed.
            self.in_order = false;
            self.order = OrderCheck::default();
        }
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= self.part_rows {
            self.write_part()?;
        }
        Ok(())
    }

    /// Encodes the rows waiting into the next part (waiting for an encode slot). Rows in order
    /// are encoded as they came; others are merged within the part first (unique keys, sorted),
    /// so every part is a lake file by itself.
    pub(crate) fn write_part(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        let rows = if self.in_order {
            rows
        } else {
            merge(&self.spec, rows)?
        };
        let count = rows.iter().map(RecordBatch::num_rows).sum();
        // The first part may be the day's file; a later one is only ever read back (into the
        // day's one row group, or a merge), so it is written for speed.
        let props = if self.parts.is_empty() {
            writer_properties(&self.spec)
        } else {
            spool_properties()
        };
        let path = self.spool.path().join(format!(
            "{}-{}-{}.parquet",
            self.spec.name,
            self.day,
            self.parts.len()
        ));
        let name = format!(
            "{}/{}",
            self.spec.name,
            crate::day_folder(&self.spec.name, self.day)
        );
        let file = {
            let _slot = self.slots.acquire();
            let out = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(Error::Spool)?);
            encode_into(&self.spec, props, rows, &name, out)?
                .into_inner()
                .map_err(|e| Error::Spool(e.into_error()))?
        };
        let bytes = file.metadata().map_err(Error::Spool)?.len();
        if self.spool.in_lake {
            start_writeback(file);
        }
        self.parts.push(Part {
            path,
            bytes,
            rows: count,
        });
        Ok(())
    }

    /// Writes the rows waiting as a part and forgets the keys seen so far: rows pushed after it
    /// are merged with the day's other parts at the commit. What [`crate::Landing`] does with each
    /// day it hands over: a landing's day nearly always comes in one part, and the check's key set
    /// (a hash per row) would otherwise stay in memory for every day until the commit.
    pub(crate) fn end_part(&mut self) -> Result<()> {
        self.write_part()?;
        self.in_order = false;
        self.order = OrderCheck::default();
        Ok(())
    }

    /// Writes the last part; the day's file is then that part when it is the only one, or the
    /// parts' rows encoded again as one row group when they came in order; other parts are to be
    /// merged.
    fn finish(&mut self) -> Result<Finished> {
        self.write_part()?;
        // A part is a lake file by itself (see `write_part`).
        if let [part] = self.parts.as_slice() {
            return Ok(Finished::Day(part.path.clone(), part.bytes, part.rows));
        }
        let paths: Vec<PathBuf> = self.parts.iter().map(|p| p.path.clone()).collect();
        if !self.in_order {
            return Ok(Finished::Parts(paths));
        }
        // One row group for the day: a report reads 13 row groups of 8,192 rows more than twice
        // as slowly as one (docs/performance-notes.md, "One row group a day"), and an encoder
        // kept open while the day is fetched costs about 20 MB a day in flight. So the parts are
        // read back one at a time (a part's rows in memory) into one encoder, holding an encode
        // slot: one such encoder in the run.
        let path = self
            .spool
            .path()
            .join(format!("{}-{}.parquet", self.spec.name, self.day));
        let name = format!(
            "{}/{}",
            self.spec.name,
            crate::day_folder(&self.spec.name, self.day)
        );
        let joining = |source| Error::Parquet {
            action: "joining",
            path: name.clone(),
            source,
        };
        let file = {
            let _slot = self.slots.acquire();
            let out = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(Error::Spool)?);
            let mut writer = ParallelWriter::try_new_into(
                out,
                Arc::clone(&self.spec.schema),
                writer_properties(&self.spec),
            )
            .map_err(joining)?;
            for part in &paths {
                let rows: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(
                    File::open(part).map_err(Error::Spool)?,
                )
                .map_err(joining)?
                .with_batch_size(PART_ROWS)
                .build()
                .map_err(joining)?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| joining(e.into()))?;
                writer.write_all(&rows).map_err(joining)?;
                let _ = std::fs::remove_file(part);
            }
            writer
                .finish()
                .map_err(joining)?
                .into_inner()
                .map_err(|e| Error::Spool(e.into_error()))?
        };
        let size = file.metadata().map_err(Error::Spool)?.len();
        let rows = self.parts.drain(..).map(|p| p.rows).sum();
        Ok(Finished::Day(path, size, rows))
    }

    /// Finishes encoding the day's rows in the spool, for a table format that commits them
    /// itself (Delta: see `crate::delta`). `None` for a day that received no rows.
    #[cfg(feature = "delta")]
    pub(crate) async fn into_spooled(mut self) -> Result<Option<SpooledDay>> {
        let (rows_in, day) = (self.rows_in, self.day);
        if rows_in == 0 {
            return Ok(None);
        }
        let spool = Arc::clone(&self.spool);
        let finished = tokio::task::spawn_blocking(move || self.finish())
            .await
            .map_err(|e| Error::Spool(std::io::Error::other(e)))??;
        Ok(Some(SpooledDay {
            day,
            rows_in,
            finished,
            _spool: spool,
        }))
    }

    /// Commits the day to its Delta table, as a transaction of its own.
    #[cfg(feature = "delta")]
    async fn commit_delta(self, lake: &Lake) -> Result<DayCommit> {
        let spec = self.spec.clone();
        let spooled: Vec<SpooledDay> = self.into_spooled().await?.into_iter().collect();
        let commits = crate::delta::commit(lake, &spec, spooled).await?;
        Ok(commits
            .into_iter()
            .next()
            .expect("a day with rows is committed"))
    }

    #[cfg(not(feature = "delta"))]
    async fn commit_delta(self, lake: &Lake) -> Result<DayCommit> {
        Err(Error::NoDelta {
            url: lake.url().to_string(),
        })
    }

    /// Writes the day into the lake, atomically: as encoded when the lake does not hold the day
    /// and the rows came in order or in one part, otherwise merged with what it holds (see
    /// [`write_day`]). A day that received no rows is left as it is.
    pub async fn commit(mut self, lake: &Lake) -> Result<DayCommit> {
        let (rows_in, day, spec) = (self.rows_in, self.day, self.spec.clone());
        if rows_in == 0 {
            return Ok(DayCommit {
                day,
                rows_before: 0,
                rows_in: 0,
                rows_after: 0,
                bytes: 0,
                merged: false,
            });
        }
        if lake.table_format().await? == crate::TableFormat::Delta {
            return self.commit_delta(lake).await;
        }
        let spool = Arc::clone(&self.spool);
        let finished = tokio::task::spawn_blocking(move || self.finish())
            .await
            .map_err(|e| Error::Spool(std::io::Error::other(e)))??;
        let parts = match finished {
            Finished::Day(file, size, rows) => {
                let encoded = if spool.in_lake {
                    // Spooled inside the lake: renamed into place.
                    EncodedDay::Spooled {
                        file: file.clone(),
                        size,
                    }
                } else {
                    EncodedDay::Bytes(tokio::fs::read(&file).await.map_err(Error::Spool)?.into())
                };
                if let Some(mut commit) =
                    write_new_day_encoded(lake, &spec, day, encoded, rows).await?
                {
                    commit.rows_in = rows_in;
                    return Ok(commit);
                }
                // The lake holds the day (or got it meanwhile): merge with it.
                vec![file]
            }
            Finished::Parts(parts) => parts,
        };
        let mut rows = Vec::new();
        for part in &parts {
            let bytes = tokio::fs::read(part).await.map_err(Error::Spool)?;
            rows.extend(decode_parquet(
                &spec,
                bytes.into(),
                &part.display().to_string(),
            )?);
        }
        let mut commit = write_day(lake, &spec, day, rows).await?;
        commit.rows_in = rows_in;
        Ok(commit)
    }
}

/// Starts writing a part's bytes to disk on a thread of its own: in a local lake the part will be
/// renamed into place, fsynced first (see `crate::local`), and this way the commit's fsync finds
/// little left to do. (Best effort: the commit's fsync is what makes the file durable.)
fn start_writeback(file: File) {
    let _ = std::thread::Builder::new()
        .name("pstn-lake-fsync".into())
        .spawn(move || file.sync_data());
}

#[cfg(test)]
mod tests;
