//! The beta-only functions over HTTP: SMS log, blocked users and the dial-out report.

use pstn_lake_graph_sim::{
    ApiVersion, Fault, FaultPlan, Function, SimConfig, TenantConfig, Traffic,
};
use serde_json::Value;

use crate::{client, config, day, follow, get, ids, json, start, token, window_url};

/// The rows of pages, in order.
fn rows(pages: &[String]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| {
            let page: Value = serde_json::from_str(p).unwrap();
            page["value"].as_array().unwrap().clone()
        })
        .collect()
}

#[tokio::test]
async fn sms_pages_follow_next_links_to_exactly_the_expected_rows() {
    // 400 calls a day: 20 SMS a day, 40 in the window, pages of 7.
    let sim = start(config(400, 7).with_faults(FaultPlan::new().at(
        1,
        Fault::Throttle {
            retry_after_secs: 0,
        },
    )))
    .await;
    let client = client();
    let token = token(&client, &sim).await;
    let url = window_url(&sim, ApiVersion::Beta, Function::Sms, day(0), day(2));
    // Throttled like any other function.
    assert_eq!(get(&client, &url, &token).await.status(), 429);
    let pages = follow(&client, &url, &token).await;
    assert_eq!(pages.len(), 6);
    let want: Vec<String> = sim
        .tenant()
        .expected(Function::Sms, day(0), day(1))
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(want.len(), 40);
    assert_eq!(ids(&pages), want);
    let first: Value = serde_json::from_str(&pages[0]).unwrap();
    assert_eq!(
        first["@odata.context"],
        format!(
            "{}/beta/$metadata#Collection(microsoft.graph.callRecords.smsLogRow)",
            sim.graph_url()
        )
        .as_str()
    );
    assert_eq!(
        first["@odata.nextLink"],
        format!(
            "{}/beta/communications/callRecords/getSmsLog(from={}T00:00:00Z,to={}T00:00:00Z)?$skip=7",
            sim.graph_url(),
            day(0),
            day(2)
        )
        .as_str()
    );
    // `toDateTime` is exclusive: the next day's midnight SMS is not in the window.
    let rows = rows(&pages);
    assert!(
        rows.iter()
            .all(|r| r["sentDateTime"].as_str().unwrap() < format!("{}", day(2)).as_str())
    );
    let stats = sim.stats();
    assert_eq!(
        (stats.throttled, stats.pages_served, stats.rows_served),
        (1, 6, 40)
    );
}

#[tokio::test]
async fn beta_only_functions_are_unknown_segments_on_v1() {
    let sim = start(config(40, 10)).await;
    let client = client();
    let token = token(&client, &sim).await;
    for function in [
        Function::Sms,
        Function::BlockedUsers,
        Function::DialoutReport,
    ] {
        let name = function.graph_name();
        let url = format!(
            "{}/v1.0/communications/callRecords/{name}(fromDateTime={}T00:00:00Z,toDateTime={}T00:00:00Z)",
            sim.graph_url(),
            day(0),
            day(1)
        );
        let response = get(&client, &url, &token).await;
        assert_eq!(response.status(), 400, "{name}");
        let body = json(response).await;
        assert_eq!(body["error"]["code"], "BadRequest");
        assert_eq!(
            body["error"]["message"],
            format!("Resource not found for the segment '{name}'.").as_str()
        );
        let beta = window_url(&sim, ApiVersion::Beta, function, day(0), day(1));
        assert_eq!(get(&client, &beta, &token).await.status(), 200, "{name}");
    }
    assert_eq!(sim.stats().bad_requests, 3);
}

#[tokio::test]
async fn a_missing_permission_refuses_that_function_only() {
    let sim = start(config(40, 10).with_missing_permission(Function::Sms)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let sms = window_url(&sim, ApiVersion::Beta, Function::Sms, day(0), day(1));
    let response = get(&client, &sms, &token).await;
    assert_eq!(response.status(), 403);
    let body = json(response).await;
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    for function in [Function::Pstn, Function::DialoutReport] {
        let url = window_url(&sim, ApiVersion::Beta, function, day(0), day(1));
        assert_eq!(get(&client, &url, &token).await.status(), 200);
    }
    let pstn = window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1));
    assert_eq!(get(&client, &pstn, &token).await.status(), 200);
    let stats = sim.stats();
    assert_eq!((stats.forbidden, stats.pages_served), (1, 3));

    // Several functions, and twice the same one.
    let sim = start(
        config(40, 10)
            .with_missing_permission(Function::BlockedUsers)
            .with_missing_permission(Function::Pstn)
            .with_missing_permission(Function::Pstn),
    )
    .await;
    assert_eq!(
        sim.config().missing_permissions,
        [Function::BlockedUsers, Function::Pstn]
    );
    let token = crate::token(&client, &sim).await;
    for (function, status) in [
        (Function::Pstn, 403),
        (Function::BlockedUsers, 403),
        (Function::DirectRouting, 200),
        (Function::Sms, 200),
    ] {
        let url = window_url(&sim, ApiVersion::Beta, function, day(0), day(1));
        assert_eq!(
            get(&client, &url, &token).await.status(),
            status,
            "{function:?}"
        );
    }
    assert_eq!(sim.stats().forbidden, 2);
}

#[tokio::test]
async fn blocked_users_and_dialout_totals_over_http_are_the_expected_rows() {
    let first = chrono::NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
    let sim = start(
        SimConfig::default()
            .with_tenant(TenantConfig::new(42, first, 84, 300).with_traffic(Traffic::Business))
            .with_page_size(2),
    )
    .await;
    let client = client();
    let token = token(&client, &sim).await;
    let last = sim.tenant().config().last_day();

    let url = window_url(
        &sim,
        ApiVersion::Beta,
        Function::BlockedUsers,
        first,
        last + chrono::Duration::days(1),
    );
    let blocks = rows(&follow(&client, &url, &token).await);
    let want = sim.tenant().expected(Function::BlockedUsers, first, last);
    assert_eq!(blocks.len(), want.len());
    assert!(want.len() >= 4, "{want:?}");
    for (row, want) in blocks.iter().zip(&want) {
        assert_eq!(row["remediationId"], want.id.as_str());
        assert_eq!(row["userBlockMode"], want.block_mode.as_deref().unwrap());
    }

    // One day at a time, the report's rows are what `expected` lists for the day.
    let day = first + chrono::Duration::days(1);
    let url = window_url(
        &sim,
        ApiVersion::Beta,
        Function::DialoutReport,
        day,
        day + chrono::Duration::days(1),
    );
    let pages = follow(&client, &url, &token).await;
    assert!(pages.len() > 1);
    let totals = rows(&pages);
    let want = sim.tenant().expected(Function::DialoutReport, day, day);
    assert_eq!(totals.len(), want.len());
    for (row, want) in totals.iter().zip(&want) {
        let text = |k: &str| row[k].as_str().unwrap().to_owned();
        let id = [
            text("userId"),
            text("usageLocation"),
            text("destinationContext"),
            text("currency"),
        ]
        .join("|");
        assert_eq!(id, want.id);
        assert_eq!(row["totalCalls"].as_i64(), want.units.map(i64::from));
    }
}
