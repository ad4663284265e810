//! What the sink's unit tests share: a small table spec and a lake in a temporary folder.

use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use chrono::NaiveDate;

use crate::{Lake, TableSpec, read_day};

/// `calls(id Utf8, start Timestamp(µs, UTC), amount Int64)`, keyed by `id`, placed and sorted by `start`.
pub(crate) fn spec() -> TableSpec {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new(
            "start",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("amount", DataType::Int64, true),
    ]));
    TableSpec::new("calls", schema, "id", ["start"], "start")
}

/// A local lake in a fresh temporary folder (kept alive by the returned guard).
pub(crate) fn temp_lake() -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    (dir, lake)
}

const DAY_MICROS: i64 = 86_400_000_000;

/// The day the `batch` rows fall on: 1970-01-02.
pub(crate) fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()
}

/// Rows `(id, second-of-day, amount)` of [`day`], in the [`spec`] schema.
pub(crate) fn batch(rows: &[(&str, i64, i64)]) -> RecordBatch {
    RecordBatch::try_new(
        spec().schema,
        vec![
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(
                TimestampMicrosecondArray::from(
                    rows.iter()
                        .map(|r| DAY_MICROS + r.1 * 1_000_000)
                        .collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap()
}

/// [`day`] as the lake holds it: (id, amount) in file order.
pub(crate) async fn contents(lake: &Lake) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for b in read_day(lake, &spec(), day()).await.unwrap() {
        let ids = b.column(0).as_string::<i32>();
        let amounts = b.column(2).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.push((ids.value(i).to_owned(), amounts.value(i)));
        }
    }
    out
}

/// What a [`HookedStore`] does around each put: a test's injected failure, another writer's
/// commit just before this writer's, or an answer slow to come back.
#[async_trait::async_trait]
pub(crate) trait PutHook: std::fmt::Debug + Send + Sync + 'static {
    /// Runs before `location` is put to `inner`; an error fails the put.
    async fn before_put(
        &self,
        inner: &object_store::memory::InMemory,
        location: &object_store::path::Path,
        opts: &object_store::PutOptions,
    ) -> object_store::Result<()>;

    /// Runs after `location` was put to `inner`, before the put is answered (a slow answer);
    /// nothing unless a test says so.
    async fn after_put(&self, _location: &object_store::path::Path) {}
}

/// An in-memory store whose puts go through a [`PutHook`] first; every other operation goes to
/// the store as it is. The hook's fields are reached through the store (`Deref`).
#[derive(Debug, Default)]
pub(crate) struct HookedStore<H> {
    pub(crate) inner: object_store::memory::InMemory,
    pub(crate) hook: H,
}

impl<H> std::ops::Deref for HookedStore<H> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.hook
    }
}

impl<H> std::fmt::Display for HookedStore<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HookedStore")
    }
}

#[async_trait::async_trait]
impl<H: PutHook> object_store::ObjectStore for HookedStore<H> {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.hook.before_put(&self.inner, location, &opts).await?;
        let done = self.inner.put_opts(location, payload, opts).await;
        self.hook.after_put(location).await;
        done
    }
    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<
            'static,
            object_store::Result<object_store::path::Path>,
        >,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::path::Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
    async fn rename_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}
