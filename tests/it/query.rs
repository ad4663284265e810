//! `pstn-lake report`, `sql` and `schema` over a lake landed by `ingest`.

use std::path::{Path, PathBuf};

use crate::helpers::*;

/// A lake with three days and two currencies in one country; returns (tempdir, lake path).
fn fixture() -> (tempfile::TempDir, PathBuf) {
    lake_with_rows(&[
        pstn_row("1", "2026-11-01T08:00:00Z", "0.1", "EUR", "CH", 60),
        pstn_row("2", "2026-11-01T09:00:00Z", "0.2", "EUR", "CH", 30),
        pstn_row("3", "2026-11-02T10:00:00Z", "0.7", "CHF", "CH", 90),
        pstn_row("4", "2026-11-02T11:00:00Z", "1.005", "CHF", "CH", 1),
        pstn_row("5", "2026-11-03T11:00:00Z", "3", "USD", "US", 600),
    ])
}

fn report(lake: &Path, args: &[&str]) -> Run {
    let mut all = vec![
        "report",
        "charges-by-country",
        "--lake",
        lake.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(&all)
}

#[test]
fn charges_by_country_never_adds_currencies_and_sums_exactly() {
    let (_dir, lake) = fixture();
    let out = report(&lake, &["--format", "csv"]).ok();
    assert_eq!(
        out.stdout,
        "country,currency,calls,seconds,minutes,charge,connection_charge\n\
         CH,CHF,2,91,1.52,1.705000,0.020000\n\
         CH,EUR,2,90,1.50,0.300000,0.020000\n\
         US,USD,1,600,10.00,3.000000,0.010000\n"
    );
}

#[test]
fn from_and_to_select_days_and_prune_partitions() {
    let (_dir, lake) = fixture();
    let out = report(
        &lake,
        &[
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-02",
            "--format",
            "csv",
        ],
    )
    .ok();
    assert_eq!(
        out.stdout,
        "country,currency,calls,seconds,minutes,charge,connection_charge\nCH,CHF,2,91,1.52,1.705000,0.020000\n"
    );
    // An empty range is an empty report, not an error.
    let out = report(&lake, &["--from", "2027-01-01", "--format", "csv"]).ok();
    assert_eq!(
        out.stdout,
        "country,currency,calls,seconds,minutes,charge,connection_charge\n"
    );
    let out = report(&lake, &["--from", "2026-11-03", "--to", "2026-11-01"]).fails();
    assert!(
        out.stderr
            .contains("--from 2026-11-03 is after --to 2026-11-01"),
        "{}",
        out.stderr
    );
    let out = report(&lake, &["--from", "1 Nov"]).fails();
    assert!(out.stderr.contains("use YYYY-MM-DD"), "{}", out.stderr);

    // The plan of a one-day query lists only that day's file.
    let plan = run(&[
        "sql",
        "EXPLAIN SELECT sum(charge) FROM pstn_calls WHERE call_date BETWEEN DATE '2026-11-02' AND DATE '2026-11-02'",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok()
    .stdout;
    assert!(plan.contains("call_date=2026-11-02/data.parquet"), "{plan}");
    assert!(
        !plan.contains("call_date=2026-11-01") && !plan.contains("call_date=2026-11-03"),
        "{plan}"
    );
}

#[test]
fn formats_keep_money_exact() {
    let (_dir, lake) = fixture();
    let json = report(&lake, &["--format", "json"]).ok().stdout;
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value.as_array().unwrap().len(), 3);
    assert!(json.contains(r#""charge":1.705000"#), "{json}");
    let md = report(&lake, &["--format", "markdown"]).ok().stdout;
    assert!(md.starts_with("| country | currency | calls |"), "{md}");
    assert!(
        md.contains("| CH | CHF | 2 | 91 | 1.52 | 1.705000 | 0.020000 |"),
        "{md}"
    );
    let table = report(&lake, &["--format", "table"]).ok().stdout;
    // A person's table: numbers right-aligned, money in the currency's minor units (1.705 CHF
    // is 1.71); the other formats above keep every digit.
    assert!(
        table.contains("| CH      | CHF      |     2 |      91 |    1.52 |   1.71 |"),
        "{table}"
    );
    let out = report(&lake, &["--format", "xml"]).fails();
    assert!(
        out.stderr
            .contains("expected table, csv, csv-raw, json, ndjson, markdown or parquet"),
        "{}",
        out.stderr
    );
}

#[test]
fn report_catalog_lists_and_shows_sql() {
    let out = run(&["report", "--list"]).ok();
    for name in [
        "charges-by-country",
        "duration-by-user",
        "direct-routing-quality",
    ] {
        assert!(out.stdout.contains(name), "{}", out.stdout);
    }
    let sql = run(&["report", "charges-by-country", "--show-sql"])
        .ok()
        .stdout;
    assert!(sql.starts_with("-- Charges by country"), "{sql}");
    let out = run(&["report", "no-such-report"]).fails();
    assert!(
        out.stderr
            .contains("there is no report named `no-such-report`"),
        "{}",
        out.stderr
    );
}

#[test]
fn sql_is_read_only() {
    let (dir, lake) = fixture();
    let before = snapshot(&lake);
    let target = dir.path().join("copied.csv");
    let copy = format!("COPY pstn_calls TO '{}'", target.display());
    for statement in [
        "DROP TABLE pstn_calls",
        "CREATE TABLE t AS SELECT 1",
        "INSERT INTO pstn_calls (id) VALUES ('x')",
        copy.as_str(),
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = run(&["sql", statement, "--lake", lake.to_str().unwrap()]).fails();
        assert!(
            out.stderr.contains("only queries are allowed here"),
            "{statement}: {}",
            out.stderr
        );
    }
    assert!(!target.exists(), "COPY wrote a file");
    assert!(snapshot(&lake) == before, "the lake changed");
    let rows = sql_rows(&lake, "SELECT count(*) FROM pstn_calls");
    assert_eq!(rows, vec![vec!["5"]]);
    let out = run(&["sql", "SELEC 1", "--lake", lake.to_str().unwrap()]).fails();
    assert!(out.stderr.contains("SELEC"), "{}", out.stderr);
}

#[test]
fn reports_run_on_an_empty_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("empty");
    lake_without_rows(&lake);
    for name in [
        "charges-by-country",
        "duration-by-user",
        "direct-routing-quality",
    ] {
        let out = run(&[
            "report",
            name,
            "--format",
            "csv",
            "--lake",
            lake.to_str().unwrap(),
        ])
        .ok();
        assert_eq!(
            out.stdout.lines().count(),
            1,
            "{name}: header only: {}",
            out.stdout
        );
    }
}

#[test]
fn schema_shows_every_column_and_type() {
    let out = run(&["schema", "pstn_calls", "--format", "csv"])
        .ok()
        .stdout;
    for line in [
        "pstn_calls,charge,\"Decimal128(18, 6)\",charge,\"v1.0, beta\"",
        "pstn_calls,start_date_time,\"Timestamp(µs, \"\"UTC\"\")\",startDateTime,\"v1.0, beta\"",
        "pstn_calls,client_public_ip_v4_address,Utf8,clientPublicIpV4Address,beta",
        "pstn_calls,call_date,Date32,(partition: UTC day of the call),",
    ] {
        assert!(out.contains(line), "`{line}` not in:\n{out}");
    }
    let all = run(&["schema"]).ok().stdout;
    assert!(all.contains("trunk_fully_qualified_domain_name"), "{all}");

    // The schema as a lake's files hold it.
    let (_dir, lake) = fixture();
    let out = run(&[
        "schema",
        "pstn_calls",
        "--format",
        "csv",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok()
    .stdout;
    assert!(out.contains("charge,\"Decimal128(18, 6)\",YES"), "{out}");
    assert!(out.contains("call_date,Date32,NO"), "{out}");
}

/// The lake is plain Hive-partitioned Parquet: DuckDB (an independent reader) gets the same rows
/// and sums as pstn-lake's report.
#[test]
fn duckdb_reads_the_same_numbers() {
    let (_dir, lake) = fixture();
    let script = format!(
        r#"
import duckdb
rows = duckdb.sql("""
  SELECT usage_country_code, currency, count(*), sum(duration), CAST(sum(charge) AS VARCHAR),
         CAST(typeof(charge) AS VARCHAR), CAST(min(call_date) AS VARCHAR)
  FROM read_parquet('{lake}/pstn_calls/*/*.parquet', hive_partitioning = true)
  GROUP BY ALL ORDER BY 1, 2""").fetchall()
for r in rows:
    print(",".join(str(v) for v in r))
"#,
        lake = lake.display()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB from Python is needed for this test (.ci/run installs it: pip install duckdb): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "CH,CHF,2,91,1.705000,DECIMAL(18,6),2026-11-02\nCH,EUR,2,90,0.300000,DECIMAL(18,6),2026-11-01\nUS,USD,1,600,3.000000,DECIMAL(18,6),2026-11-03\n"
    );
}

#[test]
fn a_lake_folder_that_does_not_exist_is_an_error_not_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-lake");
    let missing = missing.to_str().unwrap();
    for args in [
        vec!["report", "charges-by-country", "--lake", missing],
        vec!["sql", "SELECT 1", "--lake", missing],
        vec!["ddl", "--engine", "duckdb", "--lake", missing],
        vec!["schema", "--lake", missing],
    ] {
        let run = run(&args).fails();
        assert!(
            run.stderr.contains("no lake here")
                && run.stderr.contains("no-such-lake")
                && run.stderr.contains("does not exist"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?} printed {}", run.stdout);
    }
    assert!(
        !dir.path().join("no-such-lake").exists(),
        "nothing was created"
    );
}

/// A folder that exists but holds no lake (an empty folder, or one a failed `sync` would have
/// left) is "no lake here" for every reading command, exit 1, with the lakes nearby suggested.
#[test]
fn a_folder_that_is_not_a_lake_is_no_lake_here_with_the_lakes_nearby() {
    let (dir, _) = lake_with_rows(&[pstn_row(
        "1",
        "2026-11-01T08:00:00Z",
        "0.1",
        "EUR",
        "CH",
        60,
    )]);
    std::fs::rename(dir.path().join("lake"), dir.path().join("pstn-lake-demo")).unwrap();
    let not_a_lake = dir.path().join("lake");
    std::fs::create_dir_all(not_a_lake.join("src")).unwrap();
    for args in [
        vec!["report", "charges-by-country"],
        vec!["sql", "SELECT 1"],
        vec!["schema", "--lake", "./lake"],
        vec!["shell"],
        vec!["ddl", "--engine", "duckdb"],
    ] {
        let out = bin()
            .args(&args)
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no lake here")
                && stderr.contains("holds no pstn-lake table")
                && stderr.contains("lakes nearby: ./pstn-lake-demo"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// A reader that goes away (`pstn-lake report --list | head -1`) ends every command quietly:
/// exit 0, nothing on stderr, no panic. The pipe is closed before the command writes.
#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let (_dir, lake) = fixture();
    let lake = lake.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["report", "--list"],
        vec!["report", "--show-sql", "charges-by-country"],
        vec!["report", "charges-by-country", "--lake", lake],
        vec![
            "report",
            "charges-by-country",
            "--format",
            "json",
            "--lake",
            lake,
        ],
        vec![
            "sql",
            "SELECT id, charge FROM pstn_calls",
            "--format",
            "csv",
            "--lake",
            lake,
        ],
        vec![
            "sql",
            "SELECT id FROM pstn_calls",
            "--format",
            "parquet",
            "--lake",
            lake,
        ],
        vec!["schema"],
        vec!["schema", "--lake", lake, "--format", "csv"],
        vec!["ddl", "--engine", "duckdb", "--lake", lake],
    ];
    for args in commands {
        for _ in 0..3 {
            let mut child = bin()
                .args(&args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            drop(child.stdout.take());
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
            assert!(stderr.is_empty(), "{args:?}: {stderr}");
        }
    }
}

/// `schema --lake` is one result however many tables: one JSON document, one CSV header, each
/// column with its table.
#[test]
fn the_schema_of_a_lake_is_one_document() {
    let (_dir, lake) = fixture();
    let lake = lake.to_str().unwrap();
    let json = run(&["schema", "--lake", lake, "--format", "json"])
        .ok()
        .stdout;
    let columns: Vec<serde_json::Value> = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{json}"));
    assert!(
        columns
            .iter()
            .any(|c| c["table"] == "pstn_calls" && c["column_name"] == "charge"),
        "{json}"
    );
    assert!(columns.iter().all(|c| c["table"].is_string()), "{json}");
    let csv = run(&["schema", "--lake", lake, "--format", "csv"])
        .ok()
        .stdout;
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("table,")).count(),
        1,
        "{csv}"
    );
    assert!(
        csv.contains("pstn_calls,charge,\"Decimal128(18, 6)\",YES"),
        "{csv}"
    );
}

/// `SELECT *` works in CSV (the format when piped): nested values, such as a call's
/// administrative units, are JSON text in their field.
#[test]
fn csv_writes_nested_values_as_json_text() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    ingest(&samples().join("pstn-beta-page.json"), &lake);
    let out = run(&[
        "sql",
        "SELECT * FROM pstn_calls",
        "--format",
        "csv",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            r#","[{""id"":""639b616c-f164-4a6f-a933-24936b8eb210""},{""id"":""cc6ea167-4e92-4c2d-9391-85791e978006""}]","#
        ),
        "{}",
        out.stdout
    );
}

/// The help says what a first run needs: sync's credentials and permission, the storage
/// variables of --lake, a whole sentence for ingest --table; `report` alone lists the reports;
/// `--html` says where the page went; `schema` explains the call types.
#[test]
fn help_and_bare_commands_say_what_a_user_needs() {
    let sync = run(&["sync", "--help"]).ok().stdout;
    for needed in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "CallRecords.Read.All application",
        "admin consent",
    ] {
        assert!(
            sync.contains(needed),
            "`{needed}` not in sync --help:\n{sync}"
        );
    }
    let report = run(&["report", "--help"]).ok().stdout;
    for needed in [
        "PSTN_LAKE",
        "AWS_ACCESS_KEY_ID",
        "AWS_ENDPOINT_URL",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ] {
        assert!(
            report.contains(needed),
            "`{needed}` not in --lake's help:\n{report}"
        );
    }
    let ingest = run(&["ingest", "--help"]).ok().stdout;
    assert!(
        ingest.contains("pstn_calls or direct_routing_calls"),
        "{ingest}"
    );

    let bare = run(&["report"]).ok();
    assert!(bare.stdout.contains("charges-by-country"), "{bare:?}");
    assert!(!bare.stderr.contains("Usage"), "{bare:?}");

    let (dir, lake) = fixture();
    let page = dir.path().join("all.html");
    let out = run(&[
        "report",
        "--html",
        page.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    assert!(
        out.stderr.contains(&format!("to {}", page.display())),
        "{}",
        out.stderr
    );

    let schema = run(&["schema", "--format", "csv"]).ok().stdout;
    let call_types: Vec<&str> = schema
        .lines()
        .filter(|l| l.contains(",call_type,"))
        .collect();
    assert_eq!(call_types.len(), 2, "{schema}");
    assert!(
        call_types[0].contains("ucap_in") && call_types[1].contains("ByotIn"),
        "{call_types:?}"
    );
}

/// SQL mistakes are said in the user's terms, once: the unknown column with a close match, the
/// unknown table with the lake's tables, where the SQL does not parse, the literal that is not a
/// date. The shell says the same.
#[test]
fn sql_errors_say_what_is_wrong() {
    let (_dir, lake) = fixture();
    let lake = lake.to_str().unwrap();
    for (sql, expected) in [
        (
            "SELECT chrge FROM pstn_calls",
            "there is no column `chrge`; did you mean `charge`?",
        ),
        (
            "SELECT * FROM pstn_call",
            "there is no table `pstn_call`: the lake's tables are direct_routing_calls, pstn_blocked_users, pstn_calls, pstn_dialout_report, sms_logs",
        ),
        (
            "SELEC 1",
            "the SQL does not parse: Expected: an SQL statement",
        ),
        (
            "SELECT count(*) FROM pstn_calls WHERE call_date >= '2026-13-01'",
            "'2026-13-01' is not a date: write 'YYYY-MM-DD'",
        ),
    ] {
        let out = run(&["sql", sql, "--lake", lake]).fails();
        assert!(out.stderr.contains(expected), "{sql}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{sql}: {}", out.stderr);
        assert!(
            !out.stderr.contains("datafusion.public") && !out.stderr.contains("Optimizer rule"),
            "{sql}: {}",
            out.stderr
        );
    }
    let out = run_with_stdin(&["shell", "--lake", lake], b"SELECT * FROM pstn_call;\n").fails();
    assert!(
        out.stderr.contains("there is no table `pstn_call`"),
        "{}",
        out.stderr
    );
}

/// `-v` is about pstn-lake: its own debug lines, none of DataFusion's, and no colour codes in a
/// pipe; `RUST_LOG` still turns DataFusion's on.
#[test]
fn verbose_logs_are_pstn_lakes_own_and_plain_in_a_pipe() {
    let (_dir, lake) = fixture();
    let lake = lake.to_str().unwrap();
    let out = run(&[
        "-v",
        "sql",
        "SELECT count(*) FROM pstn_calls",
        "--lake",
        lake,
    ])
    .ok();
    assert!(out.stderr.contains("pstn_lake"), "{}", out.stderr);
    assert!(
        out.stderr.lines().count() < 10 && !out.stderr.contains("datafusion"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\u{1b}'),
        "colour codes: {:?}",
        out.stderr
    );

    let out = bin()
        .args(["sql", "SELECT count(*) FROM pstn_calls", "--lake", lake])
        .env("RUST_LOG", "datafusion=debug")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("datafusion"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes: {stderr:?}");
}

#[test]
fn datafusion_variables_set_engine_options_and_a_bad_value_names_its_variable() {
    let (_dir, lake) = fixture();
    let lake = lake.to_str().unwrap();
    let setting = "SELECT value FROM information_schema.df_settings \
                   WHERE name = 'datafusion.execution.target_partitions'";
    let variable = "DATAFUSION_EXECUTION_TARGET_PARTITIONS";
    let out = run_with_env(
        &["sql", "--lake", lake, "--format", "csv", setting],
        &[(variable, Path::new("3"))],
    )
    .ok();
    assert_eq!(out.stdout, "value\n3\n");
    // One partition instead of one per core: the same report.
    let args = [
        "report",
        "charges-by-country",
        "--lake",
        lake,
        "--format",
        "csv",
    ];
    let one = run_with_env(&args, &[(variable, Path::new("1"))]).ok();
    assert_eq!(one.stdout, run(&args).ok().stdout);
    let bad = run_with_env(
        &["sql", "--lake", lake, "SELECT 1"],
        &[(variable, Path::new("many"))],
    )
    .fails();
    assert!(
        bad.stderr.contains(variable)
            && bad
                .stderr
                .contains("datafusion.execution.target_partitions"),
        "{}",
        bad.stderr
    );
}
