//! `ingest` of the simulator's pages: the report says what was read and written, per table and
//! day; bad input is a typed error and writes nothing.

use std::path::Path;

use pstn_lake_graph_sim::{ApiVersion, Tenant, TenantConfig};
use pstn_lake_pipeline::{Error, IngestOptions, Input, NoProgress, Table, ingest};
use serde_json::Value;

use crate::helpers::*;

/// Writes the tenant's pages of `table` as files under `dir`; returns how many rows they hold.
fn write_pages(tenant: &TenantConfig, table: Table, dir: &Path) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    let (mut n, mut rows) = (0, 0);
    Tenant::new(tenant.clone()).write_pages(
        function(table),
        ApiVersion::Beta,
        tenant.first_day,
        tenant.last_day(),
        300,
        |page| {
            let json: Value = serde_json::from_slice(&page).unwrap();
            rows += json["value"].as_array().unwrap().len() as u64;
            n += 1;
            std::fs::write(dir.join(format!("page-{n:03}.json")), page).unwrap();
        },
    );
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn ingested_pages_are_reported_per_table_and_day_and_a_second_ingest_changes_no_count() {
    let tenant = TenantConfig::new(11, day("2026-06-01"), 3, 500);
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    let pstn = write_pages(&tenant, Table::PstnCalls, &pages.join("pstn"));
    let dr = write_pages(&tenant, Table::DirectRoutingCalls, &pages.join("dr"));
    // A property the schema does not know, in one row.
    let first = pages.join("pstn/page-001.json");
    let mut page: Value = serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
    page["value"][0]["carbonGrams"] = Value::from(12.5);
    std::fs::write(&first, page.to_string()).unwrap();

    let (_lake_dir, lake) = lake();
    let inputs = Input::expand(&[pages.to_str().unwrap().to_owned()]).unwrap();
    assert!(inputs.len() > 2, "{inputs:?}");
    let options = IngestOptions::default().with_threads(Some(2));
    let report = ingest(&lake, &inputs, &options, &NoProgress).await.unwrap();
    assert_eq!(report.inputs, inputs.len());
    assert_eq!(report.rows_in, pstn + dr);
    assert_eq!(report.unknown, [("carbonGrams".to_owned(), 1)].into());
    let sim = Tenant::new(tenant.clone());
    for (table, rows) in [(Table::PstnCalls, pstn), (Table::DirectRoutingCalls, dr)] {
        let landed = &report.tables[&table];
        assert_eq!(landed.rows_in, rows, "{table}");
        let days: Vec<_> = landed.days.iter().map(|d| d.day).collect();
        assert_eq!(
            days,
            ["2026-06-01", "2026-06-02", "2026-06-03"].map(day),
            "{table}"
        );
        for d in &landed.days {
            assert_eq!(d.rows_before, 0, "{table} {}", d.day);
            assert_eq!(
                d.rows_after,
                sim.expected(function(table), d.day, d.day).len() as u64,
                "{table} {}",
                d.day
            );
        }
    }
    assert!(
        report.to_string().contains(&format!(
            "ingested {} rows from {} inputs ({} pages)",
            pstn + dr,
            inputs.len(),
            report.pages
        )),
        "{report}"
    );

    // Idempotent: the same pages again leave every day as it was.
    let again = ingest(&lake, &inputs, &options, &NoProgress).await.unwrap();
    for (table, landed) in &again.tables {
        for (d, before) in landed.days.iter().zip(&report.tables[table].days) {
            assert_eq!(d.rows_before, before.rows_after, "{table} {}", d.day);
            assert_eq!(d.rows_after, before.rows_after, "{table} {}", d.day);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_another_table_is_refused_naming_the_table_it_looks_like() {
    let tenant = TenantConfig::new(11, day("2026-06-01"), 1, 20);
    let dir = tempfile::tempdir().unwrap();
    write_pages(&tenant, Table::PstnCalls, dir.path());
    // Without its @odata.context, a PSTN page read as Direct Routing.
    let file = dir.path().join("page-001.json");
    let mut page: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    page.as_object_mut().unwrap().remove("@odata.context");
    std::fs::write(&file, page.to_string()).unwrap();

    let (lake_dir, lake) = lake();
    let outcome = ingest(
        &lake,
        &[Input::File(file.clone())],
        &IngestOptions::default().with_table(Some(Table::DirectRoutingCalls)),
        &NoProgress,
    )
    .await;
    let Err(Error::NothingWritten(error)) = outcome else {
        panic!("{outcome:?}");
    };
    let Error::WrongTable {
        input,
        page,
        table,
        like,
        ..
    } = *error
    else {
        panic!("{error:?}");
    };
    assert_eq!(input, file.display().to_string());
    assert_eq!(
        (page, table, like),
        (1, Table::DirectRoutingCalls, Some(Table::PstnCalls))
    );
    assert!(
        !lake_dir.path().join("lake").exists(),
        "a failed ingest left a lake"
    );

    // A missing input is named.
    let missing = Input::expand(&["/nonexistent/page.json".to_owned()]);
    assert!(
        matches!(&missing, Err(Error::Read { path, .. }) if path == "/nonexistent/page.json"),
        "{missing:?}"
    );
}
