//! Records storage can never write, on both backends: each is dead-lettered with its reason,
//! every other record of the batch is stored, and the service keeps running. Among them the
//! trades that would push a one-minute candle's turnover past what a decimal holds: checked
//! sums refuse them on SQLite, a constraint on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{MINUTE, TestDb, btc, d, trade};
use tickmesh_bus::memory::MemoryLog;
use tickmesh_bus::pump::{DEAD_LETTER_REASON, PumpStop};
use tickmesh_bus::{DurableLog, Record};
use tickmesh_domain::{
    Decimal, Exchange, Market, MarketEvent, Payload, Side, Trade, TradeId, UtcMicros,
};
use tickmesh_proto::codec::encode_event;
use tickmesh_proto::routing::{DLQ_TOPIC, TRADES_TOPIC};
use tickmesh_storage::{MarketStore, StorageServiceConfig, StorageStats, StoreConfig, query, run};

fn record(event: &MarketEvent) -> Record {
    Record::new(event.partition_key(), encode_event(event))
}

fn eth() -> Market {
    Market::parse("ETH").unwrap()
}

/// A trade of ETH at the largest price and size an event may carry: a notional of 10^26, so
/// 792 of them fit one candle's turnover and the 793rd does not.
fn whale(id: u64, at: i64) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Upbit,
        market: eth(),
        exchange_time: UtcMicros(at),
        received_time: UtcMicros(at + 1_000),
        payload: Payload::Trade(Trade {
            trade_id: TradeId(id),
            price: tickmesh_domain::bounds::MAX_PRICE,
            size: tickmesh_domain::bounds::MAX_SIZE,
            side: Side::Buy,
        }),
        raw: None,
    }
}

async fn poison_is_dead_lettered_and_the_rest_stored(db: TestDb) {
    let log = MemoryLog::new(10_000);
    let mut records: Vec<Record> = (1..=5)
        .map(|id| {
            record(&trade(
                MINUTE + id * 1_000,
                id as u64,
                "148000000",
                "0.01",
                Side::Buy,
            ))
        })
        .collect();
    // The trade of the report that stopped storage: the largest decimal as a price.
    let mut huge = trade(MINUTE + 6_000, 6, "1", "3", Side::Buy);
    if let Payload::Trade(t) = &mut huge.payload {
        t.price = Decimal::MAX;
    }
    records.push(record(&huge));
    // Saturated from a negative exchange time.
    records.push(record(&trade(i64::MIN, 7, "148000000", "1", Side::Sell)));
    records.push(record(&trade(
        MINUTE + 8_000,
        u64::try_from(i64::MAX).unwrap() + 1,
        "1",
        "1",
        Side::Sell,
    )));
    records.push(Record::new(
        "bithumb:BTC/KRW",
        Bytes::from_static(b"\xff garbage"),
    ));
    records.extend((0..800).map(|i| record(&whale(1_000 + i, MINUTE + 10_000 + i as i64))));
    records.extend((9..=12).map(|id| {
        record(&trade(
            MINUTE + id * 1_000,
            id as u64,
            "148000000",
            "0.01",
            Side::Buy,
        ))
    }));
    log.append(TRADES_TOPIC, &records).await.unwrap();

    let stats = Arc::new(StorageStats::new());
    let stop = PumpStop::default();
    let service = tokio::spawn(run(
        Arc::new(log.clone()),
        MarketStore::new(db.conn.clone(), StoreConfig::default()),
        StorageServiceConfig {
            poll_wait: Duration::from_millis(20),
            ..StorageServiceConfig::default()
        },
        Arc::clone(&stats),
        stop.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while stats.snapshot().dlq < 12 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            stats.snapshot()
        );
        assert!(!service.is_finished(), "storage stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.now.cancel();
    service.await.unwrap().unwrap();

    // Stored: the nine good BTC trades and the 792 whales that fit their candle.
    let ids = query::trade_ids(&db.conn).await.unwrap();
    let btc_ids: Vec<u64> = ids
        .iter()
        .filter(|(_, m, _)| *m == btc())
        .map(|(_, _, id)| id.0)
        .collect();
    assert_eq!(btc_ids, [1, 2, 3, 4, 5, 9, 10, 11, 12]);
    let whales: Vec<u64> = ids
        .iter()
        .filter(|(_, m, _)| *m == eth())
        .map(|(_, _, id)| id.0)
        .collect();
    assert_eq!(whales, (1_000..1_792).collect::<Vec<_>>());
    let candles = query::candles_1m(&db.conn, Exchange::Upbit, eth())
        .await
        .unwrap();
    assert_eq!(candles.len(), 1);
    assert_eq!(candles[0].trade_count, 792);
    assert_eq!(candles[0].quote_volume, d("79200000000000000000000000000"));

    // Dead-lettered, each with why.
    let mut dlq = log.consume(&[DLQ_TOPIC], "inspect", "i").await.unwrap();
    let dead = dlq.poll(100, Duration::ZERO).await.unwrap();
    assert_eq!(dead.len(), 12);
    let reason = |i: usize| {
        String::from_utf8(dead[i].record.header(DEAD_LETTER_REASON).unwrap().to_vec()).unwrap()
    };
    assert!(
        reason(0).contains("price 79228162514264337593543950335 is above the limit"),
        "{}",
        reason(0)
    );
    assert!(reason(1).contains("before the unix epoch"), "{}", reason(1));
    assert!(
        reason(2).contains("exceeds the largest storable id"),
        "{}",
        reason(2)
    );
    assert!(
        reason(3).starts_with("not a protobuf market event"),
        "{}",
        reason(3)
    );
    for i in 4..12 {
        let why = reason(i);
        assert!(
            why.contains("overflows its candle")
                || why.contains("candles_1m_quote_volume_in_range"),
            "{why}"
        );
    }
    assert_eq!(stats.snapshot().dlq, 12);
}

on_both_backends!(poison_is_dead_lettered_and_the_rest_stored);
