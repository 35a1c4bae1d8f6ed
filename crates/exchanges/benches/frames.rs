//! The frames the parse benchmarks read, shared by the criterion bench (`benches/parse.rs`)
//! and the instruction-count example (`examples/parse_frames.rs`), so both measure the same
//! input.

use std::fmt::Write as _;

use tickmesh_domain::{MarketEvent, UtcMicros};
use tickmesh_exchanges::{Control, FrameError, bithumb, korbit, upbit};

/// A frame parser, as each exchange module exports it.
pub type Parser = fn(&[u8], UtcMicros, bool, &mut Vec<MarketEvent>) -> Result<Control, FrameError>;

pub const UPBIT_TRADE_SIMPLE: &str = r#"{"ty":"trade","cd":"KRW-BTC","tms":1788335180423,"td":"2026-09-02","ttm":"07:46:20","ttms":1788335180377,"tp":106691000.00000000,"tv":0.00009372,"ab":"ASK","pcp":107005000.00000000,"c":"FALL","cp":314000.00000000,"sid":17883351803770004,"bap":106705000,"bas":0.00906333,"bbp":106691000,"bbs":0.00702247,"st":"REALTIME"}"#;
pub const UPBIT_TRADE_DEFAULT: &str = r#"{"type":"trade","code":"KRW-BTC","timestamp":1788335180423,"trade_date":"2026-09-02","trade_time":"07:46:20","trade_timestamp":1788335180377,"trade_price":106691000.00000000,"trade_volume":0.00009372,"ask_bid":"ASK","prev_closing_price":107005000.00000000,"change":"FALL","change_price":314000.00000000,"sequential_id":17883351803770004,"best_ask_price":106705000,"best_ask_size":0.00906333,"best_bid_price":106691000,"best_bid_size":0.00702247,"stream_type":"REALTIME"}"#;
pub const UPBIT_TICKER_DEFAULT: &str = r#"{"type":"ticker","code":"KRW-BTC","opening_price":158219000.00000000,"high_price":159278000.00000000,"low_price":157588000.00000000,"trade_price":158200000.00000000,"prev_closing_price":158200000.00000000,"acc_trade_price":95088751392.9099200000000000,"change":"EVEN","change_price":0E-8,"signed_change_price":0E-8,"change_rate":0,"signed_change_rate":0,"ask_bid":"ASK","trade_volume":0.00011188,"acc_trade_volume":600.09226312,"trade_date":"20250926","trade_time":"082646","trade_timestamp":1758875206936,"acc_ask_volume":341.67996226,"acc_bid_volume":258.41230086,"highest_52_week_price":169900000.00000000,"highest_52_week_date":"2025-08-14","lowest_52_week_price":80635000.00000000,"lowest_52_week_date":"2024-10-10","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":null,"market_warning":"NONE","timestamp":1758875206974,"acc_trade_price_24h":331188513477.17233,"acc_trade_volume_24h":2083.83396972,"stream_type":"REALTIME"}"#;
pub const BITHUMB_TRADE: &str = r#"{"type":"trade","code":"KRW-BTC","trade_price":116208000,"trade_volume":0.0009,"ask_bid":"BID","trade_date":"2026-09-23","trade_time":"12:18:33","trade_timestamp":1790133513739,"sequential_id":1079953210371761700,"timestamp":1790133514039,"stream_type":"REALTIME"}"#;
pub const BITHUMB_TICKER: &str = r#"{"type":"ticker","code":"KRW-BTC","opening_price":94223000,"high_price":95465000,"low_price":93601000,"trade_price":95299000,"prev_closing_price":94201000,"change":"RISE","change_price":1098000,"signed_change_price":1098000,"change_rate":0.01165593,"signed_change_rate":0.01165593,"trade_volume":0.0094,"acc_trade_volume":151.44914647,"acc_trade_volume_24h":310.44065227,"acc_trade_price":14330306973.41015,"acc_trade_price_24h":29226371799.56915,"trade_date":"20260710","trade_time":"124548","trade_timestamp":1783655148303,"ask_bid":"BID","acc_ask_volume":52.30413928,"acc_bid_volume":99.14500719,"highest_52_week_price":179734000,"highest_52_week_date":"2025-10-09","lowest_52_week_price":81110000,"lowest_52_week_date":"2026-02-06","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":"","market_warning":"NONE","timestamp":1783655148485,"stream_type":"REALTIME"}"#;
pub const KORBIT_TRADE: &str = r#"{"symbol":"btc_krw","timestamp":1790134328085,"type":"trade","data":[{"timestamp":1790134317520,"price":"116439000","qty":"0.0067","isBuyerTaker":false,"tradeId":25441720}]}"#;
pub const KORBIT_TICKER: &str = r#"{"symbol":"btc_krw","timestamp":1790134313071,"type":"ticker","data":{"open":"115370000","high":"116765000","low":"114412000","close":"116463000","prevClose":"115304000","priceChange":"1159000","priceChangePercent":"1.01","volume":"39.25266763","quoteVolume":"4549864965.49708","bestAskPrice":"116477000","bestBidPrice":"116426000","lastTradedAt":1790134282264}}"#;

/// An Upbit-style book of `depth` rows (Upbit SIMPLE 30, Bithumb DEFAULT 15 with µs time).
pub fn quotation_book(simple: bool, depth: u32, micros: bool) -> String {
    let (ap, bp, asz, bsz) = if simple {
        ("ap", "bp", "as", "bs")
    } else {
        ("ask_price", "bid_price", "ask_size", "bid_size")
    };
    let mut units = String::new();
    for i in 0..depth {
        if i > 0 {
            units.push(',');
        }
        let _ = write!(
            units,
            r#"{{"{ap}":{},"{bp}":{},"{asz}":0.0{}4,"{bsz}":7.9276E-4}}"#,
            116_606_000 + i * 1000,
            116_534_000 - i * 1000,
            i + 1
        );
    }
    let ts = if micros {
        "1790133505546514"
    } else {
        "1790134773006"
    };
    if simple {
        format!(
            r#"{{"ty":"orderbook","cd":"KRW-BTC","tms":{ts},"tas":0.48514983,"tbs":2.2403413,"obu":[{units}],"st":"REALTIME","lv":0}}"#
        )
    } else {
        format!(
            r#"{{"type":"orderbook","code":"KRW-BTC","total_ask_size":369.9832,"total_bid_size":287.0216,"orderbook_units":[{units}],"level":1,"timestamp":{ts},"stream_type":"REALTIME"}}"#
        )
    }
}

/// A Korbit book of `depth` levels a side.
pub fn korbit_book(depth: u32) -> String {
    let side = |base: u32, step: i64| {
        (0..depth)
            .map(|i| {
                format!(
                    r#"{{"price":"{}","qty":"0.0{}5"}}"#,
                    i64::from(base) + step * i64::from(i),
                    i + 1
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"symbol":"btc_krw","timestamp":1790134243081,"type":"orderbook","data":{{"timestamp":1790134243067,"asks":[{}],"bids":[{}]}}}}"#,
        side(116_506_000, 1000),
        side(116_455_000, -1000)
    )
}

/// Every benchmarked frame: its name, parser and text.
pub fn all() -> Vec<(&'static str, Parser, String)> {
    vec![
        (
            "upbit/trade/simple",
            upbit::parse_frame,
            UPBIT_TRADE_SIMPLE.to_owned(),
        ),
        (
            "upbit/trade/default",
            upbit::parse_frame,
            UPBIT_TRADE_DEFAULT.to_owned(),
        ),
        (
            "upbit/ticker/default",
            upbit::parse_frame,
            UPBIT_TICKER_DEFAULT.to_owned(),
        ),
        (
            "upbit/orderbook30/simple",
            upbit::parse_frame,
            quotation_book(true, 30, false),
        ),
        (
            "bithumb/trade",
            bithumb::parse_frame,
            BITHUMB_TRADE.to_owned(),
        ),
        (
            "bithumb/ticker",
            bithumb::parse_frame,
            BITHUMB_TICKER.to_owned(),
        ),
        (
            "bithumb/orderbook15",
            bithumb::parse_frame,
            quotation_book(false, 15, true),
        ),
        ("korbit/trade", korbit::parse_frame, KORBIT_TRADE.to_owned()),
        (
            "korbit/ticker",
            korbit::parse_frame,
            KORBIT_TICKER.to_owned(),
        ),
        ("korbit/orderbook30", korbit::parse_frame, korbit_book(30)),
    ]
}
