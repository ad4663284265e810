//! The columns pstn-lake derives from a decoded batch ([`Table::derived_columns`]): a
//! window-totals table's window bounds, and the row key of a table whose rows have no `id`.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, SchemaRef, TimestampMicrosecondType};
use chrono::{DateTime, SecondsFormat};

use super::Window;
use crate::table::{ROW_KEY, Table, WINDOW_COLUMNS};

/// Appends the derived columns of `table` to `arrays` (the Graph properties, then
/// `extra_properties`, in `schema` order).
pub(super) fn append(
    table: Table,
    window: Option<Window>,
    schema: &SchemaRef,
    arrays: &mut Vec<ArrayRef>,
) {
    let rows = arrays.first().map_or(0, |a| a.len());
    for column in table.derived_columns() {
        let array: ArrayRef = if column == ROW_KEY {
            Arc::new(row_keys(table, schema, arrays, rows))
        } else {
            let bound = window.map(|w| {
                if column == WINDOW_COLUMNS[0] {
                    w.from
                } else {
                    w.to
                }
            });
            Arc::new(TimestampMicrosecondArray::from(vec![bound; rows]).with_timezone("UTC"))
        };
        arrays.push(array);
    }
}

/// Each row's key parts ([`Table::key_parts`]) joined by `|`: a null as nothing, a timestamp in
/// RFC 3339 with microseconds, UTC.
fn row_keys(
    table: Table,
    schema: &SchemaRef,
    arrays: &[ArrayRef],
    rows: usize,
) -> arrow::array::StringArray {
    let parts: Vec<&ArrayRef> = table
        .key_parts()
        .iter()
        .map(|name| &arrays[schema.index_of(name).expect("a key part is a column")])
        .collect();
    let mut keys = StringBuilder::with_capacity(rows, rows * 64);
    let mut key = String::new();
    for row in 0..rows {
        key.clear();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push('|');
            }
            if part.is_null(row) {
                continue;
            }
            match part.data_type() {
                DataType::Utf8 => key.push_str(part.as_string::<i32>().value(row)),
                DataType::Timestamp(..) => {
                    let micros = part.as_primitive::<TimestampMicrosecondType>().value(row);
                    match DateTime::from_timestamp_micros(micros) {
                        Some(t) => key.push_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true)),
                        None => {
                            let _ = write!(key, "{micros}");
                        }
                    }
                }
                other => unreachable!("a key part is Utf8 or a timestamp, not {other}"),
            }
        }
        keys.append_value(&key);
    }
    keys.finish()
}
