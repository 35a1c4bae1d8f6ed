//! `MarketStore::write` on PostgreSQL and SQLite: how long one storage batch of 2,000 events
//! takes to become committed rows, for a batch of trades (with their candles) and for a batch
//! of tickers, the two kinds the durable log hands storage (one topic at a time).
//!
//! Run with `cargo bench -p tickmesh-storage`. PostgreSQL is the server at
//! `TICKMESH_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`); each
//! run works in a scratch database of its own, dropped afterwards. Every iteration writes new
//! trades (ids never repeat), so the tables grow as they do in service.

// A benchmark's setup either works or the run is meaningless: it panics with the cause, as a
// test does, rather than measuring something else.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tickmesh_domain::{
    Exchange, Market, MarketEvent, Payload, Side, Ticker, Trade, TradeId, UtcMicros, parse_decimal,
};
use tickmesh_migrations::testing::ScratchPostgres;
use tickmesh_storage::{MarketStore, StoreConfig};

/// Events per batch: storage's default `batch_max`.
const BATCH: u64 = 2_000;
/// 1 January 2027, 00:00 UTC, in microseconds.
const START_US: i64 = 1_798_761_600_000_000;

/// The bench's markets: five coins on each of the three exchanges, as `tickmesh bench` runs.
fn markets() -> Vec<(Exchange, Market)> {
    let mut out = Vec::new();
    for exchange in [Exchange::Upbit, Exchange::Bithumb, Exchange::Korbit] {
        for coin in ["BTC", "ETH", "XRP", "SOL", "DOGE"] {
            out.push((exchange, Market::parse(&format!("KRW-{coin}")).unwrap()));
        }
    }
    out
}

/// Batch number `n`: trades or tickers spread over every market, one millisecond apart.
fn batch(n: u64, trades: bool) -> Vec<MarketEvent> {
    let markets = markets();
    (0..BATCH)
        .map(|i| {
            let seq = n * BATCH + i;
            let (exchange, market) = markets[(seq % markets.len() as u64) as usize];
            let time = UtcMicros(START_US + seq as i64 * 1_000);
            let price = parse_decimal(&format!("{}.{:02}", 95_000_000 + seq % 997, seq % 100));
            let payload = if trades {
                Payload::Trade(Trade {
                    trade_id: TradeId(seq),
                    price: price.unwrap(),
                    size: parse_decimal(&format!("0.{:08}", seq % 99_999_999 + 1)).unwrap(),
                    side: if seq.is_multiple_of(2) {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                })
            } else {
                let d = |text: &str| Some(parse_decimal(text).unwrap());
                Payload::Ticker(Ticker {
                    last: price.unwrap(),
                    open: d("94223000"),
                    high: d("95465000"),
                    low: d("93601000"),
                    prev_close: d("94201000"),
                    volume_24h: d("310.44065227"),
                    quote_volume_24h: d("29226371799.56915"),
                    best_bid: d("95298000"),
                    best_ask: d("95299000"),
                })
            };
            MarketEvent {
                exchange,
                market,
                exchange_time: time,
                received_time: time.add_micros(40_000),
                payload,
                raw: None,
            }
        })
        .collect()
}

fn bench_backend(c: &mut Criterion, backend: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (url, scratch) = if backend == "postgres" {
        let scratch = rt
            .block_on(ScratchPostgres::create())
            .expect("PostgreSQL must be reachable for this benchmark (TICKMESH_TEST_DATABASE_URL)");
        (scratch.url().to_owned(), Some(scratch))
    } else {
        let path = dir.path().join("bench.db");
        (format!("sqlite://{}", path.display()), None)
    };
    let db = rt.block_on(tickmesh_storage::connect(&url)).unwrap();
    rt.block_on(tickmesh_migrations::migrate(&db)).unwrap();
    let mut store = MarketStore::new(db, StoreConfig::default());

    let mut group = c.benchmark_group(format!("write_{backend}"));
    group.throughput(Throughput::Elements(BATCH));
    group.measurement_time(Duration::from_secs(10));
    let mut next = 0u64;
    for (kind, trades) in [("trades", true), ("tickers", false)] {
        group.bench_function(BenchmarkId::new(kind, BATCH), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let events = batch(next, trades);
                    next += 1;
                    let started = Instant::now();
                    rt.block_on(store.write(&events)).unwrap();
                    total += started.elapsed();
                }
                total
            });
        });
    }
    group.finish();
    drop(store);
    drop(scratch);
}

fn write(c: &mut Criterion) {
    bench_backend(c, "postgres");
    bench_backend(c, "sqlite");
}

criterion_group!(benches, write);
criterion_main!(benches);
