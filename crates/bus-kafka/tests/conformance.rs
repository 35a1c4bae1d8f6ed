//! The Kafka adapter passes the durable-log conformance suite against a real broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tickmesh_bus::conformance;
use tickmesh_bus_kafka::{KafkaConfig, KafkaLog};
use tickmesh_e2e::{kafka_brokers, unique, unreachable};

#[tokio::test]
async fn kafka_log_conforms() {
    let mut config = KafkaConfig::new(kafka_brokers());
    config.partitions = 1;
    // The test broker (tansu 0.6.0) answers a fetch that starts inside a record batch with
    // nothing: a consumer resuming after a commit in the middle of a batch would stall. Real
    // Kafka returns the batch and the client skips to the offset. One record per batch keeps
    // every commit on a batch boundary, so the suite checks the adapter, not the broker.
    config
        .extra
        .push(("batch.num.messages".to_owned(), "1".into()));
    let log = KafkaLog::new(config).unwrap();
    let prefix = unique("conformance");
    log.ensure_topics(&[&format!("{prefix}.probe")])
        .await
        .unwrap_or_else(|e| unreachable("the kafka broker", &kafka_brokers(), &e));
    conformance::log::run(&log, &prefix).await;
}
