//! The [`LiveBus`] contract.

use std::time::Duration;

use bytes::Bytes;

use super::PATIENCE;
use crate::{Inbox, LiveBus, LiveMessage, Received};

fn message(channel: &str, n: usize) -> LiveMessage {
    LiveMessage {
        channel: channel.to_owned(),
        payload: Bytes::from(format!("{channel}#{n}")),
    }
}

async fn next(inbox: &mut Inbox<LiveMessage>) -> Received<LiveMessage> {
    tokio::time::timeout(PATIENCE, inbox.recv())
        .await
        .expect("no live message within the patience")
        .expect("the live subscription closed")
}

/// Runs every check; `prefix` makes the channel names unique to this run.
pub async fn run(bus: &dyn LiveBus, prefix: &str) {
    patterns_select_channels_and_order_is_kept(bus, prefix).await;
    a_full_inbox_reports_what_it_missed(bus, prefix).await;
    publishing_to_nobody_succeeds(bus, prefix).await;
}

/// Exact and glob patterns select channels; messages arrive in publish order.
pub async fn patterns_select_channels_and_order_is_kept(bus: &dyn LiveBus, prefix: &str) {
    let exact = format!("{prefix}:live:upbit:BTC/KRW");
    let globbed = format!("{prefix}:live:korbit:ETH/KRW");
    let other = format!("{prefix}:other:upbit:BTC/KRW");
    let mut inbox = bus
        .subscribe(&[exact.clone(), format!("{prefix}:live:*:ETH/KRW")], 1000)
        .await
        .unwrap();
    let mut batch = Vec::new();
    for n in 0..50 {
        batch.push(message(&exact, n));
        batch.push(message(&other, n));
        batch.push(message(&globbed, n));
    }
    bus.publish(&batch).await.unwrap();
    let expected: Vec<LiveMessage> = batch.into_iter().filter(|m| m.channel != other).collect();
    for want in expected {
        assert_eq!(next(&mut inbox).await, Received::Item(want));
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(200), inbox.recv())
            .await
            .is_err(),
        "a message of an unsubscribed channel arrived"
    );
}

/// A subscriber that does not read loses what does not fit and is told how much.
pub async fn a_full_inbox_reports_what_it_missed(bus: &dyn LiveBus, prefix: &str) {
    let channel = format!("{prefix}:live:bithumb:XRP/KRW");
    let mut inbox = bus
        .subscribe(std::slice::from_ref(&channel), 2)
        .await
        .unwrap();
    let batch: Vec<LiveMessage> = (0..10).map(|n| message(&channel, n)).collect();
    bus.publish(&batch).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while inbox.stats() != (2, 8) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "inbox stats {:?}, expected 2 queued and 8 dropped",
            inbox.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(next(&mut inbox).await, Received::Item(batch[0].clone()));
    assert_eq!(next(&mut inbox).await, Received::Item(batch[1].clone()));
    assert_eq!(next(&mut inbox).await, Received::Lagged(8));
    bus.publish(&batch[..1]).await.unwrap();
    assert_eq!(next(&mut inbox).await, Received::Item(batch[0].clone()));
}

/// Publishing with no subscriber is not an error.
pub async fn publishing_to_nobody_succeeds(bus: &dyn LiveBus, prefix: &str) {
    let channel = format!("{prefix}:live:nobody");
    bus.publish(&[message(&channel, 0)]).await.unwrap();
}
