//! Kafka over TLS with SASL against the test command's secured broker: tansu with
//! `--authentication` (SCRAM credentials it stores and checks) behind stunnel for TLS, since
//! tansu 0.6 serves no TLS itself. tansu offers no PLAIN mechanism (a PLAIN client is refused
//! with "no shared mechanism"), so PLAIN is not tested against a broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tickmesh_bus::{DurableLog, Record};
use tickmesh_bus_kafka::{KafkaConfig, KafkaLog, KafkaSecurity, SaslMechanism, SecurityProtocol};
use tickmesh_e2e::{required_var, unique};

struct Broker {
    brokers: String,
    ca: String,
    username: String,
    password: String,
}

fn broker() -> Broker {
    let var = |suffix: &str| {
        required_var(
            &format!("TICKMESH_TEST_KAFKA_SECURE_{suffix}"),
            "a Kafka-protocol broker with SASL behind TLS",
        )
    };
    Broker {
        brokers: var("BROKERS"),
        ca: var("CA"),
        username: var("USERNAME"),
        password: var("PASSWORD"),
    }
}

fn config(b: &Broker, mechanism: SaslMechanism, password: &str, ca: &str) -> KafkaConfig {
    let mut config = KafkaConfig::new(b.brokers.clone());
    config.partitions = 1;
    config.security = KafkaSecurity {
        protocol: Some(SecurityProtocol::SaslSsl),
        mechanism: Some(mechanism),
        username: Some(b.username.clone()),
        password: Some(password.into()),
        ca: Some(ca.into()),
    };
    // As in the conformance test: one record per batch for tansu's fetches.
    config
        .extra
        .push(("batch.num.messages".to_owned(), "1".into()));
    config
}

/// Appends a record and reads it back through a consumer group.
async fn round_trip(config: KafkaConfig) {
    let log = KafkaLog::new(config).unwrap();
    let topic = unique("secure");
    log.append(&topic, &[Record::new("k", b"over tls".to_vec())])
        .await
        .unwrap();
    let mut consumer = log.consume(&[&topic], &unique("g"), "c").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let batch = consumer.poll(10, Duration::from_secs(1)).await.unwrap();
        if let Some(d) = batch.first() {
            assert_eq!(&d.record.payload[..], b"over tls");
            consumer.ack(&batch).await.unwrap();
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing read back");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scram_sha_512_over_tls_produces_and_consumes() {
    let b = broker();
    round_trip(config(&b, SaslMechanism::ScramSha512, &b.password, &b.ca)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scram_sha_256_over_tls_produces_and_consumes() {
    let b = broker();
    round_trip(config(&b, SaslMechanism::ScramSha256, &b.password, &b.ca)).await;
}

/// What a failed start shows: creating the clients and the topics, as `serve` does.
async fn failure(config: KafkaConfig) -> String {
    let shown_config = format!("{config:?}");
    let log = KafkaLog::new(config).unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        log.ensure_topics(&[&unique("refused")]),
    )
    .await
    .expect("no answer within 60 s");
    let err = outcome.expect_err("the broker took the connection");
    format!("{err} / {err:?} / {shown_config}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_scram_password_is_refused_without_showing_it() {
    let b = broker();
    let shown = failure(config(
        &b,
        SaslMechanism::ScramSha512,
        "wrong-Sekrit",
        &b.ca,
    ))
    .await;
    assert!(
        !shown.contains("Sekrit") && !shown.contains(&b.password),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_certificate_from_another_ca_is_refused() {
    let b = broker();
    let other = tickmesh_e2e::certs::make();
    let shown = failure(config(
        &b,
        SaslMechanism::ScramSha512,
        &b.password,
        &other.ca.display().to_string(),
    ))
    .await;
    assert!(!shown.contains(&b.password), "{shown}");
}
