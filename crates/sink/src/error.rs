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
    #[error("cannot reach the lake {url} ({hint}): {source}")]
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

    /// The object store refused an operation.
    #[error("{action} `{path}` failed: {source}")]
    Store {
        /// What was being done ("writing", "reading", "listing").
        action: &'static str,
        /// The object or prefix.
        path: String,
        /// The store's error.
        source: object_store::Error,
    },

    /// Encoding or decoding Parquet failed.
    #[error("{action} Parquet `{path}` failed: {source}")]
    Parquet {
        /// What was being done.
        action: &'static str,
        /// The object.
        path: String,
        /// The Parquet error.
        source: parquet::errors::ParquetError,
    },

    /// An Arrow kernel failed (sorting, taking, concatenating, spooling).
    #[error("{action} failed: {source}")]
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
    #[error("spooling to local disk failed: {0}")]
    Spool(#[from] std::io::Error),

    /// The sync state object is not what this version of pstn-lake writes.
    #[error("the sync state `{path}` is unreadable: {reason}")]
    State {
        /// The state object.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The sink crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn arrow(action: &'static str) -> impl FnOnce(arrow::error::ArrowError) -> Error {
    move |source| Error::Arrow { action, source }
}
