//! `pstn-lake ddl`: the printed DuckDB statements run in DuckDB and give pstn-lake's numbers; the
//! Spark, Trino and Athena statements carry the partition, the location and the exact types.

use std::path::{Path, PathBuf};

use crate::helpers::*;

/// A lake landed from three simulated days of both tables; returns (tempdir, lake path).
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    let lake = dir.path().join("lake");
    run(&[
        "simulate",
        "--write-pages",
        pages.to_str().unwrap(),
        "--days",
        "3",
        "--calls-per-day",
        "60",
        "--first-day",
        "2026-03-01",
    ])
    .ok();
    ingest(&pages, &lake);
    (dir, lake)
}

fn ddl(lake: &Path, args: &[&str]) -> Run {
    let mut all = vec!["ddl", "--lake", lake.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

/// Runs `statements` in a fresh DuckDB, then `queries`, printing each row as CSV.
fn duckdb(statements: &str, queries: &[&str]) -> String {
    let script = r#"
import json, sys
import duckdb
con = duckdb.connect()
con.execute(sys.argv[1])
for query in json.loads(sys.argv[2]):
    for row in con.sql(query).fetchall():
        print(",".join("" if v is None else str(v) for v in row))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(statements)
        .arg(serde_json::to_string(queries).unwrap())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB from Python is needed for this test (scripts/test installs it: pip install duckdb): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// pstn-lake's own answer to `query`, as CSV lines without the header.
fn pstn_lake(lake: &Path, query: &str) -> String {
    sql_rows(lake, query)
        .into_iter()
        .map(|row| row.join(",") + "\n")
        .collect()
}

#[test]
fn duckdb_runs_the_printed_statements_and_gets_the_same_numbers() {
    let (_dir, lake) = fixture();
    let statements = ddl(&lake, &["--engine", "duckdb"]).ok().stdout;
    assert!(
        statements.contains("hive_types = {'call_date': DATE}"),
        "{statements}"
    );

    // Counts, exact sums and days: DuckDB through the views vs pstn-lake.
    let pstn = "SELECT count(*), count(DISTINCT id), CAST(sum(charge) AS VARCHAR), \
                CAST(sum(connection_charge) AS VARCHAR), sum(duration), \
                CAST(min(call_date) AS VARCHAR), CAST(max(call_date) AS VARCHAR) FROM pstn_calls";
    let by_currency = "SELECT currency, count(*), CAST(sum(charge) AS VARCHAR) FROM pstn_calls \
                       GROUP BY currency ORDER BY currency";
    let direct = "SELECT count(*), count(DISTINCT id), sum(duration), sum(final_sip_code), \
                  CAST(min(call_date) AS VARCHAR), CAST(max(call_date) AS VARCHAR) \
                  FROM direct_routing_calls";
    let days = "SELECT CAST(call_date AS VARCHAR) AS day, count(*) FROM pstn_calls \
                GROUP BY call_date ORDER BY call_date";
    let duck = duckdb(&statements, &[pstn, by_currency, direct, days]);
    let ours: String = [pstn, by_currency, direct, days]
        .iter()
        .map(|q| pstn_lake(&lake, q))
        .collect();
    assert_eq!(duck, ours);
    let totals = ours.lines().next().unwrap();
    assert!(totals.starts_with("180,180,"), "{totals}");
    assert!(totals.ends_with(",2026-03-01,2026-03-03"), "{totals}");
    assert!(ours.lines().count() > 5, "{ours}");

    // The instants are the same: the first start time in microseconds since the epoch.
    let duck_start = duckdb(
        &statements,
        &["SELECT epoch_us(min(start_date_time)) FROM pstn_calls"],
    );
    let our_start = pstn_lake(
        &lake,
        "SELECT CAST(min(start_date_time) AS BIGINT) FROM pstn_calls",
    );
    assert_eq!(duck_start, our_start);

    // DuckDB sees the exact types.
    let types = duckdb(
        &statements,
        &[
            "SELECT table_name, column_name, data_type FROM information_schema.columns \
           WHERE column_name IN ('charge', 'start_date_time', 'duration', 'call_date', \
           'administrative_unit_infos', 'successful_call') \
           ORDER BY table_name, column_name",
        ],
    );
    assert_eq!(
        types,
        "direct_routing_calls,administrative_unit_infos,STRUCT(id VARCHAR)[]\n\
         direct_routing_calls,call_date,DATE\n\
         direct_routing_calls,duration,INTEGER\n\
         direct_routing_calls,start_date_time,TIMESTAMP WITH TIME ZONE\n\
         direct_routing_calls,successful_call,BOOLEAN\n\
         pstn_calls,administrative_unit_infos,STRUCT(id VARCHAR)[]\n\
         pstn_calls,call_date,DATE\n\
         pstn_calls,charge,DECIMAL(18,6)\n\
         pstn_calls,duration,INTEGER\n\
         pstn_calls,start_date_time,TIMESTAMP WITH TIME ZONE\n"
    );
}

#[test]
fn duckdb_statements_for_a_table_without_data_are_left_commented() {
    let (_dir, lake) = fixture();
    let empty = lake.parent().unwrap().join("empty");
    lake_without_rows(&empty);
    let statements = ddl(&empty, &["--engine", "duckdb"]).ok().stdout;
    assert!(
        statements.contains("-- pstn_calls: no data in the lake yet"),
        "{statements}"
    );
    assert!(
        !statements
            .lines()
            .any(|l| l.starts_with("CREATE") || l.starts_with("SELECT")),
        "{statements}"
    );
    // Still valid input for DuckDB (nothing but comments).
    assert_eq!(duckdb(&statements, &["SELECT 1"]), "1\n");

    // --tables picks the tables.
    let one = ddl(
        &lake,
        &["--engine", "duckdb", "--tables", "direct_routing_calls"],
    )
    .ok()
    .stdout;
    assert!(
        one.contains("CREATE OR REPLACE VIEW \"direct_routing_calls\""),
        "{one}"
    );
    assert!(!one.contains("\"pstn_calls\""), "{one}");
}

#[test]
fn spark_trino_and_athena_statements_carry_partition_location_and_types() {
    let (_dir, lake) = fixture();
    let root = format!("file://{}", lake.display());

    let spark = ddl(&lake, &["--engine", "spark"]).ok().stdout;
    for clause in [
        "CREATE TABLE IF NOT EXISTS `pstn_calls` (\n  `id` STRING,".to_owned(),
        "  `charge` DECIMAL(18,6),".to_owned(),
        "  `start_date_time` TIMESTAMP,".to_owned(),
        "  `administrative_unit_infos` ARRAY<STRUCT<id: STRING>>,".to_owned(),
        "  `call_date` DATE\n)\nUSING PARQUET\nPARTITIONED BY (`call_date`)".to_owned(),
        format!("LOCATION '{root}/pstn_calls';\nMSCK REPAIR TABLE `pstn_calls`;"),
        format!("LOCATION '{root}/direct_routing_calls';"),
        "  `successful_call` BOOLEAN,".to_owned(),
    ] {
        assert!(spark.contains(&clause), "`{clause}` not in:\n{spark}");
    }
    let spark_s3 = ddl(
        &lake,
        &["--engine", "spark", "--location", "s3://finance/teams/"],
    )
    .ok()
    .stdout;
    assert!(
        spark_s3.contains("LOCATION 's3a://finance/teams/pstn_calls';"),
        "{spark_s3}"
    );

    let trino = ddl(&lake, &["--engine", "trino", "--schema", "telephony"])
        .ok()
        .stdout;
    for clause in [
        "CREATE SCHEMA IF NOT EXISTS \"hive\".\"telephony\";".to_owned(),
        "CREATE TABLE IF NOT EXISTS \"hive\".\"telephony\".\"pstn_calls\" (".to_owned(),
        "  \"charge\" decimal(18,6),".to_owned(),
        "  \"administrative_unit_infos\" array(row(id varchar)),".to_owned(),
        // The partition column is the last column, as Trino requires.
        "  \"extra_properties\" varchar,\n  \"call_date\" date\n)\nWITH (".to_owned(),
        "  format = 'PARQUET',\n  partitioned_by = ARRAY['call_date'],".to_owned(),
        format!("  external_location = '{root}/pstn_calls'\n);"),
        "CALL \"hive\".system.sync_partition_metadata(schema_name => 'telephony', \
         table_name => 'pstn_calls', mode => 'FULL');"
            .to_owned(),
        "hive.timestamp-precision=MICROSECONDS".to_owned(),
    ] {
        assert!(trino.contains(&clause), "`{clause}` not in:\n{trino}");
    }
    let trino_az = ddl(
        &lake,
        &[
            "--engine",
            "trino",
            "--location",
            "abfss://lake@acme.dfs.core.windows.net/teams",
        ],
    )
    .ok()
    .stdout;
    assert!(
        trino_az.contains(
            "external_location = 'abfss://lake@acme.dfs.core.windows.net/teams/pstn_calls'"
        ),
        "{trino_az}"
    );
    assert!(
        trino_az.contains("CREATE TABLE IF NOT EXISTS \"hive\".\"default\".\"pstn_calls\""),
        "{trino_az}"
    );

    let athena = ddl(
        &lake,
        &["--engine", "athena", "--location", "s3://finance/teams"],
    )
    .ok()
    .stdout;
    for clause in [
        "CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`pstn_calls` (",
        "  `charge` decimal(18,6),",
        "  `start_date_time` timestamp,",
        "  `administrative_unit_infos` array<struct<id:string>>,",
        "  `extra_properties` string\n)\nPARTITIONED BY (`call_date` date)\nSTORED AS PARQUET",
        "LOCATION 's3://finance/teams/pstn_calls/'",
        "  'projection.enabled' = 'true',",
        "  'projection.call_date.type' = 'date',",
        "  'projection.call_date.format' = 'yyyy-MM-dd',",
        // The range starts at the lake's first day.
        "  'projection.call_date.range' = '2026-03-01,NOW',",
        "  'projection.call_date.interval' = '1',",
        "  'projection.call_date.interval.unit' = 'DAYS',",
        "  'storage.location.template' = 's3://finance/teams/pstn_calls/call_date=${call_date}/'",
    ] {
        assert!(athena.contains(clause), "`{clause}` not in:\n{athena}");
    }
    // In Athena the partition column is declared only in PARTITIONED BY.
    assert_eq!(athena.matches("`call_date`").count(), 2, "{athena}");
}

#[test]
fn athena_refuses_a_lake_that_is_not_on_s3() {
    let (_dir, lake) = fixture();
    let out = ddl(&lake, &["--engine", "athena"]).fails();
    assert!(
        out.stderr.contains("Athena reads only Amazon S3")
            && out.stderr.contains("--location s3://"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let out = ddl(&lake, &["--engine", "oracle"]).fails();
    assert!(
        out.stderr.contains("duckdb, spark, trino, athena"),
        "{}",
        out.stderr
    );
}
