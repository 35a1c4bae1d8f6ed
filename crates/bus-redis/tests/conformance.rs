//! The Redis adapter passes the bus conformance suites against a real Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tickmesh_bus::conformance;
use tickmesh_bus_redis::{RedisBus, RedisConfig};
use tickmesh_e2e::{redis_url, unique, unreachable};

async fn bus(stream: &str) -> RedisBus {
    let mut config = RedisConfig::new(redis_url());
    config.stream = stream.to_owned();
    config.reclaim_after = std::time::Duration::from_secs(1);
    RedisBus::connect(config)
        .await
        .unwrap_or_else(|e| unreachable("redis", &redis_url(), &e))
}

#[tokio::test]
async fn redis_live_bus_conforms() {
    let prefix = unique("live");
    conformance::live::run(&bus("unused").await, &prefix).await;
}

#[tokio::test]
async fn redis_streams_conform() {
    let prefix = unique("log");
    conformance::log::run(&bus("unused").await, &prefix).await;
}

#[tokio::test]
async fn redis_publisher_conforms() {
    let prefix = unique("pub");
    let stream = format!("{prefix}:events");
    let bus = bus(&stream).await;
    conformance::publisher::run(&bus, &bus, &bus, &stream, &prefix).await;
}

#[tokio::test]
async fn redis_leases_conform() {
    let prefix = unique("lease");
    let bus = bus(&format!("{prefix}:events")).await;
    conformance::lease::run(&bus.leases(), &prefix).await;
    conformance::lease::handover(&bus.leases(), &prefix).await;
}

#[tokio::test]
async fn redis_publisher_fences_by_the_lease_table_on_its_server() {
    let prefix = unique("fence");
    let stream = format!("{prefix}:events");
    let bus = bus(&stream).await;
    conformance::lease::fencing(&bus.leases(), &bus, &bus, &stream, &prefix).await;
}

#[tokio::test]
async fn redis_stream_history_conforms() {
    let prefix = unique("history");
    let stream = format!("{prefix}:events");
    let bus = bus(&stream).await;
    conformance::history::run(&bus, &bus, &bus, &stream, &prefix).await;

    let prefix = unique("trimmed-history");
    let stream = format!("{prefix}:events");
    let mut config = RedisConfig::new(redis_url());
    config.stream = stream.clone();
    config.stream_maxlen = 100;
    let small = RedisBus::connect(config).await.unwrap();
    conformance::history::trimming(&small, &small, &small, &stream, &prefix).await;
}
