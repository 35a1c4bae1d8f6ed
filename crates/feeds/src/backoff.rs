//! Reconnect delays: capped exponential backoff with full jitter.
//!
//! Full jitter (a uniform delay between zero and the capped exponential) spreads reconnects of
//! many processes after an exchange outage, so they do not hammer the exchange in lock step;
//! Upbit allows 5 connections per second per IP and Bithumb blocks an IP for ten minutes after
//! persistent excess.

use std::time::Duration;

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Upper bound of the first delay.
    pub initial: Duration,
    /// Upper bound no delay exceeds.
    pub max: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// Produces successive reconnect delays; [`Backoff::reset`] after a healthy session.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// Starts a backoff sequence; `seed` makes the jitter reproducible in tests.
    pub fn new(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff {
            config,
            attempt: 0,
            // xorshift must not start at zero.
            rng: seed | 1,
        }
    }

    /// Returns the ceiling of the next delay, before jitter.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.config
            .initial
            .checked_mul(factor)
            .map_or(self.config.max, |d| d.min(self.config.max))
    }

    /// Returns the next delay: uniform in `[0, ceiling]`, then grows the ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let unit = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(unit)
    }

    /// Starts over from the initial delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Returns how many delays were handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: jitter needs spread, not cryptographic strength.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let mut b = Backoff::new(BackoffConfig::default(), 7);
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            ceilings.push(b.ceiling());
            let delay = b.next_delay();
            assert!(delay <= *ceilings.last().unwrap());
        }
        assert_eq!(ceilings[0], Duration::from_millis(500));
        assert_eq!(ceilings[1], Duration::from_secs(1));
        assert_eq!(ceilings[5], Duration::from_secs(16));
        assert_eq!(ceilings[6], Duration::from_secs(30));
        assert_eq!(ceilings[9], Duration::from_secs(30));
    }

    #[test]
    fn jitter_spreads_delays_and_reset_starts_over() {
        let mut b = Backoff::new(
            BackoffConfig {
                initial: Duration::from_secs(10),
                max: Duration::from_secs(10),
            },
            42,
        );
        let delays: Vec<Duration> = (0..200).map(|_| b.next_delay()).collect();
        let below_half = delays
            .iter()
            .filter(|d| **d < Duration::from_secs(5))
            .count();
        assert!(
            (60..140).contains(&below_half),
            "{below_half} of 200 below half"
        );
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.ceiling(), Duration::from_secs(10));
    }

    #[test]
    fn survives_absurd_attempt_counts() {
        let mut b = Backoff::new(BackoffConfig::default(), 1);
        for _ in 0..1_000 {
            b.next_delay();
        }
        assert_eq!(b.ceiling(), Duration::from_secs(30));
    }
}
