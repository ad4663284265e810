//! The Microsoft Graph side of pstn-lake: the call-log tables, their exact Arrow schemas, and a
//! decoder from Graph page bytes to record batches.
//!
//! ```
//! use pstn_lake_fetch::{PageDecoder, Table};
//!
//! let page = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/pstn-beta-page.json")).unwrap();
//! let decoded = PageDecoder::new().decode(&page).unwrap();
//! assert_eq!(decoded.table, Table::PstnCalls);
//! assert_eq!(decoded.batches[0].schema(), Table::PstnCalls.schema());
//! ```

mod decode;
mod error;
mod scalar;
mod table;

pub use decode::{DEFAULT_BATCH_SIZE, DecodedPage, PageDecoder};
pub use error::{Error, Result};
pub use scalar::{parse_decimal, parse_timestamp_micros};
pub use table::{
    EXTRA_PROPERTIES, Kind, MONEY_PRECISION, MONEY_SCALE, Property, Table, data_type, snake_case,
};
