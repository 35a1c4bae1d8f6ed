#![allow(clippy::unwrap_used)]

use super::data_frame;
use crate::korbit::parse::serde_frame;
use crate::testing::RECEIVED;

/// Data frames the fast path must read exactly as serde does.
const READ: &[&str] = &[
    r#"{"symbol":"btc_krw","timestamp":1790134313071,"type":"ticker","snapshot":true,"data":{"open":"115370000","high":"116765000","low":"114412000","close":"116463000","prevClose":"115304000","priceChange":"1159000","priceChangePercent":"1.01","volume":"39.25266763","quoteVolume":"4549864965.49708","bestAskPrice":"116477000","bestBidPrice":"116426000","lastTradedAt":1790134282264}}"#,
    // Optional fields null or absent; a stopped pair's zero quotes.
    r#"{"type":"ticker","timestamp":5,"symbol":"eth_krw","data":{"close":"1.50","open":null,"bestBidPrice":"0","bestAskPrice":"0.000"}}"#,
    r#" { "type" : "trade" , "timestamp" : null , "symbol" : "btc_krw" , "data" : [ { "tradeId" : 2 , "timestamp" : 1700000000000 , "price" : "105" , "qty" : "0.25" , "isBuyerTaker" : true } , {"tradeId":18446744073709551615,"timestamp":-5,"price":"1e2","qty":"0.1","isBuyerTaker":false,"extra":1.5} ] } "#,
    r#"{"type":"trade","symbol":"btc_krw","data":[]}"#,
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
    // Order books, valid or not.
    r#"{"type":"orderbook","symbol":"xrp_krw","data":{"timestamp":1,"asks":[],"bids":[]}}"#,
    r#"{"type":"orderbook","symbol":"btc_krw","data":{"timestamp":1,"asks":[{"price":"1"}],"bids":[]}}"#,
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
    }
}
