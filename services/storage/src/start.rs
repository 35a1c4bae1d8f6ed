//! Storage as a supervised service of its process: [`start`] registers its metrics, hosts
//! `HistoryService` on the process's gRPC server (reading from its own pool, so reads never
//! wait for the writer's connections nor take them) and runs the consumer ([`crate::run`])
//! until it is stopped, with the maintenance rounds ([`crate::maintenance::run`]) beside it,
//! and on SQLite the hourly candles' task ([`crate::maintenance::hours::run`]).

use std::sync::Arc;

use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend};
use tickmesh_bootstrap::{GrpcServer, ServiceHandle, ServiceStop, StopMode};
use tickmesh_bus::DurableLog;
use tickmesh_bus::pump::PumpStop;
use tickmesh_telemetry::Metrics;

use crate::maintenance::hours::HoursConfig;
use crate::{
    HistoryReader, MaintenanceStats, ShardedStore, StorageServiceConfig, StorageStats, StoreConfig,
};

/// The ports storage runs on.
#[derive(Debug, Clone)]
pub struct StoragePorts {
    /// The topics it reads.
    pub topics: Arc<dyn DurableLog>,
    /// The database it writes (migrated).
    pub db: DatabaseConnection,
    /// The pool `HistoryService` reads from: [`connect_history`](crate::connect_history) on
    /// the same database, opened with the configuration's `history`.
    pub history_db: DatabaseConnection,
}

/// Starts storage with `config.writers` writers. With [`StopMode::Drain`] it empties the
/// topics before it stops, for a process whose bridge stops first and leaves nobody else to
/// read what it wrote.
pub fn start(
    config: StorageServiceConfig,
    store: StoreConfig,
    ports: StoragePorts,
    mode: StopMode,
    metrics: &Metrics,
    server: &mut GrpcServer,
) -> ServiceHandle {
    let stats = Arc::new(StorageStats::default());
    let maintenance_stats = Arc::new(MaintenanceStats::default());
    crate::metrics::register(metrics, Arc::clone(&stats), Arc::clone(&maintenance_stats));
    let grpc = server.host(
        crate::grpc::server(HistoryReader::new(ports.history_db, config.history)),
        tickmesh_proto::FILE_DESCRIPTOR_SET,
    );
    let store = ShardedStore::new(ports.db.clone(), store, config.writers);
    let stop = ServiceStop::default();
    let pump = PumpStop {
        now: stop.now.clone(),
        when_drained: stop.when_drained.clone(),
    };
    let service = async move {
        // Rounds stop with the consumer; one cut off mid-way rolls back and is redone by the
        // next process.
        // SQLite's hourly candles are computed here; PostgreSQL's trigger keeps its own.
        let hours = (ports.db.get_database_backend() == DbBackend::Sqlite).then(|| {
            tokio::spawn(crate::maintenance::hours::run(
                ports.db.clone(),
                HoursConfig::default(),
                Arc::clone(&maintenance_stats),
            ))
        });
        let maintenance = tokio::spawn(crate::maintenance::run(
            ports.db,
            config.maintenance.clone(),
            maintenance_stats,
        ));
        let consumed = crate::run(ports.topics, store, config, Arc::clone(&stats), pump).await;
        maintenance.abort();
        if let Some(hours) = hours {
            hours.abort();
        }
        consumed?;
        let totals = stats.snapshot();
        tracing::info!(
            events = totals.events_written,
            dead_lettered = totals.dlq,
            "storage stopped"
        );
        Ok(())
    };
    ServiceHandle::spawn("storage", vec![grpc], stop, mode, service)
}
