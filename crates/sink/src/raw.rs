//! The raw archive: every page a sync fetched for a day, kept compressed, so tables can be landed
//! again later (after a schema change, say) without asking the source again.
//!
//! One object a day and table: `<lake>/_raw/<table>/call_date=YYYY-MM-DD/pages.json.zst`, the
//! day's pages one after another, zstd-compressed. It is replaced whole (one put) when the day is
//! fetched again. The sink treats the bytes as opaque.

use bytes::Bytes;
use chrono::NaiveDate;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use crate::{Error, Lake, Result};

/// The folder under the lake root that holds the raw archive.
pub const RAW_DIR: &str = "_raw";

fn raw_path(lake: &Lake, table: &str, day: NaiveDate) -> Path {
    lake.root()
        .clone()
        .join(RAW_DIR)
        .join(table)
        .join(format!("call_date={}", day.format("%Y-%m-%d")))
        .join("pages.json.zst")
}

/// Stores a day's pages (replacing what the archive held for that day). Returns the stored size.
pub async fn write_raw(lake: &Lake, table: &str, day: NaiveDate, pages: &[Bytes]) -> Result<u64> {
    let path = raw_path(lake, table, day);
    let pages = pages.to_vec();
    let compressed = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut encoder = zstd::Encoder::new(Vec::new(), 3)?;
        for page in &pages {
            std::io::Write::write_all(&mut encoder, page)?;
            std::io::Write::write_all(&mut encoder, b"\n")?;
        }
        encoder.finish()
    })
    .await
    .map_err(|e| Error::Spool(std::io::Error::other(e)))??;
    let size = compressed.len() as u64;
    lake.store()
        .put(&path, PutPayload::from(compressed))
        .await
        .map_err(|source| Error::Store {
            action: "archiving",
            path: path.to_string(),
            source,
        })?;
    Ok(size)
}

/// The archived pages of a day, decompressed (pages one after another), or `None`.
pub async fn read_raw(lake: &Lake, table: &str, day: NaiveDate) -> Result<Option<Vec<u8>>> {
    let path = raw_path(lake, table, day);
    let Some(bytes) = lake.get_optional(&path).await? else {
        return Ok(None);
    };
    let text = tokio::task::spawn_blocking(move || zstd::decode_all(&bytes[..]))
        .await
        .map_err(|e| Error::Spool(std::io::Error::other(e)))??;
    Ok(Some(text))
}

/// The days the archive holds for a table, in order.
pub async fn raw_days(lake: &Lake, table: &str) -> Result<Vec<NaiveDate>> {
    lake.partition_days(&lake.root().clone().join(RAW_DIR).join(table))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_round_trip_and_are_replaced_whole() {
        let (dir, lake) = crate::test_util::temp_lake();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(read_raw(&lake, "t", day).await.unwrap(), None);
        write_raw(
            &lake,
            "t",
            day,
            &[
                Bytes::from_static(b"{\"a\":1}"),
                Bytes::from_static(b"{\"b\":2}"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            read_raw(&lake, "t", day).await.unwrap().unwrap(),
            b"{\"a\":1}\n{\"b\":2}\n"
        );
        write_raw(&lake, "t", day, &[Bytes::from_static(b"{\"c\":3}")])
            .await
            .unwrap();
        assert_eq!(
            read_raw(&lake, "t", day).await.unwrap().unwrap(),
            b"{\"c\":3}\n"
        );
        assert_eq!(raw_days(&lake, "t").await.unwrap(), vec![day]);
        assert!(
            dir.path()
                .join("_raw/t/call_date=2026-11-01/pages.json.zst")
                .is_file()
        );
        // The raw archive is not a table.
        assert!(lake.tables().await.unwrap().is_empty());
    }
}
