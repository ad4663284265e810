//! Sync: keep the lake in step with a tenant's call logs, one UTC day at a time.
//!
//! Each (table, day) is fetched whole — every page of the day window — then merged into its
//! partition in one atomic step and recorded as complete in the lake's sync state. A run that
//! stops (error, `stop`, kill) leaves finished days committed; the same sync again fetches only
//! what is missing, plus the recent days Graph may still be filling in.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use futures::{StreamExt, TryStreamExt};
use pstn_lake_fetch::{ApiVersion, Credentials, GraphClient, GraphConfig, Table};
use pstn_lake_sink::{
    EncodeSlots, Lake, PrivacyKeys, Pseudonymiser, SyncState, TableFormat, quarantine_days,
};

use crate::day::{Landed, Quarantined, day_chunks, land_day};
use crate::lake::{leave_no_empty_lake, locked};
use crate::{DaySynced, Days, Error, Privacy, Progress, Result, plan, table_spec};

/// What to sync, and how.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub(crate) days: Days,
    pub(crate) lookback: u32,
    pub(crate) refetch: bool,
    pub(crate) concurrency: usize,
    pub(crate) api: Option<ApiVersion>,
    pub(crate) allow_api_downgrade: bool,
    pub(crate) keep_raw: bool,
    pub(crate) strict: bool,
    pub(crate) command: &'static str,
    pub(crate) today: Option<NaiveDate>,
    pub(crate) table_format: Option<TableFormat>,
    pub(crate) privacy: Option<Privacy>,
    pub(crate) keys: PrivacyKeys,
}

impl Default for SyncOptions {
    /// Every table, from where the last sync stopped to today, 3 days of lookback, 4 days at a
    /// time, the lake's API version.
    fn default() -> Self {
        SyncOptions {
            days: Days::default(),
            lookback: SyncOptions::DEFAULT_LOOKBACK,
            refetch: false,
            concurrency: 4,
            api: None,
            allow_api_downgrade: false,
            keep_raw: false,
            strict: false,
            command: "sync",
            today: None,
            table_format: None,
            privacy: None,
            keys: PrivacyKeys::from_env(),
        }
    }
}

impl SyncOptions {
    /// Days before today that are fetched again on every run: Graph adds records 24–48 h late.
    pub const DEFAULT_LOOKBACK: u32 = 3;

    /// The longest lookback (ten years: far past what Graph keeps).
    pub const MAX_LOOKBACK: u32 = 3650;

    /// The longest range one sync may ask for, in days (ten years).
    pub const MAX_RANGE_DAYS: i64 = 3660;

    /// Refuses options no tenant can mean (on `today`, UTC): a lookback over
    /// [`Self::MAX_LOOKBACK`], a day before 1970, a `to` more than a year ahead, a range over
    /// [`Self::MAX_RANGE_DAYS`]. Such values would otherwise plan millions of requests for days
    /// Graph has nothing for (or overflow the calendar).
    pub fn check(&self, today: NaiveDate) -> Result<()> {
        let refuse = |m: String| Err(Error::OutOfRange(m));
        if self.lookback > Self::MAX_LOOKBACK {
            return refuse(format!(
                "--lookback {} is more than {} days (ten years, far past what Graph keeps)",
                self.lookback,
                Self::MAX_LOOKBACK
            ));
        }
        let first = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
        let last = today + chrono::Days::new(366);
        for (name, day) in [("--from", self.days.from), ("--to", self.days.to)] {
            match day {
                Some(d) if d < first => {
                    return refuse(format!(
                        "{name} {d} is before 1970: Graph has no calls then"
                    ));
                }
                Some(d) if d > last => {
                    return refuse(format!(
                        "{name} {d} is more than a year after today ({today}): those days have no calls yet"
                    ));
                }
                _ => {}
            }
        }
        if let (Some(from), Some(to)) = (self.days.from, self.days.to)
            && (to - from).num_days() >= Self::MAX_RANGE_DAYS
        {
            return refuse(format!(
                "--from {from} --to {to} is {} days, more than {} (ten years): sync a shorter range",
                (to - from).num_days() + 1,
                Self::MAX_RANGE_DAYS
            ));
        }
        Ok(())
    }

    /// The tables and days: `from` `None` is where the last sync stopped, minus the lookback (or
    /// the first day a failed run left missing), on a first sync the last 30 days; `to` `None` is
    /// today.
    pub fn with_days(mut self, days: Days) -> Self {
        self.days = days;
        self
    }

    /// Days before today that are always fetched again.
    pub fn with_lookback(mut self, days: u32) -> Self {
        self.lookback = days;
        self
    }

    /// Fetch every day of the range again, even days an earlier sync completed.
    pub fn with_refetch(mut self, refetch: bool) -> Self {
        self.refetch = refetch;
        self
    }

    /// Days fetched at once (at least 1).
    pub fn with_concurrency(mut self, days: usize) -> Self {
        self.concurrency = days.max(1);
        self
    }

    /// The Graph API version; `None`: the one the lake's syncs recorded, else v1.0.
    pub fn with_api(mut self, api: Option<ApiVersion>) -> Self {
        self.api = api;
        self
    }

    /// Allow v1.0 on a lake landed with beta (the days fetched lose their beta-only columns).
    pub fn with_allow_api_downgrade(mut self, allow: bool) -> Self {
        self.allow_api_downgrade = allow;
        self
    }

    /// Also keep every fetched page, compressed, in the lake's raw archive.
    pub fn with_keep_raw(mut self, keep_raw: bool) -> Self {
        self.keep_raw = keep_raw;
        self
    }

    /// Fail a day on a row that cannot be landed, instead of landing the day without it and
    /// keeping the row in the quarantine (the default).
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The table format of a new lake (default Parquet); an existing lake keeps its own, and
    /// another one named here is refused.
    pub fn with_table_format(mut self, format: Option<TableFormat>) -> Self {
        self.table_format = format;
        self
    }

    /// Pseudonymise these columns at landing (docs/privacy.md). A new lake records the setting;
    /// a lake with one keeps it and refuses another; `None` (the default) lands with the lake's
    /// setting, if it has one. Refused on a lake that holds rows landed without it.
    pub fn with_privacy(mut self, privacy: Option<Privacy>) -> Self {
        self.privacy = privacy;
        self
    }

    /// Where the pseudonymisation key is read (default: the environment variable the setting
    /// names).
    pub fn with_privacy_keys(mut self, keys: PrivacyKeys) -> Self {
        self.keys = keys;
        self
    }

    /// The command named as the lake lock's holder (default `sync`).
    pub fn with_command(mut self, command: &'static str) -> Self {
        self.command = command;
        self
    }

    /// The UTC day the run counts as today: `to` defaults to it, the lookback counts back from
    /// it, and days from it on are fetched but never recorded complete (they are not over). By
    /// default the clock's day, read once as the run starts; set it to run as of a known day (a
    /// test that must not straddle midnight, a replay of a past run).
    pub fn with_today(mut self, today: NaiveDate) -> Self {
        self.today = Some(today);
        self
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// (table, day) pairs planned.
    pub days_planned: u64,
    /// Days of the range left out because an earlier sync completed them.
    pub days_skipped: u64,
    /// Days that received rows and were written.
    pub days_written: u64,
    /// Days fetched that were not over yet (today, or later): to fetch again.
    pub days_unfinished: u64,
    /// Rows landed, per table (tables without a day done are absent).
    pub rows: BTreeMap<Table, u64>,
    /// Pages fetched.
    pub pages: u64,
    /// Requests retried.
    pub retries: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Time waited because Graph throttled.
    pub throttled_wait: Duration,
    /// Tokens issued.
    pub tokens: u64,
    /// Token renewals after a 401.
    pub renewals_after_401: u64,
    /// How long the sync took.
    pub elapsed: Duration,
    /// Row properties the schema does not know (kept in `extra_properties`), with row counts.
    pub unknown: BTreeMap<String, u64>,
    /// Rows that could not be landed, kept in the lake's quarantine instead (by table and day).
    pub quarantined: Vec<Quarantined>,
    /// Tables left out of this run because Graph refused them (a permission the app lacks, a
    /// beta function the cloud does not have): the other tables landed. A run with any is
    /// partial.
    pub skipped_tables: BTreeMap<Table, SkippedTable>,
}

/// A table a sync left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTable {
    /// Why: what Graph answered, and what to do.
    pub reason: String,
}

impl SyncReport {
    /// Whether some tables were left out ([`SyncReport::skipped_tables`]).
    pub fn is_partial(&self) -> bool {
        !self.skipped_tables.is_empty()
    }
}

impl std::fmt::Display for SyncReport {
    /// The summary line, and lines for unfinished days and unknown properties.
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
            self.throttled_wait.as_secs_f64(),
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
        write_unknown(f, &self.unknown)?;
        write_quarantined(f, &self.quarantined)?;
        for (table, skipped) in &self.skipped_tables {
            write!(f, "\n  {table} was not synced: {}", skipped.reason)?;
        }
        Ok(())
    }
}

/// How many quarantined rows the summary names one by one.
const QUARANTINED_SHOWN: usize = 10;

/// The lines naming the rows that were quarantined, when there are any.
pub(crate) fn write_quarantined(
    f: &mut std::fmt::Formatter<'_>,
    quarantined: &[Quarantined],
) -> std::fmt::Result {
    if quarantined.is_empty() {
        return Ok(());
    }
    write!(
        f,
        "\n  {} rows could not be landed and are kept as served in _pstn_lake/quarantine/ (their days landed without them):",
        quarantined.len()
    )?;
    for q in quarantined.iter().take(QUARANTINED_SHOWN) {
        write!(f, "\n    {q}")?;
    }
    if quarantined.len() > QUARANTINED_SHOWN {
        write!(
            f,
            "\n    … and {} more",
            quarantined.len() - QUARANTINED_SHOWN
        )?;
    }
    Ok(())
}

/// The line listing properties the schema does not know, when there are any.
pub(crate) fn write_unknown(
    f: &mut std::fmt::Formatter<'_>,
    unknown: &BTreeMap<String, u64>,
) -> std::fmt::Result {
    if unknown.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unknown
        .iter()
        .map(|(k, n)| format!("{k} ({n} rows)"))
        .collect();
    write!(
        f,
        "\n  properties the schema does not know, kept in the extra_properties column: {}",
        list.join(", ")
    )
}

/// Syncs `lake` from Graph (`graph`, authenticated with `credentials`) as `options` say, holding
/// the lake lock: plans the days from the lake's sync state, fetches them `concurrency` at a
/// time, lands each day whole and records it complete. When `stop` completes first, the run ends
/// with [`Error::Interrupted`] (days finished so far stay committed). An error after fetching
/// began is [`Error::Stopped`], with what was done so far.
pub async fn sync(
    lake: &Lake,
    graph: GraphConfig,
    credentials: Credentials,
    options: &SyncOptions,
    progress: &dyn Progress,
    stop: impl Future<Output = ()>,
) -> Result<SyncReport> {
    // Read once: the checks, the plan and what counts as over agree even across midnight.
    let today = options.today.unwrap_or_else(|| Utc::now().date_naive());
    options.check(today)?;
    leave_no_empty_lake(lake, async {
        lake.check().await?;
        locked(lake, options.command, options.table_format, async {
            // Before anything is fetched: a missing or wrong key, another setting, or a raw
            // archive of a pseudonymised lake stops the run here.
            let privacy = crate::privacy::settle(
                lake,
                options.privacy.as_ref(),
                &options.keys,
                options.keep_raw,
                true,
            )
            .await?;
            // Read under the lock: another run may have just finished days.
            let mut state = SyncState::load(lake).await?;
            let resolved;
            let options = if options.days.tables.is_empty() {
                resolved = options.clone().with_days(
                    options
                        .days
                        .clone()
                        .with_tables(held_tables(lake, &state).await?),
                );
                &resolved
            } else {
                options
            };
            // The run's tables are enabled (saved with the first day recorded): later runs
            // without a list fetch them too, even one whose every day failed this time.
            for table in &options.days.tables {
                state.enable(table.name());
            }
            let api = api_version(options, &mut state, lake)?;
            let client = GraphClient::new(
                graph.with_api(api).with_keep_raw(options.keep_raw),
                credentials,
            )?;
            state.forget_unfinished(today);
            let plan = plan(options, &state, today);
            progress.sync_planned(&plan);
            let mut quarantined = Vec::new();
            for table in options.days.tables.iter().copied() {
                for day in quarantine_days(lake, table.name()).await? {
                    quarantined.push((table, day));
                }
            }
            let snapshots = plan.snapshots.clone();
            let run = Run {
                client: &client,
                lake,
                state: tokio::sync::Mutex::new(state),
                report: std::sync::Mutex::new(SyncReport {
                    days_planned: (plan.jobs.len() + snapshots.len()) as u64,
                    days_skipped: plan.skipped,
                    ..SyncReport::default()
                }),
                encoding: EncodeSlots::new(1),
                unfinished_from: plan.unfinished_from,
                started: Instant::now(),
                progress,
                strict: options.strict,
                quarantined: quarantined.into_iter().collect(),
                skipped: std::sync::Mutex::new(BTreeMap::new()),
                first_refusal: std::sync::Mutex::new(None),
                tables: options.days.tables.len(),
                privacy,
            };
            run.all(snapshots, plan.jobs, options.concurrency, stop)
                .await
        })
        .await
    })
    .await
}

/// The tables a sync fetches when none is named: the two call tables, and every other table the
/// lake holds (a folder of rows, or days or an enabling recorded in the sync state). The call
/// tables are always there, so a first run that failed before recording anything of one of them
/// does not drop it from the nightly runs; the beta-only logs are fetched once a sync named them.
async fn held_tables(lake: &Lake, state: &SyncState) -> Result<Vec<Table>> {
    let folders = lake.tables().await?;
    Ok(Table::ALL
        .into_iter()
        .filter(|t| {
            Table::CALLS.contains(t)
                || state.holds(t.name())
                || folders.iter().any(|f| f == t.name())
        })
        .collect())
}

/// The Graph API version to sync with: the option, else the one the lake recorded, else v1.0. A
/// lake landed with beta keeps its beta-only columns: v1.0 there is refused unless
/// `allow_api_downgrade`. The version is recorded in `state` (saved with the first day written);
/// a downgrade leaves beta recorded.
pub fn api_version(
    options: &SyncOptions,
    state: &mut SyncState,
    lake: &Lake,
) -> Result<ApiVersion> {
    let recorded = match state.api() {
        None => None,
        Some(s) => Some(
            s.parse::<ApiVersion>()
                .map_err(|reason| Error::RecordedApi {
                    lake: lake.url().to_string(),
                    reason,
                })?,
        ),
    };
    let api = match (options.api, recorded) {
        (Some(ApiVersion::V1), Some(ApiVersion::Beta)) if !options.allow_api_downgrade => {
            return Err(Error::ApiDowngrade {
                lake: lake.url().to_string(),
            });
        }
        (Some(api), _) => api,
        (None, recorded) => recorded.unwrap_or_default(),
    };
    if recorded != Some(ApiVersion::Beta) {
        state.set_api(api.path());
    }
    Ok(api)
}

/// What every day of one run shares.
struct Run<'a> {
    client: &'a GraphClient,
    lake: &'a Lake,
    state: tokio::sync::Mutex<SyncState>,
    report: std::sync::Mutex<SyncReport>,
    /// Days are encoded one at a time, whatever the fetch concurrency: memory stays near one
    /// day's encoder.
    encoding: EncodeSlots,
    unfinished_from: NaiveDate,
    started: Instant,
    progress: &'a dyn Progress,
    /// Whether a row that cannot be landed fails its day (else it is quarantined).
    strict: bool,
    /// The (table, day) pairs the quarantine held rows of when the run started.
    quarantined: BTreeSet<(Table, NaiveDate)>,
    /// Tables Graph refused in this run, whose remaining days are left out.
    skipped: std::sync::Mutex<BTreeMap<Table, SkippedTable>>,
    /// The first refusal, which is the run's error when Graph refused every table of it.
    first_refusal: std::sync::Mutex<Option<Error>>,
    /// How many tables the run syncs.
    tables: usize,
    /// What pseudonymises the rows, when the lake does.
    privacy: Option<Pseudonymiser>,
}

impl Run<'_> {
    /// Fetches and commits every planned day, `concurrency` at a time, until done, an error or
    /// `stop`.
    async fn all(
        self,
        snapshots: Vec<Table>,
        jobs: Vec<(Table, NaiveDate)>,
        concurrency: usize,
        stop: impl Future<Output = ()>,
    ) -> Result<SyncReport> {
        let client = self.client;
        client.check_credentials().await?;
        let work = async {
            for table in snapshots {
                // Boxed: the run's future stays the size it was without a snapshot table.
                self.guarded(table, Box::pin(self.snapshot(table))).await?;
            }
            futures::stream::iter(jobs)
                .map(|(table, day)| self.day(table, day))
                .buffer_unordered(concurrency.max(1))
                .try_for_each(|()| async { Ok(()) })
                .await
        };
        let outcome = tokio::select! {
            r = work => r,
            () = stop => Err(Error::Interrupted),
        };
        let mut report = self.report.into_inner().expect("not poisoned");
        report.skipped_tables = self.skipped.into_inner().expect("not poisoned");
        report.add_client_stats(client, self.started.elapsed());
        // Nothing can land when Graph refuses every table: that is the run's error, not a
        // partial run.
        let first_refusal = self.first_refusal.into_inner().expect("not poisoned");
        let outcome = match (outcome, first_refusal) {
            (Ok(()), Some(refusal)) if report.skipped_tables.len() == self.tables => Err(refusal),
            (outcome, _) => outcome,
        };
        // Days finish in any order; the summary lists their rows in order.
        (report.quarantined).sort_by_key(|q| (q.table, q.day, q.page, q.row.row));
        finish(report, outcome)
    }
}

/// Why Graph refuses `table` to this app or cloud, when `error` says so: a 403 (a permission the
/// app lacks), or a 400 or 404 for a beta-only function (the cloud does not have it). Such a
/// table is left out; the others land.
fn refusal(table: Table, error: &Error) -> Option<String> {
    let Error::Fetch { source, .. } = error else {
        return None;
    };
    match source.as_ref() {
        e @ pstn_lake_fetch::Error::Forbidden { .. } => Some(format!(
            "{e}; the other tables landed, and the next sync fetches {table} again"
        )),
        pstn_lake_fetch::Error::Graph {
            status: 400 | 404,
            message,
            ..
        } if table.beta_only() => Some(format!(
            "Graph's beta API in this cloud does not serve {} ({message}); the other tables landed",
            table.graph_function()
        )),
        _ => None,
    }
}

/// The run's result: its report, or why it stopped with what it did so far.
fn finish(report: SyncReport, outcome: Result<()>) -> Result<SyncReport> {
    match outcome {
        Err(e) => Err(Error::Stopped {
            so_far: Box::new(report),
            source: Box::new(e),
        }),
        Ok(()) if report.days_planned == 0 && report.days_skipped == 0 => Err(Error::EmptyRange),
        Ok(()) => Ok(report),
    }
}

impl Run<'_> {
    /// Fetches one (table, day), lands it, records it, and counts it; a table Graph refuses is
    /// left out of the rest of the run ([`refusal`]).
    async fn day(&self, table: Table, day: NaiveDate) -> Result<()> {
        self.guarded(table, self.land(table, day)).await
    }

    /// Runs `work` on `table` unless Graph refused the table earlier in the run; a refusal
    /// ([`refusal`]) leaves the table out of the rest of the run.
    async fn guarded(&self, table: Table, work: impl Future<Output = Result<()>>) -> Result<()> {
        if self
            .skipped
            .lock()
            .expect("not poisoned")
            .contains_key(&table)
        {
            return Ok(());
        }
        match work.await {
            Err(e) => match refusal(table, &e) {
                Some(reason) => {
                    let mut skipped = self.skipped.lock().expect("not poisoned");
                    skipped.entry(table).or_insert(SkippedTable { reason });
                    self.first_refusal
                        .lock()
                        .expect("not poisoned")
                        .get_or_insert(e);
                    Ok(())
                }
                None => Err(e),
            },
            ok => ok,
        }
    }

    /// Fetches one (table, day), lands it, records it, and counts it.
    async fn land(&self, table: Table, day: NaiveDate) -> Result<()> {
        let spec = table_spec(table);
        let chunks = day_chunks(self.client, &spec, table, day, self.strict)?;
        let landed = land_day(
            self.lake,
            &spec,
            table,
            day,
            self.client.keeps_raw(),
            self.quarantined.contains(&(table, day)),
            &self.encoding,
            self.privacy.as_ref(),
            chunks,
        )
        .await?;
        self.record(table, day, landed.rows).await?;
        self.count(table, day, landed);
        Ok(())
    }

    /// Reads a snapshot table from Graph and writes the snapshot of the run's day when it
    /// changed ([`crate::directory`]); then records the delta link the next run starts from.
    async fn snapshot(&self, table: Table) -> Result<()> {
        let day = self.unfinished_from;
        let link = (self.state.lock().await)
            .delta_link(table.name())
            .map(str::to_owned);
        let snapshot = crate::directory::snapshot(
            self.client,
            self.lake,
            link.as_deref(),
            table,
            day,
            &self.encoding,
            self.privacy.as_ref(),
        )
        .await?;
        {
            let mut state = self.state.lock().await;
            state.set_delta_link(table.name(), Some(snapshot.delta_link));
            state
                .save(self.lake)
                .await
                .map_err(|e| Error::RecordState(Box::new(e)))?;
        }
        // An unchanged directory writes nothing, and adds no rows to the report.
        if let Some(users) = snapshot.written {
            let mut report = self.report.lock().expect("not poisoned");
            *report.rows.entry(table).or_default() += users as u64;
            report.days_written += 1;
        }
        Ok(())
    }

    /// Records a day that is over as complete in the sync state (and saves the state whenever the
    /// lake changed: the API version goes with the first day written).
    async fn record(&self, table: Table, day: NaiveDate, rows: u64) -> Result<()> {
        let over = day < self.unfinished_from;
        if !over && rows == 0 {
            return Ok(());
        }
        let mut state = self.state.lock().await;
        if over {
            state.mark_complete(table.name(), day);
        }
        state
            .save(self.lake)
            .await
            .map_err(|e| Error::RecordState(Box::new(e)))
    }

    /// Adds a finished day to the report and tells the progress.
    fn count(&self, table: Table, day: NaiveDate, landed: Landed) {
        {
            let mut report = self.report.lock().expect("not poisoned");
            for (k, n) in landed.unknown {
                *report.unknown.entry(k).or_default() += n;
            }
            *report.rows.entry(table).or_default() += landed.rows;
            report.quarantined.extend(landed.quarantined);
            report.days_written += u64::from(landed.rows > 0);
            report.days_unfinished += u64::from(day >= self.unfinished_from);
        }
        let stats = self.client.stats();
        self.progress.day_synced(&DaySynced {
            table,
            day,
            rows: landed.rows,
            fetched_rows: stats.rows.load(Ordering::Relaxed),
            pages: stats.pages.load(Ordering::Relaxed),
            throttled: stats.throttled.load(Ordering::Relaxed),
            throttled_wait: Duration::from_millis(stats.throttled_wait_ms.load(Ordering::Relaxed)),
            elapsed: self.started.elapsed(),
        });
    }
}

impl SyncReport {
    /// Takes the client's counters (pages, retries, throttling, tokens) and the run's time.
    fn add_client_stats(&mut self, client: &GraphClient, elapsed: Duration) {
        let stats = client.stats();
        self.pages = stats.pages.load(Ordering::Relaxed);
        self.retries = stats.retries.load(Ordering::Relaxed);
        self.throttled = stats.throttled.load(Ordering::Relaxed);
        self.throttled_wait =
            Duration::from_millis(stats.throttled_wait_ms.load(Ordering::Relaxed));
        self.renewals_after_401 = stats.renewals_after_401.load(Ordering::Relaxed);
        self.tokens = client.tokens_issued();
        self.elapsed = elapsed;
    }
}
