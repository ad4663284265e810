//! `pstn-lake sync`: keep the lake in step with a tenant's call logs, one UTC day at a time.
//!
//! Each (table, day) is fetched whole — every page of the day window — then merged into its
//! partition in one atomic step and recorded as complete in `<lake>/_pstn_lake/sync-state.json`.
//! A run that stops (error, Ctrl-C, kill) leaves finished days committed; the same command again
//! fetches only what is missing, plus the recent days Graph may still be filling in.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use chrono::{Duration, NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use pstn_lake_fetch::{ApiVersion, Cloud, Credentials, GraphClient, GraphConfig, Table};
use pstn_lake_sink::{DayWriter, EncodeSlots, Lake, LakeLock, RawDay, SyncState, split_by_day};
use tokio::sync::Mutex;
use url::Url;

use crate::common::{LakeArg, Ui, leave_no_empty_lake, parse_date};
use crate::ingest::table_spec;

/// Days before today that are fetched again on every run: Graph adds records 24–48 h late.
const DEFAULT_LOOKBACK: u32 = 3;
/// Days a first sync without `--from` covers.
const FIRST_SYNC_DAYS: i64 = 30;

/// A day's rows are handed to its temporary file in chunks of about this many rows.
const ENCODE_EVERY_ROWS: usize = 8 * 1024;

/// With `--keep-raw`, a day's pages are compressed for the archive this many at a time.
const ARCHIVE_EVERY_PAGES: usize = 8;

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

    /// Tables to sync, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "pstn_calls,direct_routing_calls"
    )]
    pub tables: Vec<Table>,

    #[command(flatten)]
    pub lake: LakeArg,

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

    /// Days before today that are always fetched again (Graph fills them in late).
    #[arg(long, default_value_t = DEFAULT_LOOKBACK)]
    pub lookback: u32,

    /// Fetch every day of the range again, even days an earlier sync completed.
    #[arg(long)]
    pub refetch: bool,

    /// Also keep every fetched page, compressed, under `<lake>/_raw/<table>/call_date=…/`, so
    /// `pstn-lake rebuild` can land the tables again without calling Graph.
    #[arg(long)]
    pub keep_raw: bool,
}

/// The end of `sync --help`: credentials and the permission the app needs.
const SYNC_HELP: &str = "\
Credentials (from the environment only, never from arguments):
  AZURE_TENANT_ID                the Entra ID tenant (directory) id
  AZURE_CLIENT_ID                the app registration's application (client) id
  AZURE_CLIENT_SECRET            a client secret, or
  AZURE_CLIENT_CERTIFICATE_PATH  a PEM file with the certificate and its RSA private key
  AZURE_AUTHORITY_HOST           another login host (optional; --login-url overrides it)

Permission: the app registration needs the Microsoft Graph CallRecords.Read.All application
permission (not delegated), with admin consent granted for the tenant.

The lake's storage variables: see --lake.";

/// What one sync did.
#[derive(Debug, Default)]
pub struct Summary {
    pub rows: std::collections::BTreeMap<Table, u64>,
    pub days_written: u64,
    pub days_skipped: u64,
    /// Days fetched that were not over yet (today, or later): to fetch again.
    pub days_unfinished: u64,
    pub pages: u64,
    pub retries: u64,
    pub throttled: u64,
    pub throttled_wait_ms: u64,
    pub tokens: u64,
    pub renewals_after_401: u64,
    pub elapsed: std::time::Duration,
    /// Row properties the schema does not know (kept in `extra_properties`), with row counts.
    pub unknown: std::collections::BTreeMap<String, u64>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|(t, n)| format!("{t} {n} rows"))
            .collect();
        write!(
            f,
            "synced {} in {:.1} s: {} days written, {} days already complete, {} pages, {} retries, {} throttled (429) with {:.1} s waited, {} tokens ({} renewed after 401)",
            if rows.is_empty() {
                "nothing".to_string()
            } else {
                rows.join(", ")
            },
            self.elapsed.as_secs_f64(),
            self.days_written,
            self.days_skipped,
            self.pages,
            self.retries,
            self.throttled,
            self.throttled_wait_ms as f64 / 1000.0,
            self.tokens,
            self.renewals_after_401,
        )?;
        if self.days_unfinished > 0 {
            write!(
                f,
                "\n  {} days fetched are not over yet (UTC) and are not recorded complete: the next sync fetches them again",
                self.days_unfinished
            )?;
        }
        if !self.unknown.is_empty() {
            let list: Vec<String> = self
                .unknown
                .iter()
                .map(|(k, n)| format!("{k} ({n} rows)"))
                .collect();
            write!(
                f,
                "\n  properties the schema does not know, kept in the extra_properties column: {}",
                list.join(", ")
            )?;
        }
        Ok(())
    }
}

/// The run was stopped by Ctrl-C (exit code 130).
#[derive(Debug, thiserror::Error)]
#[error("interrupted: {0}")]
pub struct Interrupted(pub String);

/// What to fetch, resolved from the arguments and the lake's state.
pub struct Plan {
    pub jobs: Vec<(Table, NaiveDate)>,
    pub skipped: u64,
    /// The first UTC day not over when the run started: this day and later ones may be fetched
    /// (Graph serves what it has) but are never recorded complete, so a later run fetches them
    /// again.
    pub unfinished_from: NaiveDate,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
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
    leave_no_empty_lake(&lake, async {
        lake.check().await?;
        let lock = LakeLock::acquire(&lake, "sync").await?;
        let outcome = async {
            // Read under the lock: another run may have just finished days.
            let mut state = SyncState::load(&lake).await?;
            let api = api_version(&args, &mut state, &lake)?;
            let client = GraphClient::new(
                GraphConfig::new(graph_url, login_url)
                    .with_api(api)
                    .with_keep_raw(args.keep_raw),
                credentials,
            )?;
            let today = Utc::now().date_naive();
            state.forget_unfinished(today);
            let plan = plan(&args, &state, today, ui);
            sync(
                &client,
                &lake,
                state,
                plan,
                usize::from(args.concurrency),
                ui,
            )
            .await
        }
        .await;
        let released = lock.release().await;
        let summary = outcome?;
        released.context("releasing the lake lock failed")?;
        ui.summary(&summary);
        Ok(())
    })
    .await
}

/// The Graph API version to sync with: `--api`, else the one the lake recorded, else v1.0. A lake
/// landed with beta keeps its beta-only columns: `--api v1.0` there is refused unless
/// `--allow-api-downgrade`. The version is recorded in `state` (saved with the first day written);
/// a downgrade leaves beta recorded.
pub fn api_version(args: &Args, state: &mut SyncState, lake: &Lake) -> Result<ApiVersion> {
    let recorded = match state.api() {
        None => None,
        Some(s) => Some(s.parse::<ApiVersion>().map_err(|e| {
            anyhow::anyhow!(
                "the sync state of {} records an API version: {e}",
                lake.url()
            )
        })?),
    };
    let api = match (args.api, recorded) {
        (Some(ApiVersion::V1), Some(ApiVersion::Beta)) if !args.allow_api_downgrade => bail!(
            "the lake at {} was landed with --api beta: a v1.0 sync would replace the rows of the \
             days it fetches without their beta-only columns (client IPs, administrative units, \
             country codes). Leave out --api (this lake syncs with beta), or pass \
             --allow-api-downgrade to accept the loss",
            lake.url()
        ),
        (Some(api), _) => api,
        (None, recorded) => recorded.unwrap_or_default(),
    };
    if recorded != Some(ApiVersion::Beta) {
        state.set_api(api.path());
    }
    Ok(api)
}

/// Decides which (table, day) pairs to fetch.
pub fn plan(args: &Args, state: &SyncState, today: NaiveDate, ui: &Ui) -> Plan {
    let to = args.to.unwrap_or(today);
    let recent = today - Duration::days(i64::from(args.lookback));
    let mut jobs = Vec::new();
    let mut skipped = 0;
    for &table in &args.tables {
        let from = match (args.from, state.last_complete(table.name())) {
            (Some(from), _) => from,
            // Continue from the last completed day minus the lookback, or from an earlier hole
            // that a failed run left behind.
            (None, Some(last)) => {
                let from = last - Duration::days(i64::from(args.lookback));
                state
                    .first_gap(table.name())
                    .map_or(from, |gap| gap.min(from))
            }
            (None, None) => {
                let from = to - Duration::days(FIRST_SYNC_DAYS - 1);
                ui.summary(format!(
                    "{table}: first sync of this lake and no --from given: fetching the last {FIRST_SYNC_DAYS} days, {from} to {to}"
                ));
                from
            }
        };
        let mut day = from;
        while day <= to {
            if args.refetch || day >= recent || !state.is_complete(table.name(), day) {
                jobs.push((table, day));
            } else {
                skipped += 1;
            }
            day = day.succ_opt().expect("in range");
        }
    }
    // Oldest days first, tables interleaved, so a stopped backfill leaves a contiguous prefix.
    jobs.sort_by_key(|&(t, d)| (d, t));
    Plan {
        jobs,
        skipped,
        unfinished_from: today,
    }
}

/// Fetches and commits every planned day, `concurrency` at a time; stops cleanly on Ctrl-C.
pub async fn sync(
    client: &GraphClient,
    lake: &Lake,
    state: SyncState,
    plan: Plan,
    concurrency: usize,
    ui: &Ui,
) -> Result<Summary> {
    let started = Instant::now();
    client.check_credentials().await?;
    let total = plan.jobs.len();
    let unfinished_from = plan.unfinished_from;
    let progress = ui.bar(total as u64, "days");
    let state = Arc::new(Mutex::new(state));
    // One part is encoded at a time, whatever the fetch concurrency: memory stays near one
    // encoder plus a part's rows per day being fetched.
    let encoding = EncodeSlots::new(1);
    let summary = Arc::new(Mutex::new(Summary {
        days_skipped: plan.skipped,
        ..Default::default()
    }));
    let work = futures::stream::iter(plan.jobs)
        .map(|(table, day)| {
            let (state, summary, progress, encoding) = (
                Arc::clone(&state),
                Arc::clone(&summary),
                progress.clone(),
                encoding.clone(),
            );
            async move {
                let spec = table_spec(table);
                // Each page is placed as it arrives: every few thousand rows go to the day's
                // writer (on a blocking thread), which encodes a part of the day's file every
                // `PART_ROWS` rows, so memory stays near a part's rows per day being fetched.
                let mut pages = client.day_pages(table, day)?;
                let spool_failed = move || {
                    format!(
                        "keeping the rows of {table} for {day} in a temporary file failed \
                         (`_pstn_lake/spool/` in a local lake; TMPDIR chooses the folder otherwise)"
                    )
                };
                let archive_failed =
                    move || format!("archiving the pages of {table} for {day} failed");
                let mut writer =
                    Some(DayWriter::new(lake, &spec, day, &encoding).with_context(spool_failed)?);
                // With --keep-raw, the day's pages are compressed as they arrive, with the rows.
                let mut archive = if client.keeps_raw() {
                    Some(RawDay::new().with_context(archive_failed)?)
                } else {
                    None
                };
                let mut archived_pages = 0;
                let mut pending: Vec<RecordBatch> = Vec::new();
                let mut pending_rows = 0;
                let mut pending_pages: Vec<bytes::Bytes> = Vec::new();
                let mut rows: u64 = 0;
                let mut unknown: Vec<(String, u64)> = Vec::new();
                loop {
                    let next = pages
                        .next_page()
                        .await
                        .with_context(|| format!("fetching {table} for {day} failed"))?;
                    let last = next.is_none();
                    if let Some((body, page)) = next {
                        for batch in &page.batches {
                            // PSTN's toDateTime is inclusive: rows of the next midnight belong
                            // to the next day.
                            for (d, part) in split_by_day(&spec, batch)? {
                                if d == day {
                                    pending_rows += part.num_rows();
                                    pending.push(part);
                                }
                            }
                        }
                        unknown.extend(page.unknown_properties);
                        if archive.is_some() {
                            pending_pages.push(body);
                        }
                    }
                    let waiting = pending_rows > 0 || !pending_pages.is_empty();
                    if pending_rows >= ENCODE_EVERY_ROWS
                        || pending_pages.len() >= ARCHIVE_EVERY_PAGES
                        || (last && waiting)
                    {
                        let batches = std::mem::take(&mut pending);
                        rows += std::mem::take(&mut pending_rows) as u64;
                        let pages = std::mem::take(&mut pending_pages);
                        archived_pages += pages.len();
                        let mut w = writer.take().expect("put back after each chunk");
                        let mut a = archive.take();
                        let (w, a) = tokio::task::spawn_blocking(move || -> Result<_> {
                            for batch in batches {
                                w.push(batch).with_context(spool_failed)?;
                            }
                            if let Some(a) = a.as_mut() {
                                for page in &pages {
                                    a.push(page).with_context(archive_failed)?;
                                }
                            }
                            Ok((w, a))
                        })
                        .await??;
                        (writer, archive) = (Some(w), a);
                    }
                    if last {
                        break;
                    }
                }
                if let Some(archive) = archive
                    && archived_pages > 0
                {
                    // Archived before the day commits: a committed day always has its pages.
                    archive
                        .store(lake, table.name(), day)
                        .await
                        .with_context(archive_failed)?;
                }
                if rows > 0 {
                    writer
                        .take()
                        .expect("present")
                        .commit(lake)
                        .await
                        .with_context(|| {
                            format!("writing {table} for {day} failed; the day is unchanged")
                        })?;
                }
                if day < unfinished_from || rows > 0 {
                    let mut state = state.lock().await;
                    if day < unfinished_from {
                        state.mark_complete(table.name(), day);
                    }
                    state
                        .save(lake)
                        .await
                        .context("recording the day in the sync state failed")?;
                }
                let mut s = summary.lock().await;
                for (k, n) in unknown {
                    *s.unknown.entry(k).or_default() += n;
                }
                *s.rows.entry(table).or_default() += rows;
                s.days_written += u64::from(rows > 0);
                s.days_unfinished += u64::from(day >= unfinished_from);
                progress.inc(1);
                let fetched = client.stats();
                let rows = fetched.rows.load(Ordering::Relaxed);
                progress.set_message(format!(
                    "{rows} rows ({:.0} rows/s), {} pages, {} throttled ({:.1} s waited)",
                    rows as f64 / started.elapsed().as_secs_f64().max(1e-3),
                    fetched.pages.load(Ordering::Relaxed),
                    fetched.throttled.load(Ordering::Relaxed),
                    fetched.throttled_wait_ms.load(Ordering::Relaxed) as f64 / 1000.0
                ));
                anyhow::Ok(())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_for_each(|()| async { Ok(()) });
    let outcome = tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::Error::new(Interrupted(
            "Ctrl-C: the days finished so far are committed; run the same command again to continue".into()
        ))),
    };
    progress.finish_and_clear();
    let mut summary = std::mem::take(&mut *summary.lock().await);
    let stats = client.stats();
    summary.pages = stats.pages.load(Ordering::Relaxed);
    summary.retries = stats.retries.load(Ordering::Relaxed);
    summary.throttled = stats.throttled.load(Ordering::Relaxed);
    summary.throttled_wait_ms = stats.throttled_wait_ms.load(Ordering::Relaxed);
    summary.renewals_after_401 = stats.renewals_after_401.load(Ordering::Relaxed);
    summary.tokens = client.tokens_issued();
    summary.elapsed = started.elapsed();
    if let Err(e) = outcome {
        ui.summary(format!("stopped early; so far: {summary}"));
        return Err(e);
    }
    if total == 0 && summary.days_skipped == 0 {
        bail!("nothing to sync: the range is empty (is --from after --to?)");
    }
    Ok(summary)
}
