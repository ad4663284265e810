//! The pipeline's error type: each variant names the table, day, input or lake it concerns and
//! keeps the typed source.

use chrono::NaiveDate;
use pstn_lake_fetch::Table;

use crate::SyncReport;

/// What went wrong while syncing, ingesting or rebuilding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The lake (its store, lock, state or a day of a table) failed.
    #[error(transparent)]
    Lake(Box<pstn_lake_sink::Error>),

    /// Graph (credentials, a request, a page) failed, or a page did not decode.
    #[error(transparent)]
    Graph(Box<pstn_lake_fetch::Error>),

    /// The lake lock could not be released after the work was done.
    #[error("releasing the lake lock failed")]
    ReleaseLock(#[source] Box<pstn_lake_sink::Error>),

    /// A worker thread of the run failed.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),

    // sync
    /// The sync state records an API version this pstn-lake does not know.
    #[error("the sync state of {lake} records an API version: {reason}")]
    RecordedApi {
        /// The lake.
        lake: String,
        /// Why the recorded version was refused.
        reason: String,
    },

    /// `--api v1.0` on a lake landed with beta, without `allow_api_downgrade`.
    #[error(
        "the lake at {lake} was landed with --api beta: a v1.0 sync would replace the rows of the \
         days it fetches without their beta-only columns (client IPs, administrative units, \
         country codes). Leave out --api (this lake syncs with beta), or pass \
         --allow-api-downgrade to accept the loss"
    )]
    ApiDowngrade {
        /// The lake.
        lake: String,
    },

    /// The sync's range holds no day (`from` after `to`).
    #[error("nothing to sync: the range is empty (is --from after --to?)")]
    EmptyRange,

    /// An option of the sync is outside what Graph can have (a typo in a date or a number).
    #[error("{0}")]
    OutOfRange(String),

    /// Fetching a day's pages failed.
    #[error("fetching {table} for {day} failed")]
    Fetch {
        /// The table.
        table: Table,
        /// The day.
        day: NaiveDate,
        /// Graph's error.
        source: Box<pstn_lake_fetch::Error>,
    },

    /// A day's rows could not be spooled (encoded into a local part file).
    #[error(
        "keeping the rows of {table} for {day} in the spool failed (`_pstn_lake/spool/` in a local lake, TMPDIR otherwise)"
    )]
    Spool {
        /// The table.
        table: Table,
        /// The day.
        day: NaiveDate,
        /// The sink's error.
        source: Box<pstn_lake_sink::Error>,
    },

    /// A day's set-aside rows could not be kept in (or removed from) the quarantine.
    #[error("keeping the quarantined rows of {table} for {day} failed")]
    Quarantine {
        /// The table.
        table: Table,
        /// The day.
        day: NaiveDate,
        /// The sink's error.
        source: Box<pstn_lake_sink::Error>,
    },

    /// A day's pages could not be archived (`keep_raw`).
    #[error("archiving the pages of {table} for {day} failed")]
    Archive {
        /// The table.
        table: Table,
        /// The day.
        day: NaiveDate,
        /// The sink's error.
        source: Box<pstn_lake_sink::Error>,
    },

    /// A fetched day could not be written to the lake.
    #[error("writing {table} for {day} failed; the day is unchanged")]
    WriteDay {
        /// The table.
        table: Table,
        /// The day.
        day: NaiveDate,
        /// The sink's error.
        source: Box<pstn_lake_sink::Error>,
    },

    /// A written day could not be recorded in the sync state.
    #[error("recording the day in the sync state failed")]
    RecordState(#[source] Box<pstn_lake_sink::Error>),

    /// The run's `stop` future completed (Ctrl-C in the CLI): the days finished so far are
    /// committed.
    #[error("interrupted")]
    Interrupted,

    /// A sync stopped after it had started fetching: what it did so far, and why it stopped.
    #[error("stopped early")]
    Stopped {
        /// What the sync did before it stopped.
        so_far: Box<SyncReport>,
        /// Why it stopped.
        source: Box<Error>,
    },

    // ingest
    /// An input file or folder cannot be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The input as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// Standard input cannot be read.
    #[error("cannot read standard input")]
    ReadStdin(#[source] std::io::Error),

    /// An input folder cannot be listed.
    #[error("cannot list `{path}`")]
    List {
        /// The folder as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// An input folder holds no page file.
    #[error("`{path}` holds no *.json files")]
    NoPageFiles {
        /// The folder as given.
        path: String,
    },

    /// A page's rows are mostly properties its table does not have.
    #[error(
        "page {page} of `{input}`: {} of its {} properties are not columns of {table} ({}); {}",
        .unknown.len(),
        .unknown.len() + .known,
        .unknown.join(", "),
        wrong_table_hint(*.like)
    )]
    WrongTable {
        /// The input.
        input: String,
        /// The page's number in the input, from 1.
        page: usize,
        /// The table the page was read as.
        table: Table,
        /// The page's properties that are not columns of `table`.
        unknown: Vec<String>,
        /// How many columns of `table` the page fills.
        known: usize,
        /// The table the page looks like, if any.
        like: Option<Table>,
    },

    /// A row has no `id` (missing, null or empty): the lake merges rows by it.
    #[error(
        "page {page} of `{input}`: row {row} field `id`: missing, null or empty: every call record \
         needs its id, the key the lake merges rows by"
    )]
    NoId {
        /// The input.
        input: String,
        /// The page's number in the input, from 1.
        page: usize,
        /// 0-based index of the row in the page's `value` array.
        row: usize,
    },

    /// Pages of a window-totals table were given without the day they cover.
    #[error(
        "page {page} of `{input}`: {table} rows are totals over the day they were requested for, \
         which a page does not say: ingest them with `--day YYYY-MM-DD` (the UTC day of the \
         request's fromDateTime), one day's pages at a time"
    )]
    NoWindowDay {
        /// The input.
        input: String,
        /// The page's number in the input, from 1.
        page: usize,
        /// The table.
        table: Table,
    },

    /// Saved pages of a snapshot table were given without the day of the listing.
    #[error(
        "saved pages of {table} are a listing of the whole directory on one day, which a page \
         does not say: ingest them with `--day YYYY-MM-DD` (the UTC day the listing was taken), \
         one listing at a time"
    )]
    NoSnapshotDay {
        /// The table.
        table: Table,
    },

    /// A saved page of a snapshot table does not decode.
    #[error("page {page} of `{input}`")]
    SnapshotPage {
        /// The input.
        input: String,
        /// The page's number in the input, from 1.
        page: usize,
        /// What is wrong with it.
        source: Box<pstn_lake_fetch::Error>,
    },

    /// A row has no date-time that places it in a `call_date` day.
    #[error(
        "page {page} of `{input}`: row {row} (id {id}) {}, so the row belongs to no call_date day",
        no_day_properties(properties)
    )]
    NoDay {
        /// The input.
        input: String,
        /// The page's number in the input, from 1.
        page: usize,
        /// 0-based index of the row in the page's `value` array.
        row: usize,
        /// The row's `id`.
        id: String,
        /// The Graph properties that place a row, first non-null wins (`startDateTime`).
        properties: Vec<&'static str>,
    },

    /// A decoded row could not be placed in its day.
    #[error("`{input}`: cannot place a row")]
    Place {
        /// The input.
        input: String,
        /// The sink's error.
        source: Box<pstn_lake_sink::Error>,
    },

    /// An ingest failed before writing: the lake is unchanged.
    #[error("nothing was written to the lake")]
    NothingWritten(#[source] Box<Error>),

    /// Writing a table's days failed part way.
    #[error(
        "writing {table} failed: days written before the failure are complete, the failing day is unchanged; re-run the same command to finish"
    )]
    Commit {
        /// The table.
        table: Table,
        /// The sink's error.
        source: Box<pstn_lake_sink::Error>,
    },

    // rebuild
    /// A day's raw archive is damaged.
    #[error(transparent)]
    RawArchive(#[from] pstn_lake_sink::RawArchiveError),

    /// A day could not be written again from its archive.
    #[error("rebuilding {table} for {day} failed")]
    Rebuild {
        /// The table.
        table: Table,
        /// The day.
        day: NaiveDate,
        /// The sink's error.
        source: Box<pstn_lake_sink::Error>,
    },

    /// The raw archive holds no day of the tables and range asked for.
    #[error(
        "the raw archive of {lake} holds no day in the range: it is written by `pstn-lake sync --keep-raw`"
    )]
    NoRawDays {
        /// The lake.
        lake: String,
    },

    // privacy
    /// A column named for pseudonymisation cannot be.
    #[error("`{column}` cannot be pseudonymised: {reason}")]
    PrivacyColumn {
        /// The column as named.
        column: String,
        /// Why not.
        reason: String,
    },

    /// The name given for the pseudonymisation key's environment variable is not one.
    #[error(
        "`{name}` is not an environment variable name (letters, digits and _, not starting with \
         a digit): name the variable that holds the pseudonymisation key, not the key itself"
    )]
    PrivacyKeyEnv {
        /// The name as given.
        name: String,
    },

    /// `keep_raw` on a pseudonymised lake.
    #[error(
        "the lake {lake} pseudonymises {setting}, and the raw archive (--keep-raw) would keep \
         every page as Graph served it, in cleartext: leave out --keep-raw (docs/privacy.md)"
    )]
    KeepRawPseudonymised {
        /// The lake.
        lake: String,
        /// Its privacy setting.
        setting: String,
    },

    /// The lake's privacy setting changed while an ingest decoded its inputs.
    #[error(
        "the privacy setting of {lake} changed while the inputs were decoded (another writer \
         recorded one): nothing was written; run the ingest again"
    )]
    PrivacyChanged {
        /// The lake.
        lake: String,
    },

    // vacuum, optimize
    /// A Delta upkeep command on a Parquet lake.
    #[error(
        "{url} holds Parquet tables: `{command}` is for Delta lakes (a Parquet lake keeps one \
         file a day, replaced in place, and no old versions); `pstn-lake convert --to delta` \
         makes it a Delta lake"
    )]
    NotDelta {
        /// The lake.
        url: String,
        /// The command.
        command: String,
    },
}

impl From<pstn_lake_sink::Error> for Error {
    fn from(e: pstn_lake_sink::Error) -> Self {
        Error::Lake(Box::new(e))
    }
}

impl From<pstn_lake_fetch::Error> for Error {
    fn from(e: pstn_lake_fetch::Error) -> Self {
        Error::Graph(Box::new(e))
    }
}

/// The pipeline's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn wrong_table_hint(like: Option<Table>) -> String {
    match like {
        Some(t) => format!(
            "it looks like a {t} page: pass --table {t}, or leave out --table when the page has its @odata.context"
        ),
        None => "it does not look like a page of any table pstn-lake knows".to_owned(),
    }
}

/// `field `startDateTime`: missing, null or …`, or for several properties, that each is.
fn no_day_properties(properties: &[&str]) -> String {
    const NO_DATE: &str = "missing, null or 0001-01-01T00:00:00Z";
    match properties {
        [one] => format!("field `{one}`: {NO_DATE}"),
        several => {
            let names: Vec<String> = several.iter().map(|p| format!("`{p}`")).collect();
            format!("fields {}: each is {NO_DATE}", names.join(" and "))
        }
    }
}
