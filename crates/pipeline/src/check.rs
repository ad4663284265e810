//! What ingest refuses in a decoded page before anything lands: a page that is not its table's,
//! and a row the lake cannot hold. Each error names the input, the page and (for a row) its index,
//! `id` and Graph property, so the user can find it in the file.

use arrow::array::{Array, AsArray};
use pstn_lake_fetch::{DecodedPage, Table};

use crate::{Error, Result};

/// Refuses a page whose rows are mostly properties its table does not have (a page of another
/// table given with `--table`, or without its `@odata.context`), naming the table it looks like.
pub(crate) fn check_table(page: &DecodedPage, input: &str, number: usize) -> Result<()> {
    let unknown = &page.unknown_properties;
    if unknown.is_empty() {
        return Ok(());
    }
    // The table's columns that the page fills, for at least one row.
    let columns = page.table.schema();
    let known = columns
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name() != pstn_lake_fetch::EXTRA_PROPERTIES)
        .filter(|(i, _)| {
            page.batches
                .iter()
                .any(|b| b.column(*i).null_count() < b.num_rows())
        })
        .count();
    if unknown.len() <= known {
        return Ok(());
    }
    let like = Table::ALL
        .into_iter()
        .filter(|t| *t != page.table)
        .map(|t| {
            let shared = unknown
                .keys()
                .filter(|k| t.properties().iter().any(|p| p.graph_name == k.as_str()))
                .count();
            (shared, t)
        })
        .max()
        .filter(|(shared, _)| 2 * shared >= unknown.len())
        .map(|(_, t)| t);
    Err(Error::WrongTable {
        input: input.to_owned(),
        page: number,
        table: page.table,
        unknown: unknown.keys().cloned().collect(),
        known,
        like,
    })
}

/// Refuses the first row without an `id` (missing, null or empty: the lake merges rows by it, so
/// two such rows would silently become one) or without a date-time that places it in a
/// `call_date` day. The lake would refuse the row later anyway, but without naming the input.
pub(crate) fn check_rows(page: &DecodedPage, input: &str, number: usize) -> Result<()> {
    let schema = page.table.schema();
    let column = |name: &str| {
        schema
            .index_of(name)
            .expect("the key and partition columns are columns of their table")
    };
    let key = column("id");
    let days: Vec<usize> = page
        .table
        .partition_columns()
        .iter()
        .map(|c| column(c))
        .collect();
    let mut first_row = 0;
    for batch in &page.batches {
        let ids = batch.column(key).as_string::<i32>();
        let no_id = |i: usize| ids.is_null(i) || ids.value(i).is_empty();
        let no_day = |i: usize| days.iter().all(|&c| batch.column(c).is_null(i));
        // Rows are looked at one by one only when a column holds a null (for Direct Routing, a
        // failed call without a start) or an empty id.
        let suspect = ids.null_count() > 0
            || ids.value_offsets().windows(2).any(|w| w[0] == w[1])
            || batch.column(days[0]).null_count() > 0;
        let bad = suspect
            .then(|| (0..batch.num_rows()).find(|&i| no_id(i) || no_day(i)))
            .flatten();
        if let Some(i) = bad {
            let row = first_row + i;
            let input = input.to_owned();
            return Err(if no_id(i) {
                Error::NoId {
                    input,
                    page: number,
                    row,
                }
            } else {
                Error::NoDay {
                    input,
                    page: number,
                    row,
                    id: ids.value(i).to_owned(),
                    properties: days.iter().map(|&c| graph_name(page.table, c)).collect(),
                }
            });
        }
        first_row += batch.num_rows();
    }
    Ok(())
}

/// The Graph property of the table's column at `index` (columns follow the properties' order).
fn graph_name(table: Table, index: usize) -> &'static str {
    table.properties()[index].graph_name
}
