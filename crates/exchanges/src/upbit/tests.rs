//! Complete Upbit payloads, verbatim as the exchange sends and documents them, each parsed to
//! the values it holds.

use tickmesh_domain::{Exchange, Market, Side, UtcMicros};

use super::parse_frame;
use super::rest::{parse_markets, parse_trades, trades_path};
use crate::testing::{assert_trade, book, control, d, levels, one, ticker};
use crate::{Control, RestBodyError};

const TICKER_SNAPSHOT: &str = r#"{"type":"ticker","code":"KRW-BTC","opening_price":158219000.00000000,"high_price":159278000.00000000,"low_price":157588000.00000000,"trade_price":158201000.00000000,"prev_closing_price":158200000.00000000,"acc_trade_price":95078733694.3792000000000000,"change":"RISE","change_price":1000.00000000,"signed_change_price":1000.00000000,"change_rate":0.0000063211,"signed_change_rate":0.0000063211,"ask_bid":"BID","trade_volume":0.00006321,"acc_trade_volume":600.02894052,"trade_date":"20250926","trade_time":"082645","trade_timestamp":1758875205145,"acc_ask_volume":341.67985038,"acc_bid_volume":258.34909014,"highest_52_week_price":169900000.00000000,"highest_52_week_date":"2025-08-14","lowest_52_week_price":80635000.00000000,"lowest_52_week_date":"2024-10-10","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":null,"market_warning":"NONE","timestamp":1758875205276,"acc_trade_price_24h":331187169240.21526,"acc_trade_volume_24h":2083.82485091,"stream_type":"SNAPSHOT"}"#;
const TICKER_REALTIME: &str = r#"{"type":"ticker","code":"KRW-BTC","opening_price":158219000.00000000,"high_price":159278000.00000000,"low_price":157588000.00000000,"trade_price":158200000.00000000,"prev_closing_price":158200000.00000000,"acc_trade_price":95088751392.9099200000000000,"change":"EVEN","change_price":0E-8,"signed_change_price":0E-8,"change_rate":0,"signed_change_rate":0,"ask_bid":"ASK","trade_volume":0.00011188,"acc_trade_volume":600.09226312,"trade_date":"20250926","trade_time":"082646","trade_timestamp":1758875206936,"acc_ask_volume":341.67996226,"acc_bid_volume":258.41230086,"highest_52_week_price":169900000.00000000,"highest_52_week_date":"2025-08-14","lowest_52_week_price":80635000.00000000,"lowest_52_week_date":"2024-10-10","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":null,"market_warning":"NONE","timestamp":1758875206974,"acc_trade_price_24h":331188513477.17233,"acc_trade_volume_24h":2083.83396972,"stream_type":"REALTIME"}"#;
/// The docs' SIMPLE_LIST ticker with the docs' own `...` elision line removed.
const TICKER_SIMPLE_LIST: &str = r#"[
  {
    "ty": "ticker",
    "cd": "KRW-BTC",
    "op": 148500000.0,
    "hp": 149064000.0,
    "lp": 148050000.0,
    "tp": 148956000.0,
    "pcp": 148500000.0,
    "atp": 16115868486.03173,
    "c": "RISE",
    "cp": 456000.0,
    "scp": 456000.0,
    "cr": 0.0030707071,
    "scr": 0.0030707071,
    "ab": "BID",
    "tv": 0.0602652,
    "atv": 108.51228784,
    "tdt": "20250707",
    "ttm": "022055",
    "ttms": 1751854855934,
    "aav": 36.9943567,
    "abv": 71.51793114,
    "h52wp": 163325000.0,
    "h52wdt": "2025-01-20",
    "st": "SNAPSHOT"
  }
]"#;
const TRADE_LIVE: &str = r#"{"type":"trade","code":"KRW-BTC","timestamp":1788335180423,"trade_date":"2026-09-02","trade_time":"07:46:20","trade_timestamp":1788335180377,"trade_price":106691000.00000000,"trade_volume":0.00009372,"ask_bid":"ASK","prev_closing_price":107005000.00000000,"change":"FALL","change_price":314000.00000000,"sequential_id":17883351803770004,"best_ask_price":106705000,"best_ask_size":0.00906333,"best_bid_price":106691000,"best_bid_size":0.00702247,"stream_type":"SNAPSHOT"}"#;
const TRADE_DOC: &str = r#"{
  "type": "trade",
  "code": "KRW-BTC",
  "timestamp": 1730336862082,
  "trade_date": "2024-10-31",
  "trade_time": "01:07:42",
  "trade_timestamp": 1730336862047,
  "trade_price": 100473000.00000000,
  "trade_volume": 0.00014208,
  "ask_bid": "BID",
  "prev_closing_price": 100571000.00000000,
  "change": "FALL",
  "change_price": 98000.00000000,
  "sequential_id": 17303368620470000,
  "best_ask_price": 100473000,
  "best_ask_size": 0.43139478,
  "best_bid_price": 100465000,
  "best_bid_size": 0.01990656,
  "stream_type": "SNAPSHOT"
}"#;
const TRADE_SIMPLE_2018: &str = r#"{"mk":"KRW-BTC","tms":1523531768829,"td":"2018-04-12","ttm":"11:16:03","ttms":1523531763000,"tp":7691000.0,"tv":0.00996719,"ab":"BID","pcp":7429000.00000000,"c":"RISE","cp":262000.00000000,"sid":1523531768829000,"st":"SNAPSHOT"}"#;
const TRADE_SIMPLE: &str = r#"{"ty":"trade","cd":"KRW-BTC","tms":1788335180423,"td":"2026-09-02","ttm":"07:46:20","ttms":1788335180377,"tp":106691000.00000000,"tv":0.00009372,"ab":"ASK","pcp":107005000.00000000,"c":"FALL","cp":314000.00000000,"sid":17883351803770004,"bap":106705000,"bas":0.00906333,"bbp":106691000,"bbs":0.00702247,"st":"SNAPSHOT"}"#;
const BOOK_SNAPSHOT: &str = r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,"total_ask_size":2.51469375,"total_bid_size":1.63815297,"orderbook_units":[{"ask_price":1.16539E8,"bid_price":1.16538E8,"ask_size":0.02054761,"bid_size":0.08120946},{"ask_price":1.16542E8,"bid_price":1.16537E8,"ask_size":0.00077720,"bid_size":0.01129382}],"stream_type":"SNAPSHOT","level":0}"#;
const BOOK_REALTIME: &str = r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1790134743006,"total_ask_size":1.83604250,"total_bid_size":1.62306717,"orderbook_units":[{"ask_price":1.16539E8,"bid_price":1.16538E8,"ask_size":0.02054761,"bid_size":0.06612366},{"ask_price":1.16542E8,"bid_price":1.16537E8,"ask_size":0.00077720,"bid_size":0.01129382}],"stream_type":"REALTIME","level":0}"#;
const BOOK_SIMPLE: &str = r#"{"ty":"orderbook","cd":"KRW-BTC","tms":1790134773006,"tas":0.48514983,"tbs":2.2403413,"obu":[{"ap":116606000,"bp":116534000,"as":0.06288509,"bs":7.9276E-4},{"ap":116609000,"bp":116521000,"as":5.0E-4,"bs":0.01624318}],"st":"SNAPSHOT","lv":0}"#;
const BOOK_DOC: &str = r#"{
  "type": "orderbook",
  "code": "KRW-BTC",
  "timestamp": 1787727947526,
  "total_ask_size": 18.93431797,
  "total_bid_size": 11.48721726,
  "orderbook_units": [
    {"ask_price": 109950000.0, "bid_price": 109880000.0, "ask_size": 0.00342134, "bid_size": 0.18819864},
    {"ask_price": 109960000.0, "bid_price": 109840000.0, "ask_size": 0.00077053, "bid_size": 0.08051758}
  ],
  "stream_type": "SNAPSHOT",
  "level": 10000
}"#;

fn btc() -> Market {
    Market::parse("BTC/KRW").unwrap()
}

#[test]
fn tickers_default_and_simple_list() {
    let e = one(parse_frame, TICKER_SNAPSHOT);
    assert_eq!((e.exchange, e.market), (Exchange::Upbit, btc()));
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_758_875_205_276));
    let t = ticker(&e);
    assert_eq!(t.last, d("158201000"));
    assert_eq!(t.open, Some(d("158219000")));
    assert_eq!(t.high, Some(d("159278000")));
    assert_eq!(t.low, Some(d("157588000")));
    assert_eq!(t.prev_close, Some(d("158200000")));
    assert_eq!(t.volume_24h, Some(d("2083.82485091")));
    assert_eq!(t.quote_volume_24h, Some(d("331187169240.21526")));

    // `0E-8` change fields and an integer `0` rate parse; the ticker keeps the last price.
    let e = one(parse_frame, TICKER_REALTIME);
    assert_eq!(ticker(&e).last, d("158200000"));
    assert_eq!(ticker(&e).quote_volume_24h, Some(d("331188513477.17233")));
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_758_875_206_974));

    // SIMPLE keys, list form, and no `tms`: the trade time stands in for the message time.
    let e = one(parse_frame, TICKER_SIMPLE_LIST);
    let t = ticker(&e);
    assert_eq!(t.last, d("148956000.0"));
    assert_eq!(t.open, Some(d("148500000.0")));
    assert_eq!(t.high, Some(d("149064000.0")));
    assert_eq!(t.low, Some(d("148050000.0")));
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_751_854_855_934));
}

#[test]
fn trades_in_every_format_keep_ids_above_2_pow_53() {
    for frame in [TRADE_LIVE, TRADE_SIMPLE] {
        let e = one(parse_frame, frame);
        assert_trade(
            &e,
            17_883_351_803_770_004,
            "106691000.00000000",
            "0.00009372",
            Side::Sell,
            1_788_335_180_377,
        );
    }
    let e = one(parse_frame, TRADE_DOC);
    assert_trade(
        &e,
        17_303_368_620_470_000,
        "100473000.00000000",
        "0.00014208",
        Side::Buy,
        1_730_336_862_047,
    );
    let e = one(parse_frame, TRADE_SIMPLE_2018);
    assert_trade(
        &e,
        1_523_531_768_829_000,
        "7691000.0",
        "0.00996719",
        Side::Buy,
        1_523_531_763_000,
    );
}

#[test]
fn order_books_with_exponents_in_both_formats() {
    let e = one(parse_frame, BOOK_SNAPSHOT);
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_790_134_742_106));
    let b = book(&e);
    assert_eq!(
        b.asks,
        levels(&[("116539000", "0.02054761"), ("116542000", "0.00077720")])
    );
    assert_eq!(
        b.bids,
        levels(&[("116538000", "0.08120946"), ("116537000", "0.01129382")])
    );

    let b = book(&one(parse_frame, BOOK_REALTIME)).clone();
    assert_eq!(b.bids[0].size, d("0.06612366"));

    let e = one(parse_frame, BOOK_SIMPLE);
    let b = book(&e);
    assert_eq!(
        b.bids,
        levels(&[("116534000", "0.00079276"), ("116521000", "0.01624318")])
    );
    assert_eq!(
        b.asks,
        levels(&[("116606000", "0.06288509"), ("116609000", "0.0005")])
    );

    let e = one(parse_frame, BOOK_DOC);
    assert_eq!(book(&e).asks[1], levels(&[("109960000", "0.00077053")])[0]);
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_787_727_947_526));
}

#[test]
fn padding_levels_are_dropped() {
    let frame = r#"{"ty":"orderbook","cd":"KRW-XRP","tms":1790134773006,"obu":[{"ap":1000,"bp":999,"as":1.5,"bs":2},{"ap":1001,"bp":0,"as":3,"bs":0},{"ap":0,"bp":0,"as":0,"bs":0}]}"#;
    let b = book(&one(parse_frame, frame)).clone();
    assert_eq!(b.asks, levels(&[("1000", "1.5"), ("1001", "3")]));
    assert_eq!(b.bids, levels(&[("999", "2")]));
}

#[test]
fn control_and_error_frames() {
    assert_eq!(
        control(parse_frame, r#"{"status":"UP"}"#),
        Control::Keepalive
    );
    let errors = [
        (
            r#"{"error":{"name":"NO_TICKET","message":"티켓이 존재하지 않거나, 유효하지 않습니다."}}"#,
            "NO_TICKET: 티켓이",
        ),
        (
            r#"{"error":{"message":"nope 은 지원하지 않는 타입입니다.","name":"INVALID_PARAM"}}"#,
            "INVALID_PARAM: nope",
        ),
        (
            r#"{"error":{"message":"Format 이 맞지 않습니다.","name":"WRONG_FORMAT"}}"#,
            "WRONG_FORMAT: Format",
        ),
    ];
    for (frame, prefix) in errors {
        match control(parse_frame, frame) {
            Control::Fatal(message) => assert!(message.starts_with(prefix), "{message}"),
            other => panic!("expected a fatal error, got {other:?}"),
        }
    }
    let listing = r#"{"method":"LIST_SUBSCRIPTIONS","result":[{"type":"ticker","codes":["KRW-BTC","KRW-ETH"]},{"type":"orderbook","codes":["KRW-BTC","KRW-ETH"],"level":0}],"ticket":"unique uuid"}"#;
    assert_eq!(control(parse_frame, listing), Control::Ignored);
}

#[test]
fn malformed_frames_are_errors_that_say_why() {
    let mut out = Vec::new();
    for (frame, why) in [
        ("", "empty frame"),
        ("garbage{", "expected value"),
        (
            r#"{"ty":"trade","cd":"KRW-BTC","tp":1,"tv":1,"ab":"BID","ttms":1}"#,
            "no `sequential_id`",
        ),
        (
            r#"{"ty":"trade","cd":"KRW-BTC","tp":"x","tv":1,"ab":"BID","sid":1,"ttms":1}"#,
            "`trade_price`",
        ),
        (
            r#"{"ty":"candle.1s","cd":"KRW-BTC"}"#,
            "unknown type `candle.1s`",
        ),
        (r#"{"ty":"ticker","cd":"btc_krw","tp":1}"#, "invalid market"),
    ] {
        let err = parse_frame(frame.as_bytes(), UtcMicros(0), false, &mut out).unwrap_err();
        assert_eq!(err.exchange, Exchange::Upbit);
        assert!(err.reason.contains(why), "{frame}: {}", err.reason);
    }
    assert!(out.is_empty());
}

#[test]
fn raw_frames_are_kept_on_request() {
    let mut out = Vec::new();
    parse_frame(TRADE_SIMPLE.as_bytes(), UtcMicros(0), true, &mut out).unwrap();
    assert_eq!(out[0].raw.as_deref(), Some(TRADE_SIMPLE));
}

#[test]
fn rest_market_list_trades_and_errors() {
    let body = r#"[{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin","market_event":{"warning":false,"caution":{"PRICE_FLUCTUATIONS":false,"TRADING_VOLUME_SOARING":false,"DEPOSIT_AMOUNT_SOARING":false,"GLOBAL_PRICE_DIFFERENCES":false,"CONCENTRATION_OF_SMALL_ACCOUNTS":false}}},{"market":"KRW-ETH","korean_name":"이더리움","english_name":"Ethereum","market_event":{"warning":true,"caution":{"PRICE_FLUCTUATIONS":false,"TRADING_VOLUME_SOARING":false,"DEPOSIT_AMOUNT_SOARING":false,"GLOBAL_PRICE_DIFFERENCES":false,"CONCENTRATION_OF_SMALL_ACCOUNTS":false}}}]"#;
    let (markets, skipped) = parse_markets(body.as_bytes()).unwrap();
    assert_eq!(markets, [btc(), Market::parse("ETH/KRW").unwrap()]);
    assert!(skipped.is_empty());

    let err = parse_markets(br#"{"error":{"name":404,"message":"Code not found"}}"#).unwrap_err();
    assert_eq!(
        err,
        RestBodyError::Exchange {
            exchange: Exchange::Upbit,
            name: "404".into(),
            message: "Code not found".into()
        }
    );

    let ticks = r#"[{"market":"KRW-BTC","trade_date_utc":"2026-09-02","trade_time_utc":"07:46:20","timestamp":1788335180377,"trade_price":106691000,"trade_volume":0.00009372,"prev_closing_price":107005000,"change_price":314000,"ask_bid":"ASK","sequential_id":17883351803770004}]"#;
    let trades = parse_trades(btc(), ticks.as_bytes()).unwrap();
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].0, UtcMicros::from_millis(1_788_335_180_377));
    assert_eq!(trades[0].1.trade_id.0, 17_883_351_803_770_004);
    assert!(parse_trades(Market::parse("ETH/KRW").unwrap(), ticks.as_bytes()).is_err());

    assert_eq!(
        trades_path(btc(), 200, None),
        "/v1/trades/ticks?market=KRW-BTC&count=200"
    );
    assert_eq!(
        trades_path(btc(), 9999, Some(7)),
        "/v1/trades/ticks?market=KRW-BTC&count=500&cursor=7"
    );
}

#[test]
fn the_request_lists_every_market_for_every_type() {
    let markets = [btc(), Market::parse("ETH/KRW").unwrap()]
        .into_iter()
        .collect();
    let request =
        super::subscribe_request("tickmesh-1", &markets, crate::quotation::Format::Simple);
    assert_eq!(
        request,
        r#"[{"ticket":"tickmesh-1"},{"type":"ticker","codes":["KRW-BTC","KRW-ETH"]},{"type":"trade","codes":["KRW-BTC","KRW-ETH"]},{"type":"orderbook","codes":["KRW-BTC","KRW-ETH"]},{"format":"SIMPLE"}]"#
    );
    let parsed: serde_json::Value = serde_json::from_str(&request).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 5);
}
