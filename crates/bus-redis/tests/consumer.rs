//! What the Redis stream consumer does beyond the port's contract, against a real Redis: it
//! survives its connection being killed, recreates a consumer group that vanished, and
//! acknowledges pending entries that were trimmed away before anyone read them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tickmesh_bus::conformance::{self, log::collect};
use tickmesh_bus::{DurableLog, LogConsumer};
use tickmesh_bus_redis::{RedisBus, RedisConfig};
use tickmesh_e2e::{redis_url, unique, unreachable};

async fn bus() -> RedisBus {
    RedisBus::connect(RedisConfig::new(redis_url()))
        .await
        .unwrap_or_else(|e| unreachable("redis", &redis_url(), &e))
}

/// A plain connection for setting the scene.
async fn admin() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn cmd<T: redis::FromRedisValue>(args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for arg in &args[1..] {
        c.arg(*arg);
    }
    c.query_async(&mut admin().await).await.unwrap()
}

/// Polls until something arrives, tolerating the errors a reconnect or a recreated group
/// reports on the way; fails after 20 attempts.
async fn poll_through_errors(
    consumer: &mut dyn LogConsumer,
    max: usize,
) -> Vec<tickmesh_bus::Delivery> {
    let mut errors = Vec::new();
    for _ in 0..20 {
        match consumer.poll(max, Duration::from_millis(500)).await {
            Ok(batch) if !batch.is_empty() => return batch,
            Ok(_) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    panic!("nothing arrived; errors on the way: {errors:?}");
}

#[tokio::test]
async fn reading_goes_on_after_the_connection_is_killed() {
    let bus = bus().await;
    let topic = unique("consumer-kill");
    // A group of its own: the connection's name is made of it, and tests run side by side.
    let group = unique("g");
    let mut consumer = bus.consume(&[&topic], &group, "c1").await.unwrap();
    bus.append(&topic, &conformance::records("k", 0, 3))
        .await
        .unwrap();
    let first = collect(consumer.as_mut(), 3).await;
    consumer.ack(&first).await.unwrap();

    // The consumer names its connection, so it can be found and killed.
    let name = format!("tickmesh-consumer:{group}:c1");
    let clients: String = cmd(&["CLIENT", "LIST", "TYPE", "normal"]).await;
    let ids: Vec<&str> = clients
        .lines()
        .filter(|line| line.contains(&format!(" name={name} ")))
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .collect();
    assert!(!ids.is_empty(), "no client named {name}: {clients}");
    for id in ids {
        let _: i64 = cmd(&["CLIENT", "KILL", "ID", id]).await;
    }

    bus.append(&topic, &conformance::records("k", 3, 2))
        .await
        .unwrap();
    let mut got = poll_through_errors(consumer.as_mut(), 2).await;
    if got.len() < 2 {
        got.extend(collect(consumer.as_mut(), 2 - got.len()).await);
    }
    let payloads: Vec<_> = got.iter().map(|d| d.record.payload.clone()).collect();
    assert_eq!(payloads, ["k#3", "k#4"]);
    consumer.ack(&got).await.unwrap();
}

#[tokio::test]
async fn a_vanished_group_is_created_again() {
    let bus = bus().await;
    let topic = unique("consumer-nogroup");
    let mut consumer = bus.consume(&[&topic], "g", "c1").await.unwrap();
    let _: i64 = cmd(&["XGROUP", "DESTROY", &topic, "g"]).await;
    bus.append(&topic, &conformance::records("k", 0, 2))
        .await
        .unwrap();
    // The first read reports the missing group and recreates it from the stream's start.
    let got = poll_through_errors(consumer.as_mut(), 10).await;
    assert_eq!(got[0].record.payload, "k#0");
    consumer.ack(&got).await.unwrap();
}

#[tokio::test]
async fn pending_entries_trimmed_away_are_acknowledged() {
    let bus = bus().await;
    let topic = unique("consumer-trim");
    let mut consumer = bus.consume(&[&topic], "g", "c1").await.unwrap();
    bus.append(&topic, &conformance::records("k", 0, 3))
        .await
        .unwrap();
    let read = collect(consumer.as_mut(), 3).await;
    drop(consumer); // read, never acknowledged
    assert_eq!(read.len(), 3);
    let _: i64 = cmd(&["XTRIM", &topic, "MAXLEN", "0"]).await;

    // The member's next incarnation finds its pending entries gone and lets them go.
    let mut again = bus.consume(&[&topic], "g", "c1").await.unwrap();
    let nothing = again.poll(10, Duration::from_millis(200)).await.unwrap();
    assert!(nothing.is_empty(), "{nothing:?}");
    let pending: Vec<redis::Value> = cmd(&["XPENDING", &topic, "g"]).await;
    assert_eq!(pending.first(), Some(&redis::Value::Int(0)), "{pending:?}");
}

#[tokio::test]
async fn a_read_cancelled_halfway_does_not_shift_later_replies() {
    let bus = bus().await;
    let topic = unique("consumer-cancel");
    let mut consumer = bus.consume(&[&topic], "g", "c1").await.unwrap();
    // A blocking read whose future is dropped after the command went out, as `select!` on
    // shutdown does: its reply is still owed on that connection.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(100),
        consumer.poll(10, Duration::from_secs(1)),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "the read should still have been blocked"
    );
    // Let the abandoned read time out, so its empty reply is waiting on that connection (and
    // it cannot take the records appended next: those would stay pending until reclaimed).
    tokio::time::sleep(Duration::from_millis(1300)).await;

    for (from, n) in [(0, 2), (2, 1)] {
        bus.append(&topic, &conformance::records("k", from, n))
            .await
            .unwrap();
        let got = collect(consumer.as_mut(), n).await;
        let payloads: Vec<_> = got.iter().map(|d| d.record.payload.clone()).collect();
        let expected: Vec<String> = (from..from + n).map(|i| format!("k#{i}")).collect();
        assert_eq!(payloads, expected);
        consumer.ack(&got).await.unwrap();
    }
}

#[tokio::test]
async fn entries_trimmed_before_the_group_read_them_are_counted_once_across_members() {
    let topic = unique("consumer-trimmed");
    let group = unique("g");
    let mut config = RedisConfig::new(redis_url());
    config.stream_maxlen = 10;
    let bus = RedisBus::connect(config)
        .await
        .unwrap_or_else(|e| unreachable("redis", &redis_url(), &e));
    let mut first = bus.consume(&[&topic], &group, "c1").await.unwrap();
    let mut second = bus.consume(&[&topic], &group, "c2").await.unwrap();
    bus.append(&topic, &conformance::records("k", 0, 5))
        .await
        .unwrap();
    let read = collect(first.as_mut(), 2).await;
    first.ack(&read).await.unwrap();
    assert_eq!(first.backlog().await.unwrap().trimmed, 0);

    // 300 more, one call each: `MAXLEN ~ 10` trims whole nodes as it goes, unread or not.
    for i in 0..300 {
        bus.append(&topic, &conformance::records("k", 5 + i, 1))
            .await
            .unwrap();
    }
    let held: u64 = cmd(&["XLEN", &topic]).await;
    let backlog = first.backlog().await.unwrap();
    // Everything is either read (2), still held (all unread now), or counted as trimmed.
    assert_eq!(backlog.trimmed, 305 - 2 - held, "held {held}");
    assert_eq!(
        backlog.lag,
        Some(held),
        "the lag leaves out what will never be read"
    );
    // The other member finds the same loss already reported: counted once.
    assert_eq!(second.backlog().await.unwrap().trimmed, 0);
    // What is held is still read, and reading on adds nothing to the count.
    let rest = collect(second.as_mut(), usize::try_from(held).unwrap()).await;
    second.ack(&rest).await.unwrap();
    assert_eq!(first.backlog().await.unwrap().trimmed, 305 - 2 - held);
    assert_eq!(second.backlog().await.unwrap().trimmed, 0);
}
