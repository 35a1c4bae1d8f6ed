//! The [`EventPublisher`] contract, checked through the live bus and durable log it writes.

use bytes::Bytes;

use super::{PATIENCE, log::collect, records};
use crate::{DurableLog, EventPublisher, LiveBus, LiveMessage, Outgoing, Received};

/// After `publish` returns, every event is in `stream` in order and was published live, framed
/// with the position (the delivery cursor) the stream gave it.
pub async fn run(
    publisher: &dyn EventPublisher,
    live: &dyn LiveBus,
    log: &dyn DurableLog,
    stream: &str,
    prefix: &str,
) {
    let channel = |market: &str| format!("{prefix}:live:upbit:{market}");
    let mut inbox = live
        .subscribe(&[format!("{prefix}:live:*")], 1000)
        .await
        .unwrap();
    let mut batch = Vec::new();
    for (i, record) in records("upbit:BTC/KRW", 0, 30).into_iter().enumerate() {
        let market = if i % 2 == 0 { "BTC/KRW" } else { "ETH/KRW" };
        batch.push(Outgoing::new(channel(market), record));
    }
    publisher.publish(&batch).await.unwrap();

    let mut positions = Vec::with_capacity(batch.len());
    for sent in &batch {
        let got = tokio::time::timeout(PATIENCE, inbox.recv())
            .await
            .expect("no live message within the patience")
            .expect("the live subscription closed");
        let Received::Item(LiveMessage { channel, payload }) = got else {
            panic!("the live inbox lagged with room to spare");
        };
        assert_eq!(channel, sent.channel);
        let (position, payload) = crate::position::unframe(&payload);
        assert_eq!(payload, Bytes::clone(&sent.record.payload));
        positions.push(position.expect("a live event carries its stream position"));
    }

    let group = format!("{prefix}-publisher-check");
    let mut consumer = log.consume(&[stream], &group, "c").await.unwrap();
    let got = collect(consumer.as_mut(), batch.len()).await;
    let records: Vec<_> = got.iter().map(|d| d.record.clone()).collect();
    let sent: Vec<_> = batch.iter().map(|o| o.record.clone()).collect();
    assert_eq!(records, sent);
    let cursors: Vec<String> = got.iter().map(|d| d.cursor.to_string()).collect();
    let framed: Vec<String> = positions.iter().map(ToString::to_string).collect();
    assert_eq!(
        cursors, framed,
        "a live event's position is its stream cursor"
    );
    consumer.ack(&got).await.unwrap();
}
