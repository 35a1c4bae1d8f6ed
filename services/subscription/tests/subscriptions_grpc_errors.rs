//! `SubscriptionService` error codes: INVALID_ARGUMENT naming the field, NOT_FOUND for
//! unlisted markets, UNAVAILABLE when the store is down, ABORTED for a watch that fell behind.

// Helpers outside #[test] functions unwrap too: a panic is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod subscriptions_support;

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use subscriptions_support::{client, core, create, m, serve, subscriptions};
use tickmesh_domain::{Exchange, Market};
use tickmesh_proto::market::v1 as market_wire;
use tickmesh_proto::subscription::v1 as wire;
use tickmesh_proto::subscription::v1::subscription_service_server::SubscriptionService;
use tickmesh_proto::subscription::v1::watch_subscriptions_response::Change;
use tickmesh_subscription::subscriptions::{
    Added, MarketCatalog, StoreError, Subscription, SubscriptionGrpc, SubscriptionStore,
    Subscriptions,
};
use tonic::{Code, Request};

#[tokio::test]
async fn bad_requests_name_the_field_and_unknown_markets_are_not_found() {
    use market_wire::Exchange::{Bithumb, Unspecified};
    let server = serve(core()).await;
    let mut client = client(&server).await;

    let err = client
        .create_subscription(create(Unspecified, "???"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("invalid market:"),
        "{}",
        err.message()
    );
    let err = client
        .delete_subscription(wire::DeleteSubscriptionRequest {
            exchange: 42,
            market: "BTC".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("invalid exchange:"),
        "{}",
        err.message()
    );

    let err = client
        .create_subscription(create(Unspecified, "DOGE"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("DOGE/KRW"), "{}", err.message());
    let err = client
        .create_subscription(create(Bithumb, "KRW-ETH"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        err.message().contains("ETH/KRW") && err.message().contains("bithumb"),
        "{}",
        err.message()
    );
    server.stop.cancel();
}

/// A store whose database is down.
#[derive(Debug)]
struct DownStore;

#[async_trait]
impl SubscriptionStore for DownStore {
    async fn add(&self, _: &[(Exchange, Market)]) -> Result<Vec<Added>, StoreError> {
        Err(StoreError::Db(sea_orm::DbErr::Custom(
            "connection refused".into(),
        )))
    }

    async fn remove(
        &self,
        _: Option<Exchange>,
        _: Market,
    ) -> Result<Vec<Subscription>, StoreError> {
        Err(StoreError::Db(sea_orm::DbErr::Custom(
            "connection refused".into(),
        )))
    }

    async fn list(&self, _: Option<Exchange>) -> Result<Vec<Subscription>, StoreError> {
        Err(StoreError::Db(sea_orm::DbErr::Custom(
            "connection refused".into(),
        )))
    }
}

#[tokio::test]
async fn store_failures_are_unavailable() {
    let core = Subscriptions::new(
        Arc::new(DownStore),
        MarketCatalog::new([(Exchange::Upbit, vec![m("BTC")])]),
    );
    let server = serve(Arc::new(core)).await;
    let mut client = client(&server).await;
    let err = client
        .create_subscription(create(market_wire::Exchange::Upbit, "BTC"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    let err = client
        .watch_subscriptions(wire::WatchSubscriptionsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    server.stop.cancel();
}

#[tokio::test]
async fn a_watch_that_falls_behind_ends_aborted() {
    let core = Arc::new(subscriptions().with_watch_capacity(2));
    let grpc = SubscriptionGrpc::new(core.clone());
    let mut stream = grpc
        .watch_subscriptions(Request::new(wire::WatchSubscriptionsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    // Nothing reads the stream while three changes overflow a buffer of two.
    core.create(None, m("BTC")).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first.change, Some(Change::Snapshot(_))));
    let status = stream.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert!(
        status.message().contains("watch again"),
        "{}",
        status.message()
    );
    assert!(stream.next().await.is_none());
}
