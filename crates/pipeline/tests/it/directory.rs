//! The `users` directory table through `sync` against the Graph simulator: a first full listing,
//! then `/users/delta` changes only, a snapshot written on exactly the days the directory
//! changed (each equal to the simulator's directory of that day), a 410 Gone that restarts with a
//! full listing, saved pages landed with `ingest --day`, and a refused `User.Read.All` that leaves
//! the directory out while the calls land.

use pstn_lake_fetch::directory::{UserRow, from_batches};
use pstn_lake_graph_sim::{DirectoryUser, TenantConfig, Traffic};
use pstn_lake_pipeline::{
    Days, Error, IngestOptions, Input, NoProgress, SyncOptions, Table, ingest, table_spec,
};
use pstn_lake_sink::read_day;

use crate::beta_logs::sync_sim;
use crate::helpers::*;

const FIRST: &str = "2026-06-01";
const DAYS: u32 = 35;

fn tenant() -> pstn_lake_graph_sim::SimConfig {
    config(FIRST, DAYS, 40)
        .with_tenant(TenantConfig::new(7, day(FIRST), DAYS, 40).with_traffic(Traffic::Business))
}

/// A sync of the directory alone, as of `today`.
async fn sync_users(
    sim: &pstn_lake_graph_sim::RunningSim,
    lake: &pstn_lake_pipeline::Lake,
    today: chrono::NaiveDate,
) -> pstn_lake_pipeline::Result<pstn_lake_pipeline::SyncReport> {
    let options = SyncOptions::default()
        .with_days(Days::default().with_tables([Table::Users]))
        .with_today(today);
    sync_sim(sim, lake, &options, &NoProgress).await
}

/// The simulator's directory user as the lake's row holds it.
fn row_of(u: &DirectoryUser) -> (Vec<Option<String>>, Option<bool>) {
    let text = [
        Some(u.id.clone()),
        Some(u.user_principal_name.clone()),
        Some(u.display_name.clone()),
        u.department.clone(),
        u.job_title.clone(),
        u.company_name.clone(),
        u.office_location.clone(),
        u.city.clone(),
        u.country.clone(),
        u.usage_location.clone(),
        u.employee_id.clone(),
        u.cost_center.clone(),
        u.division.clone(),
    ];
    (text.to_vec(), Some(u.account_enabled))
}

fn lake_row(r: &UserRow) -> (Vec<Option<String>>, Option<bool>) {
    (r.text.to_vec(), r.account_enabled)
}

/// The snapshot the lake holds for `d`.
async fn snapshot(lake: &pstn_lake_pipeline::Lake, d: chrono::NaiveDate) -> Vec<UserRow> {
    let batches = read_day(lake, &table_spec(Table::Users), d).await.unwrap();
    from_batches(&batches).unwrap()
}

/// The lake's snapshot of `d` is the simulator's directory of `d`, user for user, field for field.
async fn assert_snapshot(
    sim: &pstn_lake_graph_sim::RunningSim,
    lake: &pstn_lake_pipeline::Lake,
    d: chrono::NaiveDate,
) {
    let mut want: Vec<_> = sim.tenant().directory(d).iter().map(row_of).collect();
    want.sort();
    let rows = snapshot(lake, d).await;
    assert!(rows.iter().all(|r| r.removed.is_none()), "{d}: nobody left");
    let got: Vec<_> = rows.iter().map(lake_row).collect();
    assert_eq!(got, want, "snapshot {d}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_directory_lands_a_snapshot_on_exactly_the_days_it_changed() {
    let sim = start(tenant()).await;
    let (_dir, lake) = lake();
    let first = day(FIRST);
    let changes = sim.tenant().directory_changes();
    let change_days: std::collections::BTreeSet<_> = changes.iter().map(|c| c.day).collect();
    assert!(change_days.len() >= 3, "{changes:?}");

    // The first sync lists the whole directory.
    sim.set_directory_day(first);
    let report = sync_users(&sim, &lake, first).await.unwrap();
    let listed = sim.tenant().directory(first).len() as u64;
    assert_eq!(report.rows[&Table::Users], listed);
    assert_eq!(report.days_written, 1);
    assert_snapshot(&sim, &lake, first).await;
    let served = sim.stats().rows_served;
    assert_eq!(served, listed, "a full listing");

    // Then every day: a snapshot exactly on the days something changed, from the changes alone.
    for d in first.iter_days().skip(1).take(DAYS as usize - 1) {
        sim.set_directory_day(d);
        let before = sim.stats().rows_served;
        let report = sync_users(&sim, &lake, d).await.unwrap();
        let changed = changes.iter().filter(|c| c.day == d).count() as u64;
        assert_eq!(
            sim.stats().rows_served - before,
            changed,
            "{d}: only the changes are read"
        );
        if change_days.contains(&d) {
            assert_eq!(report.days_written, 1, "{d}");
            assert_snapshot(&sim, &lake, d).await;
        } else {
            assert_eq!(
                report.days_written, 0,
                "{d}: nothing changed, nothing written"
            );
            assert!(!report.rows.contains_key(&Table::Users), "{report}");
        }
    }
    let mut want: Vec<_> = change_days.iter().copied().collect();
    want.insert(0, first);
    assert_eq!(lake.days("users").await.unwrap(), want);
    assert!(
        std::fs::read_dir(_dir.path().join("lake/users"))
            .unwrap()
            .all(|e| e
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .starts_with("snapshot_date=")),
        "snapshot_date= partitions"
    );
    assert_eq!(sim.stats().sync_resets, 0);

    // A run again on the last day changes nothing.
    let last = sim.tenant().config().last_day();
    let report = sync_users(&sim, &lake, last).await.unwrap();
    assert_eq!(report.days_written, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_delta_link_restarts_with_a_full_listing() {
    let sim = start(tenant().with_delta_token_max_age_days(5)).await;
    let (_dir, lake) = lake();
    let first = day(FIRST);
    sim.set_directory_day(first);
    sync_users(&sim, &lake, first).await.unwrap();
    // Four weeks later the link is too old: Graph answers 410, and a full listing follows.
    let later = first + chrono::Duration::days(28);
    sim.set_directory_day(later);
    let before = sim.stats().rows_served;
    let report = sync_users(&sim, &lake, later).await.unwrap();
    assert_eq!(sim.stats().sync_resets, 1);
    let listed = sim.tenant().directory(later).len() as u64;
    assert_eq!(sim.stats().rows_served - before, listed);
    assert_eq!(report.days_written, 1);
    assert_snapshot(&sim, &lake, later).await;
    // The new link works: the next day reads only changes.
    let next = later + chrono::Duration::days(1);
    sim.set_directory_day(next);
    sync_users(&sim, &lake, next).await.unwrap();
    assert_eq!(sim.stats().sync_resets, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_directory_pages_land_as_the_snapshot_of_their_day() {
    let sim = start(tenant()).await;
    let (dir, lake) = lake();
    let last = sim.tenant().config().last_day();
    // The simulator's full listing of its last day, saved as Graph served it (in 25-user pages).
    let users = sim.tenant().directory(last);
    let pages: Vec<String> = users
        .chunks(25)
        .map(|chunk| {
            let rows: Vec<String> = chunk
                .iter()
                .map(|u| {
                    serde_json::json!({
                        "id": u.id, "userPrincipalName": u.user_principal_name,
                        "displayName": u.display_name, "department": u.department,
                        "jobTitle": u.job_title, "companyName": u.company_name,
                        "officeLocation": u.office_location, "city": u.city,
                        "country": u.country, "usageLocation": u.usage_location,
                        "employeeId": u.employee_id,
                        "employeeOrgData": u.cost_center.as_ref().map(|c| serde_json::json!({
                            "costCenter": c, "division": u.division })),
                        "accountEnabled": u.account_enabled,
                    })
                    .to_string()
                })
                .collect();
            format!(r#"{{"value":[{}]}}"#, rows.join(","))
        })
        .collect();
    let file = dir.path().join("users.json");
    std::fs::write(&file, pages.join("\n")).unwrap();
    let inputs = Input::expand(&[file.display().to_string()]).unwrap();
    let options = IngestOptions::default().with_table(Some(Table::Users));
    // Without the day, nothing lands and the error says what to give.
    let err = ingest(&lake, &inputs, &options, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoSnapshotDay { .. }), "{err}");
    assert!(err.to_string().contains("--day YYYY-MM-DD"), "{err}");
    let options = options.with_day(Some(last));
    let report = ingest(&lake, &inputs, &options, &NoProgress).await.unwrap();
    assert_eq!(report.tables[&Table::Users].rows_in, users.len() as u64);
    assert_snapshot(&sim, &lake, last).await;
    // Twice: nothing changed, nothing written.
    let report = ingest(&lake, &inputs, &options, &NoProgress).await.unwrap();
    assert!(report.tables.is_empty(), "{report}");
    assert_eq!(lake.days("users").await.unwrap(), [last]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_user_read_all_the_directory_is_left_out_and_the_calls_land() {
    let sim = start(tenant().with_missing_user_read_all()).await;
    let (_dir, lake) = lake();
    let last = sim.tenant().config().last_day();
    let options = SyncOptions::default()
        .with_days(
            Days::default()
                .with_tables([Table::PstnCalls, Table::Users])
                .with_from(Some(day(FIRST)))
                .with_to(Some(last)),
        )
        .with_today(last + chrono::Duration::days(1));
    let report = sync_sim(&sim, &lake, &options, &NoProgress).await.unwrap();
    assert!(report.is_partial());
    let reason = &report.skipped_tables[&Table::Users].reason;
    assert!(reason.contains("User.Read.All"), "{reason}");
    assert_eq!(
        report.rows[&Table::PstnCalls],
        expected_rows(&sim, Table::PstnCalls, FIRST, &last.to_string())
    );
    assert!(lake.days("users").await.unwrap().is_empty());
}

#[cfg(feature = "delta")]
#[tokio::test(flavor = "multi_thread")]
async fn a_delta_lake_keeps_the_snapshots_as_snapshot_date_partitions() {
    let sim = start(tenant()).await;
    let (dir, lake) = lake();
    let first = day(FIRST);
    let change = sim.tenant().directory_changes()[0].day;
    for d in [first, change] {
        sim.set_directory_day(d);
        let options = SyncOptions::default()
            .with_days(Days::default().with_tables([Table::Users]))
            .with_table_format(Some(pstn_lake_pipeline::TableFormat::Delta))
            .with_today(d);
        let report = sync_sim(&sim, &lake, &options, &NoProgress).await.unwrap();
        assert_eq!(report.days_written, 1, "{d}");
        // Read back through the Delta log (the day's files in the latest snapshot).
        assert_snapshot(&sim, &lake, d).await;
    }
    assert!(dir.path().join("lake/users/_delta_log").is_dir());
    assert_eq!(lake.days("users").await.unwrap(), [first, change]);
    let delta = pstn_lake_sink::delta_table(&lake, "users", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        delta.snapshot().unwrap().metadata().partition_columns(),
        &["snapshot_date".to_owned()]
    );
}
