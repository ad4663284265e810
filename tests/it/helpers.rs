//! What the end-to-end tests share: running the binary, making pages, looking at the lake.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

pub const PSTN_CONTEXT: &str = "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)";

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "pstn-lake failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self) -> Self {
        assert_ne!(
            self.code, 0,
            "pstn-lake should have failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pstn-lake"));
    cmd.env_remove("PSTN_LAKE").env_remove("RUST_LOG");
    cmd
}

/// Runs `pstn-lake ARGS…`.
pub fn run(args: &[&str]) -> Run {
    run_with_env(args, &[])
}

/// Runs `pstn-lake ARGS…` with the variables `env` set.
pub fn run_with_env(args: &[&str], env: &[(&str, &Path)]) -> Run {
    finish(
        bin()
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs"),
    )
}

/// Runs `pstn-lake ARGS…` with `stdin` as standard input.
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    use std::io::Write;
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    finish(child.wait_with_output().unwrap())
}

/// Lands `inputs` (a page file or a folder of pages) into `lake` with `pstn-lake ingest`, which
/// must succeed.
#[track_caller]
pub fn ingest(inputs: &Path, lake: &Path) -> Run {
    run(&[
        "ingest",
        inputs.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok()
}

/// Lands `inputs` (page files or folders) into `lake` through the library, as `pstn-lake ingest`
/// does, and returns its report.
#[track_caller]
pub fn ingest_lib(inputs: &[&str], lake: &Path) -> pstn_lake_pipeline::IngestReport {
    let inputs: Vec<String> = inputs.iter().map(|s| (*s).to_owned()).collect();
    let inputs = pstn_lake_pipeline::Input::expand(&inputs).unwrap();
    let lake = pstn_lake_pipeline::Lake::open(lake.to_str().unwrap()).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(pstn_lake_pipeline::ingest(
            &lake,
            &inputs,
            &pstn_lake_pipeline::IngestOptions::default(),
            &pstn_lake_pipeline::NoProgress,
        ))
        .unwrap()
}

/// A lake in a fresh temporary folder holding `rows` (one PSTN page); returns the folder's guard
/// and the lake's path.
pub fn lake_with_rows(rows: &[Value]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let file = dir.path().join("page.json");
    std::fs::write(&file, pstn_page(rows)).unwrap();
    ingest(&file, &lake);
    (dir, lake)
}

/// Makes `lake` a lake without rows, as a sync of days without calls leaves it: a sync state and
/// no table.
pub fn lake_without_rows(lake: &Path) {
    std::fs::create_dir_all(lake.join("_pstn_lake")).unwrap();
    std::fs::write(
        lake.join("_pstn_lake/sync-state.json"),
        r#"{"version": 1, "tables": {"pstn_calls": {"complete_days": ["2026-11-01"], "last_commit": "2026-11-02T00:00:00Z"}}}"#,
    )
    .unwrap();
}

/// The repository's sample pages.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples")
}

/// A PSTN row: `(id, start, charge text, currency, country, duration)`.
pub fn pstn_row(
    id: &str,
    start: &str,
    charge: &str,
    currency: &str,
    country: &str,
    duration: i64,
) -> Value {
    json!({
        "id": id,
        "callId": format!("call-{id}"),
        "userPrincipalName": format!("{id}@contoso.com"),
        "startDateTime": start,
        "endDateTime": start,
        "duration": duration,
        "charge": serde_json::from_str::<Value>(charge).unwrap(),
        "connectionCharge": 0.01,
        "currency": currency,
        "callType": "user_out",
        "usageCountryCode": country,
    })
}

/// A PSTN page holding `rows`.
pub fn pstn_page(rows: &[Value]) -> String {
    json!({"@odata.context": PSTN_CONTEXT, "@odata.count": rows.len(), "value": rows}).to_string()
}

/// Every file below `dir` with its contents, to prove a failed command changed nothing.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// `pstn-lake sql QUERY --format csv`, as rows of fields (header dropped).
pub fn sql_rows(lake: &Path, query: &str) -> Vec<Vec<String>> {
    let out = run(&[
        "sql",
        query,
        "--format",
        "csv",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    out.stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// Prints a test's figures and keeps them in `<target>/tmp/reliability/NAME.txt`, where
/// `scripts/test` shows them after the run (a passing test's output is not shown).
pub fn record_figures(name: &str, figures: &str) {
    eprintln!("{figures}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.txt")), format!("{figures}\n")).unwrap();
}

/// The names of the catalog's reports (`pstn-lake report --list`).
pub fn report_names() -> Vec<String> {
    run(&["report", "--list"])
        .ok()
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}
