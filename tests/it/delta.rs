//! Delta Lake tables (`--table-format delta`): landed by `ingest` and `sync`, read by pstn-lake and
//! by two independent readers, the Python `deltalake` package and DuckDB's Delta extension
//! (delta-kernel), with the same rows, ids, exact sums and types as a Parquet lake of the same
//! pages.

use std::path::{Path, PathBuf};

use crate::helpers::*;

/// The Python that has `deltalake`, `duckdb==1.4.4` and `duckdb-ext-delta` (`scripts/test` makes
/// it: a virtualenv of its own, since the extension is built for that DuckDB).
fn delta_python() -> PathBuf {
    std::env::var_os("PSTN_LAKE_DELTA_PYTHON").map(PathBuf::from).expect(
        "PSTN_LAKE_DELTA_PYTHON names a Python with deltalake, duckdb==1.4.4 and duckdb-ext-delta: \
         scripts/test installs it and sets it",
    )
}

/// What each table's figures are grouped by and sum: (group column, summed column).
fn figures_of(table: &str) -> (&'static str, &'static str) {
    match table {
        "pstn_calls" => ("currency", "charge"),
        _ => ("call_type", "duration"),
    }
}

/// `table`'s figures per group as `group,rows,distinct ids,sum` lines (see [`figures_of`]), from
/// the Python `deltalake` package and from DuckDB's `delta_scan`, plus (from `deltalake`) the
/// types of the summed column, the start time and the day.
fn independent_readers(lake: &Path, table: &str) -> (String, String, String) {
    let (group, sum) = figures_of(table);
    let script = r#"
import sys, os, glob, collections
import deltalake, duckdb
path, table, group, total_of = sys.argv[1:5]
location = os.path.join(path, table)
t = deltalake.DeltaTable(location).to_pyarrow_table()
figures = collections.defaultdict(lambda: [0, set(), 0])
for row in t.select(["id", group, total_of]).to_pylist():
    f = figures[row[group] if row[group] is not None else "-"]
    f[0] += 1
    f[1].add(row["id"])
    if row[total_of] is not None:
        f[2] += row[total_of]
for c in sorted(figures):
    n, ids, total = figures[c]
    print(f"{c},{n},{len(ids)},{total:.6f}" if total_of == "charge" else f"{c},{n},{len(ids)},{total}")
print("--")
ext = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_ext", "extensions",
                             "v1.4.4", "linux_amd64", "delta.duckdb_extension"))[0]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{ext}'")
rows = con.execute(f"""
  SELECT coalesce({group}, '-'), count(*), count(DISTINCT id), CAST(coalesce(sum({total_of}), 0) AS VARCHAR)
  FROM delta_scan('{location}') GROUP BY 1 ORDER BY 1""").fetchall()
for r in rows:
    print(",".join(str(v) for v in r))
print("--")
for name in [total_of, "start_date_time", "call_date"]:
    print(name, t.schema.field(name).type)
"#;
    let out = std::process::Command::new(delta_python())
        .args(["-c", script, lake.to_str().unwrap(), table, group, sum])
        .output()
        .expect("the Delta readers' Python runs");
    assert!(
        out.status.success(),
        "the Delta readers failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let parts: Vec<&str> = text.split("--\n").collect();
    (
        parts[0].to_owned(),
        parts[1].to_owned(),
        parts[2].to_owned(),
    )
}

/// The same figures from pstn-lake's own SQL.
fn own_figures(lake: &Path, table: &str) -> String {
    let (group, sum) = figures_of(table);
    sql_rows(
        lake,
        &format!(
            "SELECT coalesce({group}, '-'), count(*), count(DISTINCT id), \
             CAST(coalesce(sum({sum}), 0) AS VARCHAR) FROM {table} GROUP BY 1 ORDER BY 1"
        ),
    )
    .into_iter()
    .map(|r| r.join(",") + "\n")
    .collect()
}

fn ingest_as(pages: &Path, lake: &Path, format: &str) -> Run {
    run(&[
        "ingest",
        pages.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--table-format",
        format,
    ])
}

#[test]
fn a_delta_lake_holds_what_a_parquet_lake_holds_for_every_reader() {
    let dir = crate::ddl::pages();
    let pages = dir.path().join("pages");
    let (delta, parquet) = (dir.path().join("delta"), dir.path().join("parquet"));
    ingest_as(&pages, &delta, "delta").ok();
    ingest_as(&pages, &parquet, "parquet").ok();
    assert!(delta.join("pstn_calls/_delta_log").is_dir());
    assert!(!parquet.join("pstn_calls/_delta_log").exists());
    for table in ["pstn_calls", "direct_routing_calls"] {
        let expected = own_figures(&parquet, table);
        assert!(expected.lines().count() >= 2, "{table}: {expected}");
        assert_eq!(own_figures(&delta, table), expected, "{table}: pstn-lake");
        let (deltalake, duckdb, types) = independent_readers(&delta, table);
        assert_eq!(deltalake, expected, "{table}: the deltalake package");
        assert_eq!(duckdb, expected, "{table}: DuckDB's delta_scan");
        let summed = if table == "pstn_calls" {
            "charge decimal128(18, 6)"
        } else {
            "duration int32"
        };
        assert_eq!(
            types,
            format!("{summed}\nstart_date_time timestamp[us, tz=UTC]\ncall_date date32[day]\n"),
            "{table}"
        );
    }
    // The format is the lake's: later commands use it without being told, and another is refused.
    run(&[
        "ingest",
        pages.to_str().unwrap(),
        "--lake",
        delta.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        own_figures(&delta, "pstn_calls"),
        own_figures(&parquet, "pstn_calls"),
        "landing the same pages again changes no figure"
    );
    // `ddl` prints Parquet registrations only: a Delta lake is refused with what to use instead.
    let ddl = run(&[
        "ddl",
        "--engine",
        "duckdb",
        "--lake",
        delta.to_str().unwrap(),
    ])
    .fails();
    assert!(ddl.stderr.contains("delta_scan("), "{}", ddl.stderr);
    let before = snapshot(&delta);
    let refused = ingest_as(&pages, &delta, "parquet").fails();
    assert!(
        refused.stderr.contains("holds delta tables, not parquet"),
        "{}",
        refused.stderr
    );
    assert_eq!(snapshot(&delta), before, "a refused ingest changes nothing");
    let refused = ingest_as(&pages, &parquet, "delta").fails();
    assert!(
        refused.stderr.contains("holds parquet tables, not delta"),
        "{}",
        refused.stderr
    );
}

#[test]
fn as_of_reads_the_figures_an_earlier_version_had() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let page = |name: &str, charge: &str| {
        let file = dir.path().join(name);
        std::fs::write(
            &file,
            pstn_page(&[
                pstn_row("1", "2026-11-01T08:00:00Z", charge, "EUR", "DE", 60),
                pstn_row("2", "2026-11-01T09:00:00Z", "0.5", "EUR", "DE", 60),
            ]),
        )
        .unwrap();
        file
    };
    ingest_as(&page("first.json", "1.25"), &lake, "delta").ok();
    // The invoice was paid; then Graph corrected the first call's charge.
    ingest_as(&page("second.json", "2.5"), &lake, "delta").ok();
    let total = |extra: &[&str]| {
        let mut args = vec![
            "sql",
            "SELECT CAST(sum(charge) AS VARCHAR) FROM pstn_calls",
            "--format",
            "csv",
            "--lake",
            lake.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    assert_eq!(total(&[]).ok().stdout.lines().nth(1), Some("3.000000"));
    assert_eq!(
        total(&["--as-of", "1"]).ok().stdout.lines().nth(1),
        Some("1.750000"),
        "version 1: the first landing"
    );
    let err = total(&["--as-of", "7"]).fails();
    assert!(
        err.stderr.contains("has no snapshot version 7"),
        "{}",
        err.stderr
    );
    let err = total(&["--as-of", "last tuesday"]).fails();
    assert!(err.stderr.contains("RFC 3339"), "{}", err.stderr);
    // A report reads the same snapshot.
    let report = run(&[
        "report",
        "charges-by-country",
        "--format",
        "csv",
        "--lake",
        lake.to_str().unwrap(),
        "--as-of",
        "1",
    ])
    .ok();
    assert!(report.stdout.contains("1.750000"), "{}", report.stdout);
    // The history lists the versions, newest first, with the days and rows of each.
    let history = run(&[
        "history",
        "pstn_calls",
        "--format",
        "csv",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    let listed: Vec<Vec<&str>> = history
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let columns = |row: &Vec<&str>| (row[1].to_owned(), row[3].to_owned(), row[5].to_owned());
    assert_eq!(
        listed.iter().map(columns).collect::<Vec<_>>(),
        [
            ("2".into(), "WRITE".into(), "2".into()),
            ("1".into(), "WRITE".into(), "2".into()),
            ("0".into(), "CREATE TABLE".into(), String::new()),
        ],
        "{}",
        history.stdout
    );
    assert!(
        history.stdout.contains("call_date IN ('2026-11-01')"),
        "{}",
        history.stdout
    );
    // A Parquet lake keeps no versions.
    let parquet = dir.path().join("parquet");
    ingest_as(&page("third.json", "1"), &parquet, "parquet").ok();
    let err = run(&[
        "sql",
        "SELECT 1",
        "--lake",
        parquet.to_str().unwrap(),
        "--as-of",
        "1",
    ])
    .fails();
    assert!(
        err.stderr.contains("holds Parquet tables"),
        "{}",
        err.stderr
    );
    let err = run(&["history", "--lake", parquet.to_str().unwrap()]).fails();
    assert!(err.stderr.contains("keep no history"), "{}", err.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_lands_exactly_the_simulator_s_calls_in_delta_tables() {
    use crate::sync::{assert_exact, config, start, sync};
    let sim = start(config("2026-06-01", 3, 300)).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let args = [
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-03",
        "--table-format",
        "delta",
    ];
    let out = sync(&sim, &lake, &args).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(lake.join("direct_routing_calls/_delta_log").is_dir());
    assert_exact(&lake, &sim, "2026-06-01", "2026-06-03").await;
    // A refetch merges every day again: nothing doubles.
    let out = sync(
        &sim,
        &lake,
        &["--from", "2026-06-01", "--to", "2026-06-03", "--refetch"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_exact(&lake, &sim, "2026-06-01", "2026-06-03").await;
    let lake2 = lake.clone();
    let (deltalake, duckdb, _) =
        tokio::task::spawn_blocking(move || independent_readers(&lake2, "pstn_calls"))
            .await
            .unwrap();
    let own = tokio::task::spawn_blocking(move || own_figures(&lake, "pstn_calls"))
        .await
        .unwrap();
    assert_eq!(deltalake, own);
    assert_eq!(duckdb, own);
}
