//! What ingest refuses in a decoded page before anything lands: a page that is not its table's,
//! and a row the lake cannot hold. Each error names the input, the page and (for a row) its index,
//! `id` and Graph property, so the user can find it in the file.

use arrow::array::{Array, AsArray};
use pstn_lake_fetch::{DecodedPage, Table, Unlandable, day_properties, first_unlandable_row};

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

/// Refuses the first row the lake cannot hold ([`first_unlandable_row`]: no `id`, or no
/// date-time that places it in a `call_date` day). The lake would refuse the row later anyway,
/// but without naming the input.
pub(crate) fn check_rows(page: &DecodedPage, input: &str, number: usize) -> Result<()> {
    let mut first_row = 0;
    for batch in &page.batches {
        if let Some((i, why)) = first_unlandable_row(page.table, batch) {
            let (input, row) = (input.to_owned(), first_row + i);
            return Err(match why {
                Unlandable::NoId => Error::NoId {
                    input,
                    page: number,
                    row,
                },
                Unlandable::NoDay if page.table.is_window_totals() => Error::NoWindowDay {
                    input,
                    page: number,
                    table: page.table,
                },
                Unlandable::NoDay => Error::NoDay {
                    input,
                    page: number,
                    row,
                    id: batch
                        .column_by_name(page.table.key())
                        .expect("every table has a key")
                        .as_string::<i32>()
                        .value(i)
                        .to_owned(),
                    properties: day_properties(page.table),
                },
            });
        }
        first_row += batch.num_rows();
    }
    Ok(())
}
