//! The quarantine: rows a sync fetched but could not land, kept as Graph served them, one object
//! a day and table: `<lake>/_pstn_lake/quarantine/<table>/call_date=YYYY-MM-DD/rows.jsonl`.
//!
//! A day's object is replaced whole each time the day is landed with rows set aside, and removed
//! when the day is landed again without any, so the quarantine always describes the rows missing
//! from the lake as it is. Its content is the caller's (the pipeline writes one JSON object a
//! line); the sink stores it before the day commits, like the raw archive.

use chrono::NaiveDate;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::day::{EncodedDay, Expected, Put, put_day};
use crate::error::{local, store};
use crate::{Lake, Result};

/// The folder, under the lake's state folder, that holds the quarantine.
pub const QUARANTINE_DIR: &str = "quarantine";

/// The object of a day's quarantined rows.
pub fn quarantine_path(lake: &Lake, table: &str, day: NaiveDate) -> Path {
    quarantine_table(lake, table)
        .join(format!("call_date={}", day.format("%Y-%m-%d")))
        .join("rows.jsonl")
}

fn quarantine_table(lake: &Lake, table: &str) -> Path {
    lake.state_path(QUARANTINE_DIR).join(table)
}

/// Stores a day's quarantined rows (replacing what the quarantine held for that day).
pub async fn store_quarantine(
    lake: &Lake,
    table: &str,
    day: NaiveDate,
    rows: bytes::Bytes,
) -> Result<()> {
    let path = quarantine_path(lake, table, day);
    match put_day(lake, &path, &Expected::Any, EncodedDay::Bytes(rows)).await? {
        Put::Done(..) => Ok(()),
        Put::Conflict => unreachable!("an unconditional put has no conflict"),
    }
}

/// Removes a day's quarantined rows (nothing when there are none).
pub async fn remove_quarantine(lake: &Lake, table: &str, day: NaiveDate) -> Result<()> {
    lake.check_fence()?;
    let path = quarantine_path(lake, table, day);
    match lake.store().delete(&path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(source) => return Err(store("removing", &path)(source)),
    }
    // A local lake has folders: the day's, now empty, would still be listed.
    if let Some(folder) = lake
        .file_of(&path)
        .as_deref()
        .and_then(std::path::Path::parent)
    {
        match std::fs::remove_dir(folder) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(local("removing", folder)(e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The days the quarantine holds rows of, for a table, in order.
pub async fn quarantine_days(lake: &Lake, table: &str) -> Result<Vec<NaiveDate>> {
    lake.partition_days(&quarantine_table(lake, table), crate::PARTITION_COLUMN)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_day_is_stored_listed_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let (d1, d2) = (
            NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        );
        store_quarantine(&lake, "t", d1, "{\"a\":1}\n".into())
            .await
            .unwrap();
        store_quarantine(&lake, "t", d2, "x\n".into())
            .await
            .unwrap();
        store_quarantine(&lake, "t", d1, "{\"b\":2}\n".into())
            .await
            .unwrap();
        assert_eq!(quarantine_days(&lake, "t").await.unwrap(), vec![d2, d1]);
        let file = dir
            .path()
            .join("_pstn_lake/quarantine/t/call_date=2026-11-02/rows.jsonl");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"b\":2}\n");
        remove_quarantine(&lake, "t", d1).await.unwrap();
        remove_quarantine(&lake, "t", d1).await.unwrap();
        assert!(!file.exists());
        assert_eq!(quarantine_days(&lake, "t").await.unwrap(), vec![d2]);
        assert!(quarantine_days(&lake, "other").await.unwrap().is_empty());
    }
}
