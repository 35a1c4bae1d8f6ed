//! Ingestion as a supervised service of its process: [`start`] starts the feeds and the
//! publisher, points the feeds at the desired set, registers the metrics, hosts
//! `IngestionService` on the process's gRPC server and runs until it is stopped.

use std::sync::Arc;

use tickmesh_bootstrap::{GrpcServer, ServiceHandle, ServiceStop, StopMode};
use tickmesh_bus::{EventPublisher, LeaseStore, LiveBus};
use tickmesh_telemetry::Metrics;

use crate::follow::{SubscriptionSource, follow};
use crate::{Ingestion, IngestionConfig, IngestionError};

/// The ports ingestion runs on.
#[derive(Debug, Clone)]
pub struct IngestionPorts {
    /// Where events go, live and durably.
    pub publisher: Arc<dyn EventPublisher>,
    /// Where gap markers go (beside the live events).
    pub gaps: Option<Arc<dyn LiveBus>>,
    /// The desired set to follow; without one the feeds collect `ingestion.markets`.
    pub subscriptions: Option<Arc<dyn SubscriptionSource>>,
    /// Where replicated ingestion keeps its leases (with `ingestion.replicated`).
    pub leases: Option<Arc<dyn LeaseStore>>,
}

/// Starts ingestion. It stops at once when asked: what the feeds handed the publisher is
/// flushed first.
pub fn start(
    mut config: IngestionConfig,
    ports: IngestionPorts,
    metrics: &Metrics,
    server: &mut GrpcServer,
) -> Result<ServiceHandle, IngestionError> {
    match &ports.subscriptions {
        Some(source) => {
            tracing::info!(subscriptions = ?source, "ingestion starting, following subscriptions");
            config.markets.clear();
        }
        None => {
            let names: Vec<String> = config.markets.iter().map(ToString::to_string).collect();
            tracing::info!(markets = %names.join(","), "ingestion starting on fixed markets");
        }
    }
    let buffer_capacity = config.publisher.buffer_capacity;
    let stop = ServiceStop::default();
    let mut ingestion = Ingestion::start(
        config,
        ports.publisher,
        ports.gaps,
        ports.leases,
        stop.now.clone(),
    )?;
    if let Some(source) = ports.subscriptions {
        let task = follow(source, ingestion.controls(), stop.now.clone());
        ingestion.spawn_helper("subscription follower", task);
    }
    crate::metrics::register(
        metrics,
        ingestion.statuses(),
        ingestion.publisher_stats_shared(),
        buffer_capacity,
    );
    if let (Some(view), Some(counters)) = (ingestion.lease_view(), ingestion.lease_counters()) {
        crate::metrics::register_leases(metrics, view.member, ingestion.statuses(), counters);
    }
    let grpc = server.host(
        crate::grpc::server(ingestion.statuses(), ingestion.lease_view()),
        tickmesh_proto::FILE_DESCRIPTOR_SET,
    );
    Ok(ServiceHandle::spawn(
        "ingestion",
        vec![grpc],
        stop,
        StopMode::Now,
        async move { Ok(ingestion.run().await?) },
    ))
}
