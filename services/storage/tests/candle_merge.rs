//! One table of candle merges, run against the three places a one-minute candle is merged:
//! the domain's `Candle::merge`, storage's SQLite path (merged in Rust after reading the stored
//! candle back) and its PostgreSQL path (merged by the batch statement's upsert). Each case
//! writes its trades in the batches given, in the order given, and states the candles that
//! must result, so the three cannot drift apart.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::{MINUTE, TestDb, btc, d, trade};
use sea_orm::ConnectionTrait as _;
use tickmesh_domain::{
    Candle, CandleInterval, Exchange, MarketEvent, Payload, Side, TradeId, UtcMicros,
};
use tickmesh_storage::{MarketStore, StoreConfig, query};

/// A trade of a case: microseconds after `MINUTE`, id, price, size.
type T = (i64, u64, &'static str, &'static str);

/// A candle a case expects: minute index, open, high, low, close, volume, quote volume,
/// count, first trade (offset, id), last trade (offset, id).
type Expected = (i64, [&'static str; 6], u64, (i64, u64), (i64, u64));

struct Case {
    name: &'static str,
    batches: &'static [&'static [T]],
    expected: &'static [Expected],
}

const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;

const CASES: &[Case] = &[
    Case {
        name: "one trade",
        batches: &[&[(5 * SECOND, 10, "100", "2")]],
        expected: &[(
            0,
            ["100", "100", "100", "100", "2", "200"],
            1,
            (5 * SECOND, 10),
            (5 * SECOND, 10),
        )],
    },
    Case {
        name: "trades out of order inside a batch",
        batches: &[&[
            (30 * SECOND, 12, "103", "1"),
            (10 * SECOND, 11, "101", "1"),
            (50 * SECOND, 13, "102", "1"),
        ]],
        expected: &[(
            0,
            ["101", "103", "101", "102", "3", "306"],
            3,
            (10 * SECOND, 11),
            (50 * SECOND, 13),
        )],
    },
    Case {
        name: "a later batch brings an earlier open and a later close",
        batches: &[
            &[(20 * SECOND, 21, "200", "1")],
            &[
                (5 * SECOND, 20, "190", "0.5"),
                (55 * SECOND, 22, "210", "0.25"),
            ],
        ],
        expected: &[(
            0,
            ["190", "210", "190", "210", "1.75", "347.50"],
            3,
            (5 * SECOND, 20),
            (55 * SECOND, 22),
        )],
    },
    Case {
        name: "a tie on time goes to the trade id",
        batches: &[
            &[(30 * SECOND, 35, "50", "1")],
            &[(30 * SECOND, 33, "40", "1"), (30 * SECOND, 34, "45", "1")],
        ],
        expected: &[(
            0,
            ["40", "50", "40", "50", "3", "135"],
            3,
            (30 * SECOND, 33),
            (30 * SECOND, 35),
        )],
    },
    Case {
        name: "prices compare as numbers, not as text",
        batches: &[&[(SECOND, 40, "9", "1")], &[(2 * SECOND, 41, "10", "1")]],
        expected: &[(
            0,
            ["9", "10", "9", "10", "2", "19"],
            2,
            (SECOND, 40),
            (2 * SECOND, 41),
        )],
    },
    Case {
        name: "fractional sizes sum exactly",
        batches: &[
            &[(SECOND, 50, "158201000", "0.00079276")],
            &[
                (2 * SECOND, 51, "158202000", "0.1"),
                (3 * SECOND, 52, "158200000", "0.2"),
            ],
        ],
        expected: &[(
            0,
            [
                "158201000",
                "158202000",
                "158200000",
                "158200000",
                "0.30079276",
                "47585615.42476000",
            ],
            3,
            (SECOND, 50),
            (3 * SECOND, 52),
        )],
    },
    Case {
        name: "each minute gets its own candle",
        batches: &[&[(59 * SECOND, 60, "7", "1"), (60 * SECOND, 61, "8", "2")]],
        expected: &[
            (
                0,
                ["7", "7", "7", "7", "1", "7"],
                1,
                (59 * SECOND, 60),
                (59 * SECOND, 60),
            ),
            (
                1,
                ["8", "8", "8", "8", "2", "16"],
                1,
                (60 * SECOND, 61),
                (60 * SECOND, 61),
            ),
        ],
    },
    Case {
        name: "a replayed batch is merged once",
        batches: &[
            &[(SECOND, 70, "5", "1"), (2 * SECOND, 71, "6", "1")],
            &[(SECOND, 70, "5", "1"), (2 * SECOND, 71, "6", "1")],
        ],
        expected: &[(
            0,
            ["5", "6", "5", "6", "2", "11"],
            2,
            (SECOND, 70),
            (2 * SECOND, 71),
        )],
    },
];

/// Where case `index` starts: an hour of its own, so every case shares one database.
fn start(index: usize) -> i64 {
    MINUTE + i64::try_from(index).unwrap() * HOUR
}

fn events(start: i64, batch: &[T]) -> Vec<MarketEvent> {
    batch
        .iter()
        .map(|&(offset, id, price, size)| trade(start + offset, id, price, size, Side::Buy))
        .collect()
}

fn expected(start: i64, case: &Case) -> Vec<Candle> {
    case.expected
        .iter()
        .map(
            |&(minute, [open, high, low, close, volume, quote], count, first, last)| Candle {
                open_time: UtcMicros(start + minute * 60 * SECOND),
                open: d(open),
                high: d(high),
                low: d(low),
                close: d(close),
                volume: d(volume),
                quote_volume: d(quote),
                trade_count: count,
                first_trade: (UtcMicros(start + first.0), TradeId(first.1)),
                last_trade: (UtcMicros(start + last.0), TradeId(last.1)),
            },
        )
        .collect()
}

/// The domain merge, fed the way storage feeds it: each batch's new trades only.
fn domain_candles(start: i64, case: &Case) -> Vec<Candle> {
    let mut seen = HashSet::new();
    let mut candles: Vec<Candle> = Vec::new();
    for batch in case.batches {
        for event in events(start, batch) {
            let Payload::Trade(t) = &event.payload else {
                continue;
            };
            if !seen.insert(t.trade_id) {
                continue;
            }
            let one =
                Candle::from_trade(CandleInterval::OneMinute, event.exchange_time, t).unwrap();
            match candles.iter_mut().find(|c| c.open_time == one.open_time) {
                Some(existing) => existing.merge(&one).unwrap(),
                None => candles.push(one),
            }
        }
    }
    candles.sort_by_key(|c| c.open_time);
    candles
}

/// Compares value by value, naming the case and the field that differ.
#[track_caller]
fn check(case: &Case, backend: &str, got: &[Candle], want: &[Candle]) {
    assert_eq!(got.len(), want.len(), "{backend}, {}: {got:?}", case.name);
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{backend}, {}", case.name);
        // Sums keep their exact digits on every backend.
        assert_eq!(
            g.volume.to_string(),
            w.volume.to_string(),
            "{backend}, {}",
            case.name
        );
        assert_eq!(
            g.quote_volume.to_string(),
            w.quote_volume.to_string(),
            "{backend}, {}",
            case.name
        );
    }
}

#[test]
fn the_domain_merge_gives_every_case_its_candles() {
    for (i, case) in CASES.iter().enumerate() {
        let start = start(i);
        check(
            case,
            "domain",
            &domain_candles(start, case),
            &expected(start, case),
        );
    }
}

async fn stored_candles_follow_the_table(db: TestDb) {
    let backend = format!("{:?}", db.conn.get_database_backend());
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    for (i, case) in CASES.iter().enumerate() {
        for batch in case.batches {
            store.write(&events(start(i), batch)).await.unwrap();
        }
    }
    let stored = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    for (i, case) in CASES.iter().enumerate() {
        let hour = start(i)..start(i) + HOUR;
        let own: Vec<Candle> = stored
            .iter()
            .filter(|c| hour.contains(&c.open_time.as_micros()))
            .cloned()
            .collect();
        check(case, &backend, &own, &expected(start(i), case));
    }
}
on_both_backends!(stored_candles_follow_the_table);
