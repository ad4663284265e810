//! `pstn-lake vacuum`: delete the data files of a Delta lake that replaced versions no longer
//! need (the work is [`pstn_lake_pipeline::maintain::vacuum`]).

use anyhow::{Result, bail};
use pstn_lake_sink::Vacuum;

use crate::common::{LakeArg, Ui};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Prints the deleted (with --dry-run: the deletable) files, one per line \
as <table>/<file>; a summary per table on stderr.\n\nAfter a vacuum, `--as-of` can no longer read \
a version whose files it deleted: keep --retain-hours at least as long as finance may rerun an old \
report."
)]
pub struct Args {
    /// Keep the files of versions replaced less than this many hours ago (`--as-of` can still
    /// read those versions). Below the table's `delta.deletedFileRetentionDuration` (168 hours
    /// unless set) only with --force.
    #[arg(long, default_value_t = 168, value_name = "HOURS")]
    pub retain_hours: u32,

    /// Only list the files that would be deleted.
    #[arg(long)]
    pub dry_run: bool,

    /// Allow --retain-hours below the table's retention: a reader or writer still working on a
    /// snapshot that old (another engine's long query) would then fail.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub lake: LakeArg,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let lake = args.lake.open_existing().await?;
    let options = Vacuum {
        retain: chrono::Duration::hours(i64::from(args.retain_hours)),
        dry_run: args.dry_run,
        force: args.force,
    };
    let done = pstn_lake_pipeline::maintain::vacuum(&lake, &options).await?;
    if done.is_empty() {
        bail!("{} holds no Delta table to vacuum", lake.url());
    }
    let mut listing = String::new();
    for (table, vacuumed) in &done {
        for file in &vacuumed.files {
            listing.push_str(&format!("{table}/{file}\n"));
        }
        let verb = if vacuumed.dry_run {
            "would be deleted"
        } else {
            "deleted"
        };
        ui.summary(format_args!(
            "{table}: {} files {verb} (replaced more than {} hours ago)",
            vacuumed.files.len(),
            args.retain_hours
        ));
    }
    crate::common::to_stdout(|out| Ok(std::io::Write::write_all(out, listing.as_bytes())?))
}
