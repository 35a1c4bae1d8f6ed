//! The bridge over the in-process log: routing, dead letters, acknowledgement only after the
//! sink confirmed, and a restart that re-sends what was left unconfirmed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tickmesh_bridge::{BridgeConfig, BridgeStats, run_bridge};
use tickmesh_bus::memory::MemoryLog;
use tickmesh_bus::pump::{PumpStop, RetryPolicy};
use tickmesh_bus::{BusError, DurableLog, LogConsumer, Record};
use tickmesh_domain::{
    Exchange, Market, MarketEvent, Payload, Side, Ticker, Trade, TradeId, UtcMicros,
};
use tickmesh_proto::{codec, routing};

/// A sink that can be switched off, over an in-process log.
#[derive(Debug)]
struct Switch {
    log: Arc<MemoryLog>,
    down: AtomicBool,
}

#[async_trait]
impl DurableLog for Switch {
    async fn append(&self, topic: &str, records: &[Record]) -> Result<(), BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::unavailable("test", "switched off"));
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
    event(Payload::Trade(Trade {
        trade_id: TradeId(id),
        price: "1.16539E8".parse().unwrap(),
        size: "0.00079276".parse().unwrap(),
        side: Side::Buy,
    }))
}

fn event(payload: Payload) -> Record {
    let event = MarketEvent {
        exchange: Exchange::Bithumb,
        market: Market::parse("KRW-BTC").unwrap(),
        exchange_time: UtcMicros(1_700_000_000_000_000),
        received_time: UtcMicros::now(),
        payload,
        raw: None,
    };
    Record::new("bithumb:BTC/KRW", codec::encode_event(&event))
}

fn config() -> BridgeConfig {
    BridgeConfig {
        batch_max: 8,
        poll_wait: Duration::from_millis(20),
        retry: RetryPolicy {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        sample_every: Duration::from_millis(50),
        ..BridgeConfig::default()
    }
}

async fn read_all(log: &MemoryLog, topic: &str) -> Vec<Record> {
    let mut consumer = log.consume(&[topic], "reader", "r").await.unwrap();
    let mut out = Vec::new();
    loop {
        let batch = consumer.poll(100, Duration::from_millis(20)).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.into_iter().map(|d| d.record));
    }
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn start(
    source: &Arc<MemoryLog>,
    sink: &Arc<Switch>,
) -> (
    Arc<BridgeStats>,
    PumpStop,
    tokio::task::JoinHandle<Result<(), BusError>>,
) {
    let stats = Arc::new(BridgeStats::new());
    let stop = PumpStop::default();
    let task = tokio::spawn(run_bridge(
        Arc::clone(source) as Arc<dyn DurableLog>,
        Arc::clone(sink) as Arc<dyn DurableLog>,
        config(),
        Arc::clone(&stats),
        stop.clone(),
    ));
    (stats, stop, task)
}

#[tokio::test]
async fn events_reach_their_topics_in_order_and_garbage_reaches_the_dlq() {
    let source = Arc::new(MemoryLog::new(10_000));
    let sink = Arc::new(Switch {
        log: Arc::new(MemoryLog::new(10_000)),
        down: AtomicBool::new(false),
    });
    let mut records: Vec<Record> = (1..=20).map(trade).collect();
    records.insert(5, Record::new("bithumb:BTC/KRW", b"garbage".to_vec()));
    records.push(event(Payload::Ticker(Ticker {
        last: "0E-8".parse().unwrap(),
        ..Ticker::default()
    })));
    source
        .append(routing::EVENTS_STREAM, &records)
        .await
        .unwrap();

    let (stats, stop, task) = start(&source, &sink);
    until("every entry", || stats.snapshot().forwarded == 22).await;
    stop.now.cancel();
    task.await.unwrap().unwrap();

    let trades = read_all(&sink.log, routing::TRADES_TOPIC).await;
    let ids: Vec<u64> = trades
        .iter()
        .map(|r| match codec::decode_event(&r.payload).unwrap().payload {
            Payload::Trade(t) => t.trade_id.0,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    assert!(trades.iter().all(|r| r.key == "bithumb:BTC/KRW"));
    // The stream entries carry no content type; the Kafka records must (docs/architecture.md).
    assert!(
        trades.iter().all(|r| r.header(tickmesh_bus::CONTENT_TYPE)
            == Some(&tickmesh_bus::content_type_protobuf()))
    );
    assert_eq!(read_all(&sink.log, routing::TICKERS_TOPIC).await.len(), 1);
    let dlq = read_all(&sink.log, routing::DLQ_TOPIC).await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].payload.as_ref(), b"garbage");
    assert!(dlq[0].header(routing::ERROR_HEADER).is_some());
    let snapshot = stats.snapshot();
    assert_eq!(snapshot.dead_letters, 1);
    assert_eq!(snapshot.in_flight, 0);

    // Everything was acknowledged: the group has nothing left for anyone.
    let mut again = source
        .consume(&[routing::EVENTS_STREAM], routing::BRIDGE_GROUP, "bridge-0")
        .await
        .unwrap();
    assert!(
        again
            .poll(100, Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn nothing_is_acknowledged_while_the_sink_is_down_and_a_restart_sends_it_once() {
    let source = Arc::new(MemoryLog::new(10_000));
    let sink = Arc::new(Switch {
        log: Arc::new(MemoryLog::new(10_000)),
        down: AtomicBool::new(true),
    });
    source
        .append(
            routing::EVENTS_STREAM,
            &(1..=5).map(trade).collect::<Vec<_>>(),
        )
        .await
        .unwrap();

    let (stats, stop, task) = start(&source, &sink);
    until("the sink failures", || stats.snapshot().sink_failures >= 2).await;
    assert_eq!(stats.snapshot().forwarded, 0);
    assert_eq!(stats.snapshot().in_flight, 5);
    // The bridge dies with its batch unconfirmed.
    stop.now.cancel();
    task.await.unwrap().unwrap();

    sink.down.store(false, Ordering::SeqCst);
    source
        .append(
            routing::EVENTS_STREAM,
            &(6..=8).map(trade).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let (stats, stop, task) = start(&source, &sink);
    until("the pending and the new entries", || {
        stats.snapshot().forwarded == 8
    })
    .await;
    stop.now.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(read_all(&sink.log, routing::TRADES_TOPIC).await.len(), 8);
}
