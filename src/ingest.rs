//! `pstn-lake ingest`: land saved Graph pages into the lake (the work is
//! [`pstn_lake_pipeline::ingest`]). Files are decoded on every core and land in input order (the
//! later file wins); bad input changes nothing.

use anyhow::Result;
use pstn_lake_fetch::Table;
use pstn_lake_pipeline::{IngestOptions, Input, Progress};

use crate::common::{LakeArg, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Graph page files, folders (every *.json below them) or - for standard input. A file may
    /// hold one page or several pages one after another.
    #[arg(required = true, value_name = "PATH|DIR|-")]
    pub inputs: Vec<String>,

    /// The table (pstn_calls or direct_routing_calls) of pages without an `@odata.context` line
    /// (saved by hand or by another tool); a page that has one lands in the table it names. A page whose
    /// properties are mostly not columns of this table is refused.
    #[arg(long, value_name = "TABLE")]
    pub table: Option<Table>,

    #[command(flatten)]
    pub lake: LakeArg,

    #[command(flatten)]
    pub table_format: crate::common::TableFormatArg,

    #[command(flatten)]
    pub privacy: crate::common::PrivacyArg,

    /// Decoding threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// The UTC day that pages of pstn_dialout_report were requested for (their rows are totals
    /// over the request's window and do not say which), or, with --table users, the day saved
    /// /users pages listed the whole directory (landed as that day's snapshot): one day's pages
    /// at a time. Other tables' rows carry their own day and ignore it.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::common::parse_date)]
    pub day: Option<chrono::NaiveDate>,

    /// Megabytes of decoded rows held in memory before the largest held day is encoded early
    /// (days are encoded to a local temporary folder as soon as they stop receiving rows anyway);
    /// 0 (encode each day at once) to 1048576.
    #[arg(long, value_name = "MB", default_value_t = 128,
          value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub memory_mb: u64,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let privacy = args.privacy.privacy()?;
    let lake = args.lake.open()?;
    let inputs = Input::expand(&args.inputs)?;
    let options = IngestOptions::default()
        .with_table(args.table)
        .with_threads(args.threads)
        .with_day(args.day)
        .with_memory_budget(usize::try_from(args.memory_mb << 20).unwrap_or(usize::MAX))
        .with_table_format(args.table_format.table_format)
        .with_privacy(privacy);
    let outcome = pstn_lake_pipeline::ingest(&lake, &inputs, &options, &Shown(ui)).await;
    ui.clear_progress();
    ui.summary(outcome?);
    Ok(())
}

/// The terminal's progress; and once decoding is over, the allocator tuned for the merges.
struct Shown<'a>(&'a Ui);

impl Progress for Shown<'_> {
    fn inputs_decoded(&self, done: usize, inputs: usize, pages: usize) {
        self.0.inputs_decoded(done, inputs, pages);
    }

    fn ingest_writing(&self) {
        self.0.ingest_writing();
        // Decoding and encoding are over: what their allocator settings kept would only swell
        // the merges of days the lake already holds.
        crate::alloc::tune_for_merging();
    }
}
