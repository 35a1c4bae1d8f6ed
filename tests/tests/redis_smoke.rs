//! Redis as tickmesh uses it: pub/sub for live fan-out and a stream with a consumer group for
//! the durable hand-off (docs/architecture.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt as _;
use redis::AsyncCommands as _;
use redis::streams::{StreamPendingReply, StreamReadOptions, StreamReadReply};
use tickmesh_e2e::{redis_url, unique, unreachable};

async fn connect() -> (redis::Client, redis::aio::MultiplexedConnection) {
    let url = redis_url();
    let client =
        redis::Client::open(url.as_str()).unwrap_or_else(|e| unreachable("redis", &url, &e));
    let conn = client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| unreachable("redis", &url, &e));
    (client, conn)
}

#[tokio::test]
async fn pubsub_delivers_to_a_subscriber_in_order() {
    let (client, mut conn) = connect().await;
    let channel = unique("tickmesh:live:test");
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(&channel).await.unwrap();

    for i in 0..3 {
        let receivers: u32 = conn.publish(&channel, format!("tick {i}")).await.unwrap();
        assert_eq!(
            receivers, 1,
            "the subscription is registered before publishing"
        );
    }
    let mut messages = pubsub.on_message();
    for i in 0..3 {
        let msg = tokio::time::timeout(Duration::from_secs(5), messages.next())
            .await
            .expect("no pub/sub message within 5 s")
            .unwrap();
        assert_eq!(msg.get_channel_name(), channel);
        assert_eq!(msg.get_payload::<String>().unwrap(), format!("tick {i}"));
    }
}

#[tokio::test]
async fn a_stream_consumer_group_redelivers_what_was_not_acknowledged() {
    let (_client, mut conn) = connect().await;
    let stream = unique("tickmesh:events:test");
    let group = "bridge";

    let _: () = conn
        .xgroup_create_mkstream(&stream, group, "$")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let id: String = conn.xadd(&stream, "*", &[("n", i)]).await.unwrap();
        ids.push(id);
    }

    let read = StreamReadOptions::default()
        .group(group, "bridge-1")
        .count(10);
    let reply: StreamReadReply = conn.xread_options(&[&stream], &[">"], &read).await.unwrap();
    let got: Vec<String> = reply.keys[0].ids.iter().map(|e| e.id.clone()).collect();
    assert_eq!(got, ids, "new entries arrive once, in order");

    // Acknowledge the first two, as the bridge does after Kafka confirmed them.
    let acked: usize = conn.xack(&stream, group, &ids[..2]).await.unwrap();
    assert_eq!(acked, 2);
    let pending: StreamPendingReply = conn.xpending(&stream, group).await.unwrap();
    assert_eq!(pending.count(), 1);

    // A restarted consumer first re-reads its own pending entries (id 0), then nothing new.
    let again: StreamReadReply = conn.xread_options(&[&stream], &["0"], &read).await.unwrap();
    let redelivered: Vec<String> = again.keys[0].ids.iter().map(|e| e.id.clone()).collect();
    assert_eq!(redelivered, ids[2..]);
    let fresh: StreamReadReply = conn.xread_options(&[&stream], &[">"], &read).await.unwrap();
    assert!(fresh.keys.is_empty() || fresh.keys[0].ids.is_empty());

    let _: () = conn.del(&stream).await.unwrap();
}
