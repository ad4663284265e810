//! Rows set aside: a page whose rows cannot all be landed is decoded again row by row, keeping
//! the rows that decode and setting aside, verbatim, the ones that do not (sync quarantines them
//! rather than let one bad row stop its day on every run).

use arrow::array::{Array, AsArray, RecordBatch};
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

/// Why a decoded row cannot be landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlandable {
    /// No `id` (missing, null or empty): the lake merges rows by it, so two such rows would
    /// silently become one.
    NoId,
    /// No value in any of the table's day columns: the row belongs to no `call_date` day.
    NoDay,
}

impl Unlandable {
    /// The Graph property at fault (the first day column for [`Unlandable::NoDay`]).
    pub fn field(self, table: Table) -> &'static str {
        match self {
            Unlandable::NoId => table.key(),
            Unlandable::NoDay => day_properties(table)[0],
        }
    }

    /// What is wrong, in words.
    pub fn message(self, table: Table) -> String {
        match self {
            Unlandable::NoId => "missing, null or empty: every row needs its id".to_owned(),
            Unlandable::NoDay if table.is_window_totals() => format!(
                "unknown: {table} rows are totals over the requested window, which a page does not \
                 carry; sync fetches one day per request, and saved pages are ingested with the \
                 day they cover (`ingest --day YYYY-MM-DD`)"
            ),
            Unlandable::NoDay => match &day_properties(table)[1..] {
                [] => "missing or null: the row belongs to no day".to_owned(),
                others => format!(
                    "missing or null, and so is {}: the row belongs to no day",
                    others.join(", ")
                ),
            },
        }
    }
}

/// The Graph properties that place a row of `table` in its day, first non-null wins (for a
/// window-totals table, the request's `fromDateTime`).
pub fn day_properties(table: Table) -> Vec<&'static str> {
    let schema = table.schema();
    table
        .partition_columns()
        .iter()
        .map(|c| {
            let i = schema.index_of(c).expect("a day column of the table");
            table
                .properties()
                .get(i)
                .map_or("fromDateTime", |p| p.graph_name)
        })
        .collect()
}

/// The first row of `batch` (decoded rows of `table`) that cannot be landed, and why. Rows are
/// looked at one by one only when a column holds a null or an empty id.
pub fn first_unlandable_row(table: Table, batch: &RecordBatch) -> Option<(usize, Unlandable)> {
    let schema = batch.schema();
    let column = |name: &str| schema.index_of(name).expect("a column of the table");
    let ids = batch.column(column(table.key())).as_string::<i32>();
    let days: Vec<usize> = table
        .partition_columns()
        .iter()
        .map(|c| column(c))
        .collect();
    let suspect = ids.null_count() > 0
        || ids.value_offsets().windows(2).any(|w| w[0] == w[1])
        || batch.column(days[0]).null_count() > 0;
    if !suspect {
        return None;
    }
    (0..batch.num_rows()).find_map(|i| {
        if ids.is_null(i) || ids.value(i).is_empty() {
            Some((i, Unlandable::NoId))
        } else if days.iter().all(|&c| batch.column(c).is_null(i)) {
            Some((i, Unlandable::NoDay))
        } else {
            None
        }
    })
}

/// The property of the row `json` (an object whose decode failed in the JSON parser, such as a
/// number too large for it) that fails on its own, and the parser's reason.
fn locate(decoder: &PageDecoder, json: &str) -> Option<(String, String)> {
    let properties =
        serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(json).ok()?;
    properties.into_iter().find_map(|(name, value)| {
        let key = serde_json::to_string(&name).ok()?;
        let page = format!("{{\"value\":[{{{key}:{}}}]}}", value.get());
        match decoder.decode(page.as_bytes()) {
            Ok(_) => None,
            Err(Error::Field { message, .. }) => Some((name, message)),
            Err(Error::Json { source, .. }) => {
                let text = source.to_string();
                let at = format!(" at line {} column {}", source.line(), source.column());
                Some((name, text.strip_suffix(&at).unwrap_or(&text).to_owned()))
            }
            Err(e) => Some((name, e.to_string())),
        }
    })
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
                Ok((decoded, batch)) => match first_unlandable_row(table, &batch) {
                    None => {
                        for (k, n) in decoded.unknown_properties {
                            *page.unknown_properties.entry(k).or_default() += n;
                        }
                        good.push(batch);
                        continue;
                    }
                    Some((_, why)) => (why.field(table).to_owned(), why.message(table)),
                },
                Err(Error::Field { field, message, .. }) => (field, message),
                Err(Error::Json { source, .. }) => locate(&one_row, json.get())
                    .unwrap_or_else(|| ("value".to_owned(), format!("not a row object: {source}"))),
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
