//! `pstn-lake-graph-sim`: a deterministic Microsoft Graph call-records emulator.
//!
//! It serves, under `/{v1.0|beta}/communications/callRecords/`:
//!
//! - `getPstnCalls` and `getDirectRoutingCalls`, on v1.0 and beta (beta rows carry the beta-only
//!   properties too);
//! - on beta only, `getSmsLog` (the SMS the same users send and receive),
//!   `getPstnBlockedUsersLog` (users blocked after the toll-fraud episodes hidden in the PSTN
//!   rows, and one blocked on Microsoft's own signals) and `getPstnOnlineMeetingDialoutReport`
//!   (the totals of the PSTN rows' conference dial-outs in the requested window). On v1.0 these
//!   three answer 400 `Resource not found for the segment '…'.`, as Graph does.
//!
//! and the tenant's user directory (the users the rows name, with department, cost center,
//! office…), on v1.0 and beta:
//!
//! - `GET /users`: `$select` (`id` always comes; without it, every property the simulator
//!   models), `$top` (default 100, at most 999) or `Prefer: odata.maxpagesize`, and
//!   `@odata.nextLink`s with an opaque `$skiptoken`;
//! - `GET /users/delta`: a first round over every user whose last page carries
//!   `@odata.deltaLink` (`…/users/delta?$deltatoken=…`); a delta link serves the users changed
//!   since the day it was issued, in full, then a fresh delta link; a token older than
//!   [`SimConfig::with_delta_token_max_age_days`] (30 days of directory time by default) or not
//!   issued by the simulator gets 410 `SyncStateNotFound`.
//!
//! The directory served is that of the server's directory day (the tenant's last day until
//! [`RunningSim::set_directory_day`]); [`Tenant::directory`] and [`Tenant::directory_changes`]
//! say exactly what it holds on each day: users who move department, one disabled, one created.
//! Both need `User.Read.All` ([`SimConfig::with_missing_user_read_all`] refuses them alone).
//!
//! It takes mail too: `POST /{v1.0|beta}/users/{id | userPrincipalName}/sendMail` (JSON, with
//! file attachments) answers 202 and records the mail ([`RunningSim::sent_mail`]); a malformed
//! body is answered 400 as Graph answers it; without `Mail.Send`
//! ([`SimConfig::with_missing_mail_send`]), or as a mailbox an application access policy leaves
//! out ([`SimConfig::with_mail_send_policy`]), 403 `ErrorAccessDenied`.
//!
//! It serves them over real HTTP the way Graph does: client-credentials tokens (secret or
//! certificate assertion), unquoted date-time literals, the 90-day limit, 1,000-row pages with
//! `@odata.nextLink` in Microsoft's documented `from=…,to=…` form, the PSTN inclusive
//! `toDateTime` (the others' is exclusive), throttling with `Retry-After`, permissions missing
//! tenant-wide, for one function or for the directory (403), and injected faults (5xx, 429,
//! dropped connections, truncated bodies, expired tokens, requests held until the test releases
//! them), the directory requests included. Every row is a pure function of (seed, function,
//! day, index), so a test knows exactly what a correct client must land: [`Tenant::expected`]
//! (and [`Tenant::directory`] for the directory).
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
mod directory;
mod faults;
mod fraud;
mod graph;
mod json;
mod mail;
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
mod users;

pub use config::{BadValue, SimConfig};
pub use directory::{DirectoryChange, DirectoryChangeKind, DirectoryUser};
pub use faults::{Fault, FaultPlan};
pub use mail::{MAX_SEND_MAIL_REQUEST_BYTES, SentAttachment, SentMail};
pub use rhythm::Traffic;
pub use server::{RunningSim, start};
pub use stats::SimStats;
pub use tenant::{ApiVersion, ExpectedRow, FraudEpisode, Function, Tenant, TenantConfig};
