//! The in-process adapter passes the same conformance suites as Redis and Kafka.

use std::time::Duration;

use tickmesh_bus::conformance;
use tickmesh_bus::memory::MemoryBus;

#[tokio::test]
async fn memory_live_bus_conforms() {
    let bus = MemoryBus::new("tickmesh:events", 10_000);
    conformance::live::run(bus.live.as_ref(), "tickmesh").await;
}

#[tokio::test]
async fn memory_log_conforms() {
    let log = tickmesh_bus::memory::MemoryLog::with_reclaim_after(10_000, Duration::from_secs(1));
    conformance::log::run(&log, "tickmesh").await;
}

#[tokio::test]
async fn memory_publisher_conforms() {
    let bus = MemoryBus::new("tickmesh:events", 10_000);
    conformance::publisher::run(
        &bus,
        bus.live.as_ref(),
        bus.log.as_ref(),
        "tickmesh:events",
        "tickmesh",
    )
    .await;
}

#[tokio::test]
async fn memory_leases_conform() {
    let bus = MemoryBus::new("tickmesh:events", 10_000);
    conformance::lease::run(bus.leases.as_ref(), "tickmesh").await;
    conformance::lease::handover(bus.leases.as_ref(), "tickmesh").await;
}

#[tokio::test]
async fn memory_publisher_fences_by_its_lease_table() {
    let bus = MemoryBus::new("tickmesh:events", 10_000);
    conformance::lease::fencing(
        bus.leases.as_ref(),
        &bus,
        bus.log.as_ref(),
        "tickmesh:events",
        "tickmesh",
    )
    .await;
}

#[tokio::test]
async fn memory_log_trims_the_oldest_records_beyond_its_bound() {
    use tickmesh_bus::DurableLog as _;
    let bus = MemoryBus::new("s", 5);
    let written = conformance::records("k", 0, 8);
    bus.log.append("t", &written).await.unwrap();
    assert_eq!(bus.log.len("t"), 5);
    let mut consumer = bus.log.consume(&["t"], "g", "c").await.unwrap();
    let got = conformance::log::collect(consumer.as_mut(), 5).await;
    let records: Vec<_> = got.into_iter().map(|d| d.record).collect();
    assert_eq!(records, written[3..]);
}

#[tokio::test]
async fn memory_stream_history_conforms() {
    let bus = MemoryBus::new("tickmesh:events", 10_000);
    conformance::history::run(
        &bus,
        bus.live.as_ref(),
        bus.log.as_ref(),
        "tickmesh:events",
        "tickmesh",
    )
    .await;
    let small = MemoryBus::new("tickmesh:events", 300);
    conformance::history::trimming(
        &small,
        small.live.as_ref(),
        small.log.as_ref(),
        "tickmesh:events",
        "tickmesh",
    )
    .await;
}
