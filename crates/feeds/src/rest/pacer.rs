//! Client-side pacing of an exchange's REST requests.
//!
//! The exchanges limit REST calls per IP: Upbit 10 per second, Korbit 50 per second, Bithumb
//! 150 per second per category but only 10 new connection requests per second, banning the IP
//! for 10 minutes beyond that. A [`RequestPacer`] spaces requests evenly at a rate below the
//! limit, so a backfill of many markets after a reconnect never trips it. It is a token bucket
//! holding one token: at most `per_second + 1` requests start in any one-second window.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests at most `per_second` a second; shared by every clone of a REST client.
#[derive(Debug)]
pub struct RequestPacer {
    interval: Duration,
    /// When the next request may start.
    next: Mutex<Option<Instant>>,
}

impl RequestPacer {
    /// A pacer allowing `per_second` requests a second (at least one).
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// The spacing between two requests.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for this request's turn. Turns are handed out in call order; a caller that gives
    /// up while waiting leaves its turn unused, which only spaces the others further.
    pub async fn acquire(&self) {
        let at = self.reserve(Instant::now());
        tokio::time::sleep_until(at).await;
    }

    /// Takes the next turn for a request asked for at `now`: when it may start.
    fn reserve(&self, now: Instant) -> Instant {
        // A poisoned lock holds a plain instant, still meaningful.
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let at = next.map_or(now, |n| n.max(now));
        *next = Some(at + self.interval);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spaced_and_never_exceed_the_rate_plus_one_per_second() {
        let pacer = RequestPacer::new(8);
        let t0 = Instant::now();
        // Thirty requests asked for at once start 125 ms apart.
        let times: Vec<Instant> = (0..30).map(|_| pacer.reserve(t0)).collect();
        assert_eq!(times[0], t0, "the first request goes at once");
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(125));
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u - *t <= Duration::from_secs(1))
                .count();
            assert!(in_window <= 9, "{in_window} requests within a second");
        }
        // After a quiet spell the next request is not delayed by old turns.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later), later + Duration::from_millis(125));
    }
}
