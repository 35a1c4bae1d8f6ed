//! A bridge that dies while the sink has not confirmed its batch leaves the entries pending in
//! the Redis stream; a replacement under another name reclaims them (XAUTOCLAIM) and forwards
//! each exactly once. The sink is switched off on purpose, so the batch is certainly in flight
//! when the first bridge dies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tickmesh_bridge::{BridgeConfig, BridgeStats, run_bridge};
use tickmesh_bus::memory::MemoryLog;
use tickmesh_bus::pump::PumpStop;
use tickmesh_bus::{BusError, DurableLog, LogConsumer, Record};
use tickmesh_bus_redis::{RedisBus, RedisConfig};
use tickmesh_domain::{Exchange, Market, MarketEvent, Payload, Side, Trade, TradeId, UtcMicros};
use tickmesh_e2e::{redis_url, unique, unreachable};
use tickmesh_proto::codec;
use tickmesh_proto::routing::TopicNames;

#[derive(Debug)]
struct Switch {
    log: MemoryLog,
    down: AtomicBool,
}

#[async_trait]
impl DurableLog for Switch {
    async fn append(&self, topic: &str, records: &[Record]) -> Result<(), BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::unavailable("kafka", "switched off by the test"));
        }
        self.log.append(topic, records).await
    }

    async fn consume(
        &self,
        topics: &[&str],
        group: &str,
        consumer: &str,
    ) -> Result<Box<dyn LogConsumer>, BusError> {
        self.log.consume(topics, group, consumer).await
    }
}

fn trade(id: u64) -> Record {
    let event = MarketEvent {
        exchange: Exchange::Korbit,
        market: Market::parse("eth_krw").unwrap(),
        exchange_time: UtcMicros(1_700_000_000_000_000),
        received_time: UtcMicros::now(),
        payload: Payload::Trade(Trade {
            trade_id: TradeId(id),
            price: "4.1E6".parse().unwrap(),
            size: "0.5".parse().unwrap(),
            side: Side::Sell,
        }),
        raw: None,
    };
    Record::new("korbit:ETH/KRW", codec::encode_event(&event))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_bridge_reclaims_what_a_dead_one_left_pending() {
    let stream = unique("tickmesh:reclaim");
    let redis = RedisBus::connect(RedisConfig {
        reclaim_after: Duration::from_millis(500),
        ..RedisConfig::new(redis_url())
    })
    .await
    .unwrap_or_else(|e| unreachable("redis", &redis_url(), &e));
    let sink = Arc::new(Switch {
        log: MemoryLog::new(1_000),
        down: AtomicBool::new(true),
    });
    redis
        .append(&stream, &(1..=30).map(trade).collect::<Vec<_>>())
        .await
        .unwrap();
    let config = |consumer: &str| BridgeConfig {
        stream: stream.clone(),
        consumer: consumer.to_owned(),
        batch_max: 50,
        topics: TopicNames::default(),
        ..BridgeConfig::default()
    };

    // The first bridge reads everything and cannot hand it to Kafka.
    let first_stats = Arc::new(BridgeStats::new());
    let first = tokio::spawn(run_bridge(
        Arc::new(redis.clone()) as Arc<dyn DurableLog>,
        Arc::clone(&sink) as Arc<dyn DurableLog>,
        config("bridge-a"),
        Arc::clone(&first_stats),
        PumpStop::default(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while first_stats.snapshot().sink_failures == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first bridge never tried the sink"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(first_stats.snapshot().in_flight, 30);
    first.abort(); // dies without a word, like a killed process
    let _ = first.await;

    // Kafka is back; a bridge with another name takes over the abandoned entries.
    sink.down.store(false, Ordering::SeqCst);
    let stats = Arc::new(BridgeStats::new());
    let stop = PumpStop::default();
    let second = tokio::spawn(run_bridge(
        Arc::new(redis.clone()) as Arc<dyn DurableLog>,
        Arc::clone(&sink) as Arc<dyn DurableLog>,
        config("bridge-b"),
        Arc::clone(&stats),
        stop.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while stats.snapshot().forwarded < 30 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replacement forwarded {:?}",
            stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Sampled backlog: nothing pending in the group once the replacement acknowledged.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    stop.now.cancel();
    second.await.unwrap().unwrap();
    assert_eq!(stats.snapshot().pending, Some(0));
    assert_eq!(stats.snapshot().lag, Some(0));
    assert_eq!(
        stats.snapshot().reclaimed,
        30,
        "every entry came by XAUTOCLAIM"
    );

    let mut reader = sink
        .log
        .consume(&[TopicNames::default().trades.as_str()], "check", "c")
        .await
        .unwrap();
    let forwarded = reader.poll(100, Duration::from_millis(100)).await.unwrap();
    let ids: Vec<u64> = forwarded
        .iter()
        .map(
            |d| match codec::decode_event(&d.record.payload).unwrap().payload {
                Payload::Trade(t) => t.trade_id.0,
                _ => unreachable!(),
            },
        )
        .collect();
    assert_eq!(
        ids,
        (1..=30).collect::<Vec<_>>(),
        "each trade exactly once, in order"
    );
}
