//! Splitting a batch into the UTC days its rows belong to.

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, NaiveDate};

use crate::error::arrow;
use crate::{Error, Result, TableSpec};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day of a timestamp in microseconds since the epoch.
pub fn day_of_micros(micros: i64) -> NaiveDate {
    let days = micros.div_euclid(MICROS_PER_DAY);
    DateTime::from_timestamp(days * 86_400, 0)
        .expect("in range")
        .date_naive()
}

/// Splits `batch` by the UTC day of the first non-null partition column of each row, keeping row
/// order within a day. Days come out in ascending order.
pub fn split_by_day(
    spec: &TableSpec,
    batch: &RecordBatch,
) -> Result<Vec<(NaiveDate, RecordBatch)>> {
    let n = batch.num_rows();
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut columns = Vec::with_capacity(spec.partition_by.len());
    for name in &spec.partition_by {
        let col = batch.column_by_name(name).ok_or_else(|| Error::Column {
            column: name.clone(),
            reason: "missing".into(),
        })?;
        let micros =
            cast(col, &DataType::Timestamp(TimeUnit::Microsecond, None)).map_err(|_| {
                Error::Column {
                    column: name.clone(),
                    reason: format!("{} is not a timestamp", col.data_type()),
                }
            })?;
        columns.push(micros);
    }
    let mut days: Vec<i64> = Vec::with_capacity(n);
    for row in 0..n {
        let value = columns.iter().find_map(|c| {
            let c = c.as_primitive::<TimestampMicrosecondType>();
            c.is_valid(row).then(|| c.value(row))
        });
        match value {
            Some(v) => days.push(v.div_euclid(MICROS_PER_DAY)),
            None => {
                let id = batch.column_by_name(&spec.key).and_then(|k| {
                    k.as_string_opt::<i32>()
                        .filter(|k| k.is_valid(row))
                        .map(|k| k.value(row).to_owned())
                });
                return Err(Error::NoPartitionValue {
                    row,
                    id,
                    columns: spec.partition_by.join(", "),
                });
            }
        }
    }
    let to_date = |d: i64| day_of_micros(d * MICROS_PER_DAY);
    if days.iter().all(|&d| d == days[0]) {
        return Ok(vec![(to_date(days[0]), batch.clone())]);
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| days[i as usize]);
    let sorted = take_record_batch(batch, &UInt32Array::from(order.clone()))
        .map_err(arrow("splitting a batch by day"))?;
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let day = days[order[start] as usize];
        let mut end = start;
        while end < n && days[order[end] as usize] == day {
            end += 1;
        }
        out.push((to_date(day), sorted.slice(start, end - start)));
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn spec(schema: Arc<Schema>) -> TableSpec {
        TableSpec::new("t", schema, "id", ["start", "invite"], "start")
    }

    #[test]
    fn rows_go_to_the_day_of_their_first_non_null_timestamp() {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("start", ts.clone(), true),
            Field::new("invite", ts, true),
        ]));
        let day = |d: i64| d * MICROS_PER_DAY;
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e"])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(day(2) - 1),
                        Some(day(2)),
                        None,
                        Some(day(1)),
                        Some(-1),
                    ])
                    .with_timezone("UTC"),
                ),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![None, None, Some(day(2) + 5), None, None])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        let parts = split_by_day(&spec(Arc::clone(&schema)), &batch).unwrap();
        let got: Vec<(String, Vec<String>)> = parts
            .iter()
            .map(|(d, b)| {
                let ids = b
                    .column(0)
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap().to_owned())
                    .collect();
                (d.to_string(), ids)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("1969-12-31".to_string(), vec!["e".to_string()]),
                (
                    "1970-01-02".to_string(),
                    vec!["a".to_string(), "d".to_string()]
                ),
                (
                    "1970-01-03".to_string(),
                    vec!["b".to_string(), "c".to_string()]
                ),
            ]
        );

        let orphan = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(vec!["z"])),
                Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>]).with_timezone("UTC")),
                Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>]).with_timezone("UTC")),
            ],
        )
        .unwrap();
        let err = split_by_day(&spec(schema), &orphan).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 0 (id z) has no value in start, invite: it cannot be placed in a call_date partition"
        );
    }
}
