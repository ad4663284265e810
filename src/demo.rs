//! `pstn-lake demo`: a simulated tenant → a local lake → the charges report, with no tenant needed.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use pstn_lake_fetch::{ApiVersion, Credentials, GraphClient, GraphConfig, Table};
use pstn_lake_graph_sim::{SimConfig, TenantConfig};
use pstn_lake_query::{Format, LakeSession, ReportParams};
use pstn_lake_sink::{Lake, LakeLock, SyncState};
use url::Url;

use crate::common::{Ui, known_tables};
use crate::sync::{Plan, sync};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo lake goes (replaced if it is a previous demo lake).
    #[arg(long, default_value = "./pstn-lake-demo")]
    pub lake: PathBuf,

    /// Days of calls to simulate.
    #[arg(long, default_value_t = 30)]
    pub days: u32,

    /// Calls a day, in each table.
    #[arg(long, default_value_t = 2000)]
    pub calls_per_day: u32,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let today = Utc::now().date_naive();
    let first_day = today - Duration::days(i64::from(args.days));
    let tenant = TenantConfig::new(42, first_day, args.days, args.calls_per_day);
    let config = SimConfig::default().with_tenant(tenant.clone());
    let sim = pstn_lake_graph_sim::start(config.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the Graph simulator on a loopback port")?;
    ui.summary(format!(
        "1/3 simulated tenant: Microsoft Graph on {} ({} days x {} calls a day per table)",
        sim.graph_url(),
        args.days,
        args.calls_per_day
    ));

    if args.lake.join("_pstn_lake").is_dir() {
        std::fs::remove_dir_all(&args.lake).with_context(|| {
            format!(
                "cannot replace the previous demo lake `{}`",
                args.lake.display()
            )
        })?;
    }
    std::fs::create_dir_all(&args.lake)
        .with_context(|| format!("cannot create `{}`", args.lake.display()))?;
    let lake = Lake::open(args.lake.to_str().context("the lake path is not UTF-8")?)?;
    ui.summary(format!(
        "2/3 syncing both tables into the lake at {}",
        args.lake.display()
    ));

    let url = Url::parse(&sim.graph_url())?;
    let credentials =
        Credentials::with_secret(&config.tenant_id, &config.client_id, &config.client_secret);
    let client = GraphClient::new(
        GraphConfig::new(url.clone(), url).with_api(ApiVersion::Beta),
        credentials,
    )?;
    let mut jobs = Vec::new();
    for day in tenant_days(&tenant) {
        for table in Table::ALL {
            jobs.push((table, day));
        }
    }
    // Recorded, so that a plain `sync` of the demo lake keeps its beta-only columns.
    let mut state = SyncState::default();
    state.set_api(ApiVersion::Beta.path());
    let lock = LakeLock::acquire(&lake, "demo").await?;
    let summary = sync(
        &client,
        &lake,
        state,
        Plan {
            jobs,
            skipped: 0,
            unfinished_from: today,
        },
        4,
        ui,
    )
    .await;
    lock.release().await?;
    let summary = summary?;
    ui.summary(format!("    {summary}"));
    sim.shutdown().await;

    let to = tenant.last_day();
    ui.summary(format!(
        "3/3 report charges-by-country, {first_day} to {to}:"
    ));
    let session = LakeSession::open(&lake, &known_tables()).await?;
    let report = pstn_lake_query::report("charges-by-country")?;
    let (schema, batches) = session
        .run_report(
            &report,
            &ReportParams {
                from: Some(first_day),
                to: Some(to),
                ..ReportParams::default()
            },
        )
        .await?;
    crate::common::to_stdout(|out| {
        Ok(pstn_lake_query::write(
            out,
            Format::Table,
            &schema,
            &batches,
        )?)
    })?;
    ui.summary(format!(
        "Next: pstn-lake report --list --lake {0}; pstn-lake sql \"SELECT …\" --lake {0}",
        args.lake.display()
    ));
    Ok(())
}

fn tenant_days(tenant: &TenantConfig) -> impl Iterator<Item = chrono::NaiveDate> + '_ {
    (0..tenant.days).map(|k| tenant.first_day + Duration::days(i64::from(k)))
}
