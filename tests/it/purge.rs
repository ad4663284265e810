//! `pstn-lake purge --before DATE`: the days before the date go (rows, raw pages), the snapshot of
//! the directory in force on the date stays, and every report over the days kept prints what it
//! printed before the purge, on a Parquet lake and on a Delta lake.

use std::path::Path;

use crate::helpers::*;
use crate::reports::fixture_lake_as;
use crate::sync::{config, start, sync};

/// Every report that reads the days kept, with `--from` the purge date, as printed before.
fn reports_from(lake: &str, from: Option<&str>) -> Vec<String> {
    [
        "charges-by-department",
        "monthly-cost",
        "charges-by-country",
        "sms-charges",
    ]
    .iter()
    .map(|name| {
        let mut args = vec!["report", name, "--format", "csv", "--lake", lake];
        if let Some(from) = from {
            args.extend(["--from", from]);
        }
        run(&args).ok().stdout
    })
    .collect()
}

fn days(lake: &str, table: &str, column: &str) -> String {
    run(&[
        "sql",
        &format!("SELECT DISTINCT CAST({column} AS VARCHAR) AS d FROM {table} ORDER BY d"),
        "--format",
        "csv",
        "--lake",
        lake,
    ])
    .ok()
    .stdout
}

fn purges_the_days_before_and_keeps_the_snapshot_in_force(dir: &Path, format: &[&str]) {
    let lake = fixture_lake_as(dir, format);
    let lake = lake.to_str().unwrap();
    let before = reports_from(lake, Some("2026-10-01"));
    let users_before = days(lake, "users", "snapshot_date");
    assert_eq!(
        users_before,
        "d\n2026-09-10\n2026-10-17\n2026-11-10\n2026-11-20\n"
    );

    // A dry run lists the day folders and deletes nothing.
    let dry = run(&[
        "purge",
        "--before",
        "2026-10-01",
        "--dry-run",
        "--lake",
        lake,
    ])
    .ok();
    assert!(
        dry.stdout.contains("pstn_calls/call_date=2026-09-01\n"),
        "{}",
        dry.stdout
    );
    assert!(
        !dry.stdout.lines().any(|l| l.starts_with("users/")),
        "{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("would be deleted"), "{}", dry.stderr);
    assert!(
        dry.stderr.contains("the snapshot of 2026-09-10 stays"),
        "{}",
        dry.stderr
    );
    assert!(days(lake, "pstn_calls", "call_date").contains("2026-09-01"));

    let out = run(&["purge", "--before", "2026-10-01", "--lake", lake]).ok();
    assert!(
        out.stderr.contains("pstn_calls:") && out.stderr.contains("days deleted"),
        "{}",
        out.stderr
    );
    let pstn_days = days(lake, "pstn_calls", "call_date");
    assert!(!pstn_days.contains("2026-09-"), "{pstn_days}");
    assert!(pstn_days.contains("2026-10-"), "{pstn_days}");
    // The snapshot of 2026-09-10 stays: October is charged as of it until 2026-10-17.
    assert_eq!(days(lake, "users", "snapshot_date"), users_before);
    // Every figure over the days kept is what it was.
    assert_eq!(reports_from(lake, None), before);

    // Purged again from the day of a snapshot: the older one is no longer needed.
    run(&[
        "purge",
        "--before",
        "2026-10-17",
        "--tables",
        "users",
        "--lake",
        lake,
    ])
    .ok();
    assert_eq!(
        days(lake, "users", "snapshot_date"),
        "d\n2026-10-17\n2026-11-10\n2026-11-20\n"
    );
    assert_eq!(reports_from(lake, Some("2026-10-17")), {
        // The same as charging from 2026-10-17 with every snapshot: checked against a fresh
        // lake.
        let fresh = tempfile::tempdir().unwrap();
        let fresh_lake = fixture_lake_as(fresh.path(), format);
        reports_from(fresh_lake.to_str().unwrap(), Some("2026-10-17"))
    });
}

#[test]
fn purge_deletes_the_days_before_the_date_of_a_parquet_lake() {
    let dir = tempfile::tempdir().unwrap();
    purges_the_days_before_and_keeps_the_snapshot_in_force(dir.path(), &[]);
    // No folder of a purged day is left behind.
    let folders: Vec<String> = std::fs::read_dir(dir.path().join("lake/pstn_calls"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!folders.is_empty());
    assert!(
        folders.iter().all(|f| f.as_str() >= "call_date=2026-10-01"),
        "{folders:?}"
    );
}

#[test]
fn purge_commits_a_delete_on_a_delta_lake() {
    let dir = tempfile::tempdir().unwrap();
    purges_the_days_before_and_keeps_the_snapshot_in_force(
        dir.path(),
        &["--table-format", "delta"],
    );
    let lake = dir.path().join("lake");
    let history = run(&[
        "history",
        "pstn_calls",
        "--format",
        "csv",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    assert!(history.stdout.contains("DELETE"), "{}", history.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_deletes_the_raw_pages_of_the_days_too() {
    let sim = start(config("2026-06-01", 4, 30)).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    sync(
        &sim,
        &lake,
        &["--from", "2026-06-01", "--to", "2026-06-04", "--keep-raw"],
    )
    .await
    .ok();
    let raw = lake.join("_raw/pstn_calls");
    assert!(raw.join("call_date=2026-06-01").exists());
    run(&[
        "purge",
        "--before",
        "2026-06-03",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    assert!(!raw.join("call_date=2026-06-01").exists());
    assert!(!raw.join("call_date=2026-06-02").exists());
    assert!(raw.join("call_date=2026-06-03").exists());
    assert!(!lake.join("pstn_calls/call_date=2026-06-02").exists());
    assert!(lake.join("pstn_calls/call_date=2026-06-03").exists());
}
