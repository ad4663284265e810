//! Injected faults as a client observes them.

use std::time::Duration;

use pstn_lake_graph_sim::{ApiVersion, Fault, FaultPlan, Function};

use crate::{client, config, day, get, start, token, window_url};

#[tokio::test]
async fn each_fault_is_observed_as_intended() {
    let plan = FaultPlan::new()
        .at(1, Fault::Status(503))
        .at(
            2,
            Fault::Throttle {
                retry_after_secs: 7,
            },
        )
        .at(3, Fault::DropConnection)
        .at(4, Fault::TruncatedBody)
        .at(5, Fault::ExpireToken)
        .at(8, Fault::Status(504))
        .at(9, Fault::Stall(Duration::from_millis(400)))
        .at(10, Fault::Status(406));
    let sim = start(config(200, 100).with_faults(plan)).await;
    let client = client();
    let token = token(&client, &sim).await;
    let url = window_url(
        &sim,
        ApiVersion::V1,
        Function::DirectRouting,
        day(0),
        day(1),
    );

    let unavailable = get(&client, &url, &token).await;
    assert_eq!(unavailable.status(), 503);
    assert!(unavailable.headers().get("retry-after").is_none());

    let throttled = get(&client, &url, &token).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "7");

    let dropped = client.get(&url).bearer_auth(&token).send().await;
    assert!(
        dropped.is_err(),
        "a dropped connection is a transport error: {dropped:?}"
    );

    let truncated = get(&client, &url, &token).await;
    assert_eq!(truncated.status(), 200);
    let full = truncated.content_length().unwrap();
    assert!(full > 1000);
    assert!(
        truncated.bytes().await.is_err(),
        "reading a truncated body fails"
    );

    let expired = get(&client, &url, &token).await;
    assert_eq!(expired.status(), 401);
    assert!(
        crate::json(expired).await["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    // The token stays expired: a client must get a new one.
    assert_eq!(get(&client, &url, &token).await.status(), 401);
    let fresh = crate::token(&client, &sim).await;
    let ok = get(&client, &url, &fresh).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.bytes().await.unwrap().len() as u64,
        full,
        "the truncated page was the same page"
    );
    assert_eq!(get(&client, &url, &fresh).await.status(), 504);

    // A stall delays the usual answer.
    let started = std::time::Instant::now();
    let stalled = get(&client, &url, &fresh).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(stalled.status(), 200);
    assert_eq!(stalled.bytes().await.unwrap().len() as u64, full);

    let not_acceptable = get(&client, &url, &fresh).await;
    assert_eq!(not_acceptable.status(), 406);
    assert_eq!(
        crate::json(not_acceptable).await["error"]["code"],
        "NotAcceptable"
    );

    let stats = sim.stats();
    assert_eq!(stats.graph_requests, 10);
    assert_eq!(stats.faults_injected, 8);
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.unauthorized, 2);
    assert_eq!((stats.pages_served, stats.rows_served), (2, 200));
    assert_eq!(stats.tokens_issued, 2);
}

#[tokio::test]
async fn every_nth_request_faults() {
    let sim =
        start(config(10, 10).with_faults(FaultPlan::new().every(3, Fault::Status(500)))).await;
    let client = client();
    let token = token(&client, &sim).await;
    let url = window_url(&sim, ApiVersion::Beta, Function::Pstn, day(0), day(1));
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(get(&client, &url, &token).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500, 200]);
}

/// Requests in flight at once are counted. Every request is held until all four have arrived
/// (the count of holds is the event), so the four overlap however slowly they are sent; a fixed
/// latency instead would let a slow fourth request arrive after the first was answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_counted_in_flight() {
    let sim = start(config(10, 10).with_faults(FaultPlan::new().every(1, Fault::Hold))).await;
    let client = client();
    let token = token(&client, &sim).await;
    let url = window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1));
    let requests: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tokio::spawn(async move { get(&client, &url, &token).await.status() })
        })
        .collect();
    until(|| sim.stats().held == 4).await;
    assert!(
        requests.iter().all(|r| !r.is_finished()),
        "a held request was answered"
    );
    sim.release_held();
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(sim.stats().max_in_flight, 4);
    // Released for good: a later request is not held.
    assert_eq!(get(&client, &url, &token).await.status(), 200);
    assert_eq!(sim.stats().held, 4);
}

/// Waits (up to a minute) until `done` holds.
async fn until(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "waited a minute");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let client = client();
    let sim = start(config(10, 10)).await;
    let url = format!("{}/nothing", sim.graph_url());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 404);
    sim.shutdown().await;
    assert!(client.get(&url).send().await.is_err());

    let sim = start(config(10, 10)).await;
    let url = format!("{}/nothing", sim.graph_url());
    assert_eq!(client.get(&url).send().await.unwrap().status(), 404);
    drop(sim);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(client.get(&url).send().await.is_err());
}

/// Sends one raw HTTP/1.1 GET and reads until the server closes the connection.
async fn raw_get(sim: &pstn_lake_graph_sim::RunningSim, url: &str, token: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let path = url.strip_prefix(&sim.graph_url()).unwrap();
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
        sim.addr()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    // A reset instead of an orderly close is fine too: what was received is what counts.
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .unwrap();
    received
}

#[tokio::test]
async fn on_the_wire_a_dropped_connection_sends_nothing_and_a_truncated_body_half() {
    let plan = FaultPlan::new()
        .at(1, Fault::DropConnection)
        .at(2, Fault::TruncatedBody);
    let sim = start(config(50, 50).with_faults(plan)).await;
    let token = token(&client(), &sim).await;
    let url = window_url(&sim, ApiVersion::V1, Function::Pstn, day(0), day(1));

    assert_eq!(
        raw_get(&sim, &url, &token).await,
        b"",
        "no byte of a response"
    );

    let received = String::from_utf8(raw_get(&sim, &url, &token).await).unwrap();
    let (head, body) = received.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        body.len(),
        length / 2,
        "half of the announced body, then the connection closes"
    );
}
