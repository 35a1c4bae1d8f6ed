//! Wiring of the data plane: the adapters each port gets, and the services started on them.
//! `tickmesh up` starts every service here; `tickmesh serve <service>` starts one.

use std::sync::Arc;

use anyhow::Context as _;
use tickmesh_bridge::{BridgeStats, run_bridge};
use tickmesh_bus::memory::MemoryBus;
use tickmesh_bus::{DurableLog, EventPublisher, LiveBus};
use tickmesh_bus_kafka::KafkaLog;
use tickmesh_bus_redis::RedisBus;
use tickmesh_ingestion::Ingestion;
use tickmesh_storage::{ShardedStore, StorageStats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

/// A started service: what to wait for at shutdown.
#[derive(Debug)]
pub enum Running {
    /// Ingestion (feeds and publisher).
    Ingestion(Ingestion),
    /// A task that ends at shutdown.
    Task(&'static str, JoinHandle<anyhow::Result<()>>),
}

impl Running {
    /// Waits for the service to finish after shutdown was signalled.
    pub async fn join(self) -> anyhow::Result<()> {
        match self {
            Running::Ingestion(ingestion) => {
                ingestion.join().await;
                Ok(())
            }
            Running::Task(name, task) => task
                .await
                .with_context(|| format!("the {name} task panicked"))?
                .with_context(|| format!("{name} failed")),
        }
    }
}

/// Starts ingestion on `adapters.publisher`.
/// Starts ingestion on `adapters.publisher`. With `follow` (the subscription service's URL
/// and CA) the feeds follow its watch; with `follows_in_process` the caller steers them;
/// otherwise they collect `ingestion.markets`.
pub fn start_ingestion(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    follow: Option<(String, Option<std::path::PathBuf>)>,
    follows_in_process: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Running> {
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
    let ingestion = Ingestion::start(
        ingestion_config,
        Arc::clone(&adapters.publisher),
        Some(Arc::clone(&adapters.live)),
        shutdown.clone(),
    )
    .context("cannot start ingestion")?;
    if let Some((url, ca)) = follow {
        tokio::spawn(tickmesh_ingestion::follow::follow_subscriptions(
            url,
            ca,
            ingestion.controls(),
            shutdown.clone(),
        ));
    }
    Ok(Running::Ingestion(ingestion))
}

/// Starts the bridge from `adapters.stream` to `adapters.topics`.
pub fn start_bridge(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    shutdown: &CancellationToken,
) -> (Arc<BridgeStats>, Running) {
    let stats = Arc::new(BridgeStats::new());
    let task = tokio::spawn({
        let (stream, topics) = (Arc::clone(&adapters.stream), Arc::clone(&adapters.topics));
        let (config, stats, shutdown) =
            (config.bridge.clone(), Arc::clone(&stats), shutdown.clone());
        async move { Ok(run_bridge(stream, topics, config, stats, shutdown).await?) }
    });
    (stats, Running::Task("bridge", task))
}

/// Starts storage on `adapters.topics`, writing to `db`.
pub fn start_storage(
    config: &DataPlaneConfig,
    adapters: &Adapters,
    db: sea_orm::DatabaseConnection,
    shutdown: &CancellationToken,
) -> (Arc<StorageStats>, Running) {
    let store = ShardedStore::new(db, config.store.clone(), config.storage.writers);
    let stats = Arc::new(StorageStats::default());
    let task = tokio::spawn({
        let topics = Arc::clone(&adapters.topics);
        let (config, stats, shutdown) =
            (config.storage.clone(), Arc::clone(&stats), shutdown.clone());
        async move { Ok(tickmesh_storage::run(topics, store, config, stats, shutdown).await?) }
    });
    (stats, Running::Task("storage", task))
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
