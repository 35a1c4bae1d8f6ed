//! The database's roll-up against the Rust one: over three days of minutes the writer stored,
//! every interval's candles and spread points equal what [`Candle::roll_up`] makes of the
//! same minutes, to the digit, the scale and the first and last trade.

use tickmesh_domain::{Candle, CandleInterval, Exchange, Side, UtcMicros};
use tickmesh_storage::history::SpreadPoint;
use tickmesh_storage::{MarketStore, StoreConfig, query};

use super::fixtures::{HOUR, SECOND, on, reader};
use crate::common::{MINUTE, TestDb, btc, trade};

const DAY: i64 = 24 * HOUR;

/// Midnight UTC before the fixtures' minute.
fn midnight() -> i64 {
    MINUTE - MINUTE.rem_euclid(DAY)
}

/// Trades from two hours before midnight to three days after, one to three a minute, some
/// minutes empty. Prices repeat across minutes in different spellings (`4012000`,
/// `4012000.0`, `4012000.00`), so equal highs and lows of different scale meet in one bucket;
/// trade ids fall as time rises in every other minute, and some trades share a time.
pub(super) fn minutes_of_trades(
    exchange: Exchange,
    salt: u64,
) -> Vec<tickmesh_domain::MarketEvent> {
    let start = midnight() - 2 * HOUR;
    let mut events = Vec::new();
    for m in 0..(3 * 1_440 + 120) as u64 {
        if (m + salt) % 17 == 5 {
            continue;
        }
        for j in 0..1 + (m + salt) % 3 {
            let offset = if m % 5 == 0 && j > 0 {
                13
            } else {
                13 * j as i64
            };
            let time = start + m as i64 * 60 * SECOND + offset * SECOND;
            let k = m * 4 + j;
            let id = if m % 2 == 0 {
                10_000_000 - k
            } else {
                10_000_000 + k
            };
            let base = 4_000_000 + ((m * 37 + j * 11 + salt) % 101) * 1_000;
            let price = match (m + j) % 3 {
                0 => format!("{base}"),
                1 => format!("{base}.0"),
                _ => format!("{base}.00"),
            };
            let size = format!("{}E-4", 1 + (m * 7 + j) % 5_000);
            events.push(on(
                exchange,
                btc(),
                trade(time, id, &price, &size, Side::Buy),
            ));
        }
    }
    events
}

async fn write(db: &TestDb) {
    let mut store = MarketStore::new(db.conn.clone(), StoreConfig::default());
    for exchange in [Exchange::Bithumb, Exchange::Upbit] {
        let salt = if exchange == Exchange::Upbit { 7 } else { 0 };
        for batch in minutes_of_trades(exchange, salt).chunks(2_000) {
            store.write(batch).await.unwrap();
        }
    }
}

/// Everything a candle holds, decimals as text so the scale counts.
fn text(c: &Candle) -> String {
    format!(
        "{} o={} h={} l={} c={} v={} q={} n={} first={:?} last={:?}",
        c.open_time.as_micros(),
        c.open,
        c.high,
        c.low,
        c.close,
        c.volume,
        c.quote_volume,
        c.trade_count,
        c.first_trade,
        c.last_trade
    )
}

/// `Candle::roll_up` over the stored minutes of the buckets that start in `[start, end)`.
async fn by_rust(
    db: &TestDb,
    exchange: Exchange,
    interval: CandleInterval,
    start: i64,
    end: i64,
) -> Vec<Candle> {
    let w = interval.duration().as_micros() as i64;
    let (first, stop) = (
        start - start.rem_euclid(w),
        end - 1 - (end - 1).rem_euclid(w) + w,
    );
    let minutes = query::candles_1m(&db.conn, exchange, btc())
        .await
        .unwrap()
        .into_iter()
        .filter(|c| (first..stop).contains(&c.open_time.as_micros()));
    Candle::roll_up(minutes, interval).unwrap()
}

async fn the_database_rolls_up_as_rust_does(db: TestDb) {
    write(&db).await;
    rolls_up_as_rust_does(&db).await;
}
crate::on_both_backends!(the_database_rolls_up_as_rust_does);

/// Every interval's candles and the 1h and 1d spreads of what [`minutes_of_trades`] wrote for
/// Bithumb and Upbit equal [`Candle::roll_up`] of the stored minutes.
pub(super) async fn rolls_up_as_rust_does(db: &TestDb) {
    let history = reader(db);
    // Whole range, then one starting and ending inside buckets.
    let whole = (midnight() - DAY, midnight() + 3 * DAY);
    let inside = (
        midnight() + 7 * HOUR + 5,
        midnight() + 2 * DAY + 90 * SECOND,
    );
    for (start, end) in [whole, inside] {
        for interval in CandleInterval::ALL {
            let got = history
                .candles(
                    Exchange::Bithumb,
                    btc(),
                    interval,
                    UtcMicros(start),
                    UtcMicros(end),
                )
                .await
                .unwrap();
            let want = by_rust(db, Exchange::Bithumb, interval, start, end).await;
            assert!(!want.is_empty());
            assert_eq!(
                got.iter().map(text).collect::<Vec<_>>(),
                want.iter().map(text).collect::<Vec<_>>(),
                "{interval} over {start}..{end}"
            );
        }
    }
    // Four days: the first partial, three of 1,440 minutes less the empty ones.
    let days = history
        .candles(
            Exchange::Bithumb,
            btc(),
            CandleInterval::OneDay,
            UtcMicros(whole.0),
            UtcMicros(whole.1),
        )
        .await
        .unwrap();
    assert_eq!(days.len(), 4);
    assert!(days[1].trade_count > 1_440, "{}", text(&days[1]));

    for interval in [CandleInterval::OneHour, CandleInterval::OneDay] {
        let got = history
            .spread_history(
                btc(),
                Exchange::Upbit,
                Exchange::Bithumb,
                interval,
                UtcMicros(whole.0),
                UtcMicros(whole.1),
            )
            .await
            .unwrap();
        let base = by_rust(db, Exchange::Upbit, interval, whole.0, whole.1).await;
        let other = by_rust(db, Exchange::Bithumb, interval, whole.0, whole.1).await;
        let want: Vec<SpreadPoint> = base
            .iter()
            .filter_map(|b| {
                let o = other.iter().find(|o| o.open_time == b.open_time)?;
                Some((b, o))
            })
            .map(|(b, o)| SpreadPoint {
                time: b.open_time,
                base_close: b.close,
                other_close: o.close,
                spread: o.close - b.close,
                percent: None,
            })
            .collect();
        let points = |p: &[SpreadPoint]| {
            p.iter()
                .map(|p| {
                    format!(
                        "{:?} {} {} {}",
                        p.time, p.base_close, p.other_close, p.spread
                    )
                })
                .collect::<Vec<_>>()
        };
        assert!(!want.is_empty());
        assert_eq!(points(&got), points(&want), "{interval}");
    }
}
