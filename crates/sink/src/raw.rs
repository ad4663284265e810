//! The raw archive: every page a sync fetched for a day, kept compressed, so tables can be landed
//! again later (after a schema change, say) without asking the source again.
//!
//! One object a day and table: `<lake>/_raw/<table>/call_date=YYYY-MM-DD/pages.json.zst`, the
//! day's pages one after another, zstd-compressed. It is replaced whole (one put) when the day is
//! fetched again. The sink treats the bytes as opaque.

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

/// A day's pages on their way to the archive, compressed as they arrive, so that a day being
/// fetched holds its compressed pages (about a tenth of their size), not the pages.
pub struct RawDay {
    encoder: zstd::Encoder<'static, Vec<u8>>,
}

impl RawDay {
    /// An empty day.
    pub fn new() -> Result<RawDay> {
        Ok(RawDay {
            encoder: zstd::Encoder::new(Vec::new(), 3)?,
        })
    }

    /// Adds the next page. This compresses it: call it from a blocking context.
    pub fn push(&mut self, page: &[u8]) -> Result<()> {
        use std::io::Write;
        self.encoder.write_all(page)?;
        self.encoder.write_all(b"\n")?;
        Ok(())
    }

    /// Stores the day's pages (replacing what the archive held for that day). Returns the stored
    /// size.
    pub async fn store(self, lake: &Lake, table: &str, day: NaiveDate) -> Result<u64> {
        let path = raw_path(lake, table, day);
        let compressed = self.encoder.finish()?;
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

    async fn store(lake: &Lake, day: NaiveDate, pages: &[&[u8]]) {
        let mut raw = RawDay::new().unwrap();
        for page in pages {
            raw.push(page).unwrap();
        }
        let size = raw.store(lake, "t", day).await.unwrap();
        assert!(size > 0);
    }

    #[tokio::test]
    async fn pages_round_trip_and_are_replaced_whole() {
        let (dir, lake) = crate::test_util::temp_lake();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(read_raw(&lake, "t", day).await.unwrap(), None);
        store(&lake, day, &[b"{\"a\":1}", b"{\"b\":2}"]).await;
        assert_eq!(
            read_raw(&lake, "t", day).await.unwrap().unwrap(),
            b"{\"a\":1}\n{\"b\":2}\n"
        );
        store(&lake, day, &[b"{\"c\":3}"]).await;
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
