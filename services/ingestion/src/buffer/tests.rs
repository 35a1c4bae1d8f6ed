#![allow(clippy::unwrap_used)]

use tickmesh_bus::{Outgoing, Record};

use super::*;

fn ev(n: u32) -> Outgoing {
    Outgoing::new("c".to_owned(), Record::new("k", n.to_string().into_bytes()))
}

fn ids(batch: &[Outgoing]) -> Vec<String> {
    batch
        .iter()
        .map(|o| String::from_utf8(o.record.payload.to_vec()).unwrap())
        .collect()
}

#[test]
fn policies_parse_from_their_config_spelling() {
    for p in [
        OverflowPolicy::DropOldest,
        OverflowPolicy::DropNewest,
        OverflowPolicy::Block,
    ] {
        assert_eq!(p.as_str().parse::<OverflowPolicy>(), Ok(p));
    }
    let err = "drop".parse::<OverflowPolicy>().unwrap_err();
    assert!(err.contains("drop-oldest, drop-newest or block"), "{err}");
}

#[test]
fn drop_oldest_keeps_the_newest_events_and_spares_the_batch_in_flight() {
    let mut buffer = OutageBuffer::new(3, OverflowPolicy::DropOldest);
    for n in 0..3 {
        assert_eq!(buffer.push(ev(n)), Pushed::Stored);
    }
    let in_flight = buffer.take_batch(1);
    assert_eq!(ids(&in_flight), ["0"]);
    assert_eq!(buffer.push(ev(3)), Pushed::DroppedOldest);
    assert_eq!(buffer.len(), 3);
    buffer.restore(in_flight);
    assert_eq!(ids(&buffer.take_batch(10)), ["0", "2", "3"]);
}

#[test]
fn drop_newest_keeps_the_start_of_the_outage() {
    let mut buffer = OutageBuffer::new(2, OverflowPolicy::DropNewest);
    buffer.push(ev(0));
    buffer.push(ev(1));
    assert_eq!(buffer.push(ev(2)), Pushed::DroppedNewest);
    assert_eq!(ids(&buffer.take_batch(10)), ["0", "1"]);
}

#[test]
fn a_full_buffer_whose_events_are_all_in_flight_drops_the_arrival() {
    let mut buffer = OutageBuffer::new(2, OverflowPolicy::DropOldest);
    buffer.push(ev(0));
    buffer.push(ev(1));
    let batch = buffer.take_batch(2);
    assert_eq!(buffer.push(ev(2)), Pushed::DroppedNewest);
    buffer.confirm(batch.len());
    assert!(buffer.is_empty());
}

#[test]
fn block_signals_full_instead_of_dropping() {
    let mut buffer = OutageBuffer::new(2, OverflowPolicy::Block);
    buffer.push(ev(0));
    assert!(!buffer.should_block());
    buffer.push(ev(1));
    assert!(buffer.should_block());
    assert_eq!(buffer.push(ev(2)), Pushed::Stored, "block never drops");
    let batch = buffer.take_batch(5);
    assert_eq!(ids(&batch), ["0", "1", "2"]);
    buffer.confirm(3);
    assert!(!buffer.should_block());
}
