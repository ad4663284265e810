//! Sync state: which days of which table are complete, kept at `<lake>/_pstn_lake/sync-state.json`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use object_store::{ObjectStoreExt, PutPayload};

use crate::{Error, Lake, Result};

/// The state object's path under `<lake>/_pstn_lake/`.
const STATE_FILE: &str = "sync-state.json";
const VERSION: u32 = 1;

/// What earlier syncs finished.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncState {
    version: u32,
    tables: BTreeMap<String, TableState>,
    /// The Graph API version the lake's syncs land with (`v1.0` or `beta`), once one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api: Option<String>,
}

/// One table's finished days.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableState {
    /// Days whose every page was fetched and committed.
    pub complete_days: BTreeSet<NaiveDate>,
    /// When a day of this table was last committed.
    pub last_commit: Option<DateTime<Utc>>,
}

impl SyncState {
    /// Reads the lake's state (an empty state when there is none yet).
    pub async fn load(lake: &Lake) -> Result<SyncState> {
        let path = lake.state_path(STATE_FILE);
        let Some(bytes) = lake.get_optional(&path).await? else {
            return Ok(SyncState {
                version: VERSION,
                ..Default::default()
            });
        };
        let state: SyncState = serde_json::from_slice(&bytes).map_err(|e| Error::State {
            path: path.to_string(),
            reason: format!("{e}; move it aside to start over (every day will be fetched again)"),
        })?;
        if state.version != VERSION {
            return Err(Error::State {
                path: path.to_string(),
                reason: format!(
                    "version {} is not {VERSION}: it was written by another pstn-lake version",
                    state.version
                ),
            });
        }
        Ok(state)
    }

    /// Writes the state in one put (readers see the old state or the new one).
    pub async fn save(&self, lake: &Lake) -> Result<()> {
        let path = lake.state_path(STATE_FILE);
        let mut state = self.clone();
        state.version = VERSION;
        let json = serde_json::to_vec_pretty(&state).expect("the state serialises");
        lake.store()
            .put(&path, PutPayload::from(json))
            .await
            .map_err(|source| Error::Store {
                action: "writing",
                path: path.to_string(),
                source,
            })?;
        Ok(())
    }

    /// Whether `day` of `table` was completed by an earlier sync.
    pub fn is_complete(&self, table: &str, day: NaiveDate) -> bool {
        self.tables
            .get(table)
            .is_some_and(|t| t.complete_days.contains(&day))
    }

    /// Records that `day` of `table` is complete.
    pub fn mark_complete(&mut self, table: &str, day: NaiveDate) {
        let t = self.tables.entry(table.to_owned()).or_default();
        t.complete_days.insert(day);
        t.last_commit = Some(Utc::now());
    }

    /// The latest completed day of `table`.
    pub fn last_complete(&self, table: &str) -> Option<NaiveDate> {
        self.tables.get(table)?.complete_days.last().copied()
    }

    /// The earliest day missing between the first and the last completed day of `table` (a hole
    /// left by a run that failed part-way), if any.
    pub fn first_gap(&self, table: &str) -> Option<NaiveDate> {
        let days = &self.tables.get(table)?.complete_days;
        days.iter()
            .zip(days.iter().skip(1))
            .find(|(a, b)| a.succ_opt() != Some(**b))
            .and_then(|(a, _)| a.succ_opt())
    }

    /// Forgets days recorded complete before they were over: days from `today` on, and days on
    /// or after the date of their table's last commit (a sync that asked for future days). They
    /// are fetched again.
    pub fn forget_unfinished(&mut self, today: NaiveDate) {
        for t in self.tables.values_mut() {
            let over_before = t.last_commit.map_or(today, |c| c.date_naive().min(today));
            t.complete_days.retain(|d| *d < over_before);
        }
    }

    /// The Graph API version the lake's syncs land with, if one was recorded.
    pub fn api(&self) -> Option<&str> {
        self.api.as_deref()
    }

    /// Records the Graph API version the lake's syncs land with.
    pub fn set_api(&mut self, api: &str) {
        self.api = Some(api.to_owned());
    }

    /// Whether no sync recorded anything here (no table, no API version).
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.api.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn state_round_trips_outside_every_table() {
        let (dir, lake) = crate::test_util::temp_lake();
        let mut state = SyncState::load(&lake).await.unwrap();
        assert_eq!(state.last_complete("pstn_calls"), None);
        let d = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        state.mark_complete("pstn_calls", d);
        state.mark_complete("pstn_calls", d.pred_opt().unwrap());
        state.save(&lake).await.unwrap();
        let back = SyncState::load(&lake).await.unwrap();
        assert_eq!(back, state);
        assert!(back.is_complete("pstn_calls", d) && !back.is_complete("direct_routing_calls", d));
        assert_eq!(back.last_complete("pstn_calls"), Some(d));
        assert_eq!(back.first_gap("pstn_calls"), None);
        let mut holed = back.clone();
        holed.mark_complete("pstn_calls", d + chrono::Duration::days(3));
        holed.mark_complete("pstn_calls", d + chrono::Duration::days(5));
        assert_eq!(holed.first_gap("pstn_calls"), Some(d.succ_opt().unwrap()));
        assert!(dir.path().join("_pstn_lake/sync-state.json").is_file());
        std::fs::write(dir.path().join("_pstn_lake/sync-state.json"), "{oops").unwrap();
        let err = SyncState::load(&lake).await.unwrap_err();
        assert!(err.to_string().contains("move it aside"), "{err}");
    }
}
