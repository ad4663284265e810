//! Writing one day as its rows arrive, with memory bounded by one day being encoded: rows of a
//! day being fetched wait in a local temporary file, and days are encoded one at a time.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use chrono::NaiveDate;
use tokio::sync::Semaphore;

use crate::day::{
    EncodedDay, OrderCheck, decode_parquet, write_new_day_encoded, writer_properties,
};
use crate::encode::ParallelWriter;
use crate::{DayCommit, Error, Lake, Result, TableSpec, write_day};

/// Rows handed to the Parquet writer at once (as they are: see `ParallelWriter::write_all`).
const CHUNK_ROWS: usize = 16 * 1024;

/// How many days the [`DayWriter`]s sharing it encode at once (a setting of the run, not of the
/// process). Encoding a day uses both cores (see [`ParallelWriter`]) and holds a Parquet writer per
/// column (zstd contexts, open pages) for the whole day, so one at a time keeps memory to one
/// day's encoder however many days are being fetched.
#[derive(Debug, Clone)]
pub struct EncodeSlots(Arc<Semaphore>);

impl EncodeSlots {
    /// Slots for `days` days encoded at once (at least one).
    pub fn new(days: usize) -> EncodeSlots {
        EncodeSlots(Arc::new(Semaphore::new(days.max(1))))
    }
}

/// A day, finished: what [`DayWriter::commit`] puts in place or merges.
enum Finished {
    /// The day's Parquet file: its rows came unique and in order.
    Encoded(Vec<u8>),
    /// The day's rows, in arrival order, to merge with what the lake holds.
    Rows(Vec<RecordBatch>),
}

/// One day of one table, written as its rows arrive (pages of a Graph day, in order).
///
/// While the rows come with unique keys and in (sort column, key) order, which is how Graph
/// returns a day, they are appended to an Arrow IPC stream in an anonymous temporary file (the
/// operating system deletes it when the writer is dropped, also on a crash), so a day being
/// fetched holds almost nothing in memory. [`DayWriter::commit`] then encodes the file into the
/// day's Parquet file, one day at a time in the process, and puts it in place as it is when the
/// lake does not hold the day yet. Rows out of order or with a repeated key, or a day the lake
/// already holds, take the merging path of [`write_day`] instead: the result is the same, only
/// slower.
pub struct DayWriter {
    spec: TableSpec,
    day: NaiveDate,
    /// The rows so far, in order, waiting to be encoded.
    spool: StreamWriter<BufWriter<File>>,
    /// Rows that arrived after the order broke: merged at the commit.
    held: Vec<RecordBatch>,
    in_order: bool,
    /// Whether the rows so far are unique and in order (the writer's one order check).
    order: OrderCheck,
    rows_in: usize,
}

impl DayWriter {
    /// A writer for `day` of the table `spec`; its rows wait in a temporary file.
    pub fn new(spec: &TableSpec, day: NaiveDate) -> Result<DayWriter> {
        let file = tempfile::tempfile().map_err(Error::Spool)?;
        let spool = StreamWriter::try_new(BufWriter::new(file), &spec.schema)
            .map_err(crate::error::arrow("starting a day's temporary file"))?;
        Ok(DayWriter {
            spec: spec.clone(),
            day,
            spool,
            held: Vec::new(),
            in_order: true,
            order: OrderCheck::default(),
            rows_in: 0,
        })
    }

    /// Adds rows of this day (see [`crate::split_by_day`]). This writes to a local file: call it
    /// from a blocking context.
    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.rows_in += batch.num_rows();
        if self.in_order && !self.order.extends(&self.spec, &batch) {
            // The rows spooled so far are read back and merged at the commit.
            self.in_order = false;
        }
        if !self.in_order {
            self.held.push(batch);
            return Ok(());
        }
        self.spool
            .write(&batch)
            .map_err(crate::error::arrow("writing a day's temporary file"))
    }

    /// Reads the spooled rows back: encoded into the day's Parquet file, `CHUNK_ROWS` at a time,
    /// or, when the day is to be merged anyway (`encode` false: see [`DayWriter::commit`]), as
    /// rows.
    fn finish(self, encode: bool) -> Result<Finished> {
        let DayWriter {
            spec,
            day,
            spool,
            mut held,
            ..
        } = self;
        let error = |source| Error::Parquet {
            action: "encoding",
            path: format!("{}/{}", spec.name, crate::day_folder(day)),
            source,
        };
        let mut file = spool
            .into_inner()
            .map_err(crate::error::arrow("finishing a day's temporary file"))?
            .into_inner()
            .map_err(|e| Error::Spool(e.into_error()))?;
        file.rewind().map_err(Error::Spool)?;
        let spooled = StreamReader::try_new(BufReader::new(file), None)
            .map_err(crate::error::arrow("reading a day's temporary file"))?;
        if !encode {
            // The whole day is merged at the commit: the spooled rows first, so that of two
            // rows with one key the later one wins.
            let mut rows = spooled
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(crate::error::arrow("reading a day's temporary file"))?;
            rows.append(&mut held);
            return Ok(Finished::Rows(rows));
        }
        let mut writer =
            ParallelWriter::try_new(Arc::clone(&spec.schema), writer_properties(&spec))
                .map_err(error)?;
        let mut pending: Vec<RecordBatch> = Vec::new();
        let mut pending_rows = 0;
        let mut spooled = spooled.peekable();
        while let Some(batch) = spooled.next() {
            let batch = batch.map_err(crate::error::arrow("reading a day's temporary file"))?;
            pending_rows += batch.num_rows();
            pending.push(batch);
            if pending_rows >= CHUNK_ROWS || (spooled.peek().is_none() && pending_rows > 0) {
                writer.write_all(&pending).map_err(error)?;
                pending.clear();
                pending_rows = 0;
            }
        }
        Ok(Finished::Encoded(writer.finish().map_err(error)?))
    }

    /// Writes the day into the lake, atomically: as encoded when the rows came in order and the
    /// lake does not hold the day yet, otherwise merged with what it holds (see [`write_day`]).
    /// A day that received no rows is left as it is.
    pub async fn commit(self, lake: &Lake, slots: &EncodeSlots) -> Result<DayCommit> {
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
        // Rows out of order are merged; so is a day the lake holds, with it: their rows are not
        // worth encoding first.
        let encode = self.in_order
            && lake
                .day_objects(&self.spec.name, self.day)
                .await?
                .is_empty();
        let (spec, day) = (self.spec.clone(), self.day);
        let finished = {
            let _slot = slots.0.acquire().await.expect("never closed");
            tokio::task::spawn_blocking(move || self.finish(encode))
                .await
                .map_err(|e| Error::Spool(std::io::Error::other(e)))??
        };
        let rows = match finished {
            Finished::Rows(rows) => rows,
            Finished::Encoded(bytes) => {
                let bytes = bytes::Bytes::from(bytes);
                if let Some(commit) = write_new_day_encoded(
                    lake,
                    &spec,
                    day,
                    EncodedDay::Bytes(bytes.clone()),
                    rows_in,
                )
                .await?
                {
                    return Ok(commit);
                }
                // The day appeared in the lake meanwhile: merge with it after all.
                let name = format!("{}/{} (being written)", spec.name, crate::day_folder(day));
                decode_parquet(&spec, bytes, &name)?
            }
        };
        let mut commit = write_day(lake, &spec, day, rows).await?;
        commit.rows_in = rows_in;
        Ok(commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{batch, contents, day, spec, temp_lake};
    use arrow::array::AsArray;

    async fn write(lake: &Lake, batches: Vec<RecordBatch>) -> DayCommit {
        let mut writer = DayWriter::new(&spec(), day()).unwrap();
        for b in batches {
            writer.push(b).unwrap();
        }
        writer.commit(lake, &EncodeSlots::new(1)).await.unwrap()
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

    /// Several days fetched at once, as a sync does: pushes interleave, the commits run
    /// together (and are encoded one at a time), and each day holds exactly its own rows.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn days_written_at_once_each_land_their_own_rows() {
        let (_dir, lake) = temp_lake();
        let days: Vec<NaiveDate> = (0..4).map(|k| day() + chrono::Days::new(k)).collect();
        let mut writers: Vec<DayWriter> = days
            .iter()
            .map(|&d| DayWriter::new(&spec(), d).unwrap())
            .collect();
        let ids: Vec<Vec<String>> = (0..4)
            .map(|k| (0..3000).map(|i| format!("d{k}-{i:05}")).collect())
            .collect();
        for start in (0..3000).step_by(500) {
            for (k, writer) in writers.iter_mut().enumerate() {
                let rows: Vec<(&str, i64, i64)> = (start..start + 500)
                    .map(|i| (ids[k][i].as_str(), k as i64 * 86_400 + i as i64, i as i64))
                    .collect();
                writer.push(batch(&rows)).unwrap();
            }
        }
        let slots = EncodeSlots::new(1);
        let commits =
            futures::future::join_all(writers.into_iter().map(|w| w.commit(&lake, &slots))).await;
        for (k, commit) in commits.into_iter().enumerate() {
            let commit = commit.unwrap();
            assert_eq!(
                (commit.day, commit.rows_in, commit.rows_after),
                (days[k], 3000, 3000)
            );
            let got: Vec<(String, i64)> = crate::read_day(&lake, &spec(), days[k])
                .await
                .unwrap()
                .iter()
                .flat_map(|b| {
                    let ids = b.column(0).as_string::<i32>().clone();
                    let amounts = b
                        .column(2)
                        .as_primitive::<arrow::datatypes::Int64Type>()
                        .clone();
                    (0..b.num_rows()).map(move |i| (ids.value(i).to_owned(), amounts.value(i)))
                })
                .collect();
            let want: Vec<(String, i64)> =
                (0..3000).map(|i| (ids[k][i].clone(), i as i64)).collect();
            assert_eq!(got, want, "day {}", days[k]);
        }
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
        let slots = EncodeSlots::new(1);
        assert_eq!(empty.commit(&lake, &slots).await.unwrap().rows_after, 0);
        assert_eq!(contents(&lake).await.len(), 3);
    }
}
