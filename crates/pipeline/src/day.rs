//! One day of a sync: its pages fetched in chunks, its rows and pages landed.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use bytes::Bytes;
use chrono::NaiveDate;
use futures::{Stream, TryStreamExt};
use pstn_lake_fetch::{BadRow, DecodedPage, GraphClient, Table};
use pstn_lake_sink::{
    DayWriter, EncodeSlots, Lake, Pseudonymiser, RawDay, TableSpec, remove_quarantine,
    split_by_day, store_quarantine,
};

use crate::{Error, Result};

/// A day's rows are handed to its writer in chunks of about this many rows.
const ENCODE_EVERY_ROWS: usize = 8 * 1024;

/// With the raw archive, a day's pages are compressed this many at a time.
const ARCHIVE_EVERY_PAGES: usize = 8;

/// Rows and page bodies of a day, from one or more pages.
#[derive(Default)]
pub(crate) struct Chunk {
    /// The day's rows (rows of other days are left out).
    batches: Vec<RecordBatch>,
    rows: usize,
    /// The page bodies as received, for the raw archive (only when the client keeps them).
    pages: Vec<Bytes>,
    /// Properties the schema does not know, with row counts.
    unknown: Vec<(String, u64)>,
    /// Rows set aside by the decoder, with the number of their page (1-based).
    bad_rows: Vec<(usize, BadRow)>,
}

impl Chunk {
    /// Adds page number `number`: its rows of `day`, its rows set aside, its body when `keep_raw`.
    pub(crate) fn add(
        &mut self,
        spec: &TableSpec,
        day: NaiveDate,
        number: usize,
        body: Bytes,
        page: DecodedPage,
        keep_raw: bool,
    ) -> Result<()> {
        self.bad_rows
            .extend(page.bad_rows.into_iter().map(|row| (number, row)));
        for batch in &page.batches {
            // PSTN's toDateTime is inclusive: rows of the next midnight belong to the next day.
            for part in rows_of_day(spec, batch, day)? {
                self.rows += part.num_rows();
                self.batches.push(part);
            }
        }
        self.unknown.extend(page.unknown_properties);
        if keep_raw {
            self.pages.push(body);
        }
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.rows >= ENCODE_EVERY_ROWS || self.pages.len() >= ARCHIVE_EVERY_PAGES
    }

    fn is_empty(&self) -> bool {
        self.rows == 0
            && self.pages.is_empty()
            && self.unknown.is_empty()
            && self.bad_rows.is_empty()
    }
}

/// The rows of `batch` that belong to `day`.
fn rows_of_day(
    spec: &TableSpec,
    batch: &RecordBatch,
    day: NaiveDate,
) -> Result<impl Iterator<Item = RecordBatch>> {
    Ok(split_by_day(spec, batch)?
        .into_iter()
        .filter(move |(d, _)| *d == day)
        .map(|(_, part)| part))
}

/// The pages of `table` for `day` from Graph, as chunks of about [`ENCODE_EVERY_ROWS`] rows (or
/// [`ARCHIVE_EVERY_PAGES`] pages), fetched as the chunks are asked for. Unless `strict`, rows that
/// cannot be landed are set aside (for the quarantine) instead of failing the day.
pub(crate) fn day_chunks<'a>(
    client: &'a GraphClient,
    spec: &'a TableSpec,
    table: Table,
    day: NaiveDate,
    strict: bool,
) -> Result<impl Stream<Item = Result<Chunk>> + 'a> {
    let pages = client
        .day_pages(table, day)?
        .with_bad_rows_set_aside(!strict);
    let keep_raw = client.keeps_raw();
    Ok(futures::stream::try_unfold(
        Some(pages),
        move |pages| async move {
            let Some(mut pages) = pages else {
                return Ok(None);
            };
            let mut chunk = Chunk::default();
            loop {
                let next = pages.next_page().await.map_err(|source| Error::Fetch {
                    table,
                    day,
                    source: Box::new(source),
                })?;
                let Some((body, page)) = next else {
                    return Ok((!chunk.is_empty()).then_some((chunk, None)));
                };
                chunk.add(spec, day, pages.pages_fetched(), body, page, keep_raw)?;
                if chunk.is_full() {
                    return Ok(Some((chunk, Some(pages))));
                }
            }
        },
    ))
}

/// What landing a day did.
#[derive(Debug, Default)]
pub(crate) struct Landed {
    /// Rows of the day written.
    pub rows: u64,
    /// Properties the schema does not know, with row counts.
    pub unknown: BTreeMap<String, u64>,
    /// Rows set aside, now in the day's quarantine.
    pub quarantined: Vec<Quarantined>,
}

/// A row that could not be landed, kept in the lake's quarantine
/// (`<lake>/_pstn_lake/quarantine/<table>/call_date=<day>/rows.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Its table.
    pub table: Table,
    /// The day whose pages held it.
    pub day: NaiveDate,
    /// The page (1-based, in the day's order).
    pub page: usize,
    /// The row, what is wrong with it, and its JSON as served.
    pub row: BadRow,
}

impl std::fmt::Display for Quarantined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} page {} {}",
            self.table, self.day, self.page, self.row
        )
    }
}

impl Quarantined {
    /// The line the quarantine keeps for it: one JSON object, the row's JSON as a string (byte
    /// for byte as served once unescaped).
    fn line(&self) -> String {
        let line = serde_json::json!({
            "table": self.table.name(),
            "day": self.day.to_string(),
            "page": self.page,
            "row": self.row.row,
            "id": self.row.id,
            "field": self.row.field,
            "error": self.row.message,
            "json": self.row.json,
        });
        format!("{line}\n")
    }
}

/// Lands one day from its chunks: each chunk's rows go to the day's writer as it arrives (on a
/// blocking thread: the writer encodes a part of the day every `PART_ROWS` rows, one part at a
/// time in the process (`encoding`), so memory stays near a part's rows per day in flight plus
/// one encoder, whatever the concurrency) and, with `keep_raw`, its pages to the day's archive;
/// the archive is stored, then the day is committed. A day without rows changes nothing in the
/// table. Rows set aside go to the day's quarantine, stored before the day commits; a day landed
/// without any (that `was_quarantined`) has its quarantine removed after it commits. With
/// `privacy`, the rows and the rows set aside are pseudonymised on their way
/// ([`crate::privacy::batch`], [`crate::privacy::bad_row`]). The pipeline's one use of [`DayWriter`] for the call
/// logs (sync and rebuild both land through it).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn land_day(
    lake: &Lake,
    spec: &TableSpec,
    table: Table,
    day: NaiveDate,
    keep_raw: bool,
    was_quarantined: bool,
    encoding: &EncodeSlots,
    privacy: Option<&Pseudonymiser>,
    chunks: impl Stream<Item = Result<Chunk>>,
) -> Result<Landed> {
    let spool_failed = move |source| Error::Spool {
        table,
        day,
        source: Box::new(source),
    };
    let archive_failed = move |source| Error::Archive {
        table,
        day,
        source: Box::new(source),
    };
    let mut writer = DayWriter::new(lake, spec, day, encoding).map_err(spool_failed)?;
    let mut archive = if keep_raw {
        Some(RawDay::new().map_err(archive_failed)?)
    } else {
        None
    };
    let mut archived_pages = 0;
    let mut landed = Landed::default();
    let mut chunks = std::pin::pin!(chunks);
    while let Some(chunk) = chunks.try_next().await? {
        for (k, n) in chunk.unknown {
            *landed.unknown.entry(k).or_default() += n;
        }
        landed
            .quarantined
            .extend(chunk.bad_rows.into_iter().map(|(page, row)| Quarantined {
                table,
                day,
                page,
                row: match privacy {
                    Some(p) => crate::privacy::bad_row(p, row),
                    None => row,
                },
            }));
        if chunk.rows == 0 && chunk.pages.is_empty() {
            continue;
        }
        landed.rows += chunk.rows as u64;
        archived_pages += chunk.pages.len();
        let (batches, pages) = (chunk.batches, chunk.pages);
        let privacy = privacy.cloned();
        (writer, archive) = tokio::task::spawn_blocking(move || -> Result<_> {
            for batch in batches {
                let batch = match &privacy {
                    Some(p) => crate::privacy::batch(p, &batch)?,
                    None => batch,
                };
                writer.push(batch).map_err(spool_failed)?;
            }
            if let Some(archive) = archive.as_mut() {
                for page in &pages {
                    archive.push(page).map_err(archive_failed)?;
                }
            }
            Ok((writer, archive))
        })
        .await??;
    }
    if let Some(archive) = archive
        && archived_pages > 0
    {
        // Archived before the day commits: a committed day always has its pages.
        archive
            .store(lake, table.name(), day)
            .await
            .map_err(archive_failed)?;
    }
    let quarantine_failed = move |source| Error::Quarantine {
        table,
        day,
        source: Box::new(source),
    };
    if !landed.quarantined.is_empty() {
        // Kept before the day commits: a committed day always has its set-aside rows recorded.
        let lines: String = landed.quarantined.iter().map(Quarantined::line).collect();
        store_quarantine(lake, table.name(), day, lines.into())
            .await
            .map_err(quarantine_failed)?;
    }
    if landed.rows > 0 {
        writer
            .commit(lake)
            .await
            .map_err(|source| Error::WriteDay {
                table,
                day,
                source: Box::new(source),
            })?;
    }
    if was_quarantined && landed.quarantined.is_empty() {
        remove_quarantine(lake, table.name(), day)
            .await
            .map_err(quarantine_failed)?;
    }
    Ok(landed)
}
