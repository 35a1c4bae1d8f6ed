//! Poison on the bus itself, past ingestion's checks: entries written straight into the Redis
//! stream that the bridge cannot route or Kafka will not take, and events storage cannot
//! store. The bridge and storage run as processes on real Redis, the Kafka-protocol broker
//! and PostgreSQL; every poison ends in the dead-letter topic with its reason, every good
//! trade in PostgreSQL, and both processes keep running and stop cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use sea_orm::Database;
use support::mesh::Mesh;
use tickmesh_bus::DurableLog as _;
use tickmesh_bus::pump::{DEAD_LETTER_REASON, DEAD_LETTER_SOURCE, PAYLOAD_DROPPED};
use tickmesh_bus_kafka::{KafkaConfig, KafkaLog};
use tickmesh_domain::{
    Decimal, Exchange, Market, MarketEvent, Payload, Side, Trade, TradeId, UtcMicros,
};
use tickmesh_proto::codec::encode_event;

fn trade(id: u64, price: Decimal, at: UtcMicros, raw: Option<String>) -> Vec<u8> {
    encode_event(&MarketEvent {
        exchange: Exchange::Upbit,
        market: Market::parse("BTC").unwrap(),
        exchange_time: at,
        received_time: UtcMicros::now(),
        payload: Payload::Trade(Trade {
            trade_id: TradeId(id),
            price,
            size: "0.5".parse().unwrap(),
            side: Side::Buy,
        }),
        raw,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_entries_are_dead_lettered_with_their_reason_and_good_ones_stored() {
    let mesh = Mesh::new("poisonrecords", 0.0).await;
    let storage = mesh.serve("storage", &[]);
    let bridge = mesh.serve("bridge", &[]);

    let now = UtcMicros::now();
    let price: Decimal = "148000000".parse().unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let good = |id: u64| ("upbit:BTC/KRW".to_owned(), trade(id, price, now, None));
    entries.extend((1..=10).map(good));
    // Routable, but larger than the broker takes (and than its dead-letter topic takes).
    let raw = "x".repeat(2 << 20);
    entries.push(("upbit:BTC/KRW".to_owned(), trade(11, price, now, Some(raw))));
    entries.push(("upbit:BTC/KRW".to_owned(), b"\x08\xff garbage".to_vec()));
    entries.push((
        "upbit:BTC/KRW".to_owned(),
        trade(12, Decimal::MAX, now, None),
    ));
    entries.push((
        "upbit:BTC/KRW".to_owned(),
        trade(
            13,
            price,
            UtcMicros::from_millis(-9_999_999_999_999_999),
            None,
        ),
    ));
    entries.extend((14..=20).map(good));
    let client = redis::Client::open(tickmesh_e2e::redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let stream = format!("tickmesh:{}:events", mesh.id);
    for (key, payload) in &entries {
        let _: String = redis::cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("key")
            .arg(key)
            .arg("payload")
            .arg(payload.as_slice())
            .query_async(&mut redis)
            .await
            .unwrap();
    }

    // The good trades reach PostgreSQL.
    let db = Database::connect(mesh.db.url.as_str()).await.unwrap();
    let stored = support::eventually(
        "the good trades in postgres",
        Duration::from_secs(60),
        || {
            let db = db.clone();
            async move {
                let ids: Vec<i64> = support::stored_trades(&db)
                    .await
                    .into_iter()
                    .map(|(_, _, id)| id)
                    .collect();
                (ids.len() >= 17).then_some(ids)
            }
        },
    )
    .await;
    let expected: Vec<i64> = (1..=10).chain(14..=20).collect();
    assert_eq!(stored, expected);

    // The four poisons are in the dead-letter topic, each saying why and where it came from.
    let mut config = KafkaConfig::new(tickmesh_e2e::kafka_brokers());
    config
        .extra
        .push(("batch.num.messages".to_owned(), "1".to_owned().into()));
    let kafka = KafkaLog::new(config).unwrap();
    let dlq = format!("{}.tickmesh.dlq", mesh.id);
    let mut reader = kafka
        .consume(&[&dlq], &format!("inspect-{}", mesh.id), "i")
        .await
        .unwrap();
    let mut letters = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while letters.len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} dead letters",
            letters.len()
        );
        letters.extend(reader.poll(10, Duration::from_millis(500)).await.unwrap());
    }
    let header = |i: usize, name: &str| {
        String::from_utf8(letters[i].record.header(name).unwrap().to_vec()).unwrap()
    };
    let mut reasons: Vec<String> = (0..4).map(|i| header(i, DEAD_LETTER_REASON)).collect();
    reasons.sort();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("not a protobuf market event")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("Message size too large") || r.contains("too large")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("is above the limit")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("before the unix epoch")),
        "{reasons:?}"
    );
    for i in 0..4 {
        assert!(header(i, DEAD_LETTER_SOURCE).contains('@'));
    }
    let stripped: Vec<_> = letters
        .iter()
        .filter(|l| l.record.header(PAYLOAD_DROPPED).is_some())
        .collect();
    assert_eq!(
        stripped.len(),
        1,
        "the oversize record went without its payload"
    );
    assert!(stripped[0].record.payload.is_empty());

    // Both still running, and both stop cleanly.
    bridge.terminate();
    storage.terminate();
    mesh.finish().await;
}
