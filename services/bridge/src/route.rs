//! Where a stream entry goes: its kind's topic, found from the event's envelope.
//!
//! Routing reads only the envelope ([`read_envelope`]): the protobuf framing and the fields
//! routing relies on. The prices and sizes inside are not parsed here; storage parses them and
//! dead-letters what it cannot store, so a bad number still ends in the dead-letter topic, one
//! hop later.
//!
//! A routed record also carries its place in the stream ([`stamp_position`]), which storage
//! keeps beside the row so a stream client resuming from a position the stream no longer
//! holds can be served from the database.

use tickmesh_bus::{
    CONTENT_TYPE, Cursor, POSITION_HEADER, Position, Record, content_type_protobuf,
};
use tickmesh_domain::{EventKind, UtcMicros};
use tickmesh_proto::envelope::read_envelope;

/// The kind and receipt time of the event `record` carries, or why it is not an event (the
/// error chain, for its dead letter). An event gains the Kafka `content-type` header unless it
/// carries one.
pub fn route(record: &mut Record) -> Result<(EventKind, UtcMicros), String> {
    match read_envelope(&record.payload) {
        Ok(envelope) => {
            if record.header(CONTENT_TYPE).is_none() {
                record
                    .headers
                    .push((CONTENT_TYPE.to_owned(), content_type_protobuf()));
            }
            Ok((envelope.kind, envelope.received_time))
        }
        Err(error) => {
            // The whole chain: "invalid market event: price: ..." says which field.
            let mut reason = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                reason.push_str(": ");
                reason.push_str(&cause.to_string());
                source = cause.source();
            }
            Err(reason)
        }
    }
}

/// Adds the [`POSITION_HEADER`] to `record` with the text of `cursor`, the delivery's place in
/// the stream, when that is a stream position (`{ms}-{seq}`); any other cursor (a log that
/// does not number its entries as the stream does) adds nothing, so storage never keeps a
/// position that does not order the stream. A record that already names its position keeps
/// it, so a record passed on twice never carries two.
pub fn stamp_position(record: &mut Record, cursor: &Cursor) {
    if record.header(POSITION_HEADER).is_some() || cursor.as_str().parse::<Position>().is_err() {
        return;
    }
    record.headers.push((
        POSITION_HEADER.to_owned(),
        cursor.as_str().to_owned().into(),
    ));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickmesh_domain::{
        Exchange, Market, MarketEvent, OrderBook, Payload, Side, Trade, TradeId,
    };
    use tickmesh_proto::codec;

    use super::*;

    fn event(payload: Payload, received: i64) -> Record {
        let bytes = codec::encode_event(&MarketEvent {
            exchange: Exchange::Upbit,
            market: Market::parse("BTC").unwrap(),
            exchange_time: UtcMicros(1),
            received_time: UtcMicros(received),
            payload,
            raw: None,
        });
        Record::new("upbit:BTC/KRW", bytes).with_header("traceparent", "tp")
    }

    #[test]
    fn events_go_by_kind_with_a_content_type_and_garbage_gets_its_reason() {
        let mut trade = event(
            Payload::Trade(Trade {
                trade_id: TradeId(7),
                price: 1.into(),
                size: 2.into(),
                side: Side::Sell,
            }),
            30,
        );
        assert_eq!(route(&mut trade), Ok((EventKind::Trade, UtcMicros(30))));
        assert_eq!(trade.header("traceparent").unwrap().as_ref(), b"tp");
        assert_eq!(trade.header(CONTENT_TYPE), Some(&content_type_protobuf()));

        let mut book = event(Payload::OrderBook(OrderBook::default()), 20);
        assert_eq!(route(&mut book).unwrap().0, EventKind::OrderBook);

        let mut garbage = Record::new("upbit:BTC/KRW", b"\xff\xffnot protobuf".to_vec());
        let reason = route(&mut garbage).unwrap_err();
        assert!(
            reason.starts_with("not a protobuf market event"),
            "{reason}"
        );
        assert_eq!(garbage.header(CONTENT_TYPE), None);
    }

    /// The values of every header called `name`.
    fn headers<'a>(record: &'a Record, name: &str) -> Vec<&'a [u8]> {
        record
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
            .collect()
    }

    #[test]
    fn stream_positions_are_stamped_once_and_other_cursors_not_at_all() {
        let mut record = event(Payload::OrderBook(OrderBook::default()), 1);
        stamp_position(&mut record, &Cursor::new("1765000000123-7"));
        assert_eq!(headers(&record, POSITION_HEADER), [b"1765000000123-7"]);
        // Passed on again (a redelivery, a second hop): the first position stays, alone.
        stamp_position(&mut record, &Cursor::new("1765000000999-0"));
        assert_eq!(headers(&record, POSITION_HEADER), [b"1765000000123-7"]);
        // The key, the payload and the other headers are untouched.
        assert_eq!(record.key, "upbit:BTC/KRW");
        assert_eq!(headers(&record, "traceparent"), [b"tp"]);

        // Kafka offsets, plain sequence numbers and garbage are no stream positions.
        for cursor in ["0:17", "42", "", "1-2-3", "abc-1"] {
            let mut record = event(Payload::OrderBook(OrderBook::default()), 1);
            stamp_position(&mut record, &Cursor::new(cursor));
            assert!(headers(&record, POSITION_HEADER).is_empty(), "{cursor:?}");
        }

        // A position the entry already carries wins over the cursor.
        let mut carried =
            event(Payload::OrderBook(OrderBook::default()), 1).with_header(POSITION_HEADER, "5-1");
        stamp_position(&mut carried, &Cursor::new("6-0"));
        assert_eq!(headers(&carried, POSITION_HEADER), [b"5-1"]);
    }

    #[test]
    fn a_content_type_the_entry_carries_is_kept() {
        let mut book = event(Payload::OrderBook(OrderBook::default()), 1)
            .with_header(CONTENT_TYPE, "application/x-test");
        route(&mut book).unwrap();
        let types: Vec<_> = book
            .headers
            .iter()
            .filter(|(name, _)| name == CONTENT_TYPE)
            .collect();
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].1.as_ref(), b"application/x-test");
    }
}
