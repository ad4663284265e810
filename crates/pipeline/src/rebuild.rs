//! Rebuild: land the tables again from the raw archive a sync kept, without calling Graph — how a
//! schema change reaches data fetched before it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pstn_lake_fetch::{PageDecoder, Table};
use pstn_lake_sink::{
    EncodeSlots, Lake, PrivacyKeys, Pseudonymiser, RawPages, TableSpec, quarantine_days, raw_days,
    read_raw,
};

use crate::day::{Chunk, Landed, Quarantined, land_day};
use crate::lake::{leave_no_empty_lake, locked};
use crate::{Days, Error, Progress, Result, table_spec};

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Archived days read, per table (a day whose archive holds no row of it counts).
    pub days: BTreeMap<Table, u64>,
    /// Rows landed again, per table.
    pub rows: BTreeMap<Table, u64>,
    /// Archived rows that could not be landed, kept in the lake's quarantine instead.
    pub quarantined: Vec<Quarantined>,
    /// How long the rebuild took.
    pub elapsed: Duration,
}

impl std::fmt::Display for RebuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rebuilt {} days ({} rows) from the raw archive in {:.1} s",
            self.days.values().sum::<u64>(),
            self.rows.values().sum::<u64>(),
            self.elapsed.as_secs_f64()
        )?;
        crate::sync::write_quarantined(f, &self.quarantined)
    }
}

/// Lands the archived `days` again, holding the lake lock. A range
/// without an archived day is [`Error::NoRawDays`].
pub async fn rebuild(lake: &Lake, days: &Days, progress: &dyn Progress) -> Result<RebuildReport> {
    let started = Instant::now();
    let mut report = leave_no_empty_lake(lake, async {
        lake.check().await?;
        let report = locked(lake, "rebuild", None, async {
            // The lake's own setting, key from the environment (a pseudonymised lake keeps no
            // raw archive, but the rows landed here go through the same transform all the same).
            let privacy =
                crate::privacy::settle(lake, None, &PrivacyKeys::from_env(), false, true).await?;
            let mut report = RebuildReport::default();
            // A snapshot table keeps no raw pages: there is nothing of it to rebuild.
            let tables = if days.tables.is_empty() {
                Table::LOGS.to_vec()
            } else {
                days.tables.clone()
            };
            for &table in &tables {
                rebuild_table(lake, table, days, progress, privacy.as_ref(), &mut report).await?;
            }
            Ok(report)
        })
        .await?;
        if report.days.values().sum::<u64>() == 0 {
            return Err(Error::NoRawDays {
                lake: lake.url().to_string(),
            });
        }
        Ok(report)
    })
    .await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Lands every archived day of `table` in the range again.
async fn rebuild_table(
    lake: &Lake,
    table: Table,
    days: &Days,
    progress: &dyn Progress,
    privacy: Option<&Pseudonymiser>,
    report: &mut RebuildReport,
) -> Result<()> {
    let archived: Vec<NaiveDate> = raw_days(lake, table.name())
        .await?
        .into_iter()
        .filter(|d| days.covers(*d))
        .collect();
    progress.rebuild_started(table, archived.len());
    // The archive holds what sync fetched, rows it quarantined too: they are set aside again.
    let decoder = PageDecoder::new()
        .with_table(Some(table))
        .with_bad_rows_set_aside(true);
    let spec = table_spec(table);
    let quarantined = quarantine_days(lake, table.name()).await?;
    for day in archived {
        let was_quarantined = quarantined.binary_search(&day).is_ok();
        let rebuilt = rebuild_day(lake, &decoder, &spec, table, day, was_quarantined, privacy);
        let Some(landed) = rebuilt.await? else {
            continue;
        };
        *report.days.entry(table).or_default() += 1;
        *report.rows.entry(table).or_default() += landed.rows;
        report.quarantined.extend(landed.quarantined);
        progress.day_rebuilt(table, day);
    }
    Ok(())
}

/// Lands one day again from its archive; what it landed, or `None` when the day has no archive.
async fn rebuild_day(
    lake: &Lake,
    decoder: &PageDecoder,
    spec: &TableSpec,
    table: Table,
    day: NaiveDate,
    was_quarantined: bool,
    privacy: Option<&Pseudonymiser>,
) -> Result<Option<Landed>> {
    let Some(archive) = read_raw(lake, table.name(), day).await? else {
        return Ok(None);
    };
    let name = format!("the raw archive of {table} for {day}");
    // The day's window, which a window-totals table's rows do not carry.
    let decoder = &decoder
        .clone()
        .with_window(day, day.succ_opt().expect("a day before the end of time"));
    let pages = match archive.pages()? {
        RawPages::Pages(pages) => decoder.decode_each(pages, &name)?,
        // Written before archives recorded page boundaries.
        RawPages::Concatenated(bytes) => decoder.decode_pages(bytes, &name)?,
    };
    // The day's rows land through the one path a synced day takes, as a single chunk.
    let mut chunk = Chunk::default();
    for (i, page) in pages.into_iter().enumerate() {
        chunk.add(spec, day, i + 1, bytes::Bytes::new(), page, false)?;
    }
    let landed = land_day(
        lake,
        spec,
        table,
        day,
        false,
        was_quarantined,
        &EncodeSlots::new(1),
        privacy,
        futures::stream::once(async { Ok(chunk) }),
    )
    .await
    .map_err(|e| match e {
        Error::WriteDay { source, .. } => Error::Rebuild { table, day, source },
        other => other,
    })?;
    Ok(Some(landed))
}
