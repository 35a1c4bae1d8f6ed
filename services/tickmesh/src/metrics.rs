//! Per-service Prometheus metrics, read from each service's lock-free stats at scrape time.
//!
//! Every service already keeps atomic counters for its gRPC status calls and tests, so the
//! collectors here copy a snapshot of them on each scrape instead of adding counters to the
//! hot paths or running a sampler task: nothing is paid between scrapes and a scrape never
//! sees a stale value. `docs/metrics.md` lists every name; `tests/metrics.rs` checks that
//! the two agree.

use std::sync::Arc;

use tickmesh_bridge::BridgeStats;
use tickmesh_domain::RejectReason;
use tickmesh_feeds::FeedState;
use tickmesh_ingestion::PublisherStats;
use tickmesh_ingestion::grpc::FeedStatuses;
use tickmesh_storage::{BATCH_SECONDS_BOUNDS, StorageStats};
use tickmesh_subscription::stream::TickHub;
use tickmesh_telemetry::Metrics;

/// Feed (`tickmesh_feed_*`) and publisher (`tickmesh_publisher_*`) metrics of ingestion.
pub fn register_ingestion(
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

/// Bridge metrics (`tickmesh_bridge_*`).
pub fn register_bridge(metrics: &Metrics, stats: Arc<BridgeStats>) {
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

/// Storage metrics (`tickmesh_storage_*`).
pub fn register_storage(metrics: &Metrics, stats: Arc<StorageStats>) {
    metrics.collect("storage", move |s| {
        let st = stats.snapshot();
        s.counter("batches", "Batches committed", st.batches)?;
        s.counter(
            "events",
            "Valid events in committed batches",
            st.events_written,
        )?;
        s.counter(
            "trades_inserted",
            "Trades stored for the first time",
            st.trades_inserted,
        )?;
        s.counter(
            "trades_duplicate",
            "Trades that were already stored (replays)",
            st.trades_duplicate,
        )?;
        s.counter("dlq", "Records sent to the dead-letter topic", st.dlq)?;
        s.counter(
            "db_errors",
            "Failed database writes (each retried)",
            st.db_errors,
        )?;
        let buckets: Vec<(f64, u64)> = BATCH_SECONDS_BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(st.batch_buckets)
            .collect();
        s.histogram(
            "batch_seconds",
            "Time from a batch's database write to its acknowledgement",
            st.batch_micros as f64 / 1e6,
            st.batch_buckets.iter().sum(),
            &buckets,
        )
    });
}

/// Live stream metrics (`tickmesh_stream_*`).
pub fn register_stream(metrics: &Metrics, hub: TickHub) {
    metrics.collect("stream", move |s| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_and_bridge_render_their_snapshots() {
        let metrics = Metrics::new("0");
        register_storage(&metrics, Arc::new(StorageStats::new()));
        register_bridge(&metrics, Arc::new(BridgeStats::new()));
        let text = metrics.render();
        for line in [
            "tickmesh_storage_trades_inserted_total 0",
            "tickmesh_storage_batch_seconds_count 0",
            "tickmesh_storage_batch_seconds_bucket{le=\"+Inf\"} 0",
            "tickmesh_bridge_lag -1",
            "tickmesh_bridge_forwarded_total 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
