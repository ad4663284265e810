//! What the sink's unit tests share: a small table spec and a lake in a temporary folder.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::{Lake, TableSpec};

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
