//! Which (table, day) pairs a sync fetches, from its options and the lake's sync state.

use chrono::{Duration, NaiveDate};
use pstn_lake_fetch::Table;
use pstn_lake_sink::SyncState;

use crate::SyncOptions;

/// Days a first sync without a `from` day covers.
pub const FIRST_SYNC_DAYS: i64 = 30;

/// What a sync fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The (table, day) pairs to fetch: oldest days first, tables interleaved, so a stopped
    /// backfill leaves a contiguous prefix.
    pub jobs: Vec<(Table, NaiveDate)>,
    /// Days of the range left out because an earlier sync completed them.
    pub skipped: u64,
    /// The first UTC day not over when the run started: this day and later ones may be fetched
    /// (Graph serves what it has) but are never recorded complete, so a later run fetches them
    /// again.
    pub unfinished_from: NaiveDate,
    /// Tables synced for the first time without a `from` day, and the range chosen for them.
    pub first_syncs: Vec<FirstSync>,
    /// Snapshot tables ([`Table::is_snapshot`]) read once in the run, whatever the days: their
    /// snapshot is that of the run's day (`today`), written only when it changed.
    pub snapshots: Vec<Table>,
}

/// A table synced for the first time without a `from` day: the last [`FIRST_SYNC_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstSync {
    /// The table.
    pub table: Table,
    /// The first day fetched.
    pub from: NaiveDate,
    /// The last day fetched.
    pub to: NaiveDate,
}

impl std::fmt::Display for FirstSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: first sync of this lake and no --from given: fetching the last {FIRST_SYNC_DAYS} days, {} to {}",
            self.table, self.from, self.to
        )
    }
}

/// Decides which (table, day) pairs to fetch on `today` (UTC): from `from` (or where the state's
/// last complete day minus the lookback, or an earlier hole, says; on a first sync the last
/// [`FIRST_SYNC_DAYS`] days) to `to` (or today), leaving out days the state records complete
/// unless `refetch` or within the lookback.
pub fn plan(options: &SyncOptions, state: &SyncState, today: NaiveDate) -> Plan {
    let to = options.days.to.unwrap_or(today);
    let lookback = Duration::days(i64::from(options.lookback));
    let recent = today - lookback;
    let mut jobs = Vec::new();
    let mut skipped = 0;
    let mut first_syncs = Vec::new();
    let (snapshots, logs): (Vec<Table>, Vec<Table>) =
        options.days.tables.iter().partition(|t| t.is_snapshot());
    for table in logs {
        let from = match (options.days.from, state.last_complete(table.name())) {
            (Some(from), _) => from,
            // Continue from the last completed day minus the lookback, or from an earlier hole
            // that a failed run left behind.
            (None, Some(last)) => {
                let from = last - lookback;
                state
                    .first_gap(table.name())
                    .map_or(from, |gap| gap.min(from))
            }
            (None, None) => {
                let from = to - Duration::days(FIRST_SYNC_DAYS - 1);
                first_syncs.push(FirstSync { table, from, to });
                from
            }
        };
        for day in from.iter_days().take_while(|d| *d <= to) {
            if options.refetch || day >= recent || !state.is_complete(table.name(), day) {
                jobs.push((table, day));
            } else {
                skipped += 1;
            }
        }
    }
    jobs.sort_by_key(|&(t, d)| (d, t));
    Plan {
        jobs,
        skipped,
        unfinished_from: today,
        first_syncs,
        snapshots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Days;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const TODAY: &str = "2026-06-20";

    #[test]
    fn options_no_tenant_can_mean_are_refused_before_planning() {
        let check = |options: SyncOptions| options.check(day(TODAY));
        let days = |from: Option<&str>, to: Option<&str>| {
            SyncOptions::default().with_days(
                Days::default()
                    .with_from(from.map(day))
                    .with_to(to.map(day)),
            )
        };
        let refused = |r: crate::Result<()>, fragment: &str| match r {
            Err(crate::Error::OutOfRange(m)) => assert!(m.contains(fragment), "{m}"),
            other => panic!("{fragment}: {other:?}"),
        };
        refused(
            check(SyncOptions::default().with_lookback(u32::MAX)),
            "--lookback 4294967295 is more than 3650 days",
        );
        assert!(check(SyncOptions::default().with_lookback(3650)).is_ok());
        refused(check(days(Some("1969-12-31"), None)), "before 1970");
        refused(check(days(None, Some("0001-01-01"))), "before 1970");
        refused(
            check(days(None, Some("2027-06-22"))),
            "more than a year after today",
        );
        refused(
            check(days(Some("9999-12-30"), None)),
            "more than a year after today",
        );
        refused(
            check(days(Some("1970-01-01"), Some("2026-06-20"))),
            "20625 days, more than 3660",
        );
        assert!(check(days(Some("2016-06-23"), Some("2026-06-20"))).is_ok());
        assert!(check(days(Some("2026-06-01"), Some("2027-06-21"))).is_ok());
    }

    /// A state that records `days` complete for both tables.
    fn complete(days: &[&str]) -> SyncState {
        let mut state = SyncState::default();
        for table in Table::ALL {
            for d in days {
                state.mark_complete(table.name(), day(d));
            }
        }
        state
    }

    fn days_of(plan: &Plan, table: Table) -> Vec<NaiveDate> {
        plan.jobs
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, d)| *d)
            .collect()
    }

    #[test]
    fn a_first_sync_without_from_fetches_the_last_30_days_to_today() {
        let options = SyncOptions::default().with_days(Days::default().with_tables(Table::CALLS));
        let plan = plan(&options, &SyncState::default(), day(TODAY));
        let days = days_of(&plan, Table::PstnCalls);
        assert_eq!(days.len(), 30);
        assert_eq!(days.first(), Some(&day("2026-05-22")));
        assert_eq!(days.last(), Some(&day(TODAY)));
        assert_eq!(days_of(&plan, Table::DirectRoutingCalls), days);
        assert_eq!(plan.skipped, 0);
        assert_eq!(plan.unfinished_from, day(TODAY));
        assert_eq!(
            plan.first_syncs,
            vec![
                FirstSync {
                    table: Table::PstnCalls,
                    from: day("2026-05-22"),
                    to: day(TODAY)
                },
                FirstSync {
                    table: Table::DirectRoutingCalls,
                    from: day("2026-05-22"),
                    to: day(TODAY)
                }
            ]
        );
        assert_eq!(
            plan.first_syncs[0].to_string(),
            "pstn_calls: first sync of this lake and no --from given: fetching the last 30 days, 2026-05-22 to 2026-06-20"
        );
        // Oldest days first, tables interleaved.
        assert_eq!(
            plan.jobs[..2],
            [
                (Table::PstnCalls, day("2026-05-22")),
                (Table::DirectRoutingCalls, day("2026-05-22"))
            ]
        );
    }

    #[test]
    fn a_first_sync_ends_at_to_when_given() {
        let options = SyncOptions::default().with_days(
            Days::default()
                .with_tables([Table::PstnCalls])
                .with_to(Some(day("2026-06-10"))),
        );
        let plan = plan(&options, &SyncState::default(), day(TODAY));
        let days = days_of(&plan, Table::PstnCalls);
        assert_eq!(
            (days[0], days[29], days.len()),
            (day("2026-05-12"), day("2026-06-10"), 30)
        );
    }

    #[test]
    fn a_resumed_sync_skips_complete_days_before_the_lookback() {
        // Complete up to the 16th: continue from the 16th minus 3 days; the 13th to the 16th are
        // complete and skipped, the 17th on are within the 3 recent days and fetched again.
        let state = complete(&[
            "2026-06-10",
            "2026-06-11",
            "2026-06-12",
            "2026-06-13",
            "2026-06-14",
            "2026-06-15",
            "2026-06-16",
        ]);
        let options =
            SyncOptions::default().with_days(Days::default().with_tables([Table::PstnCalls]));
        let plan = plan(&options, &state, day(TODAY));
        assert_eq!(
            days_of(&plan, Table::PstnCalls),
            ["2026-06-17", "2026-06-18", "2026-06-19", "2026-06-20"].map(day)
        );
        assert_eq!(plan.skipped, 4, "the 13th to the 16th");
        assert!(plan.first_syncs.is_empty());
    }

    #[test]
    fn a_resumed_sync_goes_back_to_a_hole_a_failed_run_left() {
        let state = complete(&["2026-06-01", "2026-06-03", "2026-06-04", "2026-06-05"]);
        let options = SyncOptions::default()
            .with_days(
                Days::default()
                    .with_tables([Table::PstnCalls])
                    .with_to(Some(day("2026-06-05"))),
            )
            .with_lookback(0);
        let plan = plan(&options, &state, day(TODAY));
        assert_eq!(days_of(&plan, Table::PstnCalls), [day("2026-06-02")]);
        assert_eq!(plan.skipped, 3);
    }

    #[test]
    fn a_given_range_skips_complete_days_unless_refetch() {
        let state = complete(&["2026-06-01", "2026-06-02"]);
        let options = SyncOptions::default().with_days(
            Days::default()
                .with_tables(Table::CALLS)
                .with_from(Some(day("2026-06-01")))
                .with_to(Some(day("2026-06-03"))),
        );
        let resumed = plan(&options, &state, day(TODAY));
        assert_eq!(
            days_of(&resumed, Table::PstnCalls),
            [day("2026-06-03")],
            "complete days are skipped"
        );
        assert_eq!(resumed.skipped, 4, "two days of two tables");

        let refetch = plan(&options.clone().with_refetch(true), &state, day(TODAY));
        assert_eq!(
            days_of(&refetch, Table::PstnCalls),
            ["2026-06-01", "2026-06-02", "2026-06-03"].map(day)
        );
        assert_eq!(refetch.skipped, 0);
    }

    #[test]
    fn recent_days_are_fetched_again_even_when_complete() {
        let state = complete(&["2026-06-16", "2026-06-17", "2026-06-18", "2026-06-19"]);
        let options = SyncOptions::default().with_days(
            Days::default()
                .with_tables([Table::DirectRoutingCalls])
                .with_from(Some(day("2026-06-16")))
                .with_to(Some(day("2026-06-19"))),
        );
        let plan = plan(&options, &state, day(TODAY));
        // Lookback 3: the 17th to the 19th are recent.
        assert_eq!(
            days_of(&plan, Table::DirectRoutingCalls),
            ["2026-06-17", "2026-06-18", "2026-06-19"].map(day)
        );
        assert_eq!(plan.skipped, 1);
    }

    #[test]
    fn from_after_to_plans_nothing() {
        let options = SyncOptions::default().with_days(
            Days::default()
                .with_from(Some(day("2026-06-10")))
                .with_to(Some(day("2026-06-09"))),
        );
        let plan = plan(&options, &SyncState::default(), day(TODAY));
        assert!(plan.jobs.is_empty());
        assert_eq!(plan.skipped, 0);
    }
}
