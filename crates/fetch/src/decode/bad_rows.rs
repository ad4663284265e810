//! Rows set aside: a page whose rows cannot all be landed is decoded again row by row, keeping
//! the rows that decode and setting aside, verbatim, the ones that do not (sync quarantines them
//! rather than let one bad row stop its day on every run).

use arrow::array::{Array, RecordBatch};
use serde_json::value::RawValue;

use super::{DecodedPage, PageDecoder, resolve_table};
use crate::{Error, Result, Table};

/// A row of a page that cannot be landed, as Graph served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 0-based index of the row in the page's `value` array.
    pub row: usize,
    /// The row's `id`, when it has a readable one.
    pub id: Option<String>,
    /// The Graph property at fault.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
    /// The row's JSON, byte for byte as it was in the page.
    pub json: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(id) = &self.id {
            write!(f, " (id {id})")?;
        }
        write!(f, " field `{}`: {}", self.field, self.message)
    }
}

/// Whether `error` may be about one row (so the page's other rows can still be landed): a bad
/// field, or a value of the wrong JSON type (a row that is not an object). A syntax error or a
/// cut-off page is the page's.
pub(super) fn is_row_error(error: &Error) -> bool {
    match error {
        Error::Field { .. } => true,
        Error::Json { source, .. } => source.is_data(),
        _ => false,
    }
}

/// The first row of `batch` that cannot be landed: no `id` (rows are merged by it), or no value
/// in any of the table's day columns (the row belongs to no day). Returns (row, Graph property,
/// message).
pub(super) fn unlandable_row(table: Table, batch: &RecordBatch) -> Option<(usize, String, String)> {
    let properties = table.properties();
    let schema = batch.schema();
    let column = |name: &str| schema.index_of(name).expect("a column of the table");
    let id = batch.column(column("id"));
    if let Some(row) = (0..batch.num_rows()).find(|&r| id.is_null(r)) {
        return Some((
            row,
            "id".to_owned(),
            "missing or null: every row needs its id".to_owned(),
        ));
    }
    let days: Vec<usize> = table
        .partition_columns()
        .iter()
        .map(|c| column(c))
        .collect();
    if batch.column(days[0]).null_count() == 0 {
        return None;
    }
    let row = (0..batch.num_rows()).find(|&r| days.iter().all(|&c| batch.column(c).is_null(r)))?;
    let names: Vec<&str> = days.iter().map(|&c| properties[c].graph_name).collect();
    let message = match &names[1..] {
        [] => "missing or null: the row belongs to no day".to_owned(),
        others => format!(
            "missing or null, and so is {}: the row belongs to no day",
            others.join(", ")
        ),
    };
    Some((row, names[0].to_owned(), message))
}

/// A page's envelope, with each row left as its text.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "@odata.context")]
    context: Option<String>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(borrow)]
    value: Vec<&'a RawValue>,
}

/// A row's id, if it has a string one.
#[derive(serde::Deserialize)]
struct IdOnly {
    id: Option<String>,
}

impl PageDecoder {
    /// Decodes `text` row by row: the rows that decode and can be landed make the page, the others
    /// are its [`DecodedPage::bad_rows`]. `whole` is what decoding the whole page gave; it is
    /// returned when the page itself (not a row) is at fault.
    pub(super) fn decode_rows_apart(
        &self,
        text: &str,
        whole: Result<DecodedPage>,
    ) -> Result<DecodedPage> {
        let Ok(envelope) = serde_json::from_str::<Envelope>(text) else {
            return whole;
        };
        let table = resolve_table(self.table, envelope.context.as_deref())?;
        let one_row = PageDecoder::new().with_table(Some(table));
        let mut page = DecodedPage {
            table,
            batches: Vec::new(),
            rows: 0,
            next_link: envelope.next_link,
            unknown_properties: Default::default(),
            bad_rows: Vec::new(),
        };
        let mut good = Vec::new();
        for (row, json) in envelope.value.iter().enumerate() {
            let single = one_row
                .decode(format!("{{\"value\":[{}]}}", json.get()).as_bytes())
                .and_then(|decoded| {
                    let batch = arrow::compute::concat_batches(&table.schema(), &decoded.batches)?;
                    Ok((decoded, batch))
                });
            let fault = match single {
                Ok((decoded, batch)) => match unlandable_row(table, &batch) {
                    None => {
                        for (k, n) in decoded.unknown_properties {
                            *page.unknown_properties.entry(k).or_default() += n;
                        }
                        good.push(batch);
                        continue;
                    }
                    Some((_, field, message)) => (field, message),
                },
                Err(Error::Field { field, message, .. }) => (field, message),
                Err(Error::Json { source, .. }) => {
                    ("value".to_owned(), format!("not a row object: {source}"))
                }
                Err(other) => ("value".to_owned(), other.to_string()),
            };
            let id = serde_json::from_str::<IdOnly>(json.get())
                .ok()
                .and_then(|r| r.id);
            page.bad_rows.push(BadRow {
                row,
                id,
                field: fault.0,
                message: fault.1,
                json: json.get().to_owned(),
            });
        }
        page.rows = good.iter().map(RecordBatch::num_rows).sum();
        for chunk in good.chunks(self.batch_size) {
            page.batches
                .push(arrow::compute::concat_batches(&table.schema(), chunk)?);
        }
        Ok(page)
    }
}
