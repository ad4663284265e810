use std::sync::atomic::{AtomicBool, Ordering};

use arrow::datatypes::Schema;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::{ObjectStore, PutOptions};

use super::*;
use crate::test_util::{batch, contents, day, spec};

fn local_lake(dir: &std::path::Path) -> Lake {
    Lake::open(dir.to_str().unwrap()).unwrap()
}

/// Every file below `dir`, relative to it.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn landing_twice_keeps_one_row_per_key_sorted_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let lake = local_lake(dir.path());
    let rows = batch(&[("b", 20, 2), ("a", 10, 1), ("c", 30, 3), ("a", 10, 1)]);
    let first = write_day(&lake, &spec(), day(), vec![rows.clone()])
        .await
        .unwrap();
    assert_eq!(
        (first.rows_before, first.rows_in, first.rows_after),
        (0, 4, 3)
    );
    let second = write_day(&lake, &spec(), day(), vec![rows]).await.unwrap();
    assert_eq!((second.rows_before, second.rows_after), (3, 3));
    assert_eq!(
        contents(&lake).await,
        vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]
    );
    assert_eq!(
        files(dir.path()),
        vec!["calls/call_date=1970-01-02/data.parquet".to_string()]
    );
}

#[tokio::test]
async fn overlapping_landings_merge_and_new_rows_win() {
    let dir = tempfile::tempdir().unwrap();
    let lake = local_lake(dir.path());
    write_day(
        &lake,
        &spec(),
        day(),
        vec![batch(&[("a", 10, 1), ("b", 20, 2)])],
    )
    .await
    .unwrap();
    let commit = write_day(
        &lake,
        &spec(),
        day(),
        vec![batch(&[("b", 20, 20), ("c", 5, 3)])],
    )
    .await
    .unwrap();
    assert_eq!(
        (commit.rows_before, commit.rows_in, commit.rows_after),
        (2, 2, 3)
    );
    assert_eq!(
        contents(&lake).await,
        vec![("c".into(), 3), ("a".into(), 1), ("b".into(), 20)]
    );
}

/// A store that can fail a put (a full disk, a dropped connection), or let another writer
/// commit the day just before this writer's put (the race a conditional write must catch).
type FaultyStore = crate::test_util::HookedStore<Faults>;

#[derive(Debug, Default)]
struct Faults {
    fail_put: AtomicBool,
    /// Rows another writer commits to the day right before the next put of a day object.
    race: std::sync::Mutex<Option<Vec<RecordBatch>>>,
}

fn injected() -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultyStore",
        source: "injected failure".into(),
    }
}

/// A lake whose every operation goes to `inner` directly (the other writer of a race).
fn lake_over(store: Arc<dyn ObjectStore>) -> Lake {
    Lake::with_store(
        store,
        Path::from("lake"),
        url::Url::parse("memory:///lake").unwrap(),
    )
}

#[async_trait::async_trait]
impl crate::test_util::PutHook for Faults {
    async fn before_put(
        &self,
        inner: &InMemory,
        _: &Path,
        _: &PutOptions,
    ) -> object_store::Result<()> {
        if self.fail_put.load(Ordering::SeqCst) {
            return Err(injected());
        }
        let race = self.race.lock().unwrap().take();
        if let Some(rows) = race {
            let other = lake_over(Arc::new(inner.clone()));
            write_day(&other, &spec(), day(), rows).await.unwrap();
        }
        Ok(())
    }
}

/// Every object key of a store.
async fn keys(store: &dyn ObjectStore) -> Vec<String> {
    use futures::TryStreamExt;
    let mut keys: Vec<String> = store
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_failed_write_leaves_the_previous_day_and_no_other_object() {
    let store = Arc::new(FaultyStore::default());
    let lake = lake_over(Arc::clone(&store) as _);
    write_day(
        &lake,
        &spec(),
        day(),
        vec![batch(&[("a", 10, 1), ("b", 20, 2)])],
    )
    .await
    .unwrap();
    let before = contents(&lake).await;
    let keys_before = keys(store.as_ref()).await;
    assert_eq!(
        keys_before,
        ["lake/calls/call_date=1970-01-02/data.parquet"]
    );

    store.fail_put.store(true, Ordering::SeqCst);
    let err = write_day(
        &lake,
        &spec(),
        day(),
        vec![batch(&[("a", 10, 100), ("z", 1, 9)])],
    )
    .await
    .unwrap_err();
    // The store's error is the source (the sink's own text does not repeat it).
    assert!(matches!(err, Error::Store { .. }), "{err}");
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        source
            .as_deref()
            .is_some_and(|s| s.contains("injected failure")),
        "{source:?}"
    );
    assert_eq!(contents(&lake).await, before, "the old day stays readable");
    assert_eq!(keys(store.as_ref()).await, keys_before, "no staging object");

    store.fail_put.store(false, Ordering::SeqCst);
    write_day(&lake, &spec(), day(), vec![batch(&[("a", 10, 100)])])
        .await
        .unwrap();
    assert_eq!(
        contents(&lake).await,
        vec![("a".into(), 100), ("b".into(), 2)]
    );
}

/// The lost update this writer is built against: another writer commits the day between this
/// writer's read and its put. The conditional put is refused, the day is read and merged again,
/// and the lake holds both writers' rows — for a new day (create-if-absent) and an existing one
/// (if-match on the version read).
#[tokio::test]
async fn a_day_replaced_between_read_and_write_is_merged_again_not_overwritten() {
    for existing in [false, true] {
        let store = Arc::new(FaultyStore::default());
        let lake = lake_over(Arc::clone(&store) as _);
        if existing {
            write_day(&lake, &spec(), day(), vec![batch(&[("old", 5, 0)])])
                .await
                .unwrap();
        }
        *store.race.lock().unwrap() = Some(vec![batch(&[("theirs", 10, 1), ("both", 20, 2)])]);
        let commit = write_day(
            &lake,
            &spec(),
            day(),
            vec![batch(&[("both", 20, 30), ("mine", 30, 3)])],
        )
        .await
        .unwrap();
        assert!(store.race.lock().unwrap().is_none(), "the race happened");
        let mut want = vec![
            ("theirs".to_owned(), 1),
            ("both".into(), 30),
            ("mine".into(), 3),
        ];
        if existing {
            want.insert(0, ("old".into(), 0));
        }
        assert_eq!(contents(&lake).await, want, "existing day: {existing}");
        assert_eq!(commit.rows_after, want.len());
        assert_eq!(
            commit.rows_before,
            want.len() - 1,
            "the second read saw their rows"
        );
    }
}

/// Writers racing for real: many tasks on two threads merge disjoint rows into one day of one
/// store at once; every row of every writer is in the day afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_on_one_day_keep_the_union_of_their_rows() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let writers = 6;
    let rows = 40;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let lake = lake_over(Arc::clone(&store));
            tokio::spawn(async move {
                for chunk in 0..4 {
                    let ids: Vec<String> =
                        (0..rows / 4).map(|i| format!("w{w}-{chunk}-{i}")).collect();
                    let part: Vec<(&str, i64, i64)> = ids
                        .iter()
                        .enumerate()
                        .map(|(i, id)| (id.as_str(), i as i64, w))
                        .collect();
                    write_day(&lake, &spec(), day(), vec![batch(&part)])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let got = contents(&lake_over(store)).await;
    assert_eq!(got.len(), (writers * rows) as usize);
    let unique: std::collections::BTreeSet<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(unique.len(), got.len());
}

/// A store without conditional writes is refused with a message that says so, not written to.
#[tokio::test]
async fn a_store_without_conditional_writes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let lake = Lake::with_store(
        store,
        Path::from(""),
        url::Url::from_directory_path(dir.path()).unwrap(),
    );
    write_day(&lake, &spec(), day(), vec![batch(&[("a", 1, 1)])])
        .await
        .unwrap();
    let err = write_day(&lake, &spec(), day(), vec![batch(&[("a", 1, 2)])])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoConditionalWrites { .. }), "{err}");
    assert_eq!(contents(&lake).await, vec![("a".into(), 1)]);
}

#[tokio::test]
async fn older_files_missing_columns_are_read_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let lake = local_lake(dir.path());
    let narrow = Arc::new(Schema::new(vec![
        spec().schema.field(0).clone(),
        spec().schema.field(1).clone(),
    ]));
    let narrow_spec = TableSpec::new("calls", Arc::clone(&narrow), "id", ["start"], "start");
    let full = batch(&[("a", 10, 1)]);
    let old = RecordBatch::try_new(
        narrow,
        vec![Arc::clone(full.column(0)), Arc::clone(full.column(1))],
    )
    .unwrap();
    write_day(&lake, &narrow_spec, day(), vec![old])
        .await
        .unwrap();
    write_day(&lake, &spec(), day(), vec![batch(&[("b", 20, 2)])])
        .await
        .unwrap();
    let batches = read_day(&lake, &spec(), day()).await.unwrap();
    let all = concat_batches(&spec().schema, &batches).unwrap();
    assert_eq!(all.num_rows(), 2);
    assert!(all.column(2).is_null(0), "the old row has no amount");
    assert_eq!(
        all.column(2)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(1),
        2
    );
}

#[test]
fn rows_already_unique_and_in_order_pass_through_and_others_do_not() {
    let spec = spec();
    let b = |rows: &[(&str, i64, i64)]| batch(rows);
    // In order across batches, ties by key: passed through.
    assert!(
        !already_merged(
            &spec,
            &[
                b(&[("a", 1, 0), ("z", 2, 0)]),
                b(&[("b", 2, 0), ("c", 3, 0)])
            ]
        ),
        "a tie at 2 with keys z then b"
    );
    assert!(already_merged(
        &spec,
        &[
            b(&[("a", 1, 0), ("b", 2, 0)]),
            b(&[("c", 2, 0), ("a2", 3, 0)])
        ]
    ));
    assert!(
        !already_merged(&spec, &[b(&[("a", 2, 0)]), b(&[("b", 1, 0)])]),
        "out of order across batches"
    );
    assert!(
        !already_merged(&spec, &[b(&[("a", 1, 0)]), b(&[("a", 2, 0)])]),
        "a key repeated across batches"
    );
    assert!(in_order((Some(1), "a"), (None, "a")), "nulls last");
    assert!(!in_order((None, "a"), (Some(1), "a")));
    assert!(!in_order((Some(1), "b"), (Some(1), "a")), "ties go by key");
    assert!(in_order((None, "a"), (None, "b")), "null times go by key");
    assert!(!in_order((None, "b"), (None, "a")));
    // A row without a key is never passed through as merged.
    let keyed = b(&[("a", 1, 0), ("b", 2, 0)]);
    let mut columns = keyed.columns().to_vec();
    columns[0] = Arc::new(arrow::array::StringArray::from(vec![Some("a"), None]));
    let unkeyed = RecordBatch::try_new(Arc::clone(&spec.schema), columns).unwrap();
    assert!(already_merged(&spec, &[keyed]));
    assert!(!already_merged(&spec, &[unkeyed]), "a missing key");
}

#[tokio::test]
async fn sorted_input_with_duplicates_still_keeps_the_last_row() {
    let dir = tempfile::tempdir().unwrap();
    let lake = local_lake(dir.path());
    // Already in time order, with a repeated key: de-duplication must not be skipped.
    write_day(
        &lake,
        &spec(),
        day(),
        vec![batch(&[("a", 10, 1), ("b", 20, 2), ("a", 30, 3)])],
    )
    .await
    .unwrap();
    assert_eq!(
        contents(&lake).await,
        vec![("b".into(), 2), ("a".into(), 3)]
    );
}

#[tokio::test]
async fn columns_without_statistics_or_dictionary_are_written_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let lake = local_lake(dir.path());
    let spec = spec()
        .with_no_statistics(["id"])
        .with_no_dictionary(["id", "start"]);
    write_day(
        &lake,
        &spec,
        day(),
        vec![batch(&[("b", 20, 2), ("a", 10, 1)])],
    )
    .await
    .unwrap();
    let bytes = std::fs::read(dir.path().join("calls/call_date=1970-01-02/data.parquet")).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
    let row_group = builder.metadata().row_group(0);
    let stats = |i: usize| row_group.column(i).statistics().cloned();
    assert!(stats(0).is_none(), "id has no statistics");
    let start = stats(1).expect("start keeps its statistics");
    assert!(start.min_bytes_opt().is_some() && start.max_bytes_opt().is_some());
    assert!(stats(2).is_some(), "amount keeps its statistics");
    // Dictionary encoding: off for id and start (no dictionary page), kept for amount.
    let dictionary = |i: usize| {
        let column = row_group.column(i);
        let encodings: Vec<_> = column.encodings().collect();
        (
            column.dictionary_page_offset().is_some(),
            encodings.contains(&parquet::basic::Encoding::RLE_DICTIONARY),
        )
    };
    assert_eq!(dictionary(0), (false, false), "id");
    assert_eq!(dictionary(1), (false, false), "start");
    assert_eq!(dictionary(2), (true, true), "amount");
}

#[test]
fn the_pause_before_merging_again_grows_with_the_attempt_and_spreads_over_its_range() {
    // Attempt n waits in [20 n, 40 n) ms; the jitter picks the place in that range.
    assert_eq!(backoff_millis(1, 0), 20);
    assert_eq!(backoff_millis(1, 19), 39);
    assert_eq!(backoff_millis(1, 20), 20);
    assert_eq!(backoff_millis(1, 255), 35);
    assert_eq!(backoff_millis(3, 0), 60);
    assert_eq!(backoff_millis(3, 59), 119);
    assert_eq!(backoff_millis(3, 200), 80);
    for attempt in 1..=8 {
        let pauses: std::collections::BTreeSet<u64> =
            (0..=u8::MAX).map(|j| backoff_millis(attempt, j)).collect();
        let step = 20 * attempt as u64;
        assert_eq!(pauses.first(), Some(&step), "attempt {attempt}");
        assert_eq!(pauses.last(), Some(&(2 * step - 1)), "attempt {attempt}");
    }
}
