//! rdkafka against the Kafka-protocol broker, the way the bridge and storage use it: an
//! idempotent `acks=all` producer, a consumer group with manual commits, and a restarted
//! consumer resuming after its last committed offset.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tickmesh_e2e::{kafka_brokers, unique, unreachable};

/// How long one broker round trip may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(30);

fn config() -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", kafka_brokers());
    config
}

async fn create_topic(topic: &str) {
    let admin: AdminClient<DefaultClientContext> = config().create().unwrap();
    let options = AdminOptions::new().operation_timeout(Some(PATIENCE));
    let results = tokio::time::timeout(
        PATIENCE,
        admin.create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &options,
        ),
    )
    .await
    .unwrap_or_else(|_| unreachable("the kafka broker", &kafka_brokers(), &"no answer in 30 s"))
    .unwrap_or_else(|e| unreachable("the kafka broker", &kafka_brokers(), &e));
    for result in results {
        result.unwrap();
    }
}

fn consumer(group: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // The broker's default makes a group's first join take about 23 s
        // (docs/architecture.md).
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

async fn next(consumer: &StreamConsumer) -> (i64, String, String) {
    let msg = tokio::time::timeout(PATIENCE, consumer.recv())
        .await
        .expect("no record within 30 s")
        .unwrap();
    let key = String::from_utf8(msg.key().unwrap().to_vec()).unwrap();
    let value = String::from_utf8(msg.payload().unwrap().to_vec()).unwrap();
    (msg.offset(), key, value)
}

#[tokio::test]
async fn idempotent_produce_group_consume_commit_and_resume_after_restart() {
    let topic = unique("tickmesh.smoke");
    let group = unique("storage");
    create_topic(&topic).await;

    let producer: FutureProducer = config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    let mut offsets = Vec::new();
    for i in 0..10 {
        let value = format!("trade {i}");
        let record = FutureRecord::to(&topic)
            .key("upbit:BTC/KRW")
            .payload(&value);
        let delivery = producer
            .send(record, PATIENCE)
            .await
            .unwrap_or_else(|(e, _)| panic!("record {i} was not delivered: {e}"));
        offsets.push(delivery.offset);
    }
    assert_eq!(
        offsets,
        (0..10).collect::<Vec<i64>>(),
        "each record stored once, in order"
    );

    // First consumer: read five, commit after the fifth, stop.
    {
        let first = consumer(&group, &topic);
        for i in 0..5 {
            let (offset, key, value) = next(&first).await;
            assert_eq!((offset, key.as_str()), (i, "upbit:BTC/KRW"));
            assert_eq!(value, format!("trade {i}"));
            if i == 4 {
                let msg_offset = offset;
                let mut list = rdkafka::TopicPartitionList::new();
                list.add_partition_offset(&topic, 0, rdkafka::Offset::Offset(msg_offset + 1))
                    .unwrap();
                first.commit(&list, CommitMode::Sync).unwrap();
            }
        }
    }

    // A restarted consumer in the same group resumes right after the committed offset.
    let second = consumer(&group, &topic);
    for i in 5..10 {
        let (offset, _, value) = next(&second).await;
        assert_eq!(offset, i);
        assert_eq!(value, format!("trade {i}"));
    }
}
