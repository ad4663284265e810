//! `pstn-lake ddl`: the statements that register the lake's tables in DuckDB, Spark, Trino or
//! Athena, with each table's exact column types and `call_date` as the Hive partition.
//!
//! The statements run on a lake holding any of the tables. A table the lake holds no day of yet
//! (Direct Routing on a tenant without it, a table not synced yet) gets what its engine can do
//! before the folder exists, said in a comment in the script and in a note on stderr:
//! - Spark and Athena register it now, empty, so it fills in once days land: Spark creates an
//!   external table over a missing folder, and `MSCK REPAIR TABLE` (which fails on a missing
//!   folder) is left commented out until then; Athena's partition projection needs no folder.
//! - DuckDB (a view needs files) and Trino (the Hive connector refuses a missing
//!   `external_location` on HDFS and local folders, and `sync_partition_metadata` fails on it)
//!   get the statements commented out: run `ddl` again once the table has a day.
//!
//! A Delta lake's tables are registered as Delta tables (DuckDB `delta_scan`, Spark `USING DELTA
//! LOCATION`, Trino's `register_table`, Athena's `table_type = 'DELTA'`), whose schema and files
//! every engine reads from the log: never as Parquet files, which would include the files earlier
//! versions replaced. A Delta table without a day has no log yet, so its statements are left
//! commented out for every engine.
//!
//! When that leaves nothing to register (DuckDB or Trino, and no chosen table has a day), `ddl`
//! fails with a message rather than print a script that does nothing.

mod engines;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use pstn_lake_fetch::Table;
use url::Url;

use crate::common::{LakeArg, Ui};

/// An engine that can read the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// DuckDB: a view per table over `read_parquet` with Hive partitioning.
    Duckdb,
    /// Spark SQL: an external Parquet table per table, then `MSCK REPAIR TABLE`.
    Spark,
    /// Trino's Hive connector: an external table per table, then `sync_partition_metadata`.
    Trino,
    /// Amazon Athena: an external table per table with partition projection (S3 only).
    Athena,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The engine to print statements for.
    #[arg(long, value_enum)]
    pub engine: Engine,

    /// The tables, comma-separated (default: every table). One the lake holds no day of yet is
    /// created empty (Spark, Athena) or left commented out (DuckDB, Trino), with a note.
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<Table>,

    /// The schema (database) the tables go in: Trino and Athena use `default` without it, Spark
    /// its current database, DuckDB ignores it.
    #[arg(long, value_name = "NAME")]
    pub schema: Option<String>,

    /// Trino: the catalog of the Hive connector (default `hive`), or for a Delta lake of the
    /// Delta Lake connector (default `delta`).
    #[arg(long, value_name = "NAME")]
    pub catalog: Option<String>,

    /// Where the engine finds the lake, when that is not `--lake` as written (a copy of a local
    /// lake on S3, a mount, another URL scheme). `--lake` is still read for the days it holds.
    #[arg(long, value_name = "URL")]
    pub location: Option<String>,

    #[command(flatten)]
    pub lake: LakeArg,
}

/// What the statements need to know about one table.
pub struct TableDdl {
    pub table: Table,
    /// The folder of the table as the engine spells it, without a trailing `/`.
    pub location: String,
    /// The days the lake holds for it, in order.
    pub days: Vec<NaiveDate>,
}

/// What the statements need to know about the lake.
pub struct LakeDdl {
    pub engine: Engine,
    /// The lake as the user gave it (for the header comment).
    pub lake: String,
    pub store: Store,
    pub schema: Option<String>,
    pub catalog: String,
    /// The lake holds Delta tables: each engine registers them as Delta tables.
    pub delta: bool,
    pub tables: Vec<TableDdl>,
}

pub async fn run(args: Args, ui: &Ui) -> Result<()> {
    let lake = args.lake.open_existing().await?;
    lake.check().await?;
    let delta = lake.table_format().await? == pstn_lake_sink::TableFormat::Delta;
    let store = match &args.location {
        Some(location) => Store::parse(location)
            .with_context(|| format!("--location `{location}` is not a lake location"))?,
        None => Store::from_url(lake.url())?,
    };
    let base = store.spell(args.engine)?;
    let tables = if args.tables.is_empty() {
        Table::ALL.to_vec()
    } else {
        args.tables.clone()
    };
    let held = lake
        .tables()
        .await
        .context("cannot list the lake's tables")?;
    let mut described = Vec::new();
    for table in tables {
        let days = if held.iter().any(|name| name == table.name()) {
            lake.days(table.name())
                .await
                .with_context(|| format!("cannot list the days of {table}"))?
        } else {
            Vec::new()
        };
        described.push(TableDdl {
            table,
            location: format!("{base}/{}", table.name()),
            days,
        });
    }
    let ddl = LakeDdl {
        engine: args.engine,
        lake: args.location.clone().unwrap_or(args.lake.lake.clone()),
        store,
        schema: args.schema,
        catalog: args
            .catalog
            .unwrap_or_else(|| if delta { "delta" } else { "hive" }.to_owned()),
        delta,
        tables: described,
    };
    let waiting: Vec<&TableDdl> = ddl.tables.iter().filter(|t| t.days.is_empty()).collect();
    if let Some(reason) = engines::needs_a_day(ddl.engine, ddl.delta)
        && waiting.len() == ddl.tables.len()
    {
        let names: Vec<&str> = waiting.iter().map(|t| t.table.name()).collect();
        bail!(
            "nothing to register: the lake `{}` holds no day of {} yet, and {reason}; land days \
             with `pstn-lake sync` or `ingest`, then run pstn-lake ddl again",
            ddl.lake,
            names.join(" or "),
        );
    }
    let text = engines::render(&ddl)?;
    crate::common::to_stdout(|out| Ok(std::io::Write::write_all(out, text.as_bytes())?))?;
    for table in waiting {
        ui.summary(format_args!(
            "note: the lake holds no day of {} yet: {}",
            table.table,
            engines::waiting(&ddl, table)
        ));
    }
    Ok(())
}

/// Where the lake lives, in terms every engine can spell its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// A local folder (absolute).
    Local(std::path::PathBuf),
    /// Amazon S3 or an S3-compatible store.
    S3 { bucket: String, prefix: String },
    /// Azure Blob Storage / ADLS Gen2; the account is needed by Spark and Trino.
    Azure {
        container: String,
        account: Option<String>,
        prefix: String,
    },
    /// Google Cloud Storage.
    Gcs { bucket: String, prefix: String },
}

impl Store {
    /// A `--location` or `--lake` value: a URL, or a local path.
    fn parse(location: &str) -> Result<Store> {
        if location.contains("://") {
            Store::from_url(&Url::parse(location)?)
        } else {
            Ok(Store::Local(std::path::absolute(location)?))
        }
    }

    /// The store of a lake URL (as `Lake::url` gives it).
    fn from_url(url: &Url) -> Result<Store> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let prefix = url.path().trim_matches('/').to_owned();
        let env_account = || {
            let emulator = std::env::var("AZURE_STORAGE_USE_EMULATOR").is_ok_and(|v| v == "true");
            std::env::var("AZURE_STORAGE_ACCOUNT_NAME")
                .ok()
                .filter(|a| !a.is_empty())
                .or_else(|| emulator.then(|| "devstoreaccount1".to_owned()))
        };
        Ok(match url.scheme() {
            "file" => Store::Local(
                url.to_file_path()
                    .map_err(|()| anyhow::anyhow!("`{url}` is not a local path"))?,
            ),
            "s3" | "s3a" => Store::S3 {
                bucket: host,
                prefix,
            },
            "gs" => Store::Gcs {
                bucket: host,
                prefix,
            },
            "az" | "azure" | "adl" => Store::Azure {
                container: host,
                account: env_account(),
                prefix,
            },
            // abfss://container@account.dfs.core.windows.net/prefix, or abfss://container/prefix
            "abfs" | "abfss" if url.username().is_empty() => Store::Azure {
                container: host,
                account: env_account(),
                prefix,
            },
            "abfs" | "abfss" => Store::Azure {
                container: url.username().to_owned(),
                account: host.split('.').next().map(str::to_owned),
                prefix,
            },
            // https://account.blob.core.windows.net/container/prefix (or .dfs.)
            "https" if host.ends_with(".core.windows.net") => {
                let (container, prefix) = prefix.split_once('/').unwrap_or((prefix.as_str(), ""));
                Store::Azure {
                    container: container.to_owned(),
                    account: host.split('.').next().map(str::to_owned),
                    prefix: prefix.to_owned(),
                }
            }
            other => bail!("pstn-lake ddl does not know how engines read `{other}://` lakes"),
        })
    }

    /// The lake root as `engine` spells it, without a trailing `/`; an error when the engine
    /// cannot read this store.
    fn spell(&self, engine: Engine) -> Result<String> {
        let join = |scheme: &str, root: &str, prefix: &str| {
            if prefix.is_empty() {
                format!("{scheme}://{root}")
            } else {
                format!("{scheme}://{root}/{prefix}")
            }
        };
        Ok(match (self, engine) {
            (Store::S3 { bucket, prefix }, Engine::Spark) => join("s3a", bucket, prefix),
            (Store::S3 { bucket, prefix }, _) => join("s3", bucket, prefix),
            (_, Engine::Athena) => bail!(
                "Athena reads only Amazon S3, and this lake is not on S3: copy it to a bucket \
                 (or sync straight to s3://…) and pass --location s3://bucket/prefix"
            ),
            (Store::Local(path), Engine::Duckdb) => {
                path.to_string_lossy().trim_end_matches('/').to_owned()
            }
            (Store::Local(path), _) => Url::from_file_path(path)
                .map_err(|()| anyhow::anyhow!("`{}` is not an absolute path", path.display()))?
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            (Store::Gcs { bucket, prefix }, _) => join("gs", bucket, prefix),
            (
                Store::Azure {
                    container, prefix, ..
                },
                Engine::Duckdb,
            ) => join("az", container, prefix),
            (
                Store::Azure {
                    container,
                    account,
                    prefix,
                },
                _,
            ) => {
                let Some(account) = account else {
                    bail!(
                        "Spark and Trino need the storage account: give the lake as \
                         abfss://{container}@ACCOUNT.dfs.core.windows.net/{prefix}, or set \
                         AZURE_STORAGE_ACCOUNT_NAME, or pass --location"
                    )
                };
                join(
                    "abfss",
                    &format!("{container}@{account}.dfs.core.windows.net"),
                    prefix,
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spell(location: &str, engine: Engine) -> Result<String> {
        Store::parse(location)?.spell(engine)
    }

    #[test]
    fn each_engine_spells_the_store_its_way() {
        let s3 = "s3://finance/teams/";
        assert_eq!(spell(s3, Engine::Duckdb).unwrap(), "s3://finance/teams");
        assert_eq!(spell(s3, Engine::Spark).unwrap(), "s3a://finance/teams");
        assert_eq!(spell(s3, Engine::Trino).unwrap(), "s3://finance/teams");
        assert_eq!(spell(s3, Engine::Athena).unwrap(), "s3://finance/teams");
        assert_eq!(spell("s3://bucket", Engine::Trino).unwrap(), "s3://bucket");

        let abfss = "abfss://lake@acme.dfs.core.windows.net/teams";
        assert_eq!(spell(abfss, Engine::Duckdb).unwrap(), "az://lake/teams");
        assert_eq!(spell(abfss, Engine::Spark).unwrap(), abfss);
        assert_eq!(spell(abfss, Engine::Trino).unwrap(), abfss);
        let https = "https://acme.blob.core.windows.net/lake/teams";
        assert_eq!(spell(https, Engine::Trino).unwrap(), abfss);

        assert_eq!(
            spell("gs://finance/teams", Engine::Spark).unwrap(),
            "gs://finance/teams"
        );
        assert_eq!(spell("/data/lake/", Engine::Duckdb).unwrap(), "/data/lake");
        assert_eq!(
            spell("/data/lake/", Engine::Spark).unwrap(),
            "file:///data/lake"
        );
    }

    #[test]
    fn athena_reads_only_s3() {
        for location in ["/data/lake", "gs://b/p", "az://c/p"] {
            let e = spell(location, Engine::Athena).unwrap_err().to_string();
            assert!(e.contains("--location s3://"), "{location}: {e}");
        }
    }

    #[test]
    fn azure_without_an_account_says_how_to_give_one() {
        let store = Store::Azure {
            container: "lake".into(),
            account: None,
            prefix: "teams".into(),
        };
        assert_eq!(store.spell(Engine::Duckdb).unwrap(), "az://lake/teams");
        let e = store.spell(Engine::Spark).unwrap_err().to_string();
        assert!(
            e.contains("abfss://lake@ACCOUNT.dfs.core.windows.net/teams"),
            "{e}"
        );
    }
}
