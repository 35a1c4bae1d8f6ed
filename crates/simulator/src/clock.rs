//! The simulated exchanges' clock: real time, or a warped clock that starts some way in the
//! past, runs faster than real time until it reaches it, then follows it exactly.
//!
//! Every timestamp a simulator emits (WebSocket trades, tickers and books, snapshots, poison
//! frames, the REST trade history) and the time part of Upbit and Bithumb trade ids come from
//! this clock, so an hour of exchange history can be produced in seconds.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// The most [`ExchangeClock::warped`] speeds the clock up.
pub const MAX_WARP_SPEED: u32 = 100_000;

/// A source of real time, epoch microseconds.
type RealTime = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The time the simulated exchanges read. Clones share one clock, so simulators given clones
/// of the same clock agree on the time.
#[derive(Clone, Default)]
pub struct ExchangeClock {
    /// `None`: real time, read directly.
    warp: Option<Arc<Warp>>,
}

struct Warp {
    real: RealTime,
    /// Real time the warp counts from, epoch microseconds.
    start_us: i64,
    /// How far behind `start_us` the clock starts, microseconds.
    back_us: i64,
    /// Exchange microseconds per real microsecond until the clock reaches real time.
    speed: i64,
    /// The latest time given out, so that the clock never goes backwards even when the real
    /// clock is set back.
    last_us: AtomicI64,
}

fn real_now_us() -> i64 {
    tickmesh_domain::UtcMicros::now().as_micros()
}

impl ExchangeClock {
    /// Real time, as the real exchanges have it (the default).
    pub fn real() -> Self {
        Self::default()
    }

    /// A clock that starts `back` before now (the moment it is made, so make it just before
    /// starting the simulators), runs `speed` times faster than real time (clamped to
    /// 1..=[`MAX_WARP_SPEED`]) until it reaches real time, then follows real time. With
    /// `speed` 1 it stays `back` behind for good; with `back` zero it is real time.
    pub fn warped(back: Duration, speed: u32) -> Self {
        Self::warped_on(back, speed, Arc::new(real_now_us))
    }

    /// [`ExchangeClock::warped`] on another source of real time (epoch microseconds).
    pub(crate) fn warped_on(back: Duration, speed: u32, real: RealTime) -> Self {
        if back.is_zero() {
            return Self::real();
        }
        let start_us = real();
        let back_us = i64::try_from(back.as_micros()).unwrap_or(i64::MAX);
        Self {
            warp: Some(Arc::new(Warp {
                real,
                start_us,
                back_us,
                speed: i64::from(speed.clamp(1, MAX_WARP_SPEED)),
                last_us: AtomicI64::new(start_us.saturating_sub(back_us)),
            })),
        }
    }

    /// The exchange time now, epoch microseconds.
    pub fn now_us(&self) -> i64 {
        let Some(warp) = &self.warp else {
            return real_now_us();
        };
        let real = (warp.real)();
        let elapsed = real.saturating_sub(warp.start_us).max(0);
        let warped = warp
            .start_us
            .saturating_sub(warp.back_us)
            .saturating_add(elapsed.saturating_mul(warp.speed))
            .min(real);
        // Never backwards: a real clock set back holds the exchange clock still instead.
        warp.last_us.fetch_max(warped, Ordering::AcqRel).max(warped)
    }

    /// The exchange time now, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.now_us().div_euclid(1000)
    }

    /// How long after it was made the clock reaches real time: zero for real time, `None`
    /// when it never does (speed 1 with a warp).
    pub fn catch_up(&self) -> Option<Duration> {
        let Some(warp) = &self.warp else {
            return Some(Duration::ZERO);
        };
        let faster = u64::try_from(warp.speed - 1).ok().filter(|&s| s > 0)?;
        let back = u64::try_from(warp.back_us).unwrap_or(u64::MAX);
        Some(Duration::from_micros(back.div_ceil(faster)))
    }

    /// Whether this is real time.
    pub fn is_real(&self) -> bool {
        self.warp.is_none()
    }
}

impl fmt::Debug for ExchangeClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.warp {
            None => f.write_str("ExchangeClock::Real"),
            Some(w) => f
                .debug_struct("ExchangeClock::Warped")
                .field("start_us", &w.start_us)
                .field("back_us", &w.back_us)
                .field("speed", &w.speed)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real clock a test sets by hand, epoch microseconds.
    fn manual(start: i64) -> (Arc<AtomicI64>, RealTime) {
        let now = Arc::new(AtomicI64::new(start));
        let read = now.clone();
        (now, Arc::new(move || read.load(Ordering::SeqCst)))
    }

    const START: i64 = 1_796_500_000_000_000;
    const HOUR_US: i64 = 3_600_000_000;

    #[test]
    fn a_warp_starts_behind_runs_fast_catches_up_then_follows_real_time() {
        let (real, source) = manual(START);
        let clock = ExchangeClock::warped_on(Duration::from_secs(3600), 100, source);
        assert_eq!(clock.now_us(), START - HOUR_US);
        // One real second is a hundred exchange seconds.
        real.store(START + 1_000_000, Ordering::SeqCst);
        assert_eq!(clock.now_us(), START - HOUR_US + 100_000_000);
        // An hour behind at 99 s gained per second: real time at 3600/99 s.
        let catch_up = clock.catch_up().unwrap();
        assert_eq!(catch_up, Duration::from_micros(36_363_637));
        let at = START + i64::try_from(catch_up.as_micros()).unwrap();
        real.store(at - 1, Ordering::SeqCst);
        assert!(clock.now_us() < at - 1, "still behind just before");
        real.store(at, Ordering::SeqCst);
        assert_eq!(clock.now_us(), at);
        for later in [at + 1, at + 5_000_000, at + HOUR_US] {
            real.store(later, Ordering::SeqCst);
            assert_eq!(clock.now_us(), later, "follows real time exactly");
        }
    }

    #[test]
    fn a_warp_never_goes_backwards_nor_beyond_real_time() {
        let (real, source) = manual(START);
        let clock = ExchangeClock::warped_on(Duration::from_secs(60), 7, source);
        let mut previous = clock.now_us();
        let steps = [
            3, 250_000, 1_000_000, -400_000, 2_000_000, 9_000_000, -5_000_000, 1,
        ];
        let mut now = START;
        for step in steps {
            now += step;
            real.store(now, Ordering::SeqCst);
            let t = clock.now_us();
            assert!(t >= previous, "{t} went back from {previous}");
            assert!(t <= now.max(previous), "{t} ran ahead of real time {now}");
            previous = t;
        }
        // Real time set back after the catch-up: the clock holds still until it passes again.
        real.store(START + 20_000_000, Ordering::SeqCst);
        assert_eq!(clock.now_us(), START + 20_000_000);
        real.store(START + 19_000_000, Ordering::SeqCst);
        assert_eq!(clock.now_us(), START + 20_000_000);
        real.store(START + 21_000_000, Ordering::SeqCst);
        assert_eq!(clock.now_us(), START + 21_000_000);
    }

    #[test]
    fn speed_one_keeps_a_constant_lag_and_no_warp_is_real_time() {
        let (real, source) = manual(START);
        let lagging = ExchangeClock::warped_on(Duration::from_secs(600), 1, source.clone());
        real.store(START + HOUR_US, Ordering::SeqCst);
        assert_eq!(lagging.now_us(), START + HOUR_US - 600_000_000);
        assert_eq!(lagging.catch_up(), None);
        // Speed 0 counts as 1.
        let zero = ExchangeClock::warped_on(Duration::from_secs(1), 0, source.clone());
        assert_eq!(zero.catch_up(), None);
        let none = ExchangeClock::warped_on(Duration::ZERO, 50, source);
        assert!(none.is_real());
        assert_eq!(none.catch_up(), Some(Duration::ZERO));
        let before = real_now_us();
        let t = ExchangeClock::real().now_us();
        assert!(t >= before && t <= real_now_us());
    }

    #[test]
    fn milliseconds_round_down_and_clones_share_the_clock() {
        let (real, source) = manual(START + 1_999);
        let clock = ExchangeClock::warped_on(Duration::from_millis(1), 2, source);
        assert_eq!(clock.now_ms(), (START + 999) / 1000);
        let copy = clock.clone();
        real.store(START + 2_500, Ordering::SeqCst);
        // 501 real microseconds later, 1,002 exchange ones.
        assert_eq!(copy.now_us(), START + 2_001);
        assert_eq!(clock.now_us(), START + 2_001);
    }
}
