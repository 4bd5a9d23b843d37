//! Retry spacing: exponential backoff with full jitter.
//!
//! "Full jitter" (a uniformly random delay between zero and the exponential cap) spreads the
//! retries of many phones that lost the network at the same moment, so a recovering server is
//! not hit by all of them at once.

use rand::Rng;
use std::time::Duration;

/// How retries are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The cap of the first retry.
    pub base: Duration,
    /// The largest cap, whatever the number of failures.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_secs(2), max: Duration::from_secs(15 * 60) }
    }
}

impl Backoff {
    /// The cap after `failures` consecutive failures (1 = the first): `base · 2^(failures−1)`,
    /// at most `max`.
    pub fn cap(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.max)
    }

    /// A delay drawn uniformly from `0..=cap(failures)`.
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let cap = self.cap(failures).as_millis() as u64;
        Duration::from_millis(rng.random_range(0..=cap))
    }

    /// [`Backoff::delay`] with the thread's random generator.
    pub fn delay_now(&self, failures: u32) -> Duration {
        self.delay(failures, &mut rand::rng())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_double_from_the_base_up_to_the_maximum() {
        let b = Backoff { base: Duration::from_secs(2), max: Duration::from_secs(60) };
        assert_eq!(b.cap(0), Duration::from_secs(2));
        assert_eq!(b.cap(1), Duration::from_secs(2));
        assert_eq!(b.cap(2), Duration::from_secs(4));
        assert_eq!(b.cap(5), Duration::from_secs(32));
        assert_eq!(b.cap(6), Duration::from_secs(60));
        assert_eq!(b.cap(1000), Duration::from_secs(60));
    }

    #[test]
    fn delays_stay_within_zero_and_the_cap_and_spread_out() {
        let b = Backoff::default();
        let mut rng = rand::rng();
        for failures in 1..40 {
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let d = b.delay(failures, &mut rng);
                assert!(d <= b.cap(failures), "{d:?} > {:?}", b.cap(failures));
                seen.insert(d);
            }
            // Full jitter: not one fixed value.
            assert!(seen.len() > 10, "failures {failures}: only {} distinct delays", seen.len());
        }
    }
}
