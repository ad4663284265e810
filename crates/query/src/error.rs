//! The query crate's error type.

/// What went wrong while querying the lake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// DataFusion refused or failed the query.
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),

    /// The SQL would change something; `sql` is read-only.
    #[error(
        "only queries are allowed here ({what} would change the lake or the session): use SELECT, WITH, EXPLAIN, DESCRIBE or SHOW"
    )]
    ReadOnly {
        /// What kind of statement was refused.
        what: String,
    },

    /// There is no report of that name.
    #[error("there is no report named `{name}`; `pstn-lake report --list` shows them: {available}")]
    UnknownReport {
        /// The name asked for.
        name: String,
        /// The names there are.
        available: String,
    },

    /// Writing the output failed.
    #[error("writing the output failed: {0}")]
    Output(#[from] std::io::Error),

    /// Formatting the output failed.
    #[error("formatting the output failed: {0}")]
    Format(#[from] datafusion::arrow::error::ArrowError),

    /// The lake could not be listed.
    #[error(transparent)]
    Lake(#[from] pstn_lake_sink::Error),
}

/// The query crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
