//! `sync` against the Graph simulator: the report says what landed, what was skipped, and why a
//! run stopped.

use std::collections::BTreeMap;

use pstn_lake_pipeline::{Days, Error, NoProgress, SyncOptions, Table, rebuild, sync};

use crate::helpers::*;

fn range(from: &str, to: &str) -> Days {
    Days::default()
        .with_from(Some(day(from)))
        .with_to(Some(day(to)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_reports_the_rows_the_simulator_served_and_a_second_run_skips_them() {
    let sim = start(config("2026-06-01", 4, 600)).await;
    let (_dir, lake) = lake();
    // Days 2 to 3 of 4: PSTN's inclusive toDateTime returns day 4's midnight row with day 3,
    // and it must not land.
    let options = SyncOptions::default()
        .with_days(range("2026-06-02", "2026-06-03"))
        .with_concurrency(2);
    let progress = Recorder::default();
    let report = sync(
        &lake,
        graph(&sim),
        credentials(&sim),
        &options,
        &progress,
        std::future::pending(),
    )
    .await
    .unwrap();
    let want: BTreeMap<Table, u64> = Table::CALLS
        .into_iter()
        .map(|t| (t, expected_rows(&sim, t, "2026-06-02", "2026-06-03")))
        .collect();
    assert_eq!(report.rows, want);
    assert_eq!(
        (
            report.days_planned,
            report.days_written,
            report.days_skipped
        ),
        (4, 4, 0)
    );
    assert_eq!(report.days_unfinished, 0);
    assert_eq!(report.pages, sim.stats().pages_served);
    assert_eq!((report.retries, report.throttled), (0, 0));
    assert_eq!(report.tokens, 1);
    assert!(
        report.unknown.is_empty(),
        "the simulator serves only known properties: {:?}",
        report.unknown
    );
    // The progress heard of every day, with the rows the report counts.
    let mut days = progress.days.lock().unwrap().clone();
    days.sort();
    assert_eq!(days.len(), 4);
    for table in Table::CALLS {
        let landed: u64 = days.iter().filter(|d| d.0 == table).map(|d| d.2).sum();
        assert_eq!(landed, want[&table], "{table}");
    }
    // The summary the CLI prints.
    assert!(
        report
            .to_string()
            .contains("4 days written, 0 days already complete"),
        "{report}"
    );

    // The same range again: every day is complete, nothing is fetched.
    let requests = sim.stats().graph_requests;
    let again = sync(
        &lake,
        graph(&sim),
        credentials(&sim),
        &options,
        &NoProgress,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(
        (again.days_planned, again.days_written, again.days_skipped),
        (0, 0, 4)
    );
    assert!(again.rows.is_empty(), "{again:?}");
    assert_eq!(
        sim.stats().graph_requests,
        requests,
        "a complete day was fetched"
    );

    // With refetch, every day is fetched and written again, to the same rows.
    let refetched = sync(
        &lake,
        graph(&sim),
        credentials(&sim),
        &options.clone().with_refetch(true),
        &NoProgress,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!((refetched.days_written, refetched.days_skipped), (4, 0));
    assert_eq!(refetched.rows, want);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_pages_rebuild_the_same_rows_without_graph() {
    let sim = start(config("2026-06-01", 2, 400)).await;
    let (dir, lake) = lake();
    let synced = sync(
        &lake,
        graph(&sim),
        credentials(&sim),
        &SyncOptions::default()
            .with_days(range("2026-06-01", "2026-06-02"))
            .with_keep_raw(true),
        &NoProgress,
        std::future::pending(),
    )
    .await
    .unwrap();
    for table in Table::CALLS {
        std::fs::remove_dir_all(dir.path().join("lake").join(table.name())).unwrap();
    }
    let requests = sim.stats().requests;
    let rebuilt = rebuild(&lake, &Days::default(), &NoProgress).await.unwrap();
    assert_eq!(sim.stats().requests, requests, "rebuild called Graph");
    assert_eq!(rebuilt.rows, synced.rows);
    assert_eq!(
        rebuilt.days,
        Table::CALLS.into_iter().map(|t| (t, 2)).collect()
    );
    assert!(
        rebuilt.to_string().starts_with(&format!(
            "rebuilt 4 days ({} rows)",
            synced.rows.values().sum::<u64>()
        )),
        "{rebuilt}"
    );

    // One table, one day.
    let one = rebuild(
        &lake,
        &Days::default()
            .with_tables([Table::DirectRoutingCalls])
            .with_from(Some(day("2026-06-02"))),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(
        one.rows,
        BTreeMap::from([(
            Table::DirectRoutingCalls,
            expected_rows(&sim, Table::DirectRoutingCalls, "2026-06-02", "2026-06-02")
        )])
    );

    // A range without an archived day.
    let none = rebuild(
        &lake,
        &Days::default().with_from(Some(day("2026-07-01"))),
        &NoProgress,
    )
    .await;
    assert!(matches!(none, Err(Error::NoRawDays { .. })), "{none:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_stops_the_sync_naming_the_table_and_day() {
    let sim = start(config("2026-06-01", 1, 10).with_forbidden(true)).await;
    let (dir, lake) = lake();
    let outcome = sync(
        &lake,
        graph(&sim),
        credentials(&sim),
        &SyncOptions::default()
            .with_days(range("2026-06-01", "2026-06-01").with_tables([Table::PstnCalls])),
        &NoProgress,
        std::future::pending(),
    )
    .await;
    let Err(Error::Stopped { so_far, source }) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        matches!(*source, Error::Fetch { table: Table::PstnCalls, day: d, .. } if d == day("2026-06-01")),
        "{source:?}"
    );
    assert_eq!((so_far.days_planned, so_far.days_written), (1, 0));
    assert!(
        !dir.path().join("lake").exists(),
        "a failed first sync left a lake"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_ends_the_sync_as_interrupted_and_an_empty_range_is_an_error() {
    let sim =
        start(config("2026-06-01", 3, 100).with_latency(std::time::Duration::from_millis(200)))
            .await;
    let (_dir, lake) = lake();
    let outcome = sync(
        &lake,
        graph(&sim),
        credentials(&sim),
        &SyncOptions::default().with_days(range("2026-06-01", "2026-06-03")),
        &NoProgress,
        std::future::ready(()),
    )
    .await;
    let Err(Error::Stopped { so_far, source }) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(matches!(*source, Error::Interrupted), "{source:?}");
    assert_eq!(so_far.days_planned, 6);
    assert_eq!(so_far.days_written, 0);

    let outcome = sync(
        &lake,
        graph(&sim),
        credentials(&sim),
        &SyncOptions::default().with_days(range("2026-06-03", "2026-06-02")),
        &NoProgress,
        std::future::pending(),
    )
    .await;
    assert!(matches!(outcome, Err(Error::EmptyRange)), "{outcome:?}");
    sim.shutdown().await;
}
