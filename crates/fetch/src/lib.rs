//! The Microsoft Graph side of pstn-lake: the call-log tables, their exact Arrow schemas, a
//! decoder from Graph page bytes to record batches, and the Graph client (clouds, OAuth client
//! credentials, day windows, paging, retries and throttling), and mail sent as a mailbox through
//! Graph `sendMail` ([`GraphClient::send_mail`]).
//!
//! ```
//! use pstn_lake_fetch::{PageDecoder, Table};
//!
//! let page = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/pstn-beta-page.json")).unwrap();
//! let decoded = PageDecoder::new().decode(&page).unwrap();
//! assert_eq!(decoded.table, Table::PstnCalls);
//! assert_eq!(decoded.batches[0].schema(), Table::PstnCalls.schema());
//! ```

mod auth;
mod client;
mod cloud;
mod decode;
pub mod directory;
mod error;
mod mail;
mod pages;
mod retry;
mod scalar;
mod table;

pub use auth::{
    CertificateError, CredentialVars, Credentials, Secret, TokenSource, certificate_secret,
};
pub use client::{
    DayPages, DirectoryPages, FetchStats, GraphClient, GraphConfig, MAX_PAGE_BYTES,
    MAX_PAGES_PER_DAY, Window,
};
pub use cloud::{ApiVersion, Cloud};
pub use decode::{
    BadRow, DEFAULT_BATCH_SIZE, DecodedPage, PageDecoder, Unlandable, day_properties,
    first_unlandable_row,
};
pub use error::{Error, NextLinkRefusal, RequestError, Result};
pub use mail::{Attachment, MAX_SEND_MAIL_BYTES, Mail};
pub use pages::{SplitPages, split_pages};
pub use retry::{RetryConfig, Throttle, parse_retry_after};
pub use scalar::{parse_decimal, parse_timestamp_micros};
pub use table::{
    EXTRA_PROPERTIES, Kind, MONEY_PRECISION, MONEY_SCALE, Property, REMOVED, ROW_KEY, Table,
    WINDOW_COLUMNS, data_type, snake_case,
};
