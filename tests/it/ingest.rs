//! `pstn-lake ingest`: landing saved pages, idempotence, merge, and bad input.

use std::path::Path;

use pstn_lake_pipeline::Table;
use serde_json::json;

use crate::helpers::*;

fn lake_arg(dir: &Path) -> String {
    dir.join("lake").to_str().unwrap().to_owned()
}

#[test]
fn samples_land_in_day_partitions_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_arg(dir.path());
    let out = run(&["ingest", samples().to_str().unwrap(), "--lake", &lake]).ok();
    assert!(
        out.stderr
            .contains("ingested 2 rows from 2 inputs (2 pages)"),
        "{}",
        out.stderr
    );
    for table in ["pstn_calls", "direct_routing_calls"] {
        let file = dir
            .path()
            .join(format!("lake/{table}/call_date=2019-11-01/data.parquet"));
        assert!(file.is_file(), "{} missing", file.display());
    }
    let report = run(&[
        "report",
        "charges-by-country",
        "--format",
        "csv",
        "--lake",
        &lake,
    ])
    .ok();
    assert_eq!(
        report.stdout,
        "country,currency,calls,seconds,minutes,charge,connection_charge\nUS,USD,1,219,3.65,0.000000,0.000000\n"
    );
    // Direct Routing's "0001-01-01T00:00:00Z" failure time is null; the invite time is exact.
    let rows = sql_rows(
        Path::new(&lake),
        "SELECT failure_date_time IS NULL, CAST(invite_date_time AS VARCHAR), successful_call FROM direct_routing_calls",
    );
    assert_eq!(rows, vec![vec!["true", "2019-11-01T00:00:21.949Z", "true"]]);
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn landing_twice_is_idempotent_and_overlapping_sets_merge() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_arg(dir.path());
    let first = write(
        dir.path(),
        "in/a.json",
        &pstn_page(&[
            pstn_row("a", "2026-11-01T08:00:00.1234567Z", "0.10", "EUR", "DE", 60),
            pstn_row("b", "2026-11-01T09:00:00Z", "0.20", "EUR", "DE", 120),
            pstn_row("c", "2026-11-02T10:00:00Z", "1.00", "USD", "US", 30),
        ]),
    );
    for _ in 0..2 {
        run(&["ingest", &first, "--lake", &lake]).ok();
    }
    let count = "SELECT CAST(call_date AS VARCHAR), count(*), sum(charge) FROM pstn_calls GROUP BY 1 ORDER BY 1";
    assert_eq!(
        sql_rows(Path::new(&lake), count),
        vec![
            vec!["2026-11-01", "2", "0.300000"],
            vec!["2026-11-02", "1", "1.000000"]
        ]
    );
    // An overlapping set: b changes, d is new; a and c stay.
    let second = write(
        dir.path(),
        "in/b.json",
        &pstn_page(&[
            pstn_row("b", "2026-11-01T09:00:00Z", "0.25", "EUR", "DE", 120),
            pstn_row("d", "2026-11-02T00:00:00Z", "2.00", "USD", "US", 30),
        ]),
    );
    let report = ingest_lib(&[&second], Path::new(&lake));
    let days: Vec<_> = report.tables[&Table::PstnCalls]
        .days
        .iter()
        .map(|d| (d.day.to_string(), d.rows_before, d.rows_in, d.rows_after))
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-11-01".to_owned(), 2, 1, 2),
            ("2026-11-02".to_owned(), 1, 1, 2)
        ]
    );
    assert_eq!(
        sql_rows(
            Path::new(&lake),
            "SELECT id, CAST(call_date AS VARCHAR), charge FROM pstn_calls ORDER BY id"
        ),
        vec![
            vec!["a", "2026-11-01", "0.100000"],
            vec!["b", "2026-11-01", "0.250000"],
            vec!["c", "2026-11-02", "1.000000"],
            vec!["d", "2026-11-02", "2.000000"],
        ]
    );
    // Within a day, rows are sorted by start time.
    assert_eq!(
        sql_rows(
            Path::new(&lake),
            "SELECT id FROM pstn_calls WHERE call_date = DATE '2026-11-02'"
        ),
        vec![vec!["d"], vec!["c"]]
    );
}

#[test]
fn later_inputs_win_whatever_the_decoding_order() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_arg(dir.path());
    for i in 0..24 {
        write(
            dir.path(),
            &format!("in/{i:02}.json"),
            &pstn_page(&[pstn_row(
                "same",
                "2026-11-01T08:00:00Z",
                &format!("{i}.5"),
                "EUR",
                "DE",
                60,
            )]),
        );
    }
    let input = dir.path().join("in");
    run(&[
        "ingest",
        input.to_str().unwrap(),
        "--lake",
        &lake,
        "--threads",
        "4",
    ])
    .ok();
    assert_eq!(
        sql_rows(Path::new(&lake), "SELECT id, charge FROM pstn_calls"),
        vec![vec!["same", "23.500000"]]
    );
}

#[test]
fn stdin_takes_one_or_several_pages() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_arg(dir.path());
    let pages = format!(
        "{}\n{}\n",
        pstn_page(&[pstn_row("x", "2026-11-01T08:00:00Z", "1", "EUR", "FR", 1)]),
        pstn_page(&[pstn_row("y", "2026-11-03T08:00:00Z", "2", "EUR", "FR", 2)])
    );
    let out = run_with_stdin(&["ingest", "-", "--lake", &lake], pages.as_bytes()).ok();
    assert!(
        out.stderr
            .contains("ingested 2 rows from 1 inputs (2 pages)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sql_rows(
            Path::new(&lake),
            "SELECT id, CAST(call_date AS VARCHAR) FROM pstn_calls ORDER BY id"
        ),
        vec![vec!["x", "2026-11-01"], vec!["y", "2026-11-03"]]
    );
}

#[test]
fn day_boundaries_follow_the_utc_start_time() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_arg(dir.path());
    let page = pstn_page(&[
        pstn_row("last", "2026-11-01T23:59:59.9999999Z", "0", "EUR", "DE", 1),
        pstn_row("first", "2026-11-02T00:00:00.0000000Z", "0", "EUR", "DE", 1),
        pstn_row("offset", "2026-11-02T00:30:00+01:00", "0", "EUR", "DE", 1),
    ]);
    let dr = json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#Collection(microsoft.graph.callRecords.directRoutingLogRow)",
        "value": [{"id": "failed", "startDateTime": null, "inviteDateTime": "2026-11-05T12:00:00Z",
                   "failureDateTime": "2026-11-05T12:00:01Z", "successfulCall": false, "finalSipCode": 486}]
    });
    let a = write(dir.path(), "p.json", &page);
    let b = write(dir.path(), "d.json", &dr.to_string());
    run(&["ingest", &a, &b, "--lake", &lake]).ok();
    assert_eq!(
        sql_rows(
            Path::new(&lake),
            "SELECT id, CAST(call_date AS VARCHAR) FROM pstn_calls ORDER BY id"
        ),
        vec![
            vec!["first", "2026-11-02"],
            vec!["last", "2026-11-01"],
            vec!["offset", "2026-11-01"]
        ]
    );
    assert_eq!(
        sql_rows(
            Path::new(&lake),
            "SELECT id, CAST(call_date AS VARCHAR), final_sip_code FROM direct_routing_calls"
        ),
        vec![vec!["failed", "2026-11-05", "486"]]
    );
}

#[test]
fn unknown_properties_are_kept_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_arg(dir.path());
    let mut row = pstn_row("n", "2026-11-01T08:00:00Z", "0", "EUR", "DE", 1);
    row["carbonGrams"] = json!(12.5);
    let file = write(
        dir.path(),
        "p.json",
        &pstn_page(&[
            row,
            pstn_row("m", "2026-11-01T08:00:00Z", "0", "EUR", "DE", 1),
        ]),
    );
    let report = ingest_lib(&[&file], Path::new(&lake));
    assert_eq!(report.unknown, [("carbonGrams".to_owned(), 1)].into());
    assert!(
        report.to_string().contains("properties the schema does not know, kept in the extra_properties column: carbonGrams (1 rows)"),
        "{report}"
    );
    let rows = run(&[
        "sql",
        "SELECT id, extra_properties FROM pstn_calls ORDER BY id",
        "--format",
        "json",
        "--lake",
        &lake,
    ])
    .ok();
    let rows: serde_json::Value = serde_json::from_str(&rows.stdout).unwrap();
    assert_eq!(
        rows,
        json!([{"id": "m", "extra_properties": null}, {"id": "n", "extra_properties": "{\"carbonGrams\":12.5}"}])
    );
}

#[test]
fn bad_input_fails_with_file_row_and_field_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_arg(dir.path());
    let good = write(
        dir.path(),
        "good.json",
        &pstn_page(&[pstn_row(
            "keep",
            "2026-11-01T08:00:00Z",
            "0.10",
            "EUR",
            "DE",
            60,
        )]),
    );
    run(&["ingest", &good, "--lake", &lake]).ok();
    let before = snapshot(&dir.path().join("lake"));

    let new_day = pstn_page(&[pstn_row(
        "new",
        "2026-11-09T08:00:00Z",
        "1",
        "EUR",
        "DE",
        60,
    )]);
    let mut wrong_type = pstn_row("bad-row", "2026-11-01T08:00:00Z", "0", "EUR", "DE", 1);
    wrong_type["duration"] = json!("sixty");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("malformed.json", r#"{"@odata.context": "x", "value": [ {"id": "a",, } ]}"#.into(), vec!["malformed.json", "not valid JSON", "line 1"]),
        ("truncated.json", new_day[..new_day.len() - 10].to_owned(), vec!["truncated.json", "not valid JSON"]),
        ("novalue.json", json!({"@odata.context": PSTN_CONTEXT}).to_string(), vec!["novalue.json", "no `value` array"]),
        (
            "wrongtype.json",
            pstn_page(&[pstn_row("ok", "2026-11-01T08:00:00Z", "0", "EUR", "DE", 1), wrong_type]),
            vec!["wrongtype.json", "row 1 (id bad-row) field `duration`", "sixty"],
        ),
        (
            "money.json",
            pstn_page(&[pstn_row("cents", "2026-11-01T08:00:00Z", "0.1234567", "EUR", "DE", 1)]),
            vec!["money.json", "row 0 (id cents) field `charge`", "more than 6 decimal places"],
        ),
        (
            "bigmoney.json",
            pstn_page(&[pstn_row("rich", "2026-11-01T08:00:00Z", "12345678901234", "EUR", "DE", 1)]),
            vec!["bigmoney.json", "field `charge`", "integer digits"],
        ),
        (
            "second-page.json",
            format!(
                "{new_day}\n{}\n",
                pstn_page(&[pstn_row("p2", "2026-11-01T08:00:00Z", "0.1234567", "EUR", "DE", 1)])
            ),
            vec!["page 2 of `", "second-page.json`: row 0 (id p2) field `charge`", "more than 6 decimal places"],
        ),
        (
            "unknown.json",
            json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": []}).to_string(),
            vec!["unknown.json", "cannot tell which table", "--table"],
        ),
    ];
    for (name, text, expected) in cases {
        // The bad file comes after a good one with a new day: the good one must not land either.
        let sub = dir.path().join(format!("case-{name}"));
        write(&sub, "a-good.json", &new_day);
        write(&sub, &format!("b-{name}"), &text);
        let out = run(&["ingest", sub.to_str().unwrap(), "--lake", &lake]).fails();
        for needle in expected {
            assert!(
                out.stderr.contains(needle),
                "{name}: `{needle}` not in: {}",
                out.stderr
            );
        }
        assert!(
            out.stderr.contains("nothing was written to the lake"),
            "{name}: {}",
            out.stderr
        );
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "{name}: one message"
        );
        assert!(
            snapshot(&dir.path().join("lake")) == before,
            "{name}: the lake changed"
        );
    }

    // A page of the other table when --table says otherwise.
    let out = run(&[
        "ingest",
        &good,
        "--table",
        "direct_routing_calls",
        "--lake",
        &lake,
    ])
    .fails();
    assert!(
        out.stderr.contains("holds pstn_calls rows"),
        "{}",
        out.stderr
    );
    // A PSTN page without its @odata.context: its properties say it is not a Direct Routing page.
    let mut page: serde_json::Value =
        serde_json::from_slice(&std::fs::read(samples().join("pstn-beta-page.json")).unwrap())
            .unwrap();
    page.as_object_mut().unwrap().remove("@odata.context");
    let bare = dir.path().join("bare-pstn.json");
    std::fs::write(&bare, page.to_string()).unwrap();
    let out = run(&[
        "ingest",
        bare.to_str().unwrap(),
        "--table",
        "direct_routing_calls",
        "--lake",
        &lake,
    ])
    .fails();
    assert!(
        out.stderr.contains("bare-pstn.json")
            && out
                .stderr
                .contains("are not columns of direct_routing_calls")
            && out
                .stderr
                .contains("it looks like a pstn_calls page: pass --table pstn_calls"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("lake/direct_routing_calls").exists());
    // With the right table it lands.
    let other = dir.path().join("other-lake");
    run(&[
        "ingest",
        bare.to_str().unwrap(),
        "--table",
        "pstn_calls",
        "--lake",
        other.to_str().unwrap(),
    ])
    .ok();
    assert!(other.join("pstn_calls").is_dir());
    let out = run(&["ingest", &good, "--table", "sms_log", "--lake", &lake]).fails();
    assert!(
        out.stderr.contains("unknown table `sms_log`"),
        "{}",
        out.stderr
    );
    let out = run(&["ingest", "/nonexistent/page.json", "--lake", &lake]).fails();
    assert!(
        out.stderr.contains("/nonexistent/page.json"),
        "{}",
        out.stderr
    );
    assert!(
        snapshot(&dir.path().join("lake")) == before,
        "the lake changed"
    );
}

/// `PSTN_LAKE` names the lake when `--lake` is absent, for writing and reading; `--lake` wins.
#[test]
fn pstn_lake_names_the_lake_when_lake_is_absent() {
    let dir = tempfile::tempdir().unwrap();
    let (named, flagged) = (dir.path().join("named"), dir.path().join("flagged"));
    let page = write(
        dir.path(),
        "page.json",
        &pstn_page(&[pstn_row(
            "a",
            "2026-11-01T10:00:00Z",
            "1.5",
            "EUR",
            "DE",
            60,
        )]),
    );
    let env = [("PSTN_LAKE", named.as_path())];
    run_with_env(&["ingest", &page], &env).ok();
    assert!(named.join("pstn_calls/call_date=2026-11-01").is_dir());
    let count = |args: &[&str]| {
        let out = run_with_env(args, &env).ok().stdout;
        out.lines().nth(1).unwrap_or_default().to_owned()
    };
    assert_eq!(
        count(&["sql", "SELECT count(*) FROM pstn_calls", "--format", "csv"]),
        "1"
    );
    // --lake wins over PSTN_LAKE, for ingest and for reading.
    let flagged_arg = flagged.to_str().unwrap();
    let two = write(
        dir.path(),
        "two.json",
        &pstn_page(&[
            pstn_row("b", "2026-11-01T10:00:00Z", "1.5", "EUR", "DE", 60),
            pstn_row("c", "2026-11-01T11:00:00Z", "1.5", "EUR", "DE", 60),
        ]),
    );
    run_with_env(&["ingest", &two, "--lake", flagged_arg], &env).ok();
    assert_eq!(
        count(&["sql", "SELECT count(*) FROM pstn_calls", "--format", "csv"]),
        "1"
    );
    assert_eq!(
        count(&[
            "sql",
            "SELECT count(*) FROM pstn_calls",
            "--format",
            "csv",
            "--lake",
            flagged_arg
        ]),
        "2"
    );
    // A PSTN_LAKE that holds no lake is named in the error, with the variable.
    let missing = dir.path().join("missing");
    let out = run_with_env(
        &["sql", "SELECT 1 FROM pstn_calls"],
        &[("PSTN_LAKE", missing.as_path())],
    )
    .fails();
    assert!(
        out.stderr.contains("missing") && out.stderr.contains("PSTN_LAKE"),
        "{}",
        out.stderr
    );
}

/// `--memory-mb 0` hands every day to the encoder as soon as its rows arrive; with days
/// interleaved across inputs and later inputs re-sending ids, the lake still holds exactly what a
/// default ingest lands: each day's rows, later inputs winning.
#[test]
fn a_tiny_memory_budget_lands_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("pages");
    let mut want = std::collections::BTreeMap::<String, (String, String)>::new();
    for page in 0..6 {
        let rows: Vec<_> = (0..400)
            .map(|i| {
                // Every page holds rows of all three days; from page 3 on, half the ids are
                // re-sent (on their own day) with a new charge.
                let n = if page >= 3 && i % 2 == 0 {
                    i
                } else {
                    page * 400 + i
                };
                let id = format!("id-{n:05}");
                let day = format!("2026-11-0{}", 1 + n % 3);
                let start = format!("{day}T{:02}:{:02}:00Z", 1 + page, i % 60);
                let charge = format!("{page}.{i:03}");
                want.insert(id.clone(), (day, format!("{charge}000")));
                pstn_row(&id, &start, &charge, "EUR", "DE", 60)
            })
            .collect();
        write(&inputs, &format!("p{page}.json"), &pstn_page(&rows));
    }
    let inputs = inputs.to_str().unwrap();
    let rows = |lake: &Path| {
        sql_rows(
            lake,
            "SELECT id, CAST(call_date AS VARCHAR), CAST(charge AS VARCHAR) FROM pstn_calls ORDER BY id",
        )
    };
    let (tiny, default) = (dir.path().join("tiny"), dir.path().join("default"));
    run(&[
        "ingest",
        inputs,
        "--lake",
        tiny.to_str().unwrap(),
        "--memory-mb",
        "0",
    ])
    .ok();
    run(&["ingest", inputs, "--lake", default.to_str().unwrap()]).ok();
    let expected: Vec<Vec<String>> = want
        .into_iter()
        .map(|(id, (day, charge))| vec![id, day, charge])
        .collect();
    assert_eq!(expected.len(), 6 * 400 - 3 * 200);
    for (lake, what) in [(&tiny, "--memory-mb 0"), (&default, "the default budget")] {
        let got = rows(lake);
        assert!(
            got == expected,
            "{what}: {} rows, {} expected",
            got.len(),
            expected.len()
        );
    }
}
