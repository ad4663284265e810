//! `pstn-lake-graph-sim`: a deterministic Microsoft Graph call-records emulator.
//!
//! It serves, under `/communications/callRecords/`:
//!
//! - `getPstnCalls` and `getDirectRoutingCalls`, on v1.0 and beta (beta rows carry the beta-only
//!   properties too);
//! - on beta only, `getSmsLog` (the SMS the same users send and receive),
//!   `getPstnBlockedUsersLog` (users blocked after the toll-fraud episodes hidden in the PSTN
//!   rows, and one blocked on Microsoft's own signals) and `getPstnOnlineMeetingDialoutReport`
//!   (the totals of the PSTN rows' conference dial-outs in the requested window). On v1.0 these
//!   three answer 400 `Resource not found for the segment '…'.`, as Graph does.
//!
//! It serves them over real HTTP the way Graph does: client-credentials tokens (secret or
//! certificate assertion), unquoted date-time literals, the 90-day limit, 1,000-row pages with
//! `@odata.nextLink` in Microsoft's documented `from=…,to=…` form, the PSTN inclusive
//! `toDateTime` (the others' is exclusive), throttling with `Retry-After`, permissions missing
//! tenant-wide or for one function (403), and injected faults (5xx, 429, dropped connections,
//! truncated bodies, expired tokens, requests held until the test releases them). Every row
//! is a pure function of (seed, function, day, index), so a test knows exactly what a correct
//! client must land: [`Tenant::expected`].
//!
//! Tests, `pstn-lake demo`, `pstn-lake simulate` and the benchmarks use it.
//!
//! ```
//! use pstn_lake_graph_sim::{Fault, FaultPlan, Function, SimConfig, TenantConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let first_day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
//! let config = SimConfig::default()
//!     .with_tenant(TenantConfig::new(42, first_day, 3, 500))
//!     .with_page_size(100)
//!     .with_faults(FaultPlan::new().at(2, Fault::Throttle { retry_after_secs: 1 }));
//! let sim = pstn_lake_graph_sim::start(config, "127.0.0.1:0".parse().unwrap()).await?;
//! // Point a client at sim.graph_url() and sim.login_url(), then compare what it landed with:
//! let expected = sim.tenant().expected(Function::Pstn, first_day, first_day);
//! assert_eq!(expected.len(), 500);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Without a server, [`Tenant::write_pages`] produces the same page bodies for benchmarks.

mod auth;
mod blocked;
mod clock;
mod config;
mod conn;
mod data;
mod dialout;
mod direct_routing;
mod faults;
mod fraud;
mod graph;
mod json;
mod odata;
mod page;
mod people;
mod pstn;
mod rhythm;
mod rng;
mod server;
mod sms;
mod stats;
mod tenant;

pub use config::{BadValue, SimConfig};
pub use faults::{Fault, FaultPlan};
pub use rhythm::Traffic;
pub use server::{RunningSim, start};
pub use stats::SimStats;
pub use tenant::{ApiVersion, ExpectedRow, FraudEpisode, Function, Tenant, TenantConfig};
