//! The [`EventPublisher`] contract, checked through the live bus and durable log it writes.

use bytes::Bytes;

use super::{PATIENCE, log::collect, records};
use crate::{DurableLog, EventPublisher, LiveBus, LiveMessage, Outgoing, Received};

/// After `publish` returns, every event is in `stream` in order and was published live.
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

    for sent in &batch {
        let got = tokio::time::timeout(PATIENCE, inbox.recv())
            .await
            .expect("no live message within the patience")
            .expect("the live subscription closed");
        let want = LiveMessage {
            channel: sent.channel.clone(),
            payload: Bytes::clone(&sent.record.payload),
        };
        assert_eq!(got, Received::Item(want));
    }

    let group = format!("{prefix}-publisher-check");
    let mut consumer = log.consume(&[stream], &group, "c").await.unwrap();
    let got = collect(consumer.as_mut(), batch.len()).await;
    let records: Vec<_> = got.iter().map(|d| d.record.clone()).collect();
    let sent: Vec<_> = batch.iter().map(|o| o.record.clone()).collect();
    assert_eq!(records, sent);
    consumer.ack(&got).await.unwrap();
}
