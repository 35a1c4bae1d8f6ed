//! The bridge as a supervised service of its process: [`start`] registers its metrics, hosts
//! `BridgeService` on the process's gRPC server and runs [`run_bridge`] until it is stopped.

use std::sync::Arc;

use tickmesh_bootstrap::{GrpcServer, ServiceHandle, ServiceStop, StopMode};
use tickmesh_bus::DurableLog;
use tickmesh_bus::pump::PumpStop;
use tickmesh_telemetry::Metrics;

use crate::{BridgeConfig, BridgeStats, run_bridge};

/// The ports the bridge runs on.
#[derive(Debug, Clone)]
pub struct BridgePorts {
    /// The durable stream it reads.
    pub stream: Arc<dyn DurableLog>,
    /// The topics it writes.
    pub topics: Arc<dyn DurableLog>,
}

/// Starts the bridge. With [`StopMode::Drain`] it empties the stream before it stops, for a
/// process whose ingestion stops first and leaves nobody else to read what it wrote.
pub fn start(
    config: BridgeConfig,
    ports: BridgePorts,
    mode: StopMode,
    metrics: &Metrics,
    server: &mut GrpcServer,
) -> ServiceHandle {
    let stats = Arc::new(BridgeStats::new());
    crate::metrics::register(metrics, Arc::clone(&stats));
    let grpc = server.host(
        crate::grpc::server(Arc::clone(&stats)),
        tickmesh_proto::FILE_DESCRIPTOR_SET,
    );
    let stop = ServiceStop::default();
    let pump = PumpStop {
        now: stop.now.clone(),
        when_drained: stop.when_drained.clone(),
    };
    let service = async move {
        run_bridge(ports.stream, ports.topics, config, Arc::clone(&stats), pump).await?;
        let totals = stats.snapshot();
        tracing::info!(
            forwarded = totals.forwarded,
            dead_lettered = totals.dead_letters,
            "bridge stopped"
        );
        Ok(())
    };
    ServiceHandle::spawn("bridge", vec![grpc], stop, mode, service)
}
