//! Upbit and Bithumb frames in the DEFAULT and SIMPLE formats.
//!
//! Upbit writes DEFAULT book prices in scientific form (`1.16539E8`), trade prices with eight
//! decimals, `0E-8` for a zero change, and small SIMPLE sizes in scientific form (`7.9276E-4`).
//! Bithumb writes integers for KRW prices, sizes with four decimals (so tiny sizes become `0`
//! at a live price), and book timestamps in microseconds.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Level, Market, Side, format_decimal};

use super::{fixed, scientific};
use crate::engine::{SimBook, SimTicker, SimTrade};

/// Which keys to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    Default,
    Simple,
}

/// `SNAPSHOT` or `REALTIME`.
pub(crate) fn stream_type(snapshot: bool) -> &'static str {
    if snapshot { "SNAPSHOT" } else { "REALTIME" }
}

fn price(exchange: Exchange, value: Decimal) -> String {
    match exchange {
        Exchange::Bithumb => format_decimal(value.normalize()),
        _ => fixed(value, 8),
    }
}

fn size(exchange: Exchange, value: Decimal) -> String {
    match exchange {
        Exchange::Bithumb => format_decimal(wire_size(exchange, value).normalize()),
        _ => fixed(value, 8),
    }
}

/// A size as the exchange's frames carry it: Bithumb's at four decimals.
pub(crate) fn wire_size(exchange: Exchange, value: Decimal) -> Decimal {
    match exchange {
        Exchange::Bithumb => value.round_dp(4),
        _ => value,
    }
}

fn utc_date_time(ms: i64, exchange: Exchange) -> (String, String) {
    // Upbit writes UTC, Bithumb KST (UTC+9).
    let offset = if exchange == Exchange::Bithumb {
        9 * 3600
    } else {
        0
    };
    let secs = ms.div_euclid(1000) + offset;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A trade frame.
pub(crate) fn trade(
    exchange: Exchange,
    keys: Keys,
    market: Market,
    t: &SimTrade,
    snapshot: bool,
    now_ms: i64,
) -> String {
    let code = market.to_exchange_symbol(exchange);
    let ab = if t.side == Side::Buy { "BID" } else { "ASK" };
    let (date, time) = utc_date_time(t.time_ms, exchange);
    let (p, s) = (price(exchange, t.price), size(exchange, t.size));
    let st = stream_type(snapshot);
    match keys {
        Keys::Default => format!(
            r#"{{"type":"trade","code":"{code}","timestamp":{now_ms},"trade_date":"{date}","trade_time":"{time}","trade_timestamp":{},"trade_price":{p},"trade_volume":{s},"ask_bid":"{ab}","prev_closing_price":{p},"change":"EVEN","change_price":0E-8,"sequential_id":{},"stream_type":"{st}"}}"#,
            t.time_ms, t.id
        ),
        Keys::Simple => {
            let date_key = if exchange == Exchange::Bithumb {
                "tdt"
            } else {
                "td"
            };
            format!(
                r#"{{"ty":"trade","cd":"{code}","tms":{now_ms},"{date_key}":"{date}","ttm":"{time}","ttms":{},"tp":{p},"tv":{s},"ab":"{ab}","pcp":{p},"c":"EVEN","cp":0E-8,"sid":{},"st":"{st}"}}"#,
                t.time_ms, t.id
            )
        }
    }
}

/// A ticker frame.
pub(crate) fn ticker(
    exchange: Exchange,
    keys: Keys,
    market: Market,
    t: &SimTicker,
    snapshot: bool,
) -> String {
    let code = market.to_exchange_symbol(exchange);
    let p = |v: Decimal| price(exchange, v);
    let change = t.last - t.prev_close;
    let change_text = if change.is_zero() {
        "0E-8".to_owned()
    } else {
        p(change.abs())
    };
    let st = stream_type(snapshot);
    let (last, open, high, low, pcp) = (p(t.last), p(t.open), p(t.high), p(t.low), p(t.prev_close));
    let (vol, qvol) = (fixed(t.volume, 8), fixed(t.quote_volume, 8));
    match keys {
        Keys::Default => format!(
            r#"{{"type":"ticker","code":"{code}","opening_price":{open},"high_price":{high},"low_price":{low},"trade_price":{last},"prev_closing_price":{pcp},"change":"EVEN","change_price":{change_text},"acc_trade_volume_24h":{vol},"acc_trade_price_24h":{qvol},"trade_timestamp":{},"timestamp":{},"market_state":"ACTIVE","delisting_date":null,"stream_type":"{st}"}}"#,
            t.last_trade_ms, t.time_ms
        ),
        Keys::Simple => format!(
            r#"{{"ty":"ticker","cd":"{code}","op":{open},"hp":{high},"lp":{low},"tp":{last},"pcp":{pcp},"c":"EVEN","cp":{change_text},"atv24h":{vol},"atp24h":{qvol},"ttms":{},"tms":{},"ms":"ACTIVE","st":"{st}"}}"#,
            t.last_trade_ms, t.time_ms
        ),
    }
}

/// A book frame of `depth` rows, zero-padded when a side is thinner.
pub(crate) fn book(
    exchange: Exchange,
    keys: Keys,
    market: Market,
    b: &SimBook,
    depth: usize,
    snapshot: bool,
) -> String {
    let code = market.to_exchange_symbol(exchange);
    let zero = Level {
        price: Decimal::ZERO,
        size: Decimal::ZERO,
    };
    let mut units = String::with_capacity(depth * 80);
    for i in 0..depth {
        let ask = b.asks.get(i).copied().unwrap_or(zero);
        let bid = b.bids.get(i).copied().unwrap_or(zero);
        if i > 0 {
            units.push(',');
        }
        let (ap, bp, asz, bsz) = match (exchange, keys) {
            (Exchange::Bithumb, _) => (
                price(exchange, ask.price),
                price(exchange, bid.price),
                size(exchange, ask.size),
                size(exchange, bid.size),
            ),
            (_, Keys::Default) => (
                scientific(ask.price, 8),
                scientific(bid.price, 8),
                fixed(ask.size, 8),
                fixed(bid.size, 8),
            ),
            (_, Keys::Simple) => (
                format_decimal(ask.price.normalize()),
                format_decimal(bid.price.normalize()),
                small(ask.size),
                small(bid.size),
            ),
        };
        let _ = match keys {
            Keys::Default => write!(
                units,
                r#"{{"ask_price":{ap},"bid_price":{bp},"ask_size":{asz},"bid_size":{bsz}}}"#
            ),
            Keys::Simple => write!(units, r#"{{"ap":{ap},"bp":{bp},"as":{asz},"bs":{bsz}}}"#),
        };
    }
    let sum = |levels: &[Level]| levels.iter().take(depth).map(|l| l.size).sum::<Decimal>();
    let (tas, tbs) = (fixed(sum(&b.asks), 8), fixed(sum(&b.bids), 8));
    // Bithumb book times are microseconds on the wire; Upbit's are milliseconds.
    let ts = if exchange == Exchange::Bithumb {
        b.time_us
    } else {
        b.time_us / 1000
    };
    let (st, level) = (
        stream_type(snapshot),
        if exchange == Exchange::Bithumb { 1 } else { 0 },
    );
    match keys {
        Keys::Default => format!(
            r#"{{"type":"orderbook","code":"{code}","timestamp":{ts},"total_ask_size":{tas},"total_bid_size":{tbs},"orderbook_units":[{units}],"stream_type":"{st}","level":{level}}}"#
        ),
        Keys::Simple => format!(
            r#"{{"ty":"orderbook","cd":"{code}","tms":{ts},"tas":{tas},"tbs":{tbs},"obu":[{units}],"st":"{st}","lv":{level}}}"#
        ),
    }
}

/// SIMPLE sizes: scientific below 0.001 (as captured), plain otherwise.
fn small(v: Decimal) -> String {
    if v.is_zero() {
        "0".to_owned()
    } else if v < Decimal::new(1, 3) {
        scientific(v, 8)
    } else {
        format_decimal(v.normalize())
    }
}

/// `{"error":{"name":..,"message":..}}`.
pub(crate) fn error(name: &str, message: &str) -> String {
    serde_json::json!({"error": {"name": name, "message": message}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn dates_from_epoch_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2026-09-02 is day 20,698.
        assert_eq!(civil_from_days(20_698), (2026, 9, 2));
    }
}
