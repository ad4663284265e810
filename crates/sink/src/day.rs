//! One day of one table: read it, merge new rows into it, and replace it atomically.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_null_array};
use arrow::compute::{
    SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch,
};
use chrono::NaiveDate;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::encode::ParallelWriter;
use crate::error::{arrow, store};
use crate::{Error, Lake, Result, TableSpec};

/// What writing one day did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCommit {
    /// The day.
    pub day: NaiveDate,
    /// Rows the day held before.
    pub rows_before: usize,
    /// Rows handed in for the day (before de-duplication).
    pub rows_in: usize,
    /// Rows the day holds now.
    pub rows_after: usize,
    /// Size of the day's Parquet object.
    pub bytes: u64,
    /// Whether the day was read back and merged (rather than put in place as encoded).
    pub merged: bool,
}

/// Reads every row of one day, in the table's schema (columns a file lacks are null); of a
/// Delta table, the day's files in its latest snapshot.
pub async fn read_day(lake: &Lake, spec: &TableSpec, day: NaiveDate) -> Result<Vec<RecordBatch>> {
    match lake.table_format().await? {
        crate::TableFormat::Parquet => Ok(read_versioned(lake, spec, day).await?.batches),
        #[cfg(feature = "delta")]
        crate::TableFormat::Delta => crate::delta::read_day(lake, spec, day).await,
        #[cfg(not(feature = "delta"))]
        crate::TableFormat::Delta => Err(Error::NoDelta {
            url: lake.url().to_string(),
        }),
    }
}

/// What must still hold for a day to be replaced: the version of its data object that a merge
/// read, or that it has none.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    /// The day has no data object (a new day).
    Absent,
    /// The day's data object is still this version.
    Version(UpdateVersion),
    /// Whatever is there is replaced: an object every writer writes whole with the same content
    /// (a day's raw pages).
    Any,
}

/// A day as a merge reads it.
struct ReadDay {
    batches: Vec<RecordBatch>,
    /// The version of `data.parquet` that was read.
    expected: Expected,
    /// Other Parquet objects of the day (left by another tool): merged, then removed.
    others: Vec<Path>,
}

/// Reads a day's objects whole, each with the version it was read at (from the same response as
/// its bytes, so the version is exactly that of the rows read).
async fn read_versioned(lake: &Lake, spec: &TableSpec, day: NaiveDate) -> Result<ReadDay> {
    let target = lake.day_file(&spec.name, day);
    let mut read = ReadDay {
        batches: Vec::new(),
        expected: Expected::Absent,
        others: Vec::new(),
    };
    for object in lake.day_objects(&spec.name, day).await? {
        let path = object.location;
        // A day is read whole (it is rewritten whole), so one GET is the cheapest way.
        let got = lake
            .store()
            .get(&path)
            .await
            .map_err(store("reading", &path))?;
        let version = UpdateVersion {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        let bytes = got.bytes().await.map_err(store("reading", &path))?;
        read.batches
            .extend(decode_parquet(spec, bytes, path.as_ref())?);
        if path == target {
            read.expected = Expected::Version(version);
        } else {
            read.others.push(path);
        }
    }
    Ok(read)
}

/// Reads a whole Parquet file held in memory, in the table's schema. `path` names it in errors.
pub(crate) fn decode_parquet(
    spec: &TableSpec,
    bytes: bytes::Bytes,
    path: &str,
) -> Result<Vec<RecordBatch>> {
    let parquet_err = |action| {
        move |source| Error::Parquet {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(parquet_err("opening"))?
        .with_batch_size(64 * 1024)
        .build()
        .map_err(parquet_err("reading"))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::Parquet {
            action: "reading",
            path: path.to_owned(),
            source: e.into(),
        })?;
        out.push(conform(spec, &batch, path)?);
    }
    Ok(out)
}

/// Gives a batch read from an older file the table's current schema: columns are matched by name,
/// columns the file lacks become null; a column the table no longer has is an error (dropping it
/// would lose data).
fn conform(spec: &TableSpec, batch: &RecordBatch, path: &str) -> Result<RecordBatch> {
    if batch.schema().fields() == spec.schema.fields() {
        return Ok(batch.clone());
    }
    for field in batch.schema().fields() {
        if spec.schema.field_with_name(field.name()).is_err() {
            return Err(Error::Column {
                column: field.name().clone(),
                reason: format!("`{path}` has it but table {} no longer does", spec.name),
            });
        }
    }
    let columns: Vec<ArrayRef> =
        spec.schema
            .fields()
            .iter()
            .map(|f| match batch.column_by_name(f.name()) {
                Some(c) => arrow::compute::cast(c, f.data_type())
                    .map_err(arrow("conforming an older file")),
                None => Ok(new_null_array(f.data_type(), batch.num_rows())),
            })
            .collect::<Result<_>>()?;
    RecordBatch::try_new(Arc::clone(&spec.schema), columns)
        .map_err(arrow("conforming an older file"))
}

/// How many times a day is read and merged again when another writer replaced it in between.
pub(crate) const MAX_ATTEMPTS: usize = 8;

/// Merges `new` rows into `day` and replaces the day's object atomically.
///
/// Every row of `new` must belong to `day` (see [`crate::split_by_day`]). Existing rows are kept
/// unless a new row has the same key; among rows with the same key the last one handed in wins.
/// The result is sorted by [`TableSpec::sort_by`] (nulls last), then by key.
///
/// The day is replaced only if it is still the version this merge read (see [`put_day`]): when
/// another writer replaced it in between, the day is read and merged again (up to
/// [`MAX_ATTEMPTS`] times, then [`Error::Conflict`]). Rows this merge did not read are never
/// overwritten. A failure at any point leaves the previous day as it was.
pub(crate) async fn write_day(
    lake: &Lake,
    spec: &TableSpec,
    day: NaiveDate,
    new: Vec<RecordBatch>,
) -> Result<DayCommit> {
    let rows_in: usize = new.iter().map(RecordBatch::num_rows).sum();
    let target = lake.day_file(&spec.name, day);
    // The merge consumes the new rows (holding them twice would cost a day's rows of memory);
    // their key columns are kept (shared, not copied), so that after a conflict the new rows can
    // be taken back out of this writer's merged file and merged again with what the other writer
    // left.
    let new_keys: Vec<arrow::array::StringArray> = new
        .iter()
        .map(|b| key_column(spec, b).cloned())
        .collect::<Result<_>>()?;
    let mut new = Some(new);
    for attempt in 1..=MAX_ATTEMPTS {
        let read = read_versioned(lake, spec, day).await?;
        let rows_before: usize = read.batches.iter().map(RecordBatch::num_rows).sum();
        let mut all = read.batches;
        all.extend(new.take().expect("put back after a conflict"));
        let merged = merge(spec, all)?;
        let rows_after = merged.iter().map(RecordBatch::num_rows).sum();
        let bytes = bytes::Bytes::from(encode(spec, merged, target.to_string()).await?);
        match put_day(
            lake,
            &target,
            &read.expected,
            EncodedDay::Bytes(bytes.clone()),
        )
        .await?
        {
            Put::Conflict => {
                tracing::info!(table = %spec.name, %day, attempt, "another writer replaced the day; merging again");
                let ours = decode_parquet(spec, bytes, &format!("{target} (this writer's)"))?;
                let keys: foldhash::HashSet<&str> = new_keys.iter().flatten().flatten().collect();
                new = Some(rows_with_keys(spec, ours, &keys)?);
                backoff(attempt).await;
                continue;
            }
            Put::Done(bytes, _) => {
                // Another tool's files of the day are merged above: remove them now.
                for other in read.others {
                    lake.store()
                        .delete(&other)
                        .await
                        .map_err(store("deleting", &other))?;
                }
                return Ok(DayCommit {
                    day,
                    rows_before,
                    rows_in,
                    rows_after,
                    bytes,
                    merged: true,
                });
            }
        }
    }
    Err(Error::Conflict {
        table: spec.name.clone(),
        day,
        attempts: MAX_ATTEMPTS,
    })
}

/// The key column of `batch`, checked to be Utf8 without nulls.
fn key_column<'a>(
    spec: &TableSpec,
    batch: &'a RecordBatch,
) -> Result<&'a arrow::array::StringArray> {
    let key = batch
        .column_by_name(&spec.key)
        .ok_or_else(|| Error::Column {
            column: spec.key.clone(),
            reason: "missing".into(),
        })?;
    let keys = key.as_string_opt::<i32>().ok_or_else(|| Error::Column {
        column: spec.key.clone(),
        reason: format!("the key must be Utf8, not {}", key.data_type()),
    })?;
    if let Some(row) = (0..keys.len()).find(|&i| keys.is_null(i)) {
        return Err(Error::Column {
            column: spec.key.clone(),
            reason: format!("row {row} has no {}: every row needs a key", spec.key),
        });
    }
    Ok(keys)
}

/// The rows of `batches` whose key is in `keys`.
fn rows_with_keys(
    spec: &TableSpec,
    batches: Vec<RecordBatch>,
    keys: &foldhash::HashSet<&str>,
) -> Result<Vec<RecordBatch>> {
    batches
        .iter()
        .map(|batch| {
            let mask: arrow::array::BooleanArray = key_column(spec, batch)?
                .iter()
                .map(|k| Some(k.is_some_and(|k| keys.contains(k))))
                .collect();
            arrow::compute::filter_record_batch(batch, &mask)
                .map_err(arrow("taking back this writer's rows"))
        })
        .collect()
}

/// A short, growing, jittered pause before merging again, so racing writers spread out.
pub(crate) async fn backoff(attempt: usize) {
    let jitter = uuid::Uuid::new_v4().as_u128() as u8;
    let millis = backoff_millis(attempt, jitter);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

/// The pause before the `attempt`-th merge again (from 1), in milliseconds: in
/// `[20 × attempt, 40 × attempt)`, placed in that range by `jitter`.
fn backoff_millis(attempt: usize, jitter: u8) -> u64 {
    let step = 20 * attempt as u64;
    step + u64::from(jitter) % step
}

/// Keeps the last row of each key and sorts by (sort column, key). Rows that already are unique
/// and in order (a new day of Graph pages) are passed through as they are, without a copy.
pub(crate) fn merge(spec: &TableSpec, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    if already_merged(spec, &batches) {
        return Ok(batches);
    }
    Ok(vec![merge_copy(spec, batches)?])
}

/// Whether every key is present and unique and rows are in (sort column, key) order across all
/// batches (see [`OrderCheck`]). Anything it cannot check answers `false` (the copying merge then
/// decides).
fn already_merged(spec: &TableSpec, batches: &[RecordBatch]) -> bool {
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let mut check = OrderCheck::with_capacity(rows);
    batches.iter().all(|batch| check.extends(spec, batch))
}

/// The one "already in order?" check of the writer, fed batch by batch: every key present and
/// new, rows in (sort column, key) order. Keys are remembered by hash, so a hash collision only
/// answers "not in order" (the merge then decides), never the other way round.
#[derive(Default)]
pub(crate) struct OrderCheck {
    keys: foldhash::HashSet<u64>,
    hasher: foldhash::fast::RandomState,
    last: Option<(Option<i64>, String)>,
}

impl OrderCheck {
    /// A check sized for `rows` keys.
    pub(crate) fn with_capacity(rows: usize) -> OrderCheck {
        OrderCheck {
            keys: foldhash::HashSet::with_capacity_and_hasher(rows, Default::default()),
            ..Default::default()
        }
    }

    /// Whether `batch` continues the rows checked so far. Once it answers `false` the check is
    /// spent (the caller merges).
    pub(crate) fn extends(&mut self, spec: &TableSpec, batch: &RecordBatch) -> bool {
        use arrow::datatypes::TimestampMicrosecondType;
        use std::hash::BuildHasher;
        let (Some(ts), Some(keys)) = (
            batch
                .column_by_name(&spec.sort_by)
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>()),
            batch
                .column_by_name(&spec.key)
                .and_then(|c| c.as_string_opt::<i32>()),
        ) else {
            return false;
        };
        if keys.null_count() > 0 {
            return false;
        }
        let mut prev = self.last.as_ref().map(|(t, k)| (*t, k.as_str()));
        for i in 0..batch.num_rows() {
            let row = (ts.is_valid(i).then(|| ts.value(i)), keys.value(i));
            if !self.keys.insert(self.hasher.hash_one(row.1)) {
                return false;
            }
            if let Some(p) = prev
                && !in_order(p, row)
            {
                return false;
            }
            prev = Some(row);
        }
        if let Some((t, k)) = prev {
            self.last = Some((t, k.to_owned()));
        }
        true
    }
}

/// (timestamp, key) order with null timestamps last.
fn in_order(a: (Option<i64>, &str), b: (Option<i64>, &str)) -> bool {
    match (a.0, b.0) {
        (Some(x), Some(y)) => x < y || (x == y && a.1 <= b.1),
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => a.1 <= b.1,
    }
}

/// Concatenates, keeps the last row of each key, sorts by (sort column, key). One copy of the
/// rows besides the joined input (which replaces the input batches): the rows are sorted with
/// their duplicates, and one `take` keeps the last of each key in that order.
fn merge_copy(spec: &TableSpec, batches: Vec<RecordBatch>) -> Result<RecordBatch> {
    let all = concat_batches(&spec.schema, &batches).map_err(arrow("concatenating a day"))?;
    drop(batches);
    let keys = key_column(spec, &all)?;
    let key: ArrayRef = Arc::new(keys.clone());
    let mut last: foldhash::HashMap<&str, u32> =
        foldhash::HashMap::with_capacity_and_hasher(keys.len(), Default::default());
    for (row, k) in keys.iter().enumerate() {
        last.insert(k.expect("no nulls: checked"), row as u32);
    }
    let sort_col = all
        .column_by_name(&spec.sort_by)
        .ok_or_else(|| Error::Column {
            column: spec.sort_by.clone(),
            reason: "missing".into(),
        })?;
    let options = Some(SortOptions {
        descending: false,
        nulls_first: false,
    });
    let order = lexsort_to_indices(
        &[
            SortColumn {
                values: Arc::clone(sort_col),
                options,
            },
            SortColumn {
                values: Arc::clone(&key),
                options,
            },
        ],
        None,
    )
    .map_err(arrow("sorting a day"))?;
    let keep = if last.len() == keys.len() {
        // Every key is unique: nothing to drop (the common case for a new day).
        order
    } else {
        order
            .values()
            .iter()
            .copied()
            .filter(|&row| last.get(keys.value(row as usize)) == Some(&row))
            .collect()
    };
    drop(last);
    take_record_batch(&all, &keep).map_err(arrow("sorting a day"))
}

/// The zstd level of lake files. Level 1 (the Parquet crate's default) rather than 3 (DuckDB's):
/// on 1 M call rows it spends about 0.5 CPU-seconds less (a sixth of a landing's CPU) for a lake
/// 0.8% larger (85.7 MB against 85.0 MB). The largest columns, random identifiers and phone
/// numbers, gain nothing from level 3's longer match search; on them level 1 is 2-3 times faster
/// and compresses as well or better.
const ZSTD_LEVEL: i32 = 1;

/// The writer settings of every lake file: zstd ([`ZSTD_LEVEL`]), page statistics (but for
/// [`TableSpec::no_statistics`]), sorted-by metadata.
pub(crate) fn writer_properties(spec: &TableSpec) -> WriterProperties {
    let sorting = spec.schema.index_of(&spec.sort_by).ok().map(|i| {
        vec![SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: false,
        }]
    });
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("valid level"),
        ))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(sorting)
        .set_created_by(format!("pstn-lake {}", env!("CARGO_PKG_VERSION")));
    for column in &spec.no_statistics {
        builder =
            builder.set_column_statistics_enabled(column.as_str().into(), EnabledStatistics::None);
    }
    for column in &spec.no_dictionary {
        builder = builder.set_column_dictionary_enabled(column.as_str().into(), false);
    }
    builder.build()
}

/// The writer settings of a spooled part that is only ever read back (never a lake file): no
/// dictionaries, statistics or page indexes, and Snappy rather than zstd, so that writing and
/// reading it costs little more than copying.
pub(crate) fn spool_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_created_by(format!("pstn-lake {} (spool)", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Rows handed to the Parquet writer at once (as they are, not joined: see
/// [`ParallelWriter::write_all`]); each hand-off starts the writer's helper thread. Measured on
/// 1 M rows (10 days): 16k rows take about 7% more time than 64k; a whole day at once (256k) is
/// no faster than 64k.
const ENCODE_CHUNK_ROWS: usize = 64 * 1024;

/// A day's file, encoded by [`encode_into`] out of merged rows (unique keys, in order).
pub(crate) enum EncodedDay {
    /// In memory.
    Bytes(bytes::Bytes),
    /// A file in a local lake's spool, of this size: renamed into place, not copied.
    Spooled { file: std::path::PathBuf, size: u64 },
}

/// What [`put_day`] did.
pub(crate) enum Put {
    /// The day's file is in place: this many bytes, at this version.
    Done(u64, UpdateVersion),
    /// The day is no longer the version expected: nothing was written.
    Conflict,
}

/// The one way a day's file is put in place, on every store.
///
/// The day's object is replaced only if it is still `expected`:
/// - **object stores**: one conditional PUT of the whole file (create-if-absent for a new day,
///   if-match on the version read for an existing one). A PUT is atomic to readers and needs no
///   staging copy; the store refuses it when another writer replaced the day in between, and
///   nothing is written ([`Put::Conflict`]). A day's file goes in one PUT whatever its size (S3
///   and Azure take up to 5 GB in one; a day of 100,000 calls is about 5 MB).
/// - **a local lake**: the writer holds the lake's OS file lock (so no other pstn-lake writes),
///   checks the version all the same (another tool may have written), and puts the file in place
///   durably: fsync the file, rename, fsync the folder (see `crate::local`).
///
/// Before either, a writer whose lake lock was taken over stops ([`Error::LockLost`]).
pub(crate) async fn put_day(
    lake: &Lake,
    target: &Path,
    expected: &Expected,
    encoded: EncodedDay,
) -> Result<Put> {
    lake.check_fence()?;
    if let (Some(folder), Some(file)) = (lake.folder(), lake.file_of(target)) {
        let now = match lake.store().head(target).await {
            Ok(meta) => Some(meta),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(source) => return Err(store("checking", target)(source)),
        };
        let unchanged = match (expected, &now) {
            (Expected::Absent, None) => true,
            (Expected::Version(v), Some(meta)) => v.e_tag == meta.e_tag,
            (Expected::Any, _) => true,
            _ => false,
        };
        if !unchanged {
            return Ok(Put::Conflict);
        }
        let spool = folder.join(crate::STATE_DIR).join(crate::lake::SPOOL_DIR);
        let size = tokio::task::spawn_blocking(move || match encoded {
            EncodedDay::Bytes(bytes) => crate::local::write_durably(&spool, &file, &bytes)
                .map(|()| bytes.len() as u64)
                .map_err(crate::error::local("writing", &file)),
            EncodedDay::Spooled { file: from, size } => crate::local::rename_durably(&from, &file)
                .map(|()| size)
                .map_err(crate::error::local("putting in place", &file)),
        })
        .await
        .map_err(|e| Error::Spool(std::io::Error::other(e)))??;
        let meta = lake
            .store()
            .head(target)
            .await
            .map_err(store("checking", target))?;
        let version = UpdateVersion {
            e_tag: meta.e_tag,
            version: meta.version,
        };
        return Ok(Put::Done(size, version));
    }
    let bytes = match encoded {
        EncodedDay::Bytes(bytes) => bytes,
        EncodedDay::Spooled { file, .. } => tokio::fs::read(&file).await?.into(),
    };
    let size = bytes.len() as u64;
    let mode = match expected {
        Expected::Absent => PutMode::Create,
        Expected::Version(v) => PutMode::Update(v.clone()),
        Expected::Any => PutMode::Overwrite,
    };
    match lake
        .store()
        .put_opts(target, bytes.into(), PutOptions::from(mode))
        .await
    {
        Ok(put) => Ok(Put::Done(size, UpdateVersion::from(put))),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(Put::Conflict),
        Err(source @ object_store::Error::NotImplemented { .. }) => {
            Err(Error::NoConditionalWrites {
                url: lake.url().to_string(),
                source,
            })
        }
        Err(source) => Err(store("committing", target)(source)),
    }
}

/// Writes a day that the lake does not hold yet from its encoded file: the file is put in place as
/// it is, only if the day is still absent. Returns `None`, having written nothing, when the day
/// already has objects (or got one meanwhile): the caller then merges with [`write_day`].
pub(crate) async fn write_new_day_encoded(
    lake: &Lake,
    spec: &TableSpec,
    day: NaiveDate,
    encoded: EncodedDay,
    rows: usize,
) -> Result<Option<DayCommit>> {
    if !lake.day_objects(&spec.name, day).await?.is_empty() {
        return Ok(None);
    }
    let target = lake.day_file(&spec.name, day);
    match put_day(lake, &target, &Expected::Absent, encoded).await? {
        Put::Done(bytes, _) => Ok(Some(DayCommit {
            day,
            rows_before: 0,
            rows_in: rows,
            rows_after: rows,
            bytes,
            merged: false,
        })),
        Put::Conflict => Ok(None),
    }
}

/// Encodes a day as one Parquet file in memory, on a blocking thread (it is CPU work).
pub(crate) async fn encode(
    spec: &TableSpec,
    batches: Vec<RecordBatch>,
    name: String,
) -> Result<Vec<u8>> {
    let spec = spec.clone();
    tokio::task::spawn_blocking(move || {
        encode_into(&spec, writer_properties(&spec), batches, &name, Vec::new())
    })
    .await
    .map_err(|e| Error::Spool(std::io::Error::other(e)))?
}

/// Encodes merged rows of one day with `props` ([`writer_properties`] for a lake file,
/// [`spool_properties`] for a part only read back) into `out` (memory, or a spool file: no
/// growing buffer of the whole file), on the calling thread. `name` says what is being encoded,
/// for errors.
pub(crate) fn encode_into<W: std::io::Write + Send>(
    spec: &TableSpec,
    props: WriterProperties,
    batches: Vec<RecordBatch>,
    name: &str,
    out: W,
) -> Result<W> {
    let schema = Arc::clone(&spec.schema);
    let encoded = (|| {
        let mut writer = ParallelWriter::try_new_into(out, Arc::clone(&schema), props)?;
        // Handing the writer page-sized batches one at a time costs a thread hand-off each:
        // they go in chunks of about 64k rows (written without joining them first).
        let mut chunk: Vec<RecordBatch> = Vec::new();
        let mut rows = 0;
        for batch in batches {
            rows += batch.num_rows();
            chunk.push(batch);
            if rows >= ENCODE_CHUNK_ROWS {
                writer.write_all(&chunk)?;
                chunk.clear();
                rows = 0;
            }
        }
        if !chunk.is_empty() {
            writer.write_all(&chunk)?;
        }
        writer.finish()
    })();
    encoded.map_err(|source| Error::Parquet {
        action: "encoding",
        path: name.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;
