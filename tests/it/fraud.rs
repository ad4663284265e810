//! `fraud-signal-check` and `toll-fraud-signals`' `blocked_utc` on the simulator, where the truth
//! is known: which accounts were taken over (its fraud episodes), when Microsoft blocked them, and
//! the one user it blocked without an episode.

use chrono::{DateTime, NaiveDateTime, Utc};
use pstn_lake_graph_sim::{Function, TenantConfig, Traffic};
use serde_json::Value;

use crate::helpers::*;
use crate::sync::{config, day, start, sync};

fn time(v: &Value) -> Option<DateTime<Utc>> {
    let text = v.as_str()?;
    Some(
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.fZ")
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .and_utc(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_finds_every_taken_over_account_signalled_before_microsoft_blocked_it() {
    // Sixty days of a business: two fraud episodes, their blocks, and a block without one.
    let (first, days) = ("2026-08-01", 60);
    let sim =
        start(config(first, days, 150).with_tenant(
            TenantConfig::new(11, day(first), days, 150).with_traffic(Traffic::Business),
        ))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let last = sim.tenant().config().last_day().to_string();
    sync(
        &sim,
        &lake,
        &[
            "--from",
            first,
            "--to",
            &last,
            "--tables",
            "pstn_calls,pstn_blocked_users",
        ],
    )
    .await
    .ok();
    let lake_arg = lake.to_str().unwrap().to_owned();
    let report = |name: &str| {
        let out = run(&["report", name, "--format", "json", "--lake", &lake_arg]).ok();
        serde_json::from_str::<Vec<Value>>(&out.stdout).unwrap()
    };
    let check = report("fraud-signal-check");
    let signals = report("toll-fraud-signals");

    // One row per block the simulator served, in time order.
    let blocks: Vec<_> = sim
        .tenant()
        .expected(
            Function::BlockedUsers,
            day(first),
            sim.tenant().config().last_day(),
        )
        .into_iter()
        .filter(|b| b.block_mode.as_deref() == Some("blocked"))
        .collect();
    let episodes = sim.tenant().fraud_episodes();
    assert!(episodes.len() >= 2, "{episodes:?}");
    assert_eq!(blocks.len(), episodes.len() + 1);
    assert_eq!(
        check
            .iter()
            .map(|r| time(&r["block_utc"]))
            .collect::<Vec<_>>(),
        blocks.iter().map(|b| b.at).collect::<Vec<_>>()
    );

    // Every taken-over account was signalled before its block, no later than the episode's first
    // call (its calls dial high-cost ranges at night or at the weekend; `from` is the start of the
    // episode's first hour with calls), and the report says how long before.
    for e in &episodes {
        let row = check
            .iter()
            .find(|r| r["user_principal_name"] == e.user_principal_name.as_str())
            .unwrap_or_else(|| panic!("no block of {}", e.user_principal_name));
        let block = time(&row["block_utc"]).unwrap();
        assert!(block > e.to, "{row}");
        let first_signal = time(&row["first_signal_utc"]).expect("signalled first");
        assert!(
            first_signal < e.from + chrono::Duration::hours(1),
            "{row} {e:?}"
        );
        let micros = (block - first_signal).num_microseconds().unwrap();
        let days = (micros as f64 / 86_400e6 * 10.0).round() / 10.0;
        assert_eq!(row["days_earlier"].as_f64(), Some(days), "{row}");
        assert!(row["signals_before"].as_u64().unwrap() > 0, "{row}");
    }

    // Each row agrees with toll-fraud-signals: the same signals, counted before the block, and
    // each of those signals names the block as the user's next one.
    for row in &check {
        let block = time(&row["block_utc"]).unwrap();
        let user = row["user_principal_name"].as_str().unwrap_or_default();
        let before: Vec<&Value> = signals
            .iter()
            .filter(|s| s["user_principal_name"] == user)
            .filter(|s| time(&s["start_utc"]).unwrap() < block)
            .collect();
        assert_eq!(
            row["signals_before"].as_u64(),
            Some(before.len() as u64),
            "{row}"
        );
        let earliest = before.iter().filter_map(|s| time(&s["start_utc"])).min();
        assert_eq!(time(&row["first_signal_utc"]), earliest, "{row}");
        for s in before {
            let blocked = time(&s["blocked_utc"]).expect("blocked later");
            assert!(blocked <= block, "{s}");
        }
    }
    let signalled = check
        .iter()
        .filter(|r| r["signals_before"].as_u64() > Some(0))
        .count();
    // The exact figure for this tenant: the taken-over accounts, not the user Microsoft blocked on
    // its own signals (who placed no call the signals flag).
    assert_eq!(signalled, episodes.len());
    record_figures(
        "fraud_signal_check",
        &format!(
            "fraud-signal-check on the simulator: {signalled} of {} blocked users had a toll-fraud signal first ({} fraud episodes)",
            check.len(),
            episodes.len()
        ),
    );
    sim.shutdown().await;
}
