//! The report catalog checked case by case against `tests/reports/*.slt`: each case is a
//! `pstn-lake` command line run on a lake landed from the fixture pages in
//! `tests/reports/fixture/`, and the exact output it must print. The expected outputs were derived
//! without the SQL under test, by `tests/reports/derive.py` (plain Python over the fixture JSON)
//! and in part by hand; the `.slt` files are the checked-in truth.
//!
//! A case: a command line (arguments split on whitespace; the runner adds `--lake`; a
//! `--mapping` file is relative to the repository root), a `----` line, and the expected standard
//! output up to the next blank line. `---- error` instead means the command must fail and its
//! standard error must contain the text that follows.
//! `PSTN_LAKE_SLT=monthly` runs only the files whose name contains `monthly`.

use std::path::{Path, PathBuf};

use crate::helpers::*;

/// `tests/reports`.
fn reports_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reports")
}

/// The `.json` files of `tests/reports/<name>`, in name (date) order.
fn fixture_days(name: &str) -> Vec<PathBuf> {
    let mut days: Vec<PathBuf> = std::fs::read_dir(reports_dir().join(name))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    days.sort();
    days
}

/// Lands the fixture pages into `dir/lake` with `pstn-lake ingest`: `fixture/` at once, then each
/// day's dial-out report in `fixture-dialout/` with its day (the file's name), then each
/// directory listing in `fixture-users/` as the `users` snapshot of its day, in date order.
fn fixture_lake(dir: &Path) -> PathBuf {
    fixture_lake_as(dir, &[])
}

/// [`fixture_lake`], its first `ingest` given `extra` arguments (`--table-format delta`).
pub(crate) fn fixture_lake_as(dir: &Path, extra: &[&str]) -> PathBuf {
    let lake = dir.join("lake");
    let lake_arg = lake.to_str().unwrap();
    let fixture = reports_dir().join("fixture");
    let mut args = vec!["ingest", fixture.to_str().unwrap(), "--lake", lake_arg];
    args.extend_from_slice(extra);
    run(&args).ok();
    for page in fixture_days("fixture-dialout") {
        let day = page.file_stem().unwrap().to_str().unwrap().to_owned();
        run(&[
            "ingest",
            page.to_str().unwrap(),
            "--day",
            &day,
            "--lake",
            lake_arg,
        ])
        .ok();
    }
    for listing in fixture_days("fixture-users") {
        let day = listing.file_stem().unwrap().to_str().unwrap().to_owned();
        run(&[
            "ingest",
            listing.to_str().unwrap(),
            "--table",
            "users",
            "--day",
            &day,
            "--lake",
            lake_arg,
        ])
        .ok();
    }
    lake
}

#[derive(Debug)]
struct Case {
    /// The line of the command, 1-based.
    line: usize,
    command: String,
    fails: bool,
    expected: String,
}

fn parse(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut cases = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let marker = lines.get(i + 1).copied().unwrap_or_default();
        let fails = match marker.trim_end() {
            "----" => false,
            "---- error" => true,
            other => panic!(
                "{}:{}: `{line}` must be followed by `----` or `---- error`, not `{other}`",
                path.display(),
                i + 2
            ),
        };
        let mut end = i + 2;
        while end < lines.len() && !lines[end].trim().is_empty() {
            end += 1;
        }
        let mut expected = lines[i + 2..end].join("\n");
        if !expected.is_empty() && !fails {
            expected.push('\n');
        }
        cases.push(Case {
            line: i + 1,
            command: line.to_owned(),
            fails,
            expected,
        });
        i = end;
    }
    cases
}

/// A line diff of `expected` and `actual`: ` ` both, `-` expected only, `+` actual only.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("  {}\n", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("- {}\n", a[i]);
            i += 1;
        } else {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        }
    }
    out
}

fn slt_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(reports_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    files
}

#[test]
fn reports_match_their_slt_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(dir.path());
    let only = std::env::var("PSTN_LAKE_SLT").ok();
    let (mut ran, mut failures) = (0, Vec::new());
    for file in slt_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        for case in parse(&file) {
            ran += 1;
            let words: Vec<&str> = case.command.split_whitespace().collect();
            // A file a case names (`--mapping FILE.csv`) is relative to the repository root,
            // whatever directory the test runs in.
            let mut args: Vec<String> = Vec::new();
            for (i, word) in words.iter().enumerate() {
                if i > 0 && words[i - 1] == "--mapping" && Path::new(word).is_relative() {
                    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(word);
                    args.push(file.to_str().unwrap().to_owned());
                } else {
                    args.push((*word).to_owned());
                }
            }
            args.extend(["--lake".to_owned(), lake.to_str().unwrap().to_owned()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run(&args);
            let at = format!("{name}:{}: pstn-lake {}", case.line, case.command);
            if case.fails {
                if out.code == 0 {
                    failures.push(format!(
                        "{at}\nshould have failed; it printed:\n{}",
                        out.stdout
                    ));
                } else if !out.stderr.contains(&case.expected) {
                    failures.push(format!(
                        "{at}\nstandard error does not contain `{}`:\n{}",
                        case.expected, out.stderr
                    ));
                }
            } else if out.code != 0 {
                failures.push(format!("{at}\nfailed: {}", out.stderr));
            } else if out.stdout != case.expected {
                failures.push(format!(
                    "{at}\n--- expected ({name})\n+++ actual\n{}",
                    diff(&case.expected, &out.stdout)
                ));
            }
        }
    }
    assert!(ran > 0, "no case ran (PSTN_LAKE_SLT={only:?})");
    assert!(
        failures.is_empty(),
        "{} of {ran} report cases differ:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every report has its `.slt` file, with an empty date range among its cases.
#[test]
fn every_report_has_slt_cases_with_an_empty_range() {
    let list = run(&["report", "--list"]).ok().stdout;
    let names: Vec<&str> = list
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 11, "{list}");
    for name in names {
        let file = reports_dir().join(format!("{name}.slt"));
        assert!(file.exists(), "no {}", file.display());
        let cases = parse(&file);
        assert!(
            cases.iter().any(|c| c.command.contains("--from 2027-")
                && !c.fails
                && c.expected.lines().count() <= 1),
            "{name}.slt has no empty date range case"
        );
    }
}

/// The `.slt` expectations are still what the independent derivation computes from the fixture.
#[test]
fn slt_files_agree_with_the_python_derivation() {
    let out = std::process::Command::new("python3")
        .arg(reports_dir().join("derive.py"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "tests/reports/derive.py disagrees with the .slt files:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `.slt` case that prints rows gives the same rows in DuckDB: the report's own SQL (with
/// the dialect rewrites `bench/catalog_check.py` lists) over the views `ddl --engine duckdb`
/// prints, on the fixture lake (Python's duckdb from the test virtualenv).
#[test]
fn reports_give_the_same_answers_in_duckdb() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("bench/catalog_check.py"))
        .args(["--fixtures", "--bin", env!("CARGO_BIN_EXE_pstn-lake")])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB disagrees with pstn-lake (run scripts/test to install duckdb):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("give the same answers"), "{printed}");
}

#[test]
fn list_shows_each_reports_options_and_show_sql_its_header() {
    let list = run(&["report", "--list"]).ok().stdout;
    let lines: Vec<&str> = list.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("direct-routing-quality "))
        .expect("listed");
    assert!(
        lines[at].contains("Direct Routing quality: "),
        "{}",
        lines[at]
    );
    assert_eq!(lines[at + 1].trim(), "options: --from --to --user --limit");
    assert!(
        list.contains("options: --from --to --currency --country --user --limit"),
        "{list}"
    );
    let sql = run(&["report", "monthly-cost", "--show-sql"]).ok().stdout;
    assert!(sql.starts_with("-- Monthly cost: "), "{sql}");
    assert!(
        sql.contains("\n-- Chart: line x=month y=total_charge split=currency\n"),
        "{sql}"
    );
    assert!(sql.contains("\n-- Parameters: "), "{sql}");
}

/// `--output FILE.parquet` writes Parquet that an independent reader (DuckDB) reads back with
/// decimal money and the same values; other extensions pick their text format.
#[test]
fn output_files_keep_types_and_pick_their_format() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(dir.path());
    let lake = lake.to_str().unwrap();
    let parquet = dir.path().join("charges.parquet");
    let out = run(&[
        "report",
        "charges-by-user",
        "--currency",
        "USD",
        "--output",
        parquet.to_str().unwrap(),
        "--lake",
        lake,
    ])
    .ok();
    assert_eq!(out.stdout, "");
    let script = format!(
        r#"
import duckdb
rows = duckdb.sql("""
  SELECT user_principal_name, CAST(total_charge AS VARCHAR), CAST(typeof(total_charge) AS VARCHAR),
         CAST(typeof(minutes) AS VARCHAR)
  FROM read_parquet('{}') ORDER BY rank""").fetchall()
for r in rows:
    print(",".join(str(v) for v in r))
"#,
        parquet.display()
    );
    let read = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3 runs");
    assert!(
        read.status.success(),
        "DuckDB from Python is needed for this test (.ci/run installs it: pip install duckdb): {}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "carol.jones@contoso.com,5.863456,DECIMAL(37,6),DECIMAL(24,2)\n\
         (no user: auto attendant / call queue),0.300000,DECIMAL(37,6),DECIMAL(24,2)\n\
         dan.smith@contoso.com,0.000000,DECIMAL(37,6),DECIMAL(24,2)\n"
    );

    // The extension picks the format; --format wins over it.
    let ndjson = dir.path().join("rows.jsonl");
    run(&[
        "sql",
        "SELECT currency, sum(charge) AS charge FROM pstn_calls WHERE currency = 'USD' GROUP BY currency",
        "-o",
        ndjson.to_str().unwrap(),
        "--lake",
        lake,
    ])
    .ok();
    assert_eq!(
        std::fs::read_to_string(&ndjson).unwrap(),
        "{\"currency\":\"USD\",\"charge\":6.153456}\n"
    );
    let md = dir.path().join("rows.txt");
    run(&[
        "report",
        "direct-routing-quality",
        "--limit",
        "1",
        "--format",
        "markdown",
        "-o",
        md.to_str().unwrap(),
        "--lake",
        lake,
    ])
    .ok();
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .starts_with("| trunk | calls | successful |"),
        "{}",
        md.display()
    );
    let out = run(&[
        "report",
        "daily-volume",
        "-o",
        dir.path().join("days.xlsx").to_str().unwrap(),
        "--lake",
        lake,
    ])
    .fails();
    assert!(
        out.stderr.contains("cannot tell the format of"),
        "{}",
        out.stderr
    );
    // No temporary file is left behind, and nothing but what was asked for was written.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["charges.parquet", "lake", "rows.jsonl", "rows.txt"],
        "{names:?}"
    );
}

/// Ad-hoc SQL gets the same formats: floats never in exponent form, UTC times a spreadsheet reads.
#[test]
fn sql_text_formats_are_spreadsheet_ready() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(dir.path());
    let out = run(&[
        "sql",
        "SELECT start_date_time, CAST(duration AS DOUBLE) * 1e15 AS big, 1e-7 AS small \
         FROM pstn_calls WHERE id LIKE '%0017'",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        out.stdout,
        "start_date_time,big,small\n2026-10-17 01:30:00,2400000000000000000,0.0000001\n"
    );
    let out = run(&[
        "sql",
        "SELECT 1 AS one WHERE false",
        "--format",
        "json",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(out.stdout, "[]\n");
}

/// `--from`/`--to` prune whole day partitions in every report: a day outside the range is never
/// opened, so a damaged file there does not matter (and does when the range includes it).
/// toll-fraud-signals and fraud-signal-check read the history before `--from` (new destinations),
/// so only `--to` prunes them.
#[test]
fn from_and_to_prune_day_partitions_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let lake = fixture_lake(dir.path());
    let damage = |table: &str, day: &str| {
        let file = lake.join(format!("{table}/call_date={day}/data.parquet"));
        assert!(file.is_file(), "{}", file.display());
        std::fs::write(file, b"not parquet").unwrap();
    };
    let names = report_names();
    let report = |name: &str, range: &[&str]| {
        let mut args = vec!["report", name, "--lake", lake.to_str().unwrap()];
        args.extend_from_slice(range);
        run(&args)
    };
    damage("pstn_calls", "2026-11-30");
    damage("direct_routing_calls", "2026-11-09");
    // pstn_blocked_users is not damaged here: toll-fraud-signals' blocked_utc looks at every
    // block after a call, past --to (the table holds a row per block: it is small).
    damage("sms_logs", "2026-11-30");
    damage("pstn_dialout_report", "2026-11-20");
    for name in &names {
        report(name, &["--to", "2026-11-08"]).ok();
        let out = report(name, &[]).fails();
        assert!(out.stderr.contains("arquet"), "{name}: {}", out.stderr);
    }
    // blocked-users reads the calls of the 7 days before --from: 2026-09-24 on.
    damage("pstn_calls", "2026-09-01");
    damage("sms_logs", "2026-09-02");
    damage("pstn_blocked_users", "2026-09-25");
    // The signals read the history before --from (new destinations): only --to prunes them.
    for name in names
        .iter()
        .filter(|n| !matches!(n.as_str(), "toll-fraud-signals" | "fraud-signal-check"))
    {
        report(name, &["--from", "2026-10-01", "--to", "2026-11-08"]).ok();
    }
}

/// Every report's SQL, mutated (comparison operators, coalesce/nullif/lower removed, AND/OR,
/// DISTINCT, join and grouping keys, rounding, sort order, constants), fails at least one `.slt`
/// case: `tests/reports/mutate.py` prints each survivor and the score, and fails under 95 %.
/// About two minutes on two cores.
#[test]
fn report_sql_mutants_are_killed_by_the_slt_cases() {
    let out = std::process::Command::new("python3")
        .arg(reports_dir().join("mutate.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_pstn-lake"), "--min", "95"])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tests/reports/mutate.py: too many report SQL mutants survive:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("mutation score: "), "{stdout}");
}
