//! `pstn-lake sync` against the Graph simulator over loopback HTTP.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Timelike as _};
use pstn_lake_graph_sim::{Fault, FaultPlan, Function, RunningSim, SimConfig, TenantConfig};

use pstn_lake_pipeline::{
    ApiVersion, Credentials, Days, GraphConfig, Lake, NoProgress, SyncOptions, SyncReport, Table,
};

use crate::helpers::*;

const SECRET: &str = "s3cr3t-Value~that.must-never.leak";

pub(crate) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub(crate) fn config(first_day: &str, days: u32, calls_per_day: u32) -> SimConfig {
    SimConfig::default()
        .with_tenant(TenantConfig::new(7, day(first_day), days, calls_per_day))
        .with_page_size(250)
        .with_client_secret(SECRET)
}

pub(crate) async fn start(config: SimConfig) -> RunningSim {
    pstn_lake_graph_sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// `pstn-lake sync` against `sim`, with the simulator's credentials in the environment.
fn sync_command(sim: &RunningSim, lake: &Path, extra: &[&str]) -> Command {
    let mut cmd = sync_command_without_login_url(sim, lake, extra);
    cmd.args(["--login-url", &sim.login_url()]);
    cmd
}

/// [`sync_command`] without `--login-url`: the login host comes from the cloud or
/// `AZURE_AUTHORITY_HOST`.
fn sync_command_without_login_url(sim: &RunningSim, lake: &Path, extra: &[&str]) -> Command {
    let mut cmd = bin();
    cmd.args(["sync", "--graph-url", &sim.graph_url()])
        .args(["--lake", lake.to_str().unwrap()])
        .args(extra)
        .env("AZURE_TENANT_ID", &sim.config().tenant_id)
        .env("AZURE_CLIENT_ID", &sim.config().client_id)
        .env("AZURE_CLIENT_SECRET", &sim.config().client_secret)
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .env_remove("AZURE_AUTHORITY_HOST")
        .stdin(Stdio::null());
    cmd
}

pub(crate) async fn sync(sim: &RunningSim, lake: &Path, extra: &[&str]) -> Run {
    command_output(sync_command(sim, lake, extra)).await
}

/// Runs `cmd` off the async runtime and keeps what it printed.
pub(crate) async fn command_output(mut cmd: Command) -> Run {
    tokio::task::spawn_blocking(move || {
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// A sync of `sim` into `lake` through the library, as `pstn-lake sync` runs it.
pub(crate) async fn sync_lib(sim: &RunningSim, lake: &Path, options: &SyncOptions) -> SyncReport {
    try_sync_lib(sim, lake, graph_config(sim), options)
        .await
        .unwrap()
}

/// The Graph side of `sim`, with the default retries and timeouts.
fn graph_config(sim: &RunningSim) -> GraphConfig {
    GraphConfig::new(
        sim.graph_url().parse().unwrap(),
        sim.login_url().parse().unwrap(),
    )
}

/// [`sync_lib`] with `graph` as given, keeping the error.
async fn try_sync_lib(
    sim: &RunningSim,
    lake: &Path,
    graph: GraphConfig,
    options: &SyncOptions,
) -> Result<SyncReport, pstn_lake_pipeline::Error> {
    let c = sim.config();
    let credentials = Credentials::with_secret(&c.tenant_id, &c.client_id, &c.client_secret);
    let lake = Lake::open(lake.to_str().unwrap()).unwrap();
    pstn_lake_pipeline::sync(
        &lake,
        graph,
        credentials,
        options,
        &NoProgress,
        std::future::pending(),
    )
    .await
}

/// `--from FROM --to TO`.
fn range(from: &str, to: &str) -> Days {
    Days::default()
        .with_from(Some(day(from)))
        .with_to(Some(day(to)))
}

async fn ids(lake: PathBuf, table: &'static str) -> Vec<String> {
    tokio::task::spawn_blocking(move || {
        sql_rows(&lake, &format!("SELECT id FROM {table} ORDER BY id"))
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    })
    .await
    .unwrap()
}

fn expected(sim: &RunningSim, function: Function, from: &str, to: &str) -> Vec<String> {
    let mut ids: Vec<String> = sim
        .tenant()
        .expected(function, day(from), day(to))
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// A table's ids per `call_date` (sorted, duplicates kept), as the lake holds them.
async fn ids_per_day(lake: PathBuf, table: &'static str) -> BTreeMap<String, Vec<String>> {
    tokio::task::spawn_blocking(move || {
        let mut days = BTreeMap::<String, Vec<String>>::new();
        let query = format!("SELECT CAST(call_date AS VARCHAR), id FROM {table} ORDER BY 1, 2");
        for row in sql_rows(&lake, &query) {
            days.entry(row[0].clone()).or_default().push(row[1].clone());
        }
        days
    })
    .await
    .unwrap()
}

/// The simulator's ids per day of `from..=to`, sorted.
fn expected_per_day(
    sim: &RunningSim,
    function: Function,
    from: &str,
    to: &str,
) -> BTreeMap<String, Vec<String>> {
    let mut days = BTreeMap::<String, Vec<String>>::new();
    for row in sim.tenant().expected(function, day(from), day(to)) {
        days.entry(row.day.to_string()).or_default().push(row.id);
    }
    days.values_mut().for_each(|ids| ids.sort());
    days
}

/// The lake holds exactly the simulator's rows of `from..=to`, in both tables, day by day: each
/// day has the simulator's ids of that day, each once, and no day has rows of another.
pub(crate) async fn assert_exact(lake: &Path, sim: &RunningSim, from: &str, to: &str) {
    for (table, function) in [
        ("pstn_calls", Function::Pstn),
        ("direct_routing_calls", Function::DirectRouting),
    ] {
        assert_eq!(
            ids_per_day(lake.to_owned(), table).await,
            expected_per_day(sim, function, from, to),
            "{table}: ids per day"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_lands_exactly_the_calls_of_the_requested_days() {
    for api in [ApiVersion::V1, ApiVersion::Beta] {
        let sim = start(config("2026-06-01", 5, 700)).await;
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        // Days 2 to 4 of 5: PSTN's inclusive toDateTime returns day 5's midnight row with day 4,
        // and it must not land.
        let report = sync_lib(
            &sim,
            &lake,
            &SyncOptions::default()
                .with_days(range("2026-06-02", "2026-06-04"))
                .with_api(Some(api)),
        )
        .await;
        assert_eq!(
            (report.days_written, report.days_skipped),
            (6, 0),
            "{api:?}"
        );
        assert_eq!(
            report.rows[&Table::PstnCalls],
            expected(&sim, Function::Pstn, "2026-06-02", "2026-06-04").len() as u64,
            "{api:?}"
        );
        assert_exact(&lake, &sim, "2026-06-02", "2026-06-04").await;
        // Counts per day, as the lake's own aggregate sees them.
        let counts = tokio::task::spawn_blocking({
            let lake = lake.clone();
            move || {
                sql_rows(
                    &lake,
                    "SELECT CAST(call_date AS VARCHAR), count(*), count(DISTINCT id) FROM pstn_calls GROUP BY 1 ORDER BY 1",
                )
            }
        })
        .await
        .unwrap();
        let want: Vec<Vec<String>> =
            expected_per_day(&sim, Function::Pstn, "2026-06-02", "2026-06-04")
                .into_iter()
                .map(|(d, ids)| vec![d, ids.len().to_string(), ids.len().to_string()])
                .collect();
        assert_eq!(counts.len(), 3, "{api:?}: three days");
        assert_eq!(counts, want, "{api:?}: PSTN rows per day");
        // Exact money: the lake's sums equal the simulator's, per currency.
        let mut sums = std::collections::BTreeMap::<String, i128>::new();
        for row in sim
            .tenant()
            .expected(Function::Pstn, day("2026-06-02"), day("2026-06-04"))
        {
            *sums.entry(row.currency.unwrap_or_default()).or_default() +=
                row.charge_micros.unwrap_or(0);
        }
        let lake_sums = tokio::task::spawn_blocking({
            let lake = lake.clone();
            move || sql_rows(&lake, "SELECT coalesce(currency, ''), CAST(sum(charge) * 1000000 AS BIGINT) FROM pstn_calls GROUP BY 1 ORDER BY 1")
        })
        .await
        .unwrap();
        let lake_sums: std::collections::BTreeMap<String, i128> = lake_sums
            .into_iter()
            .map(|r| (r[0].clone(), r[1].parse().unwrap()))
            .collect();
        assert_eq!(lake_sums, sums, "{api:?}: sums");
        let beta_column = tokio::task::spawn_blocking({
            let lake = lake.clone();
            move || {
                sql_rows(
                    &lake,
                    "SELECT count(client_public_ip_v4_address) > 0 FROM pstn_calls",
                )
            }
        })
        .await
        .unwrap();
        assert_eq!(
            beta_column,
            vec![vec![(api == ApiVersion::Beta).to_string()]],
            "{api:?}: beta columns"
        );
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_transient_failure_is_survived() {
    let faults = FaultPlan::new()
        .at(1, Fault::Status(503))
        .at(
            2,
            Fault::Throttle {
                retry_after_secs: 1,
            },
        )
        .at(4, Fault::DropConnection)
        .at(6, Fault::TruncatedBody)
        .at(8, Fault::Status(504))
        .at(9, Fault::ExpireToken)
        .at(11, Fault::Status(500));
    let sim = start(config("2026-06-01", 3, 600).with_faults(faults)).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let report = sync_lib(
        &sim,
        &lake,
        &SyncOptions::default()
            .with_days(range("2026-06-01", "2026-06-03"))
            .with_concurrency(2),
    )
    .await;
    assert_exact(&lake, &sim, "2026-06-01", "2026-06-03").await;
    assert_eq!(sim.stats().faults_injected, 7, "{:?}", sim.stats());
    assert_eq!(report.retries, 6, "{report}");
    assert_eq!(report.throttled, 1, "{report}");
    // Both in-flight requests may see the 401, but they share one renewal.
    assert!(report.renewals_after_401 >= 1, "{report}");
    assert_eq!(report.tokens, 2, "{report}");
    assert_eq!(sim.stats().tokens_issued, 2);
    sim.shutdown().await;
}

/// Tokens are renewed before they expire (halfway through a short one), not only after a 401.
/// Whether a request reaches the simulator before its token expires depends on the machine's
/// load, so a 401 is allowed (the client renews and repeats the request); what must hold is that
/// the run succeeds and at least one renewal came before any 401 asked for it.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_renewed_before_they_expire() {
    let sim = start(
        config("2026-06-01", 4, 1000)
            .with_token_lifetime(Duration::from_secs(2))
            .with_latency(Duration::from_millis(100)),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let report = sync_lib(
        &sim,
        &dir.path().join("lake"),
        &SyncOptions::default()
            .with_days(range("2026-06-01", "2026-06-04"))
            .with_concurrency(1),
    )
    .await;
    let stats = sim.stats();
    assert!(
        report.elapsed > Duration::from_secs(2),
        "the run outlived a token: {report}"
    );
    assert_eq!(report.tokens, stats.tokens_issued, "{stats:?}");
    assert_eq!(report.renewals_after_401, stats.unauthorized, "{stats:?}");
    assert!(
        report.tokens > 1 + report.renewals_after_401,
        "no token was renewed before it expired: {report}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_as_an_http_date_is_honoured() {
    let faults = FaultPlan::new().at(
        1,
        Fault::Throttle {
            retry_after_secs: 2,
        },
    );
    let sim = start(
        config("2026-06-01", 1, 300)
            .with_faults(faults)
            .with_retry_after_http_date(true),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let started = chrono::Utc::now();
    let report = sync_lib(
        &sim,
        &lake,
        &SyncOptions::default()
            .with_days(range("2026-06-01", "2026-06-01").with_tables([Table::PstnCalls])),
    )
    .await;
    assert_eq!(report.throttled, 1, "{report}");
    assert!(report.throttled_wait > Duration::ZERO, "{report}");
    // The simulator names the second 2 s after its clock's now, which is no earlier than the
    // start's second + 2. Honoured, the date is waited for, so the run ends after it. (How long
    // the wait itself is depends on how long the 429 took to arrive: not asserted.)
    let named = started.with_nanosecond(0).unwrap() + chrono::Duration::seconds(2);
    let ended = chrono::Utc::now();
    assert!(ended >= named, "the run ended at {ended}, before {named}");
    assert_eq!(
        ids(lake, "pstn_calls").await,
        expected(&sim, Function::Pstn, "2026-06-01", "2026-06-01")
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn permission_and_request_errors_stop_with_graph_s_message() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sim = start(config("2026-06-01", 2, 10).with_forbidden(true)).await;
    let out = sync(&sim, &lake, &["--from", "2026-06-01", "--to", "2026-06-02"])
        .await
        .fails();
    assert!(
        out.stderr
            .contains("CallRecords.Read.All application permission"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    sim.shutdown().await;

    // 400 and 406 (what Graph answers a range over 90 days): permanent, not retried, and the
    // message names the day.
    for status in [400, 406] {
        let sim = start(
            config("2026-06-01", 2, 10).with_faults(FaultPlan::new().at(1, Fault::Status(status))),
        )
        .await;
        let out = sync(
            &sim,
            &lake,
            &[
                "--from",
                "2026-06-01",
                "--to",
                "2026-06-01",
                "--tables",
                "pstn_calls",
            ],
        )
        .await
        .fails();
        assert!(
            out.stderr
                .contains("fetching pstn_calls for 2026-06-01 failed")
                && out.stderr.contains(&format!("Graph answered {status}"))
                && out.stderr.contains("ranges over 90 days"),
            "{}",
            out.stderr
        );
        assert_eq!(sim.stats().graph_requests, 1, "{status} is not retried");
        sim.shutdown().await;
    }

    let out = sync(
        &start(config("2026-06-01", 1, 1)).await,
        &lake,
        &["--tables", "sms"],
    )
    .await
    .fails();
    assert!(out.stderr.contains("unknown table `sms`"), "{}", out.stderr);
}

/// The Graph error that stopped a sync while it fetched a day.
fn fetch_error(e: &pstn_lake_pipeline::Error) -> &pstn_lake_fetch::Error {
    let pstn_lake_pipeline::Error::Stopped { source, .. } = e else {
        panic!("{e:?}")
    };
    let pstn_lake_pipeline::Error::Fetch { source, .. } = &**source else {
        panic!("{e:?}")
    };
    source
}

/// The Graph error that stopped a sync before any day was fetched (the token).
fn token_error(e: &pstn_lake_pipeline::Error) -> &pstn_lake_fetch::Error {
    let pstn_lake_pipeline::Error::Graph(graph) = e else {
        panic!("{e:?}")
    };
    graph
}

/// A page whose body never ends is refused at the page cap (not retried, not held past it), and
/// a day that links past the page cap is refused; both name the request.
#[tokio::test(flavor = "multi_thread")]
async fn an_endless_page_or_a_day_of_endless_pages_is_refused() {
    let options = SyncOptions::default()
        .with_days(range("2026-06-01", "2026-06-01").with_tables([Table::PstnCalls]));
    let sim =
        start(config("2026-06-01", 1, 300).with_faults(FaultPlan::new().at(1, Fault::EndlessBody)))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let e = try_sync_lib(&sim, &dir.path().join("lake"), graph_config(&sim), &options)
        .await
        .unwrap_err();
    let source = fetch_error(&e);
    assert!(
        matches!(source, pstn_lake_fetch::Error::TooLarge { limit, what: "a Graph page", .. }
            if *limit == pstn_lake_fetch::MAX_PAGE_BYTES),
        "{source:?}"
    );
    assert_eq!(sim.stats().graph_requests, 1, "not retried");
    sim.shutdown().await;

    // 300 calls in pages of 10: 30 pages, over a cap of 5.
    let sim = start(config("2026-06-01", 1, 300).with_page_size(10)).await;
    let e = try_sync_lib(
        &sim,
        &dir.path().join("lake-2"),
        graph_config(&sim).with_max_pages_per_day(5),
        &options,
    )
    .await
    .unwrap_err();
    let source = fetch_error(&e);
    assert!(
        matches!(
            source,
            pstn_lake_fetch::Error::TooManyPages {
                limit: 5,
                rows: 50,
                ..
            }
        ),
        "{source:?}"
    );
    assert_eq!(sim.stats().pages_served, 5);
    assert!(
        !dir.path().join("lake-2/pstn_calls").exists(),
        "nothing landed"
    );
    sim.shutdown().await;
}

/// The login host's transient failures (503, 429 with `Retry-After`) are retried like Graph's;
/// one that never recovers ends in an error naming the token endpoint and the attempts.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoint_s_transient_failures_are_retried() {
    let retry = pstn_lake_fetch::RetryConfig {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        ..Default::default()
    };
    let options = SyncOptions::default()
        .with_days(range("2026-06-01", "2026-06-01").with_tables([Table::PstnCalls]));
    let faults = FaultPlan::new()
        .at(1, Fault::Status(503))
        .at(
            2,
            Fault::Throttle {
                retry_after_secs: 1,
            },
        )
        .at(3, Fault::Status(500));
    let sim = start(config("2026-06-01", 1, 300).with_token_faults(faults)).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let started = Instant::now();
    let report = try_sync_lib(
        &sim,
        &lake,
        graph_config(&sim).with_retry(retry.clone()),
        &options,
    )
    .await
    .unwrap();
    let stats = sim.stats();
    assert_eq!(
        (stats.token_requests, stats.tokens_issued, report.tokens),
        (4, 1, 1),
        "{stats:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 is waited out: {:?}",
        started.elapsed()
    );
    assert_eq!(
        ids(lake, "pstn_calls").await,
        expected(&sim, Function::Pstn, "2026-06-01", "2026-06-01")
    );
    sim.shutdown().await;

    let sim = start(
        config("2026-06-01", 1, 300)
            .with_token_faults(FaultPlan::new().every(1, Fault::Status(503))),
    )
    .await;
    let e = try_sync_lib(
        &sim,
        &dir.path().join("lake-2"),
        graph_config(&sim).with_retry(retry),
        &options,
    )
    .await
    .unwrap_err();
    // The token is asked for before any day is fetched: the run stops at it.
    assert!(
        matches!(
            token_error(&e),
            pstn_lake_fetch::Error::RetriesExhausted {
                url,
                attempts: 4,
                last: pstn_lake_fetch::RequestError::Status { status: 503, .. },
            } if url.ends_with("/oauth2/v2.0/token")
        ),
        "{e:?}"
    );
    assert_eq!(sim.stats().token_requests, 4);
    sim.shutdown().await;

    // A token answer that never ends is cut at its cap, and is not retried.
    let sim = start(
        config("2026-06-01", 1, 300)
            .with_token_faults(FaultPlan::new().every(1, Fault::EndlessBody)),
    )
    .await;
    let e = try_sync_lib(
        &sim,
        &dir.path().join("lake-3"),
        graph_config(&sim),
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            token_error(&e),
            pstn_lake_fetch::Error::TooLarge {
                what: "a token response",
                limit: 65536,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(sim.stats().token_requests, 1);
    sim.shutdown().await;
}

/// `run`, which must end within a minute: a client that never gave up on a held request would
/// wait for ever.
async fn gives_up<T>(run: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the client never gave up on the held request")
}

/// A Graph request that does not answer within the request timeout is retried; one that never
/// does ends in an error naming the day and the timeout.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_times_out_is_retried_then_named_with_its_day() {
    // A held request never answers before the client gives up on it, however slow the machine;
    // the timeout is long enough for every other request to be answered in time.
    let retry = pstn_lake_fetch::RetryConfig {
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let held = Fault::Hold;
    // One table: two tables' writers at once can trip the sink's spool-folder race (the folder
    // is removed by one writer while another is about to put a file in it), which is not what
    // this test is about.
    let options = SyncOptions::default()
        .with_days(range("2026-06-01", "2026-06-01").with_tables([Table::PstnCalls]));

    let sim =
        start(config("2026-06-01", 1, 300).with_faults(FaultPlan::new().at(1, held.clone()))).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let report = gives_up(try_sync_lib(
        &sim,
        &lake,
        graph_config(&sim).with_retry(retry.clone()),
        &options,
    ))
    .await
    .unwrap();
    assert_eq!(report.days_written, 1, "{report}");
    let stats = sim.stats();
    // The held request is never answered (until shutdown): one request more than pages served
    // means the client gave up on it and asked again.
    assert_eq!(
        (stats.graph_requests, report.retries),
        (stats.pages_served + 1, 1),
        "one retry: {stats:?}"
    );
    assert_eq!(
        ids_per_day(lake.clone(), "pstn_calls").await,
        expected_per_day(&sim, Function::Pstn, "2026-06-01", "2026-06-01")
    );
    sim.shutdown().await;

    let sim =
        start(config("2026-06-01", 1, 300).with_faults(FaultPlan::new().every(1, held))).await;
    let lake = dir.path().join("lake-2");
    let e = gives_up(try_sync_lib(
        &sim,
        &lake,
        graph_config(&sim).with_retry(retry),
        &options,
    ))
    .await
    .unwrap_err();
    let pstn_lake_pipeline::Error::Stopped { so_far, source } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(so_far.days_written, 0, "{so_far}");
    let pstn_lake_pipeline::Error::Fetch {
        day: failed,
        source,
        ..
    } = &**source
    else {
        panic!("{e:?}")
    };
    assert_eq!(*failed, day("2026-06-01"));
    assert!(
        matches!(
            &**source,
            pstn_lake_fetch::Error::RetriesExhausted {
                attempts: 3,
                last: pstn_lake_fetch::RequestError::TimedOut { source, .. },
                ..
            } if source.is_timeout()
        ),
        "{source:?}"
    );
    let mut message = e.to_string();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(c) = cause {
        message = format!("{message}: {c}");
        cause = c.source();
    }
    assert!(
        message.contains("for 2026-06-01 failed")
            && message.contains("after 3 attempts")
            && message.contains("no answer within the request timeout of 2s"),
        "{message}"
    );
    assert_eq!(sim.stats().pages_served, 0);
    sim.shutdown().await;
}

/// `AZURE_AUTHORITY_HOST` sends the token request to that host, and Graph requests go to the
/// Graph host only; `--login-url` wins over the variable. The simulator stands in for both hosts
/// (`localhost` and `127.0.0.1`) and records which host each request named.
#[tokio::test(flavor = "multi_thread")]
async fn the_authority_host_gets_the_token_request_and_the_graph_host_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    for login_url_flag in [false, true] {
        let sim = start(config("2026-06-01", 1, 50)).await;
        let port = sim.addr().port();
        let authority = format!("http://localhost:{port}");
        let lake = dir.path().join(format!("lake-{login_url_flag}"));
        let mut cmd = sync_command_without_login_url(
            &sim,
            &lake,
            &["--from", "2026-06-01", "--to", "2026-06-01"],
        );
        if login_url_flag {
            // An authority host where nothing listens: only --login-url can make this work.
            cmd.env("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9")
                .args(["--login-url", &authority]);
        } else {
            cmd.env("AZURE_AUTHORITY_HOST", &authority);
        }
        command_output(cmd).await.ok();
        let stats = sim.stats();
        let set = |items: &[String]| {
            items
                .iter()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(stats.token_hosts, set(&[format!("localhost:{port}")]));
        assert_eq!(stats.graph_hosts, set(&[format!("127.0.0.1:{port}")]));
        assert_eq!(
            stats.token_scopes,
            set(&[format!("http://127.0.0.1:{port}/.default")]),
            "the scope is the Graph host's"
        );
        assert_eq!(stats.tokens_issued, 1);
        assert_exact(&lake, &sim, "2026-06-01", "2026-06-01").await;
        sim.shutdown().await;
    }
}

/// A day's rows are spooled in `_pstn_lake/spool/` (or, failing that, TMPDIR): when neither can
/// be used, the sync stops naming the table, the day and both folders, commits nothing for that
/// day, and a run with a usable folder completes.
#[tokio::test(flavor = "multi_thread")]
async fn a_spool_folder_that_cannot_be_used_stops_with_the_day_named() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sim = start(config("2026-06-01", 2, 30)).await;
    let args = [
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-02",
        "--tables",
        "pstn_calls",
    ];
    // A file where the lake's spool folder goes, and a TMPDIR that does not exist.
    let blocked = lake.join("_pstn_lake").join("spool");
    std::fs::create_dir_all(blocked.parent().unwrap()).unwrap();
    std::fs::write(&blocked, "not a folder").unwrap();
    let mut cmd = sync_command(&sim, &lake, &args);
    cmd.env("TMPDIR", dir.path().join("no-such-folder"));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("keeping the rows of pstn_calls for 2026-06-0")
            && stderr.contains(
                "in the spool failed (`_pstn_lake/spool/` in a local lake, TMPDIR otherwise)"
            ),
        "{stderr}"
    );
    assert!(
        !lake.join("pstn_calls").exists(),
        "no day was committed: {stderr}"
    );

    std::fs::remove_file(&blocked).unwrap();
    sync(&sim, &lake, &args).await.ok();
    assert_eq!(
        ids(lake.clone(), "pstn_calls").await,
        expected(&sim, Function::Pstn, "2026-06-01", "2026-06-02")
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_next_link_to_another_host_gets_no_token_and_a_loop_is_an_error() {
    let foreign = start(config("2026-06-01", 2, 600)).await;
    let sim =
        start(config("2026-06-01", 2, 600).with_next_link_host_override(foreign.graph_url())).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let out = sync(&sim, &lake, &["--from", "2026-06-01", "--to", "2026-06-01"])
        .await
        .fails();
    assert!(
        out.stderr.contains("refusing the @odata.nextLink"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the bearer token is not sent there"),
        "{}",
        out.stderr
    );
    assert_eq!(
        foreign.stats().requests,
        0,
        "the foreign host was contacted"
    );
    assert_eq!(foreign.stats().requests_with_authorization, 0);
    assert!(
        !lake.join("pstn_calls").exists(),
        "a partial day was written"
    );

    let looping = start(config("2026-06-01", 2, 600).with_repeat_next_link(true)).await;
    let out = sync(
        &looping,
        &lake,
        &["--from", "2026-06-01", "--to", "2026-06-01"],
    )
    .await
    .fails();
    assert!(
        out.stderr.contains("repeats a page already read"),
        "{}",
        out.stderr
    );
    assert!(looping.stats().graph_requests <= 4, "{:?}", looping.stats());
}

/// The (table, day) pairs the lake's sync state records complete.
fn complete_pairs(lake: &Path) -> usize {
    ["pstn_calls", "direct_routing_calls"]
        .iter()
        .map(|table| complete_days(lake, table).len())
        .sum()
}

/// Waits (up to a minute) until the simulator holds a request: the sync is then waiting on it,
/// in the middle of its run.
async fn until_held(sim: &RunningSim) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.stats().held == 0 {
        assert!(
            Instant::now() < deadline,
            "the sync never reached the held request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A backfill killed in the middle of its run. One day at a time, a (table, day) takes 4 or 5
/// requests and is recorded complete before the next starts: the simulator holds request 31, so
/// at the kill at least 6 of the 16 (table, day) pairs are complete and the held one is not,
/// whatever the machine's speed.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_backfill_resumes_without_refetching_finished_days() {
    let sim =
        start(config("2026-06-01", 8, 1000).with_faults(FaultPlan::new().at(31, Fault::Hold)))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let args = [
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-08",
        "--concurrency",
        "1",
    ];
    let mut child = sync_command(&sim, &lake, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    until_held(&sim).await;
    child.kill().unwrap();
    child.wait().unwrap();
    sim.release_held();
    let done = complete_pairs(&lake) as u64;
    assert!(
        (6..16).contains(&done),
        "{done} of 16 days were complete at the kill"
    );
    let requests_before = sim.stats().graph_requests;

    let options = SyncOptions::default()
        .with_days(range("2026-06-01", "2026-06-08"))
        .with_concurrency(1);
    let report = sync_lib(&sim, &lake, &options).await;
    assert_eq!(report.days_skipped, done, "{report}");
    assert_eq!(report.days_planned, 16 - done, "{report}");
    assert_exact(&lake, &sim, "2026-06-01", "2026-06-08").await;
    // 16 (table, day) pairs of 4 or 5 pages each: the second run fetched only what was missing.
    let second_run = sim.stats().graph_requests - requests_before;
    assert!(
        second_run <= (16 - done) * 5,
        "second run made {second_run} requests"
    );

    // --refetch fetches everything again; the lake stays exact.
    let report = sync_lib(&sim, &lake, &options.with_refetch(true)).await;
    assert_eq!(
        (report.days_skipped, report.days_written),
        (0, 16),
        "{report}"
    );
    assert_eq!(
        ids(lake.clone(), "pstn_calls").await,
        expected(&sim, Function::Pstn, "2026-06-01", "2026-06-08")
    );
    sim.shutdown().await;
}

/// Ctrl-C, and SIGTERM (what `systemctl stop` and `docker stop` send), stop a sync cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_or_sigterm_stops_cleanly_with_finished_days_committed() {
    for (signal, code, said) in [("-INT", 130, "Ctrl-C"), ("-TERM", 143, "SIGTERM")] {
        stops_cleanly(signal, code, said).await;
    }
}

/// The signal is sent while the simulator holds request 21 of a sync of 20 (table, day) pairs
/// fetched one at a time (4 or 5 requests each): at least 4 pairs are complete, the held one is
/// not, and the sync cannot finish before the signal.
async fn stops_cleanly(signal: &str, code: i32, said: &str) {
    let sim =
        start(config("2026-06-01", 10, 1000).with_faults(FaultPlan::new().at(21, Fault::Hold)))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let mut child = sync_command(
        &sim,
        &lake,
        &[
            "--from",
            "2026-06-01",
            "--to",
            "2026-06-10",
            "--concurrency",
            "1",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    until_held(&sim).await;
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    // A sync that ignored the signal would wait on the held request for ever.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            sim.release_held();
            panic!("the sync did not stop on {said}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    sim.release_held();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(&format!("interrupted: {said}")), "{stderr}");
    let done = complete_pairs(&lake);
    assert!((4..20).contains(&done), "{done} of 20 days complete");
    // What the state says is finished is in the lake, whole.
    for table in ["pstn_calls", "direct_routing_calls"] {
        for d in complete_days(&lake, table) {
            let function = match table {
                "pstn_calls" => Function::Pstn,
                _ => Function::DirectRouting,
            };
            let d = d.to_string();
            let want = expected(&sim, function, &d, &d).len();
            let lake = lake.clone();
            let query = format!("SELECT count(*) FROM {table} WHERE call_date = DATE '{d}'");
            let got = tokio::task::spawn_blocking(move || sql_rows(&lake, &query))
                .await
                .unwrap();
            assert_eq!(got, vec![vec![want.to_string()]], "{table} {d}");
        }
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_never_appears_in_output_or_logs() {
    let sim =
        start(config("2026-06-01", 2, 300).with_faults(FaultPlan::new().at(1, Fault::ExpireToken)))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let mut cmd = sync_command(
        &sim,
        &lake,
        &["--from", "2026-06-01", "--to", "2026-06-02", "-vv"],
    );
    cmd.env("RUST_LOG", "trace");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("TRACE") || all.contains("DEBUG"),
        "logs were on: {}",
        &all[..all.len().min(500)]
    );
    assert!(!all.contains(SECRET), "the secret leaked");
    // Nor on the error path (a wrong secret).
    let mut cmd = sync_command(&sim, &lake, &["-vv"]);
    cmd.env("AZURE_CLIENT_SECRET", format!("{SECRET}-wrong"))
        .env("RUST_LOG", "trace");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(all.contains("invalid_client"), "{all}");
    assert!(!all.contains(SECRET), "the secret leaked on the error path");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_credentials_sign_an_assertion() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/test-credentials");
    let registered = std::fs::read(root.join("test-app.cer")).unwrap();
    let sim = start(
        config("2026-06-01", 1, 100)
            .with_client_secret("")
            .with_assertion_certificate_der(registered),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let mut cmd = sync_command(&sim, &lake, &["--from", "2026-06-01", "--to", "2026-06-01"]);
    cmd.env_remove("AZURE_CLIENT_SECRET")
        .env("AZURE_CLIENT_CERTIFICATE_PATH", root.join("test-app.pem"));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ids(lake.clone(), "pstn_calls").await,
        expected(&sim, Function::Pstn, "2026-06-01", "2026-06-01")
    );
    assert_eq!(sim.stats().tokens_issued, 1);

    // Without any credential: one clear message.
    let mut cmd = sync_command(&sim, &lake, &[]);
    cmd.env_remove("AZURE_CLIENT_SECRET");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set"),
        "{stderr}"
    );
    sim.shutdown().await;
}

/// An app registration holding another certificate for the same key: the signature would verify,
/// the thumbprint does not match, and Entra's refusal reaches the user without key material.
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_the_app_does_not_hold_is_refused_with_entra_s_message() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/test-credentials");
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.cer");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-new", "-key"])
        .arg(root.join("test-app.pem"))
        .args(["-subj", "/CN=another certificate", "-days", "1"])
        .args(["-outform", "DER", "-out"])
        .arg(&other)
        .output()
        .expect("openssl (needed by this test) runs");
    assert!(made.status.success(), "{made:?}");
    let sim = start(
        config("2026-06-01", 1, 10)
            .with_client_secret("")
            .with_assertion_certificate_der(std::fs::read(&other).unwrap()),
    )
    .await;
    let lake = dir.path().join("lake");
    let mut cmd = sync_command(&sim, &lake, &["--from", "2026-06-01", "--to", "2026-06-01"]);
    cmd.env_remove("AZURE_CLIENT_SECRET")
        .env("AZURE_CLIENT_CERTIFICATE_PATH", root.join("test-app.pem"))
        .env("RUST_LOG", "trace");
    let out = command_output(cmd).await.fails();
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("HTTP 401: invalid_client: AADSTS700027")
            && all.contains("is not registered on application"),
        "{all}"
    );
    let pem = std::fs::read_to_string(root.join("test-app.pem")).unwrap();
    let key_line = pem.lines().nth(1).unwrap();
    assert!(!all.contains(key_line), "key material leaked");
    assert!(!all.contains("client_assertion="), "the assertion leaked");
    assert_eq!(
        (sim.stats().tokens_issued, sim.stats().graph_requests),
        (0, 0)
    );
    assert!(!lake.exists(), "a refused sync creates no lake");
    sim.shutdown().await;
}

/// Rewrites a raw archive the way pstn-lake wrote archives before they recorded page boundaries
/// (each page, then a newline); returns how many pages it holds.
fn to_unframed_archive(path: &Path) -> usize {
    let framed = zstd::decode_all(std::fs::File::open(path).unwrap()).unwrap();
    let mut rest = framed
        .strip_prefix(b"pstn-lake raw pages v2\n".as_slice())
        .expect("archives record page boundaries");
    let (mut old, mut pages) = (Vec::new(), 0);
    while !rest.is_empty() {
        let line = rest.iter().position(|b| *b == b'\n').unwrap();
        let len: usize = std::str::from_utf8(&rest[..line]).unwrap().parse().unwrap();
        old.extend_from_slice(&rest[line + 1..line + 1 + len]);
        old.push(b'\n');
        rest = &rest[line + 2 + len..];
        pages += 1;
    }
    std::fs::write(path, zstd::encode_all(&old[..], 3).unwrap()).unwrap();
    pages
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_raw_then_rebuild_lands_the_same_rows_without_graph() {
    let sim = start(config("2026-06-01", 3, 800)).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let report = sync_lib(
        &sim,
        &lake,
        &SyncOptions::default()
            .with_days(range("2026-06-01", "2026-06-03"))
            .with_api(Some(ApiVersion::Beta))
            .with_keep_raw(true),
    )
    .await;
    assert_eq!(report.days_written, 6, "{report}");
    assert!(
        lake.join("_raw/pstn_calls/call_date=2026-06-02/pages.json.zst")
            .is_file()
    );
    let report = |lake: PathBuf| async move {
        tokio::task::spawn_blocking(move || {
            run(&[
                "report",
                "charges-by-country",
                "--format",
                "csv",
                "--lake",
                lake.to_str().unwrap(),
            ])
            .ok()
            .stdout
        })
        .await
        .unwrap()
    };
    let before = report(lake.clone()).await;
    // One day as an older pstn-lake archived it: its pages one after another.
    let pages =
        to_unframed_archive(&lake.join("_raw/pstn_calls/call_date=2026-06-02/pages.json.zst"));
    assert!(pages > 1, "{pages} pages");
    // Lose the tables (as after a schema change that needs every file rewritten).
    std::fs::remove_dir_all(lake.join("pstn_calls")).unwrap();
    std::fs::remove_dir_all(lake.join("direct_routing_calls")).unwrap();
    let requests = sim.stats().requests;
    let rebuilt = {
        let lake = lake.clone();
        tokio::task::spawn_blocking(move || run(&["rebuild", "--lake", lake.to_str().unwrap()]))
            .await
            .unwrap()
            .ok()
    };
    assert!(
        rebuilt
            .stderr
            .contains("rebuilt 6 days (4800 rows) from the raw archive"),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(sim.stats().requests, requests, "rebuild called Graph");
    assert_exact(&lake, &sim, "2026-06-01", "2026-06-03").await;
    assert_eq!(report(lake.clone()).await, before);

    // A damaged archive stops the rebuild naming the day's archive and what to do.
    std::fs::write(
        lake.join("_raw/pstn_calls/call_date=2026-06-03/pages.json.zst"),
        zstd::encode_all(&b"pstn-lake raw pages v2\n99\n{}\n"[..], 3).unwrap(),
    )
    .unwrap();
    let damaged = {
        let lake = lake.clone();
        tokio::task::spawn_blocking(move || run(&["rebuild", "--lake", lake.to_str().unwrap()]))
            .await
            .unwrap()
            .fails()
    };
    assert!(
        damaged
            .stderr
            .contains("call_date=2026-06-03/pages.json.zst` cannot be read: page 1 is cut off"),
        "{}",
        damaged.stderr
    );
    assert!(
        damaged.stderr.contains("sync --refetch --keep-raw"),
        "{}",
        damaged.stderr
    );

    let empty = dir.path().join("empty");
    let out =
        tokio::task::spawn_blocking(move || run(&["rebuild", "--lake", empty.to_str().unwrap()]))
            .await
            .unwrap()
            .fails();
    assert!(out.stderr.contains("sync --keep-raw"), "{}", out.stderr);
    sim.shutdown().await;
}

/// The UTC day now.
fn utc_today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A first sync, then one from cron. Midnight may pass while the test runs: the library runs are
/// told the day the test planned with (`with_today`), and what the binary prints is checked
/// against the days before and after its run (either side of midnight is right).
#[tokio::test(flavor = "multi_thread")]
async fn incremental_sync_continues_from_the_last_complete_day_minus_the_lookback() {
    let today = utc_today();
    let first = today - chrono::Duration::days(10);
    let sim = start(
        SimConfig::default()
            .with_tenant(TenantConfig::new(5, first, 11, 300))
            .with_page_size(250)
            .with_client_secret(SECRET),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    let out = sync(&sim, &lake, &["--to", &yesterday]).await.ok();
    // The binary's today: the day the test started with, or the next if midnight passed.
    let said = |day: NaiveDate| {
        let from = (day - chrono::Duration::days(30)).to_string();
        out.stderr.contains(&format!("first sync of this lake and no --from given: fetching the last 30 days, {from} to {yesterday}"))
    };
    assert!(said(today) || said(utc_today()), "{}", out.stderr);
    assert_exact(&lake, &sim, &first.to_string(), &yesterday).await;

    // From cron, without dates: last complete day (yesterday) minus 3 days of lookback, to today.
    // The day before the lookback window is complete and skipped; the 3 recent days are fetched
    // again (Graph fills them in late) and today is new.
    let report = sync_lib(&sim, &lake, &SyncOptions::default().with_today(today)).await;
    assert_eq!(
        (
            report.days_skipped,
            report.days_written,
            report.days_unfinished
        ),
        (2, 8, 2),
        "{report}"
    );
    assert_exact(&lake, &sim, &first.to_string(), &today.to_string()).await;
    sim.shutdown().await;
}

/// The days `sync-state.json` records complete for `table`.
fn complete_days(lake: &Path, table: &str) -> Vec<NaiveDate> {
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lake.join("_pstn_lake/sync-state.json")).unwrap(),
    )
    .unwrap();
    state["tables"][table]["complete_days"]
        .as_array()
        .map(|days| days.iter().map(|d| day(d.as_str().unwrap())).collect())
        .unwrap_or_default()
}

/// A `--to` in the future fetches what Graph has, but no day from today on is recorded complete;
/// a plain `sync` afterwards makes progress. A state that recorded future days (as an older
/// version did) is healed the same way instead of stopping every later sync. Midnight may pass
/// while the test runs: the library run is told the test's day (`with_today`); after the
/// binary's run, no day from the day its run ended on may be complete.
#[tokio::test(flavor = "multi_thread")]
async fn a_future_to_records_no_unfinished_day_and_a_plain_sync_still_runs() {
    let today = utc_today();
    let first = today - chrono::Duration::days(3);
    let sim = start(
        SimConfig::default()
            .with_tenant(TenantConfig::new(5, first, 6, 40))
            .with_page_size(250)
            .with_client_secret(SECRET),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let report = sync_lib(
        &sim,
        &lake,
        &SyncOptions::default()
            .with_days(
                Days::default()
                    .with_from(Some(first))
                    .with_to(Some(today + chrono::Duration::days(30))),
            )
            .with_today(today),
    )
    .await;
    // Today and the 30 days after it, in both tables.
    assert_eq!(report.days_unfinished, 2 * 31, "{report}");
    assert!(report.to_string().contains("not over yet"), "{report}");
    for table in ["pstn_calls", "direct_routing_calls"] {
        let days = complete_days(&lake, table);
        assert_eq!(
            days,
            (0..3)
                .map(|k| first + chrono::Duration::days(k))
                .collect::<Vec<_>>(),
            "{table}: only the days that are over are complete"
        );
    }
    // Fetched all the same: the simulator's days up to today + 2 are in the lake.
    let last = (today + chrono::Duration::days(2)).to_string();
    assert_exact(&lake, &sim, &first.to_string(), &last).await;

    // A plain sync fetches the days that were not over again.
    let requests = sim.stats().graph_requests;
    sync(&sim, &lake, &[]).await.ok();
    assert!(sim.stats().graph_requests > requests, "nothing was fetched");

    // A state that says the next 30 days are complete (written before they happened).
    let path = lake.join("_pstn_lake/sync-state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let days: Vec<String> = (-3..30)
        .map(|k| (today + chrono::Duration::days(k)).to_string())
        .collect();
    state["tables"]["pstn_calls"]["complete_days"] = serde_json::json!(days);
    std::fs::write(&path, state.to_string()).unwrap();
    let requests = sim.stats().graph_requests;
    sync(&sim, &lake, &["--tables", "pstn_calls"]).await.ok();
    assert!(sim.stats().graph_requests > requests, "nothing was fetched");
    // The binary's today is the test's, or the next day if midnight passed: no day from the day
    // its run ended on is complete (that day is `today`, but in a run that straddled midnight).
    let now = utc_today();
    assert!(
        complete_days(&lake, "pstn_calls").iter().all(|d| *d < now),
        "{:?}",
        complete_days(&lake, "pstn_calls")
    );
    sim.shutdown().await;
}

/// How many of `day`'s PSTN rows hold a beta-only column.
async fn beta_rows(lake: &Path, day: &str) -> String {
    let (lake, query) = (
        lake.to_owned(),
        format!(
            "SELECT count(client_public_ip_v4_address) FROM pstn_calls WHERE call_date = DATE '{day}'"
        ),
    );
    tokio::task::spawn_blocking(move || sql_rows(&lake, &query)[0][0].clone())
        .await
        .unwrap()
}

/// A lake landed with `--api beta` keeps its beta-only columns: a later sync without `--api`
/// uses beta, an explicit `--api v1.0` is refused (changing nothing) unless
/// `--allow-api-downgrade`.
#[tokio::test(flavor = "multi_thread")]
async fn a_v1_sync_does_not_null_the_beta_columns_of_a_beta_lake() {
    let sim = start(config("2026-06-01", 2, 200)).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let both = ["--from", "2026-06-01", "--to", "2026-06-02"];
    sync(&sim, &lake, &[&both[..], &["--api", "beta"]].concat())
        .await
        .ok();
    let landed = beta_rows(&lake, "2026-06-02").await;
    assert_ne!(landed, "0");

    // No --api: the lake's version.
    let day2 = ["--from", "2026-06-02", "--to", "2026-06-02", "--refetch"];
    sync(&sim, &lake, &day2).await.ok();
    assert_eq!(beta_rows(&lake, "2026-06-02").await, landed);

    // --api v1.0: refused, nothing changed.
    let before = snapshot(&lake);
    let out = sync(&sim, &lake, &[&day2[..], &["--api", "v1.0"]].concat())
        .await
        .fails();
    assert!(
        out.stderr.contains("was landed with --api beta")
            && out.stderr.contains("--allow-api-downgrade"),
        "{}",
        out.stderr
    );
    assert!(snapshot(&lake) == before, "a refused sync changed the lake");

    // Allowed explicitly: that day loses its beta columns, the other day keeps them, and the
    // lake stays a beta lake.
    sync(
        &sim,
        &lake,
        &[&day2[..], &["--api", "v1.0", "--allow-api-downgrade"]].concat(),
    )
    .await
    .ok();
    assert_eq!(beta_rows(&lake, "2026-06-02").await, "0");
    assert_ne!(beta_rows(&lake, "2026-06-01").await, "0");
    sync(&sim, &lake, &day2).await.ok();
    assert_eq!(beta_rows(&lake, "2026-06-02").await, landed);
    sim.shutdown().await;
}

/// A table Graph refuses (403) is named with the permission to grant and left out; the other
/// tables land and the exit code is 4 ("partial"), which `sync --help` documents.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_table_makes_a_partial_sync_with_exit_code_4() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sim = start(
        config("2026-06-01", 2, 10)
            .with_missing_permission(pstn_lake_graph_sim::Function::DialoutReport),
    )
    .await;
    let range = ["--from", "2026-06-01", "--to", "2026-06-02"];
    let tables = ["--tables", "pstn_calls,sms_logs,pstn_dialout_report"];
    let out = sync(&sim, &lake, &[&range[..], &tables[..]].concat()).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    for needed in [
        "pstn_dialout_report was not synced",
        "grant the app registration the CallRecords.Read.All application permission",
        "partial sync: Graph refused pstn_dialout_report",
    ] {
        assert!(
            out.stderr.contains(needed),
            "`{needed}` not in:\n{}",
            out.stderr
        );
    }
    assert!(lake.join("pstn_calls").is_dir() && lake.join("sms_logs").is_dir());
    assert!(!lake.join("pstn_dialout_report").exists());
    // The refused table stays enabled: a sync without --tables asks for it again.
    let out = sync(&sim, &lake, &range).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    sim.shutdown().await;
}

/// A failed first `sync` or `rebuild` leaves no lake folder behind, and a reading command there
/// then says "no lake here".
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_sync_or_rebuild_creates_no_lake_folder() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sim = start(config("2026-06-01", 2, 10).with_forbidden(true)).await;
    sync(&sim, &lake, &["--from", "2026-06-01", "--to", "2026-06-02"])
        .await
        .fails();
    assert!(!lake.exists(), "a failed sync created the lake folder");
    sim.shutdown().await;

    let path = lake.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let rebuilt = run(&["rebuild", "--lake", &path]).fails();
        (
            rebuilt,
            run(&["report", "charges-by-country", "--lake", &path]),
        )
    })
    .await
    .unwrap();
    assert!(out.0.stderr.contains("sync --keep-raw"), "{}", out.0.stderr);
    assert!(!lake.exists(), "a failed rebuild created the lake folder");
    let report = out.1.fails();
    assert!(report.stderr.contains("no lake here"), "{}", report.stderr);
}

/// The quarantine's lines for a table, as JSON objects, day by day.
fn quarantine(lake: &Path, table: &str) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut days = BTreeMap::new();
    let Ok(folders) = std::fs::read_dir(lake.join("_pstn_lake/quarantine").join(table)) else {
        return days;
    };
    for folder in folders {
        let folder = folder.unwrap().path();
        let text = std::fs::read_to_string(folder.join("rows.jsonl")).unwrap();
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let name = folder.file_name().unwrap().to_str().unwrap();
        days.insert(name.strip_prefix("call_date=").unwrap().to_owned(), lines);
    }
    days
}

/// A row Graph serves that cannot be landed does not block its day: the day lands without it,
/// the row is kept as served in the quarantine, the summary names it and the exit code is 3;
/// `--strict` stops instead and changes nothing; once Graph serves the row well, a refetch lands
/// it and empties the day's quarantine.
#[tokio::test(flavor = "multi_thread")]
async fn a_row_that_cannot_be_landed_is_quarantined_and_its_day_still_lands() {
    const HUGE: &str = "1e9223372036854775807";
    let good = config("2026-06-01", 2, 300);
    let sim = start(
        good.clone()
            .with_bad_value(Function::Pstn, 3, "charge", Some(HUGE))
            .with_bad_value(Function::Pstn, 7, "startDateTime", None)
            .with_bad_value(Function::Pstn, 11, "duration", Some(&"9".repeat(100_000)))
            .with_bad_value(
                Function::Pstn,
                13,
                "charge",
                Some(&format!("\"{}\"", "9".repeat(100_000))),
            ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let range = ["--from", "2026-06-01", "--to", "2026-06-02"];
    let out = sync(&sim, &lake, &[&range[..], &["--keep-raw"]].concat()).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    // Two pages a day (250 + 50 rows), rows 3, 7, 11 and 13 of each bad: 8 a day.
    let kept = quarantine(&lake, "pstn_calls");
    assert_eq!(
        kept.keys().collect::<Vec<_>>(),
        ["2026-06-01", "2026-06-02"]
    );
    let mut quarantined = Vec::new();
    for (day, lines) in &kept {
        assert_eq!(lines.len(), 8, "{day}");
        for (line, (page, row, field)) in lines.iter().zip([
            (1, 3, "charge"),
            (1, 7, "startDateTime"),
            (1, 11, "duration"),
            (1, 13, "charge"),
            (2, 3, "charge"),
            (2, 7, "startDateTime"),
            (2, 11, "duration"),
            (2, 13, "charge"),
        ]) {
            assert_eq!(
                (
                    line["page"].as_u64(),
                    line["row"].as_u64(),
                    line["field"].as_str()
                ),
                (Some(page), Some(row), Some(field)),
                "{line}"
            );
            assert_eq!(line["table"], "pstn_calls");
            assert_eq!(line["day"].as_str(), Some(day.as_str()));
            // The row as served: its id, and the bad value verbatim.
            let json = line["json"].as_str().unwrap();
            let id = line["id"].as_str().unwrap();
            assert!(json.contains(&format!("\"id\":\"{id}\"")), "{json}");
            assert_eq!(json.contains(HUGE), (field, row) == ("charge", 3), "{json}");
            assert_eq!(
                json.contains("startDateTime"),
                field != "startDateTime",
                "{json}"
            );
            quarantined.push(id.to_owned());
            // The summary names the first ten, in order, and counts the others.
            let named = format!("pstn_calls {day} page {page} row {row} (id {id}) field `{field}`");
            assert!(
                out.stderr.contains(&named) || day != "2026-06-01",
                "`{named}` not in {}",
                out.stderr
            );
        }
    }
    // The summary quotes the 100,000-digit charge by its ends only.
    assert!(
        out.stderr.lines().all(|l| l.len() < 4200) && out.stderr.contains("bytes left out"),
        "{} bytes of stderr",
        out.stderr.len()
    );
    assert!(
        out.stderr.contains("16 rows could not be landed")
            && out.stderr.contains("… and 6 more")
            && out.stderr.contains("_pstn_lake/quarantine/")
            && out.stderr.contains("sync --refetch"),
        "{}",
        out.stderr
    );
    // Every other row landed, each in its day; the Direct Routing table is whole.
    let mut landed = expected_per_day(&sim, Function::Pstn, "2026-06-01", "2026-06-02");
    for ids in landed.values_mut() {
        ids.retain(|id| !quarantined.contains(id));
    }
    assert_eq!(ids_per_day(lake.clone(), "pstn_calls").await, landed);
    assert_eq!(
        ids_per_day(lake.clone(), "direct_routing_calls").await,
        expected_per_day(&sim, Function::DirectRouting, "2026-06-01", "2026-06-02")
    );
    // The days are recorded complete: a plain sync of the range fetches nothing again.
    let requests = sim.stats().graph_requests;
    let again = sync(&sim, &lake, &range).await.ok();
    assert!(
        again.stderr.contains("4 days already complete"),
        "{}",
        again.stderr
    );
    assert_eq!(sim.stats().graph_requests, requests);
    // A rebuild from the raw archive sets the same rows aside again.
    let (pstn, kept_before) = (ids_per_day(lake.clone(), "pstn_calls").await, kept);
    std::fs::remove_dir_all(lake.join("pstn_calls")).unwrap();
    std::fs::remove_dir_all(lake.join("_pstn_lake/quarantine")).unwrap();
    let rebuilt = {
        let lake = lake.clone();
        tokio::task::spawn_blocking(move || run(&["rebuild", "--lake", lake.to_str().unwrap()]))
            .await
            .unwrap()
    };
    assert_eq!(rebuilt.code, 3, "{}", rebuilt.stderr);
    assert!(
        rebuilt.stderr.contains("16 rows could not be landed"),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(ids_per_day(lake.clone(), "pstn_calls").await, pstn);
    assert_eq!(quarantine(&lake, "pstn_calls"), kept_before);

    // --strict: the first bad row stops its day, named, and nothing changes.
    let before = snapshot(&lake);
    let strict = sync(
        &sim,
        &lake,
        &[&range[..], &["--refetch", "--strict"]].concat(),
    )
    .await;
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(
        strict.stderr.contains("row 3 (id ") && strict.stderr.contains("field `charge`"),
        "{}",
        strict.stderr
    );
    assert!(snapshot(&lake) == before, "--strict changed the lake");

    // Graph serves the rows well again: a refetch lands them and empties the quarantine.
    let sim = {
        sim.shutdown().await;
        start(good).await
    };
    sync(&sim, &lake, &[&range[..], &["--refetch"]].concat())
        .await
        .ok();
    assert_exact(&lake, &sim, "2026-06-01", "2026-06-02").await;
    assert!(quarantine(&lake, "pstn_calls").is_empty());
    sim.shutdown().await;
}
