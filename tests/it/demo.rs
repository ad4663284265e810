//! `pstn-lake demo`: it replaces only lakes it made.

use crate::helpers::*;

fn demo(lake: &std::path::Path) -> Run {
    run(&[
        "demo",
        "--lake",
        lake.to_str().unwrap(),
        "--days",
        "2",
        "--calls-per-day",
        "5",
    ])
}

#[test]
fn demo_replaces_its_own_lakes_and_never_another() {
    // A lake `ingest` made, with data: refused, every file kept.
    let (dir, lake) = lake_with_rows(&[pstn_row(
        "mine",
        "2026-11-01T08:00:00Z",
        "0.1",
        "EUR",
        "CH",
        60,
    )]);
    let before = snapshot(&lake);
    let out = demo(&lake).fails();
    assert!(
        out.stderr
            .contains("holds a lake that `pstn-lake demo` did not make"),
        "{}",
        out.stderr
    );
    assert!(
        snapshot(&lake) == before,
        "the demo changed a lake it did not make"
    );
    assert_eq!(
        sql_rows(&lake, "SELECT id FROM pstn_calls"),
        vec![vec!["mine".to_owned()]]
    );

    // Any other folder that is not empty: refused too.
    let folder = dir.path().join("notes");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("todo.txt"), "keep me").unwrap();
    let out = demo(&folder).fails();
    assert!(out.stderr.contains("is not empty"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(folder.join("todo.txt")).unwrap(),
        "keep me"
    );

    // A new folder, then the same folder again: the demo replaces its own lake.
    let demo_lake = dir.path().join("pstn-lake-demo");
    demo(&demo_lake).ok();
    assert!(demo_lake.join("_pstn_lake/demo").is_file());
    std::fs::write(demo_lake.join("stale.txt"), "from the first demo").unwrap();
    demo(&demo_lake).ok();
    assert!(
        !demo_lake.join("stale.txt").exists(),
        "the demo lake was not replaced"
    );
    assert!(demo_lake.join("pstn_calls").is_dir());
}

/// The README's examples that follow the demo work after it: each `pstn-lake report|sql|schema|
/// shell|ddl` line of its Query section, run as written (through `sh`, in a folder where `demo`
/// made `./pstn-lake-demo`), succeeds.
#[test]
fn the_readme_examples_work_after_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["demo", "--days", "2", "--calls-per-day", "5"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let query = &readme[readme.find("## Query").unwrap()..readme.find("## Tables").unwrap()];
    let examples: Vec<&str> = query
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| {
            [
                "pstn-lake report",
                "pstn-lake sql",
                "pstn-lake schema",
                "pstn-lake shell",
            ]
            .iter()
            .any(|p| l.starts_with(p) || l.contains(&format!("| {p}")))
        })
        .map(|l| l.split("  #").next().unwrap().trim())
        .collect();
    assert!(examples.len() >= 10, "{examples:?}");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_pstn-lake"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for example in examples {
        let out = std::process::Command::new("sh")
            .args(["-c", example])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env_remove("PSTN_LAKE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `pstn-lake report NAME --format json` over `lake`, as JSON objects.
fn report_json(lake: &std::path::Path, name: &str) -> Vec<serde_json::Value> {
    let out = run(&[
        "report",
        name,
        "--format",
        "json",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    serde_json::from_str(&out.stdout).unwrap()
}

/// The demo's tenant has a business's week and months, its fraud episodes stand out in
/// toll-fraud-signals over few false alarms, and the demo ends by naming the HTML page it wrote.
#[test]
fn the_demo_tenant_has_weeks_months_and_fraud_the_signals_find() {
    use chrono::{Datelike, NaiveDate};
    use pstn_lake_graph_sim::{Function, Tenant, TenantConfig, Traffic};

    let (days, calls) = (60, 400);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("pstn-lake-demo");
    // The demo simulates the `days` days before its today: the day before its run, or the day
    // after if midnight passed meanwhile.
    let before = chrono::Utc::now().date_naive();
    let out = run(&[
        "demo",
        "--lake",
        lake.to_str().unwrap(),
        "--days",
        &days.to_string(),
        "--calls-per-day",
        &calls.to_string(),
    ])
    .ok();
    let page = lake.join("report.html");
    assert!(
        out.stderr
            .trim_end()
            .ends_with(&format!("open {}", page.display())),
        "{}",
        out.stderr
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("toll-fraud-signals") && html.contains("monthly-cost"));

    // Weekly rhythm: the mean weekday holds over 4 times the calls of the mean weekend day.
    let (mut weekday, mut weekend) = ((0, 0), (0, 0));
    for row in report_json(&lake, "daily-volume") {
        let day: NaiveDate = row["day"].as_str().unwrap().parse().unwrap();
        let n = row["calls"].as_u64().unwrap();
        let slot = if day.weekday().number_from_monday() <= 5 {
            &mut weekday
        } else {
            &mut weekend
        };
        *slot = (slot.0 + n, slot.1 + 1);
    }
    assert!(
        weekday.0 * weekend.1 > 4 * weekend.0 * weekday.1,
        "{weekday:?} {weekend:?}"
    );

    // Months: at least two, with different totals in the tenant's main currency.
    let usd: Vec<(String, String)> = report_json(&lake, "monthly-cost")
        .into_iter()
        .filter(|r| r["currency"] == "USD")
        .map(|r| (r["month"].to_string(), r["total_charge"].to_string()))
        .collect();
    assert!(usd.len() >= 2, "{usd:?}");
    assert!(usd.windows(2).any(|w| w[0].1 != w[1].1), "{usd:?}");

    // The tenant the demo simulated (seed 42, the `days` days before today), known independently.
    // Its first day is the first the lake's sync state records complete (every day of the range
    // is, with calls or without), and one of the two the clock allows.
    let after = chrono::Utc::now().date_naive();
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lake.join("_pstn_lake/sync-state.json")).unwrap(),
    )
    .unwrap();
    let first_day: NaiveDate = state["tables"]["pstn_calls"]["complete_days"][0]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        [before, after].contains(&(first_day + chrono::Duration::days(days))),
        "the demo's first day {first_day} is not {days} days before today"
    );
    let tenant = Tenant::new(
        TenantConfig::new(42, first_day, days as u32, calls).with_traffic(Traffic::Business),
    );
    let episodes = tenant.fraud_episodes();
    assert_eq!(episodes.len(), 3);
    let fraud_calls = tenant
        .expected(Function::Pstn, first_day, tenant.config().last_day())
        .iter()
        .filter(|r| r.fraud)
        .count();
    let ordinary_calls = tenant
        .days()
        .map(|d| tenant.calls_on(Function::Pstn, d) as usize)
        .sum::<usize>()
        - fraud_calls;

    let signals = report_json(&lake, "toll-fraud-signals");
    let text = |r: &serde_json::Value, k: &str| r[k].as_str().unwrap_or_default().to_owned();
    let in_episode = |r: &serde_json::Value| {
        let start: chrono::DateTime<chrono::Utc> = text(r, "start_utc").parse().unwrap();
        episodes.iter().any(|e| {
            e.user_principal_name == text(r, "user_principal_name")
                && e.destinations.contains(&text(r, "destination").as_str())
                && (e.from..e.to).contains(&start)
        })
    };
    let (fraud, ordinary): (Vec<_>, Vec<_>) = signals.iter().partition(|r| in_episode(r));
    // Every episode is found, and nearly all of its calls: each costs over 20 times the median
    // charged call, or runs over 4 hours, or is an international call at night or at a weekend.
    for e in &episodes {
        assert!(
            fraud
                .iter()
                .any(|r| text(r, "user_principal_name") == e.user_principal_name),
            "{e:?} not found"
        );
    }
    let flagged: std::collections::BTreeSet<String> =
        fraud.iter().map(|r| text(r, "start_utc")).collect();
    assert!(
        flagged.len() * 10 >= fraud_calls * 9,
        "{} of {fraud_calls} fraud calls flagged",
        flagged.len()
    );
    // Ordinary traffic: no call over 4 hours; a first call to a country is new once per user
    // and usual destination (each user has at most 2: at most 128); the other signals, a
    // long or after-hours international call, at most 1 per 1,000 ordinary calls (the demo's
    // 90 days x 2,000 calls raise 0.2 per 1,000).
    let count = |signal: &str| ordinary.iter().filter(|r| r["signal"] == signal).count();
    assert_eq!(count("long_call"), 0);
    assert!(count("new_destination") <= 128, "{ordinary:?}");
    let other = count("after_hours_international") + count("costly_call");
    assert!(
        other * 1000 <= ordinary_calls,
        "{other} in {ordinary_calls} calls"
    );
    assert!(
        fraud.len() > ordinary.len(),
        "{} fraud signals, {} ordinary",
        fraud.len(),
        ordinary.len()
    );
}
