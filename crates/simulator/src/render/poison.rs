//! Hostile frames, each in the exchange's own dialect: what a broken or malicious endpoint
//! could send a client. See [`crate::Poison`] for the kinds.
//!
//! The frames carry only the members the dialect's parsers need, in the exchange's own names
//! (DEFAULT or SIMPLE keys for Upbit and Bithumb, Korbit's envelope), so a client that parses
//! them meets exactly the hostile value and nothing else wrong. Trades carry ids from
//! [`POISON_ID_BASE`] up, far above any id the simulated markets emit, and never enter the
//! engine's history or emission log.

use tickmesh_domain::{Exchange, Market};

use super::quotation::Keys;
use super::{push_int, push_symbol};
use crate::Poison;

/// The first trade id of poison trades: real simulated ids stay far below (Upbit and Bithumb
/// ids are the trade time in ms times 10^4, about 1.8 × 10^16; Korbit's count from 25,441,720).
pub const POISON_ID_BASE: u64 = 9_000_000_000_000_000_000;

/// The market of [`Poison::Unsubscribed`] trades, which the simulator does not list.
pub(crate) const FAKE_MARKET: &str = "FAKE1";

/// How deep [`Poison::DeepNesting`] nests.
const NESTING: usize = 10_000;
/// Levels per side of [`Poison::DeepBook`].
const BOOK_LEVELS: usize = 1_000;
/// Length of a [`Poison::Oversize`] frame, at least.
pub(crate) const OVERSIZE_BYTES: usize = 2 * 1024 * 1024;

/// The values of a poison trade, numbers as their JSON text.
struct PoisonTrade {
    id: u64,
    time_ms: i64,
    price: String,
    size: &'static str,
    /// A long string member to add, for an oversize frame.
    pad: usize,
}

/// The trade of a poison kind, or `None` for the book. `quoted` writes the price as a JSON
/// string (Korbit's decimals), unless it is the nested array.
fn poison_trade(poison: Poison, now_ms: i64, quoted: bool) -> Option<(PoisonTrade, bool)> {
    let id = POISON_ID_BASE + poison as u64;
    let trade = |time_ms, price: &str, size, pad| PoisonTrade {
        id,
        time_ms,
        price: if quoted {
            format!("\"{price}\"")
        } else {
            price.to_owned()
        },
        size,
        pad,
    };
    // The flag: whether the trade names the fake market instead of the subscribed one.
    Some(match poison {
        Poison::NegativeTime => (trade(-9_999_999_999_999_999, "1000", "1", 0), false),
        // 2100-01-01T00:00:00Z.
        Poison::FarFuture => (trade(4_102_444_800_000, "1000", "1", 0), false),
        Poison::HugePrice => (
            trade(now_ms, "79228162514264337593543950335", "3", 0),
            false,
        ),
        Poison::Unsubscribed => (trade(now_ms, "1000", "1", 0), true),
        Poison::Oversize => (trade(now_ms, "1000", "1", OVERSIZE_BYTES), false),
        Poison::DeepNesting => {
            let mut price = String::with_capacity(2 * NESTING);
            nesting(&mut price);
            let mut t = trade(now_ms, "", "1", 0);
            t.price = price;
            (t, false)
        }
        Poison::DeepBook => return None,
    })
}

/// The fake market of [`Poison::Unsubscribed`].
fn fake_market() -> Option<Market> {
    Market::parse(FAKE_MARKET).ok()
}

fn pad(out: &mut String, bytes: usize) {
    if bytes > 0 {
        out.push_str(",\"pad\":\"");
        out.extend(std::iter::repeat_n('a', bytes));
        out.push('"');
    }
}

fn nesting(out: &mut String) {
    out.extend(std::iter::repeat_n('[', NESTING));
    out.extend(std::iter::repeat_n(']', NESTING));
}

/// A poison frame in the Upbit or Bithumb dialect, about `market`, with `keys`; `mid` is a
/// plausible price for book levels.
pub(crate) fn quotation(
    exchange: Exchange,
    keys: Keys,
    market: Market,
    poison: Poison,
    mid: i64,
    now_ms: i64,
) -> Option<String> {
    let k = |default, simple| keys.pick(default, simple);
    let mut out = String::new();
    let open = |out: &mut String, kind: &str, market: Market| {
        out.push_str(&format!(
            "{{\"{}\":\"{kind}\",\"{}\":\"",
            k("type", "ty"),
            k("code", "cd")
        ));
        push_symbol(out, market, exchange);
        out.push('"');
    };
    if let Some((t, fake)) = poison_trade(poison, now_ms, false) {
        let market = if fake { fake_market()? } else { market };
        open(&mut out, "trade", market);
        let ab = k("ask_bid", "ab");
        out.push_str(&format!(
            ",\"{}\":{now_ms},\"{}\":{},\"{}\":{},\"{}\":{},\"{ab}\":\"BID\",\"{}\":{},\"{}\":\"REALTIME\"",
            k("timestamp", "tms"),
            k("trade_timestamp", "ttms"),
            t.time_ms,
            k("trade_price", "tp"),
            t.price,
            k("trade_volume", "tv"),
            t.size,
            k("sequential_id", "sid"),
            t.id,
            k("stream_type", "st"),
        ));
        pad(&mut out, t.pad);
        out.push('}');
        return Some(out);
    }
    // Every other kind is a trade: this is the deep book.
    open(&mut out, "orderbook", market);
    // Bithumb book times are microseconds on the wire.
    let ts = if exchange == Exchange::Bithumb {
        now_ms * 1000
    } else {
        now_ms
    };
    out.push_str(&format!(
        ",\"{}\":{ts},\"{}\":[",
        k("timestamp", "tms"),
        k("orderbook_units", "obu")
    ));
    for i in 0..BOOK_LEVELS as i64 {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"{}\":{},\"{}\":{},\"{}\":1,\"{}\":1}}",
            k("ask_price", "ap"),
            mid + 1 + i,
            k("bid_price", "bp"),
            (mid - i).max(1),
            k("ask_size", "as"),
            k("bid_size", "bs"),
        ));
    }
    out.push_str(&format!("],\"{}\":\"REALTIME\"}}", k("stream_type", "st")));
    Some(out)
}

/// A poison frame in the Korbit dialect, about `market`.
pub(crate) fn korbit(market: Market, poison: Poison, mid: i64, now_ms: i64) -> Option<String> {
    let mut out = String::new();
    let open = |out: &mut String, kind: &str, market: Market| {
        out.push_str("{\"symbol\":\"");
        push_symbol(out, market, Exchange::Korbit);
        out.push_str("\",\"timestamp\":");
        push_int(out, now_ms);
        out.push_str(&format!(",\"type\":\"{kind}\",\"data\":"));
    };
    if let Some((t, fake)) = poison_trade(poison, now_ms, true) {
        let market = if fake { fake_market()? } else { market };
        open(&mut out, "trade", market);
        out.push_str(&format!(
            "[{{\"timestamp\":{},\"price\":{},\"qty\":\"{}\",\"isBuyerTaker\":true,\"tradeId\":{}}}]",
            t.time_ms, t.price, t.size, t.id
        ));
        pad(&mut out, t.pad);
        out.push('}');
        return Some(out);
    }
    // Every other kind is a trade: this is the deep book.
    open(&mut out, "orderbook", market);
    out.push_str(&format!("{{\"timestamp\":{now_ms},\"asks\":["));
    for (side, sign) in [("],\"bids\":[", 1i64), ("", -1)] {
        for i in 0..BOOK_LEVELS as i64 {
            if i > 0 {
                out.push(',');
            }
            let price = (mid + sign * (i + 1)).max(1);
            out.push_str(&format!("{{\"price\":\"{price}\",\"qty\":\"1\"}}"));
        }
        out.push_str(side);
    }
    out.push_str("]}}");
    Some(out)
}

#[cfg(test)]
mod tests;
