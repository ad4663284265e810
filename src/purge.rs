//! `pstn-lake purge --before DATE`: delete the days a retention policy no longer allows (the work
//! is [`pstn_lake_pipeline::purge`]).

use anyhow::Result;
use chrono::NaiveDate;
use pstn_lake_fetch::Table;
use pstn_lake_pipeline::PurgeOptions;

use crate::common::{LakeArg, Ui, parse_date};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Prints the day folders deleted (with --dry-run: that would be), one \
per line as <table>/<partition>; a summary per table on stderr.\n\nA day's rows, its raw pages \
(sync --keep-raw) and its quarantined rows go together. The users table keeps the snapshot in \
force on DATE (the latest one before it, when none is dated DATE), since the later days are charged \
as of it. On a Delta lake one commit per table removes the days, and `pstn-lake vacuum` deletes \
their files once the table's retention has passed (at once with --retain-hours 0 --force); until \
then `--as-of` can still read them. The sync state keeps the days recorded complete, so a later \
sync does not fetch them again."
)]
pub struct Args {
    /// Delete every day before this UTC day (YYYY-MM-DD); the day itself stays.
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    pub before: NaiveDate,

    /// Tables to purge, comma-separated (default: every table the lake holds).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<Table>,

    /// Only list the days that would be deleted.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let lake = args.lake.open_existing().await?;
    let options = PurgeOptions {
        before: args.before,
        tables: args.tables.clone(),
        dry_run: args.dry_run,
    };
    let report = pstn_lake_pipeline::purge(&lake, &options).await?;
    let mut listing = String::new();
    for purged in &report.tables {
        for day in &purged.days {
            listing.push_str(&format!(
                "{}/{}\n",
                purged.table,
                pstn_lake_sink::day_folder(purged.table.name(), *day)
            ));
        }
    }
    ui.summary(&report);
    crate::common::to_stdout(|out| Ok(std::io::Write::write_all(out, listing.as_bytes())?))
}
