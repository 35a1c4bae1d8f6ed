//! History reads give the same answers before and after the partition and compact-row
//! migrations: rows seeded into a database at migration 9 (plain tables) are read through
//! [`HistoryReader`] (trade and ticker pages, candles at several intervals, the latest
//! tickers, spread history), the database is migrated to the newest schema (partitions by
//! day, fixed-width columns first, one-byte sides, hourly candles filled from the minutes on
//! PostgreSQL), and every read answers exactly as before. On PostgreSQL the newest schema
//! reads 1h and 1d candles and spreads from hours that migration 9 does not have, so those
//! are read only after migrating, the candles compared with the Rust roll-up of the stored
//! minutes (the roll-up tests in `history/` check spreads from the hours the same way).

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use tickmesh_domain::{Candle, CandleInterval, Exchange, Market, UtcMicros};
use tickmesh_migrations::Migrator;
use tickmesh_migrations::testing::ScratchPostgres;
use tickmesh_storage::{HistoryConfig, HistoryReader, history::PageRequest, query};

/// 2024-12-31T00:00:00Z, µs: the rows span three UTC days, so three partitions each.
const DEC31: i64 = 1_735_603_200_000_000;
const MINUTE_US: i64 = 60_000_000;
/// Rows per market of each table, 37 minutes apart: about 39 hours.
const ROWS: i64 = 64;

/// Seeds two markets on two exchanges in migration 9's schema, in plain SQL (storage's
/// writer speaks the newest schema only). Prices and sizes carry trailing zeros, whose scale
/// every read must keep.
async fn seed(db: &DatabaseConnection) {
    let sql = |s: String| async move { db.execute_unprepared(&s).await.unwrap() };
    sql(
        "INSERT INTO markets (id, exchange, market) VALUES (1, 'upbit', 'BTC/KRW'), \
         (2, 'bithumb', 'BTC/KRW'), (3, 'upbit', 'ETH/KRW')"
            .to_owned(),
    )
    .await;
    for market in 1..=3_i64 {
        for i in 0..ROWS {
            // Exchange time 37 minutes apart from 23:00 on Dec 30, offset per market.
            let at = DEC31 - 60 * MINUTE_US + i * 37 * MINUTE_US + market * 1_000;
            let minute = at - at.rem_euclid(MINUTE_US);
            let price = format!("{}.{:02}0", 142_000_000 + market * 10_000 + i * 7, i % 100);
            let side = if (i + market) % 2 == 0 { "buy" } else { "sell" };
            let position = if i % 5 == 0 {
                "NULL".to_owned()
            } else {
                (at * 10 + market).to_string()
            };
            // Two trades a minute, the second with the same time and the next id.
            for (id, size) in [(1000 + i * 2, "0.00100000"), (1001 + i * 2, "1.5000")] {
                sql(format!(
                    "INSERT INTO trades (market_id, trade_id, price, size, side, \
                     exchange_time_us, received_time_us, position) VALUES \
                     ({market}, {id}, '{price}', '{size}', '{side}', {at}, {at} + 55000, \
                     {position})"
                ))
                .await;
            }
            let bid = format!("{}.00", 142_000_000 + market * 10_000 + i * 5);
            sql(format!(
                "INSERT INTO tickers (market_id, exchange_time_us, received_time_us, last, \
                 open, high, low, prev_close, volume_24h, quote_volume_24h, best_bid, \
                 best_ask, position) VALUES ({market}, {at}, {at} + 9, '{price}', \
                 '141000000.0', NULL, '140000000', NULL, '12.34500000', NULL, '{bid}', \
                 NULL, {position})"
            ))
            .await;
            sql(format!(
                "INSERT INTO orderbook_snapshots (market_id, exchange_time_us, \
                 received_time_us, bids, asks) VALUES ({market}, {at}, {at} + 4, \
                 '[[\"{bid}\",\"0.5000\"]]', '[[\"{price}\",\"2.0\"]]')"
            ))
            .await;
            sql(format!(
                "INSERT INTO candles_1m (market_id, open_time_us, open, high, low, close, \
                 volume, quote_volume, trade_count, first_trade_time_us, first_trade_id, \
                 last_trade_time_us, last_trade_id) VALUES ({market}, {minute}, '{price}', \
                 '{price}', '{price}', '{price}', '1.50100000', '{price}', 2, {at}, \
                 {id}, {at}, {id} + 1)",
                id = 1000 + i * 2
            ))
            .await;
        }
    }
}

/// Every read the history service makes, each answer printed in full.
/// What `reader` answers; 1h and 1d candles and spreads only when `hourly`.
async fn answers(reader: &HistoryReader, hourly: bool) -> Vec<String> {
    let btc = Market::parse("KRW-BTC").unwrap();
    let eth = Market::parse("KRW-ETH").unwrap();
    let mut out = Vec::new();
    for (exchange, market) in [
        (Exchange::Upbit, btc),
        (Exchange::Bithumb, btc),
        (Exchange::Upbit, eth),
    ] {
        for (start, end) in [
            (None, None),
            (
                Some(UtcMicros(DEC31 - 7 * MINUTE_US)),
                Some(UtcMicros(DEC31 + 1_440 * MINUTE_US)),
            ),
        ] {
            // Trade pages of 9 to the end: pages cross the midnights, hence the partitions.
            let mut token: Option<String> = None;
            loop {
                let request = PageRequest {
                    exchange,
                    market,
                    start,
                    end,
                    size: 9,
                    token: token.as_deref(),
                };
                let page = reader.trades_page(&request).await.unwrap();
                out.push(format!("{page:?}"));
                match page.next_page_token {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
            let request = PageRequest {
                exchange,
                market,
                start,
                end,
                size: 1000,
                token: None,
            };
            out.push(format!(
                "{:?}",
                reader.tickers_page(&request).await.unwrap()
            ));
        }
        for interval in [
            CandleInterval::OneMinute,
            CandleInterval::FifteenMinutes,
            CandleInterval::OneHour,
            CandleInterval::OneDay,
        ] {
            if !hourly && interval.duration() >= CandleInterval::OneHour.duration() {
                continue;
            }
            let candles = reader
                .candles(
                    exchange,
                    market,
                    interval,
                    UtcMicros(DEC31 - 2 * 1_440 * MINUTE_US),
                    UtcMicros(DEC31 + 3 * 1_440 * MINUTE_US),
                )
                .await
                .unwrap();
            out.push(format!("{interval:?} {candles:?}"));
        }
    }
    for market in [btc, eth] {
        out.push(format!(
            "{:?}",
            reader.latest_tickers(market).await.unwrap()
        ));
    }
    for interval in [CandleInterval::OneHour, CandleInterval::OneDay] {
        if !hourly {
            break;
        }
        let spread = reader
            .spread_history(
                btc,
                Exchange::Upbit,
                Exchange::Bithumb,
                interval,
                UtcMicros(DEC31 - 2 * 1_440 * MINUTE_US),
                UtcMicros(DEC31 + 3 * 1_440 * MINUTE_US),
            )
            .await
            .unwrap();
        out.push(format!("{interval:?} {spread:?}"));
    }
    out
}

/// 1h and 1d candles of every seeded market equal [`Candle::roll_up`] of its stored minutes.
async fn hours_roll_up_as_rust_does(db: &DatabaseConnection, reader: &HistoryReader) {
    let (start, end) = (DEC31 - 2 * 1_440 * MINUTE_US, DEC31 + 3 * 1_440 * MINUTE_US);
    for (exchange, market) in [
        (Exchange::Upbit, "KRW-BTC"),
        (Exchange::Bithumb, "KRW-BTC"),
        (Exchange::Upbit, "KRW-ETH"),
    ] {
        let market = Market::parse(market).unwrap();
        let minutes = query::candles_1m(db, exchange, market).await.unwrap();
        for interval in [CandleInterval::OneHour, CandleInterval::OneDay] {
            let got = reader
                .candles(exchange, market, interval, UtcMicros(start), UtcMicros(end))
                .await
                .unwrap();
            let want = Candle::roll_up(minutes.iter().cloned(), interval).unwrap();
            assert!(want.len() > 1, "{exchange} {market} {interval}");
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{exchange} {interval}"
            );
        }
    }
}

/// Seeds `url` at migration 9, reads, migrates to the newest and reads again.
async fn same_answers_after_migrating(url: &str) {
    let db = tickmesh_storage::connect(url).await.unwrap();
    Migrator::up(&db, Some(9)).await.unwrap();
    seed(&db).await;
    let reader = HistoryReader::new(db.clone(), HistoryConfig::default());
    let before = answers(&reader, false).await;
    // Not vacuous: every market's trades span pages, every read found rows.
    assert!(before.len() > 40, "{}", before.len());
    assert!(before.iter().all(|a| !a.contains("[]")), "{before:#?}");
    assert!(before.iter().any(|a| a.contains("Sell")) && before.iter().any(|a| a.contains("Buy")));

    Migrator::up(&db, None).await.unwrap();
    let pending = Migrator::get_pending_migrations(&db).await.unwrap();
    assert!(pending.is_empty(), "every migration applied");
    assert_eq!(answers(&reader, false).await, before);
    hours_roll_up_as_rust_does(&db, &reader).await;
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_unchanged_by_partitioning_on_postgres() {
    let scratch = ScratchPostgres::create()
        .await
        .expect("PostgreSQL must be reachable for these tests (TICKMESH_TEST_DATABASE_URL)");
    same_answers_after_migrating(scratch.url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_unchanged_by_the_migrations_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tickmesh.db").display());
    same_answers_after_migrating(&url).await;
}
