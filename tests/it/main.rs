//! End-to-end tests of the `pstn-lake` binary: real processes, real files, real Parquet readers.

mod chargeback;
mod corpus;
mod ddl;
mod delta;
mod demo;
mod fraud;
mod helpers;
mod html;
mod ingest;
mod purge;
mod query;
mod reports;
mod run;
mod shell;
mod stores;
mod sync;
mod untrusted_text;
mod writers;
