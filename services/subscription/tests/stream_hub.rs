//! The tick hub over the in-process live bus: ordering, bounded buffers with lagged markers
//! for slow clients, filters, gaps, bad payloads and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stream_support;

use std::sync::Arc;

use stream_support::{book, eventually, live, market, ticker, trade};
use tickmesh_bus::memory::MemoryLive;
use tickmesh_bus::{LiveBus, LiveMessage};
use tickmesh_domain::{EventKind, Exchange, FeedGap, MarketEvent, UtcMicros};
use tickmesh_subscription::stream::{HubConfig, HubError, TickFilter, TickHub, TickItem};
use tokio::sync::watch;

async fn start(config: HubConfig) -> (Arc<MemoryLive>, TickHub) {
    let bus = Arc::new(MemoryLive::default());
    let hub = TickHub::new(bus.clone(), config);
    (bus, hub)
}

fn event(item: Option<TickItem>) -> MarketEvent {
    match item {
        Some(TickItem::Event(e)) => MarketEvent::clone(&e),
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_receives_every_event_in_order() {
    let (bus, hub) = start(HubConfig::default()).await;
    let mut client = hub.subscribe(TickFilter::all(), 2_000).await.unwrap();
    let events: Vec<MarketEvent> = (0..1_000)
        .map(|i| trade(Exchange::Upbit, "BTC/KRW", i))
        .collect();
    let messages: Vec<LiveMessage> = events.iter().map(live).collect();
    bus.publish(&messages).await.unwrap();
    for expected in &events {
        assert_eq!(&event(client.recv().await), expected);
    }
    assert_eq!(client.try_recv(), None);
    assert_eq!(hub.stats().decoded, 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_gets_a_lagged_marker_and_never_holds_back_a_fast_one() {
    const PUBLISHED: u64 = 10_000;
    const SLOW_CAPACITY: usize = 100;
    let (bus, hub) = start(HubConfig::default()).await;
    let mut slow = hub
        .subscribe(TickFilter::all(), SLOW_CAPACITY)
        .await
        .unwrap();
    let mut fast = hub.subscribe(TickFilter::all(), 1_000).await.unwrap();
    let (progress, mut seen) = watch::channel(0u64);
    let reader = tokio::spawn(async move {
        let mut received = 0u64;
        while received < PUBLISHED {
            let e = event(fast.recv().await);
            let Some(id) = trade_id(&e) else {
                panic!("not a trade")
            };
            assert_eq!(id, received, "fast client out of order");
            received += 1;
            progress.send_replace(received);
        }
        fast.try_recv()
    });

    // Publish in batches, each only after the fast client has read the previous one: it
    // keeps up while the slow client never reads at all.
    for batch in 0..(PUBLISHED / 500) {
        let messages: Vec<LiveMessage> = (batch * 500..(batch + 1) * 500)
            .map(|i| live(&trade(Exchange::Bithumb, "ETH/KRW", i)))
            .collect();
        bus.publish(&messages).await.unwrap();
        let target = (batch + 1) * 500;
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            seen.wait_for(|&n| n >= target),
        )
        .await
        .expect("the fast client fell behind")
        .unwrap();
        let (waiting, dropped) = slow.stats();
        assert!(waiting <= SLOW_CAPACITY, "slow inbox holds {waiting}");
        assert_eq!(waiting as u64 + dropped, target);
    }
    assert_eq!(
        reader.await.unwrap(),
        None,
        "the fast client got more than published"
    );

    let mut received = 0u64;
    let mut missed = 0u64;
    while let Some(item) = slow.try_recv() {
        match item {
            TickItem::Event(e) => {
                assert_eq!(trade_id(&e), Some(received), "slow client out of order");
                received += 1;
            }
            TickItem::Lagged(n) => missed += n,
            TickItem::Gap(g) => panic!("unexpected gap {g:?}"),
        }
    }
    assert_eq!(received, SLOW_CAPACITY as u64);
    assert_eq!(received + missed, PUBLISHED);
    assert_eq!(hub.stats().upstream_missed, 0);
    // What the slow client read as lagged is what the hub reports as missed by clients.
    assert_eq!(hub.stats().client_lagged, missed);
}

fn trade_id(e: &MarketEvent) -> Option<u64> {
    match &e.payload {
        tickmesh_domain::Payload::Trade(t) => Some(t.trade_id.0 - 17_300_000_000_000_000),
        _ => None,
    }
}

#[tokio::test]
async fn filters_pick_exchanges_markets_and_kinds() {
    let (bus, hub) = start(HubConfig::default()).await;
    let filter = |exchanges: &[Exchange], markets: &[&str], kinds: &[EventKind]| TickFilter {
        exchanges: exchanges.iter().copied().collect(),
        markets: markets.iter().map(|m| market(m)).collect(),
        kinds: kinds.iter().copied().collect(),
    };
    let mut korbit = hub
        .subscribe(filter(&[Exchange::Korbit], &[], &[]), 100)
        .await
        .unwrap();
    let mut eth = hub
        .subscribe(filter(&[], &["KRW-ETH"], &[]), 100)
        .await
        .unwrap();
    let mut books = hub
        .subscribe(filter(&[], &[], &[EventKind::OrderBook]), 100)
        .await
        .unwrap();
    let mut upbit_btc_tickers = hub
        .subscribe(
            filter(&[Exchange::Upbit], &["btc_krw"], &[EventKind::Ticker]),
            100,
        )
        .await
        .unwrap();
    let events = [
        trade(Exchange::Korbit, "BTC/KRW", 1),
        ticker(Exchange::Upbit, "BTC/KRW"),
        book(Exchange::Bithumb, "ETH/KRW"),
        trade(Exchange::Upbit, "BTC/KRW", 2),
        ticker(Exchange::Korbit, "ETH/KRW"),
    ];
    bus.publish(&events.iter().map(live).collect::<Vec<_>>())
        .await
        .unwrap();
    eventually("every event dispatched", || hub.stats().decoded == 5).await;
    hub.close();
    for (stream, expected) in [
        (&mut korbit, vec![0, 4]),
        (&mut eth, vec![2, 4]),
        (&mut books, vec![2]),
        (&mut upbit_btc_tickers, vec![1]),
    ] {
        let mut got = Vec::new();
        while let Some(item) = stream.recv().await {
            got.push(event(Some(item)));
        }
        let want: Vec<MarketEvent> = expected.iter().map(|&i| events[i].clone()).collect();
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn gaps_reach_clients_watching_that_feed() {
    let (_bus, hub) = start(HubConfig::default()).await;
    let all = TickFilter::all();
    let mut everything = hub.subscribe(all.clone(), 10).await.unwrap();
    let mut upbit = hub
        .subscribe(
            TickFilter {
                exchanges: [Exchange::Upbit].into(),
                ..all.clone()
            },
            10,
        )
        .await
        .unwrap();
    let mut korbit_trades = hub
        .subscribe(
            TickFilter {
                exchanges: [Exchange::Korbit].into(),
                kinds: [EventKind::Trade].into(),
                ..all.clone()
            },
            10,
        )
        .await
        .unwrap();
    let gap = FeedGap {
        exchange: Exchange::Korbit,
        market: market("BTC/KRW"),
        from: UtcMicros(1_000),
        to: UtcMicros(2_000),
        backfilled_trades: 5,
        complete: true,
    };
    assert_eq!(hub.publish_gap(&gap), 2);
    assert_eq!(everything.try_recv(), Some(TickItem::Gap(gap.into())));
    assert_eq!(korbit_trades.try_recv(), Some(TickItem::Gap(gap.into())));
    assert_eq!(upbit.try_recv(), None);
}

#[tokio::test]
async fn undecodable_payloads_are_counted_not_sent() {
    let (bus, hub) = start(HubConfig::default()).await;
    let mut client = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    let good = trade(Exchange::Upbit, "BTC/KRW", 1);
    let garbage = LiveMessage {
        channel: "tickmesh:live:upbit:BTC/KRW".to_owned(),
        payload: b"\xff\xffnot protobuf".to_vec().into(),
    };
    bus.publish(&[garbage, live(&good)]).await.unwrap();
    assert_eq!(event(client.recv().await), good);
    assert_eq!(hub.stats().undecodable, 1);
    assert_eq!(hub.stats().decoded, 1);
}

#[tokio::test]
async fn when_the_hub_falls_behind_every_client_is_told() {
    // On this single-threaded runtime the dispatcher cannot run while we publish, so the
    // upstream inbox of 10 overflows by 40.
    let (bus, hub) = start(HubConfig {
        upstream_capacity: 10,
        ..HubConfig::default()
    })
    .await;
    let mut clients = [
        hub.subscribe(TickFilter::all(), 100).await.unwrap(),
        hub.subscribe(
            TickFilter {
                exchanges: [Exchange::Korbit].into(),
                ..TickFilter::all()
            },
            100,
        )
        .await
        .unwrap(),
    ];
    let messages: Vec<LiveMessage> = (0..50)
        .map(|i| live(&trade(Exchange::Upbit, "BTC/KRW", i)))
        .collect();
    bus.publish(&messages).await.unwrap();
    eventually("the backlog dispatched", || hub.stats().decoded == 10).await;
    hub.close();
    let mut everything = Vec::new();
    while let Some(item) = clients[0].recv().await {
        everything.push(item);
    }
    assert_eq!(everything.len(), 11);
    assert_eq!(everything[10], TickItem::Lagged(40));
    assert_eq!(clients[1].recv().await, Some(TickItem::Lagged(40)));
    assert_eq!(clients[1].recv().await, None);
    assert_eq!(hub.stats().upstream_missed, 40);
}

#[tokio::test]
async fn dropped_clients_leave_and_a_closed_hub_refuses_new_ones() {
    let (bus, hub) = start(HubConfig::default()).await;
    let first = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    let mut second = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    assert_eq!(hub.stats().clients, 2);
    drop(first);
    assert_eq!(hub.stats().clients, 1);
    bus.publish(&[live(&book(Exchange::Upbit, "XRP/KRW"))])
        .await
        .unwrap();
    assert!(matches!(second.recv().await, Some(TickItem::Event(_))));
    hub.close();
    assert_eq!(second.recv().await, None);
    assert!(hub.is_closed());
    assert!(matches!(
        hub.subscribe(TickFilter::all(), 10).await,
        Err(HubError::Closed)
    ));
    assert_eq!(hub.stats().clients, 0);

    // Dropping the last handle stops the dispatcher and ends the streams as well.
    let (_bus, hub) = start(HubConfig::default()).await;
    let mut orphan = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    drop(hub);
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(5), orphan.recv())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_published_on_the_live_bus_reach_matching_clients() {
    let (bus, hub) = start(HubConfig::default()).await;
    let mut everything = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    let gap = FeedGap {
        exchange: Exchange::Bithumb,
        market: market("ETH/KRW"),
        from: UtcMicros(1_000_000),
        to: UtcMicros(4_000_000),
        backfilled_trades: 7,
        complete: false,
    };
    // As ingestion's publisher sends it, from another process in production.
    bus.publish(&[LiveMessage {
        channel: tickmesh_proto::routing::gap_channel(gap.exchange, &gap.market),
        payload: tickmesh_proto::codec::encode_gap(&gap).into(),
    }])
    .await
    .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), everything.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(TickItem::Gap(gap.into())));
    assert_eq!(
        hub.stats().undecodable,
        0,
        "a gap is not an undecodable event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_subscription_lives_only_while_clients_do() {
    let (bus, hub) = start(HubConfig {
        idle_unsubscribe: std::time::Duration::ZERO,
        ..HubConfig::default()
    })
    .await;
    // Nobody listens: nothing is subscribed, and what is published goes nowhere.
    bus.publish(&[live(&trade(Exchange::Upbit, "BTC/KRW", 1))])
        .await
        .unwrap();
    assert!(!hub.stats().upstream_active);
    assert_eq!(hub.stats().upstream_subscriptions, 0);

    let mut client = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    assert!(hub.stats().upstream_active);
    let second = trade(Exchange::Upbit, "BTC/KRW", 2);
    bus.publish(&[live(&second)]).await.unwrap();
    assert_eq!(event(client.recv().await), second);

    // With no client left the dispatcher lets go (at once: `idle_unsubscribe` is zero here).
    drop(client);
    eventually("the upstream subscription dropped", || {
        !hub.stats().upstream_active
    })
    .await;
    assert!(!hub.is_closed());

    // The next client subscribes again and hears what is published after it joined.
    let mut again = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    assert_eq!(hub.stats().upstream_subscriptions, 2);
    let third = trade(Exchange::Korbit, "ETH/KRW", 3);
    bus.publish(&[live(&third)]).await.unwrap();
    assert_eq!(event(again.recv().await), third);
    assert_eq!(hub.stats().decoded, 2);
}

#[tokio::test]
async fn the_upstream_outlives_the_last_client_for_the_idle_time() {
    let (bus, hub) = start(HubConfig::default()).await;
    let client = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    drop(client);
    bus.publish(&[live(&trade(Exchange::Upbit, "BTC/KRW", 1))])
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // Thirty seconds by default: a client that reconnects finds the subscription in place.
    assert!(hub.stats().upstream_active);
    let _back = hub.subscribe(TickFilter::all(), 10).await.unwrap();
    assert_eq!(hub.stats().upstream_subscriptions, 1);
}
