//! `MarketEvent` protobuf bytes written straight from the domain event.
//!
//! Every event ingestion reads is encoded once, so this is on its hottest path. Going through
//! the prost structs first built a `String` per decimal (an order book has dozens), a `Vec` per
//! book side and the market's two codes, walked the structs once to size them and again to
//! write them, then dropped it all; that was a large share of ingestion's CPU
//! (docs/benchmarks.md). Here decimals are formatted on the stack ([`DecimalText`]) and their
//! ASCII bytes copied into place, and nested messages get their length patched in after their
//! contents are written.
//!
//! The output is byte for byte what prost writes for [`crate::convert::event_to_wire`] (fields
//! in number order, proto3 defaults omitted, present sub-messages always written); the tests
//! compare the two on every kind of event, and decoding stays prost's.

use tickmesh_domain::{
    Decimal, DecimalText, Level, MarketEvent, Payload, Side, Ticker, Trade, UtcMicros,
};

use crate::convert::exchange_to_wire;
use crate::market::v1 as wire;

const VARINT: u8 = 0;
const LEN: u8 = 2;

/// Encodes `event` as protobuf `tickmesh.market.v1.MarketEvent` bytes.
pub fn encode_event(event: &MarketEvent) -> Vec<u8> {
    let mut writer = Writer {
        out: Vec::with_capacity(match &event.payload {
            Payload::OrderBook(book) => 64 + 32 * (book.bids.len() + book.asks.len()),
            _ => 160,
        }),
    };
    writer.event(event);
    writer.out
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn event(&mut self, event: &MarketEvent) {
        self.varint_field(1, exchange_to_wire(event.exchange) as i32 as u64);
        self.message(2, |w| {
            w.str_field(1, event.market.base.as_str());
            w.str_field(2, event.market.quote.as_str());
        });
        self.message(3, |w| w.time(event.exchange_time));
        self.message(4, |w| w.time(event.received_time));
        match &event.payload {
            Payload::Ticker(t) => self.message(5, |w| w.ticker(t)),
            Payload::Trade(t) => self.message(6, |w| w.trade(t)),
            Payload::OrderBook(book) => self.message(7, |w| {
                w.levels(1, &book.bids);
                w.levels(2, &book.asks);
            }),
        }
        if let Some(raw) = &event.raw {
            self.str_field(8, raw);
        }
    }

    fn time(&mut self, t: UtcMicros) {
        let (seconds, nanos) = t.as_seconds_and_nanos();
        // int64 and int32 are written as their two's complement, sign-extended to 64 bits.
        self.varint_field(1, seconds as u64);
        self.varint_field(2, i64::from(nanos) as u64);
    }

    fn ticker(&mut self, t: &Ticker) {
        // Fields 1 to 9, in the order `decimals` gives them.
        for (field, value) in (1..).zip(t.decimals()) {
            self.decimal_field(field, value);
        }
    }

    fn trade(&mut self, t: &Trade) {
        self.varint_field(1, t.trade_id.0);
        self.decimal_field(2, Some(t.price));
        self.decimal_field(3, Some(t.size));
        let side = match t.side {
            Side::Buy => wire::Side::Buy,
            Side::Sell => wire::Side::Sell,
        };
        self.varint_field(4, side as i32 as u64);
    }

    fn levels(&mut self, field: u32, levels: &[Level]) {
        for level in levels {
            self.message(field, |w| {
                w.decimal_field(1, Some(level.price));
                w.decimal_field(2, Some(level.size));
            });
        }
    }

    /// A varint field, omitted when zero (the proto3 default).
    fn varint_field(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.key(field, VARINT);
            varint(&mut self.out, value);
        }
    }

    /// A string field, omitted when empty.
    fn str_field(&mut self, field: u32, value: &str) {
        self.bytes_field(field, value.as_bytes());
    }

    /// A string field given as its UTF-8 bytes, omitted when empty.
    fn bytes_field(&mut self, field: u32, value: &[u8]) {
        if !value.is_empty() {
            self.key(field, LEN);
            varint(&mut self.out, value.len() as u64);
            self.out.extend_from_slice(value);
        }
    }

    /// A decimal as its exact text; absent is the empty string, so omitted.
    fn decimal_field(&mut self, field: u32, value: Option<Decimal>) {
        let Some(value) = value else { return };
        // ASCII, so valid UTF-8 as a protobuf string must be.
        self.bytes_field(field, DecimalText::new(value).as_bytes());
    }

    /// A sub-message, written even when empty (it is present). Its length goes before its
    /// contents, which are written first: one byte is set aside, enough below 128 bytes, and
    /// longer contents are moved up to make room for the longer length.
    fn message(&mut self, field: u32, contents: impl FnOnce(&mut Writer)) {
        self.key(field, LEN);
        let at = self.out.len();
        self.out.push(0);
        contents(self);
        let len = self.out.len() - at - 1;
        if len < 0x80 {
            self.out[at] = len as u8;
        } else {
            let mut prefix = [0u8; 10];
            let n = varint_into(&mut prefix, len as u64);
            self.out.splice(at..=at, prefix[..n].iter().copied());
        }
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        varint(&mut self.out, u64::from(field << 3 | u32::from(wire_type)));
    }
}

fn varint(out: &mut Vec<u8>, value: u64) {
    let mut bytes = [0u8; 10];
    let n = varint_into(&mut bytes, value);
    out.extend_from_slice(&bytes[..n]);
}

/// Writes `value` as a varint into `bytes` (a u64 takes at most ten); how many bytes it took.
fn varint_into(bytes: &mut [u8; 10], mut value: u64) -> usize {
    let mut n = 0;
    while value >= 0x80 {
        bytes[n] = (value as u8) | 0x80;
        value >>= 7;
        n += 1;
    }
    bytes[n] = value as u8;
    n + 1
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
