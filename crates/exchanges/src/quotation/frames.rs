//! Borrowed wire types of the quotation dialect. One struct takes every frame kind and both
//! formats (DEFAULT keys with their SIMPLE aliases), so a frame is read in one pass and routed
//! afterwards; numbers stay raw JSON text until converted exactly.
//!
//! A single-object frame is read by [`Frame::scan`], which walks the members directly (see
//! [`crate::scan`]), order book rows included, in one pass; arrays, escaped strings and
//! anything malformed go through the serde derive, which is the reference behaviour the
//! scanner must match.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::numbers::Raw;
use crate::scan::{Scanner, Unsupported, Value};

/// Any quotation frame: ticker, trade, order book, `{"status":"UP"}`, `{"error":{..}}` or a
/// `LIST_SUBSCRIPTIONS` reply. Unknown keys are skipped.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Frame<'a> {
    #[serde(rename = "type", alias = "ty", borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(alias = "cd", alias = "mk", alias = "market", borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(alias = "tms", borrow)]
    pub timestamp: Option<Raw<'a>>,

    #[serde(alias = "tp", borrow)]
    pub trade_price: Option<Raw<'a>>,
    #[serde(alias = "tv", borrow)]
    pub trade_volume: Option<Raw<'a>>,
    #[serde(alias = "ab", borrow)]
    pub ask_bid: Option<Cow<'a, str>>,
    #[serde(alias = "ttms", borrow)]
    pub trade_timestamp: Option<Raw<'a>>,
    #[serde(alias = "sid", borrow)]
    pub sequential_id: Option<Raw<'a>>,

    #[serde(alias = "op", borrow)]
    pub opening_price: Option<Raw<'a>>,
    #[serde(alias = "hp", borrow)]
    pub high_price: Option<Raw<'a>>,
    #[serde(alias = "lp", borrow)]
    pub low_price: Option<Raw<'a>>,
    #[serde(alias = "pcp", borrow)]
    pub prev_closing_price: Option<Raw<'a>>,
    #[serde(alias = "atv24h", borrow)]
    pub acc_trade_volume_24h: Option<Raw<'a>>,
    #[serde(alias = "atp24h", borrow)]
    pub acc_trade_price_24h: Option<Raw<'a>>,

    #[serde(alias = "obu", borrow)]
    pub orderbook_units: Option<Vec<Unit<'a>>>,

    #[serde(borrow)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub error: Option<ErrorBody<'a>>,
    #[serde(alias = "mthd", borrow)]
    pub method: Option<Cow<'a, str>>,
}

/// One order book row: the i-th best ask and the i-th best bid.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Unit<'a> {
    #[serde(alias = "ap", borrow)]
    pub ask_price: Option<Raw<'a>>,
    #[serde(alias = "as", borrow)]
    pub ask_size: Option<Raw<'a>>,
    #[serde(alias = "bp", borrow)]
    pub bid_price: Option<Raw<'a>>,
    #[serde(alias = "bs", borrow)]
    pub bid_size: Option<Raw<'a>>,
}

/// `{"error":{"name":..,"message":..}}`; `name` is a string on the socket and sometimes a
/// number in REST bodies.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody<'a> {
    #[serde(borrow)]
    pub name: Option<&'a RawValue>,
    #[serde(borrow)]
    pub message: Option<Cow<'a, str>>,
}

impl ErrorBody<'_> {
    pub(crate) fn name(&self) -> String {
        self.name
            .map(|n| n.get().trim_matches('"').to_owned())
            .unwrap_or_else(|| "UNKNOWN".to_owned())
    }

    pub(crate) fn message(&self) -> String {
        self.message.as_deref().unwrap_or("").to_owned()
    }
}

impl<'a> Frame<'a> {
    /// Reads one JSON object frame without serde, or `None` when serde must decide: escaped
    /// strings, a member of the wrong JSON type, a duplicate member (serde refuses those, and
    /// so must the fast path), or malformed JSON.
    pub(crate) fn scan(text: &'a str) -> Option<Frame<'a>> {
        let mut frame = Frame::default();
        let mut seen: u32 = 0;
        let mut s = Scanner::new(text);
        s.members(|key, s| {
            let Some((bit, slot)) = frame.slot(key) else {
                return s.value().map(drop);
            };
            if seen & bit != 0 {
                return Err(Unsupported);
            }
            seen |= bit;
            slot.fill(s)
        })
        .and_then(|()| s.end())
        .ok()?;
        Some(frame)
    }

    /// The field a member fills, with its bit in the duplicate check; `None` for members the
    /// frame ignores.
    fn slot<'f>(&'f mut self, key: &str) -> Option<(u32, Slot<'f, 'a>)> {
        Some(match key {
            "type" | "ty" => (1 << 0, Slot::Str(&mut self.kind)),
            "code" | "cd" | "mk" | "market" => (1 << 1, Slot::Str(&mut self.code)),
            "timestamp" | "tms" => (1 << 2, Slot::Num(&mut self.timestamp)),
            "trade_price" | "tp" => (1 << 3, Slot::Num(&mut self.trade_price)),
            "trade_volume" | "tv" => (1 << 4, Slot::Num(&mut self.trade_volume)),
            "ask_bid" | "ab" => (1 << 5, Slot::Str(&mut self.ask_bid)),
            "trade_timestamp" | "ttms" => (1 << 6, Slot::Num(&mut self.trade_timestamp)),
            "sequential_id" | "sid" => (1 << 7, Slot::Num(&mut self.sequential_id)),
            "opening_price" | "op" => (1 << 8, Slot::Num(&mut self.opening_price)),
            "high_price" | "hp" => (1 << 9, Slot::Num(&mut self.high_price)),
            "low_price" | "lp" => (1 << 10, Slot::Num(&mut self.low_price)),
            "prev_closing_price" | "pcp" => (1 << 11, Slot::Num(&mut self.prev_closing_price)),
            "acc_trade_volume_24h" | "atv24h" => {
                (1 << 12, Slot::Num(&mut self.acc_trade_volume_24h))
            }
            "acc_trade_price_24h" | "atp24h" => (1 << 13, Slot::Num(&mut self.acc_trade_price_24h)),
            "orderbook_units" | "obu" => (1 << 14, Slot::Units(&mut self.orderbook_units)),
            "status" => (1 << 15, Slot::Str(&mut self.status)),
            "error" => (1 << 16, Slot::Error(&mut self.error)),
            "method" | "mthd" => (1 << 17, Slot::Str(&mut self.method)),
            _ => return None,
        })
    }
}

/// A field of [`Frame`] that a scanned member fills.
enum Slot<'f, 'a> {
    Str(&'f mut Option<Cow<'a, str>>),
    Num(&'f mut Option<Raw<'a>>),
    Units(&'f mut Option<Vec<Unit<'a>>>),
    Error(&'f mut Option<ErrorBody<'a>>),
}

impl<'a> Slot<'_, 'a> {
    /// Reads the member's value from `s` into the field, or gives up where serde's reading
    /// would differ (a string field holding another type). Book rows are read in place; an
    /// error body is rare and read by serde.
    fn fill(self, s: &mut Scanner<'a>) -> Result<(), Unsupported> {
        match self {
            Slot::Units(field) => {
                if !s.null() {
                    let mut units = Vec::with_capacity(32);
                    s.elements(|s| {
                        units.push(unit(s)?);
                        Ok(())
                    })?;
                    *field = Some(units);
                }
            }
            Slot::Str(field) => match s.value()? {
                Value::Str(text) => *field = Some(Cow::Borrowed(text)),
                Value::Null => {}
                _ => return Err(Unsupported),
            },
            Slot::Num(field) => *field = s.value()?.text().map(Raw),
            Slot::Error(field) => match s.value()? {
                Value::Nested(text) => {
                    *field = Some(serde_json::from_str(text).map_err(|_| Unsupported)?);
                }
                Value::Null => {}
                _ => return Err(Unsupported),
            },
        }
        Ok(())
    }
}

/// One `orderbook_units` row, read in place. Any member serde's derive would read
/// differently (a duplicate, or a nested value it would validate in full) is unsupported.
fn unit<'a>(s: &mut Scanner<'a>) -> Result<Unit<'a>, Unsupported> {
    let mut unit = Unit::default();
    let mut seen: u8 = 0;
    s.members(|key, s| {
        let (bit, field) = match key {
            "ask_price" | "ap" => (1, &mut unit.ask_price),
            "ask_size" | "as" => (2, &mut unit.ask_size),
            "bid_price" | "bp" => (4, &mut unit.bid_price),
            "bid_size" | "bs" => (8, &mut unit.bid_size),
            _ => {
                return match s.value()? {
                    Value::Nested(_) => Err(Unsupported),
                    _ => Ok(()),
                };
            }
        };
        if seen & bit != 0 {
            return Err(Unsupported);
        }
        seen |= bit;
        *field = match s.value()? {
            Value::Nested(_) => return Err(Unsupported),
            value => value.text().map(Raw),
        };
        Ok(())
    })?;
    Ok(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_frames_take_the_fast_path_and_odd_ones_go_to_serde() {
        let trade = r#"{"ty":"trade","cd":"KRW-BTC","tms":1788335180423,"tp":106691000.00000000,"tv":0.00009372,"ab":"ASK","sid":17883351803770004,"st":"REALTIME","obu":null}"#;
        let frame = Frame::scan(trade).unwrap();
        assert_eq!(frame.kind.as_deref(), Some("trade"));
        assert_eq!(frame.trade_price, Some(Raw("106691000.00000000")));
        assert_eq!(frame.sequential_id, Some(Raw("17883351803770004")));
        assert!(frame.orderbook_units.is_none());

        for odd in [
            r#"{"ty":"trade","type":"trade"}"#,
            r#"{"ty":"tr\u0061de"}"#,
            r#"{"cd":5}"#,
            r#"{"obu":[{"ap":"x","ap":1}]}"#,
            r#"{"error":"text"}"#,
        ] {
            assert!(Frame::scan(odd).is_none(), "{odd}");
        }
        let quoted = Frame::scan(r#"{"tp":"1.5","tv":true}"#).unwrap();
        assert_eq!(
            (quoted.trade_price, quoted.trade_volume),
            (Some(Raw("1.5")), Some(Raw("true")))
        );
    }

    #[test]
    fn book_rows_are_read_in_place_as_serde_reads_them() {
        for book in [
            r#"{"ty":"orderbook","cd":"KRW-BTC","tms":1,"obu":[{"ap":116606000,"bp":116534000,"as":0.014,"bs":7.9276E-4},{"ap":0,"bp":"5","as":0E-8,"bs":1,"x":"y"}],"lv":0}"#,
            r#"{"type":"orderbook","code":"KRW-BTC","orderbook_units":[ { "ask_price" : 1.5 , "bid_price" : null } ],"timestamp":1}"#,
            r#"{"ty":"orderbook","cd":"KRW-BTC","obu":[]}"#,
            r#"{"ty":"orderbook","cd":"KRW-BTC","obu":null}"#,
        ] {
            let fast = Frame::scan(book).unwrap_or_else(|| panic!("left to serde: {book}"));
            let slow: Frame<'_> = serde_json::from_str(book).unwrap();
            assert_eq!(
                format!("{:?}", fast.orderbook_units),
                format!("{:?}", slow.orderbook_units),
                "{book}"
            );
        }
        for odd in [
            r#"{"obu":[{"ap":1,"ask_price":2}]}"#,
            r#"{"obu":[{"ap":1,"x":{"y":1}}]}"#,
            r#"{"obu":[{"ap":[1]}]}"#,
            r#"{"obu":{"ap":1}}"#,
            r#"{"obu":[1]}"#,
            r#"{"obu":[{"ap":1},]}"#,
            r#"{"obu":[],"obu":[]}"#,
        ] {
            assert!(Frame::scan(odd).is_none(), "{odd}");
        }
    }
}
