//! Refusals: bad arguments, missing or expired tokens, permission, throttling.

use std::time::Duration;

use pstn_lake_graph_sim::{ApiVersion, Function};
use serde_json::Value;

use crate::{client, config, get, json, start, token, window_url};

fn graph_url(sim: &pstn_lake_graph_sim::RunningSim, args: &str) -> String {
    format!(
        "{}/v1.0/communications/callRecords/getPstnCalls({args})",
        sim.graph_url()
    )
}

#[tokio::test]
async fn bad_date_arguments_are_400_with_graphs_error_shape() {
    let sim = start(config(10, 10)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let cases = [
        (
            "fromDateTime=2026-11-01T00:00:00Z,toDateTime=2027-02-01T00:00:00Z",
            "90 days",
        ),
        (
            "fromDateTime='2026-11-01T00:00:00Z',toDateTime='2026-11-02T00:00:00Z'",
            "quoted",
        ),
        (
            "fromDateTime=,toDateTime=2026-11-02T00:00:00Z",
            "Expression expected",
        ),
        (
            "fromDateTime=yesterday,toDateTime=2026-11-02T00:00:00Z",
            "not a valid",
        ),
        ("fromDateTime=2026-11-01T00:00:00Z", "missing"),
    ];
    for (args, words) in cases {
        let response = get(&client, &graph_url(&sim, args), &token).await;
        assert_eq!(response.status(), 400, "{args}");
        let body = json(response).await;
        assert_eq!(body["error"]["code"], "BadRequest");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    }
    // 90 days exactly is fine.
    let ok = get(
        &client,
        &graph_url(
            &sim,
            "fromDateTime=2026-11-01T00:00:00Z,toDateTime=2027-01-30T00:00:00Z",
        ),
        &token,
    )
    .await;
    assert_eq!(ok.status(), 200);
    let unknown = get(
        &client,
        &format!(
            "{}/v1.0/communications/callRecords/getSmsLog()",
            sim.graph_url()
        ),
        &token,
    )
    .await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(sim.stats().bad_requests, 6);
}

/// A Graph call needs a token the simulator issued, within its lifetime. No wall-clock wait: a
/// token of the default lifetime (an hour) is valid whatever the machine's load, and one issued
/// with a lifetime of zero is past it from the start; either way the token endpoint and Graph
/// each check the clock once, so nothing depends on how long a request takes.
#[tokio::test]
async fn graph_calls_need_a_valid_unexpired_token() {
    let sim = start(config(10, 10)).await;
    let client = client();
    let url = window_url(
        &sim,
        ApiVersion::V1,
        Function::Pstn,
        crate::day(0),
        crate::day(1),
    );
    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().contains_key("www-authenticate"));
    assert_eq!(
        json(missing).await["error"]["code"],
        "InvalidAuthenticationToken"
    );
    assert_eq!(get(&client, &url, "made-up").await.status(), 401);
    let valid = token(&client, &sim).await;
    assert_eq!(get(&client, &url, &valid).await.status(), 200);
    assert_eq!(sim.stats().unauthorized, 2);

    // A token past its lifetime: refused as expired, and stays refused.
    let sim = start(config(10, 10).with_token_lifetime(Duration::ZERO)).await;
    let url = window_url(
        &sim,
        ApiVersion::V1,
        Function::Pstn,
        crate::day(0),
        crate::day(1),
    );
    let stale = token(&client, &sim).await;
    for _ in 0..2 {
        let expired = get(&client, &url, &stale).await;
        assert_eq!(expired.status(), 401);
        assert!(
            json(expired).await["error"]["message"]
                .as_str()
                .unwrap()
                .contains("expired")
        );
    }
    let stats = sim.stats();
    assert_eq!((stats.unauthorized, stats.pages_served), (2, 0));
}

#[tokio::test]
async fn forbidden_is_403_authorization_request_denied() {
    let sim = start(config(10, 10).with_forbidden(true)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let response = get(
        &client,
        &window_url(
            &sim,
            ApiVersion::Beta,
            Function::DirectRouting,
            crate::day(0),
            crate::day(1),
        ),
        &token,
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        json(response).await["error"]["code"],
        "Authorization_RequestDenied"
    );
    assert_eq!(sim.stats().forbidden, 1);
}

#[tokio::test]
async fn responses_carry_request_ids() {
    let sim = start(config(10, 10)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let url = window_url(
        &sim,
        ApiVersion::V1,
        Function::Pstn,
        crate::day(0),
        crate::day(1),
    );
    let response = client
        .get(&url)
        .bearer_auth(&token)
        .header("client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["client-request-id"], "abc-123");
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(request_id.len(), 36);
    let other = get(&client, &url, &token).await;
    assert_ne!(other.headers()["request-id"].to_str().unwrap(), request_id);
    assert_eq!(
        other.headers()["request-id"],
        other.headers()["client-request-id"]
    );
    assert!(
        other.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json;odata.metadata=minimal")
    );
}

/// Over the limit, the answer is 429 with the wait until the oldest request leaves the one-minute
/// window: 60 seconds after it, less the time the requests took (measured, so a slow machine
/// widens the accepted range instead of failing it).
#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    for http_date in [false, true] {
        let sim = start(
            config(10, 10)
                .with_rate_limit_per_minute(3)
                .with_retry_after_http_date(http_date),
        )
        .await;
        let client = client();
        let token = token(&client, &sim).await;
        let url = window_url(
            &sim,
            ApiVersion::V1,
            Function::Pstn,
            crate::day(0),
            crate::day(1),
        );
        let started = std::time::Instant::now();
        for _ in 0..3 {
            assert_eq!(get(&client, &url, &token).await.status(), 200);
        }
        let throttled = get(&client, &url, &token).await;
        assert_eq!(throttled.status(), 429);
        let retry_after = throttled.headers()["retry-after"]
            .to_str()
            .unwrap()
            .to_owned();
        let now = chrono::Utc::now();
        // Whole seconds, rounded up, from before the first request to now.
        let took = started.elapsed().as_secs() as i64 + 1;
        if http_date {
            // An HTTP date has whole seconds, and `num_seconds` truncates: up to 2 s less.
            let at = chrono::DateTime::parse_from_rfc2822(&retry_after).unwrap();
            let wait = at.signed_duration_since(now).num_seconds();
            assert!((58 - took..=61).contains(&wait), "{retry_after}, {took} s");
        } else {
            let secs: i64 = retry_after.parse().unwrap();
            assert!((60 - took..=60).contains(&secs), "{secs}, {took} s");
        }
        let body: Value = json(throttled).await;
        assert_eq!(body["error"]["code"], "TooManyRequests");
        let stats = sim.stats();
        assert_eq!(
            (stats.throttled, stats.pages_served, stats.graph_requests),
            (1, 3, 4)
        );
    }
}

#[tokio::test]
async fn other_paths_and_methods_are_refused() {
    let sim = start(config(10, 10)).await;
    let client = client();
    assert_eq!(
        client
            .get(format!("{}/nothing", sim.graph_url()))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let url = window_url(
        &sim,
        ApiVersion::V1,
        Function::Pstn,
        crate::day(0),
        crate::day(1),
    );
    assert_eq!(client.post(&url).send().await.unwrap().status(), 405);
}
