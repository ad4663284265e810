//! Delta Lake tables (`--table-format delta`): the second implementation of "put these days in
//! place", with delta-rs.
//!
//! Each table is a Delta table at `<lake>/<table>/`, partitioned by `call_date` (Date32), with the
//! columns and types of the Parquet lake. The days one landing changes are ONE Delta transaction:
//! for every day, the day's current files (from the table's snapshot) are read, merged with the
//! new rows by key exactly as in the Parquet lake, and written as one new file in the day's
//! partition; the commit adds the new files and removes the old ones, with the partition
//! predicate `call_date IN (…)` as its read predicate. Delta's optimistic concurrency does the
//! rest: a commit by any other writer (another pstn-lake, Spark, Fabric) that added or removed
//! files of those days since the snapshot makes this commit fail its conflict check; the table is
//! then read again, the days merged again from this landing's new rows (kept in the spool until
//! the commit), and the commit tried again, up to [`MAX_ATTEMPTS`]. Rows this writer did not read
//! are never overwritten.
//!
//! New data files are written with the same conditional, durable put as a Parquet lake's days
//! (see `crate::day::put_day`); files of a commit that lost are deleted again. Checkpoints are
//! written by delta-rs's post-commit hook, every 100 commits (Delta's default interval).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake::kernel::{Action, Add, StructType};
use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{
    DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError, FilterOp, FilterValue,
};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use url::Url;

use crate::day::{
    EncodedDay, Expected, MAX_ATTEMPTS, Put, backoff, decode_parquet, encode, merge, put_day,
};
use crate::day_writer::{Finished, SpooledDay};
use crate::error::store;
use crate::{DayCommit, Error, Lake, Result, TableSpec, partition_column};

/// delta-rs finds a log store for a URL by its scheme. `file` and `memory` are built in; for the
/// object stores the lake opens itself (`crate::lake`), every scheme gets the default log store
/// over that store, which commits with a conditional put (`If-None-Match: *` on S3 and Azure,
/// a generation match on GCS): delta-rs's own store crates would do the same, with a second copy
/// of each SDK's configuration.
fn register_log_stores() {
    struct OverTheLakeStore;
    impl LogStoreFactory for OverTheLakeStore {
        fn with_options(
            &self,
            prefixed_store: ObjectStoreRef,
            root_store: ObjectStoreRef,
            location: &Url,
            options: &StorageConfig,
        ) -> DeltaResult<Arc<dyn LogStore>> {
            Ok(default_logstore(
                prefixed_store,
                root_store,
                location,
                options,
            ))
        }
    }
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        let factories = logstore_factories();
        for scheme in ["s3", "s3a", "az", "abfs", "abfss", "adl", "azure", "gs"] {
            let url = Url::parse(&format!("{scheme}://")).expect("a scheme URL");
            if !factories.contains_key(&url) {
                factories.insert(url, Arc::new(OverTheLakeStore));
            }
        }
    });
}

fn delta_error(url: &Url) -> impl Fn(DeltaTableError) -> Error + '_ {
    move |source| Error::Delta {
        table: url.to_string(),
        source: Box::new(source),
    }
}

/// A table of the lake as delta-rs sees it (not loaded), over the lake's own store.
pub(crate) fn table_builder(lake: &Lake, table: &str) -> Result<(DeltaTableBuilder, Url)> {
    register_log_stores();
    let url = lake.table_url(table)?;
    let builder = DeltaTableBuilder::from_url(url.clone())
        .map_err(delta_error(&url))?
        .with_storage_backend(Arc::clone(lake.store()), url.clone());
    Ok((builder, url))
}

/// A snapshot of a Delta table other than the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// The table as this version committed it.
    Version(u64),
    /// The table as it was at this time (its latest commit at or before it).
    Time(chrono::DateTime<chrono::Utc>),
}

impl std::fmt::Display for AsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsOf::Version(v) => write!(f, "version {v}"),
            AsOf::Time(t) => write!(f, "as of {}", t.to_rfc3339()),
        }
    }
}

impl std::str::FromStr for AsOf {
    type Err = String;

    /// A version number (`12`) or an RFC 3339 time (`2026-11-30T00:00:00Z`).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if let Ok(version) = s.parse() {
            return Ok(AsOf::Version(version));
        }
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| AsOf::Time(t.with_timezone(&chrono::Utc)))
            .map_err(|_| {
                format!(
                    "`{s}` is not a table version (a whole number) or an RFC 3339 time such as \
                     2026-11-30T00:00:00Z"
                )
            })
    }
}

/// Whether the table's folder holds a Delta log (a commit).
pub(crate) async fn has_log(lake: &Lake, table: &str) -> Result<bool> {
    let (builder, url) = table_builder(lake, table)?;
    let fail = delta_error(&url);
    builder
        .build()
        .map_err(&fail)?
        .log_store()
        .is_delta_table_location()
        .await
        .map_err(fail)
}

/// The table's snapshot (the latest, or `as_of`), or `None` when the lake has no Delta table of
/// that name yet. Other engines' readers of the table are delta-rs's DataFusion provider:
/// `delta.table_provider()`.
pub async fn delta_table(
    lake: &Lake,
    table: &str,
    as_of: Option<AsOf>,
) -> Result<Option<DeltaTable>> {
    if !has_log(lake, table).await? {
        // A Delta lake's table folder with Parquet days but no log is a `convert` that stopped
        // halfway: read as an empty table, or written as a new one, its days would be lost.
        if !lake
            .partition_days(&lake.table_path(table), partition_column(table))
            .await?
            .is_empty()
        {
            return Err(Error::Unconverted {
                table: table.to_owned(),
                lake: lake.url().to_string(),
            });
        }
        return Ok(None);
    }
    let (builder, url) = table_builder(lake, table)?;
    let builder = match as_of {
        None => builder,
        Some(AsOf::Version(v)) => builder.with_version(v),
        Some(AsOf::Time(t)) => builder.with_timestamp(t),
    };
    let delta = builder.load().await.map_err(|e| match as_of {
        Some(as_of) => Error::AsOf {
            table: url.to_string(),
            as_of: as_of.to_string(),
            reason: e.to_string(),
        },
        None => delta_error(&url)(e),
    })?;
    if let Some(as_of) = as_of {
        maintain::check_files(lake, table, &delta, &as_of.to_string()).await?;
    }
    Ok(Some(delta))
}

/// The table's latest snapshot, or `None` when the lake has no Delta table of that name yet.
pub(crate) async fn open_table(lake: &Lake, table: &str) -> Result<Option<DeltaTable>> {
    delta_table(lake, table, None).await
}

/// The Delta schema of a table: the spec's columns, then its partition column (`call_date`, or
/// `snapshot_date` for a snapshot table: Date32), not stored in the data files, as Delta and
/// Hive partitioning have it.
pub fn delta_schema(spec: &TableSpec) -> Schema {
    let mut fields: Vec<Field> = spec
        .schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(
        partition_column(&spec.name),
        DataType::Date32,
        true,
    ));
    Schema::new(fields)
}

/// Opens the table, creating it (version 0: its schema and partitioning) when it does not exist.
async fn open_or_create(lake: &Lake, spec: &TableSpec) -> Result<DeltaTable> {
    if let Some(table) = open_table(lake, &spec.name).await? {
        return Ok(table);
    }
    // The lake's first Delta table records the lake's format (see `crate::format`).
    lake.record_format(crate::TableFormat::Delta).await?;
    let (builder, url) = table_builder(lake, &spec.name)?;
    let fail = delta_error(&url);
    let schema: StructType = (&delta_schema(spec)).try_into_kernel().map_err(|e| {
        fail(DeltaTableError::Generic(format!(
            "the schema has no Delta equivalent: {e}"
        )))
    })?;
    let created = builder
        .build()
        .map_err(&fail)?
        .create()
        .with_columns(schema.fields().cloned())
        .with_partition_columns([partition_column(&spec.name)])
        // A table another writer created before this one looked is loaded, not replaced.
        .with_save_mode(SaveMode::Ignore)
        // One attempt: the creation is the conditional put of version 0. Retried, delta-rs would
        // commit a second CREATE TABLE over the winner's (or fail on its conflict check).
        .with_commit_properties(CommitProperties::default().with_max_retries(0))
        .await;
    let table = match created {
        Ok(table) => table,
        // Another writer created it between that look and this put: the winner's table is used
        // (the caller's commit merges with what it holds). Any other failure leaves no table.
        Err(e) => match open_table(lake, &spec.name).await? {
            Some(table) => return Ok(table),
            None => return Err(fail(e)),
        },
    };
    make_durable(lake, &spec.name, table.version().unwrap_or_default()).await?;
    Ok(table)
}

/// On a local lake, puts the commit of `version` on disk before anything is recorded as done:
/// delta-rs writes `_delta_log/N.json` (and every 100 versions a checkpoint and
/// `_last_checkpoint`) through `object_store`'s local store, which does not fsync, so a power cut
/// after the sync state recorded a day could otherwise lose the commit that holds it. Fsyncs those
/// files, then `_delta_log/`, the table's folder and the lake's (the folders of the first commit
/// are new entries). Object stores need nothing: a PUT that returned is durable.
pub(crate) async fn make_durable(lake: &Lake, table: &str, version: u64) -> Result<()> {
    let Some(folder) = lake.file_of(&lake.table_path(table)) else {
        return Ok(());
    };
    let log = folder.join("_delta_log");
    let lake_folder = lake.folder().map(std::path::Path::to_path_buf);
    let synced = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        for name in [
            format!("{version:020}.json"),
            format!("{version:020}.checkpoint.parquet"),
            "_last_checkpoint".to_owned(),
        ] {
            match std::fs::File::open(log.join(&name)) {
                Ok(file) => file.sync_all()?,
                // A checkpoint is written every 100 versions only.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !name.ends_with(".json") => {}
                Err(e) => return Err(e),
            }
        }
        crate::local::sync_dir(&log)?;
        crate::local::sync_dir(&folder)?;
        if let Some(lake_folder) = lake_folder {
            crate::local::sync_dir(&lake_folder)?;
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Spool(std::io::Error::other(e)))?;
    synced.map_err(|e| {
        store("writing", &lake.table_path(table))(object_store::Error::Generic {
            store: "local",
            source: format!("making commit {version} durable: {e}").into(),
        })
    })
}

/// The bytes of a file of the table (`path` relative to the table's folder).
async fn read_table_file(lake: &Lake, spec: &TableSpec, path: &str) -> Result<bytes::Bytes> {
    let object = Path::parse(format!("{}/{path}", lake.table_path(&spec.name)))
        .map_err(|e| store("reading", &lake.table_path(&spec.name))(e.into()))?;
    match lake.get_optional(&object).await? {
        Some(bytes) => Ok(bytes),
        None => Err(store("reading", &object)(object_store::Error::NotFound {
            path: object.to_string(),
            source: "a file of the table's snapshot is missing (vacuumed by another tool?)".into(),
        })),
    }
}

/// Every row of one day of the table's latest snapshot (none when the lake has no such table).
pub(crate) async fn read_day(
    lake: &Lake,
    spec: &TableSpec,
    day: NaiveDate,
) -> Result<Vec<RecordBatch>> {
    let Some(table) = open_table(lake, &spec.name).await? else {
        return Ok(Vec::new());
    };
    let url = lake.table_url(&spec.name)?;
    let date = day.format("%Y-%m-%d").to_string();
    let filters = [(
        partition_column(&spec.name),
        FilterOp::Eq,
        FilterValue::Scalar(&date),
    )];
    let held: Vec<_> = table
        .get_active_add_actions_by_partitions(&filters)
        .try_collect()
        .await
        .map_err(delta_error(&url))?;
    let mut batches = Vec::new();
    for file in &held {
        let path = file.path().into_owned();
        let bytes = read_table_file(lake, spec, &path).await?;
        batches.extend(decode_parquet(spec, bytes, &format!("{url}{path}"))?);
    }
    Ok(batches)
}

/// Removes `days` from the table in one commit (a delete whose predicate names whole
/// partitions: files are removed, none rewritten); returns how many files the commit removed.
/// The bytes stay until `vacuum` deletes them, once the table's retention has passed.
pub(crate) async fn delete_days(lake: &Lake, table: &str, days: &[NaiveDate]) -> Result<usize> {
    let Some(delta) = open_table(lake, table).await? else {
        return Ok(0);
    };
    let url = lake.table_url(table)?;
    let list: Vec<String> = days
        .iter()
        .map(|d| format!("DATE '{}'", d.format("%Y-%m-%d")))
        .collect();
    let predicate = format!("{} IN ({})", partition_column(table), list.join(", "));
    let (deleted, metrics) = delta
        .delete()
        .with_predicate(predicate.as_str())
        .await
        .map_err(delta_error(&url))?;
    make_durable(lake, table, deleted.version().unwrap_or_default()).await?;
    Ok(metrics.num_removed_files)
}

/// This landing's new rows of a day, read back from the spool.
async fn new_rows(spec: &TableSpec, day: &SpooledDay) -> Result<Vec<RecordBatch>> {
    let files = match &day.finished {
        Finished::Day(file, ..) => std::slice::from_ref(file),
        Finished::Parts(parts) => parts.as_slice(),
    };
    let mut rows = Vec::new();
    for file in files {
        let bytes = tokio::fs::read(file).await.map_err(Error::Spool)?;
        rows.extend(decode_parquet(
            spec,
            bytes.into(),
            &file.display().to_string(),
        )?);
    }
    Ok(rows)
}

/// Commits `days` to the table as one Delta transaction (see the module documentation).
pub(crate) async fn commit(
    lake: &Lake,
    spec: &TableSpec,
    days: Vec<SpooledDay>,
) -> Result<Vec<DayCommit>> {
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let mut table = open_or_create(lake, spec).await?;
    let url = lake.table_url(&spec.name)?;
    let fail = delta_error(&url);
    let day_list = days
        .iter()
        .map(|d| format!("'{}'", d.day.format("%Y-%m-%d")))
        .collect::<Vec<_>>()
        .join(", ");
    for attempt in 1..=MAX_ATTEMPTS {
        let mut actions = Vec::new();
        let mut written: Vec<Path> = Vec::new();
        let mut commits = Vec::new();
        let staged = stage(
            lake,
            spec,
            &table,
            &days,
            &mut actions,
            &mut written,
            &mut commits,
        );
        if let Err(e) = staged.await {
            remove(lake, &written).await;
            return Err(e);
        }
        let rows_after: usize = commits.iter().map(|c: &DayCommit| c.rows_after).sum();
        let metrics = serde_json::json!({
            "numDays": commits.len(),
            "numOutputRows": rows_after,
            "numAddedFiles": written.len(),
            "numRemovedFiles": actions.len() - written.len(),
        });
        let operation = DeltaOperation::Write {
            mode: SaveMode::Overwrite,
            partition_by: Some(vec![partition_column(&spec.name).to_owned()]),
            predicate: Some(format!("{} IN ({day_list})", partition_column(&spec.name))),
        };
        if let Err(e) = lake.check_fence() {
            remove(lake, &written).await;
            return Err(e);
        }
        let snapshot = table.snapshot().map_err(&fail)?;
        let committed = CommitBuilder::from(
            CommitProperties::default()
                .with_metadata([("operationMetrics".to_owned(), metrics)])
                .with_max_retries(MAX_ATTEMPTS),
        )
        .with_actions(actions)
        .build(Some(snapshot), table.log_store(), operation)
        .await;
        match committed {
            Ok(done) => {
                make_durable(lake, &spec.name, done.version()).await?;
                return Ok(commits);
            }
            Err(DeltaTableError::Transaction {
                source: TransactionError::CommitConflict(conflict),
            }) => {
                remove(lake, &written).await;
                tracing::info!(table = %spec.name, attempt, %conflict, "another writer changed these days; merging again");
                table.update_state().await.map_err(&fail)?;
                backoff(attempt).await;
            }
            Err(e) => {
                remove(lake, &written).await;
                return Err(fail(e));
            }
        }
    }
    Err(Error::Conflict {
        table: spec.name.clone(),
        day: days[0].day,
        attempts: MAX_ATTEMPTS,
    })
}

/// Writes each day's merged file and collects the commit's actions: an `add` per day and a
/// `remove` per file the day held.
async fn stage(
    lake: &Lake,
    spec: &TableSpec,
    table: &DeltaTable,
    days: &[SpooledDay],
    actions: &mut Vec<Action>,
    written: &mut Vec<Path>,
    commits: &mut Vec<DayCommit>,
) -> Result<()> {
    let url = lake.table_url(&spec.name)?;
    let fail = delta_error(&url);
    let column = partition_column(&spec.name);
    for day in days {
        let date = day.day.format("%Y-%m-%d").to_string();
        let filters = [(column, FilterOp::Eq, FilterValue::Scalar(&date))];
        let held: Vec<_> = table
            .get_active_add_actions_by_partitions(&filters)
            .try_collect()
            .await
            .map_err(&fail)?;
        let mut rows_before = 0;
        let mut batches = Vec::new();
        for file in &held {
            let path = file.path().into_owned();
            let bytes = read_table_file(lake, spec, &path).await?;
            let rows = decode_parquet(spec, bytes, &format!("{}{path}", url))?;
            rows_before += rows.iter().map(RecordBatch::num_rows).sum::<usize>();
            batches.extend(rows);
            actions.push(Action::Remove(file.remove_action(true)));
        }
        let name = format!("{column}={date}/part-{}.parquet", uuid::Uuid::new_v4());
        let (encoded, rows_after, merged) = match &day.finished {
            // A new day whose rows came in order: its encoded file is the day's file.
            Finished::Day(file, _, rows) if held.is_empty() => (
                tokio::fs::read(file).await.map_err(Error::Spool)?,
                *rows,
                false,
            ),
            _ => {
                batches.extend(new_rows(spec, day).await?);
                let merged = merge(spec, batches)?;
                let rows = merged.iter().map(RecordBatch::num_rows).sum();
                (
                    encode(spec, merged, format!("{url}{name}")).await?,
                    rows,
                    true,
                )
            }
        };
        let target = Path::parse(format!("{}/{name}", lake.table_path(&spec.name)))
            .map_err(|e| store("writing", &lake.table_path(&spec.name))(e.into()))?;
        let size = encoded.len();
        match put_day(
            lake,
            &target,
            &Expected::Absent,
            EncodedDay::Bytes(encoded.into()),
        )
        .await?
        {
            Put::Done(..) => written.push(target),
            Put::Conflict => unreachable!("a new file name"),
        }
        actions.push(Action::Add(Add {
            path: name,
            partition_values: HashMap::from([(column.to_owned(), Some(date))]),
            size: size as i64,
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change: true,
            stats: Some(serde_json::json!({ "numRecords": rows_after }).to_string()),
            ..Default::default()
        }));
        commits.push(DayCommit {
            day: day.day,
            rows_before,
            rows_in: day.rows_in,
            rows_after,
            bytes: size as u64,
            merged,
        });
    }
    Ok(())
}

/// Deletes the data files of a commit that did not happen (best effort: a file left behind is
/// not part of the table, and `vacuum` in full mode removes it).
async fn remove(lake: &Lake, written: &[Path]) {
    for path in written {
        if let Err(e) = lake.store().delete(path).await {
            tracing::warn!(%path, error = %e, "removing a data file of a commit that did not happen");
        }
    }
}

/// The days of a Delta table that hold rows in its latest snapshot.
pub(crate) async fn days(lake: &Lake, table: &str) -> Result<Vec<NaiveDate>> {
    let Some(delta) = open_table(lake, table).await? else {
        return Ok(Vec::new());
    };
    let url = lake.table_url(table)?;
    let files: Vec<_> = delta
        .get_active_add_actions_by_partitions(&[])
        .try_collect()
        .await
        .map_err(delta_error(&url))?;
    let mut days: Vec<NaiveDate> = files
        .iter()
        .filter_map(|f| {
            f.partition_values_map()
                .get(partition_column(table))
                .cloned()
                .flatten()
                .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        })
        .collect();
    days.sort();
    days.dedup();
    Ok(days)
}

/// One commit of a Delta table, as `pstn-lake history` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The table version the commit made.
    pub version: u64,
    /// When it was committed (the writer's clock).
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// Delta's operation name (`CREATE TABLE`, `WRITE`, `OPTIMIZE`, `VACUUM START`, …).
    pub operation: String,
    /// The days it replaced (its predicate, as written by the writer), when it names them.
    pub predicate: Option<String>,
    /// Rows the days it wrote hold (pstn-lake's commits; another writer's, when it says).
    pub rows: Option<u64>,
    /// The engine that committed it (`delta-rs:1.1.3`, Spark, …).
    pub engine: Option<String>,
}

/// A Delta table's commits, newest first (at most `limit`); empty when the table does not exist.
pub async fn history(lake: &Lake, table: &str, limit: Option<usize>) -> Result<Vec<Commit>> {
    let Some(delta) = open_table(lake, table).await? else {
        return Ok(Vec::new());
    };
    let url = lake.table_url(table)?;
    let latest = delta.version().unwrap_or_default();
    let infos: Vec<_> = delta
        .history(limit)
        .try_collect()
        .await
        .map_err(delta_error(&url))?;
    Ok(infos
        .into_iter()
        .enumerate()
        .map(|(i, info)| {
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let metric = |name: &str| {
                let metrics = info.info.get("operationMetrics")?;
                metrics.get(name).and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
            };
            Commit {
                version: latest.saturating_sub(i as u64),
                time: info
                    .timestamp
                    .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis),
                operation: info.operation.clone().unwrap_or_default(),
                predicate: info
                    .operation_parameters
                    .as_ref()
                    .and_then(|p| p.get("predicate"))
                    .map(text),
                rows: metric("numOutputRows"),
                engine: info.engine_info.clone(),
            }
        })
        .collect())
}

mod maintain;
pub use maintain::{Converted, Optimized, Vacuum, Vacuumed, convert, optimize, vacuum};

#[cfg(test)]
mod tests;
