//! `pstn-lake rebuild`: land the tables again from the raw archive (`sync --keep-raw`), without
//! calling Graph — how a schema change reaches data fetched before it.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use pstn_lake_fetch::{PageDecoder, Table};
use pstn_lake_sink::{
    DayWriter, EncodeSlots, LakeLock, RawPages, raw_days, read_raw, split_by_day,
};

use crate::common::{LakeArg, Ui, leave_no_empty_lake, parse_date};
use crate::ingest::table_spec;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tables to rebuild, comma-separated (default: every table with an archive).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "pstn_calls,direct_routing_calls"
    )]
    pub tables: Vec<Table>,

    /// First day (UTC, YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,

    /// Last day (UTC, YYYY-MM-DD), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let started = Instant::now();
    let lake = args.lake.open()?;
    let (days, rows) = leave_no_empty_lake(&lake, async {
        lake.check().await?;
        let lock = LakeLock::acquire(&lake, "rebuild").await?;
        let outcome = rebuild(&args, &lake, ui).await;
        let released = lock.release().await;
        let (days, rows) = outcome?;
        released.context("releasing the lake lock failed")?;
        if days == 0 {
            bail!(
                "the raw archive of {} holds no day in the range: it is written by `pstn-lake sync --keep-raw`",
                lake.url()
            );
        }
        Ok((days, rows))
    })
    .await?;
    ui.summary(format!(
        "rebuilt {days} days ({rows} rows) from the raw archive in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn rebuild(args: &Args, lake: &pstn_lake_sink::Lake, ui: &Ui) -> Result<(u64, u64)> {
    let (mut days_done, mut rows_done) = (0u64, 0u64);
    let slots = EncodeSlots::new(1);
    for &table in &args.tables {
        let days: Vec<NaiveDate> = raw_days(lake, table.name())
            .await?
            .into_iter()
            .filter(|d| args.from.is_none_or(|f| *d >= f) && args.to.is_none_or(|t| *d <= t))
            .collect();
        let progress = ui.bar(days.len() as u64, &format!("{table} days"));
        let decoder = PageDecoder::new().with_table(Some(table));
        let spec = table_spec(table);
        for day in days {
            let Some(archive) = read_raw(lake, table.name(), day).await? else {
                continue;
            };
            let name = format!("the raw archive of {table} for {day}");
            let pages = match archive.pages()? {
                RawPages::Pages(pages) => decoder.decode_each(pages, &name)?,
                // Written before archives recorded page boundaries.
                RawPages::Concatenated(bytes) => decoder.decode_pages(bytes, &name)?,
            };
            let mut batches = Vec::new();
            for page in &pages {
                for batch in &page.batches {
                    batches.extend(
                        split_by_day(&spec, batch)?
                            .into_iter()
                            .filter(|(d, _)| *d == day)
                            .map(|(_, b)| b),
                    );
                }
            }
            let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
            if rows > 0 {
                let failed = || format!("rebuilding {table} for {day} failed");
                let mut writer = DayWriter::new(lake, &spec, day, &slots).with_context(failed)?;
                let writer = tokio::task::spawn_blocking(move || {
                    batches.into_iter().try_for_each(|b| writer.push(b))?;
                    Ok::<_, pstn_lake_sink::Error>(writer)
                })
                .await?
                .with_context(failed)?;
                writer.commit(lake).await.with_context(failed)?;
            }
            days_done += 1;
            rows_done += rows;
            progress.inc(1);
        }
        progress.finish_and_clear();
    }
    Ok((days_done, rows_done))
}
