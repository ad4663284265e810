//! The sink's view of each Graph table: key, partition columns, sort order, and the columns
//! written without statistics or a dictionary.

use pstn_lake_fetch::Table;
use pstn_lake_sink::TableSpec;

/// The sink's view of a Graph table.
pub fn table_spec(table: Table) -> TableSpec {
    let schema = table.schema();
    let columns = |keep: fn(&str) -> bool| -> Vec<String> {
        schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|name| keep(name))
            .collect()
    };
    let (no_statistics, no_dictionary) = (columns(without_statistics), columns(without_dictionary));
    TableSpec::new(
        table.name(),
        schema,
        table.key(),
        table.partition_columns().iter().copied(),
        table.sort_by(),
    )
    .with_no_statistics(no_statistics)
    .with_no_dictionary(no_dictionary)
}

/// Columns whose values are (nearly) unique within a day: identifiers, phone numbers, addresses
/// and timestamps. A dictionary for them costs hashing and memory, and the writer drops it once it
/// outgrows a page anyway.
fn without_dictionary(column: &str) -> bool {
    matches!(
        column,
        "id" | "call_id"
            | "correlation_id"
            | "transferor_correlation_id"
            | "conference_id"
            | "remediation_id"
            | "sms_id"
            | pstn_lake_fetch::ROW_KEY
    ) || column.ends_with("_number")
        || column.ends_with("_address")
        || column.ends_with("_date_time")
}

/// Identifiers, phone numbers, addresses, names and the JSON of unknown properties: string columns
/// whose min/max prune nothing in a file sorted by time, and cost 9% of a landing to compute
/// (docs/performance-notes.md). Codes, currencies, countries, call types and trunks keep their
/// statistics.
fn without_statistics(column: &str) -> bool {
    column == "id"
        || column == pstn_lake_fetch::ROW_KEY
        || column.ends_with("_id")
        || column.ends_with("_number")
        || column.ends_with("_address")
        || matches!(
            column,
            "user_principal_name"
                | "user_display_name"
                | "destination_name"
                | pstn_lake_fetch::EXTRA_PROPERTIES
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Graph's side (which table is read as snapshots) and the lake's (which tables are
    /// partitioned by `snapshot_date`) name the same tables.
    #[test]
    fn the_snapshot_tables_are_the_lakes_snapshot_date_tables() {
        for table in Table::ALL {
            assert_eq!(
                table.is_snapshot(),
                pstn_lake_sink::SNAPSHOT_TABLES.contains(&table.name()),
                "{table}"
            );
        }
    }

    #[test]
    fn identifiers_and_free_text_go_without_statistics_codes_keep_them() {
        let pstn = table_spec(Table::PstnCalls).no_statistics;
        for column in [
            "id",
            "call_id",
            "caller_number",
            "user_principal_name",
            "extra_properties",
        ] {
            assert!(pstn.iter().any(|c| c == column), "{column}");
        }
        for column in [
            "currency",
            "usage_country_code",
            "call_type",
            "start_date_time",
            "charge",
        ] {
            assert!(!pstn.iter().any(|c| c == column), "{column}");
        }
        let dr = table_spec(Table::DirectRoutingCalls).no_statistics;
        assert!(dr.iter().any(|c| c == "correlation_id"));
        assert!(!dr.iter().any(|c| c == "trunk_fully_qualified_domain_name"));
    }

    #[test]
    fn unique_columns_go_without_a_dictionary_repeated_ones_keep_it() {
        let pstn = table_spec(Table::PstnCalls).no_dictionary;
        for column in [
            "id",
            "call_id",
            "caller_number",
            "callee_number",
            "start_date_time",
            "end_date_time",
            "client_public_ip_v4_address",
        ] {
            assert!(pstn.iter().any(|c| c == column), "{column}");
        }
        for column in [
            "user_id",
            "user_principal_name",
            "currency",
            "usage_country_code",
            "charge",
            "duration",
        ] {
            assert!(!pstn.iter().any(|c| c == column), "{column}");
        }
        let dr = table_spec(Table::DirectRoutingCalls).no_dictionary;
        for column in ["correlation_id", "invite_date_time", "failure_date_time"] {
            assert!(dr.iter().any(|c| c == column), "{column}");
        }
        assert!(!dr.iter().any(|c| c == "trunk_fully_qualified_domain_name"));
    }
}
