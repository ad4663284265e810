//! Graph page bytes → Arrow record batches, in one pass, specialised to the call-log row shapes.
//!
//! The JSON is walked once; each property is matched to its column (guessing that rows repeat the
//! previous row's key order, which Graph does) and appended straight into that column's Arrow
//! builder: no intermediate row structs, no `serde_json::Value`, no floats. A scanner written for
//! Graph's pages ([`fast`]) decodes the usual page; anything it does not handle (escapes, wrong
//! types, errors) is decoded again from the start by the general path, `serde_json`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BooleanBuilder, Decimal128Builder, Int32Builder, ListArray, RecordBatch,
    StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::SchemaRef;
use chrono::NaiveDate;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::scalar::{parse_decimal, parse_timestamp_micros};
use crate::table::{EXTRA_PROPERTIES, Kind, MONEY_PRECISION, MONEY_SCALE, Property, Table};
use crate::{Error, Result};

/// Rows per record batch when nothing else is asked for: one Graph page.
pub const DEFAULT_BATCH_SIZE: usize = 1000;

/// Decodes Graph call-log pages into Arrow record batches with the table's exact schema.
///
/// ```
/// use pstn_lake_fetch::{PageDecoder, Table};
/// let page = br#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)",
///   "value":[{"id":"a","startDateTime":"2026-11-01T08:00:00.1234567Z","charge":0.05,"currency":"EUR"}]}"#;
/// let decoded = PageDecoder::new().decode(page).unwrap();
/// assert_eq!(decoded.table, Table::PstnCalls);
/// assert_eq!(decoded.rows, 1);
/// ```
#[derive(Debug, Clone)]
pub struct PageDecoder {
    table: Option<Table>,
    batch_size: usize,
    set_aside_bad_rows: bool,
    window: Option<Window>,
}

/// The window a page's rows were requested for, in microseconds since the Unix epoch (UTC):
/// `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    from: i64,
    to: i64,
}

impl Default for PageDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl PageDecoder {
    /// A decoder that tells the table from each page's `@odata.context`.
    pub fn new() -> Self {
        Self {
            table: None,
            batch_size: DEFAULT_BATCH_SIZE,
            set_aside_bad_rows: false,
            window: None,
        }
    }

    /// The UTC days `[from, to_exclusive)` the pages were requested for. A table whose rows are
    /// totals over the window ([`Table::is_window_totals`]) records it in
    /// [`WINDOW_COLUMNS`](crate::WINDOW_COLUMNS); without it their rows belong to no day. Other
    /// tables ignore it.
    pub fn with_window(mut self, from: NaiveDate, to_exclusive: NaiveDate) -> Self {
        let micros = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_micros()
        };
        self.window = Some(Window {
            from: micros(from),
            to: micros(to_exclusive),
        });
        self
    }

    /// Decode every page as this table (a page whose `@odata.context` names another table is refused).
    pub fn with_table(mut self, table: Option<Table>) -> Self {
        self.table = table;
        self
    }

    /// Rows per record batch (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Set aside, instead of refusing the page for them, the rows that cannot be landed: a field
    /// the schema cannot hold, a row that is not an object, no `id`, no value in any day column.
    /// The page keeps its other rows, and the bad ones verbatim in [`DecodedPage::bad_rows`]. A
    /// page that is itself at fault (not JSON, cut off, no `value`, another table) is still an
    /// error.
    pub fn with_bad_rows_set_aside(mut self, set_aside: bool) -> Self {
        self.set_aside_bad_rows = set_aside;
        self
    }

    /// Decodes one page (`bytes` hold that page and nothing else but whitespace).
    pub fn decode(&self, bytes: &[u8]) -> Result<DecodedPage> {
        // Checking UTF-8 once for the whole page is much cheaper than checking every string.
        let text = std::str::from_utf8(bytes);
        let fast = text
            .ok()
            .and_then(|text| fast::decode(self, text))
            .filter(|(_, end)| crate::pages::whitespace_len(&bytes[*end..]) == bytes.len() - end);
        let whole = match fast {
            Some((page, _)) => Ok(page),
            None => self.decode_general(bytes, text.ok()),
        };
        if !self.set_aside_bad_rows {
            return whole;
        }
        let all_landable = match &whole {
            Ok(page) => page
                .batches
                .iter()
                .all(|b| bad_rows::first_unlandable_row(page.table, b).is_none()),
            Err(e) => !bad_rows::is_row_error(e),
        };
        match text {
            Ok(text) if !all_landable => self.decode_rows_apart(text, whole),
            _ => whole,
        }
    }

    /// Decodes every page of `bytes`: one page, or several one after another, whatever separates
    /// them. `from` names the input in errors, which say the page number.
    ///
    /// Where a page ends is known from JSON's syntax, never guessed from an error: the fast path
    /// finds the end of each page it decodes as it goes, and for any other page (or damaged
    /// bytes) [`split_pages`](crate::split_pages) finds it, without a second pass over the
    /// usual page.
    pub fn decode_pages(&self, bytes: &[u8], from: &str) -> Result<Vec<DecodedPage>> {
        // A UTF-8 byte order mark (Windows PowerShell 5.1 writes one) is not part of the JSON.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).ok();
        let mut pages = Vec::new();
        let mut pos = crate::pages::whitespace_len(bytes);
        while pos < bytes.len() || pages.is_empty() {
            let fast = text
                .and_then(|text| text.get(pos..))
                .and_then(|rest| fast::decode(self, rest));
            let decoded = match fast {
                Some((page, len)) => {
                    pos += len;
                    Ok(page)
                }
                None => {
                    let range = crate::split_pages(&bytes[pos..])
                        .next()
                        .expect("a range for any bytes");
                    let (start, end) = (pos + range.start, pos + range.end);
                    pos = end;
                    let page = text.and_then(|text| text.get(start..end));
                    self.decode_general(&bytes[start..end], page)
                }
            };
            pages.push(decoded.map_err(|source| Error::Page {
                from: from.to_owned(),
                page: pages.len() + 1,
                source: Box::new(source),
            })?);
            pos += crate::pages::whitespace_len(&bytes[pos..]);
        }
        Ok(pages)
    }

    /// Decodes each of `pages` (whose boundaries are known, as in a raw archive); `from` names
    /// their input in errors, which say the page number (1-based).
    pub fn decode_each<'a>(
        &self,
        pages: impl IntoIterator<Item = &'a [u8]>,
        from: &str,
    ) -> Result<Vec<DecodedPage>> {
        pages
            .into_iter()
            .enumerate()
            .map(|(i, page)| {
                self.decode(page).map_err(|source| Error::Page {
                    from: from.to_owned(),
                    page: i + 1,
                    source: Box::new(source),
                })
            })
            .collect()
    }

    /// The general path: serde_json, for any page (and every error). `text` is `bytes` if they
    /// are UTF-8.
    fn decode_general(&self, bytes: &[u8], text: Option<&str>) -> Result<DecodedPage> {
        let failure = RefCell::new(None);
        let repeated = Cell::new(None);
        // Invalid UTF-8 takes the slice reader, which reports where it is.
        let page = match text {
            Some(text) => self.parse(
                &mut serde_json::Deserializer::from_str(text),
                &failure,
                &repeated,
            ),
            None => self.parse(
                &mut serde_json::Deserializer::from_slice(bytes),
                &failure,
                &repeated,
            ),
        }
        .map_err(|e| match repeated.get() {
            Some(key) => Error::RepeatedKey(key),
            None => with_row_id(to_error(e, &failure), bytes),
        })?;
        let (context, next_link, value) = page;
        let table = resolve_table(self.table, context.as_deref())?;
        let columns = match value {
            PageValue::Missing => return Err(Error::MissingValue),
            PageValue::Decoded(columns) => *columns,
            PageValue::Deferred(raw) => {
                // `value` came before `@odata.context`: decode it now that the table is known.
                let mut de = serde_json::Deserializer::from_str(raw.get());
                RowsSeed {
                    columns: Columns::new(table, self),
                    failure: &failure,
                }
                .deserialize(&mut de)
                .map_err(|e| with_row_id(to_error(e, &failure), bytes))?
            }
        };
        columns.finish(next_link)
    }
}

impl PageDecoder {
    fn parse<'de, R: serde_json::de::Read<'de>>(
        &self,
        de: &mut serde_json::Deserializer<R>,
        failure: &RefCell<Option<Failure>>,
        repeated: &Cell<Option<&'static str>>,
    ) -> serde_json::Result<(Option<String>, Option<String>, PageValue<'de>)> {
        let page = PageSeed {
            decoder: self,
            failure,
            repeated,
        }
        .deserialize(&mut *de)?;
        de.end()?;
        Ok(page)
    }
}

/// One decoded page.
#[derive(Debug)]
pub struct DecodedPage {
    /// The table the rows belong to.
    pub table: Table,
    /// The rows, in page order, with [`Table::schema`].
    pub batches: Vec<RecordBatch>,
    /// How many rows the page held.
    pub rows: usize,
    /// The page's `@odata.nextLink`, verbatim.
    pub next_link: Option<String>,
    /// Row properties the schema does not know, with how many rows had each. They are kept in the
    /// `extra_properties` column as a JSON object.
    pub unknown_properties: BTreeMap<String, u64>,
    /// The rows that cannot be landed, when the decoder sets them aside
    /// ([`PageDecoder::with_bad_rows_set_aside`]); they are not in `batches` or `rows`.
    pub bad_rows: Vec<BadRow>,
}

fn resolve_table(hint: Option<Table>, context: Option<&str>) -> Result<Table> {
    let from_context = context.and_then(Table::from_odata_context);
    match (hint, from_context) {
        (Some(expected), Some(found)) if expected != found => {
            Err(Error::TableMismatch { expected, found })
        }
        (Some(t), _) | (None, Some(t)) => Ok(t),
        (None, None) => Err(Error::UnknownTable {
            context: context.map(str::to_owned),
        }),
    }
}

/// Where the failing field was, recorded by the row visitor before the error unwinds.
#[derive(Debug)]
struct Failure {
    row: usize,
    id: Option<String>,
    field: String,
}

fn to_error(e: serde_json::Error, failure: &RefCell<Option<Failure>>) -> Error {
    let failure = failure.borrow_mut().take();
    match failure {
        // A syntax error or a cut-off page is the page's fault, not the field's where it surfaced.
        Some(Failure { row, id, field }) if e.is_data() => {
            let text = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
            Error::Field {
                row,
                id,
                field,
                message,
            }
        }
        _ => Error::Json {
            line: e.line(),
            column: e.column(),
            source: e,
        },
    }
}

/// Fills in the `id` of a bad row when the bad field came before `id` in the row: the page is
/// read again for ids only (this runs only on the error path).
fn with_row_id(error: Error, bytes: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Ids {
        value: Vec<IdOnly>,
    }
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<String>,
    }
    match error {
        Error::Field {
            row,
            id: None,
            field,
            message,
        } => {
            let id = serde_json::from_slice::<Ids>(bytes)
                .ok()
                .and_then(|ids| ids.value.into_iter().nth(row))
                .and_then(|r| r.id);
            Error::Field {
                row,
                id,
                field,
                message,
            }
        }
        other => other,
    }
}

enum PageValue<'de> {
    Missing,
    Decoded(Box<Columns>),
    Deferred(&'de RawValue),
}

struct PageSeed<'a> {
    decoder: &'a PageDecoder,
    failure: &'a RefCell<Option<Failure>>,
    /// Set to the page key that came twice (the error is [`Error::RepeatedKey`]).
    repeated: &'a Cell<Option<&'static str>>,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = (Option<String>, Option<String>, PageValue<'de>);

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = (Option<String>, Option<String>, PageValue<'de>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Graph page: an object with a `value` array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut context: Option<String> = None;
        let mut next_link: Option<String> = None;
        let mut value = PageValue::Missing;
        // A key given twice is refused: which of the two a reader keeps is up to the reader, and
        // keeping one silently drops the rows (or the next page) of the other.
        let (mut seen_context, mut seen_next_link, mut seen_value) = (false, false, false);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let seen = match &*key {
                "@odata.context" => Some(("@odata.context", &mut seen_context)),
                "@odata.nextLink" => Some(("@odata.nextLink", &mut seen_next_link)),
                "value" => Some(("value", &mut seen_value)),
                _ => None,
            };
            if let Some((name, seen)) = seen
                && std::mem::replace(seen, true)
            {
                self.repeated.set(Some(name));
                return Err(de::Error::custom("a page key twice"));
            }
            match &*key {
                "@odata.context" => context = map.next_value()?,
                "@odata.nextLink" => next_link = map.next_value()?,
                "value" => {
                    let known = self
                        .decoder
                        .table
                        .or_else(|| context.as_deref().and_then(Table::from_odata_context));
                    value = match known {
                        Some(table) => {
                            PageValue::Decoded(Box::new(map.next_value_seed(RowsSeed {
                                columns: Columns::new(table, self.decoder),
                                failure: self.failure,
                            })?))
                        }
                        None => PageValue::Deferred(map.next_value()?),
                    };
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((context, next_link, value))
    }
}

/// A key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }
}

/// The column builders of a page, and the batches already finished.
struct Columns {
    table: Table,
    schema: SchemaRef,
    properties: &'static [Property],
    builders: Vec<Builder>,
    extra: StringBuilder,
    extra_buf: String,
    /// For each column, the row stamp at which it was last set: a column whose stamp is not the
    /// current row's gets a null when the row ends.
    set_at: Vec<u64>,
    stamp: u64,
    index: foldhash::HashMap<&'static str, usize>,
    /// For each column, the column whose key followed it last time (the last entry: the first key
    /// of a row). Rows of a page repeat one key order, so after the first row nearly every key is
    /// found by one comparison with the key this predicts.
    follows: Vec<usize>,
    /// The column of the previous key of this row (`properties.len()` at the start of a row).
    last: usize,
    batch_size: usize,
    in_batch: usize,
    rows: usize,
    batches: Vec<RecordBatch>,
    unknown: BTreeMap<String, u64>,
    current_id: Option<String>,
    window: Option<Window>,
}

enum Builder {
    Str(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    I32(Int32Builder),
    Bool(BooleanBuilder),
    Money(Decimal128Builder),
    Ids(IdListBuilder),
}

impl Builder {
    fn new(kind: Kind, capacity: usize) -> Self {
        match kind {
            Kind::Str => Builder::Str(StringBuilder::with_capacity(capacity, capacity * 16)),
            Kind::Timestamp => Builder::Ts(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
            Kind::Int32 => Builder::I32(Int32Builder::with_capacity(capacity)),
            Kind::Bool => Builder::Bool(BooleanBuilder::with_capacity(capacity)),
            Kind::Money => Builder::Money(
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
                    .expect("money precision and scale are valid"),
            ),
            Kind::IdList => Builder::Ids(IdListBuilder::default()),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Str(b) => b.append_null(),
            Builder::Ts(b) => b.append_null(),
            Builder::I32(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Money(b) => b.append_null(),
            Builder::Ids(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Money(b) => Arc::new(b.finish()),
            Builder::Ids(b) => b.finish(),
        }
    }
}

/// Builds `List<Struct<id: Utf8>>` for `administrativeUnitInfos`.
struct IdListBuilder {
    offsets: Vec<i32>,
    ids: StringBuilder,
    validity: NullBufferBuilder,
}

impl Default for IdListBuilder {
    fn default() -> Self {
        IdListBuilder {
            offsets: Vec::new(),
            ids: StringBuilder::new(),
            validity: NullBufferBuilder::new(0),
        }
    }
}

impl IdListBuilder {
    fn offsets_started(&mut self) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
    }

    fn append_null(&mut self) {
        self.offsets_started();
        self.offsets.push(*self.offsets.last().expect("started"));
        self.validity.append_null();
    }

    fn finish(&mut self) -> ArrayRef {
        self.offsets_started();
        let ids = Arc::new(self.ids.finish()) as ArrayRef;
        let items = StructArray::new(crate::table::id_struct_fields(), vec![ids], None);
        let offsets = OffsetBuffer::new(std::mem::take(&mut self.offsets).into());
        let nulls = self.validity.finish();
        Arc::new(ListArray::new(
            crate::table::id_list_item(),
            offsets,
            Arc::new(items),
            nulls,
        ))
    }
}

impl Columns {
    fn new(table: Table, decoder: &PageDecoder) -> Self {
        let batch_size = decoder.batch_size;
        let properties = table.properties();
        let capacity = batch_size.min(DEFAULT_BATCH_SIZE);
        Columns {
            table,
            schema: table.schema(),
            properties,
            builders: properties
                .iter()
                .map(|p| Builder::new(p.kind, capacity))
                .collect(),
            extra: StringBuilder::new(),
            extra_buf: String::new(),
            set_at: vec![0; properties.len()],
            stamp: 0,
            index: properties
                .iter()
                .enumerate()
                .map(|(i, p)| (p.graph_name, i))
                .collect(),
            follows: (1..=properties.len()).chain([0]).collect(),
            last: properties.len(),
            batch_size,
            in_batch: 0,
            rows: 0,
            batches: Vec::new(),
            unknown: BTreeMap::new(),
            current_id: None,
            window: decoder.window.filter(|_| table.is_window_totals()),
        }
    }

    fn column_of(&mut self, key: &str) -> Option<usize> {
        let guess = self.follows[self.last];
        let i = if self
            .properties
            .get(guess)
            .is_some_and(|p| same_bytes(p.graph_name.as_bytes(), key.as_bytes()))
        {
            guess
        } else {
            let i = *self.index.get(key)?;
            self.follows[self.last] = i;
            i
        };
        self.last = i;
        Some(i)
    }

    /// Starts a row: every column unset, no unknown properties yet.
    #[inline]
    fn start_row(&mut self) {
        self.stamp += 1;
        self.last = self.properties.len();
        self.current_id = None;
        self.extra_buf.clear();
    }

    /// A property the schema does not know: kept for `extra_properties` (the key re-encoded, as
    /// it may have needed escapes; the value verbatim) and counted.
    fn add_unknown(&mut self, key: &str, raw_value: &str) {
        self.extra_buf
            .push(if self.extra_buf.is_empty() { '{' } else { ',' });
        self.extra_buf
            .push_str(&serde_json::to_string(key).expect("a string always serialises"));
        self.extra_buf.push(':');
        self.extra_buf.push_str(raw_value);
        match self.unknown.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                self.unknown.insert(key.to_owned(), 1);
            }
        }
    }

    /// Ends a row: nulls for the columns it did not set, and its unknown properties (if any).
    #[inline]
    fn end_row(&mut self) {
        for (i, builder) in self.builders.iter_mut().enumerate() {
            if self.set_at[i] != self.stamp {
                builder.append_null();
            }
        }
        if self.extra_buf.is_empty() {
            self.extra.append_null();
        } else {
            self.extra_buf.push('}');
            self.extra.append_value(&self.extra_buf);
        }
    }

    /// The column [`Columns::column_of`] expects next, and its key (none after a row's last key).
    #[inline]
    fn predicted_key(&self) -> Option<(usize, &'static [u8])> {
        let guess = self.follows[self.last];
        let property = self.properties.get(guess)?;
        Some((guess, property.graph_name.as_bytes()))
    }

    fn flush(&mut self) -> Result<()> {
        if self.in_batch == 0 {
            return Ok(());
        }
        let mut arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        arrays.push(Arc::new(self.extra.finish()));
        derived::append(self.table, self.window, &self.schema, &mut arrays);
        self.batches
            .push(RecordBatch::try_new(Arc::clone(&self.schema), arrays)?);
        self.in_batch = 0;
        Ok(())
    }

    fn finish(mut self, next_link: Option<String>) -> Result<DecodedPage> {
        self.flush()?;
        debug_assert_eq!(
            self.schema.field(self.properties.len()).name(),
            EXTRA_PROPERTIES
        );
        Ok(DecodedPage {
            table: self.table,
            batches: self.batches,
            rows: self.rows,
            next_link,
            unknown_properties: self.unknown,
            bad_rows: Vec::new(),
        })
    }
}

/// Key equality, eight bytes at a time and inline: keys are short and nearly every comparison
/// hits, so a call to `memcmp` per key cost more than the comparison itself.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let words_match = a8.by_ref().zip(b8.by_ref()).all(|(x, y)| {
        u64::from_ne_bytes(x.try_into().expect("8 bytes"))
            == u64::from_ne_bytes(y.try_into().expect("8 bytes"))
    });
    words_match
        && a8
            .remainder()
            .iter()
            .zip(b8.remainder())
            .all(|(x, y)| x == y)
}

struct RowsSeed<'a> {
    columns: Columns,
    failure: &'a RefCell<Option<Failure>>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = Columns;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = Columns;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`value`: an array of call-log rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Columns, A::Error> {
        while seq
            .next_element_seed(RowSeed {
                columns: &mut self.columns,
                failure: self.failure,
            })?
            .is_some()
        {
            let c = &mut self.columns;
            c.rows += 1;
            c.in_batch += 1;
            if c.in_batch >= c.batch_size {
                c.flush().map_err(de::Error::custom)?;
            }
        }
        Ok(self.columns)
    }
}

struct RowSeed<'a> {
    columns: &'a mut Columns,
    failure: &'a RefCell<Option<Failure>>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a call-log row (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.columns;
        c.start_row();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match c.column_of(&key) {
                Some(i) => {
                    let property = c.properties[i];
                    let fail = |failure: &RefCell<Option<Failure>>, id: &Option<String>| {
                        *failure.borrow_mut() = Some(Failure {
                            row: c.rows,
                            id: id.clone(),
                            field: property.graph_name.to_owned(),
                        });
                    };
                    if c.set_at[i] == c.stamp {
                        fail(self.failure, &c.current_id);
                        return Err(de::Error::custom("the property appears twice in the row"));
                    }
                    c.set_at[i] = c.stamp;
                    let want_id = i == 0;
                    let result = map.next_value_seed(ValueSeed {
                        builder: &mut c.builders[i],
                        kind: property.kind,
                        id: if want_id {
                            Some(&mut c.current_id)
                        } else {
                            None
                        },
                    });
                    if let Err(e) = result {
                        fail(self.failure, &c.current_id);
                        return Err(e);
                    }
                }
                None => {
                    let raw: &RawValue = map.next_value()?;
                    c.add_unknown(&key, raw.get());
                }
            }
        }
        c.end_row();
        Ok(())
    }
}

/// Appends one property value to its column.
struct ValueSeed<'a> {
    builder: &'a mut Builder,
    kind: Kind,
    /// Where to keep the row's `id`, for error messages.
    id: Option<&'a mut Option<String>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.kind {
            Kind::Money => {
                let raw = <&RawValue as serde::Deserialize>::deserialize(d)?;
                let Builder::Money(b) = self.builder else {
                    unreachable!("money column")
                };
                let text = raw.get();
                if text == "null" {
                    b.append_null();
                    return Ok(());
                }
                // Some serialisers quote Edm.Decimal; accept both forms.
                let digits = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
                if let Some(digits) = digits
                    && digits.is_empty()
                {
                    b.append_null();
                    return Ok(());
                }
                let value = parse_decimal(digits.unwrap_or(text), MONEY_PRECISION, MONEY_SCALE)
                    .map_err(de::Error::custom)?;
                b.append_value(value);
                Ok(())
            }
            Kind::IdList => d.deserialize_any(IdListVisitor(self.builder)),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Str => "a string or null",
            Kind::Timestamp => "a date-time string or null",
            Kind::Int32 => "a 32-bit integer or null",
            Kind::Bool => "true, false or null",
            Kind::Money => "a decimal number or null",
            Kind::IdList => "an array of {\"id\": …} objects or null",
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.builder.append_null();
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        match self.builder {
            Builder::Str(b) => {
                b.append_value(v);
                if let Some(id) = self.id {
                    *id = Some(v.to_owned());
                }
                Ok(())
            }
            Builder::Ts(b) => {
                b.append_option(parse_timestamp_micros(v).map_err(E::custom)?);
                Ok(())
            }
            _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        match self.builder {
            Builder::I32(b) => {
                let v = i32::try_from(v)
                    .map_err(|_| E::custom(format!("{v} does not fit a 32-bit integer")))?;
                b.append_value(v);
                Ok(())
            }
            _ => Err(E::invalid_type(de::Unexpected::Signed(v), &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match self.builder {
            Builder::I32(_) => match i64::try_from(v) {
                Ok(v) => self.visit_i64(v),
                Err(_) => Err(E::custom(format!("{v} does not fit a 32-bit integer"))),
            },
            _ => Err(E::invalid_type(de::Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        match self.builder {
            Builder::Bool(b) => {
                b.append_value(v);
                Ok(())
            }
            _ => Err(E::invalid_type(de::Unexpected::Bool(v), &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        Err(E::invalid_type(de::Unexpected::Float(v), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<(), A::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
}

/// `administrativeUnitInfos`: `[{"id": "…"}, …]` or null.
struct IdListVisitor<'a>(&'a mut Builder);

impl<'de> Visitor<'de> for IdListVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of {\"id\": …} objects or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.append_null();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        #[derive(serde::Deserialize)]
        struct Item<'a> {
            #[serde(borrow)]
            id: Option<std::borrow::Cow<'a, str>>,
        }
        let Builder::Ids(b) = self.0 else {
            unreachable!("id list column")
        };
        b.offsets_started();
        let mut n = 0i32;
        while let Some(item) = seq.next_element::<Option<Item<'de>>>()? {
            b.ids.append_option(item.and_then(|i| i.id));
            n += 1;
        }
        let last = *b.offsets.last().expect("started");
        b.offsets.push(last + n);
        b.validity.append_non_null();
        Ok(())
    }
}

mod bad_rows;
mod derived;
mod fast;

pub use bad_rows::{BadRow, Unlandable, day_properties, first_unlandable_row};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
