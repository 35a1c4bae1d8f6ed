//! The four services as separate processes: subscription, ingestion, bridge and storage on real
//! Redis, the Kafka-protocol broker and PostgreSQL, with the simulators as the exchanges. A
//! subscription made over gRPC streams to a client within 2 s, its trades reach PostgreSQL,
//! history serves candles that match the simulators' trades, deleting it stops the market at
//! the exchange, and a restart of every service plus a dropped exchange connection lose and
//! repeat nothing. Subscription serves the web page, and storage gRPC-Web.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::mesh::{Mesh, run_for};
use tickmesh_domain::{Candle, CandleInterval, Decimal, Market, Trade, TradeId, UtcMicros};
use tickmesh_proto::history::v1 as history;
use tickmesh_proto::history::v1::history_service_client::HistoryServiceClient;
use tickmesh_proto::stream::v1 as stream;
use tickmesh_proto::stream::v1::tick_stream_service_client::TickStreamServiceClient;
use tickmesh_proto::subscription::v1 as subs;
use tickmesh_proto::subscription::v1::subscription_service_client::SubscriptionServiceClient;
use tickmesh_simulator::Fault;
use tonic::transport::Channel;

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Expected 1-minute candles from the simulator's own record of its trades.
fn expected_candles(trades: &[tickmesh_simulator::SimTrade]) -> BTreeMap<i64, Candle> {
    let mut candles: BTreeMap<i64, Candle> = BTreeMap::new();
    for t in trades {
        let time = UtcMicros::from_millis(t.time_ms);
        let trade = Trade {
            trade_id: TradeId(t.id),
            price: t.price,
            size: t.size,
            side: t.side,
        };
        let one = Candle::from_trade(CandleInterval::OneMinute, time, &trade).unwrap();
        match candles.get_mut(&one.open_time.as_micros()) {
            Some(c) => c.merge(&one).unwrap(),
            None => {
                candles.insert(one.open_time.as_micros(), one);
            }
        }
    }
    candles
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn four_services_stream_store_and_serve_history_through_restarts() {
    let mesh = Mesh::with_markets("e2e", 20.0, &["BTC", "ETH"]).await;
    let no_seed = ("TICKMESH__INGESTION__MARKETS", String::new());
    let sub_addr = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let mut subscription = mesh.serve_at("subscription", &sub_addr, std::slice::from_ref(&no_seed));
    let follow = (
        "TICKMESH__INGESTION__SUBSCRIPTIONS_URL",
        format!("http://{}", subscription.grpc),
    );
    let mut storage = mesh.serve("storage", &[]);
    let mut bridge = mesh.serve("bridge", &[]);
    let mut ingestion = mesh.serve("ingestion", std::slice::from_ref(&follow));
    let btc = Market::parse("BTC").unwrap();
    let eth = Market::parse("ETH").unwrap();

    // A live client first, then the subscriptions over gRPC.
    let mut ticks = TickStreamServiceClient::new(channel(&subscription.grpc).await)
        .stream_ticks(stream::StreamTicksRequest {
            exchanges: vec![],
            markets: vec!["BTC/KRW".into()],
            kinds: vec![],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut client = SubscriptionServiceClient::new(channel(&subscription.grpc).await);
    let created_at = Instant::now();
    for market in ["KRW-BTC", "eth_krw"] {
        let created = client
            .create_subscription(subs::CreateSubscriptionRequest {
                exchange: 0,
                market: market.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            created.subscriptions.len(),
            3,
            "every simulated exchange lists {market}"
        );
    }
    // Ingestion follows within a second and the exchanges see the subscriptions.
    support::eventually(
        "the exchanges to see BTC and ETH subscribed",
        Duration::from_secs(5),
        || async {
            mesh.sims
                .all
                .iter()
                .all(|s| {
                    s.subscribed_markets().contains(&btc) && s.subscribed_markets().contains(&eth)
                })
                .then_some(())
        },
    )
    .await;
    mesh.sims.resume();
    let first = tokio::time::timeout(Duration::from_secs(2), ticks.message())
        .await
        .expect("no tick within 2 s of the subscription")
        .unwrap()
        .unwrap();
    assert!(matches!(
        first.item,
        Some(stream::stream_ticks_response::Item::Event(_))
    ));
    eprintln!(
        "first tick {:?} after the subscription was created",
        created_at.elapsed()
    );

    // Each service restarts once and an exchange drops its connection while trades flow.
    run_for(Duration::from_secs(2)).await;
    subscription.kill();
    run_for(Duration::from_secs(1)).await;
    subscription = mesh.serve_at("subscription", &sub_addr, std::slice::from_ref(&no_seed));
    bridge.kill();
    run_for(Duration::from_secs(1)).await;
    bridge = mesh.serve("bridge", &[]);
    // A stream client on the restarted subscription service hears about the dropped
    // exchange connection as a gap marker once ingestion reconnected and backfilled.
    let mut ticks = TickStreamServiceClient::new(channel(&subscription.grpc).await)
        .stream_ticks(stream::StreamTicksRequest {
            exchanges: vec![],
            markets: vec!["BTC".into()],
            kinds: vec![],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    mesh.sims.all[0].inject(Fault::Drop);
    let gap = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let message = ticks.message().await.unwrap().unwrap();
            if let Some(stream::stream_ticks_response::Item::Gap(gap)) = message.item {
                return gap;
            }
        }
    })
    .await
    .expect("no gap marker within 15 s of the dropped connection");
    assert_eq!(
        gap.exchange,
        tickmesh_proto::convert::exchange_to_wire(mesh.sims.all[0].exchange()) as i32
    );
    run_for(Duration::from_secs(1)).await;
    storage.kill();
    // tansu needs the dead member's 6 s session to expire first (see restart.rs).
    run_for(Duration::from_secs(8)).await;
    storage = mesh.serve("storage", &[]);

    // Ingestion follows the restarted subscription service: deleting ETH there stops it at
    // every exchange.
    let mut client = SubscriptionServiceClient::new(channel(&subscription.grpc).await);
    let removed = client
        .delete_subscription(subs::DeleteSubscriptionRequest {
            exchange: 0,
            market: "ETH".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .removed;
    assert_eq!(removed.len(), 3);
    support::eventually(
        "every exchange to drop ETH",
        Duration::from_secs(10),
        || async {
            mesh.sims
                .all
                .iter()
                .all(|s| {
                    !s.subscribed_markets().contains(&eth) && s.subscribed_markets().contains(&btc)
                })
                .then_some(())
        },
    )
    .await;

    // Ingestion dies while trades flow; the new process recovers the trades of its downtime
    // from the exchanges' REST history (ingestion.startup_backfill) and storage drops repeats.
    ingestion.kill();
    run_for(Duration::from_secs(1)).await;
    ingestion = mesh.serve("ingestion", std::slice::from_ref(&follow));
    support::eventually(
        "the new ingestion to subscribe again",
        Duration::from_secs(10),
        || async {
            mesh.sims
                .all
                .iter()
                .all(|s| s.subscribed_markets().contains(&btc))
                .then_some(())
        },
    )
    .await;
    run_for(Duration::from_secs(3)).await;

    // Every BTC trade the exchanges made is in PostgreSQL exactly once.
    mesh.assert_converges_for(|t| t.1 == "BTC/KRW").await;

    // History's candles match the simulators' own trades.
    let mut history = HistoryServiceClient::new(channel(&storage.grpc).await);
    for sim in &mesh.sims.all {
        let exchange = sim.exchange();
        let expected = expected_candles(&sim.trades(btc));
        let served = history
            .list_candles(history::ListCandlesRequest {
                exchange: tickmesh_proto::convert::exchange_to_wire(exchange) as i32,
                market: "BTC".into(),
                interval: history::CandleInterval::CandleInterval1m as i32,
                start_time: Some(tickmesh_proto::convert::time_to_wire(UtcMicros(
                    UtcMicros::now().as_micros() - 3_600_000_000,
                ))),
                end_time: Some(tickmesh_proto::convert::time_to_wire(UtcMicros::now())),
            })
            .await
            .unwrap()
            .into_inner()
            .candles;
        assert_eq!(served.len(), expected.len(), "{exchange}: candle count");
        for (got, want) in served.iter().zip(expected.values()) {
            assert_eq!(d(&got.open), want.open, "{exchange} open");
            assert_eq!(d(&got.high), want.high, "{exchange} high");
            assert_eq!(d(&got.low), want.low, "{exchange} low");
            assert_eq!(d(&got.close), want.close, "{exchange} close");
            if exchange == tickmesh_domain::Exchange::Bithumb {
                // Bithumb's socket writes sizes at four decimals and its REST history in full,
                // so a candle mixing live and backfilled trades sits within half a unit of
                // the fourth decimal per trade of the socket-rounded sum.
                let bound = Decimal::new(5, 5) * Decimal::from(want.trade_count);
                let diff = (d(&got.volume) - want.volume).abs();
                assert!(
                    diff <= bound,
                    "{exchange} volume {} vs {}",
                    got.volume,
                    want.volume
                );
            } else {
                assert_eq!(d(&got.volume), want.volume, "{exchange} volume");
            }
            assert_eq!(got.trade_count, want.trade_count, "{exchange} trades");
        }
    }

    // A browser's view of the same mesh: subscription serves the web page, and storage answers
    // gRPC-Web over HTTP/1.1 (as a Gateway forwards the page's history calls) but has no page.
    let page = reqwest::get(format!("http://{}/", subscription.grpc))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/js/app.js"));
    let latest: history::GetLatestTickersResponse = support::browser::grpc_web(
        &storage.grpc,
        "/tickmesh.history.v1.HistoryService/GetLatestTickers",
        &history::GetLatestTickersRequest {
            market: "BTC".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(latest.tickers.len(), 3, "{latest:?}");
    let no_page = reqwest::get(format!("http://{}/", storage.grpc))
        .await
        .unwrap();
    assert_eq!(no_page.status(), 404);

    ingestion.terminate();
    bridge.terminate();
    storage.terminate();
    subscription.terminate();
    mesh.finish().await;
}
