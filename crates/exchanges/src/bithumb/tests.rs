//! Complete Bithumb payloads, verbatim as the exchange sends and documents them, each parsed to
//! the values it holds.

use tickmesh_domain::{Exchange, Market, Side, UtcMicros};

use super::parse_frame;
use super::rest::parse_markets;
use crate::Control;
use crate::testing::{assert_trade, book, control, d, levels, one, ticker};

const TICKER_DOC: &str = r#"{
    "type": "ticker",
    "code": "KRW-BTC",
    "opening_price": 484500,
    "high_price": 493100,
    "low_price": 472500,
    "trade_price": 493100,
    "prev_closing_price": 484500,
    "change": "RISE",
    "change_price": 8600,
    "signed_change_price": 8600,
    "change_rate": 0.01775026,
    "signed_change_rate": 0.01775026,
    "trade_volume": 1.2567,
    "acc_trade_volume": 225.622,
    "acc_trade_volume_24h": 13386.15417512,
    "acc_trade_price": 108663718.238256,
    "acc_trade_price_24h": 8230696760.346009,
    "trade_date": "20240910",
    "trade_time": "091617",
    "trade_timestamp": 1725927377820,
    "ask_bid": "BID",
    "acc_ask_volume": 106.7561,
    "acc_bid_volume": 118.8659,
    "highest_52_week_price": 999999000,
    "highest_52_week_date": "2024-06-18",
    "lowest_52_week_price": 1000,
    "lowest_52_week_date": "2024-06-18",
    "market_state": "ACTIVE",
    "is_trading_suspended": false,
    "delisting_date": null,
    "market_warning": "NONE",
    "timestamp": 1725927377931,
    "stream_type": "REALTIME"
}"#;
const TICKER_LIVE_TRIMMED: &str = r#"{"type":"ticker","code":"KRW-BTC","trade_price":116208000,"trade_date":"20260923","trade_time":"121833","trade_timestamp":1790133513858,"market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":"","market_warning":"NONE","timestamp":1790133514044,"stream_type":"REALTIME"}"#;
const TICKER_LIVE_FULL: &str = r#"{"type":"ticker","code":"KRW-BTC","opening_price":94223000,"high_price":95465000,"low_price":93601000,"trade_price":95299000,"prev_closing_price":94201000,"change":"RISE","change_price":1098000,"signed_change_price":1098000,"change_rate":0.01165593,"signed_change_rate":0.01165593,"trade_volume":0.0094,"acc_trade_volume":151.44914647,"acc_trade_volume_24h":310.44065227,"acc_trade_price":14330306973.41015,"acc_trade_price_24h":29226371799.56915,"trade_date":"20260710","trade_time":"124548","trade_timestamp":1783655148303,"ask_bid":"BID","acc_ask_volume":52.30413928,"acc_bid_volume":99.14500719,"highest_52_week_price":179734000,"highest_52_week_date":"2025-10-09","lowest_52_week_price":81110000,"lowest_52_week_date":"2026-02-06","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":"","market_warning":"NONE","timestamp":1783655148485,"stream_type":"REALTIME"}"#;
const TRADE_DOC: &str = r#"{
    "type": "trade",
    "code": "KRW-BTC",
    "trade_price": 489700,
    "trade_volume": 1.4825,
    "ask_bid": "BID",
    "prev_closing_price": 484500,
    "change": "RISE",
    "change_price": 5200,
    "trade_date": "2024-09-10",
    "trade_time": "09:58:54",
    "trade_timestamp": 1725929934373,
    "sequential_id": 17259299343730000,
    "timestamp": 1725929934483,
    "stream_type": "REALTIME"
}"#;
const TRADE_LIVE: &str = r#"{"type":"trade","code":"KRW-BTC","trade_price":116208000,"trade_volume":0.0009,"ask_bid":"BID","trade_date":"2026-09-23","trade_time":"12:18:33","trade_timestamp":1790133513739,"sequential_id":1079953210371761700,"timestamp":1790133514039,"stream_type":"REALTIME"}"#;
const BOOK_SNAPSHOT: &str = r#"{"type":"orderbook","code":"KRW-ETH","total_ask_size":369.9832,"total_bid_size":287.0216,"orderbook_units":[{"ask_price":3715000,"bid_price":3714000,"ask_size":8.4592,"bid_size":3.012},{"ask_price":3716000,"bid_price":3713000,"ask_size":3.3766,"bid_size":15.399},{"ask_price":3717000,"bid_price":3712000,"ask_size":4.1755,"bid_size":135.5129}],"level":1,"timestamp":1790133505546514,"stream_type":"SNAPSHOT"}"#;
const BOOK_NEXT: &str = r#"{"type":"orderbook","code":"KRW-ETH","total_ask_size":370.1063,"total_bid_size":288.3156,"orderbook_units":[{"ask_price":3715000,"bid_price":3714000,"ask_size":8.4592,"bid_size":4.106},{"ask_price":3716000,"bid_price":3713000,"ask_size":3.3766,"bid_size":15.599},{"ask_price":3717000,"bid_price":3712000,"ask_size":4.1755,"bid_size":135.5129}],"level":1,"timestamp":1790133505627050,"stream_type":"REALTIME"}"#;
const BOOK_SIZE_ZERO: &str = r#"{"type":"orderbook","code":"KRW-BTC","total_ask_size":0.7111,"total_bid_size":7.1052,"orderbook_units":[{"ask_price":116208000,"bid_price":116204000,"ask_size":0.3313,"bid_size":0.0037},{"ask_price":116209000,"bid_price":116203000,"ask_size":0.0001,"bid_size":0.0025},{"ask_price":116215000,"bid_price":116201000,"ask_size":0,"bid_size":0.0004}],"level":1,"timestamp":1790133505564033,"stream_type":"SNAPSHOT"}"#;
const BOOK_PADDING_FRAGMENT: &str = r#"{"orderbook_units":[{"ask_price":120000000,"bid_price":113000000,"ask_size":15.721,"bid_size":5.5544},{"ask_price":0,"bid_price":112000000,"ask_size":0,"bid_size":6.1459},{"ask_price":0,"bid_price":111000000,"ask_size":0,"bid_size":2.9321}]}"#;
const BOOK_SIMPLE_CUT: &str = r#"{"ty":"orderbook","cd":"KRW-BTC","tas":0.1823,"tbs":6.9593,"obu":[{"ap":116279000,"bp":116267000,"as":0.0892,"bs":0.0084},{"ap":116280000,"bp":116248000,"as":0.0087,"bs":0.0213},{"ap":116290000,"bp":116239000,"as":0.0025,"bs":0.0024}]}"#;
const BOOK_DOC: &str = r#"{
    "type": "orderbook",
    "code": "KRW-BTC",
    "total_ask_size": 450.3526,
    "total_bid_size": 63.3006,
    "orderbook_units": [
        {"ask_price": 478800, "bid_price": 478300, "ask_size": 4.3478, "bid_size": 5.6370},
        {"ask_price": 489700, "bid_price": 477900, "ask_size": 2.3642, "bid_size": 0.9705},
        {"ask_price": 493100, "bid_price": 471200, "ask_size": 411.8686, "bid_size": 3.9279}
    ],
    "level": 1,
    "timestamp": 1725930007672,
    "stream_type": "REALTIME"
}"#;

#[test]
fn tickers() {
    let e = one(parse_frame, TICKER_DOC);
    assert_eq!(e.exchange, Exchange::Bithumb);
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_725_927_377_931));
    let t = ticker(&e);
    assert_eq!(t.last, d("493100"));
    assert_eq!(
        (t.open, t.high, t.low),
        (Some(d("484500")), Some(d("493100")), Some(d("472500")))
    );
    assert_eq!(t.volume_24h, Some(d("13386.15417512")));
    assert_eq!(t.quote_volume_24h, Some(d("8230696760.346009")));

    // `delisting_date: ""` and a trimmed field set.
    let e = one(parse_frame, TICKER_LIVE_TRIMMED);
    assert_eq!(ticker(&e).last, d("116208000"));
    assert_eq!(ticker(&e).open, None);
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_790_133_514_044));

    let e = one(parse_frame, TICKER_LIVE_FULL);
    assert_eq!(ticker(&e).last, d("95299000"));
    assert_eq!(ticker(&e).prev_close, Some(d("94201000")));
}

#[test]
fn trades_with_number_and_string_ids() {
    let e = one(parse_frame, TRADE_DOC);
    assert_trade(
        &e,
        17_259_299_343_730_000,
        "489700",
        "1.4825",
        Side::Buy,
        1_725_929_934_373,
    );
    let e = one(parse_frame, TRADE_LIVE);
    assert_trade(
        &e,
        1_079_953_210_371_761_700,
        "116208000",
        "0.0009",
        Side::Buy,
        1_790_133_513_739,
    );
    // ccxt quotes `sequential_id` and `timestamp` as strings.
    let quoted = TRADE_LIVE
        .replace("1079953210371761700", "\"862683813820523888\"")
        .replace("1790133513739", "\"1790133513739\"");
    let e = one(parse_frame, &quoted);
    assert_trade(
        &e,
        862_683_813_820_523_888,
        "116208000",
        "0.0009",
        Side::Buy,
        1_790_133_513_739,
    );
}

#[test]
fn order_books_in_microseconds_and_milliseconds() {
    let e = one(parse_frame, BOOK_SNAPSHOT);
    assert_eq!(e.market, Market::parse("ETH/KRW").unwrap());
    assert_eq!(
        e.exchange_time,
        UtcMicros::from_micros(1_790_133_505_546_514)
    );
    let b = book(&e);
    assert_eq!(
        b.asks,
        levels(&[
            ("3715000", "8.4592"),
            ("3716000", "3.3766"),
            ("3717000", "4.1755")
        ])
    );
    assert_eq!(
        b.bids,
        levels(&[
            ("3714000", "3.012"),
            ("3713000", "15.399"),
            ("3712000", "135.5129")
        ])
    );

    let e = one(parse_frame, BOOK_NEXT);
    assert_eq!(
        e.exchange_time,
        UtcMicros::from_micros(1_790_133_505_627_050)
    );
    assert_eq!(book(&e).bids[0].size, d("4.106"));

    // A size rounded to 0 at a live price is dropped; its bid on the same row stays.
    let b = book(&one(parse_frame, BOOK_SIZE_ZERO)).clone();
    assert_eq!(
        b.asks,
        levels(&[("116208000", "0.3313"), ("116209000", "0.0001")])
    );
    assert_eq!(b.bids.len(), 3);

    // The docs' older millisecond book.
    let e = one(parse_frame, BOOK_DOC);
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_725_930_007_672));
    assert_eq!(book(&e).bids[0], levels(&[("478300", "5.6370")])[0]);

    // A string timestamp, as ccxt shows it.
    let quoted = BOOK_SNAPSHOT.replace("1790133505546514", "\"1783657882348968\"");
    assert_eq!(
        one(parse_frame, &quoted).exchange_time,
        UtcMicros(1_783_657_882_348_968)
    );
}

#[test]
fn captures_cut_by_the_prober_parse_as_far_as_they_go() {
    // No type and no code: a fragment, reported as such.
    let mut out = Vec::new();
    let err = parse_frame(
        BOOK_PADDING_FRAGMENT.as_bytes(),
        UtcMicros(0),
        false,
        &mut out,
    )
    .unwrap_err();
    assert!(err.reason.contains("no `code`"), "{err}");
    // The same units inside a whole frame: price-0 asks are padding.
    let whole = BOOK_PADDING_FRAGMENT.replacen(
        '{',
        r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1790133505564033,"#,
        1,
    );
    let b = book(&one(parse_frame, &whole)).clone();
    assert_eq!(b.asks, levels(&[("120000000", "15.721")]));
    assert_eq!(
        b.bids,
        levels(&[
            ("113000000", "5.5544"),
            ("112000000", "6.1459"),
            ("111000000", "2.9321")
        ])
    );

    // SIMPLE without `tms`: the receipt time stands in.
    let e = one(parse_frame, BOOK_SIMPLE_CUT);
    assert_eq!(e.exchange_time, e.received_time);
    assert_eq!(book(&e).asks.len(), 3);
}

#[test]
fn control_and_error_frames() {
    assert_eq!(
        control(parse_frame, r#"{"status":"UP"}"#),
        Control::Keepalive
    );
    for (frame, name) in [
        (
            r#"{"error":{"name":"NO_TICKET","message":"티켓이 존재하지 않거나, 유효하지 않습니다."}}"#,
            "NO_TICKET",
        ),
        (
            r#"{"error":{"name":"INVALID_PARAM","message":"nope 은 지원하지 않는 타입입니다."}}"#,
            "INVALID_PARAM",
        ),
        (
            r#"{"error":{"name":"WRONG_FORMAT","message":"Format 이 맞지 않습니다."}}"#,
            "WRONG_FORMAT",
        ),
    ] {
        match control(parse_frame, frame) {
            Control::Fatal(message) => assert!(message.starts_with(name), "{message}"),
            other => panic!("expected a fatal error, got {other:?}"),
        }
    }
}

#[test]
fn rest_market_list() {
    let body = r#"[{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin","market_warning":"NONE"},{"market":"BTC-ETH","korean_name":"이더리움","english_name":"Ethereum","market_warning":"NONE"}]"#;
    let (markets, skipped) = parse_markets(body.as_bytes()).unwrap();
    assert_eq!(
        markets,
        [
            Market::parse("BTC/KRW").unwrap(),
            Market::parse("ETH/BTC").unwrap()
        ]
    );
    assert!(skipped.is_empty());
    // Bithumb answers errors with HTTP 200 and the error envelope.
    assert!(parse_markets(br#"{"error":{"name":404,"message":"Code not found"}}"#).is_err());
}
