//! `pstn-lake sync`: keep the lake in step with a tenant's call logs, one UTC day at a time
//! (the work is [`pstn_lake_pipeline::sync`]). Each (table, day) is fetched whole, merged into its
//! partition in one atomic step and recorded as complete in `<lake>/_pstn_lake/sync-state.json`;
//! a run that stops (error, Ctrl-C, kill) leaves finished days committed.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use pstn_lake_fetch::{ApiVersion, Cloud, Credentials, GraphConfig, Table};
use pstn_lake_pipeline::{Days, SyncOptions};
use url::Url;

use crate::common::{LakeArg, RowsQuarantined, TablesSkipped, Ui, ctrl_c, parse_date, synced};

#[derive(Debug, clap::Args)]
#[command(after_help = SYNC_HELP)]
pub struct Args {
    /// First UTC day to fetch (YYYY-MM-DD). Default: where the last sync stopped, minus --lookback
    /// days (or the first day a failed run left missing); on a first sync, the last 30 days.
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Last UTC day to fetch, inclusive (default: today).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,

    /// Tables to sync, comma-separated: pstn_calls, direct_routing_calls, (Graph beta only,
    /// whatever --api says) sms_logs, pstn_blocked_users, pstn_dialout_report, and users (the
    /// directory from /users/delta, needs User.Read.All: a snapshot for today in
    /// snapshot_date=, written only when something changed; --from/--to do not apply to it). A
    /// table named once is fetched by every later sync of the lake. Default: pstn_calls,
    /// direct_routing_calls and every other table the lake holds.
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<Table>,

    #[command(flatten)]
    pub lake: LakeArg,

    #[command(flatten)]
    pub table_format: crate::common::TableFormatArg,

    #[command(flatten)]
    pub privacy: crate::common::PrivacyArg,

    /// The Microsoft cloud: global, usgov, dod or china. Picks the login host, Graph host and scope.
    #[arg(long, default_value = "global")]
    pub cloud: Cloud,

    /// Graph base URL, overriding --cloud (e.g. a local `pstn-lake simulate`).
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<Url>,

    /// Entra ID base URL, overriding --cloud and AZURE_AUTHORITY_HOST.
    #[arg(long, value_name = "URL")]
    pub login_url: Option<Url>,

    /// Graph API version: v1.0 or beta (beta returns more columns). Default: the version the
    /// lake's syncs recorded (beta once a sync used beta), else v1.0.
    #[arg(long)]
    pub api: Option<ApiVersion>,

    /// Allow `--api v1.0` on a lake landed with beta: the days fetched lose their beta-only
    /// columns (client IPs, administrative units, country codes). The lake stays recorded as beta.
    #[arg(long)]
    pub allow_api_downgrade: bool,

    /// Days fetched at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Days before today that are always fetched again (Graph fills them in late); at most 3650.
    #[arg(long, default_value_t = SyncOptions::DEFAULT_LOOKBACK)]
    pub lookback: u32,

    /// Fetch every day of the range again, even days an earlier sync completed.
    #[arg(long)]
    pub refetch: bool,

    /// Also keep every fetched page, compressed, under `<lake>/_raw/<table>/call_date=…/`, so
    /// `pstn-lake rebuild` can land the tables again without calling Graph. Refused on a
    /// pseudonymised lake (the pages are kept as served, in cleartext).
    #[arg(long)]
    pub keep_raw: bool,

    /// Stop at a row that cannot be landed (a value the schema cannot hold, no id, no start
    /// time), leaving its day unchanged. Without it such rows are kept as served in
    /// `<lake>/_pstn_lake/quarantine/`, their days land without them, the summary names them and
    /// the exit code is 3.
    #[arg(long)]
    pub strict: bool,
}

/// The end of `sync --help`: credentials and the permission the app needs.
const SYNC_HELP: &str = "\
Credentials (from the environment only, never from arguments):
  AZURE_TENANT_ID                the Entra ID tenant (directory) id
  AZURE_CLIENT_ID                the app registration's application (client) id
  AZURE_CLIENT_SECRET            a client secret, or
  AZURE_CLIENT_CERTIFICATE_PATH  a PEM file with the certificate and its RSA private key
  AZURE_AUTHORITY_HOST           another login host (optional; --login-url overrides it)

Permissions: the app registration needs the Microsoft Graph CallRecords.Read.All application
permission (not delegated; every table), with admin consent granted for the tenant. Least
privileged, CallRecord-PstnCalls.Read.All covers pstn_calls and pstn_blocked_users only. A table Graph refuses
(403, or a beta function the cloud lacks) is named with the permission to grant and left out; the
other tables land, and the exit code is 4.

The lake's storage variables: see --lake.

Exit codes: 0 done; 1 error (finished days stay committed); 3 done, but rows that could not be
landed are in <lake>/_pstn_lake/quarantine/ (named in the summary; --strict stops instead);
4 partial: a table was refused by Graph (named in the summary), the others landed;
130 Ctrl-C; 143 SIGTERM.";

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    // A column that cannot be pseudonymised is named before anything else is looked at.
    let privacy = args.privacy.privacy()?;
    let credentials = Credentials::from_env()?;
    let graph_url = match &args.graph_url {
        Some(u) => u.clone(),
        None => Url::parse(args.cloud.graph_url()).expect("valid"),
    };
    let login_url = match (
        &args.login_url,
        std::env::var("AZURE_AUTHORITY_HOST")
            .ok()
            .filter(|s| !s.is_empty()),
    ) {
        (Some(u), _) => u.clone(),
        (None, Some(host)) => Url::parse(&host)
            .with_context(|| format!("AZURE_AUTHORITY_HOST `{host}` is not a URL"))?,
        (None, None) => Url::parse(args.cloud.login_url()).expect("valid"),
    };
    if args.cloud == Cloud::China && args.graph_url.is_none() {
        tracing::warn!(
            "Microsoft documents the call-log functions as not available in the China cloud"
        );
    }
    let lake = args.lake.open()?;
    let options = SyncOptions::default()
        .with_days(
            Days::default()
                .with_tables(args.tables.iter().copied())
                .with_from(args.from)
                .with_to(args.to),
        )
        .with_lookback(args.lookback)
        .with_refetch(args.refetch)
        .with_concurrency(usize::from(args.concurrency))
        .with_api(args.api)
        .with_allow_api_downgrade(args.allow_api_downgrade)
        .with_keep_raw(args.keep_raw)
        .with_table_format(args.table_format.table_format)
        .with_privacy(privacy)
        .with_strict(args.strict);
    let outcome = pstn_lake_pipeline::sync(
        &lake,
        GraphConfig::new(graph_url, login_url),
        credentials,
        &options,
        ui,
        ctrl_c(),
    )
    .await;
    let report = synced(outcome, ui)?;
    ui.summary(&report);
    RowsQuarantined::check(&report.quarantined, &args.lake.lake)?;
    TablesSkipped::check(&report)
}
