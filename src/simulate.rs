//! `pstn-lake simulate`: a local, deterministic Graph to point pstn-lake at, or its pages on disk.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use pstn_lake_graph_sim::{ApiVersion, Function, SimConfig, Tenant, TenantConfig, Traffic};

use crate::common::{Ui, parse_date};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Loopback port to serve on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Days of calls the tenant holds.
    #[arg(long, default_value_t = 30)]
    pub days: u32,

    /// Calls a day, in each table (with `--traffic business`, on average).
    #[arg(long, default_value_t = 200)]
    pub calls_per_day: u32,

    /// The shape of the traffic: `flat`, every day exactly --calls-per-day rows (what the
    /// benchmarks measure); `business`, what `demo` serves: busy weekdays, quiet weekends,
    /// holidays, growth and toll-fraud episodes.
    #[arg(long, value_enum, default_value_t = TrafficArg::Flat)]
    pub traffic: TrafficArg,

    /// Seed of the tenant's data: the same seed gives the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// First day of calls (default: `--days` days before today, UTC).
    #[arg(long, value_parser = parse_date)]
    pub first_day: Option<NaiveDate>,

    /// Rows a page (Graph: 1000).
    #[arg(long, default_value_t = 1000)]
    pub page_size: usize,

    /// Delay before each page, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// Graph requests allowed a minute; the excess is answered 429 with Retry-After.
    #[arg(long)]
    pub rate_limit: Option<u32>,

    /// Instead of serving, write every page of the tenant as files under this folder
    /// (`<DIR>/<table>/page-00001.json`, …), for `pstn-lake ingest` and benchmarks.
    #[arg(long, value_name = "DIR")]
    pub write_pages: Option<PathBuf>,

    /// API version of written pages: v1.0 or beta.
    #[arg(long, default_value = "beta")]
    pub api: String,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TrafficArg {
    Flat,
    Business,
}

pub fn tenant_config(args: &Args) -> TenantConfig {
    let first_day = args
        .first_day
        .unwrap_or_else(|| Utc::now().date_naive() - chrono::Duration::days(i64::from(args.days)));
    TenantConfig::new(args.seed, first_day, args.days, args.calls_per_day).with_traffic(match args
        .traffic
    {
        TrafficArg::Flat => Traffic::Flat,
        TrafficArg::Business => Traffic::Business,
    })
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let tenant = tenant_config(&args);
    if let Some(dir) = &args.write_pages {
        return write_pages(&args, &tenant, dir, ui);
    }
    let config = SimConfig::default()
        .with_tenant(tenant.clone())
        .with_page_size(args.page_size)
        .with_latency(Duration::from_millis(args.latency_ms));
    let config = match args.rate_limit {
        Some(limit) => config.with_rate_limit_per_minute(limit),
        None => config,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let sim = pstn_lake_graph_sim::start(config.clone(), addr)
        .await
        .with_context(|| {
            format!("cannot listen on {addr}: pick another --port (0 takes any free one)")
        })?;
    let url = sim.graph_url();
    crate::common::to_stdout(|out| {
        use std::io::Write;
        writeln!(
            out,
            "Graph simulator on {url}: {} days x {} calls a day per table from {} (seed {})",
            tenant.days, tenant.calls_per_day, tenant.first_day, tenant.seed
        )?;
        writeln!(
            out,
            "Point pstn-lake at it (the simulator's own test credentials, not a real secret):"
        )?;
        writeln!(
            out,
            "  export AZURE_TENANT_ID={} AZURE_CLIENT_ID={} AZURE_CLIENT_SECRET={}",
            config.tenant_id, config.client_id, config.client_secret
        )?;
        writeln!(
            out,
            "  pstn-lake sync --graph-url {url} --login-url {url} --from {} --to {} --lake ./lake",
            tenant.first_day,
            tenant.last_day()
        )?;
        writeln!(out, "Ctrl-C stops it.")?;
        Ok(())
    })?;
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    let stats = sim.stats();
    sim.shutdown().await;
    ui.summary(format!(
        "served {} pages ({} rows), {} tokens, {} throttled",
        stats.pages_served, stats.rows_served, stats.tokens_issued, stats.throttled
    ));
    Ok(())
}

fn write_pages(args: &Args, config: &TenantConfig, dir: &std::path::Path, ui: &Ui) -> Result<()> {
    let version = match args.api.as_str() {
        "v1.0" => ApiVersion::V1,
        "beta" => ApiVersion::Beta,
        other => anyhow::bail!("unknown --api `{other}`: expected v1.0 or beta"),
    };
    let tenant = Tenant::new(config.clone());
    let mut total = (0usize, 0u64);
    for (function, table) in [
        (Function::Pstn, "pstn_calls"),
        (Function::DirectRouting, "direct_routing_calls"),
    ] {
        let out = dir.join(table);
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create `{}`", out.display()))?;
        let mut n = 0usize;
        let mut failure = None;
        tenant.write_pages(
            function,
            version,
            config.first_day,
            config.last_day(),
            args.page_size,
            |page| {
                if failure.is_some() {
                    return;
                }
                n += 1;
                total.1 += page.len() as u64;
                let path = out.join(format!("page-{n:05}.json"));
                if let Err(e) = std::fs::write(&path, page) {
                    failure = Some(
                        anyhow::Error::new(e).context(format!("cannot write `{}`", path.display())),
                    );
                }
            },
        );
        if let Some(e) = failure {
            return Err(e);
        }
        total.0 += n;
    }
    ui.summary(format!(
        "wrote {} pages ({:.1} MB) of {} days x {} calls a day per table under {}",
        total.0,
        total.1 as f64 / 1e6,
        config.days,
        config.calls_per_day,
        dir.display()
    ));
    Ok(())
}
