//! Chaos: seeded random schedules of store faults and Graph faults against a sync.
//!
//! Each schedule syncs a few small days through a store that fails some operations (not done),
//! cuts others (done, but the answer is lost: the writer cannot know it happened) and delays
//! others, from a simulator that answers some requests 503 or 429, drops connections, cuts bodies
//! off or expires the token. Whatever happens, when the run ends every day of the lake is exact
//! (the simulator's rows of that day, each once) or absent, every day the sync state records
//! complete is exact, and a run that failed says why. A clean run afterwards makes the lake exact
//! and leaves no object but the days and the sync state. The counts are printed.
//!
//! `PSTN_LAKE_CHAOS_SCHEDULES` sets how many schedules run (default 300), `PSTN_LAKE_CHAOS_SEED`
//! the first seed (default 1), to replay one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use pstn_lake_fetch::RetryConfig;
use pstn_lake_graph_sim::{Fault, FaultPlan, RunningSim};
use pstn_lake_pipeline::{Days, Error, Lake, NoProgress, SyncOptions, Table, sync, table_spec};
use pstn_lake_sink::{SyncState, read_day};

use crate::helpers::*;

const FIRST: &str = "2026-06-01";
const LAST: &str = "2026-06-03";

/// A small deterministic generator (SplitMix64): a schedule is its seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the store did to one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draw {
    Pass,
    /// Refused, not done.
    Fail,
    /// Done, but the caller gets an error.
    Cut,
    /// Done after a pause.
    Delay(Duration),
}

/// Faults injected over all schedules.
#[derive(Debug, Default)]
struct Counts {
    failed: AtomicU64,
    cut: AtomicU64,
    delayed: AtomicU64,
    operations: AtomicU64,
    /// Failed or cut operations on a day's file (its merge read or its commit).
    on_days: AtomicU64,
    /// Multipart uploads started: none, ever (a day is one PUT), so a killed run cannot leave an
    /// incomplete upload behind.
    multipart: AtomicU64,
}

/// An in-memory store that fails, cuts or delays operations at the rates its schedule drew.
#[derive(Debug)]
struct ChaosStore {
    inner: InMemory,
    rng: Mutex<Rng>,
    /// Percent of operations failed, cut, delayed.
    rates: (u64, u64, u64),
    armed: AtomicBool,
    /// Whether a fault hit the lock object (which a lost answer or a failed release can leave
    /// behind until its time to live passes).
    lock_hit: Arc<AtomicBool>,
    counts: Arc<Counts>,
}

impl std::fmt::Display for ChaosStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChaosStore")
    }
}

fn injected(draw: Draw) -> object_store::Error {
    object_store::Error::Generic {
        store: "chaos",
        source: match draw {
            Draw::Cut => "chaos store: the operation was done but its answer was lost".into(),
            _ => "chaos store: the operation failed".into(),
        },
    }
}

impl ChaosStore {
    fn draw(&self, path: Option<&Path>) -> Draw {
        if !self.armed.load(Ordering::SeqCst) {
            return Draw::Pass;
        }
        self.counts.operations.fetch_add(1, Ordering::Relaxed);
        let (fail, cut, delay) = self.rates;
        let (roll, pause) = {
            let mut rng = self.rng.lock().unwrap();
            (rng.below(100), rng.below(4))
        };
        let draw = if roll < fail {
            self.counts.failed.fetch_add(1, Ordering::Relaxed);
            Draw::Fail
        } else if roll < fail + cut {
            self.counts.cut.fetch_add(1, Ordering::Relaxed);
            Draw::Cut
        } else if roll < fail + cut + delay {
            self.counts.delayed.fetch_add(1, Ordering::Relaxed);
            Draw::Delay(Duration::from_millis(pause))
        } else {
            Draw::Pass
        };
        if matches!(draw, Draw::Fail | Draw::Cut) {
            let name = path.map_or("", |p| p.as_ref());
            if name.ends_with("lock.json") {
                self.lock_hit.store(true, Ordering::SeqCst);
            }
            if name.ends_with("data.parquet") {
                self.counts.on_days.fetch_add(1, Ordering::Relaxed);
            }
        }
        draw
    }

    /// Runs `op` as `draw` says.
    async fn apply<T>(
        &self,
        draw: Draw,
        op: impl Future<Output = object_store::Result<T>>,
    ) -> object_store::Result<T> {
        match draw {
            Draw::Pass => op.await,
            Draw::Fail => Err(injected(draw)),
            Draw::Cut => op.await.and(Err(injected(draw))),
            Draw::Delay(pause) => {
                tokio::time::sleep(pause).await;
                op.await
            }
        }
    }
}

#[async_trait]
impl ObjectStore for ChaosStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let draw = self.draw(Some(location));
        self.apply(draw, self.inner.put_opts(location, payload, opts))
            .await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.counts.multipart.fetch_add(1, Ordering::Relaxed);
        let draw = match self.draw(Some(location)) {
            Draw::Cut => Draw::Fail,
            other => other,
        };
        self.apply(draw, self.inner.put_multipart_opts(location, opts))
            .await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let draw = self.draw(Some(location));
        self.apply(draw, self.inner.get_opts(location, options))
            .await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let draw = self.draw(None);
        if draw == Draw::Pass || matches!(draw, Draw::Delay(_)) {
            return self.inner.delete_stream(locations);
        }
        let lock_hit = Arc::clone(&self.lock_hit);
        let locations = locations
            .inspect_ok(move |p| {
                if p.as_ref().ends_with("lock.json") {
                    lock_hit.store(true, Ordering::SeqCst);
                }
            })
            .boxed();
        match draw {
            Draw::Fail => locations.map(|_| Err(injected(Draw::Fail))).boxed(),
            _ => self
                .inner
                .delete_stream(locations)
                .map(|r| r.and(Err(injected(Draw::Cut))))
                .boxed(),
        }
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        match self.draw(prefix) {
            Draw::Fail | Draw::Cut => {
                futures::stream::once(async { Err(injected(Draw::Fail)) }).boxed()
            }
            _ => self.inner.list(prefix),
        }
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let draw = self.draw(prefix);
        self.apply(draw, self.inner.list_with_delimiter(prefix))
            .await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let draw = self.draw(Some(to));
        self.apply(draw, self.inner.copy_opts(from, to, options))
            .await
    }
    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let draw = self.draw(Some(to));
        self.apply(draw, self.inner.rename_opts(from, to, options))
            .await
    }
}

/// A run's error with every cause, one after another.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Which side a run's error blames.
#[derive(Debug, PartialEq, Eq)]
enum Side {
    Store,
    Graph,
    Other,
}

fn side(e: &Error) -> Side {
    match e {
        Error::Stopped { source, .. } => side(source),
        Error::Fetch { .. } | Error::Graph(_) => Side::Graph,
        Error::Lake(_)
        | Error::ReleaseLock(_)
        | Error::Spool { .. }
        | Error::Quarantine { .. }
        | Error::Archive { .. }
        | Error::WriteDay { .. }
        | Error::RecordState(_) => Side::Store,
        _ => Side::Other,
    }
}

/// The ids a day of `table` holds in `lake`, sorted.
async fn day_ids(lake: &Lake, table: Table, day: NaiveDate) -> Vec<String> {
    let mut ids = Vec::new();
    for batch in read_day(lake, &table_spec(table), day).await.unwrap() {
        let column = batch.column_by_name("id").unwrap();
        let column = arrow::array::AsArray::as_string::<i32>(column);
        ids.extend(column.iter().map(|id| id.unwrap().to_owned()));
    }
    ids.sort();
    ids
}

/// The simulator's ids of `table` for `day`, sorted.
fn expected_ids(sim: &RunningSim, table: Table, day: NaiveDate) -> Vec<String> {
    let mut ids: Vec<String> = sim
        .tenant()
        .expected(function(table), day, day)
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// Every day of the lake is exact or absent (and no day outside the range exists); returns how
/// many (table, day) pairs are exact. Days the sync state records complete must be exact.
async fn days_exact_or_absent(lake: &Lake, sim: &RunningSim, seed: u64) -> usize {
    let state = SyncState::load(lake).await.unwrap();
    let (first, last) = (day(FIRST), day(LAST));
    let mut exact = 0;
    for table in Table::CALLS {
        for d in lake.days(table.name()).await.unwrap() {
            assert!(
                first <= d && d <= last,
                "seed {seed}: {table} {d} outside the range"
            );
        }
        for d in first.iter_days().take_while(|d| *d <= last) {
            let (held, want) = (day_ids(lake, table, d).await, expected_ids(sim, table, d));
            if held == want {
                exact += 1;
            } else {
                assert!(
                    held.is_empty() && !state.is_complete(table.name(), d),
                    "seed {seed}: {table} {d} holds {} rows, the simulator {} (recorded complete: {})",
                    held.len(),
                    want.len(),
                    state.is_complete(table.name(), d)
                );
            }
        }
    }
    exact
}

/// Faults a Graph request can get in a schedule.
fn graph_fault(rng: &mut Rng) -> Fault {
    match rng.below(6) {
        0 => Fault::Status(503),
        1 => Fault::Status(500),
        2 => Fault::Throttle {
            retry_after_secs: 0,
        },
        3 => Fault::DropConnection,
        4 => Fault::TruncatedBody,
        _ => Fault::ExpireToken,
    }
}

/// Totals over the schedules.
#[derive(Debug, Default)]
struct Totals {
    schedules: u64,
    failed_runs: u64,
    graph_faults: u64,
    days_exact_after_fault: u64,
    locks_left: u64,
    rows_checked: u64,
}

/// Runs schedule `seed`: a sync under faults, the checks, a clean sync, the checks.
async fn schedule(seed: u64, counts: &Arc<Counts>, totals: &mut Totals) {
    let mut rng = Rng(seed);
    let mut faults = FaultPlan::new();
    let graph_faults = rng.below(4);
    for _ in 0..graph_faults {
        faults = faults.at(1 + rng.below(14), graph_fault(&mut rng));
    }
    let tenant = || config(FIRST, 3, 40).with_page_size(16);
    let sim = start(tenant().with_faults(faults)).await;
    let rates = match rng.below(4) {
        0 => (0, 0, 20),
        1 => (6, 0, 10),
        2 => (0, 6, 10),
        _ => (4, 4, 10),
    };
    let store = Arc::new(ChaosStore {
        inner: InMemory::new(),
        rng: Mutex::new(Rng(rng.next())),
        rates,
        armed: AtomicBool::new(true),
        lock_hit: Arc::default(),
        counts: Arc::clone(counts),
    });
    let lake = Lake::with_store(
        Arc::clone(&store) as Arc<dyn ObjectStore>,
        Path::from("lake"),
        url::Url::parse("memory:///lake").unwrap(),
    );
    let retry = RetryConfig {
        max_retries: 1 + rng.below(3) as u32,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        retry_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(30),
    };
    let days = Days::default()
        .with_from(Some(day(FIRST)))
        .with_to(Some(day(LAST)));
    let options = SyncOptions::default()
        .with_days(days)
        .with_concurrency(1 + rng.below(3) as usize);
    let outcome = sync(
        &lake,
        graph(&sim).with_retry(retry.clone()),
        credentials(&sim),
        &options,
        &NoProgress,
        std::future::pending(),
    )
    .await;
    store.armed.store(false, Ordering::SeqCst);
    totals.schedules += 1;
    totals.graph_faults += sim.stats().faults_injected;
    let exact = days_exact_or_absent(&lake, &sim, seed).await;
    match &outcome {
        Ok(report) => assert_eq!(exact, 6, "seed {seed}: a run that succeeded: {report}"),
        Err(e) => {
            totals.failed_runs += 1;
            totals.days_exact_after_fault += exact as u64;
            // The error says which side failed, and the store's own reason reaches the user.
            let text = chain(e);
            match side(e) {
                Side::Store => assert!(
                    text.contains("chaos store:"),
                    "seed {seed}: a store error without the store's reason: {text}"
                ),
                Side::Graph => assert!(
                    sim.stats().faults_injected > 0,
                    "seed {seed}: a Graph error without a Graph fault: {text}"
                ),
                Side::Other => panic!("seed {seed}: an unexpected error: {text}"),
            }
        }
    }
    sim.shutdown().await;

    // The lock's time to live passes: a lock object is left only when a fault hit it.
    let lock = Path::from("lake/_pstn_lake/lock.json");
    if store.inner.head(&lock).await.is_ok() {
        assert!(
            store.lock_hit.load(Ordering::SeqCst),
            "seed {seed}: the run left its lock though no fault hit it"
        );
        totals.locks_left += 1;
        store.inner.delete(&lock).await.unwrap();
    }
    let sim = start(tenant()).await;
    let report = sync(
        &lake,
        graph(&sim).with_retry(retry),
        credentials(&sim),
        &options,
        &NoProgress,
        std::future::pending(),
    )
    .await
    .unwrap_or_else(|e| panic!("seed {seed}: the clean run failed: {}", chain(&e)));
    assert_eq!(
        days_exact_or_absent(&lake, &sim, seed).await,
        6,
        "seed {seed}: after the clean run: {report}"
    );
    for table in Table::CALLS {
        for d in day(FIRST).iter_days().take_while(|d| *d <= day(LAST)) {
            totals.rows_checked += expected_ids(&sim, table, d).len() as u64;
        }
    }
    let keys: BTreeSet<String> = store
        .inner
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    for key in &keys {
        let known = key == "lake/_pstn_lake/sync-state.json"
            || (key.ends_with("/data.parquet")
                && Table::CALLS
                    .iter()
                    .any(|t| key.starts_with(&format!("lake/{}/call_date=", t.name()))));
        assert!(known, "seed {seed}: `{key}` left in the lake: {keys:?}");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_store_and_graph_faults_never_leave_a_day_partial() {
    let schedules: u64 = std::env::var("PSTN_LAKE_CHAOS_SCHEDULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let first: u64 = std::env::var("PSTN_LAKE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let counts = Arc::new(Counts::default());
    let mut totals = Totals::default();
    for seed in first..first + schedules {
        schedule(seed, &counts, &mut totals).await;
    }
    let store_faults = counts.failed.load(Ordering::Relaxed) + counts.cut.load(Ordering::Relaxed);
    let figures = format!(
        "chaos: {} schedules; store: {} operations, {} failed, {} done with the answer lost ({} of them on a day's file), {} delayed; \
         Graph: {} faults injected; {} runs stopped with an error ({} days exact and the others absent), \
         {} left the lock for its time to live; after a clean run every lake exact: {} rows checked, 0 lost",
        totals.schedules,
        counts.operations.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        counts.cut.load(Ordering::Relaxed),
        counts.on_days.load(Ordering::Relaxed),
        counts.delayed.load(Ordering::Relaxed),
        totals.graph_faults,
        totals.failed_runs,
        totals.days_exact_after_fault,
        totals.locks_left,
        totals.rows_checked,
    );
    record_figures("chaos", &figures);
    assert_eq!(totals.schedules, schedules);
    assert_eq!(
        counts.multipart.load(Ordering::Relaxed),
        0,
        "a multipart upload"
    );
    // Enough of each fault that the schedules mean something (seeded: the counts vary only a
    // little, with the order concurrent days reach the store, and move when a run's store
    // operations change: a sync without tables lists the lake's tables once, which took the
    // faults on a day's file from 39 to 29 of 300 schedules).
    assert!(
        schedules < 300
            || (store_faults > 150
                && counts.on_days.load(Ordering::Relaxed) > 20
                && totals.graph_faults > 150
                && totals.failed_runs > 100),
        "too few faults to mean anything: {store_faults} store, {} Graph, {} failed runs",
        totals.graph_faults,
        totals.failed_runs
    );
}
