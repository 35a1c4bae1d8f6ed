//! The live tick hub as Prometheus metrics, read from the service's lock-free stats at scrape time.
//!
//! The service already keeps atomic counters for its gRPC status calls and tests, so the
//! collector copies a snapshot of them on each scrape instead of adding counters to the hot
//! paths or running a sampler task: nothing is paid between scrapes and a scrape never sees a
//! stale value. `docs/metrics.md` lists every name, and a test of the binary checks that the
//! two agree.

use tickmesh_telemetry::Metrics;

use super::{Replayer, TickHub};

/// Live stream metrics (`tickmesh_stream_*`), with the replays of clients that resume when
/// the service has a `replayer`.
pub fn register(metrics: &Metrics, hub: TickHub, replayer: Option<Replayer>) {
    metrics.collect("stream", move |s| {
        let r = replayer.as_ref().map(Replayer::stats).unwrap_or_default();
        s.gauge(
            "replays",
            "Resuming clients reading history now",
            r.active as f64,
        )?;
        s.counter(
            "replayed",
            "Events replayed to resuming clients from the stream",
            r.from_stream,
        )?;
        s.counter(
            "replayed_archive",
            "Events replayed to resuming clients from the database",
            r.from_archive,
        )?;
        let h = hub.stats();
        s.gauge("clients", "Connected stream clients", h.clients as f64)?;
        s.gauge(
            "upstream_active",
            "1 while the hub holds its live bus subscription (only while clients are connected)",
            f64::from(u8::from(h.upstream_active)),
        )?;
        s.counter(
            "events",
            "Live events decoded and offered to clients",
            h.decoded,
        )?;
        s.counter(
            "undecodable",
            "Live payloads that were not valid market events",
            h.undecodable,
        )?;
        s.counter(
            "lagged",
            "Events clients missed: dropped from full client buffers or by the hub upstream",
            h.client_lagged + h.upstream_missed,
        )
    });
}
