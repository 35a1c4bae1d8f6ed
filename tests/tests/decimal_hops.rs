//! Decimals survive every hop exactly: the exchanges' awkward number spellings go from
//! ingestion's publisher through Redis pub/sub and the Redis stream, the bridge, Kafka and
//! storage into PostgreSQL and into SQLite, and read back with the same value and the same
//! written scale.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};
use tickmesh_bridge::{BridgeConfig, BridgeStats, run_bridge};
use tickmesh_bus::pump::PumpStop;
use tickmesh_bus::{DurableLog, EventPublisher, LiveBus, Received};
use tickmesh_bus_kafka::{KafkaConfig, KafkaLog};
use tickmesh_bus_redis::{RedisBus, RedisConfig};
use tickmesh_domain::{
    Decimal, Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade,
    TradeId, UtcMicros, parse_decimal,
};
use tickmesh_e2e::{database_url, kafka_brokers, redis_url, unique, unreachable};
use tickmesh_proto::codec::decode_event;
use tickmesh_proto::routing::{self, TopicNames};
use tickmesh_storage::{MarketStore, StorageServiceConfig, StorageStats, StoreConfig};

fn d(s: &str) -> Decimal {
    parse_decimal(s).unwrap()
}

/// The reference's awkward numbers: exponents, trailing zeros, a zero with scale, a quote
/// volume with 16 fraction digits, a trade id above 2^53.
fn events() -> Vec<MarketEvent> {
    let base = |payload| MarketEvent {
        exchange: Exchange::Upbit,
        market: Market::parse("KRW-BTC").unwrap(),
        exchange_time: UtcMicros(1_790_133_505_546_000),
        received_time: UtcMicros(1_790_133_505_601_002),
        payload,
        raw: None,
    };
    vec![
        base(Payload::Trade(Trade {
            trade_id: TradeId(17_883_351_803_770_004),
            price: d("1.16539E8"),
            size: d("7.9276E-4"),
            side: Side::Sell,
        })),
        base(Payload::Ticker(Ticker {
            last: d("158201000.00000000"),
            open: Some(d("0E-8")),
            high: None,
            low: Some(d("157588000")),
            prev_close: Some(d("158200000")),
            volume_24h: Some(d("2083.82485091")),
            quote_volume_24h: Some(d("95078733694.3792000000000000")),
            best_bid: None,
            best_ask: Some(d("116477000")),
        })),
        base(Payload::OrderBook(OrderBook {
            bids: vec![Level {
                price: d("3714000"),
                size: d("3.012"),
            }],
            asks: vec![Level {
                price: d("3716000"),
                size: d("5.0E-4"),
            }],
        })),
    ]
}

async fn text(db: &DatabaseConnection, sql: &str) -> Vec<Option<String>> {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no row for {sql}"));
    (0..)
        .map_while(|i| row.try_get_by_index::<Option<String>>(i).ok())
        .collect()
}

async fn through_every_hop(database: &str) {
    let id = unique("hops");
    let redis = RedisBus::connect(RedisConfig {
        stream: format!("tickmesh:{id}:events"),
        ..RedisConfig::new(redis_url())
    })
    .await
    .unwrap_or_else(|e| unreachable("redis", &redis_url(), &e));
    let mut kafka_config = KafkaConfig::new(kafka_brokers());
    // tansu 0.6 stalls a consumer resuming inside a record batch; see bus-kafka's tests.
    kafka_config.extra = vec![("batch.num.messages".into(), "1".into())];
    let kafka = Arc::new(KafkaLog::new(kafka_config).unwrap());
    let topics = TopicNames::with_prefix(&format!("{id}."));
    kafka
        .ensure_topics(&topics.all())
        .await
        .unwrap_or_else(|e| unreachable("kafka", &kafka_brokers(), &e));
    let db = tickmesh_storage::connect(database).await.unwrap();
    tickmesh_migrations::migrate(&db).await.unwrap();

    // Hop 1: ingestion's publisher, to pub/sub and the stream in one round trip.
    let mut live = redis
        .subscribe(&[routing::live_pattern(None, None)], 16)
        .await
        .unwrap();
    let originals = events();
    let mut outgoings = tickmesh_ingestion::Outgoings::default();
    let batch: Vec<_> = originals.iter().map(|e| outgoings.outgoing(e)).collect();
    EventPublisher::publish(&redis, &batch).await.unwrap();
    // Other tests publish on the shared Redis too: wait until each original came back intact.
    let mut unseen = originals.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !unseen.is_empty() {
        let received = tokio::time::timeout_at(deadline, live.recv())
            .await
            .unwrap_or_else(|_| panic!("never received live: {unseen:?}"));
        if let Some(Received::Item(message)) = received {
            let (position, payload) = tickmesh_bus::position::unframe(&message.payload);
            assert!(
                position.is_some(),
                "a live event carries its stream position"
            );
            let event = decode_event(&payload).unwrap();
            unseen.retain(|original| *original != event);
        }
    }

    // Hops 2 and 3: the bridge to Kafka, storage to the database.
    let stop = PumpStop::default();
    let bridge = tokio::spawn(run_bridge(
        Arc::new(redis.clone()) as Arc<dyn DurableLog>,
        Arc::clone(&kafka) as Arc<dyn DurableLog>,
        BridgeConfig {
            stream: format!("tickmesh:{id}:events"),
            consumer: "hops".into(),
            topics: topics.clone(),
            ..BridgeConfig::default()
        },
        Arc::new(BridgeStats::new()),
        stop.clone(),
    ));
    let stats = Arc::new(StorageStats::default());
    let storage = tokio::spawn(tickmesh_storage::run(
        Arc::clone(&kafka) as Arc<dyn DurableLog>,
        MarketStore::new(db.clone(), StoreConfig::default()),
        StorageServiceConfig {
            group: format!("storage-{id}"),
            topics: topics.clone(),
            ..StorageServiceConfig::default()
        },
        Arc::clone(&stats),
        stop.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while stats.snapshot().events_written < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "storage wrote {:?}",
            stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.now.cancel();
    bridge.await.unwrap().unwrap();
    storage.await.unwrap().unwrap();

    let Payload::Trade(trade) = &originals[0].payload else {
        unreachable!()
    };
    assert_eq!(
        text(
            &db,
            "select cast(trade_id as text), cast(price as text), cast(size as text) from trades"
        )
        .await,
        [
            Some("17883351803770004".to_owned()),
            Some(trade.price.to_string()),
            Some(trade.size.to_string())
        ]
    );
    assert_eq!(trade.size.to_string(), "0.00079276");
    let Payload::Ticker(ticker) = &originals[1].payload else {
        unreachable!()
    };
    assert_eq!(
        text(&db, "select cast(last as text), cast(open as text), cast(high as text), cast(quote_volume_24h as text) from tickers").await,
        [
            Some("158201000.00000000".to_owned()),
            Some("0.00000000".to_owned()),
            None,
            Some(ticker.quote_volume_24h.unwrap().to_string())
        ]
    );
    let asks = text(&db, "select asks from orderbook_snapshots").await;
    assert!(asks[0].as_deref().unwrap().contains("0.00050"), "{asks:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn decimals_survive_every_hop_into_postgresql() {
    let admin_url = database_url();
    let admin = Database::connect(admin_url.as_str())
        .await
        .unwrap_or_else(|e| unreachable("postgresql", &admin_url, &e));
    let name = unique("hops").to_ascii_lowercase();
    admin
        .execute_unprepared(&format!("create database {name}"))
        .await
        .unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => unreachable!("a postgres url has a path"),
    };
    through_every_hop(&url).await;
    admin
        .execute_unprepared(&format!("drop database {name} with (force)"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn decimals_survive_every_hop_into_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    through_every_hop(&format!(
        "sqlite://{}",
        dir.path().join("hops.db").display()
    ))
    .await;
}
