//! Retry policy, and the throttle every request of a run shares.

use std::sync::Mutex;
use std::time::Duration;

// Tokio's clock (the system's monotonic clock, unless a test pauses it).
use tokio::time::Instant;

/// How requests are retried.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Retries of one request before giving up.
    pub max_retries: u32,
    /// First back-off when the server gives no `Retry-After`.
    pub initial_backoff: Duration,
    /// Longest single back-off.
    pub max_backoff: Duration,
    /// Longest total time one request may spend retrying.
    pub retry_timeout: Duration,
    /// Timeout of one HTTP request (connect, send, and read the whole page).
    pub request_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 10,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            retry_timeout: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(120),
        }
    }
}

impl RetryConfig {
    /// Exponential back-off with full jitter for retry `attempt` (0-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.max_backoff);
        cap.mul_f64(0.5 + 0.5 * jitter())
    }
}

/// A number in [0, 1) that differs between calls (no cryptographic quality needed): the hash of
/// nothing under std's randomly keyed SipHash, whose keys are drawn once per thread and change
/// with every `RandomState`.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// One pause shared by every request of a client: when Graph throttles one request, every
/// request waits, so the whole run slows down rather than each worker hammering on.
#[derive(Debug, Default)]
pub struct Throttle {
    until: Mutex<Option<Instant>>,
}

impl Throttle {
    /// Waits until no pause is in force.
    pub async fn wait(&self) -> Duration {
        let mut waited = Duration::ZERO;
        loop {
            let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match until {
                Some(t) if t > now => {
                    let d = t - now;
                    tokio::time::sleep(d).await;
                    waited += d;
                }
                _ => return waited,
            }
        }
    }

    /// Pauses every request for `d` from now (never shortens a longer pause).
    pub fn pause(&self, d: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let t = Instant::now() + d;
        if until.is_none_or(|u| u < t) {
            *until = Some(t);
        }
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&later.replace("+0000", "GMT")).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    /// On tokio's paused clock, which moves only when every task waits: each request waits
    /// exactly the pause, however late the machine gets round to it. (On the real clock, a waiter
    /// first polled after some of the pause had gone by waited less than the whole of it.)
    #[tokio::test(start_paused = true)]
    async fn one_pause_holds_back_every_request() {
        let throttle = std::sync::Arc::new(Throttle::default());
        let started = Instant::now();
        throttle.pause(Duration::from_millis(300));
        throttle.pause(Duration::from_millis(50)); // never shortens a longer pause
        let waits: Vec<_> = (0..3)
            .map(|_| {
                let t = std::sync::Arc::clone(&throttle);
                tokio::spawn(async move { (t.wait().await, Instant::now()) })
            })
            .collect();
        for w in waits {
            let (waited, done) = w.await.unwrap();
            assert_eq!(waited, Duration::from_millis(300));
            assert_eq!(done - started, Duration::from_millis(300));
        }
        assert_eq!(throttle.wait().await, Duration::ZERO, "the pause is over");
        // A later, longer pause extends the wait; a shorter one inside it does not.
        throttle.pause(Duration::from_millis(100));
        tokio::time::advance(Duration::from_millis(40)).await;
        throttle.pause(Duration::from_millis(200));
        throttle.pause(Duration::from_millis(10));
        assert_eq!(throttle.wait().await, Duration::from_millis(200));
    }

    #[tokio::test]
    async fn a_longer_pause_extends_a_shorter_one() {
        let throttle = Throttle::default();
        throttle.pause(Duration::from_millis(50));
        throttle.pause(Duration::from_millis(300));
        let waited = throttle.wait().await;
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
    }

    #[test]
    fn jitter_spreads_over_the_unit_interval_and_differs_between_calls() {
        let draws: Vec<f64> = (0..1000).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)), "{draws:?}");
        let distinct: std::collections::HashSet<u64> = draws.iter().map(|j| j.to_bits()).collect();
        assert_eq!(distinct.len(), draws.len(), "repeats: {draws:?}");
        // 1000 uniform draws all above 0.1, or all below 0.9, happen with odds of 1e-46.
        assert!(draws.iter().any(|j| *j < 0.1) && draws.iter().any(|j| *j > 0.9));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = RetryConfig::default();
        for attempt in 0..30 {
            let d = c.backoff(attempt);
            assert!(d <= c.max_backoff, "{attempt}: {d:?}");
            assert!(d >= c.initial_backoff / 2, "{attempt}: {d:?}");
        }
        assert!(c.backoff(6) > c.backoff(0));
    }
}
