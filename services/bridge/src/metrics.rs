//! The bridge's progress as Prometheus metrics, read from the service's lock-free stats at scrape time.
//!
//! The service already keeps atomic counters for its gRPC status calls and tests, so the
//! collector copies a snapshot of them on each scrape instead of adding counters to the hot
//! paths or running a sampler task: nothing is paid between scrapes and a scrape never sees a
//! stale value. `docs/metrics.md` lists every name, and a test of the binary checks that the
//! two agree.

use std::sync::Arc;

use tickmesh_telemetry::Metrics;

use crate::BridgeStats;

/// Bridge metrics (`tickmesh_bridge_*`).
pub fn register(metrics: &Metrics, stats: Arc<BridgeStats>) {
    metrics.collect("bridge", move |s| {
        let b = stats.snapshot();
        // An unknown backlog (not sampled yet, or the backend cannot say) reads as -1.
        let known = |v: Option<u64>| v.map_or(-1.0, |v| v as f64);
        s.counter(
            "forwarded",
            "Stream entries the topics confirmed and the stream acknowledged",
            b.forwarded,
        )?;
        s.counter(
            "dead_letters",
            "Entries sent to the dead-letter topic",
            b.dead_letters,
        )?;
        s.counter(
            "stream_trimmed",
            "Stream entries trimmed before the bridge group read or finished them (lost)",
            b.trimmed,
        )?;
        s.gauge(
            "lag",
            "Stream entries not yet read by the bridge group (-1 when unknown)",
            known(b.lag),
        )?;
        s.gauge(
            "pending",
            "Entries read by the bridge group and not yet acknowledged (-1 when unknown)",
            known(b.pending),
        )?;
        s.gauge(
            "age_seconds",
            "Age of the oldest event of the last forwarded batch when it was confirmed",
            b.age_us as f64 / 1e6,
        )?;
        s.counter(
            "sink_failures",
            "Failed writes to the topics (each batch is retried)",
            b.sink_failures,
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_renders_its_snapshot() {
        let metrics = Metrics::new("0");
        register(&metrics, Arc::new(BridgeStats::new()));
        let text = metrics.render();
        for line in [
            "tickmesh_bridge_lag -1",
            "tickmesh_bridge_forwarded_total 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
