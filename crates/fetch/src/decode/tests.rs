use arrow::array::{
    Array, AsArray, BooleanArray, Decimal128Array, Int32Array, ListArray, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{Decimal128Type, Int32Type, TimestampMicrosecondType};
use serde_json::json;

use super::*;
use crate::table::ROW_KEY;

const PSTN_CONTEXT: &str = "https://graph.microsoft.com/beta/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)";
const DR_CONTEXT: &str = "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.directRoutingLogRow)";

fn sample(name: &str) -> Vec<u8> {
    // The beta-only functions' pages are apart: a dial-out report's page needs its day to land.
    let folder = if name.contains("beta-page") && !name.starts_with("pstn") {
        "beta-samples"
    } else {
        "samples"
    };
    std::fs::read(format!(
        "{}/../../data/{folder}/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn one(batch: &RecordBatch, col: &str) -> ArrayRef {
    Arc::clone(
        batch
            .column_by_name(col)
            .unwrap_or_else(|| panic!("no column {col}")),
    )
}

fn micros(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_micros()
}

#[test]
fn pstn_sample_decodes_every_property() {
    let page = PageDecoder::new()
        .decode(&sample("pstn-beta-page.json"))
        .unwrap();
    assert_eq!(page.table, Table::PstnCalls);
    assert_eq!(page.rows, 1);
    assert!(page.unknown_properties.is_empty());
    assert_eq!(
        page.next_link.as_deref(),
        Some(
            "https://graph.microsoft.com/beta/communications/callRecords/getPstnCalls(from=2019-11-01,to=2019-12-01)?$skip=1000"
        )
    );
    let b = &page.batches[0];
    let s = |c| one(b, c).as_string::<i32>().value(0).to_owned();
    assert_eq!(s("id"), "9c4984c7-6c3c-427d-a30c-bd0b2eacee90");
    assert_eq!(s("user_principal_name"), "richard.malk@contoso.com");
    assert_eq!(s("client_public_ip_v6_address"), "1234:fd2:5621:1:89::4500");
    assert_eq!(s("call_duration_source"), "microsoft");
    let start = one(b, "start_date_time");
    let start = start.as_primitive::<TimestampMicrosecondType>();
    // 7 fractional digits: truncated to the microsecond.
    assert_eq!(start.value(0), micros("2019-11-01T00:00:08.258993Z"));
    assert_eq!(one(b, "duration").as_primitive::<Int32Type>().value(0), 219);
    let charge = one(b, "charge");
    let charge = charge.as_primitive::<Decimal128Type>();
    assert_eq!(charge.value(0), 0);
    assert_eq!(charge.data_type(), &DataType::Decimal128(18, 6));
    assert!(one(b, "destination_context").is_null(0));
    let units = one(b, "administrative_unit_infos");
    let units = units.as_any().downcast_ref::<ListArray>().unwrap();
    let ids = units.value(0);
    let ids = ids.as_struct().column(0).as_string::<i32>().clone();
    assert_eq!(
        ids.iter().collect::<Vec<_>>(),
        vec![
            Some("639b616c-f164-4a6f-a933-24936b8eb210"),
            Some("cc6ea167-4e92-4c2d-9391-85791e978006")
        ]
    );
    assert!(one(b, EXTRA_PROPERTIES).is_null(0));
}

use arrow::datatypes::DataType;

#[test]
fn direct_routing_sample_maps_min_date_to_null() {
    let page = PageDecoder::new()
        .decode(&sample("direct-routing-v1-page.json"))
        .unwrap();
    assert_eq!(page.table, Table::DirectRoutingCalls);
    let b = &page.batches[0];
    assert!(
        one(b, "failure_date_time").is_null(0),
        "0001-01-01T00:00:00Z must be null"
    );
    let invite = one(b, "invite_date_time");
    assert_eq!(
        invite.as_primitive::<TimestampMicrosecondType>().value(0),
        micros("2019-11-01T00:00:21.949Z")
    );
    let ok = one(b, "successful_call");
    assert!(ok.as_any().downcast_ref::<BooleanArray>().unwrap().value(0));
    assert_eq!(
        one(b, "call_end_sub_reason")
            .as_primitive::<Int32Type>()
            .value(0),
        540000
    );
    // v1.0 page: beta columns exist and are null.
    assert!(one(b, "user_country_code").is_null(0));
    assert!(one(b, "administrative_unit_infos").is_null(0));
    assert_eq!(
        page.next_link.as_deref(),
        Some(
            "https://graph.microsoft.com/v1.0/communications/callRecords/getDirectRoutingCalls(fromDateTime=2019-11-01,toDateTime=2019-12-01)?$skip=1000"
        )
    );
}

/// A deterministic page of `n` PSTN rows with varied shapes: key orders, nulls, missing keys,
/// escaped strings, quoted money, admin units.
fn generated_pstn_page(n: usize, value_first: bool) -> (Vec<u8>, Vec<serde_json::Value>) {
    let mut rows = Vec::new();
    let currencies = ["USD", "EUR", "GBP"];
    for i in 0..n {
        let mut row = json!({
            "id": format!("id-{i:05}"),
            "callId": format!("call-{}", i / 3),
            "userId": if i % 7 == 0 { json!(null) } else { json!(format!("user-{}", i % 13)) },
            "userDisplayName": format!("Zoë \"{i}\" Ünal\u{1F4DE}"),
            "startDateTime": format!("2026-11-{:02}T{:02}:{:02}:07.{:07}Z", 1 + i % 3, i % 24, i % 60, i * 7919 % 10_000_000),
            "endDateTime": "0001-01-01T00:00:00Z",
            "duration": i as i64 * 3,
            "charge": if i % 5 == 0 { json!(format!("{}.{:04}", i, i % 10_000)) } else { serde_json::from_str::<serde_json::Value>(&format!("{}.{:02}", i % 100, i % 100)).unwrap() },
            "connectionCharge": if i % 4 == 0 { json!(null) } else { json!(0) },
            "currency": currencies[i % 3],
            "administrativeUnitInfos": if i % 2 == 0 { json!([{"id": format!("au-{i}")}, {"id": null}]) } else { json!([]) },
        });
        if i % 11 == 0 {
            row.as_object_mut()
                .unwrap()
                .insert("brandNewProperty".into(), json!({"nested": [i]}));
        }
        if i % 6 == 0 {
            row.as_object_mut().unwrap().remove("currency");
        }
        rows.push(row);
    }
    let value = serde_json::Value::Array(rows.clone());
    let text = if value_first {
        format!(
            r#"{{"value":{},"@odata.count":{n},"@odata.context":"{PSTN_CONTEXT}"}}"#,
            serde_json::to_string_pretty(&value).unwrap()
        )
    } else {
        format!(
            r#"{{"@odata.context":"{PSTN_CONTEXT}","@odata.count":{n},"@odata.nextLink":"https://graph.microsoft.com/next?$skip=1","value":{}}}"#,
            serde_json::to_string(&value).unwrap()
        )
    };
    (text.into_bytes(), rows)
}

#[test]
fn generated_pages_decode_the_same_at_every_batch_size_and_key_order() {
    let n = 257;
    let (page, rows) = generated_pstn_page(n, false);
    let (page_value_first, _) = generated_pstn_page(n, true);
    let reference = PageDecoder::new().decode(&page).unwrap();
    let reference = concat_batches(&Table::PstnCalls.schema(), &reference.batches).unwrap();
    assert_eq!(reference.num_rows(), n);
    for batch_size in [1, 2, 7, 64, 256, 257, 1000] {
        for bytes in [&page, &page_value_first] {
            let decoded = PageDecoder::new()
                .with_batch_size(batch_size)
                .decode(bytes)
                .unwrap();
            assert_eq!(decoded.rows, n);
            assert_eq!(decoded.batches.len(), n.div_ceil(batch_size));
            assert!(decoded.batches.iter().all(|b| b.num_rows() <= batch_size));
            let all = concat_batches(&Table::PstnCalls.schema(), &decoded.batches).unwrap();
            for (i, field) in reference.schema().fields().iter().enumerate() {
                if field.name() == EXTRA_PROPERTIES {
                    // Unknown values are kept verbatim, so the pretty page keeps its whitespace:
                    // compare them as JSON.
                    let as_json = |b: &RecordBatch| -> Vec<Option<serde_json::Value>> {
                        b.column(i)
                            .as_string::<i32>()
                            .iter()
                            .map(|v| v.map(|v| serde_json::from_str(v).unwrap()))
                            .collect()
                    };
                    assert_eq!(
                        as_json(&all),
                        as_json(&reference),
                        "batch size {batch_size}"
                    );
                    continue;
                }
                assert!(
                    all.column(i).to_data() == reference.column(i).to_data(),
                    "batch size {batch_size}, column {}",
                    field.name()
                );
            }
            assert_eq!(
                decoded.unknown_properties.get("brandNewProperty"),
                Some(&(n as u64).div_ceil(11))
            );
        }
    }
    // Spot-check values against the JSON we generated.
    let ids = one(&reference, "id");
    let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
    let charge = one(&reference, "charge");
    let charge = charge.as_any().downcast_ref::<Decimal128Array>().unwrap();
    let names = one(&reference, "user_display_name");
    let names = names.as_any().downcast_ref::<StringArray>().unwrap();
    let duration = one(&reference, "duration");
    let duration = duration.as_any().downcast_ref::<Int32Array>().unwrap();
    let currency = one(&reference, "currency");
    let start = one(&reference, "start_date_time");
    let start = start
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap();
    let extra = one(&reference, EXTRA_PROPERTIES);
    let extra = extra.as_any().downcast_ref::<StringArray>().unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(ids.value(i), row["id"].as_str().unwrap());
        assert_eq!(names.value(i), row["userDisplayName"].as_str().unwrap());
        assert_eq!(duration.value(i) as i64, row["duration"].as_i64().unwrap());
        let charge_text = match &row["charge"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(
            charge.value(i),
            parse_decimal(&charge_text, 18, 6).unwrap(),
            "row {i}"
        );
        assert_eq!(currency.is_null(i), row.get("currency").is_none());
        let text = row["startDateTime"].as_str().unwrap();
        // 7 fractional digits: the 100 ns digit is truncated.
        let expected = micros(&format!("{}Z", &text[..text.len() - 2]));
        assert_eq!(start.value(i), expected, "row {i}");
        if i % 11 == 0 {
            let kept: serde_json::Value = serde_json::from_str(extra.value(i)).unwrap();
            assert_eq!(kept, json!({"brandNewProperty": {"nested": [i]}}));
        } else {
            assert!(extra.is_null(i));
        }
    }
}

/// The decoder learns a page's key order to find columns with one comparison; rows that change
/// the order, skip keys or add unknown ones must still put every value in its own column.
#[test]
fn rows_with_changing_key_order_keep_every_value_in_its_column() {
    let keys = [
        ("id", "\"id-{i}\""),
        ("callId", "\"call-{i}\""),
        ("userPrincipalName", "\"user{i}@contoso.com\""),
        ("duration", "{i}"),
        ("charge", "{i}.25"),
        ("currency", "\"C{i}\""),
        ("calleeNumber", "\"+4470000{i}\""),
        ("startDateTime", "\"2026-11-01T00:00:{i:02}Z\""),
    ];
    let mut rows = Vec::new();
    for i in 0..40usize {
        // Rotate and, on odd rows, reverse the key order; drop one key on every 5th row and add
        // an unknown one on every 7th.
        let mut order: Vec<usize> = (0..keys.len()).map(|k| (k + i) % keys.len()).collect();
        if i % 2 == 1 {
            order.reverse();
        }
        let mut fields: Vec<String> = order
            .into_iter()
            .filter(|&k| !(i % 5 == 0 && keys[k].0 == "currency"))
            .map(|k| {
                let value = keys[k]
                    .1
                    .replace("{i:02}", &format!("{i:02}"))
                    .replace("{i}", &i.to_string());
                format!("\"{}\":{value}", keys[k].0)
            })
            .collect();
        if i % 7 == 0 {
            fields.insert(i % fields.len(), format!("\"newThing\":{i}"));
        }
        rows.push(format!("{{{}}}", fields.join(",")));
    }
    let page = pstn_page(&rows.join(","));
    let decoded = PageDecoder::new().decode(page.as_bytes()).unwrap();
    let all = concat_batches(&Table::PstnCalls.schema(), &decoded.batches).unwrap();
    assert_eq!(all.num_rows(), 40);
    let text = |col: &str, i: usize| -> Option<String> {
        let c = one(&all, col);
        let c = c.as_string::<i32>();
        c.is_valid(i).then(|| c.value(i).to_owned())
    };
    let duration = one(&all, "duration");
    let charge = one(&all, "charge");
    let start = one(&all, "start_date_time");
    for i in 0..40usize {
        assert_eq!(text("id", i).as_deref(), Some(format!("id-{i}").as_str()));
        assert_eq!(text("call_id", i), Some(format!("call-{i}")));
        assert_eq!(
            text("user_principal_name", i),
            Some(format!("user{i}@contoso.com"))
        );
        assert_eq!(text("callee_number", i), Some(format!("+4470000{i}")));
        let currency = (i % 5 != 0).then(|| format!("C{i}"));
        assert_eq!(text("currency", i), currency, "row {i}");
        assert_eq!(duration.as_primitive::<Int32Type>().value(i), i as i32);
        assert_eq!(
            charge.as_primitive::<Decimal128Type>().value(i),
            i as i128 * 1_000_000 + 250_000
        );
        assert_eq!(
            start.as_primitive::<TimestampMicrosecondType>().value(i),
            micros(&format!("2026-11-01T00:00:{i:02}Z"))
        );
        let extra = text(EXTRA_PROPERTIES, i);
        assert_eq!(
            extra,
            (i % 7 == 0).then(|| format!("{{\"newThing\":{i}}}")),
            "row {i}"
        );
        // Properties no row has are null.
        assert!(text("caller_number", i).is_none());
    }
}

fn field_error(page: &str) -> Error {
    PageDecoder::new()
        .decode(page.as_bytes())
        .expect_err("must fail")
}

fn pstn_page(rows: &str) -> String {
    format!(r#"{{"@odata.context":"{PSTN_CONTEXT}","value":[{rows}]}}"#)
}

#[test]
fn bad_input_names_the_row_id_and_field() {
    let e = field_error(&pstn_page(
        r#"{"id":"a","duration":5},{"id":"b","duration":"five"}"#,
    ));
    match &e {
        Error::Field {
            row,
            id,
            field,
            message,
        } => {
            assert_eq!(
                (*row, id.as_deref(), field.as_str()),
                (1, Some("b"), "duration")
            );
            assert!(message.contains("five"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "row 1 (id b) field `duration`: invalid type: string \"five\", expected a 32-bit integer or null"
    );

    let e = field_error(&pstn_page(r#"{"id":"c","charge":0.1234567}"#));
    assert!(
        matches!(&e, Error::Field { row: 0, field, message, .. } if field == "charge" && message.contains("more than 6 decimal places")),
        "{e}"
    );
    let e = field_error(&pstn_page(r#"{"id":"c","charge":1234567890123.5}"#));
    assert!(e.to_string().contains("integer digits"), "{e}");
    let e = field_error(&pstn_page(r#"{"id":"d","startDateTime":"yesterday"}"#));
    assert!(e.to_string().contains("field `startDateTime`"), "{e}");
    let e = field_error(&pstn_page(r#"{"duration":3000000000}"#));
    assert_eq!(
        e.to_string(),
        "row 0 field `duration`: 3000000000 does not fit a 32-bit integer"
    );
    let e = field_error(&pstn_page(
        r#"{"id":"ok","startDateTime":"2026-11-01T08:00:00Z"},{"id":"far","startDateTime":"2300-01-01T00:00:00Z"}"#,
    ));
    assert!(
        matches!(&e, Error::Field { row: 1, id: Some(id), field, message }
            if id == "far" && field == "startDateTime" && message.contains("outside the years 1970-2200")),
        "{e}"
    );
    let e = field_error(&pstn_page(
        r#"{"id":"huge","charge":1e9223372036854775807}"#,
    ));
    assert!(
        matches!(&e, Error::Field { id: Some(id), field, message, .. }
            if id == "huge" && field == "charge" && message.contains("integer digits")),
        "{e}"
    );
    let e = field_error(&pstn_page(r#"{"id":"e","id":"f"}"#));
    assert!(e.to_string().contains("appears twice"), "{e}");
    let e = field_error(&pstn_page(r#"{"id":"g","duration":1.5}"#));
    assert!(e.to_string().contains("floating point"), "{e}");
    let e = field_error(&pstn_page(r#"{"id":"h","administrativeUnitInfos":"x"}"#));
    assert!(e.to_string().contains("administrativeUnitInfos"), "{e}");
    let e = field_error(&pstn_page(r#"{"id":"i","duration":{"seconds":5}}"#));
    assert!(
        matches!(&e, Error::Field { row: 0, field, message, .. }
            if field == "duration" && message.starts_with("invalid type: map")),
        "{e}"
    );
}

#[test]
fn malformed_pages_are_refused() {
    let e = field_error(r#"{"@odata.context":"x","value":[{"id":"a",}]}"#);
    assert!(matches!(e, Error::Json { line: 1, .. }), "{e}");
    let e = field_error(&format!(
        r#"{{"@odata.context":"{PSTN_CONTEXT}","value":[{{"id":"a"}}"#
    ));
    assert!(matches!(e, Error::Json { .. }), "truncated page: {e}");
    let e = field_error(&format!(r#"{{"@odata.context":"{PSTN_CONTEXT}"}}"#));
    assert!(matches!(e, Error::MissingValue), "{e}");
    let e = field_error(
        r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[]}"#,
    );
    assert!(matches!(e, Error::UnknownTable { context: Some(_) }), "{e}");
    let e = field_error(r#"{"value":[]}"#);
    assert!(e.to_string().contains("--table"), "{e}");
    let e = PageDecoder::new()
        .with_table(Some(Table::PstnCalls))
        .decode(format!(r#"{{"@odata.context":"{DR_CONTEXT}","value":[]}}"#).as_bytes())
        .unwrap_err();
    assert!(matches!(e, Error::TableMismatch { .. }), "{e}");
    let e = field_error(&pstn_page("[1]"));
    assert!(
        matches!(e, Error::Field { row: 0, .. } | Error::Json { .. }),
        "{e}"
    );
}

/// What a page, its `value` or a row should have been is said in the error (serde's "expected
/// …", from each visitor's `expecting`).
#[test]
fn errors_say_what_the_page_its_value_and_a_row_should_be() {
    // The parser's reason, which the CLI prints under "the page is not valid JSON".
    let reason = |page: &str| match field_error(page) {
        Error::Json { source, .. } => source.to_string(),
        other => panic!("{other:?}"),
    };
    let e = reason("[1, 2]");
    assert!(
        e.contains("expected a Graph page: an object with a `value` array"),
        "{e}"
    );
    let e = reason(&format!(
        r#"{{"@odata.context":"{PSTN_CONTEXT}","value":5}}"#
    ));
    assert!(
        e.contains("expected `value`: an array of call-log rows"),
        "{e}"
    );
    let e = reason(&pstn_page("5"));
    assert!(e.contains("expected a call-log row (a JSON object)"), "{e}");
}

/// Pages with an escaped string go to the general (serde) path: there too a bad value names its
/// row's id, and a page cut off inside a value is the page's fault (JSON), not the field's.
#[test]
fn the_general_path_names_the_row_id_and_blames_a_cut_off_page_not_its_field() {
    let e = field_error(&pstn_page(
        r#"{"id":"x","note":"a\nb"},{"id":"y","note":"c\nd","duration":"sixty"}"#,
    ));
    assert!(
        matches!(&e, Error::Field { row: 1, id: Some(id), field, .. } if id == "y" && field == "duration"),
        "{e}"
    );
    // Its values land as the fast path's do: the administrative units' ids, for one.
    let page = PageDecoder::new()
        .decode(
            pstn_page(r#"{"id":"u","note":"a\nb","administrativeUnitInfos":[{"id":"au-1"},{"id":"au-2"}]}"#)
                .as_bytes(),
        )
        .unwrap();
    let units = one(&page.batches[0], "administrative_unit_infos");
    let units = units.as_any().downcast_ref::<ListArray>().unwrap().value(0);
    let units = units.as_struct().column(0).as_string::<i32>().clone();
    assert_eq!(
        units.iter().collect::<Vec<_>>(),
        [Some("au-1"), Some("au-2")]
    );
    let cut = format!(
        r#"{{"@odata.context":"{PSTN_CONTEXT}","value":[{{"id":"a","note":"a\nb","callType":"gro"#
    );
    let e = field_error(&cut);
    assert!(matches!(e, Error::Json { .. }), "{e:?}");
}

#[test]
fn table_hint_decodes_pages_without_context() {
    let page =
        br#"{"value":[{"id":"a","successfulCall":false,"inviteDateTime":"2026-11-01T00:00:00Z"}]}"#;
    let decoded = PageDecoder::new()
        .with_table(Some(Table::DirectRoutingCalls))
        .decode(page)
        .unwrap();
    assert_eq!(decoded.table, Table::DirectRoutingCalls);
    assert_eq!(decoded.rows, 1);
    let empty = PageDecoder::new()
        .with_table(Some(Table::PstnCalls))
        .decode(br#"{"value":[]}"#)
        .unwrap();
    assert_eq!((empty.rows, empty.batches.len()), (0, 0));
}

/// Pages of a simulated tenant (Graph's shapes, both functions, both API versions) decode to
/// exactly the rows the simulator says it generated, with exact money and no unknown properties.
#[test]
fn simulated_tenant_pages_decode_to_exactly_the_generated_rows() {
    use pstn_lake_graph_sim::{ApiVersion as SimApi, Function, Tenant, TenantConfig};
    let first = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let last = first.succ_opt().unwrap();
    let tenant = Tenant::new(TenantConfig::new(11, first, 2, 1500));
    for (function, table) in [
        (Function::Pstn, Table::PstnCalls),
        (Function::DirectRouting, Table::DirectRoutingCalls),
    ] {
        for version in [SimApi::V1, SimApi::Beta] {
            let mut ids: Vec<String> = Vec::new();
            let mut charge: i128 = 0;
            let mut pages = 0;
            tenant.write_pages(function, version, first, last, 400, |page| {
                pages += 1;
                let decoded = PageDecoder::new()
                    .with_batch_size(333)
                    .decode(&page)
                    .unwrap();
                assert_eq!(decoded.table, table);
                assert!(
                    decoded.unknown_properties.is_empty(),
                    "{:?}",
                    decoded.unknown_properties
                );
                for b in &decoded.batches {
                    ids.extend(
                        one(b, "id")
                            .as_string::<i32>()
                            .iter()
                            .map(|s| s.unwrap().to_owned()),
                    );
                    if table == Table::PstnCalls {
                        let c = one(b, "charge");
                        charge += c
                            .as_primitive::<Decimal128Type>()
                            .iter()
                            .flatten()
                            .sum::<i128>();
                    }
                }
            });
            let expected = tenant.expected(function, first, last);
            let mut want: Vec<String> = expected.iter().map(|r| r.id.clone()).collect();
            ids.sort();
            want.sort();
            assert_eq!(ids, want, "{table} {version:?}");
            assert_eq!(pages, 8, "3000 rows in pages of 400");
            let want_charge: i128 = expected.iter().filter_map(|r| r.charge_micros).sum();
            assert_eq!(charge, want_charge, "{table} {version:?}");
        }
    }
}

/// What the fast path made of a page, if it took it, checked against the general path: the same
/// table, rows, batches, next link and unknown properties. Returns whether the fast path took it.
pub(super) fn fast_agrees_with_general(decoder: &PageDecoder, bytes: &[u8]) -> bool {
    let text = std::str::from_utf8(bytes).ok();
    let general = decoder.decode_general(bytes, text);
    let Some((fast, end)) = text.and_then(|t| fast::decode(decoder, t)) else {
        return false;
    };
    // Where the fast path says the page ends is where the page scanner says it does.
    assert_eq!(
        crate::split_pages(bytes).next().map(|r| r.end),
        Some(end),
        "{}",
        String::from_utf8_lossy(bytes)
    );
    if crate::pages::whitespace_len(&bytes[end..]) != bytes.len() - end {
        // More follows the page: `decode` leaves that to the general path.
        return false;
    }
    let general = match general {
        Ok(page) => page,
        Err(e) => panic!(
            "the fast path decoded a page the general path refuses ({e}):\n{}",
            String::from_utf8_lossy(bytes)
        ),
    };
    assert_eq!(fast.table, general.table);
    assert_eq!(fast.rows, general.rows);
    assert_eq!(fast.next_link, general.next_link);
    assert_eq!(fast.unknown_properties, general.unknown_properties);
    assert_eq!(fast.batches.len(), general.batches.len());
    for (f, g) in fast.batches.iter().zip(&general.batches) {
        for (i, field) in g.schema().fields().iter().enumerate() {
            assert!(
                f.column(i).to_data() == g.column(i).to_data(),
                "column {} differs:\n{}",
                field.name(),
                String::from_utf8_lossy(bytes)
            );
        }
    }
    true
}

/// A page of `n` PSTN rows in the shapes the fast path takes (no escapes), with every kind of
/// value it handles: nulls, missing keys, quoted and empty money, admin-unit lists with null ids,
/// unknown properties with nested values, whitespace between tokens.
fn plain_pstn_page(n: usize, pretty: bool) -> Vec<u8> {
    let mut rows = Vec::new();
    for i in 0..n {
        let mut row = json!({
            "id": format!("id-{i:05}"),
            "callId": format!("call-{}", i / 3),
            "userId": if i % 7 == 0 { json!(null) } else { json!(format!("user-{}", i % 13)) },
            "userDisplayName": format!("Zoë {i} Ünal\u{1F4DE}"),
            "startDateTime": format!("2026-11-{:02}T{:02}:{:02}:07.{:07}Z", 1 + i % 3, i % 24, i % 60, i * 7919 % 10_000_000),
            "endDateTime": if i % 9 == 0 { json!("0001-01-01T00:00:00Z") } else { json!("2026-11-04T00:00:00+01:00") },
            "duration": if i % 10 == 0 { json!(-(i as i64)) } else { json!(i as i64 * 3) },
            "charge": match i % 5 { 0 => json!(format!("{}.{:04}", i, i % 10_000)), 1 => json!(""), 2 => serde_json::from_str::<serde_json::Value>("1.5e2").unwrap(), _ => serde_json::from_str::<serde_json::Value>(&format!("{}.{:02}", i % 100, i % 100)).unwrap() },
            "connectionCharge": if i % 4 == 0 { json!(null) } else { json!(0) },
            "currency": (["USD", "EUR", "GBP"][i % 3]),
            "administrativeUnitInfos": match i % 3 { 0 => json!([{"id": format!("au-{i}")}, {"id": null}, null]), 1 => json!([]), _ => json!(null) },
        });
        let object = row.as_object_mut().unwrap();
        if i % 11 == 0 {
            object.insert(
                "brandNewProperty".into(),
                json!({"nested": [i, -0.5e-3, true, false, null, {}, []], "s": "x"}),
            );
        }
        if i % 6 == 0 {
            object.remove("currency");
        }
        rows.push(row);
    }
    let value = serde_json::Value::Array(rows);
    let rows = if pretty {
        serde_json::to_string_pretty(&value).unwrap()
    } else {
        serde_json::to_string(&value).unwrap()
    };
    format!(
        "{{\"@odata.context\" : \"{PSTN_CONTEXT}\",\n \"@odata.count\":{n}, \"@odata.nextLink\":null, \"value\": {rows} }}\n"
    )
    .into_bytes()
}

#[test]
fn the_fast_path_takes_graphs_pages_and_agrees_with_the_general_path() {
    use pstn_lake_graph_sim::{ApiVersion as SimApi, Function, Tenant, TenantConfig};
    for name in ["pstn-beta-page.json", "direct-routing-v1-page.json"] {
        assert!(
            fast_agrees_with_general(&PageDecoder::new(), &sample(name)),
            "{name}"
        );
    }
    for batch_size in [1, 7, 1000] {
        let decoder = PageDecoder::new().with_batch_size(batch_size);
        for pretty in [false, true] {
            assert!(fast_agrees_with_general(
                &decoder,
                &plain_pstn_page(100, pretty)
            ));
        }
    }
    let first = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let tenant = Tenant::new(TenantConfig::new(5, first, 1, 600));
    for function in [Function::Pstn, Function::DirectRouting] {
        for version in [SimApi::V1, SimApi::Beta] {
            tenant.write_pages(function, version, first, first, 250, |page| {
                assert!(
                    fast_agrees_with_general(&PageDecoder::new(), &page),
                    "{function:?} {version:?}"
                );
            });
        }
    }
}

#[test]
fn the_fast_path_leaves_other_pages_to_the_general_path() {
    // Escaped strings, `value` before the context without a hint, a repeated property, a float
    // duration, a table other than the hint: the general path decodes or refuses these.
    let (escaped, _) = generated_pstn_page(20, false);
    let (value_first, _) = generated_pstn_page(20, true);
    let others = [
        escaped,
        value_first,
        pstn_page(r#"{"id":"a","duration":1,"duration":2}"#).into_bytes(),
        pstn_page(r#"{"id":"a","duration":1.0}"#).into_bytes(),
        pstn_page(r#"{"id":"a","duration":-0}"#).into_bytes(),
        pstn_page(r#"{"id":"a","duration":3000000000}"#).into_bytes(),
        pstn_page(r#"{"id":"a","charge":true}"#).into_bytes(),
        pstn_page(r#"{"id":"a","charge":"1e"}"#).into_bytes(),
        pstn_page(r#"{"id":"a","startDateTime":"yesterday"}"#).into_bytes(),
        pstn_page(r#"{"id":"a","administrativeUnitInfos":[{"name":"x"}]}"#).into_bytes(),
        pstn_page(r#"{"id":"a"},"#).into_bytes(),
        format!(r#"{{"@odata.context":"{DR_CONTEXT}","value":[]}}"#).into_bytes(),
    ];
    let hinted = PageDecoder::new().with_table(Some(Table::PstnCalls));
    for page in &others {
        let text = std::str::from_utf8(page).unwrap();
        assert!(
            fast::decode(&hinted, text).is_none(),
            "the fast path took: {text}"
        );
        // Whatever the general path says, `decode` says the same.
        let via_decode = hinted
            .decode(page)
            .map(|p| p.rows)
            .map_err(|e| e.to_string());
        let general = hinted
            .decode_general(page, Some(text))
            .map(|p| p.rows)
            .map_err(|e| e.to_string());
        assert_eq!(via_decode, general, "{text}");
    }
}

/// Damaged pages: thousands of single-byte changes, deletions and cuts of pages the fast path
/// takes. Whenever the fast path still takes one, the general path must decode it to the same
/// rows; it must never accept what the general path refuses.
#[test]
fn the_fast_path_never_accepts_what_the_general_path_refuses() {
    let bases = [
        plain_pstn_page(6, false),
        plain_pstn_page(4, true),
        sample("pstn-beta-page.json"),
        sample("direct-routing-v1-page.json"),
    ];
    const BYTES: &[u8] = b"\"\\{}[],:0-+.eEnulltruefalse 9x\x01\x7f";
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    let decoder = PageDecoder::new();
    let (mut tried, mut taken) = (0, 0);
    for base in &bases {
        for _ in 0..3000 {
            let mut page = base.clone();
            let at = random(page.len());
            match random(4) {
                0 => page.truncate(at),
                1 => {
                    page.remove(at);
                }
                2 => page.insert(at, BYTES[random(BYTES.len())]),
                _ => page[at] = BYTES[random(BYTES.len())],
            }
            tried += 1;
            taken += usize::from(fast_agrees_with_general(&decoder, &page));
        }
    }
    // Many changes land in values and keep the page valid (a digit, a letter in a string): the
    // fast path must have taken a good share of them, or this test checks nothing.
    assert!(
        taken > tried / 10,
        "the fast path took {taken} of {tried} changed pages"
    );
}

#[test]
fn one_page_or_many_decode_alike_and_errors_name_the_page() {
    let decoder = PageDecoder::new();
    let a = pstn_page(r#"{"id":"a","note":"}{\"\n"}"#);
    let b = pstn_page(r#"{"id":"b"},{"id":"c"}"#);
    let ids = |pages: Vec<DecodedPage>| -> Vec<Vec<String>> {
        pages
            .iter()
            .map(|p| {
                p.batches
                    .iter()
                    .flat_map(|b| {
                        one(b, "id")
                            .as_string::<i32>()
                            .iter()
                            .map(|v| v.unwrap().to_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect()
            })
            .collect()
    };
    let single = decoder.decode_pages(a.as_bytes(), "one.json").unwrap();
    assert_eq!(ids(single), vec![vec!["a"]]);
    for joined in [
        format!("{a}{b}"),
        format!("{a}\n{b}\n"),
        format!(" {a}\r\n\r\n{b}"),
        // With a UTF-8 byte order mark, as Windows PowerShell 5.1 writes files.
        format!("\u{feff}{a}\r\n{b}\r\n"),
    ] {
        let pages = decoder.decode_pages(joined.as_bytes(), "two.json").unwrap();
        assert_eq!(ids(pages), vec![vec!["a"], vec!["b", "c"]], "{joined:?}");
    }
    // Errors say which page, and within it the row and field.
    let bad = pstn_page(r#"{"id":"x"},{"id":"y","duration":"sixty"}"#);
    let e = decoder
        .decode_pages(format!("{a}\n{b}\n{bad}\n").as_bytes(), "`f.json`")
        .unwrap_err();
    let Error::Page {
        from,
        page: 3,
        source,
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(from, "`f.json`");
    assert!(
        matches!(&**source, Error::Field { row: 1, id: Some(id), field, .. } if id == "y" && field == "duration"),
        "{source}"
    );
    assert_eq!(e.to_string(), "page 3 of `f.json`");
    // A page cut off, or not JSON at all, fails as that page, not as the file.
    let e = decoder
        .decode_pages(format!("{a}\n{}", &b[..b.len() - 3]).as_bytes(), "f")
        .unwrap_err();
    assert!(
        matches!(&e, Error::Page { page: 2, source, .. } if matches!(**source, Error::Json { .. })),
        "{e}"
    );
    let e = decoder.decode_pages(b"", "empty").unwrap_err();
    assert!(
        matches!(&e, Error::Page { page: 1, source, .. } if matches!(**source, Error::Json { .. })),
        "{e}"
    );
    // Pages whose boundaries are known are decoded each as it is.
    let pages = decoder
        .decode_each([a.as_bytes(), b.as_bytes()], "archive")
        .unwrap();
    assert_eq!(ids(pages), vec![vec!["a"], vec!["b", "c"]]);
    let e = decoder
        .decode_each([a.as_bytes(), b"{\"value\":[]} {}"], "archive")
        .unwrap_err();
    assert_eq!(e.to_string(), "page 2 of archive", "{e:?}");
    // Pages the fast path takes, one after another: each ends where its closing brace is.
    let pages = decoder
        .decode_pages(format!("{b}{b}\n{b}").as_bytes(), "fast")
        .unwrap();
    assert_eq!(ids(pages).len(), 3);
}

/// A page with a key twice is refused, whichever path reads it: keeping either `value` would drop
/// the other's rows silently, and either `@odata.nextLink` the pages after the other.
#[test]
fn a_page_with_a_key_twice_is_refused() {
    let rows = r#"[{"id":"a"}]"#;
    for page in [
        format!(r#"{{"@odata.context":"{PSTN_CONTEXT}","value":{rows},"value":[]}}"#),
        format!(r#"{{"value":{rows},"@odata.context":"{PSTN_CONTEXT}","value":{rows}}}"#),
        format!(
            r#"{{"@odata.context":"{PSTN_CONTEXT}","@odata.nextLink":"https://a","value":{rows},"@odata.nextLink":"https://b"}}"#
        ),
        format!(
            r#"{{"@odata.context":"{PSTN_CONTEXT}","@odata.context":"{PSTN_CONTEXT}","value":{rows}}}"#
        ),
    ] {
        let e = field_error(&page).to_string();
        assert!(e.contains("twice"), "{page}: {e}");
    }
}

/// The ids of a decoded page's rows, in order.
fn ids(page: &DecodedPage) -> Vec<String> {
    page.batches
        .iter()
        .flat_map(|b| {
            let ids = b.column_by_name("id").unwrap().as_string::<i32>().clone();
            (0..ids.len()).map(move |i| ids.value(i).to_owned())
        })
        .collect()
}

#[test]
fn rows_that_cannot_be_landed_are_set_aside_verbatim_and_the_others_kept() {
    let rows = [
        r#"{"id":"a","startDateTime":"2026-11-01T08:00:00Z","charge":0.5}"#,
        r#"{"id":"b","startDateTime":"2026-11-01T08:00:00Z","charge":1e9223372036854775807}"#,
        r#"{"charge":1,"id":"c"}"#,
        r#"{"id":null,"startDateTime":"2026-11-01T09:00:00Z"}"#,
        r#"[1, 2]"#,
        r#"{"id":"f","startDateTime":"2026-11-01T10:00:00.1234567Z","duration":"sixty"}"#,
        r#"{"id":"g","startDateTime":"2026-11-01T11:00:00Z","unknownThing":{"x":[1]}}"#,
        r#"{"id":"h","startDateTime":"2026-11-01T12:00:00Z","duration":1000000000000000000000000}"#,
    ];
    let page = format!(
        r#"{{"@odata.context":"{PSTN_CONTEXT}","@odata.nextLink":"https://graph.microsoft.com/next","value":[{}]}}"#,
        rows.join(",\n  ")
    );
    // Without setting aside, the first bad row is the page's error.
    let e = field_error(&page);
    assert!(
        matches!(&e, Error::Field { row: 1, field, .. } if field == "charge"),
        "{e}"
    );
    let decoder = PageDecoder::new().with_bad_rows_set_aside(true);
    let decoded = decoder.decode(page.as_bytes()).unwrap();
    assert_eq!(ids(&decoded), ["a", "g"]);
    assert_eq!(decoded.rows, 2);
    assert_eq!(decoded.table, Table::PstnCalls);
    assert_eq!(
        decoded.next_link.as_deref(),
        Some("https://graph.microsoft.com/next")
    );
    assert_eq!(decoded.unknown_properties.get("unknownThing"), Some(&1));
    let bad: Vec<(usize, Option<&str>, &str, &str)> = decoded
        .bad_rows
        .iter()
        .map(|b| (b.row, b.id.as_deref(), b.field.as_str(), b.json.as_str()))
        .collect();
    assert_eq!(
        bad,
        [
            (1, Some("b"), "charge", rows[1]),
            (2, Some("c"), "startDateTime", rows[2]),
            (3, None, "id", rows[3]),
            (4, None, "value", rows[4]),
            (5, Some("f"), "duration", rows[5]),
            (7, Some("h"), "duration", rows[7]),
        ]
    );
    assert!(decoded.bad_rows[0].message.contains("integer digits"));
    assert!(decoded.bad_rows[1].message.contains("belongs to no day"));
    assert!(decoded.bad_rows[4].message.contains("sixty"));
    // How a set-aside row is named in the summary and the quarantine.
    assert_eq!(
        decoded.bad_rows[4].to_string(),
        format!(
            "row 5 (id f) field `duration`: {}",
            decoded.bad_rows[4].message
        )
    );
    assert_eq!(
        decoded.bad_rows[2].to_string(),
        format!("row 3 field `id`: {}", decoded.bad_rows[2].message)
    );
    // The kept rows decode exactly as they do alone.
    let alone = PageDecoder::new()
        .decode(pstn_page(&[rows[0], rows[6]].join(",")).as_bytes())
        .unwrap();
    assert_eq!(decoded.batches, alone.batches);

    // An empty id is no id either (only a null one was checked above).
    let decoded = decoder
        .decode(
            pstn_page(&format!(
                r#"{},{{"id":"","startDateTime":"2026-11-01T08:00:00Z"}}"#,
                rows[0]
            ))
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(ids(&decoded), ["a"]);
    let bad: Vec<(usize, &str)> = decoded
        .bad_rows
        .iter()
        .map(|b| (b.row, b.field.as_str()))
        .collect();
    assert_eq!(bad, [(1, "id")], "{:?}", decoded.bad_rows);
    // A row that is not an object is the only fault of its page: it is set aside too (the
    // whole page's error is JSON's, about that row's type).
    let decoded = decoder
        .decode(pstn_page(&format!("{},{}", rows[0], rows[4])).as_bytes())
        .unwrap();
    assert_eq!(ids(&decoded), ["a"]);
    assert_eq!(decoded.bad_rows.len(), 1);
    assert_eq!(
        (decoded.bad_rows[0].row, decoded.bad_rows[0].json.as_str()),
        (1, rows[4])
    );
    // A page that decodes whole is taken as it is; a page at fault is still an error.
    let clean = pstn_page(&[rows[0], rows[6]].join(","));
    let decoded = decoder.decode(clean.as_bytes()).unwrap();
    assert!(decoded.bad_rows.is_empty());
    assert_eq!(decoded.batches, alone.batches);
    for page in [
        format!("{}]", &page[..page.len() / 2]),
        pstn_page(&format!("{},{}", rows[0], rows[1])).replace("\"value\"", "\"values\""),
        format!(r#"{{"value":[{}],"value":[]}}"#, rows[1]),
        format!(
            r#"{{"@odata.context":"{DR_CONTEXT}","value":[{}]}}"#,
            rows[1]
        )
        .replace(
            DR_CONTEXT,
            "https://graph.microsoft.com/v1.0/$metadata#users",
        ),
    ] {
        assert!(decoder.decode(page.as_bytes()).is_err(), "{page}");
    }
}

/// A Direct Routing row without a start time is placed by its invite time: only a row without
/// either is set aside.
#[test]
fn a_direct_routing_row_needs_one_of_its_day_columns() {
    let page = format!(
        r#"{{"@odata.context":"{DR_CONTEXT}","value":[{{"id":"a","inviteDateTime":"2026-11-01T08:00:00Z"}},{{"id":"b","callEndSubReason":1}}]}}"#
    );
    let decoded = PageDecoder::new()
        .with_bad_rows_set_aside(true)
        .decode(page.as_bytes())
        .unwrap();
    assert_eq!(ids(&decoded), ["a"]);
    assert_eq!(decoded.bad_rows.len(), 1);
    let bad = &decoded.bad_rows[0];
    assert_eq!((bad.row, bad.field.as_str()), (1, "startDateTime"));
    assert!(
        bad.message.contains("and so is inviteDateTime"),
        "{}",
        bad.message
    );
}

#[test]
fn sms_sample_decodes_every_property_with_exact_money() {
    let page = PageDecoder::new()
        .decode(&sample("sms-beta-page.json"))
        .unwrap();
    assert_eq!(page.table, Table::SmsLogs);
    assert_eq!(page.rows, 2);
    assert!(
        page.unknown_properties.is_empty(),
        "{:?}",
        page.unknown_properties
    );
    let b = &page.batches[0];
    assert_eq!(b.schema(), Table::SmsLogs.schema());
    let s = |c, i| one(b, c).as_string::<i32>().value(i).to_owned();
    assert_eq!(s("id", 0), "1a3b5c7d-0000-4e6f-8a9b-0c1d2e3f4a5b");
    // smsId is not unique: both rows share it, and the key stays `id`.
    assert_eq!(s("sms_id", 0), s("sms_id", 1));
    assert_eq!(s("sms_type", 1), "inbound");
    assert_eq!(s("destination_number", 0), "+4420794***");
    assert_eq!(s("other_party_country_code", 0), "gb");
    let sent = one(b, "sent_date_time");
    let sent = sent.as_primitive::<TimestampMicrosecondType>();
    assert_eq!(sent.value(0), micros("2026-11-02T09:15:42.123456Z"));
    let units = one(b, "sms_units");
    assert_eq!(units.as_primitive::<Int32Type>().values(), &[2, 1]);
    let charge = one(b, "call_charge");
    let charge = charge.as_primitive::<Decimal128Type>();
    assert_eq!((charge.value(0), charge.value(1)), (45_000, 0));
    assert!(one(b, "destination_context").is_null(1));
    assert_eq!(Table::SmsLogs.key(), "id");
    assert!(Table::SmsLogs.derived_columns().is_empty());
}

#[test]
fn blocked_users_rows_get_a_key_of_remediation_user_and_time() {
    let page = PageDecoder::new()
        .decode(&sample("blocked-users-beta-page.json"))
        .unwrap();
    assert_eq!(page.table, Table::PstnBlockedUsers);
    assert!(
        page.unknown_properties.is_empty(),
        "{:?}",
        page.unknown_properties
    );
    let b = &page.batches[0];
    assert_eq!(b.schema(), Table::PstnBlockedUsers.schema());
    let keys = one(b, ROW_KEY);
    let keys: Vec<_> = keys.as_string::<i32>().iter().flatten().collect();
    // The block and the unblock share Graph's remediation id: the time keeps them apart.
    assert_eq!(
        keys,
        [
            "8d6c3f2e-2a4b-4e1f-b5a7-9c0d1e2f3a4b|7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b|2026-11-03T04:12:09.000000Z",
            "8d6c3f2e-2a4b-4e1f-b5a7-9c0d1e2f3a4b|7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b|2026-11-05T10:00:00.500000Z",
        ]
    );
    let modes = one(b, "user_block_mode");
    let modes: Vec<_> = modes.as_string::<i32>().iter().flatten().collect();
    assert_eq!(modes, ["blocked", "unblocked"]);
    assert_eq!(Table::PstnBlockedUsers.key(), ROW_KEY);
    assert!(bad_rows::first_unlandable_row(Table::PstnBlockedUsers, b).is_none());
}

#[test]
fn dialout_totals_carry_the_requested_day_or_belong_to_none() {
    let bytes = sample("dialout-report-beta-page.json");
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let page = PageDecoder::new()
        .with_window(day, day.succ_opt().unwrap())
        .decode(&bytes)
        .unwrap();
    assert_eq!(page.table, Table::PstnDialoutReport);
    assert!(
        page.unknown_properties.is_empty(),
        "{:?}",
        page.unknown_properties
    );
    let b = &page.batches[0];
    assert_eq!(b.schema(), Table::PstnDialoutReport.schema());
    let from = one(b, "from_date_time");
    let from = from.as_primitive::<TimestampMicrosecondType>();
    let to = one(b, "to_date_time");
    let to = to.as_primitive::<TimestampMicrosecondType>();
    for i in 0..2 {
        assert_eq!(from.value(i), micros("2026-11-02T00:00:00Z"));
        assert_eq!(to.value(i), micros("2026-11-03T00:00:00Z"));
    }
    let charge = one(b, "total_call_charge");
    let charge = charge.as_primitive::<Decimal128Type>();
    assert_eq!((charge.value(0), charge.value(1)), (12_830_000, 87_500));
    let keys = one(b, ROW_KEY);
    let keys: Vec<_> = keys.as_string::<i32>().iter().flatten().collect();
    assert_eq!(
        keys,
        [
            "03de33bb-51df-40de-889a-61949faae24f|US|International|USD",
            "03de33bb-51df-40de-889a-61949faae24f|US|Domestic|USD",
        ]
    );
    assert!(bad_rows::first_unlandable_row(Table::PstnDialoutReport, b).is_none());

    // Without the day, the rows belong to none, and saying so names the way out.
    let page = PageDecoder::new().decode(&bytes).unwrap();
    let b = &page.batches[0];
    assert!(one(b, "from_date_time").is_null(0));
    let (row, why) = bad_rows::first_unlandable_row(Table::PstnDialoutReport, b).unwrap();
    assert_eq!((row, why), (0, Unlandable::NoDay));
    assert!(why.message(Table::PstnDialoutReport).contains("--day"));
}
