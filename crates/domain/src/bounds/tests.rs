use super::*;
use crate::event::{Side, TradeId};
use crate::exchange::Exchange;
use crate::market::Market;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn event(payload: Payload, exchange_time: i64, received_time: i64) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Upbit,
        market: Market::parse("BTC").unwrap(),
        exchange_time: UtcMicros(exchange_time),
        received_time: UtcMicros(received_time),
        payload,
        raw: None,
    }
}

fn trade(price: &str, size: &str) -> Payload {
    Payload::Trade(Trade {
        trade_id: TradeId(1),
        price: d(price),
        size: d(size),
        side: Side::Buy,
    })
}

fn book(levels: usize, price: &str, size: &str) -> Payload {
    let level = Level {
        price: d(price),
        size: d(size),
    };
    Payload::OrderBook(OrderBook {
        bids: vec![level; levels],
        asks: vec![level; 1],
    })
}

const NOW: i64 = 1_790_000_000_000_000;

#[test]
fn the_limits_are_the_round_numbers_they_claim() {
    assert_eq!(MAX_PRICE, Decimal::from(10_000_000_000_000u64));
    assert_eq!(MAX_VOLUME, Decimal::from(100_000_000_000_000_000_000u128));
    // The largest notional fits a Decimal with a wide margin: no trade can overflow a candle.
    assert!(MAX_PRICE.checked_mul(MAX_SIZE).is_some());
    assert!(
        MAX_PRICE
            .checked_mul(MAX_SIZE * Decimal::from(700))
            .is_some()
    );
}

#[test]
fn real_events_pass() {
    let bounds = EventBounds::default();
    let ok = event(trade("148000000", "0.00012345"), NOW, NOW + 40_000);
    assert_eq!(bounds.check(&ok), Ok(()));
    let ok = event(book(30, "0.00079276", "2.5"), NOW, NOW);
    assert_eq!(bounds.check(&ok), Ok(()));
    let ticker = Payload::Ticker(Ticker {
        last: d("1.16539E8"),
        prev_close: Some(Decimal::ZERO),
        volume_24h: Some(Decimal::ZERO),
        quote_volume_24h: Some(d("95078733694.3792000000000000")),
        ..Ticker::default()
    });
    assert_eq!(bounds.check(&event(ticker, NOW, NOW)), Ok(()));
}

#[test]
fn bad_values_are_refused_with_the_field_named() {
    let bounds = EventBounds::default();
    let cases = [
        (trade("0", "1"), "price 0 is not positive"),
        (trade("-5", "1"), "price -5 is not positive"),
        (trade("1", "-0.1"), "size -0.1 is not positive"),
        (
            trade("79228162514264337593543950335", "3"),
            "price 79228162514264337593543950335 is above the limit 10000000000000",
        ),
        (book(2, "10", "0"), "bids[0].size 0 is not positive"),
    ];
    for (payload, message) in cases {
        let rejection = bounds.check(&event(payload, NOW, NOW)).unwrap_err();
        assert_eq!(rejection.to_string(), message);
        assert_eq!(rejection.reason(), RejectReason::BadValue);
    }
    let negative_volume = Payload::Ticker(Ticker {
        last: d("1"),
        volume_24h: Some(d("-1")),
        ..Ticker::default()
    });
    let rejection = bounds.check(&event(negative_volume, NOW, NOW)).unwrap_err();
    assert_eq!(rejection.to_string(), "volume_24h -1 is negative");
}

#[test]
fn deep_books_are_refused() {
    let bounds = EventBounds {
        max_levels: 30,
        ..EventBounds::default()
    };
    let rejection = bounds
        .check(&event(book(31, "10", "1"), NOW, NOW))
        .unwrap_err();
    assert_eq!(rejection.reason(), RejectReason::BookDepth);
    assert_eq!(
        rejection.to_string(),
        "order book bids has 31 levels, more than 30"
    );
}

#[test]
fn times_far_from_receipt_are_refused_both_ways() {
    let bounds = EventBounds::default();
    let five_min = 300_000_000;
    for exchange_time in [NOW - five_min, NOW + five_min] {
        assert_eq!(
            bounds.check(&event(trade("1", "1"), exchange_time, NOW)),
            Ok(())
        );
    }
    for exchange_time in [
        NOW - five_min - 1,
        NOW + five_min + 1,
        -9_999_999_999_999_999,
        i64::MIN,
        i64::MAX,
        4_102_444_800_000_000, // 2100-01-01
    ] {
        let rejection = bounds
            .check(&event(trade("1", "1"), exchange_time, NOW))
            .unwrap_err();
        assert_eq!(rejection.reason(), RejectReason::TimeSkew, "{rejection}");
    }
}

#[test]
fn stored_events_need_sane_times_on_both_clocks() {
    let bounds = EventBounds::default();
    let now = UtcMicros(NOW);
    // Old data is fine when replayed: days after it happened.
    let day_old = event(trade("1", "1"), NOW - 86_400_000_000, NOW - 86_400_000_000);
    assert_eq!(bounds.check_stored(&day_old, now), Ok(()));
    for (exchange_time, received_time) in [
        (i64::MIN, NOW),
        (NOW, -1),
        (NOW + 301_000_000, NOW),
        (NOW, i64::MAX),
    ] {
        let rejection = bounds
            .check_stored(&event(trade("1", "1"), exchange_time, received_time), now)
            .unwrap_err();
        assert_eq!(rejection.reason(), RejectReason::TimeSkew, "{rejection}");
    }
}

#[test]
fn reasons_have_fixed_labels_in_order() {
    let labels: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        labels,
        [
            "oversize",
            "book_depth",
            "time_skew",
            "bad_value",
            "unsubscribed"
        ]
    );
    for (i, reason) in RejectReason::ALL.iter().enumerate() {
        assert_eq!(reason.index(), i);
    }
}

#[test]
fn the_fast_limit_comparison_agrees_with_decimal_ordering() {
    let mut values: Vec<Decimal> = [
        "0",
        "-0",
        "0.00000001",
        "1",
        "116539000.00000000",
        "9999999999999.9999999999999999",
        "10000000000000",
        "10000000000000.0000000000000000",
        "10000000000000.0000000000000001",
        "10000000000001",
        "100000000000000000000",
        "100000000000000000000.00000001",
        "79228162514264337593543950335",
        "7.9228162514264337593543950335",
        "-5",
    ]
    .iter()
    .map(|t| t.parse().unwrap())
    .collect();
    // Every scale of a few mantissas, so each side of the limit is met at each scale.
    for scale in 0..=28 {
        for mantissa in [
            1i128,
            10_000_000_000_000,
            99_999_999_999_999,
            i128::from(u64::MAX),
        ] {
            values.push(Decimal::from_i128_with_scale(mantissa, scale));
        }
    }
    for max in [MAX_PRICE, MAX_VOLUME] {
        for value in &values {
            assert_eq!(at_most(*value, max), *value <= max, "{value} <= {max}");
        }
    }
}
