//! A sliding-window limiter for messages sent to an exchange.
//!
//! Upbit allows 5 messages per second and 100 per minute per connection and does not say how
//! much quota is left, so the client has to count. Exceeding it risks errors or a disconnect, so
//! senders wait for [`MessageRateLimiter::delay_until_allowed`] before each request.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// One limit: at most `max` messages in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages allowed per window.
    pub max: usize,
    /// Window length.
    pub window: Duration,
}

/// Tracks sent messages against several limits at once.
#[derive(Debug, Clone)]
pub struct MessageRateLimiter {
    limits: Vec<RateLimit>,
    /// Send times, oldest first; bounded by the largest `max`.
    sent: VecDeque<Instant>,
}

impl MessageRateLimiter {
    /// Builds a limiter enforcing every limit in `limits`.
    pub fn new(limits: Vec<RateLimit>) -> MessageRateLimiter {
        MessageRateLimiter {
            limits,
            sent: VecDeque::new(),
        }
    }

    /// Upbit's and Bithumb's published limits: 5 per second and 100 per minute.
    pub fn upbit() -> MessageRateLimiter {
        MessageRateLimiter::new(vec![
            RateLimit {
                max: 5,
                window: Duration::from_secs(1),
            },
            RateLimit {
                max: 100,
                window: Duration::from_secs(60),
            },
        ])
    }

    /// Returns how long to wait at `now` before the next message is within every limit.
    pub fn delay_until_allowed(&self, now: Instant) -> Duration {
        self.limits
            .iter()
            .filter_map(|limit| {
                let n = self.sent.len();
                if n < limit.max {
                    return None;
                }
                // The message `max` sends ago must leave the window first.
                let oldest_in_window = self.sent[n - limit.max];
                (oldest_in_window + limit.window).checked_duration_since(now)
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Records a message sent at `now`.
    pub fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
        let keep = self.limits.iter().map(|l| l.max).max().unwrap_or(0);
        while self.sent.len() > keep {
            self.sent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixth_message_in_a_second_waits_for_the_first_to_age_out() {
        let mut limiter = MessageRateLimiter::upbit();
        let t0 = Instant::now();
        for i in 0..5 {
            let now = t0 + Duration::from_millis(i * 10);
            assert_eq!(limiter.delay_until_allowed(now), Duration::ZERO);
            limiter.record(now);
        }
        let now = t0 + Duration::from_millis(50);
        assert_eq!(limiter.delay_until_allowed(now), Duration::from_millis(950));
        assert_eq!(
            limiter.delay_until_allowed(t0 + Duration::from_secs(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn the_per_minute_limit_binds_after_one_hundred_messages() {
        let mut limiter = MessageRateLimiter::upbit();
        let t0 = Instant::now();
        for i in 0..100 {
            limiter.record(t0 + Duration::from_millis(i * 250));
        }
        let now = t0 + Duration::from_millis(100 * 250);
        assert_eq!(limiter.delay_until_allowed(now), Duration::from_secs(35));
    }
}
