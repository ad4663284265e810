//! Deleting whole days of a table: retention (`pstn-lake purge --before DATE`). A day's data, its
//! raw pages and its quarantined rows go together. On a Parquet lake each day's objects are
//! deleted (a local lake's emptied folders too); on a Delta lake one commit removes the days'
//! files from the table, and `vacuum` deletes the bytes once the table's retention has passed.

use chrono::NaiveDate;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::error::{local, store};
use crate::{Lake, QUARANTINE_DIR, RAW_DIR, Result, day_folder};

/// Deletes every object under `prefix`, and on a local lake the folder itself; returns how many
/// objects there were.
async fn delete_prefix(lake: &Lake, prefix: &Path) -> Result<usize> {
    let objects: Vec<Path> = lake
        .store()
        .list(Some(prefix))
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .map_err(store("listing", prefix))?;
    for object in &objects {
        match lake.store().delete(object).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(store("deleting", object)(source)),
        }
    }
    if let Some(folder) = lake.file_of(prefix) {
        match std::fs::remove_dir_all(&folder) {
            Ok(()) => {
                if let Some(parent) = folder.parent() {
                    crate::local::sync_dir(parent).map_err(local("syncing", parent))?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(local("removing", &folder)(e)),
        }
    }
    Ok(objects.len())
}

/// Deletes `days` of `table` (its rows, raw pages and quarantined rows), holding the lake lock
/// (checked before anything is deleted). Returns how many data files the days held.
pub async fn delete_days(lake: &Lake, table: &str, days: &[NaiveDate]) -> Result<usize> {
    if days.is_empty() {
        return Ok(0);
    }
    lake.check_fence()?;
    let files = match lake.table_format().await? {
        crate::TableFormat::Parquet => {
            let mut files = 0;
            for &day in days {
                files += delete_prefix(lake, &lake.day_dir(table, day)).await?;
            }
            files
        }
        #[cfg(feature = "delta")]
        crate::TableFormat::Delta => crate::delta::delete_days(lake, table, days).await?,
        #[cfg(not(feature = "delta"))]
        crate::TableFormat::Delta => {
            return Err(crate::Error::NoDelta {
                url: lake.url().to_string(),
            });
        }
    };
    for &day in days {
        let folder = day_folder(table, day);
        let raw = lake
            .root()
            .clone()
            .join(RAW_DIR)
            .join(table)
            .join(folder.as_str());
        delete_prefix(lake, &raw).await?;
        let quarantine = lake
            .state_path(QUARANTINE_DIR)
            .join(table)
            .join(folder.as_str());
        delete_prefix(lake, &quarantine).await?;
    }
    Ok(files)
}
