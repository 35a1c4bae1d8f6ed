//! The Kafka adapter of the durable bus port ([`DurableLog`]), on rdkafka with its bundled
//! librdkafka (Debian's 2.0.2 cannot talk to the test broker; docs/architecture.md).
//!
//! - The producer is idempotent with `acks=all`: `append` returns once every record is
//!   acknowledged by all in-sync replicas, and retries never duplicate or reorder a key's
//!   records. Keys are `{exchange}:{market}`, so one market stays on one partition, in order.
//! - Consumers join a group with auto-commit off; [`LogConsumer::ack`] commits, synchronously,
//!   the offset after the highest acknowledged record of each partition. Consumers acknowledge
//!   in delivery order, so this covers exactly what was acknowledged.
//! - Topics are created on first use (partitions and replication from [`KafkaConfig`]), so a
//!   consumer never waits for a metadata refresh to discover a topic.

mod admin;
mod consumer;
mod polled;
mod produce;
mod security;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::admin::{NewTopic, TopicReplication};
use tickmesh_bus::{BusError, DurableLog, LogConsumer, Record};
use tickmesh_secret::Secret;

pub use security::{KafkaSecurity, SaslMechanism, SecurityProtocol};

const BACKEND: &str = "kafka";

/// Kafka adapter settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: `host:port[,host:port...]`.
    pub brokers: String,
    /// Partitions of topics this adapter creates.
    pub partitions: i32,
    /// Replication factor of topics this adapter creates.
    pub replication: i32,
    /// Group session timeout; the broker drops a silent member after it.
    pub session_timeout: Duration,
    /// TLS and SASL: the common settings, typed.
    pub security: KafkaSecurity,
    /// Further librdkafka properties, applied last (they win over everything else). Values
    /// are secrets, since some (`sasl.password`, `ssl.key.password`) are.
    pub extra: Vec<(String, Secret)>,
}

impl KafkaConfig {
    /// Defaults for `brokers`: 3 partitions, replication 1, 6 s sessions.
    pub fn new(brokers: impl Into<String>) -> KafkaConfig {
        KafkaConfig {
            brokers: brokers.into(),
            partitions: 3,
            replication: 1,
            session_timeout: Duration::from_secs(6),
            security: KafkaSecurity::default(),
            extra: Vec::new(),
        }
    }

    pub(crate) fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        self.security.apply(&mut config);
        for (k, v) in &self.extra {
            config.set(k, v.expose());
        }
        config
    }
}

pub(crate) fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BusError {
    BusError::unavailable(BACKEND, e)
}

/// Durable topics on Kafka.
#[derive(Clone)]
pub struct KafkaLog {
    config: KafkaConfig,
    producer: polled::PolledProducer,
    admin: Arc<admin::Admin>,
    known_topics: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How long a produce may wait for the broker before it is reported as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The producer's properties: idempotent, every replica acknowledges, lz4, a 20 ms linger,
/// then the operator's own (`KafkaConfig::extra`), which win.
fn producer_config(config: &KafkaConfig) -> ClientConfig {
    let mut producer = config.client();
    producer
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        // librdkafka's default is 5 ms. The bridge writes one stream batch at a time, so the
        // linger sets how long each batch gathers: at 10,000 events/s, 5 ms made hundreds of
        // small record batches a second, and a broker pays per batch (the test broker scans
        // its stored batches on every fetch). Under `tickmesh bench` 20 ms cut the broker's
        // and the bridge's CPU substantially, for slightly more time from frame to database
        // row (docs/benchmarks.md).
        .set("linger.ms", "20")
        .set(
            "delivery.timeout.ms",
            DELIVERY_TIMEOUT.as_millis().to_string(),
        );
    for (k, v) in &config.extra {
        producer.set(k, v.expose());
    }
    producer
}

impl KafkaLog {
    /// Creates the producer and admin clients (no connection is made until first use).
    pub fn new(config: KafkaConfig) -> Result<KafkaLog, BusError> {
        let producer = producer_config(&config);
        let producer = polled::PolledProducer::new(&producer).map_err(unavailable)?;
        let admin = admin::admin(&config.client()).map_err(unavailable)?;
        Ok(KafkaLog {
            config,
            producer,
            admin: Arc::new(admin),
            known_topics: Arc::default(),
        })
    }

    /// Creates the topics that do not exist yet.
    pub async fn ensure_topics(&self, topics: &[&str]) -> Result<(), BusError> {
        let missing: Vec<&str> = {
            let known = self
                .known_topics
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            topics
                .iter()
                .copied()
                .filter(|t| !known.contains(*t))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let new: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    self.config.partitions,
                    TopicReplication::Fixed(self.config.replication),
                )
            })
            .collect();
        admin::create_topics(&self.admin, &new)
            .await
            .map_err(unavailable)?;
        self.known_topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(missing.into_iter().map(str::to_owned));
        Ok(())
    }
}

#[async_trait]
impl DurableLog for KafkaLog {
    async fn append(&self, topic: &str, records: &[Record]) -> Result<(), BusError> {
        let records: Vec<&Record> = records.iter().collect();
        self.append_refs(topic, &records).await
    }

    async fn append_refs(&self, topic: &str, records: &[&Record]) -> Result<(), BusError> {
        self.ensure_topics(&[topic]).await?;
        produce::produce_batch(&self.producer, topic, records, DELIVERY_TIMEOUT)
            .await
            .map_err(|e| {
                if produce::refuses_record(&e) {
                    BusError::Rejected {
                        backend: BACKEND,
                        reason: format!(
                            "{e} (a record of the batch can never be written to {topic})"
                        ),
                    }
                } else {
                    unavailable(e)
                }
            })?;
        Ok(())
    }

    async fn consume(
        &self,
        topics: &[&str],
        group: &str,
        consumer: &str,
    ) -> Result<Box<dyn LogConsumer>, BusError> {
        self.ensure_topics(topics).await?;
        Ok(Box::new(consumer::KafkaConsumer::join(
            &self.config,
            topics,
            group,
            consumer,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_properties_override_the_producer_defaults() {
        let mut config = KafkaConfig::new("127.0.0.1:9092");
        config.extra = vec![
            ("linger.ms".into(), "50".into()),
            ("client.id".into(), "bridge-a".into()),
        ];
        config.security.protocol = Some(SecurityProtocol::Ssl);
        let producer = producer_config(&config);
        assert_eq!(producer.get("linger.ms"), Some("50"));
        assert_eq!(producer.get("client.id"), Some("bridge-a"));
        assert_eq!(producer.get("acks"), Some("all"));
        assert_eq!(producer.get("security.protocol"), Some("ssl"));
        let defaults = producer_config(&KafkaConfig::new("127.0.0.1:9092"));
        assert_eq!(defaults.get("linger.ms"), Some("20"));
    }
}
