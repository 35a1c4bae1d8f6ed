//! Databases and events shared by the storage tests.
//!
//! Every test body runs on a fresh SQLite file and on a fresh PostgreSQL database (a scratch
//! database per test, dropped afterwards). PostgreSQL missing is a failure, not a skip.

#![allow(dead_code)]

use sea_orm::DatabaseConnection;
use tickmesh_domain::{
    Decimal, Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade,
    TradeId, UtcMicros, parse_decimal,
};
use tickmesh_migrations::testing::ScratchPostgres;
use tickmesh_storage::HistoryConfig;

/// A migrated database and what keeps it alive.
#[derive(Debug)]
pub struct TestDb {
    /// Declared first so the pool closes before the database goes.
    pub conn: DatabaseConnection,
    /// Where it is.
    pub url: String,
    _keep: Keep,
}

#[derive(Debug)]
enum Keep {
    Sqlite(tempfile::TempDir),
    Postgres(ScratchPostgres),
}

impl TestDb {
    /// A fresh SQLite file (created by `connect`), migrated.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tickmesh.db").display());
        TestDb::open(&url, Keep::Sqlite(dir), true).await
    }

    /// A fresh SQLite file without the schema.
    pub async fn sqlite_unmigrated() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tickmesh.db").display());
        TestDb::open(&url, Keep::Sqlite(dir), false).await
    }

    /// A fresh PostgreSQL database, migrated.
    pub async fn postgres() -> TestDb {
        let scratch = ScratchPostgres::create()
            .await
            .expect("PostgreSQL must be reachable for these tests (TICKMESH_TEST_DATABASE_URL)");
        let url = scratch.url().to_owned();
        TestDb::open(&url, Keep::Postgres(scratch), true).await
    }

    async fn open(url: &str, keep: Keep, migrate: bool) -> TestDb {
        let conn = tickmesh_storage::connect(url).await.unwrap();
        if migrate {
            tickmesh_migrations::migrate(&conn).await.unwrap();
        }
        TestDb {
            conn,
            url: url.to_owned(),
            _keep: keep,
        }
    }

    /// The history read pool on this database, as storage opens it.
    pub async fn history_pool(&self, config: &HistoryConfig) -> DatabaseConnection {
        tickmesh_storage::connect_history(&self.url, None, config, &self.conn)
            .await
            .unwrap()
    }
}

/// Runs an async test body on SQLite and on PostgreSQL, as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($body:ident) => {
        mod $body {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$body($crate::common::TestDb::sqlite().await).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$body($crate::common::TestDb::postgres().await).await;
            }
        }
    };
}

/// Parses a decimal as an exchange sent it.
pub fn d(text: &str) -> Decimal {
    parse_decimal(text).unwrap()
}

/// `BTC/KRW`.
pub fn btc() -> Market {
    Market::parse("KRW-BTC").unwrap()
}

/// A minute boundary to build times from.
pub const MINUTE: i64 = 1_790_133_480_000_000;

/// An event of `payload` on Bithumb BTC/KRW at `exchange_us`.
pub fn event(exchange_us: i64, payload: Payload) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Bithumb,
        market: btc(),
        exchange_time: UtcMicros(exchange_us),
        received_time: UtcMicros(exchange_us + 55_000),
        payload,
        raw: None,
    }
}

/// A trade event.
pub fn trade(exchange_us: i64, id: u64, price: &str, size: &str, side: Side) -> MarketEvent {
    event(
        exchange_us,
        Payload::Trade(Trade {
            trade_id: TradeId(id),
            price: d(price),
            size: d(size),
            side,
        }),
    )
}

/// A ticker event with the exchanges' awkward numbers.
pub fn ticker(exchange_us: i64) -> MarketEvent {
    event(
        exchange_us,
        Payload::Ticker(Ticker {
            last: d("158201000.00000000"),
            open: Some(d("0E-8")),
            high: None,
            low: Some(d("157588000")),
            prev_close: Some(d("158200000")),
            volume_24h: Some(d("2083.82485091")),
            quote_volume_24h: Some(d("95078733694.3792000000000000")),
            best_bid: None,
            best_ask: Some(d("116477000")),
        }),
    )
}

/// An order book event with the exchanges' awkward numbers.
pub fn book(exchange_us: i64) -> MarketEvent {
    event(
        exchange_us,
        Payload::OrderBook(OrderBook {
            bids: vec![Level {
                price: d("3714000"),
                size: d("3.012"),
            }],
            asks: vec![
                Level {
                    price: d("3715000"),
                    size: d("8.4592"),
                },
                Level {
                    price: d("3716000"),
                    size: d("5.0E-4"),
                },
            ],
        }),
    )
}

/// The exchange times of the stored BTC/KRW book snapshots of `exchange`, oldest first.
pub async fn book_times(db: &TestDb, exchange: Exchange) -> Vec<i64> {
    tickmesh_storage::query::orderbooks(&db.conn, exchange, btc())
        .await
        .unwrap()
        .iter()
        .map(|b| b.exchange_time.as_micros())
        .collect()
}
