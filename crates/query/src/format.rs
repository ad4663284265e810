//! Writing query results as a terminal table, CSV, JSON, NDJSON, Markdown or Parquet.
//!
//! Numbers stay exact: decimals (money) are written with every digit of their scale, never through
//! a float. In the text formats (table, CSV, Markdown) floats are written in plain decimal
//! notation, never `1e20`, and UTC (and zoneless) timestamps as `YYYY-MM-DD HH:MM:SS`, with
//! `.ffffff` (always six digits) when the time has microseconds: the form a spreadsheet reads as a
//! date and time, exact to the microsecond the lake holds. The table format shows money (decimals
//! of the lake's money scale) with the minor units of each row's `currency` and right-aligns
//! numbers; every other format keeps every digit. JSON and NDJSON keep Arrow's JSON forms (RFC 3339 times).
//! In the table and CSV formats nested values (lists, structs) are JSON text, so `SELECT *` works.
//!
//! Text from the data is written so that it cannot act on what shows it. CSV, read by people in
//! spreadsheets, has each text cell that a spreadsheet would take for a formula (one starting with
//! `=`, `+`, `-`, `@`, tab or carriage return) written with a leading `'` (OWASP's advice for CSV
//! injection); numbers, decimals and dates are never changed, and `csv-raw` writes the cells as
//! they are for programs. The table and Markdown formats, shown on terminals, write control
//! characters and escape sequences as visible escapes ([`pstn_lake_text::terminal_safe`]), and
//! Markdown escapes what would make a cell into a link, HTML or another column.

use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, Float64Type, Schema, SchemaRef,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use crate::Result;

/// A text output format (Parquet is written by [`write_parquet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A boxed table for the terminal.
    Table,
    /// CSV with a header row (RFC 4180): numbers unquoted, strings quoted only when they must be,
    /// and a text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or carriage
    /// return first) written as text with a leading `'`.
    Csv,
    /// CSV as [`Format::Csv`] writes it but with every text cell as it is, for programs that read
    /// the cells rather than people who open the file in a spreadsheet.
    CsvRaw,
    /// A JSON array of objects; decimals are JSON numbers with every digit kept.
    Json,
    /// Newline-delimited JSON: one object a line, nothing for an empty result.
    Ndjson,
    /// A GitHub-flavoured Markdown table.
    Markdown,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "csv-raw" => Ok(Format::CsvRaw),
            "json" => Ok(Format::Json),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format `{other}`: expected table, csv, csv-raw, json, ndjson or markdown"
            )),
        }
    }
}

/// Writes `batches` (with `schema`, so an empty result still has its header) in `format`.
pub fn write(
    out: &mut dyn Write,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    match format {
        Format::Table => {
            let (text_schema, batches) = as_text(schema, batches)?;
            let batches = batches
                .iter()
                .map(in_minor_units)
                .collect::<Result<Vec<_>>>()?;
            // Aligned by the original types: numbers written as text still go right.
            write_table(out, schema, &text_schema, &batches)?;
        }
        Format::Csv | Format::CsvRaw => {
            let batches = if format == Format::Csv {
                batches
                    .iter()
                    .map(formulas_as_text)
                    .collect::<Result<_>>()?
            } else {
                batches.to_vec()
            };
            let (schema, batches) = as_text(schema, &batches)?;
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            // The header is written with the first batch, so an empty result still has it.
            writer.write(&RecordBatch::new_empty(schema))?;
            for batch in &batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            let mut writer = datafusion::arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, datafusion::arrow::json::writer::JsonArray>(&mut *out);
            // A written batch, even an empty one, makes the writer open the array: `[]` when empty.
            writer.write(&RecordBatch::new_empty(schema.clone()))?;
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
            drop(writer);
            writeln!(out)?;
        }
        Format::Ndjson => {
            let mut writer = datafusion::arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, datafusion::arrow::json::writer::LineDelimited>(&mut *out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
        Format::Markdown => {
            let (_, text) = as_text(schema, batches)?;
            // Aligned by the original types: numbers written as text still go right.
            write_markdown(out, schema, &text)?;
        }
    }
    Ok(())
}

/// Writes `batches` as one Parquet file (zstd): every column keeps its Arrow type, so decimals stay
/// decimals and timestamps stay timestamps.
pub fn write_parquet<W: Write + Send>(
    out: W,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    // The rows' own schema when there are rows (execution may choose Utf8View where the plan says Utf8).
    let schema = batches
        .first()
        .map_or_else(|| schema.clone(), RecordBatch::schema);
    let mut writer = ArrowWriter::try_new(out, schema, Some(props))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(())
}

/// `batch` with each text cell that a spreadsheet would take for a formula (see [`Format::Csv`])
/// prefixed with `'`, so the spreadsheet shows it as text. Only text columns change (to Utf8);
/// numbers, decimals and dates are not text, so a negative amount stays a number.
fn formulas_as_text(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !is_text(field.data_type()) {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(column));
            continue;
        }
        let text = cast(column, &DataType::Utf8)?;
        let safe: StringArray = text
            .as_string::<i32>()
            .iter()
            .map(|v| {
                v.map(|v| match v.chars().next() {
                    Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{v}"),
                    _ => v.to_owned(),
                })
            })
            .collect();
        fields.push(Field::new(
            field.name(),
            DataType::Utf8,
            field.is_nullable(),
        ));
        columns.push(Arc::new(safe) as ArrayRef);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            fields,
            batch.schema().metadata().clone(),
        )),
        columns,
    )?)
}

/// Whether a column holds text (in any of Arrow's string layouts, dictionary-encoded or not).
fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// The result with float columns as plain decimal text and UTC or zoneless timestamp columns as
/// `YYYY-MM-DD HH:MM:SS[.ffffff]` text; other columns unchanged. The schema returned is that of
/// the rows when there are any (execution may choose other string layouts than the plan).
fn as_text(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let batches = batches
        .iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .map(|column| {
                    if needs_text(column.data_type()) {
                        to_text(column)
                    } else {
                        Ok(column.clone())
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RecordBatch::try_new(text_schema(&batch.schema()), columns)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let schema = batches
        .first()
        .map_or_else(|| text_schema(schema), RecordBatch::schema);
    Ok((schema, batches))
}

/// `schema` with the columns [`as_text`] converts turned into nullable Utf8.
fn text_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if needs_text(f.data_type()) {
                Field::new(f.name(), DataType::Utf8, true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn needs_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => true,
        // Lists and structs (administrative units): JSON text, which CSV can hold.
        nested if nested.is_nested() => true,
        DataType::Timestamp(_, Some(tz)) => is_utc(tz),
        DataType::Timestamp(_, None) => true,
        _ => false,
    }
}

fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC")
}

fn to_text(column: &ArrayRef) -> Result<ArrayRef> {
    let text: StringArray = match column.data_type() {
        DataType::Float16 | DataType::Float32 => {
            // Through f32, whose shortest form is the value's own digits (not f64's widening).
            let floats = cast(column, &DataType::Float32)?;
            floats
                .as_primitive::<datafusion::arrow::datatypes::Float32Type>()
                .iter()
                .map(|v| v.map(|v| v.to_string()))
                .collect()
        }
        DataType::Float64 => column
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect(),
        nested if nested.is_nested() => json_text(column)?,
        _ => {
            // One form: whole seconds, then six digits of microseconds when there are any.
            let options = FormatOptions::default()
                .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.6f"))
                .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.6f"));
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            (0..column.len())
                .map(|i| {
                    column.is_valid(i).then(|| {
                        let text = formatter.value(i).to_string();
                        match text.strip_suffix(".000000") {
                            Some(seconds) => seconds.to_owned(),
                            None => text,
                        }
                    })
                })
                .collect()
        }
    };
    Ok(Arc::new(text))
}

/// Each value of a nested column as JSON text (`[{"id":"…"}]`), in Arrow's JSON forms (the
/// `json` format's); null stays null.
fn json_text(column: &ArrayRef) -> Result<StringArray> {
    const KEY: &str = "v";
    let field = Field::new(KEY, column.data_type().clone(), true);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![Arc::clone(column)])?;
    // One line a row, `{"v":VALUE}` (`{}` for null): the value is the text between the braces.
    let mut lines = Vec::new();
    let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(&mut lines);
    writer.write(&batch)?;
    writer.finish()?;
    let lines = String::from_utf8_lossy(&lines);
    let prefix = format!("{{\"{KEY}\":");
    Ok(lines
        .lines()
        .enumerate()
        .map(|(i, line)| {
            column.is_valid(i).then(|| {
                line.strip_prefix(&prefix)
                    .and_then(|v| v.strip_suffix('}'))
                    .unwrap_or(line)
                    .to_owned()
            })
        })
        .collect())
}

/// The scale of money in the lake (Decimal128(18, 6)) and of sums of it.
const MONEY_SCALE: i8 = 6;

/// In a result with a `currency` column, money (decimals of the lake's money scale) as text with
/// the digits of each row's currency's minor unit (JPY 0, USD 2, KWD 3), rounded half away from
/// zero; a row without a known currency keeps every digit. Other columns unchanged.
fn in_minor_units(batch: &RecordBatch) -> Result<RecordBatch> {
    let Ok(index) = batch.schema().index_of("currency") else {
        return Ok(batch.clone());
    };
    let currency = cast(batch.column(index), &DataType::Utf8)?;
    let currency = currency.as_string::<i32>();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if let DataType::Decimal128(_, MONEY_SCALE) = field.data_type() {
            let values = column.as_primitive::<Decimal128Type>();
            let text: StringArray = (0..values.len())
                .map(|i| {
                    values.is_valid(i).then(|| {
                        let digits = currency
                            .is_valid(i)
                            .then(|| minor_units(currency.value(i)))
                            .flatten()
                            .unwrap_or(MONEY_SCALE as u32);
                        rounded(values.value(i), MONEY_SCALE as u32, digits)
                    })
                })
                .collect();
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(Arc::new(text) as ArrayRef);
        } else {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(column));
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// The digits after the decimal point of an ISO 4217 currency (`None` for what is not a code).
fn minor_units(code: &str) -> Option<u32> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Some(match code.as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    })
}

/// `value` (a decimal of `scale`) with `digits` decimals, rounded half away from zero.
fn rounded(value: i128, scale: u32, digits: u32) -> String {
    let digits = digits.min(scale);
    let factor = 10i128.pow(scale - digits);
    let mut whole = value / factor;
    if (value % factor).abs() * 2 >= factor {
        whole += value.signum();
    }
    let sign = if whole < 0 { "-" } else { "" };
    let unit = 10i128.pow(digits);
    let (int, frac) = (whole.abs() / unit, whole.abs() % unit);
    if digits == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac:0width$}", width = digits as usize)
    }
}

/// A boxed table: numbers (by `types`, the result's own schema) right-aligned, text left-aligned,
/// null as an empty cell.
fn write_table(
    out: &mut dyn Write,
    types: &SchemaRef,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let right: Vec<bool> = types
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();
    let mut rows: Vec<Vec<String>> = vec![
        schema
            .fields()
            .iter()
            .map(|f| Cell::Terminal.escape(f.name()))
            .collect(),
    ];
    for_each_row(
        batches,
        &FormatOptions::default(),
        Cell::Terminal,
        |cells| {
            rows.push(cells);
            Ok(())
        },
    )?;
    let mut widths = vec![0; rows[0].len()];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let rule: String = widths.iter().fold("+".to_owned(), |mut line, w| {
        line.push_str(&"-".repeat(w + 2));
        line.push('+');
        line
    });
    writeln!(out, "{rule}")?;
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::from("|");
        for ((cell, width), right) in row.iter().zip(&widths).zip(&right) {
            if *right {
                line.push_str(&format!(" {cell:>width$} |"));
            } else {
                line.push_str(&format!(" {cell:<width$} |"));
            }
        }
        writeln!(out, "{line}")?;
        if i == 0 {
            writeln!(out, "{rule}")?;
        }
    }
    writeln!(out, "{rule}")?;
    Ok(())
}

fn write_markdown(out: &mut dyn Write, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| Cell::Markdown.escape(f.name()))
        .collect();
    writeln!(out, "| {} |", names.join(" | "))?;
    let aligns: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| {
            if f.data_type().is_numeric() {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    writeln!(out, "| {} |", aligns.join(" | "))?;
    let options = FormatOptions::default().with_null("");
    for_each_row(batches, &options, Cell::Markdown, |cells| {
        writeln!(out, "| {} |", cells.join(" | "))?;
        Ok(())
    })
}

/// Where a text cell is shown, which says how [`for_each_row`] escapes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// A terminal table: one line (a newline is a space), controls and escape sequences visible
    /// as escapes ([`pstn_lake_text::terminal_safe`]).
    Terminal,
    /// A Markdown table cell, often read on a terminal: as [`Cell::Terminal`], and then every
    /// character Markdown gives a meaning to in a table cell backslash-escaped, so a value is
    /// never a column break, emphasis, code, a link or HTML.
    Markdown,
    /// An HTML table cell: `& < > " '` escaped.
    Html,
}

impl Cell {
    /// `text` as this kind of cell shows it.
    pub(crate) fn escape(self, text: &str) -> String {
        match self {
            Cell::Terminal => pstn_lake_text::terminal_safe(&text.replace('\n', " ")).into_owned(),
            Cell::Markdown => {
                let line = Cell::Terminal.escape(text);
                let mut out = String::with_capacity(line.len());
                for c in line.chars() {
                    if matches!(c, '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>') {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out
            }
            Cell::Html => crate::html::escape(text),
        }
    }
}

/// Calls `each` with every row of `batches` as text cells (arrow's display of each value, with
/// `options`), escaped for where they are shown (`cell`): the one way the table, Markdown and
/// HTML outputs turn values into text.
pub(crate) fn for_each_row(
    batches: &[RecordBatch],
    options: &FormatOptions,
    cell: Cell,
    mut each: impl FnMut(Vec<String>) -> Result<()>,
) -> Result<()> {
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            each(
                formatters
                    .iter()
                    .map(|f| cell.escape(&f.value(row).to_string()))
                    .collect(),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Decimal128Array, Float64Array, Int64Array, TimestampMicrosecondArray,
    };
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn sample() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("calls", DataType::Int64, true),
            Field::new("charge", DataType::Decimal128(28, 6), true),
            Field::new("ratio", DataType::Float64, true),
            Field::new(
                "start",
                DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Microsecond,
                    Some("UTC".into()),
                ),
                true,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("a, b"), None])),
                Arc::new(Int64Array::from(vec![Some(3), None])),
                Arc::new(
                    Decimal128Array::from(vec![Some(300_000), Some(12_345_678_901_234_567)])
                        .with_precision_and_scale(28, 6)
                        .unwrap(),
                ),
                Arc::new(Float64Array::from(vec![Some(1e20), Some(1e-7)])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_793_520_000_000_000), None])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        (schema, vec![batch])
    }

    fn text(format: Format, schema: &SchemaRef, batches: &[RecordBatch]) -> String {
        let mut out = Vec::new();
        write(&mut out, format, schema, batches).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_keeps_digits_quotes_only_text_and_never_uses_exponents() {
        let (schema, batches) = sample();
        assert_eq!(
            text(Format::Csv, &schema, &batches),
            "name,calls,charge,ratio,start\n\
             \"a, b\",3,0.300000,100000000000000000000,2026-11-01 08:00:00\n\
             ,,12345678901.234567,0.0000001,\n"
        );
        assert_eq!(
            text(Format::Csv, &schema, &[]),
            "name,calls,charge,ratio,start\n"
        );
    }

    #[test]
    fn tables_right_align_numbers_and_show_money_in_minor_units() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("currency", DataType::Utf8, true),
            Field::new("calls", DataType::Int64, true),
            Field::new("charge", DataType::Decimal128(28, 6), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("JPY"), Some("USD"), None])),
                Arc::new(Int64Array::from(vec![Some(12), Some(3), None])),
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(234_629_500_000),
                        Some(-1_005_000),
                        Some(1_234_567),
                    ])
                    .with_precision_and_scale(28, 6)
                    .unwrap(),
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            text(Format::Table, &schema, std::slice::from_ref(&batch)),
            "+----------+-------+----------+\n\
             | currency | calls |   charge |\n\
             +----------+-------+----------+\n\
             | JPY      |    12 |   234630 |\n\
             | USD      |     3 |    -1.01 |\n\
             |          |       | 1.234567 |\n\
             +----------+-------+----------+\n"
        );
        // Times: whole seconds, or six digits of microseconds.
        let times = Arc::new(
            TimestampMicrosecondArray::from(vec![1_793_520_000_120_000, 1_793_520_000_000_000])
                .with_timezone("UTC"),
        ) as ArrayRef;
        let at = RecordBatch::try_from_iter([("at", times)]).unwrap();
        assert_eq!(
            text(Format::Csv, &at.schema(), &[at]),
            "at\n2026-11-01 08:00:00.120000\n2026-11-01 08:00:00\n"
        );
        // Exact everywhere else.
        let csv = text(Format::Csv, &schema, &[batch]);
        assert!(csv.contains("JPY,12,234629.500000"), "{csv}");
        assert!(csv.contains("USD,3,-1.005000"), "{csv}");
        assert_eq!(rounded(-4_000, 6, 2), "0.00", "no negative zero");
    }

    #[test]
    fn csv_writes_text_a_spreadsheet_would_run_as_text_and_numbers_as_they_are() {
        let cells = [
            "=HYPERLINK(\"http://x\")",
            "+41 44 668 18 00",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "a=b",
            "'quoted",
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("view", DataType::Utf8View, true),
            Field::new(
                "dict",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
            Field::new("amount", DataType::Decimal128(18, 6), true),
            Field::new("ratio", DataType::Float64, true),
            Field::new("calls", DataType::Int64, true),
        ]));
        let n = cells.len();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(cells)),
                Arc::new(datafusion::arrow::array::StringViewArray::from_iter_values(
                    cells,
                )),
                Arc::new(
                    cells
                        .into_iter()
                        .collect::<datafusion::arrow::array::DictionaryArray<
                            datafusion::arrow::datatypes::Int32Type,
                        >>(),
                ),
                Arc::new(
                    Decimal128Array::from_iter_values(std::iter::repeat_n(-1_500_000, n))
                        .with_precision_and_scale(18, 6)
                        .unwrap(),
                ),
                Arc::new(Float64Array::from_iter_values(std::iter::repeat_n(-0.5, n))),
                Arc::new(Int64Array::from_iter_values(std::iter::repeat_n(-3, n))),
            ],
        )
        .unwrap();
        let csv = text(Format::Csv, &schema, std::slice::from_ref(&batch));
        let raw = text(Format::CsvRaw, &schema, std::slice::from_ref(&batch));
        let rows = |text: &str| -> Vec<Vec<String>> {
            // Every column read back as text: what a CSV reader sees in the file.
            let names = ["name", "view", "dict", "amount", "ratio", "calls"];
            let fields = names.map(|n| Field::new(n, DataType::Utf8, true));
            let mut reader =
                datafusion::arrow::csv::ReaderBuilder::new(Arc::new(Schema::new(fields.to_vec())))
                    .with_header(true)
                    .build(text.as_bytes())
                    .unwrap();
            let batch = reader.next().unwrap().unwrap();
            (0..batch.num_rows())
                .map(|row| {
                    batch
                        .columns()
                        .iter()
                        .map(|c| c.as_string::<i32>().value(row).to_owned())
                        .collect()
                })
                .collect()
        };
        for (row, cell) in rows(&csv).iter().zip(cells) {
            let expected = if cell == "a=b" || cell == "'quoted" {
                cell.to_owned()
            } else {
                format!("'{cell}")
            };
            let expected = expected.as_str();
            assert_eq!(row[..3], [expected, expected, expected], "{csv}");
            assert_eq!(row[3..], ["-1.500000", "-0.5", "-3"], "{csv}");
        }
        for (row, cell) in rows(&raw).iter().zip(cells) {
            assert_eq!(row[..3], [cell, cell, cell], "{raw}");
            assert_eq!(row[3..], ["-1.500000", "-0.5", "-3"], "{raw}");
        }
        assert_eq!(
            text(Format::Csv, &schema, &[]),
            "name,view,dict,amount,ratio,calls\n"
        );
    }

    /// The cells of a Markdown table row: split at each `|` that no `\` escapes.
    fn markdown_cells(line: &str) -> usize {
        let (mut bars, mut escaped) = (0, false);
        for c in line.chars() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '|') => bars += 1,
                _ => {}
            }
        }
        bars - 1
    }

    #[test]
    fn table_and_markdown_show_controls_as_escapes_and_keep_their_columns() {
        let hostile = [
            "\x1b[31mred\x1b[0m",
            "over\rwritten",
            "abc\u{202E}fdp.exe",
            "a | b",
            "*bold* _it_ `code`",
            "[x](http://y) <b>html</b> \\",
            "two\nlines",
        ];
        let schema = Arc::new(Schema::new(vec![
            Field::new("na|me\x1b[1m", DataType::Utf8, true),
            Field::new("calls", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(hostile)),
                Arc::new(Int64Array::from_iter_values(std::iter::repeat_n(
                    -1,
                    hostile.len(),
                ))),
            ],
        )
        .unwrap();
        for format in [Format::Table, Format::Markdown] {
            let out = text(format, &schema, std::slice::from_ref(&batch));
            for c in out.chars() {
                assert!(
                    c == '\n' || !(c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c)),
                    "{format:?} wrote {c:?}:\n{out}"
                );
            }
            // A row a line: the header, the rule, one line a value (tables add their borders).
            let lines = hostile.len() + if format == Format::Table { 4 } else { 2 };
            assert_eq!(out.lines().count(), lines, "{out}");
        }
        let table = text(Format::Table, &schema, std::slice::from_ref(&batch));
        assert!(table.contains("| over\\u{d}written "), "{table}");
        assert!(table.contains("| \\u{1b}[31mred\\u{1b}[0m "), "{table}");
        assert!(table.contains("| abc\\u{202e}fdp.exe "), "{table}");
        assert!(table.contains("| two lines "), "{table}");
        let md = text(Format::Markdown, &schema, std::slice::from_ref(&batch));
        for line in md.lines() {
            assert_eq!(markdown_cells(line), 2, "{line}");
        }
        for cell in [
            "| na\\|me\\\\u{1b}\\[1m | calls |",
            "| \\\\u{1b}\\[31mred\\\\u{1b}\\[0m | -1 |",
            "| over\\\\u{d}written | -1 |",
            "| abc\\\\u{202e}fdp.exe | -1 |",
            "| a \\| b | -1 |",
            "| \\*bold\\* \\_it\\_ \\`code\\` | -1 |",
            "| \\[x\\](http://y) \\<b\\>html\\</b\\> \\\\ | -1 |",
            "| two lines | -1 |",
        ] {
            assert!(md.contains(cell), "{cell} missing from\n{md}");
        }
    }

    #[test]
    fn json_and_ndjson_keep_every_decimal_digit() {
        let (schema, batches) = sample();
        let json = text(Format::Json, &schema, &batches);
        assert!(
            json.starts_with(r#"[{"name":"a, b","calls":3,"charge":0.300000,"#),
            "{json}"
        );
        assert!(json.contains(r#""charge":12345678901.234567"#), "{json}");
        let ndjson = text(Format::Ndjson, &schema, &batches);
        assert_eq!(ndjson.lines().count(), 2, "{ndjson}");
        assert!(ndjson.contains(r#""charge":0.300000"#), "{ndjson}");
        assert_eq!(text(Format::Json, &schema, &[]), "[]\n");
        assert_eq!(
            text(
                Format::Json,
                &schema,
                &[RecordBatch::new_empty(schema.clone())]
            ),
            "[]\n"
        );
        assert_eq!(text(Format::Ndjson, &schema, &[]), "");
    }

    #[test]
    fn parquet_keeps_decimal_types_and_values() {
        let (schema, batches) = sample();
        let mut file = tempfile::tempfile().unwrap();
        write_parquet(&mut file, &schema, &batches).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let read: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(
            read[0].schema().field(2).data_type(),
            &DataType::Decimal128(28, 6)
        );
        assert_eq!(read, batches);
    }

    /// Text a spreadsheet, a CSV reader, an HTML parser or a Markdown viewer might trip on:
    /// quotes, separators, line breaks (CR, LF), a formula's first character, character
    /// references and tags, Markdown's characters, controls, non-ASCII letters and any other
    /// character.
    pub(crate) fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let c = prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => proptest::char::range('0', '9'),
            4 => proptest::sample::select(vec![
                ',', '"', '\'', '\n', '\r', '=', '+', '-', '@', '\t', ' ', ';', '|', '\\', '`',
                '*', '_', '[', ']', '<', '>', '&', '#', '\0', '\x1b', '\u{7f}', '\u{85}',
                '\u{202e}', '\u{2028}', '\u{feff}', 'é', '東', '\u{1F4DE}',
            ]),
            1 => any::<char>(),
        ]
        .prop_map(String::from);
        let token = proptest::sample::select(vec![
            "&amp;",
            "&lt",
            "&gt;",
            "&#39;",
            "&#x3C;",
            "&quot",
            "<b>",
            "</td>",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "\r\n",
            "\"\"",
            "=cmd|' /C calc'!A0",
            "[x](y)",
            "**",
            "\\|",
        ])
        .prop_map(str::to_owned);
        (
            proptest::option::weighted(
                0.3,
                proptest::sample::select(vec!['=', '+', '-', '@', '\t', '\r']),
            ),
            proptest::collection::vec(prop_oneof![6 => c, 1 => token], 0..12),
        )
            .prop_map(|(first, rest)| first.into_iter().map(String::from).chain(rest).collect())
    }

    /// A row of [`Table`]: two texts, an integer, money (millionths) and a float.
    type Row = (
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i128>,
        Option<f64>,
    );

    /// A result of two text columns (two of Arrow's string layouts), an integer, money and a
    /// float, with arbitrary column names and values (nulls too).
    #[derive(Debug, Clone)]
    struct Table {
        names: Vec<String>,
        rows: Vec<Row>,
    }

    impl Table {
        fn batch(&self) -> (SchemaRef, RecordBatch) {
            let types = [
                DataType::Utf8,
                DataType::Utf8View,
                DataType::Int64,
                DataType::Decimal128(18, 6),
                DataType::Float64,
            ];
            let schema = Arc::new(Schema::new(
                self.names
                    .iter()
                    .zip(types)
                    .map(|(name, t)| Field::new(name, t, true))
                    .collect::<Vec<_>>(),
            ));
            let rows = &self.rows;
            let columns: Vec<ArrayRef> = vec![
                Arc::new(rows.iter().map(|r| r.0.clone()).collect::<StringArray>()),
                Arc::new(
                    rows.iter()
                        .map(|r| r.1.clone())
                        .collect::<datafusion::arrow::array::StringViewArray>(),
                ),
                Arc::new(rows.iter().map(|r| r.2).collect::<Int64Array>()),
                Arc::new(
                    rows.iter()
                        .map(|r| r.3)
                        .collect::<Decimal128Array>()
                        .with_precision_and_scale(18, 6)
                        .unwrap(),
                ),
                Arc::new(rows.iter().map(|r| r.4).collect::<Float64Array>()),
            ];
            let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
            (schema, batch)
        }

        /// Each row's cells as a reader should get them back: text as it is (or through
        /// `text`), numbers in their written form, null as an empty cell.
        fn cells(&self, text: impl Fn(&str) -> String) -> Vec<Vec<String>> {
            let mut out = vec![self.names.clone()];
            for (a, b, n, money, float) in &self.rows {
                out.push(vec![
                    a.as_deref().map(&text).unwrap_or_default(),
                    b.as_deref().map(&text).unwrap_or_default(),
                    n.map(|n| n.to_string()).unwrap_or_default(),
                    money.map(|m| decimal(m, 6)).unwrap_or_default(),
                    float.map(|f| f.to_string()).unwrap_or_default(),
                ]);
            }
            out
        }
    }

    /// `value / 10^scale` with every digit of the scale.
    fn decimal(value: i128, scale: u32) -> String {
        let unit = 10i128.pow(scale);
        let sign = if value < 0 { "-" } else { "" };
        let (int, frac) = (value.abs() / unit, value.abs() % unit);
        format!("{sign}{int}.{frac:0width$}", width = scale as usize)
    }

    fn table() -> impl proptest::strategy::Strategy<Value = Table> {
        use proptest::option::of;
        use proptest::prelude::*;
        (
            proptest::collection::vec(hostile_text(), 5),
            proptest::collection::vec(
                (
                    of(hostile_text()),
                    of(hostile_text()),
                    of(any::<i64>()),
                    of(-(10i128.pow(18) - 1)..10i128.pow(18)),
                    of(any::<f64>()),
                ),
                0..6,
            ),
        )
            .prop_map(|(names, rows)| Table { names, rows })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 64,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Arbitrary results written as `csv-raw` read back through Python's `csv` module as
        /// exactly their cells, and as `csv` as the same cells with a `'` before each text cell
        /// a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab or CR first); numbers
        /// (negative ones too) are never changed. A null and an empty text are both an empty
        /// cell. The header is the column names as they are in both (the guard is for the data;
        /// names come from the query).
        #[test]
        fn prop_csv_round_trips_through_pythons_csv_module(
            tables in proptest::collection::vec(table(), 1..24),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut paths = Vec::new();
            for (i, t) in tables.iter().enumerate() {
                let (schema, batch) = t.batch();
                for format in [Format::Csv, Format::CsvRaw] {
                    let path = dir.path().join(format!("{i}-{format:?}.csv"));
                    let mut out = Vec::new();
                    write(&mut out, format, &schema, std::slice::from_ref(&batch)).unwrap();
                    std::fs::write(&path, out).unwrap();
                    paths.push(path);
                }
            }
            let read = crate::python::csv_rows(&paths.iter().map(|p| p.as_path()).collect::<Vec<_>>());
            for (t, read) in tables.iter().zip(read.chunks(2)) {
                let guarded = t.cells(|s| match s.chars().next() {
                    Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
                    _ => s.to_owned(),
                });
                proptest::prop_assert_eq!(&read[0], &guarded, "csv");
                proptest::prop_assert_eq!(&read[1], &t.cells(str::to_owned), "csv-raw");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 512,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Arbitrary results written as Markdown keep the table's shape: a line a row, as many
        /// cells in each as columns, no character Markdown acts on left unescaped in a cell, and
        /// no control character anywhere; each cell, its escapes undone, is the value as the
        /// terminal table shows it.
        #[test]
        fn prop_markdown_cells_never_break_the_table(t in table()) {
            let (schema, batch) = t.batch();
            let out = text(Format::Markdown, &schema, std::slice::from_ref(&batch));
            proptest::prop_assert!(
                !out.chars().any(|c| (c.is_control() && c != '\n') || ('\u{202A}'..='\u{202E}').contains(&c)),
                "{:?}", out
            );
            let lines: Vec<&str> = out.split('\n').collect();
            proptest::prop_assert_eq!(lines.len(), t.rows.len() + 3, "{:?}", out);
            proptest::prop_assert_eq!(lines[lines.len() - 1], "");
            let shown = |s: &str| Cell::Terminal.escape(s);
            let mut expected = vec![t.names.iter().map(|n| shown(n)).collect::<Vec<_>>()];
            let options = FormatOptions::default().with_null("");
            let (_, as_written) = as_text(&schema, std::slice::from_ref(&batch)).unwrap();
            for_each_row(&as_written, &options, Cell::Terminal, |cells| {
                expected.push(cells);
                Ok(())
            })
            .unwrap();
            for (i, line) in lines[..lines.len() - 1].iter().enumerate() {
                let cells = markdown_row(line).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}: {line:?}")))?;
                proptest::prop_assert_eq!(cells.len(), 5, "{:?}", line);
                if i == 1 {
                    continue;
                }
                let row = &expected[if i == 0 { 0 } else { i - 1 }];
                proptest::prop_assert_eq!(&cells, row, "{:?}", line);
            }
        }
    }

    /// The cells of a Markdown table row (`| a | b |`), their backslash escapes undone; an error
    /// if a cell holds a character Markdown gives a meaning to without its escape.
    fn markdown_row(line: &str) -> Result<Vec<String>, String> {
        let inner = line
            .strip_prefix("| ")
            .and_then(|l| l.strip_suffix(" |"))
            .ok_or("not a table row")?;
        let mut cells = vec![String::new()];
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cells
                    .last_mut()
                    .unwrap()
                    .push(chars.next().ok_or("a cell ends in a lone backslash")?),
                ' ' if chars.peek() == Some(&'|') => {
                    chars.next();
                    if chars.next() != Some(' ') {
                        return Err("a separator without its spaces".into());
                    }
                    cells.push(String::new());
                }
                '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' => {
                    return Err(format!("an unescaped {c:?}"));
                }
                c => cells.last_mut().unwrap().push(c),
            }
        }
        Ok(cells)
    }
}
