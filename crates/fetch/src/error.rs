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

    /// Credentials are missing or unusable.
    #[error(
        "Graph credentials: {message} (set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)"
    )]
    Credentials {
        /// What is wrong.
        message: String,
    },

    /// The token endpoint refused the credentials or could not be reached.
    #[error("getting a token from {url} failed{}: {message}; check AZURE_TENANT_ID, AZURE_CLIENT_ID, the secret or certificate, and --cloud / --login-url", match status { Some(s) => format!(" (HTTP {s})"), None => String::new() })]
    Auth {
        /// The token endpoint.
        url: String,
        /// Its HTTP status, if it answered.
        status: Option<u16>,
        /// Entra ID's error, or the transport error.
        message: String,
    },

    /// The HTTP client could not be set up or a URL could not be built.
    #[error("{url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },

    /// Graph refused access: a permission is missing.
    #[error(
        "Graph refused access to {url} (403 {message}): grant the app registration the CallRecords.Read.All application permission (not delegated) and admin consent in Entra ID"
    )]
    Forbidden {
        /// The request URL (without query).
        url: String,
        /// Graph's error.
        message: String,
    },

    /// Graph answered an error that retrying cannot fix.
    #[error("Graph answered {status} for {url}: {message}{}", if matches!(status, 400 | 406) { " (Graph refuses ranges over 90 days and quoted or malformed date literals)" } else { "" })]
    Graph {
        /// The request URL (without query).
        url: String,
        /// The HTTP status.
        status: u16,
        /// Graph's error.
        message: String,
    },

    /// A request kept failing.
    #[error(
        "{url} still failed after {attempts} attempts (last: {last}); re-run later: finished days are kept"
    )]
    RetriesExhausted {
        /// The request URL (without query).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },

    /// An `@odata.nextLink` cannot be followed.
    #[error("refusing the @odata.nextLink {link}: {message}")]
    NextLink {
        /// The link (or its origin).
        link: String,
        /// Why.
        message: String,
    },

    /// A page from Graph could not be decoded.
    #[error("page {page} of {url}: {source}")]
    Page {
        /// The request URL (without query).
        url: String,
        /// 1-based page number within the window.
        page: usize,
        /// The decoding error.
        source: Box<Error>,
    },

    /// Building the Arrow batch failed (a bug: decoded columns always match the schema).
    #[error("building the Arrow batch failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The fetch crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
