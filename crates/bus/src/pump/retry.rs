//! Waiting between attempts: capped exponential backoff with jitter.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// First and largest delay between attempts of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure.
    pub initial: Duration,
    /// The delay doubles up to this.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

/// The delays of one operation's attempts. Each delay is drawn between half and all of the
/// capped exponential value, so replicas retrying the same outage do not hammer the backend
/// in step, and none waits much less than the policy says.
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    attempt: u32,
    state: u64,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy) -> Backoff {
        let seed = u64::from(std::process::id()) ^ 0x9E37_79B9_7F4A_7C15;
        Backoff {
            policy,
            attempt: 0,
            state: seed | 1,
        }
    }

    /// The next delay.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.attempt = self.attempt.saturating_add(1);
        let full = self
            .policy
            .initial
            .saturating_mul(factor)
            .min(self.policy.max)
            .max(Duration::from_millis(1));
        // xorshift64: plenty for spreading retries, no dependency.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let half = full / 2;
        let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_micros(self.state % spread)
    }

    /// Waits the next delay; `false` when `stop` came first.
    pub(crate) async fn pause(&mut self, stop: &CancellationToken) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            () = stop.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_keep_at_least_half() {
        let policy = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let mut backoff = Backoff::new(policy);
        let expected = [100, 200, 400, 800, 1000, 1000, 1000];
        for full in expected {
            let delay = backoff.next_delay();
            let full = Duration::from_millis(full);
            assert!(delay >= full / 2 && delay <= full, "{delay:?} for {full:?}");
        }
    }
}
