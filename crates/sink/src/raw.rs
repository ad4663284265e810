//! The raw archive: every page a sync fetched for a day, kept compressed, so tables can be landed
//! again later (after a schema change, say) without asking the source again.
//!
//! One object a day and table: `<lake>/_raw/<table>/call_date=YYYY-MM-DD/pages.json.zst`, the
//! day's pages in order, zstd-compressed. It is replaced whole (one put) when the day is fetched
//! again. The sink treats each page as opaque bytes.
//!
//! # Format
//!
//! Decompressed, an archive (format 2) is a header line, then each page framed by its length:
//!
//! ```text
//! pstn-lake raw pages v2\n
//! <length of page 1 in bytes, decimal>\n<page 1>\n
//! <length of page 2 in bytes, decimal>\n<page 2>\n
//! …
//! ```
//!
//! so a page's boundaries never depend on what it holds. Archives written before format 2 have no
//! header: their pages follow one another, each followed by a newline, and only a reader that
//! knows the pages' syntax (JSON) can tell where each ends; [`RawArchive::pages`] hands them over
//! as [`RawPages::Concatenated`] for such a reader. A header with another version is refused
//! (an archive from a newer pstn-lake).

use chrono::NaiveDate;
use object_store::path::Path;

use crate::day::{EncodedDay, Expected, Put, put_day};
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

/// The first line of an archive in the current format, and what every versioned header starts with.
const HEADER: &[u8] = b"pstn-lake raw pages v2\n";
const HEADER_PREFIX: &[u8] = b"pstn-lake raw pages ";

/// A day's pages on their way to the archive, compressed as they arrive, so that a day being
/// fetched holds its compressed pages (about a tenth of their size), not the pages.
pub struct RawDay {
    encoder: zstd::Encoder<'static, Vec<u8>>,
}

impl RawDay {
    /// An empty day.
    pub fn new() -> Result<RawDay> {
        use std::io::Write;
        let mut encoder = zstd::Encoder::new(Vec::new(), 3)?;
        encoder.write_all(HEADER)?;
        Ok(RawDay { encoder })
    }

    /// Adds the next page. This compresses it: call it from a blocking context.
    pub fn push(&mut self, page: &[u8]) -> Result<()> {
        use std::io::Write;
        writeln!(self.encoder, "{}", page.len())?;
        self.encoder.write_all(page)?;
        self.encoder.write_all(b"\n")?;
        Ok(())
    }

    /// Stores the day's pages (replacing what the archive held for that day). Returns the stored
    /// size.
    pub async fn store(self, lake: &Lake, table: &str, day: NaiveDate) -> Result<u64> {
        let path = raw_path(lake, table, day);
        let compressed = self.encoder.finish()?;
        // Every writer of a day's archive writes the whole day's pages, so the last one may win;
        // on a local lake it is made durable like a day's file (it is stored before the day
        // commits, and the day before the state records it).
        match put_day(
            lake,
            &path,
            &Expected::Any,
            EncodedDay::Bytes(compressed.into()),
        )
        .await?
        {
            Put::Done(size, _) => Ok(size),
            Put::Conflict => unreachable!("an unconditional put has no conflict"),
        }
    }
}

/// A day's archive, read back and decompressed.
#[derive(Debug)]
pub struct RawArchive {
    path: String,
    bytes: Vec<u8>,
}

/// The pages of a [`RawArchive`].
#[derive(Debug, PartialEq, Eq)]
pub enum RawPages<'a> {
    /// Each page, as it was pushed (an archive that records page boundaries).
    Pages(Vec<&'a [u8]>),
    /// An archive written before page boundaries were recorded: the pages one after another,
    /// each followed by a newline, for a reader that knows their syntax to split.
    Concatenated(&'a [u8]),
}

/// An archive whose framing cannot be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "the raw archive `{path}` cannot be read: {reason}; fetch the day again with `pstn-lake sync --refetch --keep-raw`"
)]
pub struct RawArchiveError {
    /// The archive object.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl RawArchive {
    /// The archive object's path in the store.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The archive's pages.
    pub fn pages(&self) -> Result<RawPages<'_>, RawArchiveError> {
        let bytes = &self.bytes[..];
        let Some(framed) = bytes.strip_prefix(HEADER) else {
            if bytes.starts_with(HEADER_PREFIX) {
                let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
                return Err(self.damaged(format!(
                    "its format `{}` is newer than this pstn-lake reads (v2): use a newer pstn-lake",
                    String::from_utf8_lossy(&line[HEADER_PREFIX.len()..]).trim()
                )));
            }
            return Ok(RawPages::Concatenated(bytes));
        };
        let mut pages = Vec::new();
        let mut rest = framed;
        while !rest.is_empty() {
            let number = pages.len() + 1;
            let line_end = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| self.damaged(format!("page {number} has no length line")))?;
            let len: usize = std::str::from_utf8(&rest[..line_end])
                .ok()
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| {
                    self.damaged(format!(
                        "page {number} has no length (its first line is not a number)"
                    ))
                })?;
            let page_end = len.saturating_add(line_end + 1);
            if rest.get(page_end) != Some(&b'\n') {
                return Err(self.damaged(format!(
                    "page {number} is cut off (it should be {len} bytes and a newline)"
                )));
            }
            pages.push(&rest[line_end + 1..page_end]);
            rest = &rest[page_end + 1..];
        }
        Ok(RawPages::Pages(pages))
    }

    fn damaged(&self, reason: String) -> RawArchiveError {
        RawArchiveError {
            path: self.path.clone(),
            reason,
        }
    }
}

/// How many times its size an archive may decompress to: pages compress 8-15 times, so a larger
/// ratio is not an archive pstn-lake wrote (a "zip bomb" must not exhaust memory).
pub const RAW_MAX_RATIO: u64 = 200;

/// The most an archive of `compressed` bytes may decompress to: [`RAW_MAX_RATIO`] times its size,
/// and at least 64 MiB.
fn raw_limit(compressed: u64) -> u64 {
    compressed.saturating_mul(RAW_MAX_RATIO).max(64 << 20)
}

/// The archive of a day, decompressed, or `None` when there is none. One that decompresses to
/// more than [`RAW_MAX_RATIO`] times its size (and over 64 MiB) is refused, and no more than
/// that is ever held.
pub async fn read_raw(lake: &Lake, table: &str, day: NaiveDate) -> Result<Option<RawArchive>> {
    let path = raw_path(lake, table, day);
    let Some(bytes) = lake.get_optional(&path).await? else {
        return Ok(None);
    };
    let compressed = bytes.len() as u64;
    let limit = raw_limit(compressed);
    let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut out = Vec::new();
        zstd::stream::read::Decoder::new(&bytes[..])?
            .take(limit + 1)
            .read_to_end(&mut out)?;
        Ok(out)
    })
    .await
    .map_err(|e| Error::Spool(std::io::Error::other(e)))??;
    if bytes.len() as u64 > limit {
        return Err(Error::RawTooLarge {
            path: path.to_string(),
            compressed,
            limit,
        });
    }
    Ok(Some(RawArchive {
        path: path.to_string(),
        bytes,
    }))
}

/// The days the archive holds for a table, in order.
pub async fn raw_days(lake: &Lake, table: &str) -> Result<Vec<NaiveDate>> {
    lake.partition_days(
        &lake.root().clone().join(RAW_DIR).join(table),
        crate::PARTITION_COLUMN,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::{ObjectStoreExt, PutPayload};

    async fn store(lake: &Lake, day: NaiveDate, pages: &[&[u8]]) {
        let mut raw = RawDay::new().unwrap();
        for page in pages {
            raw.push(page).unwrap();
        }
        let size = raw.store(lake, "t", day).await.unwrap();
        assert!(size > 0);
    }

    /// Puts `decompressed` where the day's archive goes, as an older pstn-lake (or a damaged
    /// object) would have left it.
    async fn put_archive(lake: &Lake, day: NaiveDate, decompressed: &[u8]) {
        let compressed = zstd::encode_all(decompressed, 3).unwrap();
        lake.store()
            .put(&raw_path(lake, "t", day), PutPayload::from(compressed))
            .await
            .unwrap();
    }

    async fn read(lake: &Lake, day: NaiveDate) -> RawArchive {
        read_raw(lake, "t", day).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn pages_come_back_as_pushed_whatever_they_hold_and_are_replaced_whole() {
        let (dir, lake) = crate::test_util::temp_lake();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert!(read_raw(&lake, "t", day).await.unwrap().is_none());
        // Newlines, a second value and a framing-like line inside a page stay inside it.
        let pages: [&[u8]; 4] = [
            b"{\"a\":\n1}\n{\"b\":2}",
            b"",
            b"7\nnot json",
            b"{\"c\":\"}\"}",
        ];
        store(&lake, day, &pages).await;
        assert_eq!(
            read(&lake, day).await.pages().unwrap(),
            RawPages::Pages(pages.to_vec())
        );
        store(&lake, day, &[b"{\"d\":4}"]).await;
        assert_eq!(
            read(&lake, day).await.pages().unwrap(),
            RawPages::Pages(vec![b"{\"d\":4}"])
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

    #[tokio::test]
    async fn an_archive_written_before_page_boundaries_reads_as_concatenated_pages() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        // What RawDay wrote before format 2: each page and a newline.
        let old = b"{\"a\":1}\n{\"b\":2}\n";
        put_archive(&lake, day, old).await;
        assert_eq!(
            read(&lake, day).await.pages().unwrap(),
            RawPages::Concatenated(old)
        );
    }

    /// A small object that decompresses to gigabytes is refused once it passes the limit,
    /// without holding more than that.
    #[tokio::test]
    async fn an_archive_that_decompresses_past_its_limit_is_refused() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let limit = raw_limit(0);
        // Zeros compress about 30,000 times: a few KB that would become 100 MB.
        let bomb = vec![0u8; limit as usize + (32 << 20)];
        put_archive(&lake, day, &bomb).await;
        let e = read_raw(&lake, "t", day).await.unwrap_err();
        assert!(
            matches!(&e, Error::RawTooLarge { path, compressed, limit: l }
                if path.ends_with("pages.json.zst") && *compressed < 1 << 20 && *l == limit),
            "{e:?}"
        );
        // Just under the limit is read.
        put_archive(&lake, day, &bomb[..limit as usize]).await;
        assert_eq!(read(&lake, day).await.bytes.len() as u64, limit);
        assert_eq!(raw_limit(1 << 30), 200 << 30);
    }

    #[tokio::test]
    async fn a_damaged_or_newer_archive_is_refused_with_its_path() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let cases: [(&[u8], &str); 4] = [
            (b"pstn-lake raw pages v2\n5\nabc", "page 1 is cut off"),
            (
                b"pstn-lake raw pages v2\n3\nabc\nx\n{}\n",
                "page 2 has no length",
            ),
            (
                b"pstn-lake raw pages v2\n18446744073709551615\n{}\n",
                "page 1 is cut off",
            ),
            (
                b"pstn-lake raw pages v3\n2\n{}\n",
                "its format `v3` is newer than this pstn-lake reads",
            ),
        ];
        for (decompressed, expected) in cases {
            put_archive(&lake, day, decompressed).await;
            let archive = read(&lake, day).await;
            let e = archive.pages().unwrap_err();
            assert_eq!(e.path, archive.path());
            assert!(
                e.path
                    .ends_with("_raw/t/call_date=2026-11-01/pages.json.zst")
            );
            assert!(e.reason.contains(expected), "{expected}: {e}");
            assert!(e.to_string().contains("sync --refetch --keep-raw"), "{e}");
        }
        // An empty day (no page pushed) is a valid archive with no pages.
        put_archive(&lake, day, HEADER).await;
        assert_eq!(
            read(&lake, day).await.pages().unwrap(),
            RawPages::Pages(vec![])
        );
    }
}
