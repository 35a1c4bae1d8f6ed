//! The Prometheus registry shared by a process's components.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::gauge::Gauge;
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
}
