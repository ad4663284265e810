//! The fetch crate's error type.

/// What went wrong while decoding a page or talking to Graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The page is not well-formed JSON.
    #[error("the page is not valid JSON (line {line}, column {column}): {source}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's error.
        source: serde_json::Error,
    },

    /// The page has no `value` array.
    #[error("the page has no `value` array: it is not a Graph call-log page")]
    MissingValue,

    /// Which table the page belongs to could not be told.
    #[error(
        "cannot tell which table this page belongs to ({}): pass --table pstn_calls or --table direct_routing_calls",
        match context { Some(c) => format!("its @odata.context is `{c}`"), None => "it has no @odata.context".to_string() }
    )]
    UnknownTable {
        /// The page's `@odata.context`, if any.
        context: Option<String>,
    },

    /// The page's `@odata.context` names another table than the one asked for.
    #[error("the page holds {found} rows (by its @odata.context) but {expected} was asked for")]
    TableMismatch {
        /// The table asked for.
        expected: crate::Table,
        /// The table the page's context names.
        found: crate::Table,
    },

    /// A property of a row has a value the schema cannot hold.
    #[error("row {row}{} field `{field}`: {message}", match id { Some(id) => format!(" (id {id})"), None => String::new() })]
    Field {
        /// 0-based index of the row in the page's `value` array.
        row: usize,
        /// The row's `id`, when it came before the bad field.
        id: Option<String>,
        /// The Graph property name.
        field: String,
        /// What is wrong with the value.
        message: String,
    },

    /// Building the Arrow batch failed (a bug: decoded columns always match the schema).
    #[error("building the Arrow batch failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The fetch crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
