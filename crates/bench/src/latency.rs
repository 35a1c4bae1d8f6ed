//! Latency histograms: microseconds from 1 µs to 10 minutes at 3 significant digits, so
//! p99.9 is exact to 0.1 %.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest latency recorded; longer ones are clamped to it (and show as the maximum).
const MAX_MICROS: u64 = 600_000_000;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub(crate) struct Latency(Histogram<u64>);

impl Latency {
    pub(crate) fn new() -> Latency {
        // Invariant: bounds 1..=MAX_MICROS with 3 significant digits are valid for
        // hdrhistogram (low >= 1, high >= 2 * low, sigfig <= 5), so this cannot fail.
        #[allow(clippy::expect_used)]
        let histogram =
            Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds");
        Latency(histogram)
    }

    /// Records one latency.
    pub(crate) fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS);
        self.0.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// The percentiles of what was recorded.
    pub(crate) fn percentiles(&self) -> Percentiles {
        let ms = |q: f64| self.0.value_at_quantile(q) as f64 / 1_000.0;
        Percentiles {
            samples: self.0.len(),
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: self.0.max() as f64 / 1_000.0,
        }
    }
}

/// Latency percentiles in milliseconds (0 with no samples).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many latencies were recorded.
    pub samples: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let mut a = Latency::new();
        for ms in 1..=1000 {
            a.record(Duration::from_millis(ms));
        }
        let p = a.percentiles();
        assert_eq!(p.samples, 1000);
        assert!((p.p50_ms - 500.0).abs() <= 1.0, "{p:?}");
        assert!((p.p99_ms - 990.0).abs() <= 1.0, "{p:?}");
        assert!((p.p999_ms - 999.0).abs() <= 1.0, "{p:?}");
        assert!((p.max_ms - 1000.0).abs() <= 1.0, "{p:?}");
        assert_eq!(Latency::new().percentiles().samples, 0);
    }
}
