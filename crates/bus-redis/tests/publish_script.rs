//! The publisher names its script by hash (`EVALSHA`); when Redis has forgotten it (a restart,
//! a failover, `SCRIPT FLUSH`), the batch is sent again with the script's text, and nothing is
//! lost or written twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tickmesh_bus::{EventPublisher as _, Outgoing, Record};
use tickmesh_bus_redis::{RedisBus, RedisConfig};
use tickmesh_e2e::{redis_url, unique, unreachable};

/// An `XRANGE` reply: entry ids and their fields.
type Entries = Vec<(String, Vec<(String, Vec<u8>)>)>;

fn event(prefix: &str, n: u8) -> Outgoing {
    Outgoing::new(
        format!("{prefix}:live"),
        Record::new("upbit:BTC/KRW", vec![n]),
    )
}

#[tokio::test]
async fn a_batch_published_after_redis_forgot_the_script_lands_once() {
    let prefix = unique("noscript");
    let mut config = RedisConfig::new(redis_url());
    config.stream = format!("{prefix}:events");
    let bus = RedisBus::connect(config.clone())
        .await
        .unwrap_or_else(|e| unreachable("redis", &redis_url(), &e));
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    bus.publish(&[event(&prefix, 1)]).await.unwrap();
    // Every script Redis had is gone: the next call by hash is answered NOSCRIPT.
    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    bus.publish(&[event(&prefix, 2), event(&prefix, 3)])
        .await
        .unwrap();
    // And by hash again, now that the text was sent.
    bus.publish(&[event(&prefix, 4)]).await.unwrap();

    let entries: Entries = redis::cmd("XRANGE")
        .arg(&config.stream)
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .unwrap();
    let payloads: Vec<Vec<u8>> = entries
        .into_iter()
        .map(|(_, fields)| {
            fields
                .into_iter()
                .find(|(name, _)| name == "payload")
                .expect("an entry without a payload")
                .1
        })
        .collect();
    assert_eq!(payloads, [[1], [2], [3], [4]]);
}
