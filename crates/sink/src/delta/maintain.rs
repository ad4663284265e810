//! The upkeep of a Delta lake's tables, with delta-rs's own operations: `vacuum` (delete the data
//! files replaced versions no longer need), `optimize` (compact a day's files into fewer), and
//! `convert` (make an existing Parquet lake's table a Delta table in place, without rewriting a
//! data file). Each works on one table; the pipeline runs them over a lake under its lock.

use std::collections::HashSet;

use chrono::NaiveDate;
use deltalake::kernel::{DataType as DeltaType, StructField};
use deltalake::operations::convert_to_delta::{ConvertToDeltaBuilder, PartitionStrategy};
use deltalake::operations::optimize::OptimizeType;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::table::config::TablePropertiesExt;
use deltalake::{DeltaTable, FilterOp, FilterValue};
use futures::TryStreamExt;

use super::{delta_error, has_log, open_table, table_builder};
use crate::error::store;
use crate::{Error, Lake, Result, partition_column};

/// What `vacuum` is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Vacuum {
    /// Files replaced longer ago than this are deleted.
    pub retain: chrono::Duration,
    /// Only list what would be deleted.
    pub dry_run: bool,
    /// Allow `retain` below the table's `delta.deletedFileRetentionDuration` (7 days by default).
    pub force: bool,
}

/// The data files `vacuum` deleted from a table (or, on a dry run, would delete), relative to the
/// table's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vacuumed {
    pub files: Vec<String>,
    pub dry_run: bool,
}

/// Deletes the data files of `table` that no version newer than `retain` ago needs: files that
/// later commits removed, and files no commit ever added (a writer's commit that failed), once
/// older than `retain`. `None` when the lake has no such table.
pub async fn vacuum(lake: &Lake, table: &str, options: &Vacuum) -> Result<Option<Vacuumed>> {
    let Some(delta) = open_table(lake, table).await? else {
        return Ok(None);
    };
    let url = lake.table_url(table)?;
    let fail = delta_error(&url);
    let kept = delta
        .snapshot()
        .map_err(&fail)?
        .table_config()
        .deleted_file_retention_duration();
    let min = chrono::Duration::milliseconds(kept.as_millis().try_into().unwrap_or(i64::MAX));
    if options.retain < min && !options.force {
        return Err(Error::Retention {
            table: table.to_owned(),
            hours: options.retain.num_hours(),
            min: min.num_hours(),
        });
    }
    let (_, metrics) = delta
        .vacuum()
        .with_retention_period(options.retain)
        .with_enforce_retention_duration(false)
        // Full: also the files of commits that never happened (see `super::remove`).
        .with_mode(VacuumMode::Full)
        .with_dry_run(options.dry_run)
        .await
        .map_err(fail)?;
    let prefix = format!("{}/", lake.table_path(table));
    let mut files: Vec<String> = metrics
        .files_deleted
        .into_iter()
        .map(|f| f.strip_prefix(&prefix).map(str::to_owned).unwrap_or(f))
        .collect();
    files.sort();
    Ok(Some(Vacuumed {
        files,
        dry_run: metrics.dry_run,
    }))
}

/// What `optimize` did to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Optimized {
    /// Days whose files were compacted.
    pub days: u64,
    pub files_removed: u64,
    pub files_added: u64,
}

/// Compacts the files of each day of `table` in `days` (every day when empty) that holds more
/// than one small file into as few as the target size allows, as one commit (delta-rs's
/// `OPTIMIZE`, whose conflict check protects concurrent writers). pstn-lake's own writer leaves
/// one file a day; days get more from other engines' appends. `None` when there is no table.
pub async fn optimize(lake: &Lake, table: &str, days: &[NaiveDate]) -> Result<Option<Optimized>> {
    let Some(delta) = open_table(lake, table).await? else {
        return Ok(None);
    };
    let url = lake.table_url(table)?;
    let dates: Vec<String> = days
        .iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    let filters = if dates.is_empty() {
        Vec::new()
    } else {
        vec![(
            partition_column(table),
            FilterOp::In,
            FilterValue::Set(dates.iter().map(String::as_str).collect()),
        )]
    };
    let (_, metrics) = delta
        .optimize()
        .with_filters(&filters)
        .with_type(OptimizeType::Compact)
        .await
        .map_err(delta_error(&url))?;
    Ok(Some(Optimized {
        days: metrics.partitions_optimized,
        files_removed: metrics.num_files_removed,
        files_added: metrics.num_files_added,
    }))
}

/// A Parquet table made a Delta table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converted {
    /// Its data files, each now in the Delta log as it was (none rewritten).
    pub files: usize,
}

/// Makes a Parquet lake a Delta lake in place: records the lake as Delta first, then converts
/// each table (see [`convert_table`]); each table's outcome, `None` for one that was a Delta
/// table already. Between the two, a table not converted yet is refused by every reader and
/// writer ([`Error::Unconverted`]) rather than read or written as an empty Delta table, so a
/// `convert` that stops halfway loses nothing and is finished by running it again. Run it under
/// the lake's lock.
pub async fn convert(lake: &Lake) -> Result<Vec<(String, Option<Converted>)>> {
    // Everything is checked before anything is written: once the lake is recorded as Delta, a
    // table that cannot be converted would leave it refusing that table until it is.
    let mut tables = Vec::new();
    for table in lake.tables().await? {
        if has_log(lake, &table).await? || check_layout(lake, &table).await? > 0 {
            tables.push(table);
        }
    }
    if tables.is_empty() {
        return Err(Error::NothingToConvert {
            url: lake.url().to_string(),
        });
    }
    lake.record_format(crate::TableFormat::Delta).await?;
    let mut converted = Vec::new();
    for table in tables {
        let outcome = convert_table(lake, &table).await?;
        converted.push((table, outcome));
    }
    Ok(converted)
}

/// The Parquet files of a table not converted yet, each of which must be a day's file,
/// `<table>/call_date=YYYY-MM-DD/<name>.parquet`, as delta-rs's conversion takes every `.parquet`
/// file below the table's folder: any other is refused here, naming it, before the lake is
/// touched ([`Error::Unconvertible`]). Files outside that shape that are not Parquet are left
/// alone (and stay outside the table).
async fn check_layout(lake: &Lake, table: &str) -> Result<usize> {
    let root = lake.table_path(table);
    let prefix = format!("{root}/");
    let files: Vec<String> = lake
        .store()
        .list(Some(&root))
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .map_err(store("listing", &root))?;
    let mut parquet = 0;
    for file in files.iter().filter(|f| f.ends_with(".parquet")) {
        let relative = file.strip_prefix(&prefix).unwrap_or(file);
        let day = match relative.split('/').collect::<Vec<_>>().as_slice() {
            [folder, _name] => folder
                .strip_prefix(partition_column(table))
                .and_then(|d| d.strip_prefix('='))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            _ => None,
        };
        if day.is_none() {
            return Err(Error::Unconvertible {
                table: table.to_owned(),
                file: relative.to_owned(),
            });
        }
        parquet += 1;
    }
    Ok(parquet)
}

/// Makes the Parquet table `table` a Delta table in place: one commit adding every data file of
/// its `call_date=` folders as it is, with the schema read from the files' footers and
/// `call_date` as a `DATE` partition. `None` when it is a Delta table already (a `convert` run
/// again after it stopped halfway goes on with the tables it had not reached).
async fn convert_table(lake: &Lake, table: &str) -> Result<Option<Converted>> {
    if has_log(lake, table).await? {
        return Ok(None);
    }
    let (builder, url) = table_builder(lake, table)?;
    let fail = delta_error(&url);
    let log_store = builder.build().map_err(&fail)?.log_store();
    let converted = ConvertToDeltaBuilder::new()
        .with_log_store(log_store)
        .with_partition_schema([StructField::new(
            partition_column(table),
            DeltaType::DATE,
            true,
        )])
        .with_partition_strategy(PartitionStrategy::Hive)
        .await
        .map_err(&fail)?;
    super::make_durable(lake, table, converted.version().unwrap_or_default()).await?;
    Ok(Some(Converted {
        files: converted.get_file_uris().map_err(fail)?.count(),
    }))
}

/// Fails with [`Error::Vacuumed`] when `delta`, a snapshot read `as_of`, needs data files that
/// are gone: one LIST of the table's folder (only for `--as-of`: the latest snapshot's files are
/// never vacuumed).
pub(super) async fn check_files(
    lake: &Lake,
    table: &str,
    delta: &DeltaTable,
    as_of: &str,
) -> Result<()> {
    let url = lake.table_url(table)?;
    let needed = delta
        .get_files_by_partitions(&[])
        .await
        .map_err(delta_error(&url))?;
    let root = lake.table_path(table);
    let prefix = format!("{root}/");
    let present: HashSet<String> = lake
        .store()
        .list(Some(&root))
        .map_ok(|meta| {
            let location = meta.location.to_string();
            location
                .strip_prefix(&prefix)
                .map(str::to_owned)
                .unwrap_or(location)
        })
        .try_collect()
        .await
        .map_err(store("listing", &root))?;
    let missing: Vec<String> = needed
        .iter()
        .map(ToString::to_string)
        .filter(|file| !present.contains(file))
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(Error::Vacuumed {
            table: table.to_owned(),
            as_of: as_of.to_owned(),
            missing: missing.len(),
            files: needed.len(),
            first: first.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, RecordBatch};
    use deltalake::protocol::SaveMode;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use url::Url;

    use super::*;
    use crate::delta::{AsOf, days, delta_schema, delta_table};
    use crate::test_util::{batch, day, spec};
    use crate::{Landing, TableFormat, TableSpec};

    fn memory_lake() -> Lake {
        Lake::with_store(
            Arc::new(InMemory::new()),
            Path::from("lake"),
            Url::parse("memory:///lake").unwrap(),
        )
    }

    async fn land(lake: &Lake, spec: &TableSpec, rows: &[(&str, i64, i64)]) {
        let mut landing = Landing::new(lake.clone(), spec.clone());
        landing.push(&batch(rows)).unwrap();
        landing.commit().await.unwrap();
    }

    /// `sum(amount)` and the ids of `table`, read through delta-rs's snapshot (latest or `as_of`).
    async fn read(lake: &Lake, table: &str, as_of: Option<AsOf>) -> Result<(i64, Vec<String>)> {
        use arrow::array::AsArray;
        use arrow::datatypes::Int64Type;
        let delta = delta_table(lake, table, as_of).await?.expect("a table");
        let mut sum = 0;
        let mut ids = Vec::new();
        for path in delta.get_files_by_partitions(&[]).await.unwrap() {
            let object = Path::from(format!("{}/{path}", lake.table_path(table)));
            let bytes = lake.get_optional(&object).await?.expect("a file");
            for b in crate::day::decode_parquet(&spec(), bytes, "test")? {
                sum += b
                    .column(2)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .flatten()
                    .sum::<i64>();
                ids.extend(
                    b.column(0)
                        .as_string::<i32>()
                        .iter()
                        .flatten()
                        .map(str::to_owned),
                );
            }
        }
        ids.sort();
        Ok((sum, ids))
    }

    /// Every object of the lake's store.
    async fn objects(lake: &Lake) -> Vec<Path> {
        lake.store()
            .list(None)
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .unwrap()
    }

    fn other() -> TableSpec {
        TableSpec {
            name: "other".into(),
            ..spec()
        }
    }

    #[tokio::test]
    async fn convert_makes_each_parquet_table_a_delta_table_of_the_same_rows_and_types() {
        let lake = memory_lake();
        land(&lake, &spec(), &[("a", 1, 10), ("b", 2, 20)]).await;
        land(&lake, &other(), &[("c", 3, 30)]).await;
        let before = objects(&lake).await;

        let converted = convert(&lake).await.unwrap();
        assert_eq!(
            converted,
            [
                ("calls".to_owned(), Some(Converted { files: 1 })),
                ("other".to_owned(), Some(Converted { files: 1 }))
            ]
        );
        assert_eq!(lake.table_format().await.unwrap(), TableFormat::Delta);
        // No data file rewritten: every object before is still there, unchanged in name.
        let after = objects(&lake).await;
        for object in &before {
            assert!(after.contains(object), "{object} is gone");
        }
        assert_eq!(
            read(&lake, "calls", None).await.unwrap(),
            (30, vec!["a".into(), "b".into()])
        );
        assert_eq!(
            read(&lake, "other", None).await.unwrap(),
            (30, vec!["c".into()])
        );
        assert_eq!(days(&lake, "calls").await.unwrap(), [day()]);
        // The schema is the one a Delta lake made by pstn-lake has.
        let delta = delta_table(&lake, "calls", None).await.unwrap().unwrap();
        let arrow: arrow::datatypes::Schema =
            deltalake::kernel::engine::arrow_conversion::TryIntoArrow::try_into_arrow(
                delta.snapshot().unwrap().schema().as_ref(),
            )
            .unwrap();
        let types = |s: &arrow::datatypes::Schema| {
            s.fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(types(&arrow), types(&delta_schema(&spec())));
        // The Delta writer then lands on it as on any Delta table; a second convert does nothing.
        land(&lake, &spec(), &[("b", 2, 200), ("d", 4, 4)]).await;
        assert_eq!(read(&lake, "calls", None).await.unwrap().0, 214);
        assert_eq!(
            convert(&lake).await.unwrap(),
            [("calls".to_owned(), None), ("other".to_owned(), None)]
        );
        assert!(matches!(
            convert(&memory_lake()).await.unwrap_err(),
            Error::NothingToConvert { .. }
        ));
    }

    #[tokio::test]
    async fn convert_checks_every_table_before_it_changes_the_lake() {
        let lake = memory_lake();
        land(&lake, &spec(), &[("a", 1, 10)]).await;
        land(&lake, &other(), &[("c", 3, 30)]).await;
        // A folder without Parquet files is no table to convert; a Parquet file outside the day
        // folders cannot be part of one.
        let put = |path: &str| {
            let store = Arc::clone(lake.store());
            let path = Path::from(format!("lake/{path}"));
            async move {
                store
                    .put(&path, bytes::Bytes::from_static(b"x").into())
                    .await
                    .unwrap()
            }
        };
        put("notes/readme.txt").await;
        put("other/export.parquet").await;
        let before = objects(&lake).await;
        let err = convert(&lake).await.unwrap_err();
        assert!(
            matches!(&err, Error::Unconvertible { table, file } if table == "other" && file == "export.parquet"),
            "{err}"
        );
        assert_eq!(objects(&lake).await, before, "nothing was changed");
        assert_eq!(lake.table_format().await.unwrap(), TableFormat::Parquet);
        lake.store()
            .delete(&Path::from("lake/other/export.parquet"))
            .await
            .unwrap();
        let converted = convert(&lake).await.unwrap();
        let names: Vec<&str> = converted.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(names, ["calls", "other"], "notes/ is not a table");
    }

    #[tokio::test]
    async fn a_convert_stopped_halfway_is_refused_by_readers_and_writers_and_finished_by_another() {
        let lake = memory_lake();
        land(&lake, &spec(), &[("a", 1, 10)]).await;
        land(&lake, &other(), &[("c", 3, 30)]).await;
        // What a convert that stopped after its first table leaves.
        lake.record_format(TableFormat::Delta).await.unwrap();
        convert_table(&lake, "calls").await.unwrap().unwrap();

        let fresh = Lake::with_store(
            Arc::clone(lake.store()),
            Path::from("lake"),
            lake.url().clone(),
        );
        let err = delta_table(&fresh, "other", None).await.unwrap_err();
        assert!(
            matches!(err, Error::Unconverted { ref table, .. } if table == "other"),
            "{err}"
        );
        assert!(err.to_string().contains("convert --to delta"), "{err}");
        let mut landing = Landing::new(fresh.clone(), other());
        landing.push(&batch(&[("d", 4, 4)])).unwrap();
        let err = landing.commit().await.unwrap_err();
        assert!(matches!(err, Error::Unconverted { .. }), "{err}");

        assert_eq!(
            convert(&fresh).await.unwrap(),
            [
                ("calls".to_owned(), None),
                ("other".to_owned(), Some(Converted { files: 1 }))
            ]
        );
        assert_eq!(
            read(&fresh, "other", None).await.unwrap(),
            (30, vec!["c".into()])
        );
    }

    #[tokio::test]
    async fn vacuum_keeps_what_the_retention_needs_and_as_of_then_says_what_is_gone() {
        let lake = memory_lake();
        lake.settle_format(Some(TableFormat::Delta)).await.unwrap();
        land(&lake, &spec(), &[("a", 1, 10)]).await;
        land(&lake, &spec(), &[("a", 1, 11)]).await;
        let v1 = Some(AsOf::Version(1));
        assert_eq!(read(&lake, "calls", v1).await.unwrap().0, 10);

        // The default retention keeps the file version 1 needs.
        let week = Vacuum {
            retain: chrono::Duration::hours(168),
            dry_run: false,
            force: false,
        };
        assert_eq!(
            vacuum(&lake, "calls", &week).await.unwrap().unwrap().files,
            Vec::<String>::new()
        );
        // Shorter than the table's retention only with force.
        let now = Vacuum {
            retain: chrono::Duration::zero(),
            dry_run: true,
            force: false,
        };
        let err = vacuum(&lake, "calls", &now).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Retention {
                    hours: 0,
                    min: 168,
                    ..
                }
            ),
            "{err}"
        );
        // Replaced within this millisecond is not "longer ago than 0 hours" yet.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let dry = vacuum(&lake, "calls", &Vacuum { force: true, ..now })
            .await
            .unwrap()
            .unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.files.len(), 1, "{dry:?}");
        assert!(dry.files[0].starts_with("call_date=1970-01-02/"), "{dry:?}");
        assert_eq!(
            read(&lake, "calls", v1).await.unwrap().0,
            10,
            "a dry run deletes nothing"
        );

        let done = vacuum(
            &lake,
            "calls",
            &Vacuum {
                force: true,
                dry_run: false,
                ..now
            },
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(done.files, dry.files);
        let err = read(&lake, "calls", v1).await.unwrap_err();
        assert!(
            matches!(err, Error::Vacuumed { missing: 1, files: 1, ref as_of, .. } if as_of == "version 1"),
            "{err}"
        );
        assert_eq!(
            read(&lake, "calls", None).await.unwrap().0,
            11,
            "the latest is whole"
        );
        assert_eq!(vacuum(&lake, "missing", &week).await.unwrap(), None);
    }

    #[tokio::test]
    async fn optimize_compacts_a_day_another_engine_appended_to() {
        let lake = memory_lake();
        lake.settle_format(Some(TableFormat::Delta)).await.unwrap();
        land(&lake, &spec(), &[("a", 1, 10)]).await;
        // Another engine appends a file to the day.
        let appended = batch(&[("z", 9, 5)]);
        let date = Date32Array::from(vec![
            (day() - chrono::NaiveDate::default()).num_days() as i32
        ]);
        let mut columns = appended.columns().to_vec();
        columns.push(Arc::new(date));
        let with_day = RecordBatch::try_new(Arc::new(delta_schema(&spec())), columns).unwrap();
        let delta = delta_table(&lake, "calls", None).await.unwrap().unwrap();
        delta
            .write([with_day])
            .with_save_mode(SaveMode::Append)
            .await
            .unwrap();
        let files = |lake: Lake| async move {
            delta_table(&lake, "calls", None)
                .await
                .unwrap()
                .unwrap()
                .get_file_uris()
                .unwrap()
                .count()
        };
        assert_eq!(files(lake.clone()).await, 2);

        // A range without the day does nothing.
        let other_day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        assert_eq!(
            optimize(&lake, "calls", &[other_day])
                .await
                .unwrap()
                .unwrap(),
            Optimized::default()
        );
        let done = optimize(&lake, "calls", &[day()]).await.unwrap().unwrap();
        assert_eq!(
            done,
            Optimized {
                days: 1,
                files_removed: 2,
                files_added: 1
            }
        );
        assert_eq!(files(lake.clone()).await, 1);
        assert_eq!(
            read(&lake, "calls", None).await.unwrap(),
            (15, vec!["a".into(), "z".into()])
        );
    }
}
