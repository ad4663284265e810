//! What the sink needs to know about a table.

use arrow::datatypes::SchemaRef;

/// A lake table: its schema, row key, partitioning and sort order.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// The table's folder name under the lake.
    pub name: String,
    /// The schema every file of the table is written with.
    pub schema: SchemaRef,
    /// The Utf8 column that identifies a row (`id`): the key of de-duplication and merge.
    pub key: String,
    /// Timestamp columns whose UTC date is the row's `call_date`; the first non-null one wins.
    pub partition_by: Vec<String>,
    /// The timestamp column rows are sorted by within a day (nulls last, then by key).
    pub sort_by: String,
    /// Columns written without min/max statistics (identifiers, phone numbers, free text): in a
    /// file sorted by time their pages span nearly every value, so the statistics prune nothing,
    /// and computing them costs string comparisons on every value.
    pub no_statistics: Vec<String>,
    /// Columns written without dictionary encoding: values that are (nearly) unique within a day,
    /// such as identifiers and timestamps, where a dictionary only costs hashing and memory
    /// before the writer gives up on it.
    pub no_dictionary: Vec<String>,
}

impl TableSpec {
    /// A table spec.
    pub fn new<I, S>(
        name: impl Into<String>,
        schema: SchemaRef,
        key: impl Into<String>,
        partition_by: I,
        sort_by: impl Into<String>,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            schema,
            key: key.into(),
            partition_by: partition_by.into_iter().map(Into::into).collect(),
            sort_by: sort_by.into(),
            no_statistics: Vec::new(),
            no_dictionary: Vec::new(),
        }
    }

    /// Writes these columns without statistics (see [`TableSpec::no_statistics`]).
    pub fn with_no_statistics<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.no_statistics = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Writes these columns without dictionary encoding (see [`TableSpec::no_dictionary`]).
    pub fn with_no_dictionary<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.no_dictionary = columns.into_iter().map(Into::into).collect();
        self
    }
}
