//! End-to-end tests of the `pstn-lake` binary: real processes, real files, real Parquet readers.

mod helpers;
mod ingest;
mod query;
mod stores;
mod sync;
