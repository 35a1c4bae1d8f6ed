//! Ingestion's feeds and publisher as Prometheus metrics, read from the service's lock-free stats at scrape time.
//!
//! The service already keeps atomic counters for its gRPC status calls and tests, so the
//! collector copies a snapshot of them on each scrape instead of adding counters to the hot
//! paths or running a sampler task: nothing is paid between scrapes and a scrape never sees a
//! stale value. `docs/metrics.md` lists every name, and a test of the binary checks that the
//! two agree.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tickmesh_domain::{Exchange, RejectReason};
use tickmesh_feeds::FeedState;
use tickmesh_telemetry::Metrics;

use crate::PublisherStats;
use crate::grpc::FeedStatuses;
use crate::ownership::LeaseCounters;

/// `f` of every feed, summed per exchange: a replicated ingestion has a feed per unit.
fn per_exchange(
    feeds: &[tickmesh_feeds::FeedSnapshot],
    f: impl Fn(&tickmesh_feeds::FeedSnapshot) -> u64,
) -> Vec<(&'static str, u64)> {
    let mut sums: BTreeMap<Exchange, u64> = BTreeMap::new();
    for feed in feeds {
        *sums.entry(feed.exchange).or_default() += f(feed);
    }
    sums.into_iter().map(|(e, n)| (e.as_str(), n)).collect()
}

/// Feed (`tickmesh_feed_*`) and publisher (`tickmesh_publisher_*`) metrics of ingestion.
pub fn register(
    metrics: &Metrics,
    feeds: FeedStatuses,
    publisher: Arc<PublisherStats>,
    buffer_capacity: usize,
) {
    metrics.collect("feed", move |s| {
        let feeds = feeds.snapshots();
        let per = |f: fn(&tickmesh_feeds::FeedSnapshot) -> u64| per_exchange(&feeds, f);
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
        let rejected: Vec<([&str; 2], u64)> = RejectReason::ALL
            .into_iter()
            .flat_map(|r| {
                per_exchange(&feeds, move |f| f.rejected(r))
                    .into_iter()
                    .map(move |(e, n)| ([e, r.as_str()], n))
            })
            .collect();
        s.counters2(
            "rejected",
            "Frames and events refused at the edge, by reason",
            ["exchange", "reason"],
            &rejected,
        )?;
        let connected: Vec<(&str, f64)> =
            per_exchange(&feeds, |f| u64::from(f.state == FeedState::Connected))
                .into_iter()
                .map(|(e, n)| (e, n as f64))
                .collect();
        s.gauges(
            "connected",
            "Connections of the exchange that are connected and subscribed (1 or 0 for a single ingestion)",
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
            "fenced_off",
            "Events not published because their unit's lease had passed on",
            p.fenced_off,
        )?;
        s.counter(
            "failures",
            "Publish attempts that failed (each is retried)",
            p.failures,
        )
    });
}

/// Lease metrics of a replicated ingestion (`tickmesh_ingestion_*`).
pub fn register_leases(
    metrics: &Metrics,
    member: String,
    feeds: FeedStatuses,
    counters: Arc<LeaseCounters>,
) {
    metrics.collect("ingestion", move |s| {
        let entries = feeds.entries();
        let now_ms = tickmesh_domain::UtcMicros::now().as_micros() / 1000;
        let held: Vec<(String, f64)> = entries
            .iter()
            .filter_map(|e| {
                let (unit, lease) = (e.unit?, e.lease.as_ref()?);
                Some((
                    unit.to_string(),
                    (now_ms - lease.granted_ms).max(0) as f64 / 1000.0,
                ))
            })
            .collect();
        s.gauges(
            "replica",
            "1, labelled with this replica's member name",
            "member",
            &[(member.as_str(), 1.0)],
        )?;
        s.gauges(
            "lease_age_seconds",
            "Age of each lease this replica holds, by unit",
            "unit",
            &held
                .iter()
                .map(|(u, a)| (u.as_str(), *a))
                .collect::<Vec<_>>(),
        )?;
        s.counters(
            "lease_changes",
            "Leases acquired, released (handed over) and lost by this replica",
            "change",
            &[
                ("acquired", counters.acquired.load(Ordering::Relaxed)),
                ("released", counters.released.load(Ordering::Relaxed)),
                ("lost", counters.lost.load(Ordering::Relaxed)),
            ],
        )
    });
}
