//! One day of one table: read it, merge new rows into it, and replace it atomically.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_null_array};
use arrow::compute::{
    SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch,
};
use chrono::NaiveDate;
use object_store::ObjectMeta;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::encode::ParallelWriter;
use crate::error::arrow;
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
}

/// Reads every row of one day, in the table's schema (columns a file lacks are null).
pub async fn read_day(lake: &Lake, spec: &TableSpec, day: NaiveDate) -> Result<Vec<RecordBatch>> {
    read_objects(lake, spec, &lake.day_objects(&spec.name, day).await?).await
}

/// Reads these Parquet objects whole, in the table's schema.
async fn read_objects(
    lake: &Lake,
    spec: &TableSpec,
    objects: &[ObjectMeta],
) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for object in objects {
        let path = object.location.to_string();
        // A day is read whole (it is rewritten whole), so one GET is the cheapest way.
        let bytes = lake
            .store()
            .get(&object.location)
            .await
            .map_err(|source| Error::Store {
                action: "reading",
                path: path.clone(),
                source,
            })?
            .bytes()
            .await
            .map_err(|source| Error::Store {
                action: "reading",
                path: path.clone(),
                source,
            })?;
        out.extend(decode_parquet(spec, bytes, &path)?);
    }
    Ok(out)
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

/// Merges `new` rows into `day` and replaces the day's object atomically.
///
/// Every row of `new` must belong to `day` (see [`crate::split_by_day`]). Existing rows are kept
/// unless a new row has the same key; among rows with the same key the last one handed in wins.
/// The result is sorted by [`TableSpec::sort_by`] (nulls last), then by key.
///
/// The new day is written to a staging object under `<lake>/_pstn_lake/staging/` and then renamed
/// over `<table>/call_date=…/data.parquet` in one step: a failure at any point before the rename
/// leaves the previous day as it was, and no partial object inside the table.
pub async fn write_day(
    lake: &Lake,
    spec: &TableSpec,
    day: NaiveDate,
    new: Vec<RecordBatch>,
) -> Result<DayCommit> {
    let old_objects = lake.day_objects(&spec.name, day).await?;
    let existing = read_objects(lake, spec, &old_objects).await?;
    let rows_before: usize = existing.iter().map(RecordBatch::num_rows).sum();
    let rows_in: usize = new.iter().map(RecordBatch::num_rows).sum();
    let mut all = existing;
    all.extend(new);
    let merged = merge(spec, all)?;
    let rows_after = merged.iter().map(RecordBatch::num_rows).sum();
    let target = lake.day_file(&spec.name, day);
    let bytes = write_atomically(lake, spec, merged, &target).await?;
    // Another tool may have left more files in the day: they are merged above, so remove them now.
    for object in old_objects.into_iter().filter(|o| o.location != target) {
        lake.store()
            .delete(&object.location)
            .await
            .map_err(|source| Error::Store {
                action: "deleting",
                path: object.location.to_string(),
                source,
            })?;
    }
    Ok(DayCommit {
        day,
        rows_before,
        rows_in,
        rows_after,
        bytes,
    })
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
/// batches. Anything it cannot check answers `false` (the copying merge then decides).
fn already_merged(spec: &TableSpec, batches: &[RecordBatch]) -> bool {
    use arrow::datatypes::TimestampMicrosecondType;
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let mut seen: foldhash::HashSet<&str> =
        foldhash::HashSet::with_capacity_and_hasher(rows, Default::default());
    let mut prev: Option<(Option<i64>, &str)> = None;
    for batch in batches {
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
        for i in 0..batch.num_rows() {
            let row = (ts.is_valid(i).then(|| ts.value(i)), keys.value(i));
            if !seen.insert(row.1) {
                return false;
            }
            if let Some(p) = prev
                && !in_order(p, row)
            {
                return false;
            }
            prev = Some(row);
        }
    }
    true
}

/// (timestamp, key) order with null timestamps last.
pub(crate) fn in_order(a: (Option<i64>, &str), b: (Option<i64>, &str)) -> bool {
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
    let key = all.column_by_name(&spec.key).ok_or_else(|| Error::Column {
        column: spec.key.clone(),
        reason: "missing".into(),
    })?;
    let keys = key.as_string_opt::<i32>().ok_or_else(|| Error::Column {
        column: spec.key.clone(),
        reason: format!("the key must be Utf8, not {}", key.data_type()),
    })?;
    let mut last: foldhash::HashMap<&str, u32> =
        foldhash::HashMap::with_capacity_and_hasher(keys.len(), Default::default());
    for (row, k) in keys.iter().enumerate() {
        let k = k.ok_or_else(|| Error::Column {
            column: spec.key.clone(),
            reason: format!("row {row} has no {}: every row needs a key", spec.key),
        })?;
        last.insert(k, row as u32);
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
                values: Arc::clone(key),
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

/// Rows handed to the Parquet writer at once (as they are, not joined: see
/// [`ParallelWriter::write_all`]); each hand-off starts the writer's helper thread. Measured on
/// 1 M rows (10 days): 16k rows take about 7% more time than 64k; a whole day at once (256k) is
/// no faster than 64k.
const ENCODE_CHUNK_ROWS: usize = 64 * 1024;

/// Objects larger than this are uploaded in parts (S3 needs parts of at least 5 MiB).
const PART_SIZE: usize = 16 * 1024 * 1024;

async fn write_atomically(
    lake: &Lake,
    spec: &TableSpec,
    batches: Vec<RecordBatch>,
    target: &Path,
) -> Result<u64> {
    let bytes = encode(spec, batches, target.to_string()).await?;
    put_atomically(lake, bytes.into(), target).await
}

/// Renames `from` over `target`, in one step.
async fn rename_into_place(lake: &Lake, from: &Path, target: &Path) -> Result<()> {
    lake.store()
        .rename(from, target)
        .await
        .map_err(|source| Error::Store {
            action: "committing",
            path: target.to_string(),
            source,
        })
}

/// Writes `bytes` to a staging object, then renames it over `target` in one step.
async fn put_atomically(lake: &Lake, bytes: bytes::Bytes, target: &Path) -> Result<u64> {
    let staging = lake.state_path(&format!("staging/{}.parquet", uuid::Uuid::new_v4()));
    let size = bytes.len() as u64;
    let result = async {
        upload(lake, &staging, bytes).await?;
        rename_into_place(lake, &staging, target).await
    }
    .await;
    if result.is_err() {
        // Best effort: the staging object is outside every table, so a leftover is harmless to
        // readers, and the next writer holding the lake lock removes it.
        let _ = lake.store().delete(&staging).await;
    }
    result.map(|()| size)
}

/// A day's file, encoded by [`encode_into`] out of merged rows (unique keys, in order).
pub(crate) enum EncodedDay {
    /// In memory: uploaded through a staging object.
    Bytes(bytes::Bytes),
    /// Already an object of the lake's own store (a local lake's spool), of this size: renamed
    /// into place, not copied.
    Object { path: Path, size: u64 },
}

/// Writes a day that the lake does not hold yet from its encoded file: the file is put in place as
/// it is, atomically. Returns `None`, having written nothing, when the day already has objects:
/// the caller then merges with [`write_day`].
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
    let bytes = match encoded {
        EncodedDay::Bytes(bytes) => put_atomically(lake, bytes, &target).await?,
        EncodedDay::Object { path, size } => {
            rename_into_place(lake, &path, &target).await?;
            size
        }
    };
    Ok(Some(DayCommit {
        day,
        rows_before: 0,
        rows_in: rows,
        rows_after: rows,
        bytes,
    }))
}

/// Encodes a day as one Parquet file in memory, on a blocking thread (it is CPU work).
async fn encode(spec: &TableSpec, batches: Vec<RecordBatch>, name: String) -> Result<Vec<u8>> {
    let spec = spec.clone();
    tokio::task::spawn_blocking(move || encode_blocking(&spec, batches, &name))
        .await
        .map_err(|e| Error::Spool(std::io::Error::other(e)))?
}

/// Encodes merged rows of one day as a lake file (the writer settings of every lake file), on the
/// calling thread. `name` says what is being encoded, for errors.
pub(crate) fn encode_blocking(
    spec: &TableSpec,
    batches: Vec<RecordBatch>,
    name: &str,
) -> Result<Vec<u8>> {
    encode_into(spec, batches, name, Vec::new())
}

/// Like [`encode_blocking`], into `out` (a spool file: no growing buffer of the whole file).
pub(crate) fn encode_into<W: std::io::Write + Send>(
    spec: &TableSpec,
    batches: Vec<RecordBatch>,
    name: &str,
    out: W,
) -> Result<W> {
    let schema = Arc::clone(&spec.schema);
    let encoded = (|| {
        let mut writer =
            ParallelWriter::try_new_into(out, Arc::clone(&schema), writer_properties(spec))?;
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

/// Uploads an object in one put, or in parts with the upload aborted on any failure (no orphan
/// parts are left behind).
async fn upload(lake: &Lake, path: &Path, bytes: bytes::Bytes) -> Result<()> {
    let store_err = |action: &'static str| {
        let path = path.to_string();
        move |source| Error::Store {
            action,
            path,
            source,
        }
    };
    if bytes.len() <= PART_SIZE {
        lake.store()
            .put(path, bytes.into())
            .await
            .map_err(store_err("writing"))?;
        return Ok(());
    }
    let mut upload = lake
        .store()
        .put_multipart(path)
        .await
        .map_err(store_err("starting an upload of"))?;
    let parts = async {
        for start in (0..bytes.len()).step_by(PART_SIZE) {
            let end = (start + PART_SIZE).min(bytes.len());
            upload.put_part(bytes.slice(start..end).into()).await?;
        }
        upload.complete().await
    }
    .await;
    if let Err(source) = parts {
        let _ = upload.abort().await;
        return Err(Error::Store {
            action: "uploading",
            path: path.to_string(),
            source,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
