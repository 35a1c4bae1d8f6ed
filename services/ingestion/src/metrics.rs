//! Ingestion's feeds and publisher as Prometheus metrics, read from the service's lock-free stats at scrape time.
//!
//! The service already keeps atomic counters for its gRPC status calls and tests, so the
//! collector copies a snapshot of them on each scrape instead of adding counters to the hot
//! paths or running a sampler task: nothing is paid between scrapes and a scrape never sees a
//! stale value. `docs/metrics.md` lists every name, and a test of the binary checks that the
//! two agree.

use std::sync::Arc;

use tickmesh_domain::RejectReason;
use tickmesh_feeds::FeedState;
use tickmesh_telemetry::Metrics;

use crate::PublisherStats;
use crate::grpc::FeedStatuses;

/// Feed (`tickmesh_feed_*`) and publisher (`tickmesh_publisher_*`) metrics of ingestion.
pub fn register(
    metrics: &Metrics,
    feeds: FeedStatuses,
    publisher: Arc<PublisherStats>,
    buffer_capacity: usize,
) {
    metrics.collect("feed", move |s| {
        let feeds = feeds.snapshots();
        let per = |f: fn(&tickmesh_feeds::FeedSnapshot) -> u64| -> Vec<(&'static str, u64)> {
            feeds.iter().map(|s| (s.exchange.as_str(), f(s))).collect()
        };
        s.counters(
            "messages",
            "Data frames received from the exchange",
            "exchange",
            &per(|f| f.messages),
        )?;
        s.counters(
            "events",
            "Market events emitted (live and backfilled)",
            "exchange",
            &per(|f| f.events),
        )?;
        s.counters(
            "parse_errors",
            "Frames that failed to parse and were skipped",
            "exchange",
            &per(|f| f.parse_errors),
        )?;
        s.counters(
            "reconnects",
            "Connections re-established after the first",
            "exchange",
            &per(|f| f.reconnects),
        )?;
        s.counters(
            "gaps",
            "Outages reported as gaps",
            "exchange",
            &per(|f| f.gaps),
        )?;
        // Every reason of every exchange, 0 included, so a rate over it is defined from the
        // first scrape.
        let rejected: Vec<([&str; 2], u64)> = feeds
            .iter()
            .flat_map(|f| {
                RejectReason::ALL
                    .into_iter()
                    .map(move |r| ([f.exchange.as_str(), r.as_str()], f.rejected(r)))
            })
            .collect();
        s.counters2(
            "rejected",
            "Frames and events refused at the edge, by reason",
            ["exchange", "reason"],
            &rejected,
        )?;
        let connected: Vec<(&str, f64)> = feeds
            .iter()
            .map(|f| {
                let up = f.state == FeedState::Connected;
                (f.exchange.as_str(), if up { 1.0 } else { 0.0 })
            })
            .collect();
        s.gauges(
            "connected",
            "1 while the feed is connected and subscribed",
            "exchange",
            &connected,
        )
    });
    metrics.collect("publisher", move |s| {
        let p = publisher.snapshot();
        s.counter("published", "Events the bus confirmed", p.published)?;
        s.gauge(
            "buffered",
            "Events waiting for the bus or in flight",
            p.buffered as f64,
        )?;
        s.gauge(
            "buffer_capacity",
            "Most events the publisher buffers before its overflow policy applies",
            buffer_capacity as f64,
        )?;
        s.counter("dropped", "Events lost to the overflow policy", p.dropped)?;
        s.counter(
            "failures",
            "Publish attempts that failed (each is retried)",
            p.failures,
        )
    });
}
