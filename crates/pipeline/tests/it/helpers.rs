//! What the pipeline tests share: the simulator, its credentials, the expected rows.

use std::sync::Mutex;

use chrono::NaiveDate;
use pstn_lake_graph_sim::{Function, RunningSim, SimConfig, TenantConfig};
use pstn_lake_pipeline::{Credentials, DaySynced, GraphConfig, Lake, Progress, Table};

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A simulated tenant of `days` days from `first_day`, `calls_per_day` calls a day per table, in
/// pages of 250 rows.
pub fn config(first_day: &str, days: u32, calls_per_day: u32) -> SimConfig {
    SimConfig::default()
        .with_tenant(TenantConfig::new(7, day(first_day), days, calls_per_day))
        .with_page_size(250)
}

pub async fn start(config: SimConfig) -> RunningSim {
    pstn_lake_graph_sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Where the simulator serves Graph and its login.
pub fn graph(sim: &RunningSim) -> GraphConfig {
    GraphConfig::new(
        sim.graph_url().parse().unwrap(),
        sim.login_url().parse().unwrap(),
    )
}

/// The simulator's application credentials.
pub fn credentials(sim: &RunningSim) -> Credentials {
    let c = sim.config();
    Credentials::with_secret(&c.tenant_id, &c.client_id, &c.client_secret)
}

/// A lake in a new temporary folder.
pub fn lake() -> (tempfile::TempDir, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    (dir, lake)
}

/// The simulator's function for `table`.
pub fn function(table: Table) -> Function {
    match table {
        Table::PstnCalls => Function::Pstn,
        Table::DirectRoutingCalls => Function::DirectRouting,
        Table::SmsLogs => Function::Sms,
        Table::PstnBlockedUsers => Function::BlockedUsers,
        Table::PstnDialoutReport => Function::DialoutReport,
        Table::Users => panic!("the directory is no callRecords function"),
    }
}

/// How many rows of `table` the simulator holds for `from..=to`.
pub fn expected_rows(sim: &RunningSim, table: Table, from: &str, to: &str) -> u64 {
    sim.tenant()
        .expected(function(table), day(from), day(to))
        .len() as u64
}

/// A progress that remembers the days a sync reported done.
#[derive(Default)]
pub struct Recorder {
    pub days: Mutex<Vec<(Table, NaiveDate, u64)>>,
}

impl Progress for Recorder {
    fn day_synced(&self, done: &DaySynced) {
        self.days
            .lock()
            .unwrap()
            .push((done.table, done.day, done.rows));
    }
}

/// Prints a test's figures and keeps them in `<target>/tmp/reliability/NAME.txt`, where
/// `scripts/test` shows them after the run (a passing test's output is not shown).
pub fn record_figures(name: &str, figures: &str) {
    eprintln!("{figures}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.txt")), format!("{figures}\n")).unwrap();
}
