//! What the simulator has seen and done, for tests to assert on.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Counters of the simulator's traffic since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Every HTTP request, of any kind.
    pub requests: u64,
    /// Requests to Graph paths (`/v1.0/…`, `/beta/…`): what fault numbers count.
    pub graph_requests: u64,
    /// Complete 200 pages sent.
    pub pages_served: u64,
    /// Rows in those pages.
    pub rows_served: u64,
    /// Token requests received.
    pub token_requests: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// 429 responses sent (rate limit and injected throttling).
    pub throttled: u64,
    /// Faults injected from the [`FaultPlan`](crate::FaultPlan).
    pub faults_injected: u64,
    /// Requests a [`Fault::Hold`](crate::Fault::Hold) held (counted when the hold begins; none
    /// after [`RunningSim::release_held`](crate::RunningSim::release_held)).
    pub held: u64,
    /// 401 responses sent (Graph and token endpoint).
    pub unauthorized: u64,
    /// 403 responses sent.
    pub forbidden: u64,
    /// 400 responses sent (Graph and token endpoint).
    pub bad_requests: u64,
    /// 410 `SyncStateNotFound` responses sent (delta tokens too old or not issued).
    pub sync_resets: u64,
    /// The most Graph requests in progress at once.
    pub max_in_flight: u64,
    /// Requests of any kind that carried an `Authorization` header.
    pub requests_with_authorization: u64,
    /// The `Host` headers token requests came with: which authority host the client used.
    pub token_hosts: BTreeSet<String>,
    /// The `scope` values token requests asked for.
    pub token_scopes: BTreeSet<String>,
    /// The `Host` headers Graph requests came with.
    pub graph_hosts: BTreeSet<String>,
}

/// The shared, updatable counters.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    inner: Mutex<(SimStats, u64)>,
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, (SimStats, u64)> {
        // Counters stay meaningful even if a holder panicked.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut SimStats)) {
        f(&mut self.lock().0);
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        self.lock().0.clone()
    }

    /// Counts a Graph request and marks it in flight until the guard drops; returns its number.
    pub(crate) fn enter_graph(&self) -> (u64, InFlight<'_>) {
        let mut inner = self.lock();
        let (stats, in_flight) = &mut *inner;
        stats.graph_requests += 1;
        *in_flight += 1;
        stats.max_in_flight = stats.max_in_flight.max(*in_flight);
        (stats.graph_requests, InFlight(self))
    }
}

/// A Graph request in progress.
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a Recorder);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().1 -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_tracks_the_maximum() {
        let r = Recorder::default();
        let (n1, a) = r.enter_graph();
        let (n2, b) = r.enter_graph();
        drop(a);
        let (n3, _c) = r.enter_graph();
        drop(b);
        assert_eq!((n1, n2, n3), (1, 2, 3));
        let s = r.snapshot();
        assert_eq!((s.graph_requests, s.max_in_flight), (3, 2));
    }
}
