//! `MarketStore` on SQLite and PostgreSQL: exact decimals, idempotent replays, candle merges,
//! the order book throttle, and unstorable trade ids.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{MINUTE, TestDb, book, book_times, btc, d, event, ticker, trade};
use tickmesh_domain::{
    Candle, CandleInterval, Exchange, MarketEvent, Payload, Side, Trade, TradeId, UtcMicros,
};
use tickmesh_storage::{MarketStore, StorageError, StoreConfig, query};

fn store(db: &TestDb) -> MarketStore {
    MarketStore::new(db.conn.clone(), StoreConfig::default())
}

/// Equal value and equal text: the scale survived.
#[track_caller]
fn exact(stored: tickmesh_domain::Decimal, written: tickmesh_domain::Decimal) {
    assert_eq!(stored, written);
    assert_eq!(stored.to_string(), written.to_string());
}

/// The domain's own candle of `trades`, merged in the order given.
fn expected_candles(events: &[MarketEvent]) -> Vec<Candle> {
    let mut candles: Vec<Candle> = Vec::new();
    for e in events {
        let Payload::Trade(t) = &e.payload else {
            continue;
        };
        let candle = Candle::from_trade(CandleInterval::OneMinute, e.exchange_time, t).unwrap();
        match candles.iter_mut().find(|c| c.open_time == candle.open_time) {
            Some(existing) => existing.merge(&candle).unwrap(),
            None => candles.push(candle),
        }
    }
    candles.sort_by_key(|c| c.open_time);
    candles
}

async fn awkward_decimals_round_trip_exactly(db: TestDb) {
    let events = vec![
        trade(
            MINUTE + 1_000,
            17_883_351_803_770_004,
            "1.16539E8",
            "7.9276E-4",
            Side::Sell,
        ),
        trade(
            MINUTE + 2_000,
            17_883_351_803_770_005,
            "0.00079276",
            // A trade's size is positive; zeros with a scale are the ticker's below.
            "1E-8",
            Side::Buy,
        ),
        trade(
            MINUTE + 3_000,
            17_883_351_803_770_006,
            "95078733694.3792000000000000",
            "1",
            Side::Buy,
        ),
        ticker(MINUTE + 4_000),
        book(MINUTE + 5_000),
    ];
    let summary = store(&db).write(&events).await.unwrap();
    assert_eq!(summary.trades_inserted, 3);
    assert_eq!(summary.tickers, 1);
    assert_eq!(summary.orderbooks_stored, 1);
    assert_eq!(summary.candles_touched, 1);

    let trades = query::trades(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    assert_eq!(trades.len(), 3);
    for (stored, written) in trades.iter().zip(&events) {
        let Payload::Trade(w) = &written.payload else {
            unreachable!()
        };
        assert_eq!(stored.data, *w);
        exact(stored.data.price, w.price);
        exact(stored.data.size, w.size);
        assert_eq!(stored.exchange_time, written.exchange_time);
        assert_eq!(stored.received_time, written.received_time);
    }
    assert_eq!(trades[0].data.price.to_string(), "116539000");
    assert_eq!(trades[0].data.size.to_string(), "0.00079276");
    assert_eq!(trades[1].data.size.to_string(), "0.00000001");

    let tickers = query::tickers(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    let Payload::Ticker(w) = &events[3].payload else {
        unreachable!()
    };
    assert_eq!(tickers.len(), 1);
    let t = &tickers[0].data;
    assert_eq!(t, w);
    exact(t.last, w.last);
    assert_eq!(t.open.unwrap().to_string(), "0.00000000");
    assert_eq!(
        t.quote_volume_24h.unwrap().to_string(),
        "95078733694.3792000000000000"
    );
    assert_eq!(t.high, None);
    assert_eq!(t.best_bid, None);

    let books = query::orderbooks(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    let Payload::OrderBook(w) = &events[4].payload else {
        unreachable!()
    };
    assert_eq!(books.len(), 1);
    assert_eq!(books[0].data, *w);
    for (stored, written) in books[0].data.asks.iter().zip(&w.asks) {
        exact(stored.price, written.price);
        exact(stored.size, written.size);
    }
    assert_eq!(books[0].data.asks[1].size.to_string(), "0.00050");

    let candles = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    let expected = expected_candles(&events);
    assert_eq!(candles, expected);
    let (c, e) = (&candles[0], &expected[0]);
    for (stored, written) in [
        (c.open, e.open),
        (c.high, e.high),
        (c.low, e.low),
        (c.close, e.close),
        (c.volume, e.volume),
        (c.quote_volume, e.quote_volume),
    ] {
        exact(stored, written);
    }
}
on_both_backends!(awkward_decimals_round_trip_exactly);

async fn replaying_a_batch_changes_nothing(db: TestDb) {
    let events = vec![
        trade(MINUTE + 1_000, 1, "100", "0.5", Side::Buy),
        trade(MINUTE + 2_000, 2, "101", "0.25", Side::Sell),
        trade(MINUTE + 61_000_000, 3, "102", "1.5", Side::Buy),
        ticker(MINUTE + 3_000),
        book(MINUTE + 4_000),
    ];
    let mut store = store(&db);
    let first = store.write(&events).await.unwrap();
    assert_eq!(first.trades_inserted, 3);
    assert_eq!(first.candles_touched, 2);
    let candles = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();

    // The same batch again, from this store and from a fresh one (a restarted service).
    for mut again in [store, self::store(&db)] {
        let summary = again.write(&events).await.unwrap();
        assert_eq!(summary.trades_inserted, 0);
        assert_eq!(summary.trades_duplicate, 3);
        assert_eq!(summary.tickers, 0);
        assert_eq!(summary.orderbooks_stored, 0);
        assert_eq!(summary.orderbooks_throttled, 1);
        assert_eq!(summary.candles_touched, 0);
    }
    assert_eq!(
        query::candles_1m(&db.conn, Exchange::Bithumb, btc())
            .await
            .unwrap(),
        candles
    );
    assert_eq!(candles[0].trade_count, 2);
    assert_eq!(candles[0].volume, d("0.75"));
    let ids = query::trade_ids(&db.conn).await.unwrap();
    let expected: Vec<_> = (1..=3)
        .map(|id| (Exchange::Bithumb, btc(), TradeId(id)))
        .collect();
    assert_eq!(ids, expected);

    // A batch repeating a trade within itself counts it once.
    let repeat = vec![
        trade(MINUTE + 5_000, 4, "100", "1", Side::Buy),
        trade(MINUTE + 5_000, 4, "100", "1", Side::Buy),
    ];
    let summary = self::store(&db).write(&repeat).await.unwrap();
    assert_eq!((summary.trades_inserted, summary.trades_duplicate), (1, 1));
    let candles = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    assert_eq!(candles[0].trade_count, 3);
    assert_eq!(candles[0].volume, d("1.75"));
}
on_both_backends!(replaying_a_batch_changes_nothing);

async fn candles_merge_across_batches_in_trade_time_order(db: TestDb) {
    let s = |secs: i64| MINUTE + secs * 1_000_000;
    // Prices chosen so text order differs from numeric order ("95" > "120" as text).
    let first = vec![
        trade(s(30), 20, "100", "1", Side::Buy),
        trade(s(40), 30, "95", "2", Side::Sell),
        trade(s(70), 70, "7", "1", Side::Buy),
    ];
    let second = vec![
        trade(s(50), 40, "120", "0.5", Side::Buy),
        trade(s(10), 10, "99.5", "1", Side::Sell),
        trade(s(20), 50, "89.75", "3", Side::Sell),
        trade(s(80), 80, "10", "1", Side::Buy),
    ];
    let mut store = store(&db);
    store.write(&first).await.unwrap();
    let summary = store.write(&second).await.unwrap();
    assert_eq!(summary.candles_touched, 2);

    let candles = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    let all: Vec<MarketEvent> = first.iter().chain(&second).cloned().collect();
    assert_eq!(candles, expected_candles(&all));
    let c = &candles[0];
    assert_eq!(c.open_time, UtcMicros(MINUTE));
    assert_eq!((c.open, c.close), (d("99.5"), d("120")));
    assert_eq!((c.high, c.low), (d("120"), d("89.75")));
    assert_eq!(c.volume, d("7.5"));
    assert_eq!(
        c.quote_volume,
        d("99.5") + d("269.25") + d("100") + d("190") + d("60")
    );
    assert_eq!(c.trade_count, 5);
    assert_eq!(c.first_trade, (UtcMicros(s(10)), TradeId(10)));
    assert_eq!(c.last_trade, (UtcMicros(s(50)), TradeId(40)));
    let next = &candles[1];
    assert_eq!(next.open_time, UtcMicros(MINUTE + 60_000_000));
    assert_eq!((next.open, next.close), (d("7"), d("10")));
    assert_eq!((next.high, next.low), (d("10"), d("7")));
}
on_both_backends!(candles_merge_across_batches_in_trade_time_order);

async fn candles_of_several_markets_break_time_ties_by_trade_id(db: TestDb) {
    let eth = tickmesh_domain::Market::parse("KRW-ETH").unwrap();
    let at = |mut e: MarketEvent, exchange: Exchange, market| {
        e.exchange = exchange;
        e.market = market;
        e
    };
    let t = MINUTE + 5_000_000;
    // One batch, three markets interleaved; every trade of a market at the same instant, ids
    // out of order, so only the id can decide the open and the close.
    let first = vec![
        at(trade(t, 7, "30", "1", Side::Buy), Exchange::Upbit, btc()),
        at(trade(t, 3, "10", "1", Side::Buy), Exchange::Bithumb, eth),
        at(trade(t, 5, "20", "1", Side::Buy), Exchange::Upbit, btc()),
        at(trade(t, 9, "40", "2", Side::Sell), Exchange::Bithumb, eth),
        trade(t, 1, "5", "1", Side::Buy),
    ];
    // A later batch with a trade at the same instant whose id comes first: it takes the open.
    let second = vec![at(
        trade(t, 4, "50", "1", Side::Buy),
        Exchange::Upbit,
        btc(),
    )];
    let mut store = store(&db);
    let summary = store.write(&first).await.unwrap();
    assert_eq!(summary.candles_touched, 3);
    store.write(&second).await.unwrap();

    let upbit = query::candles_1m(&db.conn, Exchange::Upbit, btc())
        .await
        .unwrap();
    let upbit_trades: Vec<MarketEvent> = first
        .iter()
        .chain(&second)
        .filter(|e| e.exchange == Exchange::Upbit)
        .cloned()
        .collect();
    assert_eq!(upbit, expected_candles(&upbit_trades));
    assert_eq!((upbit[0].open, upbit[0].close), (d("50"), d("30")));
    assert_eq!(upbit[0].first_trade, (UtcMicros(t), TradeId(4)));
    assert_eq!(upbit[0].last_trade, (UtcMicros(t), TradeId(7)));

    let eth_candles = query::candles_1m(&db.conn, Exchange::Bithumb, eth)
        .await
        .unwrap();
    assert_eq!(eth_candles.len(), 1);
    assert_eq!(
        (eth_candles[0].open, eth_candles[0].close),
        (d("10"), d("40"))
    );
    assert_eq!(eth_candles[0].quote_volume, d("90"));
    let btc_candles = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    assert_eq!(btc_candles.len(), 1);
    assert_eq!(btc_candles[0].trade_count, 1);
}
on_both_backends!(candles_of_several_markets_break_time_ties_by_trade_id);

async fn order_books_are_throttled_per_market(db: TestDb) {
    let ms = |n: i64| MINUTE + n * 1_000;
    let mut other_market = book(ms(100));
    other_market.exchange = Exchange::Upbit;
    let mut store = store(&db);
    let first = store
        .write(&[book(ms(0)), book(ms(200)), other_market, book(ms(999))])
        .await
        .unwrap();
    assert_eq!(
        (first.orderbooks_stored, first.orderbooks_throttled),
        (2, 2)
    );
    // What the consumer may skip decoding: only books too close to a committed snapshot.
    let certain = |store: &MarketStore, exchange, at| {
        store
            .book_throttle()
            .certain(exchange, btc(), UtcMicros(at))
    };
    assert!(certain(&store, Exchange::Bithumb, ms(999)));
    assert!(!certain(&store, Exchange::Bithumb, ms(1_000)));
    assert!(
        !certain(&store, Exchange::Korbit, ms(0)),
        "a market not seen yet"
    );
    let second = store
        .write(&[book(ms(1_000)), book(ms(1_500)), book(ms(2_100))])
        .await
        .unwrap();
    assert_eq!(
        (second.orderbooks_stored, second.orderbooks_throttled),
        (2, 1)
    );
    assert!(certain(&store, Exchange::Bithumb, ms(3_099)));
    assert!(!certain(&store, Exchange::Bithumb, ms(3_100)));

    // A restarted store learns the last stored snapshot from the table.
    let mut restarted = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let third = restarted
        .write(&[book(ms(2_500)), book(ms(3_100))])
        .await
        .unwrap();
    assert!(
        certain(&restarted, Exchange::Bithumb, ms(4_099)),
        "the snapshot it stored"
    );
    assert_eq!(
        (third.orderbooks_stored, third.orderbooks_throttled),
        (1, 1)
    );

    assert_eq!(
        book_times(&db, Exchange::Bithumb).await,
        [ms(0), ms(1_000), ms(2_100), ms(3_100)]
    );
    let upbit = query::orderbooks(&db.conn, Exchange::Upbit, btc())
        .await
        .unwrap();
    assert_eq!(upbit.len(), 1);

    // A zero interval keeps every distinct snapshot.
    let mut every = MarketStore::new(
        db.conn.clone(),
        StoreConfig {
            orderbook_interval: Duration::ZERO,
            ..StoreConfig::default()
        },
    );
    let all = every
        .write(&[book(ms(3_200)), book(ms(3_201)), book(ms(3_201))])
        .await
        .unwrap();
    assert_eq!((all.orderbooks_stored, all.orderbooks_throttled), (2, 1));
}
on_both_backends!(order_books_are_throttled_per_market);

async fn trade_ids_beyond_bigint_are_a_clear_error(db: TestDb) {
    let too_big = u64::try_from(i64::MAX).unwrap() + 1;
    let events = vec![
        trade(MINUTE, 1, "100", "1", Side::Buy),
        trade(MINUTE, too_big, "100", "1", Side::Buy),
    ];
    let err = store(&db).write(&events).await.unwrap_err();
    assert!(matches!(err, StorageError::TradeIdOutOfRange { trade_id, .. } if trade_id == too_big));
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "trade id 9223372036854775808 of bithumb BTC/KRW exceeds the largest storable id \
         9223372036854775807"
    );
    let bounds = tickmesh_domain::EventBounds::default();
    let now = tickmesh_domain::UtcMicros::now();
    assert!(tickmesh_storage::validate(&events[1], &bounds, now).is_err());
    // Nothing of the batch was written.
    assert!(query::trade_ids(&db.conn).await.unwrap().is_empty());

    // The largest storable id is fine.
    let max = u64::try_from(i64::MAX).unwrap();
    store(&db)
        .write(&[event(
            MINUTE,
            Payload::Trade(Trade {
                trade_id: TradeId(max),
                price: d("1"),
                size: d("1"),
                side: Side::Sell,
            }),
        )])
        .await
        .unwrap();
    let ids = query::trade_ids(&db.conn).await.unwrap();
    assert_eq!(ids, [(Exchange::Bithumb, btc(), TradeId(max))]);
    let candles = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    assert_eq!(candles[0].last_trade.1, TradeId(max));
}
on_both_backends!(trade_ids_beyond_bigint_are_a_clear_error);

async fn large_batches_are_split_under_the_parameter_limits(db: TestDb) {
    // 5000 trades x 8 columns = 40000 parameters, over SQLite's 32766 in one statement.
    let events: Vec<MarketEvent> = (0..5_000)
        .map(|i| {
            trade(
                MINUTE + i * 10_000,
                1_000 + i as u64,
                "100.5",
                "0.001",
                Side::Buy,
            )
        })
        .collect();
    let summary = store(&db).write(&events).await.unwrap();
    assert_eq!(summary.trades_inserted, 5_000);
    assert_eq!(query::trade_ids(&db.conn).await.unwrap().len(), 5_000);
    let candles = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    assert_eq!(candles.iter().map(|c| c.trade_count).sum::<u64>(), 5_000);
    assert_eq!(candles, expected_candles(&events));
}
on_both_backends!(large_batches_are_split_under_the_parameter_limits);

async fn concurrent_writers_never_lose_a_candle_update(db: TestDb) {
    // Two stores (two service replicas) writing trades of the same minute of two markets at
    // once, each listing the markets in the other order: neither may lose the other's update,
    // nor deadlock on the two candles.
    let eth = tickmesh_domain::Market::parse("KRW-ETH").unwrap();
    let writer = |first_id: u64, markets: [tickmesh_domain::Market; 2]| {
        let mut store = store(&db);
        async move {
            for i in 0..20 {
                let id = first_id + 2 * i;
                let batch: Vec<MarketEvent> = markets
                    .iter()
                    .zip([id, id + 1])
                    .map(|(&market, id)| {
                        let mut t = trade(MINUTE + id as i64 * 1_000, id, "100", "1", Side::Buy);
                        t.market = market;
                        t
                    })
                    .collect();
                store.write(&batch).await.unwrap();
            }
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(writer(1_000, [btc(), eth])),
        tokio::spawn(writer(2_000, [eth, btc()]))
    );
    a.unwrap();
    b.unwrap();
    for market in [btc(), eth] {
        let candles = query::candles_1m(&db.conn, Exchange::Bithumb, market)
            .await
            .unwrap();
        assert_eq!(candles.len(), 1);
        assert_eq!(candles[0].trade_count, 40);
        assert_eq!(candles[0].volume, d("40"));
    }
    // Both writers met both markets for the first time at once: each pair got one id.
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .conn
        .query_one(Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM markets",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 2);
}
on_both_backends!(concurrent_writers_never_lose_a_candle_update);
