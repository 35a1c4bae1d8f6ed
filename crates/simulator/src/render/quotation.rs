//! Upbit and Bithumb frames in the DEFAULT and SIMPLE formats.
//!
//! Upbit writes DEFAULT book prices in scientific form (`1.16539E8`), trade prices with eight
//! decimals, `0E-8` for a zero change, and small SIMPLE sizes in scientific form (`7.9276E-4`).
//! Bithumb writes integers for KRW prices, sizes with four decimals (a tiny size shows as its
//! smallest step, `0.0001`), and book timestamps in microseconds.

use rust_decimal::Decimal;
use tickmesh_domain::{Exchange, Level, Market, Side};

use super::{push_fixed, push_int, push_plain, push_scientific, push_symbol};
use crate::engine::{SimBook, SimTicker, SimTrade};

/// Which keys to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    Default,
    Simple,
}

impl Keys {
    /// The DEFAULT or the SIMPLE spelling of a key.
    pub(crate) fn pick<'a>(self, default: &'a str, simple: &'a str) -> &'a str {
        match self {
            Keys::Default => default,
            Keys::Simple => simple,
        }
    }
}

/// `SNAPSHOT` or `REALTIME`.
pub(crate) fn stream_type(snapshot: bool) -> &'static str {
    if snapshot { "SNAPSHOT" } else { "REALTIME" }
}

/// A price: Bithumb writes KRW integers plainly, Upbit with eight decimals.
fn push_price(out: &mut String, exchange: Exchange, value: Decimal) {
    match exchange {
        Exchange::Bithumb => push_plain(out, value),
        _ => push_fixed(out, value, 8),
    }
}

/// A size: Bithumb's at four decimals without trailing zeros, Upbit's with eight decimals.
fn push_size(out: &mut String, exchange: Exchange, value: Decimal) {
    match exchange {
        Exchange::Bithumb => push_plain(out, wire_size(exchange, value)),
        _ => push_fixed(out, value, 8),
    }
}

/// A size as the exchange's frames carry it: Bithumb's at four decimals. Bithumb's smallest
/// size step is 0.0001, so a positive size never shows as `0` (a trade or a book level of
/// nothing does not exist); zero stays zero (the padding of a thin book).
pub(crate) fn wire_size(exchange: Exchange, value: Decimal) -> Decimal {
    match exchange {
        Exchange::Bithumb if value > Decimal::ZERO => value.round_dp(4).max(Decimal::new(1, 4)),
        Exchange::Bithumb => value.round_dp(4),
        _ => value,
    }
}

/// Appends a non-negative `value` zero-padded to `width` digits.
fn push_padded(out: &mut String, value: i64, width: u32) {
    let digits = value.checked_ilog10().unwrap_or(0) + 1;
    for _ in digits..width {
        out.push('0');
    }
    push_int(out, value);
}

/// Appends the `"date":"yyyy-mm-dd","time":"hh:mm:ss"` members of a trade time under the
/// two given keys: Upbit writes UTC, Bithumb KST (UTC+9).
fn push_date_time(out: &mut String, [date, time]: [&str; 2], ms: i64, exchange: Exchange) {
    let offset = if exchange == Exchange::Bithumb {
        9 * 3600
    } else {
        0
    };
    let secs = ms.div_euclid(1000) + offset;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    key(out, date);
    out.push('"');
    push_padded(out, y, 4);
    out.push('-');
    push_padded(out, m, 2);
    out.push('-');
    push_padded(out, d, 2);
    out.push('"');
    key(out, time);
    out.push('"');
    push_padded(out, rem / 3600, 2);
    out.push(':');
    push_padded(out, rem % 3600 / 60, 2);
    out.push(':');
    push_padded(out, rem % 60, 2);
    out.push('"');
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

/// Appends `,"name":`.
fn key(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

/// Appends `,"name":"text"`.
fn text_member(out: &mut String, name: &str, text: &str) {
    key(out, name);
    out.push('"');
    out.push_str(text);
    out.push('"');
}

/// Starts a frame: `{"type":"{kind}","code":"KRW-BTC"` in the format's keys.
fn open(exchange: Exchange, keys: Keys, market: Market, kind: &str, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    out.push_str(keys.pick("{\"type\":\"", "{\"ty\":\""));
    out.push_str(kind);
    out.push('"');
    key(&mut out, keys.pick("code", "cd"));
    out.push('"');
    push_symbol(&mut out, market, exchange);
    out.push('"');
    out
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
    let k = |default, simple| keys.pick(default, simple);
    let mut out = open(exchange, keys, market, "trade", 384);
    key(&mut out, k("timestamp", "tms"));
    push_int(&mut out, now_ms);
    let date = match exchange {
        Exchange::Bithumb => "tdt",
        _ => "td",
    };
    push_date_time(
        &mut out,
        [k("trade_date", date), k("trade_time", "ttm")],
        t.time_ms,
        exchange,
    );
    key(&mut out, k("trade_timestamp", "ttms"));
    push_int(&mut out, t.time_ms);
    key(&mut out, k("trade_price", "tp"));
    push_price(&mut out, exchange, t.price);
    key(&mut out, k("trade_volume", "tv"));
    push_size(&mut out, exchange, t.size);
    let ab = if t.side == Side::Buy { "BID" } else { "ASK" };
    text_member(&mut out, k("ask_bid", "ab"), ab);
    key(&mut out, k("prev_closing_price", "pcp"));
    push_price(&mut out, exchange, t.price);
    text_member(&mut out, k("change", "c"), "EVEN");
    key(&mut out, k("change_price", "cp"));
    out.push_str("0E-8");
    key(&mut out, k("sequential_id", "sid"));
    push_int(&mut out, t.id);
    text_member(&mut out, k("stream_type", "st"), stream_type(snapshot));
    out.push('}');
    out
}

/// A ticker frame.
pub(crate) fn ticker(
    exchange: Exchange,
    keys: Keys,
    market: Market,
    t: &SimTicker,
    snapshot: bool,
) -> String {
    let k = |default, simple| keys.pick(default, simple);
    let mut out = open(exchange, keys, market, "ticker", 512);
    for (name, value) in [
        (k("opening_price", "op"), t.open),
        (k("high_price", "hp"), t.high),
        (k("low_price", "lp"), t.low),
        (k("trade_price", "tp"), t.last),
        (k("prev_closing_price", "pcp"), t.prev_close),
    ] {
        key(&mut out, name);
        push_price(&mut out, exchange, value);
    }
    text_member(&mut out, k("change", "c"), "EVEN");
    key(&mut out, k("change_price", "cp"));
    let change = t.last - t.prev_close;
    if change.is_zero() {
        out.push_str("0E-8");
    } else {
        push_price(&mut out, exchange, change.abs());
    }
    key(&mut out, k("acc_trade_volume_24h", "atv24h"));
    push_fixed(&mut out, t.volume, 8);
    key(&mut out, k("acc_trade_price_24h", "atp24h"));
    push_fixed(&mut out, t.quote_volume, 8);
    key(&mut out, k("trade_timestamp", "ttms"));
    push_int(&mut out, t.last_trade_ms);
    key(&mut out, k("timestamp", "tms"));
    push_int(&mut out, t.time_ms);
    text_member(&mut out, k("market_state", "ms"), "ACTIVE");
    if keys == Keys::Default {
        key(&mut out, "delisting_date");
        out.push_str("null");
    }
    text_member(&mut out, k("stream_type", "st"), stream_type(snapshot));
    out.push('}');
    out
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
    let k = |default, simple| keys.pick(default, simple);
    let mut out = open(exchange, keys, market, "orderbook", 192 + depth * 112);
    // Bithumb book times are microseconds on the wire; Upbit's are milliseconds.
    let ts = if exchange == Exchange::Bithumb {
        b.time_us
    } else {
        b.time_us / 1000
    };
    key(&mut out, k("timestamp", "tms"));
    push_int(&mut out, ts);
    let sum = |levels: &[Level]| levels.iter().take(depth).map(|l| l.size).sum::<Decimal>();
    key(&mut out, k("total_ask_size", "tas"));
    push_fixed(&mut out, sum(&b.asks), 8);
    key(&mut out, k("total_bid_size", "tbs"));
    push_fixed(&mut out, sum(&b.bids), 8);
    key(&mut out, k("orderbook_units", "obu"));
    out.push('[');
    let zero = Level {
        price: Decimal::ZERO,
        size: Decimal::ZERO,
    };
    for i in 0..depth {
        let ask = b.asks.get(i).copied().unwrap_or(zero);
        let bid = b.bids.get(i).copied().unwrap_or(zero);
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        let names = [
            k("ask_price", "ap"),
            k("bid_price", "bp"),
            k("ask_size", "as"),
            k("bid_size", "bs"),
        ];
        let values = [ask.price, bid.price, ask.size, bid.size];
        for (i, (name, value)) in names.into_iter().zip(values).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            let is_price = i < 2;
            match (exchange, keys, is_price) {
                (Exchange::Bithumb, _, true) => push_price(&mut out, exchange, value),
                (Exchange::Bithumb, _, false) => push_size(&mut out, exchange, value),
                (_, Keys::Default, true) => push_scientific(&mut out, value, 8),
                (_, Keys::Default, false) => push_fixed(&mut out, value, 8),
                (_, Keys::Simple, true) => push_plain(&mut out, value),
                (_, Keys::Simple, false) => push_small(&mut out, value),
            }
        }
        out.push('}');
    }
    out.push(']');
    text_member(&mut out, k("stream_type", "st"), stream_type(snapshot));
    key(&mut out, k("level", "lv"));
    out.push(if exchange == Exchange::Bithumb {
        '1'
    } else {
        '0'
    });
    out.push('}');
    out
}

/// SIMPLE sizes: scientific below 0.001 (as captured), plain otherwise.
fn push_small(out: &mut String, v: Decimal) {
    if v.is_zero() {
        out.push('0');
    } else if v < Decimal::new(1, 3) {
        push_scientific(out, v, 8);
    } else {
        push_plain(out, v);
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
