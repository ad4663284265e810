//! `pstn-lake ddl`: the printed DuckDB statements run in DuckDB and the Spark statements in a
//! local Spark, on lakes holding any of the tables, and give pstn-lake's numbers; the Spark,
//! Trino and Athena statements carry the partition, the location and the exact types.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::helpers::*;

/// A temporary folder holding three simulated days (60 calls a day) of both tables' pages, under
/// `pages/<table>/`.
pub(crate) fn pages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
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
    dir
}

/// The lake `<dir>/<name>` landed from the pages of `tables` (of [`pages`]); with no table, a lake
/// that has a sync state and no table yet.
fn lake_of(dir: &Path, name: &str, tables: &[&str]) -> PathBuf {
    let lake = dir.join(name);
    for table in tables {
        ingest(&dir.join("pages").join(table), &lake);
    }
    if tables.is_empty() {
        lake_without_rows(&lake);
    }
    lake
}

const BOTH: &[&str] = &["pstn_calls", "direct_routing_calls"];

/// A lake landed from three simulated days of both tables; returns (tempdir, lake path).
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = pages();
    let lake = lake_of(dir.path(), "lake", BOTH);
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
fn every_engine_runs_on_a_lake_holding_some_of_the_tables() {
    let dir = pages();
    let pstn_only = lake_of(dir.path(), "pstn-only", &["pstn_calls"]);
    let direct_only = lake_of(dir.path(), "direct-only", &["direct_routing_calls"]);
    let empty = lake_of(dir.path(), "empty", &[]);

    // DuckDB: a view for the table with days; the other's is left commented out, with a note
    // in the script and on stderr, and DuckDB runs the script.
    let out = ddl(&direct_only, &["--engine", "duckdb"]).ok();
    let waiting = "-- pstn_calls: no data in the lake yet: DuckDB cannot create a view over no \
                   files, so its statements are left commented out: run pstn-lake ddl again \
                   once it has a day.\n-- CREATE OR REPLACE VIEW \"pstn_calls\" AS\n-- SELECT";
    assert!(out.stdout.contains(waiting), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("note: the lake holds no day of pstn_calls yet: DuckDB cannot"),
        "{}",
        out.stderr
    );
    let query = "SELECT count(*), CAST(min(call_date) AS VARCHAR) FROM direct_routing_calls";
    assert_eq!(duckdb(&out.stdout, &[query]), "180,2026-03-01\n");
    let tables = duckdb(
        &out.stdout,
        &["SELECT table_name FROM information_schema.tables"],
    );
    assert_eq!(tables, "direct_routing_calls\n");

    // Trino: the same, both of the table's statements commented out.
    let trino = ddl(&pstn_only, &["--engine", "trino"]).ok().stdout;
    assert!(
        trino.contains("-- CREATE TABLE IF NOT EXISTS \"hive\".\"default\".\"direct_routing_calls\" (")
            && trino.contains("-- CALL \"hive\".system.sync_partition_metadata(schema_name => 'default', table_name => 'direct_routing_calls'")
            && trino.contains("\nCREATE TABLE IF NOT EXISTS \"hive\".\"default\".\"pstn_calls\" (")
            && trino.contains("\nCALL \"hive\".system.sync_partition_metadata(schema_name => 'default', table_name => 'pstn_calls'"),
        "{trino}"
    );

    // Spark and Athena register every table, the ones without a day empty: Spark leaves only
    // its MSCK REPAIR commented out (see the Spark test), Athena's projection needs nothing.
    let spark = ddl(&empty, &["--engine", "spark", "--schema", "telephony"]).ok();
    // Every table pstn-lake knows: the two call tables, the three beta-only logs and the
    // directory.
    assert_eq!(
        spark.stdout.matches("\nCREATE TABLE IF NOT EXISTS").count(),
        6
    );
    assert_eq!(
        spark
            .stdout
            .matches("\n-- MSCK REPAIR TABLE `telephony`.")
            .count(),
        6
    );
    // The directory's partition is its snapshot day.
    assert!(
        spark
            .stdout
            .contains("PARTITIONED BY (`snapshot_date`)\nLOCATION"),
        "{}",
        spark.stdout
    );
    assert!(
        spark.stderr.contains(
            "note: the lake holds no day of direct_routing_calls yet: its table is created \
             empty; once its first day has landed, run MSCK REPAIR TABLE \
             `telephony`.`direct_routing_calls`"
        ),
        "{}",
        spark.stderr
    );
    let athena = ddl(
        &pstn_only,
        &[
            "--engine",
            "athena",
            "--tables",
            "direct_routing_calls",
            "--location",
            "s3://finance/teams",
        ],
    )
    .ok();
    assert!(
        athena
            .stdout
            .contains("\nCREATE EXTERNAL TABLE IF NOT EXISTS `default`.`direct_routing_calls` (")
            && athena
                .stdout
                .contains("  'projection.call_date.range' = 'NOW-1YEARS,NOW',"),
        "{}",
        athena.stdout
    );
    assert!(
        athena
            .stderr
            .contains("note: the lake holds no day of direct_routing_calls yet"),
        "{}",
        athena.stderr
    );

    // DuckDB and Trino with nothing to register (no chosen table has a day) fail and say why.
    for (lake, tables) in [
        (&empty, "pstn_calls,direct_routing_calls"),
        (&pstn_only, "direct_routing_calls"),
    ] {
        for engine in ["duckdb", "trino"] {
            let out = ddl(lake, &["--engine", engine, "--tables", tables]).fails();
            assert!(
                out.stderr.contains("nothing to register: the lake")
                    && out.stderr.contains("then run pstn-lake ddl again"),
                "{engine} {tables}: {}",
                out.stderr
            );
            assert!(out.stdout.is_empty(), "{}", out.stdout);
        }
    }
    let out = ddl(&empty, &["--engine", "duckdb"]).fails();
    assert!(
        out.stderr
            .contains("holds no day of pstn_calls or direct_routing_calls or sms_logs or pstn_blocked_users or pstn_dialout_report or users yet, and DuckDB cannot create a view over no files"),
        "{}",
        out.stderr
    );

    // --tables picks the tables.
    let one = ddl(
        &pstn_only,
        &["--engine", "duckdb", "--tables", "pstn_calls"],
    )
    .ok()
    .stdout;
    assert!(
        one.contains("CREATE OR REPLACE VIEW \"pstn_calls\""),
        "{one}"
    );
    assert!(!one.contains("direct_routing_calls"), "{one}");
}

/// Runs Spark scenarios in one local SparkSession (pyspark, loopback only), each in a database
/// of its own; a step runs a printed script (`{"run": text}`), prints a query's rows as CSV
/// lines (`{"query": sql}`), or runs a command (`{"command": [argv…]}`). Returns, per scenario,
/// each query's lines.
fn spark(scenarios: &[Vec<Value>]) -> Vec<Vec<String>> {
    let script = r#"
import json, re, subprocess, sys, tempfile
from pyspark.sql import SparkSession
scenarios = json.load(open(sys.argv[1]))
work = tempfile.mkdtemp(dir=sys.argv[3])
spark = (SparkSession.builder.master("local[1]").appName("pstn-lake ddl test")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.sql.warehouse.dir", work + "/warehouse")
    .config("spark.local.dir", work)
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.shuffle.partitions", "1")
    .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
results = []
for i, steps in enumerate(scenarios):
    spark.sql(f"CREATE DATABASE scenario_{i}")
    spark.sql(f"USE scenario_{i}")
    answers = []
    for step in steps:
        if "run" in step:
            # As spark-sql -f does: statements end with `;` at the end of a line.
            text = "\n".join(l for l in step["run"].splitlines() if not l.startswith("--"))
            for statement in re.split(r";[ \t]*$", text, flags=re.M):
                if statement.strip():
                    spark.sql(statement).collect()
        elif "query" in step:
            rows = spark.sql(step["query"]).collect()
            answers.append("".join(
                ",".join("" if v is None else str(v) for v in row) + "\n" for row in rows))
        else:
            subprocess.run(step["command"], check=True, stdout=subprocess.DEVNULL)
    results.append(answers)
json.dump(results, open(sys.argv[2], "w"))
spark.stop()
"#;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("scenarios.json");
    let output = dir.path().join("answers.json");
    std::fs::write(&input, serde_json::to_string(scenarios).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args([&input, &output, &dir.path().to_owned()])
        .current_dir(dir.path())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "Spark from Python is needed for this test: pyspark (scripts/test installs it: pip install \
         pyspark) and Java 17 (apt-get install openjdk-17-jre-headless): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(output).unwrap()).unwrap()
}

/// The checks of `table` in a Spark scenario, as (Spark's query, pstn-lake's query): counts,
/// exact money sums (decimals cast to text, never floats), the days and their rows, the first
/// start time in microseconds since the epoch, and the partitions Spark registered.
fn spark_checks(table: &str) -> Vec<(String, String)> {
    let money = if table == "pstn_calls" {
        "CAST(sum(charge) AS STRING), CAST(sum(connection_charge) AS STRING)"
    } else {
        "sum(final_sip_code), sum(CASE WHEN successful_call THEN 1 ELSE 0 END)"
    };
    let both = [
        format!(
            "SELECT count(*), count(DISTINCT id), {money}, sum(duration), \
             CAST(min(call_date) AS STRING), CAST(max(call_date) AS STRING) FROM {table}"
        ),
        format!(
            "SELECT CAST(call_date AS STRING) AS day, count(*) FROM {table} GROUP BY call_date \
             ORDER BY call_date"
        ),
    ];
    let mut checks: Vec<(String, String)> = both.into_iter().map(|q| (q.clone(), q)).collect();
    checks.push((
        format!("SELECT unix_micros(min(start_date_time)) FROM {table}"),
        format!("SELECT CAST(min(start_date_time) AS BIGINT) FROM {table}"),
    ));
    checks.push((
        format!("SHOW PARTITIONS {table}"),
        format!(
            "SELECT DISTINCT concat('call_date=', CAST(call_date AS STRING)) AS p \
             FROM {table} ORDER BY p"
        ),
    ));
    checks
}

/// The checks of a table the lake holds no day of: Spark has it registered, empty, without a
/// partition (as (Spark's query, its answer)).
fn spark_empty_checks(table: &str) -> Vec<(String, String)> {
    vec![
        (format!("SELECT count(*) FROM {table}"), "0\n".to_owned()),
        (format!("SHOW PARTITIONS {table}"), String::new()),
    ]
}

/// The Spark steps that ask `checks`.
fn asking(checks: &[(String, String)]) -> impl Iterator<Item = Value> + '_ {
    checks.iter().map(|(theirs, _)| json!({ "query": theirs }))
}

/// pstn-lake's answers to `checks` on `lake`.
fn answers(lake: &Path, checks: &[(String, String)]) -> Vec<String> {
    checks
        .iter()
        .map(|(_, ours)| pstn_lake(lake, ours))
        .collect()
}

#[test]
fn spark_runs_the_printed_statements_on_any_subset_of_tables_and_gets_the_same_numbers() {
    let dir = pages();
    let both = lake_of(dir.path(), "both", BOTH);
    let pstn_only = lake_of(dir.path(), "pstn-only", &["pstn_calls"]);
    let direct_only = lake_of(dir.path(), "direct-only", &["direct_routing_calls"]);
    let empty = lake_of(dir.path(), "empty", &[]);
    let later = lake_of(dir.path(), "later", &["pstn_calls"]);
    let script = |lake: &Path| json!({ "run": ddl(lake, &["--engine", "spark"]).ok().stdout });

    let mut scenarios = Vec::new();
    let mut expected = Vec::new();
    for (lake, held) in [
        (&both, BOTH),
        (&pstn_only, &["pstn_calls"][..]),
        (&direct_only, &["direct_routing_calls"][..]),
        (&empty, &[][..]),
    ] {
        let mut steps = vec![script(lake)];
        let mut answered = Vec::new();
        for table in BOTH {
            if held.contains(table) {
                let checks = spark_checks(table);
                steps.extend(asking(&checks));
                answered.extend(answers(lake, &checks));
            } else {
                let checks = spark_empty_checks(table);
                steps.extend(asking(&checks));
                answered.extend(checks.into_iter().map(|(_, answer)| answer));
            }
        }
        scenarios.push(steps);
        expected.push(answered);
    }

    // Direct Routing lands after the statements ran: its table, created empty, has the rows
    // once MSCK REPAIR TABLE (the statement left commented out) runs.
    let before = spark_empty_checks("direct_routing_calls");
    let after = spark_checks("direct_routing_calls");
    let mut steps = vec![script(&later)];
    steps.extend(asking(&before));
    let direct_pages = dir.path().join("pages/direct_routing_calls");
    steps.push(json!({ "command": [
        env!("CARGO_BIN_EXE_pstn-lake"), "ingest", direct_pages, "--lake", later,
    ]}));
    steps.push(json!({ "run": "MSCK REPAIR TABLE `direct_routing_calls`;" }));
    steps.extend(asking(&after));
    scenarios.push(steps);

    let spark = spark(&scenarios);
    // pstn-lake's answers on `later`, read now that it holds Direct Routing too.
    let mut answered: Vec<String> = before.into_iter().map(|(_, answer)| answer).collect();
    answered.extend(answers(&later, &after));
    expected.push(answered);
    assert_eq!(spark, expected);

    // Not vacuous: the lake with both tables has the simulated rows, days and money.
    let totals = &expected[0][0];
    assert!(totals.starts_with("180,180,"), "{totals}");
    assert!(totals.ends_with(",2026-03-01,2026-03-03\n"), "{totals}");
    assert_eq!(expected[0][3].lines().count(), 3, "{:?}", expected[0]);
    assert!(expected[4][2].starts_with("180,180,"), "{:?}", expected[4]);
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
    // In Athena the partition column is declared only in PARTITIONED BY: once for each of the
    // five tables.
    assert_eq!(athena.matches("`call_date`").count(), 5, "{athena}");
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
