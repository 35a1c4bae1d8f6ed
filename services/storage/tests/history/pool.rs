//! The pool history reads on: PostgreSQL stops its statements at the configured timeout and
//! the client hears `RESOURCE_EXHAUSTED` naming the key; when every history connection is
//! busy, reads are told to retry and writes still commit, because the writer's pool is
//! another; an in-memory SQLite database is read through the writer's one connection.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use tickmesh_domain::{CandleInterval, Exchange, Side, UtcMicros};
use tickmesh_proto::history::v1::{CandleInterval as WireInterval, ListCandlesRequest};
use tickmesh_proto::market::v1::Exchange as WireExchange;
use tickmesh_storage::{HistoryConfig, HistoryError, HistoryReader, MarketStore, StoreConfig};
use tonic::Code;

use super::grpc::{serve_on, t};
use crate::common::{MINUTE, TestDb, btc, trade};

/// Minutes stored by the SQL below: about 139 days, which PostgreSQL takes far longer than a
/// millisecond to roll up.
const MANY: i64 = 200_000;

/// One trade through the writer, then `MANY - 1` copies of its minute candle going back in
/// time, inserted by the database itself.
async fn many_minutes(db: &TestDb) {
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    store
        .write(&[trade(MINUTE + 1, 1, "158000000", "0.5", Side::Buy)])
        .await
        .unwrap();
    let copies = format!(
        "INSERT INTO candles_1m (market_id, open_time_us, open, high, low, close, volume, \
         quote_volume, trade_count, first_trade_time_us, first_trade_id, last_trade_time_us, \
         last_trade_id) \
         SELECT market_id, open_time_us - g * 60000000, open, high, low, close, volume, \
         quote_volume, trade_count, first_trade_time_us - g * 60000000, first_trade_id + g, \
         last_trade_time_us - g * 60000000, last_trade_id + g \
         FROM candles_1m, generate_series(CAST(1 AS bigint), {}) AS g",
        MANY - 1
    );
    db.conn.execute_unprepared(&copies).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_past_the_timeout_is_resource_exhausted() {
    let db = TestDb::postgres().await;
    many_minutes(&db).await;
    let (start, end) = (UtcMicros(MINUTE - MANY * 60_000_000), UtcMicros(MINUTE + 1));
    let unlimited = HistoryConfig {
        max_rows: u64::MAX,
        ..HistoryConfig::default()
    };
    let days = |history: HistoryReader| async move {
        history
            .candles(Exchange::Bithumb, btc(), CandleInterval::OneDay, start, end)
            .await
    };

    // With the default timeout the query answers: it is the timeout that stops it below.
    let answered = days(HistoryReader::new(
        db.history_pool(&unlimited).await,
        unlimited,
    ))
    .await
    .unwrap();
    assert_eq!(
        answered.iter().map(|c| c.trade_count).sum::<u64>(),
        MANY as u64
    );

    let hasty = HistoryConfig {
        statement_timeout: Duration::from_millis(1),
        ..unlimited
    };
    let history = HistoryReader::new(db.history_pool(&hasty).await, hasty);
    let err = days(history.clone()).await.unwrap_err();
    assert!(
        matches!(err, HistoryError::TimedOut { timeout, .. } if timeout == Duration::from_millis(1)),
        "{err:?}"
    );

    let mut served = serve_on(db, history).await;
    let request = ListCandlesRequest {
        exchange: WireExchange::Bithumb as i32,
        market: "BTC".into(),
        interval: WireInterval::CandleInterval1d as i32,
        start_time: Some(tickmesh_proto::convert::time_to_wire(start)),
        end_time: t(end.as_micros()),
    };
    let status = served.client.list_candles(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains("storage.history_statement_timeout (1ms)")
            && status.message().contains("shorter range"),
        "{status:?}"
    );
    served.shut_down().await;
}

async fn writes_commit_while_every_history_connection_is_busy(db: TestDb) {
    let config = HistoryConfig {
        connections: 2,
        ..HistoryConfig::default()
    };
    let pool = db.history_pool(&config).await;
    // Two reads in progress hold both connections, as two slow history queries would.
    let mut held = Vec::new();
    for _ in 0..config.connections {
        let read = pool.begin().await.unwrap();
        let sql = "SELECT count(*) FROM candles_1m";
        read.query_one(Statement::from_string(read.get_database_backend(), sql))
            .await
            .unwrap();
        held.push(read);
    }
    let history = HistoryReader::new(pool, config);
    let busy = history.latest_tickers(btc()).await.unwrap_err();
    assert!(
        matches!(busy, HistoryError::Busy { connections: 2, .. }),
        "{busy:?}"
    );

    // The writer's pool is another: the write commits while the reads still hold theirs.
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let events = [trade(MINUTE, 7, "158000000", "0.5", Side::Buy)];
    tokio::time::timeout(Duration::from_secs(60), store.write(&events))
        .await
        .expect("the write waited for the history pool")
        .unwrap();
    // Once the reads are done, history answers again, the new trade included.
    drop(held);
    let page = history
        .trades_page(&tickmesh_storage::history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: None,
            end: None,
            size: 0,
            token: None,
        })
        .await
        .unwrap();
    assert_eq!(page.trades.len(), 1);
}
crate::on_both_backends!(writes_commit_while_every_history_connection_is_busy);

#[tokio::test(flavor = "multi_thread")]
async fn an_in_memory_sqlite_database_is_read_through_the_writers_connection() {
    let writer = tickmesh_storage::connect("sqlite::memory:").await.unwrap();
    tickmesh_migrations::migrate(&writer).await.unwrap();
    let mut store = MarketStore::new(writer.clone(), StoreConfig::default());
    store
        .write(&[trade(MINUTE, 7, "158000000", "0.5", Side::Buy)])
        .await
        .unwrap();
    let config = HistoryConfig::default();
    let pool = tickmesh_storage::connect_history("sqlite::memory:", None, &config, &writer)
        .await
        .unwrap();
    let history = HistoryReader::new(pool, config);
    let page = history
        .trades_page(&tickmesh_storage::history::PageRequest {
            exchange: Exchange::Bithumb,
            market: btc(),
            start: None,
            end: None,
            size: 0,
            token: None,
        })
        .await
        .unwrap();
    assert_eq!(page.trades.len(), 1);
}
