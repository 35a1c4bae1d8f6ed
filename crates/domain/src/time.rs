//! UTC timestamps with an explicit unit.
//!
//! Every time tickmesh keeps is microseconds since the Unix epoch, UTC. Exchanges send
//! milliseconds, except Bithumb order books, which send microseconds (16 digits) on the current
//! wire and milliseconds in older documentation; [`UtcMicros::from_epoch_auto`] tells them apart
//! by magnitude.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct UtcMicros(pub i64);

/// Epoch values above this are microseconds: 10^14 ms is the year 5138, while 10^14 µs is 1973.
const MICROS_THRESHOLD: i64 = 100_000_000_000_000;

impl UtcMicros {
    /// Builds a timestamp from epoch microseconds.
    pub const fn from_micros(micros: i64) -> UtcMicros {
        UtcMicros(micros)
    }

    /// Builds a timestamp from epoch milliseconds, saturating far outside any real date.
    pub const fn from_millis(millis: i64) -> UtcMicros {
        UtcMicros(millis.saturating_mul(1_000))
    }

    /// Builds a timestamp from an epoch value in milliseconds or microseconds, detected by
    /// magnitude (see the module docs).
    pub const fn from_epoch_auto(value: i64) -> UtcMicros {
        if value > MICROS_THRESHOLD {
            UtcMicros(value)
        } else {
            UtcMicros::from_millis(value)
        }
    }

    /// Reads the system clock.
    pub fn now() -> UtcMicros {
        UtcMicros::from_system_time(SystemTime::now())
    }

    /// Converts a [`SystemTime`], saturating at the representable range.
    pub fn from_system_time(t: SystemTime) -> UtcMicros {
        match t.duration_since(UNIX_EPOCH) {
            Ok(after) => UtcMicros(i64::try_from(after.as_micros()).unwrap_or(i64::MAX)),
            Err(before) => {
                UtcMicros(i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m))
            }
        }
    }

    /// Returns epoch microseconds.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Returns epoch milliseconds, rounded towards negative infinity.
    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(1_000)
    }

    /// Returns whole seconds and the sub-second nanoseconds, as protobuf `Timestamp` wants.
    pub const fn as_seconds_and_nanos(self) -> (i64, i32) {
        (
            self.0.div_euclid(1_000_000),
            (self.0.rem_euclid(1_000_000) * 1_000) as i32,
        )
    }

    /// Builds a timestamp from seconds and nanoseconds, truncating below a microsecond.
    pub const fn from_seconds_and_nanos(seconds: i64, nanos: i32) -> UtcMicros {
        UtcMicros(
            seconds
                .saturating_mul(1_000_000)
                .saturating_add(nanos as i64 / 1_000),
        )
    }

    /// Returns the start of the interval of `width` that contains this instant.
    pub const fn floor_to(self, width: Duration) -> UtcMicros {
        let w = width.as_micros() as i64;
        if w <= 0 {
            return self;
        }
        UtcMicros(self.0 - self.0.rem_euclid(w))
    }

    /// Returns this instant moved by `micros` (negative moves back), saturating.
    pub const fn add_micros(self, micros: i64) -> UtcMicros {
        UtcMicros(self.0.saturating_add(micros))
    }
}

impl fmt::Display for UtcMicros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}µs", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_millis_and_micros_by_magnitude() {
        // Bithumb order book (µs, 16 digits) and its ticker (ms, 13 digits) for the same moment.
        assert_eq!(
            UtcMicros::from_epoch_auto(1_790_133_505_546_514),
            UtcMicros(1_790_133_505_546_514)
        );
        assert_eq!(
            UtcMicros::from_epoch_auto(1_790_133_513_858),
            UtcMicros(1_790_133_513_858_000)
        );
        // Korbit's empty-book snapshot carries a days-old ms stamp; still ms.
        assert_eq!(
            UtcMicros::from_epoch_auto(1_789_456_789_897).as_millis(),
            1_789_456_789_897
        );
    }

    #[test]
    fn converts_to_and_from_protobuf_seconds_and_nanos() {
        let t = UtcMicros(1_758_875_205_145_123);
        assert_eq!(t.as_seconds_and_nanos(), (1_758_875_205, 145_123_000));
        assert_eq!(
            UtcMicros::from_seconds_and_nanos(1_758_875_205, 145_123_999),
            t
        );
        let before_epoch = UtcMicros(-1);
        assert_eq!(before_epoch.as_seconds_and_nanos(), (-1, 999_999_000));
        assert_eq!(
            UtcMicros::from_seconds_and_nanos(-1, 999_999_000),
            before_epoch
        );
    }

    #[test]
    fn floors_to_interval_starts() {
        let t = UtcMicros::from_millis(1_758_875_205_145);
        assert_eq!(
            t.floor_to(Duration::from_secs(60)),
            UtcMicros::from_millis(1_758_875_160_000)
        );
        assert_eq!(t.floor_to(Duration::ZERO), t);
    }
}
