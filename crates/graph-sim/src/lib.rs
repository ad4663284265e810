//! stub
mod clock;
mod data;
mod direct_routing;
mod json;
mod page;
mod people;
mod pstn;
mod rng;
mod tenant;

pub use tenant::{ApiVersion, ExpectedRow, Function, Tenant, TenantConfig};
