//! Candles rolled up from `candles_1m`, and the spread between exchanges over time.

use tickmesh_domain::{Candle, CandleInterval, Exchange, Market, UtcMicros};
use tickmesh_storage::history::{self, HistoryError};
use tickmesh_storage::query;

use super::fixtures::{HOUR, SECOND, btc_trades, by_hand, eth, reader, same_candles, write_all};
use crate::common::{MINUTE, TestDb, btc};

async fn candles_roll_up_exactly(db: TestDb) {
    write_all(&db).await;
    let history = reader(&db);
    let (start, end) = (UtcMicros(MINUTE - HOUR), UtcMicros(MINUTE + 2 * HOUR));
    let all = btc_trades();
    for (interval, width) in [
        (CandleInterval::OneMinute, 60 * SECOND),
        (CandleInterval::FiveMinutes, 300 * SECOND),
        (CandleInterval::FifteenMinutes, 900 * SECOND),
        (CandleInterval::OneHour, HOUR),
        (CandleInterval::OneDay, 24 * HOUR),
    ] {
        let got = history
            .candles(Exchange::Bithumb, btc(), interval, start, end)
            .await
            .unwrap();
        let want = by_hand(&all, Exchange::Bithumb, btc(), width);
        same_candles(&got, &want);
        assert!(
            got.iter().all(|c| c.open_time.as_micros() % width == 0),
            "{interval} aligned"
        );
    }
    let stored = query::candles_1m(&db.conn, Exchange::Bithumb, btc())
        .await
        .unwrap();
    let minutes = history
        .candles(
            Exchange::Bithumb,
            btc(),
            CandleInterval::OneMinute,
            start,
            end,
        )
        .await
        .unwrap();
    assert_eq!(minutes, stored);
    assert_eq!(minutes.len(), 15);

    // By hand: MINUTE is 3 minutes into a 5-minute bucket and 18 minutes into an hour.
    let row = |c: &Candle| {
        let v = [c.open, c.high, c.low, c.close, c.volume, c.quote_volume].map(|v| v.to_string());
        (c.open_time.as_micros() - MINUTE, v, c.trade_count)
    };
    let s = |v: [&str; 6]| v.map(str::to_owned);
    let eth_candles = |interval| history.candles(Exchange::Upbit, eth(), interval, start, end);
    let five = eth_candles(CandleInterval::FiveMinutes).await.unwrap();
    assert_eq!(
        five.iter().map(row).collect::<Vec<_>>(),
        [
            (
                -180 * SECOND,
                s([
                    "4000000",
                    "4010000",
                    "3990000",
                    "3995000",
                    "3.75",
                    "14982500.00"
                ]),
                4
            ),
            (
                HOUR - 180 * SECOND,
                s([
                    "4100000", "4100000", "4100000", "4100000", "0.1", "410000.0"
                ]),
                1
            ),
        ]
    );
    let hours = eth_candles(CandleInterval::OneHour).await.unwrap();
    assert_eq!(
        hours.iter().map(row).collect::<Vec<_>>(),
        [
            (
                -1_080 * SECOND,
                s([
                    "4000000",
                    "4010000",
                    "3990000",
                    "3995000",
                    "3.75",
                    "14982500.00"
                ]),
                4
            ),
            (
                HOUR - 1_080 * SECOND,
                s([
                    "4100000", "4100000", "4100000", "4100000", "0.1", "410000.0"
                ]),
                1
            ),
        ]
    );
    let ones = eth_candles(CandleInterval::OneMinute).await.unwrap();
    assert_eq!(
        ones.iter().map(row).collect::<Vec<_>>()[..2],
        [
            (
                0,
                s([
                    "4000000",
                    "4010000",
                    "4000000",
                    "4010000",
                    "0.75",
                    "3002500.00"
                ]),
                2
            ),
            (
                60 * SECOND,
                s([
                    "3990000",
                    "3995000",
                    "3990000",
                    "3995000",
                    "3.0",
                    "11980000.0"
                ]),
                2
            ),
        ]
    );

    // A start inside a bucket still yields the whole bucket.
    let mid = history
        .candles(
            Exchange::Upbit,
            eth(),
            CandleInterval::FiveMinutes,
            UtcMicros(MINUTE + 60 * SECOND),
            UtcMicros(MINUTE + 61 * SECOND),
        )
        .await
        .unwrap();
    same_candles(&mid, &five[..1]);
    let too_long = history
        .candles(
            Exchange::Upbit,
            eth(),
            CandleInterval::OneMinute,
            UtcMicros(0),
            end,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        too_long,
        HistoryError::InvalidArgument {
            field: "start_time",
            ..
        }
    ));
}
crate::on_both_backends!(candles_roll_up_exactly);

async fn spread_history_where_both_traded(db: TestDb) {
    write_all(&db).await;
    let history = reader(&db);
    let (start, end) = (UtcMicros(MINUTE - HOUR), UtcMicros(MINUTE + 2 * HOUR));
    let spread = |interval| {
        history.spread_history(
            eth(),
            Exchange::Upbit,
            Exchange::Bithumb,
            interval,
            start,
            end,
        )
    };
    let text = |p: &history::SpreadPoint| {
        let v = [p.base_close, p.other_close, p.spread].map(|v| v.to_string());
        (
            p.time.as_micros() - MINUTE,
            v,
            p.percent.map(|p| p.to_string()),
        )
    };
    let s = |v: [&str; 3]| v.map(str::to_owned);
    let p = |v: &str| Some(v.to_owned());
    // Bithumb's MINUTE + 2 min has no Upbit candle: no point.
    let minutes = spread(CandleInterval::OneMinute).await.unwrap();
    assert_eq!(
        minutes.iter().map(text).collect::<Vec<_>>(),
        [
            (0, s(["4010000", "4005000", "-5000"]), p("-0.1247")),
            (HOUR, s(["4100000", "4080000", "-20000"]), p("-0.4878")),
        ]
    );
    let hours = spread(CandleInterval::OneHour).await.unwrap();
    assert_eq!(
        hours.iter().map(text).collect::<Vec<_>>(),
        [
            (
                -1_080 * SECOND,
                s(["3995000", "4000000", "5000"]),
                p("0.1252")
            ),
            (
                HOUR - 1_080 * SECOND,
                s(["4100000", "4080000", "-20000"]),
                p("-0.4878")
            ),
        ]
    );
    let same = history
        .spread_history(
            eth(),
            Exchange::Upbit,
            Exchange::Upbit,
            CandleInterval::OneHour,
            start,
            end,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        same,
        HistoryError::InvalidArgument {
            field: "other_exchange",
            ..
        }
    ));
    let nothing = history
        .spread_history(
            Market::parse("DOGE").unwrap(),
            Exchange::Upbit,
            Exchange::Korbit,
            CandleInterval::OneDay,
            start,
            end,
        )
        .await
        .unwrap();
    assert!(nothing.is_empty());
}
crate::on_both_backends!(spread_history_where_both_traded);
