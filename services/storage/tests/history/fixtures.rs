//! The data every history test stores: BTC/KRW trades on Bithumb (many, for pages and
//! roll-ups), ETH/KRW trades on Upbit and Bithumb (few, for hand-computed candles and spreads),
//! and tickers of all three exchanges; plus a by-hand candle computation to check against.

use std::collections::BTreeMap;

use tickmesh_domain::{
    Candle, Decimal, Exchange, Market, MarketEvent, Payload, Side, Ticker, TradeId, UtcMicros,
};
use tickmesh_storage::{HistoryConfig, HistoryReader, MarketStore, StoreConfig};

use crate::common::{MINUTE, TestDb, btc, d, event, ticker, trade};

pub const SECOND: i64 = 1_000_000;
pub const HOUR: i64 = 3_600 * SECOND;

pub fn eth() -> Market {
    Market::parse("eth_krw").unwrap()
}

pub fn on(exchange: Exchange, market: Market, e: MarketEvent) -> MarketEvent {
    MarketEvent {
        exchange,
        market,
        ..e
    }
}

/// A Bithumb BTC/KRW ticker with only a last price.
pub fn last_only(time: i64, last: &str) -> MarketEvent {
    event(
        time,
        Payload::Ticker(Ticker {
            last: d(last),
            open: None,
            high: None,
            low: None,
            prev_close: None,
            volume_24h: None,
            quote_volume_24h: None,
            best_bid: None,
            best_ask: None,
        }),
    )
}

/// 250 Bithumb BTC/KRW trades, two per 7 s over 14.5 minutes; ids fall as time rises, so
/// time order and id order disagree.
pub fn btc_trades() -> Vec<MarketEvent> {
    (0..250u64)
        .map(|i| {
            let time = MINUTE + (i as i64 / 2) * 7 * SECOND;
            let price = format!("{}.{}", 158_000_000 + (i * 37 % 101) * 1_000, i % 3);
            let size = format!("{}E-4", i + 1);
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            trade(time, 10_000 - i, &price, &size, side)
        })
        .collect()
}

/// ETH/KRW on Upbit (hand-computed candles below) and on Bithumb (for the spread).
pub fn eth_trades() -> Vec<MarketEvent> {
    let upbit = |t, id, p, s| on(Exchange::Upbit, eth(), trade(t, id, p, s, Side::Buy));
    let bithumb = |t, id, p, s| on(Exchange::Bithumb, eth(), trade(t, id, p, s, Side::Sell));
    vec![
        upbit(MINUTE + 5 * SECOND, 1, "4000000", "0.5"),
        upbit(MINUTE + 30 * SECOND, 2, "4010000", "0.25"),
        upbit(MINUTE + 65 * SECOND, 4, "3995000", "2"),
        upbit(MINUTE + 65 * SECOND, 3, "3990000", "1.0"),
        upbit(MINUTE + HOUR, 5, "4100000", "0.1"),
        bithumb(MINUTE + 10 * SECOND, 100, "4005000", "1"),
        bithumb(MINUTE + 120 * SECOND, 102, "4000000", "1"),
        bithumb(MINUTE + HOUR + SECOND, 101, "4080000", "1"),
    ]
}

/// The history queries on the test database's own pool, with the default limits.
pub fn reader(db: &TestDb) -> HistoryReader {
    HistoryReader::new(db.conn.clone(), HistoryConfig::default())
}

pub async fn write_all(db: &TestDb) {
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    let trades = btc_trades();
    // Later trades first, in two transactions: candles must not depend on arrival order.
    store.write(&trades[125..]).await.unwrap();
    store.write(&trades[..125]).await.unwrap();
    store.write(&eth_trades()).await.unwrap();
    store
        .write(&[
            on(
                Exchange::Upbit,
                btc(),
                last_only(MINUTE + 1_000, "158000000"),
            ),
            on(Exchange::Upbit, btc(), ticker(MINUTE + 2 * SECOND)),
            last_only(MINUTE + 500, "158100000"),
            on(
                Exchange::Korbit,
                btc(),
                last_only(MINUTE + 3_000, "158150500.5"),
            ),
            on(Exchange::Upbit, eth(), last_only(MINUTE, "4000000")),
        ])
        .await
        .unwrap();
}

/// Value and text (scale) equal.
#[track_caller]
pub fn exact(actual: Decimal, expected: &str) {
    assert_eq!(actual.to_string(), expected);
}

/// Candles computed by hand from the trades: group by bucket, order by (time, id).
pub fn by_hand(
    events: &[MarketEvent],
    exchange: Exchange,
    market: Market,
    width: i64,
) -> Vec<Candle> {
    let mut buckets: BTreeMap<i64, Vec<(i64, u64, Decimal, Decimal)>> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.exchange == exchange && e.market == market)
    {
        let Payload::Trade(t) = &e.payload else {
            continue;
        };
        let time = e.exchange_time.as_micros();
        let bucket = time - time.rem_euclid(width);
        buckets
            .entry(bucket)
            .or_default()
            .push((time, t.trade_id.0, t.price, t.size));
    }
    buckets
        .into_iter()
        .map(|(open_time, mut trades)| {
            trades.sort_by_key(|&(time, id, ..)| (time, id));
            let (first, last) = (trades[0], trades[trades.len() - 1]);
            Candle {
                open_time: UtcMicros(open_time),
                open: first.2,
                high: trades.iter().map(|t| t.2).max().unwrap(),
                low: trades.iter().map(|t| t.2).min().unwrap(),
                close: last.2,
                volume: trades.iter().map(|t| t.3).sum(),
                quote_volume: trades.iter().map(|t| t.2 * t.3).sum(),
                trade_count: trades.len() as u64,
                first_trade: (UtcMicros(first.0), TradeId(first.1)),
                last_trade: (UtcMicros(last.0), TradeId(last.1)),
            }
        })
        .collect()
}

/// OHLCV and open time equal, decimals as text; the first/last trade keys are server-side.
#[track_caller]
pub fn same_candles(actual: &[Candle], expected: &[Candle]) {
    let text = |c: &Candle| {
        (
            c.open_time,
            [c.open, c.high, c.low, c.close, c.volume, c.quote_volume].map(|v| v.to_string()),
            c.trade_count,
        )
    };
    assert_eq!(
        actual.iter().map(text).collect::<Vec<_>>(),
        expected.iter().map(text).collect::<Vec<_>>()
    );
}
