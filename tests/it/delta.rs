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

/// Where the independent readers find a lake: its location, the `deltalake` package's storage
/// options (JSON), DuckDB's extensions and setup statements, and the readers' environment.
struct Readers {
    location: String,
    storage_options: String,
    duckdb_extensions: &'static [&'static str],
    duckdb_setup: String,
    env: Vec<(&'static str, String)>,
}

impl Readers {
    fn local(lake: &Path) -> Readers {
        Readers {
            location: lake.to_str().unwrap().to_owned(),
            storage_options: "{}".into(),
            duckdb_extensions: &[],
            duckdb_setup: String::new(),
            env: Vec::new(),
        }
    }

    /// moto's S3 at `port`, the lake under bucket `lake`.
    fn s3(location: &str, port: u16) -> Readers {
        Readers {
            location: location.to_owned(),
            storage_options: format!(
                r#"{{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:{port}", "AWS_ALLOW_HTTP": "true"}}"#
            ),
            duckdb_extensions: &["httpfs"],
            duckdb_setup: format!(
                "CREATE SECRET (TYPE s3, KEY_ID 'test', SECRET 'test', REGION 'us-east-1', \
                 ENDPOINT '127.0.0.1:{port}', URL_STYLE 'path', USE_SSL false)"
            ),
            env: Vec::new(),
        }
    }

    /// Azurite's blob service at `port`.
    fn azurite(location: &str, port: u16) -> Readers {
        let key = crate::stores::AZURITE_KEY;
        Readers {
            location: location.to_owned(),
            storage_options: r#"{"azure_storage_use_emulator": "true"}"#.into(),
            duckdb_extensions: &["azure"],
            duckdb_setup: format!(
                "CREATE SECRET (TYPE azure, CONNECTION_STRING 'DefaultEndpointsProtocol=http;\
                 AccountName=devstoreaccount1;AccountKey={key};\
                 BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;')"
            ),
            env: vec![(
                "AZURITE_BLOB_STORAGE_URL",
                format!("http://127.0.0.1:{port}"),
            )],
        }
    }
}

/// `table`'s figures per group as `group,rows,distinct ids,sum` lines (see [`figures_of`]), from
/// the Python `deltalake` package and from DuckDB's `delta_scan`, plus (from `deltalake`) the
/// types of the summed column, the start time and the day.
fn independent_readers(lake: &Path, table: &str) -> (String, String, String) {
    independent_readers_at(&Readers::local(lake), table)
}

fn independent_readers_at(at: &Readers, table: &str) -> (String, String, String) {
    let (group, sum) = figures_of(table);
    let script = r#"
import sys, os, glob, json, collections
import deltalake, duckdb
lake, table, group, total_of, options, extensions, setup = sys.argv[1:8]
location = lake.rstrip("/") + "/" + table
t = deltalake.DeltaTable(location, storage_options=json.loads(options)).to_pyarrow_table()
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
extensions_dir = os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_ext", "extensions",
                              "v1.4.4", "linux_amd64")
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
for name in [e for e in extensions.split(",") if e] + ["delta"]:
    con.execute(f"LOAD '{glob.glob(os.path.join(extensions_dir, name + '.duckdb_extension'))[0]}'")
if setup:
    con.execute(setup)
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
        .args([
            "-c",
            script,
            &at.location,
            table,
            group,
            sum,
            &at.storage_options,
            &at.duckdb_extensions.join(","),
            &at.duckdb_setup,
        ])
        .envs(at.env.iter().map(|(k, v)| (k, v)))
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
    own_figures_at(lake.to_str().unwrap(), table, &|_| {})
}

fn own_figures_at(lake: &str, table: &str, env: &dyn Fn(&mut std::process::Command)) -> String {
    let (group, sum) = figures_of(table);
    let query = format!(
        "SELECT coalesce({group}, '-'), count(*), count(DISTINCT id), \
         CAST(coalesce(sum({sum}), 0) AS VARCHAR) FROM {table} GROUP BY 1 ORDER BY 1"
    );
    let out = crate::stores::run_env(&["sql", &query, "--format", "csv", "--lake", lake], env).ok();
    out.stdout
        .lines()
        .skip(1)
        .map(|l| l.to_owned() + "\n")
        .collect()
}

/// `table`'s figures (as [`own_figures`]) from DuckDB running the `ddl --engine duckdb` script.
fn duckdb_through_ddl(script: &str, table: &str) -> String {
    let (group, sum) = figures_of(table);
    let program = r#"
import sys, os, glob, duckdb
script, table, group, total_of = sys.argv[1:5]
ext = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_ext", "extensions",
                             "v1.4.4", "linux_amd64", "delta.duckdb_extension"))[0]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
# What `INSTALL delta` does once per machine, from the wheel instead of the network.
con.execute(f"LOAD '{ext}'")
con.execute(script)
rows = con.execute(f"""
  SELECT coalesce({group}, '-'), count(*), count(DISTINCT id), CAST(coalesce(sum({total_of}), 0) AS VARCHAR)
  FROM {table} GROUP BY 1 ORDER BY 1""").fetchall()
for r in rows:
    print(",".join(str(v) for v in r))
"#;
    let out = std::process::Command::new(delta_python())
        .args(["-c", program, script, table, group, sum])
        .output()
        .expect("DuckDB's Python runs");
    assert!(
        out.status.success(),
        "DuckDB failed on the ddl script: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every report of the catalog, as CSV, over `lake` (with `extra` arguments, e.g. `--as-of`).
fn every_report(lake: &Path, extra: &[&str]) -> Vec<(String, String)> {
    let names = report_names();
    assert!(names.len() >= 10, "{names:?}");
    names
        .into_iter()
        .map(|name| {
            let mut args = vec![
                "report",
                name.as_str(),
                "--format",
                "csv",
                "--lake",
                lake.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            let out = run(&args).ok().stdout;
            (name.clone(), out)
        })
        .collect()
}

#[test]
fn convert_keeps_every_report_and_vacuum_ends_what_as_of_reads() {
    let dir = crate::ddl::pages();
    let pages = dir.path().join("pages");
    let lake = dir.path().join("lake");
    let at = lake.to_str().unwrap();
    ingest_as(&pages, &lake, "parquet").ok();
    // The data files (the tables' Parquet files outside their Delta logs), with their bytes.
    let data_files = |lake: &Path| {
        snapshot(lake)
            .into_iter()
            .filter(|(f, _)| {
                f.extension().is_some_and(|e| e == "parquet")
                    && !f.to_string_lossy().contains("_delta_log")
            })
            .collect::<Vec<_>>()
    };
    let day_files = |lake: &Path| data_files(lake).len();
    let files_before = data_files(&lake);
    let before = every_report(&lake, &[]);
    // The upkeep commands are for Delta lakes.
    let err = run(&["vacuum", "--lake", at]).fails();
    assert!(
        err.stderr.contains("holds Parquet tables"),
        "{}",
        err.stderr
    );

    let out = run(&["convert", "--to", "delta", "--lake", at]).ok();
    assert!(
        out.stderr
            .contains("pstn_calls: now a Delta table (3 data files, none rewritten)"),
        "{}",
        out.stderr
    );
    assert!(lake.join("pstn_calls/_delta_log").is_dir());
    // No data file rewritten: the same files, byte for byte.
    let files_after = data_files(&lake);
    assert_eq!(files_after, files_before);
    assert_eq!(
        every_report(&lake, &[]),
        before,
        "every report reads the same after convert"
    );
    let again = run(&["convert", "--to", "delta", "--lake", at]).ok();
    assert!(
        again.stderr.contains("pstn_calls: already a Delta table"),
        "{}",
        again.stderr
    );
    let (deltalake, _, types) = independent_readers(&lake, "pstn_calls");
    assert_eq!(deltalake, own_figures(&lake, "pstn_calls"));
    assert!(types.starts_with("charge decimal128(18, 6)\n"), "{types}");

    // A later landing changes a day; version 0 (the conversion) still reads as before.
    let page = dir.path().join("late.json");
    std::fs::write(
        &page,
        pstn_page(&[pstn_row(
            "late-1",
            "2026-03-01T10:00:00Z",
            "9.5",
            "EUR",
            "DE",
            60,
        )]),
    )
    .unwrap();
    run(&["ingest", page.to_str().unwrap(), "--lake", at]).ok();
    let after = every_report(&lake, &[]);
    assert_ne!(after, before, "the late call is in the latest version");
    assert_eq!(
        every_report(&lake, &["--as-of", "0"]),
        before,
        "version 0 reads as before"
    );
    assert_eq!(
        day_files(&lake),
        2 * 3 + 1,
        "the replaced day file stays for version 0"
    );

    // Vacuum: below the table's retention only with --force; a dry run deletes nothing.
    let err = run(&["vacuum", "--retain-hours", "0", "--lake", at]).fails();
    assert!(
        err.stderr.contains("--retain-hours 0 is shorter"),
        "{}",
        err.stderr
    );
    assert_eq!(
        run(&["vacuum", "--lake", at]).ok().stdout,
        "",
        "nothing is a week old"
    );
    std::thread::sleep(std::time::Duration::from_millis(10));
    let dry = run(&[
        "vacuum",
        "--retain-hours",
        "0",
        "--force",
        "--dry-run",
        "--lake",
        at,
    ])
    .ok();
    assert_eq!(
        dry.stdout, "pstn_calls/call_date=2026-03-01/data.parquet\n",
        "{}",
        dry.stderr
    );
    assert!(
        dry.stderr.contains("pstn_calls: 1 files would be deleted"),
        "{}",
        dry.stderr
    );
    assert_eq!(day_files(&lake), 7);
    let done = run(&["vacuum", "--retain-hours", "0", "--force", "--lake", at]).ok();
    assert_eq!(done.stdout, dry.stdout);
    assert_eq!(day_files(&lake), 6);
    let err = run(&["report", "charges-by-country", "--lake", at, "--as-of", "0"]).fails();
    assert!(
        err.stderr.contains("pstn_calls version 0 can no longer be read: 1 of its 3 data files were deleted by a vacuum"),
        "{}",
        err.stderr
    );
    assert_eq!(
        every_report(&lake, &[]),
        after,
        "the latest version is whole"
    );
    // pstn-lake's commits leave one file a day: nothing to compact.
    let optimized = run(&["optimize", "--lake", at]).ok();
    assert!(
        optimized
            .stderr
            .contains("pstn_calls: 0 days compacted, 0 files into 0"),
        "{}",
        optimized.stderr
    );
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
    // `ddl` registers the Delta tables: DuckDB runs the printed statements (its Delta extension
    // loaded as the script says) and gets the same figures.
    let ddl = run(&[
        "ddl",
        "--engine",
        "duckdb",
        "--lake",
        delta.to_str().unwrap(),
    ])
    .ok();
    assert!(ddl.stdout.contains("delta_scan("), "{}", ddl.stdout);
    assert!(!ddl.stdout.contains("read_parquet("), "{}", ddl.stdout);
    for table in ["pstn_calls", "direct_routing_calls"] {
        assert_eq!(
            duckdb_through_ddl(&ddl.stdout, table),
            own_figures(&parquet, table),
            "{table}: DuckDB over `ddl --engine duckdb`"
        );
    }
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

/// Lands `pages` in Delta tables on `lake` twice (idempotent), then checks the lake holds exactly
/// the tenant's rows and that the `deltalake` package and DuckDB's `delta_scan` read the figures
/// pstn-lake reads, with the same types.
fn lands_and_reads_the_same(
    lake: &str,
    pages: &Path,
    tenant: &pstn_lake_graph_sim::Tenant,
    env: &dyn Fn(&mut std::process::Command),
    readers: &Readers,
) {
    use crate::stores::{assert_exact, run_env};
    for _ in 0..2 {
        let args = [
            "ingest",
            pages.to_str().unwrap(),
            "--lake",
            lake,
            "--table-format",
            "delta",
        ];
        run_env(&args, env).ok();
    }
    assert_exact(lake, tenant, env);
    for table in ["pstn_calls", "direct_routing_calls"] {
        let own = own_figures_at(lake, table, env);
        assert!(own.lines().count() >= 2, "{lake} {table}: {own}");
        let (deltalake, duckdb, types) = independent_readers_at(readers, table);
        assert_eq!(deltalake, own, "{lake} {table}: the deltalake package");
        assert_eq!(duckdb, own, "{lake} {table}: DuckDB's delta_scan");
        assert!(
            types.contains("start_date_time timestamp[us, tz=UTC]\ncall_date date32[day]"),
            "{types}"
        );
    }
    let history = run_env(
        &["history", "pstn_calls", "--format", "csv", "--lake", lake],
        env,
    )
    .ok();
    assert_eq!(
        history.stdout.lines().count(),
        1 + 3,
        "created, then two commits: {}",
        history.stdout
    );
}

#[test]
fn delta_tables_on_s3_and_azure_read_the_same_in_every_reader() {
    use crate::stores::{az_env, azurite, moto, pages, s3_env};
    let s3 = moto();
    let az = azurite();
    let dir = tempfile::tempdir().unwrap();
    let (pages, tenant) = pages(dir.path(), 2);
    lands_and_reads_the_same(
        "s3://lake/teams",
        &pages,
        &tenant,
        &|c| s3_env(c, &s3),
        &Readers::s3("s3://lake/teams", s3.port),
    );
    lands_and_reads_the_same(
        "az://lake/teams",
        &pages,
        &tenant,
        &|c| az_env(c, &az),
        &Readers::azurite("az://lake/teams", az.port),
    );
}

/// Two `ingest`s started together on one Delta lake, each with half of every day's pages: each
/// either lands or stops with the lock's message (and then lands when run again), and the lake
/// ends exact.
fn two_writers_at_once(lake: &str, env: &dyn Fn(&mut std::process::Command)) {
    use crate::stores::{assert_exact, pages};
    let dir = tempfile::tempdir().unwrap();
    let (all, tenant) = pages(dir.path(), 3);
    let halves = [dir.path().join("a"), dir.path().join("b")];
    let mut files: Vec<PathBuf> = std::fs::read_dir(&all)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for (i, file) in files.iter().enumerate() {
        let half = &halves[i % 2];
        std::fs::create_dir_all(half).unwrap();
        std::fs::copy(file, half.join(file.file_name().unwrap())).unwrap();
    }
    let args = |half: &Path| -> Vec<String> {
        [
            "ingest",
            half.to_str().unwrap(),
            "--lake",
            lake,
            "--table-format",
            "delta",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let children: Vec<_> = halves
        .iter()
        .map(|half| {
            let mut cmd = bin();
            cmd.args(args(half))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            env(&mut cmd);
            cmd.spawn().unwrap()
        })
        .collect();
    let outcomes: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let mut landed = 0;
    for (out, half) in outcomes.iter().zip(&halves) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            landed += 1;
            continue;
        }
        assert!(
            stderr.contains("is writing to this lake; wait for it to finish"),
            "a writer that did not land says why: {stderr}"
        );
        // Both have finished: run again, it lands.
        let again: Vec<String> = args(half);
        let again: Vec<&str> = again.iter().map(String::as_str).collect();
        crate::stores::run_env(&again, env).ok();
    }
    assert!(landed >= 1, "at least one of two writers lands at once");
    assert_exact(lake, &tenant, env);
}

#[test]
fn two_writers_at_once_on_a_local_delta_lake_leave_it_exact() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    two_writers_at_once(lake.to_str().unwrap(), &|_| {});
}

#[test]
fn two_writers_at_once_on_an_s3_delta_lake_leave_it_exact() {
    let s3 = crate::stores::moto();
    two_writers_at_once("s3://lake/teams", &|c| crate::stores::s3_env(c, &s3));
}

/// `--from`/`--to` prune a Delta table's day partitions as they do a Parquet lake's: a damaged
/// file of a day outside the range is never opened (and is, when the range includes it), and a
/// one-day plan lists that day's file only.
#[test]
fn from_and_to_prune_delta_partitions_in_every_report() {
    let dir = crate::ddl::pages();
    let lake = dir.path().join("lake");
    ingest_as(&dir.path().join("pages"), &lake, "delta").ok();
    let day_file = |table: &str, day: &str| -> PathBuf {
        let folder = lake.join(format!("{table}/call_date={day}"));
        let files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    };
    let plan = run(&[
        "sql",
        "EXPLAIN SELECT sum(charge) FROM pstn_calls WHERE call_date = DATE '2026-03-02'",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok()
    .stdout;
    let name = |p: PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        plan.contains(&name(day_file("pstn_calls", "2026-03-02"))),
        "{plan}"
    );
    for other in ["2026-03-01", "2026-03-03"] {
        assert!(
            !plan.contains(&name(day_file("pstn_calls", other))),
            "{plan}"
        );
    }
    std::fs::write(day_file("pstn_calls", "2026-03-03"), b"not parquet").unwrap();
    std::fs::write(
        day_file("direct_routing_calls", "2026-03-03"),
        b"not parquet",
    )
    .unwrap();
    // This lake holds the two call tables only: the reports whose rows come from the beta logs
    // (no block, no signal to check, no SMS or dial-out) read nothing here. Their pruning is shown
    // on the Parquet lake (tests/it/reports.rs) through the same session.
    let beta_log_reports = [
        "blocked-users",
        "credits-dialout",
        "fraud-signal-check",
        "sms-charges",
    ];
    let names: Vec<String> = report_names()
        .into_iter()
        .filter(|n| !beta_log_reports.contains(&n.as_str()))
        .collect();
    for name in &names {
        let at = lake.to_str().unwrap();
        run(&["report", name, "--lake", at, "--to", "2026-03-02"]).ok();
        let out = run(&["report", name, "--lake", at]).fails();
        assert!(out.stderr.contains("arquet"), "{name}: {}", out.stderr);
    }
}

/// `ddl` on a Delta lake registers Delta tables in every engine (never the day folders as
/// Parquet, which hold replaced files too), and leaves a table without a log commented out, with
/// a note.
#[test]
fn ddl_registers_delta_tables_in_every_engine() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let page = dir.path().join("page.json");
    std::fs::write(
        &page,
        pstn_page(&[pstn_row(
            "1",
            "2026-11-01T08:00:00Z",
            "1.5",
            "EUR",
            "DE",
            60,
        )]),
    )
    .unwrap();
    ingest_as(&page, &lake, "delta").ok();
    let ddl = |args: &[&str]| {
        let mut all = vec!["ddl", "--lake", lake.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&all).ok()
    };
    let at = lake.to_str().unwrap();
    let spark = ddl(&["--engine", "spark"]);
    assert!(
        spark.stdout.contains(&format!(
            "\nCREATE TABLE IF NOT EXISTS `pstn_calls`\nUSING DELTA\nLOCATION 'file://{at}/pstn_calls';\n"
        )),
        "{}",
        spark.stdout
    );
    assert!(
        spark
            .stdout
            .contains("\n-- CREATE TABLE IF NOT EXISTS `direct_routing_calls`\n"),
        "no Delta log yet: commented out: {}",
        spark.stdout
    );
    assert!(
        spark
            .stderr
            .contains("note: the lake holds no day of direct_routing_calls yet"),
        "{}",
        spark.stderr
    );
    let trino = ddl(&["--engine", "trino", "--schema", "teams"]);
    assert!(
        trino.stdout.contains(&format!(
            "\nCALL \"delta\".system.register_table(schema_name => 'teams', table_name => 'pstn_calls', table_location => 'file://{at}/pstn_calls');\n"
        )),
        "{}",
        trino.stdout
    );
    assert!(
        trino
            .stdout
            .contains("CREATE SCHEMA IF NOT EXISTS \"delta\".\"teams\";"),
        "{}",
        trino.stdout
    );
    let athena = ddl(&["--engine", "athena", "--location", "s3://finance/teams"]);
    assert!(
        athena.stdout.contains(
            "\nCREATE EXTERNAL TABLE IF NOT EXISTS `default`.`pstn_calls`\nLOCATION 's3://finance/teams/pstn_calls/'\nTBLPROPERTIES ('table_type' = 'DELTA');\n"
        ),
        "{}",
        athena.stdout
    );
    for (engine, out) in [("spark", &spark), ("trino", &trino), ("athena", &athena)] {
        for parquet_only in [
            "USING PARQUET",
            "MSCK REPAIR",
            "sync_partition_metadata",
            "STORED AS PARQUET",
            "read_parquet",
        ] {
            assert!(
                !out.stdout.contains(parquet_only),
                "{engine}: {parquet_only}: {}",
                out.stdout
            );
        }
        assert!(
            out.stdout.contains("onelake.dfs.fabric.microsoft.com"),
            "{engine}: the Fabric note"
        );
    }
}
