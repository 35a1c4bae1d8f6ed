//! `storage.ticker_interval` on SQLite and PostgreSQL: one stored ticker per market per
//! interval of exchange time, carried across batches and across a restarted writer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{MINUTE, TestDb, btc, ticker};
use tickmesh_domain::Exchange;
use tickmesh_storage::{MarketStore, StoreConfig, query};

async fn tickers_are_sampled_per_market_when_asked(db: TestDb) {
    let ms = |n: i64| MINUTE + n * 1_000;
    let sampled = |db: &TestDb| {
        MarketStore::new(
            db.conn.clone(),
            StoreConfig {
                ticker_interval: Some(Duration::from_secs(1)),
                ..StoreConfig::default()
            },
        )
    };
    let mut other_market = ticker(ms(300));
    other_market.exchange = Exchange::Upbit;
    let mut writer = sampled(&db);
    let first = writer
        .write(&[
            ticker(ms(0)),
            ticker(ms(300)),
            other_market,
            ticker(ms(1_000)),
        ])
        .await
        .unwrap();
    assert_eq!((first.tickers, first.tickers_sampled_out), (3, 1));
    // The interval runs from the last kept ticker, across batches.
    let second = writer
        .write(&[ticker(ms(1_999)), ticker(ms(2_000)), ticker(ms(2_500))])
        .await
        .unwrap();
    assert_eq!((second.tickers, second.tickers_sampled_out), (1, 2));
    // A new writer (a restarted storage) goes on from what is stored.
    let third = sampled(&db)
        .write(&[ticker(ms(2_900)), ticker(ms(3_000))])
        .await
        .unwrap();
    assert_eq!((third.tickers, third.tickers_sampled_out), (1, 1));
    let times: Vec<i64> = query::tickers(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap()
        .iter()
        .map(|t| t.exchange_time.as_micros())
        .collect();
    assert_eq!(times, [ms(0), ms(1_000), ms(2_000), ms(3_000)]);
    // Without an interval every ticker is stored.
    let all = MarketStore::new(db.conn.clone(), StoreConfig::default())
        .write(&[ticker(ms(3_001)), ticker(ms(3_002))])
        .await
        .unwrap();
    assert_eq!((all.tickers, all.tickers_sampled_out), (2, 0));
}
on_both_backends!(tickers_are_sampled_per_market_when_asked);
