//! The statements of each engine, and the Arrow → engine type mapping.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use arrow::datatypes::{DataType, Field};

use super::{Engine, LakeDdl, Store, TableDdl};

impl TableDdl {
    /// The table's partition column (a `DATE`; the folders `call_date=YYYY-MM-DD`, or
    /// `snapshot_date=` for the directory's snapshots).
    fn partition(&self) -> &'static str {
        pstn_lake_sink::partition_column(self.table.name())
    }
}

/// Every statement for the lake, with comments saying what each engine does with the types.
pub fn render(ddl: &LakeDdl) -> Result<String> {
    let mut out = String::new();
    let names: Vec<&str> = ddl.tables.iter().map(|t| t.table.name()).collect();
    writeln!(
        out,
        "-- pstn-lake ddl --engine {}: {} over the lake {}",
        engine_name(ddl.engine),
        names.join(", "),
        ddl.lake
    )?;
    if ddl.delta {
        out.push_str(FABRIC);
        match ddl.engine {
            Engine::Duckdb => duckdb_delta(&mut out, ddl)?,
            Engine::Spark => spark_delta(&mut out, ddl)?,
            Engine::Trino => trino_delta(&mut out, ddl)?,
            Engine::Athena => athena_delta(&mut out, ddl)?,
        }
        return Ok(out);
    }
    match ddl.engine {
        Engine::Duckdb => duckdb(&mut out, ddl)?,
        Engine::Spark => spark(&mut out, ddl)?,
        Engine::Trino => trino(&mut out, ddl)?,
        Engine::Athena => athena(&mut out, ddl)?,
    }
    Ok(out)
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Duckdb => "duckdb",
        Engine::Spark => "spark",
        Engine::Trino => "trino",
        Engine::Athena => "athena",
    }
}

/// A SQL string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An identifier quoted the engine's way (always quoted: no engine's reserved words can bite).
fn ident(engine: Engine, name: &str) -> String {
    match engine {
        Engine::Duckdb | Engine::Trino => format!("\"{}\"", name.replace('"', "\"\"")),
        Engine::Spark | Engine::Athena => format!("`{}`", name.replace('`', "``")),
    }
}

/// The engine's type for an Arrow type of a lake column.
pub fn sql_type(engine: Engine, data_type: &DataType) -> Result<String> {
    use Engine::*;
    Ok(match (data_type, engine) {
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Spark) => "STRING".into(),
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Athena) => "string".into(),
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Duckdb) => "VARCHAR".into(),
        (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Trino) => "varchar".into(),
        (DataType::Int32, Duckdb) => "INTEGER".into(),
        (DataType::Int32, Spark) => "INT".into(),
        (DataType::Int32, Trino) => "integer".into(),
        (DataType::Int32, Athena) => "int".into(),
        (DataType::Int64, Duckdb | Spark) => "BIGINT".into(),
        (DataType::Int64, Trino | Athena) => "bigint".into(),
        (DataType::Boolean, Duckdb | Spark) => "BOOLEAN".into(),
        (DataType::Boolean, Trino | Athena) => "boolean".into(),
        (DataType::Decimal128(p, s), Duckdb | Spark) => format!("DECIMAL({p},{s})"),
        (DataType::Decimal128(p, s), Trino | Athena) => format!("decimal({p},{s})"),
        (DataType::Date32, Duckdb | Spark) => "DATE".into(),
        (DataType::Date32, Trino | Athena) => "date".into(),
        // Only DuckDB has an instant type for Parquet's UTC-adjusted timestamps; Spark's
        // TIMESTAMP is an instant too (shown in the session time zone); Trino's Hive connector
        // and Athena have zone-less TIMESTAMPs only, which then hold UTC times.
        (DataType::Timestamp(_, Some(_)), Duckdb) => "TIMESTAMP WITH TIME ZONE".into(),
        (DataType::Timestamp(_, None), Duckdb) => "TIMESTAMP".into(),
        (DataType::Timestamp(_, _), Spark) => "TIMESTAMP".into(),
        (DataType::Timestamp(_, _), Trino | Athena) => "timestamp".into(),
        (DataType::List(item) | DataType::LargeList(item), _) => {
            let item = sql_type(engine, item.data_type())?;
            match engine {
                Duckdb => format!("{item}[]"),
                Spark => format!("ARRAY<{item}>"),
                Trino => format!("array({item})"),
                Athena => format!("array<{item}>"),
            }
        }
        (DataType::Struct(fields), _) => {
            let fields = fields
                .iter()
                .map(|f| {
                    let name = field_name(f)?;
                    let ty = sql_type(engine, f.data_type())?;
                    Ok(match engine {
                        Duckdb | Trino => format!("{name} {ty}"),
                        Spark => format!("{name}: {ty}"),
                        Athena => format!("{name}:{ty}"),
                    })
                })
                .collect::<Result<Vec<_>>>()?
                .join(", ");
            match engine {
                Duckdb => format!("STRUCT({fields})"),
                Spark => format!("STRUCT<{fields}>"),
                Trino => format!("row({fields})"),
                Athena => format!("struct<{fields}>"),
            }
        }
        (other, _) => bail!(
            "pstn-lake ddl cannot map the Arrow type {other} to {}",
            engine_name(engine)
        ),
    })
}

/// A struct field's name, written unquoted (Athena's `struct<…>` has no quoting), so it must be
/// a plain lowercase name.
fn field_name(field: &Field) -> Result<&str> {
    let name = field.name().as_str();
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        bail!("the struct field `{name}` needs quoting, which pstn-lake ddl does not do");
    }
    Ok(name)
}

/// `  "col" type,` lines for every column of a table; the partition column last when asked.
fn columns(engine: Engine, table: &TableDdl, with_partition: bool) -> Result<String> {
    let schema = table.table.schema();
    let mut lines = Vec::new();
    for field in schema.fields() {
        lines.push(format!(
            "  {} {}",
            ident(engine, field.name()),
            sql_type(engine, field.data_type())?
        ));
    }
    if with_partition {
        lines.push(format!(
            "  {} {}",
            ident(engine, table.partition()),
            sql_type(engine, &DataType::Date32)?
        ));
    }
    Ok(lines.join(",\n"))
}

/// `schema.table`, or just `table` without a schema.
fn qualified(engine: Engine, schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", ident(engine, s), ident(engine, table)),
        None => ident(engine, table),
    }
}

/// Why `engine` cannot register a table before the lake holds a day of it, or `None` when it
/// can (the table then fills in as days land).
pub fn needs_a_day(engine: Engine, delta: bool) -> Option<&'static str> {
    if delta {
        // Every engine reads a Delta table's schema from its log: no log, no table.
        return Some(
            "an engine registers a Delta table from its log, which is written with its first day",
        );
    }
    match engine {
        Engine::Duckdb => Some("DuckDB cannot create a view over no files"),
        Engine::Trino => Some(
            "Trino's Hive connector refuses an external_location that does not exist (and \
             sync_partition_metadata fails on it)",
        ),
        Engine::Spark | Engine::Athena => None,
    }
}

/// What the statements do with `table`, of which the lake holds no day yet, and what to do
/// once it has one: for the script's comment and the note on stderr.
pub fn waiting(ddl: &LakeDdl, table: &TableDdl) -> String {
    if let Some(reason) = needs_a_day(ddl.engine, ddl.delta) {
        return format!(
            "{reason}, so its statements are left commented out: run pstn-lake ddl again once \
             it has a day"
        );
    }
    match ddl.engine {
        Engine::Spark => format!(
            "its table is created empty; once its first day has landed, run MSCK REPAIR TABLE {} \
             (before, the folder does not exist and MSCK REPAIR fails)",
            qualified(Engine::Spark, ddl.schema.as_deref(), table.table.name())
        ),
        _ => "its table is created empty and partition projection finds its days as they land, \
              from a year back (after landing older days, run pstn-lake ddl again)"
            .to_owned(),
    }
}

fn days_note(out: &mut String, ddl: &LakeDdl, table: &TableDdl) -> Result<()> {
    match (table.days.first(), table.days.last()) {
        (Some(first), Some(last)) => writeln!(
            out,
            "\n-- {}: {} days, {first} to {last}",
            table.table,
            table.days.len()
        )?,
        _ => writeln!(
            out,
            "\n-- {}: no data in the lake yet: {}.",
            table.table,
            waiting(ddl, table)
        )?,
    }
    Ok(())
}

/// Writes the statement `text`, or comments it out when it cannot run yet (its table has no day).
fn statement(out: &mut String, text: &str, runs: bool) -> Result<()> {
    for line in text.lines() {
        let comment = if runs { "" } else { "-- " };
        writeln!(out, "{comment}{line}")?;
    }
    Ok(())
}

fn duckdb(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Duckdb;
    out.push_str(
        "-- Views over the Parquet files with Hive partitioning; run them in any DuckDB session.\n\
         -- Types come from the files: money DECIMAL(18,6), times TIMESTAMP WITH TIME ZONE (UTC\n\
         -- instants, shown in the session's TimeZone: SET TimeZone = 'UTC' to see UTC),\n\
         -- administrative_unit_infos STRUCT(id VARCHAR)[], call_date DATE.\n",
    );
    duckdb_store(out, ddl)?;
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        let partition = table.partition();
        let files = format!("{}/{partition}=*/*.parquet", table.location);
        let view = format!(
            "CREATE OR REPLACE VIEW {} AS\nSELECT * FROM read_parquet({}, hive_partitioning = true, hive_types = {{'{partition}': DATE}});",
            ident(e, table.table.name()),
            literal(&files)
        );
        // DuckDB checks the files when it creates the view: with none it fails.
        statement(out, &view, !table.days.is_empty())?;
    }
    Ok(())
}

/// What DuckDB needs to reach the lake's store (extensions and a secret), as comments.
fn duckdb_store(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    match &ddl.store {
        Store::S3 { .. } => out.push_str(
            "-- S3 needs the httpfs extension and credentials, e.g.:\n\
             --   INSTALL httpfs; LOAD httpfs;\n\
             --   CREATE SECRET (TYPE s3, PROVIDER credential_chain);\n\
             --   or, for an S3-compatible server:\n\
             --   CREATE SECRET (TYPE s3, KEY_ID '…', SECRET '…', REGION '…',\n\
             --                  ENDPOINT 'host:port', URL_STYLE 'path', USE_SSL false);\n",
        ),
        Store::Azure { account, .. } => {
            let account = account.as_deref().unwrap_or("ACCOUNT");
            writeln!(
                out,
                "-- Azure needs the azure extension and a secret for the account, e.g.:\n\
                 --   INSTALL azure; LOAD azure;\n\
                 --   CREATE SECRET (TYPE azure, PROVIDER credential_chain, ACCOUNT_NAME '{account}');\n\
                 --   or CREATE SECRET (TYPE azure, CONNECTION_STRING '…');"
            )?;
        }
        Store::Gcs { .. } => out.push_str(
            "-- GCS needs the httpfs extension and an HMAC key, e.g.:\n\
             --   INSTALL httpfs; LOAD httpfs;\n\
             --   CREATE SECRET (TYPE gcs, KEY_ID '…', SECRET '…');\n",
        ),
        Store::Local(_) => {}
    }
    Ok(())
}

/// What every Spark script says about S3, and the database it creates when `--schema` names one.
fn spark_database(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    if let Store::S3 { .. } = ddl.store {
        out.push_str(
            "-- S3 is read through Hadoop's s3a:// (on EMR and Databricks s3:// works too).\n",
        );
    }
    if let Some(schema) = &ddl.schema {
        writeln!(
            out,
            "\nCREATE DATABASE IF NOT EXISTS {};",
            ident(Engine::Spark, schema)
        )?;
    }
    Ok(())
}

fn spark(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Spark;
    out.push_str(
        "-- Spark SQL (with a Hive metastore or the session catalog): external Parquet tables,\n\
         -- partitioned by call_date; MSCK REPAIR TABLE registers the days (run it again after\n\
         -- new days land, or ALTER TABLE … RECOVER PARTITIONS).\n\
         -- Times are TIMESTAMP, Spark's instant type (TIMESTAMP_LTZ): the files hold UTC instants,\n\
         -- shown in spark.sql.session.timeZone (SET spark.sql.session.timeZone = UTC to see UTC).\n\
         -- Money is DECIMAL(18,6), exact.\n",
    );
    spark_database(out, ddl)?;
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        let name = qualified(e, ddl.schema.as_deref(), table.table.name());
        // Spark creates an external table over a folder that does not exist (and reads it as
        // empty); MSCK REPAIR lists the folder, so it waits for the first day.
        writeln!(
            out,
            "CREATE TABLE IF NOT EXISTS {name} (\n{}\n)\nUSING PARQUET\nPARTITIONED BY ({})\nLOCATION {};",
            columns(e, table, true)?,
            ident(e, table.partition()),
            literal(&table.location)
        )?;
        statement(
            out,
            &format!("MSCK REPAIR TABLE {name};"),
            !table.days.is_empty(),
        )?;
    }
    Ok(())
}

fn trino(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Trino;
    let schema = ddl.schema.as_deref().unwrap_or("default");
    writeln!(
        out,
        "-- Trino, Hive connector (catalog {catalog}): external Parquet tables partitioned by\n\
         -- call_date (Trino requires partition columns last); sync_partition_metadata registers\n\
         -- the days (call it again after new days land).\n\
         -- The Hive connector has no TIMESTAMP WITH TIME ZONE column: times are TIMESTAMP holding\n\
         -- UTC times. In the catalog's properties set hive.parquet.time-zone=UTC (else they are\n\
         -- shifted to the JVM's zone) and hive.timestamp-precision=MICROSECONDS (else rounded to\n\
         -- milliseconds). Money is decimal(18,6), exact.",
        catalog = ddl.catalog
    )?;
    if let Store::Local(_) = ddl.store {
        out.push_str(
            "-- A local folder must be the same path on every Trino worker (or pass --location).\n",
        );
    }
    let schema_name = format!("{}.{}", ident(e, &ddl.catalog), ident(e, schema));
    if schema != "default" {
        writeln!(out, "\nCREATE SCHEMA IF NOT EXISTS {schema_name};")?;
    }
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        let statements = format!(
            "CREATE TABLE IF NOT EXISTS {schema_name}.{} (\n{}\n)\nWITH (\n  format = 'PARQUET',\n  partitioned_by = ARRAY[{}],\n  external_location = {}\n);\n\
             CALL {}.system.sync_partition_metadata(schema_name => {}, table_name => {}, mode => 'FULL');",
            ident(e, table.table.name()),
            columns(e, table, true)?,
            literal(table.partition()),
            literal(&table.location),
            ident(e, &ddl.catalog),
            literal(schema),
            literal(table.table.name()),
        );
        statement(out, &statements, !table.days.is_empty())?;
    }
    Ok(())
}

fn athena(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Athena;
    let schema = ddl.schema.as_deref().unwrap_or("default");
    out.push_str(
        "-- Amazon Athena: external Parquet tables with partition projection on call_date, so new\n\
         -- days are found without MSCK REPAIR or a crawler. Run the statements one at a time.\n\
         -- Athena's TIMESTAMP has no time zone: times read as UTC, at millisecond precision.\n\
         -- Money is decimal(18,6), exact.\n",
    );
    if schema != "default" {
        writeln!(out, "\nCREATE DATABASE IF NOT EXISTS {};", ident(e, schema))?;
    }
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        // Days before the range are not projected: re-run after a backfill of older days.
        let start = table
            .days
            .first()
            .map_or_else(|| "NOW-1YEARS".to_owned(), ToString::to_string);
        let location = format!("{}/", table.location);
        let partition = table.partition();
        let template = format!("{location}{partition}=${{{partition}}}/");
        let projection = |key: &str| format!("projection.{partition}.{key}");
        let properties = [
            ("projection.enabled".to_owned(), "true".to_owned()),
            (projection("type"), "date".to_owned()),
            (projection("format"), "yyyy-MM-dd".to_owned()),
            (projection("range"), format!("{start},NOW")),
            (projection("interval"), "1".to_owned()),
            (projection("interval.unit"), "DAYS".to_owned()),
            ("storage.location.template".to_owned(), template),
        ]
        .iter()
        .map(|(k, v)| format!("  {} = {}", literal(k), literal(v)))
        .collect::<Vec<_>>()
        .join(",\n");
        writeln!(
            out,
            "CREATE EXTERNAL TABLE IF NOT EXISTS {} (\n{}\n)\nPARTITIONED BY ({} {})\nSTORED AS PARQUET\nLOCATION {}\nTBLPROPERTIES (\n{properties}\n);",
            qualified(e, Some(schema), table.table.name()),
            columns(e, table, false)?,
            ident(e, table.partition()),
            sql_type(e, &DataType::Date32)?,
            literal(&location),
        )?;
    }
    Ok(())
}

/// The Fabric note every Delta script starts with.
const FABRIC: &str = "\
-- Delta tables: each engine reads a table's schema, partitioning and current files from its\n\
-- _delta_log. Microsoft Fabric needs no statement: a lakehouse lists the Delta tables under its\n\
-- Tables/ folder on its own (sync straight into\n\
-- abfss://WORKSPACE@onelake.dfs.fabric.microsoft.com/LAKEHOUSE.Lakehouse/Tables), and a lake\n\
-- elsewhere (ADLS Gen2, S3, GCS) appears there through a OneLake shortcut to each table folder.\n";

fn duckdb_delta(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Duckdb;
    out.push_str(
        "-- DuckDB: a view per table over delta_scan (the delta extension: INSTALL delta; once per\n\
         -- machine), which reads the table's latest version each time the view is queried.\n\
         -- Money DECIMAL(18,6), times TIMESTAMP WITH TIME ZONE (UTC instants), call_date DATE.\n\
         LOAD delta;\n",
    );
    duckdb_store(out, ddl)?;
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        let view = format!(
            "CREATE OR REPLACE VIEW {} AS\nSELECT * FROM delta_scan({});",
            ident(e, table.table.name()),
            literal(&table.location)
        );
        statement(out, &view, !table.days.is_empty())?;
    }
    Ok(())
}

fn spark_delta(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Spark;
    out.push_str(
        "-- Spark SQL with Delta Lake (Databricks, or Spark with delta-spark and its session\n\
         -- extension and catalog configured): tables over the Delta locations; the schema and the\n\
         -- call_date partitioning come from the log, and new versions are seen without a repair.\n\
         -- Time travel: SELECT … FROM name VERSION AS OF 12 (pstn-lake history lists versions).\n",
    );
    spark_database(out, ddl)?;
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {}\nUSING DELTA\nLOCATION {};",
            qualified(e, ddl.schema.as_deref(), table.table.name()),
            literal(&table.location)
        );
        statement(out, &create, !table.days.is_empty())?;
    }
    Ok(())
}

fn trino_delta(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Trino;
    let schema = ddl.schema.as_deref().unwrap_or("default");
    writeln!(
        out,
        "-- Trino, Delta Lake connector (catalog {catalog}): register_table points a table at its\n\
         -- Delta location; the schema and partitioning come from the log. The catalog needs\n\
         -- delta.register-table-procedure.enabled=true. Times are TIMESTAMP(3) WITH TIME ZONE\n\
         -- (the connector reads microseconds as milliseconds); money is decimal(18,6), exact.",
        catalog = ddl.catalog
    )?;
    if let Store::Local(_) = ddl.store {
        out.push_str(
            "-- A local folder must be the same path on every Trino worker (or pass --location).\n",
        );
    }
    if schema != "default" {
        writeln!(
            out,
            "\nCREATE SCHEMA IF NOT EXISTS {}.{};",
            ident(e, &ddl.catalog),
            ident(e, schema)
        )?;
    }
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        let call = format!(
            "CALL {}.system.register_table(schema_name => {}, table_name => {}, table_location => {});",
            ident(e, &ddl.catalog),
            literal(schema),
            literal(table.table.name()),
            literal(&table.location),
        );
        statement(out, &call, !table.days.is_empty())?;
    }
    Ok(())
}

fn athena_delta(out: &mut String, ddl: &LakeDdl) -> Result<()> {
    let e = Engine::Athena;
    let schema = ddl.schema.as_deref().unwrap_or("default");
    out.push_str(
        "-- Amazon Athena (engine version 3): Delta tables in the Glue catalog, read natively; the\n\
         -- schema and partitions come from the log, so no column list and no partition repair.\n\
         -- Run the statements one at a time.\n",
    );
    if schema != "default" {
        writeln!(out, "\nCREATE DATABASE IF NOT EXISTS {};", ident(e, schema))?;
    }
    for table in &ddl.tables {
        days_note(out, ddl, table)?;
        let create = format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {}\nLOCATION {}\nTBLPROPERTIES ('table_type' = 'DELTA');",
            qualified(e, Some(schema), table.table.name()),
            literal(&format!("{}/", table.location)),
        );
        statement(out, &create, !table.days.is_empty())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;
    use pstn_lake_fetch::Table;

    #[test]
    fn lake_types_map_exactly() {
        let schema = Table::PstnCalls.schema();
        let ty = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
        let cases = [
            (
                "charge",
                [
                    "DECIMAL(18,6)",
                    "DECIMAL(18,6)",
                    "decimal(18,6)",
                    "decimal(18,6)",
                ],
            ),
            (
                "start_date_time",
                [
                    "TIMESTAMP WITH TIME ZONE",
                    "TIMESTAMP",
                    "timestamp",
                    "timestamp",
                ],
            ),
            ("duration", ["INTEGER", "INT", "integer", "int"]),
            ("id", ["VARCHAR", "STRING", "varchar", "string"]),
            (
                "administrative_unit_infos",
                [
                    "STRUCT(id VARCHAR)[]",
                    "ARRAY<STRUCT<id: STRING>>",
                    "array(row(id varchar))",
                    "array<struct<id:string>>",
                ],
            ),
        ];
        let engines = [Engine::Duckdb, Engine::Spark, Engine::Trino, Engine::Athena];
        for (column, expected) in cases {
            for (engine, want) in engines.iter().zip(expected) {
                assert_eq!(sql_type(*engine, &ty(column)).unwrap(), want, "{column}");
            }
        }
        let dr = Table::DirectRoutingCalls.schema();
        let ok = dr.field_with_name("successful_call").unwrap().data_type();
        assert_eq!(sql_type(Engine::Trino, ok).unwrap(), "boolean");
        assert_eq!(
            sql_type(
                Engine::Duckdb,
                &DataType::Timestamp(TimeUnit::Microsecond, None)
            )
            .unwrap(),
            "TIMESTAMP"
        );
        assert!(sql_type(Engine::Spark, &DataType::Float16).is_err());
    }

    #[test]
    fn identifiers_are_quoted_per_engine() {
        assert_eq!(ident(Engine::Duckdb, "a\"b"), "\"a\"\"b\"");
        assert_eq!(ident(Engine::Athena, "a`b"), "`a``b`");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
