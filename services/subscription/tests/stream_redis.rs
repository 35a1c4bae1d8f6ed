//! `StreamTicks` with the hub on real Redis pub/sub: what ingestion publishes to Redis reaches a
//! gRPC client. Needs Redis (`TICKMESH_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`) and
//! fails, never skips, when it is not there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stream_support;

use std::sync::Arc;
use std::time::Duration;

use stream_support::{TestServer, live, trade};
use tickmesh_bus::LiveBus;
use tickmesh_bus_redis::{RedisBus, RedisConfig};
use tickmesh_domain::{Exchange, Market, MarketEvent};
use tickmesh_e2e::{redis_url, unreachable};
use tickmesh_proto::convert::event_to_wire;
use tickmesh_proto::stream::v1::StreamTicksRequest;
use tickmesh_proto::stream::v1::stream_ticks_response::Item;
use tickmesh_subscription::stream::{HubConfig, TickFilter, TickHub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_published_to_redis_reach_a_grpc_client() {
    let url = redis_url();
    let redis = RedisBus::connect(RedisConfig::new(url.clone()))
        .await
        .unwrap_or_else(|e| unreachable("redis", &url, &e));
    let redis = Arc::new(redis);
    // A market no other test run publishes on, since live channels are shared by everyone
    // using this Redis; the hub's scope keeps it to that market's channels.
    let base = format!("T{}", std::process::id() % 100_000_000);
    let market = format!("{base}/KRW");
    let config = HubConfig {
        scope: TickFilter {
            markets: [Market::parse(&market).unwrap()].into(),
            ..TickFilter::all()
        },
        ..HubConfig::default()
    };
    let hub = TickHub::new(redis.clone(), config);
    let server = TestServer::start(hub.clone(), 1_000).await;

    let mut stream = server
        .client()
        .await
        .stream_ticks(StreamTicksRequest {
            markets: vec![format!("krw-{base}")],
            ..StreamTicksRequest::default()
        })
        .await
        .unwrap()
        .into_inner();

    let events: Vec<MarketEvent> = (0..200)
        .map(|i| trade(Exchange::ALL[i as usize % 3], &market, i))
        .collect();
    let mut messages: Vec<_> = events.iter().map(live).collect();
    // Another market, outside the hub's scope and the client's filter.
    messages.insert(50, live(&trade(Exchange::Upbit, "BTC/KRW", 9_999)));
    redis.publish(&messages).await.unwrap();

    for expected in &events {
        let response = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("no event from redis within 10 s")
            .unwrap()
            .expect("the stream ended");
        assert_eq!(response.item, Some(Item::Event(event_to_wire(expected))));
    }
    assert_eq!(hub.stats().decoded, 200);
    assert_eq!(hub.stats().undecodable, 0);
    assert_eq!(hub.stats().upstream_missed, 0);
}
