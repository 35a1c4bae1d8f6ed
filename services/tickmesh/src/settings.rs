//! The data plane's typed configuration, read from the `bus`, `database`, `ingestion`,
//! `bridge` and `storage` sections. Which adapter each port gets is decided here and only
//! here: a configured Redis URL, Kafka brokers or PostgreSQL URL swaps in the real adapter,
//! and without them `tickmesh up` runs on the in-process bus and a SQLite file. How each
//! backend is reached (logins, TLS) is read in `backends`.

use std::collections::BTreeSet;

use tickmesh_bootstrap::{ConfigReader, Secret};
use tickmesh_bridge::BridgeConfig;
use tickmesh_bus_kafka::KafkaConfig;
use tickmesh_bus_redis::RedisConfig;
use tickmesh_domain::{Exchange, Market};
use tickmesh_feeds::Endpoints;
use tickmesh_ingestion::ownership::OwnershipConfig;
use tickmesh_ingestion::{ExchangeFeed, IngestionConfig, OverflowPolicy};
use tickmesh_proto::routing::{self, TopicNames};
use tickmesh_storage::{HistoryConfig, StorageServiceConfig, StoreConfig};
use tickmesh_subscription::SubscriptionConfig;

use crate::backends;

mod maintenance;

/// The default database of `tickmesh up`: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tickmesh.db";

/// Everything the data-plane services are configured with.
#[derive(Debug, Clone)]
pub struct DataPlaneConfig {
    /// Redis (`bus.redis_url`, or `bus.redis_sentinels` + `bus.redis_master`); `None` means
    /// the in-process bus.
    pub redis: Option<RedisConfig>,
    /// Kafka (`bus.kafka_brokers`); `None` means the in-process log.
    pub kafka: Option<KafkaConfig>,
    /// Records each in-process topic keeps (`bus.memory_retain`).
    pub memory_retain: usize,
    /// The durable stream ingestion writes and the bridge reads (`bus.stream`).
    pub stream: String,
    /// Kafka topic names (`bus.topic_prefix` before the defaults).
    pub topics: TopicNames,
    /// `database.url`: `postgres://...` or `sqlite://FILE`.
    pub database_url: Secret,
    /// `database.ca`: the CA certificate (PEM) a PostgreSQL server's must chain to.
    pub database_ca: Option<std::path::PathBuf>,
    /// `database.read_url`: a read replica for history reads; `None` reads `database_url`.
    pub database_read_url: Option<Secret>,
    /// `database.migrate`: apply pending migrations at start.
    pub migrate: bool,
    /// `ingestion.subscriptions_url`: the subscription service a separate ingestion follows;
    /// unset, it collects `ingestion.markets`.
    pub subscriptions_url: Option<String>,
    /// `ingestion.subscriptions_ca`: the CA certificate (PEM) to trust for an https:// one.
    pub subscriptions_ca: Option<std::path::PathBuf>,
    /// `subscription.sync_interval`: how often a subscription replica passes on what other
    /// replicas sharing its database changed.
    pub subscription_sync: std::time::Duration,
    /// `subscription.stream_max_markets`: markets one StreamTicks call may list.
    pub stream_max_markets: usize,
    /// `subscription.stream_client_buffer`: events buffered for one StreamTicks client.
    pub stream_client_buffer: usize,
    /// `subscription.replay_rate`, `subscription.replay_concurrent`: how StreamTicks clients
    /// that resume are replayed.
    pub replay: tickmesh_subscription::ReplayConfig,
    /// `bus.memory_replay`: newest records of the in-process stream kept for replays.
    pub memory_replay: usize,
    /// `subscription.stream_hub_buffer`: live messages the tick hub buffers upstream.
    pub stream_hub_buffer: usize,
    /// The ingestion service.
    pub ingestion: IngestionConfig,
    /// The bridge.
    pub bridge: BridgeConfig,
    /// The storage consumer.
    pub storage: StorageServiceConfig,
    /// The storage writer.
    pub store: StoreConfig,
}

impl DataPlaneConfig {
    /// Reads the sections; problems are collected by `r`.
    pub fn read(r: &mut ConfigReader<'_>) -> DataPlaneConfig {
        let stream = r.get("bus.stream", routing::EVENTS_STREAM.to_owned());
        let topics = TopicNames::with_prefix(&r.get("bus.topic_prefix", String::new()));
        let redis = backends::read_redis(r).map(|mut redis| {
            redis.stream = stream.clone();
            redis
        });
        let kafka = backends::read_kafka(r);
        let (database_url, database_ca) = backends::read_database(r, DEFAULT_DATABASE_URL);
        let database_read_url = backends::read_replica(r, &database_url);
        let mut bridge = read_bridge(r);
        bridge.stream = stream.clone();
        bridge.topics = topics.clone();
        let mut storage = read_storage(r);
        storage.topics = topics.clone();
        let partition_interval = storage.maintenance.partition_interval;
        let ingestion = read_ingestion(r);
        if ingestion.ownership.is_some() && redis.is_none() {
            r.invalid(
                "ingestion.replicated",
                "needs bus.redis_url (or bus.redis_sentinels): the leases are kept on the bus's redis",
            );
        }
        let bounds = ingestion.edge.bounds;
        DataPlaneConfig {
            redis,
            kafka,
            memory_retain: r.get("bus.memory_retain", 1_000_000),
            stream,
            topics,
            database_url,
            database_ca,
            database_read_url,
            migrate: r.get("database.migrate", true),
            subscriptions_url: r
                .optional::<String>("ingestion.subscriptions_url", None)
                .filter(|u| !u.is_empty()),
            subscriptions_ca: r.optional("ingestion.subscriptions_ca", None),
            subscription_sync: r.duration(
                "subscription.sync_interval",
                std::time::Duration::from_secs(2),
            ),
            stream_max_markets: read_at_least_one(
                r,
                "subscription.stream_max_markets",
                tickmesh_subscription::stream::StreamLimits::DEFAULT_MAX_MARKETS,
            ),
            stream_client_buffer: read_at_least_one(
                r,
                "subscription.stream_client_buffer",
                tickmesh_subscription::stream::StreamLimits::DEFAULT_CLIENT_CAPACITY,
            ),
            replay: tickmesh_subscription::ReplayConfig {
                rate: u32::try_from(read_at_least_one(
                    r,
                    "subscription.replay_rate",
                    tickmesh_subscription::ReplayConfig::default().rate as usize,
                ))
                .unwrap_or(u32::MAX),
                concurrent: read_at_least_one(
                    r,
                    "subscription.replay_concurrent",
                    tickmesh_subscription::ReplayConfig::default().concurrent,
                ),
                ..tickmesh_subscription::ReplayConfig::default()
            },
            stream_hub_buffer: read_at_least_one(
                r,
                "subscription.stream_hub_buffer",
                tickmesh_subscription::stream::HubConfig::default().upstream_capacity,
            ),
            memory_replay: r.get(
                "bus.memory_replay",
                tickmesh_bus::memory::MemoryBus::DEFAULT_REPLAY,
            ),
            ingestion,
            bridge,
            storage,
            store: StoreConfig {
                orderbook_interval: r.duration(
                    "storage.orderbook_interval",
                    StoreConfig::default().orderbook_interval,
                ),
                ticker_interval: r
                    .optional_duration("storage.ticker_interval", None)
                    .filter(|interval| !interval.is_zero()),
                // Storage checks what it reads against the limits ingestion enforced, so an
                // event ingestion let through is never refused one hop later.
                bounds,
                partition_interval,
            },
        }
    }

    /// The subscription service's configuration: the exchanges ingestion collects from (their
    /// market lists decide what can be subscribed), seeded with `ingestion.markets`.
    pub fn subscription_config(&self) -> SubscriptionConfig {
        let exchanges = self
            .ingestion
            .exchanges
            .iter()
            .map(|feed| (feed.exchange, feed.endpoints.rest_url.clone()))
            .collect();
        let seed = self.ingestion.markets.iter().copied().collect();
        let mut config = SubscriptionConfig::new(exchanges, seed, self.subscription_sync);
        config.stream.max_markets = self.stream_max_markets;
        config.stream.client_capacity = self.stream_client_buffer;
        config.replay = self.replay;
        config.hub.upstream_capacity = self.stream_hub_buffer;
        config
    }
}

fn read_at_least_one(r: &mut ConfigReader<'_>, key: &str, default: usize) -> usize {
    let value = r.get(key, default);
    if value == 0 {
        r.invalid(key, "must be at least 1");
    }
    value
}

fn read_ingestion(r: &mut ConfigReader<'_>) -> IngestionConfig {
    let mut config = IngestionConfig::default();
    let exchanges: Vec<Exchange> = r.get_with("ingestion.exchanges", Exchange::ALL.to_vec(), |s| {
        s.split(',')
            .map(|e| e.trim().parse::<Exchange>().map_err(|e| e.to_string()))
            .collect()
    });
    config.exchanges = exchanges
        .into_iter()
        .map(|exchange| {
            let production = Endpoints::production(exchange);
            ExchangeFeed {
                exchange,
                endpoints: Endpoints {
                    ws_url: r.get(&format!("ingestion.{exchange}.ws_url"), production.ws_url),
                    rest_url: r.get(
                        &format!("ingestion.{exchange}.rest_url"),
                        production.rest_url,
                    ),
                },
            }
        })
        .collect();
    config.markets = r.get_with("ingestion.markets", BTreeSet::new(), |s| {
        s.split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|m| Market::parse(m).map_err(|e| e.to_string()))
            .collect()
    });
    let p = &mut config.publisher;
    p.batch_max = r.get("ingestion.batch_max", p.batch_max);
    p.linger = r.get_with("ingestion.publish_linger", p.linger, |text| {
        // Every event may wait this long before it goes live: past a second it is no longer
        // a trade of latency for CPU but a stalled feed.
        match tickmesh_bootstrap::config::parse_duration(text)? {
            d if d > std::time::Duration::from_secs(1) => Err(
                "must be at most 1s: every event may wait this long before it is published"
                    .to_owned(),
            ),
            d => Ok(d),
        }
    });
    p.buffer_capacity = r.get("ingestion.buffer_capacity", p.buffer_capacity);
    config.read_pause = r.get_with("ingestion.read_pause", config.read_pause, |text| {
        // The exchange's frames queue in the socket's buffer meanwhile: a long pause is no
        // longer a trade of latency for CPU but a reader the exchange may cut as too slow.
        match tickmesh_bootstrap::config::parse_duration(text)? {
            d if d > std::time::Duration::from_millis(100) => Err(
                "must be at most 100ms: frames wait in the socket's buffer this long".to_owned(),
            ),
            d => Ok(d),
        }
    });
    p.overflow = r.get("ingestion.overflow", OverflowPolicy::default());
    p.drain_timeout = r.duration("ingestion.drain_timeout", p.drain_timeout);
    config.startup_backfill = r.duration("ingestion.startup_backfill", config.startup_backfill);
    read_edge(r, &mut config.edge);
    if r.get("ingestion.replicated", false) {
        config.ownership = Some(read_ownership(r));
    }
    config
}

/// `ingestion.member`, `ingestion.shards`, `ingestion.lease_ttl` and `ingestion.lease_renew`
/// of a replicated ingestion.
fn read_ownership(r: &mut ConfigReader<'_>) -> OwnershipConfig {
    // A pod's name is its HOSTNAME: unique among the replicas, and what an operator sees.
    let fallback = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("ingestion-{}", std::process::id()));
    let mut o = OwnershipConfig::new(r.get("ingestion.member", fallback));
    o.shards = r.get("ingestion.shards", o.shards);
    if o.shards == 0 {
        r.invalid("ingestion.shards", "must be at least 1");
    }
    o.lease_ttl = r.duration("ingestion.lease_ttl", o.lease_ttl);
    o.renew_every = r.duration("ingestion.lease_renew", o.renew_every);
    if o.renew_every.is_zero() || o.renew_every * 3 > o.lease_ttl {
        r.invalid(
            "ingestion.lease_renew",
            "must be more than 0s and at most a third of ingestion.lease_ttl, so a lease is renewed several times before it could expire",
        );
    }
    o
}

/// The smallest `ingestion.max_frame_bytes` accepted: a full 30-level book in Upbit's DEFAULT
/// keys is a few KiB, so less would refuse ordinary frames.
const MIN_FRAME_BYTES: usize = 16 * 1024;

/// `ingestion.max_frame_bytes`, `ingestion.max_book_levels` and `ingestion.max_clock_skew`.
fn read_edge(r: &mut ConfigReader<'_>, edge: &mut tickmesh_feeds::EdgeLimits) {
    edge.max_frame_bytes = r.get("ingestion.max_frame_bytes", edge.max_frame_bytes);
    if edge.max_frame_bytes < MIN_FRAME_BYTES {
        r.invalid(
            "ingestion.max_frame_bytes",
            format!("must be at least {MIN_FRAME_BYTES} bytes"),
        );
    }
    edge.bounds.max_levels = r.get("ingestion.max_book_levels", edge.bounds.max_levels);
    if edge.bounds.max_levels == 0 {
        r.invalid("ingestion.max_book_levels", "must be at least 1");
    }
    edge.bounds.max_skew = r.duration("ingestion.max_clock_skew", edge.bounds.max_skew);
    if edge.bounds.max_skew.is_zero() {
        r.invalid("ingestion.max_clock_skew", "must be more than 0s");
    }
}

fn read_bridge(r: &mut ConfigReader<'_>) -> BridgeConfig {
    let mut config = BridgeConfig::default();
    config.group = r.get("bridge.group", config.group);
    config.consumer = r.get("bridge.consumer", default_member("bridge"));
    config.batch_max = r.get("bridge.batch_max", config.batch_max);
    config.poll_wait = r.duration("bridge.poll_wait", config.poll_wait);
    config
}

fn read_storage(r: &mut ConfigReader<'_>) -> StorageServiceConfig {
    let mut config = StorageServiceConfig::default();
    config.group = r.get("storage.group", config.group);
    config.consumer = r.get("storage.consumer", default_member("storage"));
    config.batch_max = r.get("storage.batch_max", config.batch_max);
    config.poll_wait = r.duration("storage.poll_wait", config.poll_wait);
    config.linger = r.duration("storage.linger", config.linger);
    config.writers = r.get("storage.writers", config.writers);
    read_history(r, &mut config.history);
    maintenance::read_maintenance(r, &mut config.maintenance);
    config
}

/// `storage.history_max_rows`, `storage.history_connections` and
/// `storage.history_statement_timeout`.
fn read_history(r: &mut ConfigReader<'_>, history: &mut HistoryConfig) {
    history.max_rows = r.get("storage.history_max_rows", history.max_rows);
    if history.max_rows < HistoryConfig::MIN_MAX_ROWS {
        r.invalid(
            "storage.history_max_rows",
            format!(
                "must be at least {} (a day of minutes on two exchanges, one 1d spread point)",
                HistoryConfig::MIN_MAX_ROWS
            ),
        );
    }
    history.connections = r.get("storage.history_connections", history.connections);
    if history.connections == 0 {
        r.invalid("storage.history_connections", "must be at least 1");
    }
    history.statement_timeout = r.duration(
        "storage.history_statement_timeout",
        history.statement_timeout,
    );
    if history.statement_timeout.is_zero() {
        r.invalid("storage.history_statement_timeout", "must be more than 0s");
    }
}

/// A consumer name stable across restarts on the same host (the pod name on Kubernetes).
fn default_member(service: &str) -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .map_or_else(
            || format!("{service}-0"),
            |host| format!("{service}-{host}"),
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use tickmesh_bootstrap::ConfigSources;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> (StorageServiceConfig, Vec<String>) {
        let mut sources = ConfigSources::default();
        sources.add_env(
            pairs
                .iter()
                .map(|(k, v)| (format!("TICKMESH__{k}"), (*v).to_owned())),
        );
        let mut r = sources.reader();
        let config = read_storage(&mut r);
        let problems = match r.finish() {
            Ok(()) => Vec::new(),
            Err(tickmesh_bootstrap::ConfigError::Invalid(problems)) => {
                problems.into_iter().map(|p| p.key).collect()
            }
            Err(e) => panic!("{e}"),
        };
        (config, problems)
    }

    #[test]
    fn history_limits_are_read_and_checked() {
        let (config, problems) = read(&[]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.history, HistoryConfig::default());

        let (config, problems) = read(&[
            ("STORAGE__HISTORY_MAX_ROWS", "50000"),
            ("STORAGE__HISTORY_CONNECTIONS", "2"),
            ("STORAGE__HISTORY_STATEMENT_TIMEOUT", "750ms"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            config.history,
            HistoryConfig {
                max_rows: 50_000,
                connections: 2,
                statement_timeout: Duration::from_millis(750),
            }
        );

        let (_, problems) = read(&[
            ("STORAGE__HISTORY_MAX_ROWS", "2879"),
            ("STORAGE__HISTORY_CONNECTIONS", "0"),
            ("STORAGE__HISTORY_STATEMENT_TIMEOUT", "0s"),
        ]);
        assert_eq!(
            problems,
            [
                "storage.history_connections",
                "storage.history_max_rows",
                "storage.history_statement_timeout"
            ]
        );
    }
}
