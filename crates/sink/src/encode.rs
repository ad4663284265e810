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

impl ParallelWriter<Vec<u8>> {
    /// A writer into memory with `props` (the Arrow schema is embedded as `ArrowWriter` does).
    pub(crate) fn try_new(
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self, ParquetError> {
        Self::try_new_into(Vec::new(), schema, props)
    }
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
        // Alternate columns between the two threads: neighbouring columns are alike (ids, names,
        // numbers), so this balances the work without knowing each column's cost.
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for (i, pair) in self.columns.iter_mut().zip(&leaves).enumerate() {
            if i % 2 == 0 {
                mine.push(pair);
            } else {
                theirs.push(pair);
            }
        }
        let write = |columns: Vec<(&mut ArrowColumnWriter, &Vec<_>)>| {
            columns.into_iter().try_for_each(|(writer, parts)| {
                parts.iter().try_for_each(|part| writer.write(part))
            })
        };
        std::thread::scope(|scope| {
            let helper = scope.spawn(move || write(theirs));
            let here = write(mine);
            let there = helper.join().unwrap_or_else(|_| {
                Err(ParquetError::General("an encoder thread panicked".into()))
            });
            here.and(there)
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
        // Closing a column compresses its last page and its dictionary: split like `write`.
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for (i, writer) in writers.into_iter().enumerate() {
            if i % 2 == 0 {
                mine.push(writer);
            } else {
                theirs.push(writer);
            }
        }
        let close = |writers: Vec<ArrowColumnWriter>| {
            writers
                .into_iter()
                .map(ArrowColumnWriter::close)
                .collect::<Result<Vec<_>, _>>()
        };
        let (mine, theirs) = std::thread::scope(|scope| {
            let helper = scope.spawn(move || close(theirs));
            let here = close(mine);
            let there = helper.join().unwrap_or_else(|_| {
                Err(ParquetError::General("an encoder thread panicked".into()))
            });
            Ok::<_, ParquetError>((here?, there?))
        })?;
        let mut row_group = self.file.next_row_group()?;
        let (mut mine, mut theirs) = (mine.into_iter(), theirs.into_iter());
        // Back in column order: even columns were closed here, odd ones by the helper.
        for i in 0.. {
            let chunk = if i % 2 == 0 {
                mine.next()
            } else {
                theirs.next()
            };
            let Some(chunk) = chunk else { break };
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
