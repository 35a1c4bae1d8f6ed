//! Every frame shape the renderers write, byte for byte, over values that reach each number
//! spelling: scientific and plain, padded scales, zero, a negative change, a thin book.

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Level, Market, Side};

use super::korbit;
use super::quotation::{self, Keys};
use crate::engine::{SimBook, SimTicker, SimTrade};

fn d(text: &str) -> Decimal {
    tickmesh_domain::parse_decimal(text).unwrap()
}

fn level(price: &str, size: &str) -> Level {
    Level {
        price: d(price),
        size: d(size),
    }
}

fn btc() -> Market {
    Market::parse("BTC/KRW").unwrap()
}

fn xrp() -> Market {
    Market::parse("XRP/KRW").unwrap()
}

fn trades() -> [(Market, SimTrade); 2] {
    [
        (
            btc(),
            SimTrade {
                id: 17_641_152_001_230_000,
                price: d("116539000"),
                size: d("0.00079276"),
                side: Side::Buy,
                time_ms: 1_764_115_200_123,
            },
        ),
        (
            xrp(),
            SimTrade {
                id: 42,
                price: d("3141.5"),
                size: d("1234.56789012"),
                side: Side::Sell,
                time_ms: 1_764_147_599_999,
            },
        ),
    ]
}

fn tickers() -> [(Market, SimTicker); 2] {
    [
        (
            btc(),
            SimTicker {
                last: d("116539000"),
                open: d("116000000"),
                high: d("117000000"),
                low: d("115000000"),
                prev_close: d("116539000"),
                volume: d("1234.56789"),
                quote_volume: d("143873829387.123"),
                last_trade_ms: 1_764_115_200_123,
                time_ms: 1_764_115_200_456,
            },
        ),
        (
            xrp(),
            SimTicker {
                last: d("3100.25"),
                open: d("3200"),
                high: d("3300.5"),
                low: d("3000"),
                prev_close: d("3141.5"),
                volume: d("0"),
                quote_volume: d("98765.4321"),
                last_trade_ms: 1_764_147_599_999,
                time_ms: 1_764_147_600_000,
            },
        ),
    ]
}

fn book() -> SimBook {
    SimBook {
        asks: vec![
            level("116540000", "0.0005"),
            level("116541000", "1.25"),
            level("116550000", "0.00001234"),
        ],
        bids: vec![level("116538000", "2"), level("116530000", "0.1")],
        time_us: 1_764_115_200_123_456,
    }
}

fn rendered() -> Vec<String> {
    let mut out = Vec::new();
    for exchange in [Exchange::Upbit, Exchange::Bithumb] {
        for keys in [Keys::Default, Keys::Simple] {
            for (snapshot, (market, t)) in [true, false].into_iter().zip(trades()) {
                out.push(quotation::trade(
                    exchange,
                    keys,
                    market,
                    &t,
                    snapshot,
                    1_764_115_200_777,
                ));
            }
            for (snapshot, (market, t)) in [false, true].into_iter().zip(tickers()) {
                out.push(quotation::ticker(exchange, keys, market, &t, snapshot));
            }
            out.push(quotation::book(exchange, keys, btc(), &book(), 4, true));
            out.push(quotation::book(
                exchange,
                keys,
                btc(),
                &SimBook::default(),
                1,
                false,
            ));
        }
    }
    for (snapshot, (market, t)) in [true, false].into_iter().zip(trades()) {
        out.push(korbit::trade(market, &t, snapshot, 1_764_115_200_777));
    }
    for (snapshot, (market, t)) in [false, true].into_iter().zip(tickers()) {
        out.push(korbit::ticker(market, &t, &book(), snapshot));
    }
    out.push(korbit::ticker(
        btc(),
        &tickers()[0].1,
        &SimBook::default(),
        false,
    ));
    out.push(korbit::book(btc(), &book(), true, 1_764_115_200_777));
    out.push(korbit::book(
        btc(),
        &SimBook::default(),
        false,
        1_764_115_200_777,
    ));
    out
}

/// What [`rendered`] gives, one frame per line: the spellings the real exchanges send.
const GOLDEN: &[&str] = &[
    r#"{"type":"trade","code":"KRW-BTC","timestamp":1764115200777,"trade_date":"2025-11-26","trade_time":"00:00:00","trade_timestamp":1764115200123,"trade_price":116539000.00000000,"trade_volume":0.00079276,"ask_bid":"BID","prev_closing_price":116539000.00000000,"change":"EVEN","change_price":0E-8,"sequential_id":17641152001230000,"stream_type":"SNAPSHOT"}"#,
    r#"{"type":"trade","code":"KRW-XRP","timestamp":1764115200777,"trade_date":"2025-11-26","trade_time":"08:59:59","trade_timestamp":1764147599999,"trade_price":3141.50000000,"trade_volume":1234.56789012,"ask_bid":"ASK","prev_closing_price":3141.50000000,"change":"EVEN","change_price":0E-8,"sequential_id":42,"stream_type":"REALTIME"}"#,
    r#"{"type":"ticker","code":"KRW-BTC","opening_price":116000000.00000000,"high_price":117000000.00000000,"low_price":115000000.00000000,"trade_price":116539000.00000000,"prev_closing_price":116539000.00000000,"change":"EVEN","change_price":0E-8,"acc_trade_volume_24h":1234.56789000,"acc_trade_price_24h":143873829387.12300000,"trade_timestamp":1764115200123,"timestamp":1764115200456,"market_state":"ACTIVE","delisting_date":null,"stream_type":"REALTIME"}"#,
    r#"{"type":"ticker","code":"KRW-XRP","opening_price":3200.00000000,"high_price":3300.50000000,"low_price":3000.00000000,"trade_price":3100.25000000,"prev_closing_price":3141.50000000,"change":"EVEN","change_price":41.25000000,"acc_trade_volume_24h":0.00000000,"acc_trade_price_24h":98765.43210000,"trade_timestamp":1764147599999,"timestamp":1764147600000,"market_state":"ACTIVE","delisting_date":null,"stream_type":"SNAPSHOT"}"#,
    r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1764115200123,"total_ask_size":1.25051234,"total_bid_size":2.10000000,"orderbook_units":[{"ask_price":1.1654E8,"bid_price":1.16538E8,"ask_size":0.00050000,"bid_size":2.00000000},{"ask_price":1.16541E8,"bid_price":1.1653E8,"ask_size":1.25000000,"bid_size":0.10000000},{"ask_price":1.1655E8,"bid_price":0E-8,"ask_size":0.00001234,"bid_size":0.00000000},{"ask_price":0E-8,"bid_price":0E-8,"ask_size":0.00000000,"bid_size":0.00000000}],"stream_type":"SNAPSHOT","level":0}"#,
    r#"{"type":"orderbook","code":"KRW-BTC","timestamp":0,"total_ask_size":0.00000000,"total_bid_size":0.00000000,"orderbook_units":[{"ask_price":0E-8,"bid_price":0E-8,"ask_size":0.00000000,"bid_size":0.00000000}],"stream_type":"REALTIME","level":0}"#,
    r#"{"ty":"trade","cd":"KRW-BTC","tms":1764115200777,"td":"2025-11-26","ttm":"00:00:00","ttms":1764115200123,"tp":116539000.00000000,"tv":0.00079276,"ab":"BID","pcp":116539000.00000000,"c":"EVEN","cp":0E-8,"sid":17641152001230000,"st":"SNAPSHOT"}"#,
    r#"{"ty":"trade","cd":"KRW-XRP","tms":1764115200777,"td":"2025-11-26","ttm":"08:59:59","ttms":1764147599999,"tp":3141.50000000,"tv":1234.56789012,"ab":"ASK","pcp":3141.50000000,"c":"EVEN","cp":0E-8,"sid":42,"st":"REALTIME"}"#,
    r#"{"ty":"ticker","cd":"KRW-BTC","op":116000000.00000000,"hp":117000000.00000000,"lp":115000000.00000000,"tp":116539000.00000000,"pcp":116539000.00000000,"c":"EVEN","cp":0E-8,"atv24h":1234.56789000,"atp24h":143873829387.12300000,"ttms":1764115200123,"tms":1764115200456,"ms":"ACTIVE","st":"REALTIME"}"#,
    r#"{"ty":"ticker","cd":"KRW-XRP","op":3200.00000000,"hp":3300.50000000,"lp":3000.00000000,"tp":3100.25000000,"pcp":3141.50000000,"c":"EVEN","cp":41.25000000,"atv24h":0.00000000,"atp24h":98765.43210000,"ttms":1764147599999,"tms":1764147600000,"ms":"ACTIVE","st":"SNAPSHOT"}"#,
    r#"{"ty":"orderbook","cd":"KRW-BTC","tms":1764115200123,"tas":1.25051234,"tbs":2.10000000,"obu":[{"ap":116540000,"bp":116538000,"as":5E-4,"bs":2},{"ap":116541000,"bp":116530000,"as":1.25,"bs":0.1},{"ap":116550000,"bp":0,"as":1.234E-5,"bs":0},{"ap":0,"bp":0,"as":0,"bs":0}],"st":"SNAPSHOT","lv":0}"#,
    r#"{"ty":"orderbook","cd":"KRW-BTC","tms":0,"tas":0.00000000,"tbs":0.00000000,"obu":[{"ap":0,"bp":0,"as":0,"bs":0}],"st":"REALTIME","lv":0}"#,
    r#"{"type":"trade","code":"KRW-BTC","timestamp":1764115200777,"trade_date":"2025-11-26","trade_time":"09:00:00","trade_timestamp":1764115200123,"trade_price":116539000,"trade_volume":0.0008,"ask_bid":"BID","prev_closing_price":116539000,"change":"EVEN","change_price":0E-8,"sequential_id":17641152001230000,"stream_type":"SNAPSHOT"}"#,
    r#"{"type":"trade","code":"KRW-XRP","timestamp":1764115200777,"trade_date":"2025-11-26","trade_time":"17:59:59","trade_timestamp":1764147599999,"trade_price":3141.5,"trade_volume":1234.5679,"ask_bid":"ASK","prev_closing_price":3141.5,"change":"EVEN","change_price":0E-8,"sequential_id":42,"stream_type":"REALTIME"}"#,
    r#"{"type":"ticker","code":"KRW-BTC","opening_price":116000000,"high_price":117000000,"low_price":115000000,"trade_price":116539000,"prev_closing_price":116539000,"change":"EVEN","change_price":0E-8,"acc_trade_volume_24h":1234.56789000,"acc_trade_price_24h":143873829387.12300000,"trade_timestamp":1764115200123,"timestamp":1764115200456,"market_state":"ACTIVE","delisting_date":null,"stream_type":"REALTIME"}"#,
    r#"{"type":"ticker","code":"KRW-XRP","opening_price":3200,"high_price":3300.5,"low_price":3000,"trade_price":3100.25,"prev_closing_price":3141.5,"change":"EVEN","change_price":41.25,"acc_trade_volume_24h":0.00000000,"acc_trade_price_24h":98765.43210000,"trade_timestamp":1764147599999,"timestamp":1764147600000,"market_state":"ACTIVE","delisting_date":null,"stream_type":"SNAPSHOT"}"#,
    r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1764115200123456,"total_ask_size":1.25051234,"total_bid_size":2.10000000,"orderbook_units":[{"ask_price":116540000,"bid_price":116538000,"ask_size":0.0005,"bid_size":2},{"ask_price":116541000,"bid_price":116530000,"ask_size":1.25,"bid_size":0.1},{"ask_price":116550000,"bid_price":0,"ask_size":0.0001,"bid_size":0},{"ask_price":0,"bid_price":0,"ask_size":0,"bid_size":0}],"stream_type":"SNAPSHOT","level":1}"#,
    r#"{"type":"orderbook","code":"KRW-BTC","timestamp":0,"total_ask_size":0.00000000,"total_bid_size":0.00000000,"orderbook_units":[{"ask_price":0,"bid_price":0,"ask_size":0,"bid_size":0}],"stream_type":"REALTIME","level":1}"#,
    r#"{"ty":"trade","cd":"KRW-BTC","tms":1764115200777,"tdt":"2025-11-26","ttm":"09:00:00","ttms":1764115200123,"tp":116539000,"tv":0.0008,"ab":"BID","pcp":116539000,"c":"EVEN","cp":0E-8,"sid":17641152001230000,"st":"SNAPSHOT"}"#,
    r#"{"ty":"trade","cd":"KRW-XRP","tms":1764115200777,"tdt":"2025-11-26","ttm":"17:59:59","ttms":1764147599999,"tp":3141.5,"tv":1234.5679,"ab":"ASK","pcp":3141.5,"c":"EVEN","cp":0E-8,"sid":42,"st":"REALTIME"}"#,
    r#"{"ty":"ticker","cd":"KRW-BTC","op":116000000,"hp":117000000,"lp":115000000,"tp":116539000,"pcp":116539000,"c":"EVEN","cp":0E-8,"atv24h":1234.56789000,"atp24h":143873829387.12300000,"ttms":1764115200123,"tms":1764115200456,"ms":"ACTIVE","st":"REALTIME"}"#,
    r#"{"ty":"ticker","cd":"KRW-XRP","op":3200,"hp":3300.5,"lp":3000,"tp":3100.25,"pcp":3141.5,"c":"EVEN","cp":41.25,"atv24h":0.00000000,"atp24h":98765.43210000,"ttms":1764147599999,"tms":1764147600000,"ms":"ACTIVE","st":"SNAPSHOT"}"#,
    r#"{"ty":"orderbook","cd":"KRW-BTC","tms":1764115200123456,"tas":1.25051234,"tbs":2.10000000,"obu":[{"ap":116540000,"bp":116538000,"as":0.0005,"bs":2},{"ap":116541000,"bp":116530000,"as":1.25,"bs":0.1},{"ap":116550000,"bp":0,"as":0.0001,"bs":0},{"ap":0,"bp":0,"as":0,"bs":0}],"st":"SNAPSHOT","lv":1}"#,
    r#"{"ty":"orderbook","cd":"KRW-BTC","tms":0,"tas":0.00000000,"tbs":0.00000000,"obu":[{"ap":0,"bp":0,"as":0,"bs":0}],"st":"REALTIME","lv":1}"#,
    r#"{"symbol":"btc_krw","timestamp":1764115200777,"type":"trade","snapshot":true,"data":[{"timestamp":1764115200123,"price":"116539000","qty":"0.00079276","isBuyerTaker":true,"tradeId":17641152001230000}]}"#,
    r#"{"symbol":"xrp_krw","timestamp":1764115200777,"type":"trade","data":[{"timestamp":1764147599999,"price":"3141.5","qty":"1234.56789012","isBuyerTaker":false,"tradeId":42}]}"#,
    r#"{"symbol":"btc_krw","timestamp":1764115200456,"type":"ticker","data":{"open":"116000000","high":"117000000","low":"115000000","close":"116539000","prevClose":"116539000","priceChange":"0","priceChangePercent":"0","volume":"1234.56789","quoteVolume":"143873829387.123","bestAskPrice":"116540000","bestBidPrice":"116538000","lastTradedAt":1764115200123}}"#,
    r#"{"symbol":"xrp_krw","timestamp":1764147600000,"type":"ticker","snapshot":true,"data":{"open":"3200","high":"3300.5","low":"3000","close":"3100.25","prevClose":"3141.5","priceChange":"-41.25","priceChangePercent":"-1.31","volume":"0","quoteVolume":"98765.4321","bestAskPrice":"116540000","bestBidPrice":"116538000","lastTradedAt":1764147599999}}"#,
    r#"{"symbol":"btc_krw","timestamp":1764115200456,"type":"ticker","data":{"open":"116000000","high":"117000000","low":"115000000","close":"116539000","prevClose":"116539000","priceChange":"0","priceChangePercent":"0","volume":"1234.56789","quoteVolume":"143873829387.123","bestAskPrice":"0","bestBidPrice":"0","lastTradedAt":1764115200123}}"#,
    r#"{"symbol":"btc_krw","timestamp":1764115200777,"type":"orderbook","snapshot":true,"data":{"timestamp":1764115200123,"asks":[{"price":"116540000","qty":"0.0005"},{"price":"116541000","qty":"1.25"},{"price":"116550000","qty":"0.00001234"}],"bids":[{"price":"116538000","qty":"2"},{"price":"116530000","qty":"0.1"}]}}"#,
    r#"{"symbol":"btc_krw","timestamp":1764115200777,"type":"orderbook","data":{"timestamp":0,"asks":[],"bids":[]}}"#,
];

#[test]
fn frames_are_written_byte_for_byte() {
    let frames = rendered();
    assert_eq!(frames.len(), GOLDEN.len());
    for (frame, golden) in frames.iter().zip(GOLDEN) {
        assert_eq!(frame, golden);
    }
}
