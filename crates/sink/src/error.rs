//! The sink crate's error type.

/// What went wrong while writing or reading the lake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The lake location is not a path or a supported URL.
    #[error(
        "`{location}` is not a lake location (a folder, file://, s3://, az://, abfss:// or gs:// URL): {reason}"
    )]
    Location {
        /// What the user gave.
        location: String,
        /// Why it was refused.
        reason: String,
    },

    /// The lake's store cannot be reached or refuses the credentials.
    #[error("cannot reach the lake {url} ({hint})")]
    Unreachable {
        /// The lake URL.
        url: String,
        /// What to check.
        hint: &'static str,
        /// The store's error.
        source: object_store::Error,
    },

    /// Another pstn-lake run is writing to the lake.
    #[error("{0}")]
    Locked(String),

    /// This run's hold on the lake lock was taken over by another writer (this process was paused
    /// or cut off for longer than the lock's time to live): it stops before its next commit.
    #[error(
        "another pstn-lake took over the lock of {url} ({by}) while this run was paused or cut off; \
         this run stopped before its next commit. Days committed so far are complete; \
         run the command again once the other run has finished"
    )]
    LockLost {
        /// The lake.
        url: String,
        /// Who holds the lock now.
        by: String,
    },

    /// Another writer kept replacing a day between this writer's read and its write.
    #[error(
        "{table} for {day} was changed by another writer {attempts} times while this run merged it; \
         the day holds the other writer's rows and this run's rows for it are not written. \
         Run the command again when the other writer has finished"
    )]
    Conflict {
        /// The table.
        table: String,
        /// The day.
        day: chrono::NaiveDate,
        /// How many times the merge was tried.
        attempts: usize,
    },

    /// The lake's store cannot write conditionally (create-if-absent, replace-if-unchanged), which
    /// every commit needs so that no second writer can lose rows.
    #[error(
        "the store of {url} does not support conditional writes; pstn-lake needs them so that two \
         writers can never lose each other's rows. For S3-compatible stores, unset \
         AWS_CONDITIONAL_PUT or set it to `etag` (the store must honour If-Match and If-None-Match). \
         The store answered"
    )]
    NoConditionalWrites {
        /// The lake.
        url: String,
        /// The store's error.
        source: object_store::Error,
    },

    /// The object store refused an operation.
    #[error("{action} `{path}` failed")]
    Store {
        /// What was being done ("writing", "reading", "listing").
        action: &'static str,
        /// The object or prefix.
        path: String,
        /// The store's error.
        source: object_store::Error,
    },

    /// Encoding or decoding Parquet failed.
    #[error("{action} Parquet `{path}` failed")]
    Parquet {
        /// What was being done.
        action: &'static str,
        /// The object.
        path: String,
        /// The Parquet error.
        source: parquet::errors::ParquetError,
    },

    /// An Arrow kernel failed (sorting, taking, concatenating, spooling).
    #[error("{action} failed")]
    Arrow {
        /// What was being done.
        action: &'static str,
        /// The Arrow error.
        source: arrow::error::ArrowError,
    },

    /// A row has no value in any of the table's partition columns, so it belongs to no day.
    #[error("row {row}{} has no value in {columns}: it cannot be placed in a call_date partition", match id { Some(id) => format!(" (id {id})"), None => String::new() })]
    NoPartitionValue {
        /// 0-based row index within the batch handed to the sink.
        row: usize,
        /// The row's key, if it has one.
        id: Option<String>,
        /// The partition columns that were all null.
        columns: String,
    },

    /// A batch does not have a column the table spec needs.
    #[error("the batch has no usable column `{column}` ({reason})")]
    Column {
        /// The column.
        column: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Local spool files for a landing could not be written or read.
    #[error("spooling to local disk failed")]
    Spool(#[from] std::io::Error),

    /// A raw archive decompresses to far more than an archive of its size can hold.
    #[error(
        "the raw archive `{path}` decompresses to more than {limit} bytes ({compressed} compressed): it is not an archive pstn-lake wrote; fetch the day again with `pstn-lake sync --refetch --keep-raw`"
    )]
    RawTooLarge {
        /// The archive.
        path: String,
        /// Its size.
        compressed: u64,
        /// The most it may decompress to.
        limit: u64,
    },

    /// A state object (the sync state, the run log) is not what this version of pstn-lake writes.
    #[error("the state object `{path}` is unreadable: {reason}")]
    State {
        /// The state object.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The record of the lake's table format cannot be read.
    #[error(
        "the lake's format record `{path}` is unreadable: {reason}; it holds \
         {{\"table_format\": \"parquet\"}} or {{\"table_format\": \"delta\"}}, whichever the tables are"
    )]
    Format {
        /// The record.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A command asked for a table format other than the lake's.
    #[error(
        "the lake {url} holds {recorded} tables, not {wanted} (a lake has one table format, \
         chosen when it is created): leave out --table-format to use {recorded}, or give a new \
         lake's location for {wanted} tables"
    )]
    FormatMismatch {
        /// The lake.
        url: String,
        /// The lake's format.
        recorded: crate::TableFormat,
        /// The format asked for.
        wanted: crate::TableFormat,
    },

    /// The record of the lake's privacy setting cannot be read.
    #[error(
        "the lake's privacy record `{path}` is unreadable: {reason}; it holds the pseudonymised \
         columns, the name of the key's environment variable and the key check \
         (docs/privacy.md): restore it from a backup, or the lake's tokens can no longer be \
         checked against a key"
    )]
    PrivacyRecord {
        /// The record.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The environment variable that should hold the pseudonymisation key is not set.
    #[error(
        "the pseudonymisation key is read from the environment variable {var}, which is not set \
         (or empty): set it to the lake's key (for a new lake, a long random secret, e.g. \
         `openssl rand -hex 32`, kept where the lake's readers cannot get it)"
    )]
    PrivacyKeyMissing {
        /// The variable.
        var: String,
    },

    /// The pseudonymisation key is too short to resist trying keys.
    #[error(
        "the pseudonymisation key in {var} is {bytes} bytes long, shorter than the {} bytes \
         pstn-lake accepts: use a long random secret, e.g. `openssl rand -hex 32`",
        crate::privacy::MIN_KEY_BYTES
    )]
    PrivacyKeyShort {
        /// The variable.
        var: String,
        /// The key's length.
        bytes: usize,
    },

    /// The pseudonymisation key is not the one the lake was pseudonymised with.
    #[error(
        "the key in {var} is not the key the lake {url} was pseudonymised with (its key check \
         differs): another key would give the same values other tokens, and grouping across days \
         would break. Set {var} to the lake's key"
    )]
    PrivacyKeyMismatch {
        /// The lake.
        url: String,
        /// The variable.
        var: String,
    },

    /// A writer asked for a privacy setting other than the lake's.
    #[error(
        "the lake {url} pseudonymises {recorded}, not {wanted} (a lake has one privacy setting, \
         recorded when its first rows land): leave out --pseudonymise/--pseudonym-key-env (and \
         the configuration's [privacy]) to use the lake's, make them the lake's, or give a new \
         lake's location for the other setting"
    )]
    PrivacyMismatch {
        /// The lake.
        url: String,
        /// The lake's setting.
        recorded: crate::PrivacySetting,
        /// The setting asked for.
        wanted: crate::PrivacySetting,
    },

    /// Pseudonymisation was asked for on a lake that already holds data in cleartext.
    #[error(
        "the lake {url} already holds {held} landed without pseudonymisation: it applies at \
         landing and does not rewrite what a lake holds, so turning it on would leave cleartext \
         next to tokens. Give a new lake's location and land into it with pseudonymisation \
         (sync again from Graph, or ingest the saved pages), or leave out --pseudonymise"
    )]
    PrivacyOnLakeWithData {
        /// The lake.
        url: String,
        /// What it holds.
        held: String,
    },

    /// The lake holds Delta tables and this build of pstn-lake was made without Delta support.
    #[error(
        "the lake {url} holds Delta tables, and this pstn-lake was built without Delta support \
         (the `delta` cargo feature, on by default): build it with `--features delta`"
    )]
    NoDelta {
        /// The lake.
        url: String,
    },

    /// An earlier snapshot of a Delta table cannot be read.
    #[error(
        "{table} has no snapshot {as_of}: {reason} (`pstn-lake history` lists the versions; a \
         version older than the last vacuum's retention can no longer be read)"
    )]
    AsOf {
        /// The table.
        table: String,
        /// The snapshot asked for.
        as_of: String,
        /// delta-rs's reason.
        reason: String,
    },

    /// An earlier snapshot of a Delta table was found, but `vacuum` has deleted files it needs.
    #[error(
        "{table} {as_of} can no longer be read: {missing} of its {files} data files were deleted \
         by a vacuum (e.g. {first}); `vacuum` keeps the files of replaced versions for \
         --retain-hours (168 by default). `pstn-lake history` lists the versions: read a later one"
    )]
    Vacuumed {
        /// The table.
        table: String,
        /// The snapshot asked for.
        as_of: String,
        /// Its data files that are gone.
        missing: usize,
        /// Its data files.
        files: usize,
        /// One of the missing files (relative to the table).
        first: String,
    },

    /// A Delta lake's table folder holds Parquet days but no Delta log: a `convert --to delta`
    /// that stopped before it reached this table. Neither reading nor writing it as Delta is safe.
    #[error(
        "{table} holds Parquet days but no Delta log yet: a `pstn-lake convert --to delta` of \
         this lake stopped before converting it. Run `pstn-lake convert --to delta --lake {lake}` \
         again to finish (it converts only what is left, without rewriting data files)"
    )]
    Unconverted {
        /// The table.
        table: String,
        /// The lake.
        lake: String,
    },

    /// `convert` found a Parquet file outside a table's day folders, which a Delta table cannot
    /// hold as it is.
    #[error(
        "cannot convert {table}: `{file}` is not a day's file (`call_date=YYYY-MM-DD/<name>.parquet`); \
         move it out of the table's folder and run convert again (nothing was changed)"
    )]
    Unconvertible {
        /// The table.
        table: String,
        /// The file, relative to the table's folder.
        file: String,
    },

    /// `convert` found no table in the lake.
    #[error("the lake {url} holds no table to convert (land days first, or check --lake)")]
    NothingToConvert {
        /// The lake.
        url: String,
    },

    /// `vacuum` was asked to keep removed files for less than the table's retention.
    #[error(
        "{table}: --retain-hours {hours} is shorter than the table's deleted-file retention \
         ({min} hours, `delta.deletedFileRetentionDuration`): a reader or writer still using a \
         snapshot that old would fail. Pass --force if no such reader or writer can run"
    )]
    Retention {
        /// The table.
        table: String,
        /// The retention asked for.
        hours: i64,
        /// The table's retention.
        min: i64,
    },

    /// Delta Lake (delta-rs) failed.
    #[error("Delta table {table}: {source}")]
    #[cfg(feature = "delta")]
    Delta {
        /// The table's location.
        table: String,
        /// delta-rs's error.
        source: Box<deltalake::DeltaTableError>,
    },
}

/// The sink crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The store-error mapping of the whole crate: `.map_err(store("reading", &path))`.
pub(crate) fn store(
    action: &'static str,
    path: &impl std::fmt::Display,
) -> impl FnOnce(object_store::Error) -> Error {
    let path = path.to_string();
    move |source| Error::Store {
        action,
        path,
        source,
    }
}

/// A local file-system error of a lake opened as a folder, as a store error naming the file.
pub(crate) fn local(
    action: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    move |source| Error::Store {
        action,
        path: path.clone(),
        source: object_store::Error::Generic {
            store: "local file system",
            source: Box::new(source),
        },
    }
}

pub(crate) fn arrow(action: &'static str) -> impl FnOnce(arrow::error::ArrowError) -> Error {
    move |source| Error::Arrow { action, source }
}
