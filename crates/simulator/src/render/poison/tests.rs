//! Every poison frame, in every dialect, read by tickmesh's own parsers: each carries exactly
//! the hostile value it is named for, and is otherwise a frame the parsers accept.

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Market, MarketEvent, Payload, UtcMicros};
use tickmesh_exchanges::{Control, FrameError, korbit as korbit_wire, quotation as wire};

use super::*;

const NOW_MS: i64 = 1_790_000_000_000;

fn btc() -> Market {
    Market::parse("BTC").unwrap()
}

/// Each dialect's frame of `poison`, parsed: (dialect name, frame length, parse result).
fn parsed(poison: Poison) -> Vec<(String, usize, Result<Vec<MarketEvent>, FrameError>)> {
    let received = UtcMicros::from_millis(NOW_MS);
    let mut out = Vec::new();
    for exchange in [Exchange::Upbit, Exchange::Bithumb] {
        for keys in [Keys::Default, Keys::Simple] {
            let frame = quotation(exchange, keys, btc(), poison, 100_000, NOW_MS).unwrap();
            let mut events = Vec::new();
            let result =
                wire::parse_frame(exchange, frame.as_bytes(), received, false, &mut events).map(
                    |control| {
                        assert_eq!(control, Control::Data);
                        events
                    },
                );
            out.push((format!("{exchange} {keys:?}"), frame.len(), result));
        }
    }
    let frame = korbit(btc(), poison, 100_000, NOW_MS).unwrap();
    let mut events = Vec::new();
    let result =
        korbit_wire::parse_frame(frame.as_bytes(), received, false, &mut events).map(|control| {
            assert_eq!(control, Control::Data);
            events
        });
    out.push(("korbit".to_owned(), frame.len(), result));
    out
}

/// The one trade each dialect's frame of `poison` holds, with its market and time.
fn trades(poison: Poison) -> Vec<(String, Market, UtcMicros, tickmesh_domain::Trade)> {
    parsed(poison)
        .into_iter()
        .map(|(dialect, _, result)| {
            let events = result.unwrap_or_else(|e| panic!("{dialect}: {e}"));
            assert_eq!(events.len(), 1, "{dialect}");
            let event = events.into_iter().next().unwrap();
            let Payload::Trade(trade) = event.payload else {
                panic!("{dialect}: not a trade")
            };
            assert!(trade.trade_id.0 >= POISON_ID_BASE, "{dialect}");
            (dialect, event.market, event.exchange_time, trade)
        })
        .collect()
}

#[test]
fn poison_trades_carry_their_hostile_value_and_nothing_else_wrong() {
    for (dialect, market, time, trade) in trades(Poison::NegativeTime) {
        assert_eq!((market, time), (btc(), UtcMicros(i64::MIN)), "{dialect}");
        assert_eq!(trade.price, Decimal::from(1000), "{dialect}");
    }
    for (dialect, _, time, _) in trades(Poison::FarFuture) {
        assert_eq!(time, UtcMicros::from_millis(4_102_444_800_000), "{dialect}");
    }
    for (dialect, _, time, trade) in trades(Poison::HugePrice) {
        assert_eq!(
            (trade.price, trade.size),
            (Decimal::MAX, Decimal::from(3)),
            "{dialect}"
        );
        assert_eq!(time, UtcMicros::from_millis(NOW_MS), "{dialect}");
    }
    for (dialect, market, _, _) in trades(Poison::Unsubscribed) {
        assert_eq!(market, Market::parse(FAKE_MARKET).unwrap(), "{dialect}");
    }
}

#[test]
fn the_oversize_frame_is_a_valid_trade_past_two_mebibytes() {
    for (dialect, len, _) in parsed(Poison::Oversize) {
        assert!(len > OVERSIZE_BYTES, "{dialect}: {len}");
    }
    for (dialect, market, _, _) in trades(Poison::Oversize) {
        assert_eq!(market, btc(), "{dialect}");
    }
}

#[test]
fn the_deep_book_has_a_thousand_levels_a_side_under_the_frame_limit() {
    for (dialect, len, result) in parsed(Poison::DeepBook) {
        assert!(len < 1024 * 1024, "{dialect}: {len}");
        let events = result.unwrap_or_else(|e| panic!("{dialect}: {e}"));
        let Payload::OrderBook(book) = &events[0].payload else {
            panic!("{dialect}: not a book")
        };
        assert_eq!(
            (book.bids.len(), book.asks.len()),
            (1000, 1000),
            "{dialect}"
        );
        assert!(
            book.bids
                .iter()
                .chain(&book.asks)
                .all(|l| l.price > Decimal::ZERO)
        );
    }
}

#[test]
fn the_deeply_nested_frame_is_valid_json_no_parser_accepts() {
    for (dialect, len, result) in parsed(Poison::DeepNesting) {
        assert!(len > 20_000, "{dialect}");
        assert!(result.is_err(), "{dialect}: {result:?}");
    }
    // Balanced: the same frame nested shallowly is valid JSON.
    let frame = korbit(btc(), Poison::DeepNesting, 1, NOW_MS).unwrap();
    let shallow = frame
        .replace(&"[".repeat(NESTING), "[[")
        .replace(&"]".repeat(NESTING), "]]");
    assert!(shallow.len() < 200, "{shallow}");
    let valid = serde_json::from_str::<serde_json::Value>(&shallow);
    assert!(valid.is_ok(), "{shallow}: {valid:?}");
}

#[test]
fn nothing_is_subscribed_nothing_is_sent() {
    use crate::ws::Dialect as _;
    let clock = crate::ExchangeClock::real();
    let engine = crate::engine::Engine::new(Exchange::Upbit, &[btc()], 1, 10, 30, false, clock);
    let idle = crate::ws::quotation::Quotation::new(Exchange::Upbit);
    assert_eq!(idle.poison(Poison::HugePrice, &engine, NOW_MS), None);
}
