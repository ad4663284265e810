//! The query crate's error type.

/// What went wrong while querying the lake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// DataFusion refused or failed the query.
    ///
    /// DataFusion's text already holds its causes, so it is the whole message: the variant has no
    /// `source()` (the chain would repeat them).
    #[error("{0}")]
    DataFusion(datafusion::error::DataFusionError),

    /// A `--mapping` CSV cannot be used.
    #[error("--mapping {file} line {line}, column {column}: {message}")]
    Mapping {
        /// The file.
        file: String,
        /// The 1-based line (0: the file itself).
        line: u64,
        /// The column (`user`, `group`, `header`).
        column: String,
        /// What is wrong.
        message: String,
    },

    /// The SQL names a column its tables do not have.
    #[error("{}", unknown_column(column, similar, columns))]
    UnknownColumn {
        /// The column as written.
        column: String,
        /// Columns with a similar name, closest first.
        similar: Vec<String>,
        /// The columns the query could use.
        columns: Vec<String>,
        /// DataFusion's error (not a `source`: its text would say the same again).
        error: Box<datafusion::error::DataFusionError>,
    },

    /// The SQL names a table the lake does not have.
    #[error("there is no table `{table}`: the lake's tables are {available}")]
    UnknownTable {
        /// The table as written.
        table: String,
        /// The tables there are.
        available: String,
        /// DataFusion's error (not a `source`: its text would say the same again).
        error: Box<datafusion::error::DataFusionError>,
    },

    /// The SQL does not parse.
    #[error("the SQL does not parse: {message}")]
    Syntax {
        /// The parser's message (what it expected and where).
        message: String,
        /// DataFusion's error (not a `source`: its text would say the same again).
        error: Box<datafusion::error::DataFusionError>,
    },

    /// A literal that is not a value of the type it is compared with (`'2026-13-01'`).
    #[error("'{literal}' is not {expected}")]
    BadLiteral {
        /// The literal, without quotes.
        literal: String,
        /// What it should be, and how to write it.
        expected: &'static str,
        /// DataFusion's error (not a `source`: its text would say the same again).
        error: Box<datafusion::error::DataFusionError>,
    },

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

    /// A parameter the report does not take (its SQL has no such placeholder).
    #[error(
        "report `{report}` does not take {parameter}: nothing it reads can be selected by that option; leave it out (the report takes {accepted})"
    )]
    UnsupportedParameter {
        /// The report.
        report: String,
        /// The parameter given.
        parameter: crate::Param,
        /// The parameters it takes (`--from, --to`).
        accepted: String,
    },

    /// A parameter value that cannot be right.
    #[error("{parameter} `{value}` is not valid: expected {expected}")]
    InvalidParameter {
        /// The parameter.
        parameter: crate::Param,
        /// The value given.
        value: String,
        /// What it should be.
        expected: &'static str,
    },

    /// Writing Parquet output failed.
    #[error("writing Parquet failed")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),

    /// Writing the output failed.
    #[error("writing the output failed")]
    Output(#[from] std::io::Error),

    /// Formatting the output failed.
    #[error("formatting the output failed")]
    Format(#[from] datafusion::arrow::error::ArrowError),

    /// `--chart` on a report whose SQL has no `-- Chart:` line.
    #[error(
        "report `{report}` has no chart: its SQL has no `-- Chart:` header line (reports with one: {with_charts})"
    )]
    NoChart {
        /// The report asked for.
        report: String,
        /// The reports that have a chart.
        with_charts: String,
    },

    /// A column the chart draws is not in the report's result.
    #[error(
        "the chart's {role} column `{column}` is not in the result; its columns are: {available}"
    )]
    ChartColumn {
        /// `x`, `y` or `split`.
        role: &'static str,
        /// The column the chart line names.
        column: String,
        /// The result's columns.
        available: String,
    },

    /// The chart's `y` column does not hold numbers.
    #[error("the chart's y column `{column}` is {data_type}, not a number")]
    ChartValue {
        /// The column.
        column: String,
        /// Its type.
        data_type: datafusion::arrow::datatypes::DataType,
    },

    /// The chart file's name says neither SVG nor PNG.
    #[error("cannot tell the chart format of `{}`: name the file .svg or .png", path.display())]
    ChartFormat {
        /// The file asked for.
        path: std::path::PathBuf,
    },

    /// Drawing a chart failed.
    #[error("drawing the chart failed")]
    Draw(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// Encoding a PNG chart failed.
    #[error("encoding the PNG chart failed")]
    Png(#[from] png::EncodingError),

    /// The lake could not be listed.
    #[error(transparent)]
    Lake(#[from] pstn_lake_sink::Error),

    /// `--as-of` on a lake without table versions.
    #[error(
        "--as-of reads an earlier snapshot of a Delta lake; {url} holds Parquet tables, whose \
         days are replaced in place and keep no earlier version"
    )]
    AsOfParquet {
        /// The lake.
        url: String,
    },

    /// A `DATAFUSION_*` environment variable the engine cannot take.
    #[error("the environment variable {variable} sets the engine option {key}: {message}")]
    EngineOption {
        /// The variable, e.g. `DATAFUSION_EXECUTION_TARGET_PARTITIONS`.
        variable: String,
        /// The option, e.g. `datafusion.execution.target_partitions`.
        key: String,
        /// What is wrong with its value.
        message: String,
    },
}

fn unknown_column(column: &str, similar: &[String], columns: &[String]) -> String {
    let quote = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("there is no column `{column}`");
    if !similar.is_empty() {
        text.push_str(&format!("; did you mean {}?", quote(similar)));
    }
    text.push_str(&format!(" The columns are: {}", columns.join(", ")));
    text
}

/// The query crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Error::DataFusion(e)
    }
}
