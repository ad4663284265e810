//! `pstn-lake demo`: a simulated tenant → a local lake → the charges report and an HTML page of
//! every report, with no tenant needed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{Duration, Utc};
use pstn_lake_fetch::{ApiVersion, Credentials, GraphConfig, Table};
use pstn_lake_graph_sim::{SimConfig, TenantConfig, Traffic};
use pstn_lake_pipeline::{Days, SyncOptions};
use pstn_lake_query::{Format, LakeSession, ReportParams};
use pstn_lake_sink::{Lake, STATE_DIR};
use url::Url;

use crate::common::{Ui, ctrl_c, known_tables, synced};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo lake goes: a new or empty folder, or a lake an earlier demo made (replaced).
    /// Any other folder is refused, never deleted.
    #[arg(long, default_value = "./pstn-lake-demo")]
    pub lake: PathBuf,

    /// Days of calls to simulate: a business's weeks, holidays, growth and (from 28 days on) a
    /// few toll-fraud episodes.
    #[arg(long, default_value_t = 90)]
    pub days: u32,

    /// Calls a day on average, in each table.
    #[arg(long, default_value_t = 2000)]
    pub calls_per_day: u32,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let today = Utc::now().date_naive();
    let first_day = today - Duration::days(i64::from(args.days));
    let tenant = TenantConfig::new(42, first_day, args.days, args.calls_per_day)
        .with_traffic(Traffic::Business);
    let config = SimConfig::default().with_tenant(tenant.clone());
    let sim = pstn_lake_graph_sim::start(config.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the Graph simulator on a loopback port")?;
    ui.summary(format!(
        "1/3 simulated tenant: Microsoft Graph on {} ({} days, {} calls a day on average per table)",
        sim.graph_url(),
        args.days,
        args.calls_per_day
    ));

    let lake = prepare(&args.lake).await?;
    ui.summary(format!(
        "2/3 syncing every table into the lake at {}",
        args.lake.display()
    ));

    let url = Url::parse(&sim.graph_url())?;
    let credentials =
        Credentials::with_secret(&config.tenant_id, &config.client_id, &config.client_secret);
    // Beta, recorded in the lake's state, so that a plain `sync` of the demo lake keeps its
    // beta-only columns.
    let options = SyncOptions::default()
        .with_days(
            Days::default()
                .with_tables(Table::ALL)
                .with_from(Some(first_day))
                .with_to(Some(tenant.last_day())),
        )
        .with_api(Some(ApiVersion::Beta))
        .with_command("demo");
    let outcome = pstn_lake_pipeline::sync(
        &lake,
        GraphConfig::new(url.clone(), url),
        credentials,
        &options,
        ui,
        ctrl_c(),
    )
    .await;
    ui.summary(format!("    {}", synced(outcome, ui)?));
    sim.shutdown().await;

    let to = tenant.last_day();
    ui.summary(format!(
        "3/3 report charges-by-country, {first_day} to {to}:"
    ));
    let session = LakeSession::open(&lake, &known_tables()).await?;
    let report = pstn_lake_query::report("charges-by-country")?;
    let params = ReportParams {
        from: Some(first_day),
        to: Some(to),
        ..ReportParams::default()
    };
    let (schema, batches) = session.run_report(&report, &params).await?;
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
    let page = args.lake.join(PAGE);
    let location = args.lake.display().to_string();
    let reports = pstn_lake_query::reports();
    crate::report::write_page(&session, &reports, &location, &params, &page, ui).await?;
    ui.summary(format!(
        "Every report with its chart (daily volume, monthly cost, toll-fraud signals, ...): open {}",
        page.display()
    ));
    Ok(())
}

/// The HTML page of every report the demo writes into its lake's folder.
const PAGE: &str = "report.html";

/// The file in the lake's state folder that marks a lake `demo` made: the only kind of lake
/// it replaces.
const DEMO_MARKER: &str = "demo";

/// Makes `dir` ready for a new demo lake and marks it: creates the folder, or replaces a lake an
/// earlier demo made. Any other folder that is not empty is refused, never deleted.
async fn prepare(dir: &Path) -> Result<Lake> {
    let location = dir.to_str().context("the lake path is not UTF-8")?;
    let holds_something = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", dir.display())),
    };
    let marker = dir.join(STATE_DIR).join(DEMO_MARKER);
    if holds_something {
        if !marker.is_file() {
            let what = if crate::common::is_lake(&Lake::open(location)?).await? {
                "holds a lake that `pstn-lake demo` did not make"
            } else {
                "is not empty"
            };
            bail!(
                "`{}` {what}: the demo replaces only its own lakes and leaves this folder alone; \
                 pass --lake with a new or empty folder (or a previous demo lake)",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| {
            format!("cannot replace the previous demo lake `{}`", dir.display())
        })?;
    }
    std::fs::create_dir_all(marker.parent().expect("in the lake"))
        .with_context(|| format!("cannot create `{}`", dir.display()))?;
    std::fs::write(
        &marker,
        "made by pstn-lake demo: the next demo replaces this lake\n",
    )
    .with_context(|| format!("cannot write `{}`", marker.display()))?;
    Ok(Lake::open(location)?)
}
