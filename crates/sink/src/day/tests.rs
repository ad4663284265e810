use std::sync::atomic::{AtomicBool, Ordering};

use arrow::datatypes::Schema;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

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

/// A store that fails the chosen step of a write, like a full disk or a dropped connection.
#[derive(Debug)]
struct FailingStore {
    inner: LocalFileSystem,
    fail_put: AtomicBool,
    fail_rename: AtomicBool,
}

impl std::fmt::Display for FailingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailingStore")
    }
}

fn injected() -> object_store::Error {
    object_store::Error::Generic {
        store: "FailingStore",
        source: "injected failure".into(),
    }
}

#[async_trait::async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if self.fail_put.load(Ordering::SeqCst) {
            // Write half of it first, as a dying writer would.
            let half = payload.as_ref().iter().map(|b| b.len()).sum::<usize>() / 2;
            let bytes: Vec<u8> = payload
                .into_iter()
                .flat_map(|b| b.to_vec())
                .take(half)
                .collect();
            let _ = self.inner.put_opts(location, bytes.into(), opts).await;
            return Err(injected());
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if self.fail_put.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        if self.fail_rename.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.rename_opts(from, to, options).await
    }
}

#[tokio::test]
async fn a_failed_write_leaves_the_previous_day_and_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FailingStore {
        inner: LocalFileSystem::new_with_prefix(dir.path()).unwrap(),
        fail_put: AtomicBool::new(false),
        fail_rename: AtomicBool::new(false),
    });
    let url = url::Url::from_directory_path(dir.path()).unwrap();
    let lake = Lake::with_store(Arc::clone(&store) as _, Path::from(""), url);
    write_day(
        &lake,
        &spec(),
        day(),
        vec![batch(&[("a", 10, 1), ("b", 20, 2)])],
    )
    .await
    .unwrap();
    let before = contents(&lake).await;
    let table_files = |dir: &std::path::Path| {
        files(dir)
            .into_iter()
            .filter(|f| !f.starts_with("_pstn_lake"))
            .collect::<Vec<_>>()
    };
    let files_before = table_files(dir.path());

    for step in ["put", "rename"] {
        store.fail_put.store(step == "put", Ordering::SeqCst);
        store.fail_rename.store(step == "rename", Ordering::SeqCst);
        let err = write_day(
            &lake,
            &spec(),
            day(),
            vec![batch(&[("a", 10, 100), ("z", 1, 9)])],
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("injected failure"),
            "{step}: {err}"
        );
        assert_eq!(
            contents(&lake).await,
            before,
            "{step}: the old day must stay readable"
        );
        assert_eq!(
            table_files(dir.path()),
            files_before,
            "{step}: no partial file inside the table"
        );
        assert!(
            files(dir.path()).iter().all(|f| !f.contains("staging")),
            "{step}: staging object cleaned up: {:?}",
            files(dir.path())
        );
    }
    store.fail_put.store(false, Ordering::SeqCst);
    store.fail_rename.store(false, Ordering::SeqCst);
    write_day(&lake, &spec(), day(), vec![batch(&[("a", 10, 100)])])
        .await
        .unwrap();
    assert_eq!(
        contents(&lake).await,
        vec![("a".into(), 100), ("b".into(), 2)]
    );
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
