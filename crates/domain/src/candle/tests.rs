use super::*;
use crate::decimal::parse_decimal;
use crate::event::Side;

fn trade(id: u64, price: &str, size: &str) -> Trade {
    Trade {
        trade_id: TradeId(id),
        price: parse_decimal(price).unwrap(),
        size: parse_decimal(size).unwrap(),
        side: Side::Buy,
    }
}

fn d(s: &str) -> Decimal {
    parse_decimal(s).unwrap()
}

const MINUTE: i64 = 60_000_000;

#[test]
fn merging_is_independent_of_arrival_order() {
    let t0 = UtcMicros(10 * MINUTE);
    let trades = [
        (t0.add_micros(1_000), trade(1, "100", "0.5")),
        (t0.add_micros(2_000), trade(2, "105", "0.1")),
        (t0.add_micros(3_000), trade(3, "95", "0.2")),
        (t0.add_micros(4_000), trade(4, "101", "1")),
    ];
    let build = |order: &[usize]| {
        let mut iter = order.iter().map(|&i| {
            let (time, t) = &trades[i];
            Candle::from_trade(CandleInterval::OneMinute, *time, t).unwrap()
        });
        let mut candle = iter.next().unwrap();
        for c in iter {
            candle.merge(&c).unwrap();
        }
        candle
    };
    let in_order = build(&[0, 1, 2, 3]);
    assert_eq!(in_order, build(&[3, 1, 0, 2]));
    assert_eq!(in_order, build(&[2, 3, 1, 0]));
    assert_eq!(in_order.open_time, t0);
    assert_eq!(
        (in_order.open, in_order.high, in_order.low, in_order.close),
        (d("100"), d("105"), d("95"), d("101"))
    );
    assert_eq!(in_order.volume, d("1.8"));
    assert_eq!(
        in_order.quote_volume,
        d("50") + d("10.5") + d("19") + d("101")
    );
    assert_eq!(in_order.trade_count, 4);
}

#[test]
fn equal_times_break_ties_by_trade_id() {
    let t = UtcMicros(5 * MINUTE);
    let mut a = Candle::from_trade(CandleInterval::OneMinute, t, &trade(7, "10", "1")).unwrap();
    let b = Candle::from_trade(CandleInterval::OneMinute, t, &trade(6, "11", "1")).unwrap();
    a.merge(&b).unwrap();
    assert_eq!((a.open, a.close), (d("11"), d("10")));
}

#[test]
fn rolls_one_minute_candles_up_to_larger_intervals() {
    let minutes: Vec<Candle> = (0..12)
        .map(|m| {
            let time = UtcMicros(m * MINUTE + 30_000_000);
            Candle::from_trade(
                CandleInterval::OneMinute,
                time,
                &trade(m as u64, &format!("{}", 100 + m), "1"),
            )
            .unwrap()
        })
        .collect();
    let five = Candle::roll_up(minutes.clone(), CandleInterval::FiveMinutes).unwrap();
    assert_eq!(five.len(), 3);
    assert_eq!(five[0].open_time, UtcMicros(0));
    assert_eq!(
        (five[0].open, five[0].close, five[0].trade_count),
        (d("100"), d("104"), 5)
    );
    assert_eq!(five[2].open_time, UtcMicros(10 * MINUTE));
    assert_eq!(
        (five[2].open, five[2].high, five[2].trade_count),
        (d("110"), d("111"), 2)
    );
    let hour = Candle::roll_up(minutes, CandleInterval::OneHour).unwrap();
    assert_eq!(hour.len(), 1);
    assert_eq!(
        (hour[0].low, hour[0].high, hour[0].volume),
        (d("100"), d("111"), d("12"))
    );
}

#[test]
fn overflowing_sums_are_refused_and_leave_the_candle_as_it_was() {
    let t = UtcMicros(5 * MINUTE);
    // The trade of the report that stopped storage: Decimal::MAX times 3.
    let poison = trade(1, "79228162514264337593543950335", "3");
    assert_eq!(
        Candle::from_trade(CandleInterval::OneMinute, t, &poison),
        Err(CandleOverflow {
            field: "quote_volume"
        })
    );
    let big = trade(2, "79228162514264337593543950335", "1");
    let mut a = Candle::from_trade(CandleInterval::OneMinute, t, &big).unwrap();
    let before = a.clone();
    let b = Candle::from_trade(CandleInterval::OneMinute, t, &trade(3, "1", "1")).unwrap();
    assert_eq!(
        a.merge(&b),
        Err(CandleOverflow {
            field: "quote_volume"
        })
    );
    assert_eq!(a, before);
    assert!(Candle::roll_up([a, b], CandleInterval::OneHour).is_err());
}

#[test]
fn intervals_parse_from_their_short_names() {
    for i in CandleInterval::ALL {
        assert_eq!(i.as_str().parse::<CandleInterval>(), Ok(i));
    }
    assert_eq!(CandleInterval::OneDay.duration().as_secs(), 86_400);
    assert!("2m".parse::<CandleInterval>().is_err());
}
