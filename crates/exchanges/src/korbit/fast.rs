//! The fast path for Korbit data frames, on the allocation-free scanner ([`crate::scan`]).
//!
//! Through serde's derive a Korbit frame takes two passes (the envelope, then its `data` again
//! from a `RawValue`) and the generic visitor machinery; profiles of ingestion showed that
//! costing more per event than Upbit's and Bithumb's parsing together. This path reads the same
//! fields from slices of the frame in one pass, descending into `data` and each trade or book
//! row in place (instruction counts in docs/benchmarks.md).
//!
//! It reads the members in Korbit's own order: `symbol` and `type` come before `data`, so
//! by the time `data` is reached the kind says how to read it and the market is known. A
//! frame in another order is valid JSON this path does not vouch for.
//!
//! It is strict in the same way as the quotation parser: anything it does not fully vouch for
//! (a control frame, a missing, duplicated or mistyped field, an escape, a nested value in a
//! field it skips, a number that does not parse) is [`Unsupported`], and the caller parses the
//! frame with serde instead, which yields the events or the precise error. So this path never
//! accepts what serde would refuse, and never reports an error of its own.

use tickmesh_domain::{
    Decimal, Exchange, Level, Market, MarketEvent, OrderBook, Payload, Side, Ticker, Trade,
    TradeId, UtcMicros,
};

use crate::numbers::decimal_text;
use crate::scan::{Scanner, Unsupported, Value};

/// Appends the events of a data frame to `out`; on [`Unsupported`], `out` may hold some of
/// them and the caller truncates it.
pub(super) fn data_frame(
    text: &str,
    received: UtcMicros,
    out: &mut Vec<MarketEvent>,
) -> Result<(), Unsupported> {
    let (mut kind, mut market, mut timestamp) = (None, None, None);
    // A ticker's time is the envelope's, which may follow `data`: it waits here.
    let mut ticker_body = None;
    let mut data_seen = None;
    let mut s = Scanner::new(text);
    s.members(|key, s| match key {
        // Control frames, and the fields only they carry, are serde's.
        "status" | "code" | "message" | "requestId" => Err(Unsupported),
        "type" => once(&mut kind, string(s.value()?)?),
        "symbol" => {
            let symbol = string(s.value()?)?;
            let parsed =
                Market::from_exchange_symbol(Exchange::Korbit, symbol).map_err(|_| Unsupported)?;
            once(&mut market, parsed)
        }
        "timestamp" => once(&mut timestamp, optional_integer::<i64>(s.value()?)?),
        "data" => {
            once(&mut data_seen, ())?;
            let market = market.ok_or(Unsupported)?;
            let event =
                |exchange_time, payload| super::event(market, exchange_time, received, payload);
            match kind.ok_or(Unsupported)? {
                "ticker" => ticker_body = Some(ticker(s)?),
                "trade" => s.elements(|s| {
                    let (at, trade) = trade(s)?;
                    out.push(event(UtcMicros::from_millis(at), Payload::Trade(trade)));
                    Ok(())
                })?,
                "orderbook" => {
                    let (at, book) = book(s)?;
                    out.push(event(UtcMicros::from_millis(at), Payload::OrderBook(book)));
                }
                _ => return Err(Unsupported),
            }
            Ok(())
        }
        _ => skipped(s.value()?),
    })?;
    s.end()?;
    if data_seen.is_none() {
        return Err(Unsupported);
    }
    if let Some(ticker) = ticker_body {
        let at = timestamp.flatten().ok_or(Unsupported)?;
        let market = market.ok_or(Unsupported)?;
        out.push(super::event(
            market,
            UtcMicros::from_millis(at),
            received,
            Payload::Ticker(ticker),
        ));
    }
    Ok(())
}

fn ticker(s: &mut Scanner<'_>) -> Result<Ticker, Unsupported> {
    // close, open, high, low, prevClose, volume, quoteVolume, bestBidPrice, bestAskPrice
    let mut fields: [Option<Option<&str>>; 9] = [None; 9];
    s.members(|key, s| {
        let slot = match key {
            "close" => 0,
            "open" => 1,
            "high" => 2,
            "low" => 3,
            "prevClose" => 4,
            "volume" => 5,
            "quoteVolume" => 6,
            "bestBidPrice" => 7,
            "bestAskPrice" => 8,
            _ => return skipped(s.value()?),
        };
        once(&mut fields[slot], optional_string(s.value()?)?)
    })?;
    let [
        close,
        open,
        high,
        low,
        prev_close,
        volume,
        quote_volume,
        bid,
        ask,
    ] = fields.map(Option::flatten);
    let optional = |text: Option<&str>| text.map(decimal).transpose();
    // A stopped pair shows "0": no quote, not a free market (as the serde path reads it).
    let quote = |text: Option<&str>| Ok(optional(text)?.filter(|p: &Decimal| !p.is_zero()));
    Ok(Ticker {
        last: decimal(close.ok_or(Unsupported)?)?,
        open: optional(open)?,
        high: optional(high)?,
        low: optional(low)?,
        prev_close: optional(prev_close)?,
        volume_24h: optional(volume)?,
        quote_volume_24h: optional(quote_volume)?,
        best_bid: quote(bid)?,
        best_ask: quote(ask)?,
    })
}

fn trade(s: &mut Scanner<'_>) -> Result<(i64, Trade), Unsupported> {
    let (mut at, mut price, mut qty, mut buyer_taker, mut id) = (None, None, None, None, None);
    s.members(|key, s| match key {
        "timestamp" => once(&mut at, integer::<i64>(s.value()?)?),
        "price" => once(&mut price, string(s.value()?)?),
        "qty" => once(&mut qty, string(s.value()?)?),
        "isBuyerTaker" => match s.value()? {
            Value::Bool(b) => once(&mut buyer_taker, b),
            _ => Err(Unsupported),
        },
        "tradeId" => once(&mut id, integer::<u64>(s.value()?)?),
        _ => skipped(s.value()?),
    })?;
    let trade = Trade {
        trade_id: TradeId(id.ok_or(Unsupported)?),
        price: decimal(price.ok_or(Unsupported)?)?,
        size: decimal(qty.ok_or(Unsupported)?)?,
        side: if buyer_taker.ok_or(Unsupported)? {
            Side::Buy
        } else {
            Side::Sell
        },
    };
    Ok((at.ok_or(Unsupported)?, trade))
}

/// An order book's `data`: its time and both sides, zero rows (padding) left out.
fn book(s: &mut Scanner<'_>) -> Result<(i64, OrderBook), Unsupported> {
    let (mut at, mut bids, mut asks) = (None, None, None);
    s.members(|key, s| match key {
        "timestamp" => once(&mut at, integer::<i64>(s.value()?)?),
        "bids" => once(&mut bids, levels(s)?),
        "asks" => once(&mut asks, levels(s)?),
        _ => skipped(s.value()?),
    })?;
    let book = OrderBook {
        bids: bids.ok_or(Unsupported)?,
        asks: asks.ok_or(Unsupported)?,
    };
    Ok((at.ok_or(Unsupported)?, book))
}

/// One side of a book: rows of `price` and `qty` strings.
fn levels(s: &mut Scanner<'_>) -> Result<Vec<Level>, Unsupported> {
    let mut levels = Vec::with_capacity(32);
    s.elements(|s| {
        let (mut price, mut qty) = (None, None);
        s.members(|key, s| match key {
            "price" => once(&mut price, string(s.value()?)?),
            "qty" => once(&mut qty, string(s.value()?)?),
            _ => skipped(s.value()?),
        })?;
        let level = Level {
            price: decimal(price.ok_or(Unsupported)?)?,
            size: decimal(qty.ok_or(Unsupported)?)?,
        };
        if !level.price.is_zero() && !level.size.is_zero() {
            levels.push(level);
        }
        Ok(())
    })?;
    Ok(levels)
}

/// Sets a field once; serde refuses a duplicated field, so a second one is unsupported.
fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), Unsupported> {
    match slot {
        Some(_) => Err(Unsupported),
        None => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// A field the serde path ignores: fine unless nested, which the scanner checks only for
/// bracket balance and serde would validate fully.
fn skipped(value: Value<'_>) -> Result<(), Unsupported> {
    match value {
        Value::Nested(_) => Err(Unsupported),
        _ => Ok(()),
    }
}

fn string(value: Value<'_>) -> Result<&str, Unsupported> {
    match value {
        Value::Str(s) => Ok(s),
        _ => Err(Unsupported),
    }
}

fn optional_string(value: Value<'_>) -> Result<Option<&str>, Unsupported> {
    match value {
        Value::Null => Ok(None),
        other => string(other).map(Some),
    }
}

fn integer<T: std::str::FromStr>(value: Value<'_>) -> Result<T, Unsupported> {
    match value {
        // serde_json reads `-0` as a float, which no integer field takes.
        Value::Num(text) if text.starts_with("-0") => Err(Unsupported),
        Value::Num(text) => text.parse().map_err(|_| Unsupported),
        _ => Err(Unsupported),
    }
}

fn optional_integer<T: std::str::FromStr>(value: Value<'_>) -> Result<Option<T>, Unsupported> {
    match value {
        Value::Null => Ok(None),
        other => integer(other).map(Some),
    }
}

fn decimal(text: &str) -> Result<Decimal, Unsupported> {
    decimal_text(text).map_err(|_| Unsupported)
}

#[cfg(test)]
mod tests;
