//! The Parquet encoder of every lake file: columns are encoded on two threads at once.
//!
//! Encoding (dictionary building, statistics, zstd) is most of the CPU a landing spends after
//! decoding, and a day is encoded by one writer. Splitting each batch's columns between the
//! calling thread and one helper thread halves that writer's wall time; the file is the same as
//! `ArrowWriter` would write (same properties, same embedded Arrow schema).

use std::io::Write;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Rows in one row group at most (a day of Graph calls is far below it: one row group per day).
const MAX_ROW_GROUP_ROWS: usize = 1024 * 1024;

/// Writes record batches as one Parquet file (into memory or a local file), encoding columns in
/// parallel.
pub(crate) struct ParallelWriter<W: Write + Send = Vec<u8>> {
    schema: SchemaRef,
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    columns: Vec<ArrowColumnWriter>,
    row_group: usize,
    rows_in_group: usize,
}

impl<W: Write + Send> ParallelWriter<W> {
    /// A writer into `out` with `props` (the Arrow schema is embedded as `ArrowWriter` does).
    pub(crate) fn try_new_into(
        out: W,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self, ParquetError> {
        let (file, factory) = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props))?
            .into_serialized_writer()?;
        let columns = factory.create_column_writers(0)?;
        Ok(ParallelWriter {
            schema,
            file,
            factory,
            columns,
            row_group: 0,
            rows_in_group: 0,
        })
    }

    /// Encodes batches (in the writer's schema), in order, as if they were one: each thread takes
    /// its columns of every batch, so small batches need not be joined (copied) first.
    pub(crate) fn write_all(&mut self, batches: &[RecordBatch]) -> Result<(), ParquetError> {
        // For each leaf column, its part of every batch.
        let mut leaves: Vec<Vec<_>> = (0..self.columns.len())
            .map(|_| Vec::with_capacity(batches.len()))
            .collect();
        for batch in batches {
            let mut leaf = 0;
            for (array, field) in batch.columns().iter().zip(self.schema.fields()) {
                for part in compute_leaves(field, array)? {
                    leaves
                        .get_mut(leaf)
                        .ok_or_else(|| {
                            ParquetError::General("a batch has too many columns".into())
                        })?
                        .push(part);
                    leaf += 1;
                }
            }
        }
        let columns: Vec<_> = self.columns.iter_mut().zip(&leaves).collect();
        on_two_threads(columns, |(writer, parts)| {
            parts.iter().try_for_each(|part| writer.write(part))
        })?;
        self.rows_in_group += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
        if self.rows_in_group >= MAX_ROW_GROUP_ROWS {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn flush_row_group(&mut self) -> Result<(), ParquetError> {
        if self.rows_in_group == 0 {
            return Ok(());
        }
        let next = self.factory.create_column_writers(self.row_group + 1)?;
        let writers = std::mem::replace(&mut self.columns, next);
        // Closing a column compresses its last page and its dictionary: two threads too.
        let chunks = on_two_threads(writers, ArrowColumnWriter::close)?;
        let mut row_group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        self.row_group += 1;
        self.rows_in_group = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; the file's bytes (or the writer they went to).
    pub(crate) fn finish(mut self) -> Result<W, ParquetError> {
        self.flush_row_group()?;
        self.file.into_inner()
    }
}

/// Runs `work` on every item, on the calling thread and one helper, each taking the next item when
/// it is free (columns differ a lot in cost: a fixed split left one thread a fifth busier); the
/// results in the items' order, or the first error.
fn on_two_threads<T: Send, R: Send>(
    items: Vec<T>,
    work: impl Fn(T) -> Result<R, ParquetError> + Sync,
) -> Result<Vec<R>, ParquetError> {
    let count = items.len();
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let run = || {
        let mut done = Vec::new();
        loop {
            let next = queue.lock().map_err(|_| panicked())?.next();
            let Some((i, item)) = next else {
                return Ok(done);
            };
            done.push((i, work(item)?));
        }
    };
    let (here, there) = std::thread::scope(|scope| {
        let helper = scope.spawn(run);
        let here = run();
        (here, helper.join().unwrap_or_else(|_| Err(panicked())))
    });
    let mut slots: Vec<Option<R>> = (0..count).map(|_| None).collect();
    for (i, result) in here?.into_iter().chain(there?) {
        slots[i] = Some(result);
    }
    slots
        .into_iter()
        .map(|slot| slot.ok_or_else(panicked))
        .collect()
}

fn panicked() -> ParquetError {
    ParquetError::General("an encoder thread panicked".into())
}
