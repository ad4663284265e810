//! Writing one day as its rows arrive, encoding them on the way, so a day being fetched holds
//! compressed Parquet rather than every decoded row.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::TimestampMicrosecondType;
use chrono::NaiveDate;

use crate::day::{decode_parquet, in_order, write_new_day_encoded, writer_properties};
use crate::encode::ParallelWriter;
use crate::{DayCommit, Error, Lake, Result, TableSpec, write_day};

/// Rows joined before they go to the Parquet writer, which is much faster on large batches.
const CHUNK_ROWS: usize = 16 * 1024;

/// A day's file, finished: what [`DayWriter::commit`] puts in place or merges.
struct Finished {
    spec: TableSpec,
    day: NaiveDate,
    bytes: Vec<u8>,
    held: Vec<RecordBatch>,
    in_order: bool,
}

/// One day of one table, written as its rows arrive (pages of a Graph day, in order).
///
/// While the rows come with unique keys and in (sort column, key) order, which is how Graph
/// returns a day, they are encoded into the day's Parquet file as they arrive, and only that file
/// is held. [`DayWriter::commit`] then puts it in place as it is when the lake does not hold the
/// day yet. Rows out of order or with a repeated key, or a day the lake already holds, take the
/// merging path of [`write_day`] instead: the result is the same, only slower.
pub struct DayWriter {
    spec: TableSpec,
    day: NaiveDate,
    writer: ParallelWriter,
    /// Rows waiting to be encoded, in order.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    /// Rows that arrived after the order broke: merged at the commit.
    held: Vec<RecordBatch>,
    in_order: bool,
    /// Hashes of the keys seen (a collision only sends the day down the merging path).
    keys: foldhash::HashSet<u64>,
    hasher: foldhash::fast::RandomState,
    last: Option<(Option<i64>, String)>,
    rows_in: usize,
}

impl DayWriter {
    /// A writer for `day` of the table `spec`.
    pub fn new(spec: &TableSpec, day: NaiveDate) -> Result<DayWriter> {
        let writer = ParallelWriter::try_new(Arc::clone(&spec.schema), writer_properties(spec))
            .map_err(|source| Error::Parquet {
                action: "encoding",
                path: format!("{}/call_date={day}", spec.name),
                source,
            })?;
        Ok(DayWriter {
            spec: spec.clone(),
            day,
            writer,
            pending: Vec::new(),
            pending_rows: 0,
            held: Vec::new(),
            in_order: true,
            keys: foldhash::HashSet::default(),
            hasher: foldhash::fast::RandomState::default(),
            last: None,
            rows_in: 0,
        })
    }

    /// Adds rows of this day (see [`crate::split_by_day`]). This is CPU work (every
    /// few thousand rows are encoded): call it from a blocking context.
    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.rows_in += batch.num_rows();
        if self.in_order && !self.extends_order(&batch) {
            self.in_order = false;
            self.held.append(&mut self.pending);
            self.pending_rows = 0;
        }
        if !self.in_order {
            self.held.push(batch);
            return Ok(());
        }
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= CHUNK_ROWS {
            self.encode_pending()?;
        }
        Ok(())
    }

    /// Whether `batch` continues the rows so far: keys present and new, (sort column, key) order.
    fn extends_order(&mut self, batch: &RecordBatch) -> bool {
        let (Some(ts), Some(keys)) = (
            batch
                .column_by_name(&self.spec.sort_by)
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>()),
            batch
                .column_by_name(&self.spec.key)
                .and_then(|c| c.as_string_opt::<i32>()),
        ) else {
            return false;
        };
        if keys.null_count() > 0 {
            return false;
        }
        let mut prev = self.last.as_ref().map(|(t, k)| (*t, k.as_str()));
        for i in 0..batch.num_rows() {
            let row = (ts.is_valid(i).then(|| ts.value(i)), keys.value(i));
            if !self.keys.insert(self.hasher.hash_one(row.1)) {
                return false;
            }
            if let Some(p) = prev
                && !in_order(p, row)
            {
                return false;
            }
            prev = Some(row);
        }
        if let Some((t, k)) = prev {
            self.last = Some((t, k.to_owned()));
        }
        true
    }

    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = concat_batches(&self.spec.schema, &self.pending)
            .map_err(crate::error::arrow("joining rows to encode"))?;
        self.pending.clear();
        self.pending_rows = 0;
        self.writer
            .write(&chunk)
            .map_err(|source| self.error(source))
    }

    fn error(&self, source: parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            action: "encoding",
            path: format!("{}/call_date={}", self.spec.name, self.day),
            source,
        }
    }

    /// Finishes the file: the encoded bytes, and the rows to merge into them when the order broke.
    fn finish(mut self) -> Result<Finished> {
        self.encode_pending()?;
        let bytes = match self.writer.finish() {
            Ok(bytes) => bytes,
            Err(source) => {
                return Err(Error::Parquet {
                    action: "encoding",
                    path: format!("{}/call_date={}", self.spec.name, self.day),
                    source,
                });
            }
        };
        Ok(Finished {
            spec: self.spec,
            day: self.day,
            bytes,
            held: self.held,
            in_order: self.in_order,
        })
    }

    /// Writes the day into the lake, atomically: as encoded when the rows came in order and the
    /// lake does not hold the day yet, otherwise merged with what it holds (see [`write_day`]).
    /// A day that received no rows is left as it is.
    pub async fn commit(self, lake: &Lake) -> Result<DayCommit> {
        let rows_in = self.rows_in;
        if rows_in == 0 {
            // Nothing to write: the day stays as it is.
            return Ok(DayCommit {
                day: self.day,
                rows_before: 0,
                rows_in: 0,
                rows_after: 0,
                bytes: 0,
            });
        }
        let Finished {
            spec,
            day,
            bytes,
            held,
            in_order,
        } = tokio::task::spawn_blocking(move || self.finish())
            .await
            .map_err(|e| Error::Spool(std::io::Error::other(e)))??;
        let bytes = bytes::Bytes::from(bytes);
        let encoded_rows = rows_in - held.iter().map(RecordBatch::num_rows).sum::<usize>();
        if in_order
            && let Some(commit) =
                write_new_day_encoded(lake, &spec, day, bytes.clone(), encoded_rows).await?
        {
            return Ok(commit);
        }
        let name = format!("{}/call_date={day} (being written)", spec.name);
        let mut rows = if encoded_rows > 0 {
            decode_parquet(&spec, bytes, &name)?
        } else {
            Vec::new()
        };
        rows.extend(held);
        let mut commit = write_day(lake, &spec, day, rows).await?;
        commit.rows_in = rows_in;
        Ok(commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{batch, contents, day, spec, temp_lake};

    async fn write(lake: &Lake, batches: Vec<RecordBatch>) -> DayCommit {
        let mut writer = DayWriter::new(&spec(), day()).unwrap();
        for b in batches {
            writer.push(b).unwrap();
        }
        writer.commit(lake).await.unwrap()
    }

    fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
        v.iter().map(|(k, a)| ((*k).to_owned(), *a)).collect()
    }

    #[tokio::test]
    async fn rows_in_order_are_written_as_encoded() {
        let (_dir, lake) = temp_lake();
        // More than one chunk, so the file is encoded in several steps.
        let n = CHUNK_ROWS as i64 * 2 + 10;
        let ids: Vec<String> = (0..n).map(|i| format!("id-{i:08}")).collect();
        let batches: Vec<RecordBatch> = (0..n)
            .step_by(1000)
            .map(|start| {
                let part: Vec<(&str, i64, i64)> = (start..(start + 1000).min(n))
                    .map(|i| (ids[i as usize].as_str(), i / 10, i))
                    .collect();
                batch(&part)
            })
            .collect();
        let commit = write(&lake, batches).await;
        assert_eq!((commit.rows_before, commit.rows_in), (0, n as usize));
        assert_eq!(commit.rows_after, n as usize);
        let got = contents(&lake).await;
        assert_eq!(got.len(), n as usize);
        assert!(got.iter().enumerate().all(|(i, (_, a))| *a == i as i64));
    }

    #[tokio::test]
    async fn rows_out_of_order_or_repeated_are_merged() {
        let (_dir, lake) = temp_lake();
        // b comes before a in time; c repeats with a later value, which wins.
        let commit = write(
            &lake,
            vec![
                batch(&[("a", 20, 1), ("c", 30, 2)]),
                batch(&[("b", 10, 3)]),
                batch(&[("c", 30, 4)]),
            ],
        )
        .await;
        assert_eq!((commit.rows_in, commit.rows_after), (4, 3));
        assert_eq!(
            contents(&lake).await,
            pairs(&[("b", 3), ("a", 1), ("c", 4)])
        );
    }

    #[tokio::test]
    async fn a_day_the_lake_holds_is_merged_with_it() {
        let (_dir, lake) = temp_lake();
        write(&lake, vec![batch(&[("a", 10, 1), ("b", 20, 2)])]).await;
        // In order by itself, but the lake holds the day: b is replaced, a is kept, c is added.
        let commit = write(&lake, vec![batch(&[("b", 20, 5), ("c", 30, 6)])]).await;
        assert_eq!(
            (commit.rows_before, commit.rows_in, commit.rows_after),
            (2, 2, 3)
        );
        assert_eq!(
            contents(&lake).await,
            pairs(&[("a", 1), ("b", 5), ("c", 6)])
        );
        // A day with no rows leaves the lake as it is.
        let empty = DayWriter::new(&spec(), day()).unwrap();
        assert_eq!(empty.commit(&lake).await.unwrap().rows_after, 0);
        assert_eq!(contents(&lake).await.len(), 3);
    }
}
