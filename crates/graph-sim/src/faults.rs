//! Deterministic fault injection by Graph request number.

/// A fault the simulator injects instead of (or into) a Graph response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (500, 503, 504, …) and a Graph error body, without `Retry-After`.
    Status(u16),
    /// Answer 429 with `Retry-After: retry_after_secs` (0 is allowed, to keep tests fast), or
    /// that moment as an HTTP date when [`SimConfig::retry_after_http_date`] is set.
    ///
    /// [`SimConfig::retry_after_http_date`]: crate::SimConfig::retry_after_http_date
    Throttle {
        /// The wait the response asks for.
        retry_after_secs: u64,
    },
    /// Wait this long before answering, then answer as usual: a client whose request timeout is
    /// shorter sees a request that times out.
    Stall(std::time::Duration),
    /// Close the connection without sending a byte of the response.
    DropConnection,
    /// Send the headers with the full `Content-Length`, then half the body, then close.
    TruncatedBody,
    /// Answer 200 with a body that never ends (no `Content-Length`): a client must stop reading.
    EndlessBody,
    /// Answer 401 `InvalidAuthenticationToken` as if the token had expired; the token is then
    /// expired for good, so the client must fetch a new one.
    ExpireToken,
    /// Hold the request until [`RunningSim::release_held`] (or until the simulator stops), then
    /// answer as usual: a test that sees the hold begin ([`SimStats::held`]) knows its client is
    /// waiting on this very request, and can kill or stop it there rather than after a guessed
    /// delay.
    ///
    /// [`RunningSim::release_held`]: crate::RunningSim::release_held
    /// [`SimStats::held`]: crate::SimStats::held
    Hold,
}

/// Which Graph requests get which fault. Requests are numbered from 1 in arrival order; only
/// Graph requests (not token requests) count. An explicit `at` entry wins over `every` rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Faults for single request numbers.
    pub at: Vec<(u64, Fault)>,
    /// `(n, fault)`: the fault on every `n`th request (`n`, `2n`, …).
    pub every: Vec<(u64, Fault)>,
}

impl FaultPlan {
    /// A plan without faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `fault` on Graph request number `request` (1-based).
    pub fn at(mut self, request: u64, fault: Fault) -> Self {
        self.at.push((request, fault));
        self
    }

    /// Adds `fault` on every `n`th Graph request (`n` of 0 is ignored).
    pub fn every(mut self, n: u64, fault: Fault) -> Self {
        self.every.push((n, fault));
        self
    }

    /// Whether the plan injects nothing.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty() && self.every.iter().all(|(n, _)| *n == 0)
    }

    /// The fault for Graph request number `request`, if any.
    pub fn fault_for(&self, request: u64) -> Option<&Fault> {
        self.at
            .iter()
            .find(|(n, _)| *n == request)
            .or_else(|| {
                self.every
                    .iter()
                    .find(|(n, _)| *n > 0 && request.is_multiple_of(*n))
            })
            .map(|(_, fault)| fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_entries_win_over_every_rules() {
        let plan = FaultPlan::new()
            .at(4, Fault::DropConnection)
            .every(2, Fault::Status(503))
            .every(0, Fault::TruncatedBody);
        assert_eq!(plan.fault_for(1), None);
        assert_eq!(plan.fault_for(2), Some(&Fault::Status(503)));
        assert_eq!(plan.fault_for(4), Some(&Fault::DropConnection));
        assert_eq!(plan.fault_for(5), None);
        assert!(!plan.is_empty());
        assert!(FaultPlan::new().every(0, Fault::ExpireToken).is_empty());
    }
}
