//! The pipeline against real counterparts: the Graph simulator on loopback and a lake in a
//! temporary folder, with every assertion on the typed reports and errors.

mod beta_logs;
mod chaos;
mod directory;
mod helpers;
mod ingest;
mod privacy;
mod sync;
