//! A DataFusion session with every table of a lake registered.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::{SQLOptions, SessionContext};
use datafusion::prelude::{DataFrame, SessionConfig};
use datafusion::scalar::ScalarValue;
use pstn_lake_sink::{Lake, TableFormat};

/// A snapshot of a Delta lake's tables other than the latest (`--as-of`).
#[cfg(feature = "delta")]
pub use pstn_lake_sink::AsOf;

/// A snapshot of a Delta lake's tables other than the latest: this build has no Delta support,
/// so there is none.
#[cfg(not(feature = "delta"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {}

#[cfg(not(feature = "delta"))]
impl std::str::FromStr for AsOf {
    type Err = String;

    fn from_str(_: &str) -> std::result::Result<Self, String> {
        Err(
            "this pstn-lake was built without Delta support (the `delta` cargo feature), \
             which --as-of needs"
                .into(),
        )
    }
}

/// The Delta table's provider (its latest snapshot, or `as_of`), or `None` when the lake has no
/// such table yet (it is then registered as an empty listing, as on a Parquet lake).
#[cfg(feature = "delta")]
async fn delta_provider(
    lake: &Lake,
    table: &str,
    as_of: Option<AsOf>,
) -> Result<Option<Arc<dyn datafusion::catalog::TableProvider>>> {
    let Some(delta) = pstn_lake_sink::delta_table(lake, table, as_of).await? else {
        return Ok(None);
    };
    Ok(Some(delta.table_provider().await?))
}

#[cfg(not(feature = "delta"))]
async fn delta_provider(
    lake: &Lake,
    _: &str,
    _: Option<AsOf>,
) -> Result<Option<Arc<dyn datafusion::catalog::TableProvider>>> {
    Err(pstn_lake_sink::Error::NoDelta {
        url: lake.url().to_string(),
    }
    .into())
}

use crate::{Error, Result};

/// The Hive partition column every lake table has.
pub use pstn_lake_sink::PARTITION_COLUMN;

/// SQL over a lake: each table is a Hive-partitioned Parquet listing with `call_date` (Date32) as
/// its partition column (`snapshot_date` for the directory's snapshots), so filters on it skip
/// whole days.
pub struct LakeSession {
    ctx: SessionContext,
    tables: Vec<String>,
}

impl LakeSession {
    /// Opens a session over `lake`. The tables in `known` are registered, with their schema, even
    /// when the lake has no file for them yet (queries then return no rows). Nothing else is:
    /// other folders in the lake's root (`pstn_calls.bak`, `tmp`) are not tables, and their names
    /// never reach SQL.
    pub async fn open(lake: &Lake, known: &[(String, SchemaRef)]) -> Result<LakeSession> {
        Self::open_as_of(lake, known, None).await
    }

    /// Opens a session over `lake` as [`LakeSession::open`] does; on a Delta lake, each table is
    /// its latest snapshot, or the snapshot `as_of` names (a version, or the latest commit at or
    /// before a time). On a Parquet lake, `as_of` is refused: its days are replaced in place.
    pub async fn open_as_of(
        lake: &Lake,
        known: &[(String, SchemaRef)],
        as_of: Option<AsOf>,
    ) -> Result<LakeSession> {
        let format = lake.table_format().await?;
        if format == TableFormat::Parquet && as_of.is_some() {
            return Err(Error::AsOfParquet {
                url: lake.url().to_string(),
            });
        }
        let config = engine_options(
            SessionConfig::new()
                .with_information_schema(true)
                .with_collect_statistics(true)
                .set_bool("datafusion.execution.parquet.pushdown_filters", false),
        )?;
        let ctx = SessionContext::new_with_config(config);
        ctx.register_object_store(lake.url(), Arc::clone(lake.store()));
        let tables: BTreeMap<&String, &SchemaRef> = known.iter().map(|(n, s)| (n, s)).collect();
        let mut registered = Vec::new();
        for (name, schema) in tables {
            let url = lake.table_url(name)?;
            if format == TableFormat::Delta
                && let Some(provider) = delta_provider(lake, name, as_of).await?
            {
                ctx.register_table(
                    datafusion::common::TableReference::bare(name.as_str()),
                    provider,
                )?;
                registered.push(name.clone());
                continue;
            }
            let table_url = ListingTableUrl::parse(url.as_str())?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![(
                    pstn_lake_sink::partition_column(name).to_owned(),
                    DataType::Date32,
                )]);
            let config = ListingTableConfig::new(table_url).with_listing_options(options.clone());
            let config = config.with_schema(view_types(schema));
            ctx.register_table(
                datafusion::common::TableReference::bare(name.as_str()),
                Arc::new(ListingTable::try_new(config)?),
            )?;
            registered.push(name.clone());
        }
        // A chargeback's user → group table: empty until `set_mapping`.
        ctx.register_table(
            datafusion::common::TableReference::bare(crate::MAPPING_TABLE),
            crate::mapping::table(&[])?,
        )?;
        Ok(LakeSession {
            ctx,
            tables: registered,
        })
    }

    /// Makes `rows` (a user principal name, lower-cased, or a user id; the group to charge: see
    /// [`crate::read_mapping`]) the `chargeback_mapping` table that `charges-by-department`
    /// prefers to the directory.
    pub fn set_mapping(&self, rows: &[(String, String)]) -> Result<()> {
        let name = datafusion::common::TableReference::bare(crate::MAPPING_TABLE);
        self.ctx.deregister_table(name.clone())?;
        self.ctx
            .register_table(name, crate::mapping::table(rows)?)?;
        Ok(())
    }

    /// The registered table names.
    pub fn tables(&self) -> &[String] {
        &self.tables
    }

    /// The DataFusion context, for callers that need more than SQL text.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Plans a read-only SQL statement: DDL, DML (`INSERT`, `COPY`, …) and `SET` are refused.
    pub async fn query(&self, sql: &str) -> Result<DataFrame> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        match self.ctx.sql_with_options(sql, options).await {
            Ok(df) => Ok(df),
            Err(e) => Err(match read_only_error(e) {
                Error::DataFusion(e) => {
                    let state = self.ctx.state();
                    let dialect = state.config().options().sql_parser.dialect;
                    let statement = state.sql_to_statement(sql, &dialect).ok();
                    crate::sql_error::explain(e, statement.as_ref(), &self.ctx, &self.tables)
                }
                refused => refused,
            }),
        }
    }

    /// Runs a planned statement and collects its rows; an error about the SQL (a literal that is
    /// not a date) says what is wrong in the user's terms.
    pub async fn execute(&self, df: DataFrame) -> Result<Vec<RecordBatch>> {
        df.collect()
            .await
            .map_err(|e| crate::sql_error::explain(e, None, &self.ctx, &self.tables))
    }

    /// Plans a read-only statement with named parameters (`$from` is bound by `("from", value)`).
    pub async fn query_with_params(
        &self,
        sql: &str,
        params: Vec<(String, ScalarValue)>,
    ) -> Result<DataFrame> {
        let df = self.query(sql).await?;
        Ok(df.with_param_values(params)?)
    }

    /// Runs a read-only statement and collects its rows.
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.execute(self.query(sql).await?).await
    }
}

/// `config` with each DataFusion option that a `DATAFUSION_*` environment variable sets (the
/// option's key upper-cased, dots as underscores: `DATAFUSION_EXECUTION_TARGET_PARTITIONS=1`)
/// taken from it, as DataFusion's own `SessionConfig::from_env` reads them, over pstn-lake's
/// choices. For tuning and for measuring what an option buys (`pstn-lake sql "SHOW ALL"` lists
/// them); a value the option cannot take is an error naming the variable.
fn engine_options(mut config: SessionConfig) -> Result<SessionConfig> {
    for entry in datafusion::config::ConfigOptions::new().entries() {
        let variable = entry.key.to_uppercase().replace('.', "_");
        if let Some(value) = std::env::var_os(&variable) {
            config
                .options_mut()
                .set(&entry.key, &value.to_string_lossy())
                .map_err(|e| Error::EngineOption {
                    variable,
                    key: entry.key.clone(),
                    message: e.strip_backtrace(),
                })?;
        }
    }
    Ok(config)
}

/// The schema with top-level strings read as Utf8View, as DataFusion reads Parquet strings when it
/// infers a schema itself: a view points into the page's dictionary or data instead of copying
/// every string into one buffer, and grouping by it is cheaper (charges-by-country over 10 M rows:
/// 0.37 s of CPU with Utf8, 0.25 s with Utf8View). Values are the same; only the Arrow type differs.
fn view_types(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View)),
            _ => Arc::clone(f),
        })
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// Turns DataFusion's "… not supported" for DDL/DML/statements into a message that says `sql` is
/// read-only.
fn read_only_error(e: datafusion::error::DataFusionError) -> Error {
    let text = e.to_string();
    for (needle, what) in [
        ("DDL not supported", "DDL (CREATE, DROP, ALTER)"),
        ("DML not supported", "DML (INSERT, UPDATE, DELETE, COPY)"),
        (
            "Statement not supported",
            "a session statement (SET, transactions)",
        ),
    ] {
        if text.contains(needle) {
            return Error::ReadOnly { what: what.into() };
        }
    }
    Error::DataFusion(e)
}
