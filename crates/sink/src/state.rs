//! Sync state: which days of which table are complete, kept at `<lake>/_pstn_lake/sync-state.json`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::json_state::{self, JsonState, ReadAt};
use crate::{Lake, Result};

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
    /// The version of the state object this state was read from (or last written as): a save
    /// replaces the object only if it is still that version.
    #[serde(skip)]
    read_at: ReadAt,
}

/// One table's finished days.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableState {
    /// Days whose every page was fetched and committed.
    pub complete_days: BTreeSet<NaiveDate>,
    /// When a day of this table was last committed.
    pub last_commit: Option<DateTime<Utc>>,
    /// Where the next incremental read of a snapshot table starts: the `@odata.deltaLink` Graph
    /// gave with the last snapshot landed (the user directory's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_link: Option<String>,
}

impl SyncState {
    /// Reads the lake's state (an empty state when there is none yet).
    pub async fn load(lake: &Lake) -> Result<SyncState> {
        json_state::load(lake).await
    }

    /// Writes the state in one step (readers see the old state or the new one), only if the
    /// object is still the version this state was read at — the same conditional, durable put as
    /// a day's (see `crate::day::put_day`). When another writer saved in between, its state is
    /// read and this one's completed days are added to it, then saved again: no writer's record
    /// of a finished day is lost.
    pub async fn save(&mut self, lake: &Lake) -> Result<()> {
        json_state::save(self, lake).await
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

    /// Records `table` as one the lake's syncs fetch, even before a day of it completes.
    pub fn enable(&mut self, table: &str) {
        self.tables.entry(table.to_owned()).or_default();
    }

    /// The delta link the last snapshot of `table` was landed with ([`TableState::delta_link`]).
    pub fn delta_link(&self, table: &str) -> Option<&str> {
        self.tables.get(table)?.delta_link.as_deref()
    }

    /// Records the delta link of the snapshot of `table` just landed (`None`: the next read of
    /// it starts over with a full listing).
    pub fn set_delta_link(&mut self, table: &str, link: Option<String>) {
        let t = self.tables.entry(table.to_owned()).or_default();
        t.delta_link = link;
        t.last_commit = Some(Utc::now());
    }

    /// Whether the state knows `table` (enabled, or a day of it completed).
    pub fn holds(&self, table: &str) -> bool {
        self.tables.contains_key(table)
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

impl JsonState for SyncState {
    const FILE: &'static str = STATE_FILE;
    const VERSION: u32 = VERSION;
    const START_OVER: &'static str =
        "move it aside to start over (every day will be fetched again)";

    fn empty() -> Self {
        SyncState::default()
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

    /// Adds this copy's completed days to theirs.
    fn merge(&mut self, theirs: Self) {
        for (name, table) in theirs.tables {
            let mine = self.tables.entry(name).or_default();
            mine.complete_days.extend(table.complete_days);
            mine.last_commit = mine.last_commit.max(table.last_commit);
            if mine.delta_link.is_none() {
                mine.delta_link = table.delta_link;
            }
        }
        if self.api.is_none() {
            self.api = theirs.api;
        }
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

    #[tokio::test]
    async fn days_marked_before_they_were_over_are_forgotten_and_the_api_is_kept() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let day = |d| NaiveDate::from_ymd_opt(2000, 1, d).unwrap();
        let mut state = SyncState::load(&lake).await.unwrap();
        assert!(state.is_empty());
        for d in 7..=12 {
            state.mark_complete("pstn_calls", day(d));
        }
        assert!(!state.is_empty(), "a table is recorded");
        // Marked now, so what is not over is what lies from `today` on.
        state.forget_unfinished(day(10));
        assert_eq!(state.last_complete("pstn_calls"), Some(day(9)));
        assert!(state.is_complete("pstn_calls", day(7)));

        let mut state = SyncState::load(&lake).await.unwrap();
        assert_eq!(state.api(), None);
        state.set_api("beta");
        assert!(!state.is_empty(), "an API version is recorded");
        state.save(&lake).await.unwrap();
        assert_eq!(SyncState::load(&lake).await.unwrap().api(), Some("beta"));
    }
}
