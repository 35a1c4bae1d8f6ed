//! The fast path for Korbit data frames, on the allocation-free scanner ([`crate::scan`]).
//!
//! Korbit was the one feed still parsed through serde's derive: two passes (the envelope,
//! then its `data` again from a `RawValue`) and the generic visitor machinery. In a profile of
//! ingestion at 30,000 events/s it took 16% of the process for a third of the events, more per
//! event than Upbit and Bithumb together. This path reads the same fields from slices of the
//! frame.
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
use crate::scan::{self, Unsupported, Value};

/// Appends the events of a data frame to `out`; on [`Unsupported`], `out` may hold some of
/// them and the caller truncates it.
pub(super) fn data_frame(
    text: &str,
    received: UtcMicros,
    out: &mut Vec<MarketEvent>,
) -> Result<(), Unsupported> {
    let (mut kind, mut symbol, mut timestamp, mut data) = (None, None, None, None);
    scan::object(text, |key, value| match key {
        // Control frames, and the fields only they carry, are serde's.
        "status" | "code" | "message" | "requestId" => Err(Unsupported),
        "type" => once(&mut kind, string(value)?),
        "symbol" => once(&mut symbol, string(value)?),
        "timestamp" => once(&mut timestamp, optional_integer::<i64>(value)?),
        "data" => once(&mut data, value),
        _ => skipped(value),
    })?;
    let symbol = symbol.ok_or(Unsupported)?;
    let market = Market::from_exchange_symbol(Exchange::Korbit, symbol).map_err(|_| Unsupported)?;
    let Some(Value::Nested(body)) = data else {
        return Err(Unsupported);
    };
    let event = |exchange_time: UtcMicros, payload: Payload| MarketEvent {
        exchange: Exchange::Korbit,
        market,
        exchange_time,
        received_time: received,
        payload,
        raw: None,
    };
    match kind.ok_or(Unsupported)? {
        "ticker" => {
            let at = timestamp.flatten().ok_or(Unsupported)?;
            out.push(event(
                UtcMicros::from_millis(at),
                Payload::Ticker(ticker(body)?),
            ));
        }
        "trade" => scan::array(body, |element| {
            let Value::Nested(row) = element else {
                return Err(Unsupported);
            };
            let (at, trade) = trade(row)?;
            out.push(event(UtcMicros::from_millis(at), Payload::Trade(trade)));
            Ok(())
        })?,
        "orderbook" => {
            let (at, book) = order_book(body)?;
            out.push(event(UtcMicros::from_millis(at), Payload::OrderBook(book)));
        }
        _ => return Err(Unsupported),
    }
    Ok(())
}

fn ticker(body: &str) -> Result<Ticker, Unsupported> {
    // close, open, high, low, prevClose, volume, quoteVolume, bestBidPrice, bestAskPrice
    let mut fields: [Option<Option<&str>>; 9] = [None; 9];
    scan::object(body, |key, value| {
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
            _ => return skipped(value),
        };
        once(&mut fields[slot], optional_string(value)?)
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

fn trade(row: &str) -> Result<(i64, Trade), Unsupported> {
    let (mut at, mut price, mut qty, mut buyer_taker, mut id) = (None, None, None, None, None);
    scan::object(row, |key, value| match key {
        "timestamp" => once(&mut at, integer::<i64>(value)?),
        "price" => once(&mut price, string(value)?),
        "qty" => once(&mut qty, string(value)?),
        "isBuyerTaker" => match value {
            Value::Bool(b) => once(&mut buyer_taker, b),
            _ => Err(Unsupported),
        },
        "tradeId" => once(&mut id, integer::<u64>(value)?),
        _ => skipped(value),
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

fn order_book(body: &str) -> Result<(i64, OrderBook), Unsupported> {
    let (mut at, mut bids, mut asks) = (None, None, None);
    scan::object(body, |key, value| match key {
        "timestamp" => once(&mut at, integer::<i64>(value)?),
        "bids" => once(&mut bids, levels(value)?),
        "asks" => once(&mut asks, levels(value)?),
        _ => skipped(value),
    })?;
    let book = OrderBook {
        bids: bids.ok_or(Unsupported)?,
        asks: asks.ok_or(Unsupported)?,
    };
    Ok((at.ok_or(Unsupported)?, book))
}

/// The levels of one side, empty ones (zero price or size) left out as the serde path does.
fn levels(value: Value<'_>) -> Result<Vec<Level>, Unsupported> {
    let Value::Nested(rows) = value else {
        return Err(Unsupported);
    };
    let mut levels = Vec::new();
    scan::array(rows, |element| {
        let Value::Nested(row) = element else {
            return Err(Unsupported);
        };
        let (mut price, mut qty) = (None, None);
        scan::object(row, |key, value| match key {
            "price" => once(&mut price, string(value)?),
            "qty" => once(&mut qty, string(value)?),
            _ => skipped(value),
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
#[path = "fast_tests.rs"]
mod tests;
