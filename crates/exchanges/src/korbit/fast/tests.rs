#![allow(clippy::unwrap_used)]

use super::data_frame;
use crate::Control;
use crate::korbit::parse::{parse_frame, serde_frame};
use crate::testing::RECEIVED;

/// Data frames the fast path must read exactly as serde does.
const READ: &[&str] = &[
    r#"{"symbol":"btc_krw","timestamp":1790134313071,"type":"ticker","snapshot":true,"data":{"open":"115370000","high":"116765000","low":"114412000","close":"116463000","prevClose":"115304000","priceChange":"1159000","priceChangePercent":"1.01","volume":"39.25266763","quoteVolume":"4549864965.49708","bestAskPrice":"116477000","bestBidPrice":"116426000","lastTradedAt":1790134282264}}"#,
    // Optional fields null or absent; a stopped pair's zero quotes.
    r#"{"type":"ticker","timestamp":5,"symbol":"eth_krw","data":{"close":"1.50","open":null,"bestBidPrice":"0","bestAskPrice":"0.000"}}"#,
    r#" { "type" : "trade" , "timestamp" : null , "symbol" : "btc_krw" , "data" : [ { "tradeId" : 2 , "timestamp" : 1700000000000 , "price" : "105" , "qty" : "0.25" , "isBuyerTaker" : true } , {"tradeId":18446744073709551615,"timestamp":-5,"price":"1e2","qty":"0.1","isBuyerTaker":false,"extra":1.5} ] } "#,
    r#"{"type":"trade","symbol":"btc_krw","data":[]}"#,
    // Order books: padding rows (zero price or size) left out, unknown members skipped.
    r#"{"symbol":"btc_krw","timestamp":1790134243081,"type":"orderbook","snapshot":false,"data":{"timestamp":1790134243067,"asks":[{"price":"116506000","qty":"0.015"},{"price":"116507000","qty":"0"}],"bids":[{"price":"116455000","qty":"0.025","n":3},{"price":"0","qty":"1"}],"depth":30}}"#,
    r#"{"type":"orderbook","symbol":"xrp_krw","data":{"timestamp":1,"asks":[],"bids":[]}}"#,
];

/// Frames the fast path must leave to serde: serde refuses them, or they are control frames
/// or order books, or they hold what the scanner does not read itself (escapes, skipped
/// nested values).
const LEFT_TO_SERDE: &[&str] = &[
    r#"{"status":"success","requestId":1,"type":"ticker"}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":1,"data":{"close":"1","close":"2"}}"#,
    r#"{"type":"ticker","type":"ticker","symbol":"btc_krw","timestamp":1,"data":{"close":"1"}}"#,
    r#"{"type":"ticker","symbol":"btc_krw","data":{"close":"1"}}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":1.5,"data":{"close":"1"}}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":1,"data":{"close":1}}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":1,"data":{"close":"x"}}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":1,"data":{"open":"1"}}"#,
    r#"{"type":"ticker","symbol":"btc\u005fkrw","timestamp":1,"data":{"close":"1"}}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":1,"data":{"close":"1","odd":[1,,2]}}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":1,"data":null}"#,
    r#"{"type":"candle","symbol":"btc_krw","timestamp":1,"data":{}}"#,
    r#"{"type":"ticker","symbol":"nope","timestamp":1,"data":{"close":"1"}}"#,
    r#"{"type":"trade","symbol":"btc_krw","data":[{"tradeId":-1,"timestamp":1,"price":"1","qty":"1","isBuyerTaker":true}]}"#,
    r#"{"type":"trade","symbol":"btc_krw","data":[{"tradeId":1,"timestamp":1,"price":"1","qty":"1","isBuyerTaker":"yes"}]}"#,
    r#"{"type":"trade","symbol":"btc_krw","data":[{"tradeId":1,"timestamp":1,"price":"1","qty":"1"}]}"#,
    r#"{"type":"trade","symbol":"btc_krw","data":[1]}"#,
    r#"{"type":"trade","symbol":"btc_krw","data":[{"tradeId":1,"timestamp":-0,"price":"1","qty":"1","isBuyerTaker":true}]}"#,
    r#"{"type":"ticker","symbol":"btc_krw","timestamp":-0,"data":{"close":"1"}}"#,
    // Order books serde refuses, or reads where the scanner would only skip.
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[{"price":"1"}],"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[],"bids":[],"asks":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[{"price":1,"qty":"1"}],"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[{"price":"1","qty":"1","price":"2"}],"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[{"price":"1","qty":"1","n":[1]}],"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"asks":[],"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":{},"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[1],"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[],"bids":[]},"data":{}}"#,
    // Valid, but not in Korbit's member order (`type` and `symbol` before `data`).
    r#"{"data":{"timestamp":1,"asks":[],"bids":[]},"type":"orderbook","symbol":"btc_krw"}"#,
    r#"{"type":"orderbook","data":{"timestamp":1,"asks":[],"bids":[]},"symbol":"btc_krw"}"#,
];

#[test]
fn data_frames_read_exactly_as_serde_reads_them() {
    for frame in READ {
        let mut fast = Vec::new();
        data_frame(frame, RECEIVED, &mut fast).unwrap_or_else(|_| panic!("unsupported: {frame}"));
        let mut slow = Vec::new();
        assert_eq!(
            serde_frame(frame.as_bytes(), RECEIVED, &mut slow).unwrap(),
            None
        );
        assert_eq!(fast, slow, "{frame}");
    }
}

#[test]
fn anything_else_is_left_to_serde() {
    for frame in LEFT_TO_SERDE {
        let mut out = Vec::new();
        assert!(data_frame(frame, RECEIVED, &mut out).is_err(), "{frame}");
        // And the frame parser gives exactly serde's answer for it.
        let (mut whole, mut slow) = (Vec::new(), Vec::new());
        let got = parse_frame(frame.as_bytes(), RECEIVED, false, &mut whole);
        let want = serde_frame(frame.as_bytes(), RECEIVED, &mut slow);
        assert_eq!(
            format!("{got:?}"),
            format!("{:?}", want.map(|c| c.unwrap_or(Control::Data))),
            "{frame}"
        );
        assert_eq!(whole, slow, "{frame}");
    }
}
