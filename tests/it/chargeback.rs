//! `charges-by-department` on the simulator, where the truth is known: every call, SMS and
//! dial-out with its user and day, and the directory of every day (department moves included).
//! Each charge must go to the group its user belonged to on its day, users the directory does not
//! know to `(not in directory)`, and a `--mapping` must win over the directory.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use pstn_lake_graph_sim::{DirectoryChangeKind, Function, RunningSim, TenantConfig, Traffic};
use pstn_lake_pipeline::{Days, SyncOptions, Table};
use serde_json::Value;

use crate::helpers::*;
use crate::sync::{config, day, start, sync_lib};

/// Per (currency, group): users, calls, call charge, SMS, SMS charge, dial-out calls, dial-out
/// charge (money in millionths).
type Totals = BTreeMap<(String, String), (BTreeSet<String>, i64, i128, i64, i128, i64, i128)>;

/// [`Totals`] with the users counted: what the report prints.
type Counted = BTreeMap<(String, String), (u64, i64, i128, i64, i128, i64, i128)>;

/// A decimal as the JSON output writes it (a number or a string), in millionths.
fn micros(v: &Value) -> i128 {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let negative = int.starts_with('-');
    let int: i128 = int.trim_start_matches('-').parse().unwrap();
    let frac: i128 = format!("{frac:0<6}")[..6].parse().unwrap();
    let m = int * 1_000_000 + frac;
    if negative { -m } else { m }
}

/// What the report must say, from the simulator's rows and directory: `group(user_id, upn, day)`
/// names the group of a row with a user.
fn expected(sim: &RunningSim, group: &dyn Fn(&str, Option<&str>, NaiveDate) -> String) -> Totals {
    let (first, last) = (
        sim.tenant().config().first_day,
        sim.tenant().config().last_day(),
    );
    let mut totals = Totals::new();
    for (function, kind) in [
        (Function::Pstn, 0),
        (Function::Sms, 1),
        (Function::DialoutReport, 2),
    ] {
        for row in sim.tenant().expected(function, first, last) {
            let name = match &row.user_id {
                None => "(no user: auto attendant / call queue)".to_owned(),
                Some(id) => group(id, row.user_principal_name.as_deref(), row.day),
            };
            let currency = row.currency.clone().unwrap();
            let t = totals.entry((currency, name)).or_default();
            if let Some(id) = &row.user_id {
                t.0.insert(id.clone());
            }
            let money = row.charge_micros.unwrap_or(0) + row.connection_charge_micros.unwrap_or(0);
            match kind {
                0 => (t.1 += 1, t.2 += money),
                1 => (t.3 += 1, t.4 += money),
                _ => (t.5 += i64::from(row.units.unwrap_or(0)), t.6 += money),
            };
        }
    }
    totals
}

/// The report's rows as the same totals (users as a count in the set's place).
fn reported(lake: &str, extra: &[&str]) -> Counted {
    let mut args = vec![
        "report",
        "charges-by-department",
        "--format",
        "json",
        "--lake",
        lake,
    ];
    args.extend_from_slice(extra);
    let out = run(&args).ok();
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let mut got = BTreeMap::new();
    for r in rows {
        let key = (
            r["currency"].as_str().unwrap().to_owned(),
            r["charged_to"].as_str().unwrap().to_owned(),
        );
        let n = |k: &str| r[k].as_i64().unwrap();
        let total = micros(&r["total_charge"]);
        let parts = (
            micros(&r["call_charge"]),
            micros(&r["sms_charge"]),
            micros(&r["dialout_charge"]),
        );
        assert_eq!(total, parts.0 + parts.1 + parts.2, "{r}");
        let old = got.insert(
            key,
            (
                r["users"].as_u64().unwrap(),
                n("calls"),
                parts.0,
                n("sms"),
                parts.1,
                n("dialout_calls"),
                parts.2,
            ),
        );
        assert!(old.is_none(), "one row per currency and group: {r}");
    }
    got
}

fn counted(totals: Totals) -> Counted {
    totals
        .into_iter()
        .map(|(k, t)| (k, (t.0.len() as u64, t.1, t.2, t.3, t.4, t.5, t.6)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_charge_goes_to_the_group_of_its_day_unknown_users_apart_and_the_mapping_wins() {
    let (first, days) = ("2026-06-01", 35);
    let sim =
        start(config(first, days, 60).with_tenant(
            TenantConfig::new(7, day(first), days, 60).with_traffic(Traffic::Business),
        ))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let last = sim.tenant().config().last_day();

    // A snapshot of the directory on the first day and on each day a change took effect, as a
    // nightly sync would take them; then the calls, SMS and dial-outs of every day.
    let changes = sim.tenant().directory_changes();
    let mut snapshot_days: BTreeSet<NaiveDate> = changes.iter().map(|c| c.day).collect();
    snapshot_days.insert(day(first));
    for &d in &snapshot_days {
        sim.set_directory_day(d);
        let options = SyncOptions::default()
            .with_days(Days::default().with_tables([Table::Users]))
            .with_today(d);
        sync_lib(&sim, &lake, &options).await;
    }
    let options = SyncOptions::default()
        .with_days(
            Days::default()
                .with_tables([Table::PstnCalls, Table::SmsLogs, Table::PstnDialoutReport])
                .with_from(Some(day(first)))
                .with_to(Some(last)),
        )
        .with_today(last + chrono::Duration::days(1));
    sync_lib(&sim, &lake, &options).await;
    let lake = lake.to_str().unwrap().to_owned();
    // And one call of a user the directory does not know (a user since deleted for good, say).
    let page = dir.path().join("ghost.json");
    std::fs::write(
        &page,
        format!(
            r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)","value":[{{"id":"ghost-call","userId":"0000dead-0000-0000-0000-000000000000","userPrincipalName":"ghost@contoso.com","startDateTime":"{first}T10:00:00Z","charge":1.25,"currency":"EUR","duration":60}}]}}"#
        ),
    )
    .unwrap();
    run(&["ingest", page.to_str().unwrap(), "--lake", &lake]).ok();
    let ghost = |totals: &mut Totals| {
        let t = totals
            .entry(("EUR".to_owned(), "(not in directory)".to_owned()))
            .or_default();
        t.0.insert("0000dead-0000-0000-0000-000000000000".to_owned());
        t.1 += 1;
        t.2 += 1_250_000;
    };
    let expected = |group: &dyn Fn(&str, Option<&str>, NaiveDate) -> String| {
        let mut totals = expected(&sim, group);
        ghost(&mut totals);
        counted(totals)
    };

    // The directory of a day is the simulator's directory of that day (the snapshots cover it).
    let tenant = sim.tenant();
    let directories: BTreeMap<NaiveDate, Vec<pstn_lake_graph_sim::DirectoryUser>> = day(first)
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| (d, tenant.directory(d)))
        .collect();
    let directories = &directories;
    let attribute = |by: fn(&pstn_lake_graph_sim::DirectoryUser) -> Option<String>| {
        move |id: &str, _: Option<&str>, d: NaiveDate| -> String {
            match directories[&d].iter().find(|u| u.id == id) {
                None => "(not in directory)".to_owned(),
                Some(u) => by(u).unwrap_or_else(|| "(not set)".to_owned()),
            }
        }
    };
    let department = attribute(|u| u.department.clone());
    let want = expected(&department);
    assert_eq!(reported(&lake, &[]), want);
    assert!(
        want.keys().any(|(_, g)| g == "(not in directory)"),
        "{want:?}"
    );

    // A mover has charges on both sides of its move, so charging every day to one snapshot would
    // give other figures: the test can tell.
    let movers: Vec<_> = changes
        .iter()
        .filter(|c| matches!(c.change, DirectoryChangeKind::Moved { .. }))
        .collect();
    let pstn = sim.tenant().expected(Function::Pstn, day(first), last);
    assert!(movers.iter().any(|m| {
        let of = |before: bool| {
            pstn.iter().any(|r| {
                r.user_id.as_deref() == Some(m.user_id.as_str()) && (r.day < m.day) == before
            })
        };
        of(true) && of(false)
    }));
    let latest = attribute(|u| u.department.clone());
    let one_snapshot = expected(&|id, upn, _| latest(id, upn, last));
    assert_ne!(one_snapshot, want, "the moves change the figures");

    // By cost center.
    let cost_center = attribute(|u| u.cost_center.clone());
    assert_eq!(
        reported(&lake, &["--by", "cost-center"]),
        expected(&cost_center)
    );

    // A mapping wins over the directory: a mover by user principal name (in another case), and
    // another user by id.
    let mover = movers[0];
    let other = sim
        .tenant()
        .directory(last)
        .into_iter()
        .find(|u| {
            u.id != mover.user_id
                && pstn
                    .iter()
                    .any(|r| r.user_id.as_deref() == Some(u.id.as_str()))
        })
        .unwrap();
    let mapping = dir.path().join("groups.csv");
    std::fs::write(
        &mapping,
        format!(
            "user,group\n{},Project X\n{},Lab\n",
            mover.user_principal_name.to_uppercase(),
            other.id
        ),
    )
    .unwrap();
    let mapped = |id: &str, upn: Option<&str>, d: NaiveDate| -> String {
        if id == mover.user_id {
            "Project X".to_owned()
        } else if id == other.id {
            "Lab".to_owned()
        } else {
            department(id, upn, d)
        }
    };
    assert_eq!(
        reported(&lake, &["--mapping", mapping.to_str().unwrap()]),
        expected(&mapped)
    );

    // A mapping for another report, or a broken one, is refused before the lake is read.
    let refused = |report: &str| {
        let args = [
            "report",
            report,
            "--mapping",
            mapping.to_str().unwrap(),
            "--lake",
            &lake,
        ];
        run(&args).fails().stderr
    };
    let err = refused("charges-by-user");
    assert!(err.contains("does not take --mapping"), "{err}");
    std::fs::write(&mapping, "user,group\nanna@contoso.com,\n").unwrap();
    let err = refused("charges-by-department");
    assert!(
        err.contains("groups.csv line 2, column group: is empty"),
        "{err}"
    );
}
