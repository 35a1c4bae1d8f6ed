//! How storage keeps its tables: partition width and how far ahead partitions are made
//! (PostgreSQL), how long each table's rows are kept, and how often that is seen to.

use std::time::Duration;

/// Microseconds in an hour, the unit partition widths and retention periods come in.
pub(crate) const HOUR_US: i64 = 3_600_000_000;
/// Microseconds in a UTC day.
pub(crate) const DAY_US: i64 = 24 * HOUR_US;

/// How long each market-data table keeps its rows; `None` keeps them forever. One-minute
/// candles are always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// `storage.retention.trades`.
    pub trades: Option<Duration>,
    /// `storage.retention.tickers`.
    pub tickers: Option<Duration>,
    /// `storage.retention.books` (the `orderbook_snapshots` table).
    pub books: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            trades: Some(days(90)),
            tickers: Some(days(7)),
            books: Some(days(3)),
        }
    }
}

impl Retention {
    /// Each retained table with how long it keeps rows, `None` for forever.
    pub fn tables(&self) -> [(&'static str, Option<Duration>); 3] {
        [
            ("trades", self.trades),
            ("tickers", self.tickers),
            ("orderbook_snapshots", self.books),
        ]
    }
}

/// What the maintenance task does, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceConfig {
    /// `storage.partition_interval`: the time range of one partition (whole hours; a day by
    /// default). Changing it affects partitions made from then on; existing ones stay.
    pub partition_interval: Duration,
    /// `storage.partitions_ahead`: how far past now partitions exist after each round.
    pub partitions_ahead: Duration,
    /// `storage.partition_maintenance`: the time between two rounds (the first runs at
    /// start).
    pub interval: Duration,
    /// `storage.retention.*`.
    pub retention: Retention,
    /// Rows one SQLite delete removes at most, so a writer never waits long for the lock.
    pub delete_batch: u32,
    /// The pause between two SQLite deletes, in which writers get the lock.
    pub delete_pause: Duration,
}

impl Default for MaintenanceConfig {
    fn default() -> MaintenanceConfig {
        MaintenanceConfig {
            partition_interval: days(1),
            partitions_ahead: days(3),
            interval: Duration::from_secs(3600),
            retention: Retention::default(),
            delete_batch: 5_000,
            delete_pause: Duration::from_millis(20),
        }
    }
}

const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

/// `duration` in microseconds, saturating (no configured span comes near it).
pub(crate) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Parses a span of whole hours or days (`36h`, `1d`, `90d`); `0` alone only when
/// `allow_zero`.
pub fn parse_span(text: &str, allow_zero: bool) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a whole number of hours or days (e.g. 12h or 7d)";
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| EXPECTED.to_owned())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| EXPECTED.to_owned())?;
    let hours = match unit {
        "h" => n,
        "d" => n
            .checked_mul(24)
            .ok_or_else(|| "span too long".to_owned())?,
        _ => return Err(EXPECTED.to_owned()),
    };
    if hours == 0 && !allow_zero {
        return Err("must be at least 1h".to_owned());
    }
    // At most about a hundred years, which keeps every sum in microseconds far from i64::MAX.
    if hours > 100 * 366 * 24 {
        return Err("span too long (at most 100 years)".to_owned());
    }
    Ok(Duration::from_secs(hours * 3600))
}

/// Parses a retention period: a span as [`parse_span`] (at least an hour), or `off`.
pub fn parse_retention(text: &str) -> Result<Option<Duration>, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    parse_span(text, false).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_whole_hours_or_days() {
        assert_eq!(parse_span("1d", false), Ok(days(1)));
        assert_eq!(parse_span("36h", false), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_span("0d", true), Ok(Duration::ZERO));
        assert!(parse_span("0h", false).is_err());
        assert!(parse_span("90m", false).is_err());
        assert!(parse_span("1.5d", false).is_err());
        assert!(parse_span("d", false).is_err());
        assert!(parse_span("99999999d", false).is_err());
        assert_eq!(parse_retention("off"), Ok(None));
        assert_eq!(parse_retention("OFF"), Ok(None));
        assert_eq!(parse_retention("90d"), Ok(Some(days(90))));
    }
}
