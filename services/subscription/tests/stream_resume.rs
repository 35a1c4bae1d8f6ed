//! `StreamTicks` clients that resume, over a real tonic server on loopback and the in-process
//! bus: replay after a cursor or from a time, then live with nothing missed and nothing twice,
//! reaching into the archive for what the stream dropped and saying what neither holds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stream_support;

use std::sync::Arc;
use std::time::Duration;

use stream_support::{TestServer, book, ticker, trade};
use tickmesh_bus::memory::MemoryBus;
use tickmesh_bus::position::unframe;
use tickmesh_bus::{
    EventPublisher, Inbox, LiveBus, LiveMessage, Outgoing, Position, Received, Record,
};
use tickmesh_domain::{Exchange, MarketEvent, UtcMicros};
use tickmesh_proto::codec::encode_event;
use tickmesh_proto::convert::{event_to_wire, time_to_wire};
use tickmesh_proto::market::v1 as market_wire;
use tickmesh_proto::routing::{live_channel, partition_key};
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::{GapCause, StreamTicksRequest, StreamTicksResponse};
use tickmesh_subscription::stream::{
    EventArchive, HubConfig, MemoryArchive, ReplayConfig, Replayer, TickHub,
};
use tonic::Code;

const STREAM: &str = "tickmesh:events";

struct Rig {
    bus: MemoryBus,
    archive: Arc<MemoryArchive>,
    server: TestServer,
    /// Every live message, to learn the positions events were given.
    tap: tokio::sync::Mutex<Inbox<LiveMessage>>,
}

async fn rig(retain: usize, archive: bool) -> Rig {
    let bus = MemoryBus::new(STREAM, retain);
    bus.log.keep_for_replay(STREAM, retain);
    let hub = TickHub::new(bus.live.clone(), HubConfig::default());
    let kept = Arc::new(MemoryArchive::default());
    let replayer = Replayer::new(
        bus.log.clone(),
        STREAM,
        archive.then(|| Arc::clone(&kept) as Arc<dyn EventArchive>),
        ReplayConfig {
            page: 16,
            ..ReplayConfig::default()
        },
    );
    let server = TestServer::start_with(hub, 100_000, Some(replayer)).await;
    let tap = bus
        .live
        .subscribe(&["tickmesh:live:*".to_owned()], 1_000_000)
        .await
        .unwrap();
    Rig {
        bus,
        archive: kept,
        server,
        tap: tokio::sync::Mutex::new(tap),
    }
}

/// `n` events numbered from `from`: trades, with a ticker every third and a book every fifth.
fn events(from: u64, n: u64) -> Vec<MarketEvent> {
    (from..from + n)
        .map(|i| {
            let exchange = Exchange::ALL[(i % 3) as usize];
            let mut event = match i {
                i if i % 5 == 0 => book(exchange, "BTC/KRW"),
                i if i % 3 == 0 => ticker(exchange, "ETH/KRW"),
                i => trade(exchange, "BTC/KRW", i),
            };
            event.exchange_time = UtcMicros(1_700_000_000_000_000 + i64::try_from(i).unwrap());
            event.raw = None;
            event
        })
        .collect()
}

/// Publishes `events` through `bus` as ingestion does.
async fn publish_on(bus: &MemoryBus, events: &[MarketEvent]) {
    let batch: Vec<Outgoing> = events
        .iter()
        .map(|e| {
            let record = Record::new(partition_key(e.exchange, &e.market), encode_event(e));
            Outgoing::new(live_channel(e.exchange, &e.market), record)
        })
        .collect();
    bus.publish(&batch).await.unwrap();
}

impl Rig {
    /// Publishes `events` as ingestion does, keeping trades and tickers in the archive at the
    /// positions the stream gave them, as storage does.
    async fn publish(&self, events: &[MarketEvent]) {
        publish_on(&self.bus, events).await;
        let mut tap = self.tap.lock().await;
        for event in events {
            let Some(Received::Item(message)) = tap.recv().await else {
                panic!("the tap lagged or closed");
            };
            let (position, _) = unframe(&message.payload);
            self.archive.keep(position.unwrap(), event.clone());
        }
    }

    async fn stream(&self, request: StreamTicksRequest) -> tonic::Streaming<StreamTicksResponse> {
        self.server
            .client()
            .await
            .stream_ticks(request)
            .await
            .unwrap()
            .into_inner()
    }
}

async fn next(stream: &mut tonic::Streaming<StreamTicksResponse>) -> StreamTicksResponse {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("no message within 5 s")
        .unwrap()
        .expect("the stream ended")
}

/// The next `n` responses.
async fn take(
    stream: &mut tonic::Streaming<StreamTicksResponse>,
    n: usize,
) -> Vec<StreamTicksResponse> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next(stream).await);
    }
    out
}

fn event_of(response: &StreamTicksResponse) -> market_wire::MarketEvent {
    match &response.item {
        Some(Item::Event(e)) => e.clone(),
        other => panic!("expected an event, got {other:?}"),
    }
}

fn resume_after(cursor: &str) -> StreamTicksRequest {
    StreamTicksRequest {
        resume_after: cursor.to_owned(),
        ..StreamTicksRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resuming_after_a_cursor_replays_then_goes_live_with_nothing_twice() {
    let rig = rig(10_000, false).await;
    let mut watcher = rig.stream(StreamTicksRequest::default()).await;
    let first = events(0, 60);
    rig.publish(&first).await;
    let seen = take(&mut watcher, 60).await;
    let cursors: Vec<&str> = seen.iter().map(|r| r.cursor.as_str()).collect();
    assert!(
        cursors
            .windows(2)
            .all(|w| w[0].parse::<Position>().unwrap() < w[1].parse().unwrap())
    );
    assert!(seen.iter().all(|r| !r.replayed));

    // Resume after the 20th while events keep coming: the replay, the moment between and live
    // must join up exactly.
    let mut resumed = rig.stream(resume_after(cursors[19])).await;
    let publisher = {
        let rig_events = events(60, 200);
        let rig = &rig;
        async move {
            for chunk in rig_events.chunks(7) {
                rig.publish(chunk).await;
                tokio::task::yield_now().await;
            }
        }
    };
    let (got, ()) = tokio::join!(take(&mut resumed, 240), publisher);
    let reference = [seen, take(&mut watcher, 200).await].concat();
    assert_eq!(got.len(), reference[20..].len());
    for (g, r) in got.iter().zip(&reference[20..]) {
        assert_eq!(
            (g.cursor.as_str(), event_of(g)),
            (r.cursor.as_str(), event_of(r))
        );
    }
    assert!(
        got[0].replayed,
        "what was published before the resume is replayed"
    );
    rig.publish(&events(1_000, 1)).await;
    let live = next(&mut resumed).await;
    assert!(!live.replayed, "what comes after the replay is live");
    assert_eq!(live.cursor, next(&mut watcher).await.cursor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_time_replays_events_from_that_exchange_time_matching_the_filter() {
    let rig = rig(10_000, false).await;
    let all = events(0, 90);
    rig.publish(&all).await;
    let request = StreamTicksRequest {
        kinds: vec![market_wire::EventKind::Trade as i32],
        start_time: Some(time_to_wire(all[40].exchange_time)),
        ..StreamTicksRequest::default()
    };
    let mut stream = rig.stream(request).await;
    let want: Vec<_> = all[40..]
        .iter()
        .filter(|e| e.kind() == tickmesh_domain::EventKind::Trade)
        .map(event_to_wire)
        .collect();
    let got = take(&mut stream, want.len()).await;
    assert_eq!(got.iter().map(event_of).collect::<Vec<_>>(), want);
    assert!(got.iter().all(|r| r.replayed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_past_the_stream_continues_from_the_archive_by_position() {
    // The stream keeps 50 events; the archive keeps every trade and ticker.
    let rig = rig(50, true).await;
    let mut watcher = rig.stream(StreamTicksRequest::default()).await;
    let all = events(0, 300);
    for chunk in all.chunks(25) {
        rig.publish(chunk).await;
    }
    let seen = take(&mut watcher, 300).await;
    let archived = |r: &&StreamTicksResponse| {
        !matches!(
            event_of(r).payload,
            Some(market_wire::market_event::Payload::OrderBook(_))
        )
    };
    let request = StreamTicksRequest {
        resume_after: seen[9].cursor.clone(),
        kinds: vec![
            market_wire::EventKind::Trade as i32,
            market_wire::EventKind::Ticker as i32,
        ],
        ..StreamTicksRequest::default()
    };
    let mut stream = rig.stream(request).await;
    let want: Vec<_> = seen[10..].iter().filter(archived).collect();
    let got = take(&mut stream, want.len()).await;
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g.cursor.as_str(), event_of(g)),
            (w.cursor.as_str(), event_of(w))
        );
        assert!(g.replayed);
    }
    // Live goes on after the replay.
    rig.publish(&events(1_001, 1)).await;
    let live = next(&mut stream).await;
    assert!(!live.replayed);
    assert_eq!(event_of(&live), event_to_wire(&events(1_001, 1)[0]));

    // Order books are not archived: asking for them says which stretch is gone first.
    let mut with_books = rig.stream(resume_after(&seen[9].cursor)).await;
    let first = next(&mut with_books).await;
    let Some(Item::Gap(gap)) = first.item else {
        panic!("expected a not-retained gap first, got {first:?}");
    };
    assert_eq!(gap.cause, GapCause::NotRetained as i32);
    assert_eq!(gap.after_cursor, seen[9].cursor);
    let before: Position = gap.before_cursor.parse().unwrap();
    let held_from: Position = seen[251].cursor.parse().unwrap();
    assert!(
        before <= held_from,
        "the gap ends before what the stream still holds"
    );
    assert!(before > seen[9].cursor.parse().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_older_than_anything_retained_says_exactly_what_is_gone() {
    let rig = rig(50, true).await;
    let mut watcher = rig.stream(StreamTicksRequest::default()).await;
    rig.publish(&events(0, 200)).await;
    let seen = take(&mut watcher, 200).await;
    // Retention dropped the archive through the 100th event.
    rig.archive.drop_through(seen[99].cursor.parse().unwrap());
    let request = StreamTicksRequest {
        resume_after: seen[4].cursor.clone(),
        kinds: vec![market_wire::EventKind::Trade as i32],
        ..StreamTicksRequest::default()
    };
    let mut stream = rig.stream(request).await;
    let first = next(&mut stream).await;
    let Some(Item::Gap(gap)) = first.item else {
        panic!("expected a not-retained gap first, got {first:?}");
    };
    assert_eq!(gap.cause, GapCause::NotRetained as i32);
    assert_eq!(gap.after_cursor, seen[4].cursor);
    assert_eq!(
        gap.before_cursor,
        seen[99]
            .cursor
            .parse::<Position>()
            .unwrap()
            .next()
            .to_string()
    );
    assert_eq!(
        first.cursor, seen[4].cursor,
        "a marker carries the cursor before it"
    );
    let trade = |r: &&StreamTicksResponse| {
        matches!(
            event_of(r).payload,
            Some(market_wire::market_event::Payload::Trade(_))
        )
    };
    let want: Vec<_> = seen[100..].iter().filter(trade).collect();
    let got = take(&mut stream, want.len()).await;
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g.cursor.as_str(), event_of(g)),
            (w.cursor.as_str(), event_of(w))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cursors_are_refused_and_a_server_without_history_says_so() {
    let rig = rig(100, false).await;
    let status = rig
        .server
        .client()
        .await
        .stream_ticks(resume_after("yesterday"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("resume_after"),
        "{}",
        status.message()
    );

    let bus = MemoryBus::new(STREAM, 100);
    let hub = TickHub::new(bus.live.clone(), HubConfig::default());
    let server = TestServer::start(hub, 16).await;
    let status = server
        .client()
        .await
        .stream_ticks(resume_after("1-0"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagged_marker_names_the_cursors_around_what_was_dropped() {
    let bus = MemoryBus::new(STREAM, 10_000);
    let hub = TickHub::new(bus.live.clone(), HubConfig::default());
    let server = TestServer::start(hub, 4).await;
    let mut stream = server
        .client()
        .await
        .stream_ticks(StreamTicksRequest::default())
        .await
        .unwrap()
        .into_inner();
    let publish = |events: Vec<MarketEvent>| {
        let bus = bus.clone();
        async move { publish_on(&bus, &events).await }
    };
    publish(events(0, 1)).await;
    let first = next(&mut stream).await;
    // Far more than the client's buffer of 4 (and whatever HTTP/2 holds, but less than the
    // hub's own upstream buffer) while it does not
    // read: some are dropped for it. One more comes once it reads again.
    publish(events(1, 2_000)).await;
    let (mut received, mut missed) = (1u64, 0u64);
    let mut previous = first.cursor.clone();
    let mut marker: Option<(String, String)> = None;
    while received + missed < 2_001 {
        let r = next(&mut stream).await;
        if let Some(Item::Lagged(lagged)) = &r.item {
            assert!(lagged.missed > 0);
            assert_eq!(
                lagged.after_cursor, previous,
                "the marker names the last event before"
            );
            assert_eq!(r.cursor, previous);
            missed += lagged.missed;
            marker = Some((lagged.after_cursor.clone(), lagged.before_cursor.clone()));
            if received + missed == 2_001 {
                publish(events(30_000, 1)).await;
            }
            continue;
        }
        received += 1;
        if let Some((after, before)) = marker.take() {
            let position: Position = r.cursor.parse().unwrap();
            assert!(position > after.parse().unwrap());
            assert!(
                before.is_empty() || before == r.cursor,
                "the marker names the next event"
            );
        }
        previous = r.cursor.clone();
    }
    assert!(
        missed > 0,
        "no lagged marker for a client that did not read"
    );
    if marker.is_some() {
        // The marker came last: the event published after it follows it.
        let r = next(&mut stream).await;
        assert!(r.cursor.parse::<Position>().unwrap() > previous.parse().unwrap());
    }
}

#[tokio::test]
async fn the_in_process_archive_conforms() {
    let archive = MemoryArchive::default();
    for (position, event) in
        tickmesh_subscription::stream::archive::conformance::sample(1_765_000_000_000)
    {
        archive.keep(position, event);
    }
    tickmesh_subscription::stream::archive::conformance::run(&archive, 1_765_000_000_000).await;
}
