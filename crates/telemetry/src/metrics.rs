//! The Prometheus registry shared by a process's components.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// A process's metric registry, cheap to clone.
///
/// Components register their metrics at start-up through [`Metrics::register`]; the `/metrics`
/// endpoint renders them with [`Metrics::render`]. Every metric name gets the `tickmesh_`
/// prefix, so components name theirs without it.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry holding `tickmesh_build_info{version}` and `tickmesh_up`.
    pub fn new(version: &str) -> Self {
        let mut registry = Registry::with_prefix("tickmesh");
        registry.register(
            "build",
            "Build of the running binary",
            Info::new(vec![("version".to_owned(), version.to_owned())]),
        );
        let up = Gauge::<i64>::default();
        up.set(1);
        registry.register("up", "1 while the process serves", up);
        Self {
            registry: Arc::new(Mutex::new(registry)),
        }
    }

    /// Lets a component register its metrics, under a further name prefix.
    pub fn register<R>(&self, prefix: &str, f: impl FnOnce(&mut Registry) -> R) -> R {
        // A poisoned lock only means another registration panicked; the registry itself is
        // still consistent (registration is a push onto a vector).
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        f(registry.sub_registry_with_prefix(prefix))
    }

    /// Registers `collect`, called on every scrape to write metrics read from a component's
    /// own (lock-free) counters, under a further name prefix. Nothing is sampled between
    /// scrapes, so the hot paths pay nothing for metrics.
    pub fn collect<F>(&self, prefix: &str, collect: F)
    where
        F: Fn(&mut Scrape<'_>) -> fmt::Result + Send + Sync + 'static,
    {
        self.register(prefix, |r| {
            r.register_collector(Box::new(FnCollector(collect)))
        });
    }

    /// The registry in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        // Writing into a String cannot fail; an error here would be a bug in a metric's encoder.
        if let Err(e) = encode(&mut out, &registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// Writes metric values at scrape time, for a collector registered with [`Metrics::collect`].
///
/// Names are given without the registry's prefixes, and counters without `_total` (the
/// encoder adds it).
pub struct Scrape<'a> {
    encoder: DescriptorEncoder<'a>,
}

impl fmt::Debug for Scrape<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrape").finish_non_exhaustive()
    }
}

impl Scrape<'_> {
    /// A counter without labels.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) -> fmt::Result {
        let counter = ConstCounter::new(value);
        let metric = self
            .encoder
            .encode_descriptor(name, help, None, counter.metric_type())?;
        counter.encode(metric)
    }

    /// A gauge without labels.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) -> fmt::Result {
        let gauge = ConstGauge::new(value);
        let metric = self
            .encoder
            .encode_descriptor(name, help, None, gauge.metric_type())?;
        gauge.encode(metric)
    }

    /// A counter family with one label: one series per `(label value, count)`.
    pub fn counters(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &[(&str, u64)],
    ) -> fmt::Result {
        let mut family = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for (value, count) in values {
            let labels = [(label, *value)];
            ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// A counter family with two labels: one series per `([first, second], count)`.
    pub fn counters2(
        &mut self,
        name: &str,
        help: &str,
        labels: [&str; 2],
        values: &[([&str; 2], u64)],
    ) -> fmt::Result {
        let mut family = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for ([first, second], count) in values {
            let labels = [(labels[0], *first), (labels[1], *second)];
            ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// A gauge family with one label: one series per `(label value, value)`.
    pub fn gauges(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &[(&str, f64)],
    ) -> fmt::Result {
        let mut family = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (value, gauge) in values {
            let labels = [(label, *value)];
            ConstGauge::new(*gauge).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// A histogram without labels. `buckets` holds each bucket's upper bound and the
    /// observations that fell in it alone (not cumulative), the last bound being
    /// `f64::INFINITY`.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        sum: f64,
        count: u64,
        buckets: &[(f64, u64)],
    ) -> fmt::Result {
        let mut metric = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Histogram)?;
        metric.encode_histogram::<NoLabelSet>(sum, count, buckets, None)
    }
}

/// A [`Collector`] over a closure.
struct FnCollector<F>(F);

impl<F> fmt::Debug for FnCollector<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCollector").finish_non_exhaustive()
    }
}

impl<F> Collector for FnCollector<F>
where
    F: Fn(&mut Scrape<'_>) -> fmt::Result + Send + Sync + 'static,
{
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> fmt::Result {
        (self.0)(&mut Scrape { encoder })
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[test]
    fn registered_metrics_render_with_both_prefixes() {
        let metrics = Metrics::new("1.2.3");
        let counter = metrics.register("feeds", |r| {
            let c = Counter::<u64>::default();
            r.register("messages", "Frames received", c.clone());
            c
        });
        counter.inc_by(3);
        let text = metrics.render();
        assert!(text.contains("tickmesh_feeds_messages_total 3"), "{text}");
        assert!(
            text.contains("tickmesh_build_info{version=\"1.2.3\"} 1"),
            "{text}"
        );
        assert!(text.contains("tickmesh_up 1"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn collectors_render_what_they_read_at_scrape_time() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let metrics = Metrics::new("0");
        let seen = Arc::new(AtomicU64::new(0));
        let read = Arc::clone(&seen);
        metrics.collect("feed", move |s| {
            let n = read.load(Ordering::Relaxed);
            s.counters(
                "events",
                "Events",
                "exchange",
                &[("upbit", n), ("korbit", 1)],
            )?;
            s.gauges("connected", "Connected", "exchange", &[("upbit", 1.0)])?;
            s.counters2(
                "rejected",
                "Rejected",
                ["exchange", "reason"],
                &[(["upbit", "oversize"], n), (["korbit", "time_skew"], 0)],
            )?;
            s.counter("plain", "Plain", n)?;
            s.gauge("level", "Level", 2.5)?;
            s.histogram(
                "batch_seconds",
                "Batch",
                0.5,
                2,
                &[(0.1, 1), (1.0, 1), (f64::INFINITY, 0)],
            )
        });
        seen.store(7, Ordering::Relaxed);
        let text = metrics.render();
        for line in [
            "# TYPE tickmesh_feed_events counter",
            "tickmesh_feed_events_total{exchange=\"upbit\"} 7",
            "tickmesh_feed_events_total{exchange=\"korbit\"} 1",
            "tickmesh_feed_connected{exchange=\"upbit\"} 1",
            "tickmesh_feed_rejected_total{exchange=\"upbit\",reason=\"oversize\"} 7",
            "tickmesh_feed_rejected_total{exchange=\"korbit\",reason=\"time_skew\"} 0",
            "tickmesh_feed_plain_total 7",
            "tickmesh_feed_level 2.5",
            "tickmesh_feed_batch_seconds_count 2",
            "tickmesh_feed_batch_seconds_bucket{le=\"1.0\"} 2",
            "tickmesh_feed_batch_seconds_bucket{le=\"+Inf\"} 2",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}

/// `tickmesh_rpc_duration_seconds{method,code}`: how long gRPC calls take, by method path and
/// status code. Unary calls are timed to their response; streaming calls to their first
/// response headers (the stream's start).
#[derive(Clone)]
pub struct RpcMetrics {
    family: RpcFamily,
}

type RpcFamily = prometheus_client::metrics::family::Family<
    Vec<(String, String)>,
    prometheus_client::metrics::histogram::Histogram,
    fn() -> prometheus_client::metrics::histogram::Histogram,
>;

impl fmt::Debug for RpcMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcMetrics").finish_non_exhaustive()
    }
}

fn rpc_histogram() -> prometheus_client::metrics::histogram::Histogram {
    // 250 µs to about 4 s, doubling.
    prometheus_client::metrics::histogram::Histogram::new(
        prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 15),
    )
}

impl RpcMetrics {
    /// Registers the histogram family in `metrics`.
    pub fn register(metrics: &Metrics) -> RpcMetrics {
        let family = prometheus_client::metrics::family::Family::new_with_constructor(
            rpc_histogram as fn() -> prometheus_client::metrics::histogram::Histogram,
        );
        metrics.register("rpc", |registry| {
            registry.register_with_unit(
                "duration",
                "gRPC call latency by method and status code",
                prometheus_client::registry::Unit::Seconds,
                family.clone(),
            );
        });
        RpcMetrics { family }
    }

    /// Records one call.
    pub fn observe(&self, method: &str, code: &str, seconds: f64) {
        self.family
            .get_or_create(&vec![
                ("method".to_owned(), method.to_owned()),
                ("code".to_owned(), code.to_owned()),
            ])
            .observe(seconds);
    }
}
