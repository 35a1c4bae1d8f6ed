//! `StreamTicks` over a real tonic server on loopback, fed by the in-process live bus.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stream_support;

use std::sync::Arc;
use std::time::Duration;

use stream_support::{TestServer, eventually, live, market, ticker, trade};
use tickmesh_bus::LiveBus;
use tickmesh_bus::memory::MemoryLive;
use tickmesh_domain::{Exchange, FeedGap, UtcMicros};
use tickmesh_proto::convert::event_to_wire;
use tickmesh_proto::market::v1 as market_wire;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_proto::stream::v1::{StreamTicksRequest, StreamTicksResponse};
use tickmesh_subscription::stream::{HubConfig, TickHub};
use tonic::Code;

async fn start() -> (Arc<MemoryLive>, TickHub, TestServer) {
    let bus = Arc::new(MemoryLive::default());
    let hub = TickHub::new(bus.clone(), HubConfig::default());
    let server = TestServer::start(hub.clone(), 64).await;
    (bus, hub, server)
}

fn request(exchanges: &[market_wire::Exchange], markets: &[&str]) -> StreamTicksRequest {
    StreamTicksRequest {
        exchanges: exchanges.iter().map(|&e| e as i32).collect(),
        markets: markets.iter().map(|&m| m.to_owned()).collect(),
        kinds: Vec::new(),
        ..Default::default()
    }
}

async fn next(stream: &mut tonic::Streaming<StreamTicksResponse>) -> Option<Item> {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("no message within 5 s")
        .unwrap()
        .map(|r| r.item.expect("a response without an item"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_events_arrive_with_every_digit() {
    let (bus, _hub, server) = start().await;
    let mut stream = server
        .client()
        .await
        .stream_ticks(request(&[market_wire::Exchange::Upbit], &["krw-btc"]))
        .await
        .unwrap()
        .into_inner();
    let wanted = [
        ticker(Exchange::Upbit, "BTC/KRW"),
        trade(Exchange::Upbit, "BTC/KRW", 7),
    ];
    let others = [
        trade(Exchange::Bithumb, "BTC/KRW", 1),
        trade(Exchange::Upbit, "ETH/KRW", 2),
    ];
    let messages = [&others[0], &wanted[0], &others[1], &wanted[1]].map(live);
    bus.publish(&messages).await.unwrap();

    let mut received = Vec::new();
    for expected in &wanted {
        let Some(Item::Event(got)) = next(&mut stream).await else {
            panic!("expected an event");
        };
        assert_eq!(got, event_to_wire(expected));
        received.push(got);
    }
    let Some(market_wire::market_event::Payload::Ticker(t)) = &received[0].payload else {
        panic!("not a ticker");
    };
    assert_eq!(t.last, "0.1234567890123456789012345678");
    assert_eq!(received[0].raw, "{\"raw\":true}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trade_decimals_survive_exactly() {
    let (bus, _hub, server) = start().await;
    let mut stream = server
        .client()
        .await
        .stream_ticks(request(&[], &["BTC"]))
        .await
        .unwrap()
        .into_inner();
    bus.publish(&[live(&trade(Exchange::Korbit, "btc_krw", 42))])
        .await
        .unwrap();
    let Some(Item::Event(event)) = next(&mut stream).await else {
        panic!("expected an event");
    };
    let Some(market_wire::market_event::Payload::Trade(t)) = event.payload else {
        panic!("not a trade");
    };
    assert_eq!(t.price, "116539000.00000042");
    assert_eq!(t.size, "0.00079276");
    assert_eq!(t.trade_id, 17_300_000_000_000_042);
    assert_eq!(event.exchange, market_wire::Exchange::Korbit as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_field() {
    let (_bus, hub, server) = start().await;
    let mut client = server.client().await;
    let status = client
        .stream_ticks(request(&[], &["???"]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("markets[0]"),
        "{}",
        status.message()
    );

    let status = client
        .stream_ticks(StreamTicksRequest {
            kinds: vec![1, 99],
            ..StreamTicksRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("kinds[1]"),
        "{}",
        status.message()
    );
    assert_eq!(hub.stats().clients, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_and_disconnects() {
    let (_bus, hub, server) = start().await;
    let mut stream = server
        .client()
        .await
        .stream_ticks(request(&[market_wire::Exchange::Bithumb], &[]))
        .await
        .unwrap()
        .into_inner();
    let gap = FeedGap {
        exchange: Exchange::Bithumb,
        market: market("XRP/KRW"),
        from: UtcMicros(1_000_000),
        to: UtcMicros(3_000_000),
        backfilled_trades: 12,
        complete: false,
    };
    assert_eq!(hub.publish_gap(&gap), 1);
    let Some(Item::Gap(got)) = next(&mut stream).await else {
        panic!("expected a gap");
    };
    assert_eq!(got.backfilled_trades, 12);
    assert!(got.missed_trades_unknown);
    assert_eq!(got.market.unwrap().base, "XRP");

    // A client that goes away is removed from the hub without any event flowing.
    drop(stream);
    eventually("the client to leave the hub", || hub.stats().clients == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_hub_ends_streams_so_the_server_can_drain() {
    let (_bus, hub, mut server) = start().await;
    let mut stream = server
        .client()
        .await
        .stream_ticks(request(&[], &[]))
        .await
        .unwrap()
        .into_inner();
    server.shutdown();
    hub.close();
    let status = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("the stream did not end")
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    tokio::time::timeout(Duration::from_secs(5), &mut server.task)
        .await
        .expect("the server did not drain")
        .unwrap()
        .unwrap();
}

/// Over real HTTP/2: a client that stops reading gets lagged markers for what it missed, while
/// a fast client on the same server receives every event, and the slow one's server-side
/// buffer never grows past its capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_grpc_client_is_told_what_it_missed_and_a_fast_one_misses_nothing() {
    let (bus, hub, server) = start().await;
    let mut fast = server
        .client()
        .await
        .stream_ticks(request(&[], &[]))
        .await
        .unwrap()
        .into_inner();
    // A small HTTP/2 window, as a client on a slow link has: once it is full the server cannot
    // send, and the client's buffer on the server fills up.
    let slow_channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .initial_stream_window_size(Some(16 * 1024))
        .initial_connection_window_size(Some(16 * 1024))
        .connect()
        .await
        .unwrap();
    let mut slow =
        tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient::new(
            slow_channel,
        )
        .stream_ticks(request(&[], &[]))
        .await
        .unwrap()
        .into_inner();
    eventually("both clients to join the hub", || hub.stats().clients == 2).await;

    // Published in steps the fast client keeps up with; the slow one never reads meanwhile.
    const EVENTS: u64 = 20_000;
    const STEP: u64 = 50;
    let mut first_id: Option<u64> = None;
    for step in 0..EVENTS / STEP {
        let messages: Vec<_> = (1..=STEP)
            .map(|i| live(&trade(Exchange::Korbit, "BTC/KRW", step * STEP + i)))
            .collect();
        bus.publish(&messages).await.unwrap();
        for i in 1..=STEP {
            match next(&mut fast).await {
                Some(Item::Event(e)) => {
                    let Some(tickmesh_proto::market::v1::market_event::Payload::Trade(t)) =
                        e.payload
                    else {
                        panic!("not a trade");
                    };
                    let first = *first_id.get_or_insert(t.trade_id);
                    assert_eq!(
                        t.trade_id - first,
                        step * STEP + i - 1,
                        "the fast client lost an event"
                    );
                }
                other => panic!("the fast client got {other:?}"),
            }
        }
    }

    // The slow client now reads: what it gets plus what it was told it missed is everything.
    let (mut received, mut missed, mut lagged_markers) = (0u64, 0u64, 0u64);
    while received + missed < EVENTS {
        match next(&mut slow).await {
            Some(Item::Event(_)) => received += 1,
            Some(Item::Lagged(l)) => {
                missed += l.missed;
                lagged_markers += 1;
            }
            other => panic!("the slow client got {other:?}"),
        }
    }
    assert_eq!(received + missed, EVENTS);
    assert!(
        lagged_markers >= 1 && missed > 0,
        "a slow client must be told it lagged"
    );
    // Its server-side buffer held at most the capacity (64); the rest of what it received sat
    // in HTTP/2 flow-control windows.
    assert!(
        received < EVENTS / 2,
        "received {received}: the slow client was not slow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_over_the_market_limit_is_refused_naming_it() {
    let (_bus, hub, server) = start().await;
    let markets: Vec<String> = (0..100_000).map(|i| format!("C{i}")).collect();
    let request = StreamTicksRequest {
        exchanges: Vec::new(),
        markets,
        kinds: Vec::new(),
        ..Default::default()
    };
    let status = server
        .client()
        .await
        .stream_ticks(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("100000 entries, at most 256"),
        "{}",
        status.message()
    );
    // Nothing was registered for it.
    assert_eq!(hub.stats().clients, 0);
}
