//! The publisher against a bus that can be switched off: outages within the buffer lose
//! nothing and keep order; outages beyond it drop by policy and count every drop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tickmesh_bus::{BusError, EventPublisher, Outgoing, Published};
use tickmesh_domain::{Exchange, Market, MarketEvent, Payload, Side, Trade, TradeId, UtcMicros};
use tickmesh_feeds::{BackoffConfig, FeedOutput};
use tickmesh_ingestion::{OverflowPolicy, PublisherConfig, PublisherStats, run_publisher};
use tickmesh_proto::codec::decode_event;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A bus that records what it took and refuses everything while `down`.
#[derive(Debug, Default)]
struct SwitchBus {
    down: AtomicBool,
    taken: Mutex<Vec<Outgoing>>,
    /// The size of every batch taken, in order.
    batches: Mutex<Vec<usize>>,
}

#[async_trait]
impl EventPublisher for SwitchBus {
    async fn publish(&self, batch: &[Outgoing]) -> Result<Published, BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::unavailable("test", "switched off"));
        }
        self.taken.lock().unwrap().extend_from_slice(batch);
        self.batches.lock().unwrap().push(batch.len());
        Ok(Published::default())
    }
}

impl SwitchBus {
    fn trade_ids(&self) -> Vec<u64> {
        self.taken
            .lock()
            .unwrap()
            .iter()
            .map(|o| match decode_event(&o.record.payload).unwrap().payload {
                Payload::Trade(t) => t.trade_id.0,
                other => panic!("not a trade: {other:?}"),
            })
            .collect()
    }
}

fn trade(id: u64) -> FeedOutput {
    FeedOutput::Event(MarketEvent {
        exchange: Exchange::Upbit,
        market: Market::parse("KRW-BTC").unwrap(),
        exchange_time: UtcMicros(1_700_000_000_000_000 + id as i64),
        received_time: UtcMicros(1_700_000_000_000_100 + id as i64),
        payload: Payload::Trade(Trade {
            trade_id: TradeId(id),
            price: "116539000".parse().unwrap(),
            size: "0.00079276".parse().unwrap(),
            side: Side::Buy,
        }),
        raw: None,
    })
}

fn config(capacity: usize, overflow: OverflowPolicy) -> PublisherConfig {
    PublisherConfig {
        batch_max: 4,
        linger: Duration::ZERO,
        buffer_capacity: capacity,
        overflow,
        retry: BackoffConfig {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        drain_timeout: Duration::from_secs(5),
    }
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

struct Running {
    bus: Arc<SwitchBus>,
    stats: Arc<PublisherStats>,
    tx: mpsc::Sender<FeedOutput>,
    task: tokio::task::JoinHandle<()>,
}

fn start(config: PublisherConfig) -> Running {
    let bus = Arc::new(SwitchBus::default());
    let stats = Arc::new(PublisherStats::default());
    let (tx, rx) = mpsc::channel(1024);
    let task = tokio::spawn(run_publisher(
        rx,
        Arc::clone(&bus) as Arc<dyn EventPublisher>,
        None,
        config,
        Arc::clone(&stats),
        None,
        CancellationToken::new(),
    ));
    Running {
        bus,
        stats,
        tx,
        task,
    }
}

#[tokio::test]
async fn an_outage_that_fits_the_buffer_loses_nothing_and_keeps_order() {
    let run = start(config(100, OverflowPolicy::DropOldest));
    for id in 1..=10 {
        run.tx.send(trade(id)).await.unwrap();
    }
    until("the first ten", || run.stats.snapshot().published == 10).await;

    run.bus.down.store(true, Ordering::SeqCst);
    for id in 11..=60 {
        run.tx.send(trade(id)).await.unwrap();
    }
    until("the outage to be noticed and buffered", || {
        let s = run.stats.snapshot();
        s.bus_down && s.buffered == 50
    })
    .await;
    run.bus.down.store(false, Ordering::SeqCst);
    until("the backlog", || run.stats.snapshot().published == 60).await;

    assert_eq!(run.bus.trade_ids(), (1..=60).collect::<Vec<_>>());
    let stats = run.stats.snapshot();
    assert_eq!(stats.dropped, 0);
    assert!(stats.failures >= 1);
    assert_eq!(stats.buffered_peak, 50);
    assert!(!stats.bus_down);
    drop(run.tx);
    run.task.await.unwrap();
}

#[tokio::test]
async fn an_outage_beyond_the_buffer_drops_the_oldest_and_counts_them() {
    let run = start(config(10, OverflowPolicy::DropOldest));
    run.bus.down.store(true, Ordering::SeqCst);
    for id in 1..=25 {
        run.tx.send(trade(id)).await.unwrap();
    }
    until("every arrival to be handled", || {
        let s = run.stats.snapshot();
        s.buffered + s.dropped == 25
    })
    .await;
    assert_eq!(run.stats.snapshot().dropped, 15);
    run.bus.down.store(false, Ordering::SeqCst);
    drop(run.tx);
    run.task.await.unwrap();

    // The newest ten survive, in order, whatever batch was in flight when the buffer filled.
    let ids = run.bus.trade_ids();
    assert_eq!(ids.len(), 10);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(*ids.last().unwrap(), 25);
    assert_eq!(run.stats.snapshot().published, 10);
}

#[tokio::test]
async fn drop_newest_keeps_the_start_of_the_outage() {
    let run = start(config(10, OverflowPolicy::DropNewest));
    run.bus.down.store(true, Ordering::SeqCst);
    for id in 1..=25 {
        run.tx.send(trade(id)).await.unwrap();
    }
    until("every arrival to be handled", || {
        let s = run.stats.snapshot();
        s.buffered + s.dropped == 25
    })
    .await;
    run.bus.down.store(false, Ordering::SeqCst);
    drop(run.tx);
    run.task.await.unwrap();
    assert_eq!(run.bus.trade_ids(), (1..=10).collect::<Vec<_>>());
    assert_eq!(run.stats.snapshot().dropped, 15);
}

#[tokio::test]
async fn block_stops_reading_instead_of_dropping() {
    let run = start(config(10, OverflowPolicy::Block));
    run.bus.down.store(true, Ordering::SeqCst);
    for id in 1..=25 {
        run.tx.send(trade(id)).await.unwrap();
    }
    until("the buffer to fill", || run.stats.snapshot().buffered == 10).await;
    // The rest waits in the channel: the publisher stopped reading.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(run.stats.snapshot().buffered, 10);
    assert_eq!(run.tx.capacity(), 1024 - 15);
    run.bus.down.store(false, Ordering::SeqCst);
    drop(run.tx);
    run.task.await.unwrap();
    assert_eq!(run.bus.trade_ids(), (1..=25).collect::<Vec<_>>());
    assert_eq!(run.stats.snapshot().dropped, 0);
}

#[tokio::test]
async fn feed_gaps_go_to_the_live_bus_for_stream_clients() {
    use tickmesh_bus::LiveBus as _;
    let live = Arc::new(tickmesh_bus::memory::MemoryLive::default());
    let mut inbox = live
        .subscribe(&[tickmesh_proto::routing::GAP_PATTERN.to_owned()], 4)
        .await
        .unwrap();
    let bus = Arc::new(SwitchBus::default());
    let stats = Arc::new(PublisherStats::default());
    let (tx, rx) = mpsc::channel(16);
    let task = tokio::spawn(run_publisher(
        rx,
        bus as Arc<dyn EventPublisher>,
        Some(live.clone() as Arc<dyn tickmesh_bus::LiveBus>),
        config(10, OverflowPolicy::DropOldest),
        Arc::clone(&stats),
        None,
        CancellationToken::new(),
    ));
    let gap = tickmesh_domain::FeedGap {
        exchange: Exchange::Upbit,
        market: Market::parse("KRW-BTC").unwrap(),
        from: UtcMicros(1_000),
        to: UtcMicros(9_000),
        backfilled_trades: 3,
        complete: true,
    };
    tx.send(FeedOutput::Gap(gap)).await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), inbox.recv())
        .await
        .unwrap();
    let Some(tickmesh_bus::Received::Item(message)) = message else {
        panic!("no gap message: {message:?}");
    };
    assert_eq!(message.channel, "tickmesh:gaps:upbit:BTC/KRW");
    assert_eq!(
        tickmesh_proto::codec::decode_gap(&message.payload).unwrap(),
        gap
    );
    assert_eq!(stats.snapshot().gaps, 1);
    drop(tx);
    task.await.unwrap();
}

#[tokio::test]
async fn linger_gathers_a_burst_but_not_a_full_batch_or_an_event_after_a_quiet_spell() {
    // Lingering only ever delays a batch, so what may not go early is checked exactly; what
    // must go at once is allowed anything short of the linger (a second).
    let linger = Duration::from_secs(1);
    let mut config = config(1000, OverflowPolicy::DropOldest);
    config.batch_max = 8;
    config.linger = linger;
    let run = start(config);
    let batches = || run.bus.batches.lock().unwrap().clone();
    let stats = &run.stats;
    let published = |n| move || stats.snapshot().published == n;

    // The first event goes at once; the three right behind it wait out the linger together.
    let started = tokio::time::Instant::now();
    run.tx.send(trade(1)).await.unwrap();
    until("the first event", published(1)).await;
    for id in 2..=4 {
        run.tx.send(trade(id)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if started.elapsed() < linger {
        assert_eq!(batches(), [1], "published before the linger was over");
    }
    until("the burst", published(4)).await;
    assert!(started.elapsed() >= linger);
    assert_eq!(batches(), [1, 3]);

    // A full batch does not wait for the linger the burst started.
    let full = tokio::time::Instant::now();
    for id in 5..=12 {
        run.tx.send(trade(id)).await.unwrap();
    }
    until("the full batch", published(12)).await;
    assert!(
        full.elapsed() < linger,
        "a full batch waited {:?}",
        full.elapsed()
    );
    assert_eq!(batches(), [1, 3, 8]);

    // After a quiet spell longer than the linger, an event goes at once again.
    tokio::time::sleep(linger + Duration::from_millis(100)).await;
    let alone = tokio::time::Instant::now();
    run.tx.send(trade(13)).await.unwrap();
    until("the event after a quiet spell", published(13)).await;
    assert!(
        alone.elapsed() < linger,
        "a lone event waited {:?}",
        alone.elapsed()
    );
    assert_eq!(batches(), [1, 3, 8, 1]);
    assert_eq!(run.bus.trade_ids(), (1..=13).collect::<Vec<_>>());
}
