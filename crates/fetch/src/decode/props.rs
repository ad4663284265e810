//! Property tests of the page decoder: arbitrary valid pages decode on the fast path to what the
//! general path makes of them and to the values they hold; damaged pages are an error or rows of
//! the table's schema, never a panic.

use std::collections::HashSet;
use std::fmt::Write as _;

use arrow::array::{
    ArrayBuilder, BooleanBuilder, Decimal128Builder, Int32Builder, ListBuilder, StringBuilder,
    StructBuilder, TimestampMicrosecondBuilder,
};
use arrow::compute::concat_batches;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;

use super::tests::fast_agrees_with_general;
use super::*;
use crate::scalar::tests::{decimal_form, decimal_text, end_micros, money_micros, timestamp_text};

/// `s` as a JSON string: with `escape` 0 as serde_json writes it (only what must be escaped);
/// otherwise also every character whose position and code add up to a multiple of `escape`, as
/// `\uXXXX` (a surrogate pair past the BMP) or `\/`.
fn json_string(s: &str, escape: u32) -> String {
    if escape == 0 {
        return serde_json::to_string(s).expect("a string serialises");
    }
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        let forced = (i as u32 + c as u32).is_multiple_of(escape);
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if forced => out.push_str("\\/"),
            '\n' if !forced => out.push_str("\\n"),
            '\t' if !forced => out.push_str("\\t"),
            c if c < ' ' || forced => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    if i % 2 == 0 {
                        write!(out, "\\u{unit:04x}").unwrap();
                    } else {
                        write!(out, "\\u{unit:04X}").unwrap();
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text with what JSON strings make hard: quotes, backslashes, slashes, control characters,
/// non-ASCII letters, characters past the BMP, and any other character; or, when `plain`, text
/// that needs no escape (as Graph's usually is).
fn text(plain: bool) -> BoxedStrategy<String> {
    if plain {
        let c = prop_oneof![
            6 => proptest::char::range('a', 'z'),
            2 => select(vec!['/', ' ', ',', ':', '{', '}', '[', ']', 'é', 'Ü', '東', '\u{1F4DE}', '\u{2028}', '\u{feff}', '\u{7f}']),
            1 => any::<char>().prop_filter("needs no escape", |c| !matches!(c, '"' | '\\' | '\0'..='\u{1f}')),
        ];
        return vec(c, 0..10)
            .prop_map(|chars| chars.into_iter().collect())
            .boxed();
    }
    let c = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        2 => select(vec!['"', '\\', '/', ' ', ',', ':', '{', '}', '[', ']', 'é', 'Ü', '東', '\u{1F4DE}', '\u{2028}', '\u{feff}']),
        1 => proptest::char::range('\0', '\u{1f}'),
        1 => any::<char>(),
    ];
    vec(c, 0..10)
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// How a string is escaped ([`json_string`]): only as it must be when `plain`, else now and then
/// more.
fn escape(plain: bool) -> BoxedStrategy<u32> {
    if plain {
        Just(0).boxed()
    } else {
        prop_oneof![3 => Just(0u32), 1 => 1u32..5].boxed()
    }
}

/// What a property should decode to.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Str(String),
    /// Microseconds, or `None` for Graph's "no date".
    Ts(Option<i64>),
    I32(i32),
    Bool(bool),
    /// Scaled by 10^6, or `None` for a quoted empty string.
    Money(Option<i128>),
    Ids(Vec<Option<String>>),
}

/// A property value: its JSON text and what it decodes to. `regular` is false for an
/// `administrativeUnitInfos` item the fast path leaves to the general path (`{}`, other keys).
#[derive(Debug, Clone)]
struct Value {
    json: String,
    cell: Cell,
    regular: bool,
}

fn value(json: String, cell: Cell) -> Value {
    Value {
        json,
        cell,
        regular: true,
    }
}

/// A value of a property of `kind`, null now and then.
fn value_of(kind: Kind, plain: bool) -> BoxedStrategy<Value> {
    let null = Just(value("null".into(), Cell::Null));
    let some: BoxedStrategy<Value> = match kind {
        Kind::Str => (text(plain), escape(plain))
            .prop_map(|(s, e)| value(json_string(&s, e), Cell::Str(s)))
            .boxed(),
        Kind::Int32 => any::<i32>()
            .prop_map(|n| value(n.to_string(), Cell::I32(n)))
            .boxed(),
        Kind::Bool => any::<bool>()
            .prop_map(|b| value(b.to_string(), Cell::Bool(b)))
            .boxed(),
        Kind::Timestamp => prop_oneof![
            8 => (
                0..end_micros(),
                0usize..=7,
                0u8..10,
                proptest::option::of(-(23 * 60 + 59)..=(23 * 60 + 59)),
                proptest::bool::weighted(0.1),
            )
                .prop_map(|(micros, digits, seventh, offset, lower)| {
                    let (text, kept) = timestamp_text(micros, digits, seventh, offset, lower);
                    value(format!("\"{text}\""), Cell::Ts(Some(kept)))
                }),
            1 => select(vec!["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.0000000Z", "0001-01-01T00:00:00+00:00"])
                .prop_map(|t| value(format!("\"{t}\""), Cell::Ts(None))),
        ]
        .boxed(),
        Kind::Money => prop_oneof![
            8 => (money_micros(), decimal_form(), any::<bool>()).prop_map(
                |(v, (exponent, zeros, force, style), quoted)| {
                    let text = decimal_text(v, 6, exponent, zeros, force, style);
                    let json = if quoted { format!("\"{text}\"") } else { text };
                    value(json, Cell::Money(Some(v)))
                }
            ),
            1 => Just(value("\"\"".into(), Cell::Money(None))),
        ]
        .boxed(),
        Kind::IdList => vec(
            prop_oneof![
                1 => Just(("null".to_owned(), None, true)),
                1 => Just(("{ \"id\" : null }".to_owned(), None, true)),
                4 => (text(plain), escape(plain)).prop_map(|(s, e)| (format!("{{\"id\":{}}}", json_string(&s, e)), Some(s), true)),
                // Shapes the general path reads and the fast path leaves to it.
                1 => Just(("{}".to_owned(), None, false)),
                1 => (text(plain), escape(plain)).prop_map(|(s, e)| (format!("{{\"name\":\"x\",\"id\":{}}}", json_string(&s, e)), Some(s), false)),
            ],
            0..4,
        )
        .prop_map(|items| Value {
            json: format!(
                "[{}]",
                items.iter().map(|(j, _, _)| j.as_str()).collect::<Vec<_>>().join(",")
            ),
            regular: items.iter().all(|(_, _, r)| *r),
            cell: Cell::Ids(items.into_iter().map(|(_, id, _)| id).collect()),
        })
        .boxed(),
    };
    prop_oneof![1 => null, 6 => some].boxed()
}

/// Any JSON value, as text: what an unknown property may hold.
fn json_value(plain: bool) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        (any::<i32>(), 0u32..1000, -30i32..30).prop_map(|(m, f, e)| format!("{m}.{f}e{e}")),
        (text(plain), escape(plain)).prop_map(|(s, e)| json_string(&s, e)),
    ];
    leaf.prop_recursive(3, 16, 4, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            vec((text(plain), escape(plain), inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .iter()
                    .map(|(k, e, v)| format!("{} : {v}", json_string(k, *e)))
                    .collect();
                format!("{{{}}}", members.join(", "))
            }),
        ]
    })
}

/// One property of a row: its key (the column's index, or `None` for a property the schema does
/// not know), how the key is escaped, and its value.
#[derive(Debug, Clone)]
struct Property {
    column: Option<usize>,
    key: String,
    key_escape: u32,
    value: Value,
}

fn whitespace() -> impl Strategy<Value = &'static str> {
    select(vec!["", "", " ", "\n  ", "\t", "\r\n"])
}

/// A row of `table`: an arbitrary subset of its properties and some unknown ones, in an
/// arbitrary order.
fn row(table: Table, plain: bool) -> impl Strategy<Value = Vec<Property>> {
    let known: Vec<_> = table
        .properties()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            proptest::option::weighted(
                0.5,
                (
                    if plain {
                        Just(0u32).boxed()
                    } else {
                        prop_oneof![4 => Just(0u32), 1 => 1u32..3].boxed()
                    },
                    value_of(p.kind, plain),
                ),
            )
            .prop_map(move |v| {
                v.map(|(key_escape, value)| Property {
                    column: Some(i),
                    key: table.properties()[i].graph_name.to_owned(),
                    key_escape,
                    value,
                })
            })
        })
        .collect();
    let unknown = vec((text(plain), escape(plain), json_value(plain)), 0..3);
    (known, unknown).prop_flat_map(move |(known, unknown)| {
        let mut keys: HashSet<String> = table
            .properties()
            .iter()
            .map(|p| p.graph_name.to_owned())
            .collect();
        let mut properties: Vec<Property> = known.into_iter().flatten().collect();
        for (key, key_escape, json) in unknown {
            if keys.insert(key.clone()) {
                properties.push(Property {
                    column: None,
                    key,
                    key_escape,
                    value: value(json, Cell::Null),
                });
            }
        }
        Just(properties).prop_shuffle()
    })
}

/// A generated page and what it holds.
#[derive(Debug, Clone)]
struct Page {
    text: String,
    table: Table,
    /// Decode with `--table` (the decoder's hint).
    hint: bool,
    batch_size: usize,
    rows: Vec<Vec<Property>>,
    next_link: Option<String>,
    /// Whether the fast path must take it: no escapes, `value` after the context or a hint,
    /// administrative units in Graph's shape.
    fast: bool,
}

impl Page {
    fn decoder(&self) -> PageDecoder {
        PageDecoder::new()
            .with_table(self.hint.then_some(self.table))
            .with_batch_size(self.batch_size)
    }
}

fn context(table: Table, beta: bool) -> String {
    format!(
        "https://graph.microsoft.com/{}/$metadata#Collection(microsoft.graph.callRecords.{})",
        if beta { "beta" } else { "v1.0" },
        table.row_type()
    )
}

/// An arbitrary valid page of either table.
fn page() -> impl Strategy<Value = Page> {
    (select(Table::LOGS.to_vec()), any::<bool>(), any::<bool>()).prop_flat_map(
        |(table, same_order, plain)| {
            (
                Just(table),
                vec(row(table, plain), 0..6),
                // without a hint the page needs its context
                prop_oneof![Just(None), Just(Some(false)), Just(Some(true))],
                any::<bool>(),
                proptest::option::of(proptest::option::of((text(plain), escape(plain)))),
                proptest::option::of(json_value(plain)),
                Just(vec![0usize, 1, 2, 3, 4]).prop_shuffle(),
                select(vec![1usize, 2, 3, 7, DEFAULT_BATCH_SIZE]),
                whitespace(),
                Just(same_order),
            )
                .prop_map(
                    |(
                        table,
                        mut rows,
                        context_beta,
                        hint,
                        next_link,
                        extra,
                        order,
                        batch_size,
                        ws,
                        same_order,
                    )| {
                        let hint = hint || context_beta.is_none();
                        if same_order {
                            // As Graph writes pages: every row in schema order, unknown ones last.
                            for row in &mut rows {
                                row.sort_by_key(|p| p.column.unwrap_or(usize::MAX));
                            }
                        }
                        let rows_text: Vec<String> = rows
                            .iter()
                            .map(|row| {
                                let members: Vec<String> = row
                                    .iter()
                                    .map(|p| {
                                        format!(
                                            "{}{ws}:{ws}{}",
                                            json_string(&p.key, p.key_escape),
                                            p.value.json
                                        )
                                    })
                                    .collect();
                                format!("{{{ws}{}{ws}}}", members.join(&format!("{ws},{ws}")))
                            })
                            .collect();
                        let mut members: Vec<(usize, String)> = Vec::new();
                        if let Some(beta) = context_beta {
                            members.push((
                                0,
                                format!(
                                    "\"@odata.context\":{}",
                                    json_string(&context(table, beta), 0)
                                ),
                            ));
                        }
                        if let Some(link) = &next_link {
                            let link = link
                                .as_ref()
                                .map_or("null".to_owned(), |(s, e)| json_string(s, *e));
                            members.push((1, format!("\"@odata.nextLink\":{ws}{link}")));
                        }
                        members.push((2, format!("\"@odata.count\":{}", rows.len())));
                        members.push((
                            3,
                            format!("\"value\":{ws}[{}]", rows_text.join(&format!(",{ws}"))),
                        ));
                        if let Some(extra) = extra {
                            members.push((4, format!("\"@odata.other\":{extra}")));
                        }
                        members.sort_by_key(|(k, _)| order.iter().position(|o| o == k));
                        let value_at = members.iter().position(|(k, _)| *k == 3);
                        let context_at = members.iter().position(|(k, _)| *k == 0);
                        let text = format!(
                            "{ws}{{{}}}{ws}",
                            members
                                .into_iter()
                                .map(|(_, m)| m)
                                .collect::<Vec<_>>()
                                .join(&format!(",{ws}"))
                        );
                        let fast = !text.contains('\\')
                            && (hint || context_at < value_at)
                            && rows.iter().flatten().all(|p| p.value.regular);
                        Page {
                            text,
                            table,
                            hint,
                            batch_size,
                            rows,
                            next_link: next_link.flatten().map(|(s, _)| s),
                            fast,
                        }
                    },
                )
        },
    )
}

/// The batch `page` holds, built from its model with arrow's builders.
fn expected_batch(page: &Page) -> RecordBatch {
    let properties = page.table.properties();
    let mut builders: Vec<Box<dyn ArrayBuilder>> = properties
        .iter()
        .map(|p| -> Box<dyn ArrayBuilder> {
            match p.kind {
                Kind::Str => Box::new(StringBuilder::new()),
                Kind::Timestamp => {
                    Box::new(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
                }
                Kind::Int32 => Box::new(Int32Builder::new()),
                Kind::Bool => Box::new(BooleanBuilder::new()),
                Kind::Money => Box::new(
                    Decimal128Builder::new()
                        .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
                        .unwrap(),
                ),
                Kind::IdList => Box::new(
                    ListBuilder::new(StructBuilder::from_fields(
                        crate::table::id_struct_fields(),
                        0,
                    ))
                    .with_field(crate::table::id_list_item()),
                ),
            }
        })
        .collect();
    let mut extra = StringBuilder::new();
    let mut row_keys = StringBuilder::new();
    for row in &page.rows {
        let mut cells = vec![Cell::Null; properties.len()];
        let mut unknown = Vec::new();
        for p in row {
            match p.column {
                Some(i) => cells[i] = p.value.cell.clone(),
                None => unknown.push(format!(
                    "{}:{}",
                    serde_json::to_string(&p.key).unwrap(),
                    p.value.json
                )),
            }
        }
        extra.append_option((!unknown.is_empty()).then(|| format!("{{{}}}", unknown.join(","))));
        row_keys.append_value(expected_row_key(page.table, &cells));
        for ((cell, builder), property) in cells.into_iter().zip(&mut builders).zip(properties) {
            let any = builder.as_any_mut();
            match property.kind {
                Kind::Str => {
                    any.downcast_mut::<StringBuilder>()
                        .unwrap()
                        .append_option(match cell {
                            Cell::Str(s) => Some(s),
                            _ => None,
                        })
                }
                Kind::Timestamp => any
                    .downcast_mut::<TimestampMicrosecondBuilder>()
                    .unwrap()
                    .append_option(match cell {
                        Cell::Ts(t) => t,
                        _ => None,
                    }),
                Kind::Int32 => {
                    any.downcast_mut::<Int32Builder>()
                        .unwrap()
                        .append_option(match cell {
                            Cell::I32(n) => Some(n),
                            _ => None,
                        })
                }
                Kind::Bool => {
                    any.downcast_mut::<BooleanBuilder>()
                        .unwrap()
                        .append_option(match cell {
                            Cell::Bool(b) => Some(b),
                            _ => None,
                        })
                }
                Kind::Money => any
                    .downcast_mut::<Decimal128Builder>()
                    .unwrap()
                    .append_option(match cell {
                        Cell::Money(m) => m,
                        _ => None,
                    }),
                Kind::IdList => {
                    let list = any.downcast_mut::<ListBuilder<StructBuilder>>().unwrap();
                    match cell {
                        Cell::Ids(ids) => {
                            for id in ids {
                                let items = list.values();
                                items
                                    .field_builder::<StringBuilder>(0)
                                    .unwrap()
                                    .append_option(id);
                                items.append(true);
                            }
                            list.append(true);
                        }
                        _ => list.append(false),
                    }
                }
            }
        }
    }
    let mut columns: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
    columns.push(Arc::new(extra.finish()));
    let rows = page.rows.len();
    for column in page.table.derived_columns() {
        columns.push(if column == crate::ROW_KEY {
            Arc::new(row_keys.finish())
        } else {
            // Decoded without a window: the bounds are unknown.
            Arc::new(
                arrow::array::TimestampMicrosecondArray::from(vec![None; rows])
                    .with_timezone("UTC"),
            )
        });
    }
    RecordBatch::try_new(page.table.schema(), columns).unwrap()
}

/// The row key a row of `table` with these cells must get: its key parts' texts joined by `|`.
fn expected_row_key(table: Table, cells: &[Cell]) -> String {
    let parts: Vec<String> = table
        .key_parts()
        .iter()
        .map(|part| {
            let i = table
                .properties()
                .iter()
                .position(|p| crate::snake_case(p.graph_name) == *part)
                .unwrap();
            match &cells[i] {
                Cell::Str(s) => s.clone(),
                Cell::Ts(Some(micros)) => chrono::DateTime::from_timestamp_micros(*micros)
                    .unwrap()
                    .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                    .to_string(),
                _ => String::new(),
            }
        })
        .collect();
    parts.join("|")
}

/// Rows of the table's schema, in batches of at most `batch_size`.
fn check_shape(page: &DecodedPage, batch_size: usize) -> Result<(), TestCaseError> {
    let mut rows = 0;
    for batch in &page.batches {
        prop_assert_eq!(batch.schema(), page.table.schema());
        prop_assert!(batch.num_rows() > 0 && batch.num_rows() <= batch_size);
        rows += batch.num_rows();
    }
    prop_assert_eq!(rows, page.rows);
    Ok(())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Any valid page: the fast path takes it when it has Graph's shape, and then decodes it to
    /// exactly what the general path does; and `decode` gives the rows the page holds.
    #[test]
    fn prop_valid_pages_decode_alike_on_both_paths(page in page()) {
        let decoder = page.decoder();
        let bytes = page.text.as_bytes();
        let took = fast_agrees_with_general(&decoder, bytes);
        prop_assert!(took || !page.fast, "the fast path left a page of Graph's shape");
        let decoded = decoder.decode(bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(decoded.table, page.table);
        prop_assert_eq!(decoded.rows, page.rows.len());
        prop_assert_eq!(&decoded.next_link, &page.next_link);
        let mut unknown = BTreeMap::new();
        for p in page.rows.iter().flatten().filter(|p| p.column.is_none()) {
            *unknown.entry(p.key.clone()).or_insert(0) += 1;
        }
        prop_assert_eq!(&decoded.unknown_properties, &unknown);
        check_shape(&decoded, page.batch_size)?;
        let all = concat_batches(&page.table.schema(), &decoded.batches).unwrap();
        let expected = expected_batch(&page);
        for (i, field) in expected.schema().fields().iter().enumerate() {
            prop_assert_eq!(all.column(i).as_ref(), expected.column(i).as_ref(), "column {}", field.name());
        }
    }
}

/// A change to a page's bytes: anywhere, or at JSON token boundaries (where a change keeps
/// more of the page readable and so reaches further into the decoder).
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
    /// Copies up to 16 bytes from one place to another.
    Copy(Index, Index, usize),
    DeleteToken(Index),
    DuplicateToken(Index),
    SwapTokens(Index),
    /// Inserts a token before a token.
    InsertToken(Index, &'static str),
    /// Inserts a token next to an object's or array's bracket (`[1,]`, `{,"a":1}`), where
    /// parsers go wrong most.
    InsertAtBracket(Index, &'static str),
    /// Cuts the page inside a token (`nu` of `null`).
    TruncateInToken(Index, Index),
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => select(b"\"\\{}[],:0-+.eEnulltruefalse 9x\x01\x7f\xff\xc3\xa9\x80".to_vec()),
        1 => any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = select(vec![
        ",",
        ":",
        "{",
        "}",
        "[",
        "]",
        "null",
        "true",
        "\"x\"",
        "\"\\u00e9\"",
        "0",
        "-1.5e3",
        "-",
        "\"id\"",
    ]);
    prop_oneof![
        1 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        1 => (any::<Index>(), byte()).prop_map(|(at, b)| Mutation::Set(at, b)),
        1 => (any::<Index>(), byte()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        1 => any::<Index>().prop_map(Mutation::Delete),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<Index>(), 1usize..16).prop_map(|(from, to, n)| Mutation::Copy(from, to, n)),
        1 => any::<Index>().prop_map(Mutation::DeleteToken),
        1 => any::<Index>().prop_map(Mutation::DuplicateToken),
        1 => any::<Index>().prop_map(Mutation::SwapTokens),
        1 => (any::<Index>(), token).prop_map(|(at, t)| Mutation::InsertToken(at, t)),
        3 => (any::<Index>(), select(vec![",", ":", "null", "0", "\"x\"", "{}", "[]"]))
            .prop_map(|(at, t)| Mutation::InsertAtBracket(at, t)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(at, cut)| Mutation::TruncateInToken(at, cut)),
    ]
}

/// The byte ranges of the JSON tokens of `bytes`: strings, punctuation, and runs of anything
/// else (numbers, literals, garbage), whitespace left out.
fn tokens(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
            }
            b'{' | b'}' | b'[' | b']' | b',' | b':' => i += 1,
            _ => {
                while i < bytes.len() && !b" \t\n\r\"{}[],:".contains(&bytes[i]) {
                    i += 1;
                }
            }
        }
        tokens.push(start..i);
    }
    tokens
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let n = bytes.len();
    let tokens = tokens(bytes);
    if n == 0 || tokens.is_empty() {
        return;
    }
    let token = |at: &Index| tokens[at.index(tokens.len())].clone();
    match mutation {
        Mutation::Flip(at, bit) => bytes[at.index(n)] ^= 1 << bit,
        Mutation::Set(at, b) => bytes[at.index(n)] = *b,
        Mutation::Insert(at, b) => bytes.insert(at.index(n + 1), *b),
        Mutation::Delete(at) => {
            bytes.remove(at.index(n));
        }
        Mutation::Truncate(at) => bytes.truncate(at.index(n)),
        Mutation::Copy(from, to, len) => {
            let from = from.index(n);
            let copied = bytes[from..(from + len).min(n)].to_vec();
            let to = to.index(n + 1);
            bytes.splice(to..to, copied);
        }
        Mutation::DeleteToken(at) => {
            bytes.drain(token(at));
        }
        Mutation::DuplicateToken(at) => {
            let t = token(at);
            let copied = bytes[t.clone()].to_vec();
            bytes.splice(t.end..t.end, copied);
        }
        Mutation::SwapTokens(at) => {
            let i = at.index(tokens.len());
            if let Some(next) = tokens.get(i + 1) {
                let (a, b) = (tokens[i].clone(), next.clone());
                let swapped =
                    [&bytes[b.clone()], &bytes[a.end..b.start], &bytes[a.clone()]].concat();
                bytes.splice(a.start..b.end, swapped);
            }
        }
        Mutation::InsertToken(at, t) => {
            let at = token(at).start;
            bytes.splice(at..at, t.bytes());
        }
        Mutation::InsertAtBracket(at, t) => {
            let brackets: Vec<usize> = tokens
                .iter()
                .filter(|r| b"{}[]".contains(&bytes[r.start]))
                .map(|r| {
                    if b"{[".contains(&bytes[r.start]) {
                        r.end
                    } else {
                        r.start
                    }
                })
                .collect();
            if !brackets.is_empty() {
                let at = brackets[at.index(brackets.len())];
                bytes.splice(at..at, t.bytes());
            }
        }
        Mutation::TruncateInToken(at, cut) => {
            let t = token(at);
            bytes.truncate(t.start + cut.index(t.len()));
        }
    }
}

proptest! {
    #![proptest_config(config(2000))]

    /// A damaged page (or two pages one after the other, damaged): `decode` and `decode_pages`
    /// never panic, give rows of the table's schema or an error, and agree with each other; the
    /// fast path never takes what the general path refuses, and decodes what it takes alike.
    #[test]
    fn prop_damaged_pages_are_an_error_or_rows_never_a_panic(
        page in page(),
        second in proptest::option::weighted(0.3, page()),
        mutations in vec(mutation(), 1..4),
    ) {
        let decoder = page.decoder();
        let mut bytes = page.text.clone().into_bytes();
        if let Some(second) = &second {
            bytes.push(b'\n');
            bytes.extend_from_slice(second.text.as_bytes());
        }
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        fast_agrees_with_general(&decoder, &bytes);
        let one = decoder.decode(&bytes);
        if let Ok(decoded) = &one {
            if page.hint {
                prop_assert_eq!(decoded.table, page.table);
            }
            check_shape(decoded, page.batch_size)?;
        }
        match decoder.decode_pages(&bytes, "mutated") {
            Ok(pages) => {
                prop_assert!(!pages.is_empty());
                for p in &pages {
                    check_shape(p, page.batch_size)?;
                }
                if let Ok(one) = &one {
                    // One page, read alike either way.
                    prop_assert_eq!(pages.len(), 1);
                    prop_assert_eq!(&pages[0].batches, &one.batches);
                    prop_assert_eq!(&pages[0].next_link, &one.next_link);
                    prop_assert_eq!(&pages[0].unknown_properties, &one.unknown_properties);
                }
            }
            Err(e) => prop_assert!(matches!(e, Error::Page { .. }), "{e}"),
        }
    }
}
