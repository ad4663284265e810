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
