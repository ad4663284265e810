//! The lake on object storage: a real S3-compatible server (moto) and a real Azure emulator
//! (Azurite), started on loopback by the tests. A missing server is a failure, not a skip:
//! `scripts/test` installs both.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pstn_lake_graph_sim::{ApiVersion, Function, SimConfig, Tenant, TenantConfig};

use crate::helpers::*;

/// A server process, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(program: &str, args: &[String], install: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port: u16 = args.iter().find_map(|a| a.parse().ok()).unwrap();
    let child = Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `{program}` ({e}): {install} (scripts/test installs it)")
        });
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "`{program}` did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        child,
        port,
        _dir: dir,
    }
}

/// moto's S3 server with one bucket, `lake`.
pub(crate) fn moto() -> Server {
    let port = free_port();
    let server = spawn(
        "moto_server",
        &[
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ],
        "pip install 'moto[server]'",
    );
    let status = Command::new("curl")
        .args(["-sf", "-X", "PUT", &format!("http://127.0.0.1:{port}/lake")])
        .status()
        .expect("curl runs");
    assert!(status.success(), "creating the bucket failed");
    server
}

pub(crate) const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite's blob service with one container, `lake`.
pub(crate) fn azurite() -> Server {
    let port = free_port();
    let server = spawn(
        "azurite-blob",
        &[
            "--blobHost".into(),
            "127.0.0.1".into(),
            "--blobPort".into(),
            port.to_string(),
            "--location".into(),
            ".".into(),
            "--silent".into(),
            "--skipApiVersionCheck".into(),
        ],
        "npm install -g azurite",
    );
    let script = format!(
        "from azure.storage.blob import BlobServiceClient\n\
         cs = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;'\n\
         BlobServiceClient.from_connection_string(cs).create_container('lake')\n"
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "creating the container failed (pip install azure-storage-blob): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
}

pub(crate) fn s3_env(cmd: &mut Command, s3: &Server) {
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", s3.port))
        .env("AWS_ALLOW_HTTP", "true");
}

pub(crate) fn az_env(cmd: &mut Command, az: &Server) {
    cmd.env("AZURE_STORAGE_USE_EMULATOR", "true").env(
        "AZURITE_BLOB_STORAGE_URL",
        format!("http://127.0.0.1:{}", az.port),
    );
}

pub(crate) fn run_env(args: &[&str], env: &dyn Fn(&mut Command)) -> Run {
    let mut cmd = bin();
    cmd.args(args).stdin(Stdio::null());
    env(&mut cmd);
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What `pstn-lake` did on the network in one run, as the kernel saw it (`strace`).
struct Traffic {
    /// Connections it opened (or tried to) to the store's port.
    connects: usize,
    /// The request lines of the HTTP requests it sent (`GET /bucket?…`).
    requests: Vec<String>,
}

/// Runs `pstn-lake ARGS…` under `strace`, counting its connections to `port` and its requests.
fn run_traced(args: &[&str], env: &dyn Fn(&mut Command), port: u16) -> (Run, Traffic) {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=connect,sendto,write,writev",
        "-s",
        "200",
        "-o",
    ])
    .arg(&trace)
    .arg(env!("CARGO_BIN_EXE_pstn-lake"))
    .args(args)
    .env_remove("PSTN_LAKE")
    .env_remove("RUST_LOG")
    .stdin(Stdio::null());
    env(&mut cmd);
    let out = cmd.output().expect("strace runs (apt-get install strace)");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let text = std::fs::read_to_string(&trace).unwrap();
    let port = format!("htons({port})");
    let connects = text
        .lines()
        .filter(|l| l.contains("connect(") && l.contains(&port))
        .count();
    // A request's first write starts with its request line: `"GET /path HTTP/1.1\r\n…`.
    let requests = text
        .lines()
        .filter_map(|l| {
            let (_, bytes) = l.split_once('"')?;
            let line = bytes.split("\\r\\n").next()?;
            ["GET /", "HEAD /", "PUT /", "POST /", "DELETE /"]
                .iter()
                .any(|m| line.starts_with(m))
                .then(|| line.to_owned())
        })
        .collect();
    (run, Traffic { connects, requests })
}

/// The pages of a small simulated tenant, written as files, and the tenant.
pub(crate) fn pages(dir: &Path, days: u32) -> (PathBuf, Tenant) {
    let first = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let tenant = Tenant::new(TenantConfig::new(3, first, days, 1200));
    let out = dir.join("pages");
    std::fs::create_dir_all(&out).unwrap();
    let mut n = 0;
    for function in [Function::Pstn, Function::DirectRouting] {
        tenant.write_pages(
            function,
            ApiVersion::Beta,
            first,
            tenant.config().last_day(),
            500,
            |page| {
                n += 1;
                std::fs::write(out.join(format!("{n:04}.json")), page).unwrap();
            },
        );
    }
    (out, tenant)
}

pub(crate) fn expected_ids(tenant: &Tenant, function: Function) -> Vec<Vec<String>> {
    let c = tenant.config();
    let mut ids: Vec<String> = tenant
        .expected(function, c.first_day, c.last_day())
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids.into_iter().map(|id| vec![id]).collect()
}

pub(crate) fn lake_ids(lake: &str, table: &str, env: &dyn Fn(&mut Command)) -> Vec<Vec<String>> {
    let out = run_env(
        &[
            "sql",
            &format!("SELECT id FROM {table} ORDER BY id"),
            "--format",
            "csv",
            "--lake",
            lake,
        ],
        env,
    )
    .ok();
    out.stdout
        .lines()
        .skip(1)
        .map(|l| vec![l.to_owned()])
        .collect()
}

/// The lake holds exactly the tenant's rows, in both tables.
#[track_caller]
pub(crate) fn assert_exact(lake: &str, tenant: &Tenant, env: &dyn Fn(&mut Command)) {
    assert_eq!(
        lake_ids(lake, "pstn_calls", env),
        expected_ids(tenant, Function::Pstn),
        "{lake}: PSTN ids"
    );
    assert_eq!(
        lake_ids(lake, "direct_routing_calls", env),
        expected_ids(tenant, Function::DirectRouting),
        "{lake}: Direct Routing ids"
    );
}

/// Every object under the bucket's `teams/` prefix, read with pyarrow (an independent reader):
/// (key list, pstn rows, distinct pstn ids, exact sum of charge).
fn pyarrow_view(s3: &Server) -> (Vec<String>, u64, u64, String) {
    let script = format!(
        r#"
import pyarrow.fs as fs, pyarrow.dataset as ds, pyarrow.compute as pc, pyarrow.parquet as pq
s3 = fs.S3FileSystem(access_key='test', secret_key='test', region='us-east-1', endpoint_override='http://127.0.0.1:{port}', scheme='http')
keys = sorted(i.path for i in s3.get_file_info(fs.FileSelector('lake/teams', recursive=True, allow_not_found=True)) if i.type == fs.FileType.File)
for k in keys:
    if k.endswith('.parquet'):
        pq.read_table(k, filesystem=s3)  # every object is a readable Parquet file
print('|'.join(keys))
if any('/pstn_calls/' in k for k in keys):
    t = ds.dataset('lake/teams/pstn_calls', filesystem=s3, format='parquet', partitioning='hive').to_table()
    print(t.num_rows, len(pc.unique(t['id'])), pc.sum(t['charge']).as_py())
else:
    print(0, 0, 0)
"#,
        port = s3.port
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow could not read the lake: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let keys = lines
        .next()
        .unwrap()
        .split('|')
        .map(str::to_owned)
        .collect();
    let nums: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    (
        keys,
        nums[0].parse().unwrap(),
        nums[1].parse().unwrap(),
        nums[2].to_owned(),
    )
}

#[test]
fn s3_lake_keeps_the_contract_and_reads_the_same_in_pyarrow() {
    let s3 = moto();
    let env = |c: &mut Command| s3_env(c, &s3);
    let dir = tempfile::tempdir().unwrap();
    let (pages, tenant) = pages(dir.path(), 3);
    let lake = "s3://lake/teams";
    for _ in 0..2 {
        run_env(&["ingest", pages.to_str().unwrap(), "--lake", lake], &env).ok();
    }
    assert_exact(lake, &tenant, &env);

    let (keys, rows, distinct, charge) = pyarrow_view(&s3);
    let want: Vec<String> = (1..=3)
        .flat_map(|d| {
            ["direct_routing_calls", "pstn_calls"]
                .map(|t| format!("lake/teams/{t}/call_date=2026-05-0{d}/data.parquet"))
        })
        .collect();
    let mut want = want;
    want.sort();
    assert_eq!(
        keys, want,
        "one object per day, no staging or lock objects left"
    );
    assert_eq!((rows, distinct), (3600, 3600));
    let micros: i128 = tenant
        .expected(
            Function::Pstn,
            tenant.config().first_day,
            tenant.config().last_day(),
        )
        .iter()
        .filter_map(|r| r.charge_micros)
        .sum();
    assert_eq!(
        charge,
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000),
        "exact sum in pyarrow"
    );
    let report = run_env(
        &[
            "report",
            "charges-by-country",
            "--format",
            "csv",
            "--lake",
            lake,
        ],
        &env,
    )
    .ok();
    let local = dir.path().join("local");
    ingest(&pages, &local);
    let local_report = run(&[
        "report",
        "charges-by-country",
        "--format",
        "csv",
        "--lake",
        local.to_str().unwrap(),
    ])
    .ok();
    let schema = run_env(
        &["schema", "pstn_calls", "--format", "csv", "--lake", lake],
        &env,
    )
    .ok();
    assert!(
        schema.stdout.contains("charge,\"Decimal128(18, 6)\",YES"),
        "{}",
        schema.stdout
    );
    assert_eq!(
        report.stdout, local_report.stdout,
        "the S3 lake reports like the local one"
    );

    // Retention: the first day's objects go, the others stay (a flat tenant: equal days).
    run_env(&["purge", "--before", "2026-05-02", "--lake", lake], &env).ok();
    let (keys, rows, distinct, _) = pyarrow_view(&s3);
    let want: Vec<&String> = want
        .iter()
        .filter(|k| !k.contains("call_date=2026-05-01"))
        .collect();
    assert_eq!(keys.iter().collect::<Vec<_>>(), want);
    assert_eq!((rows, distinct), (2400, 2400));
}

#[test]
fn a_second_writer_on_the_same_lake_is_refused_while_the_first_runs() {
    let s3 = moto();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let sim = rt
        .block_on(pstn_lake_graph_sim::start(
            SimConfig::default()
                .with_tenant(TenantConfig::new(3, first, 3, 600))
                .with_page_size(100)
                .with_latency(Duration::from_millis(100)),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let env = |c: &mut Command| {
        s3_env(c, &s3);
        c.env("AZURE_TENANT_ID", &sim.config().tenant_id)
            .env("AZURE_CLIENT_ID", &sim.config().client_id)
            .env("AZURE_CLIENT_SECRET", &sim.config().client_secret);
    };
    let lake = "s3://lake/locked";
    let args = [
        "sync",
        "--graph-url",
        &sim.graph_url(),
        "--login-url",
        &sim.login_url(),
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-03",
        "--concurrency",
        "1",
        "--lake",
        lake,
    ];
    let mut cmd = bin();
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    env(&mut cmd);
    let child = cmd.spawn().unwrap();
    // Wait until the first sync holds the lock.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listing = Command::new("curl")
            .args([
                "-sf",
                &format!(
                    "http://127.0.0.1:{}/lake?list-type=2&prefix=locked/_pstn_lake/lock.json",
                    s3.port
                ),
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&listing.stdout)
            .contains("<Key>locked/_pstn_lake/lock.json</Key>")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first sync never took the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = run_env(&args, &env).fails();
    assert!(
        second.stderr.contains("another pstn-lake (sync on"),
        "{}",
        second.stderr
    );
    let ingest = run_env(
        &["ingest", samples().to_str().unwrap(), "--lake", lake],
        &env,
    )
    .fails();
    assert!(
        ingest.stderr.contains("is writing to this lake"),
        "{}",
        ingest.stderr
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the first sync failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Released: the next writer goes ahead.
    run_env(
        &["ingest", samples().to_str().unwrap(), "--lake", lake],
        &env,
    )
    .ok();
    rt.block_on(sim.shutdown());
}

#[test]
fn azure_lake_through_azurite() {
    let az = azurite();
    let env = |c: &mut Command| az_env(c, &az);
    let dir = tempfile::tempdir().unwrap();
    let (pages, tenant) = pages(dir.path(), 2);
    let lake = "az://lake/teams";
    for _ in 0..2 {
        run_env(&["ingest", pages.to_str().unwrap(), "--lake", lake], &env).ok();
    }
    assert_exact(lake, &tenant, &env);
    let report = run_env(
        &[
            "report",
            "charges-by-country",
            "--format",
            "csv",
            "--lake",
            lake,
        ],
        &env,
    )
    .ok();
    assert!(report.stdout.lines().count() > 3, "{}", report.stdout);
    // A container that does not exist: one clear message, at once. "At once" is one request:
    // the store's answer (404) is final, not retried (counted, not timed: a loaded machine
    // takes its time over even one request).
    let (out, traffic) = run_traced(
        &[
            "report",
            "charges-by-country",
            "--lake",
            "az://missing/teams",
        ],
        &env,
        az.port,
    );
    let out = out.fails();
    assert_eq!(
        traffic.requests.len(),
        1,
        "one request, not retried: {:?}",
        traffic.requests
    );
    assert!(
        traffic.requests[0].starts_with("GET /devstoreaccount1/missing?"),
        "{:?}",
        traffic.requests
    );
    assert!(
        out.stderr
            .contains("cannot reach the lake az://missing/teams"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ContainerNotFound"), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("ContainerNotFound").count(),
        1,
        "one message, not a stack: {}",
        out.stderr
    );
}

#[test]
fn an_unreachable_store_fails_fast_with_what_to_check() {
    let dead_port = free_port();
    let env = |c: &mut Command| {
        c.env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "y")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{dead_port}"))
            .env("AWS_ALLOW_HTTP", "true");
    };
    let (out, traffic) = run_traced(
        &[
            "ingest",
            samples().to_str().unwrap(),
            "--lake",
            "s3://lake/teams",
        ],
        &env,
        dead_port,
    );
    let out = out.fails();
    assert!(
        out.stderr.contains("cannot reach the lake s3://lake/teams"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("AWS_ENDPOINT_URL"), "{}", out.stderr);
    // Fast: the first attempt and at most 3 retries (object_store's back-off between them adds
    // well under a second), not the store client's default 10 retries over minutes. Counted, not
    // timed: a loaded machine can take seconds over a few refused connections.
    assert!(
        (1..=4).contains(&traffic.connects),
        "{} attempts to reach the store",
        traffic.connects
    );
    let out = run(&["report", "charges-by-country", "--lake", "ftp://host/lake"]).fails();
    assert!(
        out.stderr.contains("is not a lake location"),
        "{}",
        out.stderr
    );
}
