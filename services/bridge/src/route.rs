//! Where each stream entry goes: its kind's topic, or the dead-letter topic with the reason.
//!
//! Routing reads only the event's envelope ([`read_envelope`]): the protobuf framing and the
//! fields routing relies on. The prices and sizes inside are not parsed here; storage parses
//! them and dead-letters what it cannot store, so a bad number still ends in the dead-letter
//! topic, one hop later.

use std::collections::BTreeMap;

use tickmesh_bus::{CONTENT_TYPE, Delivery, Record, content_type_protobuf};
use tickmesh_proto::codec::DecodeError;
use tickmesh_proto::envelope::read_envelope;
use tickmesh_proto::routing::{self, TopicNames};

/// A batch sorted into per-topic records, in stream order within each topic.
#[derive(Debug, Default)]
pub struct Routed {
    /// Records per destination topic.
    pub topics: BTreeMap<String, Vec<Record>>,
    /// How many went to the dead-letter topic.
    pub dead_letters: usize,
    /// The oldest `received_time` (µs) among the routed events, for the lag in time.
    pub oldest_received_us: Option<i64>,
}

/// Sorts `deliveries` by destination, taking their records out (the deliveries keep what
/// their acknowledgement needs). Events gain the Kafka `content-type` header unless they
/// carry one. Undecodable entries keep their bytes and gain the [`routing::ERROR_HEADER`] and
/// the cursor they had, so they can be inspected and replayed.
pub fn route(deliveries: &mut [Delivery], names: &TopicNames) -> Routed {
    let mut routed = Routed::default();
    for delivery in deliveries {
        let mut record = std::mem::take(&mut delivery.record);
        let topic = match read_envelope(&record.payload) {
            Ok(envelope) => {
                let received = envelope.received_time.as_micros();
                routed.oldest_received_us = Some(
                    routed
                        .oldest_received_us
                        .map_or(received, |o| o.min(received)),
                );
                if record.header(CONTENT_TYPE).is_none() {
                    record
                        .headers
                        .push((CONTENT_TYPE.to_owned(), content_type_protobuf()));
                }
                names.for_kind(envelope.kind)
            }
            Err(error) => {
                routed.dead_letters += 1;
                tracing::warn!(
                    cursor = %delivery.cursor, key = %record.key, error = %error,
                    "undecodable stream entry sent to {}", names.dlq
                );
                let dead = dead_letter(record, delivery, &error);
                routed
                    .topics
                    .entry(names.dlq.clone())
                    .or_default()
                    .push(dead);
                continue;
            }
        };
        match routed.topics.get_mut(topic) {
            Some(records) => records.push(record),
            None => {
                routed.topics.insert(topic.to_owned(), vec![record]);
            }
        }
    }
    routed
}

fn dead_letter(record: Record, delivery: &Delivery, error: &DecodeError) -> Record {
    // The whole chain: "invalid market event: price: ..." says which field.
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    record
        .with_header(routing::ERROR_HEADER, reason)
        .with_header(
            "tickmesh-source",
            format!("{}@{}", delivery.topic, delivery.cursor),
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickmesh_bus::Cursor;
    use tickmesh_domain::{
        Exchange, Market, MarketEvent, OrderBook, Payload, Side, Trade, TradeId, UtcMicros,
    };
    use tickmesh_proto::codec;

    use super::*;

    fn delivery(n: u32, payload: Vec<u8>) -> Delivery {
        Delivery {
            topic: routing::EVENTS_STREAM.to_owned(),
            cursor: Cursor::new(format!("1-{n}")),
            record: Record::new("upbit:BTC/KRW", payload).with_header("traceparent", "tp"),
        }
    }

    fn event(payload: Payload, received: i64) -> Vec<u8> {
        codec::encode_event(&MarketEvent {
            exchange: Exchange::Upbit,
            market: Market::parse("BTC").unwrap(),
            exchange_time: UtcMicros(1),
            received_time: UtcMicros(received),
            payload,
            raw: None,
        })
    }

    #[test]
    fn events_go_to_their_kind_and_garbage_to_the_dead_letters_with_the_reason() {
        let trade = Payload::Trade(Trade {
            trade_id: TradeId(7),
            price: 1.into(),
            size: 2.into(),
            side: Side::Sell,
        });
        let names = TopicNames::default();
        let routed = route(
            &mut [
                delivery(1, event(trade.clone(), 30)),
                delivery(2, b"\xff\xffnot protobuf".to_vec()),
                delivery(3, event(Payload::OrderBook(OrderBook::default()), 20)),
                delivery(4, event(trade, 40)),
            ],
            &names,
        );
        assert_eq!(routed.dead_letters, 1);
        assert_eq!(routed.oldest_received_us, Some(20));
        assert_eq!(routed.topics[routing::TRADES_TOPIC].len(), 2);
        assert_eq!(routed.topics[routing::ORDERBOOKS_TOPIC].len(), 1);
        let trade = &routed.topics[routing::TRADES_TOPIC][0];
        assert_eq!(trade.header("traceparent").unwrap().as_ref(), b"tp");
        assert_eq!(trade.header(CONTENT_TYPE), Some(&content_type_protobuf()));
        let dead = &routed.topics[routing::DLQ_TOPIC][0];
        assert_eq!(dead.header(CONTENT_TYPE), None);
        assert_eq!(dead.payload.as_ref(), b"\xff\xffnot protobuf");
        let reason =
            String::from_utf8(dead.header(routing::ERROR_HEADER).unwrap().to_vec()).unwrap();
        assert!(
            reason.starts_with("not a protobuf market event"),
            "{reason}"
        );
        assert_eq!(
            dead.header("tickmesh-source").unwrap().as_ref(),
            b"tickmesh:events@1-2"
        );
    }

    #[test]
    fn a_content_type_the_entry_carries_is_kept() {
        let payload = event(Payload::OrderBook(OrderBook::default()), 1);
        let mut entry = delivery(1, payload);
        entry.record = entry.record.with_header(CONTENT_TYPE, "application/x-test");
        let routed = route(&mut [entry], &TopicNames::default());
        let book = &routed.topics[routing::ORDERBOOKS_TOPIC][0];
        let types: Vec<_> = book
            .headers
            .iter()
            .filter(|(name, _)| name == CONTENT_TYPE)
            .collect();
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].1.as_ref(), b"application/x-test");
    }
}
