//! `HistoryReader` at the default rows limit on PostgreSQL and SQLite: how long the largest
//! candle and spread calls `storage.history_max_rows` allows take, and a month of daily
//! candles, the kind of call a chart makes.
//!
//! Run with `cargo bench -p tickmesh-storage --bench history`. PostgreSQL is the server at
//! `TICKMESH_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), in a
//! scratch database dropped afterwards. Each backend holds a million one-minute candles of
//! BTC/KRW on each of two exchanges, about 694 days, copied by the database from one stored
//! minute so that setting up takes seconds.

// A benchmark's setup either works or the run is meaningless: it panics with the cause, as a
// test does, rather than measuring something else.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sea_orm::ConnectionTrait;
use tickmesh_domain::{
    CandleInterval, Exchange, Market, MarketEvent, Payload, Side, Trade, TradeId, UtcMicros,
    parse_decimal,
};
use tickmesh_migrations::testing::ScratchPostgres;
use tickmesh_storage::{HistoryConfig, HistoryReader, MarketStore, StoreConfig};

/// One-minute candles per exchange: the default limit's worth for one exchange.
const MINUTES: i64 = HistoryConfig::DEFAULT_MAX_ROWS as i64;
/// 1 December 2026, 00:00 UTC, in microseconds: the last stored minute is just before it.
const END_US: i64 = 1_796_083_200_000_000;
const MINUTE_US: i64 = 60_000_000;
const DAY_US: i64 = 1_440 * MINUTE_US;

fn btc() -> Market {
    Market::parse("KRW-BTC").unwrap()
}

fn trade(exchange: Exchange, price: &str) -> MarketEvent {
    let time = UtcMicros(END_US - MINUTE_US + 1);
    MarketEvent {
        exchange,
        market: btc(),
        exchange_time: time,
        received_time: time.add_micros(40_000),
        payload: Payload::Trade(Trade {
            trade_id: TradeId(1),
            price: parse_decimal(price).unwrap(),
            size: parse_decimal("0.00123456").unwrap(),
            side: Side::Buy,
        }),
        raw: None,
    }
}

/// Stores one minute per exchange through the writer, then has the database copy each back
/// through `MINUTES - 1` earlier minutes.
async fn fill(db: &sea_orm::DatabaseConnection, postgres: bool) {
    let mut store = MarketStore::new(db.clone(), StoreConfig::default());
    store
        .write(&[
            trade(Exchange::Bithumb, "158000000.5"),
            trade(Exchange::Upbit, "158000100.50"),
        ])
        .await
        .unwrap();
    let copy = "INSERT INTO candles_1m (market_id, open_time_us, open, high, low, close, volume, \
         quote_volume, trade_count, first_trade_time_us, first_trade_id, last_trade_time_us, \
         last_trade_id) \
         SELECT market_id, open_time_us - g * 60000000, open, high, low, close, volume, \
         quote_volume, trade_count, first_trade_time_us - g * 60000000, first_trade_id + g, \
         last_trade_time_us - g * 60000000, last_trade_id + g FROM candles_1m";
    let n = MINUTES - 1;
    let sql = if postgres {
        format!("{copy}, generate_series(CAST(1 AS bigint), {n}) AS g")
    } else {
        format!(
            "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) \
             {copy}, s"
        )
    };
    db.execute_unprepared(&sql).await.unwrap();
    // Settled as a running database is: statistics gathered, the write-ahead log folded in.
    let settle = if postgres {
        "VACUUM ANALYZE"
    } else {
        "PRAGMA wal_checkpoint(TRUNCATE)"
    };
    db.execute_unprepared(settle).await.unwrap();
}

fn bench_backend(c: &mut Criterion, backend: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let postgres = backend == "postgres";
    let (url, scratch) = if postgres {
        let scratch = rt
            .block_on(ScratchPostgres::create())
            .expect("PostgreSQL must be reachable for this benchmark (TICKMESH_TEST_DATABASE_URL)");
        (scratch.url().to_owned(), Some(scratch))
    } else {
        let path = dir.path().join("bench.db");
        (format!("sqlite://{}", path.display()), None)
    };
    let writer = rt.block_on(tickmesh_storage::connect(&url)).unwrap();
    rt.block_on(tickmesh_migrations::migrate(&writer)).unwrap();
    rt.block_on(fill(&writer, postgres));
    // The default limits, but a timeout a slow machine cannot hit: this measures, it does not
    // judge.
    let config = HistoryConfig {
        statement_timeout: Duration::from_secs(120),
        ..HistoryConfig::default()
    };
    let pool = rt
        .block_on(tickmesh_storage::connect_history(
            &url, None, &config, &writer,
        ))
        .unwrap();
    let history = HistoryReader::new(pool, config);
    let end = UtcMicros(END_US);

    let mut group = c.benchmark_group(format!("history_{backend}"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let day = CandleInterval::OneDay;
    let widest = history.default_start(day, end, 1);
    group.bench_function("candles_1d_at_the_limit", |b| {
        b.iter(|| {
            let candles = rt.block_on(history.candles(Exchange::Bithumb, btc(), day, widest, end));
            assert_eq!(candles.unwrap().len(), 694);
        });
    });
    let month = end.add_micros(-30 * DAY_US);
    group.bench_function("candles_1d_30_days", |b| {
        b.iter(|| {
            let candles = rt.block_on(history.candles(Exchange::Bithumb, btc(), day, month, end));
            assert_eq!(candles.unwrap().len(), 30);
        });
    });
    let widest = history.default_start(day, end, 2);
    group.bench_function("spread_1d_at_the_limit", |b| {
        b.iter(|| {
            let points = rt.block_on(history.spread_history(
                btc(),
                Exchange::Upbit,
                Exchange::Bithumb,
                day,
                widest,
                end,
            ));
            assert_eq!(points.unwrap().len(), 347);
        });
    });
    group.finish();
    drop(history);
    drop(writer);
    drop(scratch);
}

fn history(c: &mut Criterion) {
    bench_backend(c, "postgres");
    bench_backend(c, "sqlite");
}

criterion_group!(benches, history);
criterion_main!(benches);
