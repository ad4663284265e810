//! Several writers on one lake, paused writers, writers with a wrong clock, killed writers, and
//! power cuts: on a local folder, moto's S3 and Azurite, the lake ends up holding exactly the
//! union of what was landed, and every run that said it succeeded has its rows in the lake.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pstn_lake_graph_sim::{
    Fault, FaultPlan, Function, RunningSim, SimConfig, Tenant, TenantConfig,
};

use crate::helpers::*;
use crate::stores::{AZURITE_KEY, Server, az_env, azurite, lake_ids, moto, pages, s3_env};

/// The lock's time to live in these tests, so a paused writer's lock goes stale quickly.
const TTL_SECS: u64 = 2;

/// One lake to race on: its location, the environment its store needs, and the server behind it.
struct Target {
    name: &'static str,
    lake: String,
    server: Option<Server>,
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    fn local() -> Target {
        let dir = tempfile::tempdir().unwrap();
        Target {
            name: "local",
            lake: dir.path().join("lake").to_str().unwrap().to_owned(),
            server: None,
            _dir: Some(dir),
        }
    }

    fn s3(prefix: &str) -> Target {
        Target {
            name: "s3",
            lake: format!("s3://lake/{prefix}"),
            server: Some(moto()),
            _dir: None,
        }
    }

    fn azure(prefix: &str) -> Target {
        Target {
            name: "azure",
            lake: format!("az://lake/{prefix}"),
            server: Some(azurite()),
            _dir: None,
        }
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("PSTN_LAKE_LOCK_TTL_SECS", TTL_SECS.to_string());
        match (self.name, &self.server) {
            ("s3", Some(s)) => s3_env(cmd, s),
            ("azure", Some(s)) => az_env(cmd, s),
            _ => {}
        }
    }

    /// Whether the lake's lock is there: the local lock file, or the lock object
    /// (`_pstn_lake/lock.json`) in the bucket or container, read with object_store. A writer
    /// removes it when it is done, so after a SIGKILL it is there exactly when the writer was
    /// killed holding the lake: after it took the lock, before it gave it up.
    fn lock_left(&self, rt: &tokio::runtime::Runtime) -> bool {
        use object_store::ObjectStoreExt as _;
        let Some(server) = &self.server else {
            return Path::new(&self.lake).join("_pstn_lake/lock").exists();
        };
        let endpoint = format!("http://127.0.0.1:{}", server.port);
        let store: Box<dyn object_store::ObjectStore> = match self.name {
            "s3" => Box::new(
                object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name("lake")
                    .with_region("us-east-1")
                    .with_endpoint(endpoint)
                    .with_access_key_id("test")
                    .with_secret_access_key("test")
                    .with_allow_http(true)
                    .build()
                    .unwrap(),
            ),
            _ => Box::new(
                object_store::azure::MicrosoftAzureBuilder::new()
                    .with_account("devstoreaccount1")
                    .with_access_key(AZURITE_KEY)
                    .with_endpoint(format!("{endpoint}/devstoreaccount1"))
                    .with_container_name("lake")
                    .with_allow_http(true)
                    .build()
                    .unwrap(),
            ),
        };
        let (_, prefix) = self.lake.split_once("://lake/").unwrap();
        let lock = object_store::path::Path::from(format!("{prefix}/_pstn_lake/lock.json"));
        match rt.block_on(store.head(&lock)) {
            Ok(_) => true,
            Err(object_store::Error::NotFound { .. }) => false,
            Err(e) => panic!("{}: looking for {lock}: {e}", self.name),
        }
    }

    fn ids(&self, table: &str) -> BTreeSet<String> {
        let ids = lake_ids(&self.lake, table, &|c| self.env(c));
        let n = ids.len();
        let set: BTreeSet<String> = ids.into_iter().map(|mut r| r.remove(0)).collect();
        assert_eq!(set.len(), n, "{}: {table} holds an id twice", self.name);
        set
    }
}

/// A simulator serving the tenant of [`pages`] (seed 3, from 2026-05-01, 1,200 calls a day).
fn simulator(rt: &tokio::runtime::Runtime, days: u32) -> RunningSim {
    simulator_with(rt, days, FaultPlan::new())
}

/// [`simulator`] with faults.
fn simulator_with(rt: &tokio::runtime::Runtime, days: u32, faults: FaultPlan) -> RunningSim {
    let first = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    rt.block_on(pstn_lake_graph_sim::start(
        SimConfig::default()
            .with_tenant(TenantConfig::new(3, first, days, 1200))
            .with_page_size(300)
            .with_latency(Duration::from_millis(20))
            .with_faults(faults),
        "127.0.0.1:0".parse().unwrap(),
    ))
    .unwrap()
}

fn sync_args<'a>(sim: &'a RunningSim, lake: &'a str, from: &'a str, to: &'a str) -> Vec<String> {
    [
        "sync",
        "--graph-url",
        &sim.graph_url(),
        "--login-url",
        &sim.login_url(),
        "--from",
        from,
        "--to",
        to,
        "--api",
        "beta",
        "--refetch",
        "--lake",
        lake,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn graph_env(cmd: &mut Command, sim: &RunningSim) {
    cmd.env("AZURE_TENANT_ID", &sim.config().tenant_id)
        .env("AZURE_CLIENT_ID", &sim.config().client_id)
        .env("AZURE_CLIENT_SECRET", &sim.config().client_secret);
}

/// The ids of the rows in page files, by table.
fn page_ids(files: &[PathBuf]) -> [BTreeSet<String>; 2] {
    let mut out = [BTreeSet::new(), BTreeSet::new()];
    for file in files {
        let page: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let table = usize::from(
            page["@odata.context"]
                .as_str()
                .unwrap()
                .contains("directRouting"),
        );
        for row in page["value"].as_array().unwrap() {
            out[table].insert(row["id"].as_str().unwrap().to_owned());
        }
    }
    out
}

/// The tenant's ids of `days` (inclusive), by table.
fn tenant_ids(tenant: &Tenant, from: NaiveDate, to: NaiveDate) -> [BTreeSet<String>; 2] {
    [Function::Pstn, Function::DirectRouting].map(|f| {
        tenant
            .expected(f, from, to)
            .into_iter()
            .map(|r| r.id)
            .collect()
    })
}

const TABLES: [&str; 2] = ["pstn_calls", "direct_routing_calls"];

/// A writer of the race: what it runs and the rows it lands.
struct Writer {
    name: String,
    args: Vec<String>,
    /// A clock this many seconds ahead (faketime), when set.
    skew: Option<&'static str>,
    rows: [BTreeSet<String>; 2],
}

impl Writer {
    fn command(&self, target: &Target, sim: &RunningSim, skewed: bool) -> Command {
        let mut cmd = match self.skew.filter(|_| skewed) {
            Some(skew) => {
                let mut c = Command::new("faketime");
                c.arg("-f").arg(skew).arg(env!("CARGO_BIN_EXE_pstn-lake"));
                c.env_remove("PSTN_LAKE").env_remove("RUST_LOG");
                c
            }
            None => bin(),
        };
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        target.env(&mut cmd);
        graph_env(&mut cmd, sim);
        cmd
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig}");
}

/// Four writers on one lake with overlapping days: three `ingest`s of different pages of every
/// day, two of them with clocks three minutes ahead (they judge every lock stale and take it
/// over, so they really commit at once), and a `sync` of two of the days that is SIGSTOPped past
/// the lock's time to live while it holds the lock, then continued. Every run that reported success has all its rows in the lake;
/// after the failed runs are re-run, the lake holds exactly the union of all inputs.
#[test]
fn racing_paused_and_skewed_writers_keep_every_row_on_every_store() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for target in [Target::local(), Target::s3("race"), Target::azure("race")] {
        let dir = tempfile::tempdir().unwrap();
        let (all_pages, tenant) = pages(dir.path(), 4);
        // The sync's first Graph request is held: it is sent under the lake lock.
        let sim = simulator_with(&rt, 4, FaultPlan::new().at(1, Fault::Hold));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&all_pages)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut writers: Vec<Writer> = (0..3)
            .map(|k| {
                let folder = dir.path().join(format!("w{k}"));
                std::fs::create_dir_all(&folder).unwrap();
                let mine: Vec<PathBuf> = files
                    .iter()
                    .skip(k)
                    .step_by(3)
                    .map(|f| {
                        let to = folder.join(f.file_name().unwrap());
                        std::fs::copy(f, &to).unwrap();
                        to
                    })
                    .collect();
                Writer {
                    name: format!("ingest {k}"),
                    args: ["ingest", folder.to_str().unwrap(), "--lake", &target.lake]
                        .map(str::to_owned)
                        .to_vec(),
                    skew: (k > 0).then_some("+180s"),
                    rows: page_ids(&mine),
                }
            })
            .collect();
        let (d2, d3) = (
            NaiveDate::from_ymd_opt(2026, 5, 2).unwrap(),
            NaiveDate::from_ymd_opt(2026, 5, 3).unwrap(),
        );
        writers.push(Writer {
            name: "sync".into(),
            args: sync_args(&sim, &target.lake, "2026-05-02", "2026-05-03"),
            skew: None,
            rows: tenant_ids(&tenant, d2, d3),
        });

        // The sync starts first and is paused while it fetches (holding the lock): it is stopped
        // while the simulator holds its first request, then the request is let go (its answer
        // waits for the sync in the socket).
        let sync = writers[3].command(&target, &sim, true).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while sim.stats().held == 0 {
            assert!(Instant::now() < deadline, "the sync sent no request");
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(&sync, "-STOP");
        assert!(
            target.lock_left(&rt),
            "{}: the paused sync does not hold the lake",
            target.name
        );
        sim.release_held();
        // Once the paused lock is stale by any clock, the three ingests start together: the two
        // whose clocks are ahead judge every lock stale and take it over, so they commit at the
        // same time as whoever holds it (each is fenced only at its next refresh). The sync is
        // continued among them.
        std::thread::sleep(Duration::from_secs(TTL_SECS + 1));
        let ingests: Vec<Child> = (0..3)
            .map(|k| writers[k].command(&target, &sim, true).spawn().unwrap())
            .collect();
        signal(&sync, "-CONT");
        let mut outcomes = Vec::new();
        for (k, child) in ingests.into_iter().enumerate() {
            outcomes.push((k, child.wait_with_output().unwrap()));
        }
        outcomes.push((3, sync.wait_with_output().unwrap()));

        let lake_now: Vec<BTreeSet<String>> = TABLES.iter().map(|t| target.ids(t)).collect();
        let mut failed = Vec::new();
        for (k, out) in &outcomes {
            let w = &writers[*k];
            if out.status.success() {
                for (t, table) in TABLES.iter().enumerate() {
                    let missing: Vec<&String> = w.rows[t].difference(&lake_now[t]).collect();
                    assert!(
                        missing.is_empty(),
                        "{}: `{}` succeeded but {} of its {table} rows are not in the lake, e.g. {:?}",
                        target.name,
                        w.name,
                        missing.len(),
                        &missing[..missing.len().min(3)]
                    );
                }
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    err.contains("is writing to this lake")
                        || err.contains("took over the lock")
                        || err.contains("changed by another writer"),
                    "{}: `{}` failed for another reason: {err}",
                    target.name,
                    w.name
                );
                eprintln!(
                    "{}: `{}` stopped: {}",
                    target.name,
                    w.name,
                    err.lines().last().unwrap_or_default()
                );
                failed.push(*k);
            }
        }
        eprintln!(
            "{}: {} of 4 writers succeeded in the race; re-running {:?}",
            target.name,
            4 - failed.len(),
            failed.iter().map(|k| &writers[*k].name).collect::<Vec<_>>()
        );
        for k in failed {
            let out = writers[k].command(&target, &sim, false).output().unwrap();
            assert!(
                out.status.success(),
                "{}: re-running `{}` failed: {}",
                target.name,
                writers[k].name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let first_day = tenant.config().first_day;
        let want = tenant_ids(&tenant, first_day, tenant.config().last_day());
        for (t, table) in TABLES.iter().enumerate() {
            assert_eq!(
                target.ids(table),
                want[t],
                "{}: {table} is exactly the union of every writer's rows",
                target.name
            );
        }
        rt.block_on(sim.shutdown());
    }
}

/// SIGKILL at 50 instants spread over `ingest` and `sync` runs on each store, each followed by a
/// re-run of the same command: the lake is exact after every re-run. The kills prove they hit
/// writers mid-write: on every store, at least 10 of the 50 left the lake's lock behind (the
/// writer died holding the lake), and a finished re-run never leaves it. The counts go to the
/// `kills` figures.
#[test]
fn killed_writers_leave_a_lake_a_rerun_makes_exact_on_every_store() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut figures = Vec::new();
    for target in [
        Target::local(),
        Target::s3("killed"),
        Target::azure("killed"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (all_pages, tenant) = pages(dir.path(), 3);
        let sim = simulator(&rt, 3);
        let ingest_args: Vec<String> = [
            "ingest",
            all_pages.to_str().unwrap(),
            "--lake",
            &target.lake,
        ]
        .map(str::to_owned)
        .to_vec();
        let sync_args = sync_args(&sim, &target.lake, "2026-05-01", "2026-05-03");
        let want = tenant_ids(
            &tenant,
            tenant.config().first_day,
            tenant.config().last_day(),
        );
        let command = |args: &[String]| {
            let mut cmd = bin();
            cmd.args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            target.env(&mut cmd);
            graph_env(&mut cmd, &sim);
            cmd
        };
        // How long a whole run takes here: the kills are spread over it.
        let timed = |args: &[String]| {
            let started = Instant::now();
            let out = command(args).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            started.elapsed()
        };
        // The shorter of two runs, so that the instants fall within a run rather than past it.
        let spans = [
            timed(&ingest_args).min(timed(&ingest_args)),
            timed(&sync_args).min(timed(&sync_args)),
        ];
        // A fixed sequence of instants (a small linear congruential generator): the same run
        // every time, spread over each command's whole length.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut killed_mid_run = 0;
        // Kills that left the lock behind: the writer was in the middle of writing.
        let mut killed_holding_the_lake = 0;
        assert!(
            !target.lock_left(&rt),
            "{}: a finished run left its lock",
            target.name
        );
        for i in 0..50 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let which = i % 2;
            let args = if which == 0 { &ingest_args } else { &sync_args };
            let at = spans[which].mul_f64((seed >> 11) as f64 / (1u64 << 53) as f64);
            let mut child = command(args).spawn().unwrap();
            std::thread::sleep(at);
            if child.try_wait().unwrap().is_none() {
                killed_mid_run += 1;
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            // Nothing the killed writer did can change now (a request it had sent may still
            // be answered: it was writing then too).
            if target.lock_left(&rt) {
                killed_holding_the_lake += 1;
            }
            let out = command(args).output().unwrap();
            assert!(
                out.status.success(),
                "{}: the re-run after kill {i} failed: {}",
                target.name,
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !target.lock_left(&rt),
                "{}: the re-run after kill {i} left the lock",
                target.name
            );
            for (t, table) in TABLES.iter().enumerate() {
                assert_eq!(
                    target.ids(table),
                    want[t],
                    "{}: {table} after kill {i} and a re-run",
                    target.name
                );
            }
        }
        figures.push(format!(
            "{} {killed_mid_run} of 50 hit a running writer ({killed_holding_the_lake} holding the lake's lock)",
            target.name
        ));
        assert!(
            killed_holding_the_lake >= 10,
            "{}: only {killed_holding_the_lake} kills hit a writer holding the lake",
            target.name
        );
        assert!(
            killed_mid_run >= 25,
            "{}: only {killed_mid_run} kills hit a running writer",
            target.name
        );
        rt.block_on(sim.shutdown());
    }
    record_figures(
        "kills",
        &format!(
            "kills: {}; every lake exact after a rerun",
            figures.join("; ")
        ),
    );
}

/// The order of a local commit, seen by the kernel (`strace`): a day's file is fsynced, renamed
/// into place, its folder fsynced, and only then is the day recorded in the sync state.
#[test]
fn a_local_commit_fsyncs_the_file_renames_fsyncs_the_folder_then_records_the_day() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = simulator(&rt, 3);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let (pages_dir, _) = pages(dir.path(), 2);
    for (what, args) in [
        (
            "sync",
            sync_args(&sim, lake.to_str().unwrap(), "2026-05-01", "2026-05-03"),
        ),
        (
            "ingest",
            [
                "ingest",
                pages_dir.to_str().unwrap(),
                "--lake",
                lake.to_str().unwrap(),
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
    ] {
        let trace = dir.path().join(format!("{what}.trace"));
        traced(&trace, &args, &sim);
        let events = read_trace(&trace);
        let days: Vec<(usize, String, String)> = events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Event::Rename { from, to, .. } if to.ends_with("/data.parquet") => {
                    Some((i, from.clone(), to.clone()))
                }
                _ => None,
            })
            .collect();
        let expected_days = if what == "sync" { 6 } else { 4 };
        assert_eq!(
            days.len(),
            expected_days,
            "{what}: a rename per day: {events:?}"
        );
        for (i, from, to) in &days {
            let folder = Path::new(to).parent().unwrap().to_str().unwrap().to_owned();
            assert!(
                events[..*i]
                    .iter()
                    .any(|e| matches!(e, Event::Fsync(p) if p == from)),
                "{what}: `{from}` is fsynced before it is renamed to `{to}`"
            );
            let folder_synced = events[*i..]
                .iter()
                .position(|e| matches!(e, Event::Fsync(p) if *p == folder))
                .map(|k| k + i);
            let Some(folder_synced) = folder_synced else {
                panic!("{what}: `{folder}` is never fsynced after the rename");
            };
            if what == "sync" {
                // The state that first records the day is written after the day's folder is on
                // disk. (Other days' jobs save the state meanwhile: only the content says which
                // state records this day.)
                let (table, day) = table_and_day(to);
                let recorded = events.iter().position(|e| {
                    matches!(e, Event::Rename { to, written, .. }
                        if to.ends_with("/sync-state.json") && records(written, &table, &day))
                });
                let Some(recorded) = recorded else {
                    panic!("{what}: no state records `{to}`: {events:?}");
                };
                assert!(
                    folder_synced < recorded,
                    "{what}: `{to}`: the state was written before its folder was fsynced"
                );
            }
        }
    }
    rt.block_on(sim.shutdown());
}

/// Runs `pstn-lake ARGS…` under `strace` (fsyncs, renames and writes, with file paths), writing
/// the trace to `trace`; the run must succeed.
fn traced(trace: &Path, args: &[String], sim: &RunningSim) {
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-y",
        "-qq",
        "-e",
        "trace=fsync,fdatasync,rename,renameat,renameat2,write",
        "-s",
        "1000000",
        "-o",
    ])
    .arg(trace)
    .arg(env!("CARGO_BIN_EXE_pstn-lake"))
    .args(args)
    .env_remove("PSTN_LAKE")
    .stdin(Stdio::null());
    graph_env(&mut cmd, sim);
    let out = cmd.output().expect("strace runs (apt-get install strace)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// On a local Delta lake, delta-rs writes its commits through `object_store`, which does not
/// fsync: pstn-lake fsyncs each commit file and `_delta_log/` before the sync state records the
/// day the commit holds (seen by the kernel, `strace`). Every state written records at most as
/// many days of a table as the table has commits on disk (its creation, then one per day).
#[test]
fn a_local_delta_commit_is_on_disk_before_the_state_records_its_day() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = simulator(&rt, 3);
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let mut args = sync_args(&sim, lake.to_str().unwrap(), "2026-05-01", "2026-05-03");
    args.extend(["--table-format".to_owned(), "delta".to_owned()]);
    let trace = dir.path().join("delta.trace");
    traced(&trace, &args, &sim);
    let events = read_trace(&trace);
    let lake = std::fs::canonicalize(&lake).unwrap();
    let mut states = 0;
    for (i, event) in events.iter().enumerate() {
        let Event::Rename { to, written, .. } = event else {
            continue;
        };
        if !to.ends_with("/sync-state.json") {
            continue;
        }
        states += 1;
        for table in ["pstn_calls", "direct_routing_calls"] {
            let recorded = complete_days(written, table);
            if recorded == 0 {
                continue;
            }
            let log = format!("{}/{table}/_delta_log", lake.display());
            let commits: Vec<(usize, &String)> = events[..i]
                .iter()
                .enumerate()
                .filter_map(|(k, e)| match e {
                    Event::Fsync(p)
                        if p.starts_with(&format!("{log}/")) && p.ends_with(".json") =>
                    {
                        Some((k, p))
                    }
                    _ => None,
                })
                .collect();
            // A commit is on disk once its file and then `_delta_log/` were fsynced. Another
            // day's commit may be in flight when the state is written (days commit in parallel):
            // it need not be on disk yet, as the state does not record its day.
            let durable: BTreeSet<&String> = commits
                .iter()
                .filter(|(k, _)| {
                    events[*k..i]
                        .iter()
                        .any(|e| matches!(e, Event::Fsync(p) if *p == log))
                })
                .map(|(_, p)| *p)
                .collect();
            assert!(
                durable.len() > recorded,
                "a state records {recorded} days of {table} with only {} commits on disk \
                 (file, then `_delta_log/` fsynced): {durable:?} of {commits:?}",
                durable.len()
            );
        }
    }
    assert!(states >= 3, "the sync recorded its days: {events:?}");
    rt.block_on(sim.shutdown());
}

#[derive(Debug)]
enum Event {
    Fsync(String),
    /// `written`: what the process wrote to `from` before renaming it (as `strace` quotes it).
    Rename {
        from: String,
        to: String,
        written: String,
    },
}

/// The table and day of a day's file path (`…/<table>/call_date=<day>/data.parquet`).
fn table_and_day(path: &str) -> (String, String) {
    let mut parts = path.rsplit('/').skip(1);
    let day = parts
        .next()
        .unwrap()
        .trim_start_matches("call_date=")
        .to_owned();
    (parts.next().unwrap().to_owned(), day)
}

/// A sync state as `strace` quoted its bytes.
fn state_of(quoted: &str) -> serde_json::Value {
    let json = quoted.replace("\\n", "\n").replace("\\\"", "\"");
    serde_json::from_str(&json).unwrap_or_else(|_| panic!("a sync state that is not JSON: {json}"))
}

/// How many days of `table` a sync state (as `strace` quoted it) records complete.
fn complete_days(quoted: &str, table: &str) -> usize {
    state_of(quoted)["tables"][table]["complete_days"]
        .as_array()
        .map_or(0, Vec::len)
}

/// Whether a sync state (as `strace` quoted it) records `day` of `table` complete.
fn records(quoted: &str, table: &str, day: &str) -> bool {
    state_of(quoted)["tables"][table]["complete_days"]
        .as_array()
        .is_some_and(|days| days.iter().any(|d| d == day))
}

/// The fsyncs (by file, from `-y`) and renames of a trace, in order.
fn read_trace(trace: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(trace).unwrap();
    let quoted = |s: &str| -> Vec<String> {
        s.split('"')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, p)| p.to_owned())
            .collect()
    };
    let mut events = Vec::new();
    // A call another thread interrupts is split in two lines, by thread id:
    // `12 fsync(7</…> <unfinished ...>` and later `12 <... fsync resumed>) = 0`.
    let mut unfinished: std::collections::HashMap<&str, String> = Default::default();
    let mut written: std::collections::HashMap<String, String> = Default::default();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(start) = rest.strip_suffix("<unfinished ...>") {
            unfinished.insert(pid, start.trim_end().to_owned());
            continue;
        }
        let call = match rest.strip_prefix("<... ") {
            Some(resumed) => {
                let Some(start) = unfinished.remove(pid) else {
                    continue;
                };
                let tail = resumed.split_once("resumed>").map_or("", |(_, t)| t);
                format!("{start}{tail}")
            }
            None => rest.to_owned(),
        };
        let call = call.as_str();
        if let Some(args) = call.strip_prefix("write(") {
            // `write(5</path>, "bytes", 42) = 42`
            if let (Some(a), Some((fd, _)), Some(b)) =
                (args.find('<'), args.split_once(">, \""), args.rfind("\", "))
            {
                let bytes = &args[fd.len() + 4..b];
                written
                    .entry(fd[a + 1..].to_owned())
                    .or_default()
                    .push_str(bytes);
            }
            continue;
        }
        if !call.ends_with("= 0") {
            continue;
        }
        if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
            if let (Some(a), Some(b)) = (call.find('<'), call.find(">)")) {
                events.push(Event::Fsync(call[a + 1..b].to_owned()));
            }
        } else if call.starts_with("rename") {
            let paths = quoted(call);
            if let [from, to, ..] = paths.as_slice() {
                // renameat's paths are relative to a folder fd; pstn-lake passes absolute paths.
                events.push(Event::Rename {
                    written: written.remove(from).unwrap_or_default(),
                    from: from.clone(),
                    to: to.clone(),
                });
            }
        }
    }
    events
}

/// A synced day of more rows than a part holds is written in parts and becomes one file of one
/// row group: DuckDB and pyarrow (independent readers) read it whole, in order, with the same rows
/// and money as the tenant served and pstn-lake answers.
#[test]
fn a_day_synced_in_parts_is_one_file_that_other_readers_read_whole() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let calls = pstn_lake_sink::PART_ROWS + pstn_lake_sink::PART_ROWS / 2;
    let first = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let sim = rt
        .block_on(pstn_lake_graph_sim::start(
            SimConfig::default()
                .with_tenant(TenantConfig::new(11, first, 1, calls as u32))
                .with_page_size(1000),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let mut args = sync_args(&sim, lake.to_str().unwrap(), "2026-05-01", "2026-05-01");
    args.extend(["--tables".to_owned(), "pstn_calls".to_owned()]);
    let mut cmd = bin();
    cmd.args(&args);
    graph_env(&mut cmd, &sim);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: BTreeSet<String> = tenant_ids(sim.tenant(), first, first)[0].clone();
    assert!(want.len() > pstn_lake_sink::PART_ROWS, "{}", want.len());

    let file = lake.join("pstn_calls/call_date=2026-05-01/data.parquet");
    let script = r#"
import sys
import duckdb, pyarrow.parquet as pq
path = sys.argv[1]
meta = pq.ParquetFile(path).metadata
table = pq.read_table(path, columns=["id", "start_date_time"])
starts = table.column("start_date_time").to_pylist()
print(meta.num_row_groups)
print(meta.num_rows)
print(int(all(a <= b for a, b in zip(starts, starts[1:]))))
count, ids, charge = duckdb.sql(
    f"SELECT count(*), count(DISTINCT id), CAST(sum(charge) AS VARCHAR) FROM read_parquet('{path}')"
).fetchall()[0]
print(count, ids, charge)
for i in sorted(table.column("id").to_pylist()):
    print(i)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB and pyarrow are needed for this test (scripts/test installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let groups: usize = lines.next().unwrap().parse().unwrap();
    let rows: usize = lines.next().unwrap().parse().unwrap();
    assert_eq!(groups, 1, "the parts' rows are one row group");
    assert_eq!(rows, want.len());
    assert_eq!(lines.next(), Some("1"), "rows in start time order");
    let ours = sql_rows(
        &lake,
        "SELECT count(*), count(DISTINCT id), CAST(sum(charge) AS VARCHAR) FROM pstn_calls",
    );
    let duck: Vec<String> = lines
        .next()
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect();
    assert_eq!(
        duck[..2],
        ours[0][..2],
        "DuckDB: {duck:?}, pstn-lake: {ours:?}"
    );
    // Money compared as decimals written out (DuckDB prints 12.500000, pstn-lake 12.5).
    let trim = |s: &str| match s.contains('.') {
        true => s.trim_end_matches('0').trim_end_matches('.').to_owned(),
        false => s.to_owned(),
    };
    assert_eq!(trim(&duck[2]), trim(&ours[0][2]));
    let ids: BTreeSet<String> = lines.map(str::to_owned).collect();
    assert_eq!(ids, want, "pyarrow reads exactly the served rows");
    rt.block_on(sim.shutdown());
}
