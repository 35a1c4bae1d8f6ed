//! The data plane's adapters: what each port gets from the configuration (Redis, Kafka and
//! the database when configured, the in-process bus otherwise).

use std::sync::Arc;

use anyhow::Context as _;
use tickmesh_bus::memory::MemoryBus;
use tickmesh_bus::{DurableLog, EventPublisher, LeaseStore, LiveBus, StreamHistory};
use tickmesh_bus_kafka::KafkaLog;
use tickmesh_bus_redis::RedisBus;

use crate::settings::DataPlaneConfig;

/// The stream side's ports: the publisher, live fan-out, the durable stream, the stream read
/// back, the leases.
type StreamSide = (
    Arc<dyn EventPublisher>,
    Arc<dyn LiveBus>,
    Arc<dyn DurableLog>,
    Arc<dyn StreamHistory>,
    Option<Arc<dyn LeaseStore>>,
);

/// The adapter behind each port.
#[derive(Debug, Clone)]
pub struct Adapters {
    /// Ingestion's live + durable write.
    pub publisher: Arc<dyn EventPublisher>,
    /// Live fan-out, read by stream clients.
    pub live: Arc<dyn LiveBus>,
    /// The durable stream the bridge reads.
    pub stream: Arc<dyn DurableLog>,
    /// The same stream read back by position, for stream clients that resume.
    pub history: Arc<dyn StreamHistory>,
    /// The topics the bridge writes and storage reads.
    pub topics: Arc<dyn DurableLog>,
    /// Leases of replicated ingestion, on the bus's Redis (none on the in-process bus).
    pub leases: Option<Arc<dyn LeaseStore>>,
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
        memory
            .log
            .keep_for_replay(&config.stream, config.memory_replay);
        let (publisher, live, stream, history, leases): StreamSide =
            match config.redis.as_ref().filter(|_| stream_side) {
                Some(redis) => {
                    let bus = RedisBus::connect(redis.clone()).await.with_context(|| {
                        format!(
                            "cannot connect to redis ({:?}); is it running? check bus.redis_url",
                            redis.target
                        )
                    })?;
                    let leases: Arc<dyn LeaseStore> = Arc::new(bus.leases());
                    (
                        Arc::new(bus.clone()),
                        Arc::new(bus.clone()),
                        Arc::new(bus.clone()),
                        Arc::new(bus),
                        Some(leases),
                    )
                }
                None => (
                    Arc::new(memory.clone()),
                    memory.live.clone(),
                    memory.log.clone(),
                    memory.log.clone(),
                    None,
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
            history,
            topics,
            leases,
        })
    }
}

/// Opens the pool storage's `HistoryService` (and the subscription service's replays) read
/// from, beside `writer` (see `tickmesh_storage::connect_history`): on `database.read_url`
/// when set, else on `database.url`.
pub async fn open_history_database(
    config: &DataPlaneConfig,
    writer: &sea_orm::DatabaseConnection,
) -> anyhow::Result<sea_orm::DatabaseConnection> {
    // A replica may lag the primary: what a history read or a replay sees may be a moment
    // behind what storage wrote. A replay's wait for storage (`stored_through`) reads the
    // same replica, so it waits for the replica to have the stretch.
    let url = config
        .database_read_url
        .as_ref()
        .unwrap_or(&config.database_url);
    tickmesh_storage::connect_history(
        url.expose(),
        config.database_ca.as_deref(),
        &config.storage.history,
        writer,
    )
    .await
    .with_context(|| format!("cannot open the history read pool on {url}"))
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
