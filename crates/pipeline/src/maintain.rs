//! The upkeep of a Delta lake, over every table, under the lake's lock: `vacuum`, `optimize`,
//! and `convert` of a Parquet lake to Delta (the work on each table is in the sink crate).

use pstn_lake_sink::{
    Converted, Lake, NaiveDate, Optimized, TableFormat, Vacuum, Vacuumed, convert as convert_lake,
};

use crate::lake::locked;
use crate::{Error, Result};

/// Each table's outcome, in the lake's table order.
pub type PerTable<T> = Vec<(String, T)>;

/// Fails unless the lake is a Delta lake: the upkeep commands have nothing to do on a Parquet
/// lake (a day is one file, replaced in place, with no old versions to vacuum).
async fn delta_tables(lake: &Lake, command: &str) -> Result<Vec<String>> {
    if lake.table_format().await? != TableFormat::Delta {
        return Err(Error::NotDelta {
            url: lake.url().to_string(),
            command: command.to_owned(),
        });
    }
    Ok(lake.tables().await?)
}

/// `vacuum` of every table of a Delta lake (see [`pstn_lake_sink::vacuum`]).
pub async fn vacuum(lake: &Lake, options: &Vacuum) -> Result<PerTable<Vacuumed>> {
    locked(lake, "vacuum", None, async {
        let mut done = Vec::new();
        for table in delta_tables(lake, "vacuum").await? {
            if let Some(vacuumed) = pstn_lake_sink::vacuum(lake, &table, options).await? {
                done.push((table, vacuumed));
            }
        }
        Ok(done)
    })
    .await
}

/// `optimize` of every table of a Delta lake, of the days in `from..=to` (see
/// [`pstn_lake_sink::optimize`]).
pub async fn optimize(
    lake: &Lake,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<PerTable<Optimized>> {
    locked(lake, "optimize", None, async {
        let mut done = Vec::new();
        for table in delta_tables(lake, "optimize").await? {
            let days: Vec<NaiveDate> = if from.is_none() && to.is_none() {
                Vec::new()
            } else {
                let held = lake.days(&table).await?;
                let days: Vec<NaiveDate> = held
                    .into_iter()
                    .filter(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t))
                    .collect();
                if days.is_empty() {
                    done.push((table, Optimized::default()));
                    continue;
                }
                days
            };
            if let Some(optimized) = pstn_lake_sink::optimize(lake, &table, &days).await? {
                done.push((table, optimized));
            }
        }
        Ok(done)
    })
    .await
}

/// `convert --to delta`: the lake's Parquet tables become Delta tables in place (see
/// [`pstn_lake_sink::convert`]); on a lake that is Delta already, it finishes a conversion that
/// stopped halfway, or does nothing.
pub async fn convert(lake: &Lake) -> Result<PerTable<Option<Converted>>> {
    locked(lake, "convert", None, async {
        Ok(convert_lake(lake).await?)
    })
    .await
}
