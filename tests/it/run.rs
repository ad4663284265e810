//! `pstn-lake run --config FILE` end to end: the Graph simulator (sync and `sendMail`), a real
//! SMTP server with STARTTLS and AUTH (aiosmtpd), a webhook receiver on loopback, a config with
//! every feature on (reports, three kinds of delivery, five alert rules, retention, privacy) and
//! runs on consecutive simulated days. Each mail and card must arrive once, with the numbers the
//! lake and the simulator's truth give; each alert exactly when its rule holds; retention must
//! delete exactly the days before its edge; and no original value of a pseudonymised column may be
//! left in any byte of the lake.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use pstn_lake_graph_sim::{Function, RunningSim, TenantConfig, Traffic};
use pstn_lake_pipeline::{Days, SyncOptions, Table};
use serde_json::Value;

use crate::helpers::*;
use crate::sync::{command_output, config, day, start, sync_lib};

#[path = "../stand-ins/smtp.rs"]
mod smtp_stand_in;
use smtp_stand_in::{SmtpOptions, SmtpStandIn};

const WEBHOOK_SIG: &str = "sig-Wh00k-s3cret";
const SMTP_PASSWORD: &str = "relay-pa55word";
const PSEUDONYM_KEY: &str = "e2e-pseudonym-key-0123456789abcdef";

/// A webhook receiver on loopback: every POST body, in order; the first `fail_first` posts are
/// answered 500.
#[derive(Clone, Default)]
struct Hook {
    posts: Arc<Mutex<Vec<(String, Value)>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Hook {
    async fn start(fail_first: usize) -> (Hook, String) {
        use axum::extract::State;
        use axum::http::StatusCode;
        let hook = Hook {
            fail_first: Arc::new(Mutex::new(fail_first)),
            ..Hook::default()
        };
        let app = axum::Router::new()
            .fallback(
                |State(h): State<Hook>, uri: axum::http::Uri, body: String| async move {
                    let mut fail = h.fail_first.lock().unwrap();
                    if *fail > 0 {
                        *fail -= 1;
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let json: Value = serde_json::from_str(&body).expect("a JSON body");
                    h.posts.lock().unwrap().push((uri.to_string(), json));
                    StatusCode::ACCEPTED
                },
            )
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig={WEBHOOK_SIG}",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hook, url)
    }

    /// The cards posted: (title, facts).
    fn cards(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .map(|(_, post)| {
                let card = &post["attachments"][0]["content"];
                assert_eq!(
                    post["attachments"][0]["contentType"],
                    "application/vnd.microsoft.card.adaptive"
                );
                let body = card["body"].as_array().unwrap();
                let title = body[0]["text"].as_str().unwrap().to_owned();
                let facts = body
                    .iter()
                    .filter(|b| b["type"] == "FactSet")
                    .flat_map(|b| b["facts"].as_array().unwrap().iter())
                    .map(|f| {
                        (
                            f["title"].as_str().unwrap().to_owned(),
                            f["value"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                (title, facts)
            })
            .collect()
    }
}

/// `pstn-lake run --config CONFIG --today TODAY`, with the secrets in the environment.
async fn run_on(sim: &RunningSim, config: &Path, today: &str, hook_url: &str) -> Run {
    run_with(sim, config, today, hook_url, &[]).await
}

/// [`run_on`] with more arguments.
async fn run_with(
    sim: &RunningSim,
    config: &Path,
    today: &str,
    hook_url: &str,
    extra: &[&str],
) -> Run {
    let mut cmd = bin();
    cmd.args([
        "run",
        "--config",
        config.to_str().unwrap(),
        "--today",
        today,
    ])
    .args(extra)
    .env("E2E_TENANT", &sim.config().tenant_id)
    .env("E2E_CLIENT", &sim.config().client_id)
    .env("E2E_SECRET", &sim.config().client_secret)
    .env("E2E_WEBHOOK", hook_url)
    .env("E2E_SMTP_USER", "relay")
    .env("E2E_SMTP_PASSWORD", SMTP_PASSWORD)
    .env("E2E_PSEUDONYM_KEY", PSEUDONYM_KEY)
    .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
    .env_remove("AZURE_AUTHORITY_HOST")
    .stdin(Stdio::null());
    let run = command_output(cmd).await;
    for secret in [
        WEBHOOK_SIG,
        SMTP_PASSWORD,
        PSEUDONYM_KEY,
        sim.config().client_secret.as_str(),
    ] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

/// `pstn-lake report NAME ARGS --format FORMAT` on `lake`.
async fn report(lake: &Path, name: &str, args: &[&str], format: &str) -> String {
    let mut cmd = bin();
    cmd.args([
        "report",
        name,
        "--format",
        format,
        "--lake",
        lake.to_str().unwrap(),
    ])
    .args(args);
    let run = command_output(cmd).await.ok();
    run.stdout
}

/// `pstn-lake sql QUERY --format csv-raw` on `lake`.
async fn report_sql(lake: &Path, query: &str) -> String {
    let mut cmd = bin();
    cmd.args([
        "sql",
        query,
        "--format",
        "csv-raw",
        "--lake",
        lake.to_str().unwrap(),
    ]);
    command_output(cmd).await.ok().stdout
}

async fn report_json(lake: &Path, name: &str, from: &str, to: &str) -> Vec<Value> {
    report(lake, name, &["--from", from, "--to", to], "json")
        .await
        .parse::<Value>()
        .map(|v| v.as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// A decimal in a JSON report (number or string) in millionths.
fn micros(v: &Value) -> i128 {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => "0".into(),
        other => other.to_string(),
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let m = int.trim_start_matches('-').parse::<i128>().unwrap() * 1_000_000
        + format!("{frac:0<6}")[..6].parse::<i128>().unwrap();
    if int.starts_with('-') { -m } else { m }
}

fn decimal(m: i128) -> String {
    let mut frac = format!("{:06}", m % 1_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{}.{frac}", m / 1_000_000)
}

/// The days of `table` the lake holds.
fn lake_days(lake: &Path, table: &str) -> BTreeSet<NaiveDate> {
    std::fs::read_dir(lake.join(table))
        .map(|entries| {
            entries
                .filter_map(|e| {
                    let name = e.unwrap().file_name().to_string_lossy().into_owned();
                    name.strip_prefix("call_date=").map(day)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The PSTN money of `d` per currency from the simulator's truth (charge + connection charge).
fn truth_spend(sim: &RunningSim, d: NaiveDate) -> BTreeMap<String, i128> {
    let mut spend = BTreeMap::new();
    for row in sim.tenant().expected(Function::Pstn, d, d) {
        *spend
            .entry(row.currency.clone().unwrap_or_default())
            .or_insert(0) +=
            row.charge_micros.unwrap_or(0) + row.connection_charge_micros.unwrap_or(0);
    }
    spend
}

#[tokio::test(flavor = "multi_thread")]
async fn run_syncs_reports_delivers_alerts_and_purges_once_per_period() {
    // A business tenant: international calls, and days that differ.
    let sim = start(config("2026-10-01", 45, 150).with_tenant(
        TenantConfig::new(7, day("2026-10-01"), 45, 150).with_traffic(Traffic::Business),
    ))
    .await;
    // A Wednesday and a Thursday: each run reports on the weekday before it.
    let (d1, d2) = ("2026-11-04", "2026-11-05");
    let (y1, y2) = (day("2026-11-03"), day("2026-11-04"));
    let dir = tempfile::tempdir().unwrap();

    // The same days landed without privacy, elsewhere: the original values, and the figures the
    // thresholds are set between.
    let plain = dir.path().join("plain");
    sync_lib(
        &sim,
        &plain,
        &SyncOptions::default()
            .with_days(
                Days::default()
                    .with_tables([Table::PstnCalls, Table::DirectRoutingCalls])
                    .with_from(Some(day("2026-10-06")))
                    .with_to(Some(day(d2))),
            )
            .with_today(day(d2)),
    )
    .await;
    // daily-spend: a currency whose spend differs on the two days; the threshold is the lower,
    // so the rule holds on the other day only.
    let (s1, s2) = (truth_spend(&sim, y1), truth_spend(&sim, y2));
    let (currency, low, high_day) = s1
        .iter()
        .filter_map(|(c, a)| {
            let b = *s2.get(c)?;
            (*a != b).then(|| (c.clone(), (*a).min(b), if *a > b { y1 } else { y2 }))
        })
        .next()
        .expect("a currency spent on both days, differently");
    // international-minutes: an integer between the two days' minutes.
    let intl = |rows: Vec<Value>| rows.iter().map(|r| micros(&r["minutes"])).sum::<i128>();
    let (m1, m2) = (
        intl(report_json(&plain, "international-outbound", "2026-11-03", "2026-11-03").await),
        intl(report_json(&plain, "international-outbound", "2026-11-04", "2026-11-04").await),
    );
    let intl_limit = (m1.min(m2) + 999_999) / 1_000_000; // the lower, rounded up
    assert!(
        i128::from(intl_limit as u32) * 1_000_000 < m1.max(m2),
        "the two days' international minutes ({m1}, {m2}) leave no whole minute between them"
    );
    let intl_day = if m1 > m2 { y1 } else { y2 };
    // minute-pool: run 1 reads November to the 3rd, run 2 to the 4th. The country and
    // destination with the most minutes, and a pool that the 4th fills past 80% and the 3rd not.
    let to_3rd = report_json(&plain, "calling-plan-minutes", "2026-11-01", "2026-11-03").await;
    let to_4th = report_json(&plain, "calling-plan-minutes", "2026-11-01", "2026-11-04").await;
    let biggest = to_4th
        .iter()
        .filter(|r| r["country"].is_string() && r["destination"] != "")
        .max_by_key(|r| micros(&r["minutes"]))
        .expect("outbound minutes in November");
    let (pool_country, pool_destination) = (
        biggest["country"].as_str().unwrap().to_owned(),
        biggest["destination"].as_str().unwrap().to_owned(),
    );
    let used = |rows: &[Value]| {
        rows.iter()
            .filter(|r| {
                r["country"] == pool_country.as_str()
                    && r["destination"] == pool_destination.as_str()
            })
            .map(|r| micros(&r["minutes"]))
            .sum::<i128>()
    };
    let (used_3rd, used_4th) = (used(&to_3rd), used(&to_4th));
    let pool = (used_4th * 100 / 80 / 1_000_000) as u64;
    assert!(
        i128::from(pool as u32) * 80 * 1_000_000 > used_3rd * 100 && pool > 0,
        "the 3rd ({used_3rd}) would also fill a pool of {pool} minutes to 80%"
    );
    // Original values of the columns to pseudonymise.
    let mut originals = BTreeSet::new();
    for table in ["pstn_calls", "direct_routing_calls"] {
        for column in ["caller_number", "callee_number", "user_principal_name"] {
            for row in sql_rows(
                &plain,
                &format!("SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"),
            ) {
                let value = row.join(",").trim_start_matches('\'').to_owned();
                if value.len() >= 8 {
                    originals.insert(value);
                }
            }
        }
    }
    assert!(originals.len() > 50, "{} originals", originals.len());

    // The stand-ins, and a config with everything on.
    let smtp = SmtpStandIn::start(SmtpOptions::default().with_login("relay", SMTP_PASSWORD));
    let (hook, hook_url) = Hook::start(1).await;
    let config_path = dir.path().join("pstn-lake.toml");
    std::fs::copy(&smtp.ca_pem, dir.path().join("relay-ca.pem")).unwrap();
    let config_text = format!(
        r#"
[lake]
path = "lake"

[graph]
graph_url = "{graph}"
login_url = "{login}"
tenant_id_env = "E2E_TENANT"
client_id_env = "E2E_CLIENT"
client_secret_env = "E2E_SECRET"

[sync]
tables = ["pstn_calls", "direct_routing_calls"]
lookback = 1

[output]
dir = "out"
link = "https://reports.example.com/telephony"

[[report]]
name = "monthly-cost"
every = "day"
send_to = ["mail", "relay", "teams"]

[[report]]
name = "charges-by-country"
every = "month"
send_to = ["mail"]

[delivery.mail]
kind = "graph-mail"
mailbox = "telephony-reports@contoso.com"
to = ["finance@contoso.com"]

[delivery.relay]
kind = "smtp"
host = "127.0.0.1"
port = {smtp_port}
from = "telephony-reports@contoso.com"
to = ["controller@contoso.com"]
username_env = "E2E_SMTP_USER"
password_env = "E2E_SMTP_PASSWORD"
ca_file = "relay-ca.pem"

[delivery.teams]
kind = "webhook"
url_env = "E2E_WEBHOOK"

[[alert]]
rule = "toll-fraud"
send_to = ["teams"]

[[alert]]
rule = "daily-spend"
threshold = {{ {currency} = "{low}" }}
send_to = ["teams", "mail"]

[[alert]]
rule = "international-minutes"
minutes = {intl_limit}
send_to = ["teams"]

[[alert]]
rule = "monthly-spike"
factor = 1.5
send_to = ["teams"]

[[alert]]
rule = "minute-pool"
name = "pool"
country = "{pool_country}"
destination = "{pool_destination}"
minutes = {pool}
percent = 80
send_to = ["teams"]

[retention]
keep_days = 25

[privacy]
pseudonymise = ["caller_number", "callee_number", "user_principal_name"]
key_env = "E2E_PSEUDONYM_KEY"
"#,
        graph = sim.graph_url(),
        login = sim.login_url(),
        smtp_port = smtp.port,
        low = decimal(low),
    );
    std::fs::write(&config_path, &config_text).unwrap();
    let lake = dir.path().join("lake");

    // A dry run changes nothing and says what a run would do.
    let dry = run_with(&sim, &config_path, d1, &hook_url, &["--dry-run"]).await;
    let dry = dry.ok();
    assert!(!lake.join("pstn_calls").exists(), "a dry run landed data");
    assert!(
        dry.stdout
            .contains("report monthly-cost for 2026-11-03: would send to mail, relay, teams"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("sync: would fetch pstn_calls"),
        "{}",
        dry.stdout
    );
    assert!(sim.sent_mail().is_empty() && hook.cards().is_empty());

    // Run 1, day 1. The webhook refuses its first post: the run says delivery failed (12), and
    // everything else is sent.
    let first = run_on(&sim, &config_path, d1, &hook_url).await;
    assert_eq!(first.code, 12, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stderr
            .contains("report monthly-cost for 2026-11-03 to teams"),
        "{}",
        first.stderr
    );
    assert!(!first.stderr.contains(WEBHOOK_SIG));
    // The same day again sends only what failed.
    let again = run_on(&sim, &config_path, d1, &hook_url).await;
    again.ok();
    let cards_1 = hook.cards();
    // A run while another holds the lake's run lock stops at once.
    {
        let held = pstn_lake_sink::Lake::open(lake.to_str().unwrap()).unwrap();
        let _lock = pstn_lake_sink::LakeLock::acquire_run(&held).await.unwrap();
        let refused = run_on(&sim, &config_path, d1, &hook_url).await;
        assert_eq!(refused.code, 16, "{}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains("is running `pstn-lake run` on this lake"),
            "{}",
            refused.stderr
        );
    }
    let days_after_1 = lake_days(&lake, "pstn_calls");
    // Run 2, day 2, twice.
    run_on(&sim, &config_path, d2, &hook_url).await.ok();
    let mails_2 = sim.sent_mail().len();
    let (cards_2, smtp_2) = (hook.cards().len(), smtp.received().len());
    run_on(&sim, &config_path, d2, &hook_url).await.ok();
    assert_eq!(
        (
            sim.sent_mail().len(),
            hook.cards().len(),
            smtp.received().len()
        ),
        (mails_2, cards_2, smtp_2),
        "a repeated run sent again"
    );

    // Graph mail: monthly-cost for each day, charges-by-country for October, and the
    // daily-spend alert on the day it held; each once.
    let mails = sim.sent_mail();
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    let expected_subjects = {
        let mut s = vec![
            "Monthly cost, 2026-11-03".to_owned(),
            "Charges by country, 2026-10-01 to 2026-10-31".to_owned(),
            "Monthly cost, 2026-11-04".to_owned(),
        ];
        s.insert(
            if high_day == y1 { 2 } else { 3 },
            format!("pstn-lake alert: Spend over the daily threshold on {high_day}"),
        );
        s
    };
    assert_eq!(subjects, expected_subjects, "Graph mails");
    for m in &mails {
        assert_eq!(m.mailbox, "telephony-reports@contoso.com");
        assert_eq!(m.to, ["finance@contoso.com"]);
        assert!(m.content_type.eq_ignore_ascii_case("html"));
    }
    // Each report mail's CSV is the report the lake gave for that period, byte for byte (read
    // from the plain lake: retention has since deleted early October here, and these reports
    // show no pseudonymised column), and its HTML body holds the report's rows.
    for (m, (name, from, to)) in mails
        .iter()
        .filter(|m| !m.subject.starts_with("pstn-lake alert"))
        .zip([
            ("monthly-cost", "2026-11-03", "2026-11-03"),
            ("charges-by-country", "2026-10-01", "2026-10-31"),
            ("monthly-cost", "2026-11-04", "2026-11-04"),
        ])
    {
        let csv = report(&plain, name, &["--from", from, "--to", to], "csv").await;
        assert_eq!(m.attachments.len(), 1, "{}", m.subject);
        assert_eq!(m.attachments[0].content_type.as_deref(), Some("text/csv"));
        assert_eq!(
            String::from_utf8_lossy(&m.attachments[0].bytes),
            csv,
            "{}",
            m.subject
        );
        let first_row = csv.lines().nth(1).expect("rows");
        let first_cell = first_row.split(',').next().unwrap();
        assert!(m.body.contains(first_cell), "{}: {first_cell}", m.subject);
    }
    // SMTP: the two monthly-cost mails, over STARTTLS, logged in.
    let relayed = smtp.received();
    assert_eq!(
        relayed
            .iter()
            .map(|m| m.subject.as_str())
            .collect::<Vec<_>>(),
        ["Monthly cost, 2026-11-03", "Monthly cost, 2026-11-04"]
    );
    for m in &relayed {
        assert!(m.tls && m.login.as_deref() == Some("relay"), "{m:?}");
        assert_eq!(m.rcpt_to, ["controller@contoso.com"]);
        assert_eq!(m.attachments.len(), 1);
    }
    assert_eq!(
        String::from_utf8_lossy(&relayed[1].attachments[0].bytes),
        report(
            &lake,
            "monthly-cost",
            &["--from", "2026-11-04", "--to", "2026-11-04"],
            "csv"
        )
        .await
    );

    // Webhook cards: the monthly-cost cards with the day's spend per currency from the truth,
    // and each alert on the day its rule held.
    let cards = hook.cards();
    let titles: Vec<&str> = cards.iter().map(|(t, _)| t.as_str()).collect();
    for (d, spend) in [(y1, &s1), (y2, &s2)] {
        let (_, facts) = cards
            .iter()
            .find(|(t, _)| *t == format!("Monthly cost, {d}"))
            .unwrap_or_else(|| panic!("no monthly-cost card for {d}: {titles:?}"));
        for (c, amount) in spend.iter().filter(|(c, _)| !c.is_empty()) {
            assert_eq!(
                facts.get(&format!("total_charge {c}")),
                Some(&decimal(*amount)),
                "{d} {c}: {facts:?}"
            );
        }
        assert_eq!(facts["Period"], d.to_string());
    }
    let count = |prefix: &str| titles.iter().filter(|t| t.starts_with(prefix)).count();
    assert_eq!(count("Monthly cost, "), 2, "{titles:?}");
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == format!("Spend over the daily threshold on {high_day}"))
            .count(),
        1,
        "{titles:?}"
    );
    assert_eq!(count("Spend over the daily threshold"), 1, "{titles:?}");
    assert_eq!(
        titles
            .iter()
            .filter(|t| t.starts_with("International minutes over")
                && t.ends_with(&intl_day.to_string()))
            .count(),
        1,
        "{titles:?}"
    );
    assert_eq!(count("International minutes over"), 1, "{titles:?}");
    let pool_title =
        format!("{pool_country} {pool_destination} calling-plan pool 80% used in 2026-11");
    assert_eq!(count(&pool_title), 1, "{titles:?}");
    assert!(
        !cards_1.iter().any(|(t, _)| *t == pool_title),
        "the pool alert fired on the 3rd"
    );
    // No three earlier months in the lake: the spike rule cannot hold.
    assert_eq!(count("Spend in"), 0, "{titles:?}");
    // Toll fraud: a card for each day whose toll-fraud-signals report has rows, with its count.
    for d in [y1, y2] {
        let signals =
            report_json(&lake, "toll-fraud-signals", &d.to_string(), &d.to_string()).await;
        let card = cards
            .iter()
            .find(|(t, _)| *t == format!("Toll fraud signals on {d}"));
        assert_eq!(
            card.is_some(),
            !signals.is_empty(),
            "{d}: {} signals, {titles:?}",
            signals.len()
        );
        if let Some((_, facts)) = card {
            let by_kind: usize = facts
                .iter()
                .filter(|(k, _)| !k.starts_with("20"))
                .map(|(_, v)| v.parse::<usize>().unwrap())
                .sum();
            assert_eq!(by_kind, signals.len(), "{facts:?}");
        }
    }
    let posted = hook.posts.lock().unwrap().clone();
    let link = posted
        .iter()
        .find_map(|(_, p)| {
            p["attachments"][0]["content"]["actions"][0]["url"]
                .as_str()
                .filter(|u| u.contains("/2026-11-03/"))
                .map(str::to_owned)
        })
        .expect("the report card links to its page");
    assert_eq!(
        link,
        "https://reports.example.com/telephony/2026-11-03/monthly-cost.html"
    );
    assert!(
        dir.path()
            .join("out/2026-11-03/monthly-cost.html")
            .is_file()
    );
    assert!(
        dir.path()
            .join("out/2026-10/charges-by-country.csv")
            .is_file()
    );

    // Retention: 25 days back from each run's day, exactly.
    let edge_1 = day(d1) - chrono::Days::new(25);
    let edge_2 = day(d2) - chrono::Days::new(25);
    assert_eq!(days_after_1.first(), Some(&edge_1), "{days_after_1:?}");
    let plain_days = lake_days(&plain, "pstn_calls");
    let now = lake_days(&lake, "pstn_calls");
    let expected: BTreeSet<NaiveDate> = plain_days
        .iter()
        .copied()
        .filter(|d| *d >= edge_2)
        .collect();
    assert_eq!(now, expected, "the days kept after run 2");
    assert!(
        lake_days(&lake, "direct_routing_calls")
            .iter()
            .all(|d| *d >= edge_2)
    );

    // Privacy: no original caller number, callee number or user principal name in any byte of
    // the lake (tables — their Parquet footers keep column statistics uncompressed —, state,
    // quarantine) or of the report copies, nor in any value the tables hold when read back
    // (every column as text, extra_properties included).
    let originals: Vec<&String> = originals.iter().collect();
    let finder = aho_corasick::AhoCorasick::new(&originals).unwrap();
    let mut found = Vec::new();
    for base in [lake.clone(), dir.path().join("out")] {
        for (path, bytes) in snapshot(&base) {
            if let Some(m) = finder.find(&bytes) {
                found.push(format!(
                    "{} in {}",
                    originals[m.pattern().as_usize()],
                    path.display()
                ));
            }
        }
    }
    for table in ["pstn_calls", "direct_routing_calls"] {
        let all = report_sql(&lake, &format!("SELECT * FROM {table}")).await;
        assert!(
            all.lines().count() > 1000,
            "{table}: {} rows",
            all.lines().count()
        );
        if let Some(m) = finder.find(&all) {
            found.push(format!("{} in {table}", originals[m.pattern().as_usize()]));
        }
    }
    assert!(found.is_empty(), "original values left: {found:?}");
    // The same scan finds them in the lake landed without privacy: the search works.
    let plain_rows = report_sql(&plain, "SELECT * FROM pstn_calls").await;
    assert!(
        finder.find(&plain_rows).is_some(),
        "the scan finds nothing even in cleartext"
    );
    // The tokens group: as many distinct callers per day as in the plain lake.
    let q = "SELECT count(DISTINCT caller_number), count(DISTINCT user_principal_name) FROM pstn_calls WHERE call_date = DATE '2026-11-04'";
    assert_eq!(sql_rows(&lake, q), sql_rows(&plain, q));
}

/// A secret the config names but the environment lacks stops the run before anything is done,
/// naming the key and the variable (never a value).
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_stops_the_run_before_it_starts() {
    let sim = start(config("2026-10-01", 5, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pstn-lake.toml");
    std::fs::write(
        &path,
        format!(
            "[lake]\npath = \"lake\"\n[graph]\ngraph_url = \"{}\"\nlogin_url = \"{}\"\n\
             tenant_id_env = \"E2E_TENANT\"\nclient_id_env = \"E2E_CLIENT\"\nclient_secret_env = \"E2E_SECRET\"\n\
             [[report]]\nname = \"monthly-cost\"\nsend_to = [\"teams\"]\n\
             [delivery.teams]\nkind = \"webhook\"\nurl_env = \"E2E_UNSET_WEBHOOK\"\n",
            sim.graph_url(),
            sim.login_url()
        ),
    )
    .unwrap();
    let run = run_on(&sim, &path, "2026-10-04", "http://127.0.0.1:9/")
        .await
        .fails();
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "delivery.teams.url_env: the environment variable E2E_UNSET_WEBHOOK is not set"
        ),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("lake").exists(), "the run started anyway");
    assert_eq!(sim.stats().requests, 0, "Graph was called");
}

/// On a Delta lake, retention commits the delete (a `DELETE` in the table's history) and vacuums;
/// a run without deliveries still keeps its reports in the output folder.
#[tokio::test(flavor = "multi_thread")]
async fn retention_on_a_delta_lake_commits_the_delete() {
    let sim = start(config("2026-10-01", 20, 20)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pstn-lake.toml");
    std::fs::write(
        &path,
        format!(
            "[lake]\npath = \"lake\"\ntable_format = \"delta\"\n[graph]\ngraph_url = \"{}\"\n\
             login_url = \"{}\"\ntenant_id_env = \"E2E_TENANT\"\nclient_id_env = \"E2E_CLIENT\"\n\
             client_secret_env = \"E2E_SECRET\"\n[sync]\ntables = [\"pstn_calls\"]\n\
             [[report]]\nname = \"daily-volume\"\nevery = \"day\"\n[retention]\nkeep_days = 10\n",
            sim.graph_url(),
            sim.login_url()
        ),
    )
    .unwrap();
    let run = run_on(&sim, &path, "2026-10-15", "http://127.0.0.1:9/")
        .await
        .ok();
    assert!(
        run.stderr.contains(
            "retention (keep_days 10): pstn_calls: 4 days deleted (2026-10-01 to 2026-10-04)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("retention: pstn_calls: vacuum deleted"),
        "{}",
        run.stderr
    );
    let lake = dir.path().join("lake");
    let history = run_with_env(&["history", "--lake", lake.to_str().unwrap()], &[]).ok();
    assert!(history.stdout.contains("DELETE"), "{}", history.stdout);
    // Kept: 2026-10-05 (today minus 10 days) to today, which the sync fetched too.
    let days = sql_rows(
        &lake,
        "SELECT min(call_date), max(call_date), count(DISTINCT call_date) FROM pstn_calls",
    );
    assert_eq!(
        days,
        [["2026-10-05", "2026-10-15", "11"]
            .map(String::from)
            .to_vec()]
    );
    assert!(
        dir.path()
            .join("reports/2026-10-14/daily-volume.html")
            .is_file()
    );
}
