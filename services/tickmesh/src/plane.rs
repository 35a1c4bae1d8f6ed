//! Wiring of the data plane: the adapters each port gets, and the services started on them.
//! `tickmesh up` starts every service here; `tickmesh serve <service>` starts one.

use std::sync::Arc;

use anyhow::Context as _;
use tickmesh_bootstrap::{ServiceHandle, ServiceStop, StopMode};
use tickmesh_bridge::{BridgeStats, run_bridge};
use tickmesh_bus::memory::MemoryBus;
use tickmesh_bus::pump::PumpStop;
use tickmesh_bus::{DurableLog, EventPublisher, LiveBus};
use tickmesh_bus_kafka::KafkaLog;
use tickmesh_bus_redis::RedisBus;
use tickmesh_ingestion::Ingestion;
use tickmesh_storage::{ShardedStore, StorageStats};

use crate::settings::DataPlaneConfig;

/// The adapter behind each port.
#[derive(Debug, Clone)]
pub struct Adapters {
    /// Ingestion's live + durable write.
    pub publisher: Arc<dyn EventPublisher>,
    /// Live fan-out, read by stream clients.
    pub live: Arc<dyn LiveBus>,
    /// The durable stream the bridge reads.
    pub stream: Arc<dyn DurableLog>,
    /// The topics the bridge writes and storage reads.
    pub topics: Arc<dyn DurableLog>,
}

impl Adapters {
    /// Connects the configured backends a process needs (Redis for the stream side, Kafka
    /// for the topics side); the in-process bus stands in for the others.
    pub async fn connect(
        config: &DataPlaneConfig,
        stream_side: bool,
        topics_side: bool,
    ) -> anyhow::Result<Adapters> {
        let memory = MemoryBus::new(config.stream.clone(), config.memory_retain);
        let (publisher, live, stream): (
            Arc<dyn EventPublisher>,
            Arc<dyn LiveBus>,
            Arc<dyn DurableLog>,
        ) = match config.redis.as_ref().filter(|_| stream_side) {
            Some(redis) => {
                let bus = RedisBus::connect(redis.clone()).await.with_context(|| {
                    format!(
                        "cannot connect to redis ({:?}); is it running? check bus.redis_url",
                        redis.target
                    )
                })?;
                (Arc::new(bus.clone()), Arc::new(bus.clone()), Arc::new(bus))
            }
            None => (
                Arc::new(memory.clone()),
                memory.live.clone(),
                memory.log.clone(),
            ),
        };
        let topics: Arc<dyn DurableLog> = match config.kafka.as_ref().filter(|_| topics_side) {
            Some(kafka) => {
                let log = KafkaLog::new(kafka.clone()).with_context(|| {
                    format!("cannot create the kafka clients for {}", kafka.brokers)
                })?;
                log.ensure_topics(&config.topics.all()).await.with_context(|| {
                    format!("cannot create the kafka topics on {}; is the broker running? check bus.kafka_brokers", kafka.brokers)
                })?;
                Arc::new(log)
            }
            None => memory.log.clone(),
        };
        Ok(Adapters {
            publisher,
            live,
            stream,
            topics,
        })
    }
}

/// The gRPC services each service backs, for their health.
pub mod grpc_names {
    use tonic::server::NamedService;

    /// `HistoryService` (storage).
    pub const STORAGE: &[&str] = &[
        <tickmesh_proto::history::v1::history_service_server::HistoryServiceServer<
            tickmesh_storage::HistoryGrpc,
        > as NamedService>::NAME,
    ];
    /// `BridgeService`.
    pub const BRIDGE: &[&str] = &[
        <tickmesh_proto::bridge::v1::bridge_service_server::BridgeServiceServer<
            tickmesh_bridge::grpc::BridgeGrpc,
        > as NamedService>::NAME,
    ];
    /// `IngestionService`.
    pub const INGESTION: &[&str] = &[
        <tickmesh_proto::ingestion::v1::ingestion_service_server::IngestionServiceServer<
            tickmesh_ingestion::grpc::IngestionGrpc,
        > as NamedService>::NAME,
    ];
}

/// How the bridge and storage stop: draining what is in the log when its producer runs in
/// this process and stops first (`tickmesh up`), at once when another process keeps writing.
fn stop_mode(drain: bool) -> StopMode {
    if drain {
        StopMode::Drain
    } else {
        StopMode::Now
    }
}

/// The pump's stop from a service's.
fn pump_stop(stop: &ServiceStop) -> PumpStop {
    PumpStop {
        now: stop.now.clone(),
        when_drained: stop.when_drained.clone(),
    }
}

/// Starts ingestion on `adapters.publisher`. With `follow` (the subscription service's URL
/// and CA) the feeds follow its watch; with `follows_in_process` the caller steers them (see
/// [`Ingestion::spawn_helper`]); otherwise they collect `ingestion.markets`.
pub fn start_ingestion(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    follow: Option<(String, Option<std::path::PathBuf>)>,
    follows_in_process: bool,
) -> anyhow::Result<(Ingestion, ServiceStop)> {
    let mut ingestion_config = config.ingestion.clone();
    match &follow {
        Some((url, _)) => {
            tracing::info!(subscriptions = %url, "ingestion starting, following subscriptions");
            ingestion_config.markets.clear();
        }
        None if follows_in_process => {
            tracing::info!("ingestion starting, following the subscriptions in this process");
            ingestion_config.markets.clear();
        }
        None => {
            let names: Vec<String> = ingestion_config
                .markets
                .iter()
                .map(ToString::to_string)
                .collect();
            tracing::info!(markets = %names.join(","), "ingestion starting on fixed markets");
        }
    }
    let stop = ServiceStop::default();
    let mut ingestion = Ingestion::start(
        ingestion_config,
        Arc::clone(&adapters.publisher),
        Some(Arc::clone(&adapters.live)),
        stop.now.clone(),
    )
    .context("cannot start ingestion")?;
    if let Some((url, ca)) = follow {
        let task = tickmesh_ingestion::follow::follow_subscriptions(
            url,
            ca,
            ingestion.controls(),
            stop.now.clone(),
        );
        ingestion.spawn_helper("subscription follower", task);
    }
    Ok((ingestion, stop))
}

/// Runs started ingestion as a supervised service.
pub fn ingestion_service(ingestion: Ingestion, stop: ServiceStop) -> ServiceHandle {
    ServiceHandle::spawn(
        "ingestion",
        grpc_names::INGESTION.to_vec(),
        stop,
        StopMode::Now,
        async move { Ok(ingestion.run().await?) },
    )
}

/// Starts the bridge from `adapters.stream` to `adapters.topics`; with `drain` it empties the
/// stream before stopping.
pub fn start_bridge(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    drain: bool,
) -> (Arc<BridgeStats>, ServiceHandle) {
    let stats = Arc::new(BridgeStats::new());
    let stop = ServiceStop::default();
    let service = {
        let (stream, topics) = (Arc::clone(&adapters.stream), Arc::clone(&adapters.topics));
        let (config, stats, pump) = (config.bridge.clone(), Arc::clone(&stats), pump_stop(&stop));
        async move {
            run_bridge(stream, topics, config, Arc::clone(&stats), pump).await?;
            let totals = stats.snapshot();
            tracing::info!(
                forwarded = totals.forwarded,
                dead_lettered = totals.dead_letters,
                "bridge stopped"
            );
            Ok(())
        }
    };
    let handle = ServiceHandle::spawn(
        "bridge",
        grpc_names::BRIDGE.to_vec(),
        stop,
        stop_mode(drain),
        service,
    );
    (stats, handle)
}

/// Starts storage on `adapters.topics`, writing to `db`; with `drain` it empties the topics
/// before stopping.
pub fn start_storage(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    db: sea_orm::DatabaseConnection,
    drain: bool,
) -> (Arc<StorageStats>, ServiceHandle) {
    let store = ShardedStore::new(db, config.store.clone(), config.storage.writers);
    let stats = Arc::new(StorageStats::default());
    let stop = ServiceStop::default();
    let service = {
        let topics = Arc::clone(&adapters.topics);
        let (config, stats, pump) = (config.storage.clone(), Arc::clone(&stats), pump_stop(&stop));
        async move {
            tickmesh_storage::run(topics, store, config, Arc::clone(&stats), pump).await?;
            let totals = stats.snapshot();
            tracing::info!(
                events = totals.events_written,
                dead_lettered = totals.dlq,
                "storage stopped"
            );
            Ok(())
        }
    };
    let handle = ServiceHandle::spawn(
        "storage",
        grpc_names::STORAGE.to_vec(),
        stop,
        stop_mode(drain),
        service,
    );
    (stats, handle)
}

/// Opens `database.url`, applying pending migrations when `database.migrate` is on.
pub async fn open_database(
    config: &DataPlaneConfig,
) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let url = &config.database_url;
    let db = tickmesh_storage::connect_with_ca(url.expose(), config.database_ca.as_deref())
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    if config.migrate {
        let applied = tickmesh_migrations::migrate(&db)
            .await
            .with_context(|| format!("cannot migrate the database {url}"))?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
    }
    Ok(db)
}
