//! Complete Korbit payloads, verbatim as the exchange sends and documents them, each parsed to
//! the values it holds.

use std::collections::BTreeSet;

use tickmesh_domain::{Exchange, Market, Side, UtcMicros};

use super::parse_frame;
use super::requests::{Method, subscription_request};
use super::rest::{parse_markets, parse_trades, trades_path};
use crate::testing::{RECEIVED, assert_trade, book, control, d, levels, one, ticker};
use crate::{Control, RestBodyError};

#[test]
fn ticker_snapshot() {
    let frame = r#"{"symbol":"btc_krw","timestamp":1790134313071,"type":"ticker","snapshot":true,"data":{"open":"115370000","high":"116765000","low":"114412000","close":"116463000","prevClose":"115304000","priceChange":"1159000","priceChangePercent":"1.01","volume":"39.25266763","quoteVolume":"4549864965.49708","bestAskPrice":"116477000","bestBidPrice":"116426000","lastTradedAt":1790134282264}}"#;
    let e = one(parse_frame, frame);
    assert_eq!(
        (e.exchange, e.market),
        (Exchange::Korbit, Market::parse("BTC/KRW").unwrap())
    );
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_790_134_313_071));
    let t = ticker(&e);
    assert_eq!(t.last, d("116463000"));
    assert_eq!(
        (t.open, t.high, t.low),
        (
            Some(d("115370000")),
            Some(d("116765000")),
            Some(d("114412000"))
        )
    );
    assert_eq!(t.prev_close, Some(d("115304000")));
    assert_eq!(t.volume_24h, Some(d("39.25266763")));
    assert_eq!(t.quote_volume_24h, Some(d("4549864965.49708")));
    assert_eq!(
        (t.best_bid, t.best_ask),
        (Some(d("116426000")), Some(d("116477000")))
    );
}

#[test]
fn trades_snapshot_and_realtime() {
    let snapshot = r#"{"symbol":"btc_krw","timestamp":1790134328085,"type":"trade","snapshot":true,"data":[{"timestamp":1790134317520,"price":"116439000","qty":"0.0067","isBuyerTaker":false,"tradeId":25441720}]}"#;
    assert_trade(
        &one(parse_frame, snapshot),
        25_441_720,
        "116439000",
        "0.0067",
        Side::Sell,
        1_790_134_317_520,
    );
    let realtime = r#"{"type":"trade","timestamp":1700000001000,"symbol":"btc_krw","snapshot":false,"data":[{"tradeId":2,"timestamp":1700000000000,"price":"105","qty":"0.25","isBuyerTaker":true}]}"#;
    assert_trade(
        &one(parse_frame, realtime),
        2,
        "105",
        "0.25",
        Side::Buy,
        1_700_000_000_000,
    );

    let two = r#"{"type":"trade","timestamp":1,"symbol":"eth_krw","data":[{"tradeId":7,"timestamp":5,"price":"1","qty":"1","isBuyerTaker":true},{"tradeId":8,"timestamp":6,"price":"2","qty":"1","isBuyerTaker":false}]}"#;
    let mut out = Vec::new();
    parse_frame(two.as_bytes(), RECEIVED, false, &mut out).unwrap();
    assert_eq!(out.len(), 2);
}

#[test]
fn order_books() {
    let snapshot = r#"{"symbol":"btc_krw","timestamp":1790134242857,"type":"orderbook","snapshot":true,"data":{"timestamp":1790134242563,"asks":[{"price":"116506000","qty":"0.27522"},{"price":"116538000","qty":"0.00665633"},{"price":"116542000","qty":"0.03897506"}],"bids":[{"price":"116455000","qty":"0.00499"},{"price":"116453000","qty":"0.01919775"},{"price":"116451000","qty":"0.00059"}]}}"#;
    let e = one(parse_frame, snapshot);
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_790_134_242_563));
    let b = book(&e);
    assert_eq!(
        b.asks,
        levels(&[
            ("116506000", "0.27522"),
            ("116538000", "0.00665633"),
            ("116542000", "0.03897506")
        ])
    );
    assert_eq!(
        b.bids,
        levels(&[
            ("116455000", "0.00499"),
            ("116453000", "0.01919775"),
            ("116451000", "0.00059")
        ])
    );

    let next = r#"{"symbol":"btc_krw","timestamp":1790134243081,"type":"orderbook","data":{"timestamp":1790134243067,"asks":[{"price":"116506000","qty":"0.27522"},{"price":"116507000","qty":"0.0321"},{"price":"116538000","qty":"0.00665633"}],"bids":[{"price":"116455000","qty":"0.00499"},{"price":"116453000","qty":"0.01919775"},{"price":"116451000","qty":"0.00059"}]}}"#;
    assert_eq!(
        book(&one(parse_frame, next)).asks[1],
        levels(&[("116507000", "0.0321")])[0]
    );

    let stopped = r#"{"symbol":"klay_krw","timestamp":1790134242857,"type":"orderbook","snapshot":true,"data":{"timestamp":1789456789897,"asks":[],"bids":[]}}"#;
    let e = one(parse_frame, stopped);
    assert!(book(&e).asks.is_empty() && book(&e).bids.is_empty());
    assert_eq!(e.exchange_time, UtcMicros::from_millis(1_789_456_789_897));

    let grouped = r#"{"symbol":"eth_krw","timestamp":1790134329586,"type":"orderbook","snapshot":true,"data":{"timestamp":1790134328498,"asks":[{"price":"3800000","qty":"179.83267892","quoteVolume":"677361520.39233"},{"price":"3900000","qty":"33.36541913","quoteVolume":"128678722.40307"}],"bids":[{"price":"3700000","qty":"43.33530415","quoteVolume":"160935508.86839"},{"price":"3600000","qty":"17.76253887","quoteVolume":"64928877.53068"}]}}"#;
    let b = book(&one(parse_frame, grouped)).clone();
    assert_eq!(
        b.bids,
        levels(&[("3700000", "43.33530415"), ("3600000", "17.76253887")])
    );
}

#[test]
fn acks_and_failures() {
    assert_eq!(
        control(parse_frame, r#"{"status":"success","requestId":1}"#),
        Control::Ack(1)
    );
    assert_eq!(
        control(parse_frame, r#"{"requestId": 1, "status": "success"}"#),
        Control::Ack(1)
    );
    let cases = [
        (
            r#"{"status":"fail","code":"INVALID_SYMBOL","message":"The symbol does not exist (nope_krw)","requestId":2}"#,
            Some(2),
            "INVALID_SYMBOL: The symbol does not exist (nope_krw)",
        ),
        (
            r#"{"status":"fail","code":"INVALID_SYMBOL","message":"The symbol does not exist (nope2_krw)"}"#,
            None,
            "INVALID_SYMBOL: The symbol does not exist (nope2_krw)",
        ),
        (
            r#"{"status":"fail","code":"INVALID_REQUEST","message":"unknown_type","requestId":4}"#,
            Some(4),
            "INVALID_REQUEST: unknown_type",
        ),
        (
            r#"{"status":"fail","code":"INVALID_REQUEST","message":"invalid_level","requestId":11}"#,
            Some(11),
            "INVALID_REQUEST: invalid_level",
        ),
        (
            r#"{"status":"fail","message":"invalid_format"}"#,
            None,
            "invalid_format",
        ),
        (r#"{"status": "error", "message": "..."}"#, None, "..."),
    ];
    for (frame, request_id, message) in cases {
        assert_eq!(
            control(parse_frame, frame),
            Control::Rejected {
                request_id,
                message: message.to_owned()
            },
            "{frame}"
        );
    }
}

#[test]
fn requests_are_incremental_with_one_id_per_type() {
    let markets: BTreeSet<Market> = [
        Market::parse("BTC/KRW").unwrap(),
        Market::parse("USDT/KRW").unwrap(),
    ]
    .into();
    let (text, ids) = subscription_request(Method::Subscribe, 10, &markets);
    assert_eq!(ids, [10, 11, 12]);
    assert_eq!(
        text,
        r#"[{"requestId":10,"method":"subscribe","type":"ticker","symbols":["btc_krw","usdt_krw"]},{"requestId":11,"method":"subscribe","type":"trade","symbols":["btc_krw","usdt_krw"]},{"requestId":12,"method":"subscribe","type":"orderbook","symbols":["btc_krw","usdt_krw"]}]"#
    );
    let (text, _) = subscription_request(Method::Unsubscribe, 13, &markets);
    assert!(text.contains(r#""method":"unsubscribe""#));
}

#[test]
fn rest_pairs_trades_and_errors() {
    let docs = r#"{"success": true, "data": [{"symbol": "btc_krw", "status": "launched"}, {"symbol": "eth_krw", "status": "launched"}, {"symbol": "xrp_krw", "status": "stopped"}]}"#;
    let (markets, skipped) = parse_markets(docs.as_bytes()).unwrap();
    assert_eq!(
        markets,
        [
            Market::parse("BTC/KRW").unwrap(),
            Market::parse("ETH/KRW").unwrap()
        ]
    );
    assert!(skipped.is_empty());
    let live = r#"{"success":true,"data":[{"symbol":"btc_krw","status":"launched","baseCurrency":"btc","quoteCurrency":"krw","minOrderValue":"5000","maxOrderValue":"1000000000"}]}"#;
    assert_eq!(parse_markets(live.as_bytes()).unwrap().0.len(), 1);

    let err = parse_markets(
        br#"{"success":false,"error":{"code":400,"message":"INVALID_CURRENCY_PAIR"}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        RestBodyError::Exchange {
            exchange: Exchange::Korbit,
            name: "400".into(),
            message: "INVALID_CURRENCY_PAIR".into()
        }
    );

    let trades = r#"{"success":true,"data":[{"timestamp":1790134317520,"price":"116439000","qty":"0.0067","isBuyerTaker":false,"tradeId":25441720}]}"#;
    let parsed = parse_trades(trades.as_bytes()).unwrap();
    assert_eq!(parsed[0].0, UtcMicros::from_millis(1_790_134_317_520));
    assert_eq!(parsed[0].1.trade_id.0, 25_441_720);
    assert_eq!(
        trades_path(Market::parse("BTC/KRW").unwrap(), 1000),
        "/v2/trades?symbol=btc_krw&limit=500"
    );
}
