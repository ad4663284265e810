//! The beta-only call-record logs (`sms_logs`, `pstn_blocked_users`, `pstn_dialout_report`)
//! through `sync` and `ingest` against the Graph simulator: exactly the rows and money it holds,
//! re-runs that change nothing, a table Graph refuses left out while the others land, and the
//! tables a sync fetches when none is named.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray};
use arrow::datatypes::Decimal128Type;
use pstn_lake_graph_sim::{ApiVersion, ExpectedRow, Function, TenantConfig, Traffic};
use pstn_lake_pipeline::{
    Days, Error, IngestOptions, Input, NoProgress, SyncOptions, Table, ingest, sync, table_spec,
};
use pstn_lake_sink::read_day;

use crate::helpers::*;

const FIRST: &str = "2026-06-01";
const LAST: &str = "2026-07-05";

/// A business tenant of five weeks: two fraud episodes (none under four weeks), and so blocked
/// users.
fn business() -> pstn_lake_graph_sim::SimConfig {
    config(FIRST, 35, 100)
        .with_tenant(TenantConfig::new(7, day(FIRST), 35, 100).with_traffic(Traffic::Business))
}

/// A sync of `sim` into `lake` as `options` say, run to its end.
pub(crate) async fn sync_sim(
    sim: &pstn_lake_graph_sim::RunningSim,
    lake: &pstn_lake_pipeline::Lake,
    options: &SyncOptions,
    progress: &dyn pstn_lake_pipeline::Progress,
) -> pstn_lake_pipeline::Result<pstn_lake_pipeline::SyncReport> {
    sync(
        lake,
        graph(sim),
        credentials(sim),
        options,
        progress,
        std::future::pending(),
    )
    .await
}

/// A sync of `tables` over the tenant's days, as of a day after them (every day is over).
fn every_day_options(tables: &[Table]) -> SyncOptions {
    SyncOptions::default()
        .with_days(every_day(tables))
        .with_today(day("2026-08-01"))
}

fn every_day(tables: &[Table]) -> Days {
    Days::default()
        .with_tables(tables.iter().copied())
        .with_from(Some(day(FIRST)))
        .with_to(Some(day(LAST)))
}

/// Every row `table` holds in `lake` over the tenant's days: key → (money in millionths, the
/// integer column that counts: SMS units or dial-out calls).
async fn landed(
    lake: &pstn_lake_pipeline::Lake,
    table: Table,
) -> BTreeMap<String, (Option<i128>, Option<i32>)> {
    let spec = table_spec(table);
    let (money, count) = match table {
        Table::SmsLogs => ("call_charge", Some("sms_units")),
        Table::PstnDialoutReport => ("total_call_charge", Some("total_calls")),
        _ => ("", None),
    };
    let mut rows = BTreeMap::new();
    for d in day(FIRST).iter_days().take_while(|d| *d <= day(LAST)) {
        for batch in read_day(lake, &spec, d).await.unwrap() {
            let keys = batch
                .column_by_name(table.key())
                .unwrap()
                .as_string::<i32>()
                .clone();
            for i in 0..batch.num_rows() {
                let charge = batch.column_by_name(money).map(|c| {
                    let c = c.as_primitive::<Decimal128Type>();
                    c.is_valid(i).then(|| c.value(i))
                });
                let units = count.map(|name| {
                    let c = batch.column_by_name(name).unwrap();
                    c.as_primitive::<arrow::datatypes::Int32Type>().value(i)
                });
                // A dial-out key is unique within its day: the day is the partition.
                let key = match table {
                    Table::PstnDialoutReport => format!("{}@{d}", keys.value(i)),
                    _ => keys.value(i).to_owned(),
                };
                let previous = rows.insert(key, (charge.flatten(), units));
                assert!(previous.is_none(), "{table}: key {} twice", keys.value(i));
            }
        }
    }
    rows
}

/// What the simulator holds for `table` over the tenant's days, as [`landed`] reads it: the
/// blocked-users key is Graph's remediation, user and time; the dial-out key its grouping.
fn expected(
    sim: &pstn_lake_graph_sim::RunningSim,
    table: Table,
) -> BTreeMap<String, (Option<i128>, Option<i32>)> {
    let rows: Vec<ExpectedRow> = sim
        .tenant()
        .expected(function(table), day(FIRST), day(LAST));
    rows.into_iter()
        .map(|r| match table {
            Table::PstnBlockedUsers => (
                format!(
                    "{}|{}|{}",
                    r.id,
                    r.user_id.clone().unwrap_or_default(),
                    r.at.unwrap().format("%Y-%m-%dT%H:%M:%S%.6fZ")
                ),
                (None, None),
            ),
            Table::PstnDialoutReport => (format!("{}@{}", r.id, r.day), (r.charge_micros, r.units)),
            _ => (r.id.clone(), (r.charge_micros, r.units)),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_beta_logs_land_exactly_the_simulators_rows_and_money_and_a_refetch_changes_nothing() {
    let sim = start(business()).await;
    let (_dir, lake) = lake();
    // The lake's call tables sync with v1.0; the beta-only logs are asked of beta all the same.
    let options = every_day_options(&Table::LOGS);
    let report = sync_sim(&sim, &lake, &options, &NoProgress).await.unwrap();
    assert!(!report.is_partial(), "{report}");
    let logs = [
        Table::SmsLogs,
        Table::PstnBlockedUsers,
        Table::PstnDialoutReport,
    ];
    for table in logs {
        let want = expected(&sim, table);
        assert!(!want.is_empty(), "{table}: the simulator holds no rows");
        assert_eq!(report.rows[&table], want.len() as u64, "{table}");
        assert_eq!(landed(&lake, table).await, want, "{table}");
    }
    // Money to the millionth, summed per currency the way finance would.
    let sms = sim.tenant().expected(Function::Sms, day(FIRST), day(LAST));
    let mut by_currency: BTreeMap<String, i128> = BTreeMap::new();
    for r in &sms {
        *by_currency.entry(r.currency.clone().unwrap()).or_default() += r.charge_micros.unwrap();
    }
    assert!(by_currency.values().any(|v| *v > 0), "{by_currency:?}");

    // Every fraud episode's user was blocked after the episode, and one user without one.
    let blocked = sim
        .tenant()
        .expected(Function::BlockedUsers, day(FIRST), day(LAST));
    let episodes = sim.tenant().fraud_episodes();
    assert!(!episodes.is_empty());
    for e in &episodes {
        assert!(
            blocked.iter().any(|b| b.user_principal_name.as_deref()
                == Some(&e.user_principal_name)
                && b.block_mode.as_deref() == Some("blocked")
                && b.at.unwrap() > e.to),
            "{} was not blocked after {}",
            e.user_principal_name,
            e.to
        );
    }
    let fraudsters: BTreeSet<&str> = episodes
        .iter()
        .map(|e| e.user_principal_name.as_str())
        .collect();
    assert!(
        blocked
            .iter()
            .any(|b| !fraudsters.contains(b.user_principal_name.as_deref().unwrap()))
    );

    // Again, every day fetched: the same rows, none twice.
    let before: Vec<_> = {
        let mut all = Vec::new();
        for table in logs {
            all.push(landed(&lake, table).await);
        }
        all
    };
    let again = sync_sim(
        &sim,
        &lake,
        &options.clone().with_refetch(true),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(again.rows, report.rows);
    for (table, rows) in logs.into_iter().zip(before) {
        assert_eq!(landed(&lake, table).await, rows, "{table}");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_graph_refuses_is_left_out_naming_its_permission_and_the_others_land() {
    let sim = start(business().with_missing_permission(Function::Sms)).await;
    let (_dir, lake) = lake();
    let options = every_day_options(&[Table::PstnCalls, Table::SmsLogs]);
    let report = sync_sim(&sim, &lake, &options, &NoProgress).await.unwrap();
    assert!(report.is_partial());
    let reason = &report.skipped_tables[&Table::SmsLogs].reason;
    assert!(
        reason.contains("CallRecords.Read.All application permission"),
        "{reason}"
    );
    assert_eq!(
        report.rows[&Table::PstnCalls],
        expected_rows(&sim, Table::PstnCalls, FIRST, LAST)
    );
    assert!(!report.rows.contains_key(&Table::SmsLogs));
    assert!(
        report.to_string().contains("sms_logs was not synced"),
        "{report}"
    );
    // The refused table's remaining days were not asked for: one 403 per day in flight, not one per day.
    assert!(
        sim.stats().forbidden <= 4,
        "{} refusals",
        sim.stats().forbidden
    );

    // Refused alone, nothing can land: the run fails with Graph's refusal.
    let (_dir2, other) = crate::helpers::lake();
    let err = sync_sim(
        &sim,
        &other,
        &options.clone().with_days(every_day(&[Table::SmsLogs])),
        &NoProgress,
    )
    .await
    .unwrap_err();
    let Error::Stopped { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            source.as_ref(),
            Error::Fetch {
                table: Table::SmsLogs,
                ..
            }
        ),
        "{source:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_without_tables_fetches_those_the_lake_holds_and_a_table_named_once_stays() {
    let sim = start(business()).await;
    let (_dir, lake) = lake();
    let synced = |days: Days| {
        let options = SyncOptions::default()
            .with_days(
                days.with_from(Some(day(FIRST)))
                    .with_to(Some(day("2026-06-02"))),
            )
            .with_today(day("2026-08-01"))
            .with_refetch(true);
        let (lake, sim) = (&lake, &sim);
        async move {
            let progress = Recorder::default();
            sync_sim(sim, lake, &options, &progress).await.unwrap();
            let tables: BTreeSet<Table> =
                progress.days.lock().unwrap().iter().map(|d| d.0).collect();
            tables
        }
    };
    // A new lake: the two call tables.
    assert_eq!(synced(Days::default()).await, Table::CALLS.into());
    // Named once (even a day without rows of it) ...
    assert_eq!(
        synced(Days::default().with_tables([Table::PstnDialoutReport])).await,
        [Table::PstnDialoutReport].into()
    );
    // ... it is fetched by every later sync without a list.
    assert_eq!(
        synced(Days::default()).await,
        [
            Table::PstnCalls,
            Table::DirectRoutingCalls,
            Table::PstnDialoutReport
        ]
        .into()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_dialout_pages_land_with_their_day_and_without_it_are_refused_naming_the_flag() {
    let sim = start(business()).await;
    let dir = tempfile::tempdir().unwrap();
    let (_lake_dir, lake) = lake();
    // The simulator's pages of two one-day windows, as a user would have saved them.
    let mut files = Vec::new();
    for d in [day("2026-06-03"), day("2026-06-04")] {
        let mut n = 0;
        sim.tenant()
            .write_pages(Function::DialoutReport, ApiVersion::Beta, d, d, 2, |page| {
                n += 1;
                let path = dir.path().join(format!("{d}-{n}.json"));
                std::fs::write(&path, page).unwrap();
                files.push((d, path));
            });
    }
    let input = |d| {
        files
            .iter()
            .filter(|(fd, _)| *fd == d)
            .map(|(_, p)| Input::File(p.clone()))
            .collect::<Vec<_>>()
    };
    // Without --day: refused before anything lands, naming the flag.
    let err = ingest(
        &lake,
        &input(day("2026-06-03")),
        &IngestOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap_err();
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        chain.push_str(&format!(": {e}"));
        source = e.source();
    }
    assert!(chain.contains("nothing was written"), "{chain}");
    assert!(chain.contains("2026-06-03-"), "{chain}");
    assert!(chain.contains("--day YYYY-MM-DD"), "{chain}");
    assert!(lake.tables().await.unwrap().is_empty());

    for d in [day("2026-06-03"), day("2026-06-04")] {
        for _ in 0..2 {
            // Twice: a re-run changes nothing.
            ingest(
                &lake,
                &input(d),
                &IngestOptions::default().with_day(Some(d)),
                &NoProgress,
            )
            .await
            .unwrap();
        }
    }
    let want: BTreeMap<String, (Option<i128>, Option<i32>)> = sim
        .tenant()
        .expected(
            Function::DialoutReport,
            day("2026-06-03"),
            day("2026-06-04"),
        )
        .into_iter()
        .map(|r| (format!("{}@{}", r.id, r.day), (r.charge_micros, r.units)))
        .collect();
    let spec = table_spec(Table::PstnDialoutReport);
    let mut got = BTreeMap::new();
    for d in [day("2026-06-03"), day("2026-06-04")] {
        for batch in read_day(&lake, &spec, d).await.unwrap() {
            let keys = batch
                .column_by_name("row_key")
                .unwrap()
                .as_string::<i32>()
                .clone();
            let charge = batch
                .column_by_name("total_call_charge")
                .unwrap()
                .as_primitive::<Decimal128Type>()
                .clone();
            let calls = batch
                .column_by_name("total_calls")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int32Type>()
                .clone();
            for i in 0..batch.num_rows() {
                got.insert(
                    format!("{}@{d}", keys.value(i)),
                    (Some(charge.value(i)), Some(calls.value(i))),
                );
            }
        }
    }
    assert!(!want.is_empty());
    assert_eq!(got, want);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_beta_function_the_cloud_lacks_is_left_out_saying_so() {
    let sim = start(business().with_unavailable(Function::DialoutReport)).await;
    let (_dir, lake) = lake();
    let options = every_day_options(&[Table::PstnCalls, Table::PstnDialoutReport]);
    let report = sync_sim(&sim, &lake, &options, &NoProgress).await.unwrap();
    let reason = &report.skipped_tables[&Table::PstnDialoutReport].reason;
    assert!(
        reason.contains("does not serve getPstnOnlineMeetingDialoutReport")
            && reason.contains("Resource not found for the segment"),
        "{reason}"
    );
    assert_eq!(
        report.rows[&Table::PstnCalls],
        expected_rows(&sim, Table::PstnCalls, FIRST, LAST)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_sms_and_blocked_users_pages_land_exactly_the_simulators_rows_twice_alike() {
    let sim = start(business()).await;
    let dir = tempfile::tempdir().unwrap();
    let (_lake_dir, lake) = lake();
    // Each log's pages for the tenant's whole range, as a user would have saved them.
    let mut inputs = Vec::new();
    for (function, name) in [(Function::Sms, "sms"), (Function::BlockedUsers, "blocked")] {
        let mut n = 0;
        sim.tenant().write_pages(
            function,
            ApiVersion::Beta,
            day(FIRST),
            day(LAST),
            50,
            |page| {
                n += 1;
                let path = dir.path().join(format!("{name}-{n:03}.json"));
                std::fs::write(&path, page).unwrap();
                inputs.push(Input::File(path));
            },
        );
    }
    for _ in 0..2 {
        ingest(&lake, &inputs, &IngestOptions::default(), &NoProgress)
            .await
            .unwrap();
    }
    for table in [Table::SmsLogs, Table::PstnBlockedUsers] {
        let want = expected(&sim, table);
        assert!(!want.is_empty(), "{table}");
        assert_eq!(landed(&lake, table).await, want, "{table}");
    }
    sim.shutdown().await;
}
