//! What `pstn-lake run` has delivered, kept at `<lake>/_pstn_lake/run-log.json`: one entry per
//! report or alert, period and destination sent, so a run repeated the same day (cron twice, a
//! re-run after a failed step) sends nothing twice. An entry is recorded once its destination
//! accepted the message: a run killed between the two sends that one message again (at least
//! once, never lost).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::json_state::{self, JsonState, ReadAt};
use crate::{Lake, Result};

/// The deliveries of earlier runs, by key (the caller's: what, period and destination).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunLog {
    version: u32,
    /// When each key was delivered.
    sent: BTreeMap<String, DateTime<Utc>>,
    #[serde(skip)]
    read_at: ReadAt,
}

impl RunLog {
    /// Reads the lake's run log (empty when no run delivered anything yet).
    pub async fn load(lake: &Lake) -> Result<RunLog> {
        json_state::load(lake).await
    }

    /// When `key` was delivered, if it was.
    pub fn sent(&self, key: &str) -> Option<DateTime<Utc>> {
        self.sent.get(key).copied()
    }

    /// Every delivery recorded, by key.
    pub fn entries(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.sent.iter().map(|(k, t)| (k.as_str(), *t))
    }

    /// Records `key` as delivered now and saves the log in one conditional, durable step (the
    /// same put as a day's). When another process saved in between, its entries are kept.
    pub async fn record(&mut self, lake: &Lake, key: &str) -> Result<()> {
        self.sent.insert(key.to_owned(), Utc::now());
        json_state::save(self, lake).await
    }
}

impl JsonState for RunLog {
    const FILE: &'static str = "run-log.json";
    const VERSION: u32 = 1;
    const START_OVER: &'static str = "move it aside to start over (the reports and alerts of the \
        current periods will then be sent again)";

    fn empty() -> Self {
        RunLog::default()
    }

    fn version(&self) -> u32 {
        self.version
    }

    fn set_version(&mut self, version: u32) {
        self.version = version;
    }

    fn read_at(&mut self) -> &mut ReadAt {
        &mut self.read_at
    }

    /// Keeps every delivery either copy recorded.
    fn merge(&mut self, theirs: Self) {
        for (k, t) in theirs.sent {
            self.sent.entry(k).or_insert(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_record_survives_a_reload_and_a_concurrent_record_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let mut a = RunLog::load(&lake).await.unwrap();
        let mut b = RunLog::load(&lake).await.unwrap();
        assert!(a.sent("report/x/2026-11/finance").is_none());
        a.record(&lake, "report/x/2026-11/finance").await.unwrap();
        // b read before a saved: its save conflicts, reads a's log and keeps a's entry.
        b.record(&lake, "alert/y/2026-11-30/ops").await.unwrap();
        let now = RunLog::load(&lake).await.unwrap();
        let keys: Vec<&str> = now.entries().map(|(k, _)| k).collect();
        assert_eq!(keys, ["alert/y/2026-11-30/ops", "report/x/2026-11/finance"]);
        assert!(now.sent("report/x/2026-11/finance").is_some());
    }
}
